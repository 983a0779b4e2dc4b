//! sesh's Solidity BLS (`contracts/src/bls/BN254.sol`) against the BLS vectors
//! (`testdata/vectors/bls/`, or `$SESH_VECTORS/bls/`), on anvil: every hash record's point from
//! the library's `hashToG2` (through the test-only `BlsHarness`, which takes the tag
//! explicitly); every sign record's hash point, signature accepted, and negative checks
//! refused, by the harness and, for the records the vectors prove in the full contract, by
//! sesh's `ServiceNodeRewards` itself; every aggregate record's verdict (byte-identical revert
//! data) from sesh's `ServiceNodeRewards` with the record's set seeded.
//!
//! The records are signed in the live mainnet domain (chain 42161, the live proxy's address),
//! whose tags enter the contract only through its five tag immutables. So the full-contract
//! checks run a `ServiceNodeRewards` deployed here whose runtime code has those immutables
//! replaced by the live domain's tags (`anvil_setCode` at the same address, storage kept):
//! the contract's own code, in the live domain.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::too_many_lines,
    missing_docs
)]

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::sol_types::{SolCall as _, SolError as _};
use serde_json::{Value, json};
use sesh_examples::chain_tools::{Anvil, CHAIN_ID, ChainTools, deploy as deploy_code, target_dir};
use sesh_examples::contracts::{
    self, BLS_HARNESS_JSON, BlsHarness, Deployment, ServiceNodeRewards as R, Settings,
    committed_bytecode, contributor,
};
use sesh_testkit::{Tally, records};

/// The live mainnet domain the records are signed in.
const LIVE_CHAIN_ID: u64 = 42161;
const LIVE_CONTRACT: &str = "0xC2B9fC251aC068763EbDfdecc792E3352E351c00";

const TAG_BASES: [&str; 5] = [
    "BLS_SIG_TRYANDINCREMENT_POP",
    "BLS_SIG_TRYANDINCREMENT_REWARD",
    "BLS_SIG_TRYANDINCREMENT_EXIT",
    "BLS_SIG_TRYANDINCREMENT_LIQUIDATE",
    "BLS_SIG_HASH_TO_FIELD_TAG",
];

fn u(v: &Value) -> U256 {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).parse().unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn b256(v: &Value) -> B256 {
    B256::from_slice(&bytes(v))
}

fn address(v: &Value) -> Address {
    v.as_str().unwrap().parse().unwrap()
}

/// `{x_re, x_im, y_re, y_im}`.
fn point(v: &Value) -> [U256; 4] {
    [u(&v["x_re"]), u(&v["x_im"]), u(&v["y_re"]), u(&v["y_im"])]
}

/// Four words sigs0..sigs3.
fn words(v: &Value) -> [U256; 4] {
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 4);
    [u(&a[0]), u(&a[1]), u(&a[2]), u(&a[3])]
}

fn sig_params(w: [U256; 4]) -> R::BLSSignatureParams {
    R::BLSSignatureParams { sigs0: w[0], sigs1: w[1], sigs2: w[2], sigs3: w[3] }
}

fn g1(v: &Value) -> R::G1Point {
    let a = v.as_array().unwrap();
    R::G1Point { X: u(&a[0]), Y: u(&a[1]) }
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|i| i.as_u64().unwrap()).collect()
}

