//! Real node processes following sesh's staking contract on anvil (chain mode, no keeper):
//! twelve nodes staked through contract transactions, three of them running. Every running node
//! reaches the same state hash at every height (`GET /network/v1/chain`); nodes learn each
//! other's addresses from uptime proofs alone; a node started before its RPC endpoint answers,
//! then fed garbage by it mid-run, waits, says why in its log and catches up to the same state
//! hashes; a node killed and restarted replays from the start block to the same state hashes;
//! and a quorum's decision tallied by one node is posted by it to the contract
//! (`submitNetworkTransaction`) and applied by every follower at the same height.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::providers::DynProvider;
use serde_json::{Value, json};
use sesh_examples::chain_tools::{self, Anvil, CHAIN_ID, ChainTools};
use sesh_examples::contracts::{self, Deployment, Settings};
use sesh_examples::local::NodeProcess;
use sesh_identity::{Identity, NodeId};
use sesh_node::obligations::{LEDGER_PATH, LedgerView, VOTES_PATH, votes_body};
use sesh_quorum::{Reasons, StateChange, Subject, Vote};

/// Nodes staked in the contract; the first [`RUNNING`] run.
const REGISTERED: usize = 12;
const RUNNING: usize = 3;
/// anvil's block time (seconds), blocks per sesh height, and the height time (ms).
const BLOCK_TIME: &str = "0.2";
const BLOCKS_PER_HEIGHT: u64 = 2;
const HEIGHT_MS: u64 = 400;

/// anvil with the contracts deployed by dev account 0 and `keys` registered, each staked by it.
async fn chain(keys: &[Identity]) -> (Anvil, DynProvider, Deployment) {
    let anvil = tokio::task::spawn_blocking(|| {
        let tools = ChainTools::install(&chain_tools::target_dir()?)?;
        Anvil::spawn(&tools, CHAIN_ID, &["--block-time", BLOCK_TIME, "--accounts", "20"])
    })
    .await
    .unwrap()
    .unwrap();
    let owner_key = anvil.dev_signer(0).unwrap();
    let owner_address = owner_key.address();
    let owner = anvil.provider(owner_key).unwrap();
    let settings = Settings {
        staking_requirement: U256::from(sesh_node::keeper::REQUIREMENT),
        ..Settings::session_mainnet(owner_address)
    };
    let deployment = contracts::deploy(&owner, &settings).await.unwrap();
    for key in keys {
        contracts::register(
            &owner,
            &deployment,
            &common::registration(key, deployment.rewards, owner_address),
        )
        .await
        .unwrap();
    }
    (anvil, owner, deployment)
}

/// A TCP front of anvil whose behaviour the test switches: forward to anvil, or answer every
/// request with a 200 that is not JSON.
#[derive(Clone)]
struct Proxy {
    mode: Arc<AtomicU8>,
}

const FORWARD: u8 = 0;
const GARBAGE: u8 = 1;

impl Proxy {
    async fn start(port: u16, anvil_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let m = mode.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                let mode = m.load(Ordering::SeqCst);
                let m2 = m.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                    if mode == GARBAGE {
                        let mut buf = vec![0u8; 65_536];
                        let _ = client.read(&mut buf).await;
                        let body = "not json!";
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = client.write_all(answer.as_bytes()).await;
                        return;
                    }
                    let Ok(mut upstream) =
                        tokio::net::TcpStream::connect(("127.0.0.1", anvil_port)).await
                    else {
                        return;
                    };
                    // A kept-alive connection ends when the mode changes.
                    let switched = async {
                        while m2.load(Ordering::SeqCst) == FORWARD {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        () = switched => {}
                    }
                });
            }
        });
        Self { mode }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running node's arguments: plain HTTP, following `rpc`, posting with `evm_key`.
fn node_args(
    rpc: &str,
    deployment: &Deployment,
    evm_key: &Path,
    peer: Option<&str>,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "--plain-http",
        "--tests-per-block",
        "0",
        "--rpc",
        rpc,
        "--contract",
        &deployment.rewards.to_string(),
        "--start-block",
        &deployment.block.to_string(),
        "--confirmations",
        "1",
        "--blocks-per-height",
        &BLOCKS_PER_HEIGHT.to_string(),
        "--block-ms",
        &HEIGHT_MS.to_string(),
        "--evm-key",
        &evm_key.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    if let Some(peer) = peer {
        args.extend(["--peer".to_owned(), peer.to_owned()]);
    }
    args
}

/// `<dir>/node<i>` with node `i`'s key and its EVM key.
fn node_dir(dir: &Path, i: usize, key: &Identity, evm_key: &str) -> (PathBuf, PathBuf) {
    let d = dir.join(format!("node{i}"));
    std::fs::create_dir_all(&d).unwrap();
    sesh_examples::files::write_private(
        &d.join("key_ed25519"),
        key.to_libsodium_secret_key().as_slice(),
    )
    .unwrap();
    let evm = d.join("evm_key");
    sesh_examples::files::write_private(&evm, format!("{evm_key}\n").as_bytes()).unwrap();
    (d, evm)
}

