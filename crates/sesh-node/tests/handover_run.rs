//! Whole handovers, without processes or sockets: a network of nodes, each with an in-memory
//! store of `(row id, message)` rows, after a swarm change. Every node's [`Handover`] is driven to
//! [`Step::Done`]; its pushes are answered by the receiving node's side (`read_push`,
//! `push_answer`, over the receiver's store) and its fetches by the peer's (`FetchRequest::parse`,
//! `authorize`, `answer`, over the peer's rows).
//!
//! What the runs show: every unexpired message ends on exactly the members of the swarm that owns
//! its account (moved nodes, new swarms, split, dissolved and renumbered swarms, nodes that left);
//! databases larger than a page are read and fetched page by page; `left_over` says exactly when
//! a step failed, a peer did not answer, or a pushed message was taken by no member (an expired
//! message of another swarm's account never is), and a second run finishes the job; a member's
//! push answer can only delete what was pushed to it; an expired message is neither fetched nor
//! taken; and whatever the outcomes, a run starts with a scan and ends in `Done` within a bound.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Value, json};
use sesh_identity::{Identity, NodeId, Seed};
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::handover::{
    self, FetchRequest, Handover, Outcome, PAGE, Step, push_answer, read_push, swarm_changed,
};
use sesh_rpc::client::Account;
use sesh_rpc::store::Message;
use sesh_rpc::{Namespace, Request};
use sesh_swarm::{SwarmId, SwarmMap};

const NOW: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;

/// How many node identities there are.
const NODES: usize = 16;

/// Swarm ids of the fixed layouts: A, B, C (nodes `i % 3` of the first nine), and D, a new swarm
/// between A and B that takes part of A's accounts.
const A: u64 = 0x1000_0000_0000_0000;
const B: u64 = 0x8000_0000_0000_0000;
const C: u64 = 0xc000_0000_0000_0000;
const D: u64 = 0x2000_0000_0000_0000;

/// Deterministic proptest runs.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, rng_seed: RngSeed::Fixed(0x5e54), ..ProptestConfig::default() }
}

// ---- nodes and layouts ----

fn records() -> &'static [NodeRecord] {
    static RECORDS: OnceLock<Vec<NodeRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        (0..NODES)
            .map(|i| {
                let identity = Identity::from_seed(&Seed::from_bytes([i as u8 + 1; 32]));
                NodeRecord {
                    id: NodeId::from_identity(&identity),
                    x25519: *identity.x25519_public_key(),
                    ip: Ipv4Addr::new(10, 0, 0, i as u8 + 1),
                    port: 22_000 + i as u16,
                    tls: true,
                }
            })
            .collect()
    })
}

fn id(i: usize) -> NodeId {
    records()[i].id
}

fn index_of(node: &NodeId) -> usize {
    records().iter().position(|r| r.id == *node).unwrap()
}

fn sid(id: u64) -> SwarmId {
    SwarmId::new(id).unwrap()
}

/// Which nodes the network lists, and which swarm each assigned one is in.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Layout {
    listed: BTreeSet<usize>,
    swarms: BTreeMap<usize, u64>,
}

impl Layout {
    /// Nodes `0..n` listed, node `i` in swarm `swarm(i)`.
    fn by(n: usize, swarm: impl Fn(usize) -> Option<u64>) -> Self {
        Self {
            listed: (0..n).collect(),
            swarms: (0..n).filter_map(|i| swarm(i).map(|s| (i, s))).collect(),
        }
    }

    fn state(&self) -> NetworkState {
        let map =
            SwarmMap::from_assignments(self.swarms.iter().map(|(i, s)| (id(*i), sid(*s)))).unwrap();
        NetworkState::new(7, [21, 0], [7; 32], self.listed.iter().map(|i| records()[*i]), map)
            .unwrap()
    }

    fn ids(&self) -> Vec<u64> {
        self.swarms.values().copied().collect::<BTreeSet<_>>().into_iter().collect()
    }

    fn members(&self, swarm: u64) -> Vec<usize> {
        self.swarms.iter().filter(|(_, s)| **s == swarm).map(|(i, _)| *i).collect()
    }
}

/// Nine nodes in A, B and C (node `i` in `[A, B, C][i % 3]`), and `n - 9` listed without a swarm.
fn three_swarms(n: usize) -> Layout {
    Layout::by(n, |i| (i < 9).then(|| [A, B, C][i % 3]))
}

/// [`three_swarms`], with node 0 moved from A to B.
fn node0_moved_to_b(n: usize) -> Layout {
    Layout::by(n, |i| match i {
        0 => Some(B),
        i if i < 9 => Some([A, B, C][i % 3]),
        _ => None,
    })
}

/// [`three_swarms`] of twelve, with nodes 9, 10 and 11 forming the new swarm D, which takes part
/// of A's accounts; A keeps its members, so `swarm_changed` does not fire for them.
fn new_swarm_d() -> Layout {
    Layout::by(12, |i| Some(if i < 9 { [A, B, C][i % 3] } else { D }))
}

// ---- messages ----

/// A store of a random account's, signed (at 14 days before `NOW`) where its namespace needs
/// it, stored 14 days before it expires.
fn random_message(rng: &mut ChaCha20Rng, expiry: i64) -> Message {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let owner = Identity::from_seed(&Seed::from_bytes(seed));
    let namespace = Namespace([0, 1, 2, -10, 17][below(rng, 5)]);
    let mut data = vec![0u8; 1 + below(rng, 40)];
    rng.fill_bytes(&mut data);
    let params = Account::session(&owner).store(namespace, &data, NOW - 14 * DAY, 14 * DAY);
    let Ok(Request::Store(store)) = sesh_rpc::request::parse("store", &params) else {
        panic!("a client's store parses");
    };
    let stored = Message::from_store(store);
    Message { timestamp: expiry.saturating_sub(14 * DAY), expiry, ..stored }
}

/// A message of an account `state` places in `swarm`.
fn message_in(rng: &mut ChaCha20Rng, state: &NetworkState, swarm: u64, expiry: i64) -> Message {
    loop {
        let m = random_message(rng, expiry);
        if state.swarm_for(&m.pubkey.to_bytes()) == Some(sid(swarm)) {
            return m;
        }
    }
}

fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

fn shuffle<T>(rng: &mut ChaCha20Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

fn hashes_of(messages: &[Message]) -> BTreeSet<String> {
    messages.iter().map(|m| m.hash.clone()).collect()
}

/// The messages of a push body.
fn pushed(body: &[u8]) -> Vec<Message> {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["messages"].as_array().unwrap().iter().map(|m| handover::from_wire(m).unwrap()).collect()
}

// ---- the in-memory store ----

/// A node's database: rows in increasing id order, hashes unique, as the SQLite store keeps them.
#[derive(Clone, Debug, Default)]
struct Store {
    rows: BTreeMap<i64, Message>,
    by_hash: BTreeMap<String, i64>,
    last: i64,
}

impl Store {
    /// Adds a message `gap` rows after the last (an existing hash only extends its expiry).
    fn add(&mut self, m: Message, gap: i64) -> bool {
        if let Some(row) = self.by_hash.get(&m.hash) {
            let held = self.rows.get_mut(row).unwrap();
            held.expiry = held.expiry.max(m.expiry);
            return false;
        }
        self.last += gap;
        self.by_hash.insert(m.hash.clone(), self.last);
        self.rows.insert(self.last, m);
        true
    }

    fn with(messages: impl IntoIterator<Item = Message>, first: i64, gap: i64) -> Self {
        let mut store = Self { last: first - gap, ..Self::default() };
        for m in messages {
            store.add(m, gap);
        }
        store
    }

    /// `SELECT ... WHERE id > after ORDER BY id LIMIT limit`.
    fn scan(&self, after: i64, limit: usize) -> Vec<(i64, Message)> {
        self.rows
            .range((Bound::Excluded(after), Bound::Unbounded))
            .take(limit)
            .map(|(row, m)| (*row, m.clone()))
            .collect()
    }

    fn delete(&mut self, hashes: &[String]) -> usize {
        let mut n = 0;
        for h in hashes {
            if let Some(row) = self.by_hash.remove(h) {
                self.rows.remove(&row);
                n += 1;
            }
        }
        n
    }

    fn import(&mut self, messages: Vec<Message>) -> usize {
        messages.into_iter().map(|m| usize::from(self.add(m, 1))).sum()
    }

    fn get(&self, hash: &str) -> Option<&Message> {
        self.by_hash.get(hash).and_then(|row| self.rows.get(row))
    }

    fn hashes(&self) -> BTreeSet<String> {
        self.by_hash.keys().cloned().collect()
    }
}

// ---- the network and a node's run ----

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Scan,
    Push,
    Delete,
    Fetch,
    Import,
    Done,
}

