//! Replays the committed fuzz corpus (`fuzz/corpus/network_{state,auth,stream}`) through the fuzz
//! targets' checks, so that every input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/network.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn network_state_corpus() {
    replay("network_state", checks::network_state);
}

#[test]
fn network_auth_corpus() {
    replay("network_auth", checks::network_auth);
}

#[test]
fn network_stream_corpus() {
    replay("network_stream", checks::network_stream);
}
