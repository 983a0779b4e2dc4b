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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
