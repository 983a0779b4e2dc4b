//! sesh's own contracts (`contracts/`, issue 20) against a real EVM (the pinned anvil): the
//! committed build is what the pinned solc-js makes of the sources, byte for byte; the ABI keeps
//! the live `ServiceNodeRewards`' event, function and error signatures; and every rule and every
//! revert of `SeshToken` and `ServiceNodeRewards`, each custom error decoded, events checked by
//! their live topics, token balances followed, and where `sesh_staking` has a verdict for the
//! same input (operator minimum, contributor count, small contributor), the same verdict.
//!
//! `cargo test -p sesh-examples --test contracts -- --ignored regenerate` rebuilds
//! `contracts/out/` from `contracts/src/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::too_many_lines,
    missing_docs
)]

use std::collections::BTreeSet;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall as _, SolError as _, SolEvent as _};
use serde_json::Value;
use sesh_examples::chain_tools::{Anvil, CHAIN_ID, ChainTools, target_dir};
use sesh_examples::contracts::{
    self, Deployment, NodeRegistration, SERVICE_NODE_REWARDS_JSON, SESH, SESH_TOKEN_JSON,
    ServiceNodeRewards as R, ServiceNodeRewards::ServiceNodeRewardsErrors as E, SeshToken,
    Settings, contributor,
};

const DAY: u64 = 86_400;

