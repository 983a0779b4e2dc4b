//! Messages moving between nodes when the swarms change: a node pushes the messages of
//! accounts its swarm no longer owns to a member of the owning swarm (`/swarm/v1/push`), and
//! fetches from its swarm peers the messages of the accounts its swarm now owns
//! (`/swarm/v1/fetch`, a page at a time).
//!
//! The wire form of a message is its store request's parameters (`pubkey`, `namespace`,
//! `timestamp`, `expiry`, `data` in base64, and in an authenticated namespace the store's
//! `signature`, `sig_timestamp` and keys) with its `hash`; a receiver keeps a message only if
//! its hash is its content's, a store could have made it (timestamp, expiry), it carries a
//! valid store signature where its namespace needs one, it has not expired, and the receiver's
//! swarm owns its account.
//!
//! [`Handover`] is the whole run as a state machine: it says which page of the database to read,
//! what to push to whom, what to delete once taken, which peer to ask for which page and what to
//! store; the node does each [`Step`] and hands back its [`Outcome`].
//!
//! ```
//! use sesh_node::handover::{self, FetchRequest};
//! use sesh_swarm::SwarmId;
//!
//! let ask = FetchRequest { swarm: SwarmId::new(0x1234)?, after: 0, limit: handover::PAGE };
//! assert_eq!(FetchRequest::parse(&ask.to_body())?, ask);
//! assert!(FetchRequest::parse(b"{\"swarm\": 5}").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sesh_identity::NodeId;
use sesh_network::{NetworkState, NodeRecord};
use sesh_rpc::Request;
use sesh_rpc::store::Message;
use sesh_swarm::SwarmId;

use crate::Duty;
use crate::error::{Error, Result};

/// Messages per push or fetch page.
pub const PAGE: usize = 500;

/// A message as nodes hand it to each other: the store request's parameters (with the store's
/// signature where the namespace needs one) and the hash.
pub fn to_wire(m: &Message) -> Value {
    let mut params = Map::new();
    params.insert("pubkey".into(), json!(m.pubkey.prefixed_hex()));
    params.insert("hash".into(), json!(m.hash));
    params.insert("namespace".into(), json!(m.namespace.0));
    params.insert("timestamp".into(), json!(m.timestamp));
    params.insert("expiry".into(), json!(m.expiry));
    params.insert("data".into(), json!(STANDARD.encode(&m.data)));
    if let Some(proof) = &m.proof {
        proof.write_params(&mut params);
    }
    Value::Object(params)
}

/// Reads a handed-over message with the store request's parser, checking that its hash is its
/// content's. (Whether its signature holds is [`accept`]'s question.)
pub fn from_wire(v: &Value) -> Option<Message> {
    let Ok(Request::Store(r)) = sesh_rpc::request::parse("store", v.as_object()?) else {
        return None;
    };
    let m = Message::from_store(r);
    (v.get("hash")?.as_str()? == m.hash).then_some(m)
}

/// Whether a handed-over message carries what its namespace needs: nothing in a public inbox,
/// elsewhere a valid store signature by its owner, made no later than the signature window
/// allows from `now_ms`.
pub fn is_authorised(m: &Message, now_ms: i64) -> bool {
    use sesh_rpc::handler::SIGNATURE_TOLERANCE;
    m.namespace.is_public_inbox()
        || m.proof.as_ref().is_some_and(|p| {
            p.signed_at <= now_ms.saturating_add(SIGNATURE_TOLERANCE)
                && p.verifies(&m.pubkey, m.namespace)
        })
}

/// The body of a push: `{"messages": [...]}`.
pub fn push_body(messages: &[Message]) -> Vec<u8> {
    json!({"messages": messages.iter().map(to_wire).collect::<Vec<_>>()}).to_string().into_bytes()
}

