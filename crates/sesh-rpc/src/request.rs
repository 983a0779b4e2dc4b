//! Requests: parsed from a method name and its JSON `params` with the live server's rules and
//! its exact error texts (every parse failure is a `400 "invalid request: …"`).

use serde_json::{Map, Value};

use crate::Error;
use crate::encoding::{from_base64, is_base64, is_hex};
pub use crate::types::access;
use crate::types::{AccountId, Namespace, NamespaceSel, SignedSubaccount, SubaccountToken};

/// Largest decoded message body: 76,800 bytes.
pub const MAX_MESSAGE_BODY: usize = 76_800;
/// Most sub-requests in a batch or sequence.
pub const BATCH_REQUEST_MAX: usize = 20;
/// Most subaccount tokens one revoke may carry.
pub const MAX_SUBACCOUNT_TOKENS: usize = 50;

type Parsed<T> = crate::Result<T>;

/// The request signature and keys that come with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    /// The Ed25519 signature.
    pub signature: [u8; 64],
    /// For `05` accounts: the Ed25519 key the X25519 account key converts from.
    pub pubkey_ed25519: Option<[u8; 32]>,
    /// A subaccount token and its signature, when a subaccount signs.
    pub subaccount: Option<SignedSubaccount>,
}

/// `store`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreRequest {
    /// The account.
    pub pubkey: AccountId,
    /// The namespace.
    pub namespace: Namespace,
    /// Message timestamp, ms.
    pub timestamp: i64,
    /// Expiry, ms.
    pub expiry: i64,
    /// The message.
    pub data: Vec<u8>,
    /// Signature (required outside public-inbox namespaces) and the timestamp it signs.
    pub auth: Option<(Auth, i64)>,
}

/// The oxend calls a storage server passes on (`oxend_request`).
pub const OXEND_ENDPOINTS: [&str; 2] = ["get_service_nodes", "ons_resolve"];

/// `oxend_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OxendRequest {
    /// The call, one of [`OXEND_ENDPOINTS`].
    pub endpoint: String,
    /// Its params (absent when missing or `null`).
    pub params: Option<Value>,
}

/// `retrieve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrieveRequest {
    /// The account.
    pub pubkey: AccountId,
    /// The namespace.
    pub namespace: Namespace,
    /// Return what was stored after this hash.
    pub last_hash: Option<String>,
    /// At most this many messages.
    pub max_count: Option<i64>,
    /// At most this many bytes (negative: a fraction of the maximum).
    pub max_size: Option<i64>,
    /// Signature and signed timestamp, when checked.
    pub auth: Option<(Auth, i64)>,
}

/// Requests that name messages by hash or act on namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteRequest {
    /// The account.
    pub pubkey: AccountId,
    /// Signature.
    pub auth: Auth,
    /// Hashes to delete.
    pub messages: Vec<String>,
    /// 404 if nothing was deleted.
    pub required: bool,
}

/// `delete_all`, `delete_before` and `expire_all`: an account, a namespace selection and one
/// time value (the timestamp, `before`, or the new expiry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceRequest {
    /// The account.
    pub pubkey: AccountId,
    /// Signature.
    pub auth: Auth,
    /// Which namespaces.
    pub namespace: NamespaceSel,
    /// The time value, ms.
    pub time: i64,
}

/// `expire`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpireRequest {
    /// The account.
    pub pubkey: AccountId,
    /// Signature.
    pub auth: Auth,
    /// The messages.
    pub messages: Vec<String>,
    /// One expiry, or one per message.
    pub expiry: Vec<i64>,
    /// Only shorten.
    pub shorten: bool,
    /// Only extend.
    pub extend: bool,
}

/// `get_expiries`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetExpiriesRequest {
    /// The account.
    pub pubkey: AccountId,
    /// Signature.
    pub auth: Auth,
    /// The messages.
    pub messages: Vec<String>,
    /// Signed timestamp.
    pub timestamp: i64,
}

