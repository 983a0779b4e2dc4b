//! One block's swarm update, from node states to the new map and the list of who moved.
//!
//! ```
//! use sesh_swarm::{NodeId, NodeState, SortOrder, SwarmMap, next};
//!
//! let nodes: Vec<NodeId> = (0u8..14).map(|k| NodeId::from_bytes([k; 32])).collect();
//! let genesis = next(
//!     &SwarmMap::new(),
//!     nodes.iter().map(|n| (*n, NodeState::Active)),
//!     42,
//!     SortOrder::Compat,
//! )?;
//! assert_eq!(genesis.map().swarm_count(), 2); // 14 nodes: the first split
//! assert_eq!(genesis.changes().len(), 14); // everyone joined
//!
//! // Node 0 is decommissioned: it leaves, and its swarm is refilled or dissolved.
//! let block = next(
//!     genesis.map(),
//!     nodes.iter().enumerate().map(|(i, n)| {
//!         (*n, if i == 0 { NodeState::Decommissioned } else { NodeState::Active })
//!     }),
//!     7,
//!     SortOrder::Compat,
//! )?;
//! assert_eq!(block.map().node_count(), 13);
//! assert!(block.map().swarm_of(&nodes[0]).is_none());
//! # Ok::<(), sesh_swarm::Error>(())
//! ```

use crate::assign::{SortOrder, Swarms, calc_swarm_changes};
use crate::error::{Error, Result};
use crate::map::{NodeId, SwarmId, SwarmMap};

/// What the chain says about a node in this block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeState {
    /// Fully staked and serving: it has (or gets) a swarm.
    Active,
    /// Temporarily out of service: it loses its swarm, and when recommissioned it is placed
    /// again like a newcomer (oxend sets its swarm id to unassigned).
    Decommissioned,
    /// Deregistered, exited or unlocked: gone for good.
    Removed,
}

/// How one node's swarm changed in a block. A storage server uses these to hand messages over
/// (oxend's storage server: push everything to the swarm's new members; a node whose swarm was
/// dissolved pushes each account's messages to the swarm that now owns it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// The node got a swarm: new, or back from decommission.
    Joined {
        /// The node.
        node: NodeId,
        /// Its swarm.
        swarm: SwarmId,
    },
    /// The node lost its swarm: decommissioned or removed.
    Left {
        /// The node.
        node: NodeId,
        /// The swarm it was in.
        swarm: SwarmId,
    },
    /// The node was moved by assignment (to refill a swarm, found a new one, or because its
    /// swarm was dissolved).
    Moved {
        /// The node.
        node: NodeId,
        /// The swarm it was in.
        from: SwarmId,
        /// The swarm it is in now.
        to: SwarmId,
    },
}

impl Change {
    /// The node this change is about.
    pub fn node(&self) -> NodeId {
        match *self {
            Self::Joined { node, .. } | Self::Left { node, .. } | Self::Moved { node, .. } => node,
        }
    }
}

/// The outcome of [`next`]: the new map and every node whose swarm changed, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    previous_ids: Vec<SwarmId>,
    map: SwarmMap,
    changes: Vec<Change>,
}

impl Transition {
    /// The map after the block.
    pub fn map(&self) -> &SwarmMap {
        &self.map
    }

    /// The map after the block, by value.
    pub fn into_map(self) -> SwarmMap {
        self.map
    }

    /// Every node whose swarm changed, in key order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// How many nodes assignment moved from one swarm to another (joins and departures not
    /// counted).
    pub fn moved_count(&self) -> usize {
        self.changes.iter().filter(|c| matches!(c, Change::Moved { .. })).count()
    }

    /// Swarms that exist now but did not before, ascending.
    pub fn new_swarms(&self) -> Vec<SwarmId> {
        self.map
            .ids()
            .as_slice()
            .iter()
            .filter(|id| self.previous_ids.binary_search(id).is_err())
            .copied()
            .collect()
    }

    /// Swarms that existed before and are gone now (dissolved, or emptied), ascending.
    pub fn dissolved_swarms(&self) -> Vec<SwarmId> {
        self.previous_ids.iter().filter(|id| !self.map.ids().contains(**id)).copied().collect()
    }
}

/// The first 8 bytes of a block hash as a little-endian `u64`: oxend's seed for that block's
/// assignment.
pub fn seed_from_block_hash(hash: &[u8; 32]) -> u64 {
    let [a, b, c, d, e, f, g, h, ..] = *hash;
    u64::from_le_bytes([a, b, c, d, e, f, g, h])
}

