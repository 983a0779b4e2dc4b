//! sesh-rpc: where a signed `store` spends its time, the node's two ways. The node runs every
//! write on one database writer; `verify_ahead` moves a request's signature checks off it (to
//! the blocking pool), at the cost of a second, dry run of the handler. Measured on an
//! in-memory store, per request:
//!
//! - `handle`: the whole request on one thread (checks included): what the writer did before;
//! - `ahead`: `verify_ahead`, the part now done off the writer;
//! - `writer`: `handle_verified` with those checks: what the writer does now;
//! - `raw`: one Ed25519 verification of the same signature (ed25519-dalek), the baseline.
//!
//! `writer / handle` is the writer's share left; `(ahead + writer) / handle` is what the split
//! costs in CPU all told.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group};
use sesh_identity::{Identity, Seed};
use sesh_rpc::client::Account;
use sesh_rpc::handler::{self, Context, Node, Solo};
use sesh_rpc::store::MemoryStore;
use sesh_rpc::{Namespace, Request, request};

const GROUP: &str = "rpc_signed_store";
const NOW: i64 = 1_735_689_600_000;

fn benches(c: &mut Criterion) {
    let node_key = Identity::from_seed(&Seed::from_bytes([7; 32]));
    let node = Node { identity: &node_key, hf: [21, 0], swarm: &Solo };
    let owner = Identity::from_seed(&Seed::from_bytes([9; 32]));
    let params = Account::session(&owner).store(Namespace(2), &[0x42; 450], NOW, 3_600_000);
    let req = request::parse("store", &params).unwrap();
    let ctx = Context { now_ms: NOW, forwarded: false };
    let Request::Store(store) = &req else { unreachable!() };
    let (auth, signed_at) = store.auth.clone().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&auth.pubkey_ed25519.unwrap()).unwrap();
    let message = format!("store2{signed_at}").into_bytes();
    let signature = ed25519_dalek::Signature::from_bytes(&auth.signature);

    let mut group = c.benchmark_group(GROUP);
    group.bench_function("handle", |b| {
        b.iter_batched(
            || (MemoryStore::new(), req.clone()),
            |(mut store, req)| black_box(handler::handle(&node, &mut store, ctx, req)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("ahead", |b| {
        b.iter_batched(
            || req.clone(),
            |req| black_box(handler::verify_ahead(&node, ctx, req)),
            BatchSize::SmallInput,
        );
    });
    let verified = handler::verify_ahead(&node, ctx, req.clone());
    assert_eq!(verified.len(), 1, "one check made ahead");
    group.bench_function("writer", |b| {
        b.iter_batched(
            || (MemoryStore::new(), req.clone()),
            |(mut store, req)| {
                black_box(handler::handle_verified(&node, &mut store, ctx, req, &verified))
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("raw", |b| {
        b.iter(|| black_box(key.verify_strict(&message, &signature).is_ok()));
    });
    group.finish();
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    sesh_benches::report_ratios(
        GROUP,
        &[("handle", "raw"), ("ahead", "raw"), ("writer", "raw"), ("writer", "handle")],
    );
    let mean = |f| sesh_benches::mean_ns(GROUP, f);
    if let (Some(h), Some(a), Some(w)) = (mean("handle"), mean("ahead"), mean("writer")) {
        println!(
            "split: the writer's share {:.0} % of the request; all told {:.0} % of it",
            w / h * 100.0,
            (a + w) / h * 100.0
        );
    }
}
