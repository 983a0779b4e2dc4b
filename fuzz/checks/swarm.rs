// The checks behind the sesh-swarm fuzz targets. Included (not compiled on its own) by
// `fuzz_targets/swarm_*.rs` and by `crates/sesh-swarm/tests/fuzz_corpus.rs`, which replays the
// committed corpus through the same code on stable Rust.

use std::collections::{BTreeMap, BTreeSet};

use sesh_swarm::{
    MIN_SWARM_SIZE, NodeId, NodeState, SortOrder, SwarmId, SwarmMap, SwarmSpace, Swarms,
    calc_swarm_changes, next,
};

fn node(k: u8, salt: u8) -> NodeId {
    let mut key = [salt; 32];
    key[0] = k;
    NodeId::from_bytes(key)
}

/// A history of blocks read from the bytes, two at a time: `op, arg`. `op % 4`: 0 registers or
/// reactivates node `arg`, 1 decommissions it, 2 removes it, 3 ends the block with seed `arg`
/// (spread over 64 bits). Every block goes through [`next`] in both orders; after each, every
/// active node is in exactly one swarm and no swarm starves while there are enough nodes.
pub fn swarm_history(data: &[u8]) {
    let salt = data.first().copied().unwrap_or(0);
    for order in [SortOrder::Compat, SortOrder::Canonical] {
        let mut states: BTreeMap<NodeId, NodeState> = BTreeMap::new();
        let mut map = SwarmMap::new();
        for pair in data.chunks_exact(2) {
            let (op, arg) = (pair[0], pair[1]);
            let key = node(arg, salt);
            match op % 4 {
                0 => {
                    states.insert(key, NodeState::Active);
                }
                1 => {
                    states.insert(key, NodeState::Decommissioned);
                }
                2 => {
                    states.insert(key, NodeState::Removed);
                }
                _ => {
                    let seed = u64::from(arg).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(op);
                    let transition =
                        next(&map, states.iter().map(|(k, s)| (*k, *s)), seed, order).unwrap();
                    let active: BTreeSet<NodeId> = states
                        .iter()
                        .filter(|(_, s)| **s == NodeState::Active)
                        .map(|(k, _)| *k)
                        .collect();
                    let placed: Vec<NodeId> =
                        transition.map().iter().flat_map(|(_, m)| m.iter().copied()).collect();
                    assert_eq!(placed.len(), active.len());
                    assert_eq!(placed.into_iter().collect::<BTreeSet<_>>(), active);
                    if active.len() >= MIN_SWARM_SIZE {
                        assert!(transition.map().iter().all(|(_, m)| m.len() >= MIN_SWARM_SIZE));
                    }
                    map = transition.into_map();
                }
            }
        }
    }
}

/// `calc_swarm_changes` on an arbitrary input map (any ids, empty swarms, a node in several
/// swarms or twice in one): never a panic. With distinct nodes, none is lost or duplicated.
/// Layout: 8-byte seed, then per swarm a 1-byte id selector, a 1-byte count, and that many
/// node bytes.
pub fn swarm_calc(data: &[u8]) {
    let Some((seed, mut rest)) = data.split_first_chunk::<8>() else { return };
    let seed = u64::from_le_bytes(*seed);
    let mut swarms = Swarms::new();
    while let [selector, count, tail @ ..] = rest {
        let id = match selector % 5 {
            0 => SwarmId::UNASSIGNED,
            1 => SwarmId::MAX,
            2 => SwarmId::new(u64::from(*selector)).unwrap_or(SwarmId::MAX),
            3 => SwarmId::new(u64::MAX - 1 - u64::from(*selector)).unwrap_or(SwarmId::MAX),
            _ => SwarmId::new(u64::from(*selector) << 56).unwrap_or(SwarmId::MAX),
        };
        let take = usize::from(*count % 64).min(tail.len());
        let (members, after) = tail.split_at(take);
        swarms.entry(id).or_default().extend(members.iter().map(|k| node(*k, 0)));
        rest = after;
    }
    let all: Vec<NodeId> = swarms.values().flatten().copied().collect();
    let distinct = all.iter().collect::<BTreeSet<_>>().len() == all.len();
    for order in [SortOrder::Compat, SortOrder::Canonical] {
        let mut out = swarms.clone();
        calc_swarm_changes(&mut out, seed, order);
        if distinct {
            let mut before = all.clone();
            let mut after: Vec<NodeId> = out.values().flatten().copied().collect();
            before.sort();
            after.sort();
            assert_eq!(before, after);
            assert!(!out.contains_key(&SwarmId::UNASSIGNED));
        }
    }
}

/// The text and byte parsers (node keys, swarm ids, account ids): no panic, and what
/// parses prints back to something that parses to the same value.
pub fn swarm_parse(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(key) = text.parse::<NodeId>() {
        assert_eq!(key.to_string().parse::<NodeId>().ok(), Some(key));
    }
    if let Ok(id) = text.parse::<SwarmId>() {
        assert_eq!(id.to_string().parse::<SwarmId>().ok(), Some(id));
    }
    let _ = text.parse::<SwarmSpace>();
    let _ = SwarmSpace::from_account_bytes(data);
    let _ = NodeId::try_from(data);
}
