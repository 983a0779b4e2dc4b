//! Recovery phrases and the word decoder of sesh-identity, on arbitrary text.
#![no_main]

include!("../checks/identity.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| recovery_phrase(data));