/// `revoke_subaccount` / `unrevoke_subaccount`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeRequest {
    /// The account.
    pub pubkey: AccountId,
    /// Signature (the account's own key only).
    pub auth: Auth,
    /// Tokens.
    pub tokens: Vec<SubaccountToken>,
    /// Signed timestamp.
    pub timestamp: i64,
}

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// `store`.
    Store(StoreRequest),
    /// `retrieve`.
    Retrieve(RetrieveRequest),
    /// `delete`.
    Delete(DeleteRequest),
    /// `delete_all`.
    DeleteAll(NamespaceRequest),
    /// `delete_before`.
    DeleteBefore(NamespaceRequest),
    /// `expire_all`.
    ExpireAll(NamespaceRequest),
    /// `expire`.
    Expire(ExpireRequest),
    /// `get_expiries`.
    GetExpiries(GetExpiriesRequest),
    /// `revoke_subaccount`.
    Revoke(RevokeRequest),
    /// `unrevoke_subaccount`.
    Unrevoke(RevokeRequest),
    /// `get_swarm` / `get_snodes_for_pubkey`.
    GetSwarm(AccountId),
    /// `info`.
    Info,
    /// `oxend_request`: one of oxend's public calls, answered from the node's view.
    Oxend(OxendRequest),
    /// `batch`: sub-requests run independently.
    Batch(Vec<Request>),
    /// `sequence`: sub-requests run in order until one fails.
    Sequence(Vec<Request>),
}

impl Request {
    /// The method's canonical name.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Store(_) => "store",
            Self::Retrieve(_) => "retrieve",
            Self::Delete(_) => "delete",
            Self::DeleteAll(_) => "delete_all",
            Self::DeleteBefore(_) => "delete_before",
            Self::ExpireAll(_) => "expire_all",
            Self::Expire(_) => "expire",
            Self::GetExpiries(_) => "get_expiries",
            Self::Revoke(_) => "revoke_subaccount",
            Self::Unrevoke(_) => "unrevoke_subaccount",
            Self::GetSwarm(_) => "get_swarm",
            Self::Info => "info",
            Self::Oxend(_) => "oxend_request",
            Self::Batch(_) => "batch",
            Self::Sequence(_) => "sequence",
        }
    }

    /// Whether the request is forwarded to the whole swarm.
    pub fn is_recursive(&self) -> bool {
        matches!(
            self,
            Self::Store(_)
                | Self::Delete(_)
                | Self::DeleteAll(_)
                | Self::DeleteBefore(_)
                | Self::ExpireAll(_)
                | Self::Expire(_)
                | Self::Revoke(_)
                | Self::Unrevoke(_)
        )
    }

    /// The account the request is about, if any.
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Self::Store(r) => Some(&r.pubkey),
            Self::Retrieve(r) => Some(&r.pubkey),
            Self::Delete(r) => Some(&r.pubkey),
            Self::DeleteAll(r) | Self::DeleteBefore(r) | Self::ExpireAll(r) => Some(&r.pubkey),
            Self::Expire(r) => Some(&r.pubkey),
            Self::GetExpiries(r) => Some(&r.pubkey),
            Self::Revoke(r) | Self::Unrevoke(r) => Some(&r.pubkey),
            Self::GetSwarm(pk) => Some(pk),
            Self::Info | Self::Oxend(_) | Self::Batch(_) | Self::Sequence(_) => None,
        }
    }
}

/// Whether `method` is a known method name (aliases included).
pub fn is_known_method(method: &str) -> bool {
    matches!(
        method,
        "store"
            | "retrieve"
            | "delete"
            | "delete_all"
            | "delete_before"
            | "expire_all"
            | "expire"
            | "get_expiries"
            | "revoke_subaccount"
            | "unrevoke_subaccount"
            | "get_swarm"
            | "get_snodes_for_pubkey"
            | "info"
            | "oxend_request"
            | "batch"
            | "sequence"
    )
}

/// Whether a method only reads the store (the node can run it beside the writer, on a
/// read-only connection).
pub fn is_read_only_method(method: &str) -> bool {
    matches!(
        method,
        "retrieve"
            | "get_expiries"
            | "info"
            | "get_swarm"
            | "get_snodes_for_pubkey"
            | "oxend_request"
    )
}

/// Whether `method` is one an entry node runs on every member of the swarm (store, the deletes,
/// the expiries, the revocations): the node forwards the client's `{"method", "params"}` to its
/// swarm peers and adds their answers with [`Response::merge_peer`](crate::handler::Response::merge_peer).
/// Inside a `batch` or `sequence`, each such subrequest is forwarded on its own.
pub fn is_recursive_method(method: &str) -> bool {
    matches!(
        method,
        "store"
            | "delete"
            | "delete_all"
            | "delete_before"
            | "expire_all"
            | "expire"
            | "revoke_subaccount"
            | "unrevoke_subaccount"
    )
}

