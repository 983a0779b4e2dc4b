//! sesh-staking: applying transactions (signatures checked beforehand), verifying signatures
//! one by one and in a batch, and a snapshot and reload of a 10,000-node ledger.
//!
//! Baselines, from the primitives the operations are made of:
//! - apply: per transaction, one `BTreeMap` lookup and one insert keyed by a 32-byte id (the
//!   ledger's node table);
//! - verification: ed25519-zebra's own single verification of the same messages;
//! - snapshot / reload: `postcard` encoding / decoding of the same ledger, plus its CRC-32.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use ed25519_zebra::{Signature, VerificationKey};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sesh_identity::{Identity, Seed};
use sesh_staking::journal::Journal;
use sesh_staking::tx::{Contribute, Register, SignedTx, Tx, UptimeProof, VerifiedTx, verify_batch};
use sesh_staking::{Address, BlsKey, Ledger, NodeId, Params};

const APPLY: &str = "staking_apply_1000_txs";
const VERIFY: &str = "staking_verify_1000_sigs";
const SNAPSHOT: &str = "staking_snapshot_10000_nodes";
const NODES: u32 = 10_000;

fn identity(n: u32) -> Identity {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    Identity::from_seed(&Seed::from_bytes(seed))
}

fn bls(n: u32) -> BlsKey {
    let mut key = [0x42u8; 64];
    key[..4].copy_from_slice(&n.to_be_bytes());
    BlsKey::from_bytes(key)
}

/// A registration of node `n` by operator `n` with `stake`.
fn register(params: &Params, n: u32, stake: u64) -> SignedTx {
    let (operator, node) = (identity(n), identity(10_000_000 + n));
    let (op, id, key) = (Address::from_identity(&operator), NodeId::from_identity(&node), bls(n));
    Tx::Register(Register {
        operator: op,
        nonce: 0,
        node: id,
        bls_key: key,
        fee_bp: 500,
        stake,
        beneficiary: op,
        reservations: vec![],
        node_signature: node.sign(&Register::node_message(&id, &key, &op, params)).to_bytes(),
    })
    .sign(&operator, params)
    .unwrap()
}

/// A ledger with `NODES` active solo nodes, its journal and log.
fn network(params: &Params) -> (Journal, Vec<u8>) {
    let mut journal = Journal::new(params.clone());
    let mut log = Vec::new();
    let txs: Vec<SignedTx> =
        (0..NODES).map(|n| register(params, n, params.staking_requirement)).collect();
    let verified = verify_batch(&txs, params, ChaCha20Rng::seed_from_u64(1));
    for (tx, v) in txs.iter().zip(verified) {
        let (_, record) = journal.apply_verified(tx, &v.unwrap()).unwrap();
        log.extend_from_slice(&record);
    }
    (journal, log)
}

/// 1,000 transactions for one block: 250 new nodes registered with a quarter, 500
/// contributions that fill them, 250 uptime proofs of running nodes.
fn workload(params: &Params) -> (Vec<SignedTx>, Vec<VerifiedTx>) {
    let quarter = params.staking_requirement / 4;
    let mut txs = Vec::new();
    for n in 0..250u32 {
        let node = NODES + n;
        txs.push(register(params, node, quarter));
        for (i, amount) in [(1u32, quarter), (2, params.staking_requirement - 2 * quarter)] {
            let contributor = identity(20_000_000 + node * 4 + i);
            let who = Address::from_identity(&contributor);
            let tx = Tx::Contribute(Contribute {
                contributor: who,
                nonce: 0,
                node: NodeId::from_identity(&identity(10_000_000 + node)),
                amount,
                beneficiary: who,
            });
            txs.push(tx.sign(&contributor, params).unwrap());
        }
        let proof = Tx::UptimeProof(UptimeProof {
            node: NodeId::from_identity(&identity(10_000_000 + n)),
            height: 0,
        });
        txs.push(proof.sign(&identity(10_000_000 + n), params).unwrap());
    }
    let verified = txs.iter().map(|t| t.verify(params).unwrap()).collect();
    (txs, verified)
}

