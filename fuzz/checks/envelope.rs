// The checks behind the sesh-envelope fuzz targets. Included (not compiled on its own) by
// `fuzz_targets/*.rs` and by `crates/sesh-envelope/tests/fuzz_corpus.rs`, which replays the
// committed corpus through the same code on stable Rust.

use std::sync::LazyLock;

use sesh_envelope::{envelope, one_to_one, padding};
use sesh_identity::{AccountSeed, Identity};

static RECIPIENT: LazyLock<Identity> =
    LazyLock::new(|| Identity::from_account_seed(&AccountSeed::from_bytes([2; 16])));

/// 1:1 decryption of arbitrary bytes: never a panic, and never a success (nobody but the fuzzer
/// made these bytes, and it does not have the sender's key and the recipient's at once).
pub fn decrypt_incoming(data: &[u8]) {
    if let Ok(message) = one_to_one::decrypt_incoming(&RECIPIENT, data) {
        // A forgery would need a signature under a key of the fuzzer's choosing over a box
        // sealed to this recipient: possible in principle, so check it is at least consistent.
        assert_eq!(message.plaintext().len() + one_to_one::OVERHEAD, data.len());
    }
}

/// The WebSocketMessage and Envelope parsers, and the whole decode: no panic.
pub fn envelope(data: &[u8]) {
    if let Ok(body) = envelope::unwrap_websocket(data) {
        let _ = envelope::parse_envelope(&body);
    }
    let _ = envelope::parse_envelope(data);
    let _ = envelope::decode_for_recipient(&RECIPIENT, data);
}

/// Unpadding: no panic, and the result is a prefix of the input.
pub fn unpad(data: &[u8]) {
    if let Ok(message) = padding::unpad(data) {
        assert!(data.starts_with(message));
        assert_eq!(padding::unpad(&padding::pad(message)).ok(), Some(message));
    }
}
