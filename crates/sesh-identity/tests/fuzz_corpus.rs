//! Replays the committed fuzz corpus (`fuzz/corpus/{ids,recovery_phrase}`) through the fuzz
//! targets' checks, so that every input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/identity.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn ids_corpus() {
    replay("ids", checks::ids);
}

#[test]
fn recovery_phrase_corpus() {
    replay("recovery_phrase", checks::recovery_phrase);
}
