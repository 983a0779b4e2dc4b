//! The simulator: deterministic outputs, a network without churn keeps its swarms, every reward
//! engine conserves what it pays, and failing nodes are found by the network's quorum rules
//! (tests, votes, tallies, ledger) while healthy ones are left alone.
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
use sesh_quorum::StateChange;
use sesh_staking::NodeStatus;
use simulate::obligations::FaultKind;
use simulate::scenario::{Rewards, Scenario};
use simulate::sim::{Cause, Sim};

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
        outages_per_day: 15.0,
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
    let files: Vec<&str> = [
        "daily.csv",
        "rewards.csv",
        "swarm_sizes.csv",
        "summary.txt",
        "outages.csv",
        "decisions.csv",
        "nodes.csv",
    ]
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
    let sc = Scenario { join_per_day: 0.0, leave_per_day: 0.0, outages_per_day: 0.0, ..small(3) };
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
    assert_eq!(seen, 19, "the three studies' scenarios");
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

/// A network of `nodes` with no churn and no random outages: only the faults a test makes.
fn quiet(nodes: u32, days: u32) -> Scenario {
    Scenario {
        seed: 21,
        days,
        nodes,
        operators: 20,
        contributor_pool: 40,
        join_per_day: 0.0,
        leave_per_day: 0.0,
        outages_per_day: 0.0,
        ..Scenario::default()
    }
}

fn run_blocks(sim: &mut Sim, blocks: u64) {
    for _ in 0..blocks {
        sim.step().unwrap();
    }
}

#[test]
fn a_failing_node_is_decommissioned_by_quorum_votes_and_healthy_ones_are_not() {
    let mut sim = Sim::new(quiet(120, 0)).unwrap();
    // Ten days up: each node has 60 + 240 blocks of credit.
    run_blocks(&mut sim, 7_200);
    let ids = sim.node_ids();
    let (offline, amnesia) = (ids[3], ids[77]);
    sim.fail(offline, FaultKind::Offline, 150);
    sim.fail(amnesia, FaultKind::Amnesia, 150);
    run_blocks(&mut sim, 120);
    for node in [offline, amnesia] {
        assert_eq!(sim.ledger().node(&node).unwrap().status(), NodeStatus::Decommissioned);
    }
    run_blocks(&mut sim, 400);

    // Each was decommissioned by a decision of its quorum, while failing, and recommissioned
    // once back; nothing else was decided.
    let decided: Vec<_> = sim.decisions.iter().map(|d| (d.node, d.state, d.cause)).collect();
    assert_eq!(decided.len(), 4, "{decided:?}");
    for (node, kind) in [(offline, FaultKind::Offline), (amnesia, FaultKind::Amnesia)] {
        let mine: Vec<_> = sim.decisions.iter().filter(|d| d.node == node).collect();
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert_eq!(
            (mine[0].state, mine[0].cause),
            (StateChange::Decommission, Cause::Failing(kind))
        );
        assert_eq!((mine[1].state, mine[1].cause), (StateChange::Recommission, Cause::Healthy));
        // Votes for the quorum of 11 blocks before the block that holds them.
        assert!(mine[0].height > mine[0].vote_height + 10, "{:?}", mine[0]);
        assert_eq!(sim.ledger().node(&node).unwrap().status(), NodeStatus::Active);
        let outage = sim.outages.iter().find(|o| o.node == node).unwrap();
        let caught = outage.blocks_to_catch().unwrap();
        // Not before its storage tests fail (5 blocks), within the 120 blocks.
        assert!((5..120).contains(&caught), "{outage:?}");
        assert!(outage.recommissioned.unwrap() >= outage.end);
    }
    let amnesia_reasons = sim.decisions.iter().find(|d| d.node == amnesia).unwrap().reasons;
    assert_eq!(amnesia_reasons.names().collect::<Vec<_>>(), ["storage"]);
    let v = sim.vote_stats();
    assert_eq!(v.decided, 4);
    assert_eq!(v.quorums_without_quorum, 0);
    assert_eq!(sim.totals.rejected_txs, 0);
    assert_eq!(sim.totals.wrongful, 0);

    // The healthy nodes earned exactly what the ledger's payable rule gives a node that never
    // failed; the failing ones less.
    for n in sim.earnings() {
        if n.node == offline || n.node == amnesia {
            assert!(n.earned < n.potential * 0.99, "{n:?}");
        } else {
            assert!((n.earned - n.potential).abs() <= n.potential * 1e-9, "{n:?}");
            assert_eq!(n.wrongful, 0);
        }
    }
}

#[test]
fn a_node_down_longer_than_its_credit_is_deregistered() {
    // Nodes registered at the start hold the initial 60 blocks of credit and 24 a day.
    let mut sim = Sim::new(quiet(80, 0)).unwrap();
    run_blocks(&mut sim, 30);
    let node = sim.node_ids()[5];
    sim.fail(node, FaultKind::Offline, 2_000);
    run_blocks(&mut sim, 600);
    let states: Vec<_> = sim.decisions.iter().filter(|d| d.node == node).map(|d| d.state).collect();
    assert_eq!(states, [StateChange::Decommission, StateChange::Deregister]);
    assert_eq!(sim.ledger().node(&node).unwrap().status(), NodeStatus::Removed);
    let outage = &sim.outages[0];
    assert!(outage.deregistered.unwrap() > outage.decommissioned.unwrap() + 60, "{outage:?}");
    assert!(sim.vote_stats().abstained > 0, "validators abstain while it has credit");
}

#[test]
fn every_vote_signed_decides_exactly_as_the_fast_tally() {
    // Noisy checks: many votes that decide nothing, some that do.
    let mut sc = Scenario { days: 2, ..small(5) };
    sc.checks.set_false_positive(0.25);
    let (fast_dir, signed_dir) = (scratch("fast"), scratch("signed"));
    let fast = run(sc.clone(), &fast_dir);
    let signed = run(Scenario { sign_all_votes: true, ..sc }, &signed_dir);
    assert!(fast.decisions.len() > 10, "{}", fast.decisions.len());
    assert_eq!(fast.decisions, signed.decisions);
    assert_eq!(fast.outages, signed.outages);
    let (f, s) = (fast.vote_stats(), signed.vote_stats());
    assert_eq!((f.votes.clone(), f.decided), (s.votes.clone(), s.decided));
    assert!(s.signed > 5 * f.signed, "signed {} against {}", s.signed, f.signed);
    assert!(fast.totals.wrongful > 0, "a 25 % false-positive rate votes healthy nodes out");
    for file in ["daily.csv", "outages.csv", "decisions.csv", "nodes.csv"] {
        let (a, b) = (fast_dir.join(file), signed_dir.join(file));
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{file}");
    }
}
