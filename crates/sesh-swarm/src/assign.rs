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

use crate::map::{NodeId, SwarmId};
use crate::rng::{Mt19937_64, uniform};
use crate::sort::std_sort_window;

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
pub type Swarms = BTreeMap<SwarmId, Vec<NodeId>>;

/// The id for a new swarm, given the existing ids: halfway across the largest gap (the first of
/// equal gaps), where the gap from the largest id back round to the smallest counts too
/// ([`SwarmId::MAX`] and 0 are one apart). Without ids, 0. The ids may come in any order.
pub fn new_swarm_id<'a>(ids: impl IntoIterator<Item = &'a SwarmId>) -> SwarmId {
    let mut ids: Vec<u64> = ids.into_iter().map(|id| id.0).collect();
    ids.sort_unstable();
    ids.dedup();
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

/// The map while the algorithm works on it: ids ascending, and each swarm's members, side by
/// side in flat vectors so that the scans the algorithm repeats after every move (sizes, excess,
/// starving swarms) run over contiguous memory. Converted from and back to [`Swarms`] once per
/// call.
struct Work {
    ids: Vec<SwarmId>,
    members: Vec<Vec<NodeId>>,
}

impl Work {
    fn from_swarms(swarms: Swarms) -> Self {
        let (ids, members) = swarms.into_iter().unzip();
        Self { ids, members }
    }

    fn into_swarms(self) -> Swarms {
        self.ids.into_iter().zip(self.members).collect()
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.members.iter().map(Vec::len)
    }

    fn has_starving(&self) -> bool {
        self.sizes().any(|size| size < MIN_SWARM_SIZE)
    }

    /// Members above [`EXCESS_BASE`], summed over all swarms.
    fn excess(&self) -> usize {
        self.sizes().map(|size| size.saturating_sub(EXCESS_BASE)).sum()
    }

    /// The excess at which a new swarm is split off.
    fn threshold(&self) -> usize {
        NEW_SWARM_SIZE + self.len() * IDEAL_SWARM_MARGIN
    }

    /// Adds a swarm; `false` (and the members dropped, as in oxend) if the id is taken.
    fn insert(&mut self, id: SwarmId, members: Vec<NodeId>) -> bool {
        match self.ids.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.ids.insert(at, id);
                self.members.insert(at, members);
                true
            }
        }
    }

    fn remove(&mut self, at: usize) -> Vec<NodeId> {
        self.ids.remove(at);
        self.members.remove(at)
    }

    /// Takes `node` out of swarm `at` (every copy, like oxend's erase-remove).
    fn take(&mut self, at: usize, node: &NodeId) {
        if let Some(members) = self.members.get_mut(at) {
            members.retain(|m| m != node);
        }
    }
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
    fn new(threshold: usize, work: &Work) -> Self {
        let mut pool = Self { threshold, members: 0, excess: 0 };
        if threshold < MIN_SWARM_SIZE {
            return pool;
        }
        for size in work.sizes().filter(|size| *size > threshold) {
            pool.members += size;
            pool.excess += size - MIN_SWARM_SIZE;
        }
        pool
    }

    /// Draws `pool[uniform(rng, len)]`: the member and the position of its swarm. `None` (and no
    /// draw) if the pool is empty.
    fn pick(self, work: &Work, rng: &mut Mt19937_64) -> Option<(NodeId, usize)> {
        if self.members == 0 {
            return None;
        }
        let mut index = usize::try_from(uniform(rng, self.members as u64)).ok()?;
        for (at, members) in work.members.iter().enumerate() {
            if members.len() <= self.threshold {
                continue;
            }
            match members.get(index) {
                Some(node) => return Some((*node, at)),
                None => index -= members.len(),
            }
        }
        None
    }
}

