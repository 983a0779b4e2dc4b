//! Invariants of assignment over random histories of joins, departures and recommissions, and of
//! lookup against a brute-force scan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use sesh_swarm::{
    Change, MIN_SWARM_SIZE, NodeId, NodeState, SortOrder, SwarmId, SwarmIds, SwarmMap, SwarmSpace,
    next,
};

/// One block: how many nodes register, which active nodes leave (as fractions of the active
/// list), which departed nodes come back, and the seed.
#[derive(Clone, Debug)]
struct Block {
    joins: usize,
    leaves: Vec<prop::sample::Index>,
    returns: Vec<prop::sample::Index>,
    decommission: bool,
    seed: u64,
}

fn block() -> impl Strategy<Value = Block> {
    (
        prop_oneof![3 => 0usize..4, 1 => 0usize..40],
        prop_oneof![
            3 => prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            1 => prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        ],
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(joins, leaves, returns, decommission, seed)| Block {
            joins,
            leaves,
            returns,
            decommission,
            seed,
        })
}

fn order() -> impl Strategy<Value = SortOrder> {
    prop_oneof![Just(SortOrder::Compat), Just(SortOrder::Canonical)]
}

fn key(k: u32, salt: u64) -> NodeId {
    // Spread keys over the key space; `salt` varies the key order between cases.
    let mut bytes = [0u8; 32];
    let mixed = u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    bytes[..8].copy_from_slice(&mixed.to_be_bytes());
    bytes[8..12].copy_from_slice(&k.to_be_bytes());
    NodeId::from_bytes(bytes)
}

/// Applies the blocks through [`next`], checking every invariant after each.
fn check_history(blocks: &[Block], order: SortOrder, salt: u64) -> Result<(), TestCaseError> {
    let mut states: BTreeMap<NodeId, NodeState> = BTreeMap::new();
    let mut map = SwarmMap::new();
    let mut registered = 0u32;
    for block in blocks {
        let active: Vec<NodeId> =
            states.iter().filter(|(_, s)| **s == NodeState::Active).map(|(k, _)| *k).collect();
        let departed: Vec<NodeId> = states
            .iter()
            .filter(|(_, s)| **s == NodeState::Decommissioned)
            .map(|(k, _)| *k)
            .collect();
        if !active.is_empty() {
            for leave in &block.leaves {
                let node = *leave.get(&active);
                let state =
                    if block.decommission { NodeState::Decommissioned } else { NodeState::Removed };
                states.insert(node, state);
            }
        }
        if !departed.is_empty() {
            for back in &block.returns {
                states.insert(*back.get(&departed), NodeState::Active);
            }
        }
        for _ in 0..block.joins {
            states.insert(key(registered, salt), NodeState::Active);
            registered += 1;
        }

        let transition =
            next(&map, states.iter().map(|(k, s)| (*k, *s)), block.seed, order).unwrap();
        let after = transition.map();

        // Every active node is in exactly one swarm, and nothing else is.
        let active: BTreeSet<NodeId> =
            states.iter().filter(|(_, s)| **s == NodeState::Active).map(|(k, _)| *k).collect();
        let placed: Vec<NodeId> = after.iter().flat_map(|(_, m)| m.iter().copied()).collect();
        prop_assert_eq!(placed.len(), active.len(), "a node is in two swarms or none");
        prop_assert_eq!(placed.iter().copied().collect::<BTreeSet<_>>(), active.clone());

        // No starving swarm while there are enough nodes to avoid one.
        if active.len() >= MIN_SWARM_SIZE {
            for (id, members) in after.iter() {
                prop_assert!(members.len() >= MIN_SWARM_SIZE, "swarm {} has {}", id, members.len());
            }
        }

        // The result depends only on (input, seed): the order nodes are listed in is irrelevant.
        let shuffled: Vec<(NodeId, NodeState)> = states
            .iter()
            .rev()
            .map(|(k, s)| (*k, *s))
            .collect::<Vec<_>>()
            .chunks(3)
            .rev()
            .flatten()
            .copied()
            .collect();
        let again = next(&map, shuffled, block.seed, order).unwrap();
        prop_assert_eq!(&again, &transition);

        // Changes list exactly the nodes whose swarm differs.
        for change in transition.changes() {
            let node = change.node();
            match *change {
                Change::Joined { swarm, .. } => {
                    prop_assert_eq!(map.swarm_of(&node), None);
                    prop_assert_eq!(after.swarm_of(&node), Some(swarm));
                }
                Change::Left { swarm, .. } => {
                    prop_assert_eq!(map.swarm_of(&node), Some(swarm));
                    prop_assert_eq!(after.swarm_of(&node), None);
                }
                Change::Moved { from, to, .. } => {
                    prop_assert_ne!(from, to);
                    prop_assert_eq!(map.swarm_of(&node), Some(from));
                    prop_assert_eq!(after.swarm_of(&node), Some(to));
                }
            }
        }
        let differing = map
            .assignments()
            .map(|(n, _)| n)
            .chain(after.assignments().map(|(n, _)| n))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|n| map.swarm_of(n) != after.swarm_of(n))
            .count();
        prop_assert_eq!(differing, transition.changes().len());

        map = transition.into_map();
    }
    Ok(())
}

