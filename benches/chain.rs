//! sesh-chain: 10,000 logs of the staking contract (5,050 `NewServiceNodeV2` registrations and
//! 4,950 `NetworkTransaction`s carrying quorum decisions, each with 7 signed votes) decoded,
//! followed and applied to a ledger.
//!
//! - `chain_decode_10000_logs`: `abi::decode` (strict: topic count, padding, validated words,
//!   mapped to `ContractEvent`) beside `raw`, alloy's own non-validating `decode_raw_log` of the
//!   same logs into its generated structs;
//! - `chain_follow_10000_logs`: a follower reading the logs off an in-memory chain (1,000
//!   blocks of 10 logs, heights of 10 blocks, ranges of 2,000 blocks, every height's seed):
//!   requests, answers, sorting, decoding, header checks, heights out; beside the same `raw`
//!   decode;
//! - `chain_ledger_10000_events`: the followed heights applied to a fresh ledger with
//!   `ledger::Applier::follow` (events mapped, node signatures and the decisions' votes
//!   verified, applied), beside `raw`, the ledger's own apply rate: the same transactions, mapped and
//!   verified beforehand, through `Ledger::apply`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation, clippy::print_stdout, clippy::panic)]

use std::hint::black_box;

use alloy_primitives::{U256, keccak256};
use alloy_sol_types::SolEvent;
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use sesh_chain::abi::{self, Decoded, RawLog, sol};
use sesh_chain::event::Contributor;
use sesh_chain::follow::{Answer, Config, Follower, Header, Height, Request, Seeds, Step};
use sesh_chain::ledger::Applier;
use sesh_chain::{ContractEvent, EvmAddress};
use sesh_identity::{Identity, Seed};
use sesh_staking::tx::{DecisionKind, QuorumDecision, Tx, VerifiedTx};
use sesh_staking::{BlsKey, Ledger, NodeId, Params};

const DECODE: &str = "chain_decode_10000_logs";
const FOLLOW: &str = "chain_follow_10000_logs";
const LEDGER: &str = "chain_ledger_10000_events";
const CONTRACT: EvmAddress = EvmAddress([0xc0; 20]);
const START: u64 = 1_000;
const BLOCKS: u64 = 1_000;
const PER_BLOCK: u64 = 10;
const N: u64 = 10;
const REQ: u64 = 25_000_000_000_000;
/// The signatures the 10,000 events carry: 5,050 registrations, 4,950 decisions of 7 votes.
const SIGNATURES: usize = 5_050 + 4_950 * 7;

fn identity(n: u32) -> Identity {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    seed[31] = 0x5e;
    Identity::from_seed(&Seed::from_bytes(seed))
}

fn bls(n: u32) -> BlsKey {
    let mut key = [0x42u8; 64];
    key[..4].copy_from_slice(&n.to_be_bytes());
    BlsKey::from_bytes(key)
}

fn evm(n: u32) -> EvmAddress {
    let mut a = [0x77u8; 20];
    a[..4].copy_from_slice(&n.to_be_bytes());
    EvmAddress(a)
}

/// Node `n`'s registration: a solo full stake, its signature by its key.
fn registration(n: u32) -> ContractEvent {
    let key = identity(n);
    let (node, bls_key) = (NodeId::from_identity(&key), bls(n));
    ContractEvent::NewServiceNode {
        id: u64::from(n) + 1,
        initiator: evm(n),
        bls_key,
        node,
        node_signature: key.sign(&abi::node_signature_message(&node, &bls_key)).to_bytes(),
        fee: 500,
        contributors: vec![Contributor {
            address: evm(n),
            beneficiary: evm(n + 1_000_000),
            amount: U256::from(REQ),
        }],
    }
}

/// A quorum's decision, voted at `height` by nodes 50..57, to decommission node `n`.
fn decommission(n: u32, height: u64, params: &Params) -> ContractEvent {
    let voters: Vec<Identity> = (50..57).map(identity).collect();
    let voters: Vec<&Identity> = voters.iter().collect();
    let node = NodeId::from_identity(&identity(n));
    let decision =
        QuorumDecision::signed(DecisionKind::Decommission, node, height, &voters, params);
    ContractEvent::NetworkTransaction {
        sender: evm(n),
        transaction: Tx::Decommission(decision).unsigned().to_bytes(),
    }
}

