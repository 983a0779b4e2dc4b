//! Every record of `oxen/rewards_split.jsonl` (see `testdata/vectors/oxen/README.md` §4): one
//! HF21 block's split for one node, against oxend's `reward_handler` to the milli-atomic unit,
//! including the reward oxend refuses as too large.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use sesh_rewards::Error;
use sesh_rewards::split::{block_share, portions_for_operator, split_node};
use sesh_testkit::{
    Expect, Miss, Tally, decimal_value, expect_eq, field, input, input_decimal, input_int, records,
    settle, str_field,
};

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

/// One record: the inputs (an input the API's types cannot hold is [`Miss::Unparsable`]), then
/// oxend's split, or its refusal.
fn check_split(r: &Value) -> Result<(), Miss> {
    let reward: u64 = input_decimal(r, "block_reward_atomic")?;
    let payable: u64 = input_int(r, "payable_nodes")?;
    let fee_bp: u16 = input_int(r, "node.fee_bp")?;
    let amounts: Vec<u64> = input(r, "node.contributions", |v| {
        v.as_array().ok_or("not an array")?.iter().map(decimal_value).collect()
    })?;
    if let Some(error) = r.get("expected").and_then(|e| e.get("error")) {
        expect_eq("error", error.as_str(), Some("Reward distribution amount is too large"))?;
        return match block_share(reward, payable) {
            Err(Error::RewardTooLarge { reward: got }) => {
                Ok(expect_eq("reward in the error", got, reward)?)
            }
            other => Err(format!("expected RewardTooLarge, got {other:?}").into()),
        };
    }
    let portions = portions_for_operator(fee_bp);
    expect_eq("portions_for_operator", portions, u64_at(r, "expected.portions_for_operator")?)?;
    let (share, remainder) = block_share(reward, payable).map_err(|e| e.to_string())?;
    expect_eq("share_milli", share, u64_at(r, "expected.share_milli")?)?;
    expect_eq("block_remainder_milli", remainder, u64_at(r, "expected.block_remainder_milli")?)?;
    let split = split_node(share, portions, &amounts);
    expect_eq("operator_fee_milli", split.fee, u64_at(r, "expected.operator_fee_milli")?)?;
    expect_eq(
        "contributor_milli",
        split.contributors.clone(),
        u64_list(r, "expected.contributor_milli")?,
    )?;
    expect_eq("dust_milli", split.dust, u64_at(r, "expected.dust_milli")?)?;
    let operator_total = split.fee + split.contributors.first().copied().unwrap_or(0);
    Ok(expect_eq(
        "operator_beneficiary_total_milli",
        operator_total,
        u64_at(r, "expected.operator_beneficiary_total_milli")?,
    )?)
}

/// oxend's refusal is `expected.error`; where a record has one, an input the API's types cannot
/// hold is that refusal.
fn check_record(r: &Value) -> Result<(), String> {
    let expect = match r.get("expected").and_then(|e| e.get("error")) {
        Some(_) => Expect::Refusal,
        None => Expect::Value,
    };
    settle(expect, check_split(r))
}

#[test]
fn rewards_split() {
    let mut tally = Tally::new("rewards_split.jsonl");
    for record in records("oxen/rewards_split.jsonl") {
        tally.check(&record, check_record);
    }
    tally.finish();
}

/// A reward beyond a u64 cannot even be given to `block_share`: that is a refusal where the
/// record expects oxend's error, and a failure where it expects a split.
#[test]
fn rewards_split_unparsable_inputs() {
    let refused = serde_json::json!({
        "block_reward_atomic": "18446744073709551616",
        "payable_nodes": 1,
        "node": { "fee_bp": 0, "contributions": ["25000000000000"] },
        "expected": { "error": "Reward distribution amount is too large" },
    });
    check_record(&refused).unwrap();
    let mut accepted = refused.clone();
    accepted["expected"] = serde_json::json!({ "share_milli": "0" });
    let why = check_record(&accepted).unwrap_err();
    assert!(why.contains("cannot be parsed"), "{why}");
    // A fee beyond a u16 likewise.
    let mut fee = refused;
    fee["block_reward_atomic"] = "18446744073709552".into();
    fee["node"]["fee_bp"] = 70_000.into();
    check_record(&fee).unwrap();
}
