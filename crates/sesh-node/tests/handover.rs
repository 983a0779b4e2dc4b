//! The rules of moving messages between swarms: the wire form, what to push where, what a
//! receiver keeps, fetch requests, their authorization and pages, and when a handover is due.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Value, json};
use sesh_identity::{Identity, NodeId, Seed};
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::Error;
use sesh_node::handover::{
    Accepted, FetchRequest, PAGE, accept, accepted, from_wire, is_authorised, push_answer,
    push_body, push_plan, read_page, read_push, swarm_changed, to_wire,
};
use sesh_rpc::client::Account;
use sesh_rpc::proof::StoreProof;
use sesh_rpc::store::Message;
use sesh_rpc::{
    AccountId, Auth, Namespace, Request, SignedSubaccount, SubaccountToken, message_hash,
};
use sesh_swarm::{SwarmId, SwarmMap};

const NOW: i64 = 1_700_000_000_000;

fn identity(i: usize) -> Identity {
    Identity::from_seed(&Seed::from_bytes([i as u8 + 1; 32]))
}

fn id(i: usize) -> NodeId {
    NodeId::from_identity(&identity(i))
}

fn record(i: usize) -> NodeRecord {
    NodeRecord {
        id: id(i),
        x25519: *identity(i).x25519_public_key(),
        ip: "127.0.0.1".parse().unwrap(),
        port: 20_000 + i as u16,
        tls: false,
    }
}

const SWARMS: [u64; 3] = [0x1000_0000_0000_0000, 0x8000_0000_0000_0000, 0xc000_0000_0000_0000];

/// Nodes `0..n` (plus `extra` nodes with no swarm), node `i` in swarm `swarm_of(i)`.
fn state_with(n: usize, extra: usize, swarm_of: impl Fn(usize) -> u64) -> NetworkState {
    let map =
        SwarmMap::from_assignments((0..n).map(|i| (id(i), SwarmId::new(swarm_of(i)).unwrap())))
            .unwrap();
    NetworkState::new(5, [21, 0], [7; 32], (0..n + extra).map(record), map).unwrap()
}

/// Nine nodes in three swarms (node `i` in `SWARMS[i % 3]`), and node 9 in none.
fn state() -> NetworkState {
    state_with(9, 1, |i| SWARMS[i % 3])
}

fn swarm(i: usize) -> SwarmId {
    SwarmId::new(SWARMS[i]).unwrap()
}

/// The message a store by `owner` makes (signed, where its namespace needs it), stored at
/// `min(expiry - 1 s, NOW)` until `expiry`.
fn message(owner: &Identity, namespace: i16, data: &[u8], expiry: i64) -> Message {
    let timestamp = (expiry - 1000).min(NOW);
    let params =
        Account::session(owner).store(Namespace(namespace), data, timestamp, expiry - timestamp);
    let Ok(Request::Store(store)) = sesh_rpc::request::parse("store", &params) else {
        panic!("a client's store parses");
    };
    Message::from_store(store)
}

/// An account owner that `state` places in swarm `want`.
fn account_in(state: &NetworkState, want: SwarmId, rng: &mut ChaCha20Rng) -> Identity {
    loop {
        let owner = random_account(rng);
        if state.swarm_for(&Account::session(&owner).id().to_bytes()) == Some(want) {
            return owner;
        }
    }
}

fn random_account(rng: &mut ChaCha20Rng) -> Identity {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    Identity::from_seed(&Seed::from_bytes(seed))
}

fn hashes(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.hash.as_str()).collect()
}

// ---- the wire form ----

