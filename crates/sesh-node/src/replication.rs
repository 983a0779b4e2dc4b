//! Recursive requests: a store, delete or expiry that a client sends to one member of a swarm
//! is run there and sent on to every other member (`/swarm/v1/forward`), whose answers the first
//! node adds to its own under `"swarm"`, keyed by each member's Ed25519 key, as the storage
//! server does. A batch or sequence forwards each recursive sub-request that succeeded.
//!
//! [`fanout`] says what to send after the local run; the node sends each [`Forward`] to each
//! peer and [`merge`]s every answer back.
//!
//! ```
//! use serde_json::json;
//! use sesh_identity::NodeId;
//! use sesh_node::replication::{self, PeerReply, Slot};
//! use sesh_rpc::handler::{Body, Response};
//!
//! // The local store succeeded; its answer has this node's own "swarm" entry.
//! let mut answer = Response { status: 200, body: Body::Json(json!({"hash": "h", "swarm": {"aa": {"hash": "h"}}})), verification: None, token_check: None, forward: true };
//! let params = json!({"pubkey": "05…", "data": "…"});
//! let jobs = replication::fanout("store", params.as_object().unwrap(), &answer);
//! assert_eq!(jobs.len(), 1);
//! assert_eq!(jobs[0].slot, Slot::Whole);
//!
//! // One peer timed out: recorded as failed, but the request still succeeded here.
//! let (entry, outcome) = replication::swarm_entry(PeerReply::TimedOut);
//! replication::merge(&mut answer, &jobs[0].slot, &NodeId::from_bytes([0xbb; 32]), entry);
//! assert_eq!(outcome.as_str(), "timeout");
//! assert_eq!(answer.status, 200);
//! ```

use serde_json::{Map, Value, json};
use sesh_identity::NodeId;
use sesh_rpc::handler::{Body, Response, merge_swarm_entry};
use sesh_rpc::request::is_recursive_method;

/// What another node answered a request this node sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerReply {
    /// It answered with this status and body.
    Answered {
        /// HTTP status.
        status: u16,
        /// Body.
        body: Vec<u8>,
    },
    /// It did not answer in time.
    TimedOut,
    /// It could not be reached.
    Unreachable,
}

/// How a forwarded request went, for counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerOutcome {
    /// The peer ran it and answered JSON.
    Ok,
    /// The peer answered 200 with something that is not a JSON object.
    BadPeerResponse,
    /// The peer refused it (any status but 200).
    Refused,
    /// The peer did not answer (timed out or unreachable).
    Timeout,
}

impl PeerOutcome {
    /// A short label (`ok`, `bad_peer_response`, `refused`, `timeout`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadPeerResponse => "bad_peer_response",
            Self::Refused => "refused",
            Self::Timeout => "timeout",
        }
    }
}

/// A peer's answer as the `"swarm"` map records it, as the storage server records it: the
/// peer's JSON object, or `{"failed": true, …}` with `"timeout"`, `"code"`/`"reason"` or
/// `"bad_peer_response"`.
pub fn swarm_entry(reply: PeerReply) -> (Value, PeerOutcome) {
    match reply {
        PeerReply::Answered { status: 200, body } => match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => (v, PeerOutcome::Ok),
            _ => (json!({"failed": true, "bad_peer_response": true}), PeerOutcome::BadPeerResponse),
        },
        PeerReply::Answered { status, body } => (
            json!({"failed": true, "code": status, "reason": String::from_utf8_lossy(&body)}),
            PeerOutcome::Refused,
        ),
        PeerReply::TimedOut | PeerReply::Unreachable => {
            (json!({"failed": true, "timeout": true}), PeerOutcome::Timeout)
        }
    }
}

/// Where a peer's answer to a [`Forward`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Into the response itself (a recursive request).
    Whole,
    /// Into the result of sub-request `n` of a batch or sequence.
    Sub(usize),
}

/// A request to send to every other member of the swarm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    /// Where the answers go.
    pub slot: Slot,
    /// The body for `/swarm/v1/forward`: `{"method", "params"}`.
    pub body: Vec<u8>,
}

fn body(method: &str, params: &Map<String, Value>) -> Vec<u8> {
    json!({"method": method, "params": params}).to_string().into_bytes()
}

/// What a client's request, run here with `response`, obliges this node to forward to its swarm
/// peers: the request itself when the handler says so, or each recursive sub-request of a
/// successful batch or sequence that succeeded here, in order.
pub fn fanout(method: &str, params: &Map<String, Value>, response: &Response) -> Vec<Forward> {
    if response.forward {
        return vec![Forward { slot: Slot::Whole, body: body(method, params) }];
    }
    if !matches!(method, "batch" | "sequence") || response.status != 200 {
        return Vec::new();
    }
    let (Some(Value::Array(subs)), Body::Json(answer)) = (params.get("requests"), &response.body)
    else {
        return Vec::new();
    };
    let Some(Value::Array(results)) = answer.get("results") else { return Vec::new() };
    subs.iter()
        .zip(results)
        .enumerate()
        .filter_map(|(n, (sub, result))| {
            let method = sub.get("method").and_then(Value::as_str)?;
            let Some(Value::Object(params)) = sub.get("params") else { return None };
            let ok = result.get("code").and_then(Value::as_u64).is_some_and(|c| c < 300);
            (ok && is_recursive_method(method))
                .then(|| Forward { slot: Slot::Sub(n), body: body(method, params) })
        })
        .collect()
}

/// Adds `peer`'s entry (from [`swarm_entry`]) to `response` at `slot`. When every member's
/// entry, this node's included, has failed, the request (or sub-request) becomes a 500.
pub fn merge(response: &mut Response, slot: &Slot, peer: &NodeId, entry: Value) {
    let peer = peer.to_string();
    match *slot {
        Slot::Whole => response.merge_peer(&peer, entry),
        Slot::Sub(n) => {
            let Body::Json(answer) = &mut response.body else { return };
            let Some(result) = answer.get_mut("results").and_then(|r| r.get_mut(n)) else { return };
            let Some(sub_body) = result.get_mut("body") else { return };
            if let Some(all_failed) = merge_swarm_entry(sub_body, &peer, entry)
                && let Some(code) = result.get_mut("code")
            {
                *code = json!(if all_failed { 500 } else { 200 });
            }
        }
    }
}

/// The refusal of a request that came from a swarm peer (`/swarm/v1/forward`) but is not one
/// that is forwarded, in the storage server's words.
pub fn refuse_forwarded(method: &str) -> Option<&'static str> {
    (!is_recursive_method(method))
        .then_some("invalid request: received invalid forwarded non-forwardable request")
}
