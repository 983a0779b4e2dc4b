//! The one error type of this crate: why a storage RPC request was refused before it was handled.

use crate::request::{MAX_MESSAGE_BODY, MAX_SUBACCOUNT_TOKENS};

/// Why a request body or its params were refused. Every variant says which input was at fault
/// and which rule it broke.
///
/// The `Display` text is the live server's own, byte for byte, since clients match on it: for a
/// body failure ([`InvalidJson`](Self::InvalidJson), [`NoMethodField`](Self::NoMethodField),
/// [`NoParamsField`](Self::NoParamsField)) and an [`UnknownMethod`](Self::UnknownMethod) it is the
/// whole `400` answer; for every other variant (a params failure) the server answers it after
/// `invalid request: `. [`Error::response_text`] gives the answer either way.
///
/// A failure of the database itself is not one of these: it is the [`Store`](crate::store::Store)
/// implementation's [`StoreFailure`](crate::store::StoreFailure), which the handler answers with
/// a `500` (see [`handler`](crate::handler)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request body is not JSON.
    #[error("invalid json")]
    InvalidJson,

    /// The request body is JSON but not an object with a string `method`.
    #[error("invalid json: no `method` field")]
    NoMethodField,

    /// The request body has no object `params`.
    #[error("invalid json: no `params` field")]
    NoParamsField,

    /// A method the server does not have (`ifelse` and `oxend_request` are not implemented).
    #[error("no method {method}")]
    UnknownMethod {
        /// The method given.
        method: String,
    },

    /// A required field is absent (or `null`).
    #[error("Required field '{field}' missing")]
    MissingField {
        /// The field.
        field: &'static str,
    },

    /// A `store` with neither `expiry` nor `ttl`.
    #[error("Required field 'expiry' or 'ttl' missing")]
    MissingExpiryOrTtl,

    /// Two fields that exclude each other (a field and its alias, or `expiry` and `ttl`) are
    /// both given.
    #[error("Cannot specify both '{field}' and '{other}'")]
    BothGiven {
        /// The first field.
        field: &'static str,
        /// The other.
        other: &'static str,
    },

    /// A field of the wrong JSON type (or an array with an element of the wrong type).
    #[error("Invalid value given for '{field}': expected {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it must be, in the server's words (`integer`, `string array`, …).
        expected: &'static str,
    },

    /// A namespace outside the 16-bit range.
    #[error("Invalid value given for '{field}': value out of range")]
    OutOfRange {
        /// The field.
        field: &'static str,
    },

    /// A `store` `timestamp` or `ttl` sent as a string that is not an integer (or, for `ttl`,
    /// not a non-negative one). The server quotes the string as JSON.
    #[error("Invalid value given for '{field}': {}", serde_json::Value::String(.value.clone()))]
    NotAnInteger {
        /// The field.
        field: &'static str,
        /// The string given.
        value: String,
    },

    /// A timestamp below 10^9: sent in seconds, not milliseconds.
    #[error("Invalid timestamp for '{field}': timestamp must be in milliseconds")]
    TimestampNotMilliseconds {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
    },

    /// A `pubkey` that is neither 66 hex digits nor 33 bytes.
    #[error("Pubkey must be 66 hex digits (33 bytes) long")]
    BadPubkey,

    /// `get_swarm`'s `pubkey` that is neither 66 hex digits nor 33 bytes (the server words this
    /// one differently).
    #[error("Pubkey must be 66 hex digits/33 bytes long")]
    BadSwarmPubkey,

    /// `pubkey_ed25519` given for an account whose prefix is not `05`.
    #[error("pubkey_ed25519 is only permitted for 05[...] pubkeys")]
    Ed25519KeyNotPermitted {
        /// The account's prefix.
        prefix: u8,
    },

    /// `pubkey_ed25519` of 64 characters that are not all hex digits.
    #[error("invalid pubkey_ed25519: value is not hex")]
    Ed25519KeyNotHex,

    /// `pubkey_ed25519` that is neither 64 hex digits nor 32 bytes.
    #[error("Invalid pubkey_ed25519: expected 64 hex char or 32 byte pubkey")]
    Ed25519KeyLength {
        /// Its length in bytes.
        length: usize,
    },

    /// A signature that is not 86 base64 digits (88 padded) of 64 bytes. Only the encoding is
    /// judged here; whether it verifies is the handler's `401`.
    #[error("invalid {what}: expected base64 encoded Ed25519 signature")]
    BadSignatureEncoding {
        /// Which signature: `signature` or `subaccount signature`.
        what: &'static str,
    },

    /// `subaccount` without `subaccount_sig`.
    #[error("invalid subaccount: subaccount_sig is required when using subaccount")]
    MissingSubaccountSignature,

    /// A `subaccount` token that is neither 48 base64 nor 72 hex digits of 36 bytes.
    #[error("invalid subaccount: expected base64 or hex-encoded subaccount token")]
    BadSubaccountToken,

    /// A token in a `revoke` or `unrevoke` list that is neither 48 base64 nor 72 hex digits of
    /// 36 bytes.
    #[error("invalid {field}: expected base64 or hex-encoded subaccount tag")]
    BadRevokeTag {
        /// The list: `revoke` or `unrevoke`.
        field: &'static str,
        /// The token's position in it, from 0.
        index: usize,
    },

    /// A `revoke` list longer than [`MAX_SUBACCOUNT_TOKENS`].
    #[error(
        "invalid revoke: cannot revoke more than {} subaccounts at once",
        MAX_SUBACCOUNT_TOKENS
    )]
    TooManyTokens {
        /// The number given.
        count: usize,
    },

    /// `store` `data` that is not base64.
    #[error("Invalid 'data' value: not base64 encoded")]
    DataNotBase64,

    /// `store` `data` that would decode to more than [`MAX_MESSAGE_BODY`] bytes.
    #[error("Message body exceeds maximum allowed length of {} bytes", MAX_MESSAGE_BODY)]
    DataTooLong {
        /// The length of the base64 text given.
        encoded_length: usize,
    },

    /// A non-empty `last_hash` that is not 43 characters.
    #[error("Invalid last_hash: expected base64 (43 chars)")]
    LastHashLength {
        /// Its length in bytes.
        length: usize,
    },

    /// A 43-character `last_hash` that is not base64.
    #[error("Invalid last_hash: not base64")]
    LastHashNotBase64,

    /// An empty `messages` list.
    #[error("messages does not contain any message hashes")]
    NoMessages,

    /// A message hash that is not 43 base64 digits. The server quotes it back.
    #[error("invalid message hash: {hash}")]
    BadMessageHash {
        /// The hash given.
        hash: String,
    },

    /// An empty `expiry` list.
    #[error("'expiry' does not contain any expiration timestamps")]
    NoExpiries,

    /// An `expire` with both `shorten` and `extend`.
    #[error("cannot specify both 'shorten' and 'extend'")]
    ShortenAndExtend,

    /// An `expire` with several expiries, but not one per message.
    #[error("'expiry' must be a single expiry, or the same length as 'messages'")]
    ExpiryCountMismatch {
        /// Expiries given.
        expiries: usize,
        /// Messages given.
        messages: usize,
    },

    /// `oxend_request` for a call a storage server does not pass on.
    #[error("Invalid oxend endpoint '{endpoint}'")]
    OxendEndpoint {
        /// The endpoint asked for.
        endpoint: String,
    },

    /// A `batch` or `sequence` without a non-empty `requests` array.
    #[error("Invalid batch request: no valid \"requests\" field")]
    BatchNoRequests,

    /// A `batch` or `sequence` of more than [`BATCH_REQUEST_MAX`](crate::request::BATCH_REQUEST_MAX) subrequests.
    #[error("Invalid batch request: subrequest limit exceeded")]
    BatchTooLarge {
        /// The number given.
        count: usize,
    },

    /// A subrequest that is not a JSON object.
    #[error("Invalid batch request: requests must be objects")]
    BatchRequestNotObject {
        /// Its position, from 0.
        index: usize,
    },

    /// A subrequest without a string `method` and an object `params`.
    #[error("Invalid batch request: subrequests must have method/params keys")]
    BatchRequestMalformed {
        /// Its position, from 0.
        index: usize,
    },

    /// A subrequest naming a method the server does not have.
    #[error("Invalid batch subrequest: invalid method \"{method}\"")]
    BatchUnknownMethod {
        /// Its position, from 0.
        index: usize,
        /// The method given.
        method: String,
    },

    /// A `batch` or `sequence` inside a `batch` or `sequence`.
    #[error("Invalid batch subrequest: subrequests may not contain meta-requests")]
    BatchNested {
        /// Its position, from 0.
        index: usize,
    },

    /// A subrequest whose params were refused; the server answers the subrequest's own text.
    #[error("{error}")]
    Subrequest {
        /// Its position, from 0.
        index: usize,
        /// Why it was refused (never another `Subrequest`: meta-requests do not nest).
        error: Box<Error>,
    },
}

