//! The reference node as a real process on loopback: the storage RPC, replication across the
//! swarm, onion requests through real paths, bad input of every class, a failing database, and
//! durability under `kill -9`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{NodeExt as _, Testnet, metric, now_ms, parse};
use rand_core::OsRng;
use serde_json::{Map, Value, json};
use sesh_identity::Identity;
use sesh_onion::{Destination, EncType, Hop, build};
use sesh_rpc::client::{Account, ExpireMode, verify_store_signature};
use sesh_rpc::handler::{REQUEST_FAILED, retrieve_failure_text};
use sesh_rpc::{Namespace, NamespaceSel};

const TTL: i64 = 3_600_000;

fn hashes_of(retrieved: &Value) -> BTreeSet<String> {
    retrieved["messages"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|m| m["hash"].as_str().unwrap().to_owned())
        .collect()
}

async fn retrieve(net: &Testnet, node: usize, account: &Account<'_>, ns: Namespace) -> Value {
    let (status, body) = net.rpc(node, "retrieve", account.retrieve(ns, now_ms(), None)).await;
    assert_eq!(status, 200, "retrieve from node {node}: {body}");
    body
}

async fn store(
    net: &Testnet,
    node: usize,
    account: &Account<'_>,
    ns: Namespace,
    data: &[u8],
) -> String {
    let (status, body) = net.rpc(node, "store", account.store(ns, data, now_ms(), TTL)).await;
    assert_eq!(status, 200, "store on node {node}: {body}");
    body["hash"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_retrieve_expire_delete_on_every_member() {
    let net = Testnet::start("rpc", 3, &[]).await;
    // The nodes' first handovers (at the swarm change that made them list each other) end
    // first: a page one of them fetched from a peer after the store below, applied after the
    // expiry is shortened, would lengthen it again (a copy with a later expiry extends it, as
    // a live node's bulk_store does).
    net.wait_heights(2).await;
    let me = Identity::generate(&mut OsRng);
    let account = Account::session(&me);

    // A store on node 1 is acknowledged by all three members, each signing the hash.
    let now = now_ms();
    let (status, body) =
        net.rpc(1, "store", account.store(Namespace(0), b"hello swarm", now, TTL)).await;
    assert_eq!(status, 200, "{body}");
    let hash = body["hash"].as_str().unwrap().to_owned();
    let swarm = body["swarm"].as_object().unwrap();
    assert_eq!(swarm.len(), 3, "{body}");
    for node in &net.nodes {
        let entry = &swarm[&node.key_hex()];
        assert_eq!(entry["hash"], json!(hash));
        assert!(
            verify_store_signature(
                node.key.as_bytes(),
                &hash,
                entry["signature"].as_str().unwrap()
            ),
            "{entry}"
        );
    }

    // Every member returns it.
    for i in 0..3 {
        let got = retrieve(&net, i, &account, Namespace(0)).await;
        assert_eq!(hashes_of(&got), BTreeSet::from([hash.clone()]), "node {i}");
        assert_eq!(got["messages"][0]["data"], json!("aGVsbG8gc3dhcm0="));
    }

    // Shorten the expiry through node 2: every member has the new expiry.
    let expiry = now_ms() + 600_000;
    let (status, body) = net
        .rpc(2, "expire", account.expire(std::slice::from_ref(&hash), expiry, ExpireMode::Shorten))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["swarm"].as_object().unwrap().len(), 3);
    for i in 0..3 {
        let (status, body) = net
            .rpc(i, "get_expiries", account.get_expiries(std::slice::from_ref(&hash), now_ms()))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expiries"][&hash], json!(expiry), "node {i}: {body}");
    }

    // Delete through node 0: gone everywhere.
    let (status, body) = net.rpc(0, "delete", account.delete(std::slice::from_ref(&hash))).await;
    assert_eq!(status, 200, "{body}");
    for node in &net.nodes {
        assert_eq!(body["swarm"][node.key_hex()]["deleted"], json!([hash]), "{body}");
    }
    for i in 0..3 {
        assert!(hashes_of(&retrieve(&net, i, &account, Namespace(0)).await).is_empty());
    }

    // delete_all in a batch is forwarded too.
    let h2 = store(&net, 0, &account, Namespace(2), b"two").await;
    let sub = account.namespace_request("delete_all", NamespaceSel::All, now_ms());
    let (status, body) = net
        .rpc(
            1,
            "batch",
            Map::from_iter([("requests".into(), json!([{"method": "delete_all", "params": sub}]))]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["code"], json!(200), "{body}");
    assert_eq!(body["results"][0]["body"]["swarm"].as_object().unwrap().len(), 3, "{body}");
    for i in 0..3 {
        assert!(!hashes_of(&retrieve(&net, i, &account, Namespace(2)).await).contains(&h2));
    }

    // The counters saw it.
    let m = net.metrics(1).await;
    assert!(
        m.contains(
            "sesh_node_requests_total{endpoint=\"storage_rpc\",method=\"store\",status=\"200\"} 1"
        ),
        "{m}"
    );
    assert!(m.contains("sesh_node_swarm_forwards_total{outcome=\"ok\"}"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_on_one_member_is_on_every_member() {
    let net = Testnet::start("replication", 4, &[]).await;
    let people: Vec<Identity> = (0..4).map(|_| Identity::generate(&mut OsRng)).collect();
    let mut stored = Vec::new();
    for (i, me) in people.iter().enumerate() {
        let account = Account::session(me);
        let hash = store(&net, i, &account, Namespace(0), format!("message {i}").as_bytes()).await;
        stored.push(hash);
    }
    for (i, me) in people.iter().enumerate() {
        let account = Account::session(me);
        for node in 0..4 {
            let got = retrieve(&net, node, &account, Namespace(0)).await;
            assert_eq!(
                hashes_of(&got),
                BTreeSet::from([stored[i].clone()]),
                "account {i} on node {node}"
            );
        }
    }
}

/// Every class of bad input gets the live status and text, and nothing stored changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    let net = Testnet::start("bad-input", 2, &[]).await;
    let me = Identity::generate(&mut OsRng);
    let account = Account::session(&me);
    let hash = store(&net, 0, &account, Namespace(0), b"keep me").await;
    let before: Vec<Value> = {
        let mut v = Vec::new();
        for i in 0..2 {
            v.push(retrieve(&net, i, &account, Namespace(0)).await["messages"].clone());
        }
        v
    };
    let rpc = |params: Map<String, Value>| {
        json!({"method": "store", "params": params}).to_string().into_bytes()
    };

    let mut cases: Vec<(&str, Vec<u8>, u16, &str)> = Vec::new();
    cases.push(("not JSON", b"{not json".to_vec(), 400, "invalid json"));
    cases.push((
        "no params",
        br#"{"method":"store"}"#.to_vec(),
        400,
        "invalid json: no `params` field",
    ));
    cases.push((
        "unknown method",
        br#"{"method":"steal","params":{}}"#.to_vec(),
        400,
        "no method steal",
    ));
    let mut bad_b64 = account.store(Namespace(0), b"x", now_ms(), TTL);
    bad_b64.insert("data".into(), json!("!!!not base64!!!"));
    cases.push(("bad base64", rpc(bad_b64), 400, "invalid request: "));
    // Namespace 2 needs a signature: sign for one, send another.
    let mut bad_sig = account.store(Namespace(2), b"x", now_ms(), TTL);
    bad_sig.insert("namespace".into(), json!(3));
    cases.push(("bad signature", rpc(bad_sig), 401, "store signature verification failed"));
    let stale = account.store(Namespace(2), b"x", now_ms() - 120_000, TTL);
    cases.push((
        "stale timestamp",
        rpc(stale),
        406,
        "store signature timestamp too far from current time",
    ));
    let delete_other = {
        let mut p = account.delete(std::slice::from_ref(&hash));
        p.insert("signature".into(), json!("A".repeat(86) + "=="));
        json!({"method": "delete", "params": p}).to_string().into_bytes()
    };
    cases.push(("forged delete", delete_other, 401, "delete_msgs signature verification failed"));

    for (what, body, status, text) in cases {
        for node in 0..2 {
            let (got, reply) = net.post(node, "/storage_rpc/v1", body.clone()).await;
            let reply = String::from_utf8_lossy(&reply);
            assert_eq!(got, status, "{what} on node {node}: {reply}");
            assert!(reply.starts_with(text), "{what}: {reply:?} does not start with {text:?}");
        }
    }

    // Oversize body: 413 from the Content-Length, before any of it is read.
    {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = net.nodes[0].url.trim_start_matches("http://").to_owned();
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /storage_rpc/v1 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
            10 * 1024 * 1024 + 1
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut reply = vec![0u8; 4096];
        let n = tcp.read(&mut reply).await.unwrap();
        let reply = String::from_utf8_lossy(&reply[..n]);
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        assert!(reply.ends_with("Request body too large"), "{reply}");
    }
    // The retired long-polling header.
    let body = json!({"method": "info", "params": {}}).to_string().into_bytes();
    let (status, reply) =
        net.post_with(0, "/storage_rpc/v1", body, &[("x-loki-long-poll", "1")]).await;
    assert_eq!(status, 410);
    assert_eq!(
        parse(&reply),
        json!("long polling is no longer supported, client upgrade required")
    );
    // Bad onion layers: not a combined payload, and one that does not decrypt.
    let (status, reply) = net.post(0, "/onion_req/v2", b"\x05\x00\x00\x00abc".to_vec()).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&reply).starts_with("Error parsing onion request: "));
    let other = Identity::generate(&mut OsRng);
    let wrong_key = build(
        &[Hop::from_ed25519(*other.ed25519_public_key()).unwrap()],
        &Destination::Node(Hop::from_ed25519(*other.ed25519_public_key()).unwrap()),
        b"{}",
        EncType::XChaCha20,
        &mut OsRng,
    )
    .unwrap();
    let (status, reply) = net.post(0, "/onion_req/v2", wrong_key.bytes).await;
    assert_eq!((status, parse(&reply)), (400, json!("Invalid ciphertext")));
    // Node-to-node endpoints refuse unsigned requests.
    let (status, _) = net.post(0, "/swarm/v1/forward", body_of("store")).await;
    assert_eq!(status, 401);
    let (status, _) = net.post(0, "/swarm/v1/push", br#"{"messages":[]}"#.to_vec()).await;
    assert_eq!(status, 401);
    // Unknown paths.
    let (status, reply) = net.post(0, "/nope", Vec::new()).await;
    assert_eq!((status, parse(&reply)), (404, json!("POST /nope Not Found")));

    // Nothing changed, and both nodes still serve.
    for i in 0..2 {
        for ns in [2, 3] {
            assert!(hashes_of(&retrieve(&net, i, &account, Namespace(ns)).await).is_empty());
        }
    }
    for (i, before) in before.iter().enumerate() {
        assert_eq!(
            &retrieve(&net, i, &account, Namespace(0)).await["messages"],
            before,
            "node {i}"
        );
    }
}

/// The node's database fails while it runs: every request that needs it is answered 500 with the
/// live texts, never 200 with nothing; once the database works again, nothing was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_is_a_500_never_an_empty_answer() {
    let net = Testnet::start("db-failure", 1, &[]).await;
    let me = Identity::generate(&mut OsRng);
    let account = Account::session(&me);
    let kept = store(&net, 0, &account, Namespace(0), b"kept").await;
    let only_kept = BTreeSet::from([kept.clone()]);
    let own = net.nodes[0].key_hex();
    let failed = json!(REQUEST_FAILED);
    let db = rusqlite::Connection::open(net.nodes[0].dir.join("storage.db")).unwrap();

    // Another process holds the write lock: writes fail (SQLITE_BUSY); reads go on (WAL).
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let params = account.store(Namespace(0), b"while locked", now_ms(), TTL);
    let (status, body) = net.rpc(0, "store", params).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["swarm"][&own]["query_failure"], json!(true), "{body}");
    assert!(body["swarm"][&own]["reason"].as_str().unwrap().contains("locked"), "{body}");
    assert!(body.get("hash").is_none(), "{body}");
    let (status, body) = net.rpc(0, "delete", account.delete(std::slice::from_ref(&kept))).await;
    assert_eq!((status, &body), (500, &failed));
    assert_eq!(hashes_of(&retrieve(&net, 0, &account, Namespace(0)).await), only_kept);
    db.execute_batch("ROLLBACK").unwrap();

    // The messages table is gone: reads fail too.
    db.execute_batch("ALTER TABLE messages RENAME TO messages_away").unwrap();
    let (status, body) =
        net.rpc(0, "retrieve", account.retrieve(Namespace(0), now_ms(), None)).await;
    assert_eq!((status, &body), (500, &json!(retrieve_failure_text(&account.id()))));
    let hashes = std::slice::from_ref(&kept);
    let (status, body) = net.rpc(0, "get_expiries", account.get_expiries(hashes, now_ms())).await;
    assert_eq!((status, &body), (500, &failed));
    let sub = account.retrieve(Namespace(0), now_ms(), None);
    let batch = json!([{"method": "retrieve", "params": sub}, {"method": "info", "params": {}}]);
    let (status, body) = net.rpc(0, "sequence", Map::from_iter([("requests".into(), batch)])).await;
    assert_eq!(status, 200, "{body}");
    let text = json!(retrieve_failure_text(&account.id()));
    assert_eq!(body["results"], json!([{"code": 500, "body": text}]), "{body}");
    let params = account.store(Namespace(0), b"while renamed", now_ms(), TTL);
    assert_eq!(net.rpc(0, "store", params).await.0, 500);
    db.execute_batch("ALTER TABLE messages_away RENAME TO messages").unwrap();

    // It serves again, and nothing was lost.
    let after = store(&net, 0, &account, Namespace(0), b"after").await;
    let got = retrieve(&net, 0, &account, Namespace(0)).await;
    assert_eq!(hashes_of(&got), BTreeSet::from([kept.clone(), after]), "{got}");
    let (status, body) = net.rpc(0, "get_expiries", account.get_expiries(hashes, now_ms())).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expiries"][&kept].is_i64(), "{body}");
    let m = net.metrics(0).await;
    let line =
        "sesh_node_requests_total{endpoint=\"storage_rpc\",method=\"retrieve\",status=\"500\"} 1";
    assert!(m.contains(line), "{m}");
}

fn body_of(method: &str) -> Vec<u8> {
    json!({"method": method, "params": {}}).to_string().into_bytes()
}

/// The live rate limit: a burst of 600 from one client, refilled at 300 a second, then 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_the_rate_limit_gets_429() {
    let net = std::sync::Arc::new(Testnet::start("ratelimit", 1, &[]).await);
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let net = net.clone();
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..40 {
                statuses.push(net.rpc(0, "info", Map::new()).await.0);
            }
            statuses
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = tasks.join_next().await {
        statuses.extend(s.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let passed = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(passed + limited, statuses.len(), "{statuses:?}");
    // At most the bucket plus what refilled while the requests ran.
    assert!(passed as f64 <= 600.0 + 300.0 * elapsed + 1.0, "{passed} passed in {elapsed:.2} s");
    assert!(limited > 0, "none of {} requests in {elapsed:.2} s was limited", statuses.len());
    let m = net.metrics(0).await;
    assert_eq!(metric(&m, "sesh_node_rate_limited_total"), Some(limited as f64), "{m}");
}

/// A real 3-hop onion path through the network to a destination node: store and retrieve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onion_requests_through_a_real_path() {
    let net = Testnet::start("onion", 4, &[]).await;
    let hops: Vec<Hop> =
        net.nodes.iter().map(|n| Hop::from_ed25519(n.key.to_ed25519().unwrap()).unwrap()).collect();
    let me = Identity::generate(&mut OsRng);
    let account = Account::session(&me);
    for enc in [EncType::XChaCha20, EncType::AesGcm] {
        let data = format!("through the onion with {enc}");
        let store = json!({"method": "store", "params": account.store(Namespace(0), data.as_bytes(), now_ms(), TTL)});
        let req = build(
            &hops[..3],
            &Destination::Node(hops[3]),
            store.to_string().as_bytes(),
            enc,
            &mut OsRng,
        )
        .unwrap();
        let (status, body) = net.post(0, "/onion_req/v2", req.bytes).await;
        let reply = req.reply.read_v3(status, &body).unwrap();
        assert_eq!(reply.status, 200);
        let stored: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(stored["swarm"].as_object().unwrap().len(), 4, "{stored}");

        let retrieve =
            json!({"method": "retrieve", "params": account.retrieve(Namespace(0), now_ms(), None)});
        let req = build(
            &hops[1..4],
            &Destination::Node(hops[0]),
            retrieve.to_string().as_bytes(),
            enc,
            &mut OsRng,
        )
        .unwrap();
        let (status, body) = net.post(1, "/onion_req/v2", req.bytes).await;
        let reply = req.reply.read_v3(status, &body).unwrap();
        let got: Value = serde_json::from_slice(&reply.body).unwrap();
        assert!(
            got["messages"].as_array().unwrap().iter().any(|m| m["hash"] == stored["hash"]),
            "{got}"
        );
    }
    // A destination error comes back sealed, with its status inside.
    let bad = json!({"method": "retrieve", "params": {"pubkey": account.id().prefixed_hex()}});
    let req = build(
        &hops[..3],
        &Destination::Node(hops[3]),
        bad.to_string().as_bytes(),
        EncType::XChaCha20,
        &mut OsRng,
    )
    .unwrap();
    let (status, body) = net.post(0, "/onion_req/v2", req.bytes).await;
    assert_eq!(status, 200);
    match req.reply.read_v3(status, &body) {
        Err(sesh_onion::Error::DestinationStatus { status, .. }) => assert_eq!(status, 401),
        other => panic!("{other:?}"),
    }
    // A path through a node the network does not know: 502 from the hop before it.
    let stranger = Hop::from_ed25519(*Identity::generate(&mut OsRng).ed25519_public_key()).unwrap();
    let req = build(
        &[hops[0], stranger],
        &Destination::Node(hops[1]),
        b"{}",
        EncType::XChaCha20,
        &mut OsRng,
    )
    .unwrap();
    let (status, body) = net.post(0, "/onion_req/v2", req.bytes).await;
    assert_eq!(status, 502);
    assert!(String::from_utf8_lossy(&body).starts_with("Next node not found: "));
}

/// `kill -9` during a stream of stores; after a restart every acknowledged message is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_stores_survive_kill_9() {
    let mut net = Testnet::start("kill9", 1, &["--no-rate-limit"]).await;
    let seed: [u8; 32] =
        rand_core::RngCore::next_u64(&mut OsRng).to_le_bytes().repeat(4).try_into().unwrap();
    let me = Identity::from_seed(&sesh_identity::Seed::from_bytes(seed));
    let url = format!("{}/storage_rpc/v1", net.nodes[0].url);
    let http = net.http.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        let me = Identity::from_seed(&sesh_identity::Seed::from_bytes(seed));
        let account = Account::session(&me);
        for i in 0u64.. {
            let body = json!({"method": "store", "params": account.store(Namespace(0), &i.to_le_bytes(), now_ms(), TTL)});
            let Ok(resp) = http.post(&url).body(body.to_string()).send().await else { break };
            if resp.status() != 200 {
                break;
            }
            let Ok(v) = resp.bytes().await.map(|b| parse(&b)) else { break };
            if tx.send(v["hash"].as_str().unwrap().to_owned()).is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    net.nodes[0].kill9();
    let _ = writer.await;
    let mut acknowledged = BTreeSet::new();
    while let Ok(h) = rx.try_recv() {
        acknowledged.insert(h);
    }
    assert!(acknowledged.len() > 20, "only {} stores acknowledged", acknowledged.len());
    println!("{} stores acknowledged before kill -9", acknowledged.len());

    net.nodes[0].restart_now();
    net.wait_ready(Duration::from_secs(30)).await;
    let account = Account::session(&me);
    let mut found = BTreeSet::new();
    let mut last: Option<String> = None;
    loop {
        let (status, body) =
            net.rpc(0, "retrieve", account.retrieve(Namespace(0), now_ms(), last.as_deref())).await;
        assert_eq!(status, 200, "{body}");
        let page = hashes_of(&body);
        last = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| m["hash"].as_str().unwrap().to_owned());
        found.extend(page);
        if body["more"] != json!(true) {
            break;
        }
    }
    let missing: Vec<_> = acknowledged.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged stores lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
}

