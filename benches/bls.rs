//! sesh-bls: BLS on BN254 as the staking contract checks it, each figure beside the raw
//! arkworks primitive it is made of (measured in the same run).
//!
//! - `bls_sign`: `sesh` signs one reward message (hash to G2 by try-and-increment, then one
//!   G2 scalar multiplication); `hash_to_g2` is the hash alone; `raw` is one G2 scalar
//!   multiplication (arkworks' GLV).
//! - `bls_aggregate_100`, `bls_aggregate_1000`: `sesh` sums 100 or 1,000 signatures
//!   (`Sum for Signature`); `raw` sums the same G2 points with arkworks directly.
//! - `bls_collect_100`, `bls_collect_1000`: a `Collector` verifying each of 100 or 1,000
//!   signatures alone as it adds it, then `finish`; `raw` is as many two-pairing checks
//!   (`multi_pairing`) with arkworks.
//! - `bls_verify`: `sesh` verifies one aggregate against its key (hash to G2, one two-pairing
//!   check); `raw` is one two-pairing `multi_pairing`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation, clippy::print_stdout, clippy::panic)]

use std::hint::black_box;

use ark_bn254::{Bn254, Fr, G1Affine, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr as _, CurveGroup as _};
use ark_ff::{One as _, PrimeField as _};
use criterion::{BatchSize, Criterion, criterion_group};
use sesh_bls::{
    Collector, Domain, Message, NON_SIGNER_THRESHOLD_MAX, PublicKey, SecretKey, Signature,
    hash_to_g2,
};

const SIGN: &str = "bls_sign";
const AGGREGATE_100: &str = "bls_aggregate_100";
const AGGREGATE_1000: &str = "bls_aggregate_1000";
const COLLECT_100: &str = "bls_collect_100";
const COLLECT_1000: &str = "bls_collect_1000";
const VERIFY: &str = "bls_verify";

const DOMAIN: Domain = Domain { chain_id: 42161, contract: [0xc2; 20] };
const REWARD: Message = Message::Reward { recipient: [0x11; 20], amount: 123_456_789_000 };

struct Fixture {
    keys: Vec<SecretKey>,
    set: Vec<(u64, PublicKey)>,
    signatures: Vec<Signature>,
    points: Vec<G2Affine>,
}

fn fixture(n: usize) -> Fixture {
    let keys: Vec<SecretKey> =
        (0..n as u64).map(|i| SecretKey::from_seed(&i.to_be_bytes())).collect();
    let set = (1..).zip(keys.iter().map(SecretKey::public_key)).collect();
    let signatures: Vec<Signature> = keys.iter().map(|sk| sk.sign(&DOMAIN, &REWARD)).collect();
    let points = signatures.iter().map(|s| words_to_point(&s.to_words())).collect();
    Fixture { keys, set, signatures, points }
}

/// The raw arkworks point of signature words (for the baselines).
fn words_to_point(words: &[[u8; 32]; 4]) -> G2Affine {
    use ark_bn254::{Fq, Fq2};
    let f = |w: &[u8; 32]| Fq::from_be_bytes_mod_order(w);
    G2Affine::new_unchecked(
        Fq2::new(f(&words[0]), f(&words[1])),
        Fq2::new(f(&words[2]), f(&words[3])),
    )
}

fn sign(c: &mut Criterion) {
    let sk = SecretKey::from_seed(b"bench");
    let dst = DOMAIN.hash_to_g2_tag();
    let bytes = REWARD.to_bytes(&DOMAIN);
    let scalar = Fr::from_be_bytes_mod_order(&*sk.to_be_bytes());
    let point = words_to_point(&hash_to_g2(&bytes, &dst).unwrap().point.to_words());
    let mut group = c.benchmark_group(SIGN);
    group.bench_function("sesh", |b| b.iter(|| black_box(sk.sign(&DOMAIN, black_box(&REWARD)))));
    group.bench_function("hash_to_g2", |b| {
        b.iter(|| black_box(hash_to_g2(black_box(&bytes), &dst).unwrap()));
    });
    group.bench_function("raw", |b| {
        b.iter(|| black_box((black_box(point) * black_box(scalar)).into_affine()));
    });
    group.finish();
}

