//! sesh-onion: building a 3-hop request of 1 KiB to a node, and peeling one layer, against the
//! raw primitives they are made of (x25519-dalek, BLAKE2b, XChaCha20-Poly1305).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, Throughput, criterion_group};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sesh_identity::{Identity, Seed};
use sesh_onion::node::{self, Layer, NodeKeys};
use sesh_onion::{Destination, EncType, Hop, build};
use x25519_dalek::{PublicKey, StaticSecret};

const BUILD: &str = "onion_build_3hops_1KiB";
const PEEL: &str = "onion_peel_layer";

fn nodes() -> Vec<Identity> {
    (1..=4u8).map(|i| Identity::from_seed(&Seed::from_bytes([i; 32]))).collect()
}

/// One layer from raw primitives: a fresh X25519 key pair, DH, the BLAKE2b key, XChaCha20.
fn raw_layer(recipient: &PublicKey, plaintext: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
    let secret = StaticSecret::random_from_rng(&mut *rng);
    let public = PublicKey::from(&secret);
    let shared = secret.diffie_hellman(recipient);
    let key: [u8; 32] = sesh_identity::hash::blake2b(
        b"",
        &[shared.as_bytes(), public.as_bytes(), recipient.as_bytes()],
    );
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    XChaCha20Poly1305::new(&key.into()).encrypt(XNonce::from_slice(&nonce), plaintext).unwrap()
}

fn build_bench(c: &mut Criterion) {
    let nodes = nodes();
    let path: Vec<Hop> =
        nodes[..3].iter().map(|n| Hop::from_ed25519(*n.ed25519_public_key()).unwrap()).collect();
    let destination = Destination::Node(Hop::from_ed25519(*nodes[3].ed25519_public_key()).unwrap());
    let payload = vec![b'x'; 1024];
    let mut rng = ChaCha20Rng::seed_from_u64(1);

    // The plaintext of each layer, destination first, as the builder makes them: the raw side
    // encrypts buffers of the same sizes.
    let request = build(&path, &destination, &payload, EncType::XChaCha20, &mut rng).unwrap();
    let mut sizes = Vec::new();
    let mut layer = Layer::from_client(&request.bytes).unwrap();
    for n in &nodes {
        sizes.push(layer.ciphertext.len() - EncType::XChaCha20.overhead());
        let keys = NodeKeys { secret: n.x25519_secret_key(), public: n.x25519_public_key() };
        match node::peel(&keys, &layer, &mut rng).unwrap() {
            node::Action::Forward { message, .. } => layer = Layer::from_node(&message).unwrap(),
            _ => break,
        }
    }
    sizes.reverse();
    let recipients: Vec<PublicKey> = [3, 2, 1, 0]
        .iter()
        .map(|&i| PublicKey::from(*nodes[i].x25519_public_key().as_bytes()))
        .collect();
    let buffers: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![7u8; n]).collect();

    let mut group = c.benchmark_group(BUILD);
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function("sesh", |b| {
        b.iter(|| {
            build(&path, &destination, black_box(&payload), EncType::XChaCha20, &mut rng).unwrap()
        });
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            for (recipient, buffer) in recipients.iter().zip(&buffers) {
                black_box(raw_layer(recipient, black_box(buffer), &mut rng));
            }
        });
    });
    group.finish();
}

fn peel_bench(c: &mut Criterion) {
    let nodes = nodes();
    let path: Vec<Hop> =
        nodes[..3].iter().map(|n| Hop::from_ed25519(*n.ed25519_public_key()).unwrap()).collect();
    let destination = Destination::Node(Hop::from_ed25519(*nodes[3].ed25519_public_key()).unwrap());
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let request =
        build(&path, &destination, &vec![b'x'; 1024], EncType::XChaCha20, &mut rng).unwrap();
    let guard = &nodes[0];
    let keys = NodeKeys { secret: guard.x25519_secret_key(), public: guard.x25519_public_key() };
    let layer = Layer::from_client(&request.bytes).unwrap();

    let guard_secret = StaticSecret::from(*guard.x25519_secret_key().as_bytes());
    let guard_public = PublicKey::from(*guard.x25519_public_key().as_bytes());
    let ephemeral = PublicKey::from(*layer.ephemeral_key.as_bytes());
    let raw_peel = |ciphertext: &[u8]| {
        let shared = guard_secret.diffie_hellman(&ephemeral);
        let key: [u8; 32] = sesh_identity::hash::blake2b(
            b"",
            &[shared.as_bytes(), ephemeral.as_bytes(), guard_public.as_bytes()],
        );
        let (nonce, body) = ciphertext.split_at(24);
        XChaCha20Poly1305::new(&key.into()).decrypt(XNonce::from_slice(nonce), body).unwrap()
    };
    assert!(!raw_peel(&layer.ciphertext).is_empty());

    let mut group = c.benchmark_group(PEEL);
    group.throughput(Throughput::Bytes(request.bytes.len() as u64));
    group.bench_function("sesh", |b| {
        b.iter(|| {
            let layer = Layer::from_client(black_box(&request.bytes)).unwrap();
            node::peel(&keys, &layer, &mut rng).unwrap()
        });
    });
    group.bench_function("raw", |b| b.iter(|| raw_peel(black_box(&layer.ciphertext))));
    group.finish();
}

criterion_group!(benches, build_bench, peel_bench);

fn main() {
    // The raw side is pure Rust (dalek, RustCrypto): measure sesh on the same primitives, so the
    // ratio is what the protocol code adds. The `backends` bench compares the backends.
    sesh_identity::curve::select(sesh_identity::curve::Backend::PureRust).unwrap();
    benches();
    Criterion::default().configure_from_args().final_summary();
    sesh_benches::report_ratios(BUILD, &[("sesh", "raw")]);
    sesh_benches::report_ratios(PEEL, &[("sesh", "raw")]);
}