fn tools() -> ChainTools {
    ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

// ---- the build ----

/// The committed `contracts/out/` is what the pinned solc-js makes of `contracts/src/` now.
#[test]
fn the_committed_contract_build_is_what_solc_makes_of_the_sources() {
    let tools = tools();
    let fresh = target_dir().unwrap().join(format!("contracts-build-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    contracts::build(&tools, &fresh).unwrap_or_else(|e| panic!("{e}"));
    let committed = contracts::contracts_dir().join("out");
    let names = |dir: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .collect()
    };
    let built = names(&fresh);
    assert_eq!(
        built,
        names(&committed),
        "contracts/out/ does not hold the contracts of contracts/src/: run \
         `cargo test -p sesh-examples --test contracts -- --ignored regenerate`"
    );
    assert!(built.contains("SeshToken.json") && built.contains("ServiceNodeRewards.json"));
    for name in &built {
        let a = std::fs::read(fresh.join(name)).unwrap();
        let b = std::fs::read(committed.join(name)).unwrap();
        assert!(
            a == b,
            "contracts/out/{name} differs from a fresh build of contracts/src/: run \
             `cargo test -p sesh-examples --test contracts -- --ignored regenerate`"
        );
    }
    // The build the bindings embed is the committed one.
    assert_eq!(
        std::fs::read_to_string(committed.join("ServiceNodeRewards.json")).unwrap(),
        SERVICE_NODE_REWARDS_JSON
    );
    let _ = std::fs::remove_dir_all(&fresh);
}

/// Rebuilds the committed `contracts/out/` from `contracts/src/` (run by hand).
#[test]
#[ignore = "rewrites contracts/out/; run by hand after changing contracts/src/"]
fn regenerate() {
    let tools = tools();
    let out = contracts::contracts_dir().join("out");
    contracts::build(&tools, &out).unwrap_or_else(|e| panic!("{e}"));
    println!("rebuilt {}", out.display());
}

// ---- the live signatures ----

/// The canonical type of an ABI JSON parameter (tuples expanded).
fn canonical(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap();
    match ty.strip_prefix("tuple") {
        Some(suffix) => {
            let inner: Vec<String> =
                param["components"].as_array().unwrap().iter().map(canonical).collect();
            format!("({}){suffix}", inner.join(","))
        }
        None => ty.to_owned(),
    }
}

/// `kind name(types)` of every function, event and error of a committed ABI.
fn signatures(json: &str) -> BTreeSet<String> {
    let artifact: Value = serde_json::from_str(json).unwrap();
    artifact["abi"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| {
            let kind = item["type"].as_str().unwrap();
            let name = item["name"].as_str()?;
            let types: Vec<String> =
                item["inputs"].as_array().unwrap().iter().map(canonical).collect();
            Some(format!("{kind} {name}({})", types.join(",")))
        })
        .collect()
}

const G1: &str = "(uint256,uint256)";
const SIG: &str = "(uint256,uint256,uint256,uint256)";
const PARAMS: &str = "(uint256,uint256,uint256,uint16)";
const CONTRIBUTORS: &str = "((address,address),uint256)[]";

/// The live `ServiceNodeRewards`' signatures that sesh's contract has too (facts from the live
/// ABI, session-token-contracts ae0f6a6).
fn live_signatures() -> Vec<String> {
    vec![
        format!("event NewServiceNodeV2(uint64,address,{G1},{PARAMS},{CONTRIBUTORS})"),
        format!("event ServiceNodeExitRequest(uint64,address,{G1})"),
        format!("event ServiceNodeExit(uint64,address,uint256,{G1})"),
        "event RewardsBalanceUpdated(address,uint256,uint256)".to_owned(),
        "event RewardsClaimed(address,uint256)".to_owned(),
        "event StakingRequirementUpdated(uint256)".to_owned(),
        format!("function addBLSPublicKey({G1},{SIG},{PARAMS},{CONTRIBUTORS})"),
        "function initiateExitBLSPublicKey(uint64)".to_owned(),
        "function exitBLSPublicKeyAfterWaitTime(uint64)".to_owned(),
        "function claimRewards()".to_owned(),
        "function claimRewards(uint256)".to_owned(),
        "function setStakingRequirement(uint256)".to_owned(),
        "function stakingRequirement()".to_owned(),
        "function nextServiceNodeID()".to_owned(),
        "function totalNodes()".to_owned(),
        "function serviceNodes(uint64)".to_owned(),
        "function allServiceNodeIDs()".to_owned(),
        "function recipients(address)".to_owned(),
        "function designatedToken()".to_owned(),
        "function maxContributors()".to_owned(),
        "function serviceNodeIDs(bytes)".to_owned(),
        "function ed25519ToServiceNodeID(uint256)".to_owned(),
        format!("function seedPublicKeyList(({G1},uint256,uint256,{CONTRIBUTORS})[])"),
        "function start()".to_owned(),
        "function isStarted()".to_owned(),
        format!("event NewSeededServiceNode(uint64,{G1},uint256)"),
        "error ContractAlreadyStarted()".to_owned(),
        "error InsufficientContributors()".to_owned(),
        "error BLSPubkeyAlreadyExists(uint64)".to_owned(),
        "error Ed25519PubkeyAlreadyExists(uint64)".to_owned(),
        "error CallerNotContributor(uint64,address)".to_owned(),
        "error ContributionTotalMismatch(uint256,uint256)".to_owned(),
        "error InsufficientOperatorContribution(uint256)".to_owned(),
        "error LeaveRequestTooEarly(uint64,uint256,uint256)".to_owned(),
        "error LeaveRequestNotInitiatedYet(uint64)".to_owned(),
        "error MaxContributorsExceeded()".to_owned(),
        "error MaxClaimExceeded()".to_owned(),
        "error NullBLSPubkey()".to_owned(),
        "error NullEd25519Pubkey()".to_owned(),
        "error NullAddress()".to_owned(),
        "error PositiveNumberRequirement()".to_owned(),
        "error ServiceNodeDoesntExist(uint64)".to_owned(),
        "error SmallContributorLeaveTooEarly(uint64,address)".to_owned(),
        // The live contribution contract's.
        "error FeeExceedsPossibleValue(uint16,uint16)".to_owned(),
        // BLS (issue 21).
        format!("function validateProofOfPossession({G1},{SIG},address,uint256)"),
        format!("function updateRewardsBalance(address,uint256,{SIG},uint64[])"),
        format!("function exitBLSPublicKeyWithSignature({G1},uint256,{SIG},uint64[])"),
        format!("function liquidateBLSPublicKeyWithSignature({G1},uint256,{SIG},uint64[])"),
        "function aggregatePubkey()".to_owned(),
        "function blsNonSignerThreshold()".to_owned(),
        "function blsNonSignerThresholdMax()".to_owned(),
        "function proofOfPossessionTag()".to_owned(),
        "function rewardTag()".to_owned(),
        "function exitTag()".to_owned(),
        "function liquidateTag()".to_owned(),
        "function hashToG2Tag()".to_owned(),
        "function signatureExpiry()".to_owned(),
        "function claimThreshold()".to_owned(),
        "function claimCycle()".to_owned(),
        "function currentClaimTotal()".to_owned(),
        "function currentClaimCycle()".to_owned(),
        "function foundationPool()".to_owned(),
        "function liquidatorRewardRatio()".to_owned(),
        "function poolShareOfLiquidationRatio()".to_owned(),
        "function recipientRatio()".to_owned(),
        "function setBLSNonSignerThresholdMax(uint256)".to_owned(),
        "function setClaimThreshold(uint256)".to_owned(),
        "function setClaimCycle(uint256)".to_owned(),
        "function setLiquidationRatios(uint256,uint256,uint256)".to_owned(),
        format!("event ServiceNodeLiquidated(uint64,address,{G1})"),
        "event BLSNonSignerThresholdMaxUpdated(uint256)".to_owned(),
        "event ClaimThresholdUpdated(uint256)".to_owned(),
        "event ClaimCycleUpdated(uint256)".to_owned(),
        "event LiquidationRatiosUpdated(uint256,uint256,uint256)".to_owned(),
        format!("error BLSPubkeyDoesNotExist({G1})"),
        "error ClaimThresholdExceeded()".to_owned(),
        "error ContractNotStarted()".to_owned(),
        "error ExitTooEarly(uint64,uint256,uint256)".to_owned(),
        "error InsufficientBLSSignatures(uint256,uint256)".to_owned(),
        format!("error InvalidBLSSignature({G1})"),
        "error InvalidBLSProofOfPossession()".to_owned(),
        "error LiquidatorPenaltyTooHigh()".to_owned(),
        "error RecipientRewardsTooLow()".to_owned(),
        "error SignatureExpired(uint64,uint256,uint256)".to_owned(),
    ]
}

#[test]
fn the_committed_abi_keeps_the_live_signatures_and_the_bindings_match_it() {
    let committed = signatures(SERVICE_NODE_REWARDS_JSON);
    let topic = |s: &str| keccak256(s.as_bytes());
    for live in live_signatures() {
        assert!(committed.contains(&live), "the committed ABI lacks the live `{live}`");
    }
    // The BLS-signed functions' selectors are the live ones (facts from the live ABI).
    assert_eq!(
        R::updateRewardsBalanceCall::SELECTOR[..],
        topic(&format!("updateRewardsBalance(address,uint256,{SIG},uint64[])"))[..4]
    );
    assert_eq!(
        R::exitBLSPublicKeyWithSignatureCall::SELECTOR[..],
        topic(&format!("exitBLSPublicKeyWithSignature({G1},uint256,{SIG},uint64[])"))[..4]
    );
    assert_eq!(
        R::liquidateBLSPublicKeyWithSignatureCall::SELECTOR[..],
        topic(&format!("liquidateBLSPublicKeyWithSignature({G1},uint256,{SIG},uint64[])"))[..4]
    );
    // sesh's addition.
    assert!(committed.contains("event NetworkTransaction(address,bytes)"));

    // The bindings hash the same strings: the topics and selectors a follower filters on.
    let live_new_node = format!("NewServiceNodeV2(uint64,address,{G1},{PARAMS},{CONTRIBUTORS})");
    assert_eq!(R::NewServiceNodeV2::SIGNATURE, live_new_node);
    assert_eq!(R::NewServiceNodeV2::SIGNATURE_HASH, topic(&live_new_node));
    assert_eq!(
        R::ServiceNodeExitRequest::SIGNATURE_HASH,
        topic(&format!("ServiceNodeExitRequest(uint64,address,{G1})"))
    );
    assert_eq!(
        R::ServiceNodeExit::SIGNATURE_HASH,
        topic(&format!("ServiceNodeExit(uint64,address,uint256,{G1})"))
    );
    assert_eq!(
        R::RewardsBalanceUpdated::SIGNATURE_HASH,
        topic("RewardsBalanceUpdated(address,uint256,uint256)")
    );
    assert_eq!(R::RewardsClaimed::SIGNATURE_HASH, topic("RewardsClaimed(address,uint256)"));
    assert_eq!(
        R::StakingRequirementUpdated::SIGNATURE_HASH,
        topic("StakingRequirementUpdated(uint256)")
    );
    assert_eq!(R::NetworkTransaction::SIGNATURE_HASH, topic("NetworkTransaction(address,bytes)"));
    assert_eq!(
        R::addBLSPublicKeyCall::SELECTOR[..],
        topic(&format!("addBLSPublicKey({G1},{SIG},{PARAMS},{CONTRIBUTORS})"))[..4]
    );
    // Every function, event and error of the bindings is in the committed ABI.
    let artifact: Value = serde_json::from_str(SERVICE_NODE_REWARDS_JSON).unwrap();
    let selectors: BTreeSet<Vec<u8>> = artifact["abi"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "function" || i["type"] == "error")
        .map(|i| {
            let types: Vec<String> =
                i["inputs"].as_array().unwrap().iter().map(canonical).collect();
            let sig = format!("{}({})", i["name"].as_str().unwrap(), types.join(","));
            topic(&sig)[..4].to_vec()
        })
        .collect();
    use alloy::sol_types::SolInterface as _;
    for s in R::ServiceNodeRewardsCalls::selectors() {
        assert!(selectors.contains(s.as_slice()), "a bound function is not in the ABI: {s:?}");
    }
    for s in E::selectors() {
        let own = [
            R::ERC20InsufficientAllowance::SELECTOR,
            R::ERC20InsufficientBalance::SELECTOR,
            R::OwnableUnauthorizedAccount::SELECTOR,
            R::Error::SELECTOR,
        ];
        assert!(
            selectors.contains(s.as_slice()) || own.contains(&s),
            "a bound error is not in the ABI: {s:?}"
        );
    }
    assert!(signatures(SESH_TOKEN_JSON).contains("event Transfer(address,address,uint256)"));
}

// ---- the chain ----

struct Chain {
    _anvil: Anvil,
    /// One provider per dev account (signing as it).
    accounts: Vec<(Address, DynProvider)>,
    deployment: Deployment,
    settings: Settings,
}

const EXIT_WAIT: u64 = 30 * DAY;
const SMALL_DELAY: u64 = 30 * DAY;
const REPEAT_DELAY: u64 = 3_600;

impl Chain {
    async fn start() -> Self {
        let tools = tools();
        let anvil = Anvil::spawn(&tools, CHAIN_ID, &[]).unwrap_or_else(|e| panic!("{e}"));
        let accounts: Vec<(Address, DynProvider)> = (0..10)
            .map(|i| {
                let signer = anvil.dev_signer(i).unwrap();
                (signer.address(), anvil.provider(signer).unwrap())
            })
            .collect();
        let settings = Settings::session_mainnet(accounts[0].0);
        assert_eq!(settings.exit_wait_time, EXIT_WAIT);
        assert_eq!(settings.small_contributor_leave_delay, SMALL_DELAY);
        assert_eq!(settings.repeated_leave_request_delay, REPEAT_DELAY);
        let deployment =
            contracts::deploy(&accounts[0].1, &settings).await.unwrap_or_else(|e| panic!("{e}"));
        Self { _anvil: anvil, accounts, deployment, settings }
    }

    fn addr(&self, i: usize) -> Address {
        self.accounts[i].0
    }

    fn rewards(&self, i: usize) -> R::ServiceNodeRewardsInstance<DynProvider> {
        self.deployment.rewards(&self.accounts[i].1)
    }

    fn token(&self, i: usize) -> SeshToken::SeshTokenInstance<DynProvider> {
        self.deployment.token(&self.accounts[i].1)
    }

    fn requirement(&self) -> U256 {
        self.settings.staking_requirement
    }

    async fn balance(&self, who: Address) -> U256 {
        self.token(0).balanceOf(who).call().await.unwrap()
    }

    /// Gives account `i` tokens and has it approve `amount` to the staking contract.
    async fn fund_and_approve(&self, i: usize, amount: U256) {
        if i != 0 {
            let tx = self.token(0).transfer(self.addr(i), amount).send().await.unwrap();
            assert!(tx.get_receipt().await.unwrap().status());
        }
        let tx = self.token(i).approve(self.deployment.rewards, amount).send().await.unwrap();
        assert!(tx.get_receipt().await.unwrap().status());
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

    /// The next block gets timestamp `t`.
    async fn next_block_at(&self, t: u64) {
        let _: Value =
            self.accounts[0].1.raw_request("evm_setNextBlockTimestamp".into(), (t,)).await.unwrap();
    }

    /// The BLS domain of the staking contract.
    fn domain(&self) -> sesh_bls::Domain {
        sesh_bls::Domain { chain_id: CHAIN_ID, contract: self.deployment.rewards.into_array() }
    }

    /// Mines an empty block at timestamp `t` (so that calls after it see `t`).
    async fn mine_at(&self, t: u64) {
        self.next_block_at(t).await;
        let _: Value = self.accounts[0].1.raw_request("evm_mine".into(), ()).await.unwrap();
    }
}

/// Test node `n`'s BLS secret key.
fn bls_key(n: u64) -> sesh_bls::SecretKey {
    sesh_bls::SecretKey::from_seed(format!("sesh contracts test node {n}").as_bytes())
}

/// The test nodes' BLS keys made so far, by node number.
static KEYS: std::sync::Mutex<std::collections::BTreeMap<u64, R::G1Point>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Test node `n`'s BLS key.
fn g1(n: u64) -> R::G1Point {
    if let Some(k) = KEYS.lock().unwrap().get(&n) {
        return k.clone();
    }
    let k = contracts::g1_point(&bls_key(n).public_key().to_bytes());
    KEYS.lock().unwrap().insert(n, k.clone());
    k
}

const NO_SIGNATURE: R::BLSSignatureParams = R::BLSSignatureParams {
    sigs0: U256::ZERO,
    sigs1: U256::ZERO,
    sigs2: U256::ZERO,
    sigs3: U256::ZERO,
};

/// Node `n`'s registration; its proof of possession is made by [`signed`] when it is sent.
fn node(n: u64, contributors: Vec<R::Contributor>) -> NodeRegistration {
    NodeRegistration {
        bls_pubkey: g1(n),
        bls_signature: NO_SIGNATURE,
        params: R::ServiceNodeParams {
            serviceNodePubkey: U256::from(n) << 128,
            serviceNodeSignature1: U256::from(5u8),
            serviceNodeSignature2: U256::from(6u8),
            fee: 1_000,
        },
        contributors,
    }
}

/// `node` with the proof of possession of its BLS key (when it is one of the test nodes' and
/// `node` has none yet) for the operator: the first contributor, or account `i` (the sender)
/// for a solo node.
fn signed(chain: &Chain, i: usize, node: &NodeRegistration) -> NodeRegistration {
    let mut node = node.clone();
    if node.bls_signature != NO_SIGNATURE {
        return node;
    }
    let Some(n) =
        KEYS.lock().unwrap().iter().find(|(_, k)| **k == node.bls_pubkey).map(|(n, _)| *n)
    else {
        return node;
    };
    let operator = node.contributors.first().map_or(chain.addr(i), |c| c.staker.addr);
    let ed25519 = node.params.serviceNodePubkey.to_be_bytes::<32>();
    let pop = bls_key(n).proof_of_possession(&chain.domain(), operator.into_array(), &ed25519);
    node.bls_signature = contracts::signature_params(&pop.to_words());
    node
}

/// The custom error a failed `send` reverted with.
fn revert_of(e: &alloy::contract::Error) -> E {
    e.as_decoded_interface_error::<E>().unwrap_or_else(|| panic!("not a contract revert: {e}"))
}

/// Sends `addBLSPublicKey` for `node` from account `i`; the revert, if any.
async fn try_add(
    chain: &Chain,
    i: usize,
    node: &NodeRegistration,
) -> Result<TransactionReceipt, E> {
    let node = &signed(chain, i, node);
    let sent = chain
        .rewards(i)
        .addBLSPublicKey(
            node.bls_pubkey.clone(),
            node.bls_signature.clone(),
            node.params.clone(),
            node.contributors.clone(),
        )
        .send()
        .await;
    match sent {
        Ok(pending) => {
            let receipt = pending.get_receipt().await.unwrap();
            assert!(receipt.status());
            Ok(receipt)
        }
        Err(e) => Err(revert_of(&e)),
    }
}

/// The `eth_call` verdict of `addBLSPublicKey` for `node` from account `i` (no state change).
async fn verdict(chain: &Chain, i: usize, node: &NodeRegistration) -> Result<(), E> {
    let node = &signed(chain, i, node);
    chain
        .rewards(i)
        .addBLSPublicKey(
            node.bls_pubkey.clone(),
            node.bls_signature.clone(),
            node.params.clone(),
            node.contributors.clone(),
        )
        .call()
        .await
        .map(|_| ())
        .map_err(|e| revert_of(&e))
}

async fn send_ok<T>(call: alloy::contract::CallBuilder<&DynProvider, T>) -> TransactionReceipt
where
    T: alloy::contract::CallDecoder,
{
    let receipt = call.send().await.unwrap_or_else(|e| panic!("{e}")).get_receipt().await.unwrap();
    assert!(receipt.status());
    receipt
}

fn logs_of<Ev: alloy::sol_types::SolEvent>(receipt: &TransactionReceipt) -> Vec<Ev> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.topics().first() == Some(&Ev::SIGNATURE_HASH))
        .map(|l| Ev::decode_log(&l.inner).unwrap().data)
        .collect()
}

fn sesh(n: u64) -> U256 {
    U256::from(n) * U256::from(SESH)
}

#[tokio::test]
async fn the_token_has_9_decimals_and_its_whole_fixed_supply_goes_to_the_receiver() {
    let chain = Chain::start().await;
    let token = chain.token(0);
    assert_eq!(token.decimals().call().await.unwrap(), 9);
    assert_eq!(token.totalSupply().call().await.unwrap(), chain.settings.supply);
    assert_eq!(chain.balance(chain.addr(0)).await, chain.settings.supply);
    assert_eq!(chain.balance(chain.addr(1)).await, U256::ZERO);
    // Nothing to mint with: the token has no function beyond ERC-20's.
    let abi = signatures(SESH_TOKEN_JSON);
    assert!(!abi.iter().any(|s| s.contains("mint") || s.contains("burn")), "{abi:?}");
    // Moving more than one holds reverts with OpenZeppelin's error.
    let e = chain.token(1).transfer(chain.addr(2), U256::from(1u8)).send().await.unwrap_err();
    let decoded = e.as_decoded_error::<SeshToken::ERC20InsufficientBalance>().unwrap();
    assert_eq!(decoded.sender, chain.addr(1));
    assert_eq!(decoded.balance, U256::ZERO);
    // The staking contract's settings are those deployed.
    let rewards = chain.rewards(0);
    assert_eq!(rewards.designatedToken().call().await.unwrap(), chain.deployment.token);
    assert_eq!(rewards.stakingRequirement().call().await.unwrap(), sesh(25_000));
    assert_eq!(rewards.maxContributors().call().await.unwrap(), U256::from(10u8));
    assert_eq!(rewards.exitWaitTime().call().await.unwrap(), U256::from(EXIT_WAIT));
    assert_eq!(rewards.smallContributorLeaveDelay().call().await.unwrap(), U256::from(SMALL_DELAY));
    assert_eq!(rewards.repeatedLeaveRequestDelay().call().await.unwrap(), U256::from(REPEAT_DELAY));
    assert_eq!(rewards.nextServiceNodeID().call().await.unwrap(), 1);
    assert_eq!(rewards.owner().call().await.unwrap(), chain.addr(0));
}

#[tokio::test]
async fn registration_takes_the_full_stake_and_emits_the_live_event() {
    let chain = Chain::start().await;
    let req = chain.requirement();
    let rewards = chain.rewards(0);
    let start = chain.balance(chain.addr(0)).await;

    // A solo node, through the helper (approve + addBLSPublicKey).
    let solo = signed(&chain, 0, &node(1, vec![]));
    let (id, receipt) = contracts::register(&chain.accounts[0].1, &chain.deployment, &solo)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, 1, "ids start at 1");
    assert_eq!(chain.balance(chain.addr(0)).await, start - req);
    assert_eq!(chain.balance(chain.deployment.rewards).await, req);
    let log =
        receipt.inner.logs().iter().find(|l| l.address() == chain.deployment.rewards).unwrap();
    let live = format!("NewServiceNodeV2(uint64,address,{G1},{PARAMS},{CONTRIBUTORS})");
    assert_eq!(log.topics()[0], keccak256(live.as_bytes()));
    assert_eq!(log.topics()[1], B256::from(U256::from(1u8)), "the id is the indexed topic");
    let event = R::NewServiceNodeV2::decode_log(&log.inner).unwrap().data;
    assert_eq!(event.serviceNodeID, 1);
    assert_eq!(event.initiator, chain.addr(0));
    assert_eq!(event.pubkey, g1(1));
    assert_eq!(event.serviceNode, solo.params);
    assert_eq!(event.contributors, vec![contributor(chain.addr(0), chain.addr(0), req)]);

    // A node of three contributors, paid by the operator's account.
    let (a1, a2) = (chain.addr(1), chain.addr(2));
    let quarter = req / U256::from(4u8);
    let stakes = vec![
        contributor(chain.addr(0), chain.addr(0), quarter),
        contributor(a1, a2, quarter * U256::from(2u8)),
        contributor(a2, a2, req - quarter * U256::from(3u8)),
    ];
    let multi = signed(&chain, 0, &node(2, stakes.clone()));
    let (id2, receipt) = contracts::register(&chain.accounts[0].1, &chain.deployment, &multi)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id2, 2);
    assert_eq!(logs_of::<R::NewServiceNodeV2>(&receipt)[0].contributors, stakes);
    assert_eq!(chain.balance(chain.deployment.rewards).await, req * U256::from(2u8));

    // The views.
    assert_eq!(rewards.totalNodes().call().await.unwrap(), U256::from(2u8));
    assert_eq!(rewards.nextServiceNodeID().call().await.unwrap(), 3);
    let all = rewards.allServiceNodeIDs().call().await.unwrap();
    assert_eq!(all.ids, vec![1, 2]);
    assert_eq!(all.pubkeys, vec![g1(1), g1(2)]);
    let sn = rewards.serviceNodes(2).call().await.unwrap();
    assert_eq!(sn.operator, chain.addr(0));
    assert_eq!(sn.blsPubkey, g1(2));
    assert_eq!(sn.deposit, req);
    assert_eq!(sn.contributors, stakes);
    assert_eq!(sn.ed25519Pubkey, multi.params.serviceNodePubkey);
    assert_eq!(sn.prev, 1);
    assert_eq!(sn.next, 0);
    assert_eq!(sn.addedTimestamp, U256::from(chain.now().await));
    let key = Bytes::from([g1(2).X.to_be_bytes::<32>(), g1(2).Y.to_be_bytes::<32>()].concat());
    assert_eq!(rewards.serviceNodeIDs(key).call().await.unwrap(), 2);
    assert_eq!(
        rewards.ed25519ToServiceNodeID(multi.params.serviceNodePubkey).call().await.unwrap(),
        2
    );
    assert_eq!(rewards.serviceNodes(9).call().await.unwrap().ed25519Pubkey, U256::ZERO);
}

