//! The node's SQLite store: the same answers as `sesh-rpc`'s in-memory model store for any
//! sequence of operations, the size cap's eviction order, the expiry sweep.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::disallowed_methods
)]

use proptest::prelude::*;
use sesh_examples::node::db::{Db, Sync};
use sesh_rpc::message_hash;
use sesh_rpc::store::MemoryStore;
use sesh_rpc::store::{Message, Store};
use sesh_rpc::{AccountId, Namespace, SubaccountToken};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sesh-db-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("storage.db")
}

fn msg(owner: u8, ns: i16, n: u32, expiry: i64) -> Message {
    let pubkey = AccountId::new(0x05, [owner; 32]);
    let data = n.to_le_bytes().repeat(8);
    Message {
        hash: message_hash(&pubkey, Namespace(ns), &data),
        pubkey,
        namespace: Namespace(ns),
        timestamp: i64::from(n),
        expiry,
        data,
        proof: None,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Store { owner: u8, ns: i16, n: u32, expiry: i64 },
    Retrieve { owner: u8, ns: i16, after: Option<u32>, count: Option<usize>, size: Option<usize> },
    Delete { owner: u8, ns: i16, ns_of: Vec<u32> },
    DeleteAll { owner: u8, ns: Option<i16> },
    DeleteBefore { owner: u8, ns: Option<i16>, before: i64 },
    ExpireAll { owner: u8, ns: Option<i16>, expiry: i64 },
    Expire { owner: u8, ns: i16, of: Vec<u32>, expiries: Vec<i64>, extend: bool, shorten: bool },
    Revoke { owner: u8, tokens: Vec<u8>, revoke: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let owner = 0u8..3;
    let ns = prop_oneof![Just(0i16), Just(2), Just(-10), Just(13)];
    let n = 0u32..12;
    prop_oneof![
        4 => (owner.clone(), ns.clone(), n.clone(), 100i64..200).prop_map(|(owner, ns, n, expiry)| Op::Store { owner, ns, n, expiry }),
        2 => (owner.clone(), ns.clone(), proptest::option::of(n.clone()), proptest::option::of(0usize..4), proptest::option::of(0usize..300))
            .prop_map(|(owner, ns, after, count, size)| Op::Retrieve { owner, ns, after, count, size }),
        1 => (owner.clone(), ns.clone(), proptest::collection::vec(n.clone(), 0..4)).prop_map(|(owner, ns, ns_of)| Op::Delete { owner, ns, ns_of }),
        1 => (owner.clone(), proptest::option::of(ns.clone())).prop_map(|(owner, ns)| Op::DeleteAll { owner, ns }),
        1 => (owner.clone(), proptest::option::of(ns.clone()), 0i64..12).prop_map(|(owner, ns, before)| Op::DeleteBefore { owner, ns, before }),
        1 => (owner.clone(), proptest::option::of(ns.clone()), 100i64..200).prop_map(|(owner, ns, expiry)| Op::ExpireAll { owner, ns, expiry }),
        1 => (owner.clone(), ns, proptest::collection::vec(n, 0..4), proptest::collection::vec(100i64..200, 1..4), any::<bool>(), any::<bool>())
            .prop_map(|(owner, ns, of, expiries, extend, shorten)| Op::Expire { owner, ns, of, expiries, extend, shorten: shorten && !extend }),
        1 => (owner, proptest::collection::vec(0u8..4, 0..3), any::<bool>()).prop_map(|(owner, tokens, revoke)| Op::Revoke { owner, tokens, revoke }),
    ]
}

fn token(t: u8) -> SubaccountToken {
    let mut b = [0u8; 36];
    b[0] = 0x05;
    b[4] = t;
    SubaccountToken(b)
}

fn hashes(owner: u8, ns: i16, ns_of: &[u32]) -> Vec<String> {
    ns_of.iter().map(|n| msg(owner, ns, *n, 0).hash).collect()
}

/// What an operation answers, on any store.
fn apply(s: &mut dyn Store, op: &Op) -> String {
    let acct = |o: u8| AccountId::new(0x05, [o; 32]);
    let sorted = |mut v: Vec<(Namespace, String)>| {
        v.sort();
        format!("{v:?}")
    };
    match op {
        Op::Store { owner, ns, n, expiry } => {
            format!("{:?}", s.store(msg(*owner, *ns, *n, *expiry)))
        }
        Op::Retrieve { owner, ns, after, count, size } => {
            let last = after.map(|a| msg(*owner, *ns, a, 0).hash);
            let (m, more) = s
                .retrieve(&acct(*owner), Namespace(*ns), last.as_deref(), *count, *size, 10)
                .unwrap();
            format!("{:?} {more}", m.iter().map(|m| (&m.hash, m.expiry)).collect::<Vec<_>>())
        }
        Op::Delete { owner, ns, ns_of } => {
            let mut d = s.delete_by_hash(&acct(*owner), &hashes(*owner, *ns, ns_of)).unwrap();
            d.sort();
            format!("{d:?}")
        }
        Op::DeleteAll { owner, ns } => {
            sorted(s.delete_all(&acct(*owner), ns.map(Namespace)).unwrap())
        }
        Op::DeleteBefore { owner, ns, before } => {
            sorted(s.delete_before(&acct(*owner), ns.map(Namespace), *before).unwrap())
        }
        Op::ExpireAll { owner, ns, expiry } => {
            sorted(s.expire_all(&acct(*owner), ns.map(Namespace), *expiry).unwrap())
        }
        Op::Expire { owner, ns, of, expiries, extend, shorten } => {
            let h = hashes(*owner, *ns, of);
            let changed = s.expire(&acct(*owner), &h, expiries, *extend, *shorten).unwrap();
            let expiries = s.get_expiries(&acct(*owner), &h).unwrap();
            format!("{changed:?} {expiries:?}")
        }
        Op::Revoke { owner, tokens, revoke } => {
            let t: Vec<SubaccountToken> = tokens.iter().map(|t| token(*t)).collect();
            let n = if *revoke {
                s.revoke(&acct(*owner), &t).unwrap();
                0
            } else {
                s.unrevoke(&acct(*owner), &t).unwrap()
            };
            let state: Vec<bool> =
                (0..4).map(|t| s.is_revoked(&acct(*owner), &token(t)).unwrap()).collect();
            format!("{n} {state:?}")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The SQLite store answers every sequence of operations exactly as the in-memory model
    /// of the storage server's semantics does.
    #[test]
    fn sqlite_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let path = scratch("model");
        let mut db = Db::open(&path, 64 << 20, Sync::Normal).unwrap();
        let mut model = MemoryStore::new();
        for (i, op) in ops.iter().enumerate() {
            prop_assert_eq!(apply(&mut db, op), apply(&mut model, op), "op {} {:?}", i, op);
        }
    }
}

#[test]
fn a_full_database_drops_the_earliest_expiring_first() {
    let path = scratch("cap");
    // 96 pages of 4 KiB.
    let mut db = Db::open(&path, 96 * 4096, Sync::Normal).unwrap();
    let big = |n: u32, expiry: i64| {
        let mut m = msg(1, 0, n, expiry);
        m.data = vec![n as u8; 3000];
        m.hash = message_hash(&m.pubkey, m.namespace, &m.data);
        m
    };
    // Stored in a shuffled order of expiries (n·37 mod 200): what is dropped is always
    // the earliest-expiring at the time, so every dropped expiry is below every kept one
    // stored before it.
    let expiry = |n: u32| 1_000 + i64::from((n * 37) % 200);
    for n in 0..200u32 {
        assert!(db.store(big(n, expiry(n))).is_ok(), "store {n} failed");
        assert!(db.size().unwrap() <= 96 * 4096);
    }
    assert!(db.evicted > 50, "only {} evicted", db.evicted);
    let kept: Vec<(u32, i64)> = db
        .scan(0, 1000)
        .unwrap()
        .into_iter()
        .map(|(_, m)| (m.timestamp as u32, m.expiry))
        .collect();
    assert!(kept.iter().any(|(n, _)| *n == 199), "the newest message was dropped");
    let kept_n: Vec<u32> = kept.iter().map(|(n, _)| *n).collect();
    for dropped in (0..200u32).filter(|n| !kept_n.contains(n)) {
        // Any message stored before `dropped` and still kept expires no earlier.
        for (n, e) in &kept {
            if *n < dropped {
                assert!(
                    *e >= expiry(dropped),
                    "kept {n} (expiry {e}) over {dropped} (expiry {})",
                    expiry(dropped)
                );
            }
        }
    }
}

#[test]
fn expired_messages_are_cleaned() {
    let path = scratch("expiry");
    let mut db = Db::open(&path, 64 << 20, Sync::Full).unwrap();
    for n in 0..10 {
        db.store(msg(1, 0, n, 100 + i64::from(n))).unwrap();
    }
    assert_eq!(db.clean_expired(104).unwrap(), 5);
    assert_eq!(db.stats().unwrap().0, 5);
}

/// A database that fails answers every operation with the error, never with "nothing matched"
/// (and a revocation check that fails is an error, not "not revoked"); once it works again,
/// everything is there.
#[test]
fn a_failing_database_reports_every_failure() {
    let path = scratch("failing");
    let mut db = Db::open(&path, 64 << 20, Sync::Normal).unwrap();
    let m = msg(1, 0, 1, 1_000);
    db.store(m.clone()).unwrap();
    db.revoke(&m.pubkey, &[token(1)]).unwrap();
    let hashes = [m.hash.clone()];
    let other = rusqlite::Connection::open(&path).unwrap();

    // Another connection holds the write lock: every write fails, reads go on (WAL).
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    assert!(db.store(msg(1, 0, 2, 1_000)).is_err());
    assert!(db.delete_by_hash(&m.pubkey, &hashes).is_err());
    assert!(db.delete_all(&m.pubkey, None).is_err());
    assert!(db.delete_before(&m.pubkey, None, 10).is_err());
    assert!(db.expire_all(&m.pubkey, None, 500).is_err());
    assert!(db.expire(&m.pubkey, &hashes, &[500], false, false).is_err());
    assert!(db.revoke(&m.pubkey, &[token(2)]).is_err());
    assert!(db.unrevoke(&m.pubkey, &[token(1)]).is_err());
    assert_eq!(db.get_expiries(&m.pubkey, &hashes).unwrap()[&m.hash], 1_000);
    other.execute_batch("ROLLBACK").unwrap();

    // The tables are gone: reads fail too.
    other
        .execute_batch(
            "ALTER TABLE messages RENAME TO messages_away; \
             ALTER TABLE revoked_subaccounts RENAME TO revoked_away",
        )
        .unwrap();
    assert!(db.retrieve(&m.pubkey, Namespace(0), None, None, None, 0).is_err());
    assert!(db.get_expiries(&m.pubkey, &hashes).is_err());
    assert!(db.is_revoked(&m.pubkey, &token(1)).is_err());
    assert!(db.is_revoked(&m.pubkey, &token(3)).is_err());
    other
        .execute_batch(
            "ALTER TABLE messages_away RENAME TO messages; \
             ALTER TABLE revoked_away RENAME TO revoked_subaccounts",
        )
        .unwrap();

    // Nothing was lost or changed.
    let (found, more) = db.retrieve(&m.pubkey, Namespace(0), None, None, None, 0).unwrap();
    assert_eq!((found, more), (vec![m.clone()], false));
    assert!(db.is_revoked(&m.pubkey, &token(1)).unwrap());
    assert!(!db.is_revoked(&m.pubkey, &token(2)).unwrap());
}

/// A message keeps its store's signature through the database (what a handover then sends),
/// and a database made before the column existed gains it, its old rows without one.
#[test]
fn the_store_signature_is_kept_and_old_databases_gain_the_column() {
    use sesh_identity::{Identity, Seed};
    use sesh_rpc::client::Account;
    let path = scratch("proof");
    {
        // The schema as it was: no `proof` column; one message in it.
        let old = rusqlite::Connection::open(&path).unwrap();
        let schema = include_str!("../node/schema.sql").replace(
            "    proof BLOB, -- the store's signature (sesh_rpc::proof), in namespaces that need one\n",
            "",
        );
        assert!(!schema.contains("proof BLOB"));
        old.execute_batch(&schema).unwrap();
        old.execute("INSERT INTO owners (type, pubkey) VALUES (5, ?)", [[1u8; 32].as_slice()])
            .unwrap();
        let m = msg(1, 2, 7, i64::MAX);
        old.execute(
            "INSERT INTO messages (owner, hash, namespace, timestamp, expiry, data) \
             VALUES (1, ?, 2, 7, ?, ?)",
            rusqlite::params![m.hash, m.expiry, m.data],
        )
        .unwrap();
    }
    let mut db = Db::open(&path, 64 << 20, Sync::Normal).unwrap();
    let owner = Identity::from_seed(&Seed::from_bytes([9; 32]));
    let now = 1_735_689_600_000;
    let params = Account::session(&owner).store(Namespace(2), b"signed", now, 3_600_000);
    let Ok(sesh_rpc::Request::Store(store)) = sesh_rpc::request::parse("store", &params) else {
        panic!("a client's store parses")
    };
    let signed = Message::from_store(store);
    assert!(signed.proof.is_some());
    db.store(signed.clone()).unwrap();
    let rows: Vec<Message> = db.scan(0, 10).unwrap().into_iter().map(|(_, m)| m).collect();
    assert_eq!(rows, vec![msg(1, 2, 7, i64::MAX), signed]);
    assert!(rows[1].proof.as_ref().unwrap().verifies(&rows[1].pubkey, Namespace(2)));
}
