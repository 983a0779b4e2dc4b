//! Measurements of a swarm map, for research and monitoring: how big swarms are, and how much of
//! a swarm one operator controls (the swarm's messages are only as safe as its most common
//! operator is honest).
//!
//! ```
//! use sesh_swarm::analysis::{largest_operator_shares, size_histogram};
//! use sesh_swarm::{NodeId, SwarmId, SwarmMap};
//!
//! let node = |k: u8| NodeId::from_bytes([k; 32]);
//! let map = SwarmMap::from_assignments(
//!     (0..12).map(|k| (node(k), SwarmId::new(u64::from(k % 2)).unwrap())),
//! )?;
//! assert_eq!(size_histogram(&map).into_iter().collect::<Vec<_>>(), [(6, 2)]);
//!
//! // Operator "a" runs nodes 0..4, the rest run one node each.
//! let shares = largest_operator_shares(&map, |n| (n.as_bytes()[0] < 4).then_some("a"));
//! assert_eq!((shares[0].held, shares[0].size), (2, 6)); // nodes 0 and 2 in swarm 0
//! # Ok::<(), sesh_swarm::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::map::{NodeId, SwarmId, SwarmMap};

/// Swarm size → number of swarms of that size.
pub fn size_histogram(map: &SwarmMap) -> BTreeMap<usize, usize> {
    let mut histogram = BTreeMap::new();
    for (_, members) in map.iter() {
        *histogram.entry(members.len()).or_insert(0) += 1;
    }
    histogram
}

/// The largest share of one swarm held by a single operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorShare<O> {
    /// The swarm.
    pub swarm: SwarmId,
    /// The operator holding the most nodes in it (the least by `Ord` among equals), or `None`
    /// when no member has a known operator.
    pub operator: Option<O>,
    /// How many of the swarm's nodes that operator runs (1 when no operator is known: every
    /// unlabelled node counts as its own operator).
    pub held: usize,
    /// The swarm's size.
    pub size: usize,
}

impl<O> OperatorShare<O> {
    /// `held / size`, from 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.size == 0 { 0.0 } else { self.held as f64 / self.size as f64 }
    }
}

/// For every swarm (in id order), the operator with the most nodes in it. `operator_of` labels
/// nodes (by staking address, operator key, IP range, …); unlabelled nodes each count as their
/// own operator.
pub fn largest_operator_shares<O: Ord + Clone>(
    map: &SwarmMap,
    mut operator_of: impl FnMut(&NodeId) -> Option<O>,
) -> Vec<OperatorShare<O>> {
    map.iter()
        .map(|(swarm, members)| {
            let mut counts: BTreeMap<O, usize> = BTreeMap::new();
            for node in members {
                if let Some(operator) = operator_of(node) {
                    *counts.entry(operator).or_insert(0) += 1;
                }
            }
            // First maximum in operator order.
            let best =
                counts.into_iter().fold(None, |best: Option<(O, usize)>, (op, n)| match best {
                    Some((_, b)) if b >= n => best,
                    _ => Some((op, n)),
                });
            match best {
                Some((operator, held)) => {
                    OperatorShare { swarm, operator: Some(operator), held, size: members.len() }
                }
                None => OperatorShare {
                    swarm,
                    operator: None,
                    held: usize::from(!members.is_empty()),
                    size: members.len(),
                },
            }
        })
        .collect()
}
