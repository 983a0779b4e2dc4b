//! A database that fails is answered `500` as the live server answers it, never as "nothing
//! matched": for every `Store` method, every request that reaches it gets the live status and
//! text, and changes nothing; inside a `batch` or `sequence` as the server's sub-requests do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::cell::Cell;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sesh_identity::{Identity, Seed};
use sesh_rpc::client::{Account, ExpireMode};
use sesh_rpc::encoding::to_base64;
use sesh_rpc::handler::{
    Body, Context, Node, REQUEST_FAILED, Response, Solo, handle_params, retrieve_failure_text,
};
use sesh_rpc::store::{MemoryStore, Message, Store, StoreFailure, Stored};
use sesh_rpc::{AccountId, Namespace, NamespaceSel, SubaccountToken, access};

const NOW: i64 = 1_735_689_600_000;
const TTL: i64 = 3_600_000;

/// The `Store` methods, by name.
const METHODS: [&str; 11] = [
    "store",
    "retrieve",
    "delete_by_hash",
    "delete_all",
    "delete_before",
    "expire_all",
    "expire",
    "get_expiries",
    "revoke",
    "unrevoke",
    "is_revoked",
];

/// A [`MemoryStore`] whose method `fail` fails (and records that it was asked).
struct Failing {
    inner: MemoryStore,
    fail: &'static str,
    reached: Cell<bool>,
}

impl Failing {
    fn new(inner: MemoryStore, fail: &'static str) -> Self {
        Self { inner, fail, reached: Cell::new(false) }
    }

    fn check(&self, method: &'static str) -> Result<(), StoreFailure> {
        if method == self.fail {
            self.reached.set(true);
            return Err(StoreFailure(format!("database is locked ({method})")));
        }
        Ok(())
    }
}

impl Store for Failing {
    fn store(&mut self, msg: Message) -> Result<Stored, StoreFailure> {
        self.check("store")?;
        self.inner.store(msg)
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
        self.check("retrieve")?;
        self.inner.retrieve(owner, namespace, last_hash, max_count, max_size, overhead)
    }

    fn delete_by_hash(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
    ) -> Result<Vec<String>, StoreFailure> {
        self.check("delete_by_hash")?;
        self.inner.delete_by_hash(owner, hashes)
    }

    fn delete_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        self.check("delete_all")?;
        self.inner.delete_all(owner, namespace)
    }

    fn delete_before(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        before: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        self.check("delete_before")?;
        self.inner.delete_before(owner, namespace, before)
    }

    fn expire_all(
        &mut self,
        owner: &AccountId,
        namespace: Option<Namespace>,
        expiry: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        self.check("expire_all")?;
        self.inner.expire_all(owner, namespace, expiry)
    }

    fn expire(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
        expiries: &[i64],
        extend_only: bool,
        shorten_only: bool,
    ) -> Result<Vec<(String, i64)>, StoreFailure> {
        self.check("expire")?;
        self.inner.expire(owner, hashes, expiries, extend_only, shorten_only)
    }

    fn get_expiries(
        &self,
        owner: &AccountId,
        hashes: &[String],
    ) -> Result<BTreeMap<String, i64>, StoreFailure> {
        self.check("get_expiries")?;
        self.inner.get_expiries(owner, hashes)
    }

    fn revoke(
        &mut self,
        owner: &AccountId,
        tokens: &[SubaccountToken],
    ) -> Result<(), StoreFailure> {
        self.check("revoke")?;
        self.inner.revoke(owner, tokens)
    }

    fn unrevoke(
        &mut self,
        owner: &AccountId,
        tokens: &[SubaccountToken],
    ) -> Result<usize, StoreFailure> {
        self.check("unrevoke")?;
        self.inner.unrevoke(owner, tokens)
    }

    fn is_revoked(&self, owner: &AccountId, token: &SubaccountToken) -> Result<bool, StoreFailure> {
        self.check("is_revoked")?;
        self.inner.is_revoked(owner, token)
    }
}

fn key(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([n; 32]))
}

/// Everything a store holds, to compare before and after.
fn contents(store: &MemoryStore) -> String {
    format!("{store:?}")
}

/// A subaccount token of `sub` for a `05` account, with every permission.
fn token_of(sub: &Identity) -> SubaccountToken {
    let mut t = [0u8; 36];
    t[0] = 0x05;
    t[1] = access::READ | access::WRITE | access::DELETE;
    t[4..].copy_from_slice(&sub.ed25519_public_key().to_bytes());
    SubaccountToken(t)
}

