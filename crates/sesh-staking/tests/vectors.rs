//! Every record of `oxen/staking_rules.jsonl` (see `testdata/vectors/oxen/README-rpc-staking.md`):
//! oxend's staking, portion, requirement, credit, random and fee functions, and the SESH
//! contribution contract's minimums.
//!
//! Where oxend's result comes from arithmetic that wraps round (or from accepting NaN), the crate
//! refuses with a typed error instead; for those records the test checks both that the error is
//! the documented one and that oxend's value is exactly the wrapped result.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation)]

use serde_json::Value;
use sesh_staking::Error;
use sesh_staking::contract::{self, Revert, U256};
use sesh_staking::oxen::{self, CreditInfo, FailingVote, HardFork, Network};
use sesh_swarm::rng::{Mt19937_64, shuffle, uniform};
use sesh_testkit::{
    Expect, Miss, Tally, decimal_value, expect_eq, field, input, input_decimal, input_int, records,
    settle, str_field,
};

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

// The call's arguments: one the API's types cannot hold is `Miss::Unparsable`, which is the
// library refusing where the record expects a refusal (see `expectation`).

fn u64_arg(r: &Value, path: &str) -> Result<u64, Miss> {
    input_decimal(r, path)
}

fn i64_arg(r: &Value, path: &str) -> Result<i64, Miss> {
    input_decimal(r, path)
}

fn u256_value(v: &Value) -> Result<U256, String> {
    let text = v.as_str().ok_or_else(|| format!("not a decimal string: {v}"))?;
    U256::from_str_radix(text, 10).map_err(|e| format!("{text:?}: {e}"))
}

fn u256_arg(r: &Value, path: &str) -> Result<U256, Miss> {
    input(r, path, u256_value)
}

fn int_arg<T: TryFrom<u64>>(r: &Value, path: &str) -> Result<T, Miss> {
    input_int(r, path)
}

fn hf(r: &Value) -> Result<HardFork, Miss> {
    int_arg(r, "args.hf").map(HardFork)
}

fn network(r: &Value) -> Result<Network, Miss> {
    input(r, "args.nettype", |v| v.as_str().ok_or("not a string")?.parse().map_err(err))
}

fn u64_list_arg(r: &Value, path: &str) -> Result<Vec<u64>, Miss> {
    input(r, path, |v| v.as_array().ok_or("not an array")?.iter().map(decimal_value).collect())
}

// The record's expected results: one that cannot be read is a broken record.

