//! Node-to-node requests authenticated by a key the two nodes share, instead of a signature.
//!
//! A signed request ([`crate::auth`]) costs its sender an Ed25519 signature and its
//! receiver a verification: more than the onion layer a relay carries. Two nodes already share a
//! secret without a handshake: the X25519 of one's key with the other's (every node's Ed25519
//! key has an X25519 twin, the one onion layers are sealed to). From it both derive a *link key*,
//! and a request between them carries, in place of `X-Sesh-Signature`, `X-Sesh-Mac`: base64 of
//! the keyed BLAKE2b-256 of `"sesh-node-mac/v1" ‖ 0 ‖ path ‖ 0 ‖ timestamp ‖ 0 ‖ body` — the same
//! bytes a signature covers, in the same 60 s window. The key is computed once per peer and kept.
//!
//! A MAC convinces only its receiver (the receiver could have made it), so it authenticates a
//! request to the node that takes it and nothing more: nothing a node passes on to others as
//! proof (uptime proofs, votes) rests on it; those carry their own signatures in their bodies.
//! A receiver still takes signed requests ([`Links::verify`] checks whichever the request has),
//! so a node that does not know the receiver's key signs.
//!
//! ```
//! use sesh_identity::{Identity, NodeId};
//! use sesh_network::auth::SignatureHeaders;
//! use sesh_network::link::Links;
//!
//! let (a, b) = (Identity::generate(&mut rand_core::OsRng), Identity::generate(&mut rand_core::OsRng));
//! let (at_a, at_b) = (Links::new(&a, 1024), Links::new(&b, 1024));
//! let now_ms = 1_700_000_000_000;
//! let headers = at_a.authenticate(&NodeId::from_identity(&b), "/onion/v1/relay", now_ms, b"layer")?;
//! let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
//! let sender = at_b.verify(&SignatureHeaders::from_lookup(lookup), "/onion/v1/relay", now_ms + 5, b"layer")?;
//! assert_eq!(sender, NodeId::from_identity(&a));
//! # Ok::<(), sesh_network::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sesh_identity::hash::blake2b;
use sesh_identity::{Identity, NodeId, X25519SecretKey};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::auth::{self, MAC_HEADER, NODE_HEADER, SignatureHeaders, TIMESTAMP_HEADER};
use crate::error::{Error, Result};

/// The domain the link keys are derived in.
const KEY_DOMAIN: &[u8] = b"sesh-node-link/v1";
/// The domain the MACs are made in.
const MAC_DOMAIN: &[u8] = b"sesh-node-mac/v1";

/// The key two nodes share: BLAKE2b-256, keyed with the X25519 of one's key and the other's,
/// of `"sesh-node-link/v1"` and the two node ids in ascending order (so both ends derive the
/// same key, and it is bound to the pair).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LinkKey([u8; 32]);

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkKey(<secret>)")
    }
}

impl LinkKey {
    /// The key between `me` (with its X25519 secret `secret`) and `peer`.
    ///
    /// # Errors
    /// [`Error::BadLinkKey`] if `peer` is not a key whose X25519 twin can be computed (not a
    /// point, or of small order): no node has such a key.
    pub fn derive(me: &NodeId, secret: &X25519SecretKey, peer: &NodeId) -> Result<Self> {
        let peer_x = peer.to_x25519().map_err(|_| Error::BadLinkKey)?;
        let shared = secret.diffie_hellman(&peer_x).map_err(|_| Error::BadLinkKey)?;
        let (lo, hi) = if me.as_bytes() <= peer.as_bytes() { (me, peer) } else { (peer, me) };
        Ok(Self(blake2b(shared.as_bytes(), &[KEY_DOMAIN, lo.as_bytes(), hi.as_bytes()])))
    }

    /// The keyed BLAKE2b-256 of `parts` under this key (for keys derived from it).
    pub(crate) fn keyed(&self, parts: &[&[u8]]) -> [u8; 32] {
        blake2b(&self.0, parts)
    }

    /// The MAC of a request for `path` with `body` at `timestamp` (ms).
    pub fn mac(&self, path: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let ts = timestamp.to_string();
        blake2b(&self.0, &[MAC_DOMAIN, &[0], path.as_bytes(), &[0], ts.as_bytes(), &[0], body])
    }
}

