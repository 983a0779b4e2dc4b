//! Hash to G2 as the contract's `BN256G2.hashToG2` computes it: `expand_message_xmd` with
//! keccak256, try-and-increment over a counter byte, herumi's Fp2 square root, and cofactor
//! clearing with the ψ endomorphism.

use std::sync::OnceLock;

use ark_bn254::{Fq, Fq2, Fr, G2Affine, G2Projective, g2};
use ark_ec::scalar_mul::glv::GLVConfig as _;
use ark_ec::short_weierstrass::SWCurveConfig as _;
use ark_ec::{AffineRepr as _, CurveGroup as _};
use ark_ff::{AdditiveGroup as _, BigInt, BigInteger as _, Field as _, PrimeField as _, Zero as _};
use sha3::{Digest as _, Keccak256};

use crate::domain::Tag;
use crate::error::Error;
use crate::field::fq_to_word;
use crate::signature::Signature;

/// keccak256's block size (the `Z_pad` length of `expand_message_xmd`).
const KECCAK_BLOCK: usize = 136;
/// BN254's parameter z (the x of the BN family), for cofactor clearing.
const Z: u64 = 4_965_661_367_192_848_881;

/// A hash-to-G2 result: the point and the counter byte that found it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HashPoint {
    /// The point, in G2's subgroup (words as a signature's: `x_re, x_im, y_re, y_im`).
    pub point: Signature,
    /// The try-and-increment byte appended to the message.
    pub counter: u8,
}

/// One attempt's field elements: `u0`, `u1` (each below p, big-endian) and the sign bit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FieldHash {
    /// `int(b1 ‖ b2[0..16]) mod p`: the real part of x.
    pub u0: [u8; 32],
    /// `int(b2[16..32] ‖ b3) mod p`: the imaginary part of x.
    pub u1: [u8; 32],
    /// `b4[31] & 1`: whether y is negated.
    pub sign_bit: bool,
}

/// RFC 9380 `expand_message_xmd` with keccak256 (block 136 bytes), 128 bytes out, as four
/// 32-byte blocks `b1..b4`, with the 32-byte `dst`.
#[must_use]
pub fn expand_message_xmd_keccak(message: &[u8], dst: &Tag) -> [[u8; 32]; 4] {
    let dst_len = [32u8];
    let mut hasher = Keccak256::new();
    hasher.update([0u8; KECCAK_BLOCK]);
    hasher.update(message);
    hasher.update([0u8, 128, 0]); // I2OSP(128, 2) ‖ I2OSP(0, 1)
    hasher.update(dst.0);
    hasher.update(dst_len);
    let b0: [u8; 32] = hasher.finalize().into();

    let mut out = [[0u8; 32]; 4];
    let mut previous = [0u8; 32];
    for (index, block) in (1u8..).zip(out.iter_mut()) {
        let mut mixed = b0;
        if index > 1 {
            for (m, p) in mixed.iter_mut().zip(previous) {
                *m ^= p;
            }
        }
        let mut hasher = Keccak256::new();
        hasher.update(mixed);
        hasher.update([index]);
        hasher.update(dst.0);
        hasher.update(dst_len);
        *block = hasher.finalize().into();
        previous = *block;
    }
    out
}

fn field_hash(input: &[u8], dst: &Tag) -> (Fq, Fq, bool) {
    let [b1, b2, b3, b4] = expand_message_xmd_keccak(input, dst);
    let (b2_head, b2_tail) = b2.split_at(16);
    let mut wide = [0u8; 48];
    let (left, right) = wide.split_at_mut(32);
    left.copy_from_slice(&b1);
    right.copy_from_slice(b2_head);
    let u0 = Fq::from_be_bytes_mod_order(&wide);
    let (left, right) = wide.split_at_mut(16);
    left.copy_from_slice(b2_tail);
    right.copy_from_slice(&b3);
    let u1 = Fq::from_be_bytes_mod_order(&wide);
    let sign = b4.last().is_some_and(|byte| byte & 1 == 1);
    (u0, u1, sign)
}

