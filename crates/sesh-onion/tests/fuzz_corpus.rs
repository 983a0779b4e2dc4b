//! Replays the committed fuzz corpus (`fuzz/corpus/{onion_payload,routing_json,v4_message}`)
//! through the fuzz targets' checks, so that every input the fuzzer kept is tested on stable
//! Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/onion.rs");
}

fn replay(target: &str, check: fn(&[u8])) {
    let dir = sesh_testkit::workspace_root().join("fuzz/corpus").join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            check(&std::fs::read(&path).unwrap());
            count += 1;
        }
    }
    assert!(count > 0, "{} has no corpus files", dir.display());
}

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
