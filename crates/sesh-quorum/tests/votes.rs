//! Votes and their tally: a quorum's votes decide the same way in any order; forged, replayed,
//! late, early, wrong-height and non-member votes are refused with their typed error and change
//! nothing; a decision becomes a transaction the staking ledger applies (and a tampered one it
//! refuses); the decision's boundaries (hard-fork grace, deactivation limit, quorums too small).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::sync::OnceLock;

use proptest::prelude::*;
use sesh_identity::{Identity, NodeId, Seed};
use sesh_quorum::Error;
use sesh_quorum::decision::{Decision, DecisionRules, Heights, TestResults, WorkerInfo, decide};
use sesh_quorum::tally::{Decided, Status, Tally, VotePool};
use sesh_quorum::vote::{Reasons, StateChange, Subject, Vote};
use sesh_staking::tx::{Register, Tx};
use sesh_staking::{Address, BlsKey, Ledger, NodeStatus, Params};

const VALIDATORS: usize = 10;

fn key(n: u8) -> Identity {
    let mut seed = [0x51; 32];
    seed[0] = n;
    Identity::from_seed(&Seed::from_bytes(seed))
}

/// Validators 0..10, then outsiders 10..13.
fn keys() -> &'static [Identity] {
    static KEYS: OnceLock<Vec<Identity>> = OnceLock::new();
    KEYS.get_or_init(|| (0..13).map(key).collect())
}

fn validators() -> Vec<NodeId> {
    keys()[..VALIDATORS].iter().map(NodeId::from_identity).collect()
}

fn workers() -> Vec<NodeId> {
    (0..3u8).map(|k| NodeId::from_bytes([0xa0 + k; 32])).collect()
}

fn params() -> Params {
    Params::testnet(1_000)
}

fn subject(height: u64, worker_index: u32, state: StateChange) -> Subject {
    Subject { height, worker_index, worker: workers()[worker_index as usize], state }
}

fn vote(signer: usize, index: u16, subject: &Subject, reasons: u16) -> Vote {
    Vote::sign(&keys()[signer], index, subject, Reasons::from_bits(reasons), &params())
}

fn tally(height: u64, worker_index: u32, state: StateChange) -> Tally {
    Tally::new(height, &validators(), &workers(), worker_index, state, &params()).unwrap()
}

/// A vote the tally must refuse, and the refusal.
#[derive(Clone, Debug)]
enum Bad {
    /// Signed by an outsider, naming validator `index`.
    Outsider { index: u16, outsider: usize },
    /// Random signature bytes.
    Garbage { index: u16, bytes: [u8; 32] },
    /// Validator `from`'s valid vote, relabelled as validator `index`'s.
    Relabelled { index: u16, from: u16 },
    /// A valid vote hash signature without (or with another vote's) ledger signature.
    LedgerSignature { index: u16, drop: bool },
    /// An exact copy of honest vote number `of` (in the honest list).
    Replay { of: usize },
    /// A valid vote received `late` blocks past its lifetime.
    Late { index: u16, late: u64 },
    /// A valid vote received before its height.
    Early { index: u16, early: u64 },
    /// A valid vote for another height.
    WrongHeight { index: u16, delta: u64 },
    /// A valid vote on another worker.
    WrongWorker { index: u16 },
    /// A valid vote for another state.
    WrongState { index: u16 },
    /// An outsider naming an index past the validators.
    NonMember { index: u16 },
}