#[tokio::test]
async fn every_registration_rule_reverts_with_its_live_error() {
    let chain = Chain::start().await;
    let req = chain.requirement();
    let op = chain.addr(0);
    let other = |i: u64| Address::with_last_byte(u8::try_from(i).unwrap() + 0x40);

    // Without an allowance, the token refuses the transfer (after every other check passed).
    match try_add(&chain, 0, &node(1, vec![])).await {
        Err(E::ERC20InsufficientAllowance(e)) => {
            assert_eq!(e.spender, chain.deployment.rewards);
            assert_eq!(e.needed, req);
        }
        other => panic!("{other:?}"),
    }
    chain.fund_and_approve(0, req * U256::from(100u8)).await;
    try_add(&chain, 0, &node(1, vec![])).await.unwrap();

    // Keys.
    let mut n = node(2, vec![]);
    n.bls_pubkey.X = U256::ZERO;
    assert_eq!(try_add(&chain, 0, &n).await.unwrap_err(), E::NullBLSPubkey(R::NullBLSPubkey {}));
    let mut n = node(2, vec![]);
    n.bls_pubkey.Y = U256::ZERO;
    assert_eq!(try_add(&chain, 0, &n).await.unwrap_err(), E::NullBLSPubkey(R::NullBLSPubkey {}));
    let mut n = node(2, vec![]);
    n.params.serviceNodePubkey = U256::ZERO;
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::NullEd25519Pubkey(R::NullEd25519Pubkey {})
    );
    let mut n = node(2, vec![]);
    n.bls_pubkey = g1(1);
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::BLSPubkeyAlreadyExists(R::BLSPubkeyAlreadyExists { serviceNodeID: 1 })
    );
    let mut n = node(2, vec![]);
    n.params.serviceNodePubkey = node(1, vec![]).params.serviceNodePubkey;
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::Ed25519PubkeyAlreadyExists(R::Ed25519PubkeyAlreadyExists { serviceNodeID: 1 })
    );

    // The fee: at most 10000 basis points.
    let mut n = node(2, vec![]);
    n.params.fee = 10_001;
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::FeeExceedsPossibleValue(R::FeeExceedsPossibleValue { fee: 10_001, max: 10_000 })
    );
    n.params.fee = 10_000;
    assert_eq!(verdict(&chain, 0, &n).await, Ok(()));

    // Contributors: the total.
    let n = node(2, vec![contributor(op, op, req - U256::from(1u8))]);
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::ContributionTotalMismatch(R::ContributionTotalMismatch {
            required: req,
            provided: req - U256::from(1u8)
        })
    );
    let n =
        node(2, vec![contributor(op, op, req), contributor(other(1), other(1), U256::from(1u8))]);
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::ContributionTotalMismatch(R::ContributionTotalMismatch {
            required: req,
            provided: req + U256::from(1u8)
        })
    );
    // Null and repeated addresses.
    let n = node(
        2,
        vec![contributor(op, op, sesh(20_000)), contributor(Address::ZERO, op, sesh(5_000))],
    );
    assert_eq!(try_add(&chain, 0, &n).await.unwrap_err(), E::NullAddress(R::NullAddress {}));
    let n = node(2, vec![contributor(op, Address::ZERO, req)]);
    assert_eq!(try_add(&chain, 0, &n).await.unwrap_err(), E::NullAddress(R::NullAddress {}));
    let n = node(
        2,
        vec![
            contributor(op, op, sesh(10_000)),
            contributor(other(1), other(1), sesh(10_000)),
            contributor(other(1), op, sesh(5_000)),
        ],
    );
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::DuplicateContributor(R::DuplicateContributor { index: U256::from(2u8) })
    );

    // The operator's quarter, at its edge, against sesh_staking's operator minimum.
    let minimum = sesh_staking::contract::minimum_operator_contribution(
        sesh_staking::contract::U256::from_be_bytes(req.to_be_bytes::<32>()),
    )
    .unwrap();
    let minimum = U256::from_be_bytes(minimum.to_be_bytes::<32>());
    assert_eq!(minimum, sesh(6_250));
    let with_operator = |stake: U256| {
        node(2, vec![contributor(op, op, stake), contributor(other(1), other(1), req - stake)])
    };
    let below = minimum - U256::from(1u8);
    assert_eq!(
        try_add(&chain, 0, &with_operator(below)).await.unwrap_err(),
        E::InsufficientOperatorContribution(R::InsufficientOperatorContribution {
            operatorStake: below
        })
    );
    assert_eq!(verdict(&chain, 0, &with_operator(minimum)).await, Ok(()));

    // At most maxContributors (sesh_staking's max_contributors) entries.
    let max = sesh_staking::Params::session_mainnet().max_contributors as u64;
    let spread = |count: u64| {
        let share = (req - minimum) / U256::from(count - 1);
        let mut list = vec![contributor(op, op, req - share * U256::from(count - 1))];
        list.extend((1..count).map(|i| contributor(other(i), other(i), share)));
        list
    };
    assert_eq!(verdict(&chain, 0, &node(2, spread(max))).await, Ok(()));
    assert_eq!(
        try_add(&chain, 0, &node(2, spread(max + 1))).await.unwrap_err(),
        E::MaxContributorsExceeded(R::MaxContributorsExceeded {})
    );

    // None of the refused registrations took anything.
    assert_eq!(chain.balance(chain.deployment.rewards).await, req);
    assert_eq!(chain.rewards(0).totalNodes().call().await.unwrap(), U256::from(1u8));
}

