//! The message database: SQLite in WAL mode, with the live storage server's schema (owners,
//! messages by owner, namespace, hash and expiry, revoked subaccounts), prepared statements, a
//! size cap that drops the earliest-expiring messages first, and the storage server's semantics
//! for every operation ([`sesh_rpc::store::Store`]).
//!
//! One difference on purpose: the live server's `owner_autoclean` trigger deletes an account's
//! owner row when its last message goes, and the `ON DELETE CASCADE` of `revoked_subaccounts`
//! then drops the account's revocations with it, so a revoked subaccount regains access after a
//! `delete_all`. Here the owner row stays while it has revocations.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use sesh_rpc::proof::StoreProof;
use sesh_rpc::store::{Message, Store, StoreFailure, Stored};
use sesh_rpc::{AccountId, Namespace, SubaccountToken};

/// How durable a commit is (SQLite's `synchronous` in WAL mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sync {
    /// Every commit is fsynced: an acknowledged store survives a power cut.
    Full,
    /// The WAL is fsynced at checkpoints: an acknowledged store survives the process being
    /// killed, not a power cut (the live storage server's setting).
    Normal,
}

/// The schema (`schema.sql`).
const SCHEMA: &str = include_str!("schema.sql");

/// The database.
pub struct Db {
    conn: Connection,
    page_size: i64,
    /// Messages dropped to stay under the size cap, since opening.
    pub evicted: u64,
    /// A fault for testnets: acknowledge every store and keep nothing.
    pub amnesia: bool,
}

impl core::fmt::Debug for Db {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Db").field("page_size", &self.page_size).finish_non_exhaustive()
    }
}

/// A message with its row id (the order messages were stored in).
pub type Row = (i64, Message);

/// The columns [`read_row`] reads.
const SELECT_ROW: &str = "SELECT messages.id, type, pubkey, hash, namespace, timestamp, expiry, \
     data, proof FROM messages JOIN owners ON messages.owner = owners.id";

/// A row of [`SELECT_ROW`]: its id, and its message unless its owner key is malformed.
fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Option<Message>)> {
    let key: Vec<u8> = r.get(2)?;
    let message = <[u8; 32]>::try_from(key).ok().map(|key| -> rusqlite::Result<_> {
        Ok(Message {
            pubkey: AccountId::new(r.get(1)?, key),
            hash: r.get(3)?,
            namespace: Namespace(r.get(4)?),
            timestamp: r.get(5)?,
            expiry: r.get(6)?,
            data: r.get(7)?,
            proof: r.get::<_, Option<Vec<u8>>>(8)?.and_then(|b| StoreProof::from_bytes(&b)),
        })
    });
    Ok((r.get::<_, i64>(0)?, message.transpose()?))
}

/// What a [`Store`] operation returns: a database error fails it (the handler answers `500`).
type Fallible<T> = Result<T, StoreFailure>;

fn failure(e: rusqlite::Error) -> StoreFailure {
    tracing::error!(error = %e, "database query failed");
    StoreFailure(e.to_string())
}

fn is_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::DiskFull)
}

