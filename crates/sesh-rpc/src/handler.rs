//! The storage server's request handler, sans-IO: a request, the node's keys and view of the
//! swarm, a [`Store`] and the current time in; a status and body out, exactly as the live server
//! answers. Forwarding recursive requests to swarm peers is the caller's (see
//! [`Response::merge_peer`]).
//!
//! A database failure ([`StoreFailure`]) is answered `500` as the live server answers it, never
//! as if nothing had matched: a failing `store` is the query failure of its `swarm` entry
//! (`failed`, `query_failure`, the failure as `reason`), a failing `retrieve` is
//! [`retrieve_failure_text`], and any other (the deletes, expiries, revocations, and the
//! revocation check of a subaccount signature) is [`REQUEST_FAILED`], for a `batch` or
//! `sequence` too when one of its sub-requests meets it. A request stops at the first failure,
//! and reads come before writes, so a failure changes nothing that request would have changed
//! (the sub-requests of a batch before the failing one stand, as on the live server).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use serde_json::{Map, Value, json};
use sesh_identity::Identity;

use crate::Error;
use crate::encoding::to_base64;
use crate::request::Auth;
use crate::request::{self, NamespaceRequest, Request};
use crate::store::{Message, Store, StoreFailure, Stored};
use crate::types::SubaccountToken;
use crate::types::{AccountId, Namespace, NamespaceSel, access};

/// Signatures may be this far from now (ms).
pub const SIGNATURE_TOLERANCE: i64 = 60_000;
/// … and this far on requests a swarm peer forwarded.
pub const SIGNATURE_TOLERANCE_FORWARDED: i64 = 70_000;
/// A store's timestamp may be this far ahead, its expiry this far behind (ms).
pub const STORE_TOLERANCE: i64 = 10_000;
/// Shortest TTL (ms).
pub const TTL_MINIMUM: i64 = 10_000;
/// Longest TTL in public-inbox namespaces: 14 days (ms).
pub const TTL_MAXIMUM: i64 = 14 * 86_400_000;
/// Longest TTL elsewhere, and the cap on `expire`: 30 days (ms).
pub const TTL_MAXIMUM_PRIVATE: i64 = 30 * 86_400_000;
/// Most bytes one retrieve returns.
pub const RETRIEVE_MAX_SIZE: i64 = 7_800_000;
/// The storage server version reported by `info`.
pub const STORAGE_SERVER_VERSION: [u16; 3] = [2, 8, 0];
/// Multi-expiry `expire` needs this hard fork.
pub const MULTI_EXPIRY_HARDFORK: [u16; 2] = [19, 4];
/// The `500` answer to a request whose database failed, other than a `store` or `retrieve`
/// (the live server's answer to an exception out of a request handler).
pub const REQUEST_FAILED: &str = "request failed";

/// The `500` answer to a `retrieve` whose database failed (the live server's): the account is
/// shown by its first two and last bytes, `Internal Server Error. Could not retrieve messages
/// for 1234…ff`.
pub fn retrieve_failure_text(account: &AccountId) -> String {
    let [a, b, .., z] = *account.key();
    format!("Internal Server Error. Could not retrieve messages for {a:02x}{b:02x}…{z:02x}")
}

/// What the node knows of the network.
pub trait SwarmView {
    /// Whether this node's swarm holds `account`.
    fn owns(&self, account: &AccountId) -> bool;
    /// The swarm JSON (`{"snodes": […], "swarm": "<hex id>"}`) of `account`'s swarm.
    fn swarm_json(&self, account: &AccountId) -> Value;
    /// What oxend answers `endpoint` (one of [`OXEND_ENDPOINTS`](crate::request::OXEND_ENDPOINTS))
    /// with `params` (`oxend_request`).
    ///
    /// # Errors
    /// The text the storage server answers (`400`) when oxend refuses. Without an oxend (the
    /// default), every call is refused with [`OXEND_UNAVAILABLE`], as the live server answers
    /// when oxend does not.
    fn oxend(&self, endpoint: &str, params: Option<&Value>) -> Result<Value, String> {
        let _ = (endpoint, params);
        Err(OXEND_UNAVAILABLE.to_owned())
    }
}

/// The storage server's answer to an `oxend_request` that oxend did not answer.
pub const OXEND_UNAVAILABLE: &str = "Unknown oxend error";

/// A node that owns every account and knows no peers (tests, a single node).
#[derive(Clone, Copy, Debug, Default)]
pub struct Solo;

impl SwarmView for Solo {
    fn owns(&self, _: &AccountId) -> bool {
        true
    }
    fn swarm_json(&self, _: &AccountId) -> Value {
        json!({"snodes": [], "swarm": "ffffffffffffffff"})
    }
}

/// The node answering.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    /// Its Ed25519 identity (signs responses; its hex key names its `swarm` entry).
    pub identity: &'a Identity,
    /// The hard fork it reports, `[major, minor]`.
    pub hf: [u16; 2],
    /// Its view of the swarms.
    pub swarm: &'a dyn SwarmView,
}