fn kind(step: &Step) -> Kind {
    match step {
        Step::Scan { .. } => Kind::Scan,
        Step::Push { .. } => Kind::Push,
        Step::Delete { .. } => Kind::Delete,
        Step::Fetch { .. } => Kind::Fetch,
        Step::Import { .. } => Kind::Import,
        Step::Done { .. } => Kind::Done,
    }
}

/// A push answer that is not the truth.
#[derive(Clone, Debug)]
enum Lie {
    /// Takes nothing, says it took these.
    Claim(Vec<String>),
    /// A 200 whose body is not the answer's form.
    Garbage,
}

/// What goes wrong during a run.
#[derive(Clone, Debug, Default)]
struct Faults {
    /// Nodes that answer no push and no fetch.
    down: BTreeSet<usize>,
    /// `(kind, n)`: the running node's `n`-th step (from 0) of this kind gets `Outcome::Failed`
    /// (for a scan, delete or import: the database failed) and is not done.
    fail: BTreeSet<(Kind, usize)>,
    /// Members that answer pushes with a lie.
    lies: BTreeMap<usize, Lie>,
}

impl Faults {
    fn down(nodes: impl IntoIterator<Item = usize>) -> Self {
        Self { down: nodes.into_iter().collect(), ..Self::default() }
    }

    fn fail(kind: Kind, nth: usize) -> Self {
        Self { fail: [(kind, nth)].into(), ..Self::default() }
    }
}

/// A node's run: each step with the outcome handed back for it (none for `Done`).
#[derive(Debug)]
struct Run {
    who: usize,
    trace: Vec<(Step, Option<Outcome>)>,
    left_over: bool,
    /// Fetches a peer refused (403).
    refused: usize,
}

impl Run {
    /// The steps as letters: `S`can, `P`ush, `D`elete, `F`etch, `I`mport, `.` done.
    fn kinds(&self) -> String {
        self.trace
            .iter()
            .map(|(s, _)| match kind(s) {
                Kind::Scan => 'S',
                Kind::Push => 'P',
                Kind::Delete => 'D',
                Kind::Fetch => 'F',
                Kind::Import => 'I',
                Kind::Done => '.',
            })
            .collect()
    }

    fn steps(&self, k: Kind) -> impl Iterator<Item = &Step> + '_ {
        self.trace.iter().map(|(s, _)| s).filter(move |s| kind(s) == k)
    }

    /// The `(peer, after)` of each fetch.
    fn fetches(&self) -> Vec<(usize, i64)> {
        self.steps(Kind::Fetch)
            .map(|s| match s {
                Step::Fetch { from, body } => {
                    (index_of(&from.id), FetchRequest::parse(body).unwrap().after)
                }
                _ => unreachable!(),
            })
            .collect()
    }

    fn scans(&self) -> Vec<i64> {
        self.steps(Kind::Scan)
            .map(|s| match s {
                Step::Scan { after, .. } => *after,
                _ => unreachable!(),
            })
            .collect()
    }

    fn imported(&self) -> Vec<Vec<Message>> {
        self.steps(Kind::Import)
            .map(|s| match s {
                Step::Import { accepted } => accepted.keep.clone(),
                _ => unreachable!(),
            })
            .collect()
    }
}

/// The network after the change: every node sees `state`; node `i` has `stores[i]`.
#[derive(Clone, Debug)]
struct Net {
    state: Arc<NetworkState>,
    stores: Vec<Store>,
    now: i64,
}

impl Net {
    fn new(layout: &Layout, stores: Vec<Store>) -> Self {
        Self { state: Arc::new(layout.state()), stores, now: NOW }
    }

    /// The most steps `who`'s run can take with these databases: a scan per page (and one for a
    /// last full page), a push and a delete per swarm per page, a fetch and an import per page of
    /// each peer (and one for a last full page), and `Done`.
    fn bound(&self, who: usize) -> usize {
        let scans = self.stores[who].rows.len() / PAGE + 1;
        let swarms = self.state.map().iter().len();
        let mine = self.state.swarm_of(&id(who));
        let fetches: usize = mine
            .map(|s| self.state.members(s))
            .unwrap_or_default()
            .iter()
            .map(|r| index_of(&r.id))
            .filter(|i| *i != who)
            .map(|i| self.stores.get(i).map_or(0, |s| s.rows.len()) / PAGE + 1)
            .sum();
        scans + 2 * scans * swarms + 2 * fetches + 1
    }

    /// Whether `who` holds an expired message of another swarm's account: a push nobody takes.
    fn expired_foreign(&self, who: usize) -> bool {
        let mine = self.state.swarm_of(&id(who));
        self.stores[who].rows.values().any(|m| {
            m.expiry <= self.now
                && matches!(self.state.swarm_for(&m.pubkey.to_bytes()), Some(o) if Some(o) != mine)
        })
    }

    /// Drives `who`'s handover to `Done`, doing each step against the stores.
    fn run(&mut self, who: usize, faults: &Faults) -> Run {
        let me = id(who);
        let bound = self.bound(who);
        let mut h = Handover::new(Arc::clone(&self.state), me, self.now);
        let mut trace: Vec<(Step, Option<Outcome>)> = Vec::new();
        let mut seen: BTreeMap<Kind, usize> = BTreeMap::new();
        let mut refused = 0;
        let mut outcome = None;
        loop {
            let step = h.step(outcome.take());
            assert!(trace.len() < bound, "node {who}: no Done within {bound} steps");
            let k = kind(&step);
            let nth = {
                let n = seen.entry(k).or_default();
                *n += 1;
                *n - 1
            };
            let result = if faults.fail.contains(&(k, nth)) {
                Outcome::Failed
            } else {
                match &step {
                    Step::Scan { after, limit } => {
                        Outcome::Rows(self.stores[who].scan(*after, *limit))
                    }
                    Step::Push { to, body, .. } => Outcome::Pushed(
                        to.iter().map(|r| self.on_push(index_of(&r.id), body, faults)).collect(),
                    ),
                    Step::Delete { hashes } => {
                        self.stores[who].delete(hashes);
                        Outcome::Done
                    }
                    Step::Fetch { from, body } => {
                        let (answer, was_refused) =
                            self.on_fetch(&me, index_of(&from.id), body, faults);
                        refused += usize::from(was_refused);
                        Outcome::Fetched(answer)
                    }
                    Step::Import { accepted } => {
                        self.stores[who].import(accepted.keep.clone());
                        Outcome::Done
                    }
                    Step::Done { left_over } => {
                        let left_over = *left_over;
                        // Done is final: whatever comes next, the same answer.
                        for late in [None, Some(Outcome::Failed), Some(Outcome::Rows(Vec::new()))] {
                            assert_eq!(h.step(late), step);
                        }
                        trace.push((step, None));
                        return Run { who, trace, left_over, refused };
                    }
                }
            };
            trace.push((step, Some(result.clone())));
            outcome = Some(result);
        }
    }

    /// `POST /swarm/v1/push` on node `to`: the body of a 200, or none.
    fn on_push(&mut self, to: usize, body: &[u8], faults: &Faults) -> Option<Vec<u8>> {
        if faults.down.contains(&to) {
            return None;
        }
        match faults.lies.get(&to) {
            Some(Lie::Claim(hashes)) => {
                return Some(json!({"accepted": hashes, "new": 0}).to_string().into_bytes());
            }
            Some(Lie::Garbage) => return Some(b"<html>thanks</html>".to_vec()),
            None => {}
        }
        let accepted = read_push(&self.state, &id(to), self.now, body).ok()?;
        let kept = accepted.keep.clone();
        let new = self.stores[to].import(accepted.keep);
        Some(push_answer(&kept, new).to_string().into_bytes())
    }

    /// `POST /swarm/v1/fetch` from `from` on node `peer`: the body of a 200 or none, and whether
    /// it was refused as from a non-member.
    fn on_fetch(
        &self,
        from: &NodeId,
        peer: usize,
        body: &[u8],
        faults: &Faults,
    ) -> (Option<Vec<u8>>, bool) {
        if faults.down.contains(&peer) {
            return (None, false);
        }
        let Ok(ask) = FetchRequest::parse(body) else { return (None, false) };
        if ask.authorize(&self.state, from).is_err() {
            return (None, true);
        }
        let rows = self.stores[peer].scan(ask.after, ask.limit);
        (Some(ask.answer(&self.state, &rows).to_string().into_bytes()), false)
    }

