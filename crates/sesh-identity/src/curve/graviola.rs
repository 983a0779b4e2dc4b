//! The graviola backend (x86-64). graviola panics on a CPU without the extensions its assembly
//! uses, so sesh checks them first and falls back to another backend without them.

use graviola::key_agreement::x25519::{PublicKey, StaticPrivateKey};

/// Whether this CPU has what graviola's X25519 needs (as graviola's own check, which panics).
pub(super) fn runs_here() -> bool {
    std::arch::is_x86_feature_detected!("aes")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("adx")
        && std::arch::is_x86_feature_detected!("avx")
        && std::arch::is_x86_feature_detected!("avx2")
}

pub(super) fn prepare(secret: &[u8; 32]) -> StaticPrivateKey {
    StaticPrivateKey::from_array(secret)
}

pub(super) fn public_key(key: &StaticPrivateKey) -> [u8; 32] {
    key.public_key().as_bytes()
}

/// `None` for an all-zero result (graviola refuses it).
pub(super) fn diffie_hellman(key: &StaticPrivateKey, peer: &[u8; 32]) -> Option<[u8; 32]> {
    key.diffie_hellman(&PublicKey::from_array(peer)).ok().map(|shared| shared.as_bytes())
}
