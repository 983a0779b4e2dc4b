//! sesh-client: `client_inbox` (see `checks/client.rs`).
#![no_main]

include!("../checks/client.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| client_inbox(data));