fn bad() -> impl Strategy<Value = Bad> {
    let index = 0..VALIDATORS as u16;
    prop_oneof![
        (index.clone(), 10..13usize)
            .prop_map(|(index, outsider)| Bad::Outsider { index, outsider }),
        (index.clone(), any::<[u8; 32]>()).prop_map(|(index, bytes)| Bad::Garbage { index, bytes }),
        (index.clone(), index.clone())
            .prop_filter("another validator", |(i, f)| i != f)
            .prop_map(|(index, from)| Bad::Relabelled { index, from }),
        (index.clone(), any::<bool>())
            .prop_map(|(index, drop)| Bad::LedgerSignature { index, drop }),
        (0..VALIDATORS).prop_map(|of| Bad::Replay { of }),
        (index.clone(), 0..1_000u64).prop_map(|(index, late)| Bad::Late { index, late }),
        (index.clone(), 1..50u64).prop_map(|(index, early)| Bad::Early { index, early }),
        (index.clone(), 1..100u64).prop_map(|(index, delta)| Bad::WrongHeight { index, delta }),
        index.clone().prop_map(|index| Bad::WrongWorker { index }),
        index.prop_map(|index| Bad::WrongState { index }),
        (VALIDATORS as u16..=u16::MAX).prop_map(|index| Bad::NonMember { index }),
    ]
}

/// What one case feeds the tally: a vote, the height it arrives at, and the refusal expected
/// (`None`: counted, or for a replay, counted or refused as a duplicate).
#[derive(Clone, Debug)]
struct Arrival {
    vote: Vote,
    at: u64,
    bad: Option<Bad>,
}

struct Case {
    height: u64,
    worker_index: u32,
    state: StateChange,
    honest: Vec<Arrival>,
    bad: Vec<Arrival>,
}

fn build(
    height: u64,
    worker_index: u32,
    state: StateChange,
    voters: &[(u16, u16, u64)],
    bads: &[Bad],
) -> Case {
    let s = subject(height, worker_index, state);
    let honest: Vec<Arrival> = voters
        .iter()
        .map(|&(index, reasons, delay)| Arrival {
            vote: vote(usize::from(index), index, &s, reasons),
            at: height + delay,
            bad: None,
        })
        .collect();
    let valid = |index: u16, subject: &Subject| vote(usize::from(index), index, subject, 1);
    let other_state = StateChange::ALL[(state.to_u16() as usize + 1) % 4];
    let bad = bads
        .iter()
        .filter_map(|b| {
            let (vote, at) = match *b {
                Bad::Outsider { index, outsider } => (vote(outsider, index, &s, 1), height),
                Bad::Garbage { index, bytes } => {
                    let mut v = valid(index, &s);
                    v.signature[..32].copy_from_slice(&bytes);
                    v.signature[32..].copy_from_slice(&bytes);
                    (v, height)
                }
                Bad::Relabelled { index, from } => {
                    let mut v = valid(from, &s);
                    v.validator_index = index;
                    (v, height)
                }
                Bad::LedgerSignature { index, drop } => {
                    let mut v = valid(index, &s);
                    v.ledger_signature = match (drop, v.ledger_signature) {
                        // An IP-change penalty has none: give it one.
                        (_, None) => Some(
                            valid(index, &subject(height, 0, StateChange::Deregister))
                                .ledger_signature?,
                        ),
                        (true, Some(_)) => None,
                        (false, Some(_)) => valid((index + 1) % 10, &s).ledger_signature,
                    };
                    (v, height)
                }
                Bad::Replay { of } => {
                    let original = honest.get(of % honest.len().max(1))?;
                    (original.vote, original.at)
                }
                Bad::Late { index, late } => (valid(index, &s), height + 60 + late),
                Bad::Early { index, early } => (valid(index, &s), height.checked_sub(early)?),
                Bad::WrongHeight { index, delta } => {
                    (valid(index, &subject(height + delta, worker_index, state)), height + delta)
                }
                Bad::WrongWorker { index } => {
                    (valid(index, &subject(height, (worker_index + 1) % 3, state)), height)
                }
                Bad::WrongState { index } => {
                    (valid(index, &subject(height, worker_index, other_state)), height)
                }
                Bad::NonMember { index } => (vote(10, index, &s, 1), height),
            };
            Some(Arrival { vote, at, bad: Some(b.clone()) })
        })
        .collect();
    Case { height, worker_index, state, honest, bad }
}

