//! A node's side: taking one layer off an onion request and saying what to do next, with the
//! storage server's exact answers for everything that goes wrong.
//!
//! ```text
//!  client ──POST /onion_req/v2──▶ Layer::from_client ─┐
//!  node ───sn.onion_request─────▶ Layer::from_node ───┴▶ peel ─▶ Action::Forward  (next node, message)
//!                                                              ─▶ Action::Relay    (HTTP server, body)
//!                                                              ─▶ Action::Deliver  (request, reply sealer)
//!                                                        or  ─▶ Rejection        (status, body)
//! ```
//!
//! Everything here is a value: the node does the sending, and answers a [`Rejection`] with its
//! status and body as they are.

use rand_core::{CryptoRng, RngCore};
use serde_json::Value;
use sesh_identity::{X25519PublicKey, X25519SecretKey};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bendy::decoding::{Decoder, Object};
use bendy::encoding::Encoder;

use crate::error::{Error, Result};
use crate::hop::{EncType, HopKey, Role};
use crate::payload::{self, MAX_REQUEST_SIZE, hex32, json_bytes, json_object, opt_str};
use crate::routing::{HttpTarget, Routing};

/// The most times a request may be relayed between nodes.
pub const MAX_RELAYS: i64 = 15;

/// A node's X25519 key pair, which its layers are encrypted to.
#[derive(Debug)]
pub struct NodeKeys<'a> {
    /// The secret key.
    pub secret: &'a X25519SecretKey,
    /// Its public key.
    pub public: &'a X25519PublicKey,
}

/// An onion layer that has arrived at a node, before decryption.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Layer {
    /// The ciphertext of this node's layer.
    pub ciphertext: Vec<u8>,
    /// The ephemeral key it was encrypted with.
    pub ephemeral_key: X25519PublicKey,
    /// How it was encrypted.
    pub enc_type: EncType,
    /// How many nodes relayed it so far (0 from a client, unless the client fakes a start).
    pub hop_no: i64,
}

impl Layer {
    /// A layer from a client: the body of `POST /onion_req/v2`, `u32(N) ‖ ciphertext ‖ JSON`
    /// with `ephemeral_key` (64 hex), and optionally `enc_type` (AES-GCM if not given) and
    /// `hop_no`.
    ///
    /// # Errors
    /// `400 Error parsing onion request: …` (plaintext), as the storage server answers.
    pub fn from_client(body: &[u8]) -> Result<Self, Rejection> {
        Self::parse_client(body)
            .map_err(|e| Rejection::text(400, format!("Error parsing onion request: {e}")))
    }

