//! The follower's IO against a real anvil running sesh's staking contract
//! (`sesh_examples::contracts`): the `ledger` example as a process, reorgs below and above the
//! confirmation depth, a driver stopped and started again, and RPC trouble.
//!
//! Every state hash is checked against an independent replay: the contract's logs read with
//! alloy (not the driver's client), decoded, grouped into heights by the documented rule (height
//! `h` covers blocks `(start + (h-1)·N, start + h·N]`) and applied with `Applier::follow`.
//! Registrations carry real node signatures, so the ledger accepts them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::Filter;
use serde_json::Value;
use sesh_chain::abi::{self, Decoded, RawLog};
use sesh_chain::event::{Contributor, Held, HeldNode};
use sesh_chain::follow::{Config, Seeds};
use sesh_chain::ledger::Applier;
use sesh_chain::{ContractEvent, EvmAddress, LogPosition};
use sesh_examples::chain_tools::{Anvil, CHAIN_ID, ChainTools, revert, snapshot, target_dir};
use sesh_examples::contracts::{
    self, Deployment, NodeRegistration, SESH, ServiceNodeRewards as R, Settings, contributor,
};
use sesh_examples::follow::{Driver, LedgerSink, Options, Rpc};
use sesh_identity::{Identity, Seed};
use sesh_staking::{BlsKey, Ledger, NodeId, NodeStatus, Params};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

// ---- the chain ----

struct Chain {
    anvil: Anvil,
    accounts: Vec<(Address, DynProvider)>,
    deployment: Deployment,
}

impl Chain {
    async fn start() -> Self {
        // The driver's warnings and errors, shown for a failing test.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
        let tools = ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        let anvil = Anvil::spawn(&tools, CHAIN_ID, &[]).unwrap_or_else(|e| panic!("{e}"));
        let accounts: Vec<(Address, DynProvider)> = (0..6)
            .map(|i| {
                let signer = anvil.dev_signer(i).unwrap();
                (signer.address(), anvil.provider(signer).unwrap())
            })
            .collect();
        let settings = Settings::session_mainnet(accounts[0].0);
        let deployment =
            contracts::deploy(&accounts[0].1, &settings).await.unwrap_or_else(|e| panic!("{e}"));
        Self { anvil, accounts, deployment }
    }

    fn provider(&self) -> &DynProvider {
        &self.accounts[0].1
    }

    /// A new provider signing as account 0, for each transaction: alloy's receipt watcher
    /// follows block numbers upwards and would wait for ever for a transaction mined in a
    /// block number it saw before an `evm_revert`.
    fn sender(&self) -> DynProvider {
        self.anvil.provider(self.anvil.dev_signer(0).unwrap()).unwrap()
    }

    fn addr(&self, i: usize) -> Address {
        self.accounts[i].0
    }

    fn contract(&self) -> EvmAddress {
        EvmAddress(self.deployment.rewards.0.0)
    }

    async fn tip(&self) -> u64 {
        self.provider().get_block_number().await.unwrap()
    }

    async fn mine(&self, blocks: u64) {
        let _: Value = self
            .provider()
            .raw_request("anvil_mine".into(), (format!("0x{blocks:x}"),))
            .await
            .unwrap();
    }

    /// Registers node `n` from account 0 (who pays every stake) with `stakes` (account, its
    /// beneficiary, whole SESH), the first being account 0; its contract id.
    async fn register(&self, n: u8, stakes: &[(usize, usize, u64)]) -> u64 {
        let list = stakes
            .iter()
            .map(|&(who, to, sesh)| {
                contributor(self.addr(who), self.addr(to), U256::from(sesh * SESH))
            })
            .collect();
        let node = registration(n, list, self.deployment.rewards);
        let (id, _) = contracts::register(&self.sender(), &self.deployment, &node)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        id
    }

    async fn solo(&self, n: u8) -> u64 {
        self.register(n, &[(0, 0, 25_000)]).await
    }

    fn config(&self, confirmations: u64, blocks_per_height: u64, max_log_range: u64) -> Config {
        Config {
            contract: self.contract(),
            start_block: self.deployment.block,
            confirmations,
            blocks_per_height,
            max_log_range,
            seeds: Seeds::EveryHeight,
        }
    }
}

