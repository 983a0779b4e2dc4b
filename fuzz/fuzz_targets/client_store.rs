//! sesh-client: `client_store` (see `checks/client.rs`).
#![no_main]

include!("../checks/client.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| client_store(data));