/// The hashes a push's receiver says it kept (`{"accepted": [...]}`); none if the answer is
/// not of that form.
pub fn accepted(answer: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Value>(answer)
        .ok()
        .and_then(|v| {
            let list = v.get("accepted")?.as_array()?;
            Some(list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        })
        .unwrap_or_default()
}

/// The answer to a push: the hashes kept and how many were new.
pub fn push_answer(kept: &[Message], new: usize) -> Value {
    json!({"accepted": kept.iter().map(|m| m.hash.as_str()).collect::<Vec<_>>(), "new": new})
}

/// Whether a handover is due for `me` between two states: the swarm it is in, or that swarm's
/// members, changed; or the set of swarms did (a new, dissolved or renumbered swarm moves
/// accounts between swarms, so even a node whose swarm kept its members may now hold messages
/// another swarm owns).
pub fn swarm_changed(old: &NetworkState, new: &NetworkState, me: &NodeId) -> bool {
    let members = |s: &NetworkState| s.swarm_of(me).map(|id| (id, s.map().members(id).to_vec()));
    let ids = |s: &NetworkState| s.map().iter().map(|(id, _)| id).collect::<Vec<_>>();
    members(old) != members(new) || ids(old) != ids(new)
}

/// The messages among `messages` whose accounts `me`'s swarm does not own, by the swarm that
/// owns them: what to push away.
pub fn push_plan(
    state: &NetworkState,
    me: &NodeId,
    messages: impl IntoIterator<Item = Message>,
) -> BTreeMap<SwarmId, Vec<Message>> {
    let mine = state.swarm_of(me);
    let mut plan: BTreeMap<SwarmId, Vec<Message>> = BTreeMap::new();
    for m in messages {
        match state.swarm_for(&m.pubkey.to_bytes()) {
            Some(owner) if Some(owner) != mine => plan.entry(owner).or_default().push(m),
            _ => {}
        }
    }
    plan
}

/// What a node takes from a push or a fetched page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Well-formed, unexpired messages of accounts this node's swarm owns.
    pub keep: Vec<Message>,
    /// Well-formed messages it does not keep: expired, or of another swarm's accounts.
    pub not_ours: usize,
    /// Entries that are not messages, or whose hash is not their content's.
    pub malformed: usize,
    /// Well-formed messages no store could have made: a timestamp ahead of the clock, or an
    /// expiry further out than any TTL or expiry extension allows.
    pub out_of_bounds: usize,
    /// Messages of a namespace that needs its owner's signature, without a valid one.
    pub unsigned: usize,
}

impl Accepted {
    /// What was not kept and why, by the names the node's metrics use.
    pub fn refused(&self) -> [(&'static str, usize); 4] {
        [
            ("not_ours", self.not_ours),
            ("malformed", self.malformed),
            ("out_of_bounds", self.out_of_bounds),
            ("unsigned", self.unsigned),
        ]
    }
}

/// Whether a stored message could exist: its timestamp was within [`STORE_TOLERANCE`] of a
/// clock when it was stored (so not ahead of `now_ms` by more), and its expiry is no further
/// than the longest TTL or expiry extension allows from now ([`TTL_MAXIMUM_PRIVATE`]).
///
/// [`STORE_TOLERANCE`]: sesh_rpc::handler::STORE_TOLERANCE
/// [`TTL_MAXIMUM_PRIVATE`]: sesh_rpc::handler::TTL_MAXIMUM_PRIVATE
pub fn within_store_bounds(m: &Message, now_ms: i64) -> bool {
    use sesh_rpc::handler::{STORE_TOLERANCE, TTL_MAXIMUM_PRIVATE};
    m.timestamp <= now_ms.saturating_add(STORE_TOLERANCE)
        && m.expiry <= now_ms.saturating_add(TTL_MAXIMUM_PRIVATE + STORE_TOLERANCE)
}

/// Sorts the `messages` list of a push or a fetched page.
pub fn accept(
    state: &NetworkState,
    me: &NodeId,
    now_ms: i64,
    messages: Option<&Value>,
) -> Accepted {
    let mut out = Accepted::default();
    let mine = state.swarm_of(me);
    for v in messages.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        match from_wire(v) {
            Some(m) if !within_store_bounds(&m, now_ms) => out.out_of_bounds += 1,
            Some(m) if !is_authorised(&m, now_ms) => out.unsigned += 1,
            Some(m)
                if m.expiry > now_ms
                    && mine.is_some()
                    && state.swarm_for(&m.pubkey.to_bytes()) == mine =>
            {
                out.keep.push(m);
            }
            Some(_) => out.not_ours += 1,
            None => out.malformed += 1,
        }
    }
    out
}

