//! sesh-rewards: a simulated year of blocks (262,800) with the `Exact` and `Accumulator` engines
//! side by side, fed by a staking ledger of payable nodes with 1 to 10 contributors each, with a
//! stake change every 1,000 blocks (a node leaves, a new one registers). And the cost per block
//! at 200, 2,000 and 20,000 nodes.
//!
//! The raw baseline is the ledger itself: advancing it one block with no engine, the floor any
//! engine fed by the ledger pays. `Exact` at 2,000 nodes takes tens of seconds a year, so its
//! year is measured on 1 % of the blocks and printed scaled up (marked as such).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group};
use sesh_identity::{Identity, Seed};
use sesh_rewards::engine::{Accumulator, Exact, RewardEngine};
use sesh_rewards::pool::BlockRewards;
use sesh_staking::journal::{Journal, record_bytes};
use sesh_staking::tx::{ByContributor, Contribute, Register, SignedTx, Tx, VerifiedTx};
use sesh_staking::{Address, BlsKey, Ledger, NodeId, Params};

const YEAR: u64 = 262_800;
const CHANGE_EVERY: u64 = 1_000;
const PER_BLOCK: &str = "rewards_per_block";
const ENGINE: &str = "rewards_engine_per_block";
const YEAR_GROUP: &str = "rewards_year_2000_nodes";

fn identity(n: u32) -> Identity {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    Identity::from_seed(&Seed::from_bytes(seed))
}

/// Node `n`'s registration and contributions (1 to 10 contributors, by `n`).
fn node_txs(params: &Params, n: u32) -> Vec<SignedTx> {
    let req = params.staking_requirement;
    let contributors = (n % 10) as usize + 1;
    let operator = identity(n * 16);
    let node = identity(n * 16 + 15);
    let (op, id) = (Address::from_identity(&operator), NodeId::from_identity(&node));
    let mut bls = [0x11u8; 64];
    bls[..4].copy_from_slice(&n.to_be_bytes());
    let bls = BlsKey::from_bytes(bls);
    let stake = if contributors == 1 { req } else { req.div_ceil(4) };
    let mut txs = vec![
        Tx::Register(Register {
            operator: op,
            nonce: 0,
            node: id,
            bls_key: bls,
            fee_bp: (n % 20 * 50) as u16,
            stake,
            beneficiary: op,
            reservations: vec![],
            node_signature: node.sign(&Register::node_message(&id, &bls, &op, params)).to_bytes(),
        })
        .sign(&operator, params)
        .unwrap(),
    ];
    let mut remaining = req - stake;
    for j in 1..contributors {
        let amount =
            if j + 1 == contributors { remaining } else { remaining.div_ceil((10 - j) as u64) };
        let who = identity(n * 16 + j as u32);
        let a = Address::from_identity(&who);
        txs.push(
            Tx::Contribute(Contribute {
                contributor: a,
                nonce: 0,
                node: id,
                amount,
                beneficiary: a,
            })
            .sign(&who, params)
            .unwrap(),
        );
        remaining -= amount;
    }
    txs
}

fn exit_tx(params: &Params, n: u32) -> SignedTx {
    let operator = identity(n * 16);
    let a = Address::from_identity(&operator);
    Tx::RequestExit(ByContributor {
        contributor: a,
        nonce: 1,
        node: NodeId::from_identity(&identity(n * 16 + 15)),
    })
    .sign(&operator, params)
    .unwrap()
}

/// A ledger of `nodes` payable nodes, and the verified stake changes of a year: every 1,000
/// blocks node `k` asks to exit and a new node registers.
fn network(nodes: u32) -> (Ledger, BTreeMap<u64, Vec<VerifiedTx>>) {
    let params = Params::testnet(100_000_000_000);
    let mut log = Vec::new();
    for n in 0..nodes {
        for tx in node_txs(&params, n) {
            log.extend_from_slice(&record_bytes(&tx));
        }
    }
    for h in 1..=params.payable_after_blocks {
        log.extend_from_slice(&record_bytes(&Tx::AdvanceHeight(h).unsigned()));
    }
    let ledger = Journal::open(params.clone(), None, &log).unwrap().journal.ledger().clone();
    let mut changes = BTreeMap::new();
    for (k, at) in (0..YEAR / CHANGE_EVERY).map(|k| (k as u32, k * CHANGE_EVERY + 500)) {
        let mut txs = vec![exit_tx(&params, k % nodes).verify(&params).unwrap()];
        txs.extend(node_txs(&params, nodes + k).iter().map(|t| t.verify(&params).unwrap()));
        changes.insert(at, txs);
    }
    (ledger, changes)
}

/// Runs `blocks` blocks from `start`: the block's stake changes, the height advance, the engine.
fn run(
    ledger: &mut Ledger,
    changes: &BTreeMap<u64, Vec<VerifiedTx>>,
    engine: Option<&mut dyn RewardEngine>,
    start: u64,
    blocks: u64,
) {
    let mut rewards = BlockRewards::new();
    let mut engine = engine;
    for b in start..start + blocks {
        let mut events = Vec::new();
        if let Some(txs) = changes.get(&b) {
            for tx in txs {
                events.extend(ledger.apply(tx).unwrap());
            }
        }
        let next = ledger.height() + 1;
        events.extend(
            ledger
                .apply(&Tx::AdvanceHeight(next).unsigned().verify(ledger.params()).unwrap())
                .unwrap(),
        );
        let reward = rewards.next_block(22_983_257_229 + b % 977).unwrap().reward;
        if let Some(engine) = engine.as_deref_mut() {
            engine.block(ledger, &events, reward).unwrap();
        }
    }
    black_box(ledger.height());
}

