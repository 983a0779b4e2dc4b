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

mod common;

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

// ---- starting from a ledger file (the `ledger` example's `--json`) ----

use simulate::ledger_file::{LedgerFile, LedgerFileError};

const SESH: u64 = 1_000_000_000;
const REQUIREMENT: u64 = 25_000 * SESH;

fn evm(n: u8) -> String {
    format!("0x{}", hex::encode([n; 20]))
}

/// One node as the `ledger` example prints it: key byte `n`, `stakes` (account byte, stake),
/// the operator first.
fn file_node(n: u8, state: &str, fee_bp: u16, stakes: &[(u8, u64)]) -> serde_json::Value {
    let contributors: Vec<serde_json::Value> = stakes
        .iter()
        .map(|(who, amount)| {
            serde_json::json!({"address": evm(*who), "beneficiary": evm(*who), "stake": amount.to_string()})
        })
        .collect();
    let total: u64 = stakes.iter().map(|s| s.1).sum();
    serde_json::json!({
        "bls_key": format!("0x{}", hex::encode([n; 64])),
        "pubkey_ed25519": hex::encode([n; 32]),
        "operator": evm(stakes[0].0),
        "stake": total.to_string(),
        "staking_requirement": REQUIREMENT.to_string(),
        "fee_bp": fee_bp,
        "seeded": false,
        "state": state,
        "registration_height": 3,
        "requested_unlock_height": null,
        "removal": null,
        "contributors": contributors,
    })
}

fn file_json(nodes: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "chain_id": 42161, "contract": evm(0xcc), "start_block": 100, "followed_block": 500,
        "height": 400, "state_hash": "ab".repeat(32),
        "staking_requirement": REQUIREMENT.to_string(), "events": 9,
        "nodes": nodes, "refused": [], "skipped": [],
    })
}

/// Five active nodes (one shared by three stakers, one by an operator that runs two), one
/// exit-requested, one removed and one awaiting contributions.
fn hand_written() -> serde_json::Value {
    file_json(vec![
        file_node(1, "active", 500, &[(0xa1, REQUIREMENT)]),
        file_node(
            2,
            "active",
            0,
            &[(0xa2, 12_500 * SESH), (0xb1, 10_000 * SESH), (0xb2, 2_500 * SESH)],
        ),
        file_node(3, "active", 1_000, &[(0xa1, REQUIREMENT)]),
        file_node(4, "exit_requested", 300, &[(0xa3, REQUIREMENT)]),
        file_node(5, "active", 200, &[(0xa4, 6_250 * SESH), (0xb1, 18_750 * SESH)]),
        file_node(6, "active", 500, &[(0xa5, REQUIREMENT)]),
        file_node(7, "removed", 500, &[(0xa6, REQUIREMENT)]),
        file_node(8, "awaiting_contributions", 500, &[(0xa7, 7_000 * SESH)]),
    ])
}

fn parse(v: &serde_json::Value) -> Result<LedgerFile, LedgerFileError> {
    let p = sesh_staking::Params::session_mainnet();
    LedgerFile::parse(&v.to_string(), p.max_contributors, p.max_fee_bp)
}

fn from_ledger(v: &serde_json::Value, seed: u64, days: u32) -> Sim {
    let sc = Scenario { seed, days, operators: 20, contributor_pool: 40, ..small(seed) };
    Sim::from_ledger(sc, &parse(v).unwrap(), "ledger.json").unwrap()
}

/// The simulation's nodes as the file has them: (BLS key, operator, fee, stakers, total),
/// sorted, and the file's nodes that should be there (active and exit-requested).
type Staked = (String, String, u16, Vec<(String, String, u64)>, u64);

fn sim_nodes(sim: &Sim) -> Vec<Staked> {
    let account = |a: &sesh_staking::Address| format!("0x{}", hex::encode(a.evm().unwrap()));
    let mut v: Vec<Staked> = sim
        .ledger()
        .nodes()
        .map(|n| {
            let stakers = n
                .contributors()
                .iter()
                .map(|c| (account(&c.address), account(&c.beneficiary), c.amount))
                .collect();
            (
                format!("0x{}", n.bls_key()),
                account(&n.operator()),
                n.fee_bp(),
                stakers,
                n.total_contributed(),
            )
        })
        .collect();
    v.sort();
    v
}

