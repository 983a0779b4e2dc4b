//! The pure-Rust backend: curve25519-dalek (what x25519-dalek is built on).

use curve25519_dalek::montgomery::MontgomeryPoint;

pub(super) fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    MontgomeryPoint::mul_base_clamped(*secret).to_bytes()
}

/// The raw result, all zeros for a low-order `peer`.
pub(super) fn diffie_hellman(secret: &[u8; 32], peer: &[u8; 32]) -> [u8; 32] {
    MontgomeryPoint(*peer).mul_clamped(*secret).to_bytes()
}
