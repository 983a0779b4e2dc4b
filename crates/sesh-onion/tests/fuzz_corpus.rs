//! Replays the committed fuzz corpus (`fuzz/corpus/{onion_payload,routing_json,v4_message}`)
//! through the fuzz targets' checks, so that every input the fuzzer kept is tested on stable
//! Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/onion.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn onion_payload_corpus() {
    replay("onion_payload", checks::onion_payload);
}

#[test]
fn routing_json_corpus() {
    replay("routing_json", checks::routing_json);
}

#[test]
fn v4_message_corpus() {
    replay("v4_message", checks::v4_message);
}