    /// `who`'s swarm peers, in the order the handover asks them (the swarm's key order).
    fn peers(&self, who: usize) -> Vec<usize> {
        let me = id(who);
        self.state
            .swarm_of(&me)
            .map(|s| self.state.members(s))
            .unwrap_or_default()
            .iter()
            .map(|r| index_of(&r.id))
            .filter(|i| *i != who)
            .collect()
    }

    /// The nodes holding `hash`.
    fn holders(&self, hash: &str) -> BTreeSet<usize> {
        (0..self.stores.len()).filter(|i| self.stores[*i].get(hash).is_some()).collect()
    }

    /// The members of the swarm that owns `m`'s account.
    fn owners(&self, m: &Message) -> BTreeSet<usize> {
        let owner = self.state.swarm_for(&m.pubkey.to_bytes()).unwrap();
        self.state.members(owner).iter().map(|r| index_of(&r.id)).collect()
    }
}

/// Whether a run must report work left, from its steps and outcomes alone: an outcome not of
/// its step's kind or `Failed`, a peer that did not answer a fetch or answered it with something
/// not JSON, or a push whose messages were not all taken by some member (only the pushed hashes
/// count).
fn model_left_over(trace: &[(Step, Option<Outcome>)]) -> bool {
    trace.iter().any(|(step, outcome)| match (step, outcome) {
        (Step::Scan { .. }, Some(Outcome::Rows(_)))
        | (Step::Delete { .. } | Step::Import { .. }, Some(Outcome::Done))
        | (Step::Done { .. }, None) => false,
        (Step::Push { body, count, .. }, Some(Outcome::Pushed(answers))) => {
            let sent = hashes_of(&pushed(body));
            let taken: BTreeSet<String> = answers
                .iter()
                .flatten()
                .flat_map(|a| handover::accepted(a))
                .filter(|h| sent.contains(h))
                .collect();
            taken.len() < *count
        }
        (Step::Fetch { .. }, Some(Outcome::Fetched(Some(body)))) => {
            serde_json::from_slice::<Value>(body).is_err()
        }
        _ => true,
    })
}

/// What every run keeps to, whatever went wrong: it starts with a scan from row 0; a later scan
/// asks after the last row of a full page; pushes go to all members of the one swarm that owns
/// every message in them, never this node's; a delete follows its push and names only pushed
/// messages; fetches come after all pushing, go to this node's swarm peers one after the other
/// (each from row 0, then after the row it named), and ask for this node's swarm; an import follows
/// its fetch and holds only unexpired messages of this node's swarm; `Done` comes last, once, and
/// says what the model says.
fn check_run(net: &Net, run: &Run) {
    let who = run.who;
    let state = &net.state;
    let mine = state.swarm_of(&id(who));
    let peers = net.peers(who);
    let ctx = || format!("node {who}: {}", run.kinds());
    assert_eq!(run.trace[0].0, Step::Scan { after: 0, limit: PAGE }, "{}", ctx());
    let mut next_scan: Option<i64> = None;
    let mut fetching = false;
    let mut sent: BTreeSet<String> = BTreeSet::new();
    let mut asked: Vec<usize> = Vec::new();
    let mut next_page: Option<(usize, i64)> = None;
    for (i, (step, outcome)) in run.trace.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &run.trace[p].0);
        match step {
            Step::Scan { after, limit } => {
                assert!(!fetching, "{}", ctx());
                assert_eq!(*limit, PAGE);
                if i > 0 {
                    assert_eq!(Some(*after), next_scan.take(), "{}", ctx());
                }
                if let Some(Outcome::Rows(rows)) = outcome
                    && rows.len() == PAGE
                {
                    next_scan = rows.last().map(|(row, _)| *row);
                }
            }
            Step::Push { to, body, count } => {
                assert!(!fetching, "{}", ctx());
                let messages = pushed(body);
                assert_eq!(messages.len(), *count);
                assert!((1..=PAGE).contains(count));
                let owners: BTreeSet<SwarmId> = messages
                    .iter()
                    .map(|m| state.swarm_for(&m.pubkey.to_bytes()).unwrap())
                    .collect();
                assert_eq!(owners.len(), 1, "{}", ctx());
                let owner = *owners.first().unwrap();
                assert_ne!(Some(owner), mine);
                let want: Vec<NodeRecord> = state.members(owner).into_iter().copied().collect();
                assert_eq!(to, &want);
                sent = hashes_of(&messages);
            }
            Step::Delete { hashes } => {
                assert!(matches!(prev, Some(Step::Push { .. })), "{}", ctx());
                assert!(!hashes.is_empty());
                assert!(hashes.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
                assert!(
                    hashes.iter().all(|h| sent.contains(h)),
                    "{}: deletes what it did not push",
                    ctx()
                );
            }
            Step::Fetch { from, body } => {
                fetching = true;
                let peer = index_of(&from.id);
                assert!(peers.contains(&peer), "{}: asks {peer}, not a peer", ctx());
                let ask = FetchRequest::parse(body).unwrap();
                assert_eq!(Some(ask.swarm), mine);
                assert_eq!(ask.limit, PAGE);
                match next_page.take() {
                    Some((p, after)) => assert_eq!((peer, ask.after), (p, after), "{}", ctx()),
                    None => {
                        assert_eq!(ask.after, 0, "{}", ctx());
                        assert!(!asked.contains(&peer), "{}: {peer} again", ctx());
                        asked.push(peer);
                    }
                }
                if let Some(Outcome::Fetched(Some(answer))) = outcome
                    && let Ok(v) = serde_json::from_slice::<Value>(answer)
                    && let Some(next) = v["next"].as_i64().filter(|n| *n > ask.after)
                {
                    next_page = Some((peer, next));
                }
            }
            Step::Import { accepted } => {
                assert!(matches!(prev, Some(Step::Fetch { .. })), "{}", ctx());
                for m in &accepted.keep {
                    assert!(m.expiry > net.now);
                    assert_eq!(state.swarm_for(&m.pubkey.to_bytes()), mine);
                }
                if !matches!(outcome, Some(Outcome::Done)) {
                    next_page = None; // the peer's later pages wait for the next run
                }
            }
            Step::Done { left_over } => {
                assert_eq!(i, run.trace.len() - 1);
                assert_eq!(*left_over, run.left_over);
            }
        }
    }
    // Every peer was asked, in the order of the swarm's members.
    assert_eq!(asked, peers, "{}", ctx());
    assert_eq!(run.left_over, model_left_over(&run.trace), "{}", ctx());
    assert_eq!(run.refused, 0, "{}: asked a node that does not count it a member", ctx());
}

/// After the handovers: every unexpired message is held, unchanged, by every member of the swarm
/// that owns its account and by no other node; an expired one by the nodes that held it before;
/// nothing else is held.
fn check_converged(net: &Net, initial: &[(Message, BTreeSet<usize>)]) {
    for (m, before) in initial {
        let holders = net.holders(&m.hash);
        for i in &holders {
            assert_eq!(net.stores[*i].get(&m.hash), Some(m), "node {i}'s copy");
        }
        if m.expiry > net.now {
            assert_eq!(holders, net.owners(m), "{} (held before by {before:?})", m.hash);
        } else {
            assert_eq!(&holders, before, "expired {}", m.hash);
        }
    }
    let known: BTreeSet<String> = initial.iter().map(|(m, _)| m.hash.clone()).collect();
    for store in &net.stores {
        assert!(store.hashes().is_subset(&known));
        assert_eq!(store.rows.len(), store.by_hash.len());
    }
}

// ---- random swarm changes ----

/// A network before and after a swarm change, with each message on the members of its old owner
/// (and now and then on one more node), and an order to run the nodes in.
#[derive(Debug)]
struct Scenario {
    net: Net,
    initial: Vec<(Message, BTreeSet<usize>)>,
    order: Vec<usize>,
    old: Layout,
    new: Layout,
}

fn fresh_id(rng: &mut ChaCha20Rng, layout: &Layout) -> u64 {
    loop {
        let id = rng.next_u64();
        if id != u64::MAX && !layout.swarms.values().any(|s| *s == id) {
            return id;
        }
    }
}

