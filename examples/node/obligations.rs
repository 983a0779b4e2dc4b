//! Nodes testing each other, as `sesh_node::obligations` rules it: at each height the node takes
//! its own ledger (followed from the chain) and adds the uptime proofs it holds itself
//! (`sesh_node::proofs`), sends its uptime proof to every node it knows when due, sends the
//! votes its quorum cop decides to every node it knows, tallies the votes sent to it and posts
//! the decisions its tally reaches to the chain (`Submissions`' rule), and runs the tests it
//! plans (pings, storage tests) within its budget, in the background; and it answers other
//! nodes' tests, proofs (accepted ones relayed once) and votes.
//!
//! **Learning the network.** Addresses come only from uptime proofs, and a proof
//! is taken only while fresh (oxend's tolerance), so a node cannot be told of the others by
//! anyone: it must hear from them. A node sends its proofs to its `--peer`s as well as to every
//! node it knows, and a node introduces itself (a fresh proof of its own, out of its schedule)
//! to a node that sent it a proof directly, and to a node it hears of for the first time
//! through a relay; at most once per node every [`introduce_every_ms`]. A node newly started
//! thus learns its peer at once, and every other node as their introductions reach it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand_core::RngCore as _;
use serde_json::{Value, json};
use sesh_identity::NodeId;
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::handover::{from_wire, to_wire};
use sesh_node::obligations::{
    self as ob, Ballot, Cop, LedgerView, Outcome, Sample, Submissions, Test,
};
use sesh_node::proofs::{ProofBook, Received};
use sesh_node::replication::PeerReply;
use sesh_quorum::proof::ProofRules;
use sesh_rpc::store::Message;
use sesh_staking::tx::SignedTx;

use crate::lock;
use crate::node::app::App;
use crate::node::metrics::Metrics;
use crate::node::peer;

/// Proof relays running at once (more wait their turn).
const RELAYS_AT_ONCE: usize = 16;

/// A node's quorum cop and the tests it has in flight, its proof book, its tally of votes and
/// the decisions it has to submit.
#[derive(Debug)]
pub struct Obligations {
    cop: Mutex<Cop>,
    in_flight: Mutex<BTreeSet<NodeId>>,
    /// The last ledger view the node followed (no proofs).
    ledger: Mutex<Option<LedgerView>>,
    proofs: Mutex<ProofBook>,
    ballot: Mutex<Ballot>,
    submissions: Mutex<Submissions>,
    relays: Arc<tokio::sync::Semaphore>,
    params: sesh_staking::Params,
    /// The base URLs this node introduced itself to, and when (Unix ms).
    introduced: Mutex<BTreeMap<String, u64>>,
}

