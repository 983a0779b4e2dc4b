//! A node's book of uptime proofs, sans IO: the latest proof it accepted of each registered
//! node, taken by oxend's rules ([`sesh_quorum::proof::accept`]) against this node's own ledger
//! view and clock, as every live oxend takes the proofs relayed to it.
//!
//! **What the book gives.** Where each node is reached (the proof's IP and storage port,
//! [`ProofBook::record`]), and when its last proof was accepted (this node's clock and ledger
//! height, [`Held`]), which the quorum cop's view takes in place of anyone else's word
//! ([`LedgerView::with_proofs`](crate::obligations::LedgerView::with_proofs)).
//!
//! **How proofs travel.** A node sends its own proof, when due, to every node it knows (from
//! its book and from the network state it follows, [`ProofBook::peers`]); a node that accepts a
//! proof newer than the one it held ([`Received::New`]) relays it once to the nodes it knows,
//! except the proof's node and the node it came from ([`ProofBook::relay_targets`]). The same
//! proof again is [`Received::Known`] and goes no further; an older or too early one is refused
//! (`too_soon`), and so is a proof breaking any of oxend's rules, or of a node this node's
//! ledger view does not list: a refused proof is never relayed. Each proof is thus relayed at
//! most once by each node, to at most every node it knows.
//!
//! ```
//! use sesh_identity::{Identity, NodeId};
//! use sesh_node::obligations::{LedgerView, UptimeSubmission};
//! use sesh_node::proofs::{ProofBook, Received};
//! use sesh_quorum::proof::ProofRules;
//!
//! let (a, b) = (Identity::generate(&mut rand_core::OsRng), Identity::generate(&mut rand_core::OsRng));
//! let mut keeper = sesh_node::keeper::Keeper::new([21, 0]);
//! for node in [&a, &b] {
//!     let join = sesh_node::keeper::JoinRequest::register(node, "127.0.0.1".parse()?, 22100, false)?;
//!     keeper.join(NodeId::from_identity(node), &join.to_body())?;
//! }
//! keeper.block()?;
//! let view = keeper.view().clone();
//! let now = 1_700_000_000_000;
//! let proof = UptimeSubmission::new(&b, "127.0.0.1".parse()?, 22101, view.height, now);
//! let mut book = ProofBook::new(NodeId::from_identity(&a), ProofRules::local(500));
//! assert_eq!(book.receive(&proof.proof, &view, now)?, Received::New);
//! assert_eq!(book.receive(&proof.proof, &view, now + 1)?, Received::Known);
//! assert_eq!(book.record(&NodeId::from_identity(&b), false).map(|r| r.port), Some(22101));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use sesh_identity::NodeId;
use sesh_network::{NetworkState, NodeRecord};
use sesh_quorum::proof::{ProofRules, SignedProof, accept};

use crate::error::{Error, Result};
use crate::obligations::LedgerView;

/// A proof this node accepted, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The proof as received (its bytes and signature, to relay as they are).
    pub proof: SignedProof,
    /// This node's clock when it accepted it (Unix ms).
    pub accepted_ms: u64,
    /// This node's ledger height when it accepted it.
    pub accepted_height: u64,
}

/// What [`ProofBook::receive`] made of a proof it did not refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// Newer than the one held: taken; relay it.
    New,
    /// The very proof already held: nothing changed; do not relay it again.
    Known,
}

/// The latest accepted uptime proof of each node of this node's ledger view.
#[derive(Clone, Debug)]
pub struct ProofBook {
    me: NodeId,
    rules: ProofRules,
    held: BTreeMap<NodeId, Held>,
}

impl ProofBook {
    /// The book of node `me`, taking proofs by `rules` (a local network's:
    /// [`ProofRules::local`] of its block time).
    pub fn new(me: NodeId, rules: ProofRules) -> Self {
        Self { me, rules, held: BTreeMap::new() }
    }

