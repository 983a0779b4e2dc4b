//! Replays the committed fuzz corpus (`fuzz/corpus/swarm_{history,calc,parse}`) through the fuzz
//! targets' checks, so that every input the fuzzer kept is tested on stable Rust.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod checks {
    #![allow(dead_code, unreachable_pub)]
    include!("../../../fuzz/checks/swarm.rs");
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
