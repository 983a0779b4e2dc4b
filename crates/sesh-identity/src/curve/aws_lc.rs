//! The aws-lc-rs backend.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair};

/// Loads a key (AWS-LC derives its public key as it does). `None` only if AWS-LC fails
/// internally: the caller then works in Rust.
pub(super) fn prepare(secret: &[u8; 32]) -> Option<PrivateKey> {
    PrivateKey::from_private_key(&X25519, secret).ok()
}

/// The public key AWS-LC derived when it loaded the key.
pub(super) fn public_key(key: &PrivateKey) -> Option<[u8; 32]> {
    key.compute_public_key().ok()?.as_ref().try_into().ok()
}

/// `None` for an all-zero result (AWS-LC refuses it) or an internal failure.
pub(super) fn diffie_hellman(key: &PrivateKey, peer: &[u8; 32]) -> Option<[u8; 32]> {
    agreement::agree(key, UnparsedPublicKey::new(&X25519, peer), (), |shared| {
        <[u8; 32]>::try_from(shared).map_err(|_| ())
    })
    .ok()
}

/// An Ed25519 signing key loaded into AWS-LC from its seed, if AWS-LC derives the same public
/// key (it always does; the check costs nothing next to the load).
pub(crate) fn ed25519_key(seed: &[u8; 32], public: &[u8; 32]) -> Option<Ed25519KeyPair> {
    let key = Ed25519KeyPair::from_seed_unchecked(seed).ok()?;
    (key.public_key().as_ref() == public.as_slice()).then_some(key)
}

/// RFC 8032 Ed25519: deterministic, so the same bytes as every other implementation.
pub(crate) fn ed25519_sign(key: &Ed25519KeyPair, message: &[u8]) -> Option<[u8; 64]> {
    key.sign(message).as_ref().try_into().ok()
}

/// AWS-LC's verification: `S < L` and the recomputed `R` equal to the signature's byte for byte
/// (cofactorless), as libsodium; the caller adds libsodium's low-order checks on `R` and `A`.
pub(crate) fn ed25519_verify(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    aws_lc_rs::signature::UnparsedPublicKey::new(&ED25519, public)
        .verify(message, signature)
        .is_ok()
}
