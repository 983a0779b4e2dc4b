//! Onion paths with the live clients' rules (libsession-util's `Network`, spec
//! onion-storage §5.4):
//!
//! - a client keeps [`MIN_PATHS`] paths of [`PATH_LENGTH`] distinct nodes and sends each request
//!   through one of them (never through the request's own destination);
//! - a hop that reports `Next node not found: <key>` gives that node the full strike count and
//!   is replaced in the path by an unused node, unless it is the guard, whose path is dropped;
//! - any other path failure counts against the path; at [`PATH_FAILURE_THRESHOLD`] failures the
//!   path is dropped, every node in it gets a strike and the guard the full count;
//! - a node with [`NODE_FAILURE_THRESHOLD`] strikes is not used again; when too few nodes are
//!   left, the strikes are forgotten (the live clients refresh their node cache then);
//! - a guard that cannot be reached at all drops its path and gets the full strike count
//!   (sesh's rule: the path cannot be entered).
//!
//! ```
//! use rand_core::OsRng;
//! use sesh_client::paths::{Outcome, Paths};
//! # use sesh_identity::{NodeId, X25519PublicKey};
//! # use sesh_network::NodeRecord;
//! # let node = |k: u8| NodeRecord { id: NodeId::from_bytes([k; 32]), x25519: X25519PublicKey::from_bytes([k; 32]), ip: "127.0.0.1".parse().unwrap(), port: 20_000 + u16::from(k), tls: true };
//! let nodes: Vec<NodeRecord> = (1..=8).map(node).collect();
//! let mut paths = Paths::default();
//! let target = nodes[0].id;
//! let path = paths.choose(&nodes, &target, &mut OsRng)?;
//! assert!(path.nodes().iter().all(|n| n.id != target));
//! paths.report(&path, Outcome::NodeNotFound(path.nodes()[2].id));
//! assert_eq!(paths.strikes(&path.nodes()[2].id), 3); // replaced in the path
//! # Ok::<(), sesh_client::Error>(())
//! ```

use std::collections::HashMap;

use rand_core::RngCore;
use sesh_identity::NodeId;
use sesh_network::NodeRecord;

use crate::error::{Error, Result};

/// Nodes in a path: guard, middle, exit.
pub const PATH_LENGTH: usize = 3;
/// Paths a client keeps (the live `min_path_count`).
pub const MIN_PATHS: usize = 2;
/// Strikes after which a node is not used (the live `snode_failure_threshold`).
pub const NODE_FAILURE_THRESHOLD: u32 = 3;
/// Failures after which a path is dropped (the live `path_failure_threshold`).
pub const PATH_FAILURE_THRESHOLD: u32 = 3;

/// An onion path: guard first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    nodes: [NodeRecord; PATH_LENGTH],
}

impl Path {
    /// Guard, middle, exit.
    pub fn nodes(&self) -> &[NodeRecord; PATH_LENGTH] {
        &self.nodes
    }

    /// The guard: the node the request is sent to.
    pub fn guard(&self) -> &NodeRecord {
        let [guard, ..] = &self.nodes;
        guard
    }

    fn contains(&self, id: &NodeId) -> bool {
        self.nodes.iter().any(|n| n.id == *id)
    }
}

/// How a request through a path went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The destination answered (whatever it said): the path works.
    Delivered,
    /// The guard could not be reached.
    GuardUnreachable,
    /// A hop could not reach this node ("Next node not found").
    NodeNotFound(NodeId),
    /// Anything else: a timeout, an error status from a hop, a reply that does not decrypt.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Kept {
    path: Path,
    failures: u32,
}

/// The paths a client keeps and the strikes it counts against nodes.
#[derive(Clone, Debug, Default)]
pub struct Paths {
    kept: Vec<Kept>,
    strikes: HashMap<NodeId, u32>,
}

/// A uniform index below `len` (> 0).
pub(crate) fn pick(rng: &mut impl RngCore, len: usize) -> usize {
    let len64 = u64::try_from(len).unwrap_or(u64::MAX).max(1);
    usize::try_from(rng.next_u64() % len64).unwrap_or(0)
}

impl Paths {
    /// The strikes counted against a node.
    pub fn strikes(&self, node: &NodeId) -> u32 {
        self.strikes.get(node).copied().unwrap_or(0)
    }

