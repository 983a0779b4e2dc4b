//! Every record of `oxen/state_change.jsonl` (see `testdata/vectors/oxen/README-quorums.md` §3),
//! from oxend's code compiled unchanged:
//!
//! * `vote_hash`: the bytes a validator signs and their Keccak-256 (`make_state_change_vote_hash`),
//!   and a vote signed over that hash verifies;
//! * `credit`: `calculate_decommission_credit`, by `sesh-staking`'s function (what the ledger
//!   runs) and by `WorkerInfo::credit`;
//! * `decision`: the vote decision of `process_quorums`, through `decide`;
//! * `lifecycle`: registration, decommission and recommission updates and the credit between
//!   them, through `WorkerInfo` and through `sesh-staking`'s `oxen` functions side by side.
//!
//! Every record of the file given is checked; a kind this test does not know fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use sesh_identity::{Identity, NodeId, Seed};
use sesh_quorum::decision::{Decision, DecisionRules, Heights, TestResults, WorkerInfo, decide};
use sesh_quorum::vote::{Reasons, StateChange, Subject, Vote, vote_hash, vote_signed_bytes};
use sesh_staking::Params;
use sesh_staking::oxen::{self, CreditInfo, Network};
use sesh_testkit::{Tally, decimal_value, expect_eq, field, hex_field, str_field, u64_field};

const FILE: &str = "state_change.jsonl";

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn decimal<T>(r: &Value, path: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    decimal_value(field(r, path)?).map_err(|e| format!("{path}: {e}"))
}

fn int<T: TryFrom<u64>>(r: &Value, path: &str) -> Result<T, String> {
    let n = u64_field(r, path)?;
    T::try_from(n).map_err(|_| format!("{path}: {n} is out of range"))
}

fn boolean(r: &Value, path: &str) -> Result<bool, String> {
    field(r, path)?.as_bool().ok_or_else(|| format!("{path} is not a boolean"))
}

fn state(r: &Value, path: &str) -> Result<StateChange, String> {
    StateChange::from_u16(int(r, path)?).map_err(err)
}

/// oxend's record with its signed `active_since_height` (negative while decommissioned).
fn worker(node: &Value) -> Result<WorkerInfo, String> {
    let since: i64 = decimal(node, "active_since_height")?;
    let optional = |path: &str| match node.get(path) {
        Some(_) => decimal::<u64>(node, path),
        None => Ok(0),
    };
    Ok(WorkerInfo {
        fully_funded: boolean(node, "fully_funded")?,
        registration_height: optional("registration_height")?,
        active_since_height: since.unsigned_abs(),
        decommissioned: since < 0,
        last_decommission_height: decimal(node, "last_decommission_height")?,
        recommission_credit: decimal(node, "recommission_credit")?,
        staking_requirement: match node.get("staking_requirement") {
            Some(_) => decimal(node, "staking_requirement")?,
            None => 1,
        },
        last_ip_change_height: 0,
    })
}

/// The same record as `sesh-staking`'s credit functions read it.
fn credit_info(w: &WorkerInfo) -> CreditInfo {
    CreditInfo {
        active_since_height: w.oxend_active_since(),
        last_decommission_height: w.last_decommission_height,
        recommission_credit: w.recommission_credit,
        total_contributed: u64::from(w.fully_funded),
        staking_requirement: 1,
    }
}

fn mainnet() -> DecisionRules {
    DecisionRules::mainnet()
}

/// Both credit functions, which must agree with each other and with the record.
fn credit(w: &WorkerInfo, height: u64) -> Result<i64, String> {
    let ours = w.credit(height, &mainnet().credit);
    let ledgers = oxen::decommission_credit(Network::Mainnet, &credit_info(w), height);
    expect_eq("WorkerInfo::credit against oxen::decommission_credit", ours, ledgers)?;
    Ok(ours)
}

