//! Client side: request params signed exactly as the storage server checks them.
//!
//! ```
//! use sesh_identity::{Identity, Seed};
//! use sesh_rpc::client::Account;
//! use sesh_rpc::handler::{handle_params, Body, Context, Node, Solo};
//! use sesh_rpc::store::MemoryStore;
//! use sesh_rpc::Namespace;
//!
//! let me = Identity::from_seed(&Seed::from_bytes([1; 32]));
//! let account = Account::session(&me);
//! let now = 1_735_689_600_000;
//!
//! // A node (here in memory) checks the signature and stores the message ...
//! let node_key = Identity::from_seed(&Seed::from_bytes([9; 32]));
//! let node = Node { identity: &node_key, hf: [19, 4], swarm: &Solo };
//! let mut store = MemoryStore::new();
//! let ctx = Context { now_ms: now, forwarded: false };
//! let stored = handle_params(&node, &mut store, ctx, "store", &account.store(Namespace(2), b"hello", now, 86_400_000));
//! assert_eq!(stored.status, 200);
//!
//! // ... and gives it back to its owner only.
//! let got = handle_params(&node, &mut store, ctx, "retrieve", &account.retrieve(Namespace(2), now, None));
//! let Body::Json(body) = got.body else { panic!() };
//! assert_eq!(body["messages"][0]["data"], "aGVsbG8=");
//! ```

use serde_json::{Map, Value, json};
use sesh_identity::{Ed25519PublicKey, Identity, Signature};

use crate::encoding::{from_base64, to_base64};
use crate::types::{AccountId, Namespace, NamespaceSel, SubaccountToken};

/// An account that signs requests: a Session ID (`05`, signing with the Ed25519 key its X25519
/// key converts from) or a group (`03`, whose id is its Ed25519 key).
#[derive(Clone, Copy)]
pub struct Account<'a> {
    identity: &'a Identity,
    id: AccountId,
    send_ed25519: bool,
}

impl core::fmt::Debug for Account<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account").field("id", &self.id).finish_non_exhaustive()
    }
}

/// How `expire` treats existing expiries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ExpireMode {
    /// Set them.
    #[default]
    Set,
    /// Only shorten.
    Shorten,
    /// Only extend.
    Extend,
}

impl<'a> Account<'a> {
    /// The `05` Session ID of `identity`.
    pub fn session(identity: &'a Identity) -> Self {
        let id =
            AccountId::new(5, identity.session_id().to_bytes()[1..].try_into().unwrap_or([0; 32]));
        Self { identity, id, send_ed25519: true }
    }

    /// The `03` group whose Ed25519 key is `identity`'s.
    pub fn group(identity: &'a Identity) -> Self {
        Self {
            identity,
            id: AccountId::new(3, identity.ed25519_public_key().to_bytes()),
            send_ed25519: false,
        }
    }

    /// The account id.
    pub fn id(&self) -> AccountId {
        self.id
    }

    fn base(&self, signed: &[&[u8]]) -> Map<String, Value> {
        let mut params = Map::new();
        params.insert("pubkey".into(), json!(self.id.prefixed_hex()));
        if self.send_ed25519 {
            params.insert(
                "pubkey_ed25519".into(),
                json!(hex::encode(self.identity.ed25519_public_key().to_bytes())),
            );
        }
        let signature = self.identity.sign(&signed.concat()).to_bytes();
        params.insert("signature".into(), json!(to_base64(&signature)));
        params
    }

    /// `store` params: `data` in `namespace` at `timestamp` for `ttl` ms (signed unless the
    /// namespace is a public inbox, where anyone may store).
    pub fn store(
        &self,
        namespace: Namespace,
        data: &[u8],
        timestamp: i64,
        ttl: i64,
    ) -> Map<String, Value> {
        let mut params = if namespace.is_public_inbox() {
            let mut p = Map::new();
            p.insert("pubkey".into(), json!(self.id.prefixed_hex()));
            p
        } else {
            self.base(&[
                b"store",
                namespace.signature_part().as_bytes(),
                timestamp.to_string().as_bytes(),
            ])
        };
        params.insert("namespace".into(), json!(namespace.0));
        params.insert("data".into(), json!(to_base64(data)));
        params.insert("timestamp".into(), json!(timestamp));
        params.insert("ttl".into(), json!(ttl));
        params
    }