impl core::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node")
            .field("pubkey", &hex::encode(self.identity.ed25519_public_key().to_bytes()))
            .field("hf", &self.hf)
            .finish()
    }
}

/// The circumstances of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// The current time, ms since the Unix epoch.
    pub now_ms: i64,
    /// Whether a swarm peer forwarded it (no `swarm` wrapper, wider time window).
    pub forwarded: bool,
}

/// A response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// JSON.
    Json(Value),
    /// Plain text (errors).
    Text(String),
}

impl Body {
    /// The body as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Json(v) => v.to_string().into_bytes(),
            Self::Text(t) => t.clone().into_bytes(),
        }
    }

    /// The body as JSON (text becomes a string).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Json(v) => v.clone(),
            Self::Text(t) => Value::String(t.clone()),
        }
    }
}

/// What the request signature check saw (for logs and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// The bytes verified.
    pub message: Vec<u8>,
    /// The key verified with.
    pub key: [u8; 32],
    /// The result.
    pub valid: bool,
}

/// A response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Body,
    /// The request signature check, if one was made.
    pub verification: Option<Verification>,
    /// The subaccount token check, if one was made: the token, the key, the result.
    pub token_check: Option<([u8; 36], [u8; 32], bool)>,
    /// Whether this is a recursive request the entry node must forward to its swarm peers.
    pub forward: bool,
}

impl Response {
    fn text(status: u16, text: impl Into<String>) -> Self {
        Self {
            status,
            body: Body::Text(text.into()),
            verification: None,
            token_check: None,
            forward: false,
        }
    }

    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Body::Json(body),
            verification: None,
            token_check: None,
            forward: false,
        }
    }

    /// Adds a swarm peer's answer to a recursive request's `swarm` map (a peer failure is
    /// `{"failed": true, …}`), and recomputes the status: 200 unless every entry failed.
    pub fn merge_peer(&mut self, peer_ed25519_hex: &str, result: Value) {
        if let Body::Json(body) = &mut self.body
            && let Some(all_failed) = merge_swarm_entry(body, peer_ed25519_hex, result)
            && (self.status == 200 || self.status == 500)
        {
            self.status = if all_failed { 500 } else { 200 };
        }
    }
}

/// Adds a swarm peer's answer to the `swarm` map of a recursive request's result `body` (a
/// whole response, or one `body` of a batch's `results`); returns whether every entry has now
/// failed, or `None` if `body` has no `swarm` map.
pub fn merge_swarm_entry(body: &mut Value, peer_ed25519_hex: &str, result: Value) -> Option<bool> {
    let Some(Value::Object(swarm)) = body.get_mut("swarm") else { return None };
    swarm.insert(peer_ed25519_hex.to_owned(), result);
    Some(swarm.values().all(|v| v.get("failed").is_some()))
}

/// `POST /storage_rpc/v1`: a JSON body `{"method": …, "params": {…}}`.
pub fn handle_body(node: &Node<'_>, store: &mut dyn Store, ctx: Context, body: &[u8]) -> Response {
    match parse_body(body) {
        Ok((method, params)) => handle_params(node, store, ctx, &method, &params),
        Err(e) => Response::text(400, e.response_text()),
    }
}

/// Splits a `POST /storage_rpc/v1` body into its method and params (for a node that looks at
/// them before handling, e.g. to forward a recursive request to its swarm).
///
/// # Errors
/// [`Error::InvalidJson`] when the body is not JSON, [`Error::NoMethodField`] when it is not an
/// object with a string `method`, [`Error::NoParamsField`] when it has no object `params`. The
/// server answers them `400` with the `Display` text alone.
pub fn parse_body(body: &[u8]) -> crate::Result<(String, Map<String, Value>)> {
    let mut body = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return Err(Error::NoMethodField),
        Err(_) => return Err(Error::InvalidJson),
    };
    let Some(Value::String(method)) = body.remove("method") else {
        return Err(Error::NoMethodField);
    };
    let Some(Value::Object(params)) = body.remove("params") else {
        return Err(Error::NoParamsField);
    };
    Ok((method, params))
}

/// One method with its params: a method the server does not have is `400 "no method …"`, params
/// it refuses are `400 "invalid request: …"` ([`Error::response_text`]).
pub fn handle_params(
    node: &Node<'_>,
    store: &mut dyn Store,
    ctx: Context,
    method: &str,
    params: &Map<String, Value>,
) -> Response {
    match request::parse(method, params) {
        Ok(req) => handle(node, store, ctx, req),
        Err(e) => Response::text(400, e.response_text()),
    }
}

/// Handles a parsed request. A database failure is a `500` (see the [module](self) docs).
pub fn handle(node: &Node<'_>, store: &mut dyn Store, ctx: Context, req: Request) -> Response {
    handle_verified(node, store, ctx, req, &Verified::NONE)
}