/// The engines alone on a fixed ledger whose nodes are all payable: the cost of one block's
/// reward, with no ledger work and no events.
fn engine_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group(ENGINE);
    group.sample_size(10);
    for nodes in [200u32, 2_000, 20_000] {
        let (ledger, _) = network(nodes);
        let joined: Vec<sesh_staking::Event> =
            ledger.nodes().map(|n| sesh_staking::Event::BecamePayable { node: n.id() }).collect();
        let mut accumulator = Accumulator::new();
        accumulator.block(&ledger, &joined, 22_983_257_229).unwrap();
        assert_eq!(accumulator.payable_count(), nodes as usize);
        group.bench_with_input(BenchmarkId::new("accumulator", nodes), &nodes, |b, _| {
            b.iter(|| {
                for _ in 0..1_000 {
                    accumulator.block(black_box(&ledger), &[], 22_983_257_229).unwrap();
                }
            });
        });
        let mut exact = Exact::new();
        group.bench_with_input(BenchmarkId::new("exact", nodes), &nodes, |b, _| {
            b.iter(|| exact.block(black_box(&ledger), &[], 22_983_257_229).unwrap());
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    engine_benches(c);
    let mut group = c.benchmark_group(PER_BLOCK);
    group.sample_size(10);
    for nodes in [200u32, 2_000, 20_000] {
        let (ledger, changes) = network(nodes);
        let blocks = 2_000u64;
        group.bench_with_input(BenchmarkId::new("accumulator", nodes), &nodes, |b, _| {
            b.iter_batched(
                || ledger.clone(),
                |mut l| run(&mut l, &changes, Some(&mut Accumulator::new()), 0, blocks),
                BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("raw_ledger", nodes), &nodes, |b, _| {
            b.iter_batched(
                || ledger.clone(),
                |mut l| run(&mut l, &changes, None, 0, blocks),
                BatchSize::LargeInput,
            );
        });
        let exact_blocks = if nodes > 2_000 { 20 } else { 200 };
        group.bench_with_input(BenchmarkId::new("exact", nodes), &nodes, |b, _| {
            b.iter_batched(
                || ledger.clone(),
                |mut l| run(&mut l, &changes, Some(&mut Exact::new()), 0, exact_blocks),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();

    let (ledger, changes) = network(2_000);
    let mut group = c.benchmark_group(YEAR_GROUP);
    group.sample_size(10);
    group.bench_function("accumulator_year", |b| {
        b.iter_batched(
            || ledger.clone(),
            |mut l| run(&mut l, &changes, Some(&mut Accumulator::new()), 0, YEAR),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("exact_1_percent_of_year", |b| {
        b.iter_batched(
            || ledger.clone(),
            |mut l| run(&mut l, &changes, Some(&mut Exact::new()), 0, YEAR / 100),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    for nodes in [200u32, 2_000, 20_000] {
        let acc =
            sesh_benches::mean_ns(ENGINE, &format!("accumulator/{nodes}")).map(|t| t / 1_000.0);
        let exact = sesh_benches::mean_ns(ENGINE, &format!("exact/{nodes}"));
        if let (Some(acc), Some(exact)) = (acc, exact) {
            println!(
                "engine alone, one block at {nodes:>6} payable nodes: accumulator {acc:.1} ns, exact {:.1} µs ({:.0} x)",
                exact / 1e3,
                exact / acc
            );
        }
    }
    let per_block = |f: &str, nodes: u32, blocks: f64| {
        sesh_benches::mean_ns(PER_BLOCK, &format!("{f}/{nodes}")).map(|t| t / blocks)
    };
    for nodes in [200u32, 2_000, 20_000] {
        let exact_blocks = if nodes > 2_000 { 20.0 } else { 200.0 };
        if let (Some(acc), Some(raw), Some(exact)) = (
            per_block("accumulator", nodes, 2_000.0),
            per_block("raw_ledger", nodes, 2_000.0),
            per_block("exact", nodes, exact_blocks),
        ) {
            println!(
                "per block at {nodes:>6} nodes: accumulator {:.0} ns ({:.0} ns over the raw ledger's {raw:.0} ns; {:.2} x raw), exact {:.1} µs: exact / accumulator = {:.0} x",
                acc,
                acc - raw,
                acc / raw,
                exact / 1e3,
                exact / acc
            );
        }
    }
    if let (Some(acc), Some(exact)) = (
        sesh_benches::mean_ns(YEAR_GROUP, "accumulator_year"),
        sesh_benches::mean_ns(YEAR_GROUP, "exact_1_percent_of_year"),
    ) {
        println!(
            "year at 2,000 nodes: accumulator {:.2} s measured; exact {:.1} s (1 % measured, x100); exact / accumulator = {:.0} x",
            acc / 1e9,
            exact * 100.0 / 1e9,
            exact * 100.0 / acc
        );
    }
}