proptest! {
    /// Any message a store could make (an expiry in milliseconds, a proof where the namespace
    /// takes one, an Ed25519 key only with a `05` account) comes back as it went.
    #[test]
    fn wire_form_round_trips(
        prefix in prop_oneof![Just(5u8), Just(3), any::<u8>()],
        key: [u8; 32],
        namespace: i16,
        data in prop::collection::vec(any::<u8>(), 0..300),
        timestamp: i64,
        expiry in 1_000_000_000i64..,
        signature in prop::array::uniform32(any::<u8>()),
        signed_at in 1_000_000_000i64..,
        ed: Option<[u8; 32]>,
        sub: Option<([u8; 32], [u8; 4])>,
    ) {
        let account = AccountId::new(prefix, key);
        let namespace = Namespace(namespace);
        let subaccount = sub.map(|(key, head)| {
            let mut token = [0u8; 36];
            token[..4].copy_from_slice(&head);
            token[4..].copy_from_slice(&key);
            SignedSubaccount { token: SubaccountToken(token), signature: [head[0]; 64] }
        });
        let auth = Auth {
            signature: [signature, signature].concat().try_into().unwrap(),
            pubkey_ed25519: ed.filter(|_| prefix == 5),
            subaccount,
        };
        let m = Message {
            pubkey: account,
            hash: message_hash(&account, namespace, &data),
            namespace,
            timestamp,
            expiry,
            data,
            proof: (!namespace.is_public_inbox()).then_some(StoreProof { auth, signed_at }),
        };
        let wire = to_wire(&m);
        prop_assert_eq!(from_wire(&wire), Some(m.clone()));
        // Through the text of a push, too.
        let body: Value = serde_json::from_slice(&push_body(std::slice::from_ref(&m))).unwrap();
        prop_assert_eq!(from_wire(&body["messages"][0]), Some(m));
    }
}

#[test]
fn a_tampered_message_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let m = message(&random_account(&mut rng), -10, b"hello", NOW + 60_000);
    let good = to_wire(&m);
    assert_eq!(from_wire(&good), Some(m.clone()));
    let other = message(&random_account(&mut rng), -10, b"hello!", NOW);
    let tamper: Vec<(&str, Value)> = vec![
        ("hash", json!(other.hash)),
        ("hash", json!(m.hash.to_uppercase())),
        ("data", json!(STANDARD.encode(b"hellp"))),
        ("data", json!("not base64!")),
        ("namespace", json!(-11)),
        ("namespace", json!(40_000)),
        ("namespace", json!("-10")),
        ("pubkey", json!(other.pubkey.prefixed_hex())),
        ("pubkey", json!("05")),
        ("timestamp", json!("soon")),
        ("expiry", json!(1.5)),
    ];
    for (field, value) in tamper {
        let mut v = good.clone();
        v[field] = value.clone();
        assert_eq!(from_wire(&v), None, "{field} = {value}");
    }
    for field in ["pubkey", "hash", "namespace", "timestamp", "expiry", "data"] {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(field);
        assert_eq!(from_wire(&v), None, "without {field}");
    }
    for v in [json!(null), json!([]), json!("x"), json!(5)] {
        assert_eq!(from_wire(&v), None);
    }
}

// ---- push plans ----

proptest! {
    /// The plan holds exactly the messages my swarm does not own, each under its owner, in
    /// their order; a node without a swarm pushes everything.
    #[test]
    fn push_plan_groups_by_owner(seed: u64, count in 0usize..60, me in 0usize..10) {
        let state = state();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let messages: Vec<Message> = (0..count)
            .map(|i| message(&random_account(&mut rng), (i % 3) as i16, &[i as u8], NOW))
            .collect();
        let mine = state.swarm_of(&id(me));
        prop_assert_eq!(mine.is_some(), me < 9);
        let plan = push_plan(&state, &id(me), messages.clone());
        let mut expected: BTreeMap<SwarmId, Vec<Message>> = BTreeMap::new();
        for m in &messages {
            let owner = state.swarm_for(&m.pubkey.to_bytes()).unwrap();
            prop_assert!(SWARMS.contains(&owner.get()));
            if Some(owner) != mine {
                expected.entry(owner).or_default().push(m.clone());
            }
        }
        prop_assert_eq!(&plan, &expected);
        prop_assert!(mine.is_none_or(|s| !plan.contains_key(&s)));
        prop_assert!(plan.values().all(|v| !v.is_empty()));
    }
}

