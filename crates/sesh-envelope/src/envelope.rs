//! The layers of a stored 1:1 message, outermost last:
//!
//! ```text
//!  Content (protobuf)
//!    → pad                          0x80 0x00… to a multiple of 160            (padding)
//!    → encrypt_for_recipient        sealed box of M ‖ A ‖ SIG                 (one_to_one)
//!    → Envelope                     {type 6, timestamp ms, source_device 1, content}
//!    → WebSocketRequestMessage      {verb "", path "", request_id 0, body}
//!    → WebSocketMessage             {type REQUEST, request}
//!    → base64                       the `data` of the storage server's `store` (storage)
//! ```
//!
//! [`encode_for_recipient`] builds all of it, as libsession-util's `encode_for_1o1`;
//! [`decode_for_recipient`] takes it apart, accepting what the Session clients in use send:
//! an Envelope with or without `source` (empty or a 66-hex ID), `source_device` or `pro_sig`, and
//! the old desktop's `"PUT"`/`"/api/v1/message"` request line. A payload starting with a 0 byte
//! is Session protocol v2 and is refused before any protobuf is read.
//!
//! ```
//! use prost::Message as _;
//! use sesh_envelope::{envelope, proto};
//! use sesh_identity::{AccountSeed, Identity};
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
//! # use rand_core::SeedableRng;
//!
//! let alice = Identity::from_account_seed(&AccountSeed::from_bytes([1; 16]));
//! let bob = Identity::from_account_seed(&AccountSeed::from_bytes([2; 16]));
//! let content = envelope::text_content("hello bob", 1_764_000_000_000);
//!
//! let stored = envelope::encode_for_recipient(
//!     &alice, &bob.session_id(), &content.encode_to_vec(), 1_764_000_000_000, &mut rng)?;
//!
//! let message = envelope::decode_for_recipient(&bob, &stored)?;
//! assert_eq!(message.sender_session_id()?, alice.session_id());
//! assert_eq!(message.content()?.data_message.unwrap().body.as_deref(), Some("hello bob"));
//! # Ok::<(), sesh_envelope::Error>(())
//! ```

use core::fmt;

use prost::Message as _;
use rand_core::{CryptoRng, RngCore};
use sesh_identity::{Ed25519PublicKey, Identity, SessionId};

use crate::error::{Error, Result};
use crate::one_to_one::{self, Decrypted};
use crate::padding;
use crate::proto::{self, envelope, web_socket_message};

/// The `source_device` libsession-util (and iOS) put in every envelope.
pub const SOURCE_DEVICE: u32 = 1;

fn protobuf_error(what: &'static str) -> impl FnOnce(prost::DecodeError) -> Error {
    move |e| Error::Protobuf { what, reason: e.to_string() }
}

/// A `Content` with a text message and its authenticated send time (ms), which every client
/// sets.
pub fn text_content(body: &str, sent_timestamp_ms: u64) -> proto::Content {
    proto::Content {
        data_message: Some(proto::DataMessage {
            body: Some(body.to_owned()),
            ..Default::default()
        }),
        sig_timestamp: Some(sent_timestamp_ms),
        ..Default::default()
    }
}

/// The `Envelope` of a 1:1 message around its ciphertext.
pub fn envelope_for(ciphertext: Vec<u8>, sent_timestamp_ms: u64) -> proto::Envelope {
    proto::Envelope {
        r#type: Some(envelope::Type::SessionMessage as i32),
        timestamp: Some(sent_timestamp_ms),
        source_device: Some(SOURCE_DEVICE),
        content: Some(ciphertext),
        ..Default::default()
    }
}

/// Wraps serialised envelope bytes in the `WebSocketMessage` a 1:1 message is stored as.
pub fn wrap_in_websocket(envelope: Vec<u8>) -> Vec<u8> {
    proto::WebSocketMessage {
        r#type: Some(web_socket_message::Type::Request as i32),
        request: Some(proto::WebSocketRequestMessage {
            verb: Some(String::new()),
            path: Some(String::new()),
            body: Some(envelope),
            headers: Vec::new(),
            request_id: Some(0),
        }),
    }
    .encode_to_vec()
}

/// Builds the stored form of a 1:1 message: `content` (a serialised `Content`) padded, encrypted
/// for `recipient` with randomness from `rng`, put in an Envelope stamped `sent_timestamp_ms`,
/// and wrapped in a WebSocketMessage. Base64 of the result is the `data` of the `store` request
/// ([`crate::storage`]).
///
/// # Errors
/// As [`one_to_one::encrypt_for_recipient`] (none in practice).
pub fn encode_for_recipient<R: RngCore + CryptoRng>(
    sender: &Identity,
    recipient: &SessionId,
    content: &[u8],
    sent_timestamp_ms: u64,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let padded = padding::pad(content);
    let ciphertext = one_to_one::encrypt_for_recipient(sender, recipient, &padded, rng)?;
    Ok(wrap_in_websocket(envelope_for(ciphertext, sent_timestamp_ms).encode_to_vec()))
}

