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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
