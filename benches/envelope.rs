//! sesh-envelope: 1:1 encryption and decryption of a 1 KiB message, against the raw
//! ed25519-dalek and crypto_box calls that do the same work.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use crypto_box::aead::Aead;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sesh_envelope::one_to_one;
use sesh_identity::{AccountSeed, Identity};

const ENCRYPT: &str = "envelope_encrypt_1KiB";
const DECRYPT: &str = "envelope_decrypt_1KiB";

struct Parties {
    sender: Identity,
    recipient: Identity,
    sender_signing: SigningKey,
    recipient_box_sk: crypto_box::SecretKey,
    recipient_box_pk: crypto_box::PublicKey,
    message: Vec<u8>,
}

fn parties() -> Parties {
    let sender = Identity::from_account_seed(&AccountSeed::from_bytes([1; 16]));
    let recipient = Identity::from_account_seed(&AccountSeed::from_bytes([2; 16]));
    Parties {
        sender_signing: SigningKey::from_bytes(sender.seed().as_bytes()),
        recipient_box_sk: crypto_box::SecretKey::from(*recipient.x25519_secret_key().as_bytes()),
        recipient_box_pk: crypto_box::PublicKey::from(*recipient.x25519_public_key().as_bytes()),
        sender,
        recipient,
        message: vec![0x5a; 1024],
    }
}

/// The raw primitives of encryption: Ed25519 over M ‖ A ‖ Y, then crypto_box's sealed box of
/// M ‖ A ‖ SIG.
fn raw_encrypt(p: &Parties, rng: &mut ChaCha20Rng) -> Vec<u8> {
    let a = p.sender_signing.verifying_key().to_bytes();
    let y = p.recipient_box_pk.as_bytes();
    let signature = p.sender_signing.sign(&[&p.message[..], &a, y].concat());
    let signed = [&p.message[..], &a, &signature.to_bytes()].concat();
    p.recipient_box_pk.seal(rng, &signed).unwrap()
}

/// The raw primitives of decryption with the recipient's public key at hand: crypto_box's box
/// open (X25519, HSalsa20, XSalsa20-Poly1305) with the sealed-box nonce, then Ed25519
/// verification of M ‖ A ‖ Y.
fn raw_decrypt(p: &Parties, ciphertext: &[u8]) -> Vec<u8> {
    let (ephemeral, sealed) = ciphertext.split_at(32);
    let ephemeral: [u8; 32] = ephemeral.try_into().unwrap();
    let ephemeral = crypto_box::PublicKey::from(ephemeral);
    let nonce: [u8; 24] =
        sesh_identity::hash::blake2b(b"", &[ephemeral.as_bytes(), p.recipient_box_pk.as_bytes()]);
    let opened = crypto_box::SalsaBox::new(&ephemeral, &p.recipient_box_sk)
        .decrypt(&nonce.into(), sealed)
        .unwrap();
    verify_inner(p, opened)
}

/// What crypto_box offers directly: `unseal`, which recomputes the recipient's public key.
fn raw_unseal(p: &Parties, ciphertext: &[u8]) -> Vec<u8> {
    let opened = p.recipient_box_sk.unseal(ciphertext).unwrap();
    verify_inner(p, opened)
}

fn verify_inner(p: &Parties, mut opened: Vec<u8>) -> Vec<u8> {
    let n = opened.len();
    let signature = Signature::from_slice(&opened[n - 64..]).unwrap();
    let sender = VerifyingKey::from_bytes(opened[n - 96..n - 64].try_into().unwrap()).unwrap();
    opened.truncate(n - 64);
    opened.extend_from_slice(p.recipient_box_pk.as_bytes());
    sender.verify(&opened, &signature).unwrap();
    opened.truncate(n - 96);
    opened
}

fn encrypt(c: &mut Criterion) {
    let p = parties();
    let mut group = c.benchmark_group(ENCRYPT);
    group.throughput(Throughput::Bytes(p.message.len() as u64));
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    group.bench_function("sesh", |b| {
        b.iter(|| {
            one_to_one::encrypt_for_recipient(
                &p.sender,
                black_box(&p.recipient.session_id()),
                black_box(&p.message),
                &mut rng,
            )
            .unwrap()
        });
    });
    group.bench_function("raw", |b| b.iter(|| raw_encrypt(black_box(&p), &mut rng)));
    group.finish();
}

fn decrypt(c: &mut Criterion) {
    let p = parties();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let ciphertext = one_to_one::encrypt_for_recipient(
        &p.sender,
        &p.recipient.session_id(),
        &p.message,
        &mut rng,
    )
    .unwrap();
    // Both sides agree on the bytes before they are timed.
    assert_eq!(raw_decrypt(&p, &ciphertext), p.message);
    assert_eq!(raw_decrypt(&p, &raw_encrypt(&p, &mut rng)), p.message);

    let mut group = c.benchmark_group(DECRYPT);
    group.throughput(Throughput::Bytes(p.message.len() as u64));
    group.bench_function("sesh", |b| {
        b.iter(|| one_to_one::decrypt_incoming(&p.recipient, black_box(&ciphertext)).unwrap());
    });
    group.bench_function("raw", |b| b.iter(|| raw_decrypt(&p, black_box(&ciphertext))));
    group.bench_function("raw_unseal", |b| b.iter(|| raw_unseal(&p, black_box(&ciphertext))));
    group.finish();
}

criterion_group!(benches, encrypt, decrypt);

fn main() {
    // The raw side is pure Rust (dalek, RustCrypto): measure sesh on the same primitives, so the
    // ratio is what the protocol code adds. The `backends` bench compares the backends.
    sesh_identity::curve::select(sesh_identity::curve::Backend::PureRust).unwrap();
    benches();
    Criterion::default().configure_from_args().final_summary();
    sesh_benches::report_ratios(ENCRYPT, &[("sesh", "raw")]);
    sesh_benches::report_ratios(DECRYPT, &[("sesh", "raw"), ("sesh", "raw_unseal")]);
}
