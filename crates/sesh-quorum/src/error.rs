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
    /// An uptime proof that does not decode as oxend reads one.
    #[error("the uptime proof is malformed: {why}")]
    MalformedProof {
        /// What is wrong.
        why: &'static str,
    },
    /// An uptime proof without one of the keys oxend requires.
    #[error("the uptime proof has no \"{key}\"")]
    MissingProofKey {
        /// The key.
        key: &'static str,
    },
    /// An uptime proof whose value of a key is not of its type or range.
    #[error("the uptime proof's \"{key}\" is not of its type or range")]
    BadProofValue {
        /// The key.
        key: &'static str,
    },
    /// An uptime proof with a storage port of 0 on a network with storage servers.
    #[error("the uptime proof of {node} has a storage port of 0")]
    ZeroStoragePort {
        /// The node (its `pke`).
        node: sesh_identity::NodeId,
    },
    /// An uptime proof whose timestamp is too far from the receiver's clock.
    #[error(
        "the uptime proof of {node} is stamped {timestamp} s, the clock reads {now_ms} ms: more \
         than {tolerance_ms} ms apart"
    )]
    ProofTimestamp {
        /// The node.
        node: sesh_identity::NodeId,
        /// The proof's timestamp, Unix seconds.
        timestamp: u64,
        /// The receiver's clock, Unix ms.
        now_ms: u64,
        /// The tolerance, ms.
        tolerance_ms: u64,
    },
    /// An uptime proof reporting a version below the minimum.
    #[error(
        "the uptime proof of {node} reports {component} {version:?}; at least {min:?} is required"
    )]
    OldVersion {
        /// The node.
        node: sesh_identity::NodeId,
        /// `oxend`, `lokinet` or `storage server`.
        component: &'static str,
        /// The version reported.
        version: [u16; 3],
        /// The minimum.
        min: [u16; 3],
    },
    /// An uptime proof whose IP is not public.
    #[error("the uptime proof of {node} gives {ip}, which is not a public address")]
    NotPublicIp {
        /// The node.
        node: sesh_identity::NodeId,
        /// The address.
        ip: std::net::Ipv4Addr,
    },
    /// An uptime proof whose primary key is not its Ed25519 key (refused from HF21).
    #[error("the uptime proof's primary key {pubkey} is not its Ed25519 key {pubkey_ed25519}")]
    ProofKeyMismatch {
        /// `pk`.
        pubkey: sesh_identity::NodeId,
        /// `pke`.
        pubkey_ed25519: sesh_identity::NodeId,
    },
    /// An uptime proof whose Ed25519 key is no key (no X25519 key derives from it).
    #[error("the uptime proof's Ed25519 key {node} is not a usable key")]
    InvalidProofKey {
        /// The key.
        node: sesh_identity::NodeId,
    },
    /// An uptime proof whose signature is not its key's on its bytes.
    #[error("the uptime proof of {node} is not signed by its key")]
    ForgedProof {
        /// The key it names.
        node: sesh_identity::NodeId,
    },
    /// An uptime proof within half the proof frequency of the node's last accepted one.
    #[error(
        "an uptime proof of {node} was accepted at {previous_ms} ms; the next is taken after \
         {next_ms} ms"
    )]
    ProofTooSoon {
        /// The node.
        node: sesh_identity::NodeId,
        /// When the last was accepted (the receiver's clock, Unix ms).
        previous_ms: u64,
        /// When the next can be.
        next_ms: u64,
    },
}

impl Error {
    /// A short name of the rule an uptime proof broke (`stale_timestamp`, `too_soon`, …), or
    /// `None` for an error about something else.
    pub fn proof_refusal(&self) -> Option<&'static str> {
        Some(match self {
            Self::MalformedProof { .. }
            | Self::MissingProofKey { .. }
            | Self::BadProofValue { .. } => "malformed",
            Self::ZeroStoragePort { .. } => "zero_storage_port",
            Self::ProofTimestamp { timestamp, now_ms, .. } => {
                if timestamp.saturating_mul(1000) < *now_ms {
                    "stale_timestamp"
                } else {
                    "future_timestamp"
                }
            }
            Self::OldVersion { .. } => "old_version",
            Self::NotPublicIp { .. } => "not_public_ip",
            Self::ProofKeyMismatch { .. } => "key_mismatch",
            Self::InvalidProofKey { .. } => "invalid_key",
            Self::ForgedProof { .. } => "bad_signature",
            Self::ProofTooSoon { .. } => "too_soon",
            _ => return None,
        })
    }
}

/// This crate's result.
pub type Result<T, E = Error> = core::result::Result<T, E>;
