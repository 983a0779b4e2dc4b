//! Every record of `oxen/storage_tests.jsonl` (see `testdata/vectors/oxen/README-quorums.md`
//! §2): the storage server's `derive_tester_testee`, compiled unchanged. Each record is checked
//! three ways: the members as given (key order), the members reversed, and the swarm as a
//! `SwarmMap` through `storage_test_pairs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use sesh_identity::NodeId;
use sesh_quorum::rng::storage_test_seed;
use sesh_quorum::{BlockHash, storage_test_pair, storage_test_pairs};
use sesh_swarm::{SwarmId, SwarmMap};
use sesh_testkit::{Tally, expect_eq, field, str_field};

const FILE: &str = "storage_tests.jsonl";

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn node(v: &Value) -> Result<NodeId, String> {
    v.as_str().ok_or_else(|| format!("not a key: {v}"))?.parse().map_err(err)
}

fn check(r: &Value) -> Result<(), String> {
    let hash: BlockHash = str_field(r, "block_hash")?.parse().map_err(err)?;
    let seed: u64 = str_field(r, "seed")?.parse().map_err(err)?;
    expect_eq("seed", storage_test_seed(&hash), seed)?;
    let members = field(r, "members")?
        .as_array()
        .ok_or("members is not an array")?
        .iter()
        .map(node)
        .collect::<Result<Vec<_>, String>>()?;

    let expected = field(r, "expected")?;
    let want = if expected.is_null() {
        None
    } else {
        let tester = node(field(expected, "tester")?)?;
        let testee = node(field(expected, "testee")?)?;
        for (who, id, path) in
            [("tester", tester, "tester_index"), ("testee", testee, "testee_index")]
        {
            let index = field(expected, path)?.as_u64().ok_or("index is not an integer")?;
            expect_eq(
                &format!("{who} index"),
                members.iter().position(|m| *m == id),
                usize::try_from(index).ok(),
            )?;
        }
        Some((tester, testee))
    };

    let pair = |test: sesh_quorum::StorageTest| (*test.tester(), *test.testee());
    let got = storage_test_pair(&members, &hash).map_err(err)?.map(pair);
    expect_eq("pair", got, want)?;

    let mut reversed = members.clone();
    reversed.reverse();
    let got = storage_test_pair(&reversed, &hash).map_err(err)?.map(pair);
    expect_eq("pair from the members reversed", got, want)?;

    let swarm = SwarmId::new(7).map_err(err)?;
    let map = SwarmMap::from_assignments(members.iter().map(|m| (*m, swarm))).map_err(err)?;
    let got: Vec<_> = storage_test_pairs(&map, &hash).map(|(id, test)| (id, pair(test))).collect();
    expect_eq("pairs of the swarm map", got, want.map(|p| (swarm, p)).into_iter().collect())
}

#[test]
fn storage_tests() {
    let mut tally = Tally::new(FILE);
    for record in sesh_testkit::records(&format!("oxen/{FILE}")) {
        tally.check(&record, check);
    }
    tally.finish();
}

mod props {
    use proptest::prelude::*;
    use sesh_identity::NodeId;
    use sesh_quorum::{BlockHash, Error, storage_test_pair, storage_test_pairs};
    use sesh_swarm::{SwarmId, SwarmMap};

    proptest! {
        /// A whole map's pairs (drawn from one shared sequence) are each swarm's own pair.
        #[test]
        fn a_map_s_pairs_are_each_swarm_s(
            nodes in prop::collection::btree_map(any::<[u8; 32]>(), 0u64..40, 0..300),
            hash in any::<[u8; 32]>(),
        ) {
            let hash = BlockHash::from_bytes(hash);
            let map = SwarmMap::from_assignments(
                nodes.iter().map(|(k, s)| (NodeId::from_bytes(*k), SwarmId::new(*s).unwrap())),
            )
            .unwrap();
            let pairs: Vec<_> = storage_test_pairs(&map, &hash).collect();
            let each: Vec<_> = map
                .iter()
                .filter_map(|(id, members)| Some((id, storage_test_pair(members, &hash).unwrap()?)))
                .collect();
            prop_assert_eq!(pairs, each);
        }

        /// Two different members, the same pair for any order of the members, and a refusal
        /// for a member listed twice.
        #[test]
        fn a_pair_is_two_members_in_any_order(
            members in prop::collection::btree_set(any::<[u8; 32]>(), 0..40),
            hash in any::<[u8; 32]>(),
            rotate in any::<prop::sample::Index>(),
        ) {
            let members: Vec<NodeId> = members.into_iter().map(NodeId::from_bytes).collect();
            let hash = BlockHash::from_bytes(hash);
            let pair = storage_test_pair(&members, &hash).unwrap();
            prop_assert_eq!(pair.is_some(), members.len() >= 2);
            if let Some(test) = pair {
                prop_assert_ne!(test.tester(), test.testee());
                prop_assert!(members.contains(test.tester()) && members.contains(test.testee()));
                let mut rotated = members.clone();
                rotated.rotate_left(rotate.index(members.len()));
                prop_assert_eq!(storage_test_pair(&rotated, &hash).unwrap(), pair);
            }
            if let Some(first) = members.first() {
                let mut twice = members.clone();
                twice.push(*first);
                prop_assert_eq!(
                    storage_test_pair(&twice, &hash),
                    Err(Error::DuplicateNode { node: *first })
                );
            }
        }
    }
}
