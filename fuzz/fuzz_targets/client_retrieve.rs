//! sesh-client: `client_retrieve` (see `checks/client.rs`).
#![no_main]

include!("../checks/client.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| client_retrieve(data));
