//! How clients find a sesh network, against real node processes: a seed's `POST /json_rpc`
//! (oxend's service-node list, on the node's own port; the plain-HTTP seed port is tested with
//! the testnet, `tests/testnet.rs`) and `oxend_request` on the storage RPC, directly and inside
//! a batch.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::collections::BTreeSet;

use common::{Testnet, parse};
use serde_json::{Map, Value, json};

fn ids(result: &Value) -> BTreeSet<String> {
    result["service_node_states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["pubkey_ed25519"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_answers_the_seed_request_and_oxend_request() {
    let net = Testnet::start("bootstrap", 3, &[]).await;
    let all: BTreeSet<String> = net.nodes.iter().map(|n| n.key.to_string()).collect();

    // session-desktop's seed request (no id), on any node.
    let desktop = json!({"jsonrpc": "2.0", "method": "get_n_service_nodes", "params": {
        "active_only": true, "fields": {"public_ip": true, "storage_port": true,
        "pubkey_x25519": true, "pubkey_ed25519": true, "requested_unlock_height": true,
        "height": true}}});
    for node in 0..3 {
        let url = format!("{}/json_rpc", net.nodes[node].url);
        let r = net.http.post(&url).body(desktop.to_string()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json", "exactly, as desktop checks");
        let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(v["id"], Value::Null);
        assert_eq!(ids(&v["result"]), all);
        assert!(v["result"]["height"].as_u64().unwrap() > 0);
        for n in v["result"]["service_node_states"].as_array().unwrap() {
            assert_eq!(n["public_ip"], "127.0.0.1");
            let port = n["storage_port"].as_u64().unwrap();
            assert!(net.nodes.iter().any(|p| p.url.ends_with(&format!(":{port}"))));
        }
    }
    // A bad request gets oxend's error object, with 200.
    let r = net
        .http
        .post(format!("{}/json_rpc", net.nodes[1].url))
        .body(r#"{"id": 3, "method": "get_n_service_nodes", "params": {"limit": "5"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).unwrap(),
        json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "Invalid params",
            "data": "Unable to parse request: Failed to parse request parameters: Invalid value for 'limit': value is not an integer"}})
    );

    // oxend_request, as desktop and libsession-util refresh their pools: the raw result, with
    // the storage server's `hf` and `t`.
    let params = |fields: Value| {
        let mut p = Map::new();
        p.insert("endpoint".into(), json!("get_service_nodes"));
        p.insert("params".into(), json!({"active_only": true, "fields": fields}));
        p
    };
    let (status, v) =
        net.rpc(2, "oxend_request", params(json!(["pubkey_ed25519", "swarm_id"]))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["status"], "OK");
    assert_eq!(ids(&v["result"]), all);
    assert!(v["t"].is_i64() && v["hf"].is_array());
    let batch = json!({"method": "batch", "params": {"requests": [{"method": "oxend_request",
        "params": params(json!({"public_ip": true, "pubkey_ed25519": true}))}]}});
    let (status, body) = net.post(0, "/storage_rpc/v1", batch.to_string().into_bytes()).await;
    let v = parse(&body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"][0]["code"], 200);
    assert_eq!(ids(&v["results"][0]["body"]["result"]), all);
    // What the storage server refuses.
    let mut other = Map::new();
    other.insert("endpoint".into(), json!("get_n_service_nodes"));
    assert_eq!(
        net.rpc(0, "oxend_request", other).await,
        (400, json!("invalid request: Invalid oxend endpoint 'get_n_service_nodes'"))
    );
    assert_eq!(
        net.rpc(0, "oxend_request", Map::new()).await,
        (400, json!("invalid request: Required field 'endpoint' missing"))
    );
    let mut bad = params(json!({}));
    bad["params"] = json!({"limit": 1.5});
    assert_eq!(
        net.rpc(0, "oxend_request", bad).await,
        (
            400,
            json!(
                "Unable to parse request: Failed to parse request parameters: Invalid value for 'limit': value is not an integer"
            )
        )
    );
}

/// sesh's client finds the network from a seed and refreshes its pool from three of its nodes
/// through onion paths (`oxend_request`): the pool it keeps is the network's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_pool_comes_from_a_seed_and_is_refreshed_through_its_nodes() {
    use sesh_client::bootstrap::Seed;
    use sesh_examples::client::Network;
    let net = Testnet::start("pool", 9, &[]).await;
    let seed = Seed::parse(&format!("{}/json_rpc", net.nodes[4].url)).unwrap();
    let client = Network::bootstrap(vec![seed], false).await.unwrap();
    let real = sesh_network::NetworkState::from_value(&net.state().await).unwrap();
    let same = |pool: &sesh_network::NetworkState| {
        pool.nodes().copied().collect::<Vec<_>>() == real.nodes().copied().collect::<Vec<_>>()
            && pool.map() == real.map()
    };
    assert!(same(&client.state()), "the seed's pool");
    for _ in 0..3 {
        client.refresh_from_nodes().await.unwrap();
        assert!(same(&client.state()), "the refreshed pool");
    }
}
