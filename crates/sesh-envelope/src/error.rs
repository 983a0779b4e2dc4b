//! The one error type of this crate.

/// What went wrong.
///
/// Decryption has a single, opaque failure, [`Error::DecryptionFailed`]: a wrong key, a changed
/// or truncated ciphertext, an inner signature that does not verify, a sender key swapped inside
/// the box all look the same from outside, so that a failure tells an attacker nothing. Inputs
/// the caller chose (keys, IDs) and wire formats around the ciphertext get errors that say what
/// was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message could not be decrypted or authenticated. The reason is not given, on purpose.
    #[error("the message could not be decrypted")]
    DecryptionFailed,

    /// A key or ID given as input is not valid.
    #[error(transparent)]
    Identity(#[from] sesh_identity::Error),

    /// The two blinded IDs of a community message use different blindings (one `15`, one `25`).
    #[error("the sender and recipient blinded IDs must both be 15 or both be 25")]
    MixedBlinding,

    /// A blinded message starts with a version byte this crate does not know.
    #[error("blinded message version {0} is not supported (only version 0 is)")]
    UnsupportedBlindedVersion(u8),

    /// The padded plaintext is empty or all zeros, which no padding rule produces.
    #[error("the plaintext is not padded: it is empty or all zeros")]
    MalformedPadding,

    /// A payload starting with a 0 byte: Session protocol v2, which is not protobuf and which this
    /// version does not read.
    #[error("the payload is a Session protocol v2 message, which this version cannot read")]
    ProtocolV2,

    /// Bytes that should be a protobuf message are not one.
    #[error("the {what} is not valid protobuf: {reason}")]
    Protobuf {
        /// Which message was being decoded.
        what: &'static str,
        /// What the protobuf decoder said.
        reason: String,
    },

    /// A protobuf message lacks a field it must have.
    #[error("the {what} has no {field}")]
    MissingField {
        /// Which message.
        what: &'static str,
        /// Which field.
        field: &'static str,
    },

    /// A field has a value no client sends.
    #[error("the {what}'s {field} is invalid: {reason}")]
    InvalidField {
        /// Which message.
        what: &'static str,
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// Multi-recipient encryption was given a number of messages that is neither one nor one per
    /// recipient.
    #[error("give one message, or one per recipient ({recipients}), not {messages}")]
    MessageCountMismatch {
        /// How many messages were given.
        messages: usize,
        /// How many recipients were given.
        recipients: usize,
    },

    /// A multi-recipient domain is longer than the 64-byte BLAKE2b key it is used as.
    #[error("a multi-recipient domain is at most 64 bytes, this one has {0}")]
    DomainTooLong(usize),

    /// Encoded multi-recipient data is not the bencoded dictionary it should be.
    #[error("the multi-recipient data is malformed: {0}")]
    MalformedMultiEncoding(String),

    /// A stored message's base64 is not valid.
    #[error("the stored data is not valid base64")]
    InvalidBase64,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
