//! sesh-swarm: account → swarm lookup on a 2,000-swarm map, and one block's swarm assignment
//! (`calc_swarm_changes`, and `next` around it) at 2,000 and 20,000 nodes with a fixed churn of
//! 10 departures and 10 registrations.
//!
//! Baselines, from the primitives the operations are made of:
//! - lookup: a binary search (`partition_point`) over the sorted ids, on precomputed spaces;
//! - assignment: what placing the block's nodes costs at the least: for each newcomer, collect
//!   the swarm sizes, `sort_unstable` them and draw from `mt19937_64`.
//!
//! Also printed: lookups per second, assignment cost per node, and how the cost grows from 2,000
//! to 20,000 nodes against `n log n`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sesh_swarm::rng::{Mt19937_64, uniform};
use sesh_swarm::{
    NodeId, NodeState, SortOrder, SwarmId, SwarmMap, SwarmSpace, Swarms, calc_swarm_changes, next,
};

const LOOKUP: &str = "swarm_lookup_2000_swarms";
const CALC: &str = "swarm_calc_block";
const NEXT: &str = "swarm_next_block";
const LOOKUPS_PER_ITER: usize = 1024;
const CHURN: usize = 10;
const SIZES: [usize; 2] = [2_000, 20_000];

fn key(rng: &mut ChaCha20Rng) -> NodeId {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    NodeId::from_bytes(bytes)
}

fn lookup_bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let map = SwarmMap::from_assignments(
        (0..2_000).map(|_| (key(&mut rng), SwarmId::new(rng.next_u64() >> 1).unwrap())),
    )
    .unwrap();
    assert_eq!(map.swarm_count(), 2_000);
    let accounts: Vec<[u8; 33]> = (0..LOOKUPS_PER_ITER)
        .map(|_| {
            let mut id = [5u8; 33];
            rng.fill_bytes(&mut id[1..]);
            id
        })
        .collect();
    let spaces: Vec<u64> = accounts.iter().map(|a| SwarmSpace::of_account(a).get()).collect();
    let ids: Vec<u64> = map.ids().as_slice().iter().map(|id| id.get()).collect();

    let mut group = c.benchmark_group(LOOKUP);
    group.throughput(Throughput::Elements(LOOKUPS_PER_ITER as u64));
    group.bench_function("sesh", |b| {
        b.iter(|| {
            for account in black_box(&accounts) {
                black_box(map.swarm_for(SwarmSpace::of_account(account)));
            }
        });
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            for space in black_box(&spaces) {
                black_box(ids.partition_point(|id| id < space));
            }
        });
    });
    group.finish();
}

/// A network of `n` nodes grown the way the chain grows it (registrations in blocks), and the
/// input of the next block: 10 random departures and 10 registrations.
struct Network {
    map: SwarmMap,
    states: Vec<(NodeId, NodeState)>,
    input: Swarms,
}

fn network(n: usize) -> Network {
    let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
    let mut map = SwarmMap::new();
    let mut nodes: Vec<NodeId> = Vec::new();
    let mut block = 0u64;
    while nodes.len() < n {
        let joins = (n - nodes.len()).min(500);
        nodes.extend((0..joins).map(|_| key(&mut rng)));
        block += 1;
        map = next(&map, nodes.iter().map(|k| (*k, NodeState::Active)), block, SortOrder::Compat)
            .unwrap()
            .into_map();
    }
    let mut states: BTreeMap<NodeId, NodeState> =
        nodes.iter().map(|k| (*k, NodeState::Active)).collect();
    for _ in 0..CHURN {
        let leaving = nodes[(rng.next_u64() % n as u64) as usize];
        states.insert(leaving, NodeState::Removed);
        states.insert(key(&mut rng), NodeState::Active);
    }
    let mut input = Swarms::new();
    for (node, _) in states.iter().filter(|(_, s)| **s == NodeState::Active) {
        let swarm = map.swarm_of(node).unwrap_or(SwarmId::UNASSIGNED);
        input.entry(swarm).or_default().push(*node);
    }
    Network { map, states: states.into_iter().collect(), input }
}

/// The baseline: per newcomer, the sorted sizes and one draw.
fn raw_assign(input: &Swarms, rng: &mut Mt19937_64) -> usize {
    let newcomers = input.get(&SwarmId::UNASSIGNED).map_or(0, Vec::len);
    let mut picked = 0;
    for _ in 0..newcomers {
        let mut sizes: Vec<(usize, u64)> = input
            .iter()
            .filter(|(id, _)| !id.is_unassigned())
            .map(|(id, m)| (m.len(), id.get()))
            .collect();
        sizes.sort_unstable_by_key(|s| s.0);
        picked += sizes[uniform(rng, (sizes.len() / 4 + 1) as u64) as usize].0;
    }
    picked
}

fn calc_bench(c: &mut Criterion) {
    let networks: Vec<(usize, Network)> = SIZES.iter().map(|&n| (n, network(n))).collect();
    let mut group = c.benchmark_group(CALC);
    group.sample_size(30);
    for (n, net) in &networks {
        group.throughput(Throughput::Elements(*n as u64));
        group.bench_with_input(BenchmarkId::new("sesh", n), &net.input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |mut swarms| calc_swarm_changes(&mut swarms, 0xdead_beef, SortOrder::Compat),
                BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("canonical", n), &net.input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |mut swarms| calc_swarm_changes(&mut swarms, 0xdead_beef, SortOrder::Canonical),
                BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("raw", n), &net.input, |b, input| {
            b.iter(|| raw_assign(black_box(input), &mut Mt19937_64::new(0xdead_beef)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group(NEXT);
    group.sample_size(20);
    for (n, net) in &networks {
        group.throughput(Throughput::Elements(*n as u64));
        group.bench_with_input(BenchmarkId::new("sesh", n), net, |b, net| {
            b.iter(|| {
                next(&net.map, net.states.iter().copied(), 0xdead_beef, SortOrder::Compat).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, lookup_bench, calc_bench);

fn report() {
    sesh_benches::report_ratios(LOOKUP, &[("sesh", "raw")]);
    if let Some(t) = sesh_benches::mean_ns(LOOKUP, "sesh") {
        println!("lookups: {:.1} M/s on one core", LOOKUPS_PER_ITER as f64 / t * 1e3);
    }
    for n in SIZES {
        let at = |f: &str| format!("{f}/{n}");
        sesh_benches::report_ratios(
            CALC,
            &[(&at("sesh"), &at("raw")), (&at("canonical"), &at("raw"))],
        );
        for (group, f) in [(CALC, "sesh"), (CALC, "canonical"), (NEXT, "sesh")] {
            if let Some(t) = sesh_benches::mean_ns(group, &at(f)) {
                println!(
                    "per node: {group}/{f} at {n} nodes = {:.1} ns/node ({:.1} µs)",
                    t / n as f64,
                    t / 1e3
                );
            }
        }
    }
    let (small, large) = (SIZES[0] as f64, SIZES[1] as f64);
    let nlogn = (large * large.log2()) / (small * small.log2());
    for (group, f) in [(CALC, "sesh"), (CALC, "canonical"), (NEXT, "sesh")] {
        let t = |n: usize| sesh_benches::mean_ns(group, &format!("{f}/{n}"));
        if let (Some(a), Some(b)) = (t(SIZES[0]), t(SIZES[1])) {
            println!(
                "growth: {group}/{f} 2,000 → 20,000 nodes = {:.2} x (n log n: {nlogn:.2} x)",
                b / a
            );
        }
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report();
}
