//! 1:1 messages end to end without a network: the client's `store` request run by the real
//! request handler on an in-memory store, the signed `retrieve` run the same way, and the
//! answers read back, with the per-member inbox position.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sesh_client::Error;
use sesh_client::inbox::Inbox;
use sesh_client::message::{
    MESSAGE_TTL_MS, Retrieved, Stored, read_retrieve, retrieve_request, store_request,
};
use sesh_identity::{Identity, NodeId, Seed};
use sesh_rpc::handler::{self, Context, Node, Response, Solo};
use sesh_rpc::store::{MemoryStore, Store as _};

const NOW: i64 = 1_700_000_000_000;

fn identity(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([n; 32]))
}

/// A swarm member: its key and its store.
struct Member {
    key: Identity,
    store: MemoryStore,
}

impl Member {
    fn new(n: u8) -> Self {
        Self { key: identity(n), store: MemoryStore::new() }
    }

    fn id(&self) -> NodeId {
        NodeId::from_identity(&self.key)
    }

    fn post(&mut self, body: &[u8], now_ms: i64) -> Response {
        let node = Node { identity: &self.key, hf: [21, 0], swarm: &Solo };
        handler::handle_body(&node, &mut self.store, Context { now_ms, forwarded: false }, body)
    }

    /// Stores `text` from `from` to `to`; returns the store answer, read.
    fn send(
        &mut self,
        from: &Identity,
        to: &Identity,
        text: &str,
        now_ms: i64,
        seed: u64,
    ) -> Stored {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let request = store_request(from, &to.session_id(), text, now_ms, &mut rng).unwrap();
        let answer = self.post(&request, now_ms);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        Stored::read(&answer.body.to_bytes()).unwrap()
    }

    /// `me` polls this member.
    fn poll(&mut self, me: &Identity, inbox: &mut Inbox, now_ms: i64) -> Retrieved {
        let request = retrieve_request(me, &self.id(), inbox, now_ms);
        let answer = self.post(&request, now_ms);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        read_retrieve(me, &self.id(), &answer.body.to_bytes(), inbox, now_ms).unwrap()
    }
}

#[test]
fn a_stored_message_is_read_by_its_recipient() {
    let (alice, bob) = (identity(1), identity(2));
    let mut member = Member::new(10);
    let stored = member.send(&alice, &bob, "hello bob", NOW, 1);
    assert_eq!(stored.stored_by, vec![member.id()]);
    assert_eq!(member.store.messages().len(), 1);
    assert_eq!(member.store.messages()[0].hash, stored.hash);
    assert_eq!(member.store.messages()[0].expiry, NOW + MESSAGE_TTL_MS);
    assert_eq!(member.store.messages()[0].pubkey.prefixed_hex(), bob.session_id().to_string());

    let mut inbox = Inbox::default();
    let got = member.poll(&bob, &mut inbox, NOW + 5);
    assert_eq!(got.unreadable, 0);
    assert!(!got.more);
    assert_eq!(got.messages.len(), 1);
    let m = &got.messages[0];
    assert_eq!(m.hash, stored.hash);
    assert_eq!(m.from, alice.session_id());
    assert_eq!(m.text, "hello bob");
    assert_eq!(m.sent_ms, NOW as u64);
    assert_eq!(inbox.last_hash(&member.id()), Some(stored.hash.as_str()));

    // The next poll asks after it, and gets nothing new.
    let request: Value =
        serde_json::from_slice(&retrieve_request(&bob, &member.id(), &inbox, NOW + 6)).unwrap();
    assert_eq!(request["method"], "retrieve");
    assert_eq!(request["params"]["last_hash"], stored.hash.as_str());
    assert_eq!(member.poll(&bob, &mut inbox, NOW + 6), Retrieved::default());

    // A second message comes alone.
    let second = member.send(&alice, &bob, "again", NOW + 10, 2);
    let got = member.poll(&bob, &mut inbox, NOW + 11);
    assert_eq!(got.messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["again"]);
    assert_eq!(inbox.last_hash(&member.id()), Some(second.hash.as_str()));
}

