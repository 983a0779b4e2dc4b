//! sesh-onion: `routing_json` on arbitrary bytes.
#![no_main]

include!("../checks/onion.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| routing_json(data));
