//! XEd25519: Ed25519 signatures made with an X25519 key pair, as libsession-util does them.
//!
//! An X25519 public key fixes an Ed25519 key only up to sign; XEd25519 always uses the
//! *positive* one ([`public_key`]), negating the secret scalar when the real key is negative.
//! Signatures are randomised (64 fresh bytes go into the nonce) and verify as plain Ed25519
//! under the positive key. libsession-util derives the nonce with a personalised BLAKE2b, not
//! Signal's SHA-512 construction, so signatures interoperate with Session only.
//!
//! ```
//! use sesh_identity::{xed25519, X25519SecretKey};
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! # use rand_core::SeedableRng;
//!
//! let secret = X25519SecretKey::generate(&mut rng);
//! let signature = xed25519::sign(&secret, b"message", &mut rng);
//! assert!(xed25519::verify(&secret.public_key(), b"message", &signature).is_ok());
//! assert!(xed25519::verify(&secret.public_key(), b"massage", &signature).is_err());
//! ```

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::keys::{Ed25519PublicKey, Signature, X25519PublicKey, X25519SecretKey};
use crate::{hash, point};

/// The BLAKE2b personalisation of the nonce hash.
const PERSONAL: &[u8; 16] = b"xed25519signatur";

/// The Ed25519 public key with sign bit 0 whose X25519 form is `key`.
///
/// # Errors
/// [`Error::NotOnCurve`] if `key` is on the twist, [`Error::LowOrderPoint`] if it is of low
/// order: no X25519 secret key has such a public key.
pub fn public_key(key: &X25519PublicKey) -> Result<Ed25519PublicKey> {
    let point = point::montgomery_to_positive_edwards(key.as_bytes(), "X25519 public key")?;
    Ok(Ed25519PublicKey::from_point(point))
}

/// Signs `message` with an X25519 secret key, drawing 64 bytes from `rng` for the nonce.
pub fn sign<R: RngCore + CryptoRng>(
    secret: &X25519SecretKey,
    message: &[u8],
    rng: &mut R,
) -> Signature {
    let mut clamped = point::clamp(*secret.as_bytes());
    let mut a = Scalar::from_bytes_mod_order(clamped);
    let mut public = EdwardsPoint::mul_base(&a).compress().to_bytes();
    let negative = Choice::from(public[31] >> 7);
    public[31] &= 0x7f;

    // The nonce hashes `a` as 32 bytes: the clamped key as it is, or, when negated, the reduced
    // negation (libsession-util's `crypto_core_ed25519_scalar_negate`). Chosen in constant time.
    let mut negated = (-a).to_bytes();
    let mut a_bytes = clamped;
    for (byte, neg) in a_bytes.iter_mut().zip(negated.iter()) {
        byte.conditional_assign(neg, negative);
    }
    a.conditional_assign(&-a, negative);

    let mut z = [0u8; 64];
    rng.fill_bytes(&mut z);
    let mut wide = hash::blake2b_personal::<64>(PERSONAL, &[&a_bytes, message, &z]);
    let mut r = Scalar::from_bytes_mod_order_wide(&wide);
    let signature = point::sign_with_scalar(&a, &public, &r, message);

    for secret in [&mut clamped, &mut negated, &mut a_bytes] {
        secret.zeroize();
    }
    wide.zeroize();
    z.zeroize();
    a.zeroize();
    r.zeroize();
    Signature::from_bytes(&signature)
}

/// Checks an XEd25519 signature: a libsodium Ed25519 verification under
/// [`public_key(key)`](public_key).
///
/// # Errors
/// [`Error::InvalidSignature`] if it does not verify; the errors of [`public_key`] if `key` is
/// not a usable key.
pub fn verify(key: &X25519PublicKey, message: &[u8], signature: &Signature) -> Result<()> {
    public_key(key)?.verify(message, signature).map_err(|_| Error::InvalidSignature)
}