#[test]
fn a_message_is_only_readable_by_its_recipient() {
    let (alice, bob, carol) = (identity(1), identity(2), identity(3));
    let mut member = Member::new(10);
    member.send(&alice, &bob, "for bob", NOW, 1);
    // Carol reads Bob's inbox answer (as if a node gave it to her): nothing she can read.
    let request = retrieve_request(&bob, &member.id(), &Inbox::default(), NOW);
    let answer = member.post(&request, NOW).body.to_bytes();
    let mut inbox = Inbox::default();
    let got = read_retrieve(&carol, &member.id(), &answer, &mut inbox, NOW).unwrap();
    assert!(got.messages.is_empty());
    assert_eq!(got.unreadable, 1);
    // Bob can.
    let got = read_retrieve(&bob, &member.id(), &answer, &mut Inbox::default(), NOW).unwrap();
    assert_eq!(got.messages[0].text, "for bob");
}

#[test]
fn each_member_has_its_own_position() {
    let (alice, bob) = (identity(1), identity(2));
    let (mut a, mut b) = (Member::new(10), Member::new(11));
    // Both members hold both messages, in different orders.
    let one = a.send(&alice, &bob, "one", NOW, 1);
    let two = a.send(&alice, &bob, "two", NOW + 1, 2);
    b.store = MemoryStore::new();
    for m in a.store.messages().iter().rev() {
        b.store.store(m.clone()).unwrap();
    }

    let mut inbox = Inbox::default();
    let from_a = a.poll(&bob, &mut inbox, NOW + 2);
    assert_eq!(from_a.messages.len(), 2);
    assert_eq!(inbox.last_hash(&a.id()), Some(two.hash.as_str()));
    assert_eq!(inbox.last_hash(&b.id()), None, "only the member polled moves");

    // Member b gives them again, in its order: its position moves, nothing is shown twice.
    let from_b = b.poll(&bob, &mut inbox, NOW + 3);
    assert!(from_b.messages.is_empty());
    assert_eq!(from_b.unreadable, 0);
    assert_eq!(inbox.last_hash(&b.id()), Some(one.hash.as_str()));
    assert_eq!(inbox.last_hash(&a.id()), Some(two.hash.as_str()));

    // A message b holds that a never got is shown once, from b.
    let three = b.send(&alice, &bob, "three", NOW + 4, 3);
    let got = b.poll(&bob, &mut inbox, NOW + 5);
    assert_eq!(got.messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["three"]);
    assert_eq!(inbox.last_hash(&b.id()), Some(three.hash.as_str()));
    assert_eq!(inbox.last_hash(&a.id()), Some(two.hash.as_str()));
}

/// A `retrieve` answer holding these entries.
fn answer(messages: Value, more: Option<bool>) -> Vec<u8> {
    let mut v = json!({"messages": messages, "t": NOW, "hf": [21, 0]});
    if let Some(more) = more {
        v["more"] = json!(more);
    }
    v.to_string().into_bytes()
}

/// A stored message as a retrieve lists it.
fn listed(hash: &str, data: &str, expiration: Option<i64>) -> Value {
    let mut v = json!({"hash": hash, "timestamp": NOW, "data": data});
    if let Some(e) = expiration {
        v["expiration"] = json!(e);
    }
    v
}

/// A real message from `from` to `to`: its hash and its data as a retrieve lists it.
fn real(from: &Identity, to: &Identity, text: &str, seed: u64) -> (String, String) {
    let mut member = Member::new(10);
    let stored = member.send(from, to, text, NOW, seed);
    let data = STANDARD.encode(&member.store.messages()[0].data);
    (stored.hash, data)
}