fn refusal_matches(bad: &Bad, error: &Error) -> bool {
    match bad {
        Bad::Outsider { .. }
        | Bad::Garbage { .. }
        | Bad::Relabelled { .. }
        | Bad::LedgerSignature { .. } => matches!(error, Error::ForgedVote { .. }),
        Bad::Replay { .. } => matches!(error, Error::DuplicateVote { .. }),
        Bad::Late { .. } => matches!(error, Error::VoteTooLate { .. }),
        Bad::Early { .. } => matches!(error, Error::VoteFromFuture { .. }),
        Bad::WrongHeight { .. } => matches!(error, Error::WrongHeight { .. }),
        Bad::WrongWorker { .. } => matches!(error, Error::WrongWorker { .. }),
        Bad::WrongState { .. } => matches!(error, Error::WrongState { .. }),
        Bad::NonMember { .. } => matches!(error, Error::NotAValidator { .. }),
    }
}

/// The tally of the honest votes alone, in validator order.
fn reference(case: &Case) -> (Status, Option<Decided>) {
    let mut t = tally(case.height, case.worker_index, case.state);
    let mut honest = case.honest.clone();
    honest.sort_by_key(|a| a.vote.validator_index);
    for a in &honest {
        t.add(&a.vote, a.at).unwrap();
    }
    (t.status(), t.decision())
}

fn honest_voters() -> impl Strategy<Value = Vec<(u16, u16, u64)>> {
    // Each validator votes or not, with its own (unsigned) reasons and arrival delay.
    proptest::collection::vec((any::<bool>(), 0..512u16, 0..60u64), VALIDATORS).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .filter(|(_, (votes, ..))| *votes)
            .map(|(i, (_, reasons, delay))| (i as u16, reasons, delay))
            .collect()
    })
}

