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

// ---- the full contract with signatures from sesh-bls ----

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use sesh_bls::{Domain, Message, PublicKey, SecretKey, Signature, Tag};
use sesh_examples::contracts::{
    Liquidation, SESH, ServiceNodeRewards::ServiceNodeRewardsErrors as E,
};
use std::collections::BTreeMap;

/// A network on anvil: the contracts (stake 100 SESH, the live liquidation ratios, the pool at
/// account 9) and `n` solo nodes registered by account 0 with real keys and proofs of
/// possession.
struct Net {
    _anvil: Anvil,
    accounts: Vec<(Address, DynProvider)>,
    d: Deployment,
    domain: Domain,
    keys: BTreeMap<u64, SecretKey>,
    harness: BlsHarness::BlsHarnessInstance<DynProvider>,
    /// The block time of each node's registration.
    added: BTreeMap<u64, u64>,
    registration_gas: Vec<u64>,
}

const STAKE: u64 = 100;

fn sesh(n: u64) -> U256 {
    U256::from(n) * U256::from(SESH)
}

fn node_key(seed: &str, i: u64) -> SecretKey {
    SecretKey::from_seed(format!("bls_contract {seed} {i}").as_bytes())
}

fn params(w: [[u8; 32]; 4]) -> R::BLSSignatureParams {
    contracts::signature_params(&w)
}

fn point_of(key: &PublicKey) -> R::G1Point {
    contracts::g1_point(&key.to_bytes())
}

fn revert_of(e: &alloy::contract::Error) -> E {
    e.as_decoded_interface_error::<E>().unwrap_or_else(|| panic!("not a contract revert: {e}"))
}

impl Net {
    async fn start(n: u64, seed: &str) -> Net {
        let tools = ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        let anvil = Anvil::spawn(&tools, CHAIN_ID, &[]).unwrap_or_else(|e| panic!("{e}"));
        let accounts: Vec<(Address, DynProvider)> = (0..10)
            .map(|i| {
                let signer = anvil.dev_signer(i).unwrap();
                (signer.address(), anvil.provider(signer).unwrap())
            })
            .collect();
        let owner = &accounts[0].1;
        let settings = Settings {
            staking_requirement: sesh(STAKE),
            ..Settings::session_mainnet(accounts[0].0)
        };
        let d =
            contracts::deploy_with(owner, &settings, &Liquidation::session_mainnet(accounts[9].0))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        let domain = Domain { chain_id: CHAIN_ID, contract: d.rewards.into_array() };
        let harness = deploy_code(owner, &committed_bytecode(BLS_HARNESS_JSON).unwrap(), &[])
            .await
            .unwrap()
            .address;
        let harness = BlsHarness::new(harness, owner.clone());
        let mut net = Net {
            _anvil: anvil,
            accounts,
            d,
            domain,
            keys: BTreeMap::new(),
            harness,
            added: BTreeMap::new(),
            registration_gas: Vec::new(),
        };
        for i in 1..=n {
            let sk = node_key(seed, i);
            let id = net.register(sk, i).await;
            assert_eq!(id, i);
        }
        net
    }

    /// Registers `sk`'s node (Ed25519 key `ed`) solo from account 0; its id.
    async fn register(&mut self, sk: SecretKey, ed: u64) -> u64 {
        let ed25519: U256 = U256::from(ed) << 64u32;
        let pop = sk.proof_of_possession(
            &self.domain,
            self.accounts[0].0.into_array(),
            &ed25519.to_be_bytes::<32>(),
        );
        let node = contracts::NodeRegistration {
            bls_pubkey: point_of(&sk.public_key()),
            bls_signature: params(pop.to_words()),
            params: R::ServiceNodeParams {
                serviceNodePubkey: ed25519,
                serviceNodeSignature1: U256::ZERO,
                serviceNodeSignature2: U256::ZERO,
                fee: 0,
            },
            contributors: vec![],
        };
        let (id, receipt) = contracts::register(&self.accounts[0].1, &self.d, &node)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.registration_gas.push(receipt.gas_used);
        let block = self.accounts[0]
            .1
            .get_block_by_number(receipt.block_number.unwrap().into())
            .await
            .unwrap()
            .unwrap();
        self.added.insert(id, block.header.timestamp);
        self.keys.insert(id, sk);
        id
    }

    fn rewards(&self, i: usize) -> R::ServiceNodeRewardsInstance<DynProvider> {
        self.d.rewards(&self.accounts[i].1)
    }

    fn set(&self) -> BTreeMap<u64, PublicKey> {
        self.keys.iter().map(|(id, sk)| (*id, sk.public_key())).collect()
    }