/// `params` (made by `owner`'s [`Account`]) signed by the subaccount `sub` instead: its token,
/// the owner's signature of it, and `sub`'s signature over `signed`.
fn by_subaccount(
    owner: &Identity,
    sub: &Identity,
    mut params: Map<String, Value>,
    signed: &[&[u8]],
) -> Map<String, Value> {
    let token = token_of(sub);
    params.insert("subaccount".into(), json!(to_base64(&token.0)));
    params.insert("subaccount_sig".into(), json!(to_base64(&owner.sign(&token.0).to_bytes())));
    params.insert("signature".into(), json!(to_base64(&sub.sign(&signed.concat()).to_bytes())));
    params
}

/// A store holding two messages of `account` in namespace 2 and one revoked token; their hashes.
fn seeded(node: &Node<'_>, account: &Account<'_>) -> (MemoryStore, Vec<String>) {
    let mut store = MemoryStore::new();
    let ctx = Context { now_ms: NOW, forwarded: false };
    let hashes = (0..2u8)
        .map(|i| {
            let params = account.store(Namespace(2), &[i; 8], NOW - 1_000, TTL);
            let r = handle_params(node, &mut store, ctx, "store", &params);
            assert_eq!(r.status, 200, "{r:?}");
            let Body::Json(body) = r.body else { panic!("{r:?}") };
            body["hash"].as_str().unwrap().to_owned()
        })
        .collect();
    store.revoke(&account.id(), &[token_of(&key(40))]).unwrap();
    (store, hashes)
}

/// Every request that reaches the store, as `(method, params, the store methods it reaches)`.
fn requests(
    me: &Identity,
    account: &Account<'_>,
    hashes: &[String],
) -> Vec<(&'static str, Map<String, Value>, Vec<&'static str>)> {
    let sub = key(41);
    let ns = Namespace(2);
    let now = NOW.to_string();
    let retrieve_signed: [&[u8]; 3] = [b"retrieve", b"2", now.as_bytes()];
    let store_signed: [&[u8]; 3] = [b"store", b"2", now.as_bytes()];
    let new_expiry = NOW + 600_000;
    let tokens = [token_of(&key(40)), token_of(&key(42))];
    vec![
        ("store", account.store(ns, b"new", NOW, TTL), vec!["store"]),
        ("store", account.store(Namespace(0), b"public inbox", NOW, TTL), vec!["store"]),
        ("retrieve", account.retrieve(ns, NOW, None), vec!["retrieve"]),
        ("retrieve", account.retrieve(ns, NOW, Some(&hashes[0])), vec!["retrieve"]),
        (
            "retrieve",
            by_subaccount(me, &sub, account.retrieve(ns, NOW, None), &retrieve_signed),
            vec!["is_revoked", "retrieve"],
        ),
        (
            "store",
            by_subaccount(me, &sub, account.store(ns, b"by sub", NOW, TTL), &store_signed),
            vec!["is_revoked", "store"],
        ),
        ("delete", account.delete(&hashes[..1]), vec!["delete_by_hash"]),
        (
            "delete_all",
            account.namespace_request("delete_all", NamespaceSel::One(ns), NOW),
            vec!["delete_all"],
        ),
        (
            "delete_all",
            account.namespace_request("delete_all", NamespaceSel::All, NOW),
            vec!["delete_all"],
        ),
        (
            "delete_before",
            account.namespace_request("delete_before", NamespaceSel::All, NOW),
            vec!["delete_before"],
        ),
        (
            "expire_all",
            account.namespace_request("expire_all", NamespaceSel::One(ns), new_expiry),
            vec!["expire_all"],
        ),
        ("expire", account.expire(hashes, new_expiry, ExpireMode::Set), vec!["expire"]),
        (
            "expire",
            account.expire(hashes, new_expiry, ExpireMode::Shorten),
            vec!["get_expiries", "expire"],
        ),
        (
            "expire",
            account.expire(hashes, NOW + 2 * TTL, ExpireMode::Extend),
            vec!["get_expiries", "expire"],
        ),
        ("get_expiries", account.get_expiries(hashes, NOW), vec!["get_expiries"]),
        ("revoke_subaccount", account.revoke(&tokens, NOW, true), vec!["revoke"]),
        ("unrevoke_subaccount", account.revoke(&tokens, NOW, false), vec!["unrevoke"]),
    ]
}

/// The server's answer when `failing` fails during `method` (`None` for a store's query
/// failure, a JSON body checked on its own).
fn expected_failure(method: &str, failing: &str, account: &AccountId) -> Option<Body> {
    match (method, failing) {
        ("retrieve", "retrieve") => Some(Body::Text(retrieve_failure_text(account))),
        ("store", "store") => None,
        _ => Some(Body::Text(REQUEST_FAILED.to_owned())),
    }
}