#[test]
fn push_plan_without_swarms_pushes_nothing() {
    let state = state_with(0, 3, |_| 0);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let messages: Vec<Message> =
        (0..10).map(|i| message(&random_account(&mut rng), 0, &[i], NOW)).collect();
    assert!(push_plan(&state, &id(0), messages).is_empty());
}

// ---- what a receiver keeps ----

#[test]
fn accept_keeps_unexpired_messages_of_my_swarm() {
    let state = state();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let me = id(1); // swarm 1
    let mine = swarm(1);
    let keep1 = message(&account_in(&state, mine, &mut rng), 0, b"a", NOW + 1);
    let keep2 = message(&account_in(&state, mine, &mut rng), 5, b"b", NOW + 86_400_000);
    let expired = message(&account_in(&state, mine, &mut rng), 0, b"c", NOW);
    let long_expired = message(&account_in(&state, mine, &mut rng), 0, b"d", 1_000_000_000_000);
    let other = message(&account_in(&state, swarm(0), &mut rng), 0, b"e", NOW + 1000);
    let other2 = message(&account_in(&state, swarm(2), &mut rng), 0, b"f", NOW + 1000);
    let mut tampered = to_wire(&message(&account_in(&state, mine, &mut rng), 0, b"g", NOW + 1000));
    tampered["data"] = json!(STANDARD.encode(b"h"));
    let list = json!([
        to_wire(&keep1),
        to_wire(&expired),
        to_wire(&other),
        tampered,
        "not a message",
        {"hash": keep2.hash},
        to_wire(&keep2),
        to_wire(&long_expired),
        to_wire(&other2),
        null,
    ]);
    let got = accept(&state, &me, NOW, Some(&list));
    assert_eq!(hashes(&got.keep), vec![keep1.hash.as_str(), keep2.hash.as_str()]);
    assert_eq!(got.keep, vec![keep1.clone(), keep2.clone()]);
    assert_eq!((got.not_ours, got.malformed), (4, 4));

    // A node of another swarm keeps only its own; a node without a swarm keeps nothing.
    let theirs = accept(&state, &id(0), NOW, Some(&list));
    assert_eq!(theirs.keep, vec![other]);
    assert_eq!((theirs.not_ours, theirs.malformed), (5, 4));
    let nobody = accept(&state, &id(9), NOW, Some(&list));
    assert!(nobody.keep.is_empty());
    assert_eq!((nobody.not_ours, nobody.malformed), (6, 4));

    // No list, or not a list: nothing.
    for v in [None, Some(&json!({"a": 1})), Some(&json!("x")), Some(&json!([]))] {
        assert_eq!(accept(&state, &me, NOW, v), Accepted::default());
    }

    // The same through a push body.
    let body = json!({"messages": list}).to_string();
    assert_eq!(read_push(&state, &me, NOW, body.as_bytes()).unwrap(), got);
    let body = push_body(&[keep1.clone(), other2]);
    let pushed = read_push(&state, &me, NOW, &body).unwrap();
    assert_eq!((pushed.keep, pushed.not_ours, pushed.malformed), (vec![keep1.clone()], 1, 0));
    assert!(matches!(read_push(&state, &me, NOW, b"{"), Err(Error::BadRequest(_))));
    assert_eq!(read_push(&state, &me, NOW, b"{}").unwrap(), Accepted::default());

    // The receiver's answer, read by the pusher.
    let answer = push_answer(&[keep1.clone(), keep2.clone()], 1);
    assert_eq!(answer["new"], 1);
    assert_eq!(accepted(answer.to_string().as_bytes()), vec![keep1.hash, keep2.hash]);
    assert!(accepted(b"{\"accepted\": 5}").is_empty());
    assert_eq!(accepted(b"{\"accepted\": [\"a\", 5, \"b\"]}"), vec!["a", "b"]);
    assert!(accepted(b"nope").is_empty());
}

// ---- fetch requests ----

