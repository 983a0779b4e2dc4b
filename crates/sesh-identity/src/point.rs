//! Curve operations with libsodium's validity rules.
//!
//! libsodium (and so libsession-util and every Session client) accepts and rejects points by
//! rules that neither ed25519-dalek nor x25519-dalek expose as such. They are restated here once,
//! and everything in the crate that decodes a key or verifies a signature goes through them:
//!
//! * An Ed25519 point must be canonically encoded (`y < p`), decode to a point on the curve, and
//!   not be one of the eight low-order points (`ge25519_is_canonical`, `ge25519_frombytes`,
//!   `ge25519_has_small_order`).
//! * Where a key is converted or blinded, it must also lie in the prime-order subgroup
//!   (`ge25519_is_on_main_subgroup`).
//! * Signature verification is libsodium's `crypto_sign_verify_detached`: `S < L`, `R` not of low
//!   order, and the recomputed `R` compared *as bytes* (so a non-canonical `R` never verifies).

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::hash;

/// `p - 1` as a little-endian field element encoding, the Montgomery `u` that has no Edwards
/// image (`u + 1 = 0`). libsodium's conversion maps it to `y = 0`, a point of order 4.
const U_MINUS_ONE: [u8; 32] = {
    let mut b = [0xff; 32];
    b[0] = 0xec;
    b[31] = 0x7f;
    b
};

/// Whether `bytes`, read as an Edwards `y` coordinate (the top bit is the sign of `x` and not
/// part of it), is below the field prime `p = 2^255 - 19`.
pub(crate) fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let [first, middle @ .., last] = bytes;
    let top_is_max = (last & 0x7f) == 0x7f;
    let middle_is_max = middle.iter().all(|b| *b == 0xff);
    !(top_is_max && middle_is_max && *first >= 0xed)
}

/// Whether `bytes` is the canonical encoding of a Montgomery `u` coordinate: below `p`, with the
/// unused top bit clear.
pub(crate) fn is_canonical_u(bytes: &[u8; 32]) -> bool {
    bytes[31] & 0x80 == 0 && is_canonical_y(bytes)
}

/// The encodings of the points of order 1, 2, 4 and 8, including the non-canonical ones, as
/// libsodium's `ge25519_has_small_order` lists them; the sign bit is not compared.
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1)
    {
        let mut b = [0; 32];
        b[0] = 1;
        b
    },
    // order 8
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    // order 8
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p - 1 (order 2)
    U_MINUS_ONE,
    // p, a non-canonical 0 (order 4)
    {
        let mut b = U_MINUS_ONE;
        b[0] = 0xed;
        b
    },
    // p + 1, a non-canonical 1 (order 1)
    {
        let mut b = U_MINUS_ONE;
        b[0] = 0xee;
        b
    },
];

/// Whether an encoded Edwards point is one of low order, by its bytes alone (no decoding), as
/// libsodium's `ge25519_has_small_order`.
pub(crate) fn has_small_order(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    y[31] &= 0x7f;
    SMALL_ORDER_ENCODINGS.contains(&y)
}

/// Decodes an Ed25519 point by libsodium's rules for public keys: canonical, on the curve, not of
/// low order. Whether it has a torsion component is checked separately, where libsodium does.
pub(crate) fn decode_ed25519(bytes: &[u8; 32], what: &'static str) -> Result<EdwardsPoint> {
    if !is_canonical_y(bytes) {
        return Err(Error::NonCanonical { what });
    }
    let point = CompressedEdwardsY(*bytes).decompress().ok_or(Error::NotOnCurve { what })?;
    if point.is_small_order() {
        return Err(Error::LowOrderPoint { what });
    }
    Ok(point)
}

/// Rejects a point with a torsion component, as libsodium's `ge25519_is_on_main_subgroup`.
///
/// The points checked are public keys, so this runs in variable time: `P` is torsion-free
/// exactly when `[L]P = 0`, that is when `[L − 1]P = −P`.
pub(crate) fn require_prime_order(point: &EdwardsPoint, what: &'static str) -> Result<()> {
    if mul_vartime(&-Scalar::ONE, point) == -point {
        Ok(())
    } else {
        Err(Error::NotInPrimeOrderSubgroup { what })
    }
}

/// `k·P` in variable time, for a public scalar and a public point.
fn mul_vartime(k: &Scalar, point: &EdwardsPoint) -> EdwardsPoint {
    EdwardsPoint::vartime_double_scalar_mul_basepoint(k, point, &Scalar::ZERO)
}

