//! What an obligations-quorum validator votes for each worker it tested: the statements of
//! oxend's `quorum_cop::process_quorums`, in their order, with the node record's
//! `can_be_voted_on` and the decommission and recommission updates of the state-change handler.
//!
//! 1. A worker that cannot be voted on at the quorum's height (not fully funded, registered,
//!    recommissioned or decommissioned at or after it) is skipped: [`Decision::NotVotable`].
//! 2. A worker that passed its tests ([`TestResults::passed`]; `single_ip` does not count) gets a
//!    recommission vote if it is decommissioned, an IP-change penalty if it was seen on more
//!    than one IP, and otherwise nothing ([`Decision::Passing`]).
//! 3. A worker that failed gets the reasons of each failed test, and its credit at the latest
//!    height decides ([`oxen::failing_vote`]): active with at least the decommission minimum
//!    (60 blocks) → decommission; active with less → deregister; decommissioned with credit
//!    left → abstain; decommissioned with none → deregister.
//! 4. No deregistration within the hard fork's grace period (5,040 blocks, 7 days, after the
//!    hard fork of the block being processed began), except of a zero-stake HF21 "zombie".
//! 5. At most [`MAX_DEACTIVATE_PER_BLOCK`] (10) active nodes voted out per quorum: the counter
//!    goes up for every active node voted to decommission or deregister, the one over the limit
//!    included, and that vote is dropped.
//!
//! The tests themselves (proof age, reachability, participation) are the caller's: their
//! outcome is [`TestResults`].
//!
//! ```
//! use sesh_quorum::decision::{Decision, DecisionRules, Heights, TestResults, WorkerInfo, decide};
//! use sesh_quorum::vote::{Reasons, StateChange};
//!
//! let rules = DecisionRules::mainnet();
//! // Registered at 1,000 with the initial 60 blocks of credit; 7,200 blocks up: 300 blocks.
//! let worker = WorkerInfo::registered(1_000, &rules.credit);
//! let heights = Heights { obligations: 8_190, latest: 8_200, block: 8_199, hard_fork_start: 0 };
//! let offline = TestResults { uptime_proved: false, storage_server_reachable: false, ..TestResults::default() };
//! let mut deactivated = 0;
//! assert_eq!(
//!     decide(&worker, &offline, &heights, &rules, &mut deactivated),
//!     Decision::Vote { state: StateChange::Decommission, reasons: Reasons::UPTIME | Reasons::STORAGE },
//! );
//! assert_eq!(deactivated, 1);
//! assert_eq!(decide(&worker, &TestResults::default(), &heights, &rules, &mut deactivated), Decision::Passing);
//! ```

use sesh_staking::oxen::{self, CreditInfo, FailingVote, Network};
use sesh_staking::{CreditParams, Node, NodeStatus, Params};

use crate::vote::{Reasons, StateChange};

/// oxend's `MAX_DEACTIVATE_PER_BLOCK`: active nodes one validator votes out per quorum.
pub const MAX_DEACTIVATE_PER_BLOCK: u32 = 10;
/// oxend's `HARDFORK_DEREGISTRATION_GRACE_PERIOD` on mainnet: 7 days of 2-minute blocks.
pub const HARDFORK_DEREGISTRATION_GRACE_PERIOD: u64 = 5_040;

/// What the decision reads of a worker's record (oxend's `service_node_info`).
///
/// oxend keeps `active_since_height` signed, negated while decommissioned; this keeps the
/// height and a flag, so that a node active since height 0 can be decommissioned too
/// ([`WorkerInfo::oxend_active_since`] gives the signed form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkerInfo {
    /// Its stake is complete.
    pub fully_funded: bool,
    /// Height of registration.
    pub registration_height: u64,
    /// Start of the current active period, or while decommissioned of the last one.
    pub active_since_height: u64,
    /// Out of service by a decommission.
    pub decommissioned: bool,
    /// Height of its last decommission (0 if never).
    pub last_decommission_height: u64,
    /// Credit in blocks at the start of the current (or last) active period.
    pub recommission_credit: i64,
    /// Its staking requirement; 0 marks an HF21 "zombie", exempt from the hard-fork grace.
    pub staking_requirement: u64,
    /// Height of its last IP-change penalty (or registration); a penalty needs a later height.
    pub last_ip_change_height: u64,
}

