//! The one error type of this crate.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A log of the followed contract that does not decode as the event its first topic names.
    #[error("log {at} does not decode as {event}: {why}")]
    MalformedLog {
        /// Where the log is.
        at: crate::LogPosition,
        /// The event its topic names.
        event: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A log of the followed contract whose first topic names no event of the contract (or a
    /// log with no topics: an anonymous event, which the contract does not emit).
    #[error("log {at} has an unknown event topic {}", topic.map_or_else(|| "(none)".to_owned(), |t| format!("0x{}", hex::encode(t))))]
    UnknownEvent {
        /// Where the log is.
        at: crate::LogPosition,
        /// Its first topic, if it has one.
        topic: Option<[u8; 32]>,
    },
    /// A follower configuration that cannot work.
    #[error("invalid follower configuration: {why}")]
    InvalidConfig {
        /// What is wrong.
        why: &'static str,
    },
    /// An amount of the event that does not fit the ledger's `u64` atomic units.
    #[error("event {at}: {what} {amount} does not fit in 64 bits")]
    AmountTooLarge {
        /// Where the log is.
        at: crate::LogPosition,
        /// Which amount.
        what: &'static str,
        /// The amount.
        amount: crate::event::U256,
    },
    /// An event naming a node id that no followed `NewServiceNodeV2` registered (or that has
    /// exited).
    #[error("event {at}: no node {id} on the contract")]
    UnknownNodeId {
        /// Where the log is.
        at: crate::LogPosition,
        /// The contract's node id.
        id: u64,
    },
    /// An event whose BLS key is not the one its node id was registered with.
    #[error("event {at}: node {id} was registered with another BLS key")]
    NodeIdKeyMismatch {
        /// Where the log is.
        at: crate::LogPosition,
        /// The contract's node id.
        id: u64,
    },
    /// A registration with a node id the contract already holds.
    #[error("event {at}: node id {id} is already registered")]
    DuplicateNodeId {
        /// Where the log is.
        at: crate::LogPosition,
        /// The contract's node id.
        id: u64,
    },
    /// A `NetworkTransaction` carrying a transaction that is not a quorum decision.
    #[error(
        "event {at}: a network transaction of kind {kind} (only quorum decisions come this way)"
    )]
    NotANetworkDecision {
        /// Where the log is.
        at: crate::LogPosition,
        /// The transaction's kind byte.
        kind: u8,
    },
    /// A transaction of the event that does not decode, or whose signatures do not verify.
    #[error("event {at}: {source}")]
    Transaction {
        /// Where the log is.
        at: crate::LogPosition,
        /// What is wrong with it.
        source: sesh_staking::Error,
    },
    /// The ledger refused the event's transaction; it changed nothing.
    #[error("event {at} refused by the ledger: {source}")]
    Refused {
        /// Where the log is.
        at: crate::LogPosition,
        /// The ledger's verdict.
        source: sesh_staking::Error,
    },
    /// A height given to the ledger out of turn.
    #[error("the ledger's next height is {expected}, not {got}")]
    HeightNotNext {
        /// The next height.
        expected: u64,
        /// The height given.
        got: u64,
    },
    /// A `NewSeededServiceNode` whose stakes were not fetched (`serviceNodes(id)` at its block,
    /// [`crate::follow::Height::supply`]): a caller that decoded the log alone.
    #[error(
        "event {at}: seeded node {id} came without the contract's record of it (serviceNodes({id}) at its block was not fetched)"
    )]
    SeedNotFetched {
        /// Where the log is.
        at: crate::LogPosition,
        /// The contract's node id.
        id: u64,
    },
    /// A `NewSeededServiceNode` whose record the contract did not give at the end of its block:
    /// the call reverted, its answer did not decode, the contract no longer held the node, or
    /// held another node under the id.
    #[error("event {at}: seeded node {id}: {why}")]
    SeedUnavailable {
        /// Where the log is.
        at: crate::LogPosition,
        /// The contract's node id.
        id: u64,
        /// What the contract answered.
        why: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
