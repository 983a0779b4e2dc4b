//! sesh-node: `quorum_wire` (see `checks/node.rs`).
#![no_main]

include!("../checks/node.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| quorum_wire(data));
