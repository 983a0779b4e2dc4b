//! The network's obligations rules in the simulator: every block, the obligations quorum
//! (`sesh_quorum::obligations_quorum`, bit-exact with oxend) of the block 11 blocks below the
//! tip (oxend's reorg buffer) has its validators test its workers; each validator decides with
//! `sesh_quorum::decide`, and the votes are tallied (7 needed) into the state-change transactions
//! the ledger applies.
//!
//! What is modelled, and what is not:
//!
//! * **The checks.** A validator's test of a worker has three checks, each with its outcome in
//!   oxend's `TestResults`: the uptime proof (`uptime_proved`), reachability and the storage test
//!   (both `storage_server_reachable`, reason bit 8, as sesh's nodes report a failed storage
//!   test). Their true outcome comes from the worker's condition ([`Condition`]): an offline node
//!   stops sending proofs, and its last one goes stale 62.5 blocks (2 h 5 min) after it was
//!   sent — nodes prove every 30 blocks; it fails reachability once it has been unreachable for
//!   65 minutes (32.5 blocks, oxend's `VALIDITY − FREQUENCY`), and the storage-test check after
//!   5 blocks (a validator asks it for a message it must hold once a block, and more than 4
//!   failures among the last 8 fail it, oxend's rule for participation histories). An "amnesia"
//!   node answers but keeps nothing: it fails storage tests only. A flaky node fails each check
//!   of each test with its own rate. Then each verdict is wrong with the scenario's rates
//!   ([`CheckRates`]): a check the node truly passes fails with the false-positive rate (packet
//!   loss, a lost proof), a check it truly fails passes with the false-negative rate. Each
//!   validator draws its own verdicts.
//! * **The vote.** Each validator that is up and active decides about each worker, in worker
//!   order, with `decide` (credit, recommission, `MAX_DEACTIVATE_PER_BLOCK`), on the worker's
//!   ledger record (`WorkerInfo::from_node`). Votes are tallied per (worker, state); all of a
//!   quorum's votes arrive in the same block (the simulator has no network delay), in validator
//!   order, and the first 7 that agree make the decision, as oxend makes the transaction when
//!   the 7th vote arrives.
//! * **Signatures.** With `sign_all_votes`, every vote is signed (`Vote::sign`: the vote hash
//!   and the ledger message) and counted by a `VotePool` (`Tally::add` verifies both
//!   signatures). Without it (the default), votes are counted unsigned by the same rule, and
//!   only the 7 votes of a decision are signed (`Vote::sign`, real keys); the decision is built
//!   from them as `Tally::decision` builds it. What is skipped is the signing of votes that decide
//!   nothing and the tally's verification of the vote-hash signatures; the ledger still verifies
//!   the 7 ledger signatures of every decision. Both modes give the same decisions
//!   (`examples/tests/simulate.rs` checks it).
//! * **Not modelled:** checkpoint, pulse, timestamp and timesync participation (always good),
//!   IP changes (one IP per node, so no IP-change penalty), the hard-fork deregistration grace
//!   (the simulated year is not a hard fork's first week), network delay of votes, and uptime
//!   proofs as ledger transactions (the simulator knows when each node proved).

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use serde::Deserialize;
use sesh_identity::Identity;
use sesh_quorum::quorum::REORG_SAFETY_BUFFER_BLOCKS_POST_HF12;
use sesh_quorum::tally::CountedVote;
use sesh_quorum::{
    BlockHash, Decided, Decision, DecisionRules, Heights, Quorum, Reasons, ServiceNodes,
    StateChange, Status, Subject, TestResults, Vote, VotePool, WorkerInfo, decide,
    obligations_quorum,
};
use sesh_staking::oxen::HardFork;
use sesh_staking::{Ledger, NodeId, NodeStatus, Params};

