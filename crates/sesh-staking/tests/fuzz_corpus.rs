//! Replays the committed fuzz corpus (`fuzz/corpus/staking_{tx,ledger}`) through the fuzz
//! targets' checks, so that every input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/staking.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn staking_tx_corpus() {
    replay("staking_tx", checks::staking_tx);
}

#[test]
fn staking_ledger_corpus() {
    replay("staking_ledger", checks::staking_ledger);
}
