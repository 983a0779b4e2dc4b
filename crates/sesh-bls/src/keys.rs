//! Secret keys (scalars mod r) and public keys (G1 points, `sk·G1`).

use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::iter::Sum;
use core::ops::{Add, Neg, Sub};

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::{AffineRepr as _, CurveGroup as _, PrimeGroup as _};
use ark_ff::{PrimeField as _, Zero as _};
use blake2::{Blake2b512, Digest as _};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::domain::{Domain, Tag};
use crate::error::Error;
use crate::field::{fq_from_word, fq_to_word, fr_from_word, fr_to_word};
use crate::hash::{g2_mul, hash_to_g2};
use crate::message::Message;
use crate::signature::Signature;
use crate::verify::check_pairing;

/// The prefix `from_seed` hashes before the seed (BLAKE2b personalisation holds only 16 bytes,
/// so the domain string goes in front, with its length).
const SEED_DOMAIN: &[u8] = b"sesh-bls/v1/secret-key";

/// A BLS secret key: a scalar `0 < k < r`. Its memory is wiped on drop; `Debug` hides it.
#[derive(Clone)]
pub struct SecretKey(Fr);

impl Zeroize for SecretKey {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    fn from_scalar(k: Fr) -> Result<Self, Error> {
        if k.is_zero() { Err(Error::ZeroSecretKey) } else { Ok(SecretKey(k)) }
    }

    /// A key from its 32-byte big-endian value, which must be in `1..r`.
    ///
    /// # Errors
    /// [`Error::SecretKeyTooLarge`] for a value `≥ r`, [`Error::ZeroSecretKey`] for zero.
    pub fn from_be_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        let k = fr_from_word(bytes).ok_or(Error::SecretKeyTooLarge)?;
        Self::from_scalar(k)
    }

    /// A key from any 32-byte big-endian value, reduced mod r: oxend draws 255-bit keys and
    /// does not reduce them, and `k` and `k mod r` sign alike.
    ///
    /// # Errors
    /// [`Error::ZeroSecretKey`] when the value is a multiple of r.
    pub fn from_be_bytes_mod_order(bytes: &[u8; 32]) -> Result<Self, Error> {
        Self::from_scalar(Fr::from_be_bytes_mod_order(bytes))
    }

    /// A key derived from a seed: BLAKE2b-512 of (`len ‖ "sesh-bls/v1/secret-key" ‖ seed`),
    /// read big-endian, mod r; a result of zero (probability about 2^-254) becomes 1.
    #[must_use]
    pub fn from_seed(seed: &[u8]) -> Self {
        let mut hasher = Blake2b512::new();
        hasher.update([u8::try_from(SEED_DOMAIN.len()).unwrap_or(u8::MAX)]);
        hasher.update(SEED_DOMAIN);
        hasher.update(seed);
        let wide = Zeroizing::new(<[u8; 64]>::from(hasher.finalize()));
        let k = Fr::from_be_bytes_mod_order(wide.as_ref());
        SecretKey(if k.is_zero() { Fr::from(1u8) } else { k })
    }

    /// A uniformly random key.
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        loop {
            let mut wide = Zeroizing::new([0u8; 64]);
            rng.fill_bytes(wide.as_mut());
            let k = Fr::from_be_bytes_mod_order(wide.as_ref());
            if !k.is_zero() {
                return SecretKey(k);
            }
        }
    }

    /// The key's 32-byte big-endian value (below r).
    #[must_use]
    pub fn to_be_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(fr_to_word(self.0))
    }

    /// `sk·G1`.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_point((G1Projective::generator() * self.0).into_affine())
    }

    /// Signs a message for the contract at `domain`: `sk·H(message.to_bytes(domain))` with the
    /// domain's hash-to-G2 tag.
    #[must_use]
    pub fn sign(&self, domain: &Domain, message: &Message) -> Signature {
        self.sign_bytes(&domain.hash_to_g2_tag(), &message.to_bytes(domain))
    }

    /// `sk·hashToG2(message_bytes, dst)`. In the case hash to G2 finds no point (probability
    /// about 2^-256, where the contract reverts too) it returns the identity, which
    /// [`PublicKey::verify_bytes`] never accepts for that message.
    #[must_use]
    pub fn sign_bytes(&self, dst: &Tag, message_bytes: &[u8]) -> Signature {
        match hash_to_g2(message_bytes, dst) {
            Ok(hash) => Signature::from_point(g2_mul(hash.point.point(), self.0)),
            Err(_) => Signature::identity(),
        }
    }

    /// The proof of possession `addBLSPublicKey` checks: this key's signature of
    /// `proofOfPossessionTag ‖ pk ‖ caller ‖ ed25519`.
    #[must_use]
    pub fn proof_of_possession(
        &self,
        domain: &Domain,
        caller: [u8; 20],
        ed25519: &[u8; 32],
    ) -> Signature {
        let message =
            Message::ProofOfPossession { key: self.public_key(), caller, ed25519: *ed25519 };
        self.sign(domain, &message)
    }
}