    /// The aggregate of `signers`' signatures of `message` (under the domain's hash-to-G2 tag),
    /// and the registered ids that are not signers, ascending.
    fn aggregate(&self, message: &[u8], signers: &[u64]) -> (R::BLSSignatureParams, Vec<u64>) {
        self.aggregate_with(&self.domain.hash_to_g2_tag(), message, signers)
    }

    fn aggregate_with(
        &self,
        dst: &Tag,
        message: &[u8],
        signers: &[u64],
    ) -> (R::BLSSignatureParams, Vec<u64>) {
        let sig: Signature = signers.iter().map(|id| self.keys[id].sign_bytes(dst, message)).sum();
        let non: Vec<u64> = self.keys.keys().copied().filter(|id| !signers.contains(id)).collect();
        (params(sig.to_words()), non)
    }

    fn reward(&self, recipient: Address, amount: u128) -> Vec<u8> {
        Message::Reward { recipient: recipient.into_array(), amount }.to_bytes(&self.domain)
    }

    async fn now(&self) -> u64 {
        let block = self.accounts[0]
            .1
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .unwrap()
            .unwrap();
        block.header.timestamp
    }

    async fn mine_at(&self, t: u64) {
        let p = &self.accounts[0].1;
        let _: Value = p.raw_request("evm_setNextBlockTimestamp".into(), (t,)).await.unwrap();
        let _: Value = p.raw_request("evm_mine".into(), ()).await.unwrap();
    }

    async fn balance(&self, who: Address) -> U256 {
        self.d.token(&self.accounts[0].1).balanceOf(who).call().await.unwrap()
    }

    /// Moves `amount` tokens from account 0 to the staking contract (the rewards to pay out).
    async fn fund(&self, amount: U256) {
        let tx = self
            .d
            .token(&self.accounts[0].1)
            .transfer(self.d.rewards, amount)
            .send()
            .await
            .unwrap();
        assert!(tx.get_receipt().await.unwrap().status());
    }

    async fn update(
        &self,
        from: usize,
        recipient: Address,
        amount: u128,
        (sig, ids): (R::BLSSignatureParams, Vec<u64>),
    ) -> Result<alloy::rpc::types::TransactionReceipt, E> {
        match self
            .rewards(from)
            .updateRewardsBalance(recipient, U256::from(amount), sig, ids)
            .send()
            .await
        {
            Ok(pending) => {
                let receipt = pending.get_receipt().await.unwrap();
                assert!(receipt.status());
                Ok(receipt)
            }
            Err(e) => Err(revert_of(&e)),
        }
    }
}

fn logs_of<Ev: alloy::sol_types::SolEvent>(
    receipt: &alloy::rpc::types::TransactionReceipt,
) -> Vec<Ev> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.topics().first() == Some(&Ev::SIGNATURE_HASH))
        .map(|l| Ev::decode_log(&l.inner).unwrap().data)
        .collect()
}