impl Obligations {
    /// The cop of node `me`, started now, on a network with the ledger rules `params` and
    /// blocks of `block_ms`.
    pub fn new(me: NodeId, params: sesh_staking::Params, block_ms: u64) -> Self {
        let cop = Cop::new(me, params.clone(), crate::now_ms());
        let rules = ProofRules::local(block_ms);
        Self {
            cop: Mutex::new(cop),
            in_flight: Mutex::new(BTreeSet::new()),
            ledger: Mutex::new(None),
            proofs: Mutex::new(ProofBook::new(me, rules)),
            ballot: Mutex::new(Ballot::new()),
            submissions: Mutex::new(Submissions::new(me, &params)),
            relays: Arc::new(tokio::sync::Semaphore::new(RELAYS_AT_ONCE)),
            params,
            introduced: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether the last ledger view this node took lists `node`.
    pub fn in_view(&self, node: &NodeId) -> bool {
        lock(&self.ledger).as_ref().is_some_and(|v| v.node(node).is_some())
    }

    /// Where `node` is reached, from the uptime proof this node holds of it.
    pub fn record(&self, node: &NodeId, tls: bool) -> Option<NodeRecord> {
        lock(&self.proofs).record(node, tls)
    }
}

/// The node's round at a new block of `state`.
pub async fn on_block(app: Arc<App>, state: Arc<NetworkState>) {
    let Some(ledger) = lock(&app.chain.followed).view.clone() else { return };
    let params = app.obligations.params.clone();
    let view = {
        let mut last = lock(&app.obligations.ledger);
        if last.as_ref().is_some_and(|l| l.height >= ledger.height) {
            // A round for this block (or a later one) ran already.
            return;
        }
        let mut book = lock(&app.obligations.proofs);
        book.set_rules(ProofRules::local(ledger.block_ms));
        book.retain_listed(&ledger);
        let quorum = ledger.obligations_quorum();
        lock(&app.obligations.ballot).close_block(ledger.height, quorum, &params);
        *last = Some(ledger.clone());
        ledger.with_proofs(&book, app.info.tls)
    };
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
        send_proof(&app, &state, view.height).await;
    }
    if !casts.is_empty() {
        for c in &casts {
            Metrics::outcome(&app.metrics.votes, c.vote.state.name(), 1);
        }
        let votes: Vec<_> = casts.iter().map(|c| c.vote).collect();
        // This node's own tally counts its own votes as any other's.
        tally(&app, app.me, &votes);
        send_votes(&app, &state, &votes).await;
    }
    submit_due(&app).await;
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

/// Every node this node knows (its proofs, the network state).
fn peers(app: &App, state: &NetworkState) -> Vec<NodeRecord> {
    lock(&app.obligations.proofs).peers(state, app.info.tls)
}

/// Sends this node's proof to every node it knows; keeps it in its own book once one of them
/// took it (or when it knows nobody), so that it is sent again next block if none did.
async fn send_proof(app: &Arc<App>, state: &NetworkState, height: u64) {
    let now = u64::try_from(crate::now_ms()).unwrap_or(0);
    let proof = ob::UptimeSubmission::new(&app.identity, app.info.ip, app.info.port, height, now);
    let targets = peers(app, state);
    let mut urls: Vec<String> = targets.iter().map(|n| n.url("")).collect();
    for peer in &app.settings.peer {
        let base = peer.trim_end_matches('/');
        if base != app.info.url("") && !urls.iter().any(|u| u == base) {
            urls.push(base.to_owned());
        }
    }
    let body = proof.to_body();
    let mut tasks = tokio::task::JoinSet::new();
    for base in &urls {
        let (app, body, url) = (app.clone(), body.clone(), format!("{base}{}", ob::UPTIME_PATH));
        tasks.spawn(async move {
            let timeout = Duration::from_secs(5);
            peer::post(&app, &url, ob::UPTIME_PATH, body, timeout).await
        });
    }
    let mut taken = 0usize;
    while let Some(done) = tasks.join_next().await {
        if let Ok(PeerReply::Answered { status: 200, .. }) = done {
            taken += 1;
        }
    }
    if taken == 0 && !urls.is_empty() {
        return tracing::debug!(height, "uptime proof taken by no node; again next block");
    }
    let Some(ledger) = lock(&app.obligations.ledger).clone() else { return };
    if let Err(e) = lock(&app.obligations.proofs).receive(&proof.proof, &ledger, now) {
        tracing::debug!(error = %e, "own uptime proof refused");
    }
    tracing::debug!(height, taken, of = urls.len(), "uptime proof sent");
}

/// `POST /network/v1/uptime` from `from`: a proof taken by this node's book; a new one is
/// relayed (in the background) to every node this node knows but `from` and the proof's node.
/// `200 {"received": "new"|"known", "relayed_to"}`, `400 {"refused", "error"}`, `503` before
/// this node has a ledger view.
pub fn on_uptime(app: &Arc<App>, from: NodeId, body: &[u8]) -> (u16, Value) {
    let refused =
        |e: &sesh_node::Error| (400, json!({"refused": e.refusal(), "error": e.to_string()}));
    let submission = match ob::UptimeSubmission::from_body(body) {
        Ok(s) => s,
        Err(e) => return refused(&e),
    };
    let Some(ledger) = lock(&app.obligations.ledger).clone() else {
        return (503, json!({"error": "no ledger view yet"}));
    };
    let now = u64::try_from(crate::now_ms()).unwrap_or(0);
    let node = submission.proof.proof().pubkey_ed25519;
    let (received, first) = {
        let mut book = lock(&app.obligations.proofs);
        let first = book.get(&node).is_none();
        (book.receive(&submission.proof, &ledger, now), first)
    };
    if node != app.me && ledger.node(&node).is_some() {
        // Direct from its node, or heard of for the first time: introduce this node to it.
        if from == node || (first && received.is_ok()) {
            let p = submission.proof.proof();
            let base = NodeRecord {
                id: node,
                x25519: p.pubkey_ed25519.to_x25519().unwrap_or(app.info.x25519),
                ip: p.public_ip,
                port: p.storage_https_port,
                tls: app.info.tls,
            }
            .url("");
            introduce(app, vec![base], ledger.height);
        }
    }
    match received {
        Ok(Received::Known) => (200, json!({"received": "known", "relayed_to": 0})),
        Ok(Received::New) => {
            let node = submission.proof.proof().pubkey_ed25519;
            let targets = {
                let book = lock(&app.obligations.proofs);
                book.relay_targets(&node, &from, &book.peers(&app.state(), app.info.tls))
            };
            let count = targets.len();
            relay(app, targets, submission.to_body());
            (200, json!({"received": "new", "relayed_to": count}))
        }
        Err(e) => refused(&e),
    }
}

/// How long a node waits before introducing itself to the same node again: five heights, at
/// least 2 s.
pub fn introduce_every_ms(height_ms: u64) -> u64 {
    height_ms.saturating_mul(5).max(2_000)
}

/// Sends a fresh uptime proof of this node to each of `bases` (base URLs) it has
/// not introduced itself to within [`introduce_every_ms`], in the background. The proof is not
/// kept in this node's own book (its schedule stays as it is).
fn introduce(app: &Arc<App>, bases: Vec<String>, height: u64) {
    let now = u64::try_from(crate::now_ms()).unwrap_or(0);
    let every = introduce_every_ms(app.chain.settings.height_ms);
    let due: Vec<String> = {
        let mut introduced = lock(&app.obligations.introduced);
        introduced.retain(|_, at| now.saturating_sub(*at) < every);
        bases.into_iter().filter(|b| introduced.insert(b.clone(), now).is_none()).collect()
    };
    if due.is_empty() {
        return;
    }
    let proof = ob::UptimeSubmission::new(&app.identity, app.info.ip, app.info.port, height, now);
    let body = proof.to_body();
    for base in due {
        let (app, body) = (app.clone(), body.clone());
        tokio::spawn(async move {
            let url = format!("{base}{}", ob::UPTIME_PATH);
            let reply = peer::post(&app, &url, ob::UPTIME_PATH, body, Duration::from_secs(5)).await;
            tracing::debug!(to = %base, reply = ?reply, "introduced this node (a fresh uptime proof)");
        });
    }
}

/// Relays a proof to `targets`, at most [`RELAYS_AT_ONCE`] requests at once (node-wide).
fn relay(app: &Arc<App>, targets: Vec<NodeRecord>, body: Vec<u8>) {
    for node in targets {
        let (app, body, permits) = (app.clone(), body.clone(), app.obligations.relays.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else { return };
            // Signed: a proof is relayed also between nodes that may not know each other yet.
            let url = node.url(ob::UPTIME_PATH);
            let reply = peer::post(&app, &url, ob::UPTIME_PATH, body, Duration::from_secs(5)).await;
            tracing::trace!(to = %node.id, reply = ?reply, "uptime proof relayed");
        });
    }
}

/// `GET /network/v1/uptime`: the proofs this node holds, its ledger height, and how many nodes
/// it knows (sends its proofs and votes to).
pub fn proofs_json(app: &App) -> Value {
    let book = lock(&app.obligations.proofs);
    let proofs: Vec<Value> = book
        .iter()
        .map(|(id, h)| {
            let p = h.proof.proof();
            json!({
                "node": id.to_string(),
                "timestamp": p.timestamp,
                "ip": p.public_ip.to_string(),
                "port": p.storage_https_port,
                "accepted_ms": h.accepted_ms,
                "accepted_height": h.accepted_height,
            })
        })
        .collect();
    let peers = book.peers(&app.state(), app.info.tls).len();
    drop(book);
    let height = lock(&app.obligations.ledger).as_ref().map(|l| l.height);
    json!({"height": height, "peers": peers, "proofs": proofs})
}

/// Counts votes sent by `from` in this node's tally; takes the decisions it reaches. The answer
/// of `POST /network/v1/votes`: each vote counted or refused, in order.
fn tally(app: &App, from: NodeId, votes: &[sesh_quorum::Vote]) -> Value {
    let params = app.obligations.params.clone();
    let height = lock(&app.obligations.ledger).as_ref().map_or(0, |l| l.height);
    let mut ballot = lock(&app.obligations.ballot);
    let results: Vec<Value> = votes
        .iter()
        .map(|v| match ballot.vote(&from, v, height, &params) {
            Ok(status) => json!({"ok": true, "status": format!("{status:?}")}),
            Err(sesh_node::Error::VoteRefused { kind, why }) => {
                json!({"ok": false, "refused": kind.name(), "error": why})
            }
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        })
        .collect();
    let decided = ballot.take_decided();
    drop(ballot);
    let mut submissions = lock(&app.obligations.submissions);
    for d in &decided {
        tracing::info!(height = d.height, worker = %d.worker, state = d.state.name(), votes = d.votes.len(), "a state change decided");
        submissions.decided(d, height);
    }
    json!({"results": results})
}

/// `POST /network/v1/votes` from `from`: the votes counted in this node's tally, and the
/// decisions due submitted (in the background).
pub fn on_votes(app: &Arc<App>, from: NodeId, votes: &[sesh_quorum::Vote]) -> Value {
    let answer = tally(app, from, votes);
    let app = app.clone();
    tokio::spawn(async move { submit_due(&app).await });
    answer
}

/// `GET /network/v1/votes`: this node's ledger height (`tally_height`), its open tallies and
/// the decisions it still has to submit, with `changes` (its followed height as `height`, and
/// the state changes its chain applied).
pub fn ballot_json(app: &App, changes: Option<Value>) -> Value {
    let pending = lock(&app.obligations.ballot).pending();
    let waiting = lock(&app.obligations.submissions).len();
    let height = lock(&app.obligations.ledger).as_ref().map(|l| l.height);
    let mut v = json!({
        "height": height,
        "tally_height": height,
        "pending": ob::pending_json(&pending),
        "submitting": waiting,
    });
    if let (Some(Value::Object(changes)), Some(o)) = (changes, v.as_object_mut()) {
        o.extend(changes);
    }
    v
}

/// Sends votes to every node this node knows (local networks are small: all of them, not only
/// the quorum's validators).
async fn send_votes(app: &Arc<App>, state: &NetworkState, votes: &[sesh_quorum::Vote]) {
    let targets = peers(app, state);
    tracing::info!(votes = votes.len(), nodes = targets.len(), "sending state-change votes");
    let body = ob::votes_body(votes);
    let mut tasks = tokio::task::JoinSet::new();
    for node in targets {
        let (app, body) = (app.clone(), body.clone());
        tasks.spawn(async move {
            let url = node.url(ob::VOTES_PATH);
            let timeout = Duration::from_secs(10);
            (node.id, peer::post_to(&app, &node.id, &url, ob::VOTES_PATH, body, timeout).await)
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((_, PeerReply::Answered { status: 200, .. })) => {}
            Ok((node, reply)) => tracing::debug!(%node, reply = ?reply, "votes not delivered"),
            Err(_) => {}
        }
    }
}

/// Submits the decisions due (`Submissions`' rule) to the ledger.
async fn submit_due(app: &Arc<App>) {
    let Some(ledger) = lock(&app.obligations.ledger).clone() else { return };
    let due = lock(&app.obligations.submissions).due(&ledger);
    for (key, tx) in due {
        match submit(app, &tx).await {
            Some(answer) => {
                tracing::info!(height = key.0, worker_index = key.1, state = key.2.name(), answer = %answer, "a decision submitted to the ledger");
                lock(&app.obligations.submissions).done(&key);
            }
            None => tracing::debug!(height = key.0, "the ledger could not be reached; again later"),
        }
    }
}

/// THE call that puts a quorum's decision on the ledger: a `submitNetworkTransaction` to the
/// staking contract, which every follower applies at the height its log lands in. `Some` once
/// mined (or when this node has no `--evm-key`), `None` if it could not be posted (retried by
/// `Submissions`' rule).
async fn submit(app: &Arc<App>, tx: &SignedTx) -> Option<Value> {
    crate::node::chain::post_decision(&app.chain, tx).await
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
            match peer::post_to(app, &test.node.id, &url, ob::STORAGE_TEST_PATH, body, timeout)
                .await
            {
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
    match peer::post_to(app, &node.id, &node.url(ob::PING_PATH), ob::PING_PATH, Vec::new(), timeout)
        .await
    {
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
        peer::post_to(app, &member.id, &url, ob::SAMPLE_PATH, Vec::new(), timeout).await
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