fn apply_bench(c: &mut Criterion, ledger: &Ledger, params: &Params) {
    let (_, verified) = workload(params);
    assert_eq!(verified.len(), 1_000);
    // Sanity: the whole workload applies.
    let mut check = ledger.clone();
    for tx in &verified {
        check.apply(tx).unwrap();
    }
    assert_eq!(check.active_count(), NODES as usize + 250);

    let keys: Vec<[u8; 32]> = verified
        .iter()
        .map(|v| match v.tx() {
            Tx::Register(r) => *r.node.as_bytes(),
            Tx::Contribute(c) => *c.node.as_bytes(),
            Tx::UptimeProof(p) => *p.node.as_bytes(),
            _ => [0; 32],
        })
        .collect();
    let table: BTreeMap<[u8; 32], Vec<u64>> =
        ledger.nodes().map(|n| (*n.id().as_bytes(), vec![n.staking_requirement()])).collect();

    let mut group = c.benchmark_group(APPLY);
    group.throughput(Throughput::Elements(1_000));
    group.sample_size(30);
    group.bench_function("sesh", |b| {
        b.iter_batched(
            || ledger.clone(),
            |mut ledger| {
                for tx in &verified {
                    black_box(ledger.apply(tx).unwrap());
                }
                ledger
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("raw", |b| {
        b.iter_batched(
            || table.clone(),
            |mut table| {
                for key in &keys {
                    let value = table.get(key).cloned().unwrap_or_default();
                    table.insert(*key, value);
                }
                table
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn verify_bench(c: &mut Criterion, params: &Params) {
    let (txs, _) = workload(params);
    // 1,000 signatures: the issuers' signatures of the first 1,000 transactions' messages.
    let checks: Vec<(VerificationKey, Signature, Vec<u8>)> = txs
        .iter()
        .filter_map(|t| {
            let key = VerificationKey::try_from(t.tx.signer()?).ok()?;
            Some((key, Signature::from_bytes(&t.signature?), t.tx.signing_bytes(params)))
        })
        .take(1_000)
        .collect();
    // The same count of transactions carrying one signature each (registrations carry two).
    let singles: Vec<SignedTx> =
        txs.iter().filter(|t| !matches!(t.tx, Tx::Register(_))).cloned().collect();
    let singles: Vec<SignedTx> = singles.iter().cycle().take(1_000).cloned().collect();

    let mut group = c.benchmark_group(VERIFY);
    group.throughput(Throughput::Elements(1_000));
    group.sample_size(20);
    group.bench_function("sesh_single", |b| {
        b.iter(|| {
            for tx in &singles {
                black_box(tx.verify(params).unwrap());
            }
        });
    });
    group.bench_function("sesh_batch", |b| {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        b.iter(|| black_box(verify_batch(&singles, params, &mut rng)));
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            for (key, sig, msg) in &checks {
                key.verify(black_box(sig), black_box(msg)).unwrap();
            }
        });
    });
    group.finish();
}

fn snapshot_bench(c: &mut Criterion, journal: &Journal, log: &[u8], params: &Params) {
    let snapshot = journal.snapshot();
    let reloaded = Journal::open(params.clone(), Some(&snapshot), log).unwrap();
    assert_eq!(reloaded.journal.ledger().state_hash(), journal.ledger().state_hash());
    println!("snapshot: {} nodes, {} bytes", journal.ledger().nodes().len(), snapshot.len());

    let mut group = c.benchmark_group(SNAPSHOT);
    group.sample_size(10);
    group.bench_function("sesh_snapshot", |b| b.iter(|| black_box(journal.snapshot())));
    group.bench_function("sesh_reload", |b| {
        b.iter(|| black_box(Journal::open(params.clone(), Some(&snapshot), log).unwrap()));
    });
    group.bench_function("raw_encode", |b| {
        b.iter(|| {
            let bytes = postcard::to_stdvec(journal.ledger()).unwrap();
            black_box(crc32fast::hash(&bytes));
            bytes
        });
    });
    let bytes = postcard::to_stdvec(journal.ledger()).unwrap();
    group.bench_function("raw_decode", |b| {
        b.iter(|| {
            black_box(crc32fast::hash(&bytes));
            black_box(postcard::from_bytes::<Ledger>(&bytes).unwrap())
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let params = Params::session_mainnet();
    let (journal, log) = network(&params);
    apply_bench(c, journal.ledger(), &params);
    verify_bench(c, &params);
    snapshot_bench(c, &journal, &log, &params);
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    sesh_benches::report_ratios(APPLY, &[("sesh", "raw")]);
    if let Some(t) = sesh_benches::mean_ns(APPLY, "sesh") {
        println!("apply: {:.0} transactions/s (signatures excluded)", 1_000.0 / t * 1e9);
    }
    sesh_benches::report_ratios(VERIFY, &[("sesh_single", "raw"), ("sesh_batch", "raw")]);
    for f in ["sesh_single", "sesh_batch"] {
        if let Some(t) = sesh_benches::mean_ns(VERIFY, f) {
            println!("verify ({f}): {:.0} signatures/s", 1_000.0 / t * 1e9);
        }
    }
    sesh_benches::report_ratios(
        SNAPSHOT,
        &[("sesh_snapshot", "raw_encode"), ("sesh_reload", "raw_decode")],
    );
}