    /// The paths kept now.
    pub fn kept(&self) -> impl Iterator<Item = &Path> + '_ {
        self.kept.iter().map(|k| &k.path)
    }

    fn usable(&self, node: &NodeRecord) -> bool {
        self.strikes(&node.id) < NODE_FAILURE_THRESHOLD
    }

    fn strike(&mut self, node: &NodeId, n: u32) {
        let s = self.strikes.entry(*node).or_default();
        *s = s.saturating_add(n).min(NODE_FAILURE_THRESHOLD);
    }

    /// A path for a request to `target`: a kept path without it, or a new one from `nodes`
    /// (kept if fewer than [`MIN_PATHS`] are).
    ///
    /// # Errors
    /// [`Error::TooFewNodes`] when `nodes` has fewer than [`PATH_LENGTH`] nodes besides
    /// `target`.
    pub fn choose(
        &mut self,
        nodes: &[NodeRecord],
        target: &NodeId,
        rng: &mut impl RngCore,
    ) -> Result<Path> {
        let live: Vec<&NodeRecord> =
            nodes.iter().filter(|n| n.id != *target && self.usable(n)).collect();
        if live.len() < PATH_LENGTH {
            // Too few unstruck nodes: forgive, as the live clients refresh their cache.
            self.strikes.clear();
        }
        self.repair(nodes, rng);
        let candidates: Vec<usize> = (0..self.kept.len())
            .filter(|i| self.kept.get(*i).is_some_and(|k| !k.path.contains(target)))
            .collect();
        if candidates.len() >= MIN_PATHS || (!candidates.is_empty() && self.kept.len() >= MIN_PATHS)
        {
            let at = candidates.get(pick(rng, candidates.len())).copied().unwrap_or(0);
            if let Some(k) = self.kept.get(at) {
                return Ok(k.path.clone());
            }
        }
        let path = self.build(nodes, target, rng)?;
        if self.kept.len() < MIN_PATHS {
            self.kept.push(Kept { path: path.clone(), failures: 0 });
        }
        Ok(path)
    }

    /// Replaces struck (or departed) middle and exit nodes of kept paths with unused nodes, and
    /// drops the paths whose guard is struck or gone, or that cannot be repaired.
    fn repair(&mut self, nodes: &[NodeRecord], rng: &mut impl RngCore) {
        let mut kept = core::mem::take(&mut self.kept);
        let mut i = 0;
        while i < kept.len() {
            if self.repair_one(&mut kept, i, nodes, rng) {
                i += 1;
            } else {
                kept.remove(i);
            }
        }
        self.kept = kept;
    }

    /// Repairs `kept[i]`; false if it must be dropped.
    fn repair_one(
        &self,
        kept: &mut [Kept],
        i: usize,
        nodes: &[NodeRecord],
        rng: &mut impl RngCore,
    ) -> bool {
        let fine = |n: &NodeRecord| nodes.contains(n) && self.usable(n);
        let Some(mut path) = kept.get(i).map(|k| k.path.clone()) else { return false };
        if !fine(path.guard()) {
            return false;
        }
        for at in 1..PATH_LENGTH {
            if path.nodes.get(at).is_some_and(fine) {
                continue;
            }
            let spare: Vec<&NodeRecord> = nodes
                .iter()
                .filter(|n| {
                    fine(n) && !path.contains(&n.id) && !kept.iter().any(|o| o.path.contains(&n.id))
                })
                .collect();
            let (Some(slot), Some(new)) =
                (path.nodes.get_mut(at), spare.get(pick(rng, spare.len().max(1))))
            else {
                return false;
            };
            *slot = **new;
        }
        if let Some(k) = kept.get_mut(i) {
            k.path = path;
        }
        true
    }

    /// A new path of distinct unstruck nodes, none of them `target`.
    fn build(&self, nodes: &[NodeRecord], target: &NodeId, rng: &mut impl RngCore) -> Result<Path> {
        let mut pool: Vec<NodeRecord> =
            nodes.iter().filter(|n| n.id != *target && self.usable(n)).copied().collect();
        if pool.len() < PATH_LENGTH {
            return Err(Error::TooFewNodes { have: pool.len(), need: PATH_LENGTH });
        }
        // Partial Fisher–Yates: the first PATH_LENGTH entries.
        for i in 0..PATH_LENGTH {
            let j = i + pick(rng, pool.len() - i);
            pool.swap(i, j);
        }
        match pool.get(..PATH_LENGTH) {
            Some([a, b, c]) => Ok(Path { nodes: [*a, *b, *c] }),
            _ => Err(Error::TooFewNodes { have: pool.len(), need: PATH_LENGTH }),
        }
    }

    /// Records how a request through `path` went.
    pub fn report(&mut self, path: &Path, outcome: Outcome) {
        let at = self.kept.iter().position(|k| k.path == *path);
        match outcome {
            Outcome::Delivered => {}
            Outcome::GuardUnreachable => {
                self.strike(&path.guard().id, NODE_FAILURE_THRESHOLD);
                if let Some(at) = at {
                    self.kept.remove(at);
                }
            }
            Outcome::NodeNotFound(node) => {
                self.strike(&node, NODE_FAILURE_THRESHOLD);
                // A guard's path is dropped; a middle or exit node is replaced in its path when
                // the path is next chosen.
                if let Some(at) = at
                    && path.guard().id == node
                {
                    self.kept.remove(at);
                }
            }
            Outcome::Failed => {
                let Some(at) = at else {
                    // A one-off path (every kept one went through the destination): a strike for
                    // each of its nodes.
                    for n in path.nodes() {
                        self.strike(&n.id, 1);
                    }
                    return;
                };
                let dropped = self.kept.get_mut(at).is_some_and(|k| {
                    k.failures += 1;
                    k.failures >= PATH_FAILURE_THRESHOLD
                });
                if dropped {
                    self.kept.remove(at);
                    for n in path.nodes() {
                        self.strike(&n.id, 1);
                    }
                    self.strike(&path.guard().id, NODE_FAILURE_THRESHOLD);
                }
            }
        }
    }
}