fn create_new_swarms(work: &mut Work, rng: &mut Mt19937_64) {
    if work.has_starving() {
        return;
    }
    while work.excess() >= work.threshold() {
        let mut members = Vec::with_capacity(NEW_SWARM_SIZE);
        while members.len() < NEW_SWARM_SIZE {
            let Some((node, from)) = ExcessPool::new(EXCESS_BASE, work).pick(work, rng) else {
                return; // oxend logs "Error while getting excess pool" and gives up
            };
            members.push(node);
            work.take(from, &node);
        }
        // oxend only logs a collision (which would need ids one apart all round the circle); the
        // members taken for the new swarm are then lost, as there.
        let id = new_swarm_id(&work.ids);
        work.insert(id, members);
    }
}

/// The swarms ranked by size, as oxend's `calc_swarm_sizes` sorts them, answering only the
/// questions the algorithm asks of that order (the size at a rank, how many swarms are no larger
/// than a size, the swarm at a rank) in `O(S)`, rather than by a full `O(S log S)` sort each
/// time.
///
/// Entries are packed `size << 32 | position`, so that comparing sizes is comparing high halves
/// and the whole value is the (size, id) order.
#[derive(Default)]
struct Ranking {
    packed: Vec<u64>,
    /// `histogram[size]`: how many swarms have that size. Sizes above [`Self::DENSE`] are counted
    /// in `large` instead.
    histogram: Vec<usize>,
    large: BTreeMap<usize, usize>,
}

impl Ranking {
    /// Sizes up to this are counted in a flat histogram.
    const DENSE: usize = 256;

    fn fill(&mut self, work: &Work) {
        self.packed.clear();
        self.histogram.clear();
        self.histogram.resize(Self::DENSE + 1, 0);
        self.large.clear();
        for (position, size) in work.sizes().enumerate() {
            let packed_size = u32::try_from(size).unwrap_or(u32::MAX);
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            self.packed.push(u64::from(packed_size) << 32 | u64::from(position));
            match self.histogram.get_mut(size) {
                Some(count) => *count += 1,
                None => *self.large.entry(size).or_insert(0) += 1,
            }
        }
    }

    fn len(&self) -> usize {
        self.packed.len()
    }

    fn size_of(entry: u64) -> usize {
        (entry >> 32) as usize
    }

    fn position_of(entry: u64) -> usize {
        (entry & 0xffff_ffff) as usize
    }

    /// (size, how many swarms have it), ascending.
    fn classes(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let dense = self.histogram.iter().enumerate().filter(|(_, c)| **c > 0);
        dense.map(|(size, count)| (size, *count)).chain(self.large.iter().map(|(s, c)| (*s, *c)))
    }

    /// The size at `rank` in size order, and how many swarms are smaller (the same for any
    /// order of ties).
    fn size_at(&self, rank: usize) -> Option<(usize, usize)> {
        let mut below = 0;
        for (size, count) in self.classes() {
            if rank < below + count {
                return Some((size, below));
            }
            below += count;
        }
        None
    }

    /// How many swarms have at most `size` members.
    fn count_at_most(&self, size: usize) -> usize {
        self.classes().take_while(|(s, _)| *s <= size).map(|(_, count)| count).sum()
    }

    /// The position of the swarm at `rank` of the size order, ties ordered by `order`. In
    /// `Compat` this replays libstdc++'s sort on the array as filled: call it at most once per
    /// [`fill`](Self::fill).
    fn swarm_at(&mut self, rank: usize, order: SortOrder) -> Option<usize> {
        match order {
            SortOrder::Compat => {
                std_sort_window(&mut self.packed, rank..rank + 1, |a, b| (a >> 32) < (b >> 32));
                self.packed.get(rank).map(|e| Self::position_of(*e))
            }
            SortOrder::Canonical => {
                // Ties in id order: the rank's size class, then the n-th swarm of that size.
                let (size, below) = self.size_at(rank)?;
                let mut of_size = self.packed.iter().filter(|e| Self::size_of(**e) == size);
                of_size.nth(rank - below).map(|e| Self::position_of(*e))
            }
        }
    }

