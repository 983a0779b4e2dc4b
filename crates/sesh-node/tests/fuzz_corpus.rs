//! Replays the committed fuzz corpus (`fuzz/corpus/{keeper_join,fetch_request,
//! handover_messages,quorum_wire,uptime_proof}`) through the fuzz targets' checks, so that every
//! input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/node.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn keeper_join_corpus() {
    replay("keeper_join", checks::keeper_join);
}

#[test]
fn fetch_request_corpus() {
    replay("fetch_request", checks::fetch_request);
}

#[test]
fn handover_messages_corpus() {
    replay("handover_messages", checks::handover_messages);
}

#[test]
fn quorum_wire_corpus() {
    replay("quorum_wire", checks::quorum_wire);
}

#[test]
fn uptime_proof_corpus() {
    replay("uptime_proof", checks::uptime_proof);
}
