//! oxend's swarm assignment, `calc_swarm_changes`, ported step for step.
//!
//! Given the swarms of the active nodes (and a bucket of unassigned ones) and a seed from the
//! block hash, every node computes the same new swarms:
//!
//! 1. newcomers join a random swarm among the smallest quarter, and after each one a new swarm
//!    is split off if the excess above 5 per swarm allows (7 new members, taken at random from
//!    swarms above 5);
//! 2. *Robin Hood*: swarms below 5 take members at random from swarms above the 75th percentile;
//! 3. new swarms are split off from the remaining excess;
//! 4. swarms still below 5 are dissolved and their members go to the smallest swarms.
//!
//! New swarm ids sit in the middle of the largest gap between existing ids.
//!
//! Where swarms tie on size, the order oxend visits them in comes from libstdc++'s unstable
//! `std::sort`; [`SortOrder::Compat`] reproduces it exactly, [`SortOrder::Canonical`] uses the
//! total order (size, swarm id) instead.

use std::collections::BTreeMap;

use crate::map::{NodeKey, SwarmId};
use crate::rng::{Mt19937_64, uniform};
use crate::sort::std_sort;

/// A swarm below this size is starving; if it cannot be refilled it is dissolved.
pub const MIN_SWARM_SIZE: usize = 5;
/// Members each swarm keeps above the minimum before excess makes a new swarm.
pub const IDEAL_SWARM_MARGIN: usize = 2;
/// The size of a newly created swarm.
pub const NEW_SWARM_SIZE: usize = MIN_SWARM_SIZE + IDEAL_SWARM_MARGIN;
/// Members above this count are excess.
pub const EXCESS_BASE: usize = MIN_SWARM_SIZE;
/// Newcomers go to a random swarm among the smallest this-many percent.
pub const FILL_SWARM_LOWER_PERCENTILE: usize = 25;
/// Members of a dissolved swarm go to (one of) the smallest swarms.
pub const DECOMMISSIONED_REDISTRIBUTION_LOWER_PERCENTILE: usize = 0;
/// Robin Hood takes from swarms above this percentile of size.
pub const STEALING_SWARM_UPPER_PERCENTILE: usize = 75;

/// How swarms of equal size are ordered when oxend's algorithm sorts them by size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortOrder {
    /// libstdc++'s `std::sort`, tie order included: what the live network does. Needed to replay
    /// it; with more than 16 swarms, ties land in an order that depends on every swarm.
    #[default]
    Compat,
    /// By size, then by swarm id: a total order, recommended for a new network.
    Canonical,
}

/// Swarms by id, in ascending order, each with its members in order. The bucket
/// [`SwarmId::UNASSIGNED`] holds nodes that need a swarm.
pub type Swarms = BTreeMap<SwarmId, Vec<NodeKey>>;

#[derive(Clone, Copy, Debug)]
struct SwarmSize {
    id: SwarmId,
    size: usize,
}

/// The id for a new swarm, given the existing ids: halfway across the largest gap (the first of
/// equal gaps), where the gap from the largest id back round to the smallest counts too
/// ([`SwarmId::MAX`] and 0 are one apart). Without ids, 0.
pub fn new_swarm_id<'a>(ids: impl IntoIterator<Item = &'a SwarmId>) -> SwarmId {
    let ids: Vec<u64> = ids.into_iter().map(|id| id.0).collect();
    let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
        return SwarmId(0);
    };
    let mut max_dist = 0u64;
    let mut best = first;
    for pair in ids.windows(2) {
        if let [a, b] = *pair {
            let dist = b.wrapping_sub(a);
            if dist > max_dist {
                max_dist = dist;
                best = a;
            }
        }
    }
    let wrap = SwarmId::MAX.0.wrapping_sub(last).wrapping_add(first).wrapping_add(1);
    if wrap > max_dist {
        max_dist = wrap;
        best = last;
    }
    let diff = max_dist / 2;
    let to_max = SwarmId::MAX.0.wrapping_sub(best);
    if diff > to_max { SwarmId(diff - to_max - 1) } else { SwarmId(best + diff) }
}

fn excess(swarms: &Swarms) -> usize {
    swarms.values().map(|m| m.len().saturating_sub(EXCESS_BASE)).sum()
}

