//! sesh-onion: `v4_message` on arbitrary bytes.
#![no_main]

include!("../checks/onion.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| v4_message(data));
