//! The simulator: deterministic outputs, a network without churn keeps its swarms, and every
//! reward engine conserves what it pays.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::disallowed_methods,
    dead_code,
    missing_docs,
    unreachable_pub
)]

use sesh_examples::simulate;
use simulate::scenario::{Rewards, Scenario};
use simulate::sim::Sim;

fn small(seed: u64) -> Scenario {
    Scenario {
        seed,
        days: 4,
        nodes: 150,
        operators: 30,
        contributor_pool: 60,
        // Heavy churn so that four days see every kind of event.
        join_per_day: 20.0,
        leave_per_day: 15.0,
        decommission_per_day: 15.0,
        outage_days: 0.5,
        ..Scenario::default()
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sesh-sim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(sc: Scenario, dir: &std::path::Path) -> Sim {
    let mut sim = Sim::new(sc).unwrap();
    sim.run(|_| {}).unwrap();
    simulate::output::write(&sim, dir, 0.0, false).unwrap();
    sim
}

#[test]
fn the_same_seed_gives_byte_identical_outputs() {
    let (a, b, c) = (scratch("a"), scratch("b"), scratch("c"));
    let first = run(small(7), &a);
    run(small(7), &b);
    run(small(8), &c);
    assert!(
        first.totals.map_changes > 0 && first.totals.decommissions > 0 && first.totals.exits > 0,
        "{:?}",
        first.totals
    );
    let per_metric = simulate::metrics::METRIC_FILES.iter().map(|(file, _)| *file);
    let files: Vec<&str> = ["daily.csv", "rewards.csv", "swarm_sizes.csv", "summary.txt"]
        .into_iter()
        .chain(per_metric)
        .collect();
    for file in files {
        let (x, y) = (std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap());
        assert!(!x.is_empty());
        assert_eq!(x, y, "{file} differs between two runs of the same seed");
    }
    assert_ne!(
        std::fs::read(a.join("daily.csv")).unwrap(),
        std::fs::read(c.join("daily.csv")).unwrap(),
        "another seed, the same run"
    );
}

#[test]
fn without_churn_the_swarms_never_change() {
    let sc =
        Scenario { join_per_day: 0.0, leave_per_day: 0.0, decommission_per_day: 0.0, ..small(3) };
    let mut sim = Sim::new(sc).unwrap();
    let before: Vec<_> = sim.map().assignments().collect();
    assert!(!before.is_empty());
    sim.run(|_| {}).unwrap();
    let after: Vec<_> = sim.map().assignments().collect();
    assert_eq!(before, after);
    assert_eq!(sim.totals.map_changes, 0);
    assert_eq!((sim.totals.moved, sim.totals.left), (0, 0));
    for day in &sim.recorder.days {
        assert_eq!((day.joined, day.left, day.moved), (0, 0, 0), "day {}", day.day);
        assert_eq!(day.handover_messages, 0.0);
    }
}

#[test]
fn every_reward_engine_conserves_what_it_pays() {
    for rewards in [Rewards::Exact, Rewards::Accumulator, Rewards::Service] {
        let dir = scratch(&format!("{rewards:?}"));
        let sim = run(Scenario { rewards, ..small(11) }, &dir);
        let t = sim.reward_totals();
        assert!(t.conserved(), "{rewards:?}: {t:?}");
        assert!(t.rewards > 0 && t.credited > 0, "{rewards:?}: {t:?}");
        assert_eq!(t.pending, 0, "{rewards:?}: settled at the end");
        // What the addresses hold is exactly what was credited plus returned stake.
        let held: u128 = sim.credits().iter().map(|(_, v)| v).sum();
        assert_eq!(held, t.credited + t.returned, "{rewards:?}");
        assert!(sim.recorder.days.iter().all(|d| d.conserved), "{rewards:?}");
    }
}

#[test]
fn a_concentrated_operator_shows_in_the_control_metrics() {
    let none = run(small(5), &scratch("none"));
    let big = run(Scenario { concentration: 0.4, ..small(5) }, &scratch("big"));
    let (n, b) = (none.recorder.days.last().unwrap(), big.recorder.days.last().unwrap());
    assert_eq!(n.path_two_of_three_big, 0.0);
    // About 40 % of the nodes (joins keep the share only on average): P(≥ 2 of 3) =
    // 3p²(1−p) + p³ is 0.352 at p = 0.4, 0.306 at 0.37 and 0.395 at 0.43.
    assert!((0.30..0.40).contains(&b.path_two_of_three_big), "{}", b.path_two_of_three_big);
    assert!(b.path_two_of_three_any > n.path_two_of_three_any);
    assert!(b.largest_swarm_share > n.largest_swarm_share);
    assert!((0.3..0.5).contains(&b.big_node_share), "{}", b.big_node_share);
    assert_eq!(n.big_node_share, 0.0);
    // The operator stakes a quarter of each node and takes a fee of at most 10 %: its share of
    // the rewards is positive but below its share of the nodes.
    assert!(b.big_reward_share > 0.0 && b.big_reward_share < b.big_node_share);
}

#[test]
fn the_study_scenarios_in_the_docs_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/simulator");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert_eq!(seen, 10, "the two studies' scenarios");
    assert!(Scenario::from_toml("nodez = 3").is_err(), "unknown fields are refused");
    assert!(Scenario::from_toml("concentration = 1.5").is_err());
}

#[test]
fn scenarios_that_cannot_run_are_refused_with_the_reason() {
    for (text, says) in [
        ("outage_days = nan", "outage_days must be a non-negative number"),
        ("join_per_day = -1.0", "join_per_day must be a non-negative number"),
        ("join_per_day = 1e9", "join_per_day must be at most"),
        ("nodes = 0", "nodes and operators must be at least 1"),
        ("nodes = 1000000", "100,000 starting nodes"),
        ("min_contributors = 5\nmax_contributors = 4", "min ≤ max"),
        ("order = \"weird\"", "unknown variant"),
    ] {
        let e = Scenario::from_toml(text).unwrap_err();
        assert!(e.contains(says), "{text}: {e}");
    }
    // Tiny and empty runs work.
    for sc in [Scenario { days: 0, ..small(1) }, Scenario { nodes: 1, operators: 1, ..small(1) }] {
        let dir = scratch(&format!("tiny-{}-{}", sc.days, sc.nodes));
        run(sc, &dir);
        assert!(dir.join("summary.txt").exists());
    }
}
