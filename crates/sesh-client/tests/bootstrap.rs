//! Finding the network: which seeds a client accepts, the requests it sends, how it reads a
//! seed's list, and what it keeps of the lists several nodes give.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sesh_client::Error;
use sesh_client::bootstrap::{
    REFRESH_FROM, Seed, agree, read_refresh_answer, read_seed_answer, refresh_from,
    refresh_request, seed_request,
};
use sesh_identity::{Identity, NodeId};
use sesh_network::{NetworkState, NodeRecord, oxend};
use sesh_swarm::{SwarmId, SwarmMap};

fn record(i: u8) -> NodeRecord {
    let id = Identity::from_seed(&sesh_identity::Seed::from_bytes([i + 1; 32]));
    NodeRecord {
        id: NodeId::from_identity(&id),
        x25519: *id.x25519_public_key(),
        ip: format!("10.0.{i}.1").parse().unwrap(),
        port: 22_000 + u16::from(i),
        tls: true,
    }
}

/// Nodes `0..n`, in two swarms.
fn state_of(records: &[NodeRecord]) -> NetworkState {
    let map = SwarmMap::from_assignments(
        records
            .iter()
            .map(|r| (r.id, SwarmId::new(u64::from(r.id.as_bytes()[0] % 2) + 7).unwrap())),
    )
    .unwrap();
    NetworkState::new(50, [21, 0], [3; 32], records.iter().copied(), map).unwrap()
}

fn network(n: u8) -> NetworkState {
    state_of(&(0..n).map(record).collect::<Vec<_>>())
}

