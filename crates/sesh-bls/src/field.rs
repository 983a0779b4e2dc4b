//! Big-endian words to and from arkworks field elements (the EVM's encoding).

use ark_bn254::{Fq, Fr};
use ark_ff::{BigInt, PrimeField as _};

use crate::error::Error;

/// Four little-endian limbs from a 32-byte big-endian word.
fn limbs(word: &[u8; 32]) -> BigInt<4> {
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().rev().zip(word.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *limb = u64::from_be_bytes(bytes);
    }
    BigInt::new(out)
}

fn word(limbs: BigInt<4>) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, limb) in out.chunks_exact_mut(8).zip(limbs.0.iter().rev()) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    out
}

/// A base-field element from a word that must be below p.
pub(crate) fn fq_from_word(word: &[u8; 32]) -> Result<Fq, Error> {
    Fq::from_bigint(limbs(word)).ok_or(Error::CoordinateTooLarge)
}

pub(crate) fn fq_to_word(value: Fq) -> [u8; 32] {
    word(value.into_bigint())
}

/// A scalar from a word that must be below r (`None` otherwise).
pub(crate) fn fr_from_word(word: &[u8; 32]) -> Option<Fr> {
    Fr::from_bigint(limbs(word))
}

pub(crate) fn fr_to_word(value: Fr) -> [u8; 32] {
    word(value.into_bigint())
}