#[tokio::test]
async fn claims_need_the_threshold_of_signers_the_right_message_and_no_replay() {
    let net = Net::start(10, "claims").await;
    let rewards = net.rewards(0);
    assert_eq!(rewards.totalNodes().call().await.unwrap(), U256::from(10u8));
    assert_eq!(rewards.blsNonSignerThreshold().call().await.unwrap(), U256::from(3u8));
    assert_eq!(rewards.blsNonSignerThresholdMax().call().await.unwrap(), U256::from(4000u16));
    let all: PublicKey = net.set().values().copied().sum();
    assert_eq!(rewards.aggregatePubkey().call().await.unwrap(), point_of(&all));
    // The tags are the domain's.
    assert_eq!(rewards.rewardTag().call().await.unwrap().0, net.domain.reward_tag().0);
    assert_eq!(rewards.hashToG2Tag().call().await.unwrap().0, net.domain.hash_to_g2_tag().0);
    assert_eq!(rewards.exitTag().call().await.unwrap().0, net.domain.exit_tag().0);
    assert_eq!(rewards.liquidateTag().call().await.unwrap().0, net.domain.liquidate_tag().0);
    assert_eq!(
        rewards.proofOfPossessionTag().call().await.unwrap().0,
        net.domain.proof_of_possession_tag().0
    );

    let who = net.accounts[5].0;
    let amount = 7 * u128::from(SESH);
    let msg = net.reward(who, amount);
    // One more non-signer than the threshold: refused before the signature is looked at.
    let e = net.update(1, who, amount, net.aggregate(&msg, &[1, 2, 3, 4, 5, 6])).await.unwrap_err();
    assert_eq!(
        e,
        E::InsufficientBLSSignatures(R::InsufficientBLSSignatures {
            numSigners: U256::from(6u8),
            requiredSigners: U256::from(7u8)
        })
    );
    // A signer left out of the non-signers, or a non-signer that did sign: the key is wrong.
    let (sig, _) = net.aggregate(&msg, &[1, 2, 3, 4, 5, 6, 7]);
    let e = net.update(1, who, amount, (sig.clone(), vec![9, 10])).await.unwrap_err();
    let apk = sesh_bls::aggregate_key(&net.set(), &[9, 10]);
    assert_eq!(e, E::InvalidBLSSignature(R::InvalidBLSSignature { aggPubkey: point_of(&apk) }));
    let e = net.update(1, who, amount, (sig, vec![7, 8, 9, 10])).await.unwrap_err();
    assert!(matches!(e, E::InsufficientBLSSignatures(_)), "{e:?}");
    // Exactly the threshold of non-signers (3 of 10): accepted, from anyone.
    let receipt =
        net.update(1, who, amount, net.aggregate(&msg, &[1, 2, 3, 4, 5, 6, 7])).await.unwrap();
    let updated = logs_of::<R::RewardsBalanceUpdated>(&receipt);
    assert_eq!(updated.len(), 1);
    assert_eq!(
        (updated[0].recipientAddress, updated[0].amount, updated[0].previousBalance),
        (who, U256::from(amount), U256::ZERO)
    );
    let r = rewards.recipients(who).call().await.unwrap();
    assert_eq!((r.rewards, r.claimed), (U256::from(amount), U256::ZERO));

    // A replay (the same amount) and an older, lower balance: RecipientRewardsTooLow.
    let e = net.update(2, who, amount, net.aggregate(&msg, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).await;
    assert_eq!(e.unwrap_err(), E::RecipientRewardsTooLow(R::RecipientRewardsTooLow {}));
    let lower = net.reward(who, amount - 1);
    let e = net.update(2, who, amount - 1, net.aggregate(&lower, &[1, 2, 3, 4, 5, 6, 7])).await;
    assert_eq!(e.unwrap_err(), E::RecipientRewardsTooLow(R::RecipientRewardsTooLow {}));

    // Wrong amount, wrong recipient, wrong tag, wrong domain: InvalidBLSSignature.
    let all_signers: Vec<u64> = (1..=10).collect();
    let more = amount + 5;
    let signed_more = net.aggregate(&net.reward(who, more), &all_signers);
    let apk_all = R::InvalidBLSSignature { aggPubkey: point_of(&all) };
    let e = net.update(1, who, more + 1, signed_more.clone()).await.unwrap_err();
    assert_eq!(e, E::InvalidBLSSignature(apk_all.clone()));
    let e = net.update(1, net.accounts[6].0, more, signed_more.clone()).await.unwrap_err();
    assert_eq!(e, E::InvalidBLSSignature(apk_all.clone()));
    let mut wrong_tag = net.reward(who, more);
    wrong_tag[..32].copy_from_slice(&net.domain.exit_tag().0);
    let e = net.update(1, who, more, net.aggregate(&wrong_tag, &all_signers)).await.unwrap_err();
    assert_eq!(e, E::InvalidBLSSignature(apk_all.clone()));
    let e = net
        .update(
            1,
            who,
            more,
            net.aggregate_with(&net.domain.reward_tag(), &net.reward(who, more), &all_signers),
        )
        .await
        .unwrap_err();
    assert_eq!(e, E::InvalidBLSSignature(apk_all.clone()), "the reward tag as DST");
    for other in [
        Domain { chain_id: LIVE_CHAIN_ID, contract: net.domain.contract },
        Domain { chain_id: CHAIN_ID, contract: net.d.token.into_array() },
    ] {
        let bytes = Message::Reward { recipient: who.into_array(), amount: more }.to_bytes(&other);
        let signed = net.aggregate_with(&other.hash_to_g2_tag(), &bytes, &all_signers);
        let e = net.update(1, who, more, signed).await.unwrap_err();
        assert_eq!(e, E::InvalidBLSSignature(apk_all.clone()), "{other:?}");
    }
    // A point off the curve: the precompile's refusal, as on the live contract.
    let (mut bad, ids) = signed_more.clone();
    bad.sigs3 += U256::from(1u8);
    match net.rewards(1).updateRewardsBalance(who, U256::from(more), bad, ids).send().await {
        Err(e) => {
            assert_eq!(revert_of(&e), E::Error(R::Error { message: "Invalid Signature".into() }))
        }
        Ok(_) => panic!("accepted a point off the curve"),
    }
    // The null address.
    let e = net.update(1, Address::ZERO, more, signed_more.clone()).await.unwrap_err();
    assert_eq!(e, E::NullAddress(R::NullAddress {}));
    // The right one, with every node signing: the balance rises.
    net.update(1, who, more, signed_more).await.unwrap();
    assert_eq!(rewards.recipients(who).call().await.unwrap().rewards, U256::from(more));

    // The recipient claims it (the contract holds the rewards).
    net.fund(sesh(1_000)).await;
    let before = net.balance(who).await;
    let receipt =
        net.rewards(5).claimRewards_0().send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    assert_eq!(net.balance(who).await - before, U256::from(more));
    let r = rewards.recipients(who).call().await.unwrap();
    assert_eq!((r.rewards, r.claimed), (U256::from(more), U256::from(more)));
}

#[tokio::test]
async fn a_registration_needs_the_keys_proof_of_possession_for_its_operator() {
    let mut net = Net::start(1, "pop").await;
    let rewards = net.rewards(0);
    let sk = node_key("pop", 2);
    let ed25519: U256 = U256::from(2u8) << 64u32;
    let owner = net.accounts[0].0;
    let good =
        sk.proof_of_possession(&net.domain, owner.into_array(), &ed25519.to_be_bytes::<32>());
    let key = point_of(&sk.public_key());
    rewards
        .validateProofOfPossession(key.clone(), params(good.to_words()), owner, ed25519)
        .call()
        .await
        .unwrap();
    let other_sk = node_key("pop", 3);
    let refused = [
        // For another caller (the operator is the sender of a solo registration).
        sk.proof_of_possession(
            &net.domain,
            net.accounts[1].0.into_array(),
            &ed25519.to_be_bytes::<32>(),
        ),
        // For another Ed25519 key.
        sk.proof_of_possession(
            &net.domain,
            owner.into_array(),
            &(ed25519 + U256::from(1u8)).to_be_bytes::<32>(),
        ),
        // Another key's proof.
        other_sk.proof_of_possession(&net.domain, owner.into_array(), &ed25519.to_be_bytes::<32>()),
        // Another domain's.
        sk.proof_of_possession(
            &Domain { chain_id: LIVE_CHAIN_ID, contract: net.domain.contract },
            owner.into_array(),
            &ed25519.to_be_bytes::<32>(),
        ),
        // A signature of the same bytes with the reward tag as DST.
        sk.sign_bytes(
            &net.domain.reward_tag(),
            &Message::ProofOfPossession {
                key: sk.public_key(),
                caller: owner.into_array(),
                ed25519: ed25519.to_be_bytes::<32>(),
            }
            .to_bytes(&net.domain),
        ),
    ];
    let token = net.d.token(&net.accounts[0].1);
    let tx = token.approve(net.d.rewards, sesh(STAKE)).send().await.unwrap();
    assert!(tx.get_receipt().await.unwrap().status());
    let node_params = R::ServiceNodeParams {
        serviceNodePubkey: ed25519,
        serviceNodeSignature1: U256::ZERO,
        serviceNodeSignature2: U256::ZERO,
        fee: 0,
    };
    for (i, bad) in refused.iter().enumerate() {
        let e = rewards
            .validateProofOfPossession(key.clone(), params(bad.to_words()), owner, ed25519)
            .call()
            .await
            .unwrap_err();
        assert_eq!(
            revert_of(&e),
            E::InvalidBLSProofOfPossession(R::InvalidBLSProofOfPossession {}),
            "{i}"
        );
        let e = rewards
            .addBLSPublicKey(key.clone(), params(bad.to_words()), node_params.clone(), vec![])
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            revert_of(&e),
            E::InvalidBLSProofOfPossession(R::InvalidBLSProofOfPossession {}),
            "{i}"
        );
    }
    // With contributors, the operator is the first contributor, whoever sends it.
    let c = |a: Address| contributor(a, a, sesh(STAKE));
    let e = rewards
        .addBLSPublicKey(
            key.clone(),
            params(good.to_words()),
            node_params.clone(),
            vec![c(net.accounts[1].0)],
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(revert_of(&e), E::InvalidBLSProofOfPossession(R::InvalidBLSProofOfPossession {}));
    rewards
        .addBLSPublicKey(key.clone(), params(good.to_words()), node_params.clone(), vec![c(owner)])
        .call()
        .await
        .unwrap();
    assert_eq!(rewards.totalNodes().call().await.unwrap(), U256::from(1u8));
    // The good one registers, and the aggregate key and threshold follow.
    let id = net.register(sk, 2).await;
    assert_eq!(id, 2);
    let all: PublicKey = net.set().values().copied().sum();
    assert_eq!(net.rewards(0).aggregatePubkey().call().await.unwrap(), point_of(&all));
}

#[tokio::test]
async fn exits_and_liquidations_with_the_networks_signature() {
    let net = Net::start(7, "exit").await;
    let rewards = net.rewards(0);
    let everyone: Vec<u64> = (1..=7).collect();
    let key = |id: u64| net.keys[&id].public_key();
    let exit_msg =
        |id: u64, t: u64| Message::Exit { key: key(id), timestamp: t }.to_bytes(&net.domain);
    let liq_msg =
        |id: u64, t: u64| Message::Liquidate { key: key(id), timestamp: t }.to_bytes(&net.domain);
    let instances: Vec<_> = (0..10).map(|i| net.rewards(i)).collect();
    let exit = |from: usize, id: u64, t: u64, agg: (R::BLSSignatureParams, Vec<u64>)| {
        instances[from].exitBLSPublicKeyWithSignature(
            point_of(&key(id)),
            U256::from(t),
            agg.0,
            agg.1,
        )
    };
    let liquidate = |from: usize, id: u64, t: u64, agg: (R::BLSSignatureParams, Vec<u64>)| {
        instances[from].liquidateBLSPublicKeyWithSignature(
            point_of(&key(id)),
            U256::from(t),
            agg.0,
            agg.1,
        )
    };

    // Too early: two hours from the registration (the live minimumExitAge).
    let now = net.now().await;
    let e = exit(1, 3, now, net.aggregate(&exit_msg(3, now), &everyone)).send().await.unwrap_err();
    match revert_of(&e) {
        E::ExitTooEarly(r) => {
            assert_eq!((r.serviceNodeID, r.addedTimestamp), (3, U256::from(net.added[&3])));
        }
        other => panic!("{other:?}"),
    }
    let t0 = net.added[&7] + 2 * 3600;
    net.mine_at(t0).await;

    // Expired: more than signatureExpiry (600 s) after the signed timestamp.
    assert_eq!(rewards.signatureExpiry().call().await.unwrap(), U256::from(600u16));
    let old = t0 - 601;
    let e = exit(1, 3, old, net.aggregate(&exit_msg(3, old), &everyone)).send().await.unwrap_err();
    match revert_of(&e) {
        E::SignatureExpired(r) => {
            assert_eq!((r.serviceNodeID, r.timestamp), (3, U256::from(old)));
            assert!(r.currenttime > U256::from(old + 600));
        }
        other => panic!("{other:?}"),
    }
    // An unregistered key.
    let stranger = node_key("exit", 99).public_key();
    let e = net
        .rewards(1)
        .exitBLSPublicKeyWithSignature(
            point_of(&stranger),
            U256::from(t0),
            net.aggregate(&exit_msg(3, t0), &everyone).0,
            vec![],
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        revert_of(&e),
        E::BLSPubkeyDoesNotExist(R::BLSPubkeyDoesNotExist { pubkey: point_of(&stranger) })
    );
    // The exit signature as a liquidation and the reverse: the tags differ.
    let e =
        liquidate(1, 3, t0, net.aggregate(&exit_msg(3, t0), &everyone)).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::InvalidBLSSignature(_)));
    let e = exit(1, 3, t0, net.aggregate(&liq_msg(3, t0), &everyone)).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::InvalidBLSSignature(_)));
    // Too many non-signers (threshold 7/3 = 2).
    let e =
        exit(1, 3, t0, net.aggregate(&exit_msg(3, t0), &[1, 2, 3, 4])).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::InsufficientBLSSignatures(_)));

    // The exit, with two non-signers, right at the expiry: the node is removed, nothing moves.
    let held = net.balance(net.d.rewards).await;
    assert_eq!(held, sesh(7 * STAKE));
    let t1 = t0 + 10;
    let signed = net.aggregate(&exit_msg(3, t1), &[1, 3, 4, 5, 6]);
    let p = &net.accounts[0].1;
    let _: Value = p.raw_request("evm_setNextBlockTimestamp".into(), (t1 + 600,)).await.unwrap();
    let receipt =
        exit(4, 3, t1, signed).gas(3_000_000).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    let exits = logs_of::<R::ServiceNodeExit>(&receipt);
    assert_eq!(exits.len(), 1);
    assert_eq!(
        (
            exits[0].serviceNodeID,
            exits[0].initiator,
            exits[0].returnedAmount,
            exits[0].pubkey.clone()
        ),
        (3, net.accounts[4].0, sesh(STAKE), point_of(&key(3)))
    );
    assert_eq!(receipt.inner.logs().len(), 1, "no transfers, no credits");
    assert_eq!(net.balance(net.d.rewards).await, held);
    assert_eq!(rewards.totalNodes().call().await.unwrap(), U256::from(6u8));
    assert_eq!(rewards.blsNonSignerThreshold().call().await.unwrap(), U256::from(2u8));
    let rest: PublicKey = net.set().iter().filter(|(id, _)| **id != 3).map(|(_, k)| *k).sum();
    assert_eq!(rewards.aggregatePubkey().call().await.unwrap(), point_of(&rest));
    let e = exit(1, 3, t1, net.aggregate(&exit_msg(3, t1), &everyone)).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::BLSPubkeyDoesNotExist(_)));

    // A liquidation by account 8, signed by the remaining nodes: the live split of the deposit.
    let t2 = net.now().await;
    let remaining: Vec<u64> = vec![1, 2, 4, 5, 6, 7];
    let signed = net.aggregate(&liq_msg(5, t2), &remaining);
    let ids: Vec<u64> = signed.1.iter().copied().filter(|id| *id != 3).collect();
    let (pool, liquidator) = (net.accounts[9].0, net.accounts[8].0);
    let (pool_before, liquidator_before) = (net.balance(pool).await, net.balance(liquidator).await);
    assert!(ids.is_empty());
    let receipt =
        liquidate(8, 5, t2, (signed.0, ids)).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    let deposit = sesh(STAKE);
    let liquidator_share = deposit * U256::from(3u8) / U256::from(10_000u16);
    let pool_share =
        (deposit * U256::from(17u8) - U256::from(1u8)) / U256::from(10_000u16) + U256::from(1u8);
    let liquidated = logs_of::<R::ServiceNodeLiquidated>(&receipt);
    assert_eq!((liquidated[0].serviceNodeID, liquidated[0].initiator), (5, liquidator));
    let exits = logs_of::<R::ServiceNodeExit>(&receipt);
    assert_eq!(exits[0].returnedAmount, deposit - liquidator_share - pool_share);
    assert_eq!(net.balance(liquidator).await - liquidator_before, liquidator_share);
    assert_eq!(net.balance(pool).await - pool_before, pool_share);
    assert_eq!(net.balance(net.d.rewards).await, held - liquidator_share - pool_share);
    assert_eq!(rewards.totalNodes().call().await.unwrap(), U256::from(5u8));
}

