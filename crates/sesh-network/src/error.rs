//! The one error type of this crate.

use sesh_identity::NodeId;

/// What was wrong. Parsing errors name the entry and the field; signature failures stay opaque.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The network state is not a JSON object.
    #[error("the network state is not a JSON object: {0}")]
    NotJson(String),

    /// A top-level field of the network state is missing or of the wrong form.
    #[error("the network state's \"{field}\" must be {expected}")]
    Field {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },

    /// A field of one node's entry is missing or of the wrong form: the whole state is refused
    /// (a producer that lists a broken entry is broken or lying, and a partial view would route
    /// clients by a network nobody published).
    #[error("the network state's node {index}: \"{field}\" must be {expected}")]
    NodeField {
        /// The entry's position in `nodes`, from 0.
        index: usize,
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },

    /// A node is listed twice.
    #[error("the network state lists node {0} twice")]
    DuplicateNode(NodeId),

    /// The swarm assignment is impossible (e.g. an unassigned swarm id).
    #[error("the network state's swarms: {0}")]
    Swarms(#[from] sesh_swarm::Error),

    /// A signed request or state lacks one of the signature headers.
    #[error("missing {0} header")]
    MissingHeader(&'static str),

    /// A signature header is not of its form.
    #[error("{header} is not {expected}")]
    BadHeader {
        /// The header.
        header: &'static str,
        /// What it must be.
        expected: &'static str,
    },

    /// A signed request's timestamp is too far from the receiver's clock.
    #[error("x-sesh-timestamp is more than 60 s from this node's clock (off by {skew_ms} ms)")]
    Stale {
        /// How far off it is, in milliseconds.
        skew_ms: i64,
    },

    /// The signature does not verify (or the signing key is not a valid key).
    #[error("node signature verification failed")]
    BadSignature,

    /// A request's MAC does not verify under the link key of its sender and this node.
    #[error("node link MAC verification failed")]
    BadMac,

    /// No link key with this node: its id is not a key with an X25519 twin (sign instead).
    #[error("no link key with this node id: it is not a valid node key")]
    BadLinkKey,

    /// A node-to-node stream's frame is malformed or does not verify: the stream is broken.
    #[error("node stream: {why}")]
    BadFrame {
        /// What was wrong.
        why: &'static str,
    },

    /// A correctly signed network state, but not by the key the caller trusts.
    #[error("the network state is signed by {signer}, not by the pinned authority {expected}")]
    WrongSigner {
        /// Who signed it.
        signer: NodeId,
        /// Whom the caller trusts.
        expected: NodeId,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
