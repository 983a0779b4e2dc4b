//! Node-to-node requests, signed by the sending node's Ed25519 key.
//!
//! Every signed request (and every published network state) carries three headers:
//! `X-Sesh-Node` (the signer's [`NodeId`], hex), `X-Sesh-Timestamp` (milliseconds since the Unix
//! epoch) and `X-Sesh-Signature` (base64 of the Ed25519 signature over
//! `"sesh-node/v1" ‖ 0 ‖ path ‖ 0 ‖ timestamp ‖ 0 ‖ body`). The receiver accepts it within
//! [`TOLERANCE_MS`] of its own clock; binding the path stops a signature for one endpoint being
//! replayed to another.
//!
//! Between two nodes that know each other's ids, a MAC under their shared link key
//! ([`link`](crate::link)) can stand in for the signature; a published network state is always
//! signed.
//!
//! ```
//! use sesh_identity::{Identity, NodeId};
//! use sesh_network::auth::{self, SignatureHeaders};
//!
//! let node = Identity::generate(&mut rand_core::OsRng);
//! let now_ms = 1_700_000_000_000;
//! let headers = auth::sign(&node, "/swarm/v1/push", now_ms, b"{}");
//! let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
//! let signer = auth::verify(&SignatureHeaders::from_lookup(lookup), "/swarm/v1/push", now_ms + 5, b"{}")?;
//! assert_eq!(signer, NodeId::from_identity(&node));
//! # Ok::<(), sesh_network::Error>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sesh_identity::{Identity, NodeId, Signature};

use crate::error::{Error, Result};

/// The domain the signatures are made in.
const DOMAIN: &[u8] = b"sesh-node/v1";
/// How far a signed request's timestamp may be from the receiver's clock (ms).
pub const TOLERANCE_MS: i64 = 60_000;

/// The signer's node id, hex.
pub const NODE_HEADER: &str = "x-sesh-node";
/// Milliseconds since the Unix epoch, decimal.
pub const TIMESTAMP_HEADER: &str = "x-sesh-timestamp";
/// The signature, base64.
pub const SIGNATURE_HEADER: &str = "x-sesh-signature";
/// In place of a signature, the MAC under the two nodes' link key, base64
/// ([`link`](crate::link)).
pub const MAC_HEADER: &str = "x-sesh-mac";

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

/// The three headers that sign `body` for `path` at `now_ms`.
pub fn sign(
    identity: &Identity,
    path: &str,
    now_ms: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let signature = identity.sign(&signing_bytes(path, now_ms, body));
    [
        (NODE_HEADER, NodeId::from_identity(identity).to_string()),
        (TIMESTAMP_HEADER, now_ms.to_string()),
        (SIGNATURE_HEADER, STANDARD.encode(signature.to_bytes())),
    ]
}

/// The signature headers of a request, as received (any may be missing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    /// `X-Sesh-Node`.
    pub node: Option<&'a str>,
    /// `X-Sesh-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-Sesh-Signature`.
    pub signature: Option<&'a str>,
    /// `X-Sesh-Mac` (checked by [`Links::verify`](crate::link::Links::verify), not here).
    pub mac: Option<&'a str>,
}

impl<'a> SignatureHeaders<'a> {
    /// Reads the headers with `lookup` (by their lower-case names).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self {
            node: lookup(NODE_HEADER),
            timestamp: lookup(TIMESTAMP_HEADER),
            signature: lookup(SIGNATURE_HEADER),
            mac: lookup(MAC_HEADER),
        }
    }
}

