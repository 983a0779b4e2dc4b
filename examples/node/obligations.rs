//! Nodes testing each other, as `sesh_node::obligations` rules it: at each block the node takes
//! the keeper's ledger view, sends its uptime proof when due, sends the votes its quorum cop
//! decides, and runs the tests it plans (pings, storage tests) within its budget, in the
//! background; and it answers other nodes' tests.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand_core::RngCore as _;
use serde_json::{Value, json};
use sesh_identity::NodeId;
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::handover::{from_wire, to_wire};
use sesh_node::obligations::{self as ob, Cop, LedgerView, Outcome, Sample, Test};
use sesh_node::replication::PeerReply;
use sesh_rpc::store::Message;

use crate::lock;
use crate::node::app::App;
use crate::node::metrics::Metrics;
use crate::node::peer;

/// A node's quorum cop and the tests it has in flight.
#[derive(Debug)]
pub struct Obligations {
    cop: Mutex<Cop>,
    in_flight: Mutex<BTreeSet<NodeId>>,
    listed: AtomicBool,
}

impl Obligations {
    /// The cop of node `me`, started now.
    pub fn new(me: NodeId) -> Self {
        let cop = Cop::new(me, sesh_node::keeper::params(), crate::now_ms());
        Self {
            cop: Mutex::new(cop),
            in_flight: Mutex::new(BTreeSet::new()),
            listed: AtomicBool::new(false),
        }
    }

    /// Whether the last ledger view listed this node where it is (decommissioned nodes are
    /// not in the network state, and need not join again).
    pub fn listed(&self) -> bool {
        self.listed.load(Ordering::Relaxed)
    }
}

/// The node's round at a new block of `state`.
pub async fn on_block(app: Arc<App>, state: Arc<NetworkState>) {
    let view = match &app.authority {
        Some(authority) => authority.lock().await.view(),
        None => match fetch_view(&app).await {
            Ok(view) => view,
            Err(e) => return tracing::debug!(error = %e, "no ledger view"),
        },
    };
    let listed = view.node(&app.me).and_then(|n| n.record) == Some(app.info);
    app.obligations.listed.store(listed, Ordering::Relaxed);
    let now = crate::now_ms();
    let budget = app.settings.tests_per_block;
    let (due, casts, tests) = {
        let mut cop = lock(&app.obligations.cop);
        cop.observe(&view, &state);
        let (casts, verdicts) = cop.process(&view, &app.identity, now);
        for v in verdicts.iter().filter(|v| !v.results.passed()) {
            tracing::info!(height = v.height, worker = %v.worker, decision = ?v.decision, "a worker fails its tests");
        }
        let in_flight = lock(&app.obligations.in_flight).len();
        let room = budget.saturating_mul(2).saturating_sub(in_flight).min(budget);
        let tests = cop.plan(&view, &state, now, room, &mut rand_core::OsRng);
        (cop.proof_due(&view), casts, tests)
    };
    if due {
        send_proof(&app, view.height).await;
    }
    if !casts.is_empty() {
        for c in &casts {
            Metrics::outcome(&app.metrics.votes, c.vote.state.name(), 1);
        }
        let votes: Vec<_> = casts.iter().map(|c| c.vote).collect();
        send_votes(&app, &votes).await;
    }
    for test in tests {
        if !lock(&app.obligations.in_flight).insert(test.node.id) {
            continue;
        }
        let (app, state) = (app.clone(), state.clone());
        tokio::spawn(async move {
            let outcome = run(&app, &test, &state).await;
            let label = match outcome {
                Outcome::Unreachable => "unreachable",
                Outcome::Reachable => "reachable",
                Outcome::Storage(true) => "storage_passed",
                Outcome::Storage(false) => "storage_failed",
            };
            Metrics::outcome(&app.metrics.tests, label, 1);
            lock(&app.obligations.cop).record(&test.node.id, outcome, crate::now_ms());
            lock(&app.obligations.in_flight).remove(&test.node.id);
        });
    }
}

async fn fetch_view(app: &App) -> Result<LedgerView, String> {
    let base = app.settings.network.as_deref().ok_or("no keeper")?.trim_end_matches('/');
    let pinned = app.settings.authority_key.as_ref();
    let body = crate::keeper::fetch_signed(&app.peers, base, ob::LEDGER_PATH, pinned).await?;
    LedgerView::from_json(&body).map_err(|e| e.to_string())
}

fn keeper_url(app: &App, path: &str) -> Option<String> {
    Some(format!("{}{path}", app.settings.network.as_deref()?.trim_end_matches('/')))
}

async fn send_proof(app: &App, height: u64) {
    let (ip, port, params) = (app.info.ip, app.info.port, sesh_node::keeper::params());
    let now = u64::try_from(crate::now_ms()).unwrap_or(0);
    let proof = ob::UptimeSubmission::new(&app.identity, ip, port, height, now, &params);
    let proof = match proof {
        Ok(proof) => proof,
        Err(e) => return tracing::error!(error = %e, "signing the uptime proof failed"),
    };
    if let Some(authority) = &app.authority {
        if let Err((_, e)) = authority.lock().await.uptime_proof(&proof, now) {
            tracing::debug!(error = %e, "own uptime proof refused");
        }
        return;
    }
    let Some(url) = keeper_url(app, ob::UPTIME_PATH) else { return };
    match peer::post(app, &url, ob::UPTIME_PATH, proof.to_body(), Duration::from_secs(10)).await {
        PeerReply::Answered { status: 200, .. } => tracing::debug!(height, "uptime proof sent"),
        other => tracing::debug!(reply = ?other, "uptime proof not taken; again next block"),
    }
}