/// Parses `params` for `method`.
///
/// # Errors
/// Why the params were refused, its `Display` the server's text: [`Error::UnknownMethod`] for a
/// method it does not have (answered as `400 "no method <method>"`), any other variant for
/// params it refuses (answered as `400 "invalid request: <text>"`; see
/// [`Error::response_text`]).
pub fn parse(method: &str, params: &Map<String, Value>) -> Parsed<Request> {
    let p = Fields(params);
    Ok(match method {
        "store" => Request::Store(load_store(&p)?),
        "retrieve" => Request::Retrieve(load_retrieve(&p)?),
        "delete" => Request::Delete(load_delete(&p)?),
        "delete_all" => Request::DeleteAll(load_namespace_request(&p, "timestamp")?),
        "delete_before" => Request::DeleteBefore(load_namespace_request(&p, "before")?),
        "expire_all" => Request::ExpireAll(load_namespace_request(&p, "expiry")?),
        "expire" => Request::Expire(load_expire(&p)?),
        "get_expiries" => Request::GetExpiries(load_get_expiries(&p)?),
        "revoke_subaccount" => Request::Revoke(load_revoke(&p, "revoke")?),
        "unrevoke_subaccount" => Request::Unrevoke(load_revoke(&p, "unrevoke")?),
        "get_swarm" | "get_snodes_for_pubkey" => Request::GetSwarm(load_get_swarm(&p)?),
        "info" => Request::Info,
        "oxend_request" => Request::Oxend(load_oxend(&p)?),
        "batch" => Request::Batch(load_batch(params)?),
        "sequence" => Request::Sequence(load_batch(params)?),
        other => return Err(Error::UnknownMethod { method: other.to_owned() }),
    })
}

/// `params` as nlohmann sees it: a missing or `null` field is absent.
struct Fields<'a>(&'a Map<String, Value>);

fn invalid<T>(field: &'static str, expected: &'static str) -> Parsed<T> {
    Err(Error::WrongType { field, expected })
}

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn boolean(&self, name: &'static str) -> Parsed<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => invalid(name, "boolean"),
        }
    }

    fn string(&self, name: &'static str) -> Parsed<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => invalid(name, "string"),
        }
    }

    fn integer(&self, name: &'static str) -> Parsed<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Ok(Some(n.as_i64().unwrap_or_else(|| n.as_u64().map_or(0, |u| u as i64))))
            }
            Some(_) => invalid(name, "integer"),
        }
    }

    fn unsigned(&self, name: &'static str) -> Parsed<Option<u64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64()),
            Some(_) => invalid(name, "positive integer"),
        }
    }

    /// A millisecond timestamp: a non-negative integer of at least 10^9 (smaller values were
    /// sent in seconds).
    fn timestamp(&self, name: &'static str) -> Parsed<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_u64() => {
                let ms = n.as_u64().map_or(0, |u| u as i64);
                if ms < 1_000_000_000 {
                    return Err(Error::TimestampNotMilliseconds {
                        field: name,
                        value: n.as_u64().unwrap_or(0),
                    });
                }
                Ok(Some(ms))
            }
            Some(_) => invalid(name, "integer timestamp (in milliseconds)"),
        }
    }

    fn namespace(&self, name: &'static str) -> Parsed<Option<Namespace>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                let value = n.as_i64().unwrap_or(i64::MAX);
                match i16::try_from(value) {
                    Ok(ns) => Ok(Some(Namespace(ns))),
                    Err(_) => Err(Error::OutOfRange { field: name }),
                }
            }
            Some(_) => invalid(name, "16-bit integer"),
        }
    }

    fn namespace_sel(&self, name: &'static str) -> Parsed<Option<NamespaceSel>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                let value = n.as_i64().unwrap_or(i64::MAX);
                match i16::try_from(value) {
                    Ok(ns) => Ok(Some(NamespaceSel::One(Namespace(ns)))),
                    Err(_) => Err(Error::OutOfRange { field: name }),
                }
            }
            Some(Value::String(s)) if s == "all" => Ok(Some(NamespaceSel::All)),
            Some(_) => invalid(name, "integer or \"all\""),
        }
    }

    fn string_array(&self, name: &'static str) -> Parsed<Option<Vec<String>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or(()))
                .collect::<Result<Vec<_>, ()>>()
                .map(Some)
                .or_else(|()| invalid(name, "string array")),
            Some(_) => invalid(name, "string array"),
        }
    }

    fn timestamp_array(&self, name: &'static str) -> Parsed<Option<Vec<i64>>> {
        let as_ms = |v: &Value| v.as_u64().filter(|_| v.is_u64()).map(|u| u as i64);
        match self.get(name) {
            None => Ok(None),
            Some(v @ Value::Number(_)) => match as_ms(v) {
                Some(ms) => Ok(Some(vec![ms])),
                None => invalid(name, "timestamp array"),
            },
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| as_ms(v).ok_or(()))
                .collect::<Result<Vec<_>, ()>>()
                .map(Some)
                .or_else(|()| invalid(name, "timestamp array")),
            Some(_) => invalid(name, "timestamp array"),
        }
    }

    /// `timestamp`/`ttl` of `store`: also accepted as a string holding an integer.
    fn stringified_signed(&self, name: &'static str) -> Parsed<Option<i64>> {
        if let Some(Value::String(s)) = self.0.get(name) {
            return s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| Error::NotAnInteger { field: name, value: s.clone() });
        }
        self.integer(name)
    }

    fn stringified_unsigned(&self, name: &'static str) -> Parsed<Option<u64>> {
        if let Some(Value::String(s)) = self.0.get(name) {
            return s
                .parse::<u64>()
                .map(Some)
                .map_err(|_| Error::NotAnInteger { field: name, value: s.clone() });
        }
        self.unsigned(name)
    }
}