/// [`handle`], with the signature checks [`verify_ahead`] made for this request taken as made:
/// a node verifies ahead on any thread, and runs the request on its database's one writer with
/// no Ed25519 work left there. A check `verified` does not hold is made here as usual.
pub fn handle_verified(
    node: &Node<'_>,
    store: &mut dyn Store,
    ctx: Context,
    req: Request,
    verified: &Verified,
) -> Response {
    try_handle(node, store, ctx, req, verified, None, None)
        .unwrap_or_else(|_| Response::text(500, REQUEST_FAILED))
}

/// One Ed25519 check: the key, the message, the signature, and whether it verified.
type Check = ([u8; 32], Vec<u8>, [u8; 64], bool);

/// A `05` account's `pubkey_ed25519`, whether it converts to the account's X25519 key.
type Conversion = ([u8; 32], [u8; 32], bool);

/// The signature checks of a request, made ahead of its run ([`verify_ahead`]), and the
/// Ed25519 → X25519 conversions of `05` accounts' keys (a point decompression each).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    checks: Vec<Check>,
    conversions: Vec<Conversion>,
}

impl Verified {
    /// No checks made ahead.
    pub const NONE: Self = Self { checks: Vec::new(), conversions: Vec::new() };

    /// Checks made.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// Whether none were made.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    fn get(&self, key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Option<bool> {
        let same = |c: &&Check| c.0 == *key && c.1 == message && c.2 == *signature;
        self.checks.iter().find(same).map(|c| c.3)
    }

    fn conversion(&self, ed: &[u8; 32], x: &[u8; 32]) -> Option<bool> {
        self.conversions.iter().find(|c| c.0 == *ed && c.1 == *x).map(|c| c.2)
    }
}

/// Makes the signature checks `req` calls for, without a store: the request is run against a
/// store that answers "not revoked" and fails everything else, so the checks made before its
/// first read or write are recorded (for a batch, those of the sub-requests up to the first
/// that touches the store). Hand the result, with another copy of `req`, to
/// [`handle_verified`].
pub fn verify_ahead(node: &Node<'_>, ctx: Context, req: Request) -> Verified {
    let mut made = Verified::default();
    let _ = try_handle(node, &mut DryRun, ctx, req, &Verified::NONE, Some(&mut made), None);
    made
}

/// [`verify_ahead`], with the `05` key conversions taken from `known` when it holds them, and
/// those it did not hold left there.
pub fn verify_ahead_with(
    node: &Node<'_>,
    ctx: Context,
    req: Request,
    known: &Conversions,
) -> Verified {
    let mut made = Verified::default();
    let _ = try_handle(node, &mut DryRun, ctx, req, &Verified::NONE, Some(&mut made), Some(known));
    made
}

/// [`handle`], with the `05` key conversions taken from `known` when it holds them, and those it
/// did not hold left there.
pub fn handle_with(
    node: &Node<'_>,
    store: &mut dyn Store,
    ctx: Context,
    req: Request,
    known: &Conversions,
) -> Response {
    try_handle(node, store, ctx, req, &Verified::NONE, None, Some(known))
        .unwrap_or_else(|_| Response::text(500, REQUEST_FAILED))
}

/// Answers a request that reads and writes nothing stored (`info`, `get_swarm`, the oxend
/// endpoints) without a store, so that a node answers it where it is, with no hand-off to its
/// database; `None` for any other request, which needs [`handle`] and a store.
pub fn handle_without_store(node: &Node<'_>, ctx: Context, req: &Request) -> Option<Response> {
    if !matches!(req, Request::Info | Request::GetSwarm(_) | Request::Oxend(_)) {
        return None;
    }
    let answer = try_handle(node, &mut DryRun, ctx, req.clone(), &Verified::NONE, None, None);
    Some(answer.unwrap_or_else(|_| Response::text(500, REQUEST_FAILED)))
}

/// An account's `pubkey_ed25519` and its X25519 key.
type KeyPair = ([u8; 32], [u8; 32]);

/// The `05` key conversions a node has made: whether an account's `pubkey_ed25519` converts to
/// the account's X25519 key (a point decompression and a prime-order check: about as much work
/// as the signature check that follows). The answer depends on the two keys alone, so a node
/// keeps it for the account's next request (clients poll their accounts every few seconds).
/// It holds at most `capacity` pairs, and forgets them all when it is full.
#[derive(Debug)]
pub struct Conversions {
    known: Mutex<HashMap<KeyPair, bool>>,
    capacity: usize,
}

impl Conversions {
    /// An empty memory of at most `capacity` pairs.
    pub fn new(capacity: usize) -> Self {
        Self { known: Mutex::new(HashMap::new()), capacity }
    }

