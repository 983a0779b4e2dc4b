//! The service-node list as oxend answers it: every request shape the live clients send, the
//! JSON-RPC errors oxend gives, `limit`, polling and key filters, and the reading of an answer
//! back into a network state.

// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sesh_identity::{Identity, NodeId, Seed};
use sesh_network::oxend::{self, ServiceNodesQuery, json_rpc, read_service_nodes};
use sesh_network::{NetworkState, NodeRecord};
use sesh_swarm::{SwarmId, SwarmMap};

/// Six nodes: 0–2 in swarm 0x10, 3–4 in swarm 0x8000…, 5 in none.
fn state() -> NetworkState {
    let records: Vec<NodeRecord> = (0..6u8)
        .map(|i| {
            let identity = Identity::from_seed(&Seed::from_bytes([i + 1; 32]));
            NodeRecord {
                id: NodeId::from_identity(&identity),
                x25519: *identity.x25519_public_key(),
                ip: format!("10.0.0.{}", i + 1).parse().unwrap(),
                port: 22_100 + u16::from(i),
                tls: true,
            }
        })
        .collect();
    let swarm = |i: usize| SwarmId::new(if i < 3 { 0x10 } else { 0x8000_0000_0000_0000 }).unwrap();
    let map = SwarmMap::from_assignments(
        records.iter().take(5).enumerate().map(|(i, r)| (r.id, swarm(i))),
    )
    .unwrap();
    NetworkState::new(1234, [21, 3], [0xab; 32], records, map).unwrap()
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7)
}

