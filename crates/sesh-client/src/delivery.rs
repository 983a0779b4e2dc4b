//! One request to an account's swarm, as the live clients send it: to a random member, through
//! an onion path ([`Paths`]), with the live retry rules (spec onion-storage §5.4):
//!
//! - a path that fails is reported and another tried, up to [`ATTEMPTS`] paths for a member;
//!   when all fail the member itself may be down, and another member is tried (at once when the
//!   path's last hop says the member cannot be reached: `Next node not found: <member>`);
//! - `421` (the member is not in that swarm any more): the first time another member is tried;
//!   the second time the network state is refreshed and another member tried; the third time
//!   the request fails;
//! - `406` (the clocks differ): the request fails at once with [`Error::ClockOutOfSync`];
//! - any other answer of the destination is the answer.
//!
//! [`Delivery`] is a state machine: [`Delivery::step`] says what to do (post an onion request to
//! a guard, refresh the network state, or stop with the answer), [`Delivery::on_reply`] takes
//! what the guard answered.
//!
//! ```no_run
//! # fn post(url: &str, body: Vec<u8>) -> sesh_client::delivery::Transport { unimplemented!() }
//! # fn refresh() -> sesh_network::NetworkState { unimplemented!() }
//! use sesh_client::delivery::{Delivery, Step};
//! use sesh_client::paths::Paths;
//!
//! # let (mut state, account) = (sesh_network::NetworkState::default(), [5u8; 33]);
//! let mut paths = Paths::default();
//! let mut delivery = Delivery::new(account);
//! let answer = loop {
//!     match delivery.step(&state, &mut paths, |_member| br#"{"method":"info","params":{}}"#.to_vec(), &mut rand_core::OsRng) {
//!         Step::Post { url, body } => delivery.on_reply(&mut paths, post(&url, body)),
//!         Step::Refresh => state = refresh(),
//!         Step::Done(answer) => break answer,
//!     }
//! };
//! ```

use rand_core::{CryptoRng, RngCore};
use sesh_identity::{NodeId, X25519PublicKey};
use sesh_network::{NetworkState, NodeRecord};
use sesh_onion::reply::ReplyKeys;
use sesh_onion::{Destination, EncType, Hop};

use crate::error::{Error, Result};
use crate::paths::{Outcome, Path, Paths, pick};

/// Paths tried for one member before another member is tried.
pub const ATTEMPTS: usize = 4;
/// Members tried (and 421 rounds) before the request fails.
pub const ROUNDS: usize = 3;

/// The answer of a swarm member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAnswer {
    /// The member that answered.
    pub node: NodeId,
    /// Its status.
    pub status: u16,
    /// Its body.
    pub body: Vec<u8>,
    /// Paths tried in all (1 if the first worked).
    pub attempts: usize,
}

/// What to do next.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// POST `body` to `url` (the guard's `/onion_req/v2`) and give the outcome to
    /// [`Delivery::on_reply`].
    Post {
        /// The guard's URL.
        url: String,
        /// The onion request.
        body: Vec<u8>,
    },
    /// Fetch the network state again, then step on with the new one.
    Refresh,
    /// Finished.
    Done(Result<NodeAnswer>),
}

/// What the guard did with a posted request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// It answered with this HTTP status and body.
    Answered {
        /// HTTP status.
        status: u16,
        /// Body.
        body: Vec<u8>,
    },
    /// It could not be reached, or broke off (why, for the error message).
    Unreachable(String),
}

#[derive(Debug)]
struct InFlight {
    path: Path,
    reply: ReplyKeys,
}

/// One request to an account's swarm.
#[derive(Debug)]
pub struct Delivery {
    account: [u8; 33],
    tried: Vec<NodeId>,
    round: usize,
    target: Option<NodeRecord>,
    attempt: usize,
    attempts: usize,
    in_flight: Option<InFlight>,
    refresh: bool,
    last: String,
    outcome: Option<Result<NodeAnswer>>,
    /// Sent to one given node (not to an account's swarm): no other is tried.
    fixed: bool,
    /// The swarm's members as a node listed them (`get_swarm`), instead of the network
    /// state's.
    members: Option<Vec<NodeRecord>>,
}

fn hop(node: &NodeRecord) -> Result<Hop> {
    let ed25519 =
        node.id.to_ed25519().map_err(|e| Error::Build(format!("node {}: {e}", node.id)))?;
    Ok(Hop { ed25519, x25519: X25519PublicKey::from_bytes(*node.x25519.as_bytes()) })
}

fn short(node: &NodeId) -> String {
    node.to_string().chars().take(8).collect()
}

impl Delivery {
    /// A request about the account with this 33-byte id.
    pub fn new(account: [u8; 33]) -> Self {
        Self {
            account,
            tried: Vec::new(),
            round: 0,
            target: None,
            attempt: 0,
            attempts: 0,
            in_flight: None,
            refresh: false,
            last: String::new(),
            outcome: None,
            fixed: false,
            members: None,
        }
    }

    /// A request about the account with this id, to the swarm `members` (as a node's `get_swarm`
    /// answer listed them, the way the live apps learn a swarm) rather than the swarm the network
    /// state computes. After a [`Step::Refresh`], give the swarm's new members with
    /// [`Delivery::set_members`].
    pub fn to_members(account: [u8; 33], members: Vec<NodeRecord>) -> Self {
        Self { members: Some(members), ..Self::new(account) }
    }

