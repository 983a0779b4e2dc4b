//! Every ID and key parser of sesh-identity, on arbitrary text and bytes.
#![no_main]

include!("../checks/identity.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| ids(data));
