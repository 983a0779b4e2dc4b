// The checks behind the sesh-client fuzz targets. Included (not compiled on its own) by
// `fuzz_targets/client_*.rs` and by `crates/sesh-client/tests/fuzz_corpus.rs`, which replays
// the committed corpus through the same code on stable Rust.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::Value;
use sesh_client::inbox::Inbox;
use sesh_client::message::{Stored, read_retrieve};
use sesh_identity::{AccountSeed, Identity, NodeId};

/// The client's clock (the corpus's messages expire around it).
const NOW_MS: i64 = 1_700_000_000_000;

/// The client whose inbox is read (the corpus's messages are encrypted to it).
static ME: LazyLock<Identity> =
    LazyLock::new(|| Identity::from_account_seed(&AccountSeed::from_bytes([2; 16])));

/// The swarm member that answered.
const MEMBER: [u8; 32] = [9; 32];

/// A node's answer to a `store`: never a panic; what reads has the answer's `hash`, and names
/// as storing it exactly the members listed in its `swarm` without a failure.
pub fn client_store(data: &[u8]) {
    let Ok(stored) = Stored::read(data) else { return };
    let value: Value = serde_json::from_slice(data).expect("a store answer that read is JSON");
    assert_eq!(value.get("hash").and_then(Value::as_str), Some(stored.hash.as_str()));
    let swarm = value.get("swarm").and_then(Value::as_object);
    let stored_ok: BTreeSet<NodeId> = swarm
        .into_iter()
        .flatten()
        .filter(|(_, entry)| entry.get("failed").is_none())
        .filter_map(|(key, _)| key.parse().ok())
        .collect();
    assert!(stored.stored_by.iter().all(|n| stored_ok.contains(n)));
    assert_eq!(
        stored.stored_by.len(),
        swarm.map_or(0, |s| {
            s.iter()
                .filter(|(k, e)| e.get("failed").is_none() && k.parse::<NodeId>().is_ok())
                .count()
        })
    );
}

/// A member's answer to a `retrieve` of the client's inbox: never a panic; every entry is a
/// message shown or unreadable, or one already seen; a message is shown once, with the hash of
/// an entry of the answer; the inbox moves on to the last entry's hash and survives its file
/// form; and the same answer read again shows nothing again (but what it said had expired,
/// which the inbox does not keep).
pub fn client_retrieve(data: &[u8]) {
    let member = NodeId::from_bytes(MEMBER);
    let mut inbox = Inbox::default();
    let Ok(read) = read_retrieve(&ME, &member, data, &mut inbox, NOW_MS) else {
        assert_eq!(inbox, Inbox::default());
        return;
    };
    let value: Value = serde_json::from_slice(data).expect("a retrieve answer that read is JSON");
    let list = value.get("messages").and_then(Value::as_array).expect("a messages list");
    let entries: Vec<(&str, i64)> = list
        .iter()
        .filter(|m| m.get("data").is_some_and(Value::is_string))
        .filter_map(|m| {
            let expiry = m.get("expiration").and_then(Value::as_i64);
            Some((m.get("hash")?.as_str()?, expiry.unwrap_or(i64::MAX)))
        })
        .collect();
    assert!(read.messages.len() + read.unreadable <= list.len());
    assert!(!read.more || !list.is_empty());
    let shown: BTreeSet<&str> = read.messages.iter().map(|m| m.hash.as_str()).collect();
    assert_eq!(shown.len(), read.messages.len(), "a message shown twice");
    assert!(shown.iter().all(|h| entries.iter().any(|(e, _)| e == h)));
    assert_eq!(inbox.last_hash(&member), entries.last().map(|(h, _)| *h));
    assert_eq!(Inbox::from_json(&inbox.to_json()).as_ref(), Ok(&inbox));

    let again = read_retrieve(&ME, &member, data, &mut inbox, NOW_MS).expect("read once");
    let expired: BTreeSet<&str> =
        entries.iter().filter(|(_, expiry)| *expiry <= NOW_MS).map(|(h, _)| *h).collect();
    assert!(again.messages.iter().all(|m| expired.contains(m.hash.as_str())));
}

/// The client's saved inbox file: never a panic; what reads writes back (`to_json`) to the
/// same inbox.
pub fn client_inbox(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(inbox) = Inbox::from_json(&value) else { return };
    let json = inbox.to_json();
    assert_eq!(Inbox::from_json(&json).as_ref(), Ok(&inbox));
    let member = NodeId::from_bytes(MEMBER);
    let _ = inbox.last_hash(&member);
}