/// oxend's `UPTIME_PROOF_FREQUENCY`: a node proves it is up every hour (30 blocks).
pub const PROOF_FREQUENCY_BLOCKS: u64 = 30;
/// oxend's `UPTIME_PROOF_VALIDITY` (2 h 5 min = 62.5 blocks): a proof older than 62 blocks is
/// missing.
pub const PROOF_VALIDITY_BLOCKS: u64 = 62;
/// oxend's reachability rule: a node fails once it has been unreachable for
/// `UPTIME_PROOF_VALIDITY − UPTIME_PROOF_FREQUENCY` (65 minutes, 32.5 blocks).
pub const UNREACHABLE_AFTER_BLOCKS: u64 = 33;
/// A failing node fails the storage-test check once this many of its tests failed: more than 4
/// of the last 8 (oxend's participation-history rule, which sesh's nodes apply to storage
/// tests), with one test a block.
pub const STORAGE_FAIL_AFTER_BLOCKS: u64 = 5;
/// Votes are cast for the quorum this many blocks below the tip (oxend's reorg buffer).
pub const VOTE_DELAY_BLOCKS: u64 = REORG_SAFETY_BUFFER_BLOCKS_POST_HF12;

/// How often one check's verdict is wrong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckRates {
    /// A check the node truly passes fails (packet loss, a lost proof).
    pub false_positive: f64,
    /// A check the node truly fails passes.
    pub false_negative: f64,
}

/// The rates of each check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Checks {
    /// Uptime-proof freshness.
    pub uptime: CheckRates,
    /// Reachability (the storage server answers pings).
    pub reachability: CheckRates,
    /// Storage tests (it returns a message it must hold).
    pub storage: CheckRates,
}

impl Checks {
    /// Every rate of every check.
    pub fn rates(&self) -> [(&'static str, f64); 6] {
        [
            ("checks.uptime.false_positive", self.uptime.false_positive),
            ("checks.uptime.false_negative", self.uptime.false_negative),
            ("checks.reachability.false_positive", self.reachability.false_positive),
            ("checks.reachability.false_negative", self.reachability.false_negative),
            ("checks.storage.false_positive", self.storage.false_positive),
            ("checks.storage.false_negative", self.storage.false_negative),
        ]
    }

    /// Sets the false-positive rate of every check.
    pub fn set_false_positive(&mut self, rate: f64) {
        for c in [&mut self.uptime, &mut self.reachability, &mut self.storage] {
            c.false_positive = rate;
        }
    }

    /// Sets the false-negative rate of every check.
    pub fn set_false_negative(&mut self, rate: f64) {
        for c in [&mut self.uptime, &mut self.reachability, &mut self.storage] {
            c.false_negative = rate;
        }
    }

    fn any_false_positive(&self) -> bool {
        [self.uptime, self.reachability, self.storage].iter().any(|c| c.false_positive > 0.0)
    }
}

/// What a failing node does wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Down: no proofs, no answers.
    Offline,
    /// Up and answering, but keeps nothing: fails storage tests only.
    Amnesia,
}

impl FaultKind {
    /// Its name in the outputs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Amnesia => "amnesia",
        }
    }
}

/// A worker's condition when it is tested.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Condition {
    /// It fails, and how, since when: (kind, first failing height, height of its last uptime
    /// proof before it failed).
    pub fault: Option<(FaultKind, u64, u64)>,
    /// The rate at which it fails each check on its own (a flaky node), 0 for none.
    pub flaky: f64,
}

impl Condition {
    /// Nothing wrong.
    pub const HEALTHY: Self = Self { fault: None, flaky: 0.0 };

    /// Whether it truly fails (uptime, reachability, storage) at `height`, before flakiness.
    pub fn truth(&self, height: u64) -> [bool; 3] {
        match self.fault {
            None => [false; 3],
            Some((FaultKind::Amnesia, since, _)) => {
                [false, false, height.saturating_sub(since) >= STORAGE_FAIL_AFTER_BLOCKS]
            }
            Some((FaultKind::Offline, since, last_proof)) => [
                height.saturating_sub(last_proof) > PROOF_VALIDITY_BLOCKS,
                height.saturating_sub(since) >= UNREACHABLE_AFTER_BLOCKS,
                height.saturating_sub(since) >= STORAGE_FAIL_AFTER_BLOCKS,
            ],
        }
    }