fn threshold(swarms: &Swarms) -> usize {
    NEW_SWARM_SIZE + swarms.len() * IDEAL_SWARM_MARGIN
}

/// The pool oxend draws donors from: every member of every swarm larger than `threshold`, in id
/// then member order (so a swarm is picked in proportion to its size), with the pool's excess
/// above [`MIN_SWARM_SIZE`]. Counted rather than built, so a draw costs `O(S)`, not `O(n)`.
#[derive(Clone, Copy)]
struct ExcessPool {
    threshold: usize,
    members: usize,
    excess: usize,
}

impl ExcessPool {
    fn new(threshold: usize, swarms: &Swarms) -> Self {
        let mut pool = Self { threshold, members: 0, excess: 0 };
        if threshold < MIN_SWARM_SIZE {
            return pool;
        }
        for members in swarms.values().filter(|m| m.len() > threshold) {
            pool.members += members.len();
            pool.excess += members.len() - MIN_SWARM_SIZE;
        }
        pool
    }

    /// Draws `pool[uniform(rng, len)]`; `None` (and no draw) if the pool is empty.
    fn pick(self, swarms: &Swarms, rng: &mut Mt19937_64) -> Option<(NodeKey, SwarmId)> {
        if self.members == 0 {
            return None;
        }
        let mut index = usize::try_from(uniform(rng, self.members as u64)).ok()?;
        for (id, members) in swarms.iter().filter(|(_, m)| m.len() > self.threshold) {
            match members.get(index) {
                Some(node) => return Some((*node, *id)),
                None => index -= members.len(),
            }
        }
        None
    }
}

fn remove_member(swarms: &mut Swarms, node: &NodeKey, from: SwarmId) {
    if let Some(members) = swarms.get_mut(&from) {
        members.retain(|m| m != node);
    }
}

fn create_new_swarms(swarms: &mut Swarms, rng: &mut Mt19937_64) {
    if swarms.values().any(|m| m.len() < MIN_SWARM_SIZE) {
        return;
    }
    while excess(swarms) >= threshold(swarms) {
        let mut members = Vec::with_capacity(NEW_SWARM_SIZE);
        while members.len() < NEW_SWARM_SIZE {
            let Some((node, from)) = ExcessPool::new(EXCESS_BASE, swarms).pick(swarms, rng) else {
                return; // oxend logs "Error while getting excess pool" and gives up
            };
            members.push(node);
            remove_member(swarms, &node, from);
        }
        let id = new_swarm_id(swarms.keys());
        // oxend only logs a collision (which would need ids one apart everywhere); the members
        // taken for the new swarm are then lost, as there.
        swarms.entry(id).or_insert(members);
    }
}

fn sorted_sizes(swarms: &Swarms, order: SortOrder) -> Vec<SwarmSize> {
    let mut sizes: Vec<SwarmSize> =
        swarms.iter().map(|(id, members)| SwarmSize { id: *id, size: members.len() }).collect();
    match order {
        SortOrder::Compat => std_sort(&mut sizes, |a, b| a.size < b.size),
        // The input is in ascending id order, so a stable sort by size is (size, id).
        SortOrder::Canonical => sizes.sort_by_key(|s| s.size),
    }
    sizes
}

fn assign_nodes(
    nodes: &[NodeKey],
    swarms: &mut Swarms,
    rng: &mut Mt19937_64,
    percentile: usize,
    order: SortOrder,
) {
    for node in nodes {
        let sizes = sorted_sizes(swarms, order);
        let Some(last) = sizes.len().checked_sub(1) else { return };
        let percentile_index = percentile * last / 100;
        let Some(percentile_size) = sizes.get(percentile_index).map(|s| s.size) else { return };
        let upper = sizes
            .iter()
            .enumerate()
            .skip(percentile_index)
            .find(|(_, s)| s.size > percentile_size)
            .map_or(last, |(i, _)| i - 1);
        let chosen =
            usize::try_from(uniform(rng, upper as u64 + 1)).ok().and_then(|i| sizes.get(i));
        if let Some(members) = chosen.and_then(|s| swarms.get_mut(&s.id)) {
            members.push(*node);
        }
        create_new_swarms(swarms, rng);
    }
}