fn identity(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([n; 32]))
}

fn node_id(n: u8) -> NodeId {
    NodeId::from_identity(&identity(n))
}

/// Node `n`'s BLS secret key.
fn bls_secret(n: u8) -> sesh_bls::SecretKey {
    sesh_bls::SecretKey::from_seed(&[n; 32])
}

fn g1(n: u8) -> R::G1Point {
    contracts::g1_point(&bls_secret(n).public_key().to_bytes())
}

fn bls_key(n: u8) -> BlsKey {
    BlsKey::from_bytes(bls_secret(n).public_key().to_bytes())
}

/// Node `n`'s registration on the staking contract `rewards`, signed by its Ed25519 key as
/// oxend expects, with its BLS key's proof of possession for the operator (the first
/// contributor).
fn registration(n: u8, contributors: Vec<R::Contributor>, rewards: Address) -> NodeRegistration {
    let node = node_id(n);
    let signature = identity(n).sign(&abi::node_signature_message(&node, &bls_key(n))).to_bytes();
    let operator = contributors.first().expect("the operator's stake").staker.addr;
    let domain = sesh_bls::Domain { chain_id: CHAIN_ID, contract: rewards.into_array() };
    let pop = bls_secret(n).proof_of_possession(&domain, operator.into_array(), &node.to_bytes());
    NodeRegistration {
        bls_pubkey: g1(n),
        bls_signature: contracts::signature_params(&pop.to_words()),
        params: R::ServiceNodeParams {
            serviceNodePubkey: U256::from_be_bytes(node.to_bytes()),
            serviceNodeSignature1: U256::from_be_slice(&signature[..32]),
            serviceNodeSignature2: U256::from_be_slice(&signature[32..]),
            fee: 500,
        },
        contributors,
    }
}

// ---- the independent replay ----

/// The ledger at `height`, from the contract's logs read with alloy and grouped by the rule.
async fn replay(chain: &Chain, blocks_per_height: u64, height: u64) -> Ledger {
    let start = chain.deployment.block;
    let mut ledger = Ledger::new(Params::session_mainnet());
    if height == 0 {
        return ledger;
    }
    let last = start + height * blocks_per_height;
    let filter =
        Filter::new().address(chain.deployment.rewards).from_block(start + 1).to_block(last);
    let mut events: Vec<(LogPosition, ContractEvent)> = Vec::new();
    for log in chain.provider().get_logs(&filter).await.unwrap() {
        let raw = RawLog {
            address: EvmAddress(log.inner.address.0.0),
            topics: log.inner.data.topics().iter().map(|t| t.0).collect(),
            data: log.inner.data.data.to_vec(),
            block_number: log.block_number.unwrap(),
            block_hash: log.block_hash.unwrap().0,
            log_index: log.log_index.unwrap(),
            transaction_hash: log.transaction_hash.unwrap().0,
            removed: log.removed,
        };
        if let Ok(Decoded::Event(event)) = abi::decode(&raw) {
            events.push((raw.position(), event));
        }
    }
    events.sort_by_key(|(at, _)| *at);
    // A seeded node's stakes: the contract's record at the end of its block, read with alloy.
    let rewards = chain.deployment.rewards(chain.provider());
    for (at, event) in &mut events {
        if let ContractEvent::SeededServiceNode { id, held, .. } = event {
            let n = rewards
                .serviceNodes(*id)
                .block(alloy::eips::BlockId::number(at.block))
                .call()
                .await
                .unwrap();
            let mut bls = [0u8; 64];
            bls[..32].copy_from_slice(&n.blsPubkey.X.to_be_bytes::<32>());
            bls[32..].copy_from_slice(&n.blsPubkey.Y.to_be_bytes::<32>());
            *held = Held::Node(Box::new(HeldNode {
                operator: EvmAddress(n.operator.0.0),
                bls_key: BlsKey::from_bytes(bls),
                node: NodeId::from_bytes(n.ed25519Pubkey.to_be_bytes::<32>()),
                added_timestamp: n.addedTimestamp,
                leave_request_timestamp: n.leaveRequestTimestamp,
                deposit: n.deposit,
                contributors: n
                    .contributors
                    .iter()
                    .map(|c| Contributor {
                        address: EvmAddress(c.staker.addr.0.0),
                        beneficiary: EvmAddress(c.staker.beneficiary.0.0),
                        amount: c.stakedAmount,
                    })
                    .collect(),
            }));
        }
    }
    let mut applier = Applier::new();
    for h in 1..=height {
        let (low, high) = (start + (h - 1) * blocks_per_height, start + h * blocks_per_height);
        let these: Vec<_> =
            events.iter().filter(|(at, _)| at.block > low && at.block <= high).cloned().collect();
        applier.follow(&mut ledger, h, &these).unwrap();
    }
    ledger
}