fn block_hash(n: u64) -> [u8; 32] {
    keccak256(n.to_be_bytes()).0
}

/// The chain: blocks `START+1 ..= START+BLOCKS`, 10 logs each, 100 in each height (10
/// blocks). Height 1 registers nodes 0..100; each later height registers 50 nodes and
/// decommissions the 50 registered in the height before (nodes 0..50 at height 2), by the votes
/// of nodes 50..57, which stay active.
fn chain(params: &Params) -> Vec<RawLog> {
    let mut logs = Vec::new();
    for h in 1..=BLOCKS / N {
        let events: Vec<ContractEvent> = if h == 1 {
            (0..100).map(registration).collect()
        } else {
            let first = 50 * h as u32;
            let before = if h == 2 { 0 } else { first - 50 };
            (first..first + 50)
                .map(registration)
                .chain((before..before + 50).map(|n| decommission(n, h, params)))
                .collect()
        };
        for (i, event) in events.iter().enumerate() {
            let block = START + (h - 1) * N + 1 + i as u64 / PER_BLOCK;
            let (topics, data) = abi::encode(event);
            logs.push(RawLog {
                address: CONTRACT,
                topics,
                data,
                block_number: block,
                block_hash: block_hash(block),
                log_index: i as u64 % PER_BLOCK,
                transaction_hash: [0; 32],
                removed: false,
            });
        }
    }
    logs
}

fn header(n: u64) -> Header {
    Header { number: n, hash: block_hash(n), parent_hash: block_hash(n - 1) }
}

/// Follows the chain from its start to its tip; the heights.
fn follow(logs: &[RawLog]) -> Vec<Height> {
    let tip = START + BLOCKS;
    let mut f = Follower::new(Config {
        contract: CONTRACT,
        start_block: START,
        confirmations: 0,
        blocks_per_height: N,
        max_log_range: 2_000,
        seeds: Seeds::EveryHeight,
    })
    .unwrap();
    let mut heights = Vec::new();
    loop {
        let answer = match f.poll().unwrap() {
            Request::Tip => Answer::Tip(tip),
            Request::Logs { from, to, .. } => {
                let first = ((from - START - 1) * PER_BLOCK) as usize;
                let last = (((to - START) * PER_BLOCK) as usize).min(logs.len());
                Answer::Logs { from, to, logs: logs[first..last].to_vec() }
            }
            Request::Headers(blocks) => Answer::Headers(blocks.into_iter().map(header).collect()),
        };
        match f.feed(answer) {
            Step::Heights(done) => heights.extend(done),
            Step::Wait => return heights,
            other => panic!("{other:?}"),
        }
    }
}

/// alloy's own decoding of the same logs, by first topic, without validation or mapping.
fn raw_decode(log: &RawLog) -> usize {
    let topics = log.topics.iter().map(|t| alloy_sol_types::Word::from(*t));
    match alloy_primitives::B256::from(log.topics[0]) {
        sol::NewServiceNodeV2::SIGNATURE_HASH => {
            sol::NewServiceNodeV2::decode_raw_log(topics, &log.data).unwrap().contributors.len()
        }
        sol::NetworkTransaction::SIGNATURE_HASH => {
            sol::NetworkTransaction::decode_raw_log(topics, &log.data).unwrap().transaction.len()
        }
        _ => unreachable!(),
    }
}

