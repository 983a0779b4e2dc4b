//! Replays the committed fuzz corpus (`fuzz/corpus/rpc_request`) through the fuzz target's check.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/rpc.rs");
}

#[test]
fn rpc_request_corpus() {
    sesh_testkit::replay_corpus("rpc_request", checks::rpc_request);
}
