//! A real keeper's vote endpoint (`POST /network/v1/votes`): forged, non-member, late,
//! wrong-height and duplicate votes are refused by name and change nothing; seven validators'
//! votes decommission a worker at the next block, which leaves the published state. Its uptime
//! endpoint (`POST /network/v1/uptime`) refuses stale, forged and too-early proofs by name.
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
    LEDGER_PATH, LedgerView, UPTIME_PATH, UptimeSubmission, VOTES_PATH, votes_body,
};
use sesh_quorum::{Reasons, StateChange, Subject, Vote};

/// POSTs `body` to the keeper's `path`, signed by `key` as node-to-node requests are.
async fn post(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    key: &Identity,
    body: Vec<u8>,
) -> Value {
    let mut req = http.post(format!("{url}{path}"));
    for (name, value) in sesh_network::auth::sign(key, path, common::now_ms(), &body) {
        req = req.header(name, value);
    }
    let r = req.body(body).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null)
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

    // Seven validators vote worker 0 out: the next block decommissions it, and it leaves the
    // published state (and its swarm).
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
    let view = LedgerView::from_json(&get(&http, &url, LEDGER_PATH).await).unwrap();
    assert!(view.node(&w[0]).unwrap().info.decommissioned);
    let state = sesh_network::NetworkState::from_json(&get(&http, &url, "/network/v1/state").await);
    assert!(state.unwrap().node(&w[0]).is_none(), "a decommissioned node is in no swarm");
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}

/// POSTs a node's uptime proof to the keeper; the answer's status and body.
async fn post_proof(
    http: &reqwest::Client,
    url: &str,
    key: &Identity,
    proof: &UptimeSubmission,
) -> (u16, Value) {
    let body = proof.to_body();
    let mut req = http.post(format!("{url}{UPTIME_PATH}"));
    for (name, value) in sesh_network::auth::sign(key, UPTIME_PATH, common::now_ms(), &body) {
        req = req.header(name, value);
    }
    let r = req.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_keeper_refuses_bad_uptime_proofs_by_name() {
    let dir = std::env::temp_dir().join(format!("sesh-uptime-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let genesis = Genesis::build(4, &mut ChaCha20Rng::seed_from_u64(23)).unwrap();
    local::write_genesis(&dir, &genesis).unwrap();
    let command = [common::example_binary("node").into_os_string()];
    let keeper_args = ["--block-ms", "250", "--tests-per-block", "0"].map(String::from);
    let net = LocalNetwork::start(&command, &dir, &keeper_args, &["--plain-http".into()]).unwrap();
    let url = net.keeper().unwrap().url.clone();
    let http = reqwest::Client::new();
    let (node, other) = (&genesis.nodes[1], &genesis.nodes[2]);
    let height =
        || async { LedgerView::from_json(&get(&http, &url, LEDGER_PATH).await).unwrap().height };
    let proof = |height: u64, now_ms: i64| {
        let now = u64::try_from(now_ms).unwrap();
        UptimeSubmission::new(node, Ipv4Addr::LOCALHOST, 30_001, height, now, &params()).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while height().await < 2 {
        assert!(Instant::now() < deadline, "the keeper makes no blocks");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A minute old (the tolerance, 5 min scaled to 250 ms blocks, is 2 s), and forged.
    let stale = proof(height().await, common::now_ms() - 60_000);
    let (status, answer) = post_proof(&http, &url, node, &stale).await;
    assert_eq!((status, answer["refused"].as_str()), (400, Some("stale_timestamp")), "{answer}");
    let mut forged = proof(height().await, common::now_ms());
    forged.proof = forged.proof.proof().sign(other);
    let (status, answer) = post_proof(&http, &url, node, &forged).await;
    assert_eq!((status, answer["refused"].as_str()), (400, Some("bad_signature")), "{answer}");

    // A good one is taken (once it is made at the keeper's height); another within 30 min
    // scaled (3.75 s) is too soon.
    loop {
        let (status, answer) =
            post_proof(&http, &url, node, &proof(height().await, common::now_ms())).await;
        if status == 200 {
            break;
        }
        assert_eq!(answer["refused"].as_str(), Some("ledger"), "{answer}");
        assert!(Instant::now() < deadline, "no proof taken");
    }
    let (status, answer) =
        post_proof(&http, &url, node, &proof(height().await, common::now_ms())).await;
    assert_eq!((status, answer["refused"].as_str()), (400, Some("too_soon")), "{answer}");
    let view = LedgerView::from_json(&get(&http, &url, LEDGER_PATH).await).unwrap();
    let id = NodeId::from_identity(node);
    assert!(view.node(&id).unwrap().last_uptime_proof_height.is_some());
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
