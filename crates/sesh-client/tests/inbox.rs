//! The inbox position: per-member last hashes, the shown messages and their expiry, and its
//! saved JSON form.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

use proptest::prelude::*;
use serde_json::{Value, json};
use sesh_client::Error;
use sesh_client::inbox::Inbox;
use sesh_identity::NodeId;

fn member(n: u8) -> NodeId {
    NodeId::from_bytes([n; 32])
}

/// An inbox built from these steps.
fn build(advances: &[(u8, String)], seen: &[(String, i64)]) -> Inbox {
    let mut inbox = Inbox::default();
    for (m, hash) in advances {
        inbox.advance(&member(*m), hash);
    }
    for (hash, expiry) in seen {
        inbox.mark_seen(hash, *expiry);
    }
    inbox
}

#[test]
fn positions_are_per_member() {
    let mut inbox = Inbox::default();
    assert_eq!(inbox.last_hash(&member(1)), None);
    inbox.advance(&member(1), "a");
    inbox.advance(&member(2), "b");
    inbox.advance(&member(1), "c");
    assert_eq!(inbox.last_hash(&member(1)), Some("c"));
    assert_eq!(inbox.last_hash(&member(2)), Some("b"));
    assert_eq!(inbox.last_hash(&member(3)), None);
}

#[test]
fn seen_until_expired() {
    let mut inbox = Inbox::default();
    assert!(inbox.mark_seen("h", 100));
    assert!(!inbox.mark_seen("h", 100));
    assert!(!inbox.mark_seen("h", 500), "a second sighting does not extend it");
    assert!(inbox.mark_seen("g", 200));
    inbox.forget_expired(99);
    assert!(!inbox.mark_seen("h", 100));
    inbox.forget_expired(100);
    assert!(inbox.mark_seen("h", 300), "forgotten once expired");
    assert!(!inbox.mark_seen("g", 200));
    inbox.forget_expired(1_000);
    assert_eq!(inbox.to_json(), json!({"last_hashes": {}, "seen": {}}));
}

#[test]
fn the_saved_form() {
    let inbox = build(&[(1, "a".into()), (2, "b".into())], &[("x".into(), 5), ("y".into(), -7)]);
    let v = inbox.to_json();
    assert_eq!(
        v,
        json!({
            "last_hashes": {member(1).to_string(): "a", member(2).to_string(): "b"},
            "seen": {"x": 5, "y": -7},
        })
    );
    assert_eq!(member(1).to_string(), "01".repeat(32));
    assert_eq!(Inbox::from_json(&v).unwrap(), inbox);
    // Through text, as it is saved.
    let text = v.to_string();
    assert_eq!(Inbox::from_json(&serde_json::from_str(&text).unwrap()).unwrap(), inbox);
    // Extra fields are ignored.
    let mut extra = v.clone();
    extra["version"] = json!(2);
    assert_eq!(Inbox::from_json(&extra).unwrap(), inbox);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[0-9a-fA-F]{62,66}".prop_map(Value::String),
        ".{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[0-9a-f]{64}",
                    "[0-9a-fA-F]{0,66}",
                    Just("last_hashes".to_owned()),
                    Just("seen".to_owned())
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn inboxes_round_trip(
        advances in prop::collection::vec((any::<u8>(), ".{0,50}"), 0..10),
        seen in prop::collection::vec((".{0,50}", any::<i64>()), 0..10),
    ) {
        let inbox = build(&advances, &seen);
        let v = inbox.to_json();
        prop_assert_eq!(Inbox::from_json(&v).unwrap(), inbox.clone());
        let text = v.to_string();
        prop_assert_eq!(Inbox::from_json(&serde_json::from_str(&text).unwrap()).unwrap(), inbox);
    }

    /// No value makes the reader panic; what it reads, it writes back the same.
    #[test]
    fn from_json_never_panics(v in json_value()) {
        for v in [json!({"last_hashes": v.clone(), "seen": v.clone()}), json!({"last_hashes": {}, "seen": v.clone()}), v] {
            if let Ok(inbox) = Inbox::from_json(&v) {
                prop_assert_eq!(Inbox::from_json(&inbox.to_json()).unwrap(), inbox);
            }
        }
    }
}

#[test]
fn each_malformed_form_is_refused() {
    let id = "ab".repeat(32);
    let cases: Vec<(Value, &str)> = vec![
        (json!(null), "has no \"last_hashes\" object"),
        (json!([]), "has no \"last_hashes\" object"),
        (json!({"seen": {}}), "has no \"last_hashes\" object"),
        (json!({"last_hashes": [], "seen": {}}), "has no \"last_hashes\" object"),
        (json!({"last_hashes": "x", "seen": {}}), "has no \"last_hashes\" object"),
        (json!({"last_hashes": {}}), "has no \"seen\" object"),
        (json!({"last_hashes": {}, "seen": []}), "has no \"seen\" object"),
        (json!({"last_hashes": {}, "seen": null}), "has no \"seen\" object"),
        (
            json!({"last_hashes": {"zz": "a"}, "seen": {}}),
            "has a member key that is not 64 hex digits",
        ),
        (
            json!({"last_hashes": {"ab".repeat(31): "a"}, "seen": {}}),
            "has a member key that is not 64 hex digits",
        ),
        (
            json!({"last_hashes": {"g".repeat(64): "a"}, "seen": {}}),
            "has a member key that is not 64 hex digits",
        ),
        (
            json!({"last_hashes": {id.clone(): 5}, "seen": {}}),
            "has a last hash that is not a string",
        ),
        (
            json!({"last_hashes": {id.clone(): null}, "seen": {}}),
            "has a last hash that is not a string",
        ),
        (
            json!({"last_hashes": {id.clone(): "a"}, "seen": {"h": "5"}}),
            "has an expiry that is not a number",
        ),
        (json!({"last_hashes": {}, "seen": {"h": 1.5}}), "has an expiry that is not a number"),
        (json!({"last_hashes": {}, "seen": {"h": u64::MAX}}), "has an expiry that is not a number"),
        (json!({"last_hashes": {}, "seen": {"h": null}}), "has an expiry that is not a number"),
    ];
    for (v, why) in cases {
        assert_eq!(Inbox::from_json(&v), Err(Error::BadInbox(why)), "{v}");
    }
    // A well-formed one of the same shape is read.
    let ok = json!({"last_hashes": {id.clone(): "a"}, "seen": {"h": 5}});
    let inbox = Inbox::from_json(&ok).unwrap();
    assert_eq!(inbox.last_hash(&id.parse().unwrap()), Some("a"));
}