/// One to four changes: a node moves, a new swarm forms, a swarm splits, dissolves or is
/// renumbered, a node leaves the swarms or the network, a node joins.
fn change(rng: &mut ChaCha20Rng, old: &Layout, n: usize) -> Layout {
    let mut new = old.clone();
    for _ in 0..1 + below(rng, 4) {
        let ids = new.ids();
        let node = below(rng, n);
        match below(rng, 8) {
            0 if !ids.is_empty() && new.listed.contains(&node) => {
                new.swarms.insert(node, ids[below(rng, ids.len())]);
            }
            1 => {
                let fresh = fresh_id(rng, &new);
                for _ in 0..1 + below(rng, 3) {
                    let node = below(rng, n);
                    if new.listed.contains(&node) {
                        new.swarms.insert(node, fresh);
                    }
                }
            }
            2 if !ids.is_empty() => {
                let mut members = new.members(ids[below(rng, ids.len())]);
                if members.len() >= 2 {
                    shuffle(rng, &mut members);
                    let fresh = fresh_id(rng, &new);
                    for node in &members[..members.len() / 2] {
                        new.swarms.insert(*node, fresh);
                    }
                }
            }
            3 if ids.len() > 1 => {
                let gone = ids[below(rng, ids.len())];
                let others: Vec<u64> = ids.iter().copied().filter(|s| *s != gone).collect();
                for node in new.members(gone) {
                    if below(rng, 4) == 0 {
                        new.swarms.remove(&node);
                    } else {
                        new.swarms.insert(node, others[below(rng, others.len())]);
                    }
                }
            }
            4 => {
                new.swarms.remove(&node);
            }
            5 => {
                new.swarms.remove(&node);
                new.listed.remove(&node);
            }
            6 if new.listed.contains(&node) && !new.swarms.contains_key(&node) => {
                let swarm = if ids.is_empty() || below(rng, 3) == 0 {
                    fresh_id(rng, &new)
                } else {
                    ids[below(rng, ids.len())]
                };
                new.swarms.insert(node, swarm);
            }
            7 if !ids.is_empty() => {
                let old_id = ids[below(rng, ids.len())];
                let fresh = fresh_id(rng, &new);
                for node in new.members(old_id) {
                    new.swarms.insert(node, fresh);
                }
            }
            _ => {}
        }
    }
    if new.swarms.is_empty() {
        let node = *new.listed.first().unwrap();
        let fresh = fresh_id(rng, &new);
        new.swarms.insert(node, fresh);
    }
    new
}

fn scenario(seed: u64) -> Scenario {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let n = 6 + below(&mut rng, 9);
    let k = 1 + below(&mut rng, 4);
    let ids: Vec<u64> = (0..k).map(|_| rng.next_u64() >> 1).collect();
    let mut old = Layout::by(n, |_| None);
    for i in 0..n {
        if below(&mut rng, 8) != 0 {
            old.swarms.insert(i, ids[below(&mut rng, k)]);
        }
    }
    if old.swarms.is_empty() {
        old.swarms.insert(0, ids[0]);
    }
    let new = change(&mut rng, &old, n);
    let old_state = old.state();

    let mut initial: Vec<(Message, BTreeSet<usize>)> = Vec::new();
    for _ in 0..below(&mut rng, 160) {
        let expiry = if below(&mut rng, 6) == 0 {
            NOW - below(&mut rng, 2000) as i64 // expired (NOW itself is expired)
        } else {
            NOW + 1 + below(&mut rng, 14 * DAY as usize) as i64
        };
        let m = random_message(&mut rng, expiry);
        let owner = old_state.swarm_for(&m.pubkey.to_bytes()).unwrap();
        let mut holders: BTreeSet<usize> =
            old_state.members(owner).iter().map(|r| index_of(&r.id)).collect();
        if below(&mut rng, 8) == 0 {
            holders.insert(below(&mut rng, n));
        }
        initial.push((m, holders));
    }
    // Each node stores its messages in its own order, rows numbered with gaps.
    let mut stores: Vec<Store> = (0..n).map(|_| Store::default()).collect();
    for store in &mut stores {
        store.last = below(&mut rng, 50) as i64;
    }
    let mut arrival: Vec<usize> = (0..initial.len()).collect();
    shuffle(&mut rng, &mut arrival);
    for at in arrival {
        let (m, holders) = &initial[at];
        for i in holders {
            let gap = 1 + below(&mut rng, 3) as i64;
            stores[*i].add(m.clone(), gap);
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut rng, &mut order);
    Scenario { net: Net::new(&new, stores), initial, order, old, new }
}

proptest! {
    #![proptest_config(config(64))]

    /// Every node runs once, in any order, and nothing goes wrong: each unexpired message ends on
    /// exactly its owning swarm's members; a run leaves work only when the node holds an expired
    /// message of another swarm (a push nobody takes).
    #[test]
    fn every_message_ends_on_its_owners(seed: u64) {
        let Scenario { mut net, initial, order, .. } = scenario(seed);
        for who in order {
            let expected = net.expired_foreign(who);
            let run = net.run(who, &Faults::default());
            check_run(&net, &run);
            prop_assert_eq!(run.left_over, expected, "node {}: {}", who, run.kinds());
        }
        check_converged(&net, &initial);
    }

    /// Some nodes do not answer, and now and then a step fails: `left_over` is what the model
    /// says (so true after any failure or unanswered fetch); running again the nodes that left
    /// work and those that were unreachable finishes the job.
    #[test]
    fn a_second_run_finishes_what_failures_left(seed: u64) {
        let Scenario { mut net, initial, order, .. } = scenario(seed);
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0xfa17);
        let n = net.stores.len();
        let down: BTreeSet<usize> = (0..n).filter(|_| below(&mut rng, 4) == 0).collect();
        let mut again = down.clone();
        for &who in &order {
            let mut faults = Faults::down(down.iter().copied());
            if below(&mut rng, 2) == 0 {
                let k = [Kind::Scan, Kind::Push, Kind::Delete, Kind::Fetch, Kind::Import];
                faults.fail.insert((k[below(&mut rng, 5)], below(&mut rng, 2)));
            }
            let run = net.run(who, &faults);
            check_run(&net, &run);
            let failed = run.trace.iter().any(|(_, o)| {
                matches!(o, Some(Outcome::Failed | Outcome::Fetched(None)))
            });
            prop_assert!(!failed || run.left_over, "node {}: {}", who, run.kinds());
            if run.left_over {
                again.insert(who);
            }
        }
        for &who in order.iter().filter(|w| again.contains(w)) {
            let expected = net.expired_foreign(who);
            let run = net.run(who, &Faults::default());
            check_run(&net, &run);
            prop_assert_eq!(run.left_over, expected, "node {} again: {}", who, run.kinds());
        }
        check_converged(&net, &initial);
    }
}

/// The random changes are not vacuous: over the seeds the properties run on, nodes move, swarms
/// appear and disappear, nodes leave the network, and messages have to move (to nodes that did
/// not hold them, away from nodes outside the new owner), some expired, some held by a stray.
#[test]
fn the_random_changes_cover_the_cases() {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for seed in 0..64 {
        let Scenario { net, initial, old, new, .. } = scenario(seed);
        let old_ids: BTreeSet<u64> = old.ids().into_iter().collect();
        let new_ids: BTreeSet<u64> = new.ids().into_iter().collect();
        let mut count = |what, yes: bool| *seen.entry(what).or_default() += usize::from(yes);
        count(
            "moved",
            new.swarms
                .iter()
                .any(|(i, s)| old.swarms.get(i).is_some_and(|o| o != s && old_ids.contains(s))),
        );
        count("new swarm", !new_ids.is_subset(&old_ids));
        count("swarm gone", !old_ids.is_subset(&new_ids));
        count("left the swarms", old.swarms.keys().any(|i| !new.swarms.contains_key(i)));
        count("left the network", new.listed.len() < old.listed.len());
        let live = initial.iter().filter(|(m, _)| m.expiry > NOW);
        let must_move = live.clone().filter(|(m, held)| net.owners(m) != *held).count();
        count("messages to move", must_move > 0);
        count(
            "to nodes that lack them",
            live.clone().any(|(m, held)| !net.owners(m).is_subset(held)),
        );
        count("away from nodes", live.clone().any(|(m, held)| !held.is_subset(&net.owners(m))));
        count("expired", initial.iter().any(|(m, _)| m.expiry <= NOW));
        count("more than one page", net.stores.iter().any(|s| s.rows.len() > PAGE));
    }
    for (what, n) in &seen {
        if *what != "more than one page" {
            assert!(*n >= 4, "{what}: {n} of 64 {seen:?}");
        }
    }
    assert!(seen["messages to move"] >= 32, "{seen:?}");
    // Pages are the fixed tests' business (below): the random databases stay small.
    assert_eq!(seen["more than one page"], 0);
}

// ---- pages ----

