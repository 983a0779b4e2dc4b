//! sesh-rpc: `rpc_request` (see `checks/rpc.rs`).
#![no_main]

include!("../checks/rpc.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_request(data));