#[test]
fn a_message_seen_twice_is_shown_once_until_it_expires() {
    let (alice, bob) = (identity(1), identity(2));
    let member = NodeId::from_bytes([9; 32]);
    let (hash, data) = real(&alice, &bob, "hi", 1);
    let expiry = NOW + 1000;
    let body = answer(json!([listed(&hash, &data, Some(expiry))]), None);
    let mut inbox = Inbox::default();
    let first = read_retrieve(&bob, &member, &body, &mut inbox, NOW).unwrap();
    assert_eq!(first.messages.len(), 1);
    let second = read_retrieve(&bob, &member, &body, &mut inbox, NOW + 10).unwrap();
    assert!(second.messages.is_empty());
    assert_eq!(second.unreadable, 0);
    // Remembered an hour at least, whatever (earlier) expiry the node claims.
    let kept = NOW + 3_600_000;
    assert!(expiry < kept);
    assert_eq!(inbox.to_json()["seen"][&hash], kept);

    // Once it has expired no node holds it: forgotten.
    let empty = answer(json!([]), None);
    read_retrieve(&bob, &member, &empty, &mut inbox, kept - 1).unwrap();
    assert_eq!(inbox.to_json()["seen"].as_object().unwrap().len(), 1);
    read_retrieve(&bob, &member, &empty, &mut inbox, kept).unwrap();
    assert!(inbox.to_json()["seen"].as_object().unwrap().is_empty());
    // The last hash stays.
    assert_eq!(inbox.last_hash(&member), Some(hash.as_str()));

    // Without an expiration the message is kept for the longest TTL from now.
    let body = answer(json!([listed(&hash, &data, None)]), None);
    let mut fresh = Inbox::default();
    read_retrieve(&bob, &member, &body, &mut fresh, NOW).unwrap();
    assert_eq!(fresh.to_json()["seen"][&hash], NOW + MESSAGE_TTL_MS);
}

#[test]
fn unreadable_entries_are_counted() {
    let (alice, bob, carol) = (identity(1), identity(2), identity(3));
    let member = NodeId::from_bytes([9; 32]);
    let (good_hash, good) = real(&alice, &bob, "readable", 1);
    let (carols_hash, for_carol) = real(&alice, &carol, "not for bob", 2);
    let list = json!([
        listed("h-garbage", "!!! not base64 !!!", None),
        listed(&carols_hash, &for_carol, None),
        {"data": good},
        {"hash": "h-no-data"},
        listed("h-junk", &STANDARD.encode(b"\x00\x01 no envelope"), None),
        listed("h-data-number", "x", None),
        listed(&good_hash, &good, None),
        5,
    ]);
    let mut inbox = Inbox::default();
    let got = read_retrieve(&bob, &member, &answer(list, Some(false)), &mut inbox, NOW).unwrap();
    assert_eq!(got.messages.len(), 1);
    assert_eq!(got.messages[0].text, "readable");
    // Every entry but the good one: bad base64, Carol's, no hash, no data, junk, bad data, 5.
    assert_eq!(got.unreadable, 7);
    // The position moves past everything that has a hash and data, readable or not.
    assert_eq!(inbox.last_hash(&member), Some(good_hash.as_str()));
    // Only a message whose hash is its data's (for Bob's account) is remembered as shown: the
    // rest could be listed again under any hash, and are never shown anyway.
    let seen = inbox.to_json()["seen"].as_object().unwrap().clone();
    let keys: Vec<&str> = seen.keys().map(String::as_str).collect();
    assert_eq!(keys, vec![good_hash.as_str()]);
    assert!(!seen.contains_key(&carols_hash));
}

#[test]
fn the_more_flag() {
    let (alice, bob) = (identity(1), identity(2));
    let member = NodeId::from_bytes([9; 32]);
    let (hash, data) = real(&alice, &bob, "hi", 1);
    let one = json!([listed(&hash, &data, None)]);
    let more = |list: &Value, flag| {
        read_retrieve(&bob, &member, &answer(list.clone(), flag), &mut Inbox::default(), NOW)
            .unwrap()
            .more
    };
    assert!(more(&one, Some(true)));
    assert!(!more(&one, Some(false)));
    assert!(!more(&one, None));
    assert!(!more(&json!([]), Some(true)), "an empty page with more is the end");
    let odd = json!({"messages": one, "more": "true"}).to_string();
    let got = read_retrieve(&bob, &member, odd.as_bytes(), &mut Inbox::default(), NOW).unwrap();
    assert!(!got.more);

    // A real member with more than one page: the flag is set and the next page follows.
    let mut m = Member::new(10);
    for i in 0..3 {
        m.send(&alice, &bob, &format!("message {i}"), NOW, i);
    }
    let mut params: Value =
        serde_json::from_slice(&retrieve_request(&bob, &m.id(), &Inbox::default(), NOW)).unwrap();
    params["params"]["max_count"] = json!(2);
    let answer = m.post(params.to_string().as_bytes(), NOW);
    let mut inbox = Inbox::default();
    let got = read_retrieve(&bob, &m.id(), &answer.body.to_bytes(), &mut inbox, NOW).unwrap();
    assert_eq!(got.messages.len(), 2);
    assert!(got.more);
    let rest = m.poll(&bob, &mut inbox, NOW + 1);
    assert_eq!(rest.messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["message 2"]);
    assert!(!rest.more);
}

