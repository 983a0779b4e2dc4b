//! What the handler needs of a message database, and an in-memory one.

use std::collections::{BTreeMap, BTreeSet};

use crate::types::{AccountId, Namespace, SubaccountToken};

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Its owner.
    pub pubkey: AccountId,
    /// Its hash (43 base64 characters).
    pub hash: String,
    /// Its namespace.
    pub namespace: Namespace,
    /// Timestamp, ms.
    pub timestamp: i64,
    /// Expiry, ms.
    pub expiry: i64,
    /// The body.
    pub data: Vec<u8>,
    /// The store's signature, in a namespace that needs one (kept so that a node handed the
    /// message can check it; `retrieve` does not read it).
    pub proof: Option<crate::proof::StoreProof>,
}

impl Message {
    /// The message a store request makes: its hash computed, its store's signature kept where
    /// the namespace needs one.
    pub fn from_store(r: crate::request::StoreRequest) -> Self {
        let proof = crate::proof::StoreProof::of(&r);
        Self {
            hash: crate::types::message_hash(&r.pubkey, r.namespace, &r.data),
            pubkey: r.pubkey,
            namespace: r.namespace,
            timestamp: r.timestamp,
            expiry: r.expiry,
            data: r.data,
            proof,
        }
    }
}

/// The outcome of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Whether the message was new (else its expiry may have been extended).
    pub new: bool,
    /// Its expiry after the store.
    pub expiry: i64,
}

/// A failure of the database itself (not of the request).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StoreFailure(pub String);

/// The storage server's database operations, with its semantics.
///
/// Every operation can fail with a [`StoreFailure`] (the database itself failed: locked, I/O,
/// corrupt), and one that fails has not taken effect. The handler never answers a failure as if
/// nothing had matched: see [`handler`](crate::handler) for the `500` it gives instead.
pub trait Store {
    /// Stores `msg`. A message with the same hash keeps its row; its expiry is only ever
    /// extended. Storing to a public outbox deletes the owner's other messages there.
    ///
    /// # Errors
    /// A database failure (the request then reports a query failure).
    fn store(&mut self, msg: Message) -> Result<Stored, StoreFailure>;

    /// The owner's messages of `namespace` in insertion order, after `last_hash` (from the start
    /// if it is unknown), at most `max_count`, and stopping once the running size
    /// (`overhead + len(hash) + len(data)·4/3` each) passes `max_size`, always returning at least
    /// one; and whether there are more.
    ///
    /// # Errors
    /// A database failure.
    fn retrieve(
        &self,
        owner: &AccountId,
        namespace: Namespace,
        last_hash: Option<&str>,
        max_count: Option<usize>,
        max_size: Option<usize>,
        per_message_overhead: usize,
    ) -> Result<(Vec<Message>, bool), StoreFailure>;

    /// Deletes the owner's messages with these hashes; returns the hashes deleted.
    ///
    /// # Errors
    /// A database failure.
    fn delete_by_hash(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
    ) -> Result<Vec<String>, StoreFailure>;

    /// Deletes the owner's messages of `namespace` (all if `None`); returns them.
    ///
    /// # Errors
    /// A database failure.
    fn delete_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure>;

    /// Deletes the owner's messages with `timestamp ≤ before`; returns them.
    ///
    /// # Errors
    /// A database failure.
    fn delete_before(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        before: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure>;

    /// Shortens every expiry above `expiry` to it; returns the messages changed.
    ///
    /// # Errors
    /// A database failure.
    fn expire_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        expiry: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure>;

    /// Sets each message's expiry (one value for all, or one each): only upwards if
    /// `extend_only`, only downwards if `shorten_only`; returns `(hash, expiry)` changed.
    ///
    /// # Errors
    /// A database failure.
    fn expire(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
        expiries: &[i64],
        extend_only: bool,
        shorten_only: bool,
    ) -> Result<Vec<(String, i64)>, StoreFailure>;

    /// Expiries of those of these messages that exist.
    ///
    /// # Errors
    /// A database failure.
    fn get_expiries(
        &self,
        owner: &AccountId,
        hashes: &[String],
    ) -> Result<BTreeMap<String, i64>, StoreFailure>;

    /// Revokes subaccount tokens (the account keeps at most 50; the oldest go).
    ///
    /// # Errors
    /// A database failure.
    fn revoke(&mut self, owner: &AccountId, tokens: &[SubaccountToken])
    -> Result<(), StoreFailure>;

    /// Unrevokes tokens; returns how many were revoked.
    ///
    /// # Errors
    /// A database failure.
    fn unrevoke(
        &mut self,
        owner: &AccountId,
        tokens: &[SubaccountToken],
    ) -> Result<usize, StoreFailure>;

    /// Whether a token is revoked.
    ///
    /// # Errors
    /// A database failure: the handler then refuses the request (`500`), it never takes the
    /// token as not revoked.
    fn is_revoked(&self, owner: &AccountId, token: &SubaccountToken) -> Result<bool, StoreFailure>;
}

/// An in-memory [`Store`] with the storage server's semantics (rows in insertion order).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    rows: Vec<Message>,
    revoked: BTreeMap<AccountId, Vec<SubaccountToken>>,
}

impl MemoryStore {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message, in insertion order.
    pub fn messages(&self) -> &[Message] {
        &self.rows
    }

