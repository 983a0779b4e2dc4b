//! The quorum cop in a network of a keeper and nodes without sockets: each node observes each
//! block's ledger view with the uptime proofs of its own proof book, sends its uptime proofs to
//! every node, tests what its plan says (the outcomes come from each node's fault), and sends
//! its votes to every node; each node tallies them and submits what 7 of them decide to the
//! keeper's ledger, which verifies and applies it (repeats refused).
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
    Ballot, Cop, LedgerView, Outcome, Reachability, Sample, Submissions, Timings, UptimeSubmission,
    VoteRefusal, read_storage_test, read_votes, storage_test_answer, storage_test_body,
    storage_test_passed, votes_body,
};
use sesh_node::proofs::{ProofBook, Received};
use sesh_quorum::proof::{MinVersions, ProofRules, SignedProof};
use sesh_quorum::{Reasons, StateChange, Status, Subject, Vote};
use sesh_staking::NodeStatus;
use sesh_staking::tx::{QuorumDecision, Tx};

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
    books: Vec<ProofBook>,
    ballots: Vec<Ballot>,
    submissions: Vec<Submissions>,
    /// Each node's last view (the keeper's ledger and its own proofs).
    views: Vec<LedgerView>,
    /// The ledger's refusals of submitted decisions.
    repeats: Vec<Error>,
    /// Decisions submitted, and applied.
    submitted: usize,
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
        let params = sesh_node::keeper::params();
        let cops = ids.iter().map(|id| Cop::new(*id, params.clone(), 0)).collect();
        let books = ids.iter().map(|id| ProofBook::new(*id, ProofRules::local(BLOCK_MS))).collect();
        let submissions = ids.iter().map(|id| Submissions::new(*id, &params)).collect();
        let log = genesis.log;
        Self {
            views: vec![keeper.view().clone(); n],
            keeper,
            log,
            keys: genesis.nodes,
            ids,
            cops,
            books,
            ballots: vec![Ballot::new(); n],
            submissions,
            repeats: Vec::new(),
            submitted: 0,
            faults: vec![Fault::Honest; n],
            rng,
        }
    }

    /// Whether node `i` takes requests from other nodes.
    fn hears(&self, i: usize) -> bool {
        !matches!(self.faults[i], Fault::Offline | Fault::Unreachable)
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

    /// One block, and every node's round on it; the refusals of their votes by every node.
    fn step(&mut self) -> Vec<Error> {
        let (record, _) = self.keeper.block().unwrap();
        self.log.extend(record);
        let ledger = self.keeper.view().clone();
        let state = self.keeper.state().unwrap();
        let now = (ledger.height * BLOCK_MS) as i64;
        let params = sesh_node::keeper::params();
        let mut refused = Vec::new();
        let n = self.ids.len();
        for i in 0..n {
            self.books[i].retain_listed(&ledger);
            self.ballots[i].close_block(ledger.height, ledger.obligations_quorum(), &params);
        }
        let hear: Vec<usize> = (0..n).filter(|j| self.hears(*j)).collect();
        for i in 0..n {
            if self.faults[i] == Fault::Offline {
                continue;
            }
            let to: Vec<usize> = (0..n).filter(|j| *j == i || hear.contains(j)).collect();
            let view = ledger.clone().with_proofs(&self.books[i], false);
            self.views[i] = view.clone();
            self.cops[i].observe(&view, &state);
            if self.cops[i].proof_due(&view) {
                let port = 22100 + i as u16;
                let proof = UptimeSubmission::new(
                    &self.keys[i],
                    Ipv4Addr::LOCALHOST,
                    port,
                    view.height,
                    now as u64,
                );
                // To itself and every node that hears it, each taking it once.
                for j in to.iter().copied() {
                    let got = self.books[j].receive(&proof.proof, &ledger, now as u64);
                    assert_eq!(got, Ok(Received::New), "node {j}, proof of {i}");
                }
            }
            let tests = self.cops[i].plan(&view, &state, now, 8, &mut self.rng);
            assert!(tests.len() <= 8);
            for t in tests {
                let outcome = self.outcome(&t.node.id, t.storage.is_some());
                self.cops[i].record(&t.node.id, outcome, now);
            }
            let (casts, _) = self.cops[i].process(&view, &self.keys[i], now);
            for c in casts {
                for j in to.iter().copied() {
                    match self.ballots[j].vote(&self.ids[i], &c.vote, ledger.height, &params) {
                        Ok(_) => {}
                        Err(e) => refused.push(e),
                    }
                    for d in self.ballots[j].take_decided() {
                        self.submissions[j].decided(&d, ledger.height);
                    }
                }
            }
        }
        // Every node submits the decisions due by its rule; the ledger refuses repeats.
        for j in (0..n).filter(|j| self.faults[*j] != Fault::Offline) {
            for (key, tx) in self.submissions[j].due(&ledger) {
                match self.keeper.submit(&tx) {
                    Ok(record) => {
                        self.log.extend(record);
                        self.submitted += 1;
                    }
                    Err(e) => self.repeats.push(e),
                }
                self.submissions[j].done(&key);
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
    // Each decision was applied once; the repeats (the second of the first two voters) were
    // refused by the ledger's rules, and nobody else submitted.
    assert_eq!(net.submitted, net.keeper.changes().len());
    assert!(net.repeats.len() <= net.submitted, "{:?}", net.repeats);
    assert!(
        net.repeats
            .iter()
            .all(|e| matches!(e, Error::Ledger(sesh_staking::Error::TxRejected { .. }))),
        "{:?}",
        net.repeats
    );
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
    // Node 0's own tally (every node keeps one).
    let mut ballot = net.ballots[0].clone();
    let quorum = ballot.quorum(q).unwrap().clone();
    let key = |id: &NodeId| &net.keys[net.ids.iter().position(|i| i == id).unwrap()];
    let subject = Subject {
        height: q,
        worker_index: 0,
        worker: quorum.workers[0],
        state: StateChange::Decommission,
    };
    let v0 = Vote::sign(key(&quorum.validators[0]), 0, &subject, Reasons::UPTIME, &params);

    let before = ballot.pending();
    let refusal = |r: Result<Status, Error>| match r {
        Err(Error::VoteRefused { kind, .. }) => kind,
        other => panic!("{other:?}"),
    };
    let vote = |b: &mut Ballot, from: &NodeId, v: &Vote| b.vote(from, v, height, &params);
    // Signed by validator 1 but naming validator 0: forged.
    let forged = Vote::sign(key(&quorum.validators[1]), 0, &subject, Reasons::UPTIME, &params);
    assert_eq!(refusal(vote(&mut ballot, &quorum.validators[1], &forged)), VoteRefusal::Forged);
    // Sent by a node that is not one of the quorum's validators.
    let worker = quorum.workers[1];
    let theirs = Vote::sign(key(&worker), 0, &subject, Reasons::UPTIME, &params);
    assert_eq!(refusal(vote(&mut ballot, &worker, &theirs)), VoteRefusal::NonMember);
    // A quorum past the vote lifetime, one above the node's height, a worker that height
    // does not have.
    let v = quorum.validators[0];
    let old = Subject { height: height - 60, ..subject };
    let late = Vote::sign(key(&v), 0, &old, Reasons::UPTIME, &params);
    assert_eq!(refusal(vote(&mut ballot, &v, &late)), VoteRefusal::Late);
    let future = Subject { height: height + 1, ..subject };
    let ahead = Vote::sign(key(&v), 0, &future, Reasons::UPTIME, &params);
    assert_eq!(refusal(vote(&mut ballot, &v, &ahead)), VoteRefusal::WrongHeight);
    let nobody = Subject { worker_index: 99, ..subject };
    let missing = Vote::sign(key(&v), 0, &nobody, Reasons::UPTIME, &params);
    assert_eq!(refusal(vote(&mut ballot, &v, &missing)), VoteRefusal::WrongHeight);
    // The vote signed for another height, sent for this one: its signatures do not hold.
    let mut moved = v0;
    moved.height = q - 1;
    assert_eq!(refusal(vote(&mut ballot, &v, &moved)), VoteRefusal::Forged);
    assert_eq!(ballot.pending(), before);

    // The genuine vote counts once.
    let status = vote(&mut ballot, &v, &v0).unwrap();
    assert_eq!(status, Status::Pending { votes: 1, needed: 7 });
    let counted = ballot.pending();
    assert_eq!(refusal(vote(&mut ballot, &v, &v0)), VoteRefusal::Duplicate);
    assert_eq!(ballot.pending(), counted);
    // One vote decides nothing: nothing to submit.
    assert!(ballot.take_decided().is_empty());
}

/// A decision on worker 0 of the quorum of `q`, by its validators `voters` (indices), tallied
/// by a node's ballot.
fn decide_on(net: &Net, q: u64, voters: &[u16]) -> sesh_quorum::Decided {
    let params = sesh_node::keeper::params();
    let height = net.keeper.chain().ledger().height();
    let mut ballot = net.ballots[0].clone();
    let quorum = ballot.quorum(q).unwrap().clone();
    let key = |id: &NodeId| &net.keys[net.ids.iter().position(|i| i == id).unwrap()];
    let subject = Subject {
        height: q,
        worker_index: 0,
        worker: quorum.workers[0],
        state: StateChange::Decommission,
    };
    for i in voters {
        let v = quorum.validators[usize::from(*i)];
        let vote = Vote::sign(key(&v), *i, &subject, Reasons::UPTIME, &params);
        ballot.vote(&v, &vote, height, &params).unwrap();
    }
    ballot.take_decided().pop().unwrap()
}

#[test]
fn a_decision_reaches_the_ledger_once_and_forged_or_short_ones_change_nothing() {
    let mut net = Net::new(14, 8);
    for _ in 0..70 {
        net.step();
    }
    let height = net.keeper.chain().ledger().height();
    let q = height - 12;
    let decided = decide_on(&net, q, &[0, 1, 2, 3, 4, 5, 6]);
    let tx = decided.to_tx().unwrap();
    let worker = decided.worker;
    let before = net.keeper.chain().ledger().state_hash();
    let rule = |r: Result<Vec<u8>, Error>| match r {
        Err(Error::Ledger(sesh_staking::Error::TxRejected { reason })) => {
            format!("{reason:?}").split([' ', '{']).next().unwrap().to_owned()
        }
        Err(Error::Ledger(e)) => format!("{e:?}").split([' ', '{']).next().unwrap().to_owned(),
        Err(e) => e.refusal().to_owned(),
        Ok(_) => "applied".to_owned(),
    };
    // Too few votes: six of the seven.
    let Tx::Decommission(d) = &tx.tx else { panic!() };
    let short = QuorumDecision { votes: d.votes[..6].to_vec(), ..d.clone() };
    assert_eq!(rule(net.keeper.submit(&Tx::Decommission(short).unsigned())), "NotEnoughVotes");
    // A vote's signature changed, and the votes claimed for another height.
    let mut forged = d.clone();
    forged.votes[3].1[0] ^= 1;
    assert_eq!(rule(net.keeper.submit(&Tx::Decommission(forged).unsigned())), "BadSignature");
    let moved = QuorumDecision { vote_height: q - 1, ..d.clone() };
    assert_eq!(rule(net.keeper.submit(&Tx::Decommission(moved).unsigned())), "BadSignature");
    // The votes of a decommission, submitted as a deregistration.
    assert_eq!(rule(net.keeper.submit(&Tx::Deregister(d.clone()).unsigned())), "BadSignature");
    // Not a quorum's decision: a height advance nobody but the block maker makes.
    let advance = Tx::AdvanceHeight(height + 1).unsigned();
    assert_eq!(rule(net.keeper.submit(&advance)), "bad_request");
    assert_eq!(net.keeper.chain().ledger().state_hash(), before);
    assert!(net.keeper.changes().is_empty());

    // The genuine one is applied; the same again (another node submitting it) is refused.
    assert_eq!(rule(net.keeper.submit(&tx)), "applied");
    assert_eq!(net.keeper.changes().len(), 1);
    assert_eq!(net.keeper.changes()[0].node, worker);
    let after = net.keeper.chain().ledger().state_hash();
    assert_eq!(rule(net.keeper.submit(&tx)), "NotActive");
    assert_eq!(net.keeper.chain().ledger().state_hash(), after);
    assert_eq!(
        net.status(net.ids.iter().position(|i| *i == worker).unwrap()),
        NodeStatus::Decommissioned
    );
}

#[test]
fn submissions_first_voters_at_once_the_others_later_unless_applied() {
    let mut net = Net::new(14, 10);
    for _ in 0..70 {
        net.step();
    }
    let height = net.keeper.chain().ledger().height();
    let q = height - 12;
    let decided = decide_on(&net, q, &[2, 3, 4, 5, 6, 7, 8]);
    let ledger = net.keeper.view().clone();
    let params = sesh_node::keeper::params();
    let first = decided.votes[0].validator;
    let third = decided.votes[2].validator;
    let outsider =
        *net.ids.iter().find(|id| decided.votes.iter().all(|v| v.validator != **id)).unwrap();
    let mut subs: Vec<Submissions> =
        [first, third, outsider].iter().map(|id| Submissions::new(*id, &params)).collect();
    for s in &mut subs {
        s.decided(&decided, height);
    }
    assert_eq!(subs[0].due(&ledger).len(), 1, "a first voter submits at once");
    assert!(subs[1].due(&ledger).is_empty(), "the third voter waits");
    assert!(subs[2].due(&ledger).is_empty(), "a node that did not vote waits");
    // The first voter is not answered (the ledger unreachable): it submits again later.
    assert!(subs[0].due(&ledger).is_empty());
    // Two blocks on, not applied: the others submit too.
    net.keeper.block().unwrap();
    net.keeper.block().unwrap();
    let later = net.keeper.view().clone();
    assert_eq!(later.height, height + 2);
    for s in &mut subs {
        assert_eq!(s.due(&later).len(), 1);
    }
    // Applied: nobody submits it again.
    net.keeper.submit(&decided.to_tx().unwrap()).unwrap();
    net.keeper.block().unwrap();
    net.keeper.block().unwrap();
    let applied = net.keeper.view().clone();
    for s in &mut subs {
        assert!(s.due(&applied).is_empty());
        assert!(s.is_empty());
    }
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
    let view = net.keeper.view().clone().with_proofs(&net.books[0], false);
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
fn a_node_refuses_uptime_proofs_as_oxend_does() {
    let mut net = Net::new(12, 9);
    for _ in 0..3 {
        net.keeper.block().unwrap();
    }
    let ledger = net.keeper.view().clone();
    let height = ledger.height;
    let now = 1_700_000_000_000u64;
    let ip = Ipv4Addr::LOCALHOST;
    let proof = |i: usize, ip: Ipv4Addr, height: u64, stamped: u64| {
        UptimeSubmission::new(&net.keys[i], ip, 22100, height, stamped).proof
    };
    let refusal = |r: Result<Received, Error>| r.map_err(|e| e.refusal());
    let (stale, future, good) = (
        proof(0, ip, height, now - 3_000),
        proof(0, ip, height, now + 3_000),
        proof(0, ip, height, now),
    );
    // Node 1's book.
    let mut book = ProofBook::new(net.ids[1], ProofRules::local(BLOCK_MS));
    assert_eq!(refusal(book.receive(&stale, &ledger, now)), Err("stale_timestamp"));
    assert_eq!(refusal(book.receive(&future, &ledger, now)), Err("future_timestamp"));

    // A signature of another key, and bytes changed after signing.
    let forged = proof(1, ip, height, now).proof().sign(&net.keys[0]);
    assert_eq!(refusal(book.receive(&forged, &ledger, now)), Err("bad_signature"));
    let mut bytes = good.encoded().to_vec();
    let at = bytes.windows(9).position(|w| w == b"127.0.0.1").unwrap();
    bytes[at + 8] = b'2';
    let changed = SignedProof::from_parts(&bytes, &good.ed_sig()).unwrap();
    assert_eq!(refusal(book.receive(&changed, &ledger, now)), Err("bad_signature"));

    // Mainnet's rules: a local address, and sesh's missing lokinet.
    book.set_rules(ProofRules { min_versions: MinVersions::HF21_2, ..ProofRules::mainnet() });
    assert_eq!(refusal(book.receive(&good, &ledger, now)), Err("old_version"));
    book.set_rules(ProofRules { allow_local_ips: false, ..ProofRules::local(BLOCK_MS) });
    assert_eq!(refusal(book.receive(&good, &ledger, now)), Err("not_public_ip"));
    book.set_rules(ProofRules::local(BLOCK_MS));

    // A node the ledger does not list.
    let stranger = Identity::from_seed(&sesh_identity::Seed::from_bytes([3; 32]));
    let theirs = UptimeSubmission::new(&stranger, ip, 22100, height, now).proof;
    assert_eq!(refusal(book.receive(&theirs, &ledger, now)), Err("bad_request"));

    // Nothing of that was taken; the good proof is, once: again it is known, not new.
    assert!(book.get(&net.ids[0]).is_none() && book.iter().len() == 0);
    assert_eq!(book.receive(&good, &ledger, now), Ok(Received::New));
    let view = ledger.clone().with_proofs(&book, false);
    assert_eq!(view.node(&net.ids[0]).unwrap().last_uptime_proof_height, Some(height));
    assert_eq!(view.node(&net.ids[0]).unwrap().record.unwrap().port, 22100);
    assert_eq!(book.receive(&good, &ledger, now + 100), Ok(Received::Known));
    // A second one within half the (scaled) proof frequency is refused, even for a later
    // height; an older one too, even after that.
    let again = proof(0, ip, height + 1, now + 7_000);
    assert_eq!(refusal(book.receive(&again, &ledger, now + 7_000)), Err("too_soon"));
    let rules = ProofRules::local(BLOCK_MS);
    assert_eq!(rules.timings.min_interval_ms(), 7_500);
    // (With oxend's tolerance below half the frequency an older proof is stale by then; under
    // a wider tolerance it is still refused.)
    let older = proof(0, ip, height, now - 1_000);
    assert_eq!(refusal(book.receive(&older, &ledger, now + 8_000)), Err("stale_timestamp"));
    let wide = sesh_quorum::proof::ProofTimings { tolerance_ms: 60_000, ..rules.timings };
    book.set_rules(ProofRules { timings: wide, ..rules });
    assert_eq!(refusal(book.receive(&older, &ledger, now + 8_000)), Err("too_soon"));
    book.set_rules(rules);
    let newer = proof(0, ip, height + 1, now + 8_000);
    assert_eq!(book.receive(&newer, &ledger, now + 8_000), Ok(Received::New));
}

#[test]
fn a_relayed_proof_is_relayed_on_once_not_back_and_refused_ones_not_at_all() {
    let mut net = Net::new(6, 11);
    net.keeper.block().unwrap();
    let ledger = net.keeper.view().clone();
    let state = net.keeper.state().unwrap();
    let now = 1_700_000_000_000u64;
    // Node 0's proof, sent to node 1 only; node 1 relays it, node 2 gets it from node 1.
    let proof =
        UptimeSubmission::new(&net.keys[0], Ipv4Addr::LOCALHOST, 22100, ledger.height, now).proof;
    let mut books: Vec<ProofBook> =
        net.ids.iter().map(|id| ProofBook::new(*id, ProofRules::local(BLOCK_MS))).collect();
    assert_eq!(books[1].receive(&proof, &ledger, now), Ok(Received::New));
    let peers = books[1].peers(&state, false);
    assert_eq!(peers.len(), 5, "every node but itself");
    let mut targets: Vec<NodeId> =
        books[1].relay_targets(&net.ids[0], &net.ids[0], &peers).iter().map(|r| r.id).collect();
    // Not back to its node (which sent it), not to itself.
    targets.sort();
    let mut others = [2, 3, 4, 5].map(|i| net.ids[i]);
    others.sort();
    assert_eq!(targets, others);
    assert!(!targets.contains(&net.ids[0]) && !targets.contains(&net.ids[1]));
    // Node 2 takes it from node 1: relays it on, not back to 1 nor to 0.
    assert_eq!(books[2].receive(&proof, &ledger, now + 5), Ok(Received::New));
    let on: Vec<NodeId> = books[2]
        .relay_targets(&net.ids[0], &net.ids[1], &books[2].peers(&state, false))
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(on.len(), 3);
    assert!(!on.contains(&net.ids[0]) && !on.contains(&net.ids[1]) && !on.contains(&net.ids[2]));
    // The same proof from another relayer: known, relayed no further.
    assert_eq!(books[2].receive(&proof, &ledger, now + 9), Ok(Received::Known));
    assert_eq!(books[1].receive(&proof, &ledger, now + 9), Ok(Received::Known));
    // A forged and a stale proof: refused (so never relayed), nothing held.
    let forged =
        UptimeSubmission::new(&net.keys[4], Ipv4Addr::LOCALHOST, 22104, ledger.height, now)
            .proof
            .proof()
            .sign(&net.keys[5]);
    assert!(matches!(books[3].receive(&forged, &ledger, now), Err(Error::ProofRefused { .. })));
    let stale = UptimeSubmission::new(
        &net.keys[4],
        Ipv4Addr::LOCALHOST,
        22104,
        ledger.height,
        now - 60_000,
    )
    .proof;
    assert_eq!(
        books[3].receive(&stale, &ledger, now).map_err(|e| e.refusal()),
        Err("stale_timestamp")
    );
    assert_eq!(books[3].iter().len(), 0);
    // Where the proof says the node is, it is reached: a proof's address over the state's.
    let moved = UptimeSubmission::new(
        &net.keys[4],
        Ipv4Addr::new(127, 0, 0, 9),
        30_000,
        ledger.height,
        now,
    )
    .proof;
    assert_eq!(books[3].receive(&moved, &ledger, now), Ok(Received::New));
    let r = books[3].peers(&state, false).into_iter().find(|r| r.id == net.ids[4]).unwrap();
    assert_eq!((r.ip, r.port), (Ipv4Addr::new(127, 0, 0, 9), 30_000));
}
