//! The one error type of this crate.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node was listed twice where each node is listed once (a quorum's active and
    /// decommissioned nodes, pulse candidates, a swarm's members).
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
}

/// This crate's result.
pub type Result<T, E = Error> = core::result::Result<T, E>;