#[tokio::test]
async fn claims_are_capped_per_claim_cycle() {
    let net = Net::start(3, "cycle").await;
    let rewards = net.rewards(0);
    assert_eq!(rewards.claimThreshold().call().await.unwrap(), sesh(1_000_000));
    assert_eq!(rewards.claimCycle().call().await.unwrap(), U256::from(12 * 3600u32));
    let everyone = [1, 2, 3];
    let (a, b) = (net.accounts[5].0, net.accounts[6].0);
    let (ca, cb) = (600_000 * u128::from(SESH), 500_000 * u128::from(SESH));
    net.update(1, a, ca, net.aggregate(&net.reward(a, ca), &everyone)).await.unwrap();
    net.update(1, b, cb, net.aggregate(&net.reward(b, cb), &everyone)).await.unwrap();
    net.fund(sesh(1_100_000)).await;
    // Start at the beginning of a cycle so that all claims below fall in one.
    let cycle = 12 * 3600;
    let start = (net.now().await / cycle + 1) * cycle;
    net.mine_at(start).await;
    net.rewards(5).claimRewards_0().send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(net.balance(a).await, U256::from(ca));
    let e = net.rewards(6).claimRewards_0().send().await.unwrap_err();
    assert_eq!(revert_of(&e), E::ClaimThresholdExceeded(R::ClaimThresholdExceeded {}));
    // Up to the threshold exactly.
    let rest = sesh(400_000);
    let r = net.rewards(6).claimRewards_1(rest).send().await.unwrap().get_receipt().await.unwrap();
    assert!(r.status());
    assert_eq!(rewards.currentClaimTotal().call().await.unwrap(), sesh(1_000_000));
    let e = net.rewards(6).claimRewards_1(U256::from(1u8)).send().await.unwrap_err();
    assert_eq!(revert_of(&e), E::ClaimThresholdExceeded(R::ClaimThresholdExceeded {}));
    // The next cycle.
    net.mine_at(start + cycle).await;
    let r = net.rewards(6).claimRewards_0().send().await.unwrap().get_receipt().await.unwrap();
    assert!(r.status());
    assert_eq!(net.balance(b).await, U256::from(cb));
    assert_eq!(rewards.currentClaimTotal().call().await.unwrap(), sesh(100_000));
    // The owner's setters, the owner's only.
    let e = net.rewards(1).setClaimThreshold(U256::from(5u8)).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::OwnableUnauthorizedAccount(_)));
    let r = rewards.setClaimThreshold(sesh(5)).send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(logs_of::<R::ClaimThresholdUpdated>(&r)[0].newThreshold, sesh(5));
    let e = rewards
        .setLiquidationRatios(U256::from(1u8), U256::from(1u8), U256::from(5u8))
        .send()
        .await
        .unwrap_err();
    assert_eq!(revert_of(&e), E::LiquidatorPenaltyTooHigh(R::LiquidatorPenaltyTooHigh {}));
}