fn require<T>(field: &'static str, value: Option<T>) -> Parsed<T> {
    value.ok_or(Error::MissingField { field })
}

fn load_pk(pk: Option<String>) -> Parsed<AccountId> {
    let pk = require("pubkey", pk)?;
    AccountId::load(&pk).ok_or(Error::BadPubkey)
}

fn decode_signature(sig: &str, what: &'static str) -> Parsed<[u8; 64]> {
    let padded = sig.len() == 88 && sig.get(86..) == Some("==");
    if !is_base64(sig) || !(sig.len() == 86 || padded) {
        return Err(Error::BadSignatureEncoding { what });
    }
    from_base64(sig)
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or(Error::BadSignatureEncoding { what })
}

/// `load_pk_signature`: the account, then a required signature, with `pubkey_ed25519` for `05`
/// accounts only.
fn load_pk_signature(
    pk: Option<String>,
    pk_ed: Option<String>,
    sig: Option<String>,
) -> Parsed<(AccountId, Auth)> {
    let pubkey = load_pk(pk)?;
    let sig = require("signature", sig)?;
    let mut pubkey_ed25519 = None;
    if let Some(ed) = pk_ed {
        if pubkey.prefix() != 5 {
            return Err(Error::Ed25519KeyNotPermitted { prefix: pubkey.prefix() });
        }
        if ed.len() == 64 {
            if !is_hex(&ed) {
                return Err(Error::Ed25519KeyNotHex);
            }
            let mut key = [0u8; 32];
            hex::decode_to_slice(&ed, &mut key).map_err(|_| Error::Ed25519KeyNotHex)?;
            pubkey_ed25519 = Some(key);
        } else if ed.len() == 32 {
            let mut key = [0u8; 32];
            key.copy_from_slice(ed.as_bytes());
            pubkey_ed25519 = Some(key);
        } else {
            return Err(Error::Ed25519KeyLength { length: ed.len() });
        }
    }
    let signature = decode_signature(&sig, "signature")?;
    Ok((pubkey, Auth { signature, pubkey_ed25519, subaccount: None }))
}

/// A 36-byte token as 48 base64 or 72 hex digits; `None` otherwise.
fn decode_token(text: &str) -> Option<SubaccountToken> {
    let bytes = if is_base64(text) && text.len() == 48 {
        from_base64(text)
    } else if is_hex(text) && text.len() == 72 {
        hex::decode(text).ok()
    } else {
        None
    };
    bytes.and_then(|b| <[u8; 36]>::try_from(b).ok()).map(SubaccountToken)
}

fn load_subaccount(auth: &mut Auth, token: Option<String>, sig: Option<String>) -> Parsed<()> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(()) };
    let Some(sig) = sig else {
        return Err(Error::MissingSubaccountSignature);
    };
    let token = decode_token(&token).ok_or(Error::BadSubaccountToken)?;
    let signature = decode_signature(&sig, "subaccount signature")?;
    auth.subaccount = Some(SignedSubaccount { token, signature });
    Ok(())
}