/// The Edwards point with sign bit 0 whose Montgomery form is `u` (libsession's
/// `xed25519::pubkey`), refusing a `u` on the twist or of low order.
///
/// Like libsodium, this reads `u` modulo `p` with the top bit ignored; callers that require a
/// canonical encoding check it first.
pub(crate) fn montgomery_to_positive_edwards(
    u: &[u8; 32],
    what: &'static str,
) -> Result<EdwardsPoint> {
    let mut masked = *u;
    masked[31] &= 0x7f;
    if masked == U_MINUS_ONE {
        return Err(Error::LowOrderPoint { what });
    }
    let point = MontgomeryPoint(masked).to_edwards(0).ok_or(Error::NotOnCurve { what })?;
    if point.is_small_order() {
        return Err(Error::LowOrderPoint { what });
    }
    Ok(point)
}

/// `k·P` for a public factor and a point already known to be in the prime-order subgroup, as
/// libsodium's `crypto_scalarmult_ed25519_noclamp`: the scalar is used as given (no clamping),
/// and a zero result is refused. Everything here is public (a blinding factor and a public key),
/// so it runs in variable time.
pub(crate) fn mul_noclamp_public(k: &Scalar, point: &EdwardsPoint) -> Result<EdwardsPoint> {
    let product = mul_vartime(k, point);
    if product.is_identity() { Err(Error::DegenerateBlinding) } else { Ok(product) }
}

/// `x·P` for a secret scalar and a public point already known to be in the prime-order
/// subgroup, in constant time, as libsodium's `crypto_scalarmult_ed25519_noclamp`.
pub(crate) fn mul_noclamp_secret(x: &Scalar, point: &EdwardsPoint) -> Result<EdwardsPoint> {
    let product = x * point;
    if product.is_identity() { Err(Error::DegenerateBlinding) } else { Ok(product) }
}

/// `SHA-512(R ‖ A ‖ M)` reduced modulo `L`: the Ed25519 challenge.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&hash::sha512(&[r, a, message]))
}

/// An Ed25519 signature `(R, S)` with secret scalar `a`, public key `A` and nonce `r`:
/// `R = r·B`, `S = r + SHA-512(R ‖ A ‖ M)·a`. Blinded and XEd25519 signatures differ from
/// RFC 8032 only in how `a` and `r` are chosen, so they all end here.
pub(crate) fn sign_with_scalar(
    a: &Scalar,
    public: &[u8; 32],
    r: &Scalar,
    message: &[u8],
) -> [u8; 64] {
    let big_r = EdwardsPoint::mul_base(r).compress().to_bytes();
    let s = r + challenge(&big_r, public, message) * a;
    let mut signature = [0u8; 64];
    let (r_half, s_half) = signature.split_at_mut(32);
    r_half.copy_from_slice(&big_r);
    s_half.copy_from_slice(s.as_bytes());
    signature
}

/// libsodium's `crypto_sign_verify_detached`, for a public key that [`decode_ed25519`] accepted.
pub(crate) fn verify(
    public_bytes: &[u8; 32],
    public_point: &EdwardsPoint,
    message: &[u8],
    signature: &[u8; 64],
) -> bool {
    let (r_half, s_half) = signature.split_at(32);
    let (Ok(r_bytes), Ok(s_bytes)) = (<[u8; 32]>::try_from(r_half), <[u8; 32]>::try_from(s_half))
    else {
        return false;
    };
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    // R must not be of low order. (A point that does not decode cannot equal the recomputed R,
    // which is why it need not be decoded.)
    if has_small_order(&r_bytes) {
        return false;
    }
    #[cfg(feature = "aws-lc")]
    if crate::curve::active() == crate::curve::Backend::AwsLc {
        // The same equation, checked the same way (S < L, R compared as bytes), by AWS-LC; the
        // key was checked (canonical, not of low order) when it was parsed.
        return crate::curve::aws_lc::ed25519_verify(public_bytes, message, signature);
    }
    let k = challenge(&r_bytes, public_bytes, message);
    let recomputed = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-public_point, &s);
    recomputed.compress().as_bytes().ct_eq(&r_bytes).into()
}