#[test]
fn every_failing_method_is_a_500_with_the_live_text_and_changes_nothing() {
    let node_key = key(9);
    let node = Node { identity: &node_key, hf: [19, 4], swarm: &Solo };
    let me = key(1);
    let account = Account::session(&me);
    let own_hex = hex::encode(node_key.ed25519_public_key().to_bytes());
    let mut reached_each = BTreeMap::new();
    for forwarded in [false, true] {
        let ctx = Context { now_ms: NOW, forwarded };
        let (seed, hashes) = seeded(&node, &account);
        for (method, params, reaches) in requests(&me, &account, &hashes) {
            let ok = handle_params(&node, &mut seed.clone(), ctx, method, &params);
            assert_eq!(ok.status, 200, "{method} {params:?}: {ok:?}");
            for failing in METHODS {
                let mut store = Failing::new(seed.clone(), failing);
                let r = handle_params(&node, &mut store, ctx, method, &params);
                let what = format!("{method} with {failing} failing (forwarded {forwarded})");
                if !store.reached.get() {
                    assert!(!reaches.contains(&failing), "{what}: not reached");
                    assert_eq!(r, ok, "{what}: not reached, so answered as with no failure");
                    continue;
                }
                assert!(reaches.contains(&failing), "{what}: reached unexpectedly");
                *reached_each.entry(failing).or_insert(0) += 1;
                assert_eq!(r.status, 500, "{what}: {r:?}");
                assert!(!r.forward, "{what}: a failed request is not forwarded");
                match expected_failure(method, failing, &account.id()) {
                    Some(body) => assert_eq!(r.body, body, "{what}"),
                    None => {
                        let Body::Json(answer) = &r.body else { panic!("{what}: {r:?}") };
                        let mine = if forwarded { answer } else { &answer["swarm"][&own_hex] };
                        assert_eq!(mine["failed"], json!(true), "{what}: {answer}");
                        assert_eq!(mine["query_failure"], json!(true), "{what}: {answer}");
                        assert_eq!(mine["reason"], json!("database is locked (store)"), "{what}");
                        assert!(mine.get("hash").is_none() && answer.get("hash").is_none());
                    }
                }
                assert_eq!(contents(&store.inner), contents(&seed), "{what}: changed the store");
            }
        }
    }
    // Every method was made to fail by some request.
    for m in METHODS {
        assert!(reached_each.contains_key(m), "{m} never failed: {reached_each:?}");
    }
}

#[test]
fn the_retrieve_text_names_the_account_as_the_server_does() {
    let account =
        AccountId::load("05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48")
            .unwrap();
    assert_eq!(
        retrieve_failure_text(&account),
        "Internal Server Error. Could not retrieve messages for ffba…48"
    );
}

/// A batch or sequence of `subs` against a store whose `failing` method fails.
fn batch(
    node: &Node<'_>,
    seed: &MemoryStore,
    failing: &'static str,
    method: &str,
    subs: Vec<(&str, Map<String, Value>)>,
) -> (Response, MemoryStore) {
    let requests: Vec<Value> =
        subs.into_iter().map(|(m, p)| json!({"method": m, "params": p})).collect();
    let params = Map::from_iter([("requests".to_owned(), json!(requests))]);
    let mut store = Failing::new(seed.clone(), failing);
    let ctx = Context { now_ms: NOW, forwarded: false };
    let r = handle_params(node, &mut store, ctx, method, &params);
    (r, store.inner)
}