    /// The swarm's members as now known (after a refresh).
    pub fn set_members(&mut self, members: Vec<NodeRecord>) {
        self.members = Some(members);
    }

    /// A request for `node` itself (one not about an account, e.g. `oxend_request`): the same
    /// paths and path rules, but no other node is tried, and the network state is never
    /// refreshed for it.
    pub fn to_node(node: NodeRecord) -> Self {
        Self { target: Some(node), fixed: true, ..Self::new([0; 33]) }
    }

    /// What to do next. `request` gives the request (`{"method", "params"}`) for the member it
    /// is sent to.
    pub fn step(
        &mut self,
        state: &NetworkState,
        paths: &mut Paths,
        request: impl FnOnce(&NodeId) -> Vec<u8>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Step {
        if let Some(outcome) = self.outcome.take() {
            return Step::Done(outcome);
        }
        if core::mem::take(&mut self.refresh) {
            return Step::Refresh;
        }
        match self.post(state, paths, request, rng) {
            Ok(step) => step,
            Err(e) => Step::Done(Err(e)),
        }
    }

    fn post(
        &mut self,
        state: &NetworkState,
        paths: &mut Paths,
        request: impl FnOnce(&NodeId) -> Vec<u8>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Step> {
        let target = match self.target {
            Some(t) => t,
            None => {
                let members = match &self.members {
                    Some(members) => members.iter().collect(),
                    None => state.members_for(&self.account),
                };
                let fresh: Vec<&&NodeRecord> =
                    members.iter().filter(|m| !self.tried.contains(&m.id)).collect();
                let pool: Vec<&&NodeRecord> =
                    if fresh.is_empty() { members.iter().collect() } else { fresh };
                let t = **pool.get(pick(rng, pool.len())).ok_or(Error::NoSwarm)?;
                self.tried.push(t.id);
                self.target = Some(*t);
                self.attempt = 0;
                *t
            }
        };
        let nodes: Vec<NodeRecord> = state.nodes().copied().collect();
        let path = paths.choose(&nodes, &target.id, rng)?;
        let hops = path.nodes().iter().map(hop).collect::<Result<Vec<_>>>()?;
        let built = sesh_onion::build(
            &hops,
            &Destination::Node(hop(&target)?),
            &request(&target.id),
            EncType::XChaCha20,
            rng,
        )
        .map_err(|e| Error::Build(e.to_string()))?;
        self.attempt += 1;
        self.attempts += 1;
        let url = path.guard().url("/onion_req/v2");
        self.in_flight = Some(InFlight { path, reply: built.reply });
        Ok(Step::Post { url, body: built.bytes })
    }

    /// Takes what the guard did with the last [`Step::Post`].
    pub fn on_reply(&mut self, paths: &mut Paths, transport: Transport) {
        let (Some(sent), Some(target)) = (self.in_flight.take(), self.target) else { return };
        let guard = short(&sent.path.guard().id);
        let (status, body) = match transport {
            Transport::Answered { status, body } => (status, body),
            Transport::Unreachable(why) => {
                paths.report(&sent.path, Outcome::GuardUnreachable);
                self.last = format!("guard {guard}: {why}");
                return self.path_failed();
            }
        };
        let (status, body) = match sent.reply.read_v3(status, &body) {
            Ok(r) => (r.status, r.body),
            Err(sesh_onion::Error::DestinationStatus { status, body }) => (status, body),
            Err(sesh_onion::Error::PathFailed { unreachable_node: Some(node), status, body }) => {
                let node = NodeId::from_bytes(node);
                paths.report(&sent.path, Outcome::NodeNotFound(node));
                self.last = format!("{status} {body}");
                if node == target.id {
                    // The member itself cannot be reached: no other path reaches it either.
                    self.attempt = ATTEMPTS;
                }
                return self.path_failed();
            }
            Err(e) => {
                paths.report(&sent.path, Outcome::Failed);
                self.last = e.to_string();
                return self.path_failed();
            }
        };
        paths.report(&sent.path, Outcome::Delivered);
        match status {
            421 => self.next_round(Error::Refused {
                status: 421,
                body: "the swarm moved and the node list did not catch up".into(),
            }),
            406 => self.outcome = Some(Err(Error::ClockOutOfSync)),
            _ => {
                self.outcome =
                    Some(Ok(NodeAnswer { node: target.id, status, body, attempts: self.attempts }))
            }
        }
    }

    fn path_failed(&mut self) {
        if self.attempt >= ATTEMPTS {
            // The member itself may be down: another one.
            let failed = Error::PathsFailed { attempts: self.attempts, last: self.last.clone() };
            if self.round + 1 < ROUNDS && !self.fixed {
                self.round += 1;
                self.target = None;
            } else {
                self.outcome = Some(Err(failed));
            }
        }
    }

    /// 421: another member; the second time after a refresh; the third time, `give_up`.
    fn next_round(&mut self, give_up: Error) {
        if self.round + 1 >= ROUNDS || self.fixed {
            self.outcome = Some(Err(give_up));
            return;
        }
        self.round += 1;
        self.target = None;
        self.refresh = self.round == 2;
    }
}