/// The nearest swarm by scanning every id: `right` has the least clockwise distance, `left` the
/// least counter-clockwise distance among the others; `right` wins only if strictly closer.
fn brute_force(ids: &[SwarmId], space: u64) -> Option<SwarmId> {
    if ids.len() <= 1 {
        return ids.first().copied();
    }
    let right = *ids.iter().min_by_key(|id| id.get().wrapping_sub(space))?;
    let left =
        *ids.iter().filter(|id| **id != right).min_by_key(|id| space.wrapping_sub(id.get()))?;
    Some(if right.get().wrapping_sub(space) < space.wrapping_sub(left.get()) {
        right
    } else {
        left
    })
}

fn swarm_id() -> impl Strategy<Value = SwarmId> {
    prop_oneof![
        any::<u64>(),
        0u64..8,
        (u64::MAX - 8)..u64::MAX,
        (1u64 << 63) - 4..(1u64 << 63) + 4,
    ]
    .prop_filter_map("the unassigned marker is not a swarm", |id| SwarmId::new(id).ok())
}

fn space() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..8,
        (u64::MAX - 8)..=u64::MAX,
        (1u64 << 63) - 4..(1u64 << 63) + 4
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn assignment_invariants(
        blocks in prop::collection::vec(block(), 1..40),
        order in order(),
        salt in any::<u64>(),
    ) {
        check_history(&blocks, order, salt)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn lookup_matches_brute_force(
        ids in prop::collection::vec(swarm_id(), 0..40),
        spaces in prop::collection::vec(space(), 1..16),
    ) {
        let set = SwarmIds::new(ids.iter().copied());
        let unique: Vec<SwarmId> = set.as_slice().to_vec();
        let map = SwarmMap::from_assignments(
            unique.iter().enumerate().map(|(i, id)| (NodeId::from_bytes([i as u8; 32]), *id)),
        )
        .unwrap();
        for space in spaces {
            let want = brute_force(&unique, space);
            prop_assert_eq!(set.nearest(SwarmSpace::from_u64(space)), want);
            prop_assert_eq!(map.swarm_for(SwarmSpace::from_u64(space)), want);
        }
    }

    #[test]
    fn node_key_order_is_byte_order(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), common in 0usize..32) {
        // Share a prefix often, so that later bytes decide.
        let mut b = b;
        b[..common].copy_from_slice(&a[..common]);
        prop_assert_eq!(NodeId::from_bytes(a).cmp(&NodeId::from_bytes(b)), a.cmp(&b));
    }

    #[test]
    fn space_of_account_ignores_the_prefix(key in any::<[u8; 32]>(), prefix in any::<u8>()) {
        let mut id = [prefix; 33];
        id[1..].copy_from_slice(&key);
        let space = SwarmSpace::of_account(&id);
        prop_assert_eq!(space, SwarmSpace::of_key(&key));
        prop_assert_eq!(SwarmSpace::from_account_bytes(&id).unwrap(), space);
        prop_assert_eq!(SwarmSpace::from_account_bytes(&key).unwrap(), space);
        let words = key.chunks(8).map(|w| u64::from_be_bytes(w.try_into().unwrap()));
        prop_assert_eq!(space.get(), words.fold(0, |a, w| a ^ w));
    }
}
