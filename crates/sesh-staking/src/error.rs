//! The one error type of this crate, and the reasons a transaction is rejected.

use crate::keys::{Address, NodeId};
use crate::node::NodeStatus;

/// What went wrong. Every variant names the input at fault and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ledger refused a transaction; nothing was changed.
    #[error("transaction rejected: {reason}")]
    TxRejected {
        /// The rule the transaction broke.
        reason: Rejection,
    },

    /// Transaction bytes that do not decode.
    #[error("cannot decode transaction: {why} (at byte {offset})")]
    Decode {
        /// Where decoding stopped.
        offset: usize,
        /// What was expected there.
        why: &'static str,
    },

    /// A signature that does not verify under the key that must have made it.
    #[error("bad signature by {signer}: the transaction was not signed by the key it names")]
    BadSignature {
        /// The key, as hex.
        signer: String,
    },

    /// The log or a snapshot is damaged; see [`LogProblem`].
    #[error("ledger log damaged at byte {offset}: {problem}")]
    Log {
        /// Where the damage starts.
        offset: u64,
        /// What is wrong there.
        problem: LogProblem,
    },

    /// Arithmetic that would overflow (oxend's functions wrap here; these refuse).
    #[error("arithmetic overflow in {what}")]
    Overflow {
        /// The computation.
        what: &'static str,
    },

    /// A division by zero.
    #[error("division by zero: {what} is 0")]
    DivisionByZero {
        /// The divisor.
        what: &'static str,
    },

    /// More reserved than the requirement (oxend's `req − reserved` wraps here).
    #[error("reserved {reserved} exceeds the staking requirement {requirement}")]
    ReservedExceedsRequirement {
        /// Total reserved.
        reserved: u64,
        /// The requirement.
        requirement: u64,
    },

    /// A hard fork this function does not cover.
    #[error("not defined for HF{hf}")]
    UnsupportedHardFork {
        /// The hard fork's major version.
        hf: u8,
    },

    /// A network name other than mainnet, testnet, devnet, localdev or stagenet.
    #[error("unknown network {name:?}: use mainnet, testnet, devnet, localdev or stagenet")]
    UnknownNetwork {
        /// The name given.
        name: String,
    },

    /// A fee percentage that is not a number.
    #[error("fee percentage {input:?} is not a number (write e.g. 10, 10% or 5.5)")]
    FeeSyntax {
        /// The text given (at most 40 characters).
        input: String,
    },

    /// A fee percentage below 0 or above 100.
    #[error("fee percentage {input:?} is outside 0 to 100")]
    FeeOutOfRange {
        /// The text given (at most 40 characters).
        input: String,
    },

    /// `nan` as a fee percentage (oxend accepts it; this does not).
    #[error("fee percentage is NaN")]
    FeeNotANumber,

    /// A chain kind handed over as a signed transaction: only the staking contract's events make
    /// these ([`VerifiedTx::attested`](crate::tx::VerifiedTx::attested)).
    #[error("transaction kind {kind} comes only from the staking contract's events, not signed")]
    ChainOnly {
        /// Its kind byte.
        kind: u8,
    },

    /// [`VerifiedTx::attested`](crate::tx::VerifiedTx::attested) given a kind the chain does not
    /// make: it needs its signatures checked.
    #[error("transaction kind {kind} is not a chain kind: verify its signatures instead")]
    NotAChainKind {
        /// Its kind byte.
        kind: u8,
    },
}

/// What is wrong with a log or snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogProblem {
    /// The bytes end inside a record: a write was cut off.
    #[error("truncated record (an interrupted write); everything before it is intact")]
    Truncated,
    /// A record's checksum does not match its contents.
    #[error("checksum mismatch; everything before this record is intact")]
    Checksum,
    /// A record or snapshot of an unknown format version.
    #[error("unknown format version {0}")]
    Version(u8),
    /// A record that decodes but does not apply to the ledger it follows.
    #[error("record does not apply to the state before it")]
    Inapplicable,
    /// A snapshot whose contents do not decode.
    #[error("snapshot contents do not decode")]
    Snapshot,
}

