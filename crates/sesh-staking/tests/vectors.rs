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
use sesh_testkit::{Tally, expect_eq, field, records, str_field};

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn u64_arg(r: &Value, path: &str) -> Result<u64, String> {
    str_field(r, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn i64_arg(r: &Value, path: &str) -> Result<i64, String> {
    str_field(r, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn u256_arg(r: &Value, path: &str) -> Result<U256, String> {
    U256::from_str_radix(str_field(r, path)?, 10).map_err(|e| format!("{path}: {e}"))
}

fn int_arg(r: &Value, path: &str) -> Result<u64, String> {
    field(r, path)?.as_u64().ok_or_else(|| format!("{path} is not an integer"))
}

fn hf(r: &Value) -> Result<HardFork, String> {
    Ok(HardFork(int_arg(r, "args.hf")? as u8))
}

fn network(r: &Value) -> Result<Network, String> {
    str_field(r, "args.nettype")?.parse().map_err(err)
}

/// oxend's result for "no slot" and "unlimited".
fn or_max(value: Option<u64>) -> u64 {
    value.unwrap_or(u64::MAX)
}

fn result_u64(r: &Value) -> Result<u64, String> {
    u64_arg(r, "result")
}

fn u64_list(r: &Value, path: &str) -> Result<Vec<u64>, String> {
    field(r, path)?
        .as_array()
        .ok_or(format!("{path} is not an array"))?
        .iter()
        .map(|v| v.as_str().ok_or("not a string".to_owned())?.parse::<u64>().map_err(err))
        .collect()
}

fn credit_info(r: &Value) -> Result<CreditInfo, String> {
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

fn check_oxen(r: &Value) -> Result<(), String> {
    let function = str_field(r, "fn")?;
    match function {
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
                &u64_list(r, "args.stakes")?,
            );
            expect_eq(
                "accepted",
                ok.is_ok(),
                field(r, "result")?.as_bool().ok_or("result not bool")?,
            )
        }
        "check_service_node_portions" => {
            let ok = oxen::check_portions(hf(r)?, &u64_list(r, "args.portions")?);
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
            int_arg(r, "result")?,
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
            i64_arg(r, "result")?,
        ),
        "calculate_decommission_credit" => {
            let info = credit_info(r)?;
            let credit =
                oxen::decommission_credit(network(r)?, &info, u64_arg(r, "args.current_height")?);
            expect_eq("credit", credit, i64_arg(r, "result")?)?;
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
                i64_arg(r, "result.active_since_height")?,
            )?;
            expect_eq(
                "credit_at_decomm",
                got.credit_at_decommission,
                i64_arg(r, "result.credit_at_decomm")?,
            )?;
            expect_eq("decomm_blocks", got.blocks_down, i64_arg(r, "result.decomm_blocks")?)?;
            expect_eq(
                "recommission_credit",
                got.recommission_credit,
                i64_arg(r, "result.recommission_credit")?,
            )
        }
        "decommission" => {
            let (active_since, last) =
                oxen::decommission(&credit_info(r)?, u64_arg(r, "args.block_height")?);
            expect_eq(
                "active_since_height",
                active_since,
                i64_arg(r, "result.active_since_height")?,
            )?;
            expect_eq(
                "last_decommission_height",
                last,
                u64_arg(r, "result.last_decommission_height")?,
            )
        }
        "uniform_distribution_portable" => {
            let mut rng = Mt19937_64::new(u64_arg(r, "args.seed")?);
            let n = u64_arg(r, "args.n")?;
            let got: Vec<u64> =
                (0..int_arg(r, "args.draws")?).map(|_| uniform(&mut rng, n)).collect();
            expect_eq("draws", got, u64_list(r, "result")?)
        }
        "shuffle_portable" => {
            let mut items: Vec<u64> = (0..int_arg(r, "args.size")?).collect();
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
    }
}

fn revert_matches(got: &Revert, r: &Value) -> Result<(), String> {
    expect_eq("revert", got.signature(), str_field(r, "revert.error")?)?;
    expect_eq(
        "revert data",
        hex::encode(got.abi_data()),
        str_field(r, "revert.data_hex")?.to_owned(),
    )
}

fn check_contract(r: &Value) -> Result<(), String> {
    match str_field(r, "fn")? {
        "ServiceNodeContribution.calcMinimumContribution" => {
            let got = contract::calc_minimum_contribution(
                u256_arg(r, "args.contributionRemaining")?,
                u256_arg(r, "args.numContributors")?,
                u256_arg(r, "args.maxNumContributors")?,
            );
            match got {
                Ok(v) => expect_eq("minimum", v, u256_arg(r, "result")?),
                Err(revert) => revert_matches(&revert, r),
            }
        }
        "ServiceNodeContribution.minimumOperatorContribution" => {
            match contract::minimum_operator_contribution(u256_arg(r, "args.stakingRequirement")?) {
                Ok(v) => expect_eq("operator minimum", v, u256_arg(r, "result")?),
                Err(revert) => revert_matches(&revert, r),
            }
        }
        "ServiceNodeContribution.reservation_check" => {
            let amounts = field(r, "args.reserved")?
                .as_array()
                .ok_or("reserved")?
                .iter()
                .map(|v| U256::from_str_radix(v.as_str().unwrap_or(""), 10).map_err(err))
                .collect::<Result<Vec<_>, _>>()?;
            let (steps, verdict) = contract::check_reservations(
                u256_arg(r, "args.stakingRequirement")?,
                u256_arg(r, "args.maxContributors")?,
                &amounts,
            );
            let want_steps = field(r, "result.steps")?.as_array().ok_or("steps")?;
            expect_eq("steps", steps.len(), want_steps.len())?;
            for (got, want) in steps.iter().zip(want_steps) {
                expect_eq("step index", got.index as u64, int_arg(want, "index")?)?;
                expect_eq("step remaining", got.remaining, u256_arg(want, "remaining")?)?;
                expect_eq("step minimum", got.minimum, u256_arg(want, "minimum")?)?;
                expect_eq("step amount", got.amount, u256_arg(want, "amount")?)?;
            }
            let verdict = match verdict {
                Ok(()) => "ok".to_owned(),
                Err(revert @ Revert::Panic { .. }) => revert.signature().to_owned(),
                Err(revert) => revert.name().to_owned(),
            };
            expect_eq("verdict", verdict.as_str(), str_field(r, "result.verdict")?)
        }
        other => Err(format!("unknown contract function {other}")),
    }
}

#[test]
fn staking_rules() {
    let mut tally = Tally::new("staking_rules.jsonl");
    for record in records("oxen/staking_rules.jsonl") {
        tally.check(&record, |r| match str_field(r, "source")? {
            "oxen-core" => check_oxen(r),
            "session-token-contracts" => check_contract(r),
            other => Err(format!("unknown source {other}")),
        });
    }
    tally.finish();
}
