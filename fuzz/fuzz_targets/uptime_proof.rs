//! sesh-node: `uptime_proof` (see `checks/node.rs`).
#![no_main]

include!("../checks/node.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| uptime_proof(data));
