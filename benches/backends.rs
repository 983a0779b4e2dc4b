//! Every X25519 backend compiled in, side by side on sesh's hot paths: building a 3-hop onion
//! request of 1 KiB to a node, peeling one layer, encrypting and decrypting a 1 KiB 1:1 message,
//! and the raw X25519 operations they are made of. Prints a table with the ratio of each backend
//! to `pure-rust`, and of each operation to its X25519 work.
//!
//! ```text
//! cargo bench -p sesh-benches --bench backends                      # pure-rust and aws-lc
//! cargo bench -p sesh-benches --bench backends --features graviola  # and graviola
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sesh_benches::mean_ns;
use sesh_envelope::one_to_one;
use sesh_identity::curve::{self, Backend};
use sesh_identity::{AccountSeed, Identity, Seed, X25519SecretKey};
use sesh_onion::node::{self, Layer, NodeKeys};
use sesh_onion::{Destination, EncType, Hop, build};

const DH: &str = "backend_x25519_dh";
const KEYGEN: &str = "backend_x25519_keygen";
const BUILD: &str = "backend_onion_build_3hops_1KiB";
const PEEL: &str = "backend_onion_peel_layer";
const ENCRYPT: &str = "backend_envelope_encrypt_1KiB";
const DECRYPT: &str = "backend_envelope_decrypt_1KiB";
const SIGN: &str = "backend_ed25519_sign_1KiB";
const VERIFY: &str = "backend_ed25519_verify_1KiB";

fn backends() -> Vec<Backend> {
    curve::available().collect()
}

fn primitives(c: &mut Criterion) {
    let secret = X25519SecretKey::from_bytes([3; 32]);
    let peer = X25519SecretKey::from_bytes([4; 32]).public_key();
    let mut group = c.benchmark_group(DH);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(b.name(), |bench| {
            bench.iter(|| secret.diffie_hellman(black_box(&peer)).unwrap());
        });
    }
    group.finish();
    // A new key each time, as an ephemeral key is: loaded into the backend, then its public key.
    let mut group = c.benchmark_group(KEYGEN);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(b.name(), |bench| {
            bench.iter(|| X25519SecretKey::from_bytes(black_box([5; 32])).public_key());
        });
    }
    group.finish();
    curve::select(curve::auto()).unwrap();
}

/// Ed25519 as sesh does it on each backend (libsodium's verification rules in front) against
/// aws-lc-rs and ed25519-dalek called directly, on the signed part of a 1 KiB 1:1 message.
fn ed25519(c: &mut Criterion) {
    use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};
    use ed25519_dalek::{Signer, SigningKey, Verifier};
    let identity = Identity::from_account_seed(&AccountSeed::from_bytes([1; 16]));
    let message = vec![0x5a; 1024 + 64];
    let aws = Ed25519KeyPair::from_seed_unchecked(identity.seed().as_bytes()).unwrap();
    let dalek = SigningKey::from_bytes(identity.seed().as_bytes());
    let signature = identity.sign(&message);
    assert_eq!(aws.sign(&message).as_ref(), signature.to_bytes().as_slice(), "bit-identical");
    assert_eq!(dalek.sign(&message).to_bytes(), signature.to_bytes(), "bit-identical");
    let public = *identity.ed25519_public_key();
    let aws_public =
        signature::UnparsedPublicKey::new(&signature::ED25519, aws.public_key().as_ref().to_vec());
    let dalek_public = dalek.verifying_key();
    let dalek_signature = ed25519_dalek::Signature::from_bytes(&signature.to_bytes());
    let mut group = c.benchmark_group(SIGN);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(format!("sesh-{b}"), |bench| {
            bench.iter(|| identity.sign(black_box(&message)));
        });
    }
    group.bench_function("aws-lc", |b| b.iter(|| aws.sign(black_box(&message))));
    group.bench_function("ed25519-dalek", |b| b.iter(|| dalek.sign(black_box(&message))));
    group.finish();
    let mut group = c.benchmark_group(VERIFY);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(format!("sesh-{b}"), |bench| {
            bench.iter(|| public.verify(black_box(&message), &signature).unwrap());
        });
    }
    group.bench_function("aws-lc", |b| {
        b.iter(|| aws_public.verify(black_box(&message), &signature.to_bytes()).unwrap());
    });
    group.bench_function("ed25519-dalek", |b| {
        b.iter(|| dalek_public.verify(black_box(&message), &dalek_signature).unwrap());
    });
    group.finish();
    curve::select(curve::auto()).unwrap();
}

fn onion(c: &mut Criterion) {
    let nodes: Vec<Identity> =
        (1..=4u8).map(|i| Identity::from_seed(&Seed::from_bytes([i; 32]))).collect();
    let path: Vec<Hop> =
        nodes[..3].iter().map(|n| Hop::from_ed25519(*n.ed25519_public_key()).unwrap()).collect();
    let destination = Destination::Node(Hop::from_ed25519(*nodes[3].ed25519_public_key()).unwrap());
    let payload = vec![b'x'; 1024];
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut group = c.benchmark_group(BUILD);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(b.name(), |bench| {
            bench.iter(|| {
                build(&path, &destination, black_box(&payload), EncType::XChaCha20, &mut rng)
                    .unwrap()
            });
        });
    }
    group.finish();

    let request = build(&path, &destination, &payload, EncType::XChaCha20, &mut rng).unwrap();
    let guard = &nodes[0];
    let keys = NodeKeys { secret: guard.x25519_secret_key(), public: guard.x25519_public_key() };
    let mut group = c.benchmark_group(PEEL);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(b.name(), |bench| {
            bench.iter(|| {
                let layer = Layer::from_client(black_box(&request.bytes)).unwrap();
                node::peel(&keys, &layer, &mut rng).unwrap()
            });
        });
    }
    group.finish();
}

