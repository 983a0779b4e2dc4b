//! sesh-node: `keeper_join` (see `checks/node.rs`).
#![no_main]

include!("../checks/node.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| keeper_join(data));
