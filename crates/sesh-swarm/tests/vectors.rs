//! Cross-implementation vectors from oxend and the storage server (see
//! `testdata/vectors/oxen/README.md`): every record of `swarm_space.jsonl` and
//! `swarm_changes.jsonl`, and the block-by-block replay of `swarm_chain.jsonl`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sesh_swarm::{
    NodeId, NodeState, SortOrder, SwarmId, SwarmIds, SwarmMap, SwarmSpace, Swarms,
    calc_swarm_changes, next, seed_from_block_hash,
};
use sesh_testkit::{Tally, expect_eq, field, hex_array, records, str_field};

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn u64_string(v: &Value, path: &str) -> Result<u64, String> {
    str_field(v, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn keys(v: &Value, path: &str) -> Result<Vec<NodeId>, String> {
    field(v, path)?
        .as_array()
        .ok_or_else(|| format!("{path} is not an array"))?
        .iter()
        .map(|k| k.as_str().ok_or("key is not a string".to_owned())?.parse().map_err(err))
        .collect()
}

/// A swarm map as the vectors write it: `{id: [key, …]}`, member order kept.
fn swarms(v: &Value, path: &str) -> Result<Swarms, String> {
    field(v, path)?
        .as_object()
        .ok_or_else(|| format!("{path} is not an object"))?
        .iter()
        .map(|(id, members)| {
            let id: SwarmId = id.parse().map_err(err)?;
            let members = members
                .as_array()
                .ok_or("members are not an array")?
                .iter()
                .map(|k| k.as_str().ok_or("key is not a string".to_owned())?.parse().map_err(err))
                .collect::<Result<Vec<NodeId>, String>>()?;
            Ok((id, members))
        })
        .collect()
}

/// `map` rebuilt as oxend does before each block: members in key order.
fn rebuilt(map: &Swarms) -> Swarms {
    map.iter()
        .filter(|(_, m)| !m.is_empty())
        .map(|(id, m)| {
            let mut m = m.clone();
            m.sort();
            (*id, m)
        })
        .collect()
}

fn with_newcomers(mut map: Swarms, newcomers: Vec<NodeId>) -> Swarms {
    if !newcomers.is_empty() {
        map.insert(SwarmId::UNASSIGNED, newcomers);
    }
    map
}

fn run(mut input: Swarms, seed: u64, order: SortOrder) -> Swarms {
    calc_swarm_changes(&mut input, seed, order);
    input
}

#[test]
fn swarm_space() {
    let mut tally = Tally::new("swarm_space.jsonl");
    for record in records("oxen/swarm_space.jsonl") {
        tally.check(&record, |r| {
            let id: [u8; 33] = hex_array(r, "pubkey_hex")?;
            let space = SwarmSpace::of_account(&id);
            expect_eq("swarm space", space.get(), u64_string(r, "swarm_space_u64")?)?;
            expect_eq(
                "parsed",
                str_field(r, "pubkey_hex")?.parse::<SwarmSpace>().map_err(err)?,
                space,
            )?;
            let ids = field(r, "swarm_ids")?
                .as_array()
                .ok_or("swarm_ids is not an array")?
                .iter()
                .map(|id| id.as_str().ok_or("id is not a string".to_owned())?.parse().map_err(err))
                .collect::<Result<Vec<SwarmId>, String>>()?;
            let want = u64_string(r, "chosen_swarm_id")?;
            let set = SwarmIds::new(ids.iter().copied());
            expect_eq("chosen swarm", set.nearest(space).map(SwarmId::get), Some(want))?;
            // The same through a map with one node per swarm.
            let map = SwarmMap::from_assignments(ids.iter().enumerate().map(|(i, id)| {
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&(i as u64).to_be_bytes());
                (NodeId::from_bytes(key), *id)
            }))
            .map_err(err)?;
            expect_eq("map lookup", map.swarm_for(space).map(SwarmId::get), Some(want))
        });
    }
    tally.finish();
}

/// Every record in Compat (oxend's exact output), and in Canonical against the stable-sort
/// result where the record gives one (or where the order makes no difference).
#[test]
fn swarm_changes() {
    let mut tally = Tally::new("swarm_changes.jsonl");
    for record in records("oxen/swarm_changes.jsonl") {
        tally.check(&record, |r| {
            let input = with_newcomers(swarms(r, "before")?, keys(r, "unassigned")?);
            let seed = u64_string(r, "seed")?;
            expect_eq(
                "after (Compat)",
                run(input.clone(), seed, SortOrder::Compat),
                swarms(r, "after")?,
            )?;
            let stable = if r.get("after_stable_sort").is_some() {
                swarms(r, "after_stable_sort")?
            } else if r.get("sort_sensitive") == Some(&Value::Bool(false)) {
                swarms(r, "after")?
            } else {
                return Err("sort-sensitive record without after_stable_sort".into());
            };
            expect_eq("after (Canonical)", run(input, seed, SortOrder::Canonical), stable)
        });
    }
    tally.finish();
}

/// Each block from the recorded previous block, as the README's replay rule says, so that one
/// bad block does not hide the others; in Compat every block, in Canonical the blocks that are
/// not sort-sensitive.
#[test]
fn swarm_chain_blocks() {
    let chain = records("oxen/swarm_chain.jsonl");
    let mut tally = Tally::new("swarm_chain.jsonl");
    let mut previous = Swarms::new();
    for (expected_block, record) in (1u64..).zip(&chain) {
        let input = (|| {
            expect_eq("block number", field(record, "block")?.as_u64(), Some(expected_block))?;
            let hash: [u8; 32] = hex_array(record, "block_hash")?;
            let seed = u64_string(record, "seed")?;
            expect_eq("seed from block hash", seed_from_block_hash(&hash), seed)?;
            let leaves: BTreeSet<NodeId> = keys(record, "leaves")?.into_iter().collect();
            let mut map = previous.clone();
            for members in map.values_mut() {
                members.retain(|m| !leaves.contains(m));
            }
            Ok::<_, String>((with_newcomers(rebuilt(&map), keys(record, "joins")?), seed))
        })();
        tally.check(record, |r| {
            let (input, seed) = input?;
            let want = swarms(r, "after")?;
            expect_eq("after (Compat)", run(input.clone(), seed, SortOrder::Compat), want.clone())?;
            if r.get("sort_sensitive") == Some(&Value::Bool(false)) {
                expect_eq("after (Canonical)", run(input, seed, SortOrder::Canonical), want)?;
            }
            Ok(())
        });
        previous = swarms(record, "after").unwrap_or_default();
    }
    tally.finish();
}

/// The whole chain carried forward through [`next`] with our own state, from node states alone
/// (joins active, leaves removed or decommissioned): every block's membership must match.
#[test]
fn swarm_chain_through_next() {
    let mut map = SwarmMap::new();
    let mut states: BTreeMap<NodeId, NodeState> = BTreeMap::new();
    let mut blocks = 0;
    for record in records("oxen/swarm_chain.jsonl") {
        for node in keys(&record, "leaves").unwrap() {
            states.insert(node, NodeState::Decommissioned);
        }
        for node in keys(&record, "joins").unwrap() {
            states.insert(node, NodeState::Active);
        }
        let seed = u64_string(&record, "seed").unwrap();
        let transition =
            next(&map, states.iter().map(|(k, s)| (*k, *s)), seed, SortOrder::Compat).unwrap();
        let want = swarms(&record, "after").unwrap();
        let got: Swarms = transition.map().iter().map(|(id, m)| (id, m.to_vec())).collect();
        assert_eq!(got, rebuilt(&want), "block {}", record["block"]);
        // Every change is real and every real change is listed.
        for change in transition.changes() {
            let node = change.node();
            assert_ne!(map.swarm_of(&node), transition.map().swarm_of(&node));
        }
        let changed = map
            .assignments()
            .map(|(n, _)| n)
            .chain(transition.map().assignments().map(|(n, _)| n))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|n| map.swarm_of(n) != transition.map().swarm_of(n))
            .count();
        assert_eq!(changed, transition.changes().len());
        map = transition.into_map();
        blocks += 1;
    }
    assert!(blocks > 0);
}