async fn send_votes(app: &App, votes: &[sesh_quorum::Vote]) {
    tracing::info!(votes = votes.len(), "sending state-change votes");
    if let Some(authority) = &app.authority {
        authority.lock().await.votes(app.me, votes);
        return;
    }
    let Some(url) = keeper_url(app, ob::VOTES_PATH) else { return };
    let body = ob::votes_body(votes);
    let reply = peer::post(app, &url, ob::VOTES_PATH, body, Duration::from_secs(10)).await;
    if let PeerReply::Answered { status: 200, body } = &reply {
        tracing::debug!(answer = %String::from_utf8_lossy(body), "votes taken");
    } else {
        tracing::warn!(reply = ?reply, "votes not delivered");
    }
}

/// Runs one test: a storage test if a message for it can be had, else a ping.
async fn run(app: &Arc<App>, test: &Test, state: &NetworkState) -> Outcome {
    let min_age = ob::SAMPLE_MIN_AGE_MS;
    let now = crate::now_ms();
    let sample = match test.storage {
        None => None,
        Some(Sample::Mine) => {
            let (before, pick) =
                (now - i64::try_from(min_age).unwrap_or(0), rand_core::OsRng.next_u64());
            app.with_reader(move |db| db.sample(before, now, pick))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
        }
        Some(Sample::From(member)) => ask_sample(app, &member).await,
    };
    let fits = |m: &Message| ob::sample_fits(m, &test.node.id, state, now, min_age);
    match sample.filter(fits) {
        Some(m) => {
            let timeout = Duration::from_millis(ob::STORAGE_TEST_TIMEOUT_MS);
            let body = ob::storage_test_body(&m.hash);
            let url = test.node.url(ob::STORAGE_TEST_PATH);
            match peer::post(app, &url, ob::STORAGE_TEST_PATH, body, timeout).await {
                PeerReply::Answered { status: 200, body } => {
                    Outcome::Storage(ob::storage_test_passed(&body, &m.data))
                }
                _ => Outcome::Unreachable,
            }
        }
        None => ping(app, &test.node).await,
    }
}

async fn ping(app: &App, node: &NodeRecord) -> Outcome {
    let timeout = Duration::from_millis(ob::PING_TIMEOUT_MS);
    match peer::post(app, &node.url(ob::PING_PATH), ob::PING_PATH, Vec::new(), timeout).await {
        PeerReply::Answered { status: 200, body } if ob::ping_passed(&body, &node.id) => {
            Outcome::Reachable
        }
        _ => Outcome::Unreachable,
    }
}

async fn ask_sample(app: &App, member: &NodeRecord) -> Option<Message> {
    let timeout = Duration::from_millis(ob::PING_TIMEOUT_MS);
    let url = member.url(ob::SAMPLE_PATH);
    let PeerReply::Answered { status: 200, body } =
        peer::post(app, &url, ob::SAMPLE_PATH, Vec::new(), timeout).await
    else {
        return None;
    };
    let v: Value = serde_json::from_slice(&body).ok()?;
    from_wire(v.get("message")?)
}

/// `POST /ping_test/v1`: this node's key.
pub fn on_ping(app: &App) -> (u16, Value) {
    (200, ob::ping_answer(&app.me))
}

/// `POST /swarm/v1/storage_test`: the message's bytes, if this node holds it.
pub async fn on_storage_test(app: &Arc<App>, body: &[u8]) -> (u16, Value) {
    let hash = match ob::read_storage_test(body) {
        Ok(hash) => hash,
        Err(e) => return (400, json!({"error": e.to_string()})),
    };
    match app.with_reader(move |db| db.data_of(&hash)).await {
        Ok(Ok(data)) => (200, ob::storage_test_answer(data.as_deref())),
        Ok(Err(e)) => (500, json!({"error": e.to_string()})),
        Err(e) => (500, json!({"error": e.0})),
    }
}

/// `POST /swarm/v1/sample`: a message this node holds, old enough to have been replicated, for
/// a storage test of a swarm peer.
pub async fn on_sample(app: &Arc<App>) -> (u16, Value) {
    let now = crate::now_ms();
    let min_age = ob::SAMPLE_MIN_AGE_MS;
    let (before, pick) = (now - i64::try_from(min_age).unwrap_or(0), rand_core::OsRng.next_u64());
    match app.with_reader(move |db| db.sample(before, now, pick)).await {
        Ok(Ok(m)) => (200, json!({"message": m.as_ref().map(to_wire)})),
        Ok(Err(e)) => (500, json!({"error": e.to_string()})),
        Err(e) => (500, json!({"error": e.0})),
    }
}
