//! Every X25519 backend compiled in computes the same function, and the seam refuses low-order
//! keys whichever backend is active.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use curve25519_dalek::constants::EIGHT_TORSION;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sesh_identity::curve::{self, Backend};
use sesh_identity::{Error, Identity, Signature, X25519PublicKey, X25519SecretKey};

/// Tests that select a backend hold this, so that each sees the backend it selected.
static SELECTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn others() -> Vec<Backend> {
    curve::available().filter(|b| *b != Backend::PureRust).collect()
}

/// The `u` of every point of small order, canonical and not (plus p), with and without the top
/// bit that X25519 ignores.
fn low_order_inputs() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for point in EIGHT_TORSION {
        let u = point.to_montgomery().to_bytes();
        out.push(u);
        // u + p, where it still fits in 255 bits (u ≤ 18): the non-canonical encoding.
        let mut plus_p = u;
        let mut carry = 0u16;
        let p: [u8; 32] = {
            let mut p = [0xff; 32];
            p[0] = 0xed;
            p[31] = 0x7f;
            p
        };
        for i in 0..32 {
            let s = u16::from(plus_p[i]) + u16::from(p[i]) + carry;
            plus_p[i] = s as u8;
            carry = s >> 8;
        }
        if carry == 0 && plus_p[31] & 0x80 == 0 {
            out.push(plus_p);
        }
    }
    let mut one = [0u8; 32];
    one[0] = 1;
    out.push(one);
    let with_top: Vec<[u8; 32]> = out
        .iter()
        .map(|u| {
            let mut t = *u;
            t[31] |= 0x80;
            t
        })
        .collect();
    out.extend(with_top);
    out
}

#[test]
fn the_pure_rust_backend_is_always_there_and_the_active_one_is_available() {
    assert!(Backend::PureRust.is_available());
    assert!(curve::active().is_available());
    assert!(curve::auto().is_available());
    println!("backends: {:?}, active {}", curve::available().collect::<Vec<_>>(), curve::active());
    if cfg!(feature = "pure-rust") {
        assert_eq!(curve::auto(), Backend::PureRust);
    }
    if cfg!(all(feature = "aws-lc", not(feature = "pure-rust"))) {
        assert_eq!(curve::auto(), Backend::AwsLc);
    }
    if cfg!(all(feature = "graviola", not(feature = "aws-lc"), not(feature = "pure-rust")))
        && Backend::Graviola.is_available()
    {
        assert_eq!(curve::auto(), Backend::Graviola);
    }
}

#[test]
fn every_backend_agrees_on_random_keys_and_points() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let others = others();
    let mut checked = 0;
    for i in 0..3_000 {
        let mut secret = [0u8; 32];
        let mut peer = [0u8; 32];
        rng.fill_bytes(&mut secret);
        rng.fill_bytes(&mut peer);
        // Half the peers are real public keys, half arbitrary bytes (the top bit set on some,
        // and some on the twist): all must agree.
        if i % 2 == 0 {
            peer = curve::raw_public_key(Backend::PureRust, &peer).unwrap();
        }
        let pk = curve::raw_public_key(Backend::PureRust, &secret).unwrap();
        let dh = curve::raw_x25519(Backend::PureRust, &secret, &peer).unwrap();
        for b in &others {
            assert_eq!(curve::raw_public_key(*b, &secret).unwrap(), pk, "{b} public key, pair {i}");
            assert_eq!(curve::raw_x25519(*b, &secret, &peer).unwrap(), dh, "{b} DH, pair {i}");
            checked += 1;
        }
    }
    println!("{checked} pairs checked against pure Rust on {others:?}");
}

#[test]
fn non_canonical_and_high_bit_inputs_agree() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    // u ≥ p (reduced) and every value of the top byte.
    let mut inputs = Vec::new();
    for low in [0xedu8, 0xee, 0xef, 0xf0, 0xff] {
        let mut u = [0xff; 32];
        u[0] = low;
        inputs.push(u);
    }
    for top in 0..=255u8 {
        let mut u = [0x42; 32];
        u[31] = top;
        inputs.push(u);
    }
    for u in inputs {
        let want = curve::raw_x25519(Backend::PureRust, &secret, &u).unwrap();
        for b in others() {
            assert_eq!(curve::raw_x25519(b, &secret, &u).unwrap(), want, "{b} on {u:02x?}");
        }
    }
}