/// Random contributor lists: the contract's verdict is the one sesh_staking's rules give
/// (the total, the operator's minimum, the contributor count, in the contract's order).
#[tokio::test]
async fn random_contributor_lists_get_the_verdict_of_sesh_stakings_rules() {
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};

    let chain = Chain::start().await;
    let req = chain.requirement();
    chain.fund_and_approve(0, req).await;
    let params = sesh_staking::Params::session_mainnet();
    let ruint = |v: U256| sesh_staking::contract::U256::from_be_bytes(v.to_be_bytes::<32>());
    let operator_minimum = U256::from_be_bytes(
        sesh_staking::contract::minimum_operator_contribution(ruint(req))
            .unwrap()
            .to_be_bytes::<32>(),
    );
    let op = chain.addr(0);
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..120 {
        let count = usize::try_from(rng.next_u64() % 13).unwrap();
        let mut list = Vec::new();
        let mut left = req;
        for i in 0..count {
            let amount = if i + 1 == count && rng.next_u64() % 3 != 0 {
                left // mostly a list that adds up
            } else {
                let max = if i == 0 { req / U256::from(2u8) } else { left / U256::from(2u8) };
                let wiggle = U256::from(rng.next_u64()) % (max + U256::from(1u8));
                if i == 0 && rng.next_u64() % 2 == 0 {
                    operator_minimum - U256::from(1u8) + U256::from(rng.next_u64() % 3)
                } else {
                    wiggle
                }
            };
            left = left.saturating_sub(amount);
            let who = if i == 0 { op } else { Address::with_last_byte(u8::try_from(i).unwrap()) };
            list.push(contributor(who, who, amount));
        }
        // sesh_staking's rules, in the contract's order.
        let total: U256 = list.iter().map(|c| c.stakedAmount).sum();
        let expected = if list.len() > params.max_contributors {
            Err(E::MaxContributorsExceeded(R::MaxContributorsExceeded {}))
        } else if list.is_empty() {
            Ok(())
        } else if total != req {
            Err(E::ContributionTotalMismatch(R::ContributionTotalMismatch {
                required: req,
                provided: total,
            }))
        } else if list[0].stakedAmount < operator_minimum {
            Err(E::InsufficientOperatorContribution(R::InsufficientOperatorContribution {
                operatorStake: list[0].stakedAmount,
            }))
        } else {
            Ok(())
        };
        let got = verdict(&chain, 0, &node(100 + case, list.clone())).await;
        assert_eq!(got, expected, "case {case}: {list:?}");
        if got.is_ok() { accepted += 1 } else { refused += 1 }
    }
    assert!(accepted > 10 && refused > 10, "{accepted} accepted, {refused} refused");
}

