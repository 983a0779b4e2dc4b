//! 1:1 messages as the client stores and retrieves them: the `store` request of an encrypted
//! message to the recipient's public inbox (namespace 0, which needs no signature), the signed
//! `retrieve` of one's own inbox, and what their answers say.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use rand_core::{CryptoRng, RngCore};
use serde_json::{Value, json};
use sesh_envelope::{envelope, storage};
use sesh_identity::{Identity, NodeId, SessionId};
use sesh_rpc::client::Account;
use sesh_rpc::{AccountId, Namespace, message_hash};

use crate::error::{Error, Result};
use crate::inbox::Inbox;

/// How long a message is kept: 14 days, the longest the inbox namespace allows.
pub const MESSAGE_TTL_MS: i64 = 14 * 86_400_000;

/// The `store` request (`{"method", "params"}`) of `text` from `me` to `to`, sent at `now_ms`.
///
/// # Errors
/// [`Error::Build`] if the message cannot be encrypted to `to`.
pub fn store_request(
    me: &Identity,
    to: &SessionId,
    text: &str,
    now_ms: i64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>> {
    let sent_ms = u64::try_from(now_ms).unwrap_or(0);
    let content = envelope::text_content(text, sent_ms).encode_to_vec();
    let stored = envelope::encode_for_recipient(me, to, &content, sent_ms, rng)
        .map_err(|e| Error::Build(e.to_string()))?;
    let account =
        AccountId::load(&to.to_string()).ok_or_else(|| Error::Build("bad Session ID".into()))?;
    let params = json!({
        "pubkey": account.prefixed_hex(),
        "namespace": 0,
        "data": storage::encode_data(&stored),
        "timestamp": now_ms,
        "ttl": MESSAGE_TTL_MS,
    });
    Ok(json!({"method": "store", "params": params}).to_string().into_bytes())
}

/// What a successful `store` answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The message's hash (how the swarm files it).
    pub hash: String,
    /// The swarm members that say they stored it (those whose entry has not failed).
    pub stored_by: Vec<NodeId>,
}

impl Stored {
    /// Reads a `store` answer's body.
    ///
    /// # Errors
    /// [`Error::BadAnswer`] when it is not JSON or has no hash.
    pub fn read(body: &[u8]) -> Result<Self> {
        let v: Value =
            serde_json::from_slice(body).map_err(|_| Error::BadAnswer("to a store is not JSON"))?;
        let hash = v
            .get("hash")
            .and_then(Value::as_str)
            .ok_or(Error::BadAnswer("to a store has no hash"))?
            .to_owned();
        let stored_by = v
            .get("swarm")
            .and_then(Value::as_object)
            .map(|s| {
                s.iter()
                    .filter(|(_, e)| e.get("failed").is_none())
                    .filter_map(|(k, _)| k.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { hash, stored_by })
    }
}

/// The signed `retrieve` request of `me`'s inbox from `member`, after the last hash `inbox`
/// has for it.
pub fn retrieve_request(me: &Identity, member: &NodeId, inbox: &Inbox, now_ms: i64) -> Vec<u8> {
    let params = Account::session(me).retrieve(Namespace(0), now_ms, inbox.last_hash(member));
    json!({"method": "retrieve", "params": params}).to_string().into_bytes()
}

/// A received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Its hash.
    pub hash: String,
    /// The sender's Session ID (checked: the sender signed the message).
    pub from: SessionId,
    /// The text.
    pub text: String,
    /// When the sender says it sent it (ms).
    pub sent_ms: u64,
}

/// What a `retrieve` answer held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retrieved {
    /// Messages not seen before that decrypted, in the order retrieved.
    pub messages: Vec<Received>,
    /// Messages that could not be read (not ours, damaged, not a text message).
    pub unreadable: usize,
    /// Whether the member has more after these.
    pub more: bool,
}

/// Reads `member`'s answer to a `retrieve` of `me`'s inbox: decrypts the new messages and
/// moves `inbox` on.
///
/// # Errors
/// [`Error::BadAnswer`] when the body is not JSON with a `messages` list.
pub fn read_retrieve(
    me: &Identity,
    member: &NodeId,
    body: &[u8],
    inbox: &mut Inbox,
    now_ms: i64,
) -> Result<Retrieved> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| Error::BadAnswer("to a retrieve is not JSON"))?;
    let list = v
        .get("messages")
        .and_then(Value::as_array)
        .ok_or(Error::BadAnswer("to a retrieve has no messages"))?;
    let mut out = Retrieved {
        more: v.get("more").and_then(Value::as_bool) == Some(true) && !list.is_empty(),
        ..Retrieved::default()
    };
    let account = AccountId::load(&me.session_id().to_string());
    for m in list {
        let (Some(hash), Some(data)) =
            (m.get("hash").and_then(Value::as_str), m.get("data").and_then(Value::as_str))
        else {
            out.unreadable += 1;
            continue;
        };
        inbox.advance(member, hash);
        // The hash is recomputed: a node cannot make one message show twice under two hashes.
        let bytes = STANDARD
            .decode(data)
            .ok()
            .filter(|b| account.is_some_and(|a| message_hash(&a, Namespace(0), b) == hash));
        let Some(bytes) = bytes else {
            out.unreadable += 1;
            continue;
        };
        // Remembered at least an hour, whatever expiry the node claims, so that a message it
        // says has expired is not shown again on the next poll.
        let expiry = m
            .get("expiration")
            .and_then(Value::as_i64)
            .unwrap_or(now_ms.saturating_add(MESSAGE_TTL_MS))
            .max(now_ms.saturating_add(3_600_000));
        if !inbox.mark_seen(hash, expiry) {
            continue;
        }
        match read_message(me, hash, &bytes) {
            Some(received) => out.messages.push(received),
            None => out.unreadable += 1,
        }
    }
    inbox.forget_expired(now_ms);
    Ok(out)
}

fn read_message(me: &Identity, hash: &str, bytes: &[u8]) -> Option<Received> {
    let msg = envelope::decode_for_recipient(me, bytes).ok()?;
    let from = msg.sender_session_id().ok()?;
    let text = msg.content().ok()?.data_message?.body?;
    Some(Received { hash: hash.to_owned(), from, text, sent_ms: msg.envelope().timestamp_ms })
}
