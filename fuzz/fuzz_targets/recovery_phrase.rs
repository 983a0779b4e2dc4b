//! Recovery phrases and the general word decoder, on arbitrary text: no panic, and a phrase that
//! parses re-encodes to its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesh_identity::{RecoveryPhrase, mnemonic};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(phrase) = text.parse::<RecoveryPhrase>() {
        assert_eq!(RecoveryPhrase::from_seed(phrase.seed()).as_str(), phrase.as_str());
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if let Ok(bytes) = mnemonic::decode(&words) {
        let again = mnemonic::encode(&bytes, false).expect("decoded bytes are a multiple of 4");
        assert_eq!(*mnemonic::decode(&again).expect("re-encoded words decode"), *bytes);
    }
});