/// The contract's `hashToField(input, dst)` for one attempt (`input` = message ‖ counter).
#[must_use]
pub fn hash_to_field(input: &[u8], dst: &Tag) -> FieldHash {
    let (u0, u1, sign_bit) = field_hash(input, dst);
    FieldHash { u0: fq_to_word(u0), u1: fq_to_word(u1), sign_bit }
}

/// The constants the map and ψ use, computed once with arkworks' field arithmetic.
struct Constants {
    /// `(p + 1) / 4`: `a` to this power is a square root of `a` when one exists (p ≡ 3 mod 4).
    sqrt_exponent: BigInt<4>,
    /// `1/2` in Fp (the contract's `divBy2`).
    half: Fq,
    /// `ξ^((p−1)/3)`, ξ = 9 + i: ψ's x factor.
    psi_x: Fq2,
    /// `ξ^((p−1)/2)`: ψ's y factor.
    psi_y: Fq2,
}

fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let one = BigInt::from(1u64);
        let mut sqrt_exponent = Fq::MODULUS;
        sqrt_exponent.add_with_carry(&one);
        sqrt_exponent.div2();
        sqrt_exponent.div2();
        let mut p_minus_one = Fq::MODULUS;
        p_minus_one.sub_with_borrow(&one);
        let mut half_exponent = p_minus_one;
        half_exponent.div2();
        let xi = Fq2::new(Fq::from(9u8), Fq::from(1u8));
        Constants {
            sqrt_exponent,
            half: Fq::from(2u8).inverse().unwrap_or_default(),
            psi_x: xi.pow(divide_by_3(p_minus_one)),
            psi_y: xi.pow(half_exponent),
        }
    })
}

/// The contract's `_sqrt`: `a^((p+1)/4)`, if it squares back to `a`.
fn fp_sqrt(a: Fq) -> Option<Fq> {
    let root = a.pow(constants().sqrt_exponent);
    (root.square() == a).then_some(root)
}

/// herumi's Fp2 square root (mcl `Fp2::squareRoot`) as the contract has it, `None` where the
/// contract gets a zero component (which it refuses).
fn fp2_sqrt(value: Fq2) -> Option<Fq2> {
    let (c, d) = (value.c0, value.c1);
    if d.is_zero() {
        // The contract returns (√c, 0) or (0, ·): a zero component either way.
        return None;
    }
    let half = constants().half;
    let s = fp_sqrt(c.square() + d.square())?;
    let re = match fp_sqrt((c + s) * half) {
        Some(root) => root,
        None => fp_sqrt((c - s) * half)?,
    };
    let im = d * re.double().inverse()?;
    (!re.is_zero() && !im.is_zero()).then_some(Fq2::new(re, im))
}

/// The contract's `mapToG2`: the first counter whose x has a root with both components nonzero.
fn map_to_curve(message: &[u8], dst: &Tag) -> Result<(G2Affine, u8), Error> {
    let mut input = Vec::with_capacity(message.len() + 1);
    input.extend_from_slice(message);
    input.push(0);
    for counter in 0..=u8::MAX {
        if let Some(last) = input.last_mut() {
            *last = counter;
        }
        let (u0, u1, negate) = field_hash(&input, dst);
        let x = Fq2::new(u0, u1);
        let y_squared = x.square() * x + g2::Config::COEFF_B;
        let Some(mut y) = fp2_sqrt(y_squared) else { continue };
        if negate {
            y = -y;
        }
        let point = G2Affine::new_unchecked(x, y);
        if point.is_on_curve() {
            return Ok((point, counter));
        }
    }
    Err(Error::HashToG2Exhausted)
}

