//! A node that remembers `05` key conversions ([`Conversions`]) answers every request exactly as
//! one that works each out again: a key that converts is accepted, one that does not is refused
//! on every request (also once the refusal is remembered), and the memory stays within its
//! capacity.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Map, Value, json};
use sesh_identity::{Identity, Seed};
use sesh_rpc::client::Account;
use sesh_rpc::handler::{
    Context, Conversions, Node, Response, Solo, handle, handle_verified, handle_with,
    verify_ahead_with,
};
use sesh_rpc::store::MemoryStore;
use sesh_rpc::{Namespace, request};

const NOW: i64 = 1_735_689_600_000;

fn identity(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([n; 32]))
}

fn parse(method: &str, params: &Map<String, Value>) -> sesh_rpc::Request {
    request::parse(method, params).unwrap()
}

/// `params` signed by `signer` but naming `signer`'s Ed25519 key for the account of `params`
/// (a key that does not convert to the account's X25519 key).
fn with_foreign_key(
    signer: &Identity,
    namespace: Namespace,
    mut params: Map<String, Value>,
) -> Map<String, Value> {
    let foreign = Account::session(signer).retrieve(namespace, NOW, None);
    params.insert("pubkey_ed25519".into(), foreign["pubkey_ed25519"].clone());
    params.insert("signature".into(), foreign["signature"].clone());
    params
}

fn same(a: &Response, b: &Response) {
    assert_eq!(a.status, b.status);
    assert_eq!(a.body, b.body);
}

#[test]
fn remembered_conversions_answer_as_fresh_ones() {
    let node_key = identity(9);
    let node = Node { identity: &node_key, hf: [21, 0], swarm: &Solo };
    let ctx = Context { now_ms: NOW, forwarded: false };
    let (me, other) = (identity(1), identity(2));
    let account = Account::session(&me);
    let ns = Namespace(2);
    let mut store = MemoryStore::new();
    let known = Conversions::new(16);

    // A signed store, checked ahead with the memory, then run: stored.
    let params = account.store(ns, b"hello", NOW, 86_400_000);
    let ahead = verify_ahead_with(&node, ctx, parse("store", &params), &known);
    assert_eq!(ahead.len(), 1);
    let stored = handle_verified(&node, &mut store, ctx, parse("store", &params), &ahead);
    assert_eq!(stored.status, 200, "{:?}", stored.body);
    assert_eq!(known.len(), 1);

    // Retrieves: the same answer with and without the memory, the second time from it.
    let good = account.retrieve(ns, NOW, None);
    let fresh = handle(&node, &mut store, ctx, parse("retrieve", &good));
    assert_eq!(fresh.status, 200);
    for _ in 0..2 {
        same(&handle_with(&node, &mut store, ctx, parse("retrieve", &good), &known), &fresh);
    }
    assert_eq!(known.len(), 1, "one account, one pair");

    // A key that does not convert to the account's is refused, fresh and remembered.
    let bad = with_foreign_key(&other, ns, good.clone());
    let refused = handle(&node, &mut store, ctx, parse("retrieve", &bad));
    assert_eq!(refused.status, 401);
    for _ in 0..2 {
        same(&handle_with(&node, &mut store, ctx, parse("retrieve", &bad), &known), &refused);
    }
    assert_eq!(known.len(), 2);
    let bad_store = with_foreign_key(&other, ns, account.store(ns, b"x", NOW, 86_400_000));
    let ahead = verify_ahead_with(&node, ctx, parse("store", &bad_store), &known);
    let r = handle_verified(&node, &mut store, ctx, parse("store", &bad_store), &ahead);
    assert_eq!(r.status, 401);

    // The account's own key with a bad signature: refused although its key is remembered.
    let mut forged = good.clone();
    forged.insert("signature".into(), json!(bad["signature"].clone()));
    let r = handle_with(&node, &mut store, ctx, parse("retrieve", &forged), &known);
    assert_eq!(r.status, 401);
    // And the good request still passes.
    same(&handle_with(&node, &mut store, ctx, parse("retrieve", &good), &known), &fresh);
}

#[test]
fn the_memory_stays_within_its_capacity() {
    let node_key = identity(9);
    let node = Node { identity: &node_key, hf: [21, 0], swarm: &Solo };
    let ctx = Context { now_ms: NOW, forwarded: false };
    let known = Conversions::new(3);
    let mut store = MemoryStore::new();
    for n in 1..=10 {
        let me = identity(n);
        let params = Account::session(&me).retrieve(Namespace(2), NOW, None);
        let r = handle_with(&node, &mut store, ctx, parse("retrieve", &params), &known);
        assert_eq!(r.status, 200);
        assert!(known.len() <= 3 && !known.is_empty());
    }
}

#[test]
fn requests_without_the_store_answer_as_with_it_and_the_others_come_back() {
    let node_key = identity(9);
    let node = Node { identity: &node_key, hf: [21, 0], swarm: &Solo };
    let ctx = Context { now_ms: NOW, forwarded: false };
    let me = identity(1);
    let account = Account::session(&me);
    let pubkey = account.retrieve(Namespace(2), NOW, None)["pubkey"].clone();
    let mut swarm = Map::new();
    swarm.insert("pubkey".into(), pubkey);
    let mut store = MemoryStore::new();
    for (method, params) in [("info", Map::new()), ("get_swarm", swarm)] {
        let without = sesh_rpc::handler::handle_without_store(&node, ctx, &parse(method, &params));
        let with = handle(&node, &mut store, ctx, parse(method, &params));
        same(&without.unwrap_or_else(|| panic!("{method} needs no store")), &with);
    }
    let retrieve = account.retrieve(Namespace(2), NOW, None);
    assert!(
        sesh_rpc::handler::handle_without_store(&node, ctx, &parse("retrieve", &retrieve))
            .is_none()
    );
    let store_params = account.store(Namespace(2), b"hello", NOW, 86_400_000);
    assert!(
        sesh_rpc::handler::handle_without_store(&node, ctx, &parse("store", &store_params))
            .is_none()
    );
}