fn benches(c: &mut Criterion) {
    let params = Params::testnet(REQ);
    let logs = chain(&params);
    assert_eq!(logs.len(), 10_000);
    // Sanity: every log decodes, the follower hands out every height and event, and the ledger
    // takes every one of them.
    for log in &logs {
        assert!(matches!(abi::decode(log), Ok(Decoded::Event(_))));
    }
    let heights = follow(&logs);
    assert_eq!(heights.len(), (BLOCKS / N) as usize);
    assert_eq!(heights.iter().map(|h| h.events.len()).sum::<usize>(), 10_000);
    let mut ledger = Ledger::new(params.clone());
    let mut applier = Applier::new();
    for h in &heights {
        assert_eq!(applier.follow(&mut ledger, h.height, &h.events).unwrap(), vec![]);
    }
    assert_eq!(ledger.active_count(), 5_050 - 4_950);

    let mut group = c.benchmark_group(DECODE);
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.bench_function("sesh", |b| {
        b.iter(|| {
            for log in &logs {
                black_box(abi::decode(black_box(log)).unwrap());
            }
        });
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            for log in &logs {
                black_box(raw_decode(black_box(log)));
            }
        });
    });
    group.finish();

    let mut group = c.benchmark_group(FOLLOW);
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.bench_function("sesh", |b| b.iter(|| black_box(follow(black_box(&logs)))));
    group.bench_function("raw", |b| {
        b.iter(|| {
            for log in &logs {
                black_box(raw_decode(black_box(log)));
            }
        });
    });
    group.finish();

    // The ledger's own rate: the same transactions mapped and verified beforehand.
    let mut premapped: Vec<(u64, Vec<VerifiedTx>)> = Vec::new();
    let mut mapper = Applier::new();
    for h in &heights {
        let txs = h
            .events
            .iter()
            .map(|(at, e)| mapper.transaction(*at, e, &params).unwrap().unwrap())
            .collect();
        premapped.push((h.height, txs));
    }
    let fresh = Ledger::new(params.clone());
    let mut group = c.benchmark_group(LEDGER);
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(10);
    group.bench_function("sesh", |b| {
        b.iter_batched(
            || (fresh.clone(), Applier::new()),
            |(mut ledger, mut applier)| {
                for h in &heights {
                    black_box(applier.follow(&mut ledger, h.height, &h.events).unwrap());
                }
                ledger
            },
            BatchSize::LargeInput,
        );
    });
    // The Ed25519 verifications the events carry (a node signature per registration, 7 votes
    // per decision), one by one with the ledger's verifier, each key parsed as the ledger
    // parses it: what following costs beyond the ledger's own apply.
    let signer = identity(1);
    let message = abi::node_signature_message(&NodeId::from_identity(&signer), &bls(1));
    let signature = ed25519_zebra::Signature::from(signer.sign(&message).to_bytes());
    let public = signer.ed25519_public_key().to_bytes();
    let valid = ed25519_zebra::VerificationKey::try_from(public).unwrap();
    assert!(valid.verify(&signature, &message).is_ok(), "the baseline verifies a good signature");
    group.bench_function("signatures", |b| {
        b.iter(|| {
            for _ in 0..SIGNATURES {
                let key = ed25519_zebra::VerificationKey::try_from(black_box(public)).unwrap();
                black_box(key.verify(&signature, black_box(&message)).is_ok());
            }
        });
    });
    group.bench_function("raw", |b| {
        b.iter_batched(
            || fresh.clone(),
            |mut ledger| {
                for (height, txs) in &premapped {
                    ledger.apply_signed(&Tx::AdvanceHeight(*height).unsigned()).unwrap();
                    for tx in txs {
                        black_box(ledger.apply(tx).unwrap());
                    }
                }
                ledger
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    sesh_benches::report_ratios(DECODE, &[("sesh", "raw")]);
    sesh_benches::report_ratios(FOLLOW, &[("sesh", "raw")]);
    sesh_benches::report_ratios(LEDGER, &[("sesh", "raw"), ("sesh", "signatures")]);
    for (group, f, what) in [
        (DECODE, "sesh", "logs decoded"),
        (DECODE, "raw", "logs decoded by alloy alone"),
        (FOLLOW, "sesh", "logs followed (decoded, checked, in heights)"),
        (LEDGER, "sesh", "events mapped, verified and applied to the ledger"),
        (LEDGER, "raw", "transactions applied by the ledger alone"),
        (LEDGER, "signatures", "events' worth of Ed25519 verifications (3.97 per event)"),
    ] {
        if let Some(t) = sesh_benches::mean_ns(group, f) {
            println!("{group}/{f}: {:.0} {what}/s", 10_000.0 / t * 1e9);
        }
    }
}