    /// Whether a validator can be up to test and vote: an offline node cannot.
    pub fn can_vote(&self) -> bool {
        !matches!(self.fault, Some((FaultKind::Offline, _, _)))
    }
}

/// A uniform draw in [0, 1).
pub fn unit(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// `true` with probability `p` (no draw when `p` is 0).
fn chance(rng: &mut ChaCha20Rng, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

/// A validator's verdict on one check: `failing` is the truth.
fn verdict(rng: &mut ChaCha20Rng, failing: bool, flaky: f64, rates: CheckRates) -> bool {
    let failing = failing || chance(rng, flaky);
    if failing { chance(rng, rates.false_negative) } else { !chance(rng, rates.false_positive) }
}

/// One validator's test of a worker.
fn test(rng: &mut ChaCha20Rng, truth: [bool; 3], flaky: f64, checks: &Checks) -> TestResults {
    let [uptime, reachability, storage] = truth;
    let uptime_proved = verdict(rng, uptime, flaky, checks.uptime);
    let reachable = verdict(rng, reachability, flaky, checks.reachability);
    let stored = verdict(rng, storage, flaky, checks.storage);
    TestResults {
        uptime_proved,
        storage_server_reachable: reachable && stored,
        ..TestResults::default()
    }
}

/// Counters over the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VoteStats {
    /// Quorums whose validators tested their workers.
    pub quorums: u64,
    /// Quorums with fewer than 7 validators up and active: nothing could be decided.
    pub quorums_without_quorum: u64,
    /// (Validator, worker) tests made with at least one failed check.
    pub failed_tests: u64,
    /// Votes cast, by state.
    pub votes: BTreeMap<&'static str, u64>,
    /// Votes signed (all of them with `sign_all_votes`, else only those of decisions).
    pub signed: u64,
    /// Tallies that reached 7 votes.
    pub decided: u64,
    /// Validators' decisions not to vote against a failing decommissioned node with credit.
    pub abstained: u64,
    /// Votes dropped by `MAX_DEACTIVATE_PER_BLOCK`.
    pub over_deactivation_limit: u64,
}

/// One validator's vote before it is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ballot {
    validator_index: u16,
    reasons: Reasons,
}

/// The obligations side of the simulated chain: the quorums of recent blocks and the vote
/// tallies.
#[derive(Debug)]
pub struct Obligations {
    rules: DecisionRules,
    params: Params,
    checks: Checks,
    sign_all: bool,
    hf: HardFork,
    /// The registered, fully funded nodes at the last block's close.
    nodes: ServiceNodes,
    /// Each recent block's obligations quorum, oldest first.
    quorums: VecDeque<(u64, Quorum)>,
    /// The tallies, when every vote is signed.
    pool: VotePool,
    /// Counters.
    pub stats: VoteStats,
}

impl Obligations {
    /// The rules of `params` (no hard-fork grace), each check's error `checks`.
    pub fn new(params: &Params, checks: Checks, sign_all: bool) -> Self {
        let rules =
            DecisionRules { hardfork_grace_blocks: 0, ..DecisionRules::from_params(params) };
        Self {
            rules,
            params: params.clone(),
            checks,
            sign_all,
            hf: HardFork::HF21,
            nodes: ServiceNodes::default(),
            quorums: VecDeque::new(),
            pool: VotePool::new(),
            stats: VoteStats::default(),
        }
    }

    /// Whether verdicts on a healthy worker can fail.
    pub fn noisy(&self) -> bool {
        self.checks.any_false_positive()
    }

    /// Takes the ledger's registered, fully funded nodes (after a block that changed them).
    pub fn refresh(&mut self, ledger: &Ledger) {
        let mut active = Vec::new();
        let mut decommissioned = Vec::new();
        for n in ledger.nodes().filter(|n| n.activation_height().is_some()) {
            match n.status() {
                NodeStatus::Active | NodeStatus::ExitRequested => active.push(n.id()),
                NodeStatus::Decommissioned => decommissioned.push(n.id()),
                _ => {}
            }
        }
        // The ledger's nodes are unique.
        self.nodes = ServiceNodes::new(active, decommissioned).unwrap_or_default();
    }