/// Reads a push's body (`{"messages": [...]}`) and sorts its messages.
///
/// # Errors
/// [`Error::BadRequest`] when the body is not JSON.
pub fn read_push(state: &NetworkState, me: &NodeId, now_ms: i64, body: &[u8]) -> Result<Accepted> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| Error::BadRequest("body is not JSON".into()))?;
    Ok(accept(state, me, now_ms, v.get("messages")))
}

/// A request for a page of a swarm's messages: those after storage row `after`, at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// The swarm whose messages are wanted.
    pub swarm: SwarmId,
    /// The last row already received (0 at first).
    pub after: i64,
    /// Most messages wanted (clamped to 1..=[`PAGE`]).
    pub limit: usize,
}

impl FetchRequest {
    /// `{"swarm": hex id, "after": row, "limit": n}`.
    pub fn to_body(&self) -> Vec<u8> {
        json!({"swarm": format!("{:x}", self.swarm.get()), "after": self.after, "limit": self.limit})
            .to_string()
            .into_bytes()
    }

    /// Reads a fetch request; a missing or odd `limit` is a full page.
    ///
    /// # Errors
    /// [`Error::BadRequest`] saying what the body must be.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|_| Error::BadRequest("body is not JSON".into()))?;
        let swarm = v.get("swarm").and_then(Value::as_str).and_then(|s| SwarmId::from_hex(s).ok());
        let (Some(swarm), Some(after)) = (swarm, v.get("after").and_then(Value::as_i64)) else {
            return Err(Error::BadRequest(
                "expected {\"swarm\": hex, \"after\": int, \"limit\": int}".into(),
            ));
        };
        let limit = v
            .get("limit")
            .and_then(Value::as_u64)
            .map_or(PAGE, |l| usize::try_from(l).unwrap_or(PAGE).clamp(1, PAGE));
        Ok(Self { swarm, after, limit })
    }

    /// Checks that `from` may ask: it is a member of the swarm it asks for.
    ///
    /// # Errors
    /// [`Error::NotMember`].
    pub fn authorize(&self, state: &NetworkState, from: &NodeId) -> Result<()> {
        if state.swarm_of(from) == Some(self.swarm) { Ok(()) } else { Err(Error::NotMember) }
    }

    /// The answer, from the storage rows after `after` (at most `limit` of them, in row order):
    /// the messages of the swarm's accounts, and the row to ask after next (none at the end).
    pub fn answer(&self, state: &NetworkState, rows: &[(i64, Message)]) -> Value {
        let next = (rows.len() == self.limit).then(|| rows.last().map(|(id, _)| *id)).flatten();
        let messages: Vec<Value> = rows
            .iter()
            .filter(|(_, m)| state.swarm_for(&m.pubkey.to_bytes()) == Some(self.swarm))
            .map(|(_, m)| to_wire(m))
            .collect();
        json!({"messages": messages, "next": next})
    }
}

/// A page fetched from a peer: what to keep, and the row to ask after next.
///
/// # Errors
/// [`Error::BadRequest`] when the answer is not JSON.
pub fn read_page(
    state: &NetworkState,
    me: &NodeId,
    now_ms: i64,
    answer: &[u8],
    after: i64,
) -> Result<(Accepted, Option<i64>)> {
    let v: Value = serde_json::from_slice(answer)
        .map_err(|_| Error::BadRequest("the fetch answer is not JSON".into()))?;
    let next = v.get("next").and_then(Value::as_i64).filter(|n| *n > after);
    Ok((accept(state, me, now_ms, v.get("messages")), next))
}

