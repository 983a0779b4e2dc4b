//! Every ID and key parser, on arbitrary text and on arbitrary bytes: none may panic, and what
//! parses must print back to the same (lowercased) text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesh_identity::{AnyId, BlindedId, Ed25519PublicKey, GroupId, SessionId, X25519PublicKey};

fuzz_target!(|data: &[u8]| {
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
});
