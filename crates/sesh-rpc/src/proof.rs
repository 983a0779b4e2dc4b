//! A store's signature, kept with its message so that a node handed the message later (a swarm
//! member taking over an account, a new member fetching its swarm's messages) can check that
//! the account's owner stored it, and is not taking a peer's word for it.
//!
//! ```
//! use sesh_identity::{Identity, Seed};
//! use sesh_rpc::client::Account;
//! use sesh_rpc::{Namespace, request, Request};
//! use sesh_rpc::proof::StoreProof;
//!
//! let identity = Identity::from_seed(&Seed::from_bytes([7; 32]));
//! let account = Account::session(&identity);
//! let now = 1_700_000_000_000;
//! let params = account.store(Namespace(3), b"hello", now, 86_400_000);
//! let Request::Store(store) = request::parse("store", &params)? else { unreachable!() };
//! let proof = StoreProof::of(&store).expect("namespace 3 needs a signature");
//! assert!(proof.verifies(&store.pubkey, Namespace(3)));
//! assert!(!proof.verifies(&store.pubkey, Namespace(4)), "it signs its namespace");
//! assert_eq!(StoreProof::from_bytes(&proof.to_bytes()), Some(proof));
//! # Ok::<(), sesh_rpc::Error>(())
//! ```
//!
//! What a proof shows is what the live store signature signs: `"store" ‖ namespace ‖
//! sig_timestamp`, by the account's key or by a subaccount it allowed to write there. It does
//! not cover the message's data, so a node that has seen one of an account's signed stores could
//! pair that signature with other data; it does keep every node that never saw one (every node
//! outside the account's swarm) from planting messages in the account's authenticated
//! namespaces.

use serde_json::{Map, Value, json};
use sesh_identity::{Ed25519PublicKey, Signature};

use crate::encoding::to_base64;
use crate::request::{Auth, StoreRequest};
use crate::types::{AccountId, Namespace, SignedSubaccount, SubaccountToken, access};

/// The signature a store into an authenticated namespace carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreProof {
    /// The signature, with the keys that came with it.
    pub auth: Auth,
    /// The timestamp it signs (`sig_timestamp`, or the message timestamp when none was sent).
    pub signed_at: i64,
}

impl StoreProof {
    /// The proof a store request carries, when its namespace needs one (public inboxes do not:
    /// anyone may store there, and their signatures are never checked).
    pub fn of(store: &StoreRequest) -> Option<Self> {
        if store.namespace.is_public_inbox() {
            return None;
        }
        store
            .auth
            .as_ref()
            .map(|(auth, signed_at)| Self { auth: auth.clone(), signed_at: *signed_at })
    }

    /// Whether it is a valid store signature for `account`'s `namespace`: the `05` key
    /// conversion, a subaccount token's network, permissions and signature, then the signature
    /// itself. (Whether a subaccount was revoked since is the storing node's question, not this
    /// one's: a revocation does not remove what was stored before it.)
    pub fn verifies(&self, account: &AccountId, namespace: Namespace) -> bool {
        let Some(mut key) = account_key(account, &self.auth) else { return false };
        if let Some(sub) = &self.auth.subaccount {
            if !sub.token.prefix_allowed(account.prefix())
                || !sub.token.has(store_permission(namespace))
                || !ed25519_verify(&key, &sub.token.0, &sub.signature)
            {
                return false;
            }
            key = sub.token.pubkey();
        }
        ed25519_verify(&key, &store_message(namespace, self.signed_at), &self.auth.signature)
    }

    /// Adds its fields to a store request's parameters, with the names and encodings the
    /// store request has (`signature`, `sig_timestamp`, `pubkey_ed25519`, `subaccount`,
    /// `subaccount_sig`).
    pub fn write_params(&self, params: &mut Map<String, Value>) {
        params.insert("signature".into(), json!(to_base64(&self.auth.signature)));
        params.insert("sig_timestamp".into(), json!(self.signed_at));
        if let Some(ed) = &self.auth.pubkey_ed25519 {
            params.insert("pubkey_ed25519".into(), json!(hex::encode(ed)));
        }
        if let Some(sub) = &self.auth.subaccount {
            params.insert("subaccount".into(), json!(hex::encode(sub.token.0)));
            params.insert("subaccount_sig".into(), json!(to_base64(&sub.signature)));
        }
    }