impl WorkerInfo {
    /// A node registered (and, as from HF21, active) at `height`, with the schedule's initial
    /// credit (oxend's `DECOMMISSION_INITIAL_CREDIT`).
    pub fn registered(height: u64, credit: &CreditParams) -> Self {
        Self {
            fully_funded: true,
            registration_height: height,
            active_since_height: height,
            decommissioned: false,
            last_decommission_height: 0,
            recommission_credit: credit.initial,
            staking_requirement: 1,
            last_ip_change_height: height,
        }
    }

    /// The record of a ledger node. The ledger keeps no IP changes (sesh has no leader queue),
    /// so `last_ip_change_height` is the registration height.
    pub fn from_node(node: &Node) -> Self {
        Self {
            fully_funded: node.activation_height().is_some(),
            registration_height: node.registration_height(),
            active_since_height: node.active_since_height().unwrap_or(0),
            decommissioned: node.status() == NodeStatus::Decommissioned,
            last_decommission_height: node.last_decommission_height(),
            recommission_credit: node.recommission_credit(),
            staking_requirement: node.staking_requirement(),
            last_ip_change_height: node.registration_height(),
        }
    }

    /// oxend's signed `active_since_height`: negated while decommissioned.
    pub fn oxend_active_since(&self) -> i64 {
        let since = i64::try_from(self.active_since_height).unwrap_or(i64::MAX);
        if self.decommissioned { -since } else { since }
    }

    /// Fully funded and not decommissioned.
    pub fn is_active(&self) -> bool {
        self.fully_funded && !self.decommissioned
    }

    /// oxend's `can_be_voted_on`: fully funded, and `height` after its registration, after its
    /// last decommission if it is decommissioned, after the start of its active period if not.
    pub fn can_be_voted_on(&self, height: u64) -> bool {
        self.fully_funded
            && height > self.registration_height
            && if self.decommissioned {
                height > self.last_decommission_height
            } else {
                height > self.active_since_height
            }
    }

    /// oxend's `can_transition_to_state` (HF13 on): whether a decided `state` still applies to
    /// the record, for votes cast at `height`.
    pub fn can_transition_to(&self, state: StateChange, height: u64) -> bool {
        if !self.can_be_voted_on(height) {
            return false;
        }
        match state {
            StateChange::IpChangePenalty if height <= self.last_ip_change_height => false,
            StateChange::Decommission | StateChange::IpChangePenalty => !self.decommissioned,
            StateChange::Recommission => self.decommissioned,
            StateChange::Deregister => true,
        }
    }

    /// The credit in blocks at `height` (oxend's `calculate_decommission_credit`; the ledger's
    /// own function, [`oxen::decommission_credit_with`]).
    pub fn credit(&self, height: u64, credit: &CreditParams) -> i64 {
        oxen::decommission_credit_with(credit, &self.credit_info(), self.decommissioned, height)
    }

    /// oxend's decommission at `height`: the active period is kept (negated, in oxend) and the
    /// height noted.
    pub fn decommission(&mut self, height: u64) {
        self.decommissioned = true;
        self.last_decommission_height = height;
    }

    /// oxend's recommission at `height`: the credit it had when decommissioned, less two blocks
    /// for every block it was down (never below 0), starts a new active period. Returns the
    /// credit it had when decommissioned.
    pub fn recommission(&mut self, height: u64, credit: &CreditParams) -> i64 {
        let at_decommission = self.credit(self.last_decommission_height, credit);
        let down =
            i64::try_from(height.saturating_sub(self.last_decommission_height)).unwrap_or(i64::MAX);
        self.decommissioned = false;
        self.active_since_height = height;
        self.recommission_credit = oxen::recommission_credit(at_decommission, down);
        at_decommission
    }