/// An exact division by 3 of a 256-bit integer (schoolbook, limb by limb).
fn divide_by_3(value: BigInt<4>) -> BigInt<4> {
    let mut out = [0u64; 4];
    let mut rem: u128 = 0;
    for (o, limb) in out.iter_mut().zip(value.0.iter()).rev() {
        let current = (rem << 64) | u128::from(*limb);
        *o = u64::try_from(current / 3).unwrap_or(u64::MAX);
        rem = current % 3;
    }
    BigInt::new(out)
}

/// ψ(x, y) = (conj(x)·ξ^((p−1)/3), conj(y)·ξ^((p−1)/2)), on Jacobian coordinates (conjugation
/// is a field automorphism, so it applies to X, Y and Z alike).
fn psi(point: &G2Projective) -> G2Projective {
    let constants = constants();
    let mut out = *point;
    out.x.conjugate_in_place();
    out.y.conjugate_in_place();
    out.z.conjugate_in_place();
    out.x *= constants.psi_x;
    out.y *= constants.psi_y;
    out
}

/// The contract's cofactor clearing: `[z]P + ψ([3z]P) + ψ²([z]P) + ψ³(P)`.
fn clear_cofactor(point: G2Affine) -> G2Affine {
    let p = point.into_group();
    let zp = point.mul_bigint([Z]);
    let three_zp = zp.double() + zp;
    let psi2_zp = psi(&psi(&zp));
    let psi3_p = psi(&psi(&psi(&p)));
    (zp + psi(&three_zp) + psi2_zp + psi3_p).into_affine()
}

/// The contract's `hashToG2(message, dst)`.
///
/// # Errors
/// [`Error::HashToG2Exhausted`] if no counter byte gives a point (probability about 2^-256).
pub fn hash_to_g2(message_bytes: &[u8], dst: &Tag) -> Result<HashPoint, Error> {
    let (point, counter) = map_to_curve(message_bytes, dst)?;
    Ok(HashPoint { point: Signature::from_point(clear_cofactor(point)), counter })
}

/// `k·P` in G2 with arkworks' GLV decomposition.
pub(crate) fn g2_mul(point: G2Affine, k: Fr) -> G2Affine {
    g2::Config::glv_mul_affine(point, k)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use ark_ec::PrimeGroup as _;

    use super::*;

    /// On G2's order-r subgroup ψ acts as multiplication by p mod r = 6z²: checks both ψ
    /// constants (a wrong cube or square root of unity factor breaks it).
    #[test]
    fn psi_is_multiplication_by_6_z_squared() {
        let g = G2Projective::generator();
        let six_z_squared = Fr::from(6u8) * Fr::from(Z) * Fr::from(Z);
        assert_eq!(psi(&g).into_affine(), (g * six_z_squared).into_affine());
        let p = (g * Fr::from(123_456_789u64)).into_affine();
        assert_eq!(psi(&p.into_group()).into_affine(), (p * six_z_squared).into_affine());
    }

    /// herumi's root squares back, and the contract's zero-component cases give none.
    #[test]
    fn fp2_sqrt_follows_the_contract() {
        let mut found = 0;
        for n in 1u64..50 {
            let a = Fq2::new(Fq::from(n), Fq::from(n * 7 + 3));
            assert_eq!(fp2_sqrt(a).is_some(), a.legendre().is_qr());
            if let Some(root) = fp2_sqrt(a) {
                found += 1;
                assert_eq!(root.square(), a);
                assert!(!root.c0.is_zero() && !root.c1.is_zero());
            }
            // A real square (d = 0) has a root with a zero component: refused.
            assert_eq!(fp2_sqrt(Fq2::new(Fq::from(n).square(), Fq::ZERO)), None);
        }
        assert!(found > 10, "only {found} of 49 had roots");
    }

    /// The cleared point is in the subgroup.
    #[test]
    fn hash_points_are_in_the_subgroup() {
        for n in 0u8..8 {
            let hash = hash_to_g2(&[n; 5], &Tag([n; 32])).unwrap();
            let point = hash.point.point();
            assert!(point.is_on_curve() && point.is_in_correct_subgroup_assuming_on_curve());
        }
    }
}
