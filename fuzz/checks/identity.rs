// The checks behind the sesh-identity fuzz targets. This file is included (not compiled on its
// own) by `fuzz_targets/*.rs` and by `crates/sesh-identity/tests/fuzz_corpus.rs`, which replays
// the committed corpus through the same code on stable Rust.

use sesh_identity::{
    AnyId, BlindedId, Ed25519PublicKey, GroupId, RecoveryPhrase, SessionId, X25519PublicKey,
    mnemonic,
};

/// Every ID and key parser, on text and on raw bytes: none may panic, and what parses prints
/// back as it was read (in lowercase).
pub fn ids(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(id) = text.parse::<AnyId>() {
            assert_eq!(id.to_string(), text.to_ascii_lowercase());
            assert_eq!(AnyId::from_bytes(&id.to_bytes()), Ok(id));
        }
        let _ = text.parse::<SessionId>();
        let _ = text.parse::<BlindedId>();
        let _ = text.parse::<GroupId>();
        let _ = text.parse::<Ed25519PublicKey>();
        let _ = text.parse::<X25519PublicKey>();
    }
    let _ = AnyId::try_from(data);
    let _ = SessionId::try_from(data);
    let _ = BlindedId::try_from(data);
    let _ = GroupId::try_from(data);
    if let Ok(key) = Ed25519PublicKey::try_from(data) {
        let _ = key.to_x25519();
    }
}

/// Recovery phrases and the general word decoder: no panic, and what decodes re-encodes to
/// the same bytes.
pub fn recovery_phrase(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(phrase) = text.parse::<RecoveryPhrase>() {
        assert_eq!(RecoveryPhrase::from_seed(phrase.seed()).as_str(), phrase.as_str());
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if let Ok(bytes) = mnemonic::decode(&words) {
        let again = mnemonic::encode(&bytes, false).expect("decoded bytes are a multiple of 4");
        assert_eq!(*mnemonic::decode(&again).expect("re-encoded words decode"), *bytes);
    }
}