    fn credit_info(&self) -> CreditInfo {
        CreditInfo {
            active_since_height: self.oxend_active_since(),
            last_decommission_height: self.last_decommission_height,
            recommission_credit: self.recommission_credit,
            total_contributed: u64::from(self.fully_funded),
            staking_requirement: 1,
        }
    }
}

/// The outcome of a validator's tests of one worker: oxend's `service_node_test_results`.
/// `true` is good for each, except `failed_transition`, where `true` is bad (as in oxend).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TestResults {
    /// An uptime proof no older than the proof lifetime.
    pub uptime_proved: bool,
    /// One IP address in its recent proofs (only an IP-change penalty if not).
    pub single_ip: bool,
    /// Took part in enough checkpoint votes.
    pub checkpoint_participation: bool,
    /// Took part in enough pulse quorums.
    pub pulse_participation: bool,
    /// Answered enough timestamp checks.
    pub timestamp_participation: bool,
    /// Its clock is in sync.
    pub timesync_status: bool,
    /// Its storage server is reachable.
    pub storage_server_reachable: bool,
    /// Its lokinet (session-router) is reachable.
    pub lokinet_reachable: bool,
    /// Its proofs' L2 height is recent.
    pub recent_l2_height: bool,
    /// An HF21 node that did not make the transition (true = bad).
    pub failed_transition: bool,
}

impl Default for TestResults {
    /// All good, as oxend initialises them.
    fn default() -> Self {
        Self {
            uptime_proved: true,
            single_ip: true,
            checkpoint_participation: true,
            pulse_participation: true,
            timestamp_participation: true,
            timesync_status: true,
            storage_server_reachable: true,
            lokinet_reachable: true,
            recent_l2_height: true,
            failed_transition: false,
        }
    }
}

impl TestResults {
    /// Every test passed but `single_ip`, which only ever leads to an IP-change penalty.
    pub fn passed(&self) -> bool {
        !self.failed_transition
            && self.uptime_proved
            && self.checkpoint_participation
            && self.pulse_participation
            && self.timestamp_participation
            && self.timesync_status
            && self.storage_server_reachable
            && self.lokinet_reachable
            && self.recent_l2_height
    }

    /// The reason bit of each failed test.
    pub fn reasons(&self) -> Reasons {
        let mut reasons = Reasons::NONE;
        for (failed, bit) in [
            (!self.uptime_proved, Reasons::UPTIME),
            (!self.checkpoint_participation, Reasons::CHECKPOINTS),
            (!self.pulse_participation, Reasons::PULSE),
            (!self.storage_server_reachable, Reasons::STORAGE),
            (!self.lokinet_reachable, Reasons::LOKINET),
            (!self.timestamp_participation, Reasons::TIMESTAMP),
            (!self.timesync_status, Reasons::TIMESYNC),
            (!self.recent_l2_height, Reasons::L2_HEIGHT),
            (self.failed_transition, Reasons::FAILED_TRANSITION),
        ] {
            if failed {
                reasons |= bit;
            }
        }
        reasons
    }
}

/// A network's numbers for the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecisionRules {
    /// The credit schedule (the decommission minimum among it).
    pub credit: CreditParams,
    /// Blocks after a hard fork begins during which no node is deregistered.
    pub hardfork_grace_blocks: u64,
    /// Active nodes one validator votes out per quorum.
    pub max_deactivate_per_block: u32,
}

impl DecisionRules {
    /// oxend's mainnet: 2-minute blocks, 60 blocks to decommission, 5,040 blocks of grace, 10
    /// deactivations.
    pub fn mainnet() -> Self {
        Self {
            credit: oxen::credit_params(Network::Mainnet),
            hardfork_grace_blocks: HARDFORK_DEREGISTRATION_GRACE_PERIOD,
            max_deactivate_per_block: MAX_DEACTIVATE_PER_BLOCK,
        }
    }