fn envelope(c: &mut Criterion) {
    let sender = Identity::from_account_seed(&AccountSeed::from_bytes([1; 16]));
    let recipient = Identity::from_account_seed(&AccountSeed::from_bytes([2; 16]));
    let to = recipient.session_id();
    let message = vec![0x5a; 1024];
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut group = c.benchmark_group(ENCRYPT);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(b.name(), |bench| {
            bench.iter(|| {
                one_to_one::encrypt_for_recipient(&sender, black_box(&to), &message, &mut rng)
                    .unwrap()
            });
        });
    }
    group.finish();
    let ciphertext = one_to_one::encrypt_for_recipient(&sender, &to, &message, &mut rng).unwrap();
    let mut group = c.benchmark_group(DECRYPT);
    for b in backends() {
        curve::select(b).unwrap();
        group.bench_function(b.name(), |bench| {
            bench
                .iter(|| one_to_one::decrypt_incoming(&recipient, black_box(&ciphertext)).unwrap());
        });
    }
    group.finish();
    curve::select(curve::auto()).unwrap();
}

criterion_group!(benches, primitives, ed25519, onion, envelope);

/// One operation of the table: (group, what, X25519 work as (keygens, DHs), libsession-util
/// (µs), target (µs)).
///
/// The libsession-util figures and the targets are issue 11's, measured on the 2-core x86-64 VM
/// it was written on (libsodium's X25519 DH: ~31 µs there). On another machine, measure
/// libsession-util there and pass its four figures as `SESH_LIBSESSION_US=build,peel,encrypt,
/// decrypt` (µs) for ratios that mean something; the targets stay the issue's.
type Row = (&'static str, &'static str, (f64, f64), f64, f64);

/// libsession-util's figures: `SESH_LIBSESSION_US` if it holds four numbers, else the table's.
fn libsession_us() -> (Vec<f64>, &'static str) {
    let given: Option<Vec<f64>> = std::env::var("SESH_LIBSESSION_US").ok().and_then(|v| {
        let figures: Vec<f64> = v.split(',').filter_map(|f| f.trim().parse().ok()).collect();
        (figures.len() == TABLE.len()).then_some(figures)
    });
    match given {
        Some(figures) => (figures, "SESH_LIBSESSION_US"),
        None => (TABLE.iter().map(|row| row.3).collect(), "issue 11's machine"),
    }
}

const TABLE: &[Row] = &[
    (BUILD, "onion build, 3 hops + node, 1 KiB", (4.0, 4.0), 189.0, 120.0),
    (PEEL, "onion peel, one layer", (0.0, 1.0), 34.0, 25.0),
    (ENCRYPT, "1:1 encrypt, 1 KiB", (1.0, 1.0), 62.0, 50.0),
    (DECRYPT, "1:1 decrypt, 1 KiB", (0.0, 1.0), 76.0, 60.0),
];

fn us(ns: f64) -> String {
    format!("{:.1} µs", ns / 1_000.0)
}

fn report() {
    let list = backends();
    println!();
    println!("backends: {}", list.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "));
    for (group, what) in [(DH, "X25519 DH, key loaded"), (KEYGEN, "X25519 keygen, new key")] {
        let row: Vec<String> = list
            .iter()
            .map(|b| mean_ns(group, b.name()).map_or("-".into(), |t| format!("{} {}", b, us(t))))
            .collect();
        println!("raw: {what}: {}", row.join(" | "));
    }
    for (group, what) in [(SIGN, "Ed25519 sign"), (VERIFY, "Ed25519 verify")] {
        let functions = list.iter().map(|b| format!("sesh-{b}"));
        let row: Vec<String> = functions
            .chain(["aws-lc".to_owned(), "ed25519-dalek".to_owned()])
            .map(|f| mean_ns(group, &f).map_or(format!("{f} -"), |t| format!("{f} {}", us(t))))
            .collect();
        println!("raw: {what}, 1 KiB: {}", row.join(" | "));
    }
    let (libsession_figures, source) = libsession_us();
    println!("libsession-util figures from {source}: {libsession_figures:?} µs");
    for ((group, what, (keygens, dhs), _, target), libsession) in
        TABLE.iter().zip(&libsession_figures)
    {
        let base = mean_ns(group, Backend::PureRust.name());
        let mut row = Vec::new();
        for b in &list {
            let Some(t) = mean_ns(group, b.name()) else {
                row.push(format!("{b}: not measured"));
                continue;
            };
            let speedup = base.map_or(String::new(), |p| format!(", {:.2}x pure-rust", p / t));
            let x25519 = mean_ns(KEYGEN, b.name()).unwrap_or(0.0) * keygens
                + mean_ns(DH, b.name()).unwrap_or(0.0) * dhs;
            let raw = if x25519 > 0.0 {
                format!(", {:.2}x its X25519", t / x25519)
            } else {
                String::new()
            };
            let verdict = if t / 1_000.0 <= *target { "meets" } else { "misses" };
            row.push(format!(
                "{b} {} ({:.2}x libsession-util{speedup}{raw}; {verdict} the {target:.0} µs target)",
                us(t),
                libsession * 1_000.0 / t
            ));
        }
        println!("backends: {what}: {}", row.join(" | "));
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report();
}