fn load_store(p: &Fields<'_>) -> Parsed<StoreRequest> {
    // Fields in alphabetical order, as the server reads them (type errors surface in this order).
    let data = p.string("data")?;
    let expiry = p.timestamp("expiry")?;
    let namespace = p.namespace("namespace")?;
    let pubkey_alt = p.string("pubKey")?;
    let pubkey = p.string("pubkey")?;
    let pk_ed = p.string("pubkey_ed25519")?;
    let sig_ts = p.timestamp("sig_timestamp")?;
    let sig = p.string("signature")?;
    let subaccount = p.string("subaccount")?;
    let subaccount_sig = p.string("subaccount_sig")?;
    let timestamp = p.stringified_signed("timestamp")?;
    let ttl = p.stringified_unsigned("ttl")?;

    let timestamp = require("timestamp", timestamp)?;
    let expiry = match (expiry, ttl) {
        (Some(_), Some(_)) => {
            return Err(Error::BothGiven { field: "expiry", other: "ttl" });
        }
        (None, None) => return Err(Error::MissingExpiryOrTtl),
        (Some(e), None) => e,
        (None, Some(t)) => timestamp.wrapping_add(t as i64),
    };
    let pk = match (pubkey, pubkey_alt) {
        (Some(_), Some(_)) => {
            return Err(Error::BothGiven { field: "pubkey", other: "pubKey" });
        }
        (None, None) => return Err(Error::MissingField { field: "pubkey" }),
        (Some(pk), None) | (None, Some(pk)) => pk,
    };
    let namespace = namespace.unwrap_or_default();
    let (pubkey, auth) = if sig.is_some() {
        let (pubkey, mut auth) = load_pk_signature(Some(pk), pk_ed, sig)?;
        load_subaccount(&mut auth, subaccount, subaccount_sig)?;
        (pubkey, Some((auth, sig_ts.unwrap_or(timestamp))))
    } else {
        (load_pk(Some(pk))?, None)
    };
    let data = require("data", data)?;
    if !is_base64(&data) {
        return Err(Error::DataNotBase64);
    }
    if data.len() > MAX_MESSAGE_BODY / 3 * 4 {
        return Err(Error::DataTooLong { encoded_length: data.len() });
    }
    let data = from_base64(&data).ok_or(Error::DataNotBase64)?;
    Ok(StoreRequest { pubkey, namespace, timestamp, expiry, data, auth })
}

fn load_oxend(p: &Fields<'_>) -> Parsed<OxendRequest> {
    let endpoint = require("endpoint", p.string("endpoint")?)?;
    if !OXEND_ENDPOINTS.contains(&endpoint.as_str()) {
        return Err(Error::OxendEndpoint { endpoint });
    }
    Ok(OxendRequest { endpoint, params: p.get("params").cloned() })
}

fn load_retrieve(p: &Fields<'_>) -> Parsed<RetrieveRequest> {
    let last_hash_alt = p.string("lastHash")?;
    let last_hash = p.string("last_hash")?;
    let max_count = p.integer("max_count")?;
    let max_size = p.integer("max_size")?;
    let namespace = p.namespace("namespace")?;
    let pubkey_alt = p.string("pubKey")?;
    let pubkey = p.string("pubkey")?;
    let pk_ed = p.string("pubkey_ed25519")?;
    let sig = p.string("signature")?;
    let subaccount = p.string("subaccount")?;
    let subaccount_sig = p.string("subaccount_sig")?;
    let timestamp = p.timestamp("timestamp")?;

    let pk = match (pubkey, pubkey_alt) {
        (Some(_), Some(_)) => {
            return Err(Error::BothGiven { field: "pubkey", other: "pubKey" });
        }
        (None, None) => return Err(Error::MissingField { field: "pubkey" }),
        (Some(pk), None) | (None, Some(pk)) => pk,
    };
    let signed = pk_ed.is_some()
        || sig.is_some()
        || timestamp.is_some()
        || namespace.is_some_and(|ns| !ns.is_noauth_retrieve());
    let (pubkey, auth) = if signed {
        let (pubkey, mut auth) = load_pk_signature(Some(pk), pk_ed, sig)?;
        load_subaccount(&mut auth, subaccount, subaccount_sig)?;
        (pubkey, Some((auth, require("timestamp", timestamp)?)))
    } else {
        (load_pk(Some(pk))?, None)
    };
    let last_hash = match (last_hash, last_hash_alt) {
        (Some(_), Some(_)) => {
            return Err(Error::BothGiven { field: "last_hash", other: "lastHash" });
        }
        (a, b) => a.or(b),
    };
    let last_hash = match last_hash {
        Some(h) if h.is_empty() => None,
        Some(h) if h.len() == 43 => {
            if !is_base64(&h) {
                return Err(Error::LastHashNotBase64);
            }
            Some(h)
        }
        Some(h) => return Err(Error::LastHashLength { length: h.len() }),
        None => None,
    };
    Ok(RetrieveRequest {
        pubkey,
        namespace: namespace.unwrap_or_default(),
        last_hash,
        max_count,
        max_size,
        auth,
    })
}

