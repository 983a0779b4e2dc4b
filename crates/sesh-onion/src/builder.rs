//! The client's side: wrapping a request in one layer per node of a path, as libsession-util's
//! `onionreq::Builder`.
//!
//! ```text
//!  destination layer   Node:   Enc(a_f → D, u32(len) ‖ payload ‖ {"headers":""})
//!                      Server: Enc(a_f → S, payload)
//!  hop layers (exit back to guard), each with a fresh ephemeral key a:
//!                      Enc(a → hop, u32(len) ‖ blob ‖ routing JSON for that hop)
//!  outer body:         u32(len) ‖ blob ‖ {"enc_type":E,"ephemeral_key":A_guard}
//! ```
//!
//! The randomness is drawn in libsession-util's order (per layer, from the destination out: a
//! 32-byte ephemeral secret, then the nonce), so replaying its random draws reproduces its
//! requests byte for byte.
//!
//! **A difference on purpose:** libsession-util passes a *server* destination's payload through a
//! C string, so it is cut at its first 0 byte (a binary v4 body loses everything after a 0).
//! This builder sends the payload whole.

use rand_core::{CryptoRng, RngCore};
use serde_json::Value;
use sesh_identity::{Ed25519PublicKey, X25519PublicKey, X25519SecretKey};

use crate::error::{Error, Result};
use crate::hop::{EncType, HopKey, Role};
use crate::payload::{self, json_bytes};
use crate::reply::ReplyKeys;

/// The most nodes a path may have: nodes refuse a request that has been relayed more often.
pub const MAX_HOPS: usize = 15;

/// A node of a path, or a node destination: its Ed25519 key (how the previous hop names it) and
/// its X25519 key (what its layer is encrypted to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The node's Ed25519 key.
    pub ed25519: Ed25519PublicKey,
    /// The node's X25519 key.
    pub x25519: X25519PublicKey,
}

impl Hop {
    /// A node known by its Ed25519 key; the X25519 key is its birational image, as clients
    /// compute it.
    ///
    /// # Errors
    /// [`Error::Identity`] if the key has a torsion component.
    pub fn from_ed25519(ed25519: Ed25519PublicKey) -> Result<Self> {
        Ok(Self { x25519: ed25519.to_x25519()?, ed25519 })
    }
}

/// An HTTP server destination (a community, the file server).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Server {
    /// Host name or address.
    pub host: String,
    /// The onion endpoint: `/oxen/v4/lsrpc` (or `/oxen/v3/lsrpc`, `/loki/v3/lsrpc` for v3).
    pub target: String,
    /// `https` or `http`.
    pub protocol: String,
    /// The port; 443 for https and 80 for http if not given.
    pub port: Option<u16>,
    /// The server's X25519 key.
    pub x25519: X25519PublicKey,
}

impl Server {
    /// An HTTPS server on its default port, reached at `/oxen/v4/lsrpc`.
    pub fn https_v4(host: &str, x25519: X25519PublicKey) -> Self {
        Self {
            host: host.to_owned(),
            target: "/oxen/v4/lsrpc".to_owned(),
            protocol: "https".to_owned(),
            port: None,
            x25519,
        }
    }
}

/// Where a request goes after the path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination {
    /// A storage-server node: the payload is a v3 JSON request, `{"method": …, "params": …}`.
    Node(Hop),
    /// An HTTP server: the payload is a v4 request ([`crate::v4`]) or a v3 JSON request.
    Server(Server),
}

impl Destination {
    fn x25519(&self) -> &X25519PublicKey {
        match self {
            Self::Node(hop) => &hop.x25519,
            Self::Server(server) => &server.x25519,
        }
    }
}

/// A built onion request: the bytes to send to the guard, and the keys to read the reply with.
#[derive(Debug)]
#[non_exhaustive]
pub struct OnionRequest {
    /// The body of `POST /onion_req/v2` to the first node of the path.
    pub bytes: Vec<u8>,
    /// What reads the reply.
    pub reply: ReplyKeys,
}