    fn parse_client(body: &[u8]) -> Result<Self> {
        if body.len() > MAX_REQUEST_SIZE {
            return Err(Error::TooLarge { actual: body.len(), limit: MAX_REQUEST_SIZE });
        }
        let combined = payload::parse(body)?;
        let meta = json_object(combined.json)?;
        let ephemeral_key = X25519PublicKey::from_bytes(hex32(&meta, "ephemeral_key")?);
        let enc_type = match opt_str(&meta, "enc_type")? {
            None => EncType::WIRE_DEFAULT,
            Some(name) => EncType::parse(name)?,
        };
        let hop_no = match meta.get("hop_no") {
            None => 0,
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| Error::InvalidJson("\"hop_no\" is not an integer".into()))?
                .max(0),
            Some(_) => return Err(Error::InvalidJson("\"hop_no\" is not an integer".into())),
        };
        Ok(Self { ciphertext: combined.blob.to_vec(), ephemeral_key, enc_type, hop_no })
    }

    /// A layer from another node: the bencoded `sn.onion_request` message
    /// `{data, enc_type, ephemeral_key (32 raw bytes), hop_no}`.
    ///
    /// # Errors
    /// `400 Invalid internal onion request: …`, or `400 onion request max path length exceeded`
    /// past [`MAX_RELAYS`].
    pub fn from_node(message: &[u8]) -> Result<Self, Rejection> {
        let layer = Self::parse_node(message)
            .map_err(|e| Rejection::text(400, format!("Invalid internal onion request: {e}")))?;
        if layer.hop_no > MAX_RELAYS {
            return Err(Rejection::text(400, Error::TooManyHops.to_string()));
        }
        Ok(layer)
    }

    fn parse_node(message: &[u8]) -> Result<Self> {
        if message.len() > MAX_REQUEST_SIZE {
            return Err(Error::TooLarge { actual: message.len(), limit: MAX_REQUEST_SIZE });
        }
        let invalid = |e: bendy::decoding::Error| Error::InvalidRelayMessage(e.to_string());
        let mut decoder = Decoder::new(message).with_max_depth(2);
        let mut dict = match decoder.next_object().map_err(invalid)? {
            Some(Object::Dict(dict)) => dict,
            _ => return Err(Error::InvalidRelayMessage("not a bencoded dictionary".into())),
        };
        let (mut data, mut enc_type, mut ephemeral_key, mut hop_no) = (None, None, None, None);
        while let Some((key, value)) = dict.next_pair().map_err(invalid)? {
            match key {
                b"data" => data = Some(value.try_into_bytes().map_err(invalid)?.to_vec()),
                b"enc_type" => {
                    let name = value.try_into_bytes().map_err(invalid)?;
                    let name = core::str::from_utf8(name)
                        .map_err(|_| Error::InvalidRelayMessage("enc_type is not text".into()))?;
                    enc_type = Some(EncType::parse(name)?);
                }
                b"ephemeral_key" => {
                    let key: [u8; 32] =
                        value.try_into_bytes().map_err(invalid)?.try_into().map_err(|_| {
                            Error::InvalidRelayMessage("ephemeral_key is not 32 bytes".into())
                        })?;
                    ephemeral_key = Some(X25519PublicKey::from_bytes(key));
                }
                b"hop_no" => {
                    let text = value.try_into_integer().map_err(invalid)?;
                    hop_no = Some(text.parse::<i64>().map_err(|_| {
                        Error::InvalidRelayMessage("hop_no is out of range".into())
                    })?);
                }
                _ => {}
            }
        }
        Ok(Self {
            ciphertext: data.ok_or_else(|| {
                Error::InvalidRelayMessage("required data payload not found".into())
            })?,
            ephemeral_key: ephemeral_key
                .ok_or_else(|| Error::InvalidRelayMessage("ephemeral key not found".into()))?,
            enc_type: enc_type.unwrap_or(EncType::WIRE_DEFAULT),
            hop_no: hop_no.unwrap_or(1).max(1),
        })
    }

    /// The bencoded `sn.onion_request` message that sends this layer to the next node, with the
    /// hop count already raised by one.
    pub fn to_node_message(&self) -> Vec<u8> {
        node_message(&self.ciphertext, &self.ephemeral_key, self.enc_type, self.hop_no)
    }
}

/// The bencoded `sn.onion_request` message for a layer (the hop count raised by one), written
/// straight from the peeled plaintext.
fn node_message(
    ciphertext: &[u8],
    ephemeral_key: &X25519PublicKey,
    enc_type: EncType,
    hop_no: i64,
) -> Vec<u8> {
    let mut encoder = Encoder::new();
    let encoded = encoder
        .emit_dict(|mut dict| {
            dict.emit_pair_with(b"data", |e| e.emit_bytes(ciphertext))?;
            dict.emit_pair_with(b"enc_type", |e| e.emit_str(enc_type.as_str()))?;
            dict.emit_pair_with(b"ephemeral_key", |e| e.emit_bytes(ephemeral_key.as_bytes()))?;
            dict.emit_pair(b"hop_no", hop_no.saturating_add(1))
        })
        .and_then(|()| encoder.get_output());
    // Byte strings and an integer in a sorted dictionary cannot fail to encode.
    encoded.unwrap_or_default()
}

/// A ready-made answer to the previous hop: an HTTP status and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// The body: plaintext, or (for the errors the storage server encrypts) base64 ciphertext.
    pub body: Vec<u8>,
}

impl Rejection {
    fn text(status: u16, body: String) -> Self {
        Self { status, body: body.into_bytes() }
    }

    /// `503 Snode not ready: <own Ed25519 key>`.
    pub fn not_ready(own_ed25519: &[u8; 32]) -> Self {
        Self::text(503, format!("Snode not ready: {}", hex::encode(own_ed25519)))
    }

    /// `502 Next node not found: <Ed25519 key>`, when the next node is not a known node.
    pub fn next_node_not_found(next: &[u8; 32]) -> Self {
        Self::text(502, format!("Next node not found: {}", hex::encode(next)))
    }

    /// `504 Request time out`, when the next node did not answer in time (30 s).
    pub fn timed_out() -> Self {
        Self::text(504, "Request time out".to_owned())
    }

    /// `500 Invalid response from snode`, when the next node's answer was malformed.
    pub fn invalid_response() -> Self {
        Self::text(500, "Invalid response from snode".to_owned())
    }
}

/// The status a node passes back for a status the next node answered with: the storage server's
/// fixed table, under which any other code (e.g. 201 or 425) becomes 500.
pub fn relay_status(code: u16) -> u16 {
    match code {
        200 | 400 | 401 | 403 | 404 | 406 | 410 | 413 | 421 | 429 | 500 | 502 | 503 | 504 => code,
        _ => 500,
    }
}