/// A test that hangs fails instead, after a minute.
async fn within(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test).await.expect("the test hung for 60 s");
}

fn fast_options() -> Options {
    Options {
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        poll_interval: Duration::from_millis(50),
        max_failures: None,
        progress_every: Duration::from_secs(60),
    }
}

fn driver(url: &str, config: Config) -> Driver {
    let rpc = Rpc::new(url, Duration::from_secs(2)).unwrap();
    Driver::new(rpc, config, fast_options()).unwrap()
}

async fn assert_matches_replay(chain: &Chain, sink: &LedgerSink, blocks_per_height: u64) {
    let expected = replay(chain, blocks_per_height, sink.ledger.height()).await;
    assert_eq!(
        hex::encode(sink.ledger.state_hash()),
        hex::encode(expected.state_hash()),
        "the driver's ledger at height {} is not the replay's",
        sink.ledger.height()
    );
}

// ---- (i) the ledger example as a process ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_example_prints_the_ledger_that_a_replay_derives() {
    within(the_ledger_example_prints_the_ledger_that_a_replay_derives_()).await;
}

async fn the_ledger_example_prints_the_ledger_that_a_replay_derives_() {
    let chain = Chain::start().await;
    let solo = chain.solo(1).await;
    // Operator 12,500; account 1 10,000 paid to account 2; account 3 2,500 (a small one).
    let shared = chain.register(2, &[(0, 0, 12_500), (1, 2, 10_000), (3, 3, 2_500)]).await;
    let leaving = chain.solo(3).await;
    contracts::initiate_exit(&chain.sender(), &chain.deployment, leaving).await.unwrap();
    // Garbage posted as a network transaction: every follower refuses it, the same way.
    contracts::submit_network_transaction(&chain.sender(), &chain.deployment, b"not a tx")
        .await
        .unwrap();
    assert_eq!((solo, shared, leaving), (1, 2, 3));
    let (confirmations, per_height) = (2, 3);
    chain.mine(confirmations + per_height).await;

    let bin = common::example_binary("ledger");
    let out = std::process::Command::new(&bin)
        .args(["--rpc", &chain.anvil.url(), "--contract", &chain.contract().to_string()])
        .args(["--confirmations", &confirmations.to_string()])
        .args(["--blocks-per-height", &per_height.to_string(), "--max-log-range", "4", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ledger failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    // The deployment block was found by binary search over eth_getCode.
    assert_eq!(report["start_block"], chain.deployment.block, "{stderr}");
    assert!(stderr.contains("deployed in block"), "{stderr}");
    assert!(stderr.contains("followed block"), "no progress line: {stderr}");
    assert_eq!(report["chain_id"], CHAIN_ID);
    assert_eq!(report["contract"], chain.contract().to_string());
    let height = report["height"].as_u64().unwrap();
    let confirmed = chain.tip().await - confirmations;
    assert_eq!(height, (confirmed - chain.deployment.block) / per_height);
    let expected = replay(&chain, per_height, height).await;
    assert_eq!(report["state_hash"], hex::encode(expected.state_hash()));

    let nodes = report["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{report:#}");
    let find = |n: u8| {
        nodes
            .iter()
            .find(|v| v["pubkey_ed25519"] == node_id(n).to_string())
            .unwrap_or_else(|| panic!("node {n} missing: {report:#}"))
    };
    let account = |i: usize| format!("{:#x}", chain.addr(i));
    let two = find(2);
    assert_eq!(two["bls_key"], format!("0x{}", bls_key(2)));
    assert_eq!(two["operator"], account(0));
    assert_eq!(two["stake"], (25_000 * SESH).to_string());
    assert_eq!(two["fee_bp"], 500);
    assert_eq!(two["state"], "active");
    let contributors = two["contributors"].as_array().unwrap();
    assert_eq!(contributors.len(), 3);
    assert_eq!(contributors[1]["address"], account(1));
    assert_eq!(contributors[1]["beneficiary"], account(2));
    assert_eq!(contributors[1]["stake"], (10_000 * SESH).to_string());
    assert_eq!(find(1)["state"], "active");
    let three = find(3);
    assert_eq!(three["state"], "exit_requested");
    assert!(three["requested_unlock_height"].as_u64().unwrap() > height);
    let ledger_three = expected.node(&node_id(3)).unwrap();
    assert_eq!(ledger_three.status(), NodeStatus::ExitRequested);
    assert_eq!(three["requested_unlock_height"], ledger_three.requested_unlock_height().unwrap());
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report:#}");

    // The text form says the same state hash.
    let out = std::process::Command::new(&bin)
        .args(["--rpc", &chain.anvil.url(), "--contract", &chain.contract().to_string()])
        .args(["--start-block", &chain.deployment.block.to_string()])
        .args(["--confirmations", &confirmations.to_string()])
        .args(["--blocks-per-height", &per_height.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("state hash {}", hex::encode(expected.state_hash()))), "{text}");
    assert!(text.contains("exit_requested"), "{text}");

    // A dead endpoint: it says why, and gives up when told to.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let out = std::process::Command::new(&bin)
        .args(["--rpc", &format!("http://{dead}"), "--contract", &chain.contract().to_string()])
        .args(["--give-up-after", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("eth_chainId") && stderr.contains("gave up"), "{stderr}");
}

// ---- (i b) seeded nodes ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_nodes_are_in_the_ledger_with_the_stakes_the_contract_held() {
    within(seeded_nodes_are_in_the_ledger_with_the_stakes_the_contract_held_()).await;
}

async fn seeded_nodes_are_in_the_ledger_with_the_stakes_the_contract_held_() {
    let chain = Chain::start().await;
    let stake = |who: usize, to: usize, sesh: u64| {
        contributor(chain.addr(who), chain.addr(to), U256::from(sesh * SESH))
    };
    let seed = |n: u8, contributors: Vec<R::Contributor>| R::SeedServiceNode {
        blsPubkey: g1(n),
        ed25519Pubkey: U256::from_be_bytes(node_id(n).to_bytes()),
        addedTimestamp: U256::from(1_700_000_000u64),
        contributors,
    };
    // Two seeding calls (two blocks): an operator below a quarter (the Oxen chain's stakes
    // stand), three contributors, and solo nodes.
    let (ids, _) = contracts::seed(
        &chain.sender(),
        &chain.deployment,
        &[
            seed(11, vec![stake(1, 2, 5_000), stake(3, 3, 12_000), stake(4, 5, 8_000)]),
            seed(12, vec![stake(2, 2, 25_000)]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![1, 2]);
    let (ids, _) =
        contracts::seed(&chain.sender(), &chain.deployment, &[seed(13, vec![stake(5, 5, 25_000)])])
            .await
            .unwrap();
    assert_eq!(ids, vec![3]);
    // Then registrations as usual, and a seeded node asks to leave.
    assert_eq!(chain.solo(1).await, 4);
    assert_eq!(chain.register(2, &[(0, 0, 20_000), (1, 1, 5_000)]).await, 5);
    let leaver = chain.accounts[5].1.clone();
    contracts::initiate_exit(&leaver, &chain.deployment, 3).await.unwrap();
    let (confirmations, per_height) = (1, 2);
    chain.mine(confirmations + per_height).await;

    let bin = common::example_binary("ledger");
    let out = std::process::Command::new(&bin)
        .args(["--rpc", &chain.anvil.url(), "--contract", &chain.contract().to_string()])
        .args(["--confirmations", &confirmations.to_string()])
        .args(["--blocks-per-height", &per_height.to_string(), "--max-log-range", "3", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ledger failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let height = report["height"].as_u64().unwrap();
    let expected = replay(&chain, per_height, height).await;
    assert_eq!(expected.nodes().len(), 5);
    assert_eq!(report["state_hash"], hex::encode(expected.state_hash()), "{report:#}");
    assert_eq!(report["refused"].as_array().unwrap().len(), 0, "{report:#}");
    assert!(
        !report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["why"].as_str().unwrap().contains("NewSeededServiceNode")),
        "{report:#}"
    );

    let nodes = report["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5, "{report:#}");
    let find = |n: u8| {
        nodes
            .iter()
            .find(|v| v["pubkey_ed25519"] == node_id(n).to_string())
            .unwrap_or_else(|| panic!("node {n} missing: {report:#}"))
    };
    let account = |i: usize| format!("{:#x}", chain.addr(i));
    let eleven = find(11);
    assert_eq!(eleven["seeded"], true);
    assert_eq!(eleven["bls_key"], format!("0x{}", bls_key(11)));
    assert_eq!(eleven["operator"], account(1));
    assert_eq!(eleven["stake"], (25_000 * SESH).to_string());
    assert_eq!(eleven["fee_bp"], 0);
    assert_eq!(eleven["state"], "active");
    let stakes: Vec<(String, String, String)> = eleven["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_owned(),
                c["beneficiary"].as_str().unwrap().to_owned(),
                c["stake"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let sesh = |n: u64| (n * SESH).to_string();
    assert_eq!(
        stakes,
        vec![
            (account(1), account(2), sesh(5_000)),
            (account(3), account(3), sesh(12_000)),
            (account(4), account(5), sesh(8_000)),
        ]
    );
    assert_eq!(find(12)["seeded"], true);
    assert_eq!(find(12)["operator"], account(2));
    assert_eq!(find(13)["seeded"], true);
    assert_eq!(find(13)["state"], "exit_requested");
    for n in [1, 2] {
        assert_eq!(find(n)["seeded"], false);
        assert_eq!(find(n)["fee_bp"], 500);
    }
    assert_eq!(find(2)["contributors"][1]["stake"], sesh(5_000));

    // A driver in-process agrees, and so does the text form.
    let mut sink = LedgerSink::new(Params::session_mainnet());
    let mut d = driver(&chain.anvil.url(), chain.config(confirmations, per_height, 1));
    d.catch_up(&mut sink).await.unwrap();
    assert_matches_replay(&chain, &sink, per_height).await;
    assert!(sink.applier.is_seeded(1) && !sink.applier.is_seeded(4));
    let out = std::process::Command::new(&bin)
        .args(["--rpc", &chain.anvil.url(), "--contract", &chain.contract().to_string()])
        .args(["--confirmations", &confirmations.to_string()])
        .args(["--blocks-per-height", &per_height.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("node {} (seeded)", node_id(11))), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_nodes_record_is_read_at_its_block_and_a_revert_is_an_answer() {
    within(async {
        let chain = Chain::start().await;
        let one = contributor(chain.addr(1), chain.addr(1), U256::from(25_000 * SESH));
        let seed = R::SeedServiceNode {
            blsPubkey: g1(7),
            ed25519Pubkey: U256::from_be_bytes(node_id(7).to_bytes()),
            addedTimestamp: U256::from(5u8),
            contributors: vec![one],
        };
        let (_, receipt) =
            contracts::seed(&chain.sender(), &chain.deployment, &[seed]).await.unwrap();
        let block = receipt.block_number.unwrap();
        let rpc = Rpc::new(&chain.anvil.url(), Duration::from_secs(2)).unwrap();
        // At its block: the record; before it: the contract's empty record.
        let Held::Node(record) = rpc.service_node_at(chain.contract(), 1, block).await.unwrap()
        else {
            panic!("no record")
        };
        assert_eq!(record.node, node_id(7));
        assert_eq!(record.bls_key, bls_key(7));
        assert_eq!(record.operator, EvmAddress(chain.addr(1).0.0));
        assert_eq!(record.deposit, U256::from(25_000 * SESH));
        assert_eq!(record.contributors.len(), 1);
        let Held::Node(before) = rpc.service_node_at(chain.contract(), 1, block - 1).await.unwrap()
        else {
            panic!("no record")
        };
        assert!(before.is_empty());
        // A contract without `serviceNodes` reverts: an answer, not a failure.
        let token = EvmAddress(chain.deployment.token.0.0);
        assert_eq!(rpc.service_node_at(token, 1, block).await.unwrap(), Held::Reverted(Vec::new()));
        // An endpoint that does not answer: a failure, to retry.
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let dead = Rpc::new(&format!("http://{dead}"), Duration::from_secs(1)).unwrap();
        assert!(dead.service_node_at(chain.contract(), 1, block).await.is_err());
    })
    .await;
}

// ---- (ii) reorgs ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shallow_reorg_changes_nothing_applied_and_a_deep_one_rebuilds_from_the_start() {
    within(a_shallow_reorg_changes_nothing_applied_and_a_deep_one_rebuilds_from_the_start_()).await;
}

async fn a_shallow_reorg_changes_nothing_applied_and_a_deep_one_rebuilds_from_the_start_() {
    let chain = Chain::start().await;
    let depth = 4;
    chain.solo(1).await;
    chain.mine(depth).await;
    let mut driver = driver(&chain.anvil.url(), chain.config(depth, 1, 1_000));
    let mut sink = LedgerSink::new(Params::session_mainnet());
    driver.catch_up(&mut sink).await.unwrap();
    assert!(sink.ledger.node(&node_id(1)).is_some());
    assert_matches_replay(&chain, &sink, 1).await;

    // Below the depth: node 2 registered (2 blocks: approve, add) and one more block, then
    // rolled back and replaced by node 3's registration.
    let snap = snapshot(chain.provider()).await.unwrap();
    let before = chain.tip().await;
    chain.solo(2).await;
    chain.mine(1).await;
    assert!(chain.tip().await - before < depth);
    driver.catch_up(&mut sink).await.unwrap();
    assert!(sink.ledger.node(&node_id(2)).is_none(), "an unconfirmed registration was applied");
    let applied = driver.follower().applied_block();
    assert!(applied <= before, "a block above the snapshot was read");
    let (kept_height, kept_hash) = (sink.ledger.height(), sink.ledger.state_hash());
    revert(chain.provider(), snap).await.unwrap();
    chain.solo(3).await;
    chain.mine(depth + 2).await;
    driver.catch_up(&mut sink).await.unwrap();
    assert_eq!(driver.rebuilds(), 0);
    // What it had applied is what the new chain says at that height.
    assert_eq!(replay(&chain, 1, kept_height).await.state_hash(), kept_hash);
    assert!(sink.ledger.node(&node_id(2)).is_none());
    assert!(sink.ledger.node(&node_id(3)).is_some());
    assert_matches_replay(&chain, &sink, 1).await;

    // Above the depth: node 4 registered, confirmed and applied, then the chain replaced by
    // one where node 5 registers instead.
    let snap = snapshot(chain.provider()).await.unwrap();
    chain.solo(4).await;
    chain.mine(depth + 2).await;
    driver.catch_up(&mut sink).await.unwrap();
    assert!(sink.ledger.node(&node_id(4)).is_some());
    let height_before = sink.ledger.height();
    revert(chain.provider(), snap).await.unwrap();
    chain.solo(5).await;
    chain.mine(depth + 6).await;
    driver.catch_up(&mut sink).await.unwrap();
    assert_eq!(driver.rebuilds(), 1, "the deep reorg was not seen");
    assert!(sink.ledger.node(&node_id(4)).is_none(), "the replaced chain's node stayed");
    assert!(sink.ledger.node(&node_id(5)).is_some());
    assert!(sink.ledger.node(&node_id(1)).is_some() && sink.ledger.node(&node_id(3)).is_some());
    assert!(sink.ledger.height() > height_before);
    assert_eq!(sink.ledger.height(), chain.tip().await - depth - chain.deployment.block);
    assert_matches_replay(&chain, &sink, 1).await;
}

// ---- (iii) stopped and started again ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_stopped_mid_run_and_started_again_reaches_the_same_state() {
    within(a_driver_stopped_mid_run_and_started_again_reaches_the_same_state_()).await;
}

async fn a_driver_stopped_mid_run_and_started_again_reaches_the_same_state_() {
    let chain = Chain::start().await;
    for n in 1..=4 {
        chain.solo(n).await;
        chain.mine(2).await;
    }
    chain.register(6, &[(0, 0, 20_000), (1, 1, 5_000)]).await;
    contracts::initiate_exit(&chain.sender(), &chain.deployment, 2).await.unwrap();
    let (depth, per_height) = (2, 2);
    chain.mine(depth + per_height).await;
    let url = chain.anvil.url();

    // Straight through, in big ranges.
    let mut straight = LedgerSink::new(Params::session_mainnet());
    driver(&url, chain.config(depth, per_height, 1_000)).catch_up(&mut straight).await.unwrap();
    assert_eq!(straight.ledger.nodes().len(), 5);
    assert_matches_replay(&chain, &straight, per_height).await;

    // Stopped at height 5 (one block per eth_getLogs), then a new driver from nothing.
    let mut first = driver(&url, chain.config(depth, per_height, 1));
    let mut stopped = LedgerSink::new(Params::session_mainnet());
    while stopped.ledger.height() < 5 {
        first.step(&mut stopped).await.unwrap();
    }
    assert!(stopped.ledger.height() < straight.ledger.height());
    drop(first);
    let mut again = LedgerSink::new(Params::session_mainnet());
    driver(&url, chain.config(depth, per_height, 3)).catch_up(&mut again).await.unwrap();
    assert_eq!(again.ledger.height(), straight.ledger.height());
    assert_eq!(again.ledger.state_hash(), straight.ledger.state_hash());

    // Interrupted again and again mid-request (its future dropped) and resumed each time.
    let mut resumed = driver(&url, chain.config(depth, per_height, 2));
    let mut sink = LedgerSink::new(Params::session_mainnet());
    let mut interruptions = 0;
    while tokio::time::timeout(Duration::from_millis(3), resumed.catch_up(&mut sink)).await.is_err()
    {
        interruptions += 1;
    }
    assert!(interruptions > 0);
    assert_eq!(sink.ledger.height(), straight.ledger.height());
    assert_eq!(sink.ledger.state_hash(), straight.ledger.state_hash());

    // The chain goes on; the stopped driver's ledger catches up with a fresh one's.
    chain.solo(7).await;
    chain.mine(depth + per_height).await;
    resumed.catch_up(&mut sink).await.unwrap();
    let mut fresh = LedgerSink::new(Params::session_mainnet());
    driver(&url, chain.config(depth, per_height, 1_000)).catch_up(&mut fresh).await.unwrap();
    assert!(sink.ledger.node(&node_id(7)).is_some());
    assert_eq!(sink.ledger.height(), fresh.ledger.height());
    assert_eq!(sink.ledger.state_hash(), fresh.ledger.state_hash());
    assert_matches_replay(&chain, &fresh, per_height).await;
}

// ---- (iv) RPC trouble ----

/// What the proxy in front of anvil does with connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Forward,
    /// Accepts and closes at once (a crashed endpoint).
    Refuse,
    /// Accepts and never answers (a stuck one: the driver's timeout must fire).
    Hang,
    /// Answers every request `200 OK` with a body that is not JSON-RPC.
    Garbage,
}

/// A TCP proxy to `target`; a mode change cuts every open connection.
async fn proxy(target: u16) -> (String, watch::Sender<Mode>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (mode, watcher) = watch::channel(Mode::Forward);
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else { return };
            let mut watcher = watcher.clone();
            let now = *watcher.borrow_and_update();
            tokio::spawn(async move {
                match now {
                    Mode::Refuse => {
                        let _ = inbound.shutdown().await;
                    }
                    Mode::Hang => {
                        let _ = watcher.changed().await;
                    }
                    Mode::Garbage => {
                        let mut request = [0u8; 4096];
                        let _ = inbound.read(&mut request).await;
                        let body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0xnope\"}";
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = inbound.write_all(answer.as_bytes()).await;
                        let _ = inbound.shutdown().await;
                    }
                    Mode::Forward => {
                        let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await
                        else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = watcher.changed() => {}
                        }
                    }
                }
            });
        }
    });
    (url, mode)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_failures_and_timeouts_leave_the_ledger_unchanged_and_are_retried() {
    within(rpc_failures_and_timeouts_leave_the_ledger_unchanged_and_are_retried_()).await;
}

async fn rpc_failures_and_timeouts_leave_the_ledger_unchanged_and_are_retried_() {
    let chain = Chain::start().await;
    chain.solo(1).await;
    let depth = 1;
    chain.mine(depth + 1).await;
    let (url, mode) = proxy(chain.anvil.port()).await;
    let rpc = Rpc::new(&url, Duration::from_millis(400)).unwrap();
    let mut driver = Driver::new(rpc, chain.config(depth, 1, 1_000), fast_options()).unwrap();
    let mut sink = LedgerSink::new(Params::session_mainnet());
    driver.catch_up(&mut sink).await.unwrap();
    assert_matches_replay(&chain, &sink, 1).await;
    let before = (sink.ledger.height(), sink.ledger.state_hash());

    // New registrations while the endpoint is down, then while it hangs.
    chain.solo(2).await;
    chain.register(3, &[(0, 0, 15_000), (4, 5, 10_000)]).await;
    chain.mine(depth + 1).await;
    for trouble in [Mode::Refuse, Mode::Hang, Mode::Garbage] {
        mode.send(trouble).unwrap();
        let run = tokio::time::timeout(Duration::from_millis(1_500), driver.catch_up(&mut sink));
        assert!(run.await.is_err(), "{trouble:?}: the driver finished without the endpoint");
        assert!(driver.failures() > 0, "{trouble:?}: no failure counted");
        assert_eq!((sink.ledger.height(), sink.ledger.state_hash()), before, "{trouble:?}");
    }

    // Back: it catches up to the chain as it is.
    mode.send(Mode::Forward).unwrap();
    tokio::time::timeout(Duration::from_secs(20), driver.catch_up(&mut sink))
        .await
        .expect("no catching up once the endpoint is back")
        .unwrap();
    assert_eq!(driver.failures(), 0);
    assert!(sink.ledger.node(&node_id(2)).is_some() && sink.ledger.node(&node_id(3)).is_some());
    assert_eq!(sink.ledger.height(), chain.tip().await - depth - chain.deployment.block);
    assert_matches_replay(&chain, &sink, 1).await;

    // A driver that is told to give up does, saying why.
    mode.send(Mode::Refuse).unwrap();
    let rpc = Rpc::new(&url, Duration::from_millis(400)).unwrap();
    let options = Options { max_failures: Some(3), ..fast_options() };
    let mut quitter = Driver::new(rpc, chain.config(depth, 1, 1_000), options).unwrap();
    let mut empty = LedgerSink::new(Params::session_mainnet());
    let e = quitter.catch_up(&mut empty).await.unwrap_err().to_string();
    assert!(e.contains("gave up after 3") && e.contains("eth_blockNumber"), "{e}");
    assert_eq!(empty.ledger.height(), 0);
}

// ---- https ----

#[tokio::test]
async fn an_https_endpoint_is_spoken_to_with_tls() {
    // A server that reads the client's first bytes and answers garbage: the client must have
    // opened with a TLS handshake (rustls), not plain HTTP, and failed on the answer, not panicked.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 5];
        socket.read_exact(&mut hello).await.unwrap();
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        hello
    });
    let rpc = Rpc::new(&format!("https://127.0.0.1:{port}"), Duration::from_secs(5)).unwrap();
    let e = rpc.block_number().await.unwrap_err().to_string();
    let hello = server.await.unwrap();
    // A TLS record: handshake (22), version 3.x.
    assert_eq!((hello[0], hello[1]), (22, 3), "not a TLS handshake: {hello:?} ({e})");
    assert!(e.contains("eth_blockNumber"), "{e}");
    assert!(Rpc::new("ftp://127.0.0.1/", Duration::from_secs(1)).is_err());
}