#[tokio::test]
async fn leaving_follows_the_live_delays_and_moves_no_tokens() {
    let chain = Chain::start().await;
    let req = chain.requirement();
    let (op, big, small) = (chain.addr(0), chain.addr(1), chain.addr(2));
    // big holds exactly a quarter (not small: 4 × stake is not below the deposit); small one
    // atomic unit less than a quarter.
    let quarter = req / U256::from(4u8);
    let stakes = vec![
        contributor(op, op, req - quarter - (quarter - U256::from(1u8))),
        contributor(big, big, quarter),
        contributor(small, chain.addr(3), quarter - U256::from(1u8)),
    ];
    let divisor = sesh_staking::Params::session_mainnet().small_contributor_divisor;
    let is_small = |stake: U256| stake * U256::from(divisor) < req;
    assert!(!is_small(quarter) && is_small(quarter - U256::from(1u8)));
    let (id, receipt) = contracts::register(
        &chain.accounts[0].1,
        &chain.deployment,
        &signed(&chain, 0, &node(1, stakes.clone())),
    )
    .await
    .unwrap();
    let added = chain.accounts[0]
        .1
        .get_block_by_number(receipt.block_number.unwrap().into())
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;

    // Who may ask, and which node.
    let e = chain.rewards(4).initiateExitBLSPublicKey(id).send().await.unwrap_err();
    assert_eq!(
        revert_of(&e),
        E::CallerNotContributor(R::CallerNotContributor {
            serviceNodeID: id,
            caller: chain.addr(4)
        })
    );
    // The beneficiary of a stake is not its staker.
    let e = chain.rewards(3).initiateExitBLSPublicKey(id).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::CallerNotContributor(_)));
    for missing in [0, 7] {
        let e = chain.rewards(0).initiateExitBLSPublicKey(missing).send().await.unwrap_err();
        assert_eq!(
            revert_of(&e),
            E::ServiceNodeDoesntExist(R::ServiceNodeDoesntExist { serviceNodeID: missing })
        );
        let e = chain.rewards(0).exitBLSPublicKeyAfterWaitTime(missing).send().await.unwrap_err();
        assert_eq!(
            revert_of(&e),
            E::ServiceNodeDoesntExist(R::ServiceNodeDoesntExist { serviceNodeID: missing })
        );
    }
    let e = chain.rewards(0).exitBLSPublicKeyAfterWaitTime(id).send().await.unwrap_err();
    assert_eq!(
        revert_of(&e),
        E::LeaveRequestNotInitiatedYet(R::LeaveRequestNotInitiatedYet { serviceNodeID: id })
    );

    // The small contributor must wait SMALL_DELAY from the registration; exactly then it may.
    let e = chain.rewards(2).initiateExitBLSPublicKey(id).send().await.unwrap_err();
    assert_eq!(
        revert_of(&e),
        E::SmallContributorLeaveTooEarly(R::SmallContributorLeaveTooEarly {
            serviceNodeID: id,
            contributor: small
        })
    );
    let snap = sesh_examples::chain_tools::snapshot(&chain.accounts[0].1).await.unwrap();
    chain.mine_at(added + SMALL_DELAY - 2).await;
    let e = chain.rewards(2).initiateExitBLSPublicKey(id).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::SmallContributorLeaveTooEarly(_)), "{e}");
    // A transaction mined at exactly the delay's end (gas given, so no estimate beforehand).
    chain.next_block_at(added + SMALL_DELAY).await;
    let receipt = send_ok(chain.rewards(2).initiateExitBLSPublicKey(id).gas(300_000)).await;
    assert_eq!(logs_of::<R::ServiceNodeExitRequest>(&receipt).len(), 1);
    sesh_examples::chain_tools::revert(&chain.accounts[0].1, snap).await.unwrap();

    // The quarter holder asks at once.
    let receipt = send_ok(chain.rewards(1).initiateExitBLSPublicKey(id)).await;
    let requested = chain.now().await;
    let log = &receipt.inner.logs()[0];
    assert_eq!(
        log.topics()[0],
        keccak256(format!("ServiceNodeExitRequest(uint64,address,{G1})").as_bytes())
    );
    let event = R::ServiceNodeExitRequest::decode_log(&log.inner).unwrap().data;
    assert_eq!((event.serviceNodeID, event.initiator, event.pubkey), (id, big, g1(1)));
    let sn = chain.rewards(0).serviceNodes(id).call().await.unwrap();
    assert_eq!(sn.leaveRequestTimestamp, U256::from(requested));
    assert_eq!(sn.latestLeaveRequestTimestamp, U256::from(requested));

    // A repeat (by anyone among the contributors, even the small one now) waits REPEAT_DELAY.
    let e = chain.rewards(0).initiateExitBLSPublicKey(id).send().await.unwrap_err();
    match revert_of(&e) {
        E::LeaveRequestTooEarly(r) => {
            assert_eq!(r.serviceNodeID, id);
            assert_eq!(r.endTimestamp, U256::from(requested + REPEAT_DELAY));
            assert!(r.currTimestamp < r.endTimestamp);
        }
        other => panic!("{other:?}"),
    }
    chain.next_block_at(requested + REPEAT_DELAY).await;
    send_ok(chain.rewards(2).initiateExitBLSPublicKey(id).gas(300_000)).await;
    let sn = chain.rewards(0).serviceNodes(id).call().await.unwrap();
    assert_eq!(sn.leaveRequestTimestamp, U256::from(requested), "the wait runs from the first");
    assert_eq!(sn.latestLeaveRequestTimestamp, U256::from(requested + REPEAT_DELAY));

    // The exit: EXIT_WAIT after the first request, no sooner.
    let e = chain.rewards(5).exitBLSPublicKeyAfterWaitTime(id).send().await.unwrap_err();
    match revert_of(&e) {
        E::LeaveRequestTooEarly(r) => {
            assert_eq!(r.endTimestamp, U256::from(requested + EXIT_WAIT));
        }
        other => panic!("{other:?}"),
    }
    chain.next_block_at(requested + EXIT_WAIT - 1).await;
    let pending = chain.rewards(5).exitBLSPublicKeyAfterWaitTime(id).gas(500_000).send().await;
    assert!(!pending.unwrap().get_receipt().await.unwrap().status(), "a second early");
    chain.next_block_at(requested + EXIT_WAIT).await;
    // Anyone may call it.
    let receipt = send_ok(chain.rewards(5).exitBLSPublicKeyAfterWaitTime(id).gas(500_000)).await;
    let exit = logs_of::<R::ServiceNodeExit>(&receipt);
    assert_eq!(exit.len(), 1);
    assert_eq!(
        receipt.inner.logs()[0].topics()[0],
        keccak256(format!("ServiceNodeExit(uint64,address,uint256,{G1})").as_bytes())
    );
    assert_eq!(
        (exit[0].serviceNodeID, exit[0].initiator, exit[0].returnedAmount, exit[0].pubkey.clone()),
        (id, chain.addr(5), req, g1(1))
    );
    // As on the live contract, the exit credits nothing and moves no tokens: the ledger returns
    // the stakes, claimed through updateRewardsBalance (tests/bls_contract.rs).
    assert_eq!(receipt.inner.logs().len(), 1, "only ServiceNodeExit");
    assert_eq!(chain.balance(chain.deployment.rewards).await, req);

    // The node is gone, its keys free again.
    let rewards = chain.rewards(0);
    assert_eq!(rewards.totalNodes().call().await.unwrap(), U256::ZERO);
    assert!(rewards.allServiceNodeIDs().call().await.unwrap().ids.is_empty());
    assert_eq!(rewards.serviceNodes(id).call().await.unwrap().ed25519Pubkey, U256::ZERO);
    assert_eq!(
        rewards.aggregatePubkey().call().await.unwrap(),
        R::G1Point { X: U256::ZERO, Y: U256::ZERO }
    );
    let e = chain.rewards(0).initiateExitBLSPublicKey(id).send().await.unwrap_err();
    assert!(matches!(revert_of(&e), E::ServiceNodeDoesntExist(_)));
    for who in [big, small, op] {
        let r = rewards.recipients(who).call().await.unwrap();
        assert_eq!((r.rewards, r.claimed), (U256::ZERO, U256::ZERO));
    }
    let e = chain.rewards(1).claimRewards_1(U256::from(1u8)).send().await.unwrap_err();
    assert_eq!(revert_of(&e), E::MaxClaimExceeded(R::MaxClaimExceeded {}));

    // The BLS and Ed25519 keys can register again, with a new id.
    let (again, _) = contracts::register(
        &chain.accounts[0].1,
        &chain.deployment,
        &signed(&chain, 0, &node(1, vec![])),
    )
    .await
    .unwrap();
    assert_eq!(again, id + 1);
}

