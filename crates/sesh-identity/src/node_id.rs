//! The identity of a service node: the one type every crate names nodes by.

use core::fmt;
use core::str::FromStr;

use crate::error::{Error, Result};
use crate::keys::{Ed25519PublicKey, Signature, X25519PublicKey};
use crate::{Identity, text};

/// A service node's identity: the 32 bytes of its Ed25519 public key, which signs its requests to
/// other nodes, its uptime proofs, its votes and its registration.
///
/// This is the key the ledger registers, swarm assignment orders and places, onion requests
/// address and node-to-node requests are signed with. Any 32 bytes are a `NodeId` (oxend's swarm
/// code and the ledger compare keys as bytes, and the reference vectors use keys that are not all
/// curve points); [`NodeId::to_ed25519`] decodes the point where a signature is checked.
///
/// ```
/// use sesh_identity::{Identity, NodeId};
///
/// let node = Identity::generate(&mut rand_core::OsRng);
/// let id = NodeId::from_identity(&node);
/// let signature = node.sign(b"uptime proof");
/// assert!(id.verify(b"uptime proof", &signature).is_ok());
/// assert_eq!(id.to_string().parse::<NodeId>(), Ok(id));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId([u8; 32]);

impl NodeId {
    /// The length of a node id.
    pub const LENGTH: usize = 32;

    const WHAT: &'static str = "node id";

    /// The id with these bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The id of the node whose key `identity` holds.
    pub fn from_identity(identity: &Identity) -> Self {
        Self(identity.ed25519_public_key().to_bytes())
    }

    /// Its 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Its 32 bytes, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// The Ed25519 public key these bytes encode.
    ///
    /// # Errors
    /// [`Error::NonCanonical`], [`Error::NotOnCurve`] or [`Error::LowOrderPoint`]: the bytes are
    /// not a key any node could sign with.
    pub fn to_ed25519(&self) -> Result<Ed25519PublicKey> {
        Ed25519PublicKey::from_bytes(&self.0)
    }

    /// The node's X25519 key (what onion layers are encrypted to), converted from its Ed25519
    /// key as libsodium converts it.
    ///
    /// # Errors
    /// As [`NodeId::to_ed25519`].
    pub fn to_x25519(&self) -> Result<X25519PublicKey> {
        self.to_ed25519()?.to_x25519()
    }

    /// Checks the node's signature on `message`.
    ///
    /// # Errors
    /// [`Error::InvalidSignature`] when the signature does not verify, or the errors of
    /// [`NodeId::to_ed25519`] when the id is not a key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        self.to_ed25519()?.verify(message, signature)
    }

    /// The id as four big-endian words: the byte order in four integer comparisons.
    fn words(&self) -> [u64; 4] {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *word = u64::from_be_bytes(bytes);
        }
        words
    }
}

/// The bytes' order (oxend's `crypto::public_key` order), compared 8 bytes at a time: swarm
/// assignment sorts by it and the ledger and reward engines look nodes up by it every block.
impl Ord for NodeId {
    #[inline]
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.words().cmp(&other.words())
    }
}

impl PartialOrd for NodeId {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl From<[u8; 32]> for NodeId {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<Ed25519PublicKey> for NodeId {
    fn from(key: Ed25519PublicKey) -> Self {
        Self(key.to_bytes())
    }
}

impl From<&Ed25519PublicKey> for NodeId {
    fn from(key: &Ed25519PublicKey) -> Self {
        Self(*key.as_bytes())
    }
}

/// Exactly 32 bytes, as off the wire.
impl TryFrom<&[u8]> for NodeId {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self> {
        text::array(bytes, Self::WHAT).map(Self)
    }
}

impl AsRef<[u8]> for NodeId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// 64 lower-case hex digits.
impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        text::write_hex(f, &self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl FromStr for NodeId {
    type Err = Error;
    /// Parses 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Self> {
        text::parse_hex(s, Self::WHAT).map(Self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn orders_as_its_bytes() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state.to_le_bytes()[7]
        };
        for i in 0..32 {
            for (x, y) in [(0u8, 255u8), (1, 2), (255, 0), (7, 7)] {
                let mut a = [0u8; 32];
                a.iter_mut().for_each(|b| *b = next());
                let mut b = a;
                a[i] = x;
                b[i] = y;
                b.iter_mut().skip(i + 1).for_each(|v| *v = next());
                assert_eq!(NodeId(a).cmp(&NodeId(b)), a.cmp(&b));
            }
        }
    }

    #[test]
    fn any_bytes_are_an_id_but_not_always_a_key() {
        // A non-canonical encoding: y = p (2^255 - 19).
        let mut bytes = [0xff; 32];
        bytes[0] = 0xed;
        bytes[31] = 0x7f;
        let id = NodeId::from_bytes(bytes);
        assert!(id.to_ed25519().is_err());
        assert!(id.to_x25519().is_err());
        assert_eq!(
            NodeId::try_from(&bytes[..31]).unwrap_err().to_string(),
            "node id must be 32 bytes long, got 31"
        );
        assert!("zz".parse::<NodeId>().is_err());
    }
}