#[test]
fn every_backend_refuses_low_order_points_as_libsodium_does() {
    let inputs = low_order_inputs();
    assert!(inputs.len() >= 20, "{}", inputs.len());
    let secret = X25519SecretKey::from_bytes([0x5a; 32]);
    for b in curve::available() {
        for u in &inputs {
            assert_eq!(
                curve::raw_x25519(b, &[0x5a; 32], u).unwrap(),
                [0u8; 32],
                "{b}: {u:02x?} is of low order"
            );
        }
    }
    // Through the seam, with whatever backend is active.
    for u in &inputs {
        assert_eq!(
            secret.diffie_hellman(&X25519PublicKey::from_bytes(*u)).unwrap_err(),
            Error::LowOrderPoint { what: "X25519 public key" }
        );
    }
}

#[test]
fn select_refuses_a_backend_that_is_not_there() {
    let _one = SELECTING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for b in [Backend::PureRust, Backend::AwsLc, Backend::Graviola] {
        if b.is_available() {
            curve::select(b).unwrap();
            assert_eq!(curve::active(), b);
            // The seam computes the same shared secret with it.
            let a = X25519SecretKey::from_bytes([1; 32]);
            let c = X25519SecretKey::from_bytes([2; 32]);
            assert_eq!(
                a.diffie_hellman(&c.public_key()).unwrap().as_bytes(),
                &curve::raw_x25519(
                    Backend::PureRust,
                    &[1; 32],
                    &curve::raw_public_key(Backend::PureRust, &[2; 32]).unwrap()
                )
                .unwrap()
            );
        } else {
            let before = curve::active();
            assert_eq!(
                curve::select(b).unwrap_err(),
                Error::BackendUnavailable { backend: b.name() }
            );
            assert_eq!(curve::active(), before);
        }
    }
    curve::select(curve::auto()).unwrap();
}

/// The signature's verdict under `backend`.
fn verdict(backend: Backend, id: &Identity, message: &[u8], signature: &[u8; 64]) -> bool {
    curve::select(backend).unwrap();
    id.ed25519_public_key().verify(message, &Signature::from_bytes(signature)).is_ok()
}

#[test]
fn ed25519_signs_the_same_bytes_and_verifies_with_the_same_verdicts_on_every_backend() {
    let _one = SELECTING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    // ℓ, the group order, little-endian: S + ℓ is the non-canonical twin of S.
    let l: [u8; 32] = {
        let mut l = [0u8; 32];
        l[..16].copy_from_slice(&[
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14,
        ]);
        l[31] = 0x10;
        l
    };
    let small_r: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(|p| p.compress().to_bytes()).collect();
    let mut checked = 0;
    for i in 0..200 {
        let id = Identity::generate(&mut rng);
        let mut message = vec![0u8; (i * 13) % 300];
        rng.fill_bytes(&mut message);
        curve::select(Backend::PureRust).unwrap();
        let reference = id.sign(&message).to_bytes();
        for b in curve::available() {
            curve::select(b).unwrap();
            assert_eq!(id.sign(&message).to_bytes(), reference, "{b} signature {i}");
        }
        // The valid signature and its forgeries.
        let mut candidates = vec![reference];
        let mut flipped = reference;
        flipped[(i * 7) % 64] ^= 1 << (i % 8);
        candidates.push(flipped);
        let mut plus_l = reference;
        let mut carry = 0u16;
        for k in 0..32 {
            let sum = u16::from(plus_l[32 + k]) + u16::from(l[k]) + carry;
            plus_l[32 + k] = sum as u8;
            carry = sum >> 8;
        }
        candidates.push(plus_l);
        let mut low_r = reference;
        low_r[..32].copy_from_slice(&small_r[i % small_r.len()]);
        candidates.push(low_r);
        for sig in &candidates {
            let want = verdict(Backend::PureRust, &id, &message, sig);
            for b in curve::available() {
                assert_eq!(verdict(b, &id, &message, sig), want, "{b} verdict, case {i}");
                checked += 1;
            }
        }
        assert!(verdict(Backend::PureRust, &id, &message, &reference));
        assert!(!verdict(Backend::PureRust, &id, &message, &plus_l), "S ≥ ℓ is refused");
        if !message.is_empty() {
            message[0] ^= 1;
            for b in curve::available() {
                assert!(!verdict(b, &id, &message, &reference), "{b}: another message");
            }
        }
    }
    curve::select(curve::auto()).unwrap();
    println!("{checked} Ed25519 verdicts checked");
}
