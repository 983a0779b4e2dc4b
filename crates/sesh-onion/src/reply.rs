//! The client's side of a reply: nothing is onion-wrapped on the way back. The destination
//! encrypts once, to the ephemeral key of the innermost layer, and every hop passes the bytes on.
//!
//! Two status levels tell a caller what to do:
//!
//! 1. the transport status from the guard: anything but 200 is a failed *path*, with a plaintext
//!    body from the hop that failed ([`check_transport`], [`Error::PathFailed`]);
//! 2. the destination's status, inside the decrypted reply ([`Error::DestinationStatus`], e.g.
//!    421 when the node is not in the recipient's swarm).
//!
//! A reply that cannot be read at all is [`Error::BadReply`].

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sesh_identity::{X25519PublicKey, X25519SecretKey};

use crate::error::{Error, Result};
use crate::hop::{EncType, HopKey, Role};
use crate::payload::json_object;
use crate::v4;

/// A destination's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// The destination's status (2xx; anything else is [`Error::DestinationStatus`]).
    pub status: u16,
    /// Headers, if the destination sent any.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

/// What the client keeps to read the reply: the innermost layer's ephemeral key pair, the
/// destination's key and the encryption type.
pub struct ReplyKeys {
    pub(crate) secret: X25519SecretKey,
    pub(crate) public: X25519PublicKey,
    pub(crate) destination: X25519PublicKey,
    pub(crate) enc_type: EncType,
}

impl ReplyKeys {
    /// The encryption type of the request.
    pub fn enc_type(&self) -> EncType {
        self.enc_type
    }

    /// The ephemeral public key of the destination's layer.
    pub fn final_public_key(&self) -> &X25519PublicKey {
        &self.public
    }

    /// The ephemeral secret key of the destination's layer.
    pub fn final_secret_key(&self) -> &X25519SecretKey {
        &self.secret
    }

    /// Decrypts a reply. If the request was XChaCha20 and that fails, AES-GCM is tried, as
    /// libsession-util does for servers that answer errors in AES-GCM.
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] if neither decrypts.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let key =
            |enc| HopKey::derive(enc, &self.secret, &self.public, &self.destination, Role::Client);
        match key(self.enc_type)?.decrypt(ciphertext) {
            Ok(plaintext) => Ok(plaintext),
            Err(e) if self.enc_type == EncType::XChaCha20 => {
                key(EncType::AesGcm)?.decrypt(ciphertext).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the reply of a storage-server (v3) request, given the guard's HTTP status and body:
    /// base64 (bare, or as `{"result": …}`) of the encrypted `{"body": …, "status": N}`.
    ///
    /// # Errors
    /// [`Error::PathFailed`] for a transport status other than 200; [`Error::BadReply`] for a
    /// body that is not base64, does not decrypt, or has no status; [`Error::DestinationStatus`]
    /// for a status other than 2xx.
    pub fn read_v3(&self, transport_status: u16, body: &[u8]) -> Result<Response> {
        check_transport(transport_status, body)?;
        let text = core::str::from_utf8(body).map_err(|_| bad("the reply is not text"))?.trim();
        let encoded = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => match map.get("result") {
                Some(Value::String(result)) => result.clone(),
                _ => return Err(bad("a JSON reply without a \"result\" string")),
            },
            _ => text.to_owned(),
        };
        let ciphertext =
            STANDARD.decode(encoded.as_bytes()).map_err(|_| bad("the reply is not base64"))?;
        let plaintext = self.decrypt(&ciphertext).map_err(|_| bad("the reply does not decrypt"))?;
        let map = json_object(&plaintext).map_err(|e| bad(&e.to_string()))?;
        let status = ["status_code", "status"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| bad("the reply has no status"))?;
        let headers = match map.get("headers") {
            Some(Value::Object(h)) => h
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect(),
            _ => BTreeMap::new(),
        };
        let body = match map.get("body") {
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            Some(other) => other.to_string().into_bytes(),
            None => plaintext.clone(),
        };
        finish(Response { status, headers, body })
    }

    /// Reads the reply of a server (v4) request: the raw encrypted bencoded response.
    ///
    /// # Errors
    /// As [`read_v3`](Self::read_v3).
    pub fn read_v4(&self, transport_status: u16, body: &[u8]) -> Result<Response> {
        check_transport(transport_status, body)?;
        let plaintext = self.decrypt(body).map_err(|_| bad("the reply does not decrypt"))?;
        let response = v4::Response::decode(&plaintext).map_err(|e| bad(&e.to_string()))?;
        finish(Response {
            status: response.code,
            headers: response.headers,
            body: response.body.unwrap_or_default(),
        })
    }
}

impl core::fmt::Debug for ReplyKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplyKeys")
            .field("enc_type", &self.enc_type)
            .field("final_public_key", &self.public)
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

fn bad(what: &str) -> Error {
    Error::BadReply(what.to_owned())
}

fn finish(response: Response) -> Result<Response> {
    if (200..300).contains(&response.status) {
        Ok(response)
    } else {
        Err(Error::DestinationStatus { status: response.status, body: response.body })
    }
}

/// Checks the guard's HTTP status: anything but 200 means the path failed, and the plaintext
/// body says where. A body `Next node not found: <ed25519 hex>` (also after a QUIC
/// `502 Bad Gateway\n\n` prefix) names the node to take out of the path.
///
/// # Errors
/// [`Error::PathFailed`].
pub fn check_transport(status: u16, body: &[u8]) -> Result<()> {
    if status == 200 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body).into_owned();
    let unreachable_node = text
        .strip_prefix("502 Bad Gateway\n\n")
        .unwrap_or(&text)
        .strip_prefix("Next node not found: ")
        .and_then(|hex_key| hex_key.get(..64))
        .and_then(|hex_key| {
            let mut key = [0u8; 32];
            hex::decode_to_slice(hex_key, &mut key).ok().map(|()| key)
        });
    Err(Error::PathFailed { status, body: text, unreachable_node })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_name_the_missing_node() {
        let node = "ab".repeat(32);
        for body in [
            format!("Next node not found: {node}"),
            format!("502 Bad Gateway\n\nNext node not found: {node}"),
        ] {
            match check_transport(502, body.as_bytes()) {
                Err(Error::PathFailed { status: 502, unreachable_node: Some(key), .. }) => {
                    assert_eq!(key, [0xab; 32]);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            check_transport(400, b"Invalid ciphertext"),
            Err(Error::PathFailed { status: 400, unreachable_node: None, .. })
        ));
        assert!(check_transport(200, b"").is_ok());
    }
}
