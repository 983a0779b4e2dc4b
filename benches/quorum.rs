//! sesh-quorum: the quorum work of one block at 2,000 nodes (1,960 active, 40 decommissioned,
//! 100 of the active with an unlock requested), at a height where all three of oxend's
//! end-of-block quorums are defined: the obligations, checkpointing and blink quorums, and the
//! storage-test pair of every swarm (280 swarms, from `sesh_swarm::next`). The pulse quorum of
//! the next block (entropy and selection among 1,959 candidates) is measured beside it.
//!
//! Baselines, what the same work costs at the least from its primitives:
//! - `raw_other_quorums`: three `std::seed_seq`-seeded `mt19937_64` generators, and a
//!   Fisher-Yates of an index list as long as each quorum's;
//! - `raw_storage_tests`: one generator for the block, and per swarm two divisions;
//! - `raw` is the two together (what `sesh` does: quorums and storage tests);
//! - `raw_pulse`: 12 Keccak-256 hashes and 12 `seed_seq`-seeded generators with a draw each
//!   (without the candidates' sort, which is most of the rest).
//!
//! The vote tally of a block is measured beside it: `sesh_tally` counts the votes of the
//! obligations quorum's 10 validators on 2 failing workers (20 votes, each with its two Ed25519
//! signatures checked: the live vote hash's and the ledger's message) into a `VotePool`, until
//! both state changes are decided; its baseline `raw_tally` is the 40 Ed25519 verifications
//! alone (ed25519-dalek).
//!
//! Also printed, when those benches have run in this target directory (e.g.
//! `cargo bench --bench rewards -- 'rewards_per_block/(raw_ledger|accumulator)/2000$'` and
//! `cargo bench --bench swarm -- 'swarm_next_block/sesh/2000$'`): the per-block ledger and
//! reward work at 2,000 nodes and the swarm recomputation that the quorum work adds to.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::print_stdout)]

use std::hint::black_box;
use std::num::NonZeroU64;

use criterion::{Criterion, criterion_group};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sesh_quorum::rng::{Mt19937_64, cn_fast_hash, shuffle, uniform};
use sesh_quorum::{
    BlockHash, EntropyBlock, PulseCandidate, PulseEntropy, Reasons, ServiceNodes, StateChange,
    Subject, Vote, VotePool, other_quorums, pulse_quorum, storage_test_pairs,
};
use sesh_staking::oxen::HardFork;
use sesh_swarm::{NodeId, NodeState, SortOrder, SwarmMap, next};

const GROUP: &str = "quorum_block_2000_nodes";
const NODES: usize = 2_000;
const DECOMMISSIONED: usize = 40;
const UNLOCKING: usize = 100;
/// (h + 11) % 4 == 0 and h % 5 == 0: checkpointing and blink quorums are both defined.
const HEIGHT: u64 = 1_000_005;

struct Block {
    active: Vec<NodeId>,
    decommissioned: Vec<NodeId>,
    swarms: SwarmMap,
    hash: BlockHash,
    candidates: Vec<PulseCandidate>,
    entropy_blocks: [EntropyBlock; 12],
}

fn key(rng: &mut ChaCha20Rng) -> NodeId {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    NodeId::from_bytes(bytes)
}

fn block() -> Block {
    let mut rng = ChaCha20Rng::seed_from_u64(19);
    let mut nodes: Vec<NodeId> = (0..NODES).map(|_| key(&mut rng)).collect();
    nodes.sort_unstable();
    let mut decommissioned = Vec::new();
    let mut active = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if i % (NODES / DECOMMISSIONED) == 7 { &mut decommissioned } else { &mut active }
            .push(*node);
    }
    let swarms = next(
        &SwarmMap::new(),
        active.iter().map(|n| (*n, NodeState::Active)),
        rng.next_u64(),
        SortOrder::Compat,
    )
    .unwrap()
    .into_map();
    let mut hash = [0u8; 32];
    rng.fill_bytes(&mut hash);
    let candidates = active
        .iter()
        .enumerate()
        .map(|(i, node)| PulseCandidate {
            node: *node,
            last_height_validating: HEIGHT - 1 - (i as u64 * 7919 % 1_000) / 11,
            quorum_index: (i % 11) as u8,
        })
        .collect();
    let entropy_blocks = std::array::from_fn(|j| {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        if j % 4 == 3 {
            EntropyBlock::NonPulse { hash: BlockHash::from_bytes(bytes) }
        } else {
            EntropyBlock::Pulse { random_value: bytes[..16].try_into().unwrap() }
        }
    });
    Block {
        active,
        decommissioned,
        swarms,
        hash: BlockHash::from_bytes(hash),
        candidates,
        entropy_blocks,
    }
}

