//! sesh-envelope: `envelope` on arbitrary bytes.
#![no_main]

include!("../checks/envelope.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| envelope(data));
