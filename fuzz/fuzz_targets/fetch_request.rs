//! sesh-node: `fetch_request` (see `checks/node.rs`).
#![no_main]

include!("../checks/node.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| fetch_request(data));