/// What to do next in a [`Handover`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// Read up to `limit` stored messages after storage row `after`, in row order
    /// ([`Outcome::Rows`]).
    Scan {
        /// The last row already read.
        after: i64,
        /// Most rows.
        limit: usize,
    },
    /// Push `body` (`/swarm/v1/push`) to each of `to`, the members of the swarm that owns
    /// `count` of this node's messages ([`Outcome::Pushed`]).
    Push {
        /// The owning swarm's members.
        to: Vec<NodeRecord>,
        /// The push.
        body: Vec<u8>,
        /// Messages in it.
        count: usize,
    },
    /// Delete these messages: a member of their swarm says it took them ([`Outcome::Done`]).
    /// Only hashes this push carried are ever deleted; one member's word is enough, as a swarm
    /// member's acknowledgement is for a store.
    Delete {
        /// Their hashes.
        hashes: Vec<String>,
    },
    /// Ask `from` for a page of this node's swarm's messages (`/swarm/v1/fetch` with `body`;
    /// [`Outcome::Fetched`]).
    Fetch {
        /// The swarm peer.
        from: NodeRecord,
        /// The request.
        body: Vec<u8>,
    },
    /// Store `accepted.keep` (and count the rest) ([`Outcome::Done`]).
    Import {
        /// What the page held.
        accepted: Accepted,
    },
    /// Finished; `left_over` when something could not be done (a pushed message no member took,
    /// a peer that did not answer a fetch, a database error): run it again later.
    Done {
        /// Whether work was left.
        left_over: bool,
    },
}

/// How the last [`Step`] went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The rows a [`Step::Scan`] read.
    Rows(Vec<(i64, Message)>),
    /// Each member's answer to a [`Step::Push`]: the body of a 200, or `None`.
    Pushed(Vec<Option<Vec<u8>>>),
    /// The peer's answer to a [`Step::Fetch`]: the body of a 200, or `None`.
    Fetched(Option<Vec<u8>>),
    /// A [`Step::Delete`] or [`Step::Import`] was done.
    Done,
    /// The step failed (a database error).
    Failed,
}

#[derive(Clone, Debug)]
enum Awaiting {
    Rows,
    Pushed { count: usize, sent: BTreeSet<String> },
    Deleted,
    Fetched { ask: FetchRequest, after: i64 },
    Imported,
}

/// A node's handover after a swarm change (see the [module](self) docs).
///
/// ```
/// use std::sync::Arc;
/// use sesh_identity::NodeId;
/// use sesh_network::NetworkState;
/// use sesh_node::handover::{Handover, Outcome, Step};
///
/// // A node outside any swarm with an empty database: one scan, nothing to fetch.
/// let mut h = Handover::new(Arc::new(NetworkState::empty([21, 0])), NodeId::from_bytes([1; 32]), 0);
/// assert_eq!(h.step(None), Step::Scan { after: 0, limit: 500 });
/// assert_eq!(h.step(Some(Outcome::Rows(Vec::new()))), Step::Done { left_over: false });
/// ```
#[derive(Clone, Debug)]
pub struct Handover {
    state: Arc<NetworkState>,
    me: NodeId,
    now_ms: i64,
    after: i64,
    scanning: bool,
    plan: VecDeque<(SwarmId, Vec<Message>)>,
    peers: VecDeque<NodeRecord>,
    next_page: Option<(NodeRecord, FetchRequest)>,
    awaiting: Option<(Awaiting, Option<NodeRecord>)>,
    left_over: bool,
}