/// Stores for [`node0_moved_to_b`]: A's members hold `a` messages of A (node 0's rows
/// numbered 2, 4, 6, ...), B's hold `b` messages of B with `c` of C's in between (by
/// mistake, so the fetch pages are filtered), C's hold nothing.
fn moved_stores(
    rng: &mut ChaCha20Rng,
    old: &NetworkState,
    a: usize,
    b: usize,
    c: usize,
) -> (Vec<Store>, Vec<Message>, Vec<Message>, Vec<Message>) {
    let expiry = NOW + DAY;
    let of_a: Vec<Message> = (0..a).map(|_| message_in(rng, old, A, expiry)).collect();
    let of_b: Vec<Message> = (0..b).map(|_| message_in(rng, old, B, expiry)).collect();
    let of_c: Vec<Message> = (0..c).map(|_| message_in(rng, old, C, expiry)).collect();
    let mut b_rows: Vec<Message> = of_b.clone();
    for (k, m) in of_c.iter().enumerate() {
        b_rows.insert((k * 7 + 3).min(b_rows.len()), m.clone());
    }
    let stores = (0..9)
        .map(|i| match i % 3 {
            0 => Store::with(of_a.clone(), if i == 0 { 2 } else { 1 }, if i == 0 { 2 } else { 1 }),
            1 => Store::with(b_rows.clone(), 10 + i as i64, 1),
            _ => Store::default(),
        })
        .collect();
    (stores, of_a, of_b, of_c)
}

#[test]
fn a_moved_node_hands_over_and_fetches_page_by_page() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let old = three_swarms(9).state();
    let (stores, of_a, of_b, of_c) = moved_stores(&mut rng, &old, 1234, 1100, 150);
    let mut net = Net::new(&node0_moved_to_b(9), stores);
    let before = net.clone();
    let run = net.run(0, &Faults::default());
    check_run(&net, &run);

    // Three pages of its own rows (500, 500, 234), each pushed to A's members and deleted; then
    // three pages (500, 500, 250) from each of B's members 1, 4 and 7.
    assert_eq!(run.kinds(), format!("SPDSPDSPD{}.", "FI".repeat(9)));
    assert!(!run.left_over);
    let rows0 = before.stores[0].scan(0, usize::MAX);
    assert_eq!(run.scans(), vec![0, rows0[PAGE - 1].0, rows0[2 * PAGE - 1].0]);
    assert_eq!(run.scans(), vec![0, 1000, 2000], "row ids, not counts");
    let counts: Vec<usize> = run
        .steps(Kind::Push)
        .map(|s| match s {
            Step::Push { to, count, .. } => {
                let to: Vec<usize> = to.iter().map(|r| index_of(&r.id)).collect();
                assert_eq!(to, vec![3, 6]);
                *count
            }
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(counts, vec![500, 500, 234]);
    let mut want = Vec::new();
    let peers = net.peers(0);
    assert_eq!(peers.iter().copied().collect::<BTreeSet<_>>(), BTreeSet::from([1, 4, 7]));
    for peer in peers {
        let rows = before.stores[peer].scan(0, usize::MAX);
        want.extend([(peer, 0), (peer, rows[PAGE - 1].0), (peer, rows[2 * PAGE - 1].0)]);
    }
    assert_eq!(run.fetches(), want);
    // Each page brings B's messages among its rows, not C's.
    let imported = run.imported();
    let sizes: Vec<usize> = imported.iter().map(Vec::len).collect();
    let b_hashes = hashes_of(&of_b);
    for (page, (peer, after)) in imported.iter().zip(&want) {
        let rows = before.stores[*peer].scan(*after, PAGE);
        let expected: Vec<Message> =
            rows.into_iter().map(|(_, m)| m).filter(|m| b_hashes.contains(&m.hash)).collect();
        assert_eq!(page, &expected);
    }
    assert_eq!(sizes.iter().sum::<usize>(), 3 * 1100);
    assert!(sizes.iter().all(|s| *s < PAGE), "the C rows are filtered out: {sizes:?}");

    // Node 0 now holds exactly B's messages, in rows after its old ones.
    assert_eq!(net.stores[0].hashes(), b_hashes);
    assert!(net.stores[0].rows.keys().all(|row| *row > 2468));
    for i in [3, 6] {
        assert_eq!(net.stores[i].hashes(), hashes_of(&of_a));
    }

    // Everyone else runs too: B's members hand the C messages over to C.
    for who in 1..9 {
        let run = net.run(who, &Faults::default());
        check_run(&net, &run);
        assert!(!run.left_over);
    }
    let initial: Vec<(Message, BTreeSet<usize>)> = of_a
        .iter()
        .map(|m| (m.clone(), BTreeSet::from([0, 3, 6])))
        .chain(of_b.iter().chain(&of_c).map(|m| (m.clone(), BTreeSet::from([1, 4, 7]))))
        .collect();
    check_converged(&net, &initial);
}

#[test]
fn a_full_last_page_is_followed_by_an_empty_one() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let old = three_swarms(9).state();
    let (stores, of_a, of_b, _) = moved_stores(&mut rng, &old, PAGE, PAGE, 0);
    let mut net = Net::new(&node0_moved_to_b(9), stores);
    let before = net.clone();
    let run = net.run(0, &Faults::default());
    check_run(&net, &run);
    // A full page of rows: one more scan, which is empty; a full fetch page: one more fetch,
    // whose empty page is still imported.
    assert_eq!(run.kinds(), format!("SPDS{}.", "FIFI".repeat(3)));
    assert_eq!(run.scans(), vec![0, 2 * PAGE as i64]);
    let sizes: Vec<usize> = run.imported().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![PAGE, 0, PAGE, 0, PAGE, 0]);
    let last = |peer: usize| before.stores[peer].rows.keys().last().copied().unwrap();
    let want: Vec<(usize, i64)> =
        net.peers(0).into_iter().flat_map(|p| [(p, 0), (p, last(p))]).collect();
    assert_eq!(run.fetches(), want);
    assert!(!run.left_over);
    assert_eq!(net.stores[0].hashes(), hashes_of(&of_b));
    assert!(of_a.iter().all(|m| net.holders(&m.hash) == BTreeSet::from([3, 6])));
}

#[test]
fn a_page_answer_is_read_as_given() {
    // A peer's `next` decides the next page: no progress stops, a jump is followed; what a page
    // holds is sorted (only this swarm's unexpired, well-formed messages are imported).
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let state = Arc::new(three_swarms(9).state());
    let mine = message_in(&mut rng, &state, A, NOW + 1);
    let expired = message_in(&mut rng, &state, A, NOW);
    let theirs = message_in(&mut rng, &state, B, NOW + DAY);
    let mut tampered = handover::to_wire(&message_in(&mut rng, &state, A, NOW + DAY));
    tampered["data"] = json!("AAAA");
    let page = |next: Value| {
        Some(
            json!({"messages": [handover::to_wire(&mine), handover::to_wire(&expired),
                handover::to_wire(&theirs), tampered, 5], "next": next})
            .to_string()
            .into_bytes(),
        )
    };
    let mut h = Handover::new(Arc::clone(&state), id(0), NOW);
    assert_eq!(h.step(None), Step::Scan { after: 0, limit: PAGE });
    let Step::Fetch { from, body } = h.step(Some(Outcome::Rows(Vec::new()))) else { panic!() };
    assert_eq!((index_of(&from.id), FetchRequest::parse(&body).unwrap().after), (3, 0));
    let Step::Import { accepted } = h.step(Some(Outcome::Fetched(page(json!(1_i64 << 40))))) else {
        panic!()
    };
    assert_eq!(accepted.keep, vec![mine.clone()]);
    assert_eq!((accepted.not_ours, accepted.malformed), (2, 2));
    let Step::Fetch { from, body } = h.step(Some(Outcome::Done)) else { panic!() };
    assert_eq!((index_of(&from.id), FetchRequest::parse(&body).unwrap().after), (3, 1 << 40));
    // No progress (next = after): that peer is done.
    assert!(matches!(
        h.step(Some(Outcome::Fetched(page(json!(1_i64 << 40))))),
        Step::Import { .. }
    ));
    let Step::Fetch { from, body } = h.step(Some(Outcome::Done)) else { panic!() };
    assert_eq!((index_of(&from.id), FetchRequest::parse(&body).unwrap().after), (6, 0));
    // Backwards, or not a number: done too.
    assert!(matches!(h.step(Some(Outcome::Fetched(page(json!(-1))))), Step::Import { .. }));
    assert_eq!(h.step(Some(Outcome::Done)), Step::Done { left_over: false });
}

// ---- left_over and second runs ----

