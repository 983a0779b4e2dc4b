//! sesh-node: `handover_messages` (see `checks/node.rs`).
#![no_main]

include!("../checks/node.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| handover_messages(data));
