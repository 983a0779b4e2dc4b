//! The pairing check the contract asks of the precompile: `e(G1, σ) · e(−pk, H) == 1`.

use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::AffineRepr as _;
use ark_ec::pairing::Pairing;
use ark_ff::One as _;

use crate::error::Error;

/// The precompile's prepared form of a G2 point (its Miller-loop line coefficients).
pub(crate) type G2Prepared = <Bn254 as Pairing>::G2Prepared;

/// `e(G1, σ) · e(−pk, H) == 1` with `H` already prepared: one two-pairing Miller loop and one
/// final exponentiation.
pub(crate) fn check_pairing_prepared(
    pk: G1Affine,
    signature: G2Affine,
    hash: &G2Prepared,
) -> Result<(), Error> {
    let g1 = [G1Affine::generator(), -pk];
    let g2 = [G2Prepared::from(signature), hash.clone()];
    let looped = Bn254::multi_miller_loop(g1, g2);
    match Bn254::final_exponentiation(looped) {
        Some(out) if out.0.is_one() => Ok(()),
        _ => Err(Error::InvalidSignature),
    }
}

/// `e(G1, σ) · e(−pk, H) == 1`.
pub(crate) fn check_pairing(
    pk: G1Affine,
    signature: G2Affine,
    hash: G2Affine,
) -> Result<(), Error> {
    check_pairing_prepared(pk, signature, &G2Prepared::from(hash))
}