fn service_nodes(block: &Block) -> ServiceNodes {
    let mut nodes =
        ServiceNodes::new(block.active.iter().copied(), block.decommissioned.iter().copied())
            .unwrap();
    for node in block.active.iter().step_by(block.active.len() / UNLOCKING).take(UNLOCKING) {
        nodes.set_unlock_height(node, NonZeroU64::new(HEIGHT + 30).unwrap()).unwrap();
    }
    nodes
}

fn seed_words(hash: &[u8; 32], kind: u32) -> [u32; 9] {
    let mut words = [kind; 9];
    for (word, chunk) in words[1..].iter_mut().zip(hash.chunks_exact(4)) {
        *word = u32::from_le_bytes(chunk.try_into().unwrap());
    }
    words
}

/// The floor of the three end-of-block quorums: three `seed_seq`-seeded generators, and a
/// Fisher-Yates of an index list as long as each quorum's.
fn raw_other_quorums(block: &Block) -> u64 {
    let total = block.active.len() + block.decommissioned.len();
    let mut sum = 0;
    for (kind, len) in [(0, total), (1, block.active.len()), (2, block.active.len() - UNLOCKING)] {
        let mut order: Vec<usize> = (0..len).collect();
        shuffle(
            &mut order,
            &mut Mt19937_64::from_seed_seq(&seed_words(block.hash.as_bytes(), kind)),
        );
        sum += order[0] as u64;
    }
    sum
}

/// The floor of the storage tests: one generator for the block, and per swarm two draws.
fn raw_storage_tests(block: &Block) -> u64 {
    let mut rng = Mt19937_64::new(0x6531_3332_3631_3663);
    let (first, second) = (rng.next_u64(), rng.next_u64());
    let mut sum = 0;
    for (_, members) in block.swarms.iter() {
        let n = members.len() as u64;
        let per = (u64::MAX - u64::MAX % n) / n;
        sum += first / per + second / per;
    }
    sum
}

/// The floor of the pulse quorum: 12 Keccak-256 hashes, 12 `seed_seq`-seeded generators and a
/// draw from each (the candidates' sort excluded).
fn raw_pulse(block: &Block) -> u64 {
    let mut sum = 0;
    for entropy in &block.entropy_blocks {
        let mut input = [0u8; 33];
        if let EntropyBlock::NonPulse { hash } = entropy {
            input[1..].copy_from_slice(hash.as_bytes());
        }
        let hash = cn_fast_hash(&input);
        sum += uniform(&mut Mt19937_64::from_seed_seq(&seed_words(&hash, 3)), 979);
    }
    sum
}