proptest! {
    #[test]
    fn fetch_requests_round_trip(swarm in 0..u64::MAX, after: i64, limit in 1..=PAGE) {
        let ask = FetchRequest { swarm: SwarmId::new(swarm).unwrap(), after, limit };
        prop_assert_eq!(FetchRequest::parse(&ask.to_body()).unwrap(), ask);
    }

    /// Whatever the limit, the request holds 1..=PAGE.
    #[test]
    fn fetch_limit_is_clamped(limit: u64) {
        let body = json!({"swarm": "abc", "after": 0, "limit": limit}).to_string();
        let ask = FetchRequest::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(ask.limit, (limit as usize).clamp(1, PAGE));
    }
}

#[test]
fn fetch_requests_are_checked() {
    let parse = |v: Value| FetchRequest::parse(v.to_string().as_bytes());
    let ok = parse(json!({"swarm": "1f", "after": -4})).unwrap();
    assert_eq!(ok, FetchRequest { swarm: SwarmId::new(0x1f).unwrap(), after: -4, limit: PAGE });
    for (limit, want) in [
        (json!(0), 1),
        (json!(1), 1),
        (json!(PAGE), PAGE),
        (json!(PAGE + 1), PAGE),
        (json!(u64::MAX), PAGE),
        (json!(-3), PAGE),
        (json!("7"), PAGE),
        (json!(7.5), PAGE),
        (json!(null), PAGE),
    ] {
        let ask = parse(json!({"swarm": "1f", "after": 0, "limit": limit})).unwrap();
        assert_eq!(ask.limit, want, "limit {limit}");
    }
    let bad = [
        json!({"after": 0}),
        json!({"swarm": 31, "after": 0}),
        json!({"swarm": "xyz", "after": 0}),
        json!({"swarm": "", "after": 0}),
        json!({"swarm": "ffffffffffffffff", "after": 0}),
        json!({"swarm": "10000000000000000", "after": 0}),
        json!({"swarm": "1f"}),
        json!({"swarm": "1f", "after": "0"}),
        json!({"swarm": "1f", "after": 1.5}),
        json!({"swarm": "1f", "after": u64::MAX}),
        json!([1, 2]),
    ];
    for body in bad {
        match parse(body.clone()) {
            Err(Error::BadRequest(why)) => assert!(why.contains("\"swarm\": hex"), "{why}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert_eq!(FetchRequest::parse(b"not json"), Err(Error::BadRequest("body is not JSON".into())));
}

#[test]
fn only_members_may_fetch() {
    let state = state();
    let ask = FetchRequest { swarm: swarm(2), after: 0, limit: 10 };
    for i in [2, 5, 8] {
        assert_eq!(ask.authorize(&state, &id(i)), Ok(()));
    }
    for i in [0, 1, 3, 4, 6, 7, 9, 42] {
        assert_eq!(ask.authorize(&state, &id(i)), Err(Error::NotMember), "node {i}");
    }
    // A swarm that does not exist has no members.
    let nowhere = FetchRequest { swarm: SwarmId::new(5).unwrap(), after: 0, limit: 10 };
    assert_eq!(nowhere.authorize(&state, &id(0)), Err(Error::NotMember));
}

/// Rows numbered from 100, alternating between accounts of `swarm(0)` and `swarm(1)`.
fn rows(state: &NetworkState, n: usize) -> Vec<(i64, Message)> {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    (0..n)
        .map(|i| {
            let account = account_in(state, swarm(i % 2), &mut rng);
            (100 + i as i64, message(&account, 0, &[i as u8], NOW + 1000))
        })
        .collect()
}

#[test]
fn answers_are_paged_and_filtered() {
    let state = state();
    let all = rows(&state, 10);
    let ask = FetchRequest { swarm: swarm(0), after: 99, limit: 4 };

    // A full page: the next row is the page's last, whether or not its message is the swarm's.
    let page = ask.answer(&state, &all[..4]);
    assert_eq!(page["next"], 103);
    let got: Vec<Message> =
        page["messages"].as_array().unwrap().iter().map(|v| from_wire(v).unwrap()).collect();
    assert_eq!(got, vec![all[0].1.clone(), all[2].1.clone()]);
    // A short page is the last.
    let page = ask.answer(&state, &all[8..]);
    assert_eq!(page["next"], Value::Null);
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    let page = ask.answer(&state, &[]);
    assert_eq!(page, json!({"messages": [], "next": null}));
    // The other swarm's page of the same rows.
    let theirs = FetchRequest { swarm: swarm(1), ..ask }.answer(&state, &all[..4]);
    assert_eq!(theirs["next"], 103);
    let got: Vec<Message> =
        theirs["messages"].as_array().unwrap().iter().map(|v| from_wire(v).unwrap()).collect();
    assert_eq!(got, vec![all[1].1.clone(), all[3].1.clone()]);

    // A member of swarm 0 reads the page: keeps them all, asks after 103 next.
    let text = ask.answer(&state, &all[..4]).to_string();
    let (kept, next) = read_page(&state, &id(0), NOW, text.as_bytes(), 99).unwrap();
    assert_eq!(kept.keep, vec![all[0].1.clone(), all[2].1.clone()]);
    assert_eq!((kept.not_ours, kept.malformed), (0, 0));
    assert_eq!(next, Some(103));
    // Too late for them: expired, not kept.
    let (late, _) = read_page(&state, &id(0), NOW + 1000, text.as_bytes(), 99).unwrap();
    assert!(late.keep.is_empty());
    assert_eq!(late.not_ours, 2);
    // A member of swarm 1 keeps none of them.
    let (theirs, _) = read_page(&state, &id(1), NOW, text.as_bytes(), 99).unwrap();
    assert_eq!((theirs.keep.len(), theirs.not_ours), (0, 2));
}

#[test]
fn read_page_only_moves_forward() {
    let state = state();
    let page = |next: Value| json!({"messages": [], "next": next}).to_string();
    let read = |text: String, after| read_page(&state, &id(0), NOW, text.as_bytes(), after);
    assert_eq!(read(page(json!(50)), 10).unwrap().1, Some(50));
    assert_eq!(read(page(json!(10)), 10).unwrap().1, None, "no progress: stop");
    assert_eq!(read(page(json!(3)), 10).unwrap().1, None);
    assert_eq!(read(page(json!(null)), 10).unwrap().1, None);
    assert_eq!(read(page(json!("50")), 10).unwrap().1, None);
    assert_eq!(read("{}".into(), 10).unwrap(), (Accepted::default(), None));
    assert!(matches!(read("<html>".into(), 10), Err(Error::BadRequest(_))));
}

// ---- when a handover is due ----

#[test]
fn swarm_changed_sees_my_swarm_and_the_set_of_swarms() {
    let old = state();
    let me = id(0);
    assert!(!swarm_changed(&old, &old, &me));
    // Another swarm loses a member: not my business.
    let other_changed = state_with(9, 1, |i| if i == 1 { SWARMS[0] } else { SWARMS[i % 3] });
    assert!(!swarm_changed(&old, &other_changed, &id(2)));
    // ... but it is for the swarm that gained the member, and for the one who moved.
    assert!(swarm_changed(&old, &other_changed, &me));
    assert!(swarm_changed(&old, &other_changed, &id(1)));
    // My swarm loses a member.
    let shrunk = state_with(9, 1, |i| if i == 3 { SWARMS[1] } else { SWARMS[i % 3] });
    assert!(swarm_changed(&old, &shrunk, &me));
    // The same members under another id (a swarm renumbered): accounts move between swarms, so
    // every node's handover is due, not only the renumbered swarm's.
    let renamed =
        state_with(9, 1, |i| if i % 3 == 0 { 0x2000_0000_0000_0000 } else { SWARMS[i % 3] });
    assert!(swarm_changed(&old, &renamed, &me));
    assert!(swarm_changed(&old, &renamed, &id(1)));
    // I leave the swarms, or join them.
    let without = state_with(9, 1, |i| SWARMS[i % 3]);
    let gone = NetworkState::new(
        6,
        [21, 0],
        [8; 32],
        (0..10).map(record),
        SwarmMap::from_assignments(without.map().assignments().filter(|(n, _)| *n != me)).unwrap(),
    )
    .unwrap();
    assert!(swarm_changed(&old, &gone, &me));
    assert!(swarm_changed(&gone, &old, &me));
    assert!(!swarm_changed(&gone, &gone, &me));
    // A new height, block hash or address changes nothing by itself.
    let mut later = old.clone();
    later.height += 10;
    later.block_hash = [9; 32];
    assert!(!swarm_changed(&old, &later, &me));
    let moved_address = NetworkState::new(
        5,
        [21, 0],
        [7; 32],
        (0..10).map(|i| NodeRecord { port: 30_000 + i as u16, ..record(i) }),
        old.map().clone(),
    )
    .unwrap();
    assert!(!swarm_changed(&old, &moved_address, &me));
    // A node in no swarm, before and after, while the swarms stay as they were: nothing to hand
    // over; when the swarms change, whatever it still holds may have a new owner.
    assert!(!swarm_changed(&old, &later, &id(9)));
    assert!(swarm_changed(&old, &NetworkState::empty([21, 0]), &id(9)));
}

// ---- untrusted bytes ----

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-f0-9]{0,70}".prop_map(Value::String),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("messages".to_owned()),
                    Just("next".to_owned()),
                    Just("accepted".to_owned()),
                    Just("swarm".to_owned()),
                    Just("after".to_owned()),
                    Just("limit".to_owned()),
                    Just("pubkey".to_owned()),
                    Just("hash".to_owned()),
                    Just("namespace".to_owned()),
                    Just("data".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn no_bytes_make_a_reader_panic(body in prop::collection::vec(any::<u8>(), 0..400), after: i64) {
        let state = state();
        let _ = read_push(&state, &id(0), NOW, &body);
        let _ = FetchRequest::parse(&body);
        let _ = read_page(&state, &id(0), NOW, &body, after);
        let _ = accepted(&body);
    }

    #[test]
    fn no_json_makes_a_reader_panic(v in json_value(), after: i64) {
        let state = state();
        let body = v.to_string();
        let _ = read_push(&state, &id(3), NOW, body.as_bytes());
        let _ = FetchRequest::parse(body.as_bytes());
        let _ = read_page(&state, &id(3), NOW, body.as_bytes(), after);
        let _ = accepted(body.as_bytes());
        let _ = from_wire(&v);
        let wrapped = json!({"messages": [v.clone()], "next": v});
        let got = accept(&state, &id(3), NOW, wrapped.get("messages"));
        prop_assert_eq!(got.keep.len() + got.not_ours + got.malformed, 1);
    }
}

#[test]
fn messages_no_store_could_have_made_are_refused() {
    let state = state();
    let rng = ChaCha20Rng::seed_from_u64(77);
    let me = id(1);
    let mine = swarm(1);
    let day = 86_400_000;
    let at = |timestamp: i64, expiry: i64| {
        let mut m = message(&account_in(&state, mine, &mut rng.clone()), 2, b"x", expiry);
        m.timestamp = timestamp;
        m
    };
    let cases = [
        (at(NOW - day, NOW + day), true),
        (at(NOW + 10_000, NOW + 30 * day + 10_000), true),
        // Years ahead, a century away: a forged push.
        (at(NOW + 3 * 365 * day, NOW + 100 * 365 * day), false),
        (at(NOW + 10_001, NOW + day), false),
        (at(NOW - day, NOW + 30 * day + 10_001), false),
    ];
    for (m, ok) in cases {
        let got = accept(&state, &me, NOW, Some(&json!([to_wire(&m)])));
        assert_eq!(
            (got.keep.len(), got.out_of_bounds),
            (usize::from(ok), usize::from(!ok)),
            "{m:?}"
        );
    }
}

/// A message in a namespace that needs its owner's signature is kept only with a valid store
/// signature by that owner (or by a subaccount the owner let write there); a public inbox
/// needs none.
#[test]
fn authenticated_namespaces_need_the_store_signature() {
    let state = state();
    let mut rng = ChaCha20Rng::seed_from_u64(78);
    let me = id(1);
    let mine = swarm(1);
    let owner = account_in(&state, mine, &mut rng);
    let stranger = random_account(&mut rng);
    let keeps = |m: &Message| {
        let got = accept(&state, &me, NOW, Some(&json!([to_wire(m)])));
        assert_eq!(got.keep.len() + got.unsigned, 1, "{got:?}");
        got.keep.len() == 1
    };
    for ns in [0, -10, 20] {
        let mut m = message(&owner, ns, b"anyone may", NOW + 1000);
        assert!(m.proof.is_none(), "a public inbox keeps no signature");
        assert!(keeps(&m));
        m.proof = message(&owner, 2, b"x", NOW + 1000).proof;
        assert!(keeps(&m), "a signature sent with a public-inbox message is not needed");
    }
    for ns in [1, 2, 5, -11, 17, i16::MAX] {
        let signed = message(&owner, ns, b"mine", NOW + 1000);
        assert!(keeps(&signed), "namespace {ns}");
        let mut m = signed.clone();
        m.proof = None;
        assert!(!keeps(&m), "namespace {ns} without a signature");
        m.proof = message(&owner, if ns == 2 { 3 } else { 2 }, b"mine", NOW + 1000).proof;
        assert!(!keeps(&m), "namespace {ns} with another namespace's signature");
        // Another account's signature over the same namespace, sent with its keys.
        m.proof = message(&stranger, ns, b"mine", NOW + 1000).proof;
        assert!(!keeps(&m), "namespace {ns} signed by another account");
        let mut m = signed.clone();
        m.proof.as_mut().unwrap().auth.signature[9] ^= 1;
        assert!(!keeps(&m), "namespace {ns} with a damaged signature");
        let mut m = signed.clone();
        m.proof.as_mut().unwrap().signed_at += 1;
        assert!(!keeps(&m), "namespace {ns} with another signed time");
    }
    // A signature dated past the signature window was not made by a store that was accepted.
    let future = NOW + 61_000;
    let params = Account::session(&owner).store(Namespace(2), b"later", future, 86_400_000);
    let Ok(Request::Store(store)) = sesh_rpc::request::parse("store", &params) else { panic!() };
    let mut m = Message::from_store(store);
    m.timestamp = NOW;
    assert!(m.proof.as_ref().unwrap().verifies(&m.pubkey, Namespace(2)));
    assert!(!keeps(&m), "a signature from the future");
    assert!(is_authorised(&m, future), "…which holds once its time has come");
}

/// A subaccount's signature counts where its token lets it write (for a public outbox, also
/// delete), and its token must be signed by the account.
#[test]
fn subaccount_signatures_follow_the_token() {
    use sesh_rpc::access::{DELETE, READ, WRITE};
    let state = state();
    let mut rng = ChaCha20Rng::seed_from_u64(79);
    let owner = account_in(&state, swarm(1), &mut rng);
    let account = Account::session(&owner).id();
    let sub = random_account(&mut rng);
    let signed = |flags: u8, token_signer: &Identity, ns: i16| {
        let mut token = [0u8; 36];
        token[0] = account.prefix();
        token[1] = flags;
        token[4..].copy_from_slice(&sub.ed25519_public_key().to_bytes());
        let signed_at = NOW;
        let proof = StoreProof {
            auth: Auth {
                signature: sub
                    .sign(format!("store{}{signed_at}", Namespace(ns).signature_part()).as_bytes())
                    .to_bytes(),
                pubkey_ed25519: Some(owner.ed25519_public_key().to_bytes()),
                subaccount: Some(SignedSubaccount {
                    token: SubaccountToken(token),
                    signature: token_signer.sign(&token).to_bytes(),
                }),
            },
            signed_at,
        };
        let mut m = message(&owner, ns, b"from a subaccount", NOW + 1000);
        m.proof = Some(proof);
        is_authorised(&m, NOW)
    };
    assert!(signed(WRITE, &owner, 2));
    assert!(signed(READ | WRITE | DELETE, &owner, 5));
    assert!(!signed(READ, &owner, 2), "a read-only token");
    assert!(!signed(WRITE, &sub, 2), "a token its account did not sign");
    assert!(!signed(WRITE, &owner, -21), "a public outbox needs delete too");
    assert!(signed(WRITE | DELETE, &owner, -21));
}