fn file_nodes(v: &serde_json::Value) -> Vec<Staked> {
    let mut out: Vec<Staked> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["state"] == "active" || n["state"] == "exit_requested")
        .map(|n| {
            let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
            let stakers = n["contributors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (s(&c["address"]), s(&c["beneficiary"]), s(&c["stake"]).parse().unwrap()))
                .collect();
            (
                s(&n["bls_key"]),
                s(&n["operator"]),
                n["fee_bp"].as_u64().unwrap() as u16,
                stakers,
                s(&n["stake"]).parse().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_ledger_file_is_the_starting_network() {
    let file = hand_written();
    let sim = from_ledger(&file, 3, 1);
    // Block 0: exactly the file's active and exit-requested nodes, with their stakes.
    assert_eq!(sim_nodes(&sim), file_nodes(&file));
    assert_eq!(sim.ledger().nodes().count(), 6);
    assert_eq!(sim.ledger().params().staking_requirement, REQUIREMENT);
    let leaving = sim.ledger().nodes().find(|n| n.bls_key().as_bytes() == &[4; 64]).unwrap();
    assert_eq!(leaving.status(), NodeStatus::ExitRequested);
    assert_eq!(sim.ledger().nodes().filter(|n| n.status() == NodeStatus::Active).count(), 5);
    assert_eq!(sim.map().node_count(), 6, "every starting node is in a swarm");
    let origin = sim.origin().unwrap();
    assert_eq!((origin.in_file, origin.started, origin.exit_requested), (8, 6, 1));
    assert_eq!(origin.state_hash, "ab".repeat(32));
    assert_eq!(origin.skipped.get("removed"), Some(&1));
    assert_eq!(origin.skipped.get("awaiting_contributions"), Some(&1));
    // The operator of two nodes is one operator.
    let per_operator = sim.nodes_per_operator();
    assert!(per_operator.values().any(|n| *n == 2), "{per_operator:?}");
}

#[test]
fn a_run_from_a_ledger_file_churns_pays_and_is_deterministic() {
    let file = hand_written();
    let (a, b, c) = (scratch("ledger-a"), scratch("ledger-b"), scratch("ledger-c"));
    let run = |seed: u64, dir: &std::path::Path| {
        let mut sim = from_ledger(&file, seed, 3);
        sim.run(|_| {}).unwrap();
        simulate::output::write(&sim, dir, 0.0, false).unwrap();
        sim
    };
    let first = run(5, &a);
    run(5, &b);
    run(6, &c);
    // The scenario's days ran from the file's network: joins, exits, outages, rewards.
    assert!(first.totals.joined > 6 && first.totals.exits > 0, "{:?}", first.totals);
    assert!(first.reward_totals().conserved());
    let credited = first.credits();
    assert!(credited.iter().any(|(_, c)| *c > 0));
    let mapping = std::fs::read_to_string(a.join("ledger_nodes.csv")).unwrap();
    assert_eq!(mapping.lines().count(), 7, "{mapping}");
    assert!(
        mapping.lines().nth(1).unwrap().starts_with(&hex::encode([1u8; 32]))
            && mapping.contains(&evm(0xa1)),
        "{mapping}"
    );
    let summary = std::fs::read_to_string(a.join("summary.txt")).unwrap();
    assert!(
        summary.contains(&format!(
            "starting network: ledger ledger.json (state hash {}, height 400): 6 of its 8 nodes (1 exit-requested), skipped 1 awaiting_contributions, 1 removed; staking requirement {REQUIREMENT} (the ledger's)",
            "ab".repeat(32)
        )),
        "{summary}"
    );
    for entry in std::fs::read_dir(&a).unwrap() {
        let name = entry.unwrap().file_name();
        let x = std::fs::read(a.join(&name)).unwrap();
        assert_eq!(x, std::fs::read(b.join(&name)).unwrap(), "{name:?} differs for one seed");
    }
    let differs = std::fs::read_dir(&a).unwrap().any(|e| {
        let name = e.unwrap().file_name();
        std::fs::read(a.join(&name)).ok() != std::fs::read(c.join(&name)).ok()
    });
    assert!(differs, "another seed gave the same outputs");
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn malformed_and_rule_breaking_ledger_files_are_refused_with_the_node_and_the_field() {
    let refused = |v: serde_json::Value| parse(&v).unwrap_err().to_string();
    assert!(refused(serde_json::json!("x")).contains("not a JSON object"));
    let p = sesh_staking::Params::session_mainnet();
    let e = LedgerFile::parse("{\"nodes\": [", p.max_contributors, p.max_fee_bp).unwrap_err();
    assert!(matches!(e, LedgerFileError::Json(_)), "{e}");

    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = hand_written();
        edit(&mut v);
        refused(v)
    };
    let e = with(&|v| v["nodes"][1]["stake"] = serde_json::json!(25_000_000_000_000u64));
    assert!(
        e.contains("node 1 (") && e.contains("\"stake\"") && e.contains("not a decimal string"),
        "{e}"
    );
    let e = with(&|v| v["nodes"][2]["contributors"][0]["stake"] = "-5".into());
    assert!(e.contains("node 2 (") && e.contains("contributors[0].stake"), "{e}");
    let e = with(&|v| v["nodes"][0]["bls_key"] = "0x1234".into());
    assert!(e.contains("node 0 (") && e.contains("bls_key") && e.contains("not 64"), "{e}");
    let e = with(&|v| v["nodes"][3]["operator"] = "0xnothex".into());
    assert!(e.contains("node 3 (") && e.contains("operator"), "{e}");
    let e = with(&|v| v["nodes"][0]["state"] = "sleeping".into());
    assert!(e.contains("\"sleeping\" is not a state"), "{e}");
    let e = with(&|v| v["nodes"][0]["fee_bp"] = serde_json::json!(1e9));
    assert!(e.contains("fee_bp"), "{e}");
    let e = with(&|v| {
        v["state_hash"] = serde_json::Value::Null;
    });
    assert!(e.contains("state_hash"), "{e}");
    let e = with(&|v| v["nodes"] = serde_json::json!({"a": 1}));
    assert!(e.contains("\"nodes\": missing or not a list"), "{e}");
    let e = with(&|v| v["nodes"][4] = serde_json::json!([1, 2]));
    assert!(e.contains("node 4 (?)") && e.contains("not a JSON object"), "{e}");

    // Stakes that do not fit the rules: which node, and why.
    let pubkey = hex::encode([2u8; 32]);
    let e = with(&|v| v["nodes"][1]["contributors"][2]["stake"] = "1".into());
    assert_eq!(
        e,
        format!(
            "node 1 ({pubkey}): stakes do not fit the rules: the contributors' stakes sum to {}, the node's stake is {REQUIREMENT}",
            22_500 * SESH + 1
        )
    );
    let e = with(&|v| {
        v["nodes"][4] = file_node(5, "active", 200, &[(0xa4, 1_000 * SESH), (0xb1, 24_000 * SESH)]);
    });
    assert!(e.contains("node 4 (") && e.contains("below the minimum of a quarter"), "{e}");
    let e = with(&|v| v["nodes"][0]["fee_bp"] = 20_000.into());
    assert!(e.contains("node 0 (") && e.contains("fee 20000 bp"), "{e}");
    let e = with(&|v| {
        v["nodes"][5] = file_node(6, "active", 0, &[(0xa5, 10 * SESH), (0xa5, 24_990 * SESH)])
    });
    assert!(e.contains("node 5 (") && e.contains("listed twice"), "{e}");
    let e = with(&|v| {
        let list: Vec<(u8, u64)> = (0..11)
            .map(|i| (0xd0 + i, if i == 0 { 15_000 * SESH } else { SESH * 1_000 }))
            .collect();
        v["nodes"][5] = file_node(6, "active", 0, &list);
    });
    assert!(e.contains("node 5 (") && e.contains("11 contributors, at most 10"), "{e}");
    // A node registered at another requirement keeps it, but its stake must be that.
    let e = with(&|v| v["nodes"][0]["staking_requirement"] = "20000000000000".into());
    assert!(e.contains("node 0 (") && e.contains("not its staking requirement"), "{e}");

    // The ledger's own rules, at registration: the same BLS key twice.
    let mut v = hand_written();
    v["nodes"][2]["bls_key"] = v["nodes"][0]["bls_key"].clone();
    let sc = Scenario { days: 1, ..small(1) };
    let e = Sim::from_ledger(sc.clone(), &parse(&v).unwrap(), "x.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "node 2 ({}): the ledger's rules refuse it: its BLS key is node 0's too",
            hex::encode([3u8; 32])
        )
    );
    // An active node at another requirement than the file's is registered under its own
    // (as the contract registered it then); one the ledger refuses says the ledger's reason.
    let mut v = hand_written();
    v["nodes"][0] = file_node(1, "active", 500, &[(0xa1, 100 * SESH)]);
    v["nodes"][0]["staking_requirement"] = (100 * SESH).to_string().into();
    let sim = Sim::from_ledger(sc.clone(), &parse(&v).unwrap(), "x.json").unwrap();
    assert_eq!(sim_nodes(&sim), file_nodes(&v));
    assert_eq!(sim.ledger().params().staking_requirement, REQUIREMENT);
    // Rules looser than the ledger's when reading: the ledger refuses at registration.
    let list: Vec<(u8, u64)> =
        (0..11).map(|i| (0xd0 + i, if i == 0 { 15_000 * SESH } else { 1_000 * SESH })).collect();
    v["nodes"][1] = file_node(2, "active", 0, &list);
    let loose = LedgerFile::parse(&v.to_string(), 20, 10_000).unwrap();
    let e = Sim::from_ledger(sc.clone(), &loose, "x.json").unwrap_err();
    assert!(matches!(e, LedgerFileError::Refused { index: 1, .. }), "{e}");
    assert!(e.to_string().contains("node 1 (") && e.to_string().contains("11"), "{e}");
    // Nothing to start from.
    let v = file_json(vec![file_node(7, "removed", 500, &[(0xa6, REQUIREMENT)])]);
    let e = Sim::from_ledger(sc, &parse(&v).unwrap(), "x.json").unwrap_err();
    assert_eq!(e, LedgerFileError::Empty);
}

/// Garbage of every shape never panics the parser.
#[test]
fn hostile_ledger_files_never_panic() {
    let p = sesh_staking::Params::session_mainnet();
    let base = hand_written().to_string();
    let mut rng = 0x1234_5678_u64;
    for i in 0..2_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut bytes = base.clone().into_bytes();
        let at = (rng as usize) % bytes.len();
        match i % 3 {
            0 => bytes[at] = (rng >> 32) as u8,
            1 => bytes.truncate(at),
            _ => {
                bytes.splice(at..at, b"{\"x\":[null,-1,1e999,\"\"]}".iter().copied());
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let _ = LedgerFile::parse(&text, p.max_contributors, p.max_fee_bp);
    }
}

// ---- the ledger example's output on a real chain, fed to the simulate example ----

mod chain {
    use alloy::primitives::{Address, U256};
    use alloy::providers::{DynProvider, Provider as _};
    use sesh_examples::chain_tools::{Anvil, CHAIN_ID, ChainTools, target_dir};
    use sesh_examples::contracts::{
        self, Deployment, NodeRegistration, SESH, ServiceNodeRewards as R, Settings, contributor,
    };
    use sesh_identity::{Identity, NodeId, Seed};
    use sesh_staking::BlsKey;

    pub struct Chain {
        pub anvil: Anvil,
        pub accounts: Vec<(Address, DynProvider)>,
        pub deployment: Deployment,
    }

    fn identity(n: u8) -> Identity {
        Identity::from_seed(&Seed::from_bytes([n; 32]))
    }

    /// Node `n`'s BLS secret key.
    fn bls_secret(n: u8) -> sesh_bls::SecretKey {
        sesh_bls::SecretKey::from_seed(&[n, 7])
    }

    fn bls_key(n: u8) -> (BlsKey, R::G1Point) {
        let bytes = bls_secret(n).public_key().to_bytes();
        (BlsKey::from_bytes(bytes), contracts::g1_point(&bytes))
    }

    impl Chain {
        pub async fn start() -> Self {
            let tools =
                ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
            let anvil = Anvil::spawn(&tools, CHAIN_ID, &[]).unwrap_or_else(|e| panic!("{e}"));
            let accounts: Vec<(Address, DynProvider)> = (0..4)
                .map(|i| {
                    let signer = anvil.dev_signer(i).unwrap();
                    (signer.address(), anvil.provider(signer).unwrap())
                })
                .collect();
            let settings = Settings::session_mainnet(accounts[0].0);
            let deployment = contracts::deploy(&accounts[0].1, &settings)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            Self { anvil, accounts, deployment }
        }

        /// Registers node `n` (fee `fee` bp) with `stakes` (account, its beneficiary, whole
        /// SESH), account 0 paying; its contract id.
        pub async fn register(&self, n: u8, fee: u16, stakes: &[(usize, usize, u64)]) -> u64 {
            let id = NodeId::from_identity(&identity(n));
            let (bls, point) = bls_key(n);
            let signature =
                identity(n).sign(&sesh_chain::abi::node_signature_message(&id, &bls)).to_bytes();
            // The BLS key's proof of possession for the operator (the first stake's account).
            let domain = sesh_bls::Domain {
                chain_id: CHAIN_ID,
                contract: self.deployment.rewards.into_array(),
            };
            let operator = self.accounts[stakes.first().expect("the operator's stake").0].0;
            let pop =
                bls_secret(n).proof_of_possession(&domain, operator.into_array(), &id.to_bytes());
            let registration = NodeRegistration {
                bls_pubkey: point,
                bls_signature: contracts::signature_params(&pop.to_words()),
                params: R::ServiceNodeParams {
                    serviceNodePubkey: U256::from_be_bytes(id.to_bytes()),
                    serviceNodeSignature1: U256::from_be_slice(&signature[..32]),
                    serviceNodeSignature2: U256::from_be_slice(&signature[32..]),
                    fee,
                },
                contributors: stakes
                    .iter()
                    .map(|&(who, to, sesh)| {
                        contributor(
                            self.accounts[who].0,
                            self.accounts[to].0,
                            U256::from(sesh * SESH),
                        )
                    })
                    .collect(),
            };
            let sender = self.anvil.provider(self.anvil.dev_signer(0).unwrap()).unwrap();
            let (id, _) = contracts::register(&sender, &self.deployment, &registration)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            id
        }

        pub async fn exit(&self, id: u64) {
            let sender = self.anvil.provider(self.anvil.dev_signer(0).unwrap()).unwrap();
            contracts::initiate_exit(&sender, &self.deployment, id).await.unwrap();
        }

        pub async fn mine(&self, blocks: u64) {
            let _: serde_json::Value = self.accounts[0]
                .1
                .raw_request("anvil_mine".into(), (format!("0x{blocks:x}"),))
                .await
                .unwrap();
        }

        pub fn contract(&self) -> String {
            sesh_chain::EvmAddress(self.deployment.rewards.0.0).to_string()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_examples_json_on_a_real_chain_starts_the_simulate_example() {
    let chain = chain::Chain::start().await;
    chain.register(1, 500, &[(0, 0, 25_000)]).await;
    chain.register(2, 700, &[(0, 0, 12_500), (1, 2, 10_000), (3, 3, 2_500)]).await;
    let leaving = chain.register(3, 0, &[(0, 1, 25_000)]).await;
    chain.exit(leaving).await;
    chain.mine(4).await;

    let dir = scratch("from-chain");
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(common::example_binary("ledger"))
        .args(["--rpc", &chain.anvil.url(), "--contract", &chain.contract()])
        .args(["--start-block", &chain.deployment.block.to_string()])
        .args(["--confirmations", "2", "--json"])
        .env("SESH_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "ledger: {}", String::from_utf8_lossy(&out.stderr));
    let path = dir.join("ledger.json");
    std::fs::write(&path, &out.stdout).unwrap();
    let file: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(file["nodes"].as_array().unwrap().len(), 3, "{file:#}");

    // In process: the first block's network is exactly the ledger's three nodes and stakes.
    let sim = from_ledger(&file, 9, 1);
    assert_eq!(sim_nodes(&sim), file_nodes(&file));
    assert_eq!(sim.ledger().nodes().count(), 3);
    assert_eq!(sim.origin().unwrap().exit_requested, 1);
    // Every credit goes to an account the outputs list (beneficiaries, not stakers).
    let mut sim = sim;
    sim.run(|_| {}).unwrap();
    let listed: u128 = sim.credits().iter().map(|(_, c)| c).sum();
    assert!(sim.reward_totals().credited > 0);
    assert_eq!(listed, sim.reward_totals().credited);

    // The simulate example, twice: the same outputs, and the summary names the file.
    let run = |name: &str| {
        let out_dir = dir.join(name);
        let out = std::process::Command::new(common::example_binary("simulate"))
            .arg("--ledger")
            .arg(&path)
            .args(["--days", "1", "--seed", "4", "--no-charts", "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "simulate: {}", String::from_utf8_lossy(&out.stderr));
        out_dir
    };
    let (a, b) = (run("a"), run("b"));
    let summary = std::fs::read_to_string(a.join("summary.txt")).unwrap();
    let line = format!(
        "starting network: ledger {} (state hash {}, height {}): 3 of its 3 nodes (1 exit-requested), skipped none; staking requirement 25000000000000 (the ledger's)",
        path.display(),
        file["state_hash"].as_str().unwrap(),
        file["height"]
    );
    assert!(summary.contains(&line), "{summary}");
    for entry in std::fs::read_dir(&a).unwrap() {
        let name = entry.unwrap().file_name();
        // Every output but the run's speed, which the summary reports.
        let read = |dir: &std::path::Path| {
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            text.lines().filter(|l| !l.starts_with("speed:")).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(read(&a), read(&b), "{name:?} differs between two runs of one file and seed");
    }

    // A malformed file: refused, saying which node and field.
    let mut bad = file.clone();
    bad["nodes"][1]["contributors"][0]["stake"] = "12.5".into();
    std::fs::write(&path, bad.to_string()).unwrap();
    let out = std::process::Command::new(common::example_binary("simulate"))
        .arg("--ledger")
        .arg(&path)
        .args(["--days", "1", "--no-charts", "--out"])
        .arg(dir.join("c"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("node 1 (")
            && stderr.contains("contributors[0].stake")
            && stderr.contains("\"12.5\""),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