/// A reply body: text, or JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyBody {
    /// A text body.
    Text(String),
    /// A JSON body: sent as a JSON string (double-encoded) unless the client asked for
    /// `"json": true`.
    Json(Value),
}

/// Seals the destination's reply for the client, with the key of the destination's layer.
#[derive(Clone, Debug)]
pub struct ReplySealer {
    key: HopKey,
    json: bool,
    base64: bool,
}

impl ReplySealer {
    /// A `400` with `message`, encrypted for the client (HTTP 200 on the wire, the 400 inside),
    /// as the storage server answers `Invalid json` and `Invalid url`; in plaintext for an
    /// AES-CBC layer, which cannot be answered encrypted.
    pub fn reject<R: RngCore + CryptoRng>(&self, message: &str, rng: &mut R) -> Rejection {
        match self.seal(400, ReplyBody::Text(message.to_owned()), rng) {
            Ok(body) => Rejection { status: 200, body },
            Err(_) => Rejection::text(400, message.to_owned()),
        }
    }

    /// The encrypted reply `{"body": …, "status": status}`, base64 unless the client asked for
    /// `"base64": false`. The node answers it with HTTP status 200; the real status is inside.
    ///
    /// # Errors
    /// [`Error::EncryptUnsupported`] if the client used AES-CBC.
    pub fn seal<R: RngCore + CryptoRng>(
        &self,
        status: u16,
        body: ReplyBody,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let body = match body {
            ReplyBody::Text(text) => Value::String(text),
            ReplyBody::Json(json) if self.json => json,
            ReplyBody::Json(json) => Value::String(json.to_string()),
        };
        let wrapped = json_bytes([("body", body), ("status", Value::from(status))]);
        self.seal_raw(&wrapped, rng)
    }

    /// Encrypts `bytes` as they are (base64 unless the client asked otherwise): what an HTTP
    /// server does with a v4 reply.
    ///
    /// # Errors
    /// [`Error::EncryptUnsupported`] if the client used AES-CBC.
    pub fn seal_raw<R: RngCore + CryptoRng>(&self, bytes: &[u8], rng: &mut R) -> Result<Vec<u8>> {
        let ciphertext = self.key.encrypt(bytes, rng)?;
        Ok(if self.base64 { STANDARD.encode(ciphertext).into_bytes() } else { ciphertext })
    }

    /// The key of the destination's layer.
    pub fn key(&self) -> &HopKey {
        &self.key
    }
}

/// What a node does with a layer once it has taken it off.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Send `message` to the node with Ed25519 key `next` (as `sn.onion_request`).
    Forward {
        /// The next node's Ed25519 key. A node that does not know it answers
        /// [`Rejection::next_node_not_found`].
        next: [u8; 32],
        /// The bencoded relay message.
        message: Vec<u8>,
    },
    /// POST `body` (the whole decrypted layer, which the server parses itself) to `target`'s
    /// [`url`](HttpTarget::url), with a 25 s timeout, and pass its answer back: status through
    /// [`relay_status`] and body as it is.
    Relay {
        /// The server.
        target: HttpTarget,
        /// The POST body.
        body: Vec<u8>,
        /// Seals an answer of this node's own for the client, such as the storage server's
        /// encrypted `400 Invalid url` when the node will not reach `target` (its egress policy
        /// refuses the host or its addresses); the server's own answer is passed back as it is.
        refusal: ReplySealer,
    },
    /// This node is the destination: run `request` (v3 JSON, `{"method", "params"}`) and answer
    /// with HTTP 200 and `reply.seal(status, body)`.
    Deliver {
        /// The client's request.
        request: Vec<u8>,
        /// Seals the answer.
        reply: ReplySealer,
    },
}

/// An opened layer: what libsession-util's `OnionReqParser` gives a destination.
#[derive(Debug)]
#[non_exhaustive]
pub struct Opened {
    /// The decrypted payload.
    pub plaintext: Vec<u8>,
    /// The key to encrypt the reply with.
    pub reply_key: HopKey,
}

/// Opens a combined payload addressed to `keys` (the destination's layer of a request to a
/// server, or any layer): parses `u32(N) ‖ ciphertext ‖ JSON` and decrypts. AES-CBC is refused
/// here, as libsession-util refuses it.
///
/// # Errors
/// [`Error::TooLarge`], [`Error::MalformedPayload`], [`Error::InvalidJson`],
/// [`Error::UnknownEncType`], [`Error::DecryptionFailed`].
pub fn open(keys: &NodeKeys<'_>, request: &[u8]) -> Result<Opened> {
    let layer = Layer::parse_client(request)?;
    if layer.enc_type == EncType::AesCbc {
        return Err(Error::UnknownEncType(EncType::AesCbc.as_str().to_owned()));
    }
    let reply_key = HopKey::derive(
        layer.enc_type,
        keys.secret,
        keys.public,
        &layer.ephemeral_key,
        Role::Server,
    )?;
    let plaintext = reply_key.decrypt(&layer.ciphertext)?;
    Ok(Opened { plaintext, reply_key })
}