impl Handover {
    /// The handover of node `me` in `state`, at `now_ms` (messages that expired by then are not
    /// fetched).
    pub fn new(state: Arc<NetworkState>, me: NodeId, now_ms: i64) -> Self {
        let peers = Duty::new(&state, me).peers().into_iter().copied().collect();
        Self {
            state,
            me,
            now_ms,
            after: 0,
            scanning: true,
            plan: VecDeque::new(),
            peers,
            next_page: None,
            awaiting: None,
            left_over: false,
        }
    }

    /// Takes how the last step went (`None` at the start) and says what to do next.
    pub fn step(&mut self, outcome: Option<Outcome>) -> Step {
        if let Some(step) = self.take(outcome) {
            return step;
        }
        if let Some((swarm, messages)) = self.plan.pop_front() {
            let to = self.state.members(swarm).into_iter().copied().collect();
            let sent = messages.iter().map(|m| m.hash.clone()).collect();
            self.awaiting = Some((Awaiting::Pushed { count: messages.len(), sent }, None));
            return Step::Push { to, body: push_body(&messages), count: messages.len() };
        }
        if self.scanning {
            self.awaiting = Some((Awaiting::Rows, None));
            return Step::Scan { after: self.after, limit: PAGE };
        }
        let swarm = Duty::new(&self.state, self.me).swarm();
        let ask = |from: NodeRecord| {
            swarm.map(|swarm| (from, FetchRequest { swarm, after: 0, limit: PAGE }))
        };
        if let Some((from, ask)) =
            self.next_page.take().or_else(|| self.peers.pop_front().and_then(ask))
        {
            self.awaiting = Some((Awaiting::Fetched { ask, after: ask.after }, Some(from)));
            return Step::Fetch { from, body: ask.to_body() };
        }
        Step::Done { left_over: self.left_over }
    }

    /// Takes an outcome; a step that must come at once (a delete after a push, an import after
    /// a page).
    fn take(&mut self, outcome: Option<Outcome>) -> Option<Step> {
        let (awaiting, from) = self.awaiting.take()?;
        match (awaiting, outcome) {
            (Awaiting::Rows, Some(Outcome::Rows(rows))) => {
                self.scanning = rows.len() == PAGE;
                if let Some((last, _)) = rows.last() {
                    self.after = *last;
                }
                self.plan.extend(push_plan(
                    &self.state,
                    &self.me,
                    rows.into_iter().map(|(_, m)| m),
                ));
            }
            (Awaiting::Rows, _) => {
                // The database failed: no more pushing this time (the fetches still run).
                self.scanning = false;
                self.left_over = true;
            }
            (Awaiting::Pushed { count, sent }, Some(Outcome::Pushed(answers))) => {
                // Only what was pushed: an answer naming other hashes must not delete them.
                let hashes: Vec<String> = answers
                    .iter()
                    .flatten()
                    .flat_map(|a| accepted(a))
                    .filter(|h| sent.contains(h))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                self.left_over |= hashes.len() < count;
                if !hashes.is_empty() {
                    self.awaiting = Some((Awaiting::Deleted, None));
                    return Some(Step::Delete { hashes });
                }
            }
            (Awaiting::Fetched { ask, after }, Some(Outcome::Fetched(Some(body)))) => {
                match (read_page(&self.state, &self.me, self.now_ms, &body, after), from) {
                    (Ok((accepted, next)), Some(from)) => {
                        self.next_page = next.map(|after| (from, FetchRequest { after, ..ask }));
                        self.awaiting = Some((Awaiting::Imported, None));
                        return Some(Step::Import { accepted });
                    }
                    _ => self.left_over = true,
                }
            }
            (Awaiting::Deleted | Awaiting::Imported, Some(Outcome::Done)) => {}
            (Awaiting::Imported, _) => {
                // Not stored: this peer's next pages wait for the next run.
                self.next_page = None;
                self.left_over = true;
            }
            _ => self.left_over = true,
        }
        None
    }
}