fn any_state() -> impl Strategy<Value = StateChange> {
    prop::sample::select(StateChange::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The honest votes of a quorum, in any order, decide the same way; a decided
    /// decommission, recommission or deregistration carries ledger signatures that verify.
    #[test]
    fn any_order_decides_the_same(
        height in 100..1_000_000u64,
        worker_index in 0..3u32,
        state in any_state(),
        voters in honest_voters(),
        order in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let case = build(height, worker_index, state, &voters, &[]);
        let (status, decided) = reference(&case);
        let mut shuffled = case.honest.clone();
        // A permutation drawn from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        if !shuffled.is_empty() {
            let k = order.index(shuffled.len());
            shuffled.rotate_left(k);
        }
        let mut t = tally(height, worker_index, state);
        for a in &shuffled {
            prop_assert!(t.add(&a.vote, a.at).is_ok());
        }
        prop_assert_eq!(t.status(), status);
        prop_assert_eq!(t.decision(), decided.clone());
        prop_assert_eq!(decided.is_some(), voters.len() >= 7);
        if let Some(d) = decided {
            prop_assert_eq!(d.votes.len(), voters.len());
            prop_assert!(d.votes.windows(2).all(|w| w[0].validator_index < w[1].validator_index));
            match d.to_tx() {
                Some(tx) => prop_assert!(tx.verify(&params()).is_ok()),
                None => prop_assert_eq!(state, StateChange::IpChangePenalty),
            }
        }
    }

    /// Mixed in anywhere among a quorum's votes, forged, replayed, late, early, wrong-height,
    /// wrong-worker, wrong-state and non-member votes are each refused with their error, and
    /// the outcome is the honest votes' alone.
    #[test]
    fn bad_votes_change_nothing(
        height in 100..1_000_000u64,
        worker_index in 0..3u32,
        state in any_state(),
        voters in honest_voters(),
        bads in proptest::collection::vec(bad(), 1..12),
        keys in proptest::collection::vec(any::<u32>(), 32),
    ) {
        let case = build(height, worker_index, state, &voters, &bads);
        let (status, decided) = reference(&case);
        let mut all: Vec<Arrival> = case.honest.iter().chain(&case.bad).cloned().collect();
        let mut keyed: Vec<(u32, Arrival)> =
            all.drain(..).enumerate().map(|(i, a)| (keys[i % keys.len()] ^ i as u32, a)).collect();
        keyed.sort_by_key(|(k, _)| *k);

        let mut t = tally(height, worker_index, state);
        let mut duplicates = 0;
        for (_, a) in &keyed {
            let before = t.clone();
            match (&a.bad, t.add(&a.vote, a.at)) {
                (None, Ok(_)) => {}
                // A replay and its original are the same vote: whichever comes second is the
                // duplicate.
                (None, Err(Error::DuplicateVote { .. })) => duplicates += 1,
                (Some(Bad::Replay { .. }), Ok(_)) => {}
                (Some(Bad::Replay { .. }), Err(Error::DuplicateVote { .. })) => duplicates += 1,
                (Some(bad), Err(e)) => {
                    prop_assert!(refusal_matches(bad, &e), "{:?} refused with {:?}", bad, e);
                    prop_assert_eq!(&t, &before, "a refused vote changed the tally");
                }
                (expected, got) => prop_assert!(false, "{:?}: {:?}", expected, got),
            }
        }
        let replays = case.bad.iter().filter(|a| matches!(a.bad, Some(Bad::Replay { .. }))).count();
        prop_assert_eq!(duplicates, replays);
        prop_assert_eq!(t.status(), status);
        prop_assert_eq!(t.decision(), decided);
    }

    /// No vote makes the tally panic or counts without its validator's signatures: any height,
    /// indices, state and signature bytes (mostly those of the tally, so that the signature
    /// check is reached).
    #[test]
    fn arbitrary_votes_never_panic(
        height in prop_oneof![3 => Just(7u64), 1 => any::<u64>()],
        worker_index in prop_oneof![3 => Just(1u32), 1 => any::<u32>()],
        state in prop_oneof![3 => Just(StateChange::Decommission), 1 => any_state()],
        validator_index in prop_oneof![3 => 0..12u16, 1 => any::<u16>()],
        signature in proptest::collection::vec(any::<u8>(), 64),
        ledger in proptest::option::of(proptest::collection::vec(any::<u8>(), 64)),
        at in prop_oneof![3 => 7..70u64, 1 => any::<u64>()],
    ) {
        let mut t = tally(7, 1, StateChange::Decommission);
        let vote = Vote {
            height,
            worker_index,
            state,
            reasons: Reasons::from_bits(validator_index),
            validator_index,
            signature: signature.try_into().unwrap(),
            ledger_signature: ledger.map(|l| l.try_into().unwrap()),
        };
        let before = t.clone();
        prop_assert!(t.add(&vote, at).is_err());
        prop_assert_eq!(t, before);
    }
}

#[test]
fn vote_lifetime_boundaries() {
    let s = subject(500, 0, StateChange::Deregister);
    let mut t = tally(500, 0, StateChange::Deregister);
    assert_eq!(t.last_height(), 559);
    assert!(matches!(
        t.add(&vote(0, 0, &s, 1), 499),
        Err(Error::VoteFromFuture { vote_height: 500, height: 499 })
    ));
    assert!(t.add(&vote(0, 0, &s, 1), 500).is_ok());
    assert!(t.add(&vote(1, 1, &s, 1), 559).is_ok());
    assert_eq!(
        t.add(&vote(2, 2, &s, 1), 560),
        Err(Error::VoteTooLate { vote_height: 500, height: 560, lifetime: 60 })
    );
    assert_eq!(t.status(), Status::Pending { votes: 2, needed: 7 });
}

