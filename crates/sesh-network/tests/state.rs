//! The network state's parser: round trips, every broken field refused by name, forged and
//! replayed signatures refused, arbitrary input never a panic.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use proptest::prelude::*;
use serde_json::{Value, json};
use sesh_identity::{Identity, NodeId, X25519PublicKey};
use sesh_network::auth::{self, SignatureHeaders};
use sesh_network::{Error, NetworkState, NodeRecord, STATE_PATH};
use sesh_swarm::{SwarmId, SwarmMap};

fn record(k: u8, port: u16) -> NodeRecord {
    NodeRecord {
        id: NodeId::from_bytes([k; 32]),
        x25519: X25519PublicKey::from_bytes([k ^ 0x55; 32]),
        ip: std::net::Ipv4Addr::new(127, 0, 0, k),
        port,
        tls: k.is_multiple_of(2),
    }
}

fn state(n: u8, swarms: u64) -> NetworkState {
    let records: Vec<NodeRecord> = (1..=n).map(|k| record(k, 20_000 + u16::from(k))).collect();
    let map = SwarmMap::from_assignments(
        records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, SwarmId::new(i as u64 % swarms * 1000).unwrap())),
    )
    .unwrap();
    NetworkState::new(42, [21, 0], [9; 32], records, map).unwrap()
}

#[test]
fn every_broken_field_is_refused_by_name() {
    let good = state(4, 2).to_json();
    let cases: &[(&str, Option<usize>, Value)] = &[
        ("height", None, json!(-1)),
        ("hf", None, json!([21])),
        ("hf", None, json!([21, 70_000])),
        ("block_hash", None, json!("00")),
        ("nodes", None, json!({})),
        ("pubkey_ed25519", Some(2), json!("zz")),
        ("pubkey_x25519", Some(0), json!(7)),
        ("ip", Some(1), json!("::1")),
        ("port", Some(3), json!(0)),
        ("port", Some(3), json!(70_000)),
        ("tls", Some(0), json!("yes")),
        ("swarm", Some(1), json!("ffffffffffffffff")),
        ("swarm", Some(1), json!(12)),
    ];
    for (name, index, value) in cases {
        let mut v = good.clone();
        match index {
            None => v[*name] = value.clone(),
            Some(i) => v["nodes"][*i][*name] = value.clone(),
        }
        let err = NetworkState::from_value(&v).unwrap_err();
        match (index, &err) {
            (None, Error::Field { field, .. }) => assert_eq!(field, name),
            (Some(i), Error::NodeField { index, field, .. }) => {
                assert_eq!((index, field), (i, name));
            }
            _ => panic!("{name}: {err}"),
        }
        assert!(err.to_string().contains(name), "{err}");
    }
    // A node twice.
    let mut v = good.clone();
    let first = v["nodes"][0].clone();
    v["nodes"].as_array_mut().unwrap().push(first);
    assert!(matches!(NetworkState::from_value(&v), Err(Error::DuplicateNode(_))));
    assert!(matches!(NetworkState::from_json(b"[1]"), Err(Error::NotJson(_))));
    assert!(matches!(NetworkState::from_json(b"{"), Err(Error::NotJson(_))));
}

#[test]
fn signatures_bind_the_exact_state_and_the_signer() {
    let authority = Identity::generate(&mut rand_core::OsRng);
    let pinned = NodeId::from_identity(&authority);
    let body = state(5, 2).to_json().to_string().into_bytes();
    let now = 1_700_000_000_000;
    let signed = auth::sign(&authority, STATE_PATH, now, &body);
    let check = |headers: &[(&'static str, String); 3], body: &[u8], pinned: &NodeId| {
        let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        NetworkState::from_signed(body, &SignatureHeaders::from_lookup(lookup), pinned, now)
    };
    assert_eq!(check(&signed, &body, &pinned).unwrap(), state(5, 2));
    // One node's port changed after signing.
    let forged = String::from_utf8(body.clone()).unwrap().replace("20003", "20009");
    assert_eq!(check(&signed, forged.as_bytes(), &pinned), Err(Error::BadSignature));
    // Correctly signed by somebody else.
    let other = Identity::generate(&mut rand_core::OsRng);
    let by_other = auth::sign(&other, STATE_PATH, now, &body);
    assert!(matches!(check(&by_other, &body, &pinned), Err(Error::WrongSigner { .. })));
    // A node's signature for another path is not a state signature.
    let elsewhere = auth::sign(&authority, "/swarm/v1/push", now, &body);
    assert_eq!(check(&elsewhere, &body, &pinned), Err(Error::BadSignature));
}

#[test]
fn lookups_follow_the_map() {
    let s = state(9, 3);
    for r in s.nodes() {
        let swarm = s.swarm_of(&r.id).unwrap();
        assert!(s.members(swarm).contains(&r));
    }
    let account = [0x05; 33];
    let members = s.members_for(&account);
    assert_eq!(members.len(), 3);
    let json = s.swarm_json(s.swarm_for(&account));
    assert_eq!(json["snodes"].as_array().unwrap().len(), 3);
    assert_eq!(s.swarm_json(None)["swarm"], "ffffffffffffffff");
    assert_eq!(record(1, 22).url("/x"), "http://127.0.0.1:22/x");
    assert_eq!(record(2, 22).url("/x"), "https://127.0.0.2:22/x");
}

proptest! {
    #[test]
    fn json_round_trips(n in 0u8..30, swarms in 1u64..5) {
        let s = state(n, swarms);
        prop_assert_eq!(NetworkState::from_json(s.to_json().to_string().as_bytes()).unwrap(), s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = NetworkState::from_json(&bytes);
    }

    #[test]
    fn mutated_states_are_refused_or_parsed_never_panic(at in 0usize..2000, byte in any::<u8>()) {
        let mut text = state(6, 2).to_json().to_string().into_bytes();
        if let Some(b) = text.get_mut(at) {
            *b = byte;
        }
        let _ = NetworkState::from_json(&text);
    }
}
