//! Builder output always verifies; any change to a signed field fails, and changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sesh_identity::{Identity, Seed};
use sesh_rpc::client::{Account, ExpireMode};
use sesh_rpc::handler::{Context, Node, Solo, handle_params};
use sesh_rpc::store::MemoryStore;
use sesh_rpc::{Namespace, NamespaceSel};

const NOW: i64 = 1_735_689_600_000;

fn node_key() -> Identity {
    Identity::from_seed(&Seed::from_bytes([0x77; 32]))
}

/// Stores three messages for `account` and returns their hashes.
fn seeded(
    account: &Account<'_>,
    node: &Node<'_>,
    store: &mut MemoryStore,
    ns: Namespace,
) -> Vec<String> {
    let ctx = Context { now_ms: NOW, forwarded: false };
    (0..3u8)
        .map(|i| {
            let r = handle_params(
                node,
                store,
                ctx,
                "store",
                &account.store(ns, &[i; 5], NOW - 1_000, 3_600_000),
            );
            assert_eq!(r.status, 200, "{r:?}");
            let sesh_rpc::handler::Body::Json(body) = r.body else { panic!() };
            body["hash"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Every signed request a builder makes, for `account`.
fn requests(
    account: &Account<'_>,
    hashes: &[String],
    ns: Namespace,
) -> Vec<(&'static str, Map<String, Value>)> {
    vec![
        (
            "store",
            account.store(
                Namespace(if ns.0 % 10 == 0 { ns.0 + 1 } else { ns.0 }),
                b"data",
                NOW,
                86_400_000,
            ),
        ),
        ("retrieve", account.retrieve(ns, NOW + 59_000, None)),
        ("delete", account.delete(&hashes[..1])),
        ("delete_all", account.namespace_request("delete_all", NamespaceSel::One(ns), NOW - 1)),
        ("delete_before", account.namespace_request("delete_before", NamespaceSel::All, NOW)),
        (
            "expire_all",
            account.namespace_request("expire_all", NamespaceSel::One(ns), NOW + 60_000),
        ),
        ("expire", account.expire(hashes, NOW + 7_200_000, ExpireMode::Extend)),
        ("get_expiries", account.get_expiries(hashes, NOW)),
    ]
}

/// Changes one signed field of `params`.
fn mutate(params: &mut Map<String, Value>, choice: usize) -> bool {
    let keys: Vec<String> =
        params.keys().filter(|k| *k != "data" && *k != "ttl").cloned().collect();
    let key = &keys[choice % keys.len()];
    let value = params.get_mut(key).unwrap();
    match value {
        Value::Number(n) if n.is_u64() => *value = json!(n.as_u64().unwrap() + 1),
        Value::Number(n) => *value = json!(n.as_i64().unwrap().wrapping_add(1)),
        Value::String(s) if s == "all" => *value = json!(0),
        Value::String(s) => {
            let mut bytes = s.clone().into_bytes();
            // Not the last base64 digits, whose low bits may be padding the decoder ignores.
            let mut i = choice % bytes.len().saturating_sub(4).max(1);
            // Nor the account's prefix: for every prefix but 05 the key is the account key
            // itself and most signed strings leave the prefix out, so the live server accepts
            // the same signature for `03…` and `13…` with the same key.
            if key == "pubkey" {
                i = 2 + choice % (bytes.len() - 2);
            }
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            *value = json!(String::from_utf8(bytes).unwrap());
        }
        Value::Array(items) => {
            items.reverse();
            if items.len() < 2 {
                items.push(json!("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"));
            }
        }
        Value::Bool(b) => *b = !*b,
        _ => return false,
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn builders_verify_and_mutations_fail(seed in any::<[u8; 32]>(), group in any::<bool>(), ns in 1i16..200, choice in any::<usize>()) {
        let me = Identity::from_seed(&Seed::from_bytes(seed));
        let account = if group { Account::group(&me) } else { Account::session(&me) };
        let node_identity = node_key();
        let node = Node { identity: &node_identity, hf: [19, 4], swarm: &Solo };
        let ctx = Context { now_ms: NOW, forwarded: false };
        let ns = Namespace(if ns % 10 == 0 { ns + 1 } else { ns });
        let mut fresh = MemoryStore::new();
        let hashes = seeded(&account, &node, &mut fresh, ns);
        for (method, params) in requests(&account, &hashes, ns) {
            let mut store = fresh.clone();
            let r = handle_params(&node, &mut store, ctx, method, &params);
            prop_assert!(r.status == 200, "{} {:?}", method, r);

            let mut mutated = params.clone();
            if !mutate(&mut mutated, choice) {
                continue;
            }
            let mut store = fresh.clone();
            let r = handle_params(&node, &mut store, ctx, method, &mutated);
            // Storing to a public inbox needs no signature: a namespace changed into one is fine.
            let now_public = method == "store" && mutated["namespace"].as_i64().is_some_and(|n| n % 10 == 0);
            prop_assert!(r.status != 200 || now_public, "{} accepted a mutation: {:?} -> {:?}", method, mutated, r);
            if r.status != 200 {
                prop_assert_eq!(store.messages(), fresh.messages(), "{} changed the store on rejection", method);
            }
        }
    }
}
