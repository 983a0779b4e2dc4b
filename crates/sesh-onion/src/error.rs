//! The one error type of this crate.

/// What went wrong.
///
/// Decryption fails one way, [`Error::DecryptionFailed`], whatever the cause. Everything around a
/// ciphertext (lengths, JSON, bencode, keys) gets an error that says what was wrong. A node turns
/// these into the storage server's exact HTTP answers with [`crate::node::Rejection`]; a client
/// tells a failed path from a destination's answer with [`crate::reply`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A ciphertext did not decrypt: wrong key, wrong encryption type, changed or truncated. The
    /// reason is not given, on purpose.
    #[error("decryption failed")]
    DecryptionFailed,

    /// A key given as input is not valid, or a key exchange gave the all-zero secret.
    #[error(transparent)]
    Identity(#[from] sesh_identity::Error),

    /// An `enc_type` other than `xchacha20`, `aes-gcm` or `aes-cbc` (or their aliases).
    #[error("unknown encryption type {0:?}: expected xchacha20, aes-gcm or aes-cbc")]
    UnknownEncType(String),

    /// AES-CBC is accepted from old clients but never produced.
    #[error("aes-cbc is decrypt-only: build requests with xchacha20 or aes-gcm")]
    EncryptUnsupported,

    /// A combined payload (`u32 length ‖ blob ‖ JSON`) that does not hold together.
    #[error("malformed onion payload: {0}")]
    MalformedPayload(&'static str),

    /// An onion request larger than a node accepts.
    #[error("onion request of {actual} bytes is over the {limit}-byte limit")]
    TooLarge {
        /// The size given.
        actual: usize,
        /// The most that is accepted.
        limit: usize,
    },

    /// JSON that is not what the protocol puts there.
    #[error("invalid onion JSON: {0}")]
    InvalidJson(String),

    /// A node-to-node relay message (bencoded) that is malformed.
    #[error("invalid internal onion request: {0}")]
    InvalidRelayMessage(String),

    /// A request that has passed through more nodes than allowed.
    #[error("onion request max path length exceeded")]
    TooManyHops,

    /// A path of no nodes, or of more than [`crate::MAX_HOPS`].
    #[error("an onion path has 1 to {max} nodes, not {actual}")]
    PathLength {
        /// The path length given.
        actual: usize,
        /// The most allowed.
        max: usize,
    },

    /// An HTTP relay to a target or protocol that nodes refuse to relay to.
    #[error("invalid url: {0}")]
    InvalidUrl(String),

    /// A bencoded v4 request or response that is malformed.
    #[error("invalid v4 onion message: {0}")]
    InvalidV4(String),

    /// The reply could not be read: not base64, not JSON, no status. Retry on a fresh path.
    #[error("bad onion reply: {0}")]
    BadReply(String),

    /// The path failed: the guard answered with a status other than 200, with a plaintext body
    /// from whichever hop failed. Count it against the path (see the spec's error policy).
    #[error("onion path failed with status {status}: {body}")]
    PathFailed {
        /// The HTTP status the guard answered with.
        status: u16,
        /// The plaintext body.
        body: String,
        /// The node a hop could not reach ("Next node not found"), which should be replaced in
        /// the path.
        unreachable_node: Option<[u8; 32]>,
    },

    /// The destination answered, with a status other than 2xx (e.g. 421: wrong swarm, 406: clock
    /// out of sync). The path is fine.
    #[error("the destination answered with status {status}")]
    DestinationStatus {
        /// The destination's status.
        status: u16,
        /// The destination's body.
        body: Vec<u8>,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
