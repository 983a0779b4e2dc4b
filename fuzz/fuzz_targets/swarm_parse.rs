//! sesh-swarm: `swarm_parse` (see `checks/swarm.rs`).
#![no_main]

include!("../checks/swarm.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| swarm_parse(data));
