//! The one error type of this crate.

/// What went wrong. Every variant says which input was at fault and which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hex string had the wrong number of characters.
    #[error("{what} must be {expected} hex characters long, got {actual}")]
    InvalidLength {
        /// What was being parsed, e.g. "node key".
        what: &'static str,
        /// The length that is required.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },

    /// A byte string had the wrong number of bytes.
    #[error("{what} must be {expected} bytes long, got {actual}")]
    InvalidByteLength {
        /// What was being parsed.
        what: &'static str,
        /// The accepted length (or lengths), in words.
        expected: &'static str,
        /// The length that was given.
        actual: usize,
    },

    /// A hex string contained a character that is not a hex digit.
    #[error("{what} must be hex, but has {character:?} at position {position}")]
    InvalidHex {
        /// What was being parsed.
        what: &'static str,
        /// The first offending character.
        character: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },

    /// A swarm id was not a decimal number in `0..=2^64−2`.
    #[error("swarm id must be a decimal number from 0 to 18446744073709551614, got {0:?}")]
    InvalidSwarmId(String),

    /// A node was placed in the bucket of unassigned nodes, `2^64−1`, where a real swarm was
    /// required.
    #[error(
        "node {node} is in swarm 18446744073709551615, which marks unassigned nodes and is never a \
         real swarm; leave such nodes out of the map, or list them as newcomers"
    )]
    UnassignedSwarm {
        /// The node, as hex.
        node: String,
    },

    /// The same node was given twice.
    #[error("node {node} appears more than once; every node has exactly one swarm and one state")]
    DuplicateNode {
        /// The node, as hex.
        node: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
