//! The quorum cop in a network of keepers and nodes without sockets: each node observes each
//! block's ledger view, sends its uptime proofs, tests what its plan says (the outcomes come from
//! each node's fault), and sends its votes to the keeper, which applies what 7 of them decide.
//! An offline node is decommissioned, then deregistered when its credit runs out; a node that
//! keeps nothing is decommissioned, recommissioned, and deregistered; honest nodes stay active.
//! Forged, duplicate, late, non-member and wrong-height votes are refused and change nothing.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::net::Ipv4Addr;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sesh_identity::{Identity, NodeId};
use sesh_node::Error;
use sesh_node::keeper::{Genesis, JoinRequest, Keeper};
use sesh_node::obligations::{
    Cop, LedgerView, Outcome, Reachability, Sample, Timings, UptimeSubmission, VoteRefusal,
    read_storage_test, read_votes, storage_test_answer, storage_test_body, storage_test_passed,
    votes_body,
};
use sesh_quorum::proof::{MinVersions, ProofRules, SignedProof};
use sesh_quorum::{Reasons, StateChange, Status, Subject, Vote};
use sesh_staking::NodeStatus;

const HF: [u16; 2] = [21, 0];
const BLOCK_MS: u64 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Honest,
    Offline,
    Amnesia,
    Unreachable,
}

struct Net {
    keeper: Keeper,
    /// The keeper's log since genesis.
    log: Vec<u8>,
    keys: Vec<Identity>,
    ids: Vec<NodeId>,
    cops: Vec<Cop>,
    faults: Vec<Fault>,
    rng: ChaCha20Rng,
}

impl Net {
    fn new(n: usize, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let genesis = Genesis::build(n, &mut rng).unwrap();
        let mut keeper = Keeper::restore(HF, &genesis.log, None).unwrap().keeper;
        keeper.set_block_ms(BLOCK_MS);
        let ids: Vec<NodeId> = genesis.nodes.iter().map(NodeId::from_identity).collect();
        for (i, id) in ids.iter().enumerate() {
            let join = JoinRequest {
                register: None,
                ip: Ipv4Addr::LOCALHOST,
                port: 22100 + i as u16,
                tls: false,
            };
            keeper.join(*id, &join.to_body()).unwrap();
        }
        let cops = ids.iter().map(|id| Cop::new(*id, sesh_node::keeper::params(), 0)).collect();
        let log = genesis.log;
        Self { keeper, log, keys: genesis.nodes, ids, cops, faults: vec![Fault::Honest; n], rng }
    }

    /// What node `target` answers a test with.
    fn outcome(&self, target: &NodeId, storage: bool) -> Outcome {
        let i = self.ids.iter().position(|id| id == target).unwrap();
        match (self.faults[i], storage) {
            (Fault::Offline | Fault::Unreachable, _) => Outcome::Unreachable,
            (_, false) => Outcome::Reachable,
            (Fault::Amnesia, true) => Outcome::Storage(false),
            (Fault::Honest, true) => Outcome::Storage(true),
        }
    }

    /// One block, and every node's round on it; the refusals of their votes.
    fn step(&mut self) -> Vec<Error> {
        let (record, _) = self.keeper.block().unwrap();
        self.log.extend(record);
        let view = self.keeper.view().clone();
        let state = self.keeper.state().unwrap();
        let now = (view.height * BLOCK_MS) as i64;
        let mut refused = Vec::new();
        for i in 0..self.ids.len() {
            if self.faults[i] == Fault::Offline {
                continue;
            }
            self.cops[i].observe(&view, &state);
            if self.cops[i].proof_due(&view) {
                let (port, params) = (22100 + i as u16, sesh_node::keeper::params());
                let proof = UptimeSubmission::new(
                    &self.keys[i],
                    Ipv4Addr::LOCALHOST,
                    port,
                    view.height,
                    now as u64,
                    &params,
                );
                self.log.extend(self.keeper.uptime(&proof.unwrap(), now as u64).unwrap());
            }
            let tests = self.cops[i].plan(&view, &state, now, 8, &mut self.rng);
            assert!(tests.len() <= 8);
            for t in tests {
                let outcome = self.outcome(&t.node.id, t.storage.is_some());
                self.cops[i].record(&t.node.id, outcome, now);
            }
            let (casts, _) = self.cops[i].process(&view, &self.keys[i], now);
            for c in casts {
                if let Err(e) = self.keeper.vote(&self.ids[i], &c.vote) {
                    refused.push(e);
                }
            }
        }
        refused
    }