fn aggregate(c: &mut Criterion, name: &str, f: &Fixture) {
    let mut group = c.benchmark_group(name);
    group.bench_function("sesh", |b| {
        b.iter(|| black_box(black_box(&f.signatures).iter().sum::<Signature>()));
    });
    group.bench_function("raw", |b| {
        b.iter(|| black_box(black_box(&f.points).iter().sum::<G2Projective>().into_affine()));
    });
    group.finish();
}

/// One raw two-pairing check `e(G1, σ) · e(−pk, H) == 1`.
fn raw_check(pk: G1Affine, signature: G2Affine, hash: G2Affine) -> bool {
    Bn254::multi_pairing([G1Affine::generator(), -pk], [signature, hash]).0.is_one()
}

fn collect(c: &mut Criterion, name: &str, f: &Fixture) {
    let dst = DOMAIN.hash_to_g2_tag();
    let bytes = REWARD.to_bytes(&DOMAIN);
    let hash = words_to_point(&hash_to_g2(&bytes, &dst).unwrap().point.to_words());
    let pks: Vec<G1Affine> = f
        .keys
        .iter()
        .map(|sk| {
            (G1Affine::generator() * Fr::from_be_bytes_mod_order(&*sk.to_be_bytes())).into_affine()
        })
        .collect();
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.bench_function("sesh", |b| {
        b.iter_batched(
            || Collector::new(f.set.iter().copied(), dst, bytes.clone()),
            |mut collector| {
                for ((id, _), signature) in f.set.iter().zip(&f.signatures) {
                    collector.add(*id, *signature).unwrap();
                }
                black_box(collector.finish(NON_SIGNER_THRESHOLD_MAX).unwrap())
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            for (pk, signature) in pks.iter().zip(&f.points) {
                assert!(raw_check(*pk, *signature, hash));
            }
        });
    });
    group.finish();
}

fn verify(c: &mut Criterion, f: &Fixture) {
    let key: PublicKey = f.set.iter().map(|(_, pk)| *pk).sum();
    let signature: Signature = f.signatures.iter().sum();
    let dst = DOMAIN.hash_to_g2_tag();
    let hash =
        words_to_point(&hash_to_g2(&REWARD.to_bytes(&DOMAIN), &dst).unwrap().point.to_words());
    let apk = {
        let bytes = key.to_bytes();
        use ark_bn254::Fq;
        G1Affine::new_unchecked(
            Fq::from_be_bytes_mod_order(&bytes[..32]),
            Fq::from_be_bytes_mod_order(&bytes[32..]),
        )
    };
    let sigma = words_to_point(&signature.to_words());
    assert!(raw_check(apk, sigma, hash));
    let mut group = c.benchmark_group(VERIFY);
    group.bench_function("sesh", |b| {
        b.iter(|| key.verify(&DOMAIN, black_box(&REWARD), black_box(&signature)).unwrap());
    });
    group.bench_function("raw", |b| b.iter(|| assert!(raw_check(black_box(apk), sigma, hash))));
    group.finish();
}

fn benches(c: &mut Criterion) {
    sign(c);
    let hundred = fixture(100);
    let thousand = fixture(1_000);
    aggregate(c, AGGREGATE_100, &hundred);
    aggregate(c, AGGREGATE_1000, &thousand);
    verify(c, &hundred);
    collect(c, COLLECT_100, &hundred);
    collect(c, COLLECT_1000, &thousand);
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    sesh_benches::report_ratios(SIGN, &[("sesh", "raw"), ("hash_to_g2", "raw")]);
    for name in [AGGREGATE_100, AGGREGATE_1000, VERIFY, COLLECT_100, COLLECT_1000] {
        sesh_benches::report_ratios(name, &[("sesh", "raw")]);
    }
}
