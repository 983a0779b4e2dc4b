//! sesh-identity: seed → Session ID, and 25-blinded ID derivation, each against the raw
//! curve25519-dalek / RustCrypto primitives it is built from.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use blake2::Blake2b512;
use blake2::digest::Digest as _;
use criterion::{Criterion, criterion_group};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use sesh_identity::{Identity, Seed, SessionId, blinding};
use sha2::Sha512;

const GROUP_SEED: &str = "identity_seed_to_session_id";
const GROUP_BLIND: &str = "identity_blind25_id";

fn seed_to_session_id(c: &mut Criterion) {
    let seed = Seed::from_bytes([0x42; 32]);
    let mut group = c.benchmark_group(GROUP_SEED);
    group.bench_function("sesh", |b| {
        b.iter(|| Identity::from_seed(black_box(&seed)).session_id());
    });
    // The primitives: SHA-512 of the seed, the clamped scalar times the base point, and the
    // Edwards to Montgomery map.
    group.bench_function("raw", |b| {
        b.iter(|| {
            let h: [u8; 64] = Sha512::digest(black_box(seed.as_bytes())).into();
            let mut lower = [0u8; 32];
            lower.copy_from_slice(&h[..32]);
            let a = Scalar::from_bytes_mod_order(curve25519_dalek::scalar::clamp_integer(lower));
            EdwardsPoint::mul_base(&a).to_montgomery()
        });
    });
    group.finish();
}

fn blind25_id(c: &mut Criterion) {
    let id: SessionId =
        "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72".parse().unwrap();
    let server = [0xab; 32];
    let mut group = c.benchmark_group(GROUP_BLIND);
    group.bench_function("sesh", |b| {
        b.iter(|| blinding::blind25_id(black_box(&id), black_box(&server)).unwrap());
    });
    // The primitives: BLAKE2b-512 and its reduction, the Montgomery to Edwards map, a
    // (public, variable-time) scalar multiplication and the compression of the result.
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut h = Blake2b512::new();
            h.update([0x05]);
            h.update(black_box(id.x25519_public_key().as_bytes()));
            h.update(black_box(server));
            let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
            let a = MontgomeryPoint(*id.x25519_public_key().as_bytes()).to_edwards(0).unwrap();
            EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &a, &Scalar::ZERO).compress()
        });
    });
    group.finish();
}

criterion_group!(benches, seed_to_session_id, blind25_id);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    sesh_benches::report_ratios(GROUP_SEED, &[("sesh", "raw")]);
    sesh_benches::report_ratios(GROUP_BLIND, &[("sesh", "raw")]);
}