    fn changes_of(&self, node: usize) -> Vec<(u64, &'static str)> {
        let id = self.ids[node];
        self.keeper.changes().iter().filter(|c| c.node == id).map(|c| (c.height, c.state)).collect()
    }

    fn status(&self, node: usize) -> NodeStatus {
        self.keeper.chain().ledger().node(&self.ids[node]).unwrap().status()
    }
}

#[test]
fn an_offline_node_is_decommissioned_then_deregistered_and_honest_nodes_stay() {
    let mut net = Net::new(14, 1);
    net.faults[3] = Fault::Offline;
    let mut refused = Vec::new();
    for _ in 0..160 {
        refused.extend(net.step());
    }
    let changes = net.changes_of(3);
    assert_eq!(changes.len(), 2, "{changes:?}");
    let (decommissioned, deregistered) = (changes[0], changes[1]);
    assert_eq!(decommissioned.1, "decommission");
    assert_eq!(deregistered.1, "deregister");
    // Votes start once the chain is 60 blocks high and the voters have run 62.5 blocks; the
    // decision is in the block after the seventh vote.
    assert!((63..=70).contains(&decommissioned.0), "{changes:?}");
    // Its credit: 60 to start with and 24 blocks a day (720 blocks) up, spent one a block down.
    // The credit is taken at the chain's height (oxend's `latest`: the top block's plus one),
    // and a vote once it is below zero is applied the block after.
    let credit = 60 + decommissioned.0 as i64 * 24 / 720;
    let down = (deregistered.0 - decommissioned.0) as i64;
    assert!(down >= credit && down <= credit + 8, "{changes:?}, credit {credit}");
    assert_eq!(net.status(3), NodeStatus::Removed);
    for i in (0..14).filter(|i| *i != 3) {
        assert!(net.changes_of(i).is_empty(), "honest node {i}: {:?}", net.changes_of(i));
        assert_eq!(net.status(i), NodeStatus::Active);
    }
    // Votes by more validators than needed for a decided change arrive after it was applied:
    // those are refused as duplicates or for a worker that moved, never counted twice.
    let kinds: Vec<VoteRefusal> = refused
        .iter()
        .map(|e| match e {
            Error::VoteRefused { kind, .. } => *kind,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(kinds.iter().all(|k| *k != VoteRefusal::Forged && *k != VoteRefusal::NonMember));
    // A keeper restored from its log knows the same changes and rewards.
    let restored = Keeper::restore(HF, &net.log, None).unwrap().keeper;
    assert_eq!(restored.changes(), net.keeper.changes());
    assert_eq!(restored.chain().ledger().state_hash(), net.keeper.chain().ledger().state_hash());
    assert_eq!(restored.rewards()["nodes"], net.keeper.rewards()["nodes"]);
    // The faulty node earned nothing since it went down; every honest node earned more.
    let totals = net.keeper.chain().payouts().node_totals().unwrap();
    let faulty = totals.get(&net.ids[3]).copied().unwrap_or(0);
    assert!((0..14).filter(|i| *i != 3).all(|i| totals[&net.ids[i]] > faulty));
}

#[test]
fn a_node_that_keeps_nothing_is_decommissioned_recommissioned_and_deregistered() {
    let mut net = Net::new(14, 2);
    net.faults[5] = Fault::Amnesia;
    net.faults[9] = Fault::Unreachable;
    for _ in 0..200 {
        net.step();
    }
    let amnesia: Vec<&str> = net.changes_of(5).iter().map(|c| c.1).collect();
    assert_eq!(amnesia, ["decommission", "recommission", "deregister"], "{:?}", net.changes_of(5));
    // Unreachable from the start: failing every test for 32.5 blocks, with the proofs it still
    // sends; decommissioned as soon as votes start, and never back.
    let unreachable = net.changes_of(9);
    assert_eq!(unreachable.first().map(|c| c.1), Some("decommission"), "{unreachable:?}");
    assert!(unreachable.iter().all(|c| c.1 != "recommission"), "{unreachable:?}");
    for i in (0..14).filter(|i| ![5, 9].contains(i)) {
        assert!(net.changes_of(i).is_empty(), "honest node {i}: {:?}", net.changes_of(i));
    }
}

#[test]
fn a_late_failure_is_caught_within_the_scaled_live_window() {
    // A node goes offline at block 100, long after the first votes: its reachability fails
    // after 65 minutes (32.5 blocks) of failed tests; its last proof expires 2 h 5 min (62.5
    // blocks) after it was sent. Decommissioned when the first of the two has happened.
    let mut net = Net::new(14, 3);
    for _ in 0..100 {
        net.step();
    }
    net.faults[7] = Fault::Offline;
    let mut height = 100;
    while net.changes_of(7).is_empty() && height < 200 {
        net.step();
        height += 1;
    }
    let (at, state) = net.changes_of(7)[0];
    assert_eq!(state, "decommission");
    assert!(at > 100 + 32 && at <= 100 + 63 + 4, "decommissioned at {at}");
}

#[test]
fn refused_votes_change_nothing() {
    let mut net = Net::new(14, 4);
    for _ in 0..80 {
        net.step();
    }
    let params = sesh_node::keeper::params();
    let height = net.keeper.chain().ledger().height();
    let q = height - 12;
    let quorum = net.keeper.ballot().quorum(q).unwrap().clone();
    let key = |id: &NodeId| &net.keys[net.ids.iter().position(|i| i == id).unwrap()];
    let subject = Subject {
        height: q,
        worker_index: 0,
        worker: quorum.workers[0],
        state: StateChange::Decommission,
    };
    let v0 = Vote::sign(key(&quorum.validators[0]), 0, &subject, Reasons::UPTIME, &params);

    let before = (net.keeper.chain().ledger().state_hash(), net.keeper.ballot().pending());
    let mut keeper = net.keeper;
    let refusal = |r: Result<Status, Error>| match r {
        Err(Error::VoteRefused { kind, .. }) => kind,
        other => panic!("{other:?}"),
    };
    let same = |k: &Keeper| (k.chain().ledger().state_hash(), k.ballot().pending());
    // Signed by validator 1 but naming validator 0: forged.
    let forged = Vote::sign(key(&quorum.validators[1]), 0, &subject, Reasons::UPTIME, &params);
    assert_eq!(refusal(keeper.vote(&quorum.validators[1], &forged)), VoteRefusal::Forged);
    // Sent by a node that is not one of the quorum's validators.
    let worker = quorum.workers[1];
    let theirs = Vote::sign(key(&worker), 0, &subject, Reasons::UPTIME, &params);
    assert_eq!(refusal(keeper.vote(&worker, &theirs)), VoteRefusal::NonMember);
    // A quorum past the vote lifetime, one above the keeper's height, a worker that height
    // does not have.
    let old = Subject { height: height - 60, ..subject };
    let late = Vote::sign(key(&quorum.validators[0]), 0, &old, Reasons::UPTIME, &params);
    assert_eq!(refusal(keeper.vote(&quorum.validators[0], &late)), VoteRefusal::Late);
    let future = Subject { height: height + 1, ..subject };
    let ahead = Vote::sign(key(&quorum.validators[0]), 0, &future, Reasons::UPTIME, &params);
    assert_eq!(refusal(keeper.vote(&quorum.validators[0], &ahead)), VoteRefusal::WrongHeight);
    let nobody = Subject { worker_index: 99, ..subject };
    let missing = Vote::sign(key(&quorum.validators[0]), 0, &nobody, Reasons::UPTIME, &params);
    assert_eq!(refusal(keeper.vote(&quorum.validators[0], &missing)), VoteRefusal::WrongHeight);
    // The vote signed for another height, sent for this one: its signatures do not hold.
    let mut moved = v0;
    moved.height = q - 1;
    assert_eq!(refusal(keeper.vote(&quorum.validators[0], &moved)), VoteRefusal::Forged);
    assert_eq!(same(&keeper), before);

    // The genuine vote counts once.
    let status = keeper.vote(&quorum.validators[0], &v0).unwrap();
    assert_eq!(status, Status::Pending { votes: 1, needed: 7 });
    let counted = same(&keeper);
    assert_eq!(refusal(keeper.vote(&quorum.validators[0], &v0)), VoteRefusal::Duplicate);
    assert_eq!(same(&keeper), counted);
    // One vote decides nothing: the next block applies nothing.
    let changes = keeper.changes().len();
    keeper.block().unwrap();
    assert_eq!(keeper.changes().len(), changes);
}

#[test]
fn reachability_needs_a_recent_failure_and_a_long_one() {
    let t = Timings::scaled(BLOCK_MS);
    let (threshold, validity) = (t.unreachable_threshold_ms(), t.max_failure_validity_ms());
    assert_eq!((threshold, validity), (16_250, 1_250));
    let mut r = Reachability::default();
    assert_eq!(r.reachable(0, validity), Some(true));
    r.record(false, 1_000);
    assert_eq!(r.reachable(1_000, validity), Some(false));
    assert!(!r.unreachable_for(threshold, 1_000, validity), "not long enough");
    r.record(false, 17_250);
    assert!(r.unreachable_for(threshold, 17_250, validity));
    // The last failure gets stale: no longer counted against it.
    assert_eq!(r.reachable(17_250 + 1_251, validity), None);
    assert!(!r.unreachable_for(threshold, 17_250 + 1_251, validity));
    // A pass starts over.
    r.record(true, 18_000);
    r.record(false, 18_500);
    assert!(!r.unreachable_for(threshold, 18_500, validity));
}

#[test]
fn proofs_are_due_hourly_and_the_plan_tests_workers_first_within_the_budget() {
    let mut net = Net::new(14, 5);
    for _ in 0..40 {
        net.step();
    }
    let view = net.keeper.view().clone();
    let state = net.keeper.state().unwrap();
    let me = &net.cops[0];
    assert!(!me.proof_due(&view), "proved at its first block");
    let mine = view.node(&net.ids[0]).unwrap().last_uptime_proof_height.unwrap();
    assert!(view.height - mine < 30);

    // Every test of a node in a settled swarm carries a storage test: with this node's own
    // messages in its own swarm, else a message of another member of the tested node's swarm.
    let tests = me.plan(&view, &state, (view.height * BLOCK_MS) as i64, 5, &mut net.rng.clone());
    assert_eq!(tests.len(), 5);
    for t in &tests {
        match t.storage {
            Some(Sample::Mine) => {
                assert_eq!(state.swarm_of(&t.node.id), state.swarm_of(&net.ids[0]))
            }
            Some(Sample::From(m)) => {
                assert_ne!(m.id, t.node.id);
                assert_eq!(state.swarm_of(&m.id), state.swarm_of(&t.node.id));
            }
            None => panic!("a settled swarm gets storage tests"),
        }
    }
    // The workers of the quorums it votes on next come first.
    let upcoming: Vec<NodeId> = (view.height - 11..=view.height)
        .filter_map(|h| me.quorum(h))
        .filter(|q| q.validators.contains(&net.ids[0]))
        .flat_map(|q| q.workers.clone())
        .collect();
    assert!(tests.iter().take(upcoming.len().min(5)).all(|t| upcoming.contains(&t.node.id)));
}

#[test]
fn wire_forms_round_trip() {
    let net = Net::new(12, 6);
    let view = net.keeper.view();
    let again = LedgerView::from_json(view.to_json().to_string().as_bytes()).unwrap();
    assert_eq!(&again, view);
    assert_eq!(again.obligations_quorum(), view.obligations_quorum());
    assert!(LedgerView::from_json(br#"{"height": 1}"#).is_err());

    let params = sesh_node::keeper::params();
    let subject =
        Subject { height: 9, worker_index: 1, worker: net.ids[2], state: StateChange::Deregister };
    let votes = [
        Vote::sign(&net.keys[0], 3, &subject, Reasons::STORAGE, &params),
        Vote::sign(
            &net.keys[1],
            4,
            &Subject { state: StateChange::IpChangePenalty, ..subject },
            Reasons::NONE,
            &params,
        ),
    ];
    assert_eq!(read_votes(&votes_body(&votes)).unwrap(), votes);
    assert!(read_votes(br#"{"votes": [{"height": 1}]}"#).is_err());

    let hash = "A".repeat(43);
    assert_eq!(read_storage_test(&storage_test_body(&hash)).unwrap(), hash);
    assert!(read_storage_test(br#"{"hash": "x"}"#).is_err());
    // The fuzz corpus's seeds are of the forms read here.
    let seed = |name: &str| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/quorum_wire/");
        std::fs::read(format!("{dir}{name}")).unwrap()
    };
    assert_eq!(LedgerView::from_json(&seed("ledger_view")).unwrap().nodes().len(), 2);
    assert_eq!(read_votes(&seed("decommission_vote")).unwrap().len(), 1);
    assert_eq!(read_votes(&seed("penalty_and_future")).unwrap().len(), 2);
    assert!(read_votes(&seed("bad_state")).is_err());
    assert!(read_storage_test(&seed("storage_test")).is_ok());
    assert!(storage_test_passed(&seed("storage_answer"), b"data"));
    let answer = storage_test_answer(Some(b"bytes")).to_string();
    assert!(storage_test_passed(answer.as_bytes(), b"bytes"));
    assert!(!storage_test_passed(answer.as_bytes(), b"other"));
    assert!(!storage_test_passed(storage_test_answer(None).to_string().as_bytes(), b"bytes"));
}

#[test]
fn the_keeper_refuses_uptime_proofs_as_oxend_does() {
    let mut net = Net::new(12, 9);
    for _ in 0..3 {
        net.keeper.block().unwrap();
    }
    let params = sesh_node::keeper::params();
    let height = net.keeper.view().height;
    let now = 1_700_000_000_000u64;
    let ip = Ipv4Addr::LOCALHOST;
    let proof = |i: usize, ip: Ipv4Addr, height: u64, stamped: u64| {
        UptimeSubmission::new(&net.keys[i], ip, 22100, height, stamped, &params).unwrap()
    };
    let refusal = |r: Result<Vec<u8>, Error>| r.map(|_| ()).map_err(|e| e.refusal());
    let (stale, future, old) = (
        proof(0, ip, height, now - 3_000),
        proof(0, ip, height, now + 3_000),
        proof(0, ip, height, now),
    );
    let keeper = &mut net.keeper;
    assert_eq!(refusal(keeper.uptime(&stale, now)), Err("stale_timestamp"));
    assert_eq!(refusal(keeper.uptime(&future, now)), Err("future_timestamp"));

    // A signature of another key, and bytes changed after signing.
    let mut forged = old.clone();
    forged.proof = proof(1, ip, height, now).proof.proof().sign(&net.keys[0]);
    assert_eq!(refusal(net.keeper.uptime(&forged, now)), Err("bad_signature"));
    let mut bytes = old.proof.encoded().to_vec();
    let at = bytes.windows(9).position(|w| w == b"127.0.0.1").unwrap();
    bytes[at + 8] = b'2';
    forged.proof = SignedProof::from_parts(&bytes, &old.proof.ed_sig()).unwrap();
    assert_eq!(refusal(net.keeper.uptime(&forged, now)), Err("bad_signature"));

    // Mainnet's rules: a local address, and sesh's missing lokinet.
    net.keeper
        .set_proof_rules(ProofRules { min_versions: MinVersions::HF21_2, ..ProofRules::mainnet() });
    assert_eq!(refusal(net.keeper.uptime(&old, now)), Err("old_version"));
    net.keeper
        .set_proof_rules(ProofRules { allow_local_ips: false, ..ProofRules::local(BLOCK_MS) });
    assert_eq!(refusal(net.keeper.uptime(&old, now)), Err("not_public_ip"));
    net.keeper.set_proof_rules(ProofRules::local(BLOCK_MS));

    // The transaction must be the proof's: node and height.
    let mut other = old.clone();
    other.tx = proof(1, ip, height, now).tx;
    assert_eq!(refusal(net.keeper.uptime(&other, now)), Err("bad_request"));

    // Nothing of that changed anything; the good proof is taken, and a second one within half
    // the (scaled) proof frequency is refused, even for a later height.
    assert!(net.keeper.view().node(&net.ids[0]).unwrap().last_uptime_proof_height.is_none());
    net.keeper.uptime(&old, now).unwrap();
    assert_eq!(net.keeper.view().node(&net.ids[0]).unwrap().last_uptime_proof_height, Some(height));
    net.keeper.block().unwrap();
    let again = proof(0, ip, height + 1, now + 7_000);
    assert_eq!(refusal(net.keeper.uptime(&again, now + 7_000)), Err("too_soon"));
    let rules = ProofRules::local(BLOCK_MS);
    assert_eq!(rules.timings.min_interval_ms(), 7_500);
}