/// Why the ledger refused a transaction. The ledger is unchanged after any rejection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The signer's nonce is not the next one (a replay, or a transaction out of order).
    #[error("nonce {got} is not the signer's next nonce {expected}")]
    BadNonce {
        /// The nonce the ledger expects.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// No node with this id.
    #[error("no node {node}")]
    UnknownNode {
        /// The id given.
        node: NodeId,
    },
    /// The node is already registered.
    #[error("node {node} is already registered")]
    NodeAlreadyRegistered {
        /// The id.
        node: NodeId,
    },
    /// An all-zero BLS key.
    #[error("the BLS key is zero")]
    ZeroBlsKey,
    /// The BLS key belongs to another node.
    #[error("the BLS key is already used by node {node}")]
    BlsKeyInUse {
        /// The node that has it.
        node: NodeId,
    },
    /// The operator fee is above the maximum.
    #[error("fee {fee_bp} bp is above the maximum {max} bp")]
    FeeTooHigh {
        /// The fee given.
        fee_bp: u16,
        /// The maximum.
        max: u16,
    },
    /// A reservation list whose first entry is not the operator.
    #[error("the first reserved spot must be the operator's")]
    FirstReservationNotOperator,
    /// An address reserved twice.
    #[error("{address} is reserved twice")]
    DuplicateReservation {
        /// The address.
        address: Address,
    },
    /// A reserved contributor's first stake below its reservation.
    #[error("stake {amount} is below the {reserved} reserved for this contributor")]
    ContributionBelowReservation {
        /// The amount.
        amount: u64,
        /// The reservation.
        reserved: u64,
    },
    /// A public contributor's first stake below the minimum.
    #[error("stake {amount} is below the minimum contribution {minimum}")]
    ContributionBelowMinimum {
        /// The amount.
        amount: u64,
        /// The minimum now.
        minimum: u64,
    },
    /// Contributions plus open reservations would exceed the requirement.
    #[error(
        "{total} contributed plus {reserved} still reserved would exceed the requirement {requirement}"
    )]
    ContributionExceedsRequirement {
        /// Contributed, with this stake.
        total: u64,
        /// Reserved and not yet contributed.
        reserved: u64,
        /// The requirement.
        requirement: u64,
    },
    /// A zero amount.
    #[error("the amount is zero")]
    ZeroAmount,
    /// Contributions and withdrawals need a node that is awaiting contributions.
    #[error("the node is {status}, not awaiting contributions")]
    NotAwaitingContributions {
        /// Its status.
        status: NodeStatus,
    },
    /// The signer has no stake in the node.
    #[error("{address} is not a contributor of this node")]
    NotAContributor {
        /// The signer.
        address: Address,
    },
    /// A withdrawal before the delay after the contributor's last contribution.
    #[error("too early to withdraw: allowed from height {allowed_from}")]
    WithdrawTooEarly {
        /// The first height it is allowed at.
        allowed_from: u64,
    },
    /// The node is not in service (active or decommissioned).
    #[error("the node is {status}, not in service")]
    NotServing {
        /// Its status.
        status: NodeStatus,
    },
    /// The node has an exit request already.
    #[error("an exit is already requested; the node leaves after height {unlock_height}")]
    ExitAlreadyRequested {
        /// The unlock height set by the first request.
        unlock_height: u64,
    },
    /// A small contributor asked for an exit before its delay.
    #[error(
        "a contributor of less than a quarter of the stake may request an exit from height {allowed_from}"
    )]
    SmallContributorTooEarly {
        /// The first height it may.
        allowed_from: u64,
    },
    /// Exits and liquidations need a removed node.
    #[error("the node is {status}, not removed")]
    NotRemoved {
        /// Its status.
        status: NodeStatus,
    },
    /// A deregistered node's stake cannot be exited without penalty.
    #[error("the node was deregistered: its stake can only be liquidated")]
    MustBeLiquidated,
    /// The penalty-free exit window is over.
    #[error("the exit window closed at height {closed_at}: the node can only be liquidated now")]
    ExitWindowClosed {
        /// The height it closed at.
        closed_at: u64,
    },
    /// Liquidation before the exit window closed.
    #[error(
        "the node's stake can still be exited without penalty; it can be liquidated from height {from}"
    )]
    LiquidationTooEarly {
        /// The first height it can.
        from: u64,
    },
    /// The liquidation penalty is more than the operator staked.
    #[error("the penalty {penalty} exceeds the operator's stake {operator_stake}")]
    PenaltyExceedsOperatorStake {
        /// The penalty.
        penalty: u64,
        /// The operator's stake.
        operator_stake: u64,
    },
    /// Decommissions need an active node.
    #[error("the node is {status}, not active")]
    NotActive {
        /// Its status.
        status: NodeStatus,
    },
    /// Recommissions need a decommissioned node.
    #[error("the node is {status}, not decommissioned")]
    NotDecommissioned {
        /// Its status.
        status: NodeStatus,
    },
    /// Too little credit to be decommissioned.
    #[error(
        "credit {credit} is below the {minimum} blocks needed to decommission: deregister instead"
    )]
    CreditTooLow {
        /// The node's credit.
        credit: i64,
        /// The minimum.
        minimum: i64,
    },
    /// Votes cast for a height the ledger has not reached.
    #[error("votes are for height {vote_height}, but the ledger is at {height}")]
    VoteHeightInFuture {
        /// The votes' height.
        vote_height: u64,
        /// The ledger's.
        height: u64,
    },
    /// Votes older than the vote window.
    #[error("votes for height {vote_height} have expired at height {height}")]
    VotesExpired {
        /// The votes' height.
        vote_height: u64,
        /// The ledger's.
        height: u64,
    },
    /// Votes cast before the node's last state change (a replay of an old decision).
    #[error("votes for height {vote_height} predate the node's last change at {last_change}")]
    VotesPredateLastChange {
        /// The votes' height.
        vote_height: u64,
        /// The node's last change.
        last_change: u64,
    },
    /// A node voting on itself.
    #[error("node {voter} cannot vote on itself")]
    VoterIsTheNode {
        /// The voter.
        voter: NodeId,
    },
    /// A voter listed twice.
    #[error("node {voter} voted twice")]
    DuplicateVoter {
        /// The voter.
        voter: NodeId,
    },
    /// A vote by a node that is not active.
    #[error("voter {voter} is not an active node")]
    VoterNotActive {
        /// The voter.
        voter: NodeId,
    },
    /// No other node is active to vote.
    #[error("no other node is active, so no quorum can decide")]
    NoQuorumPossible,
    /// Too few votes.
    #[error("{got} votes, {needed} needed")]
    NotEnoughVotes {
        /// Votes given.
        got: usize,
        /// Votes needed.
        needed: usize,
    },
    /// An uptime proof made for another height.
    #[error("uptime proof for height {proof}, but the ledger is at {height}")]
    ProofNotForThisHeight {
        /// The proof's height.
        proof: u64,
        /// The ledger's.
        height: u64,
    },
    /// An uptime proof too soon after the last.
    #[error("the next uptime proof is due from height {next}")]
    ProofTooSoon {
        /// The first height the next proof is accepted at.
        next: u64,
    },
    /// A height advance that is not to the next height.
    #[error("the next height is {expected}, not {got}")]
    HeightNotNext {
        /// The next height.
        expected: u64,
        /// The height given.
        got: u64,
    },
    /// A rule of another era (e.g. portion registrations after HF19).
    #[error("{what} is not allowed")]
    NotInThisEra {
        /// What was attempted.
        what: &'static str,
    },
    /// More contributors than allowed.
    #[error("{count} contributors, but at most {max} are allowed")]
    TooManyContributors {
        /// Contributors there would be.
        count: usize,
        /// The maximum.
        max: usize,
    },
    /// A stake below the minimum at its position.
    #[error("stake {index} of {amount} is below the minimum {minimum}")]
    StakeBelowMinimum {
        /// Its position (0 is the operator).
        index: usize,
        /// The amount.
        amount: u64,
        /// The minimum there.
        minimum: u64,
    },
    /// A stake above what is left of the requirement.
    #[error("stake {index} of {amount} exceeds the {remaining} left of the requirement")]
    StakeAboveRemaining {
        /// Its position.
        index: usize,
        /// The amount.
        amount: u64,
        /// What was left.
        remaining: u64,
    },
    /// A registration that does not fill the requirement where it must.
    #[error("registration contributes {contributed} of the required {requirement}")]
    RegistrationNotFull {
        /// Contributed.
        contributed: u64,
        /// Required.
        requirement: u64,
    },
    /// No node has this BLS key.
    #[error("no node has BLS key {bls_key}")]
    UnknownBlsKey {
        /// The key, as hex.
        bls_key: String,
    },
    /// A registration with no contributors.
    #[error("a registration needs at least its operator's stake")]
    NoContributors,
    /// An address listed twice among a registration's contributors.
    #[error("{address} is listed twice among the contributors")]
    DuplicateContributor {
        /// The address.
        address: Address,
    },
    /// A zero staking requirement.
    #[error("the staking requirement cannot be zero")]
    ZeroRequirement,
}