/// One layer: a fresh ephemeral key pair, and the concatenation of `plaintext` encrypted to
/// `recipient` with it (built in the ciphertext's buffer, without an intermediate copy).
fn layer<R: RngCore + CryptoRng>(
    enc_type: EncType,
    recipient: &X25519PublicKey,
    plaintext: &[&[u8]],
    rng: &mut R,
) -> Result<(X25519SecretKey, X25519PublicKey, Vec<u8>)> {
    let secret = X25519SecretKey::generate(rng);
    let public = secret.public_key();
    let key = HopKey::derive(enc_type, &secret, &public, recipient, Role::Client)?;
    let blob = key.encrypt_parts(plaintext, rng)?;
    Ok((secret, public, blob))
}

/// The parts of a combined payload `u32(len(blob)) ‖ blob ‖ json` ([`payload::encode`]).
fn combined<'a>(len: &'a [u8; 4], blob: &'a [u8], json: &'a [u8]) -> [&'a [u8]; 3] {
    [len, blob, json]
}

/// The little-endian length prefix of a combined payload.
fn len_prefix(blob: &[u8]) -> [u8; 4] {
    u32::try_from(blob.len()).unwrap_or(u32::MAX).to_le_bytes()
}

fn hex(key: &[u8; 32]) -> Value {
    Value::String(hex::encode(key))
}

/// Builds an onion request carrying `payload` through `path` (1 to [`MAX_HOPS`] nodes, guard
/// first; 3 is what clients use) to `destination`, with `enc_type` for every layer.
///
/// # Errors
/// [`Error::PathLength`]; [`Error::EncryptUnsupported`] for AES-CBC; [`Error::Identity`] if a
/// node's X25519 key is of low order.
pub fn build<R: RngCore + CryptoRng>(
    path: &[Hop],
    destination: &Destination,
    payload: &[u8],
    enc_type: EncType,
    rng: &mut R,
) -> Result<OnionRequest> {
    if path.is_empty() || path.len() > MAX_HOPS {
        return Err(Error::PathLength { actual: path.len(), max: MAX_HOPS });
    }
    if enc_type == EncType::AesCbc {
        return Err(Error::EncryptUnsupported);
    }
    let enc_name = Value::String(enc_type.as_str().to_owned());

    // The destination's layer, and the routing the exit is given.
    let (final_secret, final_public, mut blob, exit_routing) = match destination {
        Destination::Node(node) => {
            let len = len_prefix(payload);
            let inner = combined(&len, payload, br#"{"headers":""}"#);
            let (secret, public, blob) = layer(enc_type, &node.x25519, &inner, rng)?;
            let routing = json_bytes([
                ("destination", hex(node.ed25519.as_bytes())),
                ("enc_type", enc_name.clone()),
                ("ephemeral_key", hex(public.as_bytes())),
            ]);
            (secret, public, blob, routing)
        }
        Destination::Server(server) => {
            let (secret, public, blob) = layer(enc_type, &server.x25519, &[payload], rng)?;
            let default_port = if server.protocol == "https" { 443 } else { 80 };
            let routing = json_bytes([
                ("enc_type", enc_name.clone()),
                ("ephemeral_key", hex(public.as_bytes())),
                ("host", Value::String(server.host.clone())),
                ("method", Value::String("POST".to_owned())),
                ("port", Value::from(server.port.unwrap_or(default_port))),
                ("protocol", Value::String(server.protocol.clone())),
                ("target", Value::String(server.target.clone())),
            ]);
            (secret, public, blob, routing)
        }
    };

    // The path's layers, from the exit back to the guard.
    let mut ephemeral = final_public;
    for (i, hop) in path.iter().enumerate().rev() {
        let routing = match path.get(i + 1) {
            None => exit_routing.clone(),
            Some(next) => json_bytes([
                ("destination", hex(next.ed25519.as_bytes())),
                ("enc_type", enc_name.clone()),
                ("ephemeral_key", hex(ephemeral.as_bytes())),
            ]),
        };
        let len = len_prefix(&blob);
        let plain = combined(&len, &blob, &routing);
        let (_, public, sealed) = layer(enc_type, &hop.x25519, &plain, rng)?;
        blob = sealed;
        ephemeral = public;
    }

    let outer = json_bytes([("enc_type", enc_name), ("ephemeral_key", hex(ephemeral.as_bytes()))]);
    Ok(OnionRequest {
        bytes: payload::encode(&blob, &outer),
        reply: ReplyKeys {
            secret: final_secret,
            public: final_public,
            destination: *destination.x25519(),
            enc_type,
        },
    })
}
