//! Every record of `oxen/quorums.jsonl` (see `testdata/vectors/oxen/README-quorums.md` §1):
//! oxend's `generate_other_quorums` (obligations, checkpointing and blink quorums) and
//! `generate_pulse_quorum` with its entropy (`make_pulse_entropy_from_blocks`), compiled
//! unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::num::NonZeroU64;

use serde_json::Value;
use sesh_identity::NodeId;
use sesh_quorum::{
    BlockHash, EntropyBlock, PulseCandidate, PulseEntropy, Quorum, ServiceNodes, other_quorums,
    pulse_quorum,
};
use sesh_staking::oxen::HardFork;
use sesh_testkit::{Tally, expect_eq, field, hex_array, records, str_field};

const FILE: &str = "quorums.jsonl";

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn decimal(v: &Value) -> Result<u64, String> {
    v.as_str().ok_or_else(|| format!("not a decimal string: {v}"))?.parse().map_err(err)
}

fn small_int<T: TryFrom<u64>>(r: &Value, path: &str) -> Result<T, String> {
    let n = field(r, path)?.as_u64().ok_or_else(|| format!("{path} is not an integer"))?;
    T::try_from(n).map_err(|_| format!("{path} = {n} is out of range"))
}

fn node(v: &Value) -> Result<NodeId, String> {
    v.as_str().ok_or_else(|| format!("not a key: {v}"))?.parse().map_err(err)
}

fn nodes(r: &Value, path: &str) -> Result<Vec<NodeId>, String> {
    field(r, path)?
        .as_array()
        .ok_or_else(|| format!("{path} is not an array"))?
        .iter()
        .map(node)
        .collect()
}

fn quorum(r: &Value, path: &str) -> Result<Option<Quorum>, String> {
    if field(r, path)?.is_null() {
        return Ok(None);
    }
    Ok(Some(Quorum {
        validators: nodes(r, &format!("{path}.validators"))?,
        workers: nodes(r, &format!("{path}.workers"))?,
    }))
}

fn check_other(r: &Value) -> Result<(), String> {
    let hf = HardFork(small_int(r, "hf")?);
    let height = decimal(field(r, "height")?)?;
    let hash: BlockHash = str_field(r, "block_hash")?.parse().map_err(err)?;
    let active = nodes(r, "active")?;
    let decommissioned = nodes(r, "decommissioned")?;
    // The lists are in key order, as oxend passes them: the sorting in `ServiceNodes::new`
    // changes nothing.
    let mut service_nodes =
        ServiceNodes::new(active.clone(), decommissioned.clone()).map_err(err)?;
    expect_eq("active order", service_nodes.active(), &active[..])?;
    expect_eq("decommissioned order", service_nodes.decommissioned(), &decommissioned[..])?;
    let unlocks = field(r, "requested_unlock_heights")?
        .as_object()
        .ok_or("requested_unlock_heights is not an object")?;
    for (key, height) in unlocks {
        let key: NodeId = key.parse().map_err(err)?;
        if let Some(height) = NonZeroU64::new(decimal(height)?) {
            service_nodes.set_unlock_height(&key, height).map_err(err)?;
        }
    }

    let got = other_quorums(hf, height, &hash, &service_nodes);
    expect_eq("obligations", Some(got.obligations), quorum(r, "expected.obligations")?)?;
    expect_eq("checkpointing", got.checkpointing, quorum(r, "expected.checkpointing")?)?;
    expect_eq("blink", got.blink, quorum(r, "expected.blink")?)
}

fn entropy_block(v: &Value) -> Result<EntropyBlock, String> {
    let has_pulse = v.get("has_pulse").and_then(Value::as_bool).ok_or("no has_pulse")?;
    Ok(if has_pulse {
        EntropyBlock::Pulse { random_value: hex_array(v, "random_value")? }
    } else {
        EntropyBlock::NonPulse { hash: BlockHash::from_bytes(hex_array(v, "block_hash")?) }
    })
}