/// Recomputes the swarms for a block, as oxend does at the end of processing it.
///
/// `nodes` is every registered node with its state in this block (a node of `previous` that is
/// missing counts as removed); `seed` is [`seed_from_block_hash`] of the block. Active nodes keep
/// their swarm from `previous`; active nodes without one are placed like newcomers.
///
/// As in oxend, nothing is recomputed when the set of active nodes is unchanged: the result is
/// then `previous` with no changes.
///
/// # Errors
/// [`Error::DuplicateNode`] for a node listed twice; nothing else fails.
pub fn next(
    previous: &SwarmMap,
    nodes: impl IntoIterator<Item = (NodeId, NodeState)>,
    seed: u64,
    order: SortOrder,
) -> Result<Transition> {
    // In key order (callers usually give them so, and then this sort is linear).
    let mut states: Vec<(NodeId, NodeState)> = nodes.into_iter().collect();
    states.sort_unstable_by_key(|pair| pair.0);
    if let Some(pair) = states.windows(2).find(|pair| matches!(pair, [a, b] if a.0 == b.0)) {
        let node = pair.first().map(|(node, _)| node.to_string()).unwrap_or_default();
        return Err(Error::DuplicateNode { node });
    }

    // The active nodes in key order, each with its previous swarm: a merge of two sorted lists.
    let mut before = previous.assignments().peekable();
    let mut active: Vec<(NodeId, Option<SwarmId>)> = Vec::with_capacity(states.len());
    for (node, state) in states {
        while before.next_if(|(key, _)| *key < node).is_some() {}
        let swarm = before.next_if(|(key, _)| *key == node).map(|(_, swarm)| swarm);
        if state == NodeState::Active {
            active.push((node, swarm));
        }
    }
    let previous_ids = previous.ids().as_slice().to_vec();
    let newcomers = active.iter().filter(|(_, swarm)| swarm.is_none()).count();
    if newcomers == 0 && active.len() == previous.node_count() {
        return Ok(Transition { previous_ids, map: previous.clone(), changes: Vec::new() });
    }

    // oxend's input: each swarm's remaining members in key order, newcomers in the bucket.
    let mut buckets: Vec<Vec<NodeId>> = vec![Vec::new(); previous_ids.len()];
    let mut unassigned = Vec::with_capacity(newcomers);
    for (node, swarm) in &active {
        let bucket = swarm
            .and_then(|id| previous_ids.binary_search(&id).ok())
            .and_then(|at| buckets.get_mut(at));
        match bucket {
            Some(bucket) => bucket.push(*node),
            None => unassigned.push(*node),
        }
    }
    let mut swarms: Swarms =
        previous_ids.iter().copied().zip(buckets).filter(|(_, m)| !m.is_empty()).collect();
    if !unassigned.is_empty() {
        swarms.insert(SwarmId::UNASSIGNED, unassigned);
    }

    calc_swarm_changes(&mut swarms, seed, order);

    // The new map. A node changed swarm exactly when it is in a swarm that did not hold it
    // before; finding those is a merge per swarm, so most nodes are never looked up.
    let mut ids = Vec::with_capacity(swarms.len());
    let mut members = Vec::with_capacity(swarms.len());
    let mut moved: Vec<(NodeId, SwarmId)> = Vec::new();
    for (id, mut list) in swarms {
        list.sort_unstable();
        let mut old = previous.members(id).iter().peekable();
        for node in &list {
            while old.next_if(|key| *key < node).is_some() {}
            if old.next_if(|key| *key == node).is_none() {
                moved.push((*node, id));
            }
        }
        ids.push(id);
        members.push(list);
    }
    moved.sort_unstable_by_key(|pair| pair.0);
    let mut moved = moved.into_iter().peekable();
    let nodes: Vec<(NodeId, SwarmId)> = active
        .into_iter()
        .filter_map(|(node, swarm)| {
            moved.next_if(|(key, _)| *key == node).map(|(_, to)| to).or(swarm).map(|id| (node, id))
        })
        .collect();
    let map = SwarmMap::from_parts(ids, members, nodes);
    let changes = diff(previous, &map);
    Ok(Transition { previous_ids, map, changes })
}

/// Every node whose swarm differs between `before` and `after`, in key order (a merge of the two
/// key-ordered assignment lists).
fn diff(before: &SwarmMap, after: &SwarmMap) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut before = before.assignments().peekable();
    let mut after = after.assignments().peekable();
    loop {
        let change = match (before.peek().copied(), after.peek().copied()) {
            (None, None) => break,
            (Some((node, swarm)), None) => {
                before.next();
                Change::Left { node, swarm }
            }
            (None, Some((node, swarm))) => {
                after.next();
                Change::Joined { node, swarm }
            }
            (Some((old, from)), Some((new, to))) => match old.cmp(&new) {
                core::cmp::Ordering::Less => {
                    before.next();
                    Change::Left { node: old, swarm: from }
                }
                core::cmp::Ordering::Greater => {
                    after.next();
                    Change::Joined { node: new, swarm: to }
                }
                core::cmp::Ordering::Equal => {
                    before.next();
                    after.next();
                    if from == to {
                        continue;
                    }
                    Change::Moved { node: old, from, to }
                }
            },
        };
        changes.push(change);
    }
    changes
}