/// The body of the `WebSocketMessage` a 1:1 message is stored as: the serialised Envelope.
///
/// # Errors
/// [`Error::ProtocolV2`] for a payload starting with a 0 byte; [`Error::Protobuf`] or
/// [`Error::MissingField`] if it is not a WebSocketMessage with a request body.
pub fn unwrap_websocket(data: &[u8]) -> Result<Vec<u8>> {
    if data.first() == Some(&0) {
        return Err(Error::ProtocolV2);
    }
    let message =
        proto::WebSocketMessage::decode(data).map_err(protobuf_error("WebSocketMessage"))?;
    let request = message
        .request
        .ok_or(Error::MissingField { what: "WebSocketMessage", field: "request" })?;
    request.body.ok_or(Error::MissingField { what: "WebSocketRequestMessage", field: "body" })
}

/// What an Envelope says besides its content.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvelopeInfo {
    /// The sender's clock when sending, in milliseconds. Not authenticated: compare with the
    /// `sig_timestamp` inside the Content.
    pub timestamp_ms: u64,
    /// The envelope type, if given (6 for 1:1, 7 for groups; receivers go by the namespace).
    pub kind: Option<i32>,
    /// The 33-byte ID in `source`, for the few senders that set one.
    pub source: Option<[u8; 33]>,
    /// `source_device`, if given.
    pub source_device: Option<u32>,
    /// `server_timestamp`, if given (communities).
    pub server_timestamp: Option<u64>,
    /// The Session Pro signature (or decoy), if given.
    pub pro_sig: Option<[u8; 64]>,
}

/// Reads an Envelope, checking what clients rely on, and returns its metadata and its content.
///
/// # Errors
/// [`Error::Protobuf`]; [`Error::MissingField`] without `timestamp` or `content`;
/// [`Error::InvalidField`] for a `source` that is neither empty nor 66 hex digits, or a `pro_sig`
/// that is not 64 bytes.
pub fn parse_envelope(bytes: &[u8]) -> Result<(EnvelopeInfo, Vec<u8>)> {
    const WHAT: &str = "Envelope";
    let envelope = proto::Envelope::decode(bytes).map_err(protobuf_error(WHAT))?;
    let timestamp_ms =
        envelope.timestamp.ok_or(Error::MissingField { what: WHAT, field: "timestamp" })?;
    let content = envelope.content.ok_or(Error::MissingField { what: WHAT, field: "content" })?;
    let source = match envelope.source.as_deref() {
        None | Some("") => None,
        Some(hex_id) => {
            let mut id = [0u8; 33];
            hex::decode_to_slice(hex_id, &mut id).map_err(|_| Error::InvalidField {
                what: WHAT,
                field: "source",
                reason: format!("{} characters; expected none or 66 hex digits", hex_id.len()),
            })?;
            Some(id)
        }
    };
    let pro_sig = match envelope.pro_sig {
        None => None,
        Some(sig) => {
            Some(<[u8; 64]>::try_from(sig.as_slice()).map_err(|_| Error::InvalidField {
                what: WHAT,
                field: "pro_sig",
                reason: format!("{} bytes; a signature has 64", sig.len()),
            })?)
        }
    };
    let info = EnvelopeInfo {
        timestamp_ms,
        kind: envelope.r#type,
        source,
        source_device: envelope.source_device,
        server_timestamp: envelope.server_timestamp,
        pro_sig,
    };
    Ok((info, content))
}

/// A received 1:1 message: who sent it, its envelope, and its Content.
pub struct IncomingMessage {
    envelope: EnvelopeInfo,
    decrypted: Decrypted,
    content_len: usize,
}

impl IncomingMessage {
    /// The Envelope's metadata.
    pub fn envelope(&self) -> &EnvelopeInfo {
        &self.envelope
    }

    /// The sender's Ed25519 key, which signed the message for this recipient.
    pub fn sender_ed25519(&self) -> &Ed25519PublicKey {
        self.decrypted.sender_ed25519()
    }

    /// The sender's Session ID.
    ///
    /// # Errors
    /// See [`Decrypted::sender_session_id`].
    pub fn sender_session_id(&self) -> Result<SessionId> {
        self.decrypted.sender_session_id()
    }

    /// The serialised Content, unpadded.
    pub fn content_bytes(&self) -> &[u8] {
        self.decrypted.plaintext().get(..self.content_len).unwrap_or_default()
    }

    /// The Content.
    ///
    /// # Errors
    /// [`Error::Protobuf`] if the decrypted bytes are not a Content.
    pub fn content(&self) -> Result<proto::Content> {
        proto::Content::decode(self.content_bytes()).map_err(protobuf_error("Content"))
    }
}

impl fmt::Debug for IncomingMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingMessage")
            .field("envelope", &self.envelope)
            .field("sender", self.sender_ed25519())
            .field("content_len", &self.content_len)
            .finish()
    }
}

/// Takes a stored 1:1 message apart: the WebSocketMessage, the Envelope, the decryption (as
/// `recipient`) and the padding, as libsession-util's `decode_envelope`.
///
/// # Errors
/// The errors of [`unwrap_websocket`] and [`parse_envelope`]; [`Error::DecryptionFailed`] if the
/// content does not decrypt for `recipient`; [`Error::MalformedPadding`].
pub fn decode_for_recipient(recipient: &Identity, data: &[u8]) -> Result<IncomingMessage> {
    let envelope_bytes = unwrap_websocket(data)?;
    let (envelope, ciphertext) = parse_envelope(&envelope_bytes)?;
    let decrypted = one_to_one::decrypt_incoming(recipient, &ciphertext)?;
    let content_len = padding::unpad(decrypted.plaintext())?.len();
    Ok(IncomingMessage { envelope, decrypted, content_len })
}