fn ask(body: &Value) -> Value {
    json_rpc(&state(), body.to_string().as_bytes(), &mut rng())
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

// ---- what the live clients send ----

/// session-desktop: `jsonrpc`, no `id`, no `limit`, six fields (two of them top-level-only or
/// required by its schema: `requested_unlock_height`, `height`).
#[test]
fn session_desktop() {
    let answer = ask(&json!({"jsonrpc": "2.0", "method": "get_n_service_nodes", "params": {
        "active_only": true,
        "fields": {"public_ip": true, "storage_port": true, "pubkey_x25519": true,
                   "pubkey_ed25519": true, "requested_unlock_height": true, "height": true}}}));
    assert_eq!(keys(&answer), set(&["id", "jsonrpc", "result"]));
    assert_eq!(answer["id"], Value::Null);
    assert_eq!(answer["jsonrpc"], "2.0");
    let result = &answer["result"];
    assert_eq!(keys(result), set(&["height", "service_node_states", "status"]));
    assert_eq!((result["status"].as_str(), result["height"].as_u64()), (Some("OK"), Some(1234)));
    let nodes = result["service_node_states"].as_array().unwrap();
    assert_eq!(nodes.len(), 6);
    for n in nodes {
        assert_eq!(
            keys(n),
            set(&[
                "public_ip",
                "storage_port",
                "pubkey_x25519",
                "pubkey_ed25519",
                "requested_unlock_height"
            ])
        );
        assert_eq!(n["requested_unlock_height"], 0);
        assert!(n["storage_port"].is_u64() && n["public_ip"].is_string());
    }
    // No limit: the state's order, the same every time.
    let again = ask(&json!({"jsonrpc": "2.0", "method": "get_n_service_nodes", "params": {
        "active_only": true, "fields": {"public_ip": true, "pubkey_ed25519": true}}}));
    let ids = |v: &Value| -> Vec<String> {
        v["result"]["service_node_states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["pubkey_ed25519"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed: Vec<String> = state().nodes().map(|n| n.id.to_string()).collect();
    assert_eq!(ids(&again), listed);
    assert_eq!(ids(&answer), listed);
}

/// session-android: no `jsonrpc`, no `id`; `storage_server_version` as a list of numbers.
#[test]
fn session_android() {
    let answer = ask(&json!({"method": "get_n_service_nodes", "params": {"active_only": true,
        "fields": {"public_ip": true, "storage_port": true, "pubkey_x25519": true,
                   "pubkey_ed25519": true, "storage_server_version": true}}}));
    let nodes = answer["result"]["service_node_states"].as_array().unwrap();
    assert_eq!(nodes[0]["storage_server_version"], json!([2, 8, 0]));
    assert!(answer["result"].get("height").is_none(), "height was not asked for");
}

/// Session.js and session-python: `"id": 0`, no `active_only`; sessionpy-messenger: neither
/// `jsonrpc` nor `id`. iOS (older): `limit: 256`, more than there are nodes: all, shuffled.
#[test]
fn third_party_clients_and_ios() {
    let four = json!({"public_ip": true, "storage_port": true, "pubkey_x25519": true, "pubkey_ed25519": true});
    for body in [
        json!({"jsonrpc": "2.0", "id": 0, "method": "get_n_service_nodes", "params": {"fields": four}}),
        json!({"method": "get_n_service_nodes", "params": {"active_only": true, "fields": four}}),
        json!({"method": "get_n_service_nodes", "params": {"active_only": true, "limit": 256, "fields": four}}),
    ] {
        let answer = ask(&body);
        assert_eq!(answer["id"], body.get("id").cloned().unwrap_or(Value::Null));
        let nodes = answer["result"]["service_node_states"].as_array().unwrap();
        assert_eq!(nodes.len(), 6, "{body}");
        let got: BTreeSet<String> =
            nodes.iter().map(|n| n["pubkey_ed25519"].as_str().unwrap().to_owned()).collect();
        assert_eq!(got, state().nodes().map(|n| n.id.to_string()).collect());
        for n in nodes {
            assert_eq!(
                keys(n),
                set(&["public_ip", "storage_port", "pubkey_x25519", "pubkey_ed25519"])
            );
        }
    }
}

/// libsession-util (legacy refresh): `fields` as an array, with `storage_lmq_port` (never 0) and
/// `swarm_id` (a number; 2^64 − 1 for a node in no swarm).
#[test]
fn libsession_array_fields() {
    let answer =
        ask(&json!({"jsonrpc": "2.0", "id": "x", "method": "get_service_nodes", "params": {
        "active_only": true,
        "fields": ["pubkey_ed25519", "public_ip", "storage_port", "storage_lmq_port",
                   "storage_server_version", "swarm_id"]}}));
    assert_eq!(answer["id"], "x");
    let nodes = answer["result"]["service_node_states"].as_array().unwrap();
    let swarms: Vec<u64> = nodes.iter().map(|n| n["swarm_id"].as_u64().unwrap()).collect();
    assert_eq!(swarms.iter().filter(|s| **s == 0x10).count(), 3);
    assert_eq!(swarms.iter().filter(|s| **s == 0x8000_0000_0000_0000).count(), 2);
    assert_eq!(swarms.iter().filter(|s| **s == u64::MAX).count(), 1);
    assert!(nodes.iter().all(|n| n["storage_lmq_port"].as_u64().is_some_and(|p| p != 0)));
}

/// No params, `null` params, `[]` params, `{}` fields, only-false fields, `["all"]`, `"all": true`:
/// every field, top-level ones included. `["all", "-funded"]`: all but `funded`. Unknown names
/// are ignored.
#[test]
fn every_field_and_all_but() {
    let everything = [
        "service_node_pubkey",
        "pubkey_ed25519",
        "pubkey_x25519",
        "public_ip",
        "storage_port",
        "storage_lmq_port",
        "swarm_id",
        "swarm",
        "storage_server_version",
        "active",
        "funded",
        "requested_unlock_height",
    ];
    let top = [
        "block_hash",
        "hardfork",
        "height",
        "service_node_states",
        "snode_revision",
        "status",
        "target_height",
    ];
    for params in [
        None,
        Some(json!(null)),
        Some(json!([])),
        Some(json!({})),
        Some(json!({"fields": {}})),
        Some(json!({"fields": {"public_ip": false}})),
        Some(json!({"fields": []})),
        Some(json!({"fields": ["all"]})),
        Some(json!({"fields": {"all": true, "public_ip": false}})),
    ] {
        let mut body = json!({"jsonrpc": "2.0", "id": 1, "method": "get_service_nodes"});
        if let Some(p) = &params {
            body["params"] = p.clone();
        }
        let result = &ask(&body)["result"];
        assert_eq!(keys(result), set(&top), "{params:?}");
        assert_eq!(result["block_hash"], "ab".repeat(32));
        assert_eq!(
            (result["hardfork"].as_u64(), result["snode_revision"].as_u64()),
            (Some(21), Some(3))
        );
        for n in result["service_node_states"].as_array().unwrap() {
            assert_eq!(keys(n), set(&everything), "{params:?}");
        }
    }
    let result = &ask(
        &json!({"method": "get_service_nodes", "params": {"fields": ["all", "-funded", "-height"]}}),
    )["result"];
    assert!(result.get("height").is_none());
    let mut but = set(&everything);
    but.remove("funded");
    assert_eq!(keys(&result["service_node_states"][0]), but);
    let result = &ask(
        &json!({"method": "get_service_nodes", "params": {"fields": {"nonsense": true, "swarm": true}}}),
    )["result"];
    let nodes = result["service_node_states"].as_array().unwrap();
    assert!(nodes.iter().all(|n| keys(n) == set(&["swarm"])));
    let none = nodes.iter().filter(|n| n["swarm"] == "ffffffffffffffff").count();
    assert_eq!((none, nodes.iter().filter(|n| n["swarm"] == "10").count()), (1, 3));
    // `get_all_service_nodes` is the same call.
    let all = ask(&json!({"method": "get_all_service_nodes"}));
    assert_eq!(all["result"]["service_node_states"].as_array().unwrap().len(), 6);
}

#[test]
fn limit_samples_and_shuffles() {
    let query = |limit: i64| {
        let q =
            ServiceNodesQuery::parse(Some(&json!({"limit": limit, "fields": ["pubkey_ed25519"]})))
                .unwrap();
        let mut rng = rng();
        (0..20)
            .map(|_| {
                q.answer(&state(), &mut rng)["service_node_states"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n["pubkey_ed25519"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let listed: Vec<String> = state().nodes().map(|n| n.id.to_string()).collect();
    let sorted = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    assert!(query(0).iter().all(|l| *l == listed), "0: all, in order");
    for limit in [-1, 6, 7, 256] {
        let runs = query(limit);
        assert!(runs.iter().all(|l| l.len() == 6 && sorted(l) == sorted(&listed)), "{limit}: all");
        assert!(runs.iter().any(|l| *l != listed), "{limit}: shuffled");
    }
    for limit in [1, 2, 5] {
        let runs = query(limit);
        assert!(runs.iter().all(|l| l.len() == limit as usize && sorted(l).len() == l.len()));
        assert!(runs.iter().all(|l| l.iter().all(|id| listed.contains(id))));
        let seen: BTreeSet<String> = runs.iter().flatten().cloned().collect();
        assert!(seen.len() > limit as usize, "{limit}: a random sample, not always the same");
    }
}

#[test]
fn polling_and_chosen_nodes() {
    let hash = "ab".repeat(32);
    let same = ask(
        &json!({"method": "get_service_nodes", "params": {"poll_block_hash": hash, "fields": {"height": true}}}),
    );
    assert_eq!(same["result"], json!({"status": "OK", "height": 1234, "unchanged": true}));
    let other = ask(
        &json!({"method": "get_service_nodes", "params": {"poll_block_hash": "cd".repeat(32), "fields": {"public_ip": true}}}),
    );
    assert_eq!(other["result"]["unchanged"], false);
    assert_eq!(other["result"]["block_hash"], hash, "sent when the poll sees a change");
    assert_eq!(other["result"]["service_node_states"].as_array().unwrap().len(), 6);
    let nodes: Vec<NodeRecord> = state().nodes().copied().collect();
    let wanted = json!([nodes[4].id.to_string(), "00".repeat(32), format!("0x{}", nodes[1].id)]);
    let chosen = ask(
        &json!({"method": "get_service_nodes", "params": {"service_node_pubkeys": wanted, "fields": ["public_ip"]}}),
    );
    assert_eq!(
        chosen["result"]["service_node_states"],
        json!([{"public_ip": nodes[4].ip.to_string()}, {"public_ip": nodes[1].ip.to_string()}])
    );
}

// ---- errors ----

fn error(body: &[u8]) -> (Value, i64, String, Option<String>) {
    let answer = json_rpc(&state(), body, &mut rng());
    assert_eq!(answer["jsonrpc"], "2.0");
    assert!(answer.get("result").is_none(), "{answer}");
    let e = &answer["error"];
    (
        answer["id"].clone(),
        e["code"].as_i64().unwrap(),
        e["message"].as_str().unwrap().to_owned(),
        e.get("data").map(|d| d.as_str().unwrap().to_owned()),
    )
}

#[test]
fn bad_requests_get_oxends_errors() {
    for body in [&b""[..], b"{", b"not json", b"{\"id\": 5,"] {
        assert_eq!(error(body), (Value::Null, -32700, "Parse error".into(), None));
    }
    for body in [&b"null"[..], b"[]", b"[1]", b"5", b"\"get_service_nodes\""] {
        assert_eq!(error(body), (Value::Null, -32600, "Invalid Request".into(), None));
    }
    assert_eq!(error(b"{\"id\": 5}"), (json!(5), -32600, "Invalid Request".into(), None));
    assert_eq!(
        error(b"{\"id\": [1], \"method\": 7}"),
        (json!([1]), -32600, "Invalid Request".into(), None)
    );
    assert_eq!(
        error(b"{\"id\": \"a\", \"method\": \"get_info\"}"),
        (json!("a"), -32601, "Method not found".into(), None)
    );
    let prefix = "Unable to parse request: Failed to parse request parameters: ";
    for (params, what) in [
        (
            json!("x"),
            "[json.exception.invalid_iterator.207] cannot use key() for non-object iterators",
        ),
        (
            json!(5),
            "[json.exception.invalid_iterator.207] cannot use key() for non-object iterators",
        ),
        (
            json!([1]),
            "[json.exception.invalid_iterator.207] cannot use key() for non-object iterators",
        ),
        (
            json!({"fields": {"public_ip": 1}}),
            "[json.exception.type_error.302] type must be boolean, but is number",
        ),
        (
            json!({"fields": {"public_ip": "yes"}}),
            "[json.exception.type_error.302] type must be boolean, but is string",
        ),
        (json!({"fields": "public_ip"}), "Invalid values in 'fields'"),
        (json!({"fields": null}), "Invalid values in 'fields'"),
        (json!({"fields": [1]}), "Invalid values in 'fields'"),
        (json!({"limit": "5"}), "Invalid value for 'limit': value is not an integer"),
        (json!({"limit": 1.5}), "Invalid value for 'limit': value is not an integer"),
        (json!({"limit": 1_u64 << 40}), "Invalid value for 'limit': value is too large"),
        (json!({"limit": u64::MAX}), "Invalid value for 'limit': value is too large"),
        (
            json!({"limit": -(1_i64 << 40)}),
            "Invalid value for 'limit': negative value magnitude is too large",
        ),
        (json!({"active_only": "yes"}), "Invalid value for 'active_only': expected boolean"),
        (json!({"active_only": 2}), "Invalid value for 'active_only': expected boolean"),
        (json!({"poll_block_hash": "abc"}), "Invalid values in 'poll_block_hash'"),
        (json!({"service_node_pubkeys": ["zz"]}), "Invalid values in 'service_node_pubkeys'"),
        (json!({"service_node_pubkeys": "00"}), "Invalid values in 'service_node_pubkeys'"),
    ] {
        let body = json!({"id": 9, "method": "get_n_service_nodes", "params": params});
        assert_eq!(
            error(body.to_string().as_bytes()),
            (json!(9), -32602, "Invalid params".into(), Some(format!("{prefix}{what}"))),
            "{params}"
        );
    }
    // `active_only` may be 0 or 1; `limit` is a 32-bit int.
    assert!(
        ask(
            &json!({"method": "get_service_nodes", "params": {"active_only": 1, "limit": i32::MIN}})
        )["result"]
            .is_object()
    );
}

// ---- reading an answer ----

#[test]
fn an_answer_reads_back_into_the_state() {
    let state = state();
    let answer = ask(&json!({"method": "get_n_service_nodes"}));
    assert_eq!(read_service_nodes(&answer["result"], true).unwrap(), state);
    // Only what a client asks for (no top-level fields): the nodes and swarms, at height 0.
    let answer = ask(&json!({"method": "get_n_service_nodes", "params": {"fields": {
        "public_ip": true, "storage_port": true, "pubkey_x25519": true, "pubkey_ed25519": true, "swarm_id": true}}}));
    let read = read_service_nodes(&answer["result"], false).unwrap();
    assert_eq!(
        read.nodes().map(|n| NodeRecord { tls: true, ..*n }).collect::<Vec<_>>(),
        state.nodes().copied().collect::<Vec<_>>()
    );
    assert_eq!(read.map(), state.map());
    assert!(read.nodes().all(|n| !n.tls));
}

#[test]
fn nodes_without_an_address_are_skipped_and_broken_ones_refused() {
    let answer = ask(&json!({"method": "get_n_service_nodes"}));
    let mut result = answer["result"].clone();
    result["service_node_states"][0]["public_ip"] = json!("0.0.0.0");
    result["service_node_states"][1].as_object_mut().unwrap().remove("public_ip");
    result["service_node_states"][2]["storage_port"] = json!(0);
    assert_eq!(read_service_nodes(&result, true).unwrap().nodes().len(), 3);
    for (field, value) in [
        ("public_ip", json!("not an ip")),
        ("storage_port", json!(70_000)),
        ("storage_port", json!("22100")),
        ("pubkey_ed25519", json!("00")),
        ("pubkey_x25519", json!(null)),
        ("swarm_id", json!(-1)),
    ] {
        let mut broken = answer["result"].clone();
        broken["service_node_states"][3][field] = value.clone();
        let err = read_service_nodes(&broken, true).unwrap_err();
        assert!(err.to_string().contains(field), "{field} = {value}: {err}");
    }
    let mut twice = answer["result"].clone();
    let first = twice["service_node_states"][0].clone();
    twice["service_node_states"].as_array_mut().unwrap().push(first);
    assert!(read_service_nodes(&twice, true).is_err());
    assert!(read_service_nodes(&json!({"status": "OK"}), true).is_err());
}

proptest! {
    /// Any body gets an answer, never a panic: a JSON-RPC 2.0 object with a result or an error.
    #[test]
    fn any_body_gets_an_answer(body in prop::collection::vec(any::<u8>(), 0..200), params in ".{0,40}") {
        for body in [body, format!("{{\"method\": \"get_service_nodes\", \"params\": {params}}}").into_bytes()] {
            let answer = json_rpc(&state(), &body, &mut rng());
            prop_assert_eq!(&answer["jsonrpc"], "2.0");
            prop_assert!(answer.get("result").is_some() != answer.get("error").is_some());
            if let Some(result) = answer.get("result") {
                prop_assert!(read_service_nodes(result, true).is_ok() || result.get("service_node_states").is_none()
                    || result["service_node_states"][0].get("pubkey_ed25519").is_none());
            }
        }
    }
}

#[test]
fn methods_are_the_three_names() {
    assert_eq!(
        oxend::METHODS,
        ["get_service_nodes", "get_n_service_nodes", "get_all_service_nodes"]
    );
}
