//! The one error type of this crate.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node was listed twice where each node is listed once (a quorum's active and
    /// decommissioned nodes, pulse candidates, a swarm's members, a tally's validators).
    #[error("node {node} is listed twice")]
    DuplicateNode {
        /// The node.
        node: sesh_identity::NodeId,
    },
    /// An unlock height was given for a node that is not one of the active nodes.
    #[error("node {node} is not active, so it has no unlock height for the blink quorum")]
    NotActive {
        /// The node.
        node: sesh_identity::NodeId,
    },
    /// A block hash's text is not 64 hex digits.
    #[error("a block hash is 64 hex digits, and this one is not: {why}")]
    InvalidBlockHash {
        /// What is wrong with it.
        why: &'static str,
    },
    /// A number that is not one of oxend's four state changes.
    #[error(
        "state {state} is not a state change (0 deregister, 1 decommission, 2 recommission, \
         3 ip_change_penalty)"
    )]
    UnknownState {
        /// The number.
        state: u16,
    },
    /// A worker index past the end of the quorum's workers.
    #[error("worker index {worker_index} is outside the quorum's {workers} workers")]
    WorkerOutOfRange {
        /// The index.
        worker_index: u32,
        /// How many workers the quorum has.
        workers: usize,
    },
    /// More validators than a state-change quorum has.
    #[error("a quorum of {validators} validators: a state-change quorum has at most {max}")]
    QuorumTooLarge {
        /// Validators given.
        validators: usize,
        /// The most there can be.
        max: usize,
    },
    /// A vote on another quorum than the tally's.
    #[error("a vote on the quorum of height {vote}, but this tally counts votes on height {tally}")]
    WrongHeight {
        /// The tally's quorum height.
        tally: u64,
        /// The vote's.
        vote: u64,
    },
    /// A vote on another worker than the tally's.
    #[error("a vote on worker {vote}, but this tally counts votes on worker {tally}")]
    WrongWorker {
        /// The tally's worker index.
        tally: u32,
        /// The vote's.
        vote: u32,
    },
    /// A vote for another state than the tally's.
    #[error("a vote for {vote}, but this tally counts votes for {tally}")]
    WrongState {
        /// The tally's state.
        tally: crate::vote::StateChange,
        /// The vote's.
        vote: crate::vote::StateChange,
    },
    /// A vote on a quorum above the current height.
    #[error("a vote on the quorum of height {vote_height} at height {height}: not yet a quorum")]
    VoteFromFuture {
        /// The vote's quorum height.
        vote_height: u64,
        /// The current height.
        height: u64,
    },
    /// A vote received after its lifetime.
    #[error(
        "a vote on the quorum of height {vote_height} at height {height}: votes count for \
         {lifetime} blocks"
    )]
    VoteTooLate {
        /// The vote's quorum height.
        vote_height: u64,
        /// The current height.
        height: u64,
        /// The vote lifetime in blocks.
        lifetime: u64,
    },
    /// A vote naming a validator the quorum does not have.
    #[error("validator index {validator_index} is outside the quorum's {validators} validators")]
    NotAValidator {
        /// The index the vote names.
        validator_index: u16,
        /// How many validators the quorum has.
        validators: usize,
    },
    /// A second vote of one validator in one tally.
    #[error("validator {validator_index} has already voted")]
    DuplicateVote {
        /// The validator's index.
        validator_index: u16,
    },
    /// A vote whose signatures are not its validator's.
    #[error("the vote of validator {validator_index} is not signed by its key")]
    ForgedVote {
        /// The validator's index the vote names.
        validator_index: u16,
    },
}

/// This crate's result.
pub type Result<T, E = Error> = core::result::Result<T, E>;