    /// `retrieve` params, after `last_hash` if given.
    pub fn retrieve(
        &self,
        namespace: Namespace,
        timestamp: i64,
        last_hash: Option<&str>,
    ) -> Map<String, Value> {
        let mut params = self.base(&[
            b"retrieve",
            namespace.signature_part().as_bytes(),
            timestamp.to_string().as_bytes(),
        ]);
        params.insert("namespace".into(), json!(namespace.0));
        params.insert("timestamp".into(), json!(timestamp));
        if let Some(h) = last_hash {
            params.insert("last_hash".into(), json!(h));
        }
        params
    }

    /// `delete` params.
    pub fn delete(&self, hashes: &[String]) -> Map<String, Value> {
        let mut parts: Vec<&[u8]> = vec![b"delete"];
        parts.extend(hashes.iter().map(|h| h.as_bytes()));
        let mut params = self.base(&parts);
        params.insert("messages".into(), json!(hashes));
        params
    }

    /// `delete_all`, `delete_before` or `expire_all` params (`method` names which; `time` is
    /// the timestamp, `before` or the expiry).
    pub fn namespace_request(
        &self,
        method: &str,
        namespace: NamespaceSel,
        time: i64,
    ) -> Map<String, Value> {
        let field = match method {
            "delete_before" => "before",
            "expire_all" => "expiry",
            _ => "timestamp",
        };
        let mut params = self.base(&[
            method.as_bytes(),
            namespace.signature_part().as_bytes(),
            time.to_string().as_bytes(),
        ]);
        params.insert(
            "namespace".into(),
            match namespace {
                NamespaceSel::All => json!("all"),
                NamespaceSel::One(ns) => json!(ns.0),
            },
        );
        params.insert(field.into(), json!(time));
        params
    }

    /// `expire` params: one expiry for all, in `mode`.
    pub fn expire(&self, hashes: &[String], expiry: i64, mode: ExpireMode) -> Map<String, Value> {
        let mode_text: &[u8] = match mode {
            ExpireMode::Set => b"",
            ExpireMode::Shorten => b"shorten",
            ExpireMode::Extend => b"extend",
        };
        let expiry_text = expiry.to_string();
        let mut parts: Vec<&[u8]> = vec![b"expire", mode_text, expiry_text.as_bytes()];
        parts.extend(hashes.iter().map(|h| h.as_bytes()));
        let mut params = self.base(&parts);
        params.insert("messages".into(), json!(hashes));
        params.insert("expiry".into(), json!(expiry));
        match mode {
            ExpireMode::Shorten => drop(params.insert("shorten".into(), json!(true))),
            ExpireMode::Extend => drop(params.insert("extend".into(), json!(true))),
            ExpireMode::Set => {}
        }
        params
    }

    /// `get_expiries` params.
    pub fn get_expiries(&self, hashes: &[String], timestamp: i64) -> Map<String, Value> {
        let ts = timestamp.to_string();
        let mut parts: Vec<&[u8]> = vec![b"get_expiries", ts.as_bytes()];
        parts.extend(hashes.iter().map(|h| h.as_bytes()));
        let mut params = self.base(&parts);
        params.insert("messages".into(), json!(hashes));
        params.insert("timestamp".into(), json!(timestamp));
        params
    }

    /// `revoke_subaccount` (or `unrevoke_subaccount` when `revoke` is false) params.
    pub fn revoke(
        &self,
        tokens: &[SubaccountToken],
        timestamp: i64,
        revoke: bool,
    ) -> Map<String, Value> {
        let method: &[u8] = if revoke { b"revoke_subaccount" } else { b"unrevoke_subaccount" };
        let ts = timestamp.to_string();
        let mut parts: Vec<&[u8]> = vec![method, ts.as_bytes()];
        parts.extend(tokens.iter().map(|t| t.0.as_slice()));
        let mut params = self.base(&parts);
        let list: Vec<String> = tokens.iter().map(|t| to_base64(&t.0)).collect();
        params.insert(if revoke { "revoke" } else { "unrevoke" }.into(), json!(list));
        params.insert("timestamp".into(), json!(timestamp));
        params
    }
}

/// A full request body, `{"method": …, "params": …}`.
pub fn request_body(method: &str, params: Map<String, Value>) -> Vec<u8> {
    json!({"method": method, "params": params}).to_string().into_bytes()
}

/// Checks a node's signature on a stored message's hash (its `swarm` entry's `signature`).
pub fn verify_store_signature(node_ed25519: &[u8; 32], hash: &str, signature_b64: &str) -> bool {
    let Some(sig) = from_base64(signature_b64).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    Ed25519PublicKey::from_bytes(node_ed25519)
        .is_ok_and(|k| k.verify(hash.as_bytes(), &Signature::from_bytes(&sig)).is_ok())
}