impl Db {
    /// Opens (creating if needed) the database at `path`, capped at `size_limit` bytes.
    pub fn open(path: &Path, size_limit: u64, sync: Sync) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            match sync {
                Sync::Full => "FULL",
                Sync::Normal => "NORMAL",
            },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        // A database from before messages kept their store's signature gains the column.
        if conn.prepare("SELECT proof FROM messages LIMIT 0").is_err() {
            conn.execute_batch("ALTER TABLE messages ADD COLUMN proof BLOB")?;
        }
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages = i64::try_from(size_limit).unwrap_or(i64::MAX) / page_size.max(1);
        conn.pragma_update(None, "max_page_count", pages.max(16))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self { conn, page_size, evicted: 0, amnesia: false })
    }

    /// Opens a read-only connection to the database at `path` (which [`Db::open`] made): reads
    /// on it run beside the writer (WAL) and see everything committed before they start.
    pub fn open_reader(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self { conn, page_size, evicted: 0, amnesia: false })
    }

    /// Starts a transaction that the operations after it join (each in its own savepoint), so
    /// that one commit (one fsync) covers a batch of requests.
    pub fn begin_batch(&mut self) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")
    }

    /// Commits the batch.
    pub fn commit_batch(&mut self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")
    }

    /// Abandons the batch.
    pub fn rollback_batch(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// Deletes messages with `expiry <= now`; returns how many.
    pub fn clean_expired(&mut self, now: i64) -> rusqlite::Result<usize> {
        self.conn.prepare_cached("DELETE FROM messages WHERE expiry <= ?")?.execute([now])
    }

    /// Message count and total body bytes.
    pub fn stats(&self) -> rusqlite::Result<(i64, i64)> {
        self.conn
            .prepare_cached("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM messages")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    /// The database's size in bytes (pages in use).
    pub fn size(&self) -> rusqlite::Result<i64> {
        let pages: i64 = self.conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
        let free: i64 = self.conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
        Ok((pages - free) * self.page_size)
    }

    /// Up to `limit` messages with row id above `after`, in row order.
    pub fn scan(&self, after: i64, limit: usize) -> rusqlite::Result<Vec<Row>> {
        let mut st = self.conn.prepare_cached(&format!(
            "{SELECT_ROW} WHERE messages.id > ? ORDER BY messages.id LIMIT ?"
        ))?;
        let rows =
            st.query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], read_row)?;
        // A row whose owner key is not 32 bytes (never written so) is skipped.
        rows.filter_map(|row| row.map(|(id, m)| m.map(|m| (id, m))).transpose()).collect()
    }

    /// A message for a storage test: the first from a random row (`pick` places it) on with a
    /// timestamp at most `before` and not expired at `now`.
    pub fn sample(&self, before: i64, now: i64, pick: u64) -> rusqlite::Result<Option<Message>> {
        let max: i64 = self
            .conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM messages")?
            .query_row([], |r| r.get(0))?;
        let start =
            i64::try_from(pick % u64::try_from(max).unwrap_or(0).saturating_add(1)).unwrap_or(0);
        let mut st = self.conn.prepare_cached(&format!(
            "{SELECT_ROW} WHERE messages.id >= ? AND timestamp <= ? AND expiry > ? \
             ORDER BY messages.id LIMIT 1"
        ))?;
        for from in [start, 0] {
            if let Some((_, m)) = st.query_row(params![from, before, now], read_row).optional()? {
                return Ok(m);
            }
        }
        Ok(None)
    }

    /// The body of the message with `hash`, if this node holds it.
    pub fn data_of(&self, hash: &str) -> rusqlite::Result<Option<Vec<u8>>> {
        let mut st = self.conn.prepare_cached("SELECT data FROM messages WHERE hash = ?")?;
        st.query_row([hash], |r| r.get(0)).optional()
    }

    /// Stores messages a peer handed over (existing hashes keep their row; expiries only
    /// grow); returns how many were new.
    pub fn import(&mut self, messages: Vec<Message>) -> Result<usize, StoreFailure> {
        // One commit for the lot, unless the caller's batch already covers it.
        let own = self.conn.is_autocommit();
        if own {
            self.begin_batch().map_err(failure)?;
        }
        let mut new = 0;
        for msg in messages {
            match self.store(msg) {
                Ok(s) => new += usize::from(s.new),
                Err(e) => {
                    if own {
                        self.rollback_batch();
                    }
                    return Err(e);
                }
            }
        }
        if own {
            self.commit_batch().map_err(failure)?;
        }
        Ok(new)
    }

    /// Deletes messages by hash, whoever owns them (after handing them over).
    pub fn delete_hashes(&mut self, hashes: &[String]) -> rusqlite::Result<usize> {
        let tx = self.conn.savepoint()?;
        let mut n = 0;
        {
            let mut st = tx.prepare_cached("DELETE FROM messages WHERE hash = ?")?;
            for h in hashes {
                n += st.execute([h])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Drops the earliest-expiring messages (at least one, about 1 % of them) to make room.
    fn evict(&mut self) -> rusqlite::Result<usize> {
        let count: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM messages")?
            .query_row([], |r| r.get(0))?;
        if count == 0 {
            return Ok(0);
        }
        let n = (count / 100).max(1);
        let dropped = self
            .conn
            .prepare_cached(
                "DELETE FROM messages WHERE id IN \
                 (SELECT id FROM messages ORDER BY expiry, id LIMIT ?)",
            )?
            .execute([n])?;
        self.evicted += dropped as u64;
        Ok(dropped)
    }

    fn owner_id(conn: &Connection, owner: &AccountId) -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached("SELECT id FROM owners WHERE pubkey = ? AND type = ?")?
            .query_row(params![owner.key().as_slice(), owner.prefix()], |r| r.get(0))
            .optional()
    }

    fn ensure_owner(tx: &Connection, owner: &AccountId) -> rusqlite::Result<i64> {
        if let Some(id) = Self::owner_id(tx, owner)? {
            return Ok(id);
        }
        tx.prepare_cached("INSERT INTO owners (pubkey, type) VALUES (?, ?) RETURNING id")?
            .query_row(params![owner.key().as_slice(), owner.prefix()], |r| r.get(0))
    }

    fn try_store(&mut self, msg: &Message) -> rusqlite::Result<Stored> {
        let tx = self.conn.savepoint()?;
        let owner = Self::ensure_owner(&tx, &msg.pubkey)?;
        if msg.namespace.is_public_outbox() {
            tx.prepare_cached(
                "DELETE FROM messages WHERE owner = ? AND namespace = ? AND hash != ?",
            )?
            .execute(params![owner, msg.namespace.0, msg.hash])?;
        }
        let existing: Option<(i64, i64)> = tx
            .prepare_cached("SELECT id, expiry FROM messages WHERE hash = ?")?
            .query_row([&msg.hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let stored = match existing {
            Some((id, expiry)) => {
                if expiry < msg.expiry {
                    tx.prepare_cached("UPDATE messages SET expiry = ? WHERE id = ?")?
                        .execute(params![msg.expiry, id])?;
                }
                Stored { new: false, expiry: expiry.max(msg.expiry) }
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO messages (owner, hash, namespace, timestamp, expiry, data, proof) \
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )?
                .execute(params![
                    owner,
                    msg.hash,
                    msg.namespace.0,
                    msg.timestamp,
                    msg.expiry,
                    msg.data,
                    msg.proof.as_ref().map(StoreProof::to_bytes)
                ])?;
                Stored { new: true, expiry: msg.expiry }
            }
        };
        tx.commit()?;
        Ok(stored)
    }

    /// Runs a statement over one owner's messages (`?1` the owner, `?2` the namespace or NULL
    /// for all, `?3` the value if given) that returns `namespace, hash` of each row it touched.
    fn by_owner(
        &mut self,
        sql: &str,
        owner: &AccountId,
        namespace: Option<Namespace>,
        value: Option<i64>,
    ) -> Fallible<Vec<(Namespace, String)>> {
        let r = self.write(|tx| {
            let Some(oid) = Self::owner_id(tx, owner)? else { return Ok(Vec::new()) };
            let mut st = tx.prepare_cached(sql)?;
            let ns = namespace.map(|n| n.0);
            match value {
                Some(v) => ns_hashes(&mut st, params![oid, ns, v]),
                None => ns_hashes(&mut st, params![oid, ns]),
            }
        });
        r.map_err(failure)
    }

    /// Runs `f` in a transaction and commits.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let tx = self.conn.savepoint()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

fn ns_hashes(
    st: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<(Namespace, String)>> {
    st.query_map(params, |r| Ok((Namespace(r.get(0)?), r.get(1)?)))?.collect()
}

impl Store for Db {
    fn store(&mut self, msg: Message) -> Result<Stored, StoreFailure> {
        if self.amnesia {
            return Ok(Stored { new: true, expiry: msg.expiry });
        }
        // A full database drops its earliest-expiring messages and tries again.
        for _ in 0..64 {
            match self.try_store(&msg) {
                Err(e) if is_full(&e) => {
                    if self.evict().map_err(failure)? == 0 {
                        return Err(failure(e));
                    }
                }
                other => return other.map_err(failure),
            }
        }
        Err(StoreFailure("database is full".into()))
    }

    fn retrieve(
        &self,
        owner: &AccountId,
        namespace: Namespace,
        last_hash: Option<&str>,
        max_count: Option<usize>,
        max_size: Option<usize>,
        overhead: usize,
    ) -> Fallible<(Vec<Message>, bool)> {
        let run = || -> rusqlite::Result<(Vec<Message>, bool)> {
            let Some(oid) = Self::owner_id(&self.conn, owner)? else {
                return Ok((Vec::new(), false));
            };
            let last_id: Option<i64> = match last_hash {
                Some(h) => self
                    .conn
                    .prepare_cached(
                        "SELECT id FROM messages WHERE owner = ? AND namespace = ? AND hash = ?",
                    )?
                    .query_row(params![oid, namespace.0, h], |r| r.get(0))
                    .optional()?,
                None => None,
            };
            let max_count = max_count.map(|c| c.max(1));
            let limit = max_count.map_or(-1, |c| i64::try_from(c).unwrap_or(i64::MAX - 1) + 1);
            // The limit is written into the statement, not bound: SQLite prepares a statement
            // again (parses and plans it) whenever its LIMIT parameter is bound, so on every
            // run, which was a tenth of a retrieve's time. Each limit is a statement in the
            // connection's cache.
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT hash, timestamp, expiry, data FROM messages \
                 WHERE owner = ? AND namespace = ? AND id > ? ORDER BY id LIMIT {limit}"
            ))?;
            let mut rows = st.query(params![oid, namespace.0, last_id.unwrap_or(0)])?;
            let (mut out, mut size) = (Vec::new(), 0usize);
            while let Some(r) = rows.next()? {
                if max_count.is_some_and(|c| out.len() >= c) {
                    return Ok((out, true));
                }
                let hash: String = r.get(0)?;
                let data: Vec<u8> = r.get(3)?;
                if let Some(max) = max_size {
                    size += overhead + hash.len() + data.len() * 4 / 3;
                    if !out.is_empty() && size > max {
                        return Ok((out, true));
                    }
                }
                out.push(Message {
                    pubkey: *owner,
                    hash,
                    namespace,
                    timestamp: r.get(1)?,
                    expiry: r.get(2)?,
                    data,
                    proof: None,
                });
            }
            Ok((out, false))
        };
        run().map_err(failure)
    }

    fn delete_by_hash(&mut self, owner: &AccountId, hashes: &[String]) -> Fallible<Vec<String>> {
        let r = self.write(|tx| {
            let Some(oid) = Self::owner_id(tx, owner)? else { return Ok(Vec::new()) };
            let mut st = tx.prepare_cached(
                "DELETE FROM messages WHERE owner = ? AND hash = ? RETURNING hash",
            )?;
            let mut out = Vec::new();
            for h in hashes {
                if let Some(h) = st.query_row(params![oid, h], |r| r.get(0)).optional()? {
                    out.push(h);
                }
            }
            Ok(out)
        });
        r.map_err(failure)
    }

    fn delete_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
    ) -> Fallible<Vec<(Namespace, String)>> {
        self.by_owner(
            "DELETE FROM messages WHERE owner = ?1 AND (?2 IS NULL OR namespace = ?2) \
             RETURNING namespace, hash",
            owner,
            namespace,
            None,
        )
    }

    fn delete_before(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        before: i64,
    ) -> Fallible<Vec<(Namespace, String)>> {
        self.by_owner(
            "DELETE FROM messages WHERE owner = ?1 AND (?2 IS NULL OR namespace = ?2) \
             AND timestamp <= ?3 RETURNING namespace, hash",
            owner,
            namespace,
            Some(before),
        )
    }

    fn expire_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        expiry: i64,
    ) -> Fallible<Vec<(Namespace, String)>> {
        self.by_owner(
            "UPDATE messages SET expiry = ?3 WHERE owner = ?1 AND (?2 IS NULL OR namespace = ?2) \
             AND expiry > ?3 RETURNING namespace, hash",
            owner,
            namespace,
            Some(expiry),
        )
    }

    fn expire(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
        expiries: &[i64],
        extend_only: bool,
        shorten_only: bool,
    ) -> Fallible<Vec<(String, i64)>> {
        let r = self.write(|tx| {
            let Some(oid) = Self::owner_id(tx, owner)? else { return Ok(Vec::new()) };
            let mut get =
                tx.prepare_cached("SELECT id, expiry FROM messages WHERE owner = ? AND hash = ?")?;
            let mut set = tx.prepare_cached("UPDATE messages SET expiry = ? WHERE id = ?")?;
            let mut changed = Vec::new();
            for (i, hash) in hashes.iter().enumerate() {
                let Some(new) = expiries.get(i).or(expiries.first()).copied() else { continue };
                let Some((id, old)) = get
                    .query_row(params![oid, hash], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                    })
                    .optional()?
                else {
                    continue;
                };
                if (extend_only && old >= new) || (shorten_only && old <= new) {
                    continue;
                }
                set.execute(params![new, id])?;
                changed.push((hash.clone(), new));
            }
            Ok(changed)
        });
        r.map_err(failure)
    }

    fn get_expiries(
        &self,
        owner: &AccountId,
        hashes: &[String],
    ) -> Fallible<BTreeMap<String, i64>> {
        let run = || -> rusqlite::Result<BTreeMap<String, i64>> {
            let Some(oid) = Self::owner_id(&self.conn, owner)? else { return Ok(BTreeMap::new()) };
            let mut st = self
                .conn
                .prepare_cached("SELECT expiry FROM messages WHERE owner = ? AND hash = ?")?;
            let mut out = BTreeMap::new();
            for h in hashes {
                if let Some(e) = st.query_row(params![oid, h], |r| r.get(0)).optional()? {
                    out.insert(h.clone(), e);
                }
            }
            Ok(out)
        };
        run().map_err(failure)
    }

    fn revoke(&mut self, owner: &AccountId, tokens: &[SubaccountToken]) -> Fallible<()> {
        let r = self.write(|tx| {
            let oid = Self::ensure_owner(tx, owner)?;
            let mut del =
                tx.prepare_cached("DELETE FROM revoked_subaccounts WHERE owner = ? AND token = ?")?;
            let mut ins =
                tx.prepare_cached("INSERT INTO revoked_subaccounts (owner, token) VALUES (?, ?)")?;
            for t in tokens {
                // A token revoked again counts as the newest.
                del.execute(params![oid, t.0.as_slice()])?;
                ins.execute(params![oid, t.0.as_slice()])?;
            }
            Ok(())
        });
        r.map_err(failure)
    }

    fn unrevoke(&mut self, owner: &AccountId, tokens: &[SubaccountToken]) -> Fallible<usize> {
        let r = self.write(|tx| {
            let Some(oid) = Self::owner_id(tx, owner)? else { return Ok(0) };
            let mut del =
                tx.prepare_cached("DELETE FROM revoked_subaccounts WHERE owner = ? AND token = ?")?;
            let mut n = 0;
            for t in tokens {
                n += del.execute(params![oid, t.0.as_slice()])?;
            }
            Ok(n)
        });
        r.map_err(failure)
    }

    fn is_revoked(&self, owner: &AccountId, token: &SubaccountToken) -> Fallible<bool> {
        let run = || -> rusqlite::Result<bool> {
            let Some(oid) = Self::owner_id(&self.conn, owner)? else { return Ok(false) };
            self.conn
                .prepare_cached("SELECT 1 FROM revoked_subaccounts WHERE owner = ? AND token = ?")?
                .query_row(params![oid, token.0.as_slice()], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        };
        // A database that cannot answer refuses the request (500), never lets the token in.
        run().map_err(failure)
    }
}