/// A BLS public key: a G1 point, encoded as the EVM does (`X ‖ Y` big-endian, `(0, 0)` the
/// identity). Ordered and hashed by that encoding.
#[derive(Clone, Copy)]
pub struct PublicKey {
    point: G1Affine,
    bytes: [u8; 64],
}

impl PublicKey {
    pub(crate) fn from_point(point: G1Affine) -> Self {
        let mut bytes = [0u8; 64];
        if let Some((x, y)) = point.xy() {
            let (left, right) = bytes.split_at_mut(32);
            left.copy_from_slice(&fq_to_word(x));
            right.copy_from_slice(&fq_to_word(y));
        }
        PublicKey { point, bytes }
    }

    pub(crate) fn point(&self) -> G1Affine {
        self.point
    }

    /// The identity, `(0, 0)`.
    #[must_use]
    pub fn identity() -> Self {
        PublicKey { point: G1Affine::identity(), bytes: [0u8; 64] }
    }

    /// A key from `X ‖ Y` (big-endian words, each below p, on the curve; `(0, 0)` is the identity).
    ///
    /// # Errors
    /// [`Error::CoordinateTooLarge`] or [`Error::NotOnCurve`].
    pub fn from_bytes(bytes: &[u8; 64]) -> Result<Self, Error> {
        if bytes.iter().all(|&b| b == 0) {
            return Ok(Self::identity());
        }
        let (x, y) = bytes.split_at(32);
        let x = fq_from_word(x.try_into().map_err(|_| Error::CoordinateTooLarge)?)?;
        let y = fq_from_word(y.try_into().map_err(|_| Error::CoordinateTooLarge)?)?;
        let point = G1Affine::new_unchecked(x, y);
        // BN254's G1 has cofactor 1: on the curve is in the group.
        if !point.is_on_curve() {
            return Err(Error::NotOnCurve);
        }
        Ok(PublicKey { point, bytes: *bytes })
    }

    /// `X ‖ Y`, big-endian; the identity is 64 zero bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 64] {
        self.bytes
    }

    /// Whether this is the identity `(0, 0)`.
    #[must_use]
    pub fn is_identity(&self) -> bool {
        self.point.is_zero()
    }

    /// Checks `signature` on `message` for the contract at `domain`.
    ///
    /// # Errors
    /// [`Error::InvalidSignature`] if it does not verify; [`Error::IdentityPublicKey`] for the
    /// identity key.
    pub fn verify(
        &self,
        domain: &Domain,
        message: &Message,
        signature: &Signature,
    ) -> Result<(), Error> {
        self.verify_bytes(&domain.hash_to_g2_tag(), &message.to_bytes(domain), signature)
    }

    /// Checks `e(G1, σ) · e(−pk, hashToG2(message_bytes, dst)) == 1`.
    ///
    /// # Errors
    /// [`Error::InvalidSignature`] if it does not verify; [`Error::IdentityPublicKey`] for the
    /// identity key; [`Error::HashToG2Exhausted`] if the message has no hash point.
    pub fn verify_bytes(
        &self,
        dst: &Tag,
        message_bytes: &[u8],
        signature: &Signature,
    ) -> Result<(), Error> {
        if self.is_identity() {
            return Err(Error::IdentityPublicKey);
        }
        let hash = hash_to_g2(message_bytes, dst)?;
        check_pairing(self.point, signature.point(), hash.point.point())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(0x{})", hex::encode(self.bytes))
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl Add for PublicKey {
    type Output = PublicKey;
    fn add(self, other: PublicKey) -> PublicKey {
        PublicKey::from_point((self.point + other.point).into_affine())
    }
}

impl Sub for PublicKey {
    type Output = PublicKey;
    fn sub(self, other: PublicKey) -> PublicKey {
        PublicKey::from_point((self.point.into_group() - other.point).into_affine())
    }
}

impl Neg for PublicKey {
    type Output = PublicKey;
    fn neg(self) -> PublicKey {
        PublicKey::from_point(-self.point)
    }
}

impl Sum for PublicKey {
    fn sum<I: Iterator<Item = PublicKey>>(iter: I) -> PublicKey {
        let total: G1Projective = iter.map(|key| key.point).sum();
        PublicKey::from_point(total.into_affine())
    }
}

impl<'a> Sum<&'a PublicKey> for PublicKey {
    fn sum<I: Iterator<Item = &'a PublicKey>>(iter: I) -> PublicKey {
        iter.copied().sum()
    }
}