fn why(text: &str) -> &'static str {
    match Seed::parse(text) {
        Err(Error::BadSeed { why, .. }) => why,
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn seeds_must_be_authenticated_or_on_loopback() {
    let pin = "ab".repeat(32);
    for ok in [
        "http://127.0.0.1:22399/json_rpc",
        "http://127.1.2.3/json_rpc",
        "http://localhost:8080/json_rpc",
        "http://[::1]:22399/json_rpc",
    ] {
        let seed = Seed::parse(ok).unwrap();
        assert!(seed.is_plain() && seed.url() == ok, "{ok}");
    }
    let colons = (0..32).map(|_| "AB").collect::<Vec<_>>().join(":");
    for pinned in [
        format!("https://seed1.getsession.org:4443/json_rpc#sha256:{pin}"),
        format!("https://203.0.113.9/json_rpc#sha256={colons}"),
        format!("https://127.0.0.1:22100/json_rpc#sha256:{pin}"),
    ] {
        let seed = Seed::parse(&pinned).unwrap();
        assert_eq!(seed.pin(), Some(&[0xab; 32]), "{pinned}");
        assert!(!seed.is_plain() && !seed.url().contains('#'));
    }
    assert!(
        why("https://seed1.getsession.org:4443/json_rpc").contains("without a pinned certificate")
    );
    assert!(why("http://seed1.getsession.org/json_rpc").contains("off loopback"));
    assert!(why("http://10.0.0.1:22399/json_rpc").contains("off loopback"));
    assert!(why("ftp://127.0.0.1/json_rpc").contains("not an http"));
    assert!(
        why("127.0.0.1:22399").contains("not an http")
            || why("127.0.0.1:22399").contains("not a URL")
    );
    assert!(why("not a url").contains("not a URL"));
    assert!(why("https://x.example/json_rpc#sha256:abcd").contains("64 hex digits"));
    assert!(why("https://x.example/json_rpc#md5:abcd").contains("#sha256:"));
    let e = Seed::parse("http://seed1.getsession.org/json_rpc").unwrap_err();
    assert!(
        e.to_string().starts_with("the seed http://seed1.getsession.org/json_rpc is plain HTTP"),
        "{e}"
    );
}

#[test]
fn the_requests_are_what_a_seed_and_a_node_answer() {
    let state = network(6);
    let seed: Value = serde_json::from_slice(&seed_request()).unwrap();
    assert_eq!(seed["method"], "get_n_service_nodes");
    let answer = oxend::json_rpc(&state, &seed_request(), &mut ChaCha20Rng::seed_from_u64(1));
    let pool = read_seed_answer(answer.to_string().as_bytes(), true).unwrap();
    assert_eq!(
        pool.nodes().copied().collect::<Vec<_>>(),
        state.nodes().copied().collect::<Vec<_>>()
    );
    assert_eq!((pool.map(), pool.height), (state.map(), 50));

    let refresh: Value = serde_json::from_slice(&refresh_request()).unwrap();
    assert_eq!(refresh["method"], "oxend_request");
    assert_eq!(refresh["params"]["endpoint"], "get_service_nodes");
    let query = oxend::ServiceNodesQuery::parse(Some(&refresh["params"]["params"])).unwrap();
    let result = query.answer(&state, &mut ChaCha20Rng::seed_from_u64(2));
    let node_answer = json!({"result": result, "hf": [21, 0], "t": 1});
    assert_eq!(read_refresh_answer(node_answer.to_string().as_bytes(), true).unwrap(), pool);

    // A seed's JSON-RPC error, and answers that are not lists.
    let error = json!({"jsonrpc": "2.0", "id": 0, "error": {"code": -32601, "message": "Method not found"}});
    assert_eq!(
        read_seed_answer(error.to_string().as_bytes(), true),
        Err(Error::SeedRefused { code: -32601, message: "Method not found".into() })
    );
    for bad in
        [&b"<html>"[..], b"{}", b"{\"result\": 5}", b"{\"result\": {\"service_node_states\": [1]}}"]
    {
        assert!(matches!(read_seed_answer(bad, true), Err(Error::BadNodeList(_))), "{bad:?}");
        assert!(matches!(read_refresh_answer(bad, true), Err(Error::BadNodeList(_))), "{bad:?}");
    }
}

#[test]
fn refreshes_ask_three_different_nodes() {
    let pool = network(10);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut seen = BTreeSet::new();
    for _ in 0..50 {
        let asked = refresh_from(&pool, &mut rng).unwrap();
        let ids: BTreeSet<NodeId> = asked.iter().map(|n| n.id).collect();
        assert_eq!(ids.len(), REFRESH_FROM);
        seen.extend(ids);
    }
    assert_eq!(seen.len(), 10, "every node is asked some time");
    assert_eq!(refresh_from(&network(2), &mut rng), Err(Error::TooFewNodes { have: 2, need: 3 }));
}

#[test]
fn the_pool_keeps_what_every_answer_lists_alike() {
    let pool = network(12);
    let honest = pool.clone();
    assert_eq!(agree(&pool, &[honest.clone(), honest.clone(), honest.clone()]).unwrap(), pool);

    // One node leaves two out; one lists a node at another port: those three are dropped.
    let all: Vec<NodeRecord> = (0..12).map(record).collect();
    let short = state_of(&all[2..]);
    let mut moved = all.clone();
    moved[5].port = 1;
    let agreed = agree(&pool, &[honest.clone(), short, state_of(&moved)]).unwrap();
    let kept: BTreeSet<NodeId> = agreed.nodes().map(|n| n.id).collect();
    let expected: BTreeSet<NodeId> =
        all.iter().enumerate().filter(|(i, _)| ![0, 1, 5].contains(i)).map(|(_, n)| n.id).collect();
    assert_eq!(kept, expected);
    assert!(agreed.nodes().all(|n| agreed.swarm_of(&n.id) == pool.swarm_of(&n.id)));

    // A node listing only its friends cannot shrink the pool to them.
    let friends = state_of(&all[..4]);
    assert_eq!(
        agree(&pool, &[honest.clone(), honest.clone(), friends]),
        Err(Error::NoAgreement { asked: 3, agreed: 4, need: 9 })
    );
    // A swarm that differs between answers drops the node too.
    let other_swarms = {
        let map = SwarmMap::from_assignments(all.iter().map(|r| (r.id, SwarmId::new(99).unwrap())))
            .unwrap();
        NetworkState::new(50, [21, 0], [3; 32], all.iter().copied(), map).unwrap()
    };
    assert!(matches!(
        agree(&pool, &[honest.clone(), other_swarms]),
        Err(Error::NoAgreement { agreed: 0, .. })
    ));
    assert!(matches!(agree(&pool, &[]), Err(Error::NoAgreement { .. })));
}

/// A node's `get_swarm` answer (the storage server's swarm JSON) reads back as the swarm's
/// members; members without an address are left out; a broken member refuses the answer.
#[test]
fn a_swarm_answer_reads_as_its_members() {
    use sesh_client::bootstrap::{any_node, read_swarm, swarm_request};
    let state = network(10);
    let account = [5u8; 33];
    let request: Value = serde_json::from_slice(&swarm_request(&account)).unwrap();
    assert_eq!(request, json!({"method": "get_swarm", "params": {"pubkey": hex::encode(account)}}));
    let mut answer = state.swarm_json(state.swarm_for(&account));
    let members = read_swarm(answer.to_string().as_bytes(), true).unwrap();
    let expected: Vec<NodeRecord> = state.members_for(&account).into_iter().copied().collect();
    assert_eq!(members, expected);
    answer["snodes"][0]["ip"] = json!("0.0.0.0");
    assert_eq!(read_swarm(answer.to_string().as_bytes(), true).unwrap().len(), expected.len() - 1);
    for (field, value) in
        [("pubkey_x25519", json!("zz")), ("port_https", json!(0)), ("ip", json!(5))]
    {
        let mut broken = state.swarm_json(state.swarm_for(&account));
        broken["snodes"][1][field] = value;
        if field == "port_https" {
            broken["snodes"][1]["port"] = json!("0");
        }
        let err = read_swarm(broken.to_string().as_bytes(), true).unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    let none = json!({"snodes": [], "swarm": "ffffffffffffffff"});
    assert_eq!(read_swarm(none.to_string().as_bytes(), true), Err(Error::NoSwarm));
    assert!(matches!(read_swarm(b"nope", true), Err(Error::BadNodeList(_))));
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    assert!(state.node(&any_node(&state, &mut rng).unwrap().id).is_some());
    assert!(any_node(&NetworkState::default(), &mut rng).is_err());
}
