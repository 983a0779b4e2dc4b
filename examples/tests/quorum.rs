//! Real nodes' vote endpoint (`POST /network/v1/votes`, every node tallies): forged,
//! non-member, late, wrong-height and duplicate votes are refused by name and change nothing;
//! seven validators' votes decommission a worker, which leaves the published state. A decision
//! tallied on a node that is not the keeper reaches the ledger (`POST /network/v1/tx`), which
//! refuses a short or forged one, or anything but a decision, by name, changing nothing. The
//! uptime endpoint (`POST /network/v1/uptime`, every node) refuses stale, forged and too-early
//! proofs by name and relays none of them; a good proof is relayed on to the other nodes once.
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
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use sesh_examples::local::{self, LocalNetwork};
use sesh_identity::{Identity, NodeId};
use sesh_node::keeper::{Genesis, JoinRequest, params};
use sesh_node::obligations::{
    LEDGER_PATH, LedgerView, TX_PATH, UPTIME_PATH, UptimeSubmission, VOTES_PATH, votes_body,
};
use sesh_quorum::{Reasons, StateChange, Subject, Vote};
use sesh_staking::tx::{QuorumDecision, Tx};

/// POSTs `body` to a node's `path`, signed by `key` as node-to-node requests are; the status and
/// the body.
async fn post_any(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    key: &Identity,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = http.post(format!("{url}{path}"));
    for (name, value) in sesh_network::auth::sign(key, path, common::now_ms(), &body) {
        req = req.header(name, value);
    }
    let r = req.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null))
}

