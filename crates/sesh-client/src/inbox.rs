//! What a client remembers between polls: where it got to on each swarm member, and which
//! messages it has shown.
//!
//! The last hash is kept per member, as live clients keep it: members receive a swarm's
//! messages in different orders (forwarded, handed over, caught up after a restart), so "after
//! this hash" on one member is not "after this hash" on another.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sesh_identity::NodeId;

use crate::error::{Error, Result};

/// A client's place in its swarm's messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inbox {
    last_hashes: BTreeMap<NodeId, String>,
    seen: BTreeMap<String, i64>,
}

impl Inbox {
    /// The last hash retrieved from `member`.
    pub fn last_hash(&self, member: &NodeId) -> Option<&str> {
        self.last_hashes.get(member).map(String::as_str)
    }

    /// Records that `hash` was the latest message retrieved from `member`.
    pub fn advance(&mut self, member: &NodeId, hash: &str) {
        self.last_hashes.insert(*member, hash.to_owned());
    }

    /// Marks `hash` (which expires at `expiry_ms`) as shown; false if it was already.
    pub fn mark_seen(&mut self, hash: &str, expiry_ms: i64) -> bool {
        if self.seen.contains_key(hash) {
            return false;
        }
        self.seen.insert(hash.to_owned(), expiry_ms);
        true
    }

    /// Forgets the shown messages that have expired by `now_ms` (no node holds them any more).
    pub fn forget_expired(&mut self, now_ms: i64) {
        self.seen.retain(|_, expiry| *expiry > now_ms);
    }

    /// `{"last_hashes": {member hex: hash}, "seen": {hash: expiry ms}}`.
    pub fn to_json(&self) -> Value {
        let last: BTreeMap<String, &String> =
            self.last_hashes.iter().map(|(k, v)| (k.to_string(), v)).collect();
        json!({"last_hashes": last, "seen": self.seen})
    }

    /// Reads what [`Inbox::to_json`] wrote.
    ///
    /// # Errors
    /// [`Error::BadInbox`] saying which part is malformed.
    pub fn from_json(v: &Value) -> Result<Self> {
        let object = |key: &str| v.get(key).and_then(Value::as_object);
        let mut inbox = Self::default();
        for (member, hash) in
            object("last_hashes").ok_or(Error::BadInbox("has no \"last_hashes\" object"))?
        {
            let member: NodeId = member
                .parse()
                .map_err(|_| Error::BadInbox("has a member key that is not 64 hex digits"))?;
            let hash =
                hash.as_str().ok_or(Error::BadInbox("has a last hash that is not a string"))?;
            inbox.last_hashes.insert(member, hash.to_owned());
        }
        for (hash, expiry) in object("seen").ok_or(Error::BadInbox("has no \"seen\" object"))? {
            let expiry =
                expiry.as_i64().ok_or(Error::BadInbox("has an expiry that is not a number"))?;
            inbox.seen.insert(hash.clone(), expiry);
        }
        Ok(inbox)
    }
}
