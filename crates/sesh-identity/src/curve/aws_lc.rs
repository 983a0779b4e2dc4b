//! The aws-lc-rs backend.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};

/// `None` only if AWS-LC fails internally (the caller then computes it in Rust).
pub(super) fn public_key(secret: &[u8; 32]) -> Option<[u8; 32]> {
    let key = PrivateKey::from_private_key(&X25519, secret).ok()?;
    let public = key.compute_public_key().ok()?;
    public.as_ref().try_into().ok()
}

/// `None` for an all-zero result (AWS-LC refuses it) or an internal failure.
pub(super) fn diffie_hellman(secret: &[u8; 32], peer: &[u8; 32]) -> Option<[u8; 32]> {
    let key = PrivateKey::from_private_key(&X25519, secret).ok()?;
    agreement::agree(&key, UnparsedPublicKey::new(&X25519, peer), (), |shared| {
        <[u8; 32]>::try_from(shared).map_err(|_| ())
    })
    .ok()
}
