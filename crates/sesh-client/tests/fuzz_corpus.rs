//! Replays the committed fuzz corpus (`fuzz/corpus/client_{store,retrieve,inbox}`) through the
//! fuzz targets' checks, so that every input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/client.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn client_store_corpus() {
    replay("client_store", checks::client_store);
}

#[test]
fn client_retrieve_corpus() {
    replay("client_retrieve", checks::client_retrieve);
}

#[test]
fn client_inbox_corpus() {
    replay("client_inbox", checks::client_inbox);
}