    /// Drops expired messages (expiry ≤ `now`); returns how many.
    pub fn expire_before(&mut self, now: i64) -> usize {
        let before = self.rows.len();
        self.rows.retain(|m| m.expiry > now);
        before - self.rows.len()
    }

    fn take(&mut self, keep: impl Fn(&Message) -> bool) -> Vec<(Namespace, String)> {
        let mut taken = Vec::new();
        self.rows.retain(|m| {
            if keep(m) {
                true
            } else {
                taken.push((m.namespace, m.hash.clone()));
                false
            }
        });
        taken
    }
}

impl Store for MemoryStore {
    fn store(&mut self, msg: Message) -> Result<Stored, StoreFailure> {
        if msg.namespace.is_public_outbox() {
            let (owner, ns, hash) = (msg.pubkey, msg.namespace, msg.hash.clone());
            self.rows.retain(|m| !(m.pubkey == owner && m.namespace == ns && m.hash != hash));
        }
        if let Some(existing) = self.rows.iter_mut().find(|m| m.hash == msg.hash) {
            existing.expiry = existing.expiry.max(msg.expiry);
            return Ok(Stored { new: false, expiry: existing.expiry });
        }
        let expiry = msg.expiry;
        self.rows.push(msg);
        Ok(Stored { new: true, expiry })
    }

    fn retrieve(
        &self,
        owner: &AccountId,
        namespace: Namespace,
        last_hash: Option<&str>,
        max_count: Option<usize>,
        max_size: Option<usize>,
        overhead: usize,
    ) -> Result<(Vec<Message>, bool), StoreFailure> {
        let mine: Vec<&Message> =
            self.rows.iter().filter(|m| m.pubkey == *owner && m.namespace == namespace).collect();
        let start =
            last_hash.and_then(|h| mine.iter().position(|m| m.hash == h)).map_or(0, |i| i + 1);
        let max_count = max_count.map(|c| c.max(1));
        let mut out = Vec::new();
        let mut size = 0usize;
        for m in mine.into_iter().skip(start) {
            if max_count.is_some_and(|c| out.len() >= c) {
                return Ok((out, true));
            }
            if let Some(max) = max_size {
                size += overhead + m.hash.len() + m.data.len() * 4 / 3;
                if !out.is_empty() && size > max {
                    return Ok((out, true));
                }
            }
            out.push(m.clone());
        }
        Ok((out, false))
    }

    fn delete_by_hash(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
    ) -> Result<Vec<String>, StoreFailure> {
        let wanted: BTreeSet<&String> = hashes.iter().collect();
        let taken = self.take(|m| !(m.pubkey == *owner && wanted.contains(&m.hash)));
        Ok(taken.into_iter().map(|(_, h)| h).collect())
    }

    fn delete_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        Ok(self.take(|m| !(m.pubkey == *owner && namespace.is_none_or(|ns| m.namespace == ns))))
    }

    fn delete_before(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        before: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        Ok(self.take(|m| {
            !(m.pubkey == *owner
                && namespace.is_none_or(|ns| m.namespace == ns)
                && m.timestamp <= before)
        }))
    }

    fn expire_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        expiry: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        let mut changed = Vec::new();
        for m in &mut self.rows {
            if m.pubkey == *owner
                && namespace.is_none_or(|ns| m.namespace == ns)
                && m.expiry > expiry
            {
                m.expiry = expiry;
                changed.push((m.namespace, m.hash.clone()));
            }
        }
        Ok(changed)
    }

    fn expire(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
        expiries: &[i64],
        extend_only: bool,
        shorten_only: bool,
    ) -> Result<Vec<(String, i64)>, StoreFailure> {
        let mut changed = Vec::new();
        for (i, hash) in hashes.iter().enumerate() {
            let Some(new) = expiries.get(i).or(expiries.first()).copied() else { continue };
            if let Some(m) = self.rows.iter_mut().find(|m| m.pubkey == *owner && m.hash == *hash) {
                if (extend_only && m.expiry >= new) || (shorten_only && m.expiry <= new) {
                    continue;
                }
                m.expiry = new;
                changed.push((hash.clone(), new));
            }
        }
        Ok(changed)
    }

    fn get_expiries(
        &self,
        owner: &AccountId,
        hashes: &[String],
    ) -> Result<BTreeMap<String, i64>, StoreFailure> {
        Ok(self
            .rows
            .iter()
            .filter(|m| m.pubkey == *owner && hashes.contains(&m.hash))
            .map(|m| (m.hash.clone(), m.expiry))
            .collect())
    }

    fn revoke(
        &mut self,
        owner: &AccountId,
        tokens: &[SubaccountToken],
    ) -> Result<(), StoreFailure> {
        let list = self.revoked.entry(*owner).or_default();
        for t in tokens {
            list.retain(|x| x != t);
            list.push(*t);
        }
        while list.len() > crate::request::MAX_SUBACCOUNT_TOKENS {
            list.remove(0);
        }
        Ok(())
    }

    fn unrevoke(
        &mut self,
        owner: &AccountId,
        tokens: &[SubaccountToken],
    ) -> Result<usize, StoreFailure> {
        let Some(list) = self.revoked.get_mut(owner) else { return Ok(0) };
        let before = list.len();
        list.retain(|x| !tokens.contains(x));
        Ok(before - list.len())
    }

    fn is_revoked(&self, owner: &AccountId, token: &SubaccountToken) -> Result<bool, StoreFailure> {
        Ok(self.revoked.get(owner).is_some_and(|l| l.contains(token)))
    }
}