fn check_vote_hash(r: &Value) -> Result<(), String> {
    let height: u64 = decimal(r, "block_height")?;
    let worker_index: u32 = int(r, "worker_index")?;
    let state = state(r, "state")?;
    expect_eq("state name", state.name(), str_field(r, "state_name")?)?;
    let reasons = Reasons::from_bits(int(r, "reason")?);
    expect_eq("reason bits", u64::from(reasons.bits()), u64_field(r, "reason")?)?;

    let bytes = vote_signed_bytes(height, worker_index, state);
    expect_eq(
        "signed bytes",
        hex::encode(&bytes),
        hex::encode(hex_field(r, "expected.signed_bytes")?),
    )?;
    let hash = vote_hash(height, worker_index, state);
    expect_eq("vote hash", hex::encode(hash), hex::encode(hex_field(r, "expected.vote_hash")?))?;

    // A sesh vote signs that hash (with Ed25519 where oxend uses a CryptoNote signature).
    let validator_index: u16 = int(r, "index_in_group")?;
    let key = Identity::from_seed(&Seed::from_bytes(
        [u8::try_from(validator_index % 200).unwrap() + 1; 32],
    ));
    let worker = NodeId::from_bytes([0x77; 32]);
    let params = Params::session_mainnet();
    let subject = Subject { height, worker_index, worker, state };
    let vote = Vote::sign(&key, validator_index, &subject, reasons, &params);
    expect_eq("hash of the signed vote", vote.hash(), hash)?;
    vote.verify(&NodeId::from_identity(&key), &worker, &params).map_err(err)
}

fn check_credit(r: &Value) -> Result<(), String> {
    let w = worker(field(r, "node")?)?;
    let got = credit(&w, decimal(r, "current_height")?)?;
    expect_eq("credit", got, decimal(r, "expected.credit")?)
}

fn test_results(r: &Value) -> Result<TestResults, String> {
    let b = |name: &str| boolean(r, &format!("test_results.{name}"));
    Ok(TestResults {
        uptime_proved: b("uptime_proved")?,
        single_ip: b("single_ip")?,
        checkpoint_participation: b("checkpoint_participation")?,
        pulse_participation: b("pulse_participation")?,
        timestamp_participation: b("timestamp_participation")?,
        timesync_status: b("timesync_status")?,
        storage_server_reachable: b("storage_server_reachable")?,
        lokinet_reachable: b("lokinet_reachable")?,
        recent_l2_height: b("recent_l2_height")?,
        failed_transition: b("failed_transition")?,
    })
}

fn check_decision(r: &Value) -> Result<(), String> {
    let w = worker(field(r, "node")?)?;
    let results = test_results(r)?;
    let heights = Heights {
        obligations: decimal(r, "obligations_height")?,
        latest: decimal(r, "latest_height")?,
        block: decimal(r, "block_height")?,
        hard_fork_start: decimal(r, "hf_start_height")?,
    };
    let before: u32 = int(r, "deactivate_count_before")?;
    let mut count = before;
    let decision = decide(&w, &results, &heights, &mainnet(), &mut count);

    let votable = boolean(r, "expected.votable")?;
    expect_eq("can_be_voted_on", w.can_be_voted_on(heights.obligations), votable)?;
    expect_eq("votable", decision != Decision::NotVotable, votable)?;
    let want_vote = match field(r, "expected.vote")? {
        Value::Null => None,
        vote => {
            let state = state(vote, "state")?;
            expect_eq("state name", state.name(), str_field(vote, "state_name")?)?;
            Some((state, Reasons::from_bits(int(vote, "reason")?)))
        }
    };
    expect_eq("vote", decision.vote(), want_vote)?;
    expect_eq("counted good", decision == Decision::Passing, boolean(r, "expected.counted_good")?)?;
    expect_eq(
        "deactivations after",
        u64::from(count),
        u64_field(r, "expected.deactivate_count_after")?,
    )?;
    let at_latest = credit(&w, heights.latest)?;
    expect_eq(
        "credit at the latest height",
        at_latest,
        decimal(r, "expected.credit_at_latest_height")?,
    )?;

    // What each no-vote outcome says must hold of the record.
    match decision {
        Decision::Abstain { credit, reasons } => {
            expect_eq("abstain: decommissioned", w.decommissioned, true)?;
            expect_eq("abstain: credit", credit, at_latest)?;
            expect_eq("abstain: credit left", credit >= 0, true)?;
            expect_eq("abstain: reasons", reasons, results.reasons())?;
        }
        Decision::HardForkGrace { reasons } => {
            let since = heights.block - heights.hard_fork_start;
            expect_eq("grace: within 5040 blocks", since < 5_040, true)?;
            expect_eq("grace: not a zombie", w.staking_requirement != 0, true)?;
            expect_eq("grace: reasons", reasons, results.reasons())?;
        }
        Decision::DeactivationLimit { .. } => {
            expect_eq("limit: past 10", count > 10, true)?;
        }
        Decision::NotVotable | Decision::Passing | Decision::Vote { .. } => {}
    }
    Ok(())
}

