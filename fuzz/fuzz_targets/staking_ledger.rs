//! sesh-staking: `staking_ledger` (see `checks/staking.rs`).
#![no_main]

include!("../checks/staking.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| staking_ledger(data));
