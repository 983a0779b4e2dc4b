//! Every record of `oxen/rewards_split.jsonl` (see `testdata/vectors/oxen/README.md` §4): one
//! HF21 block's split for one node, against oxend's `reward_handler` to the milli-atomic unit,
//! including the reward oxend refuses as too large.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use sesh_rewards::Error;
use sesh_rewards::split::{block_share, portions_for_operator, split_node};
use sesh_testkit::{Tally, expect_eq, field, records, str_field};

fn u64_at(r: &Value, path: &str) -> Result<u64, String> {
    str_field(r, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn u64_list(r: &Value, path: &str) -> Result<Vec<u64>, String> {
    field(r, path)?
        .as_array()
        .ok_or(format!("{path} is not an array"))?
        .iter()
        .map(|v| {
            v.as_str().ok_or("not a string".to_owned())?.parse::<u64>().map_err(|e| e.to_string())
        })
        .collect()
}

#[test]
fn rewards_split() {
    let mut tally = Tally::new("rewards_split.jsonl");
    for record in records("oxen/rewards_split.jsonl") {
        tally.check(&record, |r| {
            let reward = u64_at(r, "block_reward_atomic")?;
            let payable = field(r, "payable_nodes")?.as_u64().ok_or("payable_nodes")?;
            let fee_bp = u16::try_from(field(r, "node.fee_bp")?.as_u64().ok_or("fee_bp")?)
                .map_err(|e| e.to_string())?;
            let amounts = u64_list(r, "node.contributions")?;
            if let Some(error) = r.get("expected").and_then(|e| e.get("error")) {
                expect_eq(
                    "error",
                    error.as_str(),
                    Some("Reward distribution amount is too large"),
                )?;
                return match block_share(reward, payable) {
                    Err(Error::RewardTooLarge { reward: got }) => {
                        expect_eq("reward in the error", got, reward)
                    }
                    other => Err(format!("expected RewardTooLarge, got {other:?}")),
                };
            }
            let portions = portions_for_operator(fee_bp);
            expect_eq(
                "portions_for_operator",
                portions,
                u64_at(r, "expected.portions_for_operator")?,
            )?;
            let (share, remainder) = block_share(reward, payable).map_err(|e| e.to_string())?;
            expect_eq("share_milli", share, u64_at(r, "expected.share_milli")?)?;
            expect_eq(
                "block_remainder_milli",
                remainder,
                u64_at(r, "expected.block_remainder_milli")?,
            )?;
            let split = split_node(share, portions, &amounts);
            expect_eq("operator_fee_milli", split.fee, u64_at(r, "expected.operator_fee_milli")?)?;
            expect_eq(
                "contributor_milli",
                split.contributors.clone(),
                u64_list(r, "expected.contributor_milli")?,
            )?;
            expect_eq("dust_milli", split.dust, u64_at(r, "expected.dust_milli")?)?;
            let operator_total = split.fee + split.contributors.first().copied().unwrap_or(0);
            expect_eq(
                "operator_beneficiary_total_milli",
                operator_total,
                u64_at(r, "expected.operator_beneficiary_total_milli")?,
            )
        });
    }
    tally.finish();
}
