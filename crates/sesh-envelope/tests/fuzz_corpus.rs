//! Replays the committed fuzz corpus (`fuzz/corpus/{decrypt_incoming,envelope,unpad}`) through
//! the fuzz targets' checks, so that every input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/envelope.rs");
}

use sesh_testkit::replay_corpus as replay;

#[test]
fn decrypt_incoming_corpus() {
    replay("decrypt_incoming", checks::decrypt_incoming);
}

#[test]
fn envelope_corpus() {
    replay("envelope", checks::envelope);
}

#[test]
fn unpad_corpus() {
    replay("unpad", checks::unpad);
}