fn benches(c: &mut Criterion) {
    let block = block();
    let nodes = service_nodes(&block);
    let quorums = other_quorums(HardFork::HF21, HEIGHT, &block.hash, &nodes);
    assert_eq!(quorums.obligations.workers.len(), 50);
    assert_eq!(quorums.checkpointing.as_ref().map(|q| q.validators.len()), Some(20));
    assert_eq!(quorums.blink.as_ref().map(|q| q.validators.len()), Some(10));
    println!(
        "block: {} active, {} decommissioned, {} swarms, {} storage tests",
        block.active.len(),
        block.decommissioned.len(),
        block.swarms.swarm_count(),
        storage_test_pairs(&block.swarms, &block.hash).count()
    );

    let mut group = c.benchmark_group(GROUP);
    group.sample_size(50);
    group.bench_function("sesh", |b| {
        b.iter(|| {
            let nodes = service_nodes(black_box(&block));
            let quorums = other_quorums(HardFork::HF21, HEIGHT, &block.hash, &nodes);
            let tests = storage_test_pairs(&block.swarms, &block.hash).count();
            (quorums, tests)
        });
    });
    group.bench_function("sesh_other_quorums", |b| {
        b.iter(|| other_quorums(HardFork::HF21, HEIGHT, black_box(&block.hash), &nodes));
    });
    group.bench_function("sesh_storage_tests", |b| {
        b.iter(|| storage_test_pairs(&block.swarms, black_box(&block.hash)).count());
    });
    group.bench_function("sesh_pulse", |b| {
        b.iter(|| {
            let entropy = PulseEntropy::from_blocks(black_box(&block.entropy_blocks), 0);
            pulse_quorum(HardFork::HF21, 0, &block.active[3], &block.candidates, &entropy).unwrap()
        });
    });
    group.bench_function("raw", |b| {
        b.iter(|| raw_other_quorums(black_box(&block)) + raw_storage_tests(black_box(&block)));
    });
    group.bench_function("raw_other_quorums", |b| b.iter(|| raw_other_quorums(black_box(&block))));
    group.bench_function("raw_storage_tests", |b| b.iter(|| raw_storage_tests(black_box(&block))));
    group.bench_function("raw_pulse", |b| b.iter(|| raw_pulse(black_box(&block))));

    // The vote tally: 10 validators (real keys) vote to decommission 2 of the 50 workers.
    let params = sesh_staking::Params::session_mainnet();
    let validators: Vec<sesh_identity::Identity> = (0..10u8)
        .map(|i| sesh_identity::Identity::from_seed(&sesh_identity::Seed::from_bytes([i + 1; 32])))
        .collect();
    let validator_ids: Vec<NodeId> = validators.iter().map(NodeId::from_identity).collect();
    let workers = &quorums.obligations.workers;
    let votes: Vec<Vote> = [3u32, 17]
        .iter()
        .flat_map(|&w| {
            let subject = Subject {
                height: HEIGHT,
                worker_index: w,
                worker: workers[w as usize],
                state: StateChange::Decommission,
            };
            let (validators, params) = (&validators, &params);
            (0..10u16).map(move |i| {
                Vote::sign(&validators[usize::from(i)], i, &subject, Reasons::UPTIME, params)
            })
        })
        .collect();
    group.bench_function("sesh_tally", |b| {
        b.iter(|| {
            let mut pool = VotePool::new();
            for vote in black_box(&votes) {
                let _ = pool.add(vote, &validator_ids, workers, HEIGHT + 1, &params);
            }
            assert_eq!(pool.decided().count(), 2);
            pool
        });
    });
    let raw: Vec<(ed25519_dalek::VerifyingKey, [u8; 32], ed25519_dalek::Signature)> = votes
        .iter()
        .flat_map(|v| {
            let key = ed25519_dalek::VerifyingKey::from_bytes(
                validator_ids[usize::from(v.validator_index)].as_bytes(),
            )
            .unwrap();
            let hash = v.hash();
            let signatures = [Some(v.signature), v.ledger_signature];
            signatures
                .into_iter()
                .flatten()
                .map(move |s| (key, hash, ed25519_dalek::Signature::from_bytes(&s)))
        })
        .collect();
    assert_eq!(raw.len(), 40);
    group.bench_function("raw_tally", |b| {
        b.iter(|| raw.iter().filter(|(k, m, s)| k.verify_strict(black_box(m), s).is_ok()).count());
    });
    group.finish();
}

criterion_group!(group, benches);

fn report() {
    sesh_benches::report_ratios(
        GROUP,
        &[
            ("sesh", "raw"),
            ("sesh_other_quorums", "raw_other_quorums"),
            ("sesh_storage_tests", "raw_storage_tests"),
            ("sesh_pulse", "raw_pulse"),
            ("sesh_tally", "raw_tally"),
        ],
    );
    let us =
        |group: &str, f: &str, per: f64| sesh_benches::mean_ns(group, f).map(|t| t / per / 1e3);
    let Some(quorum) = us(GROUP, "sesh", 1.0) else { return };
    let pulse = us(GROUP, "sesh_pulse", 1.0);
    println!(
        "per block at 2,000 nodes: quorums and storage tests {quorum:.1} µs{}",
        pulse.map(|p| format!(", pulse quorum of the next block {p:.1} µs")).unwrap_or_default()
    );
    if let Some(t) = us(GROUP, "sesh_tally", 1.0) {
        println!(
            "  vote tally: 20 votes (2 state changes decided) {t:.1} µs, {:.1} µs a vote",
            t / 20.0
        );
    }
    // The rewards bench advances 2,000 blocks per iteration.
    let beside = [
        (
            "ledger alone (rewards bench, raw_ledger)",
            us("rewards_per_block", "raw_ledger/2000", 2_000.0),
        ),
        (
            "ledger + reward accumulator (rewards bench)",
            us("rewards_per_block", "accumulator/2000", 2_000.0),
        ),
        (
            "swarm recomputation, sesh_swarm::next (swarm bench)",
            us("swarm_next_block", "sesh/2000", 1.0),
        ),
    ];
    for (what, t) in beside {
        match t {
            Some(t) => println!(
                "  beside: {what} {t:.3} µs per block (the quorum work is {:.1} x this)",
                quorum / t
            ),
            None => println!("  beside: {what}: not measured in this target directory"),
        }
    }
}

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    report();
}