/// Takes this node's layer off `layer` and says what to do next, as the storage server does.
///
/// # Errors
/// The storage server's answers: `400 Invalid ciphertext` (plaintext) if the layer does not
/// decrypt, and, encrypted for the client with this layer's key (HTTP 200, the 400 inside):
/// `Invalid json` for routing that cannot be read, `Invalid url` for an HTTP relay to a target
/// nodes do not relay to.
pub fn peel<R: RngCore + CryptoRng>(
    keys: &NodeKeys<'_>,
    layer: &Layer,
    rng: &mut R,
) -> Result<Action, Rejection> {
    let invalid_ciphertext = || Rejection::text(400, "Invalid ciphertext".to_owned());
    let key = HopKey::derive(
        layer.enc_type,
        keys.secret,
        keys.public,
        &layer.ephemeral_key,
        Role::Server,
    )
    .map_err(|_| invalid_ciphertext())?;
    let plaintext = key.decrypt(&layer.ciphertext).map_err(|_| invalid_ciphertext())?;
    let sealer = ReplySealer { key, json: false, base64: true };
    let encrypted_error = |message: &str, rng: &mut R| sealer.reject(message, rng);

    let routed =
        payload::parse(&plaintext).and_then(|inner| Ok((inner.blob, Routing::parse(inner.json)?)));
    let (blob, routing) = match routed {
        Ok(routed) => routed,
        Err(_) => return Err(encrypted_error("Invalid json", rng)),
    };
    match routing {
        Routing::Deliver { json, base64 } => Ok(Action::Deliver {
            request: blob.to_vec(),
            reply: ReplySealer { key: sealer.key.clone(), json, base64 },
        }),
        Routing::Http(target) => {
            if !target.is_allowed() {
                return Err(encrypted_error("Invalid url", rng));
            }
            Ok(Action::Relay { target, body: plaintext, refusal: sealer })
        }
        Routing::Forward { destination, ephemeral_key, enc_type } => Ok(Action::Forward {
            next: destination,
            message: node_message(blob, &ephemeral_key, enc_type, layer.hop_no),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_messages_round_trip_and_count_hops() {
        let layer = Layer {
            ciphertext: vec![1, 2, 3],
            ephemeral_key: X25519PublicKey::from_bytes([9; 32]),
            enc_type: EncType::XChaCha20,
            hop_no: 3,
        };
        let message = layer.to_node_message();
        assert!(message.starts_with(b"d4:data3:"));
        let back = Layer::from_node(&message).unwrap();
        assert_eq!(back, Layer { hop_no: 4, ..layer.clone() });

        let too_far = Layer { hop_no: MAX_RELAYS, ..layer };
        assert_eq!(
            Layer::from_node(&too_far.to_node_message()),
            Err(Rejection::text(400, "onion request max path length exceeded".into()))
        );
        // Missing fields, and a missing enc_type (AES-GCM).
        assert_eq!(
            Layer::from_node(b"d13:ephemeral_key32:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaae")
                .unwrap_err()
                .status,
            400
        );
        let minimal =
            Layer::from_node(b"d4:data0:13:ephemeral_key32:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaae")
                .unwrap();
        assert_eq!((minimal.enc_type, minimal.hop_no), (EncType::AesGcm, 1));
    }

    #[test]
    fn status_table() {
        assert_eq!(relay_status(421), 421);
        assert_eq!(relay_status(425), 500);
        assert_eq!(relay_status(201), 500);
    }

    #[test]
    fn client_layer_errors() {
        let rejected = Layer::from_client(b"\x01\x00").unwrap_err();
        assert_eq!(rejected.status, 400);
        assert!(
            String::from_utf8(rejected.body).unwrap().starts_with("Error parsing onion request: ")
        );
        let no_key = payload::encode(b"x", br#"{"enc_type":"xchacha20"}"#);
        assert_eq!(Layer::from_client(&no_key).unwrap_err().status, 400);
        let hop = payload::encode(
            b"x",
            format!(r#"{{"ephemeral_key":"{}","hop_no":-5}}"#, "00".repeat(32)).as_bytes(),
        );
        assert_eq!(Layer::from_client(&hop).unwrap().hop_no, 0);
    }
}