/// Replays are refused whatever their unsigned reasons say (the reasons are not signed, as in
/// oxend, so the first copy received is the one counted).
#[test]
fn replay_with_other_reasons_is_a_duplicate() {
    let s = subject(500, 2, StateChange::Decommission);
    let mut t = tally(500, 2, StateChange::Decommission);
    let original = vote(3, 3, &s, Reasons::UPTIME.bits());
    t.add(&original, 510).unwrap();
    let mut replay = original;
    replay.reasons = Reasons::STORAGE;
    assert_eq!(t.add(&replay, 511), Err(Error::DuplicateVote { validator_index: 3 }));
    // The same vote with its ledger signature dropped is not a duplicate but a forgery.
    let mut again = original;
    again.ledger_signature = None;
    assert_eq!(t.add(&again, 511), Err(Error::ForgedVote { validator_index: 3 }));
}

/// Live requires 7 votes whatever the quorum's size: fewer than 7 validators decide nothing.
#[test]
fn small_quorums_never_decide() {
    let six = &validators()[..6];
    let s = subject(500, 0, StateChange::Decommission);
    let mut t = Tally::new(500, six, &workers(), 0, StateChange::Decommission, &params()).unwrap();
    for i in 0..6u16 {
        t.add(&vote(usize::from(i), i, &s, 1), 500).unwrap();
    }
    assert_eq!(t.status(), Status::Pending { votes: 6, needed: 7 });
    assert_eq!(t.decision(), None);
    assert_eq!(
        t.add(&vote(6, 6, &s, 1), 500),
        Err(Error::NotAValidator { validator_index: 6, validators: 6 })
    );
}

#[test]
fn tally_construction_refusals() {
    let (v, w, p) = (validators(), workers(), params());
    assert_eq!(
        Tally::new(1, &v, &w, 3, StateChange::Deregister, &p),
        Err(Error::WorkerOutOfRange { worker_index: 3, workers: 3 })
    );
    let mut eleven = v.clone();
    eleven.push(NodeId::from_bytes([1; 32]));
    assert_eq!(
        Tally::new(1, &eleven, &w, 0, StateChange::Deregister, &p),
        Err(Error::QuorumTooLarge { validators: 11, max: 10 })
    );
    let mut twice = v.clone();
    twice[9] = twice[0];
    assert_eq!(
        Tally::new(1, &twice, &w, 0, StateChange::Deregister, &p),
        Err(Error::DuplicateNode { node: v[0] })
    );
    assert_eq!(StateChange::from_u16(4), Err(Error::UnknownState { state: 4 }));
}

/// The pool keeps one tally per (height, worker, state), none for a refused vote, and drops
/// tallies past their lifetime.
#[test]
fn vote_pool() {
    let (v, w, p) = (validators(), workers(), params());
    let mut pool = VotePool::new();
    let forged = vote(11, 0, &subject(500, 0, StateChange::Decommission), 1);
    assert_eq!(pool.add(&forged, &v, &w, 510, &p), Err(Error::ForgedVote { validator_index: 0 }));
    let out_of_range = vote(0, 0, &subject(500, 0, StateChange::Decommission), 1);
    assert_eq!(
        pool.add(&out_of_range, &v, &w[..0], 510, &p),
        Err(Error::WorkerOutOfRange { worker_index: 0, workers: 0 })
    );
    assert!(pool.is_empty());
    for i in 0..7u16 {
        let index = usize::from(i);
        pool.add(&vote(index, i, &subject(500, 0, StateChange::Decommission), 1), &v, &w, 510, &p)
            .unwrap();
        pool.add(&vote(index, i, &subject(520, 2, StateChange::Deregister), 9), &v, &w, 530, &p)
            .unwrap();
        if i < 3 {
            pool.add(
                &vote(index, i, &subject(500, 1, StateChange::Recommission), 0),
                &v,
                &w,
                510,
                &p,
            )
            .unwrap();
        }
    }
    assert_eq!(pool.len(), 3);
    let decided: Vec<(u64, u32)> = pool.decided().map(|d| (d.height, d.worker_index)).collect();
    assert_eq!(decided, [(500, 0), (520, 2)]);
    assert_eq!(
        pool.tally(500, 1, StateChange::Recommission).map(Tally::status),
        Some(Status::Pending { votes: 3, needed: 7 })
    );
    assert!(pool.remove(500, 0, StateChange::Decommission).is_some());
    pool.prune(559);
    assert_eq!(pool.len(), 2);
    pool.prune(560);
    assert_eq!(pool.len(), 1);
    pool.prune(580);
    assert!(pool.is_empty());
}

