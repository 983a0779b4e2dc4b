//! The main job, end to end: a small testnet started by the `testnet` example, messages through
//! 3-hop onion paths, a node killed mid-run and restarted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::process::Command;

use serde_json::{Value, json};

#[test]
fn a_small_testnet_delivers_every_message_through_a_killed_node() {
    let out = Command::new(common::example_binary("testnet"))
        .args([
            "--nodes",
            "6",
            "--clients",
            "3",
            "--messages",
            "18",
            "--kill-one",
            "--json",
            "--block-ms",
            "300",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "testnet failed:\n{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    // Every message delivered, through 3-hop paths, with a node killed halfway.
    let m = &report["messages"];
    assert_eq!(m["planned"], json!(18));
    assert_eq!(m["sent"], json!(18), "{report}");
    assert_eq!(m["delivered"], json!(18), "{report}");
    assert_eq!(m["path_length"], json!(3));
    assert!(m["latency_ms"]["p99"].as_f64().unwrap() > 0.0);

    // The killed node kept what it had acknowledged and caught up with what it missed.
    let k = &report["kill"];
    assert_eq!(k["killed_after_messages"], json!(9), "{report}");
    assert!(k["held_before_kill"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(k["kept_after_restart"], k["held_before_kill"], "{report}");
    assert_eq!(k["caught_up_after_restart"], k["stored_while_down"], "{report}");

    // Six nodes make one swarm; rewards reached every operator and contributor.
    assert_eq!(report["swarms"].as_array().unwrap().len(), 1);
    let balances = report["rewards"]["balances"].as_array().unwrap();
    assert_eq!(balances.len(), 6 + 4, "{report}");
    assert!(balances.iter().all(|b| b["sesh"].as_str().unwrap() != "0.000000"), "{report}");
    assert_eq!(report["ok"], json!(true));

    // Nothing is left running.
    if let Ok(ps) = Command::new("ps").args(["-eo", "args"]).output() {
        let data = report["data"].as_str().unwrap();
        assert!(!String::from_utf8_lossy(&ps.stdout).contains(data), "nodes left running");
    }
}
