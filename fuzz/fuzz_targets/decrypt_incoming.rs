//! sesh-envelope: `decrypt_incoming` on arbitrary bytes.
#![no_main]

include!("../checks/envelope.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| decrypt_incoming(data));