    /// A compact form for a database: the signature (64 bytes), the signed timestamp (8,
    /// big-endian), a flags byte (1: an Ed25519 key follows, 2: a subaccount follows), then the
    /// 32-byte key and the 36-byte token with its 64-byte signature, where flagged.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 8 + 1 + 32 + 100);
        out.extend_from_slice(&self.auth.signature);
        out.extend_from_slice(&self.signed_at.to_be_bytes());
        let flags = u8::from(self.auth.pubkey_ed25519.is_some())
            | (u8::from(self.auth.subaccount.is_some()) << 1);
        out.push(flags);
        if let Some(ed) = &self.auth.pubkey_ed25519 {
            out.extend_from_slice(ed);
        }
        if let Some(sub) = &self.auth.subaccount {
            out.extend_from_slice(&sub.token.0);
            out.extend_from_slice(&sub.signature);
        }
        out
    }

    /// Reads [`to_bytes`](Self::to_bytes)' form; `None` if `bytes` are not exactly that.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (signature, rest) = split::<64>(bytes)?;
        let (signed_at, rest) = split::<8>(rest)?;
        let (&flags, mut rest) = rest.split_first()?;
        if flags > 3 {
            return None;
        }
        let mut pubkey_ed25519 = None;
        if flags & 1 != 0 {
            let (ed, more) = split::<32>(rest)?;
            (pubkey_ed25519, rest) = (Some(ed), more);
        }
        let mut subaccount = None;
        if flags & 2 != 0 {
            let (token, more) = split::<36>(rest)?;
            let (signature, more) = split::<64>(more)?;
            subaccount = Some(SignedSubaccount { token: SubaccountToken(token), signature });
            rest = more;
        }
        rest.is_empty().then(|| Self {
            auth: Auth { signature, pubkey_ed25519, subaccount },
            signed_at: i64::from_be_bytes(signed_at),
        })
    }
}

fn split<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<N>()?;
    Some((*head, rest))
}

/// What a store into `namespace` signs.
pub(crate) fn store_message(namespace: Namespace, signed_at: i64) -> Vec<u8> {
    [b"store".as_slice(), namespace.signature_part().as_bytes(), signed_at.to_string().as_bytes()]
        .concat()
}

/// The permissions a subaccount needs to store into `namespace` (a public outbox replaces what
/// is there, so it needs delete too).
pub(crate) fn store_permission(namespace: Namespace) -> u8 {
    if namespace.is_public_outbox() { access::WRITE | access::DELETE } else { access::WRITE }
}

/// The key that signs for `account`: its own, or for a `05` account the Ed25519 key that
/// `pubkey_ed25519` names, if that key converts to the account's X25519 key (`None` if not).
pub(crate) fn account_key(account: &AccountId, auth: &Auth) -> Option<[u8; 32]> {
    match auth.pubkey_ed25519 {
        Some(ed) if account.prefix() == 5 => converts(&ed, account.key()).then_some(ed),
        _ => Some(*account.key()),
    }
}

/// Whether the Ed25519 key `ed` converts to the X25519 key `x` (a `05` account's).
pub(crate) fn converts(ed: &[u8; 32], x: &[u8; 32]) -> bool {
    Ed25519PublicKey::from_bytes(ed)
        .ok()
        .and_then(|k| k.to_x25519().ok())
        .is_some_and(|k| k.as_bytes() == x)
}

pub(crate) fn ed25519_verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    Ed25519PublicKey::from_bytes(key)
        .is_ok_and(|k| k.verify(message, &Signature::from_bytes(signature)).is_ok())
}
