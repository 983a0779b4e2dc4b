//! Public and secret key newtypes.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use curve25519_dalek::edwards::EdwardsPoint;
use std::sync::OnceLock;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::curve;
use crate::error::{Error, Result};
use crate::point;
use crate::text;

pub use ed25519_dalek::Signature;

/// An Ed25519 public key that libsodium would accept: canonically encoded, on the curve and not
/// of low order.
///
/// Signatures are verified exactly as libsodium's `crypto_sign_verify_detached` does, so a
/// signature this type accepts is one every Session client accepts, and the other way round.
#[derive(Clone, Copy)]
pub struct Ed25519PublicKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
}

impl Ed25519PublicKey {
    /// The length of the encoded key.
    pub const LENGTH: usize = 32;

    const WHAT: &'static str = "Ed25519 public key";

    /// Decodes a key, refusing encodings libsodium refuses.
    ///
    /// # Errors
    /// [`Error::NonCanonical`], [`Error::NotOnCurve`] or [`Error::LowOrderPoint`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        Self::decode(bytes, Self::WHAT)
    }

    /// Decodes a key, naming it `what` in errors.
    pub(crate) fn decode(bytes: &[u8; 32], what: &'static str) -> Result<Self> {
        let point = point::decode_ed25519(bytes, what)?;
        Ok(Self { bytes: *bytes, point })
    }

    /// Wraps a point computed by this crate, which is never of low order.
    pub(crate) fn from_point(point: EdwardsPoint) -> Self {
        Self { bytes: point.compress().to_bytes(), point }
    }

    /// Wraps a point computed by this crate and its encoding, already compressed.
    pub(crate) fn from_parts(bytes: [u8; 32], point: EdwardsPoint) -> Self {
        Self { bytes, point }
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The 32-byte encoding, by value.
    pub fn to_bytes(self) -> [u8; 32] {
        self.bytes
    }

    /// The sign bit of the encoding (the top bit of the last byte), which the X25519 form of the
    /// key loses.
    pub fn is_negative(&self) -> bool {
        self.bytes[31] & 0x80 != 0
    }

    pub(crate) fn point(&self) -> &EdwardsPoint {
        &self.point
    }

    /// Checks `signature` over `message` as libsodium's `crypto_sign_verify_detached` does
    /// (`S < L`, `R` not of low order, the recomputed `R` equal byte for byte).
    ///
    /// # Errors
    /// [`Error::InvalidSignature`], whatever the reason.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        if point::verify(&self.bytes, &self.point, message, &signature.to_bytes()) {
            Ok(())
        } else {
            Err(Error::InvalidSignature)
        }
    }

    /// The X25519 form of the key, `u = (1 + y) / (1 − y)`, as libsodium's
    /// `crypto_sign_ed25519_pk_to_curve25519`.
    ///
    /// # Errors
    /// [`Error::NotInPrimeOrderSubgroup`] if the point has a torsion component: libsodium refuses
    /// to convert such keys, and no secret key has one.
    pub fn to_x25519(&self) -> Result<X25519PublicKey> {
        point::require_prime_order(&self.point, Self::WHAT)?;
        Ok(X25519PublicKey(self.point.to_montgomery().to_bytes()))
    }
}

impl PartialEq for Ed25519PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for Ed25519PublicKey {}
impl Hash for Ed25519PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}
impl PartialOrd for Ed25519PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ed25519PublicKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl TryFrom<&[u8]> for Ed25519PublicKey {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(&text::array(bytes, Self::WHAT)?)
    }
}

impl fmt::Display for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        text::write_hex(f, &self.bytes)
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519PublicKey({self})")
    }
}

impl FromStr for Ed25519PublicKey {
    type Err = Error;
    /// Parses 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Self> {
        Self::from_bytes(&text::parse_hex(s, Self::WHAT)?)
    }
}

/// An X25519 public key: 32 bytes, the Montgomery `u` coordinate.
///
/// Any 32 bytes are accepted here, as libsodium's `crypto_box` accepts them; whether a key is a
/// usable point is checked where it matters (a [`SessionId`](crate::SessionId) always holds a
/// valid one, and a Diffie-Hellman result of zero is refused by the crates that do DH).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct X25519PublicKey([u8; 32]);

impl X25519PublicKey {
    /// The length of the encoded key.
    pub const LENGTH: usize = 32;

    const WHAT: &'static str = "X25519 public key";

    /// Wraps 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 32 bytes, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl From<[u8; 32]> for X25519PublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl TryFrom<&[u8]> for X25519PublicKey {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self> {
        Ok(Self(text::array(bytes, Self::WHAT)?))
    }
}

impl fmt::Display for X25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        text::write_hex(f, &self.0)
    }
}

impl fmt::Debug for X25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519PublicKey({self})")
    }
}

impl FromStr for X25519PublicKey {
    type Err = Error;
    /// Parses 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Self> {
        Ok(Self(text::parse_hex(s, Self::WHAT)?))
    }
}