/// [`new_swarm_d`], A's members holding `a` messages of what is now A's and `d` of what is now
/// D's (A's before), the rest empty.
fn d_net(rng: &mut ChaCha20Rng, a: usize, d: usize) -> (Net, Vec<Message>, Vec<Message>) {
    let old = three_swarms(12).state();
    let new = new_swarm_d();
    let new_state = new.state();
    let expiry = NOW + DAY;
    let mut of_a = Vec::new();
    let mut of_d = Vec::new();
    while of_a.len() < a || of_d.len() < d {
        let m = message_in(rng, &old, A, expiry);
        match new_state.swarm_for(&m.pubkey.to_bytes()).map(SwarmId::get) {
            Some(A) if of_a.len() < a => of_a.push(m),
            Some(D) if of_d.len() < d => of_d.push(m),
            _ => {}
        }
    }
    let mut rows = of_a.clone();
    rows.extend(of_d.iter().cloned());
    shuffle(rng, &mut rows);
    let stores =
        (0..12)
            .map(|i| {
                if i < 9 && i % 3 == 0 { Store::with(rows.clone(), 1, 1) } else { Store::default() }
            })
            .collect();
    (Net::new(&new, stores), of_a, of_d)
}

fn initial_of(of_a: &[Message], of_d: &[Message]) -> Vec<(Message, BTreeSet<usize>)> {
    of_a.iter().chain(of_d).map(|m| (m.clone(), BTreeSet::from([0, 3, 6]))).collect()
}

#[test]
fn no_member_answering_leaves_the_messages_for_a_second_run() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let (mut net, of_a, of_d) = d_net(&mut rng, 30, 20);
    let run = net.run(0, &Faults::down([9, 10, 11]));
    check_run(&net, &run);
    // Pushed to D, answered by nobody: nothing deleted, work left.
    assert_eq!(run.kinds(), "SPFIFI.");
    assert!(run.left_over);
    assert_eq!(net.stores[0].hashes(), hashes_of(&[of_a.clone(), of_d.clone()].concat()));
    // Once D answers, the run is done.
    let again = net.run(0, &Faults::default());
    check_run(&net, &again);
    assert_eq!(again.kinds(), "SPDFIFI.");
    assert!(!again.left_over);
    assert_eq!(net.stores[0].hashes(), hashes_of(&of_a));
    for who in [3, 6, 9, 10, 11] {
        assert!(!net.run(who, &Faults::default()).left_over);
    }
    check_converged(&net, &initial_of(&of_a, &of_d));
}

#[test]
fn one_member_not_answering_is_no_work_left_when_another_took_everything() {
    // What the code does: `left_over` is set when some pushed message was taken by no member;
    // a member that did not answer is not counted when another member took everything (the
    // module docs say "a peer that did not answer"). The messages are deleted; the member that
    // missed them gets them from its swarm peers in its own handover.
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (mut net, of_a, of_d) = d_net(&mut rng, 30, 20);
    let run = net.run(0, &Faults::down([10]));
    check_run(&net, &run);
    assert_eq!(run.kinds(), "SPDFIFI.");
    assert!(!run.left_over);
    let Some((Step::Push { to, .. }, Some(Outcome::Pushed(answers)))) = run.trace.get(1) else {
        panic!("{}", run.kinds())
    };
    for (member, answer) in to.iter().zip(answers) {
        assert_eq!(answer.is_none(), index_of(&member.id) == 10);
    }
    for m in &of_d {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([3, 6, 9, 11]));
    }
    // Node 10's own run fetches them from 9 and 11.
    let run10 = net.run(10, &Faults::default());
    check_run(&net, &run10);
    assert!(!run10.left_over);
    assert_eq!(net.stores[10].hashes(), hashes_of(&of_d));
    for who in [3, 6, 9, 11] {
        assert!(!net.run(who, &Faults::default()).left_over);
    }
    check_converged(&net, &initial_of(&of_a, &of_d));
}

#[test]
fn a_peer_not_answering_a_fetch_is_work_left() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let old = three_swarms(9).state();
    let (stores, of_a, of_b, _) = moved_stores(&mut rng, &old, 40, 60, 0);
    let mut net = Net::new(&node0_moved_to_b(9), stores);
    // All of B's members unreachable: nothing fetched.
    let run = net.run(0, &Faults::down([1, 4, 7]));
    check_run(&net, &run);
    assert_eq!(run.kinds(), "SPDFFF.");
    assert!(run.left_over);
    assert!(net.stores[0].hashes().is_empty());
    // One unreachable: everything came from the others, but the run still says work was left.
    let run = net.run(0, &Faults::down([4]));
    check_run(&net, &run);
    assert_eq!(run.kinds(), "SFIFFI.");
    assert!(run.left_over);
    assert_eq!(net.stores[0].hashes(), hashes_of(&of_b));
    let run = net.run(0, &Faults::default());
    assert_eq!(run.kinds(), "SFIFIFI.");
    assert!(!run.left_over);
    assert!(of_a.iter().all(|m| net.holders(&m.hash) == BTreeSet::from([3, 6])));
}

#[test]
fn a_failed_scan_stops_the_pushing_but_not_the_fetching() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let (mut net, of_a, of_d) = d_net(&mut rng, 500, 300);
    // The first scan fails: no pushes; the fetches from A's peers (two pages each) still run.
    let run = net.run(0, &Faults::fail(Kind::Scan, 0));
    check_run(&net, &run);
    assert_eq!(run.kinds(), "SFIFIFIFI.");
    assert!(run.left_over);
    assert_eq!(net.stores[0].rows.len(), 800);
    // The second scan fails: the first page went, the rest waits.
    let run = net.run(0, &Faults::fail(Kind::Scan, 1));
    check_run(&net, &run);
    assert_eq!(run.kinds(), "SPDSFIFIFIFI.");
    assert!(run.left_over);
    let left = net.stores[0].rows.len();
    assert!(left > 500 && left < 800, "{left}");
    // The second run starts again from row 0 and finishes.
    let run = net.run(0, &Faults::default());
    check_run(&net, &run);
    assert!(!run.left_over);
    assert_eq!(run.scans()[0], 0);
    assert_eq!(net.stores[0].hashes(), hashes_of(&of_a));
    for who in [3, 6, 9, 10, 11] {
        assert!(!net.run(who, &Faults::default()).left_over);
    }
    check_converged(&net, &initial_of(&of_a, &of_d));
}

#[test]
fn a_failed_delete_pushes_again_next_time() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let (mut net, of_a, of_d) = d_net(&mut rng, 30, 20);
    let run = net.run(0, &Faults::fail(Kind::Delete, 0));
    check_run(&net, &run);
    assert_eq!(run.kinds(), "SPDFIFI.");
    assert!(run.left_over);
    // Taken by D, but still here.
    for m in &of_d {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([0, 3, 6, 9, 10, 11]));
    }
    let run = net.run(0, &Faults::default());
    check_run(&net, &run);
    assert!(!run.left_over);
    // The second push: all taken again, none new.
    let (_, outcome) = &run.trace[1];
    let Some(Outcome::Pushed(answers)) = outcome else { panic!() };
    for a in answers {
        let v: Value = serde_json::from_slice(a.as_ref().unwrap()).unwrap();
        assert_eq!(v["new"], 0);
        assert_eq!(v["accepted"].as_array().unwrap().len(), 20);
    }
    for who in [3, 6, 9, 10, 11] {
        assert!(!net.run(who, &Faults::default()).left_over);
    }
    check_converged(&net, &initial_of(&of_a, &of_d));
}

#[test]
fn a_failed_import_skips_that_peers_later_pages() {
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let old = three_swarms(9).state();
    let (stores, _, of_b, _) = moved_stores(&mut rng, &old, 10, 700, 0);
    let mut net = Net::new(&node0_moved_to_b(9), stores);
    let run = net.run(0, &Faults::fail(Kind::Import, 0));
    check_run(&net, &run);
    // The first peer's first page is not stored, so its second is not asked for; the other two
    // in full.
    assert_eq!(run.kinds(), "SPDFIFIFIFIFI.");
    let peers = net.peers(0);
    let f = run.fetches();
    assert_eq!((f[0], f[1]), ((peers[0], 0), (peers[1], 0)));
    assert!(run.left_over);
    let run = net.run(0, &Faults::default());
    check_run(&net, &run);
    assert_eq!(run.fetches().len(), 6);
    assert!(!run.left_over);
    assert_eq!(net.stores[0].hashes(), hashes_of(&of_b));
}

// ---- what a push answer can delete ----