fn check_hashes(messages: &[String]) -> Parsed<()> {
    if messages.is_empty() {
        return Err(Error::NoMessages);
    }
    for m in messages {
        if m.len() != 43 || !is_base64(m) {
            return Err(Error::BadMessageHash { hash: m.clone() });
        }
    }
    Ok(())
}

fn load_delete(p: &Fields<'_>) -> Parsed<DeleteRequest> {
    let messages = p.string_array("messages")?;
    let pubkey = p.string("pubkey")?;
    let pk_ed = p.string("pubkey_ed25519")?;
    let required = p.boolean("required")?;
    let sig = p.string("signature")?;
    let subaccount = p.string("subaccount")?;
    let subaccount_sig = p.string("subaccount_sig")?;
    let (pubkey, mut auth) = load_pk_signature(pubkey, pk_ed, sig)?;
    load_subaccount(&mut auth, subaccount, subaccount_sig)?;
    let messages = require("messages", messages)?;
    if messages.is_empty() {
        return Err(Error::NoMessages);
    }
    let required = required.unwrap_or(false);
    check_hashes(&messages)?;
    Ok(DeleteRequest { pubkey, auth, messages, required })
}

/// delete_all (`timestamp`), delete_before (`before`), expire_all (`expiry`).
fn load_namespace_request(p: &Fields<'_>, time_field: &'static str) -> Parsed<NamespaceRequest> {
    // Alphabetical: "before" and "expiry" come before "namespace"; "timestamp" after.
    let early = if time_field == "timestamp" { None } else { Some(p.timestamp(time_field)?) };
    let namespace = p.namespace_sel("namespace")?;
    let pubkey = p.string("pubkey")?;
    let pk_ed = p.string("pubkey_ed25519")?;
    let sig = p.string("signature")?;
    let subaccount = p.string("subaccount")?;
    let subaccount_sig = p.string("subaccount_sig")?;
    let time = match early {
        Some(t) => t,
        None => p.timestamp("timestamp")?,
    };
    let (pubkey, mut auth) = load_pk_signature(pubkey, pk_ed, sig)?;
    load_subaccount(&mut auth, subaccount, subaccount_sig)?;
    let time = require(time_field, time)?;
    Ok(NamespaceRequest {
        pubkey,
        auth,
        namespace: namespace.unwrap_or(NamespaceSel::One(Namespace::DEFAULT)),
        time,
    })
}

fn load_expire(p: &Fields<'_>) -> Parsed<ExpireRequest> {
    let expiry = p.timestamp_array("expiry")?;
    let extend = p.boolean("extend")?;
    let messages = p.string_array("messages")?;
    let pubkey = p.string("pubkey")?;
    let pk_ed = p.string("pubkey_ed25519")?;
    let shorten = p.boolean("shorten")?;
    let sig = p.string("signature")?;
    let subaccount = p.string("subaccount")?;
    let subaccount_sig = p.string("subaccount_sig")?;
    let (pubkey, mut auth) = load_pk_signature(pubkey, pk_ed, sig)?;
    load_subaccount(&mut auth, subaccount, subaccount_sig)?;
    let expiry = require("expiry", expiry)?;
    if expiry.is_empty() {
        return Err(Error::NoExpiries);
    }
    let (shorten, extend) = (shorten.unwrap_or(false), extend.unwrap_or(false));
    if shorten && extend {
        return Err(Error::ShortenAndExtend);
    }
    let messages = require("messages", messages)?;
    if messages.is_empty() {
        return Err(Error::NoMessages);
    }
    if expiry.len() > 1 && expiry.len() != messages.len() {
        return Err(Error::ExpiryCountMismatch {
            expiries: expiry.len(),
            messages: messages.len(),
        });
    }
    check_hashes(&messages)?;
    Ok(ExpireRequest { pubkey, auth, messages, expiry, shorten, extend })
}