#[tokio::test]
async fn network_transactions_and_the_owners_requirement() {
    let chain = Chain::start().await;

    // Network transactions up to 16 KiB, as given, from anyone.
    let tx: Vec<u8> = (0..16_384u32).map(|i| (i % 251) as u8).collect();
    let receipt =
        contracts::submit_network_transaction(&chain.accounts[3].1, &chain.deployment, &tx)
            .await
            .unwrap();
    let log = &receipt.inner.logs()[0];
    assert_eq!(log.topics()[0], keccak256(b"NetworkTransaction(address,bytes)"));
    let event = R::NetworkTransaction::decode_log(&log.inner).unwrap().data;
    assert_eq!(event.sender, chain.addr(3));
    assert_eq!(event.transaction.as_ref(), &tx[..]);
    let e = chain
        .rewards(3)
        .submitNetworkTransaction(Bytes::from(vec![7u8; 16_385]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        revert_of(&e),
        E::NetworkTransactionTooLarge(R::NetworkTransactionTooLarge {
            length: U256::from(16_385u32),
            max: U256::from(16_384u32)
        })
    );

    // The staking requirement: the owner's, positive, for nodes registered afterwards.
    contracts::register(
        &chain.accounts[0].1,
        &chain.deployment,
        &signed(&chain, 0, &node(1, vec![])),
    )
    .await
    .unwrap();
    let e = chain.rewards(1).setStakingRequirement(sesh(1)).send().await.unwrap_err();
    assert_eq!(
        revert_of(&e),
        E::OwnableUnauthorizedAccount(R::OwnableUnauthorizedAccount { account: chain.addr(1) })
    );
    let e = chain.rewards(0).setStakingRequirement(U256::ZERO).send().await.unwrap_err();
    assert_eq!(revert_of(&e), E::PositiveNumberRequirement(R::PositiveNumberRequirement {}));
    let receipt = send_ok(chain.rewards(0).setStakingRequirement(sesh(30_000))).await;
    let log = &receipt.inner.logs()[0];
    assert_eq!(log.topics()[0], keccak256(b"StakingRequirementUpdated(uint256)"));
    assert_eq!(
        R::StakingRequirementUpdated::decode_log(&log.inner).unwrap().data.newRequirement,
        sesh(30_000)
    );
    let n = node(2, vec![contributor(chain.addr(0), chain.addr(0), sesh(25_000))]);
    chain.fund_and_approve(0, sesh(30_000)).await;
    assert_eq!(
        try_add(&chain, 0, &n).await.unwrap_err(),
        E::ContributionTotalMismatch(R::ContributionTotalMismatch {
            required: sesh(30_000),
            provided: sesh(25_000)
        })
    );
    let (id, _) = contracts::register(
        &chain.accounts[0].1,
        &chain.deployment,
        &signed(&chain, 0, &node(2, vec![])),
    )
    .await
    .unwrap();
    let rewards = chain.rewards(0);
    assert_eq!(rewards.serviceNodes(id).call().await.unwrap().deposit, sesh(30_000));
    assert_eq!(rewards.serviceNodes(1).call().await.unwrap().deposit, sesh(25_000));
    assert_eq!(chain.balance(chain.deployment.rewards).await, sesh(55_000));
}

fn seed_node(n: u64, contributors: Vec<R::Contributor>) -> R::SeedServiceNode {
    R::SeedServiceNode {
        blsPubkey: g1(n),
        ed25519Pubkey: U256::from(n) << 128,
        addedTimestamp: U256::from(1_700_000_000u64 + n),
        contributors,
    }
}

/// Sends `seedPublicKeyList(nodes)` from account `i`; the revert, if any.
async fn try_seed(chain: &Chain, i: usize, nodes: Vec<R::SeedServiceNode>) -> Result<(), E> {
    match chain.rewards(i).seedPublicKeyList(nodes).send().await {
        Ok(pending) => {
            assert!(pending.get_receipt().await.unwrap().status());
            Ok(())
        }
        Err(e) => Err(revert_of(&e)),
    }
}

#[tokio::test]
async fn seeding_is_the_owners_before_the_start_with_the_live_rules() {
    let chain = Chain::start().await;
    let req = chain.requirement();
    let (a, b, c) = (chain.addr(1), chain.addr(2), chain.addr(3));
    let split = vec![
        contributor(a, b, req / U256::from(10u8)),
        contributor(c, c, req - req / U256::from(10u8)),
    ];
    chain.fund_and_approve(0, req * U256::from(10u8)).await;

    // The owner's only.
    assert_eq!(
        try_seed(&chain, 1, vec![seed_node(1, split.clone())]).await.unwrap_err(),
        E::OwnableUnauthorizedAccount(R::OwnableUnauthorizedAccount { account: chain.addr(1) })
    );
    // The live checks, each reverting the whole list.
    let bad = [
        (seed_node(1, vec![]), E::InsufficientContributors(R::InsufficientContributors {})),
        (
            seed_node(
                1,
                (0..11u8)
                    .map(|i| {
                        contributor(chain.addr(usize::from(i % 10)), a, req / U256::from(11u8))
                    })
                    .collect(),
            ),
            E::MaxContributorsExceeded(R::MaxContributorsExceeded {}),
        ),
        (seed_node(1, vec![contributor(Address::ZERO, a, req)]), E::NullAddress(R::NullAddress {})),
        (
            seed_node(1, vec![contributor(a, a, req - U256::from(1u8))]),
            E::ContributionTotalMismatch(R::ContributionTotalMismatch {
                required: req,
                provided: req - U256::from(1u8),
            }),
        ),
        (
            seed_node(
                1,
                vec![
                    contributor(a, a, req / U256::from(2u8)),
                    contributor(a, b, req / U256::from(2u8)),
                ],
            ),
            E::DuplicateContributor(R::DuplicateContributor { index: U256::from(1u8) }),
        ),
        (
            R::SeedServiceNode { ed25519Pubkey: U256::ZERO, ..seed_node(1, split.clone()) },
            E::NullEd25519Pubkey(R::NullEd25519Pubkey {}),
        ),
    ];
    for (node, error) in bad {
        assert_eq!(
            try_seed(&chain, 0, vec![seed_node(9, split.clone()), node]).await.unwrap_err(),
            error
        );
    }
    assert_eq!(chain.rewards(0).totalNodes().call().await.unwrap(), U256::ZERO);

    // Two calls of two and one nodes: ids in order, the live event, the owner pays the deposits.
    let before = chain.balance(chain.addr(0)).await;
    let (ids, receipt) = contracts::seed(
        &chain.accounts[0].1,
        &chain.deployment,
        &[seed_node(1, split.clone()), seed_node(2, vec![contributor(b, b, req)])],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![1, 2]);
    let seeded = logs_of::<R::NewSeededServiceNode>(&receipt);
    assert_eq!(
        receipt
            .inner
            .logs()
            .iter()
            .filter(|l| l.topics()[0]
                == keccak256(b"NewSeededServiceNode(uint64,(uint256,uint256),uint256)"))
            .count(),
        2
    );
    assert_eq!(seeded[0].serviceNodeID, 1);
    assert_eq!(seeded[0].blsPubkey, g1(1));
    assert_eq!(seeded[0].ed25519Pubkey, U256::from(1u8) << 128);
    let (ids, _) =
        contracts::seed(&chain.accounts[0].1, &chain.deployment, &[seed_node(3, split.clone())])
            .await
            .unwrap();
    assert_eq!(ids, vec![3]);
    assert_eq!(chain.balance(chain.addr(0)).await, before - req * U256::from(3u8));
    assert_eq!(chain.balance(chain.deployment.rewards).await, req * U256::from(3u8));
    let record = chain.rewards(0).serviceNodes(1).call().await.unwrap();
    assert_eq!(record.operator, a);
    assert_eq!(record.deposit, req);
    assert_eq!(record.addedTimestamp, U256::from(1_700_000_001u64));
    assert_eq!(record.contributors, split);
    assert_eq!(record.ed25519Pubkey, U256::from(1u8) << 128);
    // Keys stay unique across seeded and registered nodes.
    assert_eq!(
        try_seed(&chain, 0, vec![seed_node(1, split.clone())]).await.unwrap_err(),
        E::BLSPubkeyAlreadyExists(R::BLSPubkeyAlreadyExists { serviceNodeID: 1 })
    );
    chain.fund_and_approve(0, req).await;
    assert_eq!(
        try_add(&chain, 0, &node(2, vec![])).await.unwrap_err(),
        E::BLSPubkeyAlreadyExists(R::BLSPubkeyAlreadyExists { serviceNodeID: 2 })
    );

    // The first registration starts the contract: no more seeding.
    assert!(!chain.rewards(0).isStarted().call().await.unwrap());
    contracts::register(
        &chain.accounts[0].1,
        &chain.deployment,
        &signed(&chain, 0, &node(4, vec![])),
    )
    .await
    .unwrap();
    assert!(chain.rewards(0).isStarted().call().await.unwrap());
    chain.fund_and_approve(0, req).await;
    assert_eq!(
        try_seed(&chain, 0, vec![seed_node(5, split.clone())]).await.unwrap_err(),
        E::ContractAlreadyStarted(R::ContractAlreadyStarted {})
    );
    // A seeded node leaves as any other (crediting nothing, as on the live contract).
    send_ok(chain.rewards(3).initiateExitBLSPublicKey(1)).await;
    let t = chain.now().await + EXIT_WAIT;
    chain.next_block_at(t).await;
    let receipt = send_ok(chain.rewards(5).exitBLSPublicKeyAfterWaitTime(1)).await;
    assert_eq!(logs_of::<R::ServiceNodeExit>(&receipt)[0].returnedAmount, req);
    assert_eq!(chain.rewards(0).recipients(c).call().await.unwrap().rewards, U256::ZERO);
}

#[tokio::test]
async fn start_closes_seeding() {
    let chain = Chain::start().await;
    let e = chain.rewards(1).start().send().await.unwrap_err();
    assert_eq!(
        revert_of(&e),
        E::OwnableUnauthorizedAccount(R::OwnableUnauthorizedAccount { account: chain.addr(1) })
    );
    send_ok(chain.rewards(0).start()).await;
    chain.fund_and_approve(0, chain.requirement()).await;
    let one = vec![contributor(chain.addr(0), chain.addr(0), chain.requirement())];
    assert_eq!(
        try_seed(&chain, 0, vec![seed_node(1, one)]).await.unwrap_err(),
        E::ContractAlreadyStarted(R::ContractAlreadyStarted {})
    );
}

// ---- the multi-contributor staging contract ----

use sesh_examples::contracts::ServiceNodeContribution as C;
use sesh_examples::contracts::ServiceNodeContribution::ServiceNodeContributionErrors as CE;
use sesh_staking::contract as model;

fn to_model(v: U256) -> model::U256 {
    model::U256::from_be_bytes(v.to_be_bytes::<32>())
}

fn from_model(v: model::U256) -> U256 {
    U256::from_be_bytes(v.to_be_bytes::<32>())
}

fn reserve(addr: Address, amount: U256) -> R::ReservedContributor {
    R::ReservedContributor { addr, amount }
}

/// Deploys a staging contract for node `n` from account `i` through the factory.
async fn stage(
    chain: &Chain,
    i: usize,
    n: u64,
    reserved: Vec<R::ReservedContributor>,
    manual: bool,
) -> C::ServiceNodeContributionInstance<DynProvider> {
    let spec = signed(chain, i, &node(n, vec![]));
    let factory = chain.deployment.factory(&chain.accounts[i].1);
    let receipt = send_ok(factory.deploy_call(
        spec.bls_pubkey,
        spec.bls_signature,
        spec.params.clone(),
        reserved,
        manual,
    ))
    .await;
    let made = logs_of::<
        contracts::ServiceNodeContributionFactory::NewServiceNodeContributionContract,
    >(&receipt);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].operator, chain.addr(i));
    assert_eq!(made[0].serviceNodePubkey, spec.params.serviceNodePubkey);
    assert!(factory.owns(made[0].contributorContract).call().await.unwrap());
    C::new(made[0].contributorContract, chain.accounts[i].1.clone())
}

fn c_revert(e: &alloy::contract::Error) -> CE {
    e.as_decoded_interface_error::<CE>().unwrap_or_else(|| panic!("not a staging revert: {e}"))
}

/// `calcMinimumContribution` on the chain and `sesh_staking::contract::calc_minimum_contribution`
/// agree on random and edge inputs: the same minimum, or the same revert data byte for byte.
#[tokio::test]
async fn the_minimum_contribution_and_its_reverts_are_sesh_stakings() {
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};

    let chain = Chain::start().await;
    let staging = stage(&chain, 0, 1, vec![], false).await;
    let mut inputs: Vec<(U256, u64, u64)> = vec![
        (sesh(25_000), 0, 10),
        (sesh(25_000), 0, 1),
        (sesh(18_750), 1, 10),
        (U256::from(1u8), 9, 10),
        (U256::ZERO, 0, 10),
        (U256::ZERO, 3, 10),
        (sesh(1), 10, 10),
        (sesh(1), 11, 10),
        (U256::MAX, 0, 10),
        (U256::MAX, 5, 10),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for _ in 0..150 {
        let remaining = match rng.next_u64() % 4 {
            0 => U256::from(rng.next_u64() % 3),
            _ => {
                U256::from(rng.next_u64() % 30_000) * U256::from(SESH)
                    + U256::from(rng.next_u64() % 1000)
            }
        };
        inputs.push((remaining, rng.next_u64() % 12, rng.next_u64() % 12));
    }
    let (mut values, mut reverts) = (0, 0);
    for (remaining, n, max) in inputs {
        let expected = model::calc_minimum_contribution(
            to_model(remaining),
            model::U256::from(n),
            model::U256::from(max),
        );
        let got =
            staging.calcMinimumContribution(remaining, U256::from(n), U256::from(max)).call().await;
        match (expected, got) {
            (Ok(want), Ok(got)) => {
                assert_eq!(got, from_model(want), "({remaining}, {n}, {max})");
                values += 1;
            }
            (Err(revert), Err(e)) => {
                assert_eq!(
                    e.as_revert_data().unwrap().to_vec(),
                    revert.abi_data(),
                    "({remaining}, {n}, {max}): {revert}"
                );
                reverts += 1;
            }
            (want, got) => {
                panic!("({remaining}, {n}, {max}): sesh_staking {want:?}, chain {got:?}")
            }
        }
    }
    assert!(values > 50 && reverts > 20, "{values} values, {reverts} reverts");
    let req = chain.requirement();
    assert_eq!(
        staging.minimumOperatorContribution(req).call().await.unwrap(),
        from_model(model::minimum_operator_contribution(to_model(req)).unwrap())
    );
}