/// Recomputes the swarms after a block, as oxend's `calc_swarm_changes`: `swarms` holds the
/// active nodes' swarms (members in ascending key order, as oxend builds them) and, under
/// [`SwarmId::UNASSIGNED`], the nodes that need a swarm; `seed` is the first 8 bytes of the
/// block hash, little-endian.
pub fn calc_swarm_changes(swarms: &mut Swarms, seed: u64, order: SortOrder) {
    if swarms.is_empty() {
        return;
    }
    let mut rng = Mt19937_64::new(seed);
    let unassigned = swarms.remove(&SwarmId::UNASSIGNED).unwrap_or_default();

    // 0. There is always a swarm.
    if swarms.is_empty() {
        swarms.insert(new_swarm_id([]), Vec::new());
    }

    // 1. Newcomers.
    assign_nodes(&unassigned, swarms, &mut rng, FILL_SWARM_LOWER_PERCENTILE, order);

    // 2. Robin Hood: the poor take from the rich, by one snapshot of the sizes.
    let snapshot = sorted_sizes(swarms, order);
    let percentile_index = STEALING_SWARM_UPPER_PERCENTILE * snapshot.len().saturating_sub(1) / 100;
    'round: for poor in &snapshot {
        if poor.size >= MIN_SWARM_SIZE {
            break;
        }
        loop {
            // Only sizes strictly above this count; oxend's size_t arithmetic wraps at 0.
            let threshold = snapshot
                .get(percentile_index)
                .map_or(usize::MAX, |s| s.size.wrapping_sub(1))
                .max(MIN_SWARM_SIZE);
            let pool = ExcessPool::new(threshold, swarms);
            let poor_size = swarms.get(&poor.id).map_or(0, Vec::len);
            let deficit = MIN_SWARM_SIZE.saturating_sub(poor_size);
            if pool.excess < deficit {
                break 'round;
            }
            let Some((node, from)) = pool.pick(swarms, &mut rng) else { break 'round };
            remove_member(swarms, &node, from);
            let Some(poor_members) = swarms.get_mut(&poor.id) else { break 'round };
            poor_members.push(node);
            if poor_members.len() >= MIN_SWARM_SIZE {
                break;
            }
        }
    }

    // 3. New swarms from the excess.
    create_new_swarms(swarms, &mut rng);

    // 4. Dissolve what is still starving, but never the last swarm. oxend checks for more than
    // one swarm only before the loop: when dissolutions leave one swarm that is still starving
    // it dissolves that too and then throws (`std::vector::at` on an empty list of sizes). So on
    // every input oxend completes this gives its result, and on the others no node is lost.
    while swarms.len() > 1 {
        let Some(id) = swarms.iter().find(|(_, m)| m.len() < MIN_SWARM_SIZE).map(|(id, _)| *id)
        else {
            break;
        };
        let members = swarms.remove(&id).unwrap_or_default();
        assign_nodes(
            &members,
            swarms,
            &mut rng,
            DECOMMISSIONED_REDISTRIBUTION_LOWER_PERCENTILE,
            order,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec V1.
    #[test]
    fn new_swarm_ids() {
        let id = |ids: &[u64]| {
            new_swarm_id(ids.iter().map(|i| SwarmId(*i)).collect::<Vec<_>>().iter()).0
        };
        assert_eq!(id(&[]), 0);
        assert_eq!(id(&[0]), 9223372036854775807);
        assert_eq!(id(&[0, (1 << 63) - 1]), 13835058055282163711);
        assert_eq!(id(&[0, (1 << 62) - 1, (1 << 63) - 1]), 13835058055282163711);
        assert_eq!(id(&[100, 200]), 9223372036854775957);
    }

    fn key(k: u8) -> NodeKey {
        NodeKey::from_bytes([k; 32])
    }

    /// Two swarms of 2: oxend dissolves both and throws; here the second keeps all four.
    #[test]
    fn last_swarm_is_never_dissolved() {
        let mut swarms = Swarms::new();
        swarms.insert(SwarmId(10), vec![key(1), key(2)]);
        swarms.insert(SwarmId(20), vec![key(3), key(4)]);
        calc_swarm_changes(&mut swarms, 1, SortOrder::Compat);
        assert_eq!(swarms.len(), 1);
        assert_eq!(swarms.get(&SwarmId(20)).map(Vec::len), Some(4));
    }
}