fn failing() -> TestResults {
    TestResults { uptime_proved: false, ..TestResults::default() }
}

/// The hard-fork grace: no deregistration while `block − start < 5040`, except of a zero-stake
/// node; the deactivation limit: the 11th active node voted out in one quorum is not.
#[test]
fn decision_boundaries() {
    let rules = DecisionRules::mainnet();
    // Active since 10,000 with no credit: it can only be deregistered.
    let worker = WorkerInfo {
        fully_funded: true,
        registration_height: 10_000,
        active_since_height: 10_000,
        decommissioned: false,
        last_decommission_height: 0,
        recommission_credit: 0,
        staking_requirement: 25_000_000_000_000,
        last_ip_change_height: 10_000,
    };
    let at = |since_fork: u64| Heights {
        obligations: 10_100,
        latest: 10_110,
        block: 20_000,
        hard_fork_start: 20_000 - since_fork,
    };
    let deregister = Decision::Vote { state: StateChange::Deregister, reasons: Reasons::UPTIME };
    let grace = Decision::HardForkGrace { reasons: Reasons::UPTIME };
    for (since_fork, stake, want) in
        [(5_039, 1, grace), (5_040, 1, deregister), (0, 0, deregister), (5_039, 0, deregister)]
    {
        let mut count = 0;
        let w = WorkerInfo { staking_requirement: stake, ..worker };
        assert_eq!(decide(&w, &failing(), &at(since_fork), &rules, &mut count), want);
    }
    let mut count = 10;
    assert_eq!(
        decide(&worker, &failing(), &at(6_000), &rules, &mut count),
        Decision::DeactivationLimit { state: StateChange::Deregister, reasons: Reasons::UPTIME }
    );
    assert_eq!(count, 11);
    let mut count = 9;
    assert_eq!(decide(&worker, &failing(), &at(6_000), &rules, &mut count), deregister);
    assert_eq!(count, 10);
}

// ---- the ledger applies what the quorum decides ----

const REQUIREMENT: u64 = 1_000;

fn register(ledger: &mut Ledger, operator: &Identity, node: &Identity, n: u8) {
    let params = ledger.params().clone();
    let (op, id, bls) = (
        Address::from_identity(operator),
        NodeId::from_identity(node),
        BlsKey::from_bytes([n + 1; 64]),
    );
    let tx = Tx::Register(Register {
        operator: op,
        nonce: 0,
        node: id,
        bls_key: bls,
        fee_bp: 0,
        stake: REQUIREMENT,
        beneficiary: op,
        reservations: vec![],
        node_signature: node.sign(&Register::node_message(&id, &bls, &op, &params)).to_bytes(),
    });
    ledger.apply_signed(&tx.sign(operator, &params).unwrap()).unwrap();
}

fn advance_to(ledger: &mut Ledger, height: u64) {
    while ledger.height() < height {
        let next = ledger.height() + 1;
        ledger.apply_signed(&Tx::AdvanceHeight(next).unsigned()).unwrap();
    }
}