#[test]
fn inside_a_batch_a_failing_sub_request_is_answered_as_the_server_does() {
    let node_key = key(9);
    let node = Node { identity: &node_key, hf: [19, 4], swarm: &Solo };
    let me = key(1);
    let account = Account::session(&me);
    let (seed, hashes) = seeded(&node, &account);
    let retrieve = ("retrieve", account.retrieve(Namespace(2), NOW, None));
    let info = ("info", Map::new());
    let text = json!(retrieve_failure_text(&account.id()));

    // A retrieve answers its own failure: the batch goes on, a sequence stops there.
    let (r, after) = batch(&node, &seed, "retrieve", "batch", vec![retrieve.clone(), info.clone()]);
    assert_eq!(r.status, 200, "{r:?}");
    let Body::Json(body) = &r.body else { panic!("{r:?}") };
    assert_eq!(body["results"][0], json!({"code": 500, "body": text}), "{body}");
    assert_eq!(body["results"][1]["code"], json!(200), "{body}");
    assert_eq!(contents(&after), contents(&seed));
    let (r, _) = batch(&node, &seed, "retrieve", "sequence", vec![retrieve, info.clone()]);
    let Body::Json(body) = &r.body else { panic!("{r:?}") };
    assert_eq!(body["results"], json!([{"code": 500, "body": text}]), "{body}");

    // So does a store: its query failure is its result, and the batch goes on.
    let store = ("store", account.store(Namespace(2), b"x", NOW, TTL));
    let (r, after) = batch(&node, &seed, "store", "batch", vec![store.clone(), info.clone()]);
    assert_eq!(r.status, 200, "{r:?}");
    let Body::Json(body) = &r.body else { panic!("{r:?}") };
    assert_eq!(body["results"][0]["code"], json!(500), "{body}");
    let own_hex = hex::encode(node_key.ed25519_public_key().to_bytes());
    assert_eq!(body["results"][0]["body"]["swarm"][&own_hex]["query_failure"], json!(true));
    assert_eq!(body["results"][1]["code"], json!(200), "{body}");
    assert_eq!(contents(&after), contents(&seed));

    // Any other failure fails the whole batch or sequence: 500 "request failed", no results.
    let delete = ("delete", account.delete(&hashes[..1]));
    let expiries = ("get_expiries", account.get_expiries(&hashes, NOW));
    for (failing, subs) in [
        ("delete_by_hash", vec![info.clone(), delete.clone()]),
        ("get_expiries", vec![expiries.clone(), info.clone()]),
        ("delete_by_hash", vec![delete.clone(), expiries]),
    ] {
        for method in ["batch", "sequence"] {
            let (r, after) = batch(&node, &seed, failing, method, subs.clone());
            assert_eq!(r.status, 500, "{method} with {failing} failing: {r:?}");
            assert_eq!(r.body, Body::Text(REQUEST_FAILED.to_owned()));
            assert!(!r.forward);
            assert_eq!(contents(&after), contents(&seed));
        }
    }

    // The sub-requests before the failing one stand, as on the server (but nothing of the
    // batch is acknowledged, and a node forwards nothing of a 500).
    let (r, after) = batch(&node, &seed, "delete_by_hash", "batch", vec![store, delete]);
    assert_eq!((r.status, r.body), (500, Body::Text(REQUEST_FAILED.to_owned())));
    assert_eq!(after.messages().len(), seed.messages().len() + 1);
}

/// Verifying ahead changes no answer and no store, only where the Ed25519 work happens: every
/// request (signed by the account or a subaccount, with its signature intact or broken, alone
/// or in a batch) answers the same through `handle_verified(verify_ahead(…))` as through
/// `handle`, and a signed request's checks are all made ahead.
#[test]
fn verifying_ahead_answers_exactly_as_verifying_in_place() {
    use sesh_rpc::handler::{handle, handle_verified, verify_ahead};
    use sesh_rpc::request::parse;
    let node_key = key(9);
    let node = Node { identity: &node_key, hf: [19, 4], swarm: &Solo };
    let me = key(7);
    let account = Account::session(&me);
    let ctx = Context { now_ms: NOW, forwarded: false };
    let (start, hashes) = seeded(&node, &account);
    let mut cases: Vec<(&str, Map<String, Value>)> =
        requests(&me, &account, &hashes).into_iter().map(|(m, p, _)| (m, p)).collect();
    // Each signed one again with a broken signature.
    for (method, params) in cases.clone() {
        if let Some(Value::String(sig)) = params.get("signature") {
            let mut broken = params.clone();
            let flipped = if sig.starts_with('A') {
                sig.replacen('A', "B", 1)
            } else {
                format!("A{}", &sig[1..])
            };
            broken.insert("signature".into(), json!(flipped));
            cases.push((method, broken));
        }
    }
    let subs: Vec<Value> = cases.iter().map(|(m, p)| json!({"method": m, "params": p})).collect();
    let mut batch = Map::new();
    batch.insert("requests".into(), Value::Array(subs.clone()));
    cases.push(("batch", batch.clone()));
    cases.push(("sequence", batch));
    let mut checked = 0;
    for (method, params) in &cases {
        let Ok(req) = parse(method, params) else { continue };
        let (mut a, mut b) = (start.clone(), start.clone());
        let in_place = handle(&node, &mut a, ctx, req.clone());
        let verified = verify_ahead(&node, ctx, req.clone());
        let ahead = handle_verified(&node, &mut b, ctx, req, &verified);
        assert_eq!(in_place, ahead, "{method} {params:?}");
        assert_eq!(contents(&a), contents(&b), "{method}");
        if params.contains_key("signature") {
            assert!(!verified.is_empty(), "{method}: no check made ahead");
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} signed requests");
}
