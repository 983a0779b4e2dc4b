//! sesh-network: `network_stream` (see `checks/network.rs`).
#![no_main]

include!("../checks/network.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| network_stream(data));