/// Every validator tests the worker, decides, signs; the tally of their votes becomes the
/// ledger's transaction.
fn quorum_decides(
    ledger: &Ledger,
    worker_key: &Identity,
    validator_keys: &[Identity],
    results: &TestResults,
) -> Option<Decided> {
    let params = ledger.params().clone();
    let worker = NodeId::from_identity(worker_key);
    let validators: Vec<NodeId> = validator_keys.iter().map(NodeId::from_identity).collect();
    let info = WorkerInfo::from_node(ledger.node(&worker).unwrap());
    let h = ledger.height();
    // The quorum of the block before, as oxend votes on a past height.
    let heights = Heights { obligations: h - 1, latest: h, block: h, hard_fork_start: 0 };
    let rules = DecisionRules::from_params(&params);
    let mut tally: Option<Tally> = None;
    for (i, key) in validator_keys.iter().enumerate() {
        let mut count = 0;
        let Decision::Vote { state, reasons } =
            decide(&info, results, &heights, &rules, &mut count)
        else {
            return None;
        };
        let subject = Subject { height: h - 1, worker_index: 0, worker, state };
        let t = tally.get_or_insert_with(|| {
            Tally::new(h - 1, &validators, &[worker], 0, state, &params).unwrap()
        });
        t.add(&Vote::sign(key, i as u16, &subject, reasons, &params), h).unwrap();
    }
    tally?.decision()
}

#[test]
fn the_ledger_applies_what_the_quorum_decides() {
    let params = Params::testnet(REQUIREMENT);
    let mut ledger = Ledger::new(params.clone());
    let operators: Vec<Identity> = (100..111).map(key).collect();
    let nodes: Vec<Identity> = (200..211).map(key).collect();
    for (n, (op, node)) in operators.iter().zip(&nodes).enumerate() {
        register(&mut ledger, op, node, n as u8);
    }
    let (worker_key, validator_keys) = (&nodes[0], &nodes[1..]);
    let worker = NodeId::from_identity(worker_key);
    let status = |l: &Ledger| l.node(&worker).unwrap().status();

    // Passing: no vote. After 7,200 blocks (300 blocks of credit), offline: decommissioned.
    advance_to(&mut ledger, 7_200);
    assert_eq!(quorum_decides(&ledger, worker_key, validator_keys, &TestResults::default()), None);
    let offline = TestResults { uptime_proved: false, ..TestResults::default() };
    let decided = quorum_decides(&ledger, worker_key, validator_keys, &offline).unwrap();
    assert_eq!((decided.state, decided.votes.len()), (StateChange::Decommission, 10));
    let tx = decided.to_tx().unwrap();

    // A tampered ledger signature: the ledger refuses the transaction and is unchanged.
    let mut forged = tx.clone();
    if let Tx::Decommission(d) = &mut forged.tx {
        d.votes[3].1[0] ^= 1;
    }
    let before = ledger.clone();
    assert!(ledger.apply_signed(&forged).is_err());
    assert_eq!(ledger, before);
    ledger.apply_signed(&tx).unwrap();
    assert_eq!(status(&ledger), NodeStatus::Decommissioned);
    // Replayed: refused, nothing changes.
    let before = ledger.clone();
    assert!(ledger.apply_signed(&tx).is_err());
    assert_eq!(ledger, before);

    // Back after 100 blocks: recommissioned with 300 − 2·100 = 100 blocks of credit.
    advance_to(&mut ledger, 7_300);
    let decided = quorum_decides(&ledger, worker_key, validator_keys, &TestResults::default());
    ledger.apply_signed(&decided.unwrap().to_tx().unwrap()).unwrap();
    assert_eq!(status(&ledger), NodeStatus::Active);
    assert_eq!(ledger.node(&worker).unwrap().recommission_credit(), 100);

    // Down again at once: 100 blocks of credit, decommissioned; still down when the credit is
    // spent: the quorum abstains until then, and deregisters after.
    advance_to(&mut ledger, 7_302);
    let decided = quorum_decides(&ledger, worker_key, validator_keys, &offline).unwrap();
    ledger.apply_signed(&decided.to_tx().unwrap()).unwrap();
    advance_to(&mut ledger, 7_402);
    assert_eq!(quorum_decides(&ledger, worker_key, validator_keys, &offline), None);
    advance_to(&mut ledger, 7_403);
    let decided = quorum_decides(&ledger, worker_key, validator_keys, &offline).unwrap();
    assert_eq!(decided.state, StateChange::Deregister);
    ledger.apply_signed(&decided.to_tx().unwrap()).unwrap();
    assert_eq!(status(&ledger), NodeStatus::Removed);
}