impl Error {
    /// The body of the server's `400` answer: the `Display` text, after `invalid request: ` for
    /// a params failure (all but the body failures and [`UnknownMethod`](Self::UnknownMethod)).
    pub fn response_text(&self) -> String {
        match self {
            Self::InvalidJson
            | Self::NoMethodField
            | Self::NoParamsField
            | Self::UnknownMethod { .. } => self.to_string(),
            _ => format!("invalid request: {self}"),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_servers() {
        assert_eq!(crate::request::BATCH_REQUEST_MAX, 20);
        assert_eq!(
            Error::TooManyTokens { count: 51 }.to_string(),
            "invalid revoke: cannot revoke more than 50 subaccounts at once"
        );
        assert_eq!(
            Error::DataTooLong { encoded_length: 0 }.to_string(),
            "Message body exceeds maximum allowed length of 76800 bytes"
        );
    }

    #[test]
    fn only_params_failures_are_prefixed() {
        assert_eq!(Error::InvalidJson.response_text(), "invalid json");
        assert_eq!(
            Error::UnknownMethod { method: "ifelse".into() }.response_text(),
            "no method ifelse"
        );
        assert_eq!(
            Error::MissingField { field: "pubkey" }.response_text(),
            "invalid request: Required field 'pubkey' missing"
        );
        let inner = Error::NotAnInteger { field: "ttl", value: "a\"b".into() };
        assert_eq!(inner.to_string(), r#"Invalid value given for 'ttl': "a\"b""#);
        let sub = Error::Subrequest { index: 3, error: Box::new(inner) };
        assert_eq!(
            sub.response_text(),
            r#"invalid request: Invalid value given for 'ttl': "a\"b""#
        );
    }
}