/// One node's link keys: its own key, and the keys it shares with the peers it has talked to
/// (at most `capacity`; when full, it forgets them all and derives again as they come). Shared
/// by every task of a node: the map is locked only to look a key up or to keep a new one; MACs
/// and Diffie-Hellmans are computed outside the lock.
pub struct Links {
    me: NodeId,
    secret: X25519SecretKey,
    keys: Mutex<HashMap<NodeId, LinkKey>>,
    capacity: usize,
}

impl fmt::Debug for Links {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Links").field("me", &self.me).field("peers", &self.len()).finish()
    }
}

impl Links {
    /// The links of `identity`, keeping at most `capacity` peers' keys.
    pub fn new(identity: &Identity, capacity: usize) -> Self {
        Self {
            me: NodeId::from_identity(identity),
            secret: identity.x25519_secret_key().clone(),
            keys: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// This node's id.
    pub fn me(&self) -> &NodeId {
        &self.me
    }

    /// Peers whose keys are kept.
    pub fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether it keeps none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key shared with `peer`, derived the first time and then remembered.
    ///
    /// # Errors
    /// [`Error::BadLinkKey`], as [`LinkKey::derive`].
    pub fn key(&self, peer: &NodeId) -> Result<LinkKey> {
        let kept = self.keys.lock().unwrap_or_else(PoisonError::into_inner).get(peer).cloned();
        if let Some(key) = kept {
            return Ok(key);
        }
        let key = LinkKey::derive(&self.me, &self.secret, peer)?;
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= self.capacity {
            keys.clear();
        }
        keys.insert(*peer, key.clone());
        Ok(key)
    }

    /// The three headers that authenticate `body` for `path` at `now_ms` to `peer`:
    /// `X-Sesh-Node`, `X-Sesh-Timestamp` and `X-Sesh-Mac`.
    ///
    /// # Errors
    /// [`Error::BadLinkKey`] if `peer` is not a node's key (sign the request instead).
    pub fn authenticate(
        &self,
        peer: &NodeId,
        path: &str,
        now_ms: i64,
        body: &[u8],
    ) -> Result<[(&'static str, String); 3]> {
        let mac = self.key(peer)?.mac(path, now_ms, body);
        Ok([
            (NODE_HEADER, self.me.to_string()),
            (TIMESTAMP_HEADER, now_ms.to_string()),
            (MAC_HEADER, STANDARD.encode(mac)),
        ])
    }

    /// Checks a request for `path` with `body`, received at `now_ms`, by its MAC if it has
    /// one and otherwise by its signature ([`auth::verify`]); returns the sender.
    ///
    /// # Errors
    /// [`Error::MissingHeader`], [`Error::BadHeader`], [`Error::Stale`], [`Error::BadMac`] or
    /// [`Error::BadSignature`]: what a `401` answer says.
    pub fn verify(
        &self,
        headers: &SignatureHeaders<'_>,
        path: &str,
        now_ms: i64,
        body: &[u8],
    ) -> Result<NodeId> {
        let Some(mac) = headers.mac else {
            return auth::verify(headers, path, now_ms, body);
        };
        let (node, ts) = auth::sender_and_time(headers, now_ms)?;
        let mac: [u8; 32] = STANDARD
            .decode(mac)
            .ok()
            .and_then(|m| m.try_into().ok())
            .ok_or(Error::BadHeader { header: MAC_HEADER, expected: "a base64 32-byte MAC" })?;
        let expected = self.key(&node).map_err(|_| Error::BadMac)?.mac(path, ts, body);
        if bool::from(expected.ct_eq(&mac)) { Ok(node) } else { Err(Error::BadMac) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use rand_core::OsRng;

    const NOW: i64 = 1_700_000_000_000;

    fn three() -> (Identity, Identity, Identity) {
        (
            Identity::generate(&mut OsRng),
            Identity::generate(&mut OsRng),
            Identity::generate(&mut OsRng),
        )
    }

    fn check(
        links: &Links,
        headers: &[(&'static str, String)],
        path: &str,
        now: i64,
        body: &[u8],
    ) -> Result<NodeId> {
        let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        links.verify(&SignatureHeaders::from_lookup(lookup), path, now, body)
    }

    #[test]
    fn both_ends_derive_the_same_key_and_a_third_node_another() {
        let (a, b, c) = three();
        let id = |i: &Identity| NodeId::from_identity(i);
        let ab = LinkKey::derive(&id(&a), a.x25519_secret_key(), &id(&b)).unwrap();
        let ba = LinkKey::derive(&id(&b), b.x25519_secret_key(), &id(&a)).unwrap();
        let cb = LinkKey::derive(&id(&c), c.x25519_secret_key(), &id(&b)).unwrap();
        assert_eq!(ab.0, ba.0);
        assert_ne!(ab.0, cb.0);
        assert_eq!(format!("{ab:?}"), "LinkKey(<secret>)");
    }

    #[test]
    fn macs_verify_at_their_receiver_only_and_tampering_fails() {
        let (a, b, c) = three();
        let (at_a, at_b, at_c) = (Links::new(&a, 8), Links::new(&b, 8), Links::new(&c, 8));
        let (id_a, id_b) = (NodeId::from_identity(&a), NodeId::from_identity(&b));
        let h = at_a.authenticate(&id_b, "/onion/v1/relay", NOW, b"body").unwrap();
        assert_eq!(check(&at_b, &h, "/onion/v1/relay", NOW + 1000, b"body"), Ok(id_a));
        // Another receiver, another body, another path, the sender's own node: refused.
        assert_eq!(check(&at_c, &h, "/onion/v1/relay", NOW, b"body"), Err(Error::BadMac));
        assert_eq!(check(&at_b, &h, "/onion/v1/relay", NOW, b"bodx"), Err(Error::BadMac));
        assert_eq!(check(&at_b, &h, "/swarm/v1/push", NOW, b"body"), Err(Error::BadMac));
        assert_eq!(check(&at_a, &h, "/onion/v1/relay", NOW, b"body"), Err(Error::BadMac));
        // Another node's id in the node header.
        let mut forged = h.clone();
        forged[0].1 = NodeId::from_identity(&c).to_string();
        assert_eq!(check(&at_b, &forged, "/onion/v1/relay", NOW, b"body"), Err(Error::BadMac));
        // A different timestamp: the MAC covers it; an old one is stale before it is checked.
        let mut moved = h.clone();
        moved[1].1 = (NOW + 1).to_string();
        assert_eq!(check(&at_b, &moved, "/onion/v1/relay", NOW, b"body"), Err(Error::BadMac));
        assert!(matches!(
            check(&at_b, &h, "/onion/v1/relay", NOW + 61_000, b"body"),
            Err(Error::Stale { skew_ms: -61_000 })
        ));
        // Garbage in each header is a typed refusal, never a panic.
        for i in 0..3 {
            let mut bad = h.clone();
            bad[i].1 = "é\u{0}x".into();
            assert!(matches!(
                check(&at_b, &bad, "/onion/v1/relay", NOW, b"body"),
                Err(Error::BadHeader { .. })
            ));
        }
        // A node id that is no point: no key, refused.
        let mut nokey = h.clone();
        nokey[0].1 = "ff".repeat(32);
        assert!(check(&at_b, &nokey, "/onion/v1/relay", NOW, b"body").is_err());
        // Signed requests are still taken.
        let signed = auth::sign(&a, "/onion/v1/relay", NOW, b"body");
        assert_eq!(check(&at_b, &signed, "/onion/v1/relay", NOW, b"body"), Ok(id_a));
    }

    #[test]
    fn a_full_map_forgets_and_derives_again() {
        let me = Identity::generate(&mut OsRng);
        let links = Links::new(&me, 2);
        let peers: Vec<Identity> = (0..5).map(|_| Identity::generate(&mut OsRng)).collect();
        for p in &peers {
            let id = NodeId::from_identity(p);
            let first = links.key(&id).unwrap().0;
            let fresh = LinkKey::derive(&NodeId::from_identity(&me), me.x25519_secret_key(), &id);
            assert_eq!(first, fresh.unwrap().0);
            assert!(links.len() <= 2);
        }
    }
}