fn want_u64(r: &Value, path: &str) -> Result<u64, String> {
    str_field(r, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn want_i64(r: &Value, path: &str) -> Result<i64, String> {
    str_field(r, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn want_u256(r: &Value, path: &str) -> Result<U256, String> {
    u256_value(field(r, path)?).map_err(|e| format!("{path}: {e}"))
}

fn want_int(r: &Value, path: &str) -> Result<u64, String> {
    field(r, path)?.as_u64().ok_or_else(|| format!("{path} is not an integer"))
}

/// oxend's result for "no slot" and "unlimited".
fn or_max(value: Option<u64>) -> u64 {
    value.unwrap_or(u64::MAX)
}

fn result_u64(r: &Value) -> Result<u64, String> {
    want_u64(r, "result")
}

fn want_u64_list(r: &Value, path: &str) -> Result<Vec<u64>, String> {
    field(r, path)?
        .as_array()
        .ok_or(format!("{path} is not an array"))?
        .iter()
        .map(|v| v.as_str().ok_or("not a string".to_owned())?.parse::<u64>().map_err(err))
        .collect()
}

fn credit_info(r: &Value) -> Result<CreditInfo, Miss> {
    Ok(CreditInfo {
        active_since_height: i64_arg(r, "args.info.active_since_height")?,
        last_decommission_height: u64_arg(r, "args.info.last_decommission_height")?,
        recommission_credit: i64_arg(r, "args.info.recommission_credit")?,
        total_contributed: u64_arg(r, "args.info.total_contributed")?,
        staking_requirement: u64_arg(r, "args.info.staking_requirement")?,
    })
}

/// oxend's `get_min_node_contribution` in wrapping arithmetic, to confirm a refused record is
/// the wrap-around case.
fn wrapped_min(hf: HardFork, req: u64, reserved: u64, n: u64) -> u64 {
    let needed = req.wrapping_sub(reserved);
    if hf < HardFork::HF11 {
        return needed.min(req / 4);
    }
    let max = if hf >= HardFork::HF19 { 10 } else { 4 };
    if n >= max {
        u64::MAX
    } else if hf >= HardFork::HF21 {
        1
    } else {
        needed / (max - n)
    }
}

fn wrapped_portions(req: u64, amount: u64, max: u64) -> u64 {
    ((u128::from(amount) * u128::from(max) + u128::from(req - 1)) / u128::from(req)) as u64
}

fn check_oxen(r: &Value) -> Result<(), Miss> {
    let function = str_field(r, "fn")?;
    let checked: Result<(), String> = match function {
        "get_min_node_contribution" => {
            let (hf, req, reserved, n) = (
                hf(r)?,
                u64_arg(r, "args.staking_requirement")?,
                u64_arg(r, "args.total_reserved")?,
                int_arg(r, "args.num_contributions")?,
            );
            match oxen::min_node_contribution(hf, req, reserved, n as usize) {
                Ok(v) => expect_eq("minimum", or_max(v), result_u64(r)?),
                Err(Error::ReservedExceedsRequirement { .. }) => expect_eq(
                    "oxend's wrapped minimum",
                    result_u64(r)?,
                    wrapped_min(hf, req, reserved, n),
                ),
                Err(e) => Err(err(e)),
            }
        }
        "get_min_node_contribution_in_portions" => {
            let (hf, req, reserved, n) = (
                hf(r)?,
                u64_arg(r, "args.staking_requirement")?,
                u64_arg(r, "args.total_reserved")?,
                int_arg(r, "args.num_contributions")?,
            );
            match oxen::min_node_contribution_in_portions(hf, req, reserved, n as usize) {
                Ok(v) => expect_eq("minimum portions", or_max(v), result_u64(r)?),
                Err(Error::ReservedExceedsRequirement { .. } | Error::Overflow { .. }) => {
                    let min = wrapped_min(hf, req, reserved, n);
                    let want = if min == u64::MAX {
                        u64::MAX
                    } else {
                        wrapped_portions(req, min, oxen::PORTIONS)
                    };
                    expect_eq("oxend's wrapped portions", result_u64(r)?, want)
                }
                Err(e) => Err(err(e)),
            }
        }
        "get_max_node_contribution" => {
            let (hf, req, reserved) = (
                hf(r)?,
                u64_arg(r, "args.staking_requirement")?,
                u64_arg(r, "args.total_reserved")?,
            );
            match oxen::max_node_contribution(hf, req, reserved) {
                Ok(v) => expect_eq("maximum", or_max(v), result_u64(r)?),
                Err(Error::Overflow { .. } | Error::ReservedExceedsRequirement { .. }) => {
                    expect_eq(
                        "oxend's wrapped maximum",
                        result_u64(r)?,
                        req.wrapping_sub(reserved).wrapping_mul(101) / 100,
                    )
                }
                Err(e) => Err(err(e)),
            }
        }
        "portions_to_amount" => {
            let got = oxen::portions_to_amount(
                u64_arg(r, "args.portions")?,
                u64_arg(r, "args.staking_requirement")?,
            );
            expect_eq("amount", got.map_err(err)?, result_u64(r)?)
        }
        "get_portions_to_make_amount" => {
            let (req, amount, max) = (
                u64_arg(r, "args.staking_requirement")?,
                u64_arg(r, "args.amount")?,
                u64_arg(r, "args.max_portions")?,
            );
            match oxen::portions_to_make_amount(req, amount, max) {
                Ok(v) => expect_eq("portions", v, result_u64(r)?),
                Err(Error::Overflow { .. }) => expect_eq(
                    "oxend's low 64 bits",
                    result_u64(r)?,
                    wrapped_portions(req, amount, max),
                ),
                Err(e) => Err(err(e)),
            }
        }
        "check_service_node_stakes" => {
            let ok = oxen::check_stakes(
                hf(r)?,
                u64_arg(r, "args.staking_requirement")?,
                &u64_list_arg(r, "args.stakes")?,
            );
            expect_eq(
                "accepted",
                ok.is_ok(),
                field(r, "result")?.as_bool().ok_or("result not bool")?,
            )
        }
        "check_service_node_portions" => {
            let ok = oxen::check_portions(hf(r)?, &u64_list_arg(r, "args.portions")?);
            expect_eq(
                "accepted",
                ok.is_ok(),
                field(r, "result")?.as_bool().ok_or("result not bool")?,
            )
        }
        "get_default_staking_requirement_by_height" => expect_eq(
            "requirement",
            oxen::staking_requirement_at_height(network(r)?, u64_arg(r, "args.height")?),
            result_u64(r)?,
        ),
        "get_default_staking_requirement_by_hf" => expect_eq(
            "requirement",
            oxen::staking_requirement_for_hard_fork(network(r)?, hf(r)?).map_err(err)?,
            result_u64(r)?,
        ),
        "get_network_version" => expect_eq(
            "hard fork",
            u64::from(oxen::network_version(network(r)?, u64_arg(r, "args.height")?).0),
            want_int(r, "result")?,
        ),
        "MINIMUM_OPERATOR_CONTRIBUTION" => expect_eq(
            "operator minimum",
            oxen::minimum_operator_contribution(u64_arg(r, "args.staking_requirement")?),
            result_u64(r)?,
        ),
        "RECOMMISSION_CREDIT" => expect_eq(
            "credit",
            oxen::recommission_credit(
                i64_arg(r, "args.credit_at_decomm")?,
                i64_arg(r, "args.decomm_blocks")?,
            ),
            want_i64(r, "result")?,
        ),
        "calculate_decommission_credit" => {
            let info = credit_info(r)?;
            let credit =
                oxen::decommission_credit(network(r)?, &info, u64_arg(r, "args.current_height")?);
            expect_eq("credit", credit, want_i64(r, "result")?)?;
            if let Some(vote) = r.get("derived_vote_if_failing").and_then(Value::as_str) {
                let ours = match oxen::vote_if_failing(network(r)?, &info, credit) {
                    FailingVote::Decommission => "decommission",
                    FailingVote::Deregister => "deregister",
                    FailingVote::Abstain => "abstain",
                };
                expect_eq("vote", ours, vote)?;
            }
            Ok(())
        }
        "recommission" => {
            let got =
                oxen::recommission(network(r)?, &credit_info(r)?, u64_arg(r, "args.block_height")?);
            expect_eq(
                "active_since_height",
                got.active_since_height,
                want_i64(r, "result.active_since_height")?,
            )?;
            expect_eq(
                "credit_at_decomm",
                got.credit_at_decommission,
                want_i64(r, "result.credit_at_decomm")?,
            )?;
            expect_eq("decomm_blocks", got.blocks_down, want_i64(r, "result.decomm_blocks")?)?;
            expect_eq(
                "recommission_credit",
                got.recommission_credit,
                want_i64(r, "result.recommission_credit")?,
            )
        }
        "decommission" => {
            let (active_since, last) =
                oxen::decommission(&credit_info(r)?, u64_arg(r, "args.block_height")?);
            expect_eq(
                "active_since_height",
                active_since,
                want_i64(r, "result.active_since_height")?,
            )?;
            expect_eq(
                "last_decommission_height",
                last,
                want_u64(r, "result.last_decommission_height")?,
            )
        }
        "uniform_distribution_portable" => {
            let mut rng = Mt19937_64::new(u64_arg(r, "args.seed")?);
            let n = u64_arg(r, "args.n")?;
            let got: Vec<u64> =
                (0..int_arg::<u64>(r, "args.draws")?).map(|_| uniform(&mut rng, n)).collect();
            expect_eq("draws", got, want_u64_list(r, "result")?)
        }
        "shuffle_portable" => {
            let mut items: Vec<u64> = (0..int_arg::<u64>(r, "args.size")?).collect();
            shuffle(&mut items, &mut Mt19937_64::new(u64_arg(r, "args.seed")?));
            let want: Vec<u64> = field(r, "result")?
                .as_array()
                .ok_or("result")?
                .iter()
                .filter_map(Value::as_u64)
                .collect();
            expect_eq("permutation", items, want)
        }
        "mt19937_64_first" => expect_eq(
            "first output",
            Mt19937_64::new(u64_arg(r, "args.seed")?).next_u64(),
            result_u64(r)?,
        ),
        "mul128_div64" => {
            let (a, b, c) = (u64_arg(r, "args.a")?, u64_arg(r, "args.b")?, u64_arg(r, "args.c")?);
            match oxen::mul_div(a, b, c) {
                Ok(v) => expect_eq("a·b/c", v, result_u64(r)?),
                Err(Error::Overflow { .. }) => expect_eq(
                    "oxend's low 64 bits",
                    result_u64(r)?,
                    (u128::from(a) * u128::from(b) / u128::from(c)) as u64,
                ),
                Err(e) => Err(err(e)),
            }
        }
        "percent_to_basis_points" => {
            let input = str_field(r, "args.percent")?;
            match (oxen::percent_to_basis_points(input), r.get("result")) {
                (Ok(bp), Some(want)) => {
                    expect_eq("basis points", Some(u64::from(bp)), want.as_u64())
                }
                (Err(Error::FeeNotANumber), Some(_)) => Ok(()), // oxend's lround(NaN): refused here
                (Err(_), None) if r.get("exception").is_some() => Ok(()),
                (got, _) => Err(format!("got {got:?}, record {r}")),
            }
        }
        "parse_fee_percent" => {
            let input = str_field(r, "args.fee")?;
            match (oxen::parse_fee_percent(input), field(r, "result")?) {
                (Ok(parsed), Value::String(printed)) => {
                    let want = oxen::parse_fee_percent(printed).map_err(err)?;
                    expect_eq("parsed double", parsed.to_bits(), want.to_bits())
                }
                (Err(Error::FeeNotANumber), Value::String(printed)) if printed.contains("nan") => {
                    Ok(())
                }
                (Err(_), Value::Null) => Ok(()),
                (got, want) => Err(format!("got {got:?}, want {want}")),
            }
        }
        other => Err(format!("unknown oxen-core function {other}")),
    };
    Ok(checked?)
}

fn revert_matches(got: &Revert, r: &Value) -> Result<(), String> {
    expect_eq("revert", got.signature(), str_field(r, "revert.error")?)?;
    expect_eq(
        "revert data",
        hex::encode(got.abi_data()),
        str_field(r, "revert.data_hex")?.to_owned(),
    )
}

fn check_contract(r: &Value) -> Result<(), Miss> {
    let checked = match str_field(r, "fn")? {
        "ServiceNodeContribution.reservation_check" => return check_reservations(r),
        "ServiceNodeContribution.calcMinimumContribution" => {
            let got = contract::calc_minimum_contribution(
                u256_arg(r, "args.contributionRemaining")?,
                u256_arg(r, "args.numContributors")?,
                u256_arg(r, "args.maxNumContributors")?,
            );
            match got {
                Ok(v) => expect_eq("minimum", v, want_u256(r, "result")?),
                Err(revert) => revert_matches(&revert, r),
            }
        }
        "ServiceNodeContribution.minimumOperatorContribution" => {
            match contract::minimum_operator_contribution(u256_arg(r, "args.stakingRequirement")?) {
                Ok(v) => expect_eq("operator minimum", v, want_u256(r, "result")?),
                Err(revert) => revert_matches(&revert, r),
            }
        }
        other => Err(format!("unknown contract function {other}")),
    };
    Ok(checked?)
}

/// Whether `text` names the revert of `verdict`, by signature or by name.
fn names_revert(verdict: &Result<(), Revert>, text: &str) -> bool {
    verdict.as_ref().is_err_and(|revert| text == revert.signature() || text == revert.name())
}

/// `reservation_check`: the steps the contract's loop evaluated, the failing one included, and
/// its verdict. A step whose minimum reverted (nothing remained) has no minimum; the record may
/// write that as null, leave it out, or give the revert itself.
fn check_reservations(r: &Value) -> Result<(), Miss> {
    let amounts = input(r, "args.reserved", |v| {
        v.as_array().ok_or("not an array")?.iter().map(u256_value).collect::<Result<Vec<_>, _>>()
    })?;
    let (steps, verdict) = contract::check_reservations(
        u256_arg(r, "args.stakingRequirement")?,
        u256_arg(r, "args.maxContributors")?,
        &amounts,
    );
    let want_steps = field(r, "result.steps")?.as_array().ok_or("steps")?;
    expect_eq("steps", steps.len(), want_steps.len())?;
    for (got, want) in steps.iter().zip(want_steps) {
        expect_eq("step index", got.index as u64, want_int(want, "index")?)?;
        expect_eq("step remaining", got.remaining, want_u256(want, "remaining")?)?;
        match (got.minimum, want.get("minimum")) {
            (Some(minimum), _) => {
                expect_eq("step minimum", minimum, want_u256(want, "minimum")?)?;
            }
            (None, None | Some(Value::Null)) => {}
            (None, Some(Value::String(text))) if names_revert(&verdict, text) => {}
            (None, Some(revert @ Value::Object(_))) => match &verdict {
                Err(verdict) => revert_matches(verdict, &serde_json::json!({ "revert": revert }))?,
                Ok(()) => return Err("a step without a minimum, and no revert".into()),
            },
            (None, Some(other)) => {
                return Err(
                    format!("step {}: no minimum (it reverted), want {other}", got.index).into()
                );
            }
        }
        expect_eq("step amount", got.amount, want_u256(want, "amount")?)?;
    }
    let verdict = match verdict {
        Ok(()) => "ok".to_owned(),
        Err(revert @ Revert::Panic { .. }) => revert.signature().to_owned(),
        Err(revert) => revert.name().to_owned(),
    };
    Ok(expect_eq("verdict", verdict.as_str(), str_field(r, "result.verdict")?)?)
}

/// What a record expects: a refusal where upstream reverted or threw (`revert`, `exception`),
/// answered no (`result` false), gave nothing (`result` null), or a reservation check failed
/// (a `verdict` other than `ok`); a value otherwise. Where a refusal is expected, arguments the
/// API's types cannot hold are that refusal.
fn expectation(r: &Value) -> Expect {
    if r.get("revert").is_some() || r.get("exception").is_some() {
        return Expect::Refusal;
    }
    match r.get("result") {
        Some(Value::Bool(false) | Value::Null) => Expect::Refusal,
        Some(result) => match result.get("verdict").and_then(Value::as_str) {
            Some(verdict) if verdict != "ok" => Expect::Refusal,
            _ => Expect::Value,
        },
        None => Expect::Value,
    }
}

fn check_record(r: &Value) -> Result<(), String> {
    let checked = match str_field(r, "source")? {
        "oxen-core" => check_oxen(r),
        "session-token-contracts" => check_contract(r),
        other => Err(Miss::from(format!("unknown source {other}"))),
    };
    settle(expectation(r), checked)
}

#[test]
fn staking_rules() {
    let mut tally = Tally::new("staking_rules.jsonl");
    for record in records("oxen/staking_rules.jsonl") {
        tally.check(&record, check_record);
    }
    tally.finish();
}

/// A contract record for reservations that reach the requirement with one more after them, as
/// `updateReservedContributors` runs it: the loop evaluates that reservation too, its minimum
/// (`calcMinimumContribution(0, i, max)`) underflows, and the failing step is in the list.
fn reservation_record(steps: &Value) -> Value {
    serde_json::json!({
        "index": 0,
        "source": "session-token-contracts",
        "group": "contract_minimum",
        "fn": "ServiceNodeContribution.reservation_check",
        "args": {
            "stakingRequirement": "25000000000000",
            "maxContributors": "10",
            "reserved": ["6250000000000", "10000000000000", "8750000000000", "1000000000000"],
        },
        "result": { "steps": steps, "verdict": "Panic(uint256)" },
    })
}

fn full_steps() -> Value {
    serde_json::json!([
        { "index": 0, "remaining": "25000000000000", "minimum": "6250000000000",
          "amount": "6250000000000" },
        { "index": 1, "remaining": "18750000000000", "minimum": "2083333333334",
          "amount": "10000000000000" },
        { "index": 2, "remaining": "8750000000000", "minimum": "1093750000000",
          "amount": "8750000000000" },
        { "index": 3, "remaining": "0", "minimum": null, "amount": "1000000000000" },
    ])
}

#[test]
fn reservation_after_the_requirement_is_reached() {
    check_record(&reservation_record(&full_steps())).unwrap();

    // The failing step's minimum written as absent, or as the revert, is the same record.
    let mut steps = full_steps();
    steps[3].as_object_mut().unwrap().remove("minimum");
    check_record(&reservation_record(&steps)).unwrap();
    steps[3]["minimum"] = "Panic(uint256)".into();
    check_record(&reservation_record(&steps)).unwrap();
    steps[3]["minimum"] = serde_json::json!({
        "error": "Panic(uint256)",
        "data_hex": "4e487b710000000000000000000000000000000000000000000000000000000000000011",
    });
    check_record(&reservation_record(&steps)).unwrap();

    // Stopping one step early, before the reservation that panics, is a mismatch.
    let mut early = full_steps();
    early.as_array_mut().unwrap().pop();
    let why = check_record(&reservation_record(&early)).unwrap_err();
    assert!(why.contains("steps"), "{why}");
    // And the failing step has no minimum: a number there is a mismatch.
    let mut with_minimum = full_steps();
    with_minimum[3]["minimum"] = "0".into();
    assert!(check_record(&reservation_record(&with_minimum)).is_err());
}

/// Arguments the API's types cannot hold are a refusal where the record expects one (a revert,
/// an exception, `false`), and a failure where it expects a value.
#[test]
fn unparsable_arguments() {
    // 2^256 is no uint256: the contract cannot be called with it.
    let too_big = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    let mut reverting = serde_json::json!({
        "source": "session-token-contracts",
        "fn": "ServiceNodeContribution.calcMinimumContribution",
        "args": { "contributionRemaining": too_big, "numContributors": "10",
                  "maxNumContributors": "10" },
        "revert": { "error": "CalcMinContributionGivenBadContribArgs(uint256,uint256)",
                    "data_hex": "" },
    });
    check_record(&reverting).unwrap();
    reverting.as_object_mut().unwrap().remove("revert");
    reverting["result"] = "1".into();
    let why = check_record(&reverting).unwrap_err();
    assert!(why.contains("cannot be parsed"), "{why}");

    let mut reservations = reservation_record(&serde_json::json!([]));
    reservations["args"]["reserved"] = serde_json::json!(["-1"]);
    reservations["result"]["verdict"] = "ReservedContributionBelowMinAmount".into();
    check_record(&reservations).unwrap();
    reservations["result"]["verdict"] = "ok".into();
    assert!(check_record(&reservations).is_err());

    // oxend: a stake beyond a u64 makes the registration invalid (false); hf 300 is no hard fork.
    let mut stakes = serde_json::json!({
        "source": "oxen-core",
        "fn": "check_service_node_stakes",
        "args": { "hf": 21, "staking_requirement": "25000000000000",
                  "stakes": ["18446744073709551616"] },
        "result": false,
    });
    check_record(&stakes).unwrap();
    stakes["args"]["stakes"] = serde_json::json!(["25000000000000"]);
    stakes["args"]["hf"] = 300.into();
    check_record(&stakes).unwrap();
    stakes["result"] = true.into();
    assert!(check_record(&stakes).unwrap_err().contains("cannot be parsed"));
}
