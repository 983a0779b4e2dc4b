//! sesh-staking: `staking_tx` (see `checks/staking.rs`).
#![no_main]

include!("../checks/staking.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| staking_tx(data));