/// Expired messages are removed by the timer, from the database itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_messages_are_removed_by_the_timer() {
    let net = Testnet::start("expiry", 2, &["--expiry-ms", "300"]).await;
    let me = Identity::generate(&mut OsRng);
    let account = Account::session(&me);
    let short = store(&net, 0, &account, Namespace(0), b"short-lived").await;
    let long = store(&net, 0, &account, Namespace(0), b"long-lived").await;
    // Shorten one to a second from now (TTLs under 10 s cannot be stored).
    let expiry = now_ms() + 1_000;
    let (status, body) = net
        .rpc(1, "expire", account.expire(std::slice::from_ref(&short), expiry, ExpireMode::Shorten))
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let on_disk: Vec<BTreeSet<String>> =
            net.nodes.iter().map(|n| hashes_on_disk(&n.dir)).collect();
        if on_disk.iter().all(|h| *h == BTreeSet::from([long.clone()])) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not expired: {on_disk:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(now_ms() >= expiry, "removed before it expired");
    let m = net.metrics(0).await;
    assert_eq!(metric(&m, "sesh_node_expired_messages_total"), Some(1.0), "{m}");
}

/// SIGTERM stops the node cleanly (exit status 0), and it comes back with its data.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_gracefully() {
    let mut net = Testnet::start("sigterm", 1, &[]).await;
    let me = Identity::generate(&mut OsRng);
    let account = Account::session(&me);
    let hash = store(&net, 0, &account, Namespace(0), b"still here").await;
    let status = net.nodes[0].terminate();
    assert!(status.success(), "{status:?}; log:\n{}", net.nodes[0].log());
    assert!(net.nodes[0].log().contains("stopped"));
    net.nodes[0].restart_now();
    net.wait_ready(Duration::from_secs(30)).await;
    assert_eq!(hashes_of(&retrieve(&net, 0, &account, Namespace(0)).await), BTreeSet::from([hash]));
}

