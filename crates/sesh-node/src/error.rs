//! The one error type of this crate.

/// What went wrong, and which input broke which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The staking ledger refused a transaction (or its log is damaged).
    #[error("ledger: {0}")]
    Ledger(#[from] sesh_staking::Error),
    /// The swarms could not be computed.
    #[error("swarms: {0}")]
    Swarms(#[from] sesh_swarm::Error),
    /// A block's reward could not be paid.
    #[error("rewards: {0}")]
    Rewards(#[from] sesh_rewards::Error),
    /// A network state was malformed or badly signed.
    #[error("network: {0}")]
    Network(#[from] sesh_network::Error),
    /// A request from another node is not of its form: what is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// A relay to this destination is refused (see [`egress`](crate::egress)).
    #[error("relay refused: {0}")]
    Egress(String),
    /// A node asked for a swarm's messages without being a member of that swarm.
    #[error("the requesting node is not a member of that swarm")]
    NotMember,
    /// A state-change vote was refused (see [`obligations::Ballot`](crate::obligations::Ballot));
    /// nothing changed.
    #[error("vote refused ({kind}): {why}")]
    VoteRefused {
        /// Which rule it broke.
        kind: crate::obligations::VoteRefusal,
        /// What exactly.
        why: String,
    },
    /// An uptime proof was refused by oxend's checks ([`sesh_quorum::proof::accept`]); nothing
    /// changed.
    #[error("uptime proof refused ({name}): {source}", name = .source.proof_refusal().unwrap_or("refused"))]
    ProofRefused {
        /// Which of oxend's rules it broke.
        #[source]
        source: sesh_quorum::Error,
    },
}

impl Error {
    /// The name of the rule a refused request broke, for an answer: an uptime proof's refusal
    /// (`stale_timestamp`, `too_soon`, … of [`sesh_quorum::Error::proof_refusal`]), `ledger`,
    /// or `bad_request`.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::ProofRefused { source } => source.proof_refusal().unwrap_or("refused"),
            Self::Ledger(_) => "ledger",
            _ => "bad_request",
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