/// What was changed, the key, the signature, the message and the DST.
type Mutation<'a> = (&'a str, [U256; 2], Signature, Vec<u8>, [u8; 32]);

/// Random keys and random messages signed in Rust (sesh-bls): the Solidity hash point is Rust's,
/// and every signature Rust accepts the contract accepts; mutated ones (another message bit,
/// another key, another signer's signature, another DST) both refuse.
#[tokio::test]
async fn rust_and_the_contract_agree_on_every_signature() {
    let net = Net::start(6, "agree").await;
    let mut rng = ChaCha8Rng::seed_from_u64(2121);
    let mut accepted = 0;
    let mut refused = 0;
    for case in 0..40u64 {
        let sk = SecretKey::from_seed(&rng.next_u64().to_be_bytes());
        let pk = sk.public_key();
        let pk_words = {
            let b = pk.to_bytes();
            [U256::from_be_slice(&b[..32]), U256::from_be_slice(&b[32..])]
        };
        let len = usize::try_from(rng.next_u64() % 200).unwrap();
        let mut message = vec![0u8; len];
        rng.fill_bytes(&mut message);
        let mut dst = [0u8; 32];
        rng.fill_bytes(&mut dst);
        let dst = Tag(dst);
        let sig = sk.sign_bytes(&dst, &message);
        let hash = sesh_bls::hash_to_g2(&message, &dst).unwrap();
        let got = net
            .harness
            .hashToG2(Bytes::from(message.clone()), B256::from(dst.0))
            .call()
            .await
            .unwrap();
        let want: [U256; 4] = hash.point.to_words().map(U256::from_be_bytes);
        assert_eq!(got, want, "case {case}: hash point");
        let sig_words: [U256; 4] = sig.to_words().map(U256::from_be_bytes);
        let contract = |pkw: [U256; 2], s: [U256; 4], m: Vec<u8>, d: [u8; 32]| {
            let h = net.harness.clone();
            async move { h.verify(pkw, s, Bytes::from(m), B256::from(d)).call().await.unwrap() }
        };
        assert!(pk.verify_bytes(&dst, &message, &sig).is_ok());
        assert!(contract(pk_words, sig_words, message.clone(), dst.0).await, "case {case}");
        accepted += 1;
        // Mutations: both refuse.
        let other = SecretKey::from_seed(&rng.next_u64().to_be_bytes());
        let mut flipped = message.clone();
        if flipped.is_empty() {
            flipped.push(0);
        } else {
            let i = usize::try_from(rng.next_u64()).unwrap() % flipped.len();
            flipped[i] ^= 1 << (rng.next_u64() % 8);
        }
        let mut other_dst = dst.0;
        other_dst[usize::try_from(rng.next_u64() % 32).unwrap()] ^= 0x10;
        let other_sig = other.sign_bytes(&dst, &message);
        let other_words = other.public_key().to_bytes();
        let other_pk =
            [U256::from_be_slice(&other_words[..32]), U256::from_be_slice(&other_words[32..])];
        let mutations: Vec<Mutation<'_>> = vec![
            ("message bit", pk_words, sig, flipped, dst.0),
            ("another key", other_pk, sig, message.clone(), dst.0),
            ("another signer's signature", pk_words, other_sig, message.clone(), dst.0),
            ("another DST", pk_words, sig, message.clone(), other_dst),
            ("the sum with another signature", pk_words, sig + other_sig, message.clone(), dst.0),
        ];
        for (what, pkw, s, m, d) in mutations {
            let key = PublicKey::from_bytes(&{
                let mut b = [0u8; 64];
                b[..32].copy_from_slice(&pkw[0].to_be_bytes::<32>());
                b[32..].copy_from_slice(&pkw[1].to_be_bytes::<32>());
                b
            })
            .unwrap();
            assert!(key.verify_bytes(&Tag(d), &m, &s).is_err(), "case {case}: Rust accepts {what}");
            let s_words: [U256; 4] = s.to_words().map(U256::from_be_bytes);
            assert!(
                !contract(pkw, s_words, m, d).await,
                "case {case}: the contract accepts {what}"
            );
            refused += 1;
        }
    }
    // And aggregates through the full contract: random signer subsets and amounts, the
    // contract's verdict is sesh-bls's verify_aggregate's.
    let set = net.set();
    let who = net.accounts[7].0;
    let mut balance = 0u128;
    let mut agreed = 0;
    let mut agreed_ok = 0;
    for case in 0..12u64 {
        let amount = balance + 1 + u128::from(rng.next_u64() % 1_000_000);
        let message = net.reward(who, amount);
        let mut signers: Vec<u64> =
            set.keys().copied().filter(|_| rng.next_u64() % 4 != 0).collect();
        let mut non: Vec<u64> = set.keys().copied().filter(|id| !signers.contains(id)).collect();
        if case % 3 == 0 && !non.is_empty() {
            // A non-signer left out of the list.
            non.remove(0);
        }
        if case % 4 == 1 {
            signers.retain(|id| *id != 1);
        }
        let sig: Signature = signers
            .iter()
            .map(|id| net.keys[id].sign_bytes(&net.domain.hash_to_g2_tag(), &message))
            .sum();
        let aggregate = sesh_bls::Aggregate { signature: sig, non_signers: non.clone() };
        let rust = sesh_bls::verify_aggregate(
            &set,
            &net.domain.hash_to_g2_tag(),
            &message,
            &aggregate,
            4000,
        );
        let chain = net.update(1, who, amount, (params(sig.to_words()), non)).await;
        assert_eq!(rust.is_ok(), chain.is_ok(), "case {case}: Rust {rust:?}, contract {chain:?}");
        if chain.is_ok() {
            balance = amount;
            agreed_ok += 1;
        }
        agreed += 1;
    }
    assert!(agreed_ok > 0 && agreed_ok < agreed, "{agreed_ok} of {agreed} accepted");
    println!(
        "rust and contract: {accepted} signatures accepted, {refused} mutations refused, \
         {agreed} aggregates agreed ({agreed_ok} accepted)"
    );
}