    /// The rules proofs are taken by.
    pub fn set_rules(&mut self, rules: ProofRules) {
        self.rules = rules;
    }

    /// Takes `proof` when this node's clock reads `now_ms` and its ledger view is `view`: the
    /// same proof again is [`Received::Known`]; a proof of a node the view lists, taken by
    /// oxend's rules (with the time this node accepted the node's last proof), and newer than
    /// it, is [`Received::New`].
    ///
    /// # Errors
    /// [`Error::ProofRefused`]: which of oxend's rules it breaks (`too_soon` also for a proof
    /// not newer than the one held); [`Error::BadRequest`] for a node the view does not list.
    /// Nothing changed.
    pub fn receive(
        &mut self,
        proof: &SignedProof,
        view: &LedgerView,
        now_ms: u64,
    ) -> Result<Received> {
        let node = proof.proof().pubkey_ed25519;
        let held = self.held.get(&node);
        if held.is_some_and(|h| h.proof == *proof) {
            return Ok(Received::Known);
        }
        let previous = held.map(|h| h.accepted_ms);
        accept(proof, previous, now_ms, &self.rules)
            .map_err(|source| Error::ProofRefused { source })?;
        if let Some(h) = held.filter(|h| h.proof.proof().timestamp >= proof.proof().timestamp) {
            let source = sesh_quorum::Error::ProofTooSoon {
                node,
                previous_ms: h.accepted_ms,
                next_ms: h.proof.proof().timestamp.saturating_add(1).saturating_mul(1000),
            };
            return Err(Error::ProofRefused { source });
        }
        if view.node(&node).is_none() {
            return Err(Error::BadRequest(format!(
                "uptime proof of {node}: not a registered node of ledger height {}",
                view.height
            )));
        }
        let accepted =
            Held { proof: proof.clone(), accepted_ms: now_ms, accepted_height: view.height };
        self.held.insert(node, accepted);
        Ok(Received::New)
    }

    /// The proof held of `node`.
    pub fn get(&self, node: &NodeId) -> Option<&Held> {
        self.held.get(node)
    }

    /// Every proof held, by node.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&NodeId, &Held)> + '_ {
        self.held.iter()
    }

    /// Forgets the proofs of nodes `view` no longer lists (exited, deregistered).
    pub fn retain_listed(&mut self, view: &LedgerView) {
        self.held.retain(|id, _| view.node(id).is_some());
    }

    /// Where `node` is reached, from its proof: its IP and storage port. The proof carries no
    /// scheme: `tls` is the one this network uses (a local network is all HTTPS, or all plain
    /// HTTP on loopback).
    pub fn record(&self, node: &NodeId, tls: bool) -> Option<NodeRecord> {
        let p = self.held.get(node)?.proof.proof();
        Some(NodeRecord {
            id: *node,
            x25519: node.to_x25519().ok()?,
            ip: p.public_ip,
            port: p.storage_https_port,
            tls,
        })
    }

    /// Every node this node knows other than itself: where its proof says it is, else where
    /// `state` (the network state it follows) says. By id.
    pub fn peers(&self, state: &NetworkState, tls: bool) -> Vec<NodeRecord> {
        let mut all: BTreeMap<NodeId, NodeRecord> = state.nodes().map(|n| (n.id, *n)).collect();
        for id in self.held.keys() {
            if let Some(r) = self.record(id, tls) {
                all.insert(*id, r);
            }
        }
        all.remove(&self.me);
        all.into_values().collect()
    }

    /// Where a proof of `node` received from `from` is relayed: every one of `peers` but this
    /// node, `node` and `from`.
    pub fn relay_targets(
        &self,
        node: &NodeId,
        from: &NodeId,
        peers: &[NodeRecord],
    ) -> Vec<NodeRecord> {
        (peers.iter())
            .filter(|p| p.id != self.me && p.id != *node && p.id != *from)
            .copied()
            .collect()
    }
}