/// Random reservation lists: `updateReservedContributors` accepts what
/// `sesh_staking::contract::check_reservations` accepts and reverts with the same data otherwise.
#[tokio::test]
async fn reservation_lists_get_the_verdict_of_sesh_stakings_check() {
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};

    let chain = Chain::start().await;
    let req = chain.requirement();
    let op = chain.addr(0);
    let staging = stage(&chain, 0, 1, vec![], false).await;
    let max = staging.maxContributors().call().await.unwrap();
    assert_eq!(max, U256::from(sesh_staking::Params::session_mainnet().max_contributors));
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let (mut accepted, mut refused) = (0, 0);
    let mut kinds = BTreeSet::new();
    for case in 0..150 {
        let count = usize::try_from(rng.next_u64() % 12).unwrap();
        let mut remaining = req;
        let mut amounts = Vec::new();
        for i in 0..count {
            let min = model::calc_minimum_contribution(
                to_model(remaining),
                model::U256::from(i),
                to_model(max),
            )
            .map_or(U256::from(1u8), from_model);
            let amount = match rng.next_u64() % 6 {
                0 => min - U256::from(rng.next_u64() % 2),
                1 => remaining + U256::from(rng.next_u64() % 2),
                2 => U256::from(rng.next_u64() % 2) + min,
                _ => {
                    min + U256::from(rng.next_u64())
                        % (remaining.saturating_sub(min) / U256::from(3u8) + U256::from(1u8))
                }
            };
            remaining = remaining.saturating_sub(amount);
            amounts.push(amount);
        }
        let list: Vec<R::ReservedContributor> = amounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let who =
                    if i == 0 { op } else { Address::with_last_byte(u8::try_from(i).unwrap()) };
                reserve(who, *a)
            })
            .collect();
        let (_, expected) = model::check_reservations(
            to_model(req),
            to_model(max),
            &amounts.iter().copied().map(to_model).collect::<Vec<_>>(),
        );
        let got = staging.updateReservedContributors(list).call().await;
        match (&expected, &got) {
            (Ok(()), Ok(_)) => accepted += 1,
            (Err(revert), Err(e)) => {
                assert_eq!(
                    e.as_revert_data().unwrap().to_vec(),
                    revert.abi_data(),
                    "case {case}: {amounts:?}: {revert}"
                );
                kinds.insert(revert.name());
                refused += 1;
            }
            _ => panic!("case {case}: {amounts:?}: sesh_staking {expected:?}, chain {got:?}"),
        }
    }
    assert!(accepted > 10 && refused > 10, "{accepted} accepted, {refused} refused");
    assert!(kinds.len() >= 3, "{kinds:?}");

    // The address rules (not part of sesh_staking's check).
    let quarter = req / U256::from(4u8);
    let call = |list: Vec<R::ReservedContributor>| staging.updateReservedContributors(list);
    let e = call(vec![reserve(chain.addr(1), quarter)]).call().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::FirstReservedContributorMustBeOperator(C::FirstReservedContributorMustBeOperator {
            index: U256::ZERO,
            operator: op
        })
    );
    let e =
        call(vec![reserve(op, quarter), reserve(Address::ZERO, quarter)]).call().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::ReservedContributorHasZeroAddress(C::ReservedContributorHasZeroAddress {
            index: U256::from(1u8)
        })
    );
    let e = call(vec![
        reserve(op, quarter),
        reserve(chain.addr(1), quarter),
        reserve(chain.addr(1), quarter),
    ])
    .call()
    .await
    .unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::DuplicateAddressInReservedContributor(C::DuplicateAddressInReservedContributor {
            index: U256::from(2u8)
        })
    );
    let e = chain
        .deployment
        .factory(&chain.accounts[1].1)
        .deploy_call(
            g1(9),
            signed(&chain, 1, &node(9, vec![])).bls_signature,
            node(9, vec![]).params,
            vec![reserve(op, quarter)],
            false,
        )
        .call()
        .await
        .unwrap_err();
    assert!(matches!(c_revert(&e), CE::FirstReservedContributorMustBeOperator(_)), "{e}");
    // The proof of possession is the operator's (the factory's caller), checked at once.
    let e = chain
        .deployment
        .factory(&chain.accounts[1].1)
        .deploy_call(
            g1(9),
            signed(&chain, 0, &node(9, vec![])).bls_signature,
            node(9, vec![]).params,
            vec![],
            false,
        )
        .call()
        .await
        .unwrap_err();
    assert_eq!(c_revert(&e), CE::InvalidBLSProofOfPossession(C::InvalidBLSProofOfPossession {}));
}

/// A node staged by its operator, a reserved contributor and the public: every contribution
/// rule, withdrawal, and the finalization that registers it on the staking contract.
#[tokio::test]
async fn a_staged_node_fills_and_registers_itself() {
    let chain = Chain::start().await;
    let req = chain.requirement();
    let (op, reserved, public) = (chain.addr(0), chain.addr(1), chain.addr(2));
    let staging =
        stage(&chain, 0, 1, vec![reserve(op, sesh(6_250)), reserve(reserved, sesh(5_000))], false)
            .await;
    let at = |i: usize| C::new(*staging.address(), chain.accounts[i].1.clone());
    for (i, amount) in [(0, req), (1, sesh(5_000)), (2, sesh(20_000))] {
        if i != 0 {
            send_ok(chain.token(0).transfer(chain.addr(i), amount)).await;
        }
        send_ok(chain.token(i).approve(*staging.address(), amount)).await;
    }
    assert_eq!(staging.status().call().await.unwrap(), C::Status::WaitForOperatorContrib);

    // Key updates before the operator's contribution, with the key's proof of possession for
    // the operator: node 2's keys, then node 1's again.
    let two = signed(&chain, 0, &node(2, vec![]));
    let ed = two.params.serviceNodePubkey;
    let parties: Vec<_> = (0..3).map(at).collect();
    let update = |i: usize, n: &NodeRegistration| {
        parties[i].updatePubkeys(
            n.bls_pubkey.clone(),
            n.bls_signature.clone(),
            n.params.serviceNodePubkey,
            U256::from(7u8),
            U256::from(8u8),
        )
    };
    let e = update(1, &two).send().await.unwrap_err();
    assert!(matches!(c_revert(&e), CE::OnlyOperatorIsAuthorised(_)), "{e}");
    let for_other = signed(&chain, 1, &node(2, vec![]));
    let e = update(0, &for_other).send().await.unwrap_err();
    assert_eq!(c_revert(&e), CE::InvalidBLSProofOfPossession(C::InvalidBLSProofOfPossession {}));
    let receipt = send_ok(update(0, &two)).await;
    let ev = &logs_of::<C::UpdatePubkeys>(&receipt)[0];
    assert_eq!((ev.newBLSPubkey.clone(), ev.newEd25519Pubkey), (g1(2), ed));
    let key = staging.blsPubkey().call().await.unwrap();
    assert_eq!(R::G1Point { X: key.X, Y: key.Y }, g1(2));
    assert_eq!(
        staging.serviceNodeParams().call().await.unwrap().serviceNodeSignature1,
        U256::from(7u8)
    );
    assert_eq!(staging.blsSignature().call().await.unwrap(), two.bls_signature);
    let one = signed(&chain, 0, &node(1, vec![]));
    let receipt = send_ok(at(0).updatePubkeys(
        one.bls_pubkey.clone(),
        one.bls_signature.clone(),
        one.params.serviceNodePubkey,
        one.params.serviceNodeSignature1,
        one.params.serviceNodeSignature2,
    ))
    .await;
    assert_eq!(logs_of::<C::UpdatePubkeys>(&receipt)[0].newBLSPubkey, g1(1));

    // The operator first, and at least its reservation.
    let e = at(2).contributeFunds(sesh(7_000), Address::ZERO).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::FirstContributionMustBeOperator(C::FirstContributionMustBeOperator {
            contributor: public,
            operator: op
        })
    );
    let e = at(0).contributeFunds(sesh(6_000), Address::ZERO).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::ContributionBelowReservedAmount(C::ContributionBelowReservedAmount {
            contributed: sesh(6_000),
            reserved: sesh(6_250)
        })
    );
    let receipt = send_ok(at(0).contributeFunds(sesh(6_250), Address::ZERO)).await;
    assert_eq!(logs_of::<C::OpenForPublicContribution>(&receipt).len(), 1);
    let c = &logs_of::<C::NewContribution>(&receipt)[0];
    assert_eq!((c.contributor, c.beneficiary, c.amount), (op, op, sesh(6_250)));
    assert_eq!(staging.status().call().await.unwrap(), C::Status::OpenForPublicContrib);

    // The operator's settings are fixed now, and only the operator's.
    let e = update(0, &two).send().await.unwrap_err();
    assert!(matches!(c_revert(&e), CE::RequireWaitForOperatorContribStatus(_)), "{e}");
    let e = at(0).updateFee(5).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::RequireWaitForOperatorContribStatus(C::RequireWaitForOperatorContribStatus {
            status: C::Status::OpenForPublicContrib
        })
    );
    let e = at(2).updateFee(5).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::OnlyOperatorIsAuthorised(C::OnlyOperatorIsAuthorised { addr: public, operator: op })
    );
    let e = at(0).finalize().send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::FinalizeNotPossible(C::FinalizeNotPossible { status: C::Status::OpenForPublicContrib })
    );

    // The public minimum: what remains beside the awaited reservation, over the slots left, as
    // sesh_staking computes it.
    let minimum = staging.minimumContribution().call().await.unwrap();
    let want = model::calc_minimum_contribution(
        to_model(req - sesh(6_250) - sesh(5_000)),
        model::U256::from(2u8),
        model::U256::from(10u8),
    )
    .unwrap();
    assert_eq!(minimum, from_model(want));
    let e =
        at(2).contributeFunds(minimum - U256::from(1u8), Address::ZERO).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::ContributionBelowMinAmount(C::ContributionBelowMinAmount {
            contributed: minimum - U256::from(1u8),
            min: minimum
        })
    );
    let e = at(2).contributeFunds(sesh(13_751), Address::ZERO).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::ContributionExceedsStakingRequirement(C::ContributionExceedsStakingRequirement {
            totalContributed: sesh(6_250) + sesh(13_751),
            totalReserved: sesh(5_000),
            stakingRequirement: req
        })
    );

    // The public contributor comes, then takes it back after the withdrawal delay.
    send_ok(at(2).contributeFunds(sesh(3_000), chain.addr(3))).await;
    let e = at(2).withdrawContribution().send().await.unwrap_err();
    assert!(matches!(c_revert(&e), CE::WithdrawTooEarly(_)), "{e}");
    let since = chain.now().await;
    chain.next_block_at(since + DAY).await;
    let receipt = send_ok(at(2).withdrawContribution().gas(300_000)).await;
    let w = &logs_of::<C::WithdrawContribution>(&receipt)[0];
    assert_eq!((w.contributor, w.amount), (public, sesh(3_000)));
    assert_eq!(chain.balance(public).await, sesh(20_000));
    send_ok(chain.token(2).approve(*staging.address(), sesh(20_000))).await;

    // The reserved contributor: at least the reservation.
    let e = at(1).contributeFunds(sesh(4_999), Address::ZERO).send().await.unwrap_err();
    assert!(matches!(c_revert(&e), CE::ContributionBelowReservedAmount(_)), "{e}");
    send_ok(at(1).contributeFunds(sesh(5_000), Address::ZERO)).await;

    // The public fills the rest: the staging registers the node at once.
    let before = chain.balance(chain.deployment.rewards).await;
    let receipt = send_ok(at(2).contributeFunds(sesh(13_750), chain.addr(3))).await;
    assert_eq!(logs_of::<C::Filled>(&receipt).len(), 1);
    assert_eq!(logs_of::<C::Finalized>(&receipt).len(), 1);
    let new = logs_of::<R::NewServiceNodeV2>(&receipt);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].initiator, *staging.address());
    assert_eq!(
        new[0].contributors,
        vec![
            contributor(op, op, sesh(6_250)),
            contributor(reserved, reserved, sesh(5_000)),
            contributor(public, chain.addr(3), sesh(13_750)),
        ]
    );
    assert_eq!(chain.balance(chain.deployment.rewards).await, before + req);
    assert_eq!(chain.balance(*staging.address()).await, U256::ZERO);
    assert_eq!(staging.status().call().await.unwrap(), C::Status::Finalized);
    let sn = chain.rewards(0).serviceNodes(new[0].serviceNodeID).call().await.unwrap();
    assert_eq!(sn.operator, op);
    assert_eq!(sn.deposit, req);

    let e = at(2).contributeFunds(sesh(1), Address::ZERO).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::ContributeFundsNotPossible(C::ContributeFundsNotPossible {
            status: C::Status::Finalized
        })
    );
}