/// Gas of the BLS-checked functions (printed; `--nocapture`): updateRewardsBalance with 0 and
/// with some non-signers on 100 seeded nodes, hashToG2 alone and the signature check alone
/// (through the harness), and addBLSPublicKey with its proof of possession.
#[tokio::test]
async fn gas_of_the_bls_checks() {
    let mut net = Net::start(0, "gas").await;
    // 100 seeded nodes (the contract is not started yet: registering would start it).
    let owner = net.accounts[0].0;
    let sks: Vec<SecretKey> = (1..=100).map(|i| node_key("gas", i)).collect();
    let nodes: Vec<R::SeedServiceNode> = sks
        .iter()
        .enumerate()
        .map(|(i, sk)| R::SeedServiceNode {
            blsPubkey: point_of(&sk.public_key()),
            ed25519Pubkey: U256::from(i + 1),
            addedTimestamp: U256::from(1u8),
            contributors: vec![contributor(owner, owner, sesh(STAKE))],
        })
        .collect();
    for batch in nodes.chunks(25) {
        contracts::seed(&net.accounts[0].1, &net.d, batch).await.unwrap();
    }
    for (i, sk) in sks.into_iter().enumerate() {
        net.keys.insert(i as u64 + 1, sk);
    }
    let r = net.rewards(0).start().send().await.unwrap().get_receipt().await.unwrap();
    assert!(r.status());
    assert_eq!(net.rewards(0).blsNonSignerThreshold().call().await.unwrap(), U256::from(33u8));
    let who = net.accounts[5].0;
    let mut lines = Vec::new();
    for (amount, non_signers) in (1u128..).zip([0usize, 1, 10, 33]) {
        let signers: Vec<u64> = (1..=100).skip(non_signers).collect();
        let receipt = net
            .update(1, who, amount, net.aggregate(&net.reward(who, amount), &signers))
            .await
            .unwrap();
        lines.push(format!(
            "updateRewardsBalance, 100 nodes, {non_signers} non-signers: {} gas",
            receipt.gas_used
        ));
    }
    // hashToG2 and the whole check through the harness (estimates, each including the
    // transaction's 21,000 and its calldata).
    let message = net.reward(who, 123_456_789);
    let dst = net.domain.hash_to_g2_tag();
    let hash_gas = net
        .harness
        .hashToG2(Bytes::from(message.clone()), B256::from(dst.0))
        .estimate_gas()
        .await
        .unwrap();
    let sk = node_key("gas", 1);
    let pk = sk.public_key().to_bytes();
    let sig: [U256; 4] = sk.sign_bytes(&dst, &message).to_words().map(U256::from_be_bytes);
    let verify_gas = net
        .harness
        .verify(
            [U256::from_be_slice(&pk[..32]), U256::from_be_slice(&pk[32..])],
            sig,
            Bytes::from(message),
            B256::from(dst.0),
        )
        .estimate_gas()
        .await
        .unwrap();
    lines.push(format!("hashToG2 of an 84-byte reward message (harness call): {hash_gas} gas"));
    lines.push(format!("hashToG2 + pairing check (harness call): {verify_gas} gas"));
    let id = net.register(node_key("gas", 101), 101).await;
    assert_eq!(id, 101);
    lines.push(format!(
        "addBLSPublicKey with its proof of possession (solo, 101st node): {} gas",
        net.registration_gas.last().unwrap()
    ));
    for line in &lines {
        println!("gas: {line}");
    }
    let added = *net.registration_gas.last().unwrap();
    assert!(added < 1_500_000, "{added}");
}