/// Waits for `hash`'s receipt (anvil mines at once) and asserts that it succeeded. Polls the
/// receipt itself: alloy's block watcher is confused by the snapshot reverts.
async fn mined(provider: &DynProvider, hash: B256) {
    for _ in 0..500 {
        if let Some(receipt) = provider.get_transaction_receipt(hash).await.unwrap() {
            assert!(receipt.status(), "{hash} reverted");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{hash} was not mined");
}

struct Fixture {
    _anvil: Anvil,
    runtime: tokio::runtime::Runtime,
    owner: Address,
    provider: DynProvider,
    harness: BlsHarness::BlsHarnessInstance<DynProvider>,
    /// sesh's ServiceNodeRewards in the live domain (tags patched), not started, its owner's
    /// tokens approved to it.
    rewards: R::ServiceNodeRewardsInstance<DynProvider>,
}

impl Fixture {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let tools = ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        let anvil = Anvil::spawn(&tools, CHAIN_ID, &["--gas-limit", "100000000"])
            .unwrap_or_else(|e| panic!("{e}"));
        let signer = anvil.dev_signer(0).unwrap();
        let owner = signer.address();
        let provider = anvil.provider(signer).unwrap();
        let (harness, rewards) = runtime.block_on(async {
            let code = committed_bytecode(BLS_HARNESS_JSON).unwrap();
            let harness = deploy_code(&provider, &code, &[]).await.unwrap().address;
            let harness = BlsHarness::new(harness, provider.clone());
            // Every node's deposit is 1 atomic unit, so that seeding 200 nodes costs nothing.
            let settings = Settings {
                staking_requirement: U256::from(1u8),
                ..Settings::session_mainnet(owner)
            };
            let d: Deployment = contracts::deploy(&provider, &settings).await.unwrap();
            let rewards = d.rewards(&provider);
            let tx = d.token(&provider).approve(d.rewards, U256::MAX).send().await.unwrap();
            assert!(tx.get_receipt().await.unwrap().status());
            // The tags: the deployed ones out, the live domain's in.
            let mut code = provider.get_code_at(d.rewards).await.unwrap().to_vec();
            let here = [
                rewards.proofOfPossessionTag().call().await.unwrap(),
                rewards.rewardTag().call().await.unwrap(),
                rewards.exitTag().call().await.unwrap(),
                rewards.liquidateTag().call().await.unwrap(),
                rewards.hashToG2Tag().call().await.unwrap(),
            ];
            let live: Address = LIVE_CONTRACT.parse().unwrap();
            for (base, old) in TAG_BASES.iter().zip(here) {
                // The deployed tag is buildTag(base, chainid, address(this)).
                let expect = harness
                    .buildTag((*base).to_owned(), U256::from(CHAIN_ID), d.rewards)
                    .call()
                    .await
                    .unwrap();
                assert_eq!(old, expect, "{base}");
                let new = harness
                    .buildTag((*base).to_owned(), U256::from(LIVE_CHAIN_ID), live)
                    .call()
                    .await
                    .unwrap();
                let mut found = 0;
                let mut i = 0;
                while i + 32 <= code.len() {
                    if code[i..i + 32] == old[..] {
                        code[i..i + 32].copy_from_slice(&new[..]);
                        found += 1;
                        i += 32;
                    } else {
                        i += 1;
                    }
                }
                assert!(found >= 1, "{base}'s tag is not in the runtime code");
            }
            let _: Value = provider
                .raw_request("anvil_setCode".into(), (d.rewards, Bytes::from(code)))
                .await
                .unwrap();
            (harness, rewards)
        });
        Self { _anvil: anvil, runtime, owner, provider, harness, rewards }
    }

    /// Runs `f` on the contract with `set` seeded (ids 1..N in order, added at time 1) and
    /// started, then undoes it all.
    fn with_set<T>(&self, set: &[R::G1Point], f: impl AsyncFnOnce(&Self) -> T) -> T {
        self.runtime.block_on(async {
            let snap = sesh_examples::chain_tools::snapshot(&self.provider).await.unwrap();
            let nodes: Vec<R::SeedServiceNode> = set
                .iter()
                .enumerate()
                .map(|(i, key)| R::SeedServiceNode {
                    blsPubkey: key.clone(),
                    ed25519Pubkey: U256::from(i + 1),
                    addedTimestamp: U256::from(1u8),
                    contributors: vec![contributor(self.owner, self.owner, U256::from(1u8))],
                })
                .collect();
            for batch in nodes.chunks(50) {
                let tx = self.rewards.seedPublicKeyList(batch.to_vec()).send().await.unwrap();
                mined(&self.provider, *tx.tx_hash()).await;
            }
            let tx = self.rewards.start().send().await.unwrap();
            mined(&self.provider, *tx.tx_hash()).await;
            let out = f(self).await;
            sesh_examples::chain_tools::revert(&self.provider, snap).await.unwrap();
            out
        })
    }

    /// `eth_call` of `data` on the contract (at block time `time` if given): the return data,
    /// or the revert data.
    async fn call(&self, data: Vec<u8>, time: Option<u64>) -> Result<Vec<u8>, Vec<u8>> {
        let tx = json!({
            "from": self.owner,
            "to": self.rewards.address(),
            "data": format!("0x{}", hex::encode(data)),
            "gas": "0x5f5e100",
        });
        let result: Result<Bytes, _> = match time {
            Some(t) => {
                self.provider
                    .raw_request(
                        "eth_call".into(),
                        (tx, "latest", Value::Null, json!({ "time": format!("0x{t:x}") })),
                    )
                    .await
            }
            None => self.provider.raw_request("eth_call".into(), (tx, "latest")).await,
        };
        match result {
            Ok(out) => Ok(out.to_vec()),
            Err(e) => {
                let data = e
                    .as_error_resp()
                    .and_then(|p| p.data.as_ref())
                    .map(|d| d.get().trim_matches('"').to_owned())
                    .unwrap_or_else(|| panic!("eth_call failed without revert data: {e}"));
                Err(hex::decode(data.trim_start_matches("0x")).unwrap())
            }
        }
    }

    fn harness_hash(&self, message: &[u8], dst: B256) -> [U256; 4] {
        self.runtime.block_on(async {
            self.harness.hashToG2(Bytes::copy_from_slice(message), dst).call().await.unwrap()
        })
    }

    fn harness_verify(&self, pk: [U256; 2], sig: [U256; 4], message: &[u8], dst: B256) -> bool {
        self.runtime.block_on(async {
            self.harness.verify(pk, sig, Bytes::copy_from_slice(message), dst).call().await.unwrap()
        })
    }

    fn tag(&self, base: &str, chain_id: u64, contract: Address) -> B256 {
        self.runtime.block_on(async {
            self.harness
                .buildTag(base.to_owned(), U256::from(chain_id), contract)
                .call()
                .await
                .unwrap()
        })
    }
}

/// The calldata of `function` (one of the four BLS-checked functions) for `fields`, with
/// `signature` and non-signer `ids`.
fn calldata(function: &str, fields: &Value, signature: [U256; 4], ids: Vec<u64>) -> Vec<u8> {
    let sig = sig_params(signature);
    match function {
        "updateRewardsBalance" => R::updateRewardsBalanceCall {
            recipientAddress: address(&fields["recipientAddress"]),
            recipientRewards: u(&fields["recipientRewards"]),
            blsSignature: sig,
            ids,
        }
        .abi_encode(),
        "exitBLSPublicKeyWithSignature" => R::exitBLSPublicKeyWithSignatureCall {
            blsPubkey: g1(&fields["blsPubkey"]),
            timestamp: u(&fields["timestamp"]),
            blsSignature: sig,
            ids,
        }
        .abi_encode(),
        "liquidateBLSPublicKeyWithSignature" => R::liquidateBLSPublicKeyWithSignatureCall {
            blsPubkey: g1(&fields["blsPubkey"]),
            timestamp: u(&fields["timestamp"]),
            blsSignature: sig,
            ids,
        }
        .abi_encode(),
        "validateProofOfPossession" => R::validateProofOfPossessionCall {
            blsPubkey: g1(&fields["blsPubkey"]),
            blsSignature: sig,
            caller: address(&fields["caller"]),
            serviceNodePubkey: u(&fields["serviceNodePubkey"]),
        }
        .abi_encode(),
        other => panic!("unknown function {other}"),
    }
}

/// The selector of the error a record names.
fn error_selector(name: &str) -> [u8; 4] {
    match name {
        "InvalidBLSSignature" => R::InvalidBLSSignature::SELECTOR,
        "InvalidBLSProofOfPossession" => R::InvalidBLSProofOfPossession::SELECTOR,
        "InsufficientBLSSignatures" => R::InsufficientBLSSignatures::SELECTOR,
        "BLSPubkeyDoesNotExist" => R::BLSPubkeyDoesNotExist::SELECTOR,
        "SignatureExpired" => R::SignatureExpired::SELECTOR,
        "RecipientRewardsTooLow" => R::RecipientRewardsTooLow::SELECTOR,
        "Error" => R::Error::SELECTOR,
        other => panic!("unknown error {other}"),
    }
}

/// `message` with bit `bit` (msb = 0) of byte `byte` flipped, from "flip bit k (msb=0) of
/// message byte j".
fn flip(message: &[u8], mutation: &str) -> Option<Vec<u8>> {
    let rest = mutation.strip_prefix("flip bit ")?;
    let (bit, rest) = rest.split_once(' ')?;
    let byte = rest.strip_prefix("(msb=0) of message byte ")?;
    let (bit, byte): (u32, usize) = (bit.parse().ok()?, byte.parse().ok()?);
    let mut m = message.to_vec();
    m[byte] ^= 0x80u8 >> bit;
    Some(m)
}

#[test]
fn every_hash_record_is_what_seshs_solidity_hashes_to() {
    let fx = Fixture::start();
    let live: Address = LIVE_CONTRACT.parse().unwrap();
    let mut tally = Tally::new("bls/bls_hash.jsonl");
    for record in records("bls/bls_hash.jsonl") {
        tally.check(&record, |r| {
            let dst = b256(&r["dst"]);
            let chain_id = r["domain"]["chain_id"].as_u64().unwrap();
            let contract = address(&r["domain"]["contract"]);
            if fx.tag("BLS_SIG_HASH_TO_FIELD_TAG", chain_id, contract) != dst {
                return Err("buildTag gives another DST".into());
            }
            if chain_id != LIVE_CHAIN_ID || contract != live {
                return Err(format!("an unexpected domain {chain_id} {contract}"));
            }
            let message = bytes(&r["message"]);
            if message.len() as u64 != r["message_len"].as_u64().unwrap() {
                return Err("message_len".into());
            }
            if let Some(name) = r["message_tag_name"].as_str() {
                if fx.tag(name, chain_id, contract) != b256(&r["message_tag"]) {
                    return Err(format!("buildTag({name}) differs"));
                }
                if message[..32] != b256(&r["message_tag"])[..] {
                    return Err("the message does not start with its tag".into());
                }
            }
            let got = fx.harness_hash(&message, dst);
            let want = point(&r["hash_point"]);
            if got == want { Ok(()) } else { Err(format!("hashToG2 gave {got:?}, want {want:?}")) }
        });
    }
    tally.finish();
}

#[test]
fn every_sign_record_verifies_and_its_mutations_are_refused() {
    let fx = Fixture::start();
    let mut tally = Tally::new("bls/bls_sign.jsonl");
    for record in records("bls/bls_sign.jsonl") {
        tally.check(&record, |r| {
            let dst = b256(&r["dst"]);
            let message = bytes(&r["message"]);
            let pk_words = r["signer"]["pk"].as_array().unwrap();
            let pk = [u(&pk_words[0]), u(&pk_words[1])];
            let sig = words(&r["signature"]);
            let chain_id = r["domain"]["chain_id"].as_u64().unwrap();
            let contract = address(&r["domain"]["contract"]);
            let got = fx.harness_hash(&message, dst);
            if got != point(&r["hash_point"]) {
                return Err(format!("hashToG2 gave {got:?}"));
            }
            if !fx.harness_verify(pk, sig, &message, dst) {
                return Err("the harness refuses the signature".into());
            }
            // Harness negatives.
            let function = r["function"].as_str().unwrap();
            let fields = &r["fields"];
            let mut contract_negatives = Vec::new();
            for check in r["negative_checks"].as_array().unwrap() {
                let mutation = check["mutation"].as_str().unwrap();
                let oracle = check["oracle"].as_str().unwrap();
                let result = check["result"].as_str().unwrap();
                if oracle == "harness" {
                    if result != "false" {
                        return Err(format!("a harness negative expecting {result}"));
                    }
                    let mutated = if let Some(m) = flip(&message, mutation) {
                        m
                    } else if let Some(base) = mutation.strip_prefix("message tag replaced by ") {
                        let mut m = message.clone();
                        m[..32].copy_from_slice(&fx.tag(base, chain_id, contract)[..]);
                        m
                    } else {
                        return Err(format!("unknown mutation {mutation}"));
                    };
                    if fx.harness_verify(pk, sig, &mutated, dst) {
                        return Err(format!("the harness accepts `{mutation}`"));
                    }
                } else {
                    contract_negatives.push(check.clone());
                }
            }
            // The full contract, for the records the vectors prove there (set = {signer}).
            let proofs = r["proofs"].as_array().unwrap();
            let Some(proof) = proofs
                .iter()
                .find(|p| p["oracle"].as_str().unwrap().starts_with("ServiceNodeRewards."))
            else {
                return if contract_negatives.is_empty() {
                    Ok(())
                } else {
                    Err("contract negatives without a contract proof".into())
                };
            };
            if proof["result"] != "ok" {
                return Err(format!("a contract proof of {}", proof["result"]));
            }
            let time = proof["block_timestamp"].as_u64();
            let key = R::G1Point { X: pk[0], Y: pk[1] };
            fx.with_set(&[key], async |fx| -> Result<(), String> {
                if let Err(e) = fx.call(calldata(function, fields, sig, vec![]), time).await {
                    return Err(format!("{function} reverts: 0x{}", hex::encode(e)));
                }
                for check in &contract_negatives {
                    let mutation = check["mutation"].as_str().unwrap();
                    let oracle = check["oracle"].as_str().unwrap();
                    let target = oracle.strip_prefix("ServiceNodeRewards.").unwrap();
                    let want = check["result"].as_str().unwrap().strip_prefix("revert ").unwrap();
                    let data = if let Some((field, x)) = mutation.split_once(" xor ") {
                        let mut f = fields.clone();
                        let v = u(&f[field]) ^ U256::from(x.parse::<u64>().unwrap());
                        f[field] = json!(format!("0x{}", hex::encode(v.to_be_bytes::<32>())));
                        calldata(target, &f, sig, vec![])
                    } else if mutation.starts_with("same signature submitted to ") {
                        calldata(target, fields, sig, vec![])
                    } else {
                        return Err(format!("unknown mutation {mutation}"));
                    };
                    match fx.call(data, time).await {
                        Ok(_) => return Err(format!("the contract accepts `{mutation}`")),
                        Err(e) if e.get(..4) == Some(&error_selector(want)[..]) => {}
                        Err(e) => {
                            return Err(format!("`{mutation}`: 0x{}, not {want}", hex::encode(e)));
                        }
                    }
                }
                Ok(())
            })
        });
    }
    tally.finish();
}

#[test]
fn every_aggregate_record_gets_its_verdict_from_seshs_contract() {
    let fx = Fixture::start();
    let mut tally = Tally::new("bls/bls_aggregate.jsonl");
    for record in records("bls/bls_aggregate.jsonl") {
        tally.check(&record, |r| {
            let set: Vec<R::G1Point> = r["set"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    assert_eq!(n["id"].as_u64(), Some(i as u64 + 1), "ids 1..N in order");
                    g1(&n["pk"])
                })
                .collect();
            let function = r["function"].as_str().unwrap();
            let data = calldata(
                function,
                &r["fields"],
                words(&r["aggregate_signature"]),
                ids(&r["non_signer_ids"]),
            );
            let time = r["block_timestamp"].as_u64();
            fx.with_set(&set, async |fx| -> Result<(), String> {
                let all = fx.rewards.aggregatePubkey().call().await.unwrap();
                if all != g1(&r["aggregate_pubkey_all"]) {
                    return Err(format!("aggregatePubkey {all:?}"));
                }
                let threshold = fx.rewards.blsNonSignerThreshold().call().await.unwrap();
                if threshold != U256::from(r["non_signer_threshold"].as_u64().unwrap()) {
                    return Err(format!("blsNonSignerThreshold {threshold}"));
                }
                let got = fx.call(data, time).await;
                match (&r["verdict"]["result"].as_str().unwrap(), got) {
                    (&"ok", Ok(_)) => Ok(()),
                    (&"revert", Err(e)) if e == bytes(&r["verdict"]["revert_data"]) => Ok(()),
                    (want, got) => Err(format!(
                        "{function}: {got:?}, want {want} {}",
                        r["verdict"]["revert_data"]
                    )),
                }
            })
        });
    }
    tally.finish();
}
