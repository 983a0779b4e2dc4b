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