/// The operator's withdrawal resets the staging and refunds everyone; a manual staging waits
/// for `finalize`; a changed staking requirement stops contributions.
#[tokio::test]
async fn reset_manual_finalize_and_a_changed_requirement() {
    let chain = Chain::start().await;
    let req = chain.requirement();
    let staging = stage(&chain, 0, 1, vec![], true).await;
    let at = |i: usize| C::new(*staging.address(), chain.accounts[i].1.clone());
    send_ok(chain.token(0).transfer(chain.addr(1), req)).await;
    send_ok(chain.token(0).approve(*staging.address(), req * U256::from(2u8))).await;
    send_ok(chain.token(1).approve(*staging.address(), req * U256::from(2u8))).await;
    let start = chain.balance(chain.addr(0)).await;

    send_ok(at(0).contributeFunds(sesh(10_000), Address::ZERO)).await;
    send_ok(at(1).contributeFunds(sesh(15_000), Address::ZERO)).await;
    assert_eq!(staging.status().call().await.unwrap(), C::Status::WaitForFinalized);
    let e = at(1).finalize().send().await.unwrap_err();
    assert!(matches!(c_revert(&e), CE::OnlyOperatorIsAuthorised(_)), "{e}");

    // The operator withdraws: everyone refunded, back to the start.
    let receipt = send_ok(at(0).withdrawContribution()).await;
    assert_eq!(logs_of::<C::Reset>(&receipt).len(), 1);
    assert_eq!(chain.balance(chain.addr(0)).await, start);
    assert_eq!(chain.balance(chain.addr(1)).await, req);
    assert_eq!(staging.status().call().await.unwrap(), C::Status::WaitForOperatorContrib);
    assert_eq!(staging.totalContribution().call().await.unwrap(), U256::ZERO);

    // Again, finalized by hand.
    send_ok(at(0).contributeFunds(sesh(10_000), Address::ZERO)).await;
    send_ok(at(1).contributeFunds(sesh(15_000), Address::ZERO)).await;
    let receipt = send_ok(at(0).finalize()).await;
    assert_eq!(logs_of::<R::NewServiceNodeV2>(&receipt).len(), 1);

    // A new staging after the requirement changed on the staking contract refuses contributions.
    let second = stage(&chain, 0, 2, vec![], false).await;
    send_ok(chain.rewards(0).setStakingRequirement(sesh(30_000))).await;
    send_ok(chain.token(0).approve(*second.address(), req)).await;
    let e = second.contributeFunds(sesh(10_000), Address::ZERO).send().await.unwrap_err();
    assert_eq!(
        c_revert(&e),
        CE::RewardsContractStakingRequirementChanged(C::RewardsContractStakingRequirementChanged {
            oldRequirement: req,
            newRequirement: sesh(30_000)
        })
    );
}

/// The staging contract and its factory keep the live `ServiceNodeContribution(Factory)`
/// signatures for what they have.
#[test]
fn the_staging_abi_keeps_the_live_signatures() {
    let staging = signatures(contracts::CONTRIBUTION_JSON);
    let live = [
        "event Finalized()".to_owned(),
        "event NewContribution(address,address,uint256)".to_owned(),
        "event OpenForPublicContribution()".to_owned(),
        "event Filled()".to_owned(),
        "event WithdrawContribution(address,uint256)".to_owned(),
        "event UpdateManualFinalize(bool)".to_owned(),
        "event UpdateFee(uint16)".to_owned(),
        "event UpdateReservedContributors((address,uint256)[])".to_owned(),
        "event Reset()".to_owned(),
        format!("event UpdatePubkeys({G1},uint256)"),
        format!("function updatePubkeys({G1},{SIG},uint256,uint256,uint256)"),
        "function contributeFunds(uint256,address)".to_owned(),
        "function updateReservedContributors((address,uint256)[])".to_owned(),
        "function updateFee(uint16)".to_owned(),
        "function updateManualFinalize(bool)".to_owned(),
        "function finalize()".to_owned(),
        "function reset()".to_owned(),
        "function withdrawContribution()".to_owned(),
        "function minimumContribution()".to_owned(),
        "function calcMinimumContribution(uint256,uint256,uint256)".to_owned(),
        "function minimumOperatorContribution(uint256)".to_owned(),
        "function getContributions()".to_owned(),
        "function getReserved()".to_owned(),
        "function totalContribution()".to_owned(),
        "function totalReservedContribution()".to_owned(),
        "function status()".to_owned(),
        "function operator()".to_owned(),
        "function SESH()".to_owned(),
        "function stakingRewardsContract()".to_owned(),
        "function blsPubkey()".to_owned(),
        "function serviceNodeParams()".to_owned(),
        "function blsSignature()".to_owned(),
        "error CalcMinContributionGivenBadContribArgs(uint256,uint256)".to_owned(),
        "error ContributeFundsNotPossible(uint8)".to_owned(),
        "error ContributionBelowMinAmount(uint256,uint256)".to_owned(),
        "error ContributionBelowReservedAmount(uint256,uint256)".to_owned(),
        "error ContributionExceedsStakingRequirement(uint256,uint256,uint256)".to_owned(),
        "error DuplicateAddressInReservedContributor(uint256)".to_owned(),
        "error FeeExceedsPossibleValue(uint16,uint16)".to_owned(),
        "error FinalizeNotPossible(uint8)".to_owned(),
        "error FirstContributionMustBeOperator(address,address)".to_owned(),
        "error FirstReservedContributorMustBeOperator(uint256,address)".to_owned(),
        "error OnlyOperatorIsAuthorised(address,address)".to_owned(),
        "error MaxContributorsExceeded(uint256)".to_owned(),
        "error ReservedContributorHasZeroAddress(uint256)".to_owned(),
        "error ReservedContributionBelowMinAmount(uint256,uint256,uint256)".to_owned(),
        "error ReservedContributionExceedsStakingRequirement(uint256,uint256,uint256)".to_owned(),
        "error TooManyReservedContributors(uint256,uint256)".to_owned(),
        "error WithdrawTooEarly(uint256,uint256,uint256)".to_owned(),
    ];
    for s in live {
        assert!(staging.contains(&s), "the staging ABI lacks the live `{s}`");
    }
    let factory = signatures(contracts::CONTRIBUTION_FACTORY_JSON);
    for s in [
        format!("function deploy({G1},{SIG},{PARAMS},(address,uint256)[],bool)"),
        "event NewServiceNodeContributionContract(address,uint256,address)".to_owned(),
        "function owns(address)".to_owned(),
    ] {
        assert!(factory.contains(&s), "the factory ABI lacks the live `{s}`");
    }
    // sesh_staking's revert selectors are the staging contract's.
    for (name, selector) in [
        (
            "CalcMinContributionGivenBadContribArgs",
            C::CalcMinContributionGivenBadContribArgs::SELECTOR,
        ),
        ("TooManyReservedContributors", C::TooManyReservedContributors::SELECTOR),
        ("ReservedContributionBelowMinAmount", C::ReservedContributionBelowMinAmount::SELECTOR),
        (
            "ReservedContributionExceedsStakingRequirement",
            C::ReservedContributionExceedsStakingRequirement::SELECTOR,
        ),
    ] {
        let sig = staging.iter().find(|s| s.starts_with(&format!("error {name}("))).unwrap();
        assert_eq!(keccak256(sig.trim_start_matches("error ").as_bytes())[..4], selector, "{name}");
    }
}
