//! Replays the committed fuzz corpus (`fuzz/corpus/swarm_{history,calc,parse}`) through the fuzz
//! targets' checks, so that every input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/swarm.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn swarm_history_corpus() {
    replay("swarm_history", checks::swarm_history);
}

#[test]
fn swarm_calc_corpus() {
    replay("swarm_calc", checks::swarm_calc);
}

#[test]
fn swarm_parse_corpus() {
    replay("swarm_parse", checks::swarm_parse);
}
