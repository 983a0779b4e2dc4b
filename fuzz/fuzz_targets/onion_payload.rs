//! sesh-onion: `onion_payload` on arbitrary bytes.
#![no_main]

include!("../checks/onion.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| onion_payload(data));