fn check_after(step: &Value, w: &WorkerInfo, info: &CreditInfo) -> Result<(), String> {
    let since: i64 = decimal(step, "after.active_since_height")?;
    let last: u64 = decimal(step, "after.last_decommission_height")?;
    let credit: i64 = decimal(step, "after.recommission_credit")?;
    expect_eq("active_since_height", w.oxend_active_since(), since)?;
    expect_eq("last_decommission_height", w.last_decommission_height, last)?;
    expect_eq("recommission_credit", w.recommission_credit, credit)?;
    expect_eq("the oxen functions' record", *info, credit_info(w))
}

fn check_lifecycle(r: &Value) -> Result<(), String> {
    let schedule = mainnet().credit;
    let steps = field(r, "steps")?.as_array().ok_or("steps is not an array")?;
    let mut w: Option<(WorkerInfo, CreditInfo)> = None;
    for (n, step) in steps.iter().enumerate() {
        let event = str_field(step, "event")?;
        let height: u64 = decimal(step, "height")?;
        let at = |why: String| format!("step {n} ({event} at {height}): {why}");
        if event == "register" {
            let registered = WorkerInfo::registered(height, &schedule);
            let info = credit_info(&registered);
            check_after(step, &registered, &info).map_err(at)?;
            w = Some((registered, info));
            continue;
        }
        let (w, info) = w.as_mut().ok_or_else(|| at("before any registration".into()))?;
        match event {
            "credit" => {
                let got = credit(w, height).map_err(at)?;
                expect_eq("credit", got, decimal(step, "credit")?).map_err(at)?;
            }
            "decommission" => {
                w.decommission(height);
                let (since, last) = oxen::decommission(info, height);
                (info.active_since_height, info.last_decommission_height) = (since, last);
                check_after(step, w, info).map_err(at)?;
            }
            "recommission" => {
                let at_decommission = w.recommission(height, &schedule);
                let theirs = oxen::recommission(Network::Mainnet, info, height);
                info.active_since_height = theirs.active_since_height;
                info.recommission_credit = theirs.recommission_credit;
                let want: i64 = decimal(step, "credit_at_decommission")?;
                expect_eq("credit at decommission", at_decommission, want).map_err(at)?;
                expect_eq("oxen::recommission's", theirs.credit_at_decommission, want)
                    .map_err(at)?;
                check_after(step, w, info).map_err(at)?;
            }
            other => return Err(at(format!("unknown event {other:?}"))),
        }
    }
    Ok(())
}

fn check(r: &Value) -> Result<(), String> {
    match str_field(r, "kind")? {
        "vote_hash" => check_vote_hash(r),
        "credit" => check_credit(r),
        "decision" => check_decision(r),
        "lifecycle" => check_lifecycle(r),
        other => Err(format!("unknown kind {other:?}")),
    }
}

#[test]
fn state_change() {
    let mut tally = Tally::new(FILE);
    for record in sesh_testkit::records(&format!("oxen/{FILE}")) {
        tally.check(&record, check);
    }
    tally.finish();
}