    /// A ledger's rules: its credit schedule, and a grace of 7 of its days.
    pub fn from_params(params: &Params) -> Self {
        let day = u64::try_from(params.credit.blocks_per_day).unwrap_or(0);
        Self {
            credit: params.credit,
            hardfork_grace_blocks: day.saturating_mul(7),
            max_deactivate_per_block: MAX_DEACTIVATE_PER_BLOCK,
        }
    }
}

/// The heights a decision reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Heights {
    /// The quorum's height (oxend's `m_obligations_height`): what the vote is cast for.
    pub obligations: u64,
    /// `max(chain height, target height)`: the credit is taken here.
    pub latest: u64,
    /// The height of the block being processed.
    pub block: u64,
    /// The first height of that block's hard fork.
    pub hard_fork_start: u64,
}

/// What a validator does about one worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The worker cannot be voted on at the quorum's height: skipped.
    NotVotable,
    /// It passed on one IP: counted good, no vote.
    Passing,
    /// Vote for `state`.
    Vote {
        /// The new state.
        state: StateChange,
        /// Why (empty for a recommission or an IP-change penalty).
        reasons: Reasons,
    },
    /// It is decommissioned and still failing, with `credit` blocks left: no vote, it stays
    /// decommissioned.
    Abstain {
        /// Credit left at the latest height.
        credit: i64,
        /// The failed tests.
        reasons: Reasons,
    },
    /// It should be deregistered, but the hard fork's grace period holds: no vote.
    HardForkGrace {
        /// The failed tests.
        reasons: Reasons,
    },
    /// It should be deactivated, but this validator has voted out the most active nodes it may
    /// for this quorum: no vote.
    DeactivationLimit {
        /// The state it would have voted.
        state: StateChange,
        /// The failed tests.
        reasons: Reasons,
    },
}

impl Decision {
    /// The vote to cast, if any.
    pub fn vote(&self) -> Option<(StateChange, Reasons)> {
        match *self {
            Self::Vote { state, reasons } => Some((state, reasons)),
            _ => None,
        }
    }
}

/// What a validator votes for `worker`, given its tests' `results` (oxend's
/// `process_quorums`, restated). `deactivations` counts the active nodes this validator has
/// voted out for this quorum so far; it is updated.
pub fn decide(
    worker: &WorkerInfo,
    results: &TestResults,
    heights: &Heights,
    rules: &DecisionRules,
    deactivations: &mut u32,
) -> Decision {
    if !worker.can_be_voted_on(heights.obligations) {
        return Decision::NotVotable;
    }
    let (state, reasons) = if results.passed() {
        if worker.decommissioned {
            (StateChange::Recommission, Reasons::NONE)
        } else if !results.single_ip {
            (StateChange::IpChangePenalty, Reasons::NONE)
        } else {
            return Decision::Passing;
        }
    } else {
        let reasons = results.reasons();
        let credit = worker.credit(heights.latest, &rules.credit);
        match oxen::failing_vote(worker.decommissioned, credit, rules.credit.decommission_minimum) {
            FailingVote::Abstain => return Decision::Abstain { credit, reasons },
            FailingVote::Decommission => (StateChange::Decommission, reasons),
            FailingVote::Deregister => (StateChange::Deregister, reasons),
        }
    };
    // oxend subtracts unsigned: a block before the hard fork's start wraps to a huge distance.
    let in_grace = heights
        .block
        .checked_sub(heights.hard_fork_start)
        .is_some_and(|since| since < rules.hardfork_grace_blocks);
    if state == StateChange::Deregister && in_grace && worker.staking_requirement != 0 {
        return Decision::HardForkGrace { reasons };
    }
    if worker.is_active() && matches!(state, StateChange::Deregister | StateChange::Decommission) {
        *deactivations = deactivations.saturating_add(1);
        if *deactivations > rules.max_deactivate_per_block {
            return Decision::DeactivationLimit { state, reasons };
        }
    }
    Decision::Vote { state, reasons }
}