#[test]
fn a_push_answer_deletes_only_what_was_pushed() {
    // Node 0 (A) holds A's messages, D's (A's before) and, by mistake, some of B's and C's: it
    // pushes to D, then B, then C. Node 9 (D) lies: it takes nothing and claims every hash node
    // 0 holds and some it does not; D's other members do not answer.
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    let (mut net, of_a, of_d) = d_net(&mut rng, 40, 25);
    let of_b: Vec<Message> =
        (0..15).map(|_| message_in(&mut rng, &net.state, B, NOW + DAY)).collect();
    let of_c: Vec<Message> =
        (0..15).map(|_| message_in(&mut rng, &net.state, C, NOW + DAY)).collect();
    net.stores[0].import([of_b.clone(), of_c.clone()].concat());
    let mut claim: Vec<String> = net.stores[0].hashes().into_iter().collect();
    claim.push(random_message(&mut rng, NOW + DAY).hash);
    claim.push("not a hash".into());
    let faults = Faults {
        down: [10, 11].into(),
        lies: [(9, Lie::Claim(claim))].into(),
        ..Faults::default()
    };
    let run = net.run(0, &faults);
    check_run(&net, &run);
    assert_eq!(run.kinds(), "SPDPDPDFIFI.");
    let deletes: Vec<&Step> = run.steps(Kind::Delete).collect();
    assert_eq!(deletes[0], &Step::Delete { hashes: hashes_of(&of_d).into_iter().collect() });
    // The claim is believed for what was pushed: one member's word is enough, and D's messages
    // are gone from node 0 although no node stored them (the trust a swarm member gets; nothing
    // else in the answer can show what it stored). The run reports no work left.
    assert!(!run.left_over);
    for m in &of_d {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([3, 6]), "lost from node 0 only");
    }
    // Nothing else it claimed was deleted: node 0's own messages stay, and B's and C's went
    // only when their own members took them.
    assert_eq!(net.stores[0].hashes(), hashes_of(&of_a));
    for m in &of_b {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([1, 4, 7]));
    }
    for m in &of_c {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([2, 5, 8]));
    }

    // With D's honest members answering as well, the lie changes nothing.
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let (mut net, of_a, of_d) = d_net(&mut rng, 40, 25);
    let claim: Vec<String> = net.stores[0].hashes().into_iter().collect();
    let run = net.run(0, &Faults { lies: [(9, Lie::Claim(claim))].into(), ..Faults::default() });
    check_run(&net, &run);
    assert!(!run.left_over);
    assert_eq!(net.stores[0].hashes(), hashes_of(&of_a));
    for m in &of_d {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([3, 6, 10, 11]));
    }

    // Claims of nothing that was pushed, or an answer not of the form: nothing deleted, work left.
    for lie in [Lie::Claim(hashes_of(&of_a).into_iter().collect()), Lie::Garbage] {
        let mut rng = ChaCha20Rng::seed_from_u64(22);
        let (mut net, _, _) = d_net(&mut rng, 40, 25);
        let before = net.stores[0].hashes();
        let faults = Faults { down: [10, 11].into(), lies: [(9, lie)].into(), ..Faults::default() };
        let run = net.run(0, &faults);
        check_run(&net, &run);
        assert_eq!(run.kinds(), "SPFIFI.");
        assert!(run.left_over);
        assert_eq!(net.stores[0].hashes(), before);
    }
}

// ---- expiry ----

#[test]
fn expired_messages_are_neither_fetched_nor_taken() {
    let mut rng = ChaCha20Rng::seed_from_u64(30);
    let old = three_swarms(9).state();
    let live_b: Vec<Message> = (0..20).map(|_| message_in(&mut rng, &old, B, NOW + 1)).collect();
    let dead_b: Vec<Message> =
        // (An expiry before 2001 is not one a store can send: such a message is malformed.)
        [NOW, NOW - 1, NOW - 20 * DAY, 1_000_000_000_000]
            .into_iter()
            .map(|e| message_in(&mut rng, &old, B, e))
            .collect();
    let live_a: Vec<Message> = (0..10).map(|_| message_in(&mut rng, &old, A, NOW + DAY)).collect();
    let dead_a: Vec<Message> = (0..3).map(|_| message_in(&mut rng, &old, A, NOW - DAY)).collect();
    let mut b_rows = live_b.clone();
    b_rows.extend(dead_b.iter().cloned());
    shuffle(&mut rng, &mut b_rows);
    let a_rows = [live_a.clone(), dead_a.clone()].concat();
    let stores = (0..9)
        .map(|i| match i % 3 {
            0 => Store::with(a_rows.clone(), 1, 1),
            1 => Store::with(b_rows.clone(), 1, 1),
            _ => Store::default(),
        })
        .collect();
    let mut net = Net::new(&node0_moved_to_b(9), stores);
    let run = net.run(0, &Faults::default());
    check_run(&net, &run);
    // B's expired messages come in the pages but are not imported (counted as not ours).
    for step in run.steps(Kind::Import) {
        let Step::Import { accepted } = step else { unreachable!() };
        assert_eq!(hashes_of(&accepted.keep), hashes_of(&live_b));
        assert_eq!((accepted.not_ours, accepted.malformed), (dead_b.len(), 0));
    }
    assert_eq!(net.stores[0].hashes(), hashes_of(&[live_b.clone(), dead_a.clone()].concat()));
    // A's expired ones were pushed, not taken, and stay with node 0 until its expiry cleanup:
    // the run says work was left (each later run pushes them again until they are gone).
    let Some((Step::Push { count, .. }, Some(Outcome::Pushed(answers)))) = run.trace.get(1) else {
        panic!("{}", run.kinds())
    };
    assert_eq!(*count, 13);
    for a in answers {
        assert_eq!(handover::accepted(a.as_ref().unwrap()).len(), 10);
    }
    assert!(run.left_over);
    for m in &dead_b {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([1, 4, 7]));
    }
    for m in &dead_a {
        assert_eq!(net.holders(&m.hash), BTreeSet::from([0, 3, 6]));
    }
    // Once the expired rows are gone, no work is left.
    let dead: Vec<String> = dead_a.iter().map(|m| m.hash.clone()).collect();
    net.stores[0].delete(&dead);
    assert!(!net.run(0, &Faults::default()).left_over);
}

// ---- whatever the outcomes ----

/// 500 rows of random accounts (numbered 1..=500).
fn pool() -> &'static [(i64, Message)] {
    static POOL: OnceLock<Vec<(i64, Message)>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(40);
        (0..PAGE)
            .map(|i| {
                let expiry = if i % 7 == 0 { NOW } else { NOW + DAY };
                (i as i64 + 1, random_message(&mut rng, expiry))
            })
            .collect()
    })
}

fn any_outcome() -> impl Strategy<Value = Outcome> {
    let rows = (prop_oneof![0usize..4, Just(PAGE)], -5i64..2000, 0..PAGE).prop_map(
        |(len, shift, start)| {
            Outcome::Rows(
                pool()
                    .iter()
                    .cycle()
                    .skip(start)
                    .take(len)
                    .map(|(r, m)| (r + shift, m.clone()))
                    .collect(),
            )
        },
    );
    let answer = prop_oneof![
        Just(None),
        prop::collection::vec(0..PAGE, 0..40).prop_map(|ix| {
            let claimed: Vec<&str> = ix.iter().map(|i| pool()[*i].1.hash.as_str()).collect();
            Some(json!({"accepted": claimed, "new": 0}).to_string().into_bytes())
        }),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(Some),
    ];
    let pushed = prop::collection::vec(answer, 0..4).prop_map(Outcome::Pushed);
    let page = (prop::collection::vec(0..PAGE, 0..6), prop::option::of(-3i64..3000)).prop_map(
        |(ix, next)| {
            let messages: Vec<Value> =
                ix.iter().map(|i| handover::to_wire(&pool()[*i].1)).collect();
            Some(json!({"messages": messages, "next": next}).to_string().into_bytes())
        },
    );
    let fetched =
        prop_oneof![Just(None), page, prop::collection::vec(any::<u8>(), 0..20).prop_map(Some),]
            .prop_map(Outcome::Fetched);
    prop_oneof![Just(Outcome::Done), Just(Outcome::Failed), rows, pushed, fetched]
}

