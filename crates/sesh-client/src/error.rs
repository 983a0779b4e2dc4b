//! The one error type of this crate.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Too few usable nodes to build a path.
    #[error("the network has {have} usable nodes; a path needs {need} besides the destination")]
    TooFewNodes {
        /// Usable nodes (not the destination).
        have: usize,
        /// Nodes a path needs.
        need: usize,
    },
    /// The network state places the account in no swarm.
    #[error("no swarm holds this account yet (is the network up?)")]
    NoSwarm,
    /// Every path tried for a request failed.
    #[error("every path failed ({attempts} tried); last: {last}")]
    PathsFailed {
        /// Paths tried.
        attempts: usize,
        /// The last failure.
        last: String,
    },
    /// The destination refused the request.
    #[error("the node answered {status}: {body}")]
    Refused {
        /// Its status.
        status: u16,
        /// Its body, as text.
        body: String,
    },
    /// The destination says this machine's clock is off (406).
    #[error(
        "the node's clock and ours differ by more than the network allows (406): check the time"
    )]
    ClockOutOfSync,
    /// A message could not be encrypted, or an onion request built.
    #[error("building the request: {0}")]
    Build(String),
    /// An answer is not of the form the request calls for.
    #[error("the node's answer {0}")]
    BadAnswer(&'static str),
    /// A seed URL the client will not use.
    #[error("the seed {seed} {why}")]
    BadSeed {
        /// The seed as given.
        seed: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A seed answered with a JSON-RPC error.
    #[error("the seed refused the request: {message} ({code})")]
    SeedRefused {
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// A service-node list that could not be read.
    #[error("the node list is broken: {0}")]
    BadNodeList(String),
    /// The nodes asked for the list did not agree on enough nodes.
    #[error("{asked} nodes asked for the node list agree on {agreed} nodes; {need} are needed")]
    NoAgreement {
        /// Answers compared.
        asked: usize,
        /// Nodes they all list alike.
        agreed: usize,
        /// Nodes needed.
        need: usize,
    },
    /// Saved inbox state does not parse.
    #[error("the inbox file {0}")]
    BadInbox(&'static str),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