    /// Pairs held.
    pub fn len(&self) -> usize {
        self.known.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `ed` converts to `x`: remembered, or worked out and remembered.
    fn converts(&self, ed: &[u8; 32], x: &[u8; 32]) -> bool {
        let known =
            self.known.lock().unwrap_or_else(PoisonError::into_inner).get(&(*ed, *x)).copied();
        if let Some(converts) = known {
            return converts;
        }
        let converts = crate::proof::converts(ed, x);
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= self.capacity {
            known.clear();
        }
        known.insert((*ed, *x), converts);
        converts
    }
}

/// A store for [`verify_ahead`]: nothing is revoked, and every read or write fails (stopping
/// the run before it does anything).
struct DryRun;

fn dry<T>() -> Result<T, StoreFailure> {
    Err(StoreFailure("verifying ahead reads and writes nothing".into()))
}

impl Store for DryRun {
    fn store(&mut self, _: Message) -> Result<Stored, StoreFailure> {
        dry()
    }
    fn retrieve(
        &self,
        _: &AccountId,
        _: Namespace,
        _: Option<&str>,
        _: Option<usize>,
        _: Option<usize>,
        _: usize,
    ) -> Result<(Vec<Message>, bool), StoreFailure> {
        dry()
    }
    fn delete_by_hash(&mut self, _: &AccountId, _: &[String]) -> Result<Vec<String>, StoreFailure> {
        dry()
    }
    fn delete_all(
        &mut self,
        _: &AccountId,
        _: Option<Namespace>,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        dry()
    }
    fn delete_before(
        &mut self,
        _: &AccountId,
        _: Option<Namespace>,
        _: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        dry()
    }
    fn expire_all(
        &mut self,
        _: &AccountId,
        _: Option<Namespace>,
        _: i64,
    ) -> Result<Vec<(Namespace, String)>, StoreFailure> {
        dry()
    }
    fn expire(
        &mut self,
        _: &AccountId,
        _: &[String],
        _: &[i64],
        _: bool,
        _: bool,
    ) -> Result<Vec<(String, i64)>, StoreFailure> {
        dry()
    }
    fn get_expiries(
        &self,
        _: &AccountId,
        _: &[String],
    ) -> Result<BTreeMap<String, i64>, StoreFailure> {
        dry()
    }
    fn revoke(&mut self, _: &AccountId, _: &[SubaccountToken]) -> Result<(), StoreFailure> {
        dry()
    }
    fn unrevoke(&mut self, _: &AccountId, _: &[SubaccountToken]) -> Result<usize, StoreFailure> {
        dry()
    }
    fn is_revoked(&self, _: &AccountId, _: &SubaccountToken) -> Result<bool, StoreFailure> {
        Ok(false)
    }
}

/// [`handle`], with a database failure that its method does not answer itself left to the
/// caller.
fn try_handle(
    node: &Node<'_>,
    store: &mut dyn Store,
    ctx: Context,
    req: Request,
    ahead: &Verified,
    record: Option<&mut Verified>,
    known: Option<&Conversions>,
) -> Result<Response, StoreFailure> {
    if let Some(account) = req.account()
        && !matches!(req, Request::GetSwarm(_))
        && !node.swarm.owns(account)
    {
        let mut body = node.swarm.swarm_json(account);
        misc(&mut body, node, ctx.now_ms);
        return Ok(Response::json(421, body));
    }
    let mut h =
        Handler { node, store, ctx, verification: None, token_check: None, ahead, record, known };
    let recursive = req.is_recursive();
    let mut response = match req {
        Request::Store(r) => h.store(r)?,
        Request::Retrieve(r) => h.retrieve(r)?,
        Request::Delete(r) => h.delete(r)?,
        Request::DeleteAll(r) => h.delete_all(r)?,
        Request::DeleteBefore(r) => h.delete_before(r)?,
        Request::ExpireAll(r) => h.expire_all(r)?,
        Request::Expire(r) => h.expire(r)?,
        Request::GetExpiries(r) => h.get_expiries(r)?,
        Request::Revoke(r) => h.revoke(r, true)?,
        Request::Unrevoke(r) => h.revoke(r, false)?,
        Request::GetSwarm(pk) => {
            let mut body = node.swarm.swarm_json(&pk);
            misc(&mut body, node, ctx.now_ms);
            Response::json(200, body)
        }
        Request::Info => {
            let mut body = json!({"version": STORAGE_SERVER_VERSION, "timestamp": ctx.now_ms});
            misc(&mut body, node, ctx.now_ms);
            Response::json(200, body)
        }
        Request::Oxend(r) => match node.swarm.oxend(&r.endpoint, r.params.as_ref()) {
            Ok(result) => {
                let mut body = json!({"result": result});
                misc(&mut body, node, ctx.now_ms);
                Response::json(200, body)
            }
            Err(text) => Response::text(400, text),
        },
        Request::Batch(subs) => h.batch(subs, false)?,
        Request::Sequence(subs) => h.batch(subs, true)?,
    };
    response.verification = h.verification;
    response.token_check = h.token_check;
    response.forward = recursive && !ctx.forwarded && response.status < 300;
    Ok(response)
}

fn misc(body: &mut Value, node: &Node<'_>, now: i64) {
    if let Value::Object(map) = body {
        map.insert("t".into(), json!(now));
        map.insert("hf".into(), json!(node.hf));
    }
}

/// The concatenation of signature parts.
fn message(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

struct Handler<'n, 's> {
    node: &'n Node<'n>,
    store: &'s mut dyn Store,
    ctx: Context,
    verification: Option<Verification>,
    token_check: Option<([u8; 36], [u8; 32], bool)>,
    /// Checks made ahead ([`verify_ahead`]).
    ahead: &'n Verified,
    /// Where checks are recorded, when verifying ahead.
    record: Option<&'s mut Verified>,
    /// Key conversions made before.
    known: Option<&'n Conversions>,
}

impl Handler<'_, '_> {
    /// An Ed25519 check: taken from the checks made ahead if they hold it, recorded when
    /// verifying ahead.
    fn check(&mut self, key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        let ok = self
            .ahead
            .get(key, message, signature)
            .unwrap_or_else(|| crate::proof::ed25519_verify(key, message, signature));
        if let Some(record) = &mut self.record {
            record.checks.push((*key, message.to_vec(), *signature, ok));
        }
        ok
    }

    fn sign(&self, parts: &[&[u8]]) -> String {
        to_base64(&self.node.identity.sign(&message(parts)).to_bytes())
    }

    fn own_hex(&self) -> String {
        hex::encode(self.node.identity.ed25519_public_key().to_bytes())
    }

    /// The server's `verify_signature`: the `05` Ed→X check, the subaccount's revocation,
    /// network, permissions and signature, then the request signature. A revocation check the
    /// database cannot answer fails the request.
    fn verify(
        &mut self,
        pubkey: &AccountId,
        auth: &Auth,
        required: Option<u8>,
        skip_revoke: bool,
        msg: Vec<u8>,
    ) -> Result<bool, StoreFailure> {
        let mut key = *pubkey.key();
        if pubkey.prefix() == 5
            && let Some(ed) = auth.pubkey_ed25519
        {
            let converts = self.ahead.conversion(&ed, &key).unwrap_or_else(|| match self.known {
                Some(known) => known.converts(&ed, &key),
                None => crate::proof::converts(&ed, &key),
            });
            if let Some(record) = &mut self.record {
                record.conversions.push((ed, key, converts));
            }
            if !converts {
                return Ok(false);
            }
            key = ed;
        }
        if let (Some(sub), Some(required)) = (auth.subaccount, required) {
            if !skip_revoke && self.store.is_revoked(pubkey, &sub.token)? {
                return Ok(false);
            }
            if !sub.token.prefix_allowed(pubkey.prefix()) || !sub.token.has(required) {
                return Ok(false);
            }
            let ok = self.check(&key, &sub.token.0, &sub.signature);
            self.token_check = Some((sub.token.0, key, ok));
            if !ok {
                return Ok(false);
            }
            key = sub.token.pubkey();
        }
        let valid = self.check(&key, &msg, &auth.signature);
        self.verification = Some(Verification { message: msg, key, valid });
        Ok(valid)
    }

    /// The entry node's wrapper around its own result, or the bare result when forwarded.
    fn wrap(&self, mine: Map<String, Value>) -> Value {
        if self.ctx.forwarded {
            return Value::Object(mine);
        }
        let mut swarm = Map::new();
        swarm.insert(self.own_hex(), Value::Object(mine));
        let mut top = Map::new();
        top.insert("swarm".into(), Value::Object(swarm));
        let mut top = Value::Object(top);
        misc(&mut top, self.node, self.ctx.now_ms);
        top
    }

    fn store(&mut self, r: request::StoreRequest) -> Result<Response, StoreFailure> {
        let now = self.ctx.now_ms;
        let public_in = r.namespace.is_public_inbox();
        let ttl = r.expiry.saturating_sub(r.timestamp);
        let max_ttl = if public_in { TTL_MAXIMUM } else { TTL_MAXIMUM_PRIVATE };
        if !(TTL_MINIMUM..=max_ttl).contains(&ttl) {
            return Ok(Response::text(403, "Provided expiry/TTL is not valid."));
        }
        if r.timestamp > now + STORE_TOLERANCE || r.expiry < now - STORE_TOLERANCE {
            return Ok(Response::text(406, "Timestamp error: check your clock"));
        }
        if !public_in {
            let Some((auth, sig_ts)) = &r.auth else {
                return Ok(Response::text(
                    401,
                    format!("store: signature required to store to namespace {}", r.namespace),
                ));
            };
            if *sig_ts < now - SIGNATURE_TOLERANCE || *sig_ts > now + SIGNATURE_TOLERANCE {
                return Ok(Response::text(
                    406,
                    "store signature timestamp too far from current time",
                ));
            }
            let required = crate::proof::store_permission(r.namespace);
            let msg = crate::proof::store_message(r.namespace, *sig_ts);
            if !self.verify(&r.pubkey, auth, Some(required), false, msg)? {
                return Ok(Response::text(401, "store signature verification failed"));
            }
        }
        let message = Message::from_store(r);
        let hash = message.hash.clone();
        let stored = self.store.store(message);
        let mut mine = Map::new();
        let failed = match stored {
            Ok(s) => {
                mine.insert("hash".into(), json!(hash));
                mine.insert("signature".into(), json!(self.sign(&[hash.as_bytes()])));
                if !s.new {
                    mine.insert("already".into(), json!(true));
                }
                mine.insert("expiry".into(), json!(s.expiry));
                false
            }
            Err(e) => {
                mine.insert("reason".into(), json!(e.0));
                mine.insert("failed".into(), json!(true));
                mine.insert("query_failure".into(), json!(true));
                true
            }
        };
        if !self.ctx.forwarded {
            mine.insert("t".into(), json!(now));
        }
        let mut body = self.wrap(mine);
        if !self.ctx.forwarded
            && !failed
            && let Value::Object(top) = &mut body
        {
            top.insert("hash".into(), json!(hash));
        }
        Ok(Response::json(if failed { 500 } else { 200 }, body))
    }

    fn retrieve(&mut self, r: request::RetrieveRequest) -> Result<Response, StoreFailure> {
        let now = self.ctx.now_ms;
        if !r.namespace.is_noauth_retrieve() && r.auth.is_none() {
            return Ok(Response::text(401, "retrieve: request signature required"));
        }
        if let Some((auth, ts)) = &r.auth {
            if *ts < now - SIGNATURE_TOLERANCE || *ts > now + SIGNATURE_TOLERANCE {
                return Ok(Response::text(406, "retrieve timestamp too far from current time"));
            }
            let msg = message(&[
                b"retrieve",
                r.namespace.signature_part().as_bytes(),
                ts.to_string().as_bytes(),
            ]);
            if !self.verify(
                &r.pubkey,
                auth,
                Some(access::READ),
                r.namespace.is_unrevocable(),
                msg,
            )? {
                return Ok(Response::text(401, "retrieve signature verification failed"));
            }
        }
        let max_count = r.max_count.filter(|c| *c != 0);
        let mut max_size = r.max_size.filter(|s| *s != 0);
        if max_count.is_none() && max_size.is_none() {
            max_size = Some(-5);
        }
        let max_size = match max_size {
            Some(s) if s < 0 => RETRIEVE_MAX_SIZE / -s,
            Some(s) if s <= RETRIEVE_MAX_SIZE => s,
            _ => RETRIEVE_MAX_SIZE,
        };
        let max_count = max_count.map(|c| usize::try_from(c).unwrap_or(0));
        let found = self.store.retrieve(
            &r.pubkey,
            r.namespace,
            r.last_hash.as_deref(),
            max_count,
            usize::try_from(max_size).ok(),
            100,
        );
        let Ok((messages, more)) = found else {
            return Ok(Response::text(500, retrieve_failure_text(&r.pubkey)));
        };
        let messages: Vec<Value> = messages
            .into_iter()
            .map(|m| json!({"hash": m.hash, "timestamp": m.timestamp, "expiration": m.expiry, "data": to_base64(&m.data)}))
            .collect();
        let mut body = json!({"messages": messages, "more": more});
        misc(&mut body, self.node, now);
        Ok(Response::json(200, body))
    }

    fn delete(&mut self, r: request::DeleteRequest) -> Result<Response, StoreFailure> {
        let mut parts: Vec<&[u8]> = vec![b"delete"];
        parts.extend(r.messages.iter().map(|m| m.as_bytes()));
        if !self.verify(&r.pubkey, &r.auth, Some(access::DELETE), false, message(&parts))? {
            return Ok(Response::text(401, "delete_msgs signature verification failed"));
        }
        let mut deleted = self.store.delete_by_hash(&r.pubkey, &r.messages)?;
        deleted.sort();
        let pk = r.pubkey.prefixed_hex();
        let mut parts: Vec<&[u8]> = vec![pk.as_bytes()];
        parts.extend(r.messages.iter().map(|m| m.as_bytes()));
        parts.extend(deleted.iter().map(|m| m.as_bytes()));
        let signature = self.sign(&parts);
        let none = deleted.is_empty();
        let mut mine = Map::new();
        mine.insert("deleted".into(), json!(deleted));
        mine.insert("signature".into(), json!(signature));
        let status = if r.required && none { 404 } else { 200 };
        Ok(Response::json(status, self.wrap(mine)))
    }

    /// delete_all / delete_before / expire_all once checked: sign and report the affected hashes.
    fn report(
        &self,
        key: &str,
        pk: &AccountId,
        time: i64,
        ns: NamespaceSel,
        mut affected: Vec<(Namespace, String)>,
    ) -> Result<Response, StoreFailure> {
        affected.sort_by(|a, b| a.1.cmp(&b.1));
        let pk_hex = pk.prefixed_hex();
        let time = time.to_string();
        let mut parts: Vec<&[u8]> = vec![pk_hex.as_bytes(), time.as_bytes()];
        parts.extend(affected.iter().map(|(_, h)| h.as_bytes()));
        let signature = self.sign(&parts);
        let mut mine = Map::new();
        match ns {
            NamespaceSel::All => {
                let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (ns, hash) in affected {
                    by_ns.entry(ns.to_string()).or_default().push(hash);
                }
                mine.insert(key.into(), json!(by_ns));
            }
            NamespaceSel::One(_) => {
                let hashes: Vec<String> = affected.into_iter().map(|(_, h)| h).collect();
                mine.insert(key.into(), json!(hashes));
            }
        }
        mine.insert("signature".into(), json!(signature));
        Ok(Response::json(200, self.wrap(mine)))
    }

    fn one(ns: NamespaceSel) -> Option<Namespace> {
        match ns {
            NamespaceSel::One(ns) => Some(ns),
            NamespaceSel::All => None,
        }
    }

    fn delete_all(&mut self, r: NamespaceRequest) -> Result<Response, StoreFailure> {
        let now = self.ctx.now_ms;
        let tolerance =
            if self.ctx.forwarded { SIGNATURE_TOLERANCE_FORWARDED } else { SIGNATURE_TOLERANCE };
        if r.time < now - tolerance || r.time > now + tolerance {
            return Ok(Response::text(406, "delete_all timestamp too far from current time"));
        }
        let msg = message(&[
            b"delete_all",
            r.namespace.signature_part().as_bytes(),
            r.time.to_string().as_bytes(),
        ]);
        if !self.verify(&r.pubkey, &r.auth, Some(access::DELETE), false, msg)? {
            return Ok(Response::text(401, "delete_all signature verification failed"));
        }
        let affected = self.store.delete_all(&r.pubkey, Self::one(r.namespace))?;
        self.report("deleted", &r.pubkey, r.time, r.namespace, affected)
    }

    fn delete_before(&mut self, r: NamespaceRequest) -> Result<Response, StoreFailure> {
        if r.time > self.ctx.now_ms + 60_000 {
            return Ok(Response::text(401, "delete_before timestamp too far in the future"));
        }
        let msg = message(&[
            b"delete_before",
            r.namespace.signature_part().as_bytes(),
            r.time.to_string().as_bytes(),
        ]);
        if !self.verify(&r.pubkey, &r.auth, Some(access::DELETE), false, msg)? {
            return Ok(Response::text(401, "delete_before signature verification failed"));
        }
        let affected = self.store.delete_before(&r.pubkey, Self::one(r.namespace), r.time)?;
        self.report("deleted", &r.pubkey, r.time, r.namespace, affected)
    }

    fn expire_all(&mut self, r: NamespaceRequest) -> Result<Response, StoreFailure> {
        let tolerance =
            if self.ctx.forwarded { SIGNATURE_TOLERANCE_FORWARDED } else { SIGNATURE_TOLERANCE };
        if r.time < self.ctx.now_ms - tolerance {
            return Ok(Response::text(406, "expire_all timestamp should be >= current time"));
        }
        let msg = message(&[
            b"expire_all",
            r.namespace.signature_part().as_bytes(),
            r.time.to_string().as_bytes(),
        ]);
        if !self.verify(&r.pubkey, &r.auth, Some(access::DELETE), false, msg)? {
            return Ok(Response::text(401, "expire_all signature verification failed"));
        }
        let affected = self.store.expire_all(&r.pubkey, Self::one(r.namespace), r.time)?;
        self.report("updated", &r.pubkey, r.time, r.namespace, affected)
    }

    fn expire(&mut self, r: request::ExpireRequest) -> Result<Response, StoreFailure> {
        let now = self.ctx.now_ms;
        let mut applied = Vec::with_capacity(r.expiry.len());
        for exp in &r.expiry {
            if *exp < now - 60_000 {
                return Ok(Response::text(401, "expire: timestamp should be >= current time"));
            }
            applied.push((now + TTL_MAXIMUM_PRIVATE).min(*exp));
        }
        if r.expiry.len() > 1 && self.node.hf < MULTI_EXPIRY_HARDFORK {
            return Ok(Response::text(
                403,
                "expire: multi-expiry requests are not yet active on the network",
            ));
        }
        let mode: &[u8] = if r.shorten {
            b"shorten"
        } else if r.extend {
            b"extend"
        } else {
            b""
        };
        let expiries: String = r.expiry.iter().map(i64::to_string).collect();
        let mut parts: Vec<&[u8]> = vec![b"expire", mode, expiries.as_bytes()];
        parts.extend(r.messages.iter().map(|m| m.as_bytes()));
        if !self.verify(&r.pubkey, &r.auth, Some(access::WRITE), false, message(&parts))? {
            return Ok(Response::text(401, "expire: signature verification failed"));
        }
        let mut extend_only = r.extend;
        if let Some(sub) = r.auth.subaccount
            && !sub.token.has(access::DELETE)
        {
            if r.shorten {
                return Ok(Response::text(
                    400,
                    "expire: shorten parameter cannot be used with this subaccount token (missing delete access)",
                ));
            } else if !r.extend {
                extend_only = true;
            }
        }
        // The server reads the expiries of the messages left unchanged after the update; they
        // are the same before it, and reading first means a failed read changes nothing.
        let before = if r.extend || r.shorten {
            self.store.get_expiries(&r.pubkey, &r.messages)?
        } else {
            BTreeMap::new()
        };
        let mut updated =
            self.store.expire(&r.pubkey, &r.messages, &applied, extend_only, r.shorten)?;
        updated.sort_by(|a, b| a.0.cmp(&b.0));
        let unchanged: BTreeMap<String, i64> =
            before.into_iter().filter(|(m, _)| !updated.iter().any(|(h, _)| h == m)).collect();
        let updated_exp: Vec<i64> = if r.expiry.len() > 1 {
            updated.iter().map(|(_, e)| *e).collect()
        } else {
            applied.first().copied().into_iter().collect()
        };
        let pk = r.pubkey.prefixed_hex();
        let exp_text: String = updated_exp.iter().map(i64::to_string).collect();
        let unchanged_text: String = unchanged.iter().map(|(h, e)| format!("{h}{e}")).collect();
        let mut parts: Vec<&[u8]> = vec![pk.as_bytes(), exp_text.as_bytes()];
        parts.extend(r.messages.iter().map(|m| m.as_bytes()));
        parts.extend(updated.iter().map(|(h, _)| h.as_bytes()));
        parts.push(unchanged_text.as_bytes());
        let signature = self.sign(&parts);
        let mut mine = Map::new();
        if r.expiry.len() > 1 {
            mine.insert("expiry".into(), json!(updated_exp));
        } else {
            mine.insert("expiry".into(), json!(applied.first().copied().unwrap_or(0)));
        }
        let hashes: Vec<String> = updated.into_iter().map(|(h, _)| h).collect();
        mine.insert("updated".into(), json!(hashes));
        if r.shorten || r.extend {
            mine.insert("unchanged".into(), json!(unchanged));
        }
        mine.insert("signature".into(), json!(signature));
        Ok(Response::json(200, self.wrap(mine)))
    }

    fn get_expiries(&mut self, r: request::GetExpiriesRequest) -> Result<Response, StoreFailure> {
        let now = self.ctx.now_ms;
        if r.timestamp < now - SIGNATURE_TOLERANCE || r.timestamp > now + SIGNATURE_TOLERANCE {
            return Ok(Response::text(406, "get_expiries timestamp too far from current time"));
        }
        let ts = r.timestamp.to_string();
        let mut parts: Vec<&[u8]> = vec![b"get_expiries", ts.as_bytes()];
        parts.extend(r.messages.iter().map(|m| m.as_bytes()));
        if !self.verify(&r.pubkey, &r.auth, Some(access::READ), false, message(&parts))? {
            return Ok(Response::text(401, "get_expiries signature verification failed"));
        }
        let expiries = self.store.get_expiries(&r.pubkey, &r.messages)?;
        Ok(Response::json(200, json!({"expiries": expiries})))
    }

    fn revoke(
        &mut self,
        r: request::RevokeRequest,
        revoke: bool,
    ) -> Result<Response, StoreFailure> {
        let name = if revoke { "revoke_subaccount" } else { "unrevoke_subaccount" };
        let now = self.ctx.now_ms;
        if r.timestamp < now - SIGNATURE_TOLERANCE || r.timestamp > now + SIGNATURE_TOLERANCE {
            return Ok(Response::text(406, format!("{name} timestamp too far from current time")));
        }
        let ts = r.timestamp.to_string();
        let mut parts: Vec<&[u8]> = vec![name.as_bytes(), ts.as_bytes()];
        parts.extend(r.tokens.iter().map(|t| t.0.as_slice()));
        if !self.verify(&r.pubkey, &r.auth, None, false, message(&parts))? {
            return Ok(Response::text(401, format!("{name} signature verification failed")));
        }
        let mut mine = Map::new();
        if revoke {
            self.store.revoke(&r.pubkey, &r.tokens)?;
        } else {
            let count = self.store.unrevoke(&r.pubkey, &r.tokens)?;
            mine.insert("count".into(), json!(count));
        }
        let pk = r.pubkey.prefixed_hex();
        let mut parts: Vec<&[u8]> = vec![pk.as_bytes(), ts.as_bytes()];
        parts.extend(r.tokens.iter().map(|t| t.0.as_slice()));
        mine.insert("signature".into(), json!(self.sign(&parts)));
        Ok(Response::json(200, self.wrap(mine)))
    }

    /// A sub-request's database failure that it does not answer itself fails the whole batch,
    /// as an exception out of a sub-request does on the server.
    fn batch(&mut self, subs: Vec<Request>, sequence: bool) -> Result<Response, StoreFailure> {
        let mut results = Vec::with_capacity(subs.len());
        for sub in subs {
            let ctx = Context { forwarded: false, ..self.ctx };
            let record = self.record.as_deref_mut();
            let r = try_handle(self.node, self.store, ctx, sub, self.ahead, record, self.known)?;
            let ok = (200..300).contains(&r.status);
            results.push(json!({"code": r.status, "body": r.body.to_json()}));
            if sequence && !ok {
                break;
            }
        }
        Ok(Response::json(200, json!({"results": results})))
    }
}