/// Checks a signed request for `path` with `body`, received at `now_ms`; returns the signer.
///
/// # Errors
/// [`Error::MissingHeader`], [`Error::BadHeader`], [`Error::Stale`] or [`Error::BadSignature`]:
/// what a `401` answer says.
pub fn verify(
    headers: &SignatureHeaders<'_>,
    path: &str,
    now_ms: i64,
    body: &[u8],
) -> Result<NodeId> {
    let (node, ts) = sender_and_time(headers, now_ms)?;
    let signature = headers.signature.ok_or(Error::MissingHeader(SIGNATURE_HEADER))?;
    let sig: [u8; 64] = STANDARD.decode(signature).ok().and_then(|s| s.try_into().ok()).ok_or(
        Error::BadHeader { header: SIGNATURE_HEADER, expected: "a base64 64-byte signature" },
    )?;
    node.verify(&signing_bytes(path, ts, body), &Signature::from_bytes(&sig))
        .map_err(|_| Error::BadSignature)?;
    Ok(node)
}

/// The sender and the timestamp of a request, the timestamp within [`TOLERANCE_MS`] of `now_ms`.
pub(crate) fn sender_and_time(
    headers: &SignatureHeaders<'_>,
    now_ms: i64,
) -> Result<(NodeId, i64)> {
    let node = headers.node.ok_or(Error::MissingHeader(NODE_HEADER))?;
    let timestamp = headers.timestamp.ok_or(Error::MissingHeader(TIMESTAMP_HEADER))?;
    let node: NodeId = node
        .parse()
        .map_err(|_| Error::BadHeader { header: NODE_HEADER, expected: "64 hex digits" })?;
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| Error::BadHeader { header: TIMESTAMP_HEADER, expected: "a number" })?;
    let skew_ms = ts.saturating_sub(now_ms);
    if skew_ms.unsigned_abs() > TOLERANCE_MS.unsigned_abs() {
        return Err(Error::Stale { skew_ms });
    }
    Ok((node, ts))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use rand_core::OsRng;

    fn check(
        signed: &[(&'static str, String); 3],
        path: &str,
        now: i64,
        body: &[u8],
    ) -> Result<NodeId> {
        let lookup = |name: &str| signed.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        verify(&SignatureHeaders::from_lookup(lookup), path, now, body)
    }

    #[test]
    fn signed_requests_verify_and_tampering_fails() {
        let id = Identity::generate(&mut OsRng);
        let now = 1_700_000_000_000;
        let h = sign(&id, "/swarm/v1/forward", now, b"body");
        assert_eq!(
            check(&h, "/swarm/v1/forward", now + 1000, b"body"),
            Ok(NodeId::from_identity(&id))
        );
        assert_eq!(check(&h, "/swarm/v1/forward", now, b"bodx"), Err(Error::BadSignature));
        assert_eq!(check(&h, "/swarm/v1/push", now, b"body"), Err(Error::BadSignature));
        assert_eq!(
            check(&h, "/swarm/v1/forward", now + 61_000, b"body"),
            Err(Error::Stale { skew_ms: -61_000 })
        );
        assert!(
            check(&h, "/swarm/v1/forward", now + 61_000, b"body")
                .unwrap_err()
                .to_string()
                .contains("60 s")
        );
        assert_eq!(
            verify(&SignatureHeaders::default(), "/", now, b""),
            Err(Error::MissingHeader(NODE_HEADER))
        );
        // Another node's key in the node header: the signature is not its.
        let mut forged = h.clone();
        forged[0].1 = NodeId::from_identity(&Identity::generate(&mut OsRng)).to_string();
        assert_eq!(check(&forged, "/swarm/v1/forward", now, b"body"), Err(Error::BadSignature));
        // Garbage in each header is a typed refusal, never a panic.
        for i in 0..3 {
            let mut bad = h.clone();
            bad[i].1 = "é\u{0}x".into();
            assert!(matches!(
                check(&bad, "/swarm/v1/forward", now, b"body"),
                Err(Error::BadHeader { .. })
            ));
        }
        let mut extreme = h;
        extreme[1].1 = i64::MIN.to_string();
        assert!(matches!(
            check(&extreme, "/swarm/v1/forward", i64::MAX, b"body"),
            Err(Error::Stale { .. })
        ));
    }
}