fn check_pulse(r: &Value) -> Result<(), String> {
    let hf = HardFork(small_int(r, "hf")?);
    let round: u8 = small_int(r, "pulse_round")?;
    let leader = node(field(r, "block_leader")?)?;
    let active = nodes(r, "active")?;
    let sorter = field(r, "pulse_sorter")?.as_array().ok_or("pulse_sorter is not an array")?;
    expect_eq("sorter entries", sorter.len(), active.len())?;
    let candidates = active
        .iter()
        .zip(sorter)
        .map(|(node, key)| {
            Ok(PulseCandidate {
                node: *node,
                last_height_validating: decimal(&key[0])?,
                quorum_index: key[1]
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or("quorum_index is not a u8")?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let blocks = field(r, "entropy_blocks")?
        .as_array()
        .ok_or("entropy_blocks is not an array")?
        .iter()
        .map(entropy_block)
        .collect::<Result<Vec<_>, String>>()?;
    let blocks: [EntropyBlock; 12] =
        blocks.try_into().map_err(|b: Vec<_>| format!("{} entropy blocks, not 12", b.len()))?;

    let entropy = PulseEntropy::from_blocks(&blocks, round);
    let want_entropy = field(r, "expected.entropy")?
        .as_array()
        .ok_or("expected.entropy is not an array")?
        .iter()
        .map(|h| h.as_str().map(str::to_owned).ok_or("entropy is not a string"))
        .collect::<Result<Vec<_>, _>>()?;
    let got_entropy: Vec<String> = entropy.hashes().iter().map(hex::encode).collect();
    expect_eq("entropy", got_entropy, want_entropy)?;

    let got = pulse_quorum(hf, round, &leader, &candidates, &entropy).map_err(err)?;
    let want = quorum(r, "expected")?.ok_or("no expected quorum")?;
    let got = got.map(|q| q.to_quorum()).unwrap_or_default();
    expect_eq("pulse quorum", got, want)
}

#[test]
fn quorums() {
    let mut tally = Tally::new(FILE);
    for record in records(&format!("oxen/{FILE}")) {
        tally.check(&record, |r| match str_field(r, "kind")? {
            "other" => check_other(r),
            "pulse" => check_pulse(r),
            kind => Err(format!("unknown kind {kind:?}")),
        });
    }
    tally.finish();
}

mod props {
    use std::collections::BTreeSet;
    use std::num::NonZeroU64;

    use proptest::prelude::*;
    use sesh_identity::NodeId;
    use sesh_quorum::quorum::{
        BLINK_EXPIRY_BUFFER, CHECKPOINT_QUORUM_SIZE, PULSE_MIN_SERVICE_NODES,
        PULSE_QUORUM_NUM_VALIDATORS, STATE_CHANGE_QUORUM_SIZE,
    };
    use sesh_quorum::{
        BlockHash, PulseCandidate, PulseEntropy, ServiceNodes, other_quorums, pulse_quorum,
    };
    use sesh_staking::oxen::HardFork;

    /// `n` distinct keys from `seed` (splitmix64, enough to spread them over the key space).
    fn keys(seed: u64, n: usize) -> Vec<NodeId> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut keys = BTreeSet::new();
        while keys.len() < n {
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_exact_mut(8) {
                chunk.copy_from_slice(&next().to_le_bytes());
            }
            keys.insert(NodeId::from_bytes(bytes));
        }
        keys.into_iter().collect()
    }

    fn distinct(nodes: &[NodeId]) -> bool {
        nodes.iter().collect::<BTreeSet<_>>().len() == nodes.len()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The quorums follow oxend's size rules, validators are active and never workers, and
        /// they are a function of the node sets alone (not of the order they are listed in).
        #[test]
        fn other_quorums_follow_the_rules(
            n_active in prop_oneof![3 => 0usize..80, 1 => 4990usize..5300],
            n_decommissioned in prop_oneof![3 => 0usize..20, 1 => 0usize..300],
            unlocking in 0usize..40,
            hf in 9u8..=21,
            height in any::<u64>(),
            hash in any::<[u8; 32]>(),
            seed in any::<u64>(),
        ) {
            let all = keys(seed, n_active + n_decommissioned);
            let (active, decommissioned) = all.split_at(n_active);
            let mut nodes = ServiceNodes::new(active.to_vec(), decommissioned.to_vec()).unwrap();
            let mut reversed = ServiceNodes::new(
                active.iter().rev().copied(),
                decommissioned.iter().rev().copied(),
            )
            .unwrap();
            // Some active nodes unlock just inside or just outside the blink buffer.
            for (i, node) in active.iter().take(unlocking).enumerate() {
                let at = height.saturating_add(BLINK_EXPIRY_BUFFER + (i % 3) as u64);
                let at = NonZeroU64::new(at).unwrap_or(NonZeroU64::MIN);
                nodes.set_unlock_height(node, at).unwrap();
                reversed.set_unlock_height(node, at).unwrap();
            }
            let hf = HardFork(hf);
            let hash = BlockHash::from_bytes(hash);
            let quorums = other_quorums(hf, height, &hash, &nodes);
            prop_assert_eq!(&quorums, &other_quorums(hf, height, &hash, &reversed));

            let o = &quorums.obligations;
            let counted = if hf >= HardFork::HF12 { n_decommissioned } else { 0 };
            let rest = n_active + counted - o.validators.len();
            prop_assert_eq!(o.validators.len(), n_active.min(STATE_CHANGE_QUORUM_SIZE));
            prop_assert_eq!(o.workers.len(), rest.min(50.max(rest / 100)));
            prop_assert!(o.validators.iter().all(|v| active.binary_search(v).is_ok()));
            prop_assert!(o.workers.iter().all(|w| !o.validators.contains(w)));
            let known = |w: &NodeId| {
                active.binary_search(w).is_ok()
                    || (counted > 0 && decommissioned.binary_search(w).is_ok())
            };
            prop_assert!(o.workers.iter().all(known));
            prop_assert!(distinct(&o.workers));

            prop_assert_eq!(
                quorums.checkpointing.is_some(),
                hf >= HardFork(13) && height % 4 == 1
            );
            if let Some(q) = &quorums.checkpointing {
                let want = if n_active >= CHECKPOINT_QUORUM_SIZE { CHECKPOINT_QUORUM_SIZE } else { 0 };
                prop_assert_eq!(q.validators.len(), want);
                prop_assert!(q.workers.is_empty());
                prop_assert!(q.validators.iter().all(|v| active.binary_search(v).is_ok()));
                prop_assert!(distinct(&q.validators));
            }
            prop_assert_eq!(quorums.blink.is_some(), hf >= HardFork(14) && height % 5 == 0);
            if let Some(q) = &quorums.blink {
                let eligible = active
                    .iter()
                    .filter(|n| nodes.unlock_height(n).is_none_or(|h| h.get() > height.wrapping_add(45)))
                    .count();
                let want = if eligible >= 7 { eligible.min(10) } else { 0 };
                prop_assert_eq!(q.validators.len(), want);
                let staying = |v: &NodeId| {
                    nodes.unlock_height(v).is_none_or(|h| h.get() > height.wrapping_add(45))
                };
                prop_assert!(q.validators.iter().all(staying));
                prop_assert!(distinct(&q.validators));
            }
        }

        /// A pulse quorum: 11 distinct validators from the active nodes, never the producer;
        /// round 0's producer is the leader; any order of the candidates gives the same quorum.
        #[test]
        fn pulse_quorum_follows_the_rules(
            n in 40usize..120,
            round in prop_oneof![1 => Just(0u8), 1 => any::<u8>()],
            leader_is_active in any::<bool>(),
            heights in prop::collection::vec((0u64..4, 0u8..11), 120),
            entropy in any::<[[u8; 32]; 12]>(),
            seed in any::<u64>(),
        ) {
            let ids = keys(seed, n + 1);
            let candidates: Vec<PulseCandidate> = ids[..n]
                .iter()
                .zip(&heights)
                .map(|(node, (h, i))| PulseCandidate {
                    node: *node,
                    last_height_validating: *h,
                    quorum_index: *i,
                })
                .collect();
            let leader = if leader_is_active { ids[n / 2] } else { ids[n] };
            let entropy = PulseEntropy::from_hashes(entropy);
            let hf = HardFork::HF21;
            let quorum = pulse_quorum(hf, round, &leader, &candidates, &entropy).unwrap();
            let mut reversed = candidates.clone();
            reversed.reverse();
            prop_assert_eq!(quorum, pulse_quorum(hf, round, &leader, &reversed, &entropy).unwrap());

            prop_assert_eq!(quorum.is_some(), n >= PULSE_MIN_SERVICE_NODES);
            if let Some(q) = quorum {
                let validators = q.validators();
                prop_assert_eq!(validators.len(), PULSE_QUORUM_NUM_VALIDATORS);
                prop_assert!(distinct(validators));
                prop_assert!(!validators.contains(q.producer()));
                prop_assert!(validators.iter().all(|v| ids[..n].contains(v)));
                if round == 0 {
                    prop_assert_eq!(*q.producer(), leader);
                } else {
                    prop_assert!(ids[..n].contains(q.producer()));
                }
            }
        }
    }
}