    /// Whether `node` was decommissioned at the last block's close.
    pub fn is_decommissioned(&self, node: &NodeId) -> bool {
        self.nodes.decommissioned().binary_search(node).is_ok()
    }

    /// Picks the obligations quorum of the block just closed (oxend's shuffle of every node,
    /// twice: most of a simulated block's work).
    pub fn close(&mut self, height: u64, hash: [u8; 32]) {
        let quorum = obligations_quorum(self.hf, &BlockHash::from_bytes(hash), &self.nodes);
        self.quorums.push_back((height, quorum));
        while self.quorums.len() as u64 > VOTE_DELAY_BLOCKS + 1 {
            self.quorums.pop_front();
        }
    }

    /// The quorum whose turn it is once the chain's tip is `tip`: the one of `tip − 11`.
    fn due(&mut self, tip: u64) -> Option<(u64, Quorum)> {
        let q = tip.checked_sub(VOTE_DELAY_BLOCKS)?;
        while self.quorums.front().is_some_and(|(height, _)| *height < q) {
            self.quorums.pop_front();
        }
        match self.quorums.front() {
            Some((height, _)) if *height == q => self.quorums.pop_front(),
            _ => None,
        }
    }

    /// The block after `ledger`'s tip: the validators of the quorum now due test its workers
    /// (`condition` says how each is doing at `now`), vote, and the decisions are returned for
    /// the ledger. `key` finds a validator's signing key.
    pub fn vote<'k>(
        &mut self,
        ledger: &Ledger,
        now: u64,
        condition: impl Fn(&NodeId) -> Condition,
        key: impl Fn(&NodeId) -> Option<&'k Identity>,
        rng: &mut ChaCha20Rng,
    ) -> Vec<Decided> {
        let tip = ledger.height();
        let Some((q, quorum)) = self.due(tip) else { return Vec::new() };
        self.stats.quorums += 1;
        // Validators that test: up, and still active (the ledger refuses other voters).
        let validators: Vec<(u16, Condition)> = quorum
            .validators
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                ledger.node(v).is_some_and(|n| {
                    matches!(n.status(), NodeStatus::Active | NodeStatus::ExitRequested)
                })
            })
            .map(|(i, v)| (u16::try_from(i).unwrap_or(u16::MAX), condition(v)))
            .filter(|(_, c)| c.can_vote())
            .collect();
        let needed = self.params.quorum_votes;
        if validators.len() < needed {
            self.stats.quorums_without_quorum += 1;
            return Vec::new();
        }
        let heights = Heights { obligations: q, latest: tip, block: tip, hard_fork_start: 0 };
        let noisy = self.noisy();
        let mut deactivated = vec![0u32; validators.len()];
        let mut ballots: BTreeMap<(u32, StateChange), Vec<Ballot>> = BTreeMap::new();
        let mut results = Vec::with_capacity(validators.len());
        for (wi, worker) in quorum.workers.iter().enumerate() {
            let c = condition(worker);
            let decommissioned = self.is_decommissioned(worker);
            if !noisy && c == Condition::HEALTHY && !decommissioned {
                // Every validator passes it: `decide` gives `Passing` (or `NotVotable`).
                continue;
            }
            let truth = c.truth(now);
            results.clear();
            results.extend(validators.iter().map(|_| test(rng, truth, c.flaky, &self.checks)));
            let failed = results.iter().filter(|r| !r.passed()).count();
            self.stats.failed_tests += failed as u64;
            if failed == 0 && !decommissioned {
                continue;
            }
            // A worker that has left the service since the quorum's height is no longer tested
            // (oxend no longer lists it).
            let Some(info) = ledger
                .node(worker)
                .filter(|n| {
                    matches!(
                        n.status(),
                        NodeStatus::Active | NodeStatus::ExitRequested | NodeStatus::Decommissioned
                    )
                })
                .map(WorkerInfo::from_node)
            else {
                continue;
            };
            let worker_index = u32::try_from(wi).unwrap_or(u32::MAX);
            for ((index, _), (r, count)) in
                validators.iter().zip(results.iter().zip(deactivated.iter_mut()))
            {
                match decide(&info, r, &heights, &self.rules, count) {
                    Decision::Vote { state, reasons } => {
                        *self.stats.votes.entry(state.name()).or_default() += 1;
                        ballots
                            .entry((worker_index, state))
                            .or_default()
                            .push(Ballot { validator_index: *index, reasons });
                    }
                    Decision::Abstain { .. } => self.stats.abstained += 1,
                    Decision::DeactivationLimit { .. } => self.stats.over_deactivation_limit += 1,
                    _ => {}
                }
            }
        }
        let decided = if self.sign_all {
            self.tally_signed(q, &quorum, &ballots, key, tip)
        } else {
            self.tally_unsigned(q, &quorum, &ballots, key)
        };
        self.stats.decided += decided.len() as u64;
        decided
    }

    /// Every vote signed and counted by the vote pool, which verifies them.
    fn tally_signed<'k>(
        &mut self,
        q: u64,
        quorum: &Quorum,
        ballots: &BTreeMap<(u32, StateChange), Vec<Ballot>>,
        key: impl Fn(&NodeId) -> Option<&'k Identity>,
        tip: u64,
    ) -> Vec<Decided> {
        let mut decided = Vec::new();
        for ((worker_index, state), group) in ballots {
            let Some(worker) = quorum.workers.get(*worker_index as usize) else { continue };
            let subject =
                Subject { height: q, worker_index: *worker_index, worker: *worker, state: *state };
            let mut done = false;
            for b in group {
                let Some(identity) =
                    quorum.validators.get(usize::from(b.validator_index)).and_then(&key)
                else {
                    continue;
                };
                let vote =
                    Vote::sign(identity, b.validator_index, &subject, b.reasons, &self.params);
                self.stats.signed += 1;
                if done {
                    // The decision is made with the first 7; later votes change nothing.
                    continue;
                }
                let status =
                    self.pool.add(&vote, &quorum.validators, &quorum.workers, tip, &self.params);
                if status == Ok(Status::Decided)
                    && let Some(d) =
                        self.pool.remove(q, *worker_index, *state).and_then(|t| t.decision())
                {
                    decided.push(d);
                    done = true;
                }
            }
        }
        self.pool.prune(tip);
        decided
    }

    /// Votes counted unsigned; the first 7 that agree are signed and make the decision.
    fn tally_unsigned<'k>(
        &mut self,
        q: u64,
        quorum: &Quorum,
        ballots: &BTreeMap<(u32, StateChange), Vec<Ballot>>,
        key: impl Fn(&NodeId) -> Option<&'k Identity>,
    ) -> Vec<Decided> {
        let needed = self.params.quorum_votes;
        let mut decided = Vec::new();
        for ((worker_index, state), group) in ballots {
            if group.len() < needed {
                continue;
            }
            let Some(worker) = quorum.workers.get(*worker_index as usize) else { continue };
            let subject =
                Subject { height: q, worker_index: *worker_index, worker: *worker, state: *state };
            let mut votes = Vec::with_capacity(needed);
            for b in group.iter().take(needed) {
                let Some(validator) = quorum.validators.get(usize::from(b.validator_index)) else {
                    continue;
                };
                let Some(identity) = key(validator) else { continue };
                let vote =
                    Vote::sign(identity, b.validator_index, &subject, b.reasons, &self.params);
                self.stats.signed += 1;
                votes.push(CountedVote {
                    validator_index: b.validator_index,
                    validator: *validator,
                    reasons: vote.reasons,
                    signature: vote.signature,
                    ledger_signature: vote.ledger_signature,
                });
            }
            if votes.len() < needed {
                continue;
            }
            // As `Tally::decision`: the reasons all votes give, and any gives.
            let reasons_all = votes.iter().fold(Reasons::from_bits(u16::MAX), |r, v| r & v.reasons);
            let reasons_any = votes.iter().fold(Reasons::NONE, |r, v| r | v.reasons);
            decided.push(Decided {
                height: q,
                worker_index: *worker_index,
                worker: *worker,
                state: *state,
                reasons_all,
                reasons_any,
                votes,
            });
        }
        decided
    }
}
