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
    /// A balance history was given a height out of turn ([`signing::BalanceHistory::record`]);
    /// nothing changed.
    ///
    /// [`signing::BalanceHistory::record`]: crate::signing::BalanceHistory::record
    #[error("balance history: height {got} recorded out of turn (expected {expected})")]
    HistoryOutOfOrder {
        /// The next height.
        expected: u64,
        /// The height given.
        got: u64,
    },
    /// A signature was asked for before the node applied any height.
    #[error("this node has applied no height yet: it signs nothing")]
    NoHeightApplied,
    /// A reward balance was asked for at a height the node has not applied yet.
    #[error(
        "height {height} is not applied yet: this node signs balances at heights {from}..={to}"
    )]
    HeightNotApplied {
        /// The height asked for.
        height: u64,
        /// The oldest height it signs.
        from: u64,
        /// Its last height.
        to: u64,
    },
    /// A reward balance was asked for at a height the node no longer keeps.
    #[error("height {height} is forgotten: this node signs balances at heights {from}..={to}")]
    HeightForgotten {
        /// The height asked for.
        height: u64,
        /// The oldest height it signs.
        from: u64,
        /// Its last height.
        to: u64,
    },
    /// A reward balance of zero: nothing to claim.
    #[error("the ledger credits nothing to {address} at height {height}")]
    NothingCredited {
        /// The recipient (0x hex).
        address: String,
        /// The height.
        height: u64,
    },
    /// The request named a reward balance above the ledger's.
    #[error(
        "asked to sign {asked} atomic units for {address} at height {height}, but the ledger \
         credits {ledger}"
    )]
    AmountAboveLedger {
        /// The recipient (0x hex).
        address: String,
        /// The height.
        height: u64,
        /// The amount asked for, atomic units.
        asked: u128,
        /// The ledger's balance, atomic units.
        ledger: u128,
    },
    /// An exit or liquidation of a key that is no node of the contract as this node followed it.
    #[error("BLS key {key} is not a node of the staking contract (as this node followed it)")]
    NotInContract {
        /// The key (hex).
        key: String,
    },
    /// An exit or liquidation of a node the ledger holds in service (not removed).
    #[error("the ledger has the node of BLS key {key} in service ({status:?}): it is not removed")]
    NodeInService {
        /// The key (hex).
        key: String,
        /// Its status.
        status: sesh_staking::NodeStatus,
    },
    /// An exit of a node the ledger deregistered: it is liquidated, not exited.
    #[error("the node of BLS key {key} was deregistered: it is liquidated, not exited")]
    MustBeLiquidated {
        /// The key (hex).
        key: String,
    },
    /// A liquidation before the removed node's liquidation height.
    #[error(
        "the node of BLS key {key} is liquidated from height {liquidation_height}; this node's \
         next height is {next}"
    )]
    LiquidationTooEarly {
        /// The key (hex).
        key: String,
        /// Its liquidation height.
        liquidation_height: u64,
        /// This node's next height (its last applied + 1, as oxend counts).
        next: u64,
    },
    /// A liquidation of a node the ledger did not remove (it never had it, or liquidated it
    /// already): only an exit removes it from the contract.
    #[error("the node of BLS key {key} is not liquidatable: the ledger {}", match .status {
        Some(s) => format!("has it as {s:?}"),
        None => "never had it".to_owned(),
    })]
    NotLiquidatable {
        /// The key (hex).
        key: String,
        /// Its status in the ledger, if there.
        status: Option<sesh_staking::NodeStatus>,
    },
    /// An exit or liquidation timestamp too far from the node's clock.
    #[error("timestamp {timestamp} is more than {window} s from this node's clock ({now})")]
    TimestampOutOfWindow {
        /// The request's timestamp, unix seconds.
        timestamp: u64,
        /// The node's clock, unix seconds.
        now: u64,
        /// The window, seconds.
        window: u64,
    },
}

impl Error {
    /// The name of the rule a refused request broke, for an answer: an uptime proof's refusal
    /// (`stale_timestamp`, `too_soon`, … of [`sesh_quorum::Error::proof_refusal`]), `ledger`,
    /// a refused signature's rule (`amount_above_ledger`, `height_not_applied`, …, see
    /// [`signing`](crate::signing)), or `bad_request`.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::ProofRefused { source } => source.proof_refusal().unwrap_or("refused"),
            Self::Ledger(_) => "ledger",
            Self::NoHeightApplied => "no_height_applied",
            Self::HeightNotApplied { .. } => "height_not_applied",
            Self::HeightForgotten { .. } => "height_forgotten",
            Self::NothingCredited { .. } => "nothing_credited",
            Self::AmountAboveLedger { .. } => "amount_above_ledger",
            Self::NotInContract { .. } => "not_in_contract",
            Self::NodeInService { .. } => "node_in_service",
            Self::MustBeLiquidated { .. } => "must_be_liquidated",
            Self::LiquidationTooEarly { .. } => "liquidation_too_early",
            Self::NotLiquidatable { .. } => "not_liquidatable",
            Self::TimestampOutOfWindow { .. } => "timestamp_out_of_window",
            _ => "bad_request",
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