proptest! {
    #![proptest_config(config(512))]

    /// Any outcomes, fitting their steps or not, for any node (in a swarm, without one, not
    /// listed): the first step is a scan from row 0; no panic; deletes name only pushed hashes;
    /// once the outcomes run out (then every step gets `Outcome::Done`), `Done` comes within the
    /// work already planned (a push per other swarm, a fetch per peer and page asked); `Done`
    /// is final and its `left_over` is the model's.
    #[test]
    fn any_outcomes_end_in_done(
        who in 0usize..14,
        first in prop::option::of(any_outcome()),
        outcomes in prop::collection::vec(any_outcome(), 0..40),
    ) {
        let state = Arc::new(three_swarms(12).state());
        let me = id(who);
        let peers = state.swarm_of(&me).map_or(0, |s| state.members(s).len() - 1);
        let swarms = state.map().iter().len();
        let limit = outcomes.len() + 1 + (1 + swarms + 1 + peers + 1);
        let mut h = Handover::new(Arc::clone(&state), me, NOW);
        let mut step = h.step(first);
        prop_assert_eq!(&step, &Step::Scan { after: 0, limit: PAGE });
        let mut feed = outcomes.into_iter();
        let mut trace: Vec<(Step, Option<Outcome>)> = Vec::new();
        let mut sent = BTreeSet::new();
        let mut fetching = false;
        let left_over = loop {
            if let Step::Done { left_over } = step {
                trace.push((step.clone(), None));
                break left_over;
            }
            prop_assert!(trace.len() < limit, "{} steps", trace.len());
            match &step {
                Step::Scan { .. } | Step::Push { .. } | Step::Delete { .. } => {
                    prop_assert!(!fetching);
                }
                _ => fetching = true,
            }
            match &step {
                Step::Push { body, .. } => sent = hashes_of(&pushed(body)),
                Step::Delete { hashes } => {
                    prop_assert!(matches!(trace.last(), Some((Step::Push { .. }, _))), "a delete after its push");
                    prop_assert!(hashes.iter().all(|h| sent.contains(h)));
                }
                Step::Fetch { from, body } => {
                    prop_assert_eq!(state.swarm_of(&from.id), state.swarm_of(&me));
                    prop_assert_ne!(from.id, me);
                    prop_assert_eq!(Some(FetchRequest::parse(body).unwrap().swarm), state.swarm_of(&me));
                }
                Step::Import { .. } => {
                    prop_assert!(matches!(trace.last(), Some((Step::Fetch { .. }, _))), "an import after its fetch");
                }
                _ => {}
            }
            let outcome = feed.next().unwrap_or(Outcome::Done);
            trace.push((step.clone(), Some(outcome.clone())));
            step = h.step(Some(outcome));
        };
        prop_assert_eq!(left_over, model_left_over(&trace));
        for late in [None, Some(Outcome::Done), Some(Outcome::Failed), Some(Outcome::Fetched(None))] {
            prop_assert_eq!(h.step(late), Step::Done { left_over });
        }
    }
}

#[test]
fn wrong_outcomes_end_the_run_without_a_panic() {
    let state = Arc::new(three_swarms(12).state());
    let rows = Outcome::Rows(pool()[..3].to_vec());
    let wrong = [
        Outcome::Done,
        Outcome::Failed,
        Outcome::Pushed(vec![None]),
        Outcome::Fetched(None),
        Outcome::Fetched(Some(b"{\"messages\": [], \"next\": 9}".to_vec())),
    ];
    for who in [0, 4, 9, 13] {
        let peers = state.swarm_of(&id(who)).map_or(0, |s| state.members(s).len() - 1);
        for outcome in &wrong {
            // Every step answered with the same outcome: a scan, a fetch per peer (the page
            // answer's next page too, when it fits), done with work left.
            let mut h = Handover::new(Arc::clone(&state), id(who), NOW);
            let mut steps = vec![h.step(Some(rows.clone()))];
            assert_eq!(
                steps[0],
                Step::Scan { after: 0, limit: PAGE },
                "an outcome before the start is ignored"
            );
            while !matches!(steps.last(), Some(Step::Done { .. })) {
                assert!(steps.len() < 20, "{who} {outcome:?}: {steps:?}");
                steps.push(h.step(Some(outcome.clone())));
            }
            // A page for a fetch is imported; the import, answered with a page, ends that peer.
            let per_peer: &[Kind] = if matches!(outcome, Outcome::Fetched(Some(_))) {
                &[Kind::Fetch, Kind::Import]
            } else {
                &[Kind::Fetch]
            };
            let kinds: Vec<Kind> = steps.iter().map(kind).collect();
            let expected: Vec<Kind> = std::iter::once(Kind::Scan)
                .chain(std::iter::repeat_n(per_peer, peers).flatten().copied())
                .chain([Kind::Done])
                .collect();
            assert_eq!(kinds, expected, "node {who}, {outcome:?}");
            assert_eq!(steps.last(), Some(&Step::Done { left_over: true }));
        }
    }
    // A scan answered with a fetch's answer, a push with rows, a delete with a page: each ends
    // that part of the run.
    let mut h = Handover::new(Arc::clone(&state), id(0), NOW);
    let _ = h.step(None);
    let Step::Push { .. } = h.step(Some(Outcome::Rows(pool().to_vec()))) else { panic!() };
    let accepted_all = |step: &Step| {
        let Step::Push { body, .. } = step else { panic!() };
        let hashes: Vec<String> = pushed(body).into_iter().map(|m| m.hash).collect();
        Outcome::Pushed(vec![Some(json!({"accepted": hashes}).to_string().into_bytes())])
    };
    let mut step = h.step(Some(Outcome::Rows(Vec::new())));
    assert!(matches!(step, Step::Push { .. }), "{step:?}");
    step = h.step(Some(accepted_all(&step)));
    assert!(matches!(step, Step::Delete { .. }), "{step:?}");
    step = h.step(Some(Outcome::Fetched(None)));
    assert!(matches!(step, Step::Scan { after: 500, .. }), "{step:?}");
    step = h.step(Some(Outcome::Fetched(Some(b"{}".to_vec()))));
    assert!(matches!(step, Step::Fetch { .. }), "{step:?}");
    step = h.step(Some(Outcome::Rows(Vec::new())));
    assert!(matches!(step, Step::Fetch { .. }), "{step:?}");
    step = h.step(Some(Outcome::Fetched(Some(b"{\"messages\": []}".to_vec()))));
    assert!(matches!(step, Step::Import { .. }), "{step:?}");
    step = h.step(Some(Outcome::Pushed(Vec::new())));
    assert_eq!(step, Step::Done { left_over: true });
}

#[test]
fn without_swarms_nothing_moves() {
    // A node of a network with no swarms: one scan, nothing to push or fetch, no work left.
    let mut rng = ChaCha20Rng::seed_from_u64(50);
    let messages: Vec<Message> = (0..20).map(|_| random_message(&mut rng, NOW + DAY)).collect();
    let empty = Layout::by(4, |_| None);
    let mut net = Net::new(&empty, vec![Store::with(messages.clone(), 1, 1), Store::default()]);
    let run = net.run(0, &Faults::default());
    assert_eq!(run.kinds(), "S.");
    assert!(!run.left_over);
    assert_eq!(net.stores[0].hashes(), hashes_of(&messages));
    // A node that left the swarms (still listed, or not even that) pushes everything to the
    // owners and fetches nothing.
    for layout in [
        Layout::by(9, |i| (i > 0).then(|| [A, B, C][i % 3])),
        Layout {
            listed: (1..9).collect(),
            swarms: (1..9).map(|i| (i, [A, B, C][i % 3])).collect(),
        },
    ] {
        let old = three_swarms(9).state();
        let mut stores: Vec<Store> = (0..9).map(|_| Store::default()).collect();
        let mut initial = Vec::new();
        for swarm in [A, B, C] {
            for _ in 0..10 {
                let m = message_in(&mut rng, &old, swarm, NOW + DAY);
                stores[0].add(m.clone(), 1);
                initial.push((m, BTreeSet::from([0])));
            }
        }
        let mut net = Net::new(&layout, stores);
        let run = net.run(0, &Faults::default());
        check_run(&net, &run);
        assert_eq!(run.kinds(), "SPDPDPD.");
        assert!(!run.left_over);
        assert!(net.stores[0].rows.is_empty());
        check_converged(&net, &initial);
    }
}

// ---- when a handover is due ----

#[test]
fn a_new_swarm_makes_a_handover_due_for_the_old_owners_too() {
    // D forms from three nodes that had no swarm and takes part of A's accounts; A keeps its
    // members. The set of swarms changed, so `swarm_changed` says a handover is due for every
    // node, A's members included: they push D's accounts to D.
    let mut rng = ChaCha20Rng::seed_from_u64(60);
    let (mut net, of_a, of_d) = d_net(&mut rng, 20, 20);
    let old = three_swarms(12).state();
    let due: Vec<usize> = (0..12).filter(|i| swarm_changed(&old, &net.state, &id(*i))).collect();
    assert_eq!(due, (0..12).collect::<Vec<_>>());
    for who in due {
        let run = net.run(who, &Faults::default());
        check_run(&net, &run);
        assert!(!run.left_over);
    }
    check_converged(&net, &initial_of(&of_a, &of_d));
}