#[test]
fn a_retrieve_answer_must_be_json_with_messages() {
    let bob = identity(2);
    let member = NodeId::from_bytes([9; 32]);
    let mut inbox = Inbox::default();
    for (body, why) in [
        (&b"not json"[..], "to a retrieve is not JSON"),
        (b"{}", "to a retrieve has no messages"),
        (b"{\"messages\": {}}", "to a retrieve has no messages"),
        (b"[]", "to a retrieve has no messages"),
    ] {
        assert_eq!(read_retrieve(&bob, &member, body, &mut inbox, NOW), Err(Error::BadAnswer(why)));
    }
    assert_eq!(inbox, Inbox::default());
}

#[test]
fn a_store_answer_lists_the_members_that_stored() {
    let ok = |n: u8| (NodeId::from_bytes([n; 32]).to_string(), json!({"hash": "h"}));
    let body = json!({
        "hash": "the-hash",
        "swarm": {
            ok(1).0: ok(1).1,
            ok(2).0: {"failed": true, "timeout": true},
            ok(3).0: ok(3).1,
            "not-a-node-id": {"hash": "h"},
            ok(4).0: {"failed": false},
        },
    });
    let stored = Stored::read(body.to_string().as_bytes()).unwrap();
    assert_eq!(stored.hash, "the-hash");
    assert_eq!(
        stored.stored_by,
        vec![NodeId::from_bytes([1; 32]), NodeId::from_bytes([3; 32])],
        "a failed entry, even one saying false, is not a store"
    );
    let bare = Stored::read(b"{\"hash\": \"h\"}").unwrap();
    assert!(bare.stored_by.is_empty());
    assert_eq!(Stored::read(b"<html>"), Err(Error::BadAnswer("to a store is not JSON")));
    for body in [&b"{}"[..], b"{\"hash\": 5}", b"[]"] {
        assert_eq!(Stored::read(body), Err(Error::BadAnswer("to a store has no hash")));
    }
}

#[test]
fn a_store_request_is_for_the_recipients_inbox() {
    let (alice, bob) = (identity(1), identity(2));
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let body = store_request(&alice, &bob.session_id(), "x", NOW, &mut rng).unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["method"], "store");
    let p = &v["params"];
    assert_eq!(p["pubkey"], bob.session_id().to_string());
    assert_eq!((p["namespace"].clone(), p["timestamp"].clone()), (json!(0), json!(NOW)));
    assert_eq!(p["ttl"], MESSAGE_TTL_MS);
    assert!(p.get("signature").is_none(), "the public inbox needs no signature");
    // Fresh randomness, another ciphertext; the same seed, the same request.
    let again = store_request(&alice, &bob.session_id(), "x", NOW, &mut rng).unwrap();
    assert_ne!(again, body);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    assert_eq!(store_request(&alice, &bob.session_id(), "x", NOW, &mut rng).unwrap(), body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any text goes through a store and a retrieve unchanged.
    #[test]
    fn any_text_round_trips(text in ".{0,200}", seed: u64, sender in 1u8..4) {
        let (from, to) = (identity(sender), identity(7));
        let mut member = Member::new(10);
        member.send(&from, &to, &text, NOW, seed);
        let got = member.poll(&to, &mut Inbox::default(), NOW);
        prop_assert_eq!(got.messages.len(), 1);
        prop_assert_eq!(&got.messages[0].text, &text);
        prop_assert_eq!(got.messages[0].from, from.session_id());
    }

    /// No answer makes the reader panic, and what it counts adds up.
    #[test]
    fn read_retrieve_never_panics(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = read_retrieve(&identity(2), &NodeId::from_bytes([9; 32]), &body, &mut Inbox::default(), NOW);
        let _ = Stored::read(&body);
    }
}