fn start(dir: &Path, args: &[String]) -> NodeProcess {
    let command = [common::example_binary("node").into_os_string()];
    NodeProcess::start(&command, dir, "127.0.0.1:0", args).unwrap()
}

async fn get_json(http: &reqwest::Client, url: &str, path: &str) -> Option<Value> {
    let r = http.get(format!("{url}{path}")).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    serde_json::from_slice(&r.bytes().await.ok()?).ok()
}

/// A node's `/network/v1/chain`: its height and state hash by height.
async fn followed(http: &reqwest::Client, url: &str) -> (u64, BTreeMap<u64, String>) {
    let v = get_json(http, url, "/network/v1/chain").await.unwrap_or(Value::Null);
    let recent = (v["recent"].as_array().into_iter().flatten())
        .map(|r| (r["height"].as_u64().unwrap(), r["state_hash"].as_str().unwrap().to_owned()))
        .collect();
    (v["height"].as_u64().unwrap_or(0), recent)
}

/// Waits until every node of `urls` has followed past `height`; asserts that they report the
/// same state hash at every height they all list; the highest such height.
async fn agree(http: &reqwest::Client, urls: &[&str], height: u64, nodes: &[&NodeProcess]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut all = Vec::new();
        for url in urls {
            all.push(followed(http, url).await);
        }
        if all.iter().all(|(h, _)| *h > height) {
            let first = &all[0].1;
            let common: Vec<u64> = (first.keys())
                .filter(|h| all.iter().all(|(_, r)| r.contains_key(h)))
                .copied()
                .collect();
            for h in &common {
                let hashes: Vec<&String> = all.iter().map(|(_, r)| &r[h]).collect();
                assert!(hashes.iter().all(|x| *x == hashes[0]), "height {h}: {hashes:?}");
            }
            if let Some(top) = common.last().filter(|t| **t > height) {
                return *top;
            }
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = nodes.iter().map(|n| n.log()).collect();
            panic!(
                "no agreement past height {height}: {:?}\n{}",
                all.iter().map(|a| a.0).collect::<Vec<_>>(),
                logs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_for(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The node keys a node's `/json_rpc` `get_n_service_nodes` lists.
async fn listed(http: &reqwest::Client, url: &str) -> Vec<String> {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "get_n_service_nodes",
                      "params": {"fields": {"pubkey_ed25519": true}}});
    let Ok(r) = http.post(format!("{url}/json_rpc")).json(&body).send().await else {
        return Vec::new();
    };
    let v: Value = r.json().await.unwrap_or(Value::Null);
    let states = v["result"]["service_node_states"].as_array().cloned().unwrap_or_default();
    let mut keys: Vec<String> =
        states.iter().filter_map(|s| Some(s["pubkey_ed25519"].as_str()?.to_owned())).collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn chain_followers_agree_survive_rpc_trouble_and_restarts_and_apply_a_posted_decision() {
    let dir = std::env::temp_dir().join(format!("sesh-chain-nodes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys: Vec<Identity> =
        (0..REGISTERED).map(|_| Identity::generate(&mut rand_core::OsRng)).collect();
    let (anvil, _owner, deployment) = chain(&keys).await;
    let http = reqwest::Client::new();
    let evm_keys = anvil.dev_keys().to_vec();
    let dirs: Vec<(PathBuf, PathBuf)> =
        (0..RUNNING).map(|i| node_dir(&dir, i, &keys[i], &evm_keys[10 + i])).collect();

    // Node 0 and node 1 follow anvil; node 2's endpoint does not answer yet.
    let mut n0 = start(&dirs[0].0, &node_args(&anvil.url(), &deployment, &dirs[0].1, None));
    let peer = n0.url.clone();
    let mut n1 = start(&dirs[1].0, &node_args(&anvil.url(), &deployment, &dirs[1].1, Some(&peer)));
    let proxy_port = free_port();
    let proxied = format!("http://127.0.0.1:{proxy_port}");
    let mut n2 = start(&dirs[2].0, &node_args(&proxied, &deployment, &dirs[2].1, Some(&peer)));
    let h = agree(&http, &[&n0.url, &n1.url], 3, &[&n0, &n1]).await;
    let (h2, _) = followed(&http, &n2.url).await;
    assert_eq!(h2, 0, "node 2 has no chain yet");
    assert!(n2.log().contains("waiting for the chain"), "{}", n2.log());

    // The endpoint answers: node 2 catches up to the same state hashes.
    let proxy = Proxy::start(proxy_port, anvil.port()).await;
    let h = agree(&http, &[&n0.url, &n1.url, &n2.url], h, &[&n0, &n1, &n2]).await;

    // Garbage mid-run: node 2 stops at a whole height and says why; then catches up.
    proxy.set(GARBAGE);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (stuck, _) = followed(&http, &n2.url).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (still, _) = followed(&http, &n2.url).await;
    assert!(still <= stuck + 1, "node 2 followed {stuck} → {still} through garbage");
    assert!(n2.log().contains("not JSON"), "{}", n2.log());
    proxy.set(FORWARD);
    let h = agree(&http, &[&n0.url, &n1.url, &n2.url], h.max(still), &[&n0, &n1, &n2]).await;

    // The nodes learned each other's addresses from their proofs alone: each lists the three
    // running nodes (the nine others have sent no proof, and have no address).
    let mut running: Vec<String> = [&n0, &n1, &n2].iter().map(|n| n.key.to_string()).collect();
    running.sort();
    for node in [&n0, &n1, &n2] {
        let url = node.url.clone();
        wait_for(
            &format!("{url} does not list the running nodes"),
            Duration::from_secs(30),
            async || listed(&http, &url).await == running,
        )
        .await;
    }

    // The rewards each node derives are the same at the same height (balances and totals).
    wait_for("no two reward answers at one height", Duration::from_secs(30), async || {
        let a = get_json(&http, &n0.url, "/network/v1/rewards").await.unwrap_or(Value::Null);
        let b = get_json(&http, &n2.url, "/network/v1/rewards").await.unwrap_or(Value::Null);
        if a["height"].as_u64().is_none_or(|h| h == 0) || a["height"] != b["height"] {
            return false;
        }
        assert_eq!(a, b, "the same height, different rewards");
        assert!(a["balances"].as_object().is_some_and(|m| !m.is_empty()), "{a}");
        true
    })
    .await;

    // Node 1 killed mid-run and restarted: it replays from the start block and agrees again,
    // its earliest heights included.
    n1.kill9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    n1.restart().unwrap();
    let h = agree(&http, &[&n0.url, &n1.url, &n2.url], h + 2, &[&n0, &n1, &n2]).await;
    assert_eq!(n1.log().matches("caught up with the chain").count(), 2, "{}", n1.log());

    // Seven validators' votes on a worker, sent to node 0: it tallies the decision, posts it to
    // the contract, and every follower applies it at the same height.
    // (Again at the next height if the node moved on before the votes reached it.)
    let by_id: BTreeMap<NodeId, &Identity> =
        keys.iter().map(|k| (NodeId::from_identity(k), k)).collect();
    let params = sesh_node::keeper::params();
    let deadline = Instant::now() + Duration::from_secs(30);
    let worker = loop {
        let view = LedgerView::from_json(
            &serde_json::to_vec(&get_json(&http, &n0.url, LEDGER_PATH).await.unwrap()).unwrap(),
        )
        .unwrap();
        let quorum = view.obligations_quorum();
        assert_eq!(quorum.validators.len(), 10, "{quorum:?}");
        let worker = quorum.workers[0];
        let subject = Subject {
            height: view.height,
            worker_index: 0,
            worker,
            state: StateChange::Decommission,
        };
        let votes: Vec<Vote> = (quorum.validators.iter().enumerate().take(7))
            .map(|(i, v)| Vote::sign(by_id[v], i as u16, &subject, Reasons::UPTIME, &params))
            .collect();
        let body = votes_body(&votes);
        // Sent by one of the quorum's validators (a node takes votes from them alone; node 0
        // itself is one in only 10 of 12 quorums).
        let sender = by_id[&quorum.validators[0]];
        let mut req = http.post(format!("{}{VOTES_PATH}", n0.url));
        for (name, value) in sesh_network::auth::sign(sender, VOTES_PATH, common::now_ms(), &body) {
            req = req.header(name, value);
        }
        let answer: Value = req.body(body).send().await.unwrap().json().await.unwrap();
        let results = answer["results"].as_array().unwrap();
        if results.iter().all(|r| r["ok"] == true) {
            break worker;
        }
        let late = results.iter().any(|r| r["refused"] == "wrong_height");
        assert!(late && Instant::now() < deadline, "{answer}");
    };
    for node in [&n0, &n1, &n2] {
        let url = node.url.clone();
        wait_for("the decision is not applied", Duration::from_secs(30), async || {
            let Some(v) = get_json(&http, &url, LEDGER_PATH).await else { return false };
            let view = LedgerView::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
            view.node(&worker).is_some_and(|n| n.info.decommissioned)
        })
        .await;
    }
    // Every node lists it among the changes its chain applied, at the same height.
    let mut at = Vec::new();
    for node in [&n0, &n1, &n2] {
        let votes = get_json(&http, &node.url, VOTES_PATH).await.unwrap();
        let changes = votes["changes"].as_array().unwrap().clone();
        assert_eq!(changes.len(), 1, "{votes}");
        assert_eq!(changes[0]["node"], worker.to_string());
        assert_eq!(changes[0]["state"], "decommission");
        at.push(changes[0]["height"].as_u64().unwrap());
    }
    assert!(at.iter().all(|h| *h == at[0]), "{at:?}");
    assert!(n0.log().contains("a decision posted"), "{}", n0.log());
    agree(&http, &[&n0.url, &n1.url, &n2.url], h + 2, &[&n0, &n1, &n2]).await;

    for n in [&mut n0, &mut n1, &mut n2] {
        n.stop(Duration::from_secs(10));
    }
    drop(anvil);
    if std::env::var_os("SESH_KEEP_LOGS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