/// Clamps 32 bytes into an X25519/Ed25519 secret scalar, as libsodium does.
pub(crate) fn clamp(mut bytes: [u8; 32]) -> [u8; 32] {
    bytes[0] &= 248;
    bytes[31] &= 127;
    bytes[31] |= 64;
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn canonical_y_boundary() {
        let mut p = U_MINUS_ONE;
        assert!(is_canonical_y(&p)); // p - 1
        p[0] = 0xed; // p
        assert!(!is_canonical_y(&p));
        p[31] |= 0x80; // p with the sign bit: still not canonical
        assert!(!is_canonical_y(&p));
        assert!(is_canonical_y(&[0; 32]));
        assert!(is_canonical_u(&U_MINUS_ONE));
        assert!(!is_canonical_u(&{
            let mut b = [0; 32];
            b[31] = 0x80;
            b
        }));
    }

    #[test]
    fn small_order_list_is_the_eight_torsion() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        for t in EIGHT_TORSION {
            let bytes = t.compress().to_bytes();
            assert!(has_small_order(&bytes), "{}", hex::encode(bytes));
            let mut flipped = bytes;
            flipped[31] ^= 0x80;
            assert!(has_small_order(&flipped));
        }
        for encoding in SMALL_ORDER_ENCODINGS {
            let point = CompressedEdwardsY(encoding).decompress().unwrap();
            assert!(point.is_small_order());
        }
        let b = EdwardsPoint::mul_base(&Scalar::ONE).compress().to_bytes();
        assert!(!has_small_order(&b));
    }

    #[test]
    fn low_order_and_off_curve_points_are_refused() {
        // y = -1 (order 2), y = 0 (order 4), y = 1 (the identity).
        assert_eq!(decode_ed25519(&U_MINUS_ONE, "k"), Err(Error::LowOrderPoint { what: "k" }));
        assert_eq!(decode_ed25519(&[0; 32], "k"), Err(Error::LowOrderPoint { what: "k" }));
        let mut one = [0; 32];
        one[0] = 1;
        assert_eq!(decode_ed25519(&one, "k"), Err(Error::LowOrderPoint { what: "k" }));
        // y = 2 is not on the curve.
        let mut two = [0; 32];
        two[0] = 2;
        assert_eq!(decode_ed25519(&two, "k"), Err(Error::NotOnCurve { what: "k" }));
        // Montgomery u = 0 and u = -1.
        assert_eq!(
            montgomery_to_positive_edwards(&[0; 32], "k"),
            Err(Error::LowOrderPoint { what: "k" })
        );
        assert_eq!(
            montgomery_to_positive_edwards(&U_MINUS_ONE, "k"),
            Err(Error::LowOrderPoint { what: "k" })
        );
    }

    #[test]
    fn prime_order_check_agrees_with_dalek() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let p = EdwardsPoint::mul_base(&Scalar::from(123_456_789u64));
        assert!(require_prime_order(&p, "k").is_ok());
        for t in &EIGHT_TORSION[1..] {
            let mixed = p + t;
            assert!(!mixed.is_torsion_free());
            assert_eq!(
                require_prime_order(&mixed, "k"),
                Err(Error::NotInPrimeOrderSubgroup { what: "k" })
            );
        }
        let k = Scalar::from(987_654_321u64);
        assert_eq!(mul_noclamp_public(&k, &p).unwrap(), k * p);
        assert_eq!(mul_noclamp_public(&Scalar::ZERO, &p), Err(Error::DegenerateBlinding));
    }

    #[test]
    fn positive_edwards_matches_upstream_xed25519_vector() {
        // libsession-util tests/test_xed25519.cpp: xpub1 -> pub1 (positive), xpub2 -> |pub2|.
        let p1 = montgomery_to_positive_edwards(
            &h("fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f"),
            "k",
        )
        .unwrap();
        assert_eq!(
            hex::encode(p1.compress().as_bytes()),
            "f4ef873908f6a5377ba3853f0e2fa326eed9e741edf9f7d0311a3ecc66a57b32"
        );
        let p2 = montgomery_to_positive_edwards(
            &h("05c9a9bf178fa644d44bebf628716dc7f2df3d0842e97881962c723699152073"),
            "k",
        )
        .unwrap();
        assert_eq!(
            hex::encode(p2.compress().as_bytes()),
            "3570b69a47dc094544c1c5089c40414bbda1ffdde8aab2617fe937ee74a5ee01"
        );
    }
}
