//! Node-to-node requests: signed by the sending node's Ed25519 key (see `docs/node.md`).
//!
//! Every request carries three headers: `X-Sesh-Node` (the sender's Ed25519 key, hex),
//! `X-Sesh-Timestamp` (ms since the epoch) and `X-Sesh-Signature` (base64 Ed25519 signature over
//! `"sesh-node/v1" ‖ 0 ‖ path ‖ 0 ‖ timestamp ‖ 0 ‖ body`). The receiver accepts it only from a
//! node it knows, within 60 s of its own clock.

use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sesh_identity::{Ed25519PublicKey, Identity, Signature};

/// The domain the signatures are made in.
const DOMAIN: &[u8] = b"sesh-node/v1";
/// How far a request's timestamp may be from the receiver's clock (ms).
pub(crate) const TOLERANCE_MS: i64 = 60_000;

pub(crate) const NODE_HEADER: &str = "x-sesh-node";
pub(crate) const TIMESTAMP_HEADER: &str = "x-sesh-timestamp";
pub(crate) const SIGNATURE_HEADER: &str = "x-sesh-signature";

fn signing_bytes(path: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let ts = timestamp.to_string();
    let mut m = Vec::with_capacity(DOMAIN.len() + path.len() + ts.len() + body.len() + 3);
    for part in [DOMAIN, path.as_bytes(), ts.as_bytes()] {
        m.extend_from_slice(part);
        m.push(0);
    }
    m.extend_from_slice(body);
    m
}

/// The headers that sign `body` for `path`.
pub(crate) fn sign(
    identity: &Identity,
    path: &str,
    now_ms: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let signature = identity.sign(&signing_bytes(path, now_ms, body));
    [
        (NODE_HEADER, hex::encode(identity.ed25519_public_key().to_bytes())),
        (TIMESTAMP_HEADER, now_ms.to_string()),
        (SIGNATURE_HEADER, STANDARD.encode(signature.to_bytes())),
    ]
}

/// Checks a signed request; returns the sender's key.
///
/// # Errors
/// A message for a `401` answer.
pub(crate) fn verify(
    headers: &HeaderMap,
    path: &str,
    now_ms: i64,
    body: &[u8],
) -> Result<[u8; 32], String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("missing {name} header"))
    };
    let mut key = [0u8; 32];
    hex::decode_to_slice(header(NODE_HEADER)?, &mut key)
        .map_err(|_| format!("{NODE_HEADER} is not 64 hex digits"))?;
    let ts: i64 = header(TIMESTAMP_HEADER)?
        .parse()
        .map_err(|_| format!("{TIMESTAMP_HEADER} is not a number"))?;
    if (ts - now_ms).abs() > TOLERANCE_MS {
        return Err(format!("{TIMESTAMP_HEADER} is more than 60 s from this node's clock"));
    }
    let sig: [u8; 64] = STANDARD
        .decode(header(SIGNATURE_HEADER)?)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("{SIGNATURE_HEADER} is not a base64 64-byte signature"))?;
    let public = Ed25519PublicKey::from_bytes(&key).map_err(|_| "invalid node key".to_owned())?;
    public
        .verify(&signing_bytes(path, ts, body), &Signature::from_bytes(&sig))
        .map_err(|_| "node signature verification failed".to_owned())?;
    Ok(key)
}

/// An answer from a peer.
#[derive(Debug)]
pub(crate) enum Reply {
    /// It answered.
    Answered { status: u16, body: Vec<u8> },
    /// It did not answer in time.
    TimedOut,
    /// It could not be reached.
    Unreachable(String),
}

/// POSTs a signed request to a peer.
pub(crate) async fn post(
    client: &reqwest::Client,
    identity: &Identity,
    url: &str,
    path: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Reply {
    let mut req = client.post(url).timeout(timeout);
    for (name, value) in sign(identity, path, crate::node::now_ms(), &body) {
        req = req.header(name, value);
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(body) => Reply::Answered { status, body: body.to_vec() },
                Err(e) if e.is_timeout() => Reply::TimedOut,
                Err(e) => Reply::Unreachable(e.to_string()),
            }
        }
        Err(e) if e.is_timeout() => Reply::TimedOut,
        Err(e) => Reply::Unreachable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;
    use rand_core::OsRng;

    fn headers(signed: [(&'static str, String); 3]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in signed {
            h.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        h
    }

    #[test]
    fn signed_requests_verify_and_tampering_fails() {
        let id = Identity::generate(&mut OsRng);
        let now = 1_700_000_000_000;
        let h = headers(sign(&id, "/swarm/v1/forward", now, b"body"));
        assert_eq!(
            verify(&h, "/swarm/v1/forward", now + 1000, b"body"),
            Ok(id.ed25519_public_key().to_bytes())
        );
        assert!(verify(&h, "/swarm/v1/forward", now, b"bodx").is_err());
        assert!(verify(&h, "/swarm/v1/push", now, b"body").is_err());
        assert!(
            verify(&h, "/swarm/v1/forward", now + 61_000, b"body").unwrap_err().contains("60 s")
        );
        assert!(verify(&HeaderMap::new(), "/", now, b"").unwrap_err().contains("missing"));
    }
}