    /// The positions of the swarms of the first `count` ranks, in rank order. Call at most once
    /// per [`fill`](Self::fill).
    fn first(&mut self, count: usize, order: SortOrder) -> Vec<usize> {
        let count = count.min(self.len());
        match order {
            SortOrder::Compat => {
                std_sort_window(&mut self.packed, 0..count, |a, b| (a >> 32) < (b >> 32));
            }
            SortOrder::Canonical => {
                if count < self.len() {
                    self.packed.select_nth_unstable(count);
                }
                if let Some(head) = self.packed.get_mut(..count) {
                    head.sort_unstable();
                }
            }
        }
        self.packed.iter().take(count).map(|e| Self::position_of(*e)).collect()
    }
}

fn assign_nodes(
    nodes: &[NodeId],
    work: &mut Work,
    rng: &mut Mt19937_64,
    percentile: usize,
    order: SortOrder,
    ranking: &mut Ranking,
) {
    for node in nodes {
        ranking.fill(work);
        let Some(last) = ranking.len().checked_sub(1) else { return };
        let percentile_index = percentile * last / 100;
        let Some((percentile_size, _)) = ranking.size_at(percentile_index) else { return };
        // The last rank holding that size: in size order, everything up to it is no larger.
        let upper = ranking.count_at_most(percentile_size).saturating_sub(1);
        let rank = usize::try_from(uniform(rng, upper as u64 + 1)).unwrap_or(upper);
        let chosen = ranking.swarm_at(rank, order);
        if let Some(members) = chosen.and_then(|at| work.members.get_mut(at)) {
            members.push(*node);
        }
        create_new_swarms(work, rng);
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
    let mut work = Work::from_swarms(core::mem::take(swarms));
    let mut ranking = Ranking::default();

    // 0. There is always a swarm.
    if work.len() == 0 {
        work.insert(new_swarm_id([]), Vec::new());
    }

    // 1. Newcomers.
    assign_nodes(
        &unassigned,
        &mut work,
        &mut rng,
        FILL_SWARM_LOWER_PERCENTILE,
        order,
        &mut ranking,
    );

    // 2. Robin Hood: the poor take from the rich, by one snapshot of the sizes. Only the
    // starving swarms (the first ranks) are visited, so only their ranks are sorted. No swarm is
    // added or removed in this step, so positions stay valid.
    ranking.fill(&work);
    let percentile_index = STEALING_SWARM_UPPER_PERCENTILE * ranking.len().saturating_sub(1) / 100;
    // Only sizes strictly above this count; oxend's size_t arithmetic wraps at 0.
    let threshold = ranking
        .size_at(percentile_index)
        .map_or(usize::MAX, |(size, _)| size.wrapping_sub(1))
        .max(MIN_SWARM_SIZE);
    let starving = ranking.count_at_most(MIN_SWARM_SIZE - 1);
    'round: for poor in ranking.first(starving, order) {
        loop {
            let pool = ExcessPool::new(threshold, &work);
            let poor_size = work.members.get(poor).map_or(0, Vec::len);
            let deficit = MIN_SWARM_SIZE.saturating_sub(poor_size);
            if pool.excess < deficit {
                break 'round;
            }
            let Some((node, from)) = pool.pick(&work, &mut rng) else { break 'round };
            work.take(from, &node);
            let Some(poor_members) = work.members.get_mut(poor) else { break 'round };
            poor_members.push(node);
            if poor_members.len() >= MIN_SWARM_SIZE {
                break;
            }
        }
    }

    // 3. New swarms from the excess.
    create_new_swarms(&mut work, &mut rng);

    // 4. Dissolve what is still starving, but never the last swarm. oxend checks for more than
    // one swarm only before the loop: when dissolutions leave one swarm that is still starving
    // it dissolves that too and then throws (`std::vector::at` on an empty list of sizes). So on
    // every input oxend completes this gives its result, and on the others no node is lost.
    while work.len() > 1 {
        let Some(at) = work.sizes().position(|size| size < MIN_SWARM_SIZE) else { break };
        let members = work.remove(at);
        assign_nodes(
            &members,
            &mut work,
            &mut rng,
            DECOMMISSIONED_REDISTRIBUTION_LOWER_PERCENTILE,
            order,
            &mut ranking,
        );
    }

    *swarms = work.into_swarms();
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

    fn key(k: u8) -> NodeId {
        NodeId::from_bytes([k; 32])
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