fn load_get_expiries(p: &Fields<'_>) -> Parsed<GetExpiriesRequest> {
    let messages = p.string_array("messages")?;
    let pubkey = p.string("pubkey")?;
    let pk_ed = p.string("pubkey_ed25519")?;
    let sig = p.string("signature")?;
    let subaccount = p.string("subaccount")?;
    let subaccount_sig = p.string("subaccount_sig")?;
    let timestamp = p.timestamp("timestamp")?;
    let (pubkey, mut auth) = load_pk_signature(pubkey, pk_ed, sig)?;
    load_subaccount(&mut auth, subaccount, subaccount_sig)?;
    let timestamp = require("timestamp", timestamp)?;
    let messages = require("messages", messages)?;
    if messages.is_empty() {
        return Err(Error::NoMessages);
    }
    Ok(GetExpiriesRequest { pubkey, auth, messages, timestamp })
}

fn load_revoke(p: &Fields<'_>, list: &'static str) -> Parsed<RevokeRequest> {
    let pubkey = p.string("pubkey")?;
    let pk_ed = p.string("pubkey_ed25519")?;
    let revoking = list == "revoke";
    // "revoke" sorts before "signature"; "unrevoke" after "timestamp".
    let early = if revoking { Some(p.string_array("revoke")?) } else { None };
    let sig = p.string("signature")?;
    let timestamp = p.timestamp("timestamp")?;
    let tokens = match early {
        Some(t) => t,
        None => p.string_array("unrevoke")?,
    };
    let (pubkey, auth) = load_pk_signature(pubkey, pk_ed, sig)?;
    let mut parsed = Vec::new();
    if revoking {
        let tokens = require("revoke", tokens)?;
        if tokens.len() > MAX_SUBACCOUNT_TOKENS {
            return Err(Error::TooManyTokens { count: tokens.len() });
        }
        for (index, t) in tokens.iter().enumerate() {
            parsed.push(decode_token(t).ok_or(Error::BadRevokeTag { field: "revoke", index })?);
        }
        let timestamp = require("timestamp", timestamp)?;
        Ok(RevokeRequest { pubkey, auth, tokens: parsed, timestamp })
    } else {
        let timestamp = require("timestamp", timestamp)?;
        let tokens = require("unrevoke", tokens)?;
        for (index, t) in tokens.iter().enumerate() {
            parsed.push(decode_token(t).ok_or(Error::BadRevokeTag { field: "unrevoke", index })?);
        }
        Ok(RevokeRequest { pubkey, auth, tokens: parsed, timestamp })
    }
}

fn load_get_swarm(p: &Fields<'_>) -> Parsed<AccountId> {
    let pubkey_alt = p.string("pubKey")?;
    let pubkey = p.string("pubkey")?;
    let pk = match (pubkey, pubkey_alt) {
        (Some(_), Some(_)) => {
            return Err(Error::BothGiven { field: "pubkey", other: "pubKey" });
        }
        (None, None) => return Err(Error::MissingField { field: "pubkey" }),
        (Some(pk), None) | (None, Some(pk)) => pk,
    };
    AccountId::load(&pk).ok_or(Error::BadSwarmPubkey)
}

fn load_batch(params: &Map<String, Value>) -> Parsed<Vec<Request>> {
    let Some(Value::Array(requests)) =
        params.get("requests").filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
    else {
        return Err(Error::BatchNoRequests);
    };
    if requests.len() > BATCH_REQUEST_MAX {
        return Err(Error::BatchTooLarge { count: requests.len() });
    }
    let mut out = Vec::with_capacity(requests.len());
    for (index, r) in requests.iter().enumerate() {
        let Some(r) = r.as_object() else {
            return Err(Error::BatchRequestNotObject { index });
        };
        let (Some(Value::String(method)), Some(Value::Object(sub))) =
            (r.get("method"), r.get("params"))
        else {
            return Err(Error::BatchRequestMalformed { index });
        };
        if !is_known_method(method) {
            return Err(Error::BatchUnknownMethod { index, method: method.clone() });
        }
        if matches!(method.as_str(), "batch" | "sequence") {
            return Err(Error::BatchNested { index });
        }
        out.push(parse(method, sub).map_err(|e| Error::Subrequest { index, error: Box::new(e) })?);
    }
    Ok(out)
}