/// [`post_any`], answered 200.
async fn post(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    key: &Identity,
    body: Vec<u8>,
) -> Value {
    let (status, answer) = post_any(http, url, path, key, body).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

/// A node's own ledger height, the one its tally counts votes at.
async fn tally_height(http: &reqwest::Client, url: &str) -> Option<u64> {
    let v: Value = serde_json::from_slice(&get(http, url, VOTES_PATH).await).ok()?;
    v["tally_height"].as_u64()
}

async fn get(http: &reqwest::Client, url: &str, path: &str) -> Vec<u8> {
    http.get(format!("{url}{path}")).send().await.unwrap().bytes().await.unwrap().to_vec()
}

/// The refusal each vote of a POST got (`None` for a counted vote).
fn refusals(answer: &Value) -> Vec<Option<String>> {
    (answer["results"].as_array().unwrap().iter())
        .map(|r| r["refused"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_keeper_refuses_bad_votes_and_applies_what_seven_decide() {
    let dir = std::env::temp_dir().join(format!("sesh-quorum-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let genesis = Genesis::build(12, &mut ChaCha20Rng::seed_from_u64(19)).unwrap();
    local::write_genesis(&dir, &genesis).unwrap();
    let keys: BTreeMap<NodeId, &Identity> =
        genesis.nodes.iter().map(|k| (NodeId::from_identity(k), k)).collect();
    // The keeper alone runs; the other eleven nodes of its genesis only say where they are.
    let command = [common::example_binary("node").into_os_string()];
    let keeper_args = ["--block-ms", "250", "--tests-per-block", "0"].map(String::from);
    let net = LocalNetwork::start(&command, &dir, &keeper_args, &["--plain-http".into()]).unwrap();
    let url = net.keeper().unwrap().url.clone();
    let http = reqwest::Client::new();
    for (i, key) in genesis.nodes.iter().enumerate().skip(1) {
        let join = JoinRequest {
            register: None,
            ip: Ipv4Addr::LOCALHOST,
            port: 30_000 + i as u16,
            tls: false,
        };
        post(&http, &url, "/network/v1/join", key, join.to_body()).await;
    }

    // Past the vote lifetime's first window, so a late vote can be made.
    let deadline = Instant::now() + Duration::from_secs(60);
    let view = loop {
        let view = LedgerView::from_json(&get(&http, &url, LEDGER_PATH).await).unwrap();
        if view.height >= 62 {
            break view;
        }
        assert!(Instant::now() < deadline, "the keeper makes no blocks");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let h = view.height;
    // The keeper is a node too: it counts votes in its own tally, at its own view's height.
    while tally_height(&http, &url).await.is_none_or(|t| t < h) {
        assert!(Instant::now() < deadline, "the keeper's node does not follow its blocks");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let quorum = view.obligations_quorum();
    assert_eq!((quorum.validators.len(), quorum.workers.len()), (10, 2));
    let (v, w) = (&quorum.validators, &quorum.workers);
    let key = |id: &NodeId| keys[id];
    let p = params();
    let subject =
        Subject { height: h, worker_index: 0, worker: w[0], state: StateChange::Recommission };
    let vote = |signer: &NodeId, index: u16, s: &Subject| {
        Vote::sign(key(signer), index, s, Reasons::NONE, &p)
    };
    let pending = async || -> Vec<Value> {
        let v: Value = serde_json::from_slice(&get(&http, &url, VOTES_PATH).await).unwrap();
        let all = v["pending"].as_array().unwrap().clone();
        all.into_iter().filter(|t| t["height"] == h && t["state"] == "recommission").collect()
    };

    // Refused, each by name, and nothing counted.
    let cases = [
        // Signed by validator 1, naming validator 0.
        (v[1], vote(&v[1], 0, &subject), "forged"),
        // From a worker, not a validator.
        (w[1], vote(&w[1], 0, &subject), "non_member"),
        // A quorum past the vote lifetime.
        (v[0], vote(&v[0], 0, &Subject { height: h - 60, ..subject }), "late"),
        // A quorum above the keeper's height; a worker its quorum does not have.
        (v[0], vote(&v[0], 0, &Subject { height: h + 3, ..subject }), "wrong_height"),
        (v[0], vote(&v[0], 0, &Subject { worker_index: 7, ..subject }), "wrong_height"),
    ];
    for (from, bad, refused) in cases {
        let answer = post(&http, &url, VOTES_PATH, key(&from), votes_body(&[bad])).await;
        assert_eq!(refusals(&answer), [Some(refused.to_owned())], "{answer}");
    }
    assert!(pending().await.is_empty());

    // A genuine vote counts once; sent again it is a duplicate.
    let good = vote(&v[0], 0, &subject);
    let answer = post(&http, &url, VOTES_PATH, key(&v[0]), votes_body(&[good])).await;
    assert_eq!(refusals(&answer), [None], "{answer}");
    let answer = post(&http, &url, VOTES_PATH, key(&v[0]), votes_body(&[good])).await;
    assert_eq!(refusals(&answer), [Some("duplicate".to_owned())], "{answer}");
    let tallies = pending().await;
    assert_eq!(tallies.len(), 1, "{tallies:?}");
    assert_eq!(tallies[0]["votes"], 1);

    // Seven validators vote worker 0 out: the keeper's node tallies it and submits the decision
    // to the ledger, which decommissions it; it leaves the published state (and its swarm).
    let out = Subject { state: StateChange::Decommission, ..subject };
    for (i, validator) in v.iter().enumerate().take(7) {
        let ballot = Vote::sign(key(validator), i as u16, &out, Reasons::UPTIME, &p);
        let answer = post(&http, &url, VOTES_PATH, key(validator), votes_body(&[ballot])).await;
        assert_eq!(refusals(&answer), [None], "{answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, changes) = local::state_changes(&http, &url).await.unwrap();
        if changes.iter().any(|(_, node, state)| *node == w[0] && state == "decommission") {
            break;
        }
        assert!(Instant::now() < deadline, "not applied: {changes:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The ledger view of the next block's close shows it.
    loop {
        let view = LedgerView::from_json(&get(&http, &url, LEDGER_PATH).await).unwrap();
        if view.node(&w[0]).unwrap().info.decommissioned {
            break;
        }
        assert!(Instant::now() < deadline, "the ledger view does not show it");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = sesh_network::NetworkState::from_json(&get(&http, &url, "/network/v1/state").await);
    assert!(state.unwrap().node(&w[0]).is_none(), "a decommissioned node is in no swarm");
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}

/// POSTs an uptime proof to a node, signed by `key`; the answer's status and body.
async fn post_proof(
    http: &reqwest::Client,
    url: &str,
    key: &Identity,
    proof: &UptimeSubmission,
) -> (u16, Value) {
    post_any(http, url, UPTIME_PATH, key, proof.to_body()).await
}

/// The uptime proof timestamps a node holds, by node.
async fn held(http: &reqwest::Client, url: &str) -> BTreeMap<String, u64> {
    let v: Value = serde_json::from_slice(&get(http, url, UPTIME_PATH).await).unwrap();
    (v["proofs"].as_array().unwrap().iter())
        .map(|p| (p["node"].as_str().unwrap().to_owned(), p["timestamp"].as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_refuse_bad_uptime_proofs_by_name_and_relay_a_good_one_once() {
    let dir = std::env::temp_dir().join(format!("sesh-uptime-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let genesis = Genesis::build(4, &mut ChaCha20Rng::seed_from_u64(23)).unwrap();
    local::write_genesis(&dir, &genesis).unwrap();
    let command = [common::example_binary("node").into_os_string()];
    let keeper_args = ["--block-ms", "250", "--tests-per-block", "0"].map(String::from);
    let mut net =
        LocalNetwork::start(&command, &dir, &keeper_args, &["--plain-http".into()]).unwrap();
    let quiet = ["--tests-per-block", "0"].map(String::from);
    net.add_node_with(&quiet).unwrap();
    net.add_node_with(&quiet).unwrap();
    let http = reqwest::Client::new();
    net.wait_ready(&http, Duration::from_secs(60), |_| {}).await.unwrap();
    let urls: Vec<String> = net.nodes.iter().map(|n| n.url.clone()).collect();
    let (keeper, a, b) = (&urls[0], &urls[1], &urls[2]);
    // Node 3 of the genesis is registered but runs nowhere: its proofs come from the test.
    let (node, other) = (&genesis.nodes[3], &genesis.nodes[2]);
    let id = NodeId::from_identity(node).to_string();
    let height =
        || async { LedgerView::from_json(&get(&http, keeper, LEDGER_PATH).await).unwrap().height };
    let proof = |height: u64, now_ms: i64| {
        let now = u64::try_from(now_ms).unwrap();
        UptimeSubmission::new(node, Ipv4Addr::LOCALHOST, 30_003, height, now)
    };
    // Every node has a ledger view and knows the two other running ones (so a relay reaches
    // them all).
    let deadline = Instant::now() + Duration::from_secs(60);
    for url in [keeper, a, b] {
        loop {
            let v: Value = serde_json::from_slice(&get(&http, url, UPTIME_PATH).await).unwrap();
            if v["height"].is_u64() && v["peers"] == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "{url}: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // A minute old (the tolerance, 5 min scaled to 250 ms blocks, is 2 s), and forged: refused
    // by name, and relayed to nobody.
    let stale = proof(height().await, common::now_ms() - 60_000);
    let (status, answer) = post_proof(&http, a, node, &stale).await;
    assert_eq!((status, answer["refused"].as_str()), (400, Some("stale_timestamp")), "{answer}");
    let mut forged = proof(height().await, common::now_ms());
    forged.proof = forged.proof.proof().sign(other);
    let (status, answer) = post_proof(&http, a, node, &forged).await;
    assert_eq!((status, answer["refused"].as_str()), (400, Some("bad_signature")), "{answer}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for url in [keeper, a, b] {
        assert!(!held(&http, url).await.contains_key(&id), "{url} holds a refused proof");
    }

    // A good one, sent to node a by its node: taken, and relayed to the two others (not back).
    let good = proof(height().await, common::now_ms());
    let (status, answer) = post_proof(&http, a, node, &good).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["received"], "new", "{answer}");
    assert_eq!(answer["relayed_to"], 2, "{answer}");
    let stamped = good.proof.proof().timestamp;
    let deadline = Instant::now() + Duration::from_secs(10);
    for url in [keeper, b] {
        while held(&http, url).await.get(&id) != Some(&stamped) {
            assert!(Instant::now() < deadline, "{url} never got the relayed proof");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The same proof again, from anyone: known, relayed no further.
    let (status, answer) = post_proof(&http, b, other, &good).await;
    assert_eq!((status, answer["received"].as_str()), (200, Some("known")), "{answer}");
    assert_eq!(answer["relayed_to"], 0, "{answer}");
    // Another (its node moved) within 30 min scaled (3.75 s) is too soon.
    let moved = UptimeSubmission::new(node, Ipv4Addr::LOCALHOST, 30_013, height().await, {
        u64::try_from(common::now_ms()).unwrap()
    });
    let (status, answer) = post_proof(&http, b, node, &moved).await;
    assert_eq!((status, answer["refused"].as_str()), (400, Some("too_soon")), "{answer}");
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decision_tallied_on_another_node_reaches_the_ledger_and_bad_ones_change_nothing() {
    let dir = std::env::temp_dir().join(format!("sesh-decision-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let genesis = Genesis::build(12, &mut ChaCha20Rng::seed_from_u64(29)).unwrap();
    local::write_genesis(&dir, &genesis).unwrap();
    let keys: BTreeMap<NodeId, &Identity> =
        genesis.nodes.iter().map(|k| (NodeId::from_identity(k), k)).collect();
    // The keeper and node 1 run; the ten others only say where they are.
    let command = [common::example_binary("node").into_os_string()];
    let keeper_args = ["--block-ms", "1000", "--tests-per-block", "0"].map(String::from);
    let mut net =
        LocalNetwork::start(&command, &dir, &keeper_args, &["--plain-http".into()]).unwrap();
    net.add_node_with(&["--tests-per-block", "0"].map(String::from)).unwrap();
    let (url, a) = (net.nodes[0].url.clone(), net.nodes[1].url.clone());
    let http = reqwest::Client::new();
    for (i, key) in genesis.nodes.iter().enumerate().skip(2) {
        let join = JoinRequest {
            register: None,
            ip: Ipv4Addr::LOCALHOST,
            port: 30_000 + i as u16,
            tls: false,
        };
        post(&http, &url, "/network/v1/join", key, join.to_body()).await;
    }
    net.wait_ready(&http, Duration::from_secs(60), |_| {}).await.unwrap();
    let p = params();
    let changes = async || local::state_changes(&http, &url).await.unwrap().1;

    // Seven validators of a quorum vote its worker 0 out, to node a alone (a retry if node a
    // skipped that block: its tally keeps the quorums of the blocks it saw).
    let deadline = Instant::now() + Duration::from_secs(60);
    let (worker, votes) = 'voted: loop {
        assert!(Instant::now() < deadline, "node a never counted the votes");
        let view = LedgerView::from_json(&get(&http, &url, LEDGER_PATH).await).unwrap();
        let h = view.height;
        while tally_height(&http, &a).await.is_none_or(|t| t < h) {
            assert!(Instant::now() < deadline, "node a does not follow the blocks");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let quorum = view.obligations_quorum();
        let worker = quorum.workers[0];
        let out = Subject { height: h, worker_index: 0, worker, state: StateChange::Decommission };
        let votes: Vec<(NodeId, Vote)> = (quorum.validators.iter().enumerate().take(7))
            .map(|(i, v)| (*v, Vote::sign(keys[v], i as u16, &out, Reasons::UPTIME, &p)))
            .collect();
        let (from, first) = votes[0];
        let answer = post(&http, &a, VOTES_PATH, keys[&from], votes_body(&[first])).await;
        if answer["results"][0]["refused"] == "wrong_height" {
            continue;
        }
        assert_eq!(refusals(&answer), [None], "{answer}");
        break 'voted (worker, votes);
    };

    // Before the last vote: what the ledger refuses changes nothing. Six votes are too few;
    // a changed signature, votes moved to another height, and a height advance (no decision)
    // are refused by name.
    let ledger = |votes: &[(NodeId, Vote)]| QuorumDecision {
        node: worker,
        vote_height: votes[0].1.height,
        votes: votes.iter().map(|(v, vote)| (*v, vote.ledger_signature.unwrap())).collect(),
    };
    let submit = |tx: Tx| {
        let (http, url, key) = (http.clone(), url.clone(), genesis.nodes[1].clone());
        async move { post_any(&http, &url, TX_PATH, &key, tx.unsigned().to_bytes()).await }
    };
    let short = ledger(&votes[..6]);
    let (status, answer) = submit(Tx::Decommission(short)).await;
    assert_eq!((status, answer["rule"].as_str()), (400, Some("NotEnoughVotes")), "{answer}");
    let mut forged = ledger(&votes);
    forged.votes[2].1[5] ^= 1;
    let (status, answer) = submit(Tx::Decommission(forged)).await;
    assert_eq!((status, answer["rule"].as_str()), (400, Some("BadSignature")), "{answer}");
    let moved = QuorumDecision { vote_height: votes[0].1.height - 1, ..ledger(&votes) };
    let (status, answer) = submit(Tx::Decommission(moved)).await;
    assert_eq!((status, answer["rule"].as_str()), (400, Some("BadSignature")), "{answer}");
    let (status, answer) = submit(Tx::AdvanceHeight(u64::MAX)).await;
    assert_eq!((status, answer["refused"].as_str()), (400, Some("bad_request")), "{answer}");
    assert!(changes().await.is_empty());

    // The other six votes, to node a: its tally decides, and it submits the decision.
    for (from, vote) in &votes[1..] {
        let answer = post(&http, &a, VOTES_PATH, keys[from], votes_body(&[*vote])).await;
        assert_eq!(refusals(&answer), [None], "{answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let changes = changes().await;
        if changes.iter().any(|(_, node, state)| *node == worker && state == "decommission") {
            assert_eq!(changes.len(), 1, "{changes:?}");
            break;
        }
        assert!(Instant::now() < deadline, "not applied: {changes:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The keeper's own node never saw a vote: the decision came from node a.
    let v: Value = serde_json::from_slice(&get(&http, &url, VOTES_PATH).await).unwrap();
    assert!(v["pending"].as_array().unwrap().is_empty(), "{v}");
    // The same decision again is refused by the ledger, and changes nothing.
    let (status, answer) = submit(Tx::Decommission(ledger(&votes))).await;
    assert_eq!((status, answer["rule"].as_str()), (400, Some("NotActive")), "{answer}");
    assert_eq!(changes().await.len(), 1);
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