/// An X25519 secret key: 32 bytes, zeroized on drop, never printed.
///
/// The bytes are kept as given; X25519 clamps them when it uses them, as libsodium does. The
/// secret key of an account is the clamped Ed25519 scalar (libsodium's
/// `crypto_sign_ed25519_sk_to_curve25519`).
///
/// The first X25519 operation loads the key into the active backend ([`crate::curve`]) and
/// keeps it loaded, so that a key used again (a node's key peeling every request, an ephemeral
/// key whose public key is sent before its one key exchange) is loaded once.
pub struct X25519SecretKey {
    bytes: [u8; 32],
    /// Loaded into each backend that has been active when it was used (one in practice).
    prepared: [OnceLock<curve::Prepared>; curve::BACKENDS],
}

impl X25519SecretKey {
    /// The length in bytes.
    pub const LENGTH: usize = 32;

    /// Wraps secret bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self { bytes, prepared: [const { OnceLock::new() }; curve::BACKENDS] }
    }

    /// Fresh random bytes from `rng`.
    pub fn generate<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// The secret bytes. Handle them as a secret: do not log them or store them unencrypted.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key loaded into the active backend, kept from its first use there.
    fn with_prepared<T>(&self, f: impl FnOnce(&curve::Prepared) -> T) -> T {
        let backend = curve::active();
        match self.prepared.get(backend.index()) {
            Some(slot) => f(slot.get_or_init(|| curve::Prepared::new(backend, &self.bytes))),
            None => f(&curve::Prepared::new(backend, &self.bytes)),
        }
    }

    /// The matching public key, `X25519(clamp(sk), 9)`.
    pub fn public_key(&self) -> X25519PublicKey {
        X25519PublicKey(self.with_prepared(|p| p.public_key(&self.bytes)))
    }

    /// X25519 with a peer's public key, as libsodium's `crypto_scalarmult`: the one place every
    /// sesh crate does Diffie-Hellman.
    ///
    /// # Errors
    /// [`Error::LowOrderPoint`] if the result is all zeros, which happens exactly when the peer's
    /// key is of low order: libsodium refuses such a key exchange, because the "shared" secret
    /// would be known to anyone.
    pub fn diffie_hellman(&self, peer: &X25519PublicKey) -> Result<SharedSecret> {
        self.with_prepared(|p| p.diffie_hellman(&self.bytes, &peer.0)).map(SharedSecret)
    }
}

impl Clone for X25519SecretKey {
    /// Copies the bytes; the copy loads its own key into the backend when first used.
    fn clone(&self) -> Self {
        Self::from_bytes(self.bytes)
    }
}

impl Zeroize for X25519SecretKey {
    /// Wipes the bytes and unloads the key from the backend (which wipes its copy).
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        for slot in &mut self.prepared {
            // Dropping the loaded key wipes the backend's copy.
            *slot = OnceLock::new();
        }
    }
}

impl Drop for X25519SecretKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for X25519SecretKey {}

impl ConstantTimeEq for X25519SecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.bytes.as_slice().ct_eq(other.bytes.as_slice())
    }
}

impl PartialEq for X25519SecretKey {
    /// Compares in constant time.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for X25519SecretKey {}

impl fmt::Debug for X25519SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("X25519SecretKey(<secret>)")
    }
}

/// The result of an X25519 key exchange: 32 secret bytes, zeroized on drop, never printed. It is
/// an input to a key derivation, never a key itself.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; 32]);

impl SharedSecret {
    pub(crate) const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_stay_send_and_sync_with_their_loaded_backend_keys() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<X25519SecretKey>();
        send_sync::<crate::Identity>();
    }

    #[test]
    fn zeroize_wipes_the_bytes_and_unloads_the_backend_keys() {
        let mut key = X25519SecretKey::from_bytes([7; 32]);
        let public = key.public_key();
        assert!(key.prepared.iter().any(|slot| slot.get().is_some()));
        key.zeroize();
        assert_eq!(key.as_bytes(), &[0u8; 32]);
        assert!(key.prepared.iter().all(|slot| slot.get().is_none()));
        // A clone loads its own, and computes the same.
        let again = X25519SecretKey::from_bytes([7; 32]);
        assert_eq!(again.clone().public_key(), public);
    }

    #[test]
    fn diffie_hellman_agrees_and_refuses_low_order_keys() {
        let a = X25519SecretKey::from_bytes([1; 32]);
        let b = X25519SecretKey::from_bytes([2; 32]);
        let ab = a.diffie_hellman(&b.public_key()).unwrap();
        let ba = b.diffie_hellman(&a.public_key()).unwrap();
        assert_eq!(ab.as_bytes(), ba.as_bytes());
        // u = 0 and u = 1 are of low order: the result would be all zeros.
        for u in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert_eq!(
                a.diffie_hellman(&X25519PublicKey::from_bytes(u)).unwrap_err(),
                Error::LowOrderPoint { what: "X25519 public key" }
            );
        }
        assert_eq!(format!("{ab:?}"), "SharedSecret(<secret>)");
    }
}