/// HTTPS with a self-signed certificate (the default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_a_self_signed_certificate() {
    let command = [common::example_binary("node").into_os_string()];
    let net = Testnet::start_command("tls", 1, &[], &command).await;
    let (node, dir) = (&net.nodes[0], &net.nodes[0].dir);
    assert!(node.url.starts_with("https://"), "{}", node.url);
    let http = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = http
            .post(format!("{}/storage_rpc/v1", node.url))
            .body(body_of("info"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            assert_eq!(v["version"], json!([2, 8, 0]));
            break;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dir.join("tls-cert.pem").exists());
}

/// The swarms of a published state.
fn swarm_map(state: &Value) -> sesh_swarm::SwarmMap {
    let pairs = state["nodes"].as_array().unwrap().iter().filter_map(|n| {
        let mut key = [0u8; 32];
        hex::decode_to_slice(n["pubkey_ed25519"].as_str()?, &mut key).ok()?;
        let id = u64::from_str_radix(n["swarm"].as_str()?, 16).ok()?;
        Some((sesh_swarm::NodeId::from_bytes(key), sesh_swarm::SwarmId::new(id).ok()?))
    });
    sesh_swarm::SwarmMap::from_assignments(pairs).unwrap()
}

/// Hashes in a node's SQLite file, read directly.
fn hashes_on_disk(dir: &std::path::Path) -> BTreeSet<String> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join("storage.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = db.prepare("SELECT hash FROM messages").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// 13 nodes make one swarm; a 14th splits it in two. Every node hands over the messages it no
/// longer owns (and deletes them), the newcomer fetches those it now owns, and a node asked
/// about an account of the other swarm answers 421 with that swarm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swarm_split_hands_messages_over() {
    let mut net = Testnet::start("split", 13, &[]).await;
    assert_eq!(swarm_map(&net.state().await).swarm_count(), 1);
    let people: Vec<Identity> = (0..24).map(|_| Identity::generate(&mut OsRng)).collect();
    let mut stored = Vec::new();
    for (i, me) in people.iter().enumerate() {
        let hash = store(
            &net,
            i % 13,
            &Account::session(me),
            Namespace(0),
            format!("before the split {i}").as_bytes(),
        )
        .await;
        stored.push(hash);
    }

    net.add_node().await;
    net.wait_ready(Duration::from_secs(60)).await;
    // The newcomer learns the others' addresses as their introductions reach it (a relay
    // round; longer on a loaded machine); the 421 answers below list the members a node knows.
    net.wait_known(Duration::from_secs(60)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let map = loop {
        let map = swarm_map(&net.state().await);
        if map.swarm_count() == 2 && map.node_count() == 14 {
            break map;
        }
        assert!(std::time::Instant::now() < deadline, "no split: {}", net.state().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Where each message belongs, and what every node should hold once handover is done.
    let owner = |me: &Identity| {
        let id = Account::session(me).id();
        map.swarm_for(sesh_swarm::SwarmSpace::of_account(&id.to_bytes())).unwrap()
    };
    let expected: Vec<BTreeSet<String>> = net
        .nodes
        .iter()
        .map(|n| {
            let mine = map.swarm_of(&n.key).unwrap();
            people
                .iter()
                .zip(&stored)
                .filter(|(p, _)| owner(p) == mine)
                .map(|(_, h)| h.clone())
                .collect()
        })
        .collect();
    assert!(
        expected.iter().all(|e| !e.is_empty() && e.len() < people.len()),
        "a lopsided split: {expected:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let on_disk: Vec<BTreeSet<String>> =
            net.nodes.iter().map(|n| hashes_on_disk(&n.dir)).collect();
        if on_disk == expected {
            break;
        }
        if std::time::Instant::now() > deadline {
            for (i, (got, want)) in on_disk.iter().zip(&expected).enumerate() {
                eprintln!(
                    "node {i}: {} on disk, {} expected; log:\n{}",
                    got.len(),
                    want.len(),
                    net.nodes[i].log()
                );
            }
            panic!("handover did not converge");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Clients are served by the owners and redirected by the others.
    for (me, hash) in people.iter().zip(&stored).take(6) {
        let account = Account::session(me);
        let swarm = owner(me);
        for (i, n) in net.nodes.iter().enumerate() {
            let (status, body) =
                net.rpc(i, "retrieve", account.retrieve(Namespace(0), now_ms(), None)).await;
            if map.swarm_of(&n.key) == Some(swarm) {
                assert_eq!(status, 200, "{body}");
                assert_eq!(hashes_of(&body), BTreeSet::from([hash.clone()]));
            } else {
                assert_eq!(status, 421, "{body}");
                assert_eq!(body["swarm"], json!(format!("{:x}", swarm.get())));
                let listed: BTreeSet<String> = body["snodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["pubkey_ed25519"].as_str().unwrap().to_owned())
                    .collect();
                let members: BTreeSet<String> =
                    map.members(swarm).iter().map(|k| hex::encode(k.as_bytes())).collect();
                assert_eq!(listed, members);
            }
        }
    }
}
