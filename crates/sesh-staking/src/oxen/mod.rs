//! oxend's staking, portion and credit functions, as the Oxen era and the HF21 transition ran
//! them: the rules behind [`Params::oxen_hf19`](crate::Params::oxen_hf19), and the reference the
//! vector tests replay.
//!
//! Results are oxend's, bit for bit, except where oxend's arithmetic silently wraps or it lets
//! a NaN through: there these functions return a typed error instead (each such place says so).
//!
//! ```
//! use sesh_staking::oxen::{self, HardFork, Network};
//!
//! // HF19: 15,000 OXEN, operator reserved 3,750: the next contributor needs 11,250 / 9.
//! let req = oxen::staking_requirement_for_hard_fork(Network::Mainnet, HardFork::HF19)?;
//! assert_eq!(req, 15_000_000_000_000);
//! let min = oxen::min_node_contribution(HardFork::HF19, req, 3_750_000_000_000, 1)?;
//! assert_eq!(min, Some(1_250_000_000_000));
//! // ... and may stake at most 1 % more than what is left.
//! let max = oxen::max_node_contribution(HardFork::HF19, req, 3_750_000_000_000)?;
//! assert_eq!(max, Some(11_362_500_000_000));
//! # Ok::<(), sesh_staking::Error>(())
//! ```

mod exp_table;
mod softfloat;

use core::fmt;
use core::str::FromStr;

use crate::Result;
use crate::error::{Error, Rejection};
use crate::params::CreditParams;

/// oxend's `STAKING_PORTIONS`: a whole stake in portions, `2^64 − 4`.
pub const PORTIONS: u64 = 0xffff_ffff_ffff_fffc;
/// One OXEN (or SESH) in atomic units.
pub const COIN: u64 = 1_000_000_000;
/// Contributors per node before HF19.
pub const MAX_CONTRIBUTORS_V1: usize = 4;
/// Contributors per node from HF19.
pub const MAX_CONTRIBUTORS_HF19: usize = 10;

/// The credit needed to be decommissioned rather than deregistered, 2 hours: 60 blocks at the
/// 2-minute block time of every network but localdev (which has 5-second blocks: 1440).
pub const DECOMMISSION_MINIMUM: i64 = 60;

/// oxend's credit constants in blocks of `network`'s target block time: (credit per day up
/// (48 minutes), blocks per day, maximum credit (48 hours), decommission minimum (2 hours)).
fn credit_schedule(network: Network) -> (i64, i64, i64, i64) {
    let block_seconds = if network == Network::Localdev { 5 } else { 120 };
    let blocks = |seconds: i64| seconds / block_seconds;
    (blocks(48 * 60), blocks(86_400), blocks(48 * 3_600), blocks(2 * 3_600))
}

/// An oxend network type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Network {
    /// The main network.
    Mainnet,
    /// The public test network.
    Testnet,
    /// The developers' network.
    Devnet,
    /// A local developer network.
    Localdev,
    /// The staging network.
    Stagenet,
}

impl FromStr for Network {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "mainnet" => Self::Mainnet,
            "testnet" => Self::Testnet,
            "devnet" => Self::Devnet,
            "localdev" => Self::Localdev,
            "stagenet" => Self::Stagenet,
            _ => return Err(Error::UnknownNetwork { name: s.chars().take(32).collect() }),
        })
    }
}

/// An oxend hard fork (its major version number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HardFork(pub u8);

impl HardFork {
    /// Loki 0.1.
    pub const HF7: Self = Self(7);
    /// Service nodes.
    pub const HF9: Self = Self(9);
    /// Infinite staking.
    pub const HF11: Self = Self(11);
    /// Checkpointing (decommissions).
    pub const HF12: Self = Self(12);
    /// Enforced checkpoints (the integer staking-requirement table).
    pub const HF13: Self = Self(13);
    /// Pulse (maximum stakes, fixed requirement).
    pub const HF16: Self = Self(16);
    /// Reward batching (amount-based registrations, 10 contributors).
    pub const HF19: Self = Self(19);
    /// The ETH transition.
    pub const HF20: Self = Self(20);
    /// SESH on Arbitrum.
    pub const HF21: Self = Self(21);
}

impl fmt::Display for HardFork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HF{}", self.0)
    }
}

/// `(major version, first height)` of each hard fork, as oxend's `hardfork.cpp` lists them.
fn hard_forks(network: Network) -> &'static [(u8, u64)] {
    match network {
        Network::Mainnet => &[
            (7, 0),
            (8, 64_324),
            (9, 101_250),
            (10, 161_849),
            (11, 234_767),
            (12, 321_467),
            (13, 385_824),
            (14, 442_333),
            (15, 496_969),
            (16, 641_111),
            (17, 770_711),
            (18, 785_000),
            (19, 1_080_149),
        ],
        Network::Testnet => &[
            (7, 0),
            (11, 2),
            (12, 3),
            (13, 4),
            (14, 5),
            (15, 6),
            (16, 200),
            (17, 251),
            (18, 252),
            (19, 253),
            (20, 629_500),
            (21, 689_990),
        ],
        Network::Devnet => {
            &[(7, 0), (14, 1), (16, 250), (17, 255), (18, 256), (19, 257), (20, 379), (21, 444)]
        }
        Network::Localdev => {
            &[(7, 0), (14, 1), (16, 40), (17, 45), (18, 46), (19, 47), (20, 170), (21, 171)]
        }
        Network::Stagenet => &[(7, 0), (14, 1), (21, 250)],
    }
}

/// The hard fork in force at `height` (oxend's `get_network_version`).
pub fn network_version(network: Network, height: u64) -> HardFork {
    let mut version = HardFork::HF7;
    for (major, first) in hard_forks(network) {
        if *first <= height {
            version = HardFork(*major);
        } else {
            break;
        }
    }
    version
}

/// The staking requirement oxend sets for `hf` (16 and later): 25,000 SESH on mainnet from
/// HF21 and 20,000 on the test networks; 15,000 OXEN on mainnet before, 100 on test networks.
///
/// # Errors
/// [`Error::UnsupportedHardFork`] before HF16, where the requirement depended on the height.
pub fn staking_requirement_for_hard_fork(network: Network, hf: HardFork) -> Result<u64> {
    if hf < HardFork::HF16 {
        return Err(Error::UnsupportedHardFork { hf: hf.0 });
    }
    Ok(match (hf >= HardFork::HF21, network) {
        (true, Network::Mainnet) => 25_000 * COIN,
        (true, _) => 20_000 * COIN,
        (false, Network::Mainnet) => 15_000 * COIN,
        (false, _) => 100 * COIN,
    })
}

/// The staking requirement at `height` (oxend's `get_default_staking_requirement`): the
/// double-precision halving curve of HF9–HF12, the integer table of HF13–HF15, then the fixed
/// amounts of [`staking_requirement_for_hard_fork`].
pub fn staking_requirement_at_height(network: Network, height: u64) -> u64 {
    let hf = network_version(network, height);
    if let Ok(requirement) = staking_requirement_for_hard_fork(network, hf) {
        return requirement;
    }
    if network != Network::Mainnet {
        return 100 * COIN;
    }
    if hf >= HardFork::HF13 {
        return hf13_table(height);
    }
    let height = height.max(101_250);
    let adjusted = height - 101_250;
    let (base, coefficient) =
        if hf >= HardFork::HF11 { (15_000 * COIN, 25_007) } else { (10_000 * COIN, 35_000) };
    // Every input here is below 385,824 blocks, where the curve stays in range.
    softfloat::curve_requirement(adjusted, base, coefficient).unwrap_or(base)
}

/// HF13's piecewise-linear requirement, with C++'s truncating division for the slope.
fn hf13_table(height: u64) -> u64 {
    const HEIGHTS: [i64; 7] = [385_824, 429_024, 472_224, 515_424, 558_624, 601_824, 645_024];
    const REQUIREMENTS: [i64; 7] = [
        20_458_380_815_527,
        19_332_319_724_305,
        18_438_564_443_912,
        17_729_190_407_764,
        17_166_159_862_153,
        16_719_282_221_956,
        16_364_595_203_882,
    ];
    let h = i64::try_from(height).unwrap_or(i64::MAX);
    let points = HEIGHTS.iter().zip(REQUIREMENTS);
    let segments = points.clone().zip(points.skip(1));
    for ((h0, r0), (h1, r1)) in segments {
        if h < *h1 {
            let slope = (r1 - r0) / (h1 - h0);
            return u64::try_from(r0 + (h - h0) * slope).unwrap_or(0);
        }
    }
    16_364_595_203_882
}

/// `⌊req / 4⌋`, oxend's operator minimum (`MINIMUM_OPERATOR_CONTRIBUTION`).
pub const fn minimum_operator_contribution(staking_requirement: u64) -> u64 {
    staking_requirement / 4
}

/// `req − reserved`, which oxend computes in wrapping u64 arithmetic.
fn needed(staking_requirement: u64, total_reserved: u64) -> Result<u64> {
    staking_requirement.checked_sub(total_reserved).ok_or(Error::ReservedExceedsRequirement {
        reserved: total_reserved,
        requirement: staking_requirement,
    })
}

/// The least a contributor may stake (oxend's `get_min_node_contribution`): before HF11
/// `min(needed, req/4)`; from HF11 `needed / (max − n)` with 4 slots, 10 from HF19; `Some(1)`
/// from HF21, where the contract enforces the real minimum ([`crate::contract`]). `None` when
/// no slot is left (oxend's `UINT64_MAX`).
///
/// # Errors
/// [`Error::ReservedExceedsRequirement`] when more is reserved than required, where oxend's
/// subtraction wraps round.
pub fn min_node_contribution(
    hf: HardFork,
    staking_requirement: u64,
    total_reserved: u64,
    contributions: usize,
) -> Result<Option<u64>> {
    let needed = needed(staking_requirement, total_reserved)?;
    if hf < HardFork::HF11 {
        return Ok(Some(needed.min(staking_requirement / MAX_CONTRIBUTORS_V1 as u64)));
    }
    let max = if hf >= HardFork::HF19 { MAX_CONTRIBUTORS_HF19 } else { MAX_CONTRIBUTORS_V1 };
    if contributions >= max {
        return Ok(None);
    }
    if hf >= HardFork::HF21 {
        return Ok(Some(1));
    }
    Ok(Some(needed / (max - contributions) as u64))
}

/// [`min_node_contribution`] in portions ([`portions_to_make_amount`] of it).
///
/// # Errors
/// As [`min_node_contribution`] and [`portions_to_make_amount`].
pub fn min_node_contribution_in_portions(
    hf: HardFork,
    staking_requirement: u64,
    total_reserved: u64,
    contributions: usize,
) -> Result<Option<u64>> {
    match min_node_contribution(hf, staking_requirement, total_reserved, contributions)? {
        None => Ok(None),
        Some(amount) => portions_to_make_amount(staking_requirement, amount, PORTIONS).map(Some),
    }
}

/// The most one stake may be (oxend's `get_max_node_contribution`): from HF16 what is left plus
/// 1 %, `(req − reserved) · 101 / 100`; unlimited (`None`) before.
///
/// # Errors
/// [`Error::ReservedExceedsRequirement`] as in [`min_node_contribution`], and
/// [`Error::Overflow`] where oxend multiplies by 101 in 64 bits and wraps (requirements above
/// about 182,641 million OXEN).
pub fn max_node_contribution(
    hf: HardFork,
    staking_requirement: u64,
    total_reserved: u64,
) -> Result<Option<u64>> {
    if hf < HardFork::HF16 {
        return Ok(None);
    }
    let needed = needed(staking_requirement, total_reserved)?;
    let times_101 = needed
        .checked_mul(101)
        .ok_or(Error::Overflow { what: "(requirement − reserved) · 101" })?;
    Ok(Some(times_101 / 100))
}

/// `⌊a · b / c⌋` with a 128-bit product (oxend's `mul128_div64`).
///
/// # Errors
/// [`Error::DivisionByZero`] for `c = 0`; [`Error::Overflow`] when the quotient needs more than
/// 64 bits, where oxend keeps only its low half.
pub fn mul_div(a: u64, b: u64, c: u64) -> Result<u64> {
    if c == 0 {
        return Err(Error::DivisionByZero { what: "mul_div divisor" });
    }
    u64::try_from(u128::from(a) * u128::from(b) / u128::from(c))
        .map_err(|_| Error::Overflow { what: "a · b / c" })
}

/// The atomic amount of `portions` of a stake (oxend's `portions_to_amount`).
///
/// # Errors
/// As [`mul_div`] (only for more than [`PORTIONS`] portions of a near-2^64 requirement).
pub fn portions_to_amount(portions: u64, staking_requirement: u64) -> Result<u64> {
    mul_div(staking_requirement, portions, PORTIONS)
}

/// The portions needed to make `amount`: `⌈amount · max_portions / req⌉` (oxend's
/// `get_portions_to_make_amount`).
///
/// # Errors
/// [`Error::DivisionByZero`] for a zero requirement; [`Error::Overflow`] when the quotient needs
/// more than 64 bits (oxend returns its low 64 bits).
pub fn portions_to_make_amount(
    staking_requirement: u64,
    amount: u64,
    max_portions: u64,
) -> Result<u64> {
    if staking_requirement == 0 {
        return Err(Error::DivisionByZero { what: "staking requirement" });
    }
    let numerator =
        u128::from(amount) * u128::from(max_portions) + u128::from(staking_requirement - 1);
    u64::try_from(numerator / u128::from(staking_requirement))
        .map_err(|_| Error::Overflow { what: "portions to make amount" })
}

/// oxend's HF19+ check of an amount-based registration (`check_service_node_stakes`): at most
/// 10 stakes; the operator's at least `req/4`; each further one at least the minimum given what
/// is reserved before it, and none more than what is left; from HF21 the stakes must fill the
/// requirement exactly. Amount-based registrations do not exist before HF19.
///
/// # Errors
/// [`Error::TxRejected`] naming the rule broken.
pub fn check_stakes(hf: HardFork, staking_requirement: u64, stakes: &[u64]) -> Result<()> {
    let reject = |reason| Err(Error::TxRejected { reason });
    if hf < HardFork::HF19 {
        return reject(Rejection::NotInThisEra { what: "amount-based registration before HF19" });
    }
    if stakes.len() > MAX_CONTRIBUTORS_HF19 {
        return reject(Rejection::TooManyContributors {
            count: stakes.len(),
            max: MAX_CONTRIBUTORS_HF19,
        });
    }
    let mut reserved = 0u64;
    let mut remaining = staking_requirement;
    for (index, stake) in stakes.iter().enumerate() {
        let minimum = if index == 0 {
            minimum_operator_contribution(staking_requirement)
        } else {
            min_node_contribution(hf, staking_requirement, reserved, index)?.unwrap_or(u64::MAX)
        };
        if *stake < minimum {
            return reject(Rejection::StakeBelowMinimum { index, amount: *stake, minimum });
        }
        if *stake > remaining {
            return reject(Rejection::StakeAboveRemaining { index, amount: *stake, remaining });
        }
        reserved += stake;
        remaining -= stake;
    }
    if hf >= HardFork::HF21 && remaining != 0 {
        return reject(Rejection::RegistrationNotFull {
            contributed: reserved,
            requirement: staking_requirement,
        });
    }
    Ok(())
}

/// oxend's check of a pre-HF19 portion-based registration (`check_service_node_portions`),
/// with HF18's rules at HF19 and none after.
///
/// # Errors
/// [`Error::TxRejected`] naming the rule broken.
pub fn check_portions(hf: HardFork, portions: &[u64]) -> Result<()> {
    let reject = |reason| Err(Error::TxRejected { reason });
    let hf = match hf {
        HardFork::HF19 => HardFork(18),
        hf if hf > HardFork::HF19 => {
            return reject(Rejection::NotInThisEra {
                what: "portion-based registration after HF19",
            });
        }
        hf => hf,
    };
    if portions.len() > MAX_CONTRIBUTORS_V1 {
        return reject(Rejection::TooManyContributors {
            count: portions.len(),
            max: MAX_CONTRIBUTORS_V1,
        });
    }
    let mut reserved = 0u64;
    let mut remaining = PORTIONS;
    for (index, share) in portions.iter().enumerate() {
        let minimum = min_node_contribution(hf, PORTIONS, reserved, index)?.unwrap_or(u64::MAX);
        if *share < minimum {
            return reject(Rejection::StakeBelowMinimum { index, amount: *share, minimum });
        }
        if *share > remaining {
            return reject(Rejection::StakeAboveRemaining { index, amount: *share, remaining });
        }
        reserved += share;
        remaining -= share;
    }
    Ok(())
}

/// The credit a node gets back on recommission: what it had when decommissioned, less two
/// blocks for every block it was down, never below 0 (`RECOMMISSION_CREDIT`).
pub const fn recommission_credit(credit_at_decommission: i64, blocks_down: i64) -> i64 {
    let credit = credit_at_decommission.saturating_sub(blocks_down.saturating_mul(2));
    if credit > 0 { credit } else { 0 }
}

/// What oxend's credit computation reads of a node record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditInfo {
    /// Height it became active; negated while decommissioned.
    pub active_since_height: i64,
    /// Height of the last decommission.
    pub last_decommission_height: u64,
    /// Credit at the start of the current active period.
    pub recommission_credit: i64,
    /// Sum of contributions.
    pub total_contributed: u64,
    /// The node's staking requirement.
    pub staking_requirement: u64,
}

impl CreditInfo {
    pub(crate) fn is_decommissioned(&self) -> bool {
        self.active_since_height < 0
    }
}

/// Decommission credit in blocks at `height` (oxend's `calculate_decommission_credit`): the
/// credit at the last recommission plus 24 blocks per 720 up, at most 1440 (in 2-minute
/// blocks), less the blocks of the current downtime.
pub fn decommission_credit(network: Network, info: &CreditInfo, height: u64) -> i64 {
    crate::node::credit(info, height, &credit_params(network))
}

/// [`decommission_credit`] with any credit schedule, told whether the node is decommissioned
/// instead of reading it from the sign of `active_since_height` (whose magnitude is then the
/// start of the active period): oxend's signed form cannot tell a node active since height 0
/// from one decommissioned after it, which a chain that starts at 0 has.
pub fn decommission_credit_with(
    params: &CreditParams,
    info: &CreditInfo,
    decommissioned: bool,
    height: u64,
) -> i64 {
    crate::node::credit_as(info, decommissioned, height, params)
}

/// oxend's credit schedule for `network`, as the ledger's [`CreditParams`].
pub fn credit_params(network: Network) -> CreditParams {
    let (per_day, blocks_per_day, max, decommission_minimum) = credit_schedule(network);
    CreditParams {
        initial: decommission_minimum,
        per_day,
        blocks_per_day,
        max,
        decommission_minimum,
    }
}

/// What a validator votes for a node that fails its tests, given its credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailingVote {
    /// Active with at least [`DECOMMISSION_MINIMUM`]: decommission.
    Decommission,
    /// Active with less, or decommissioned with negative credit: deregister.
    Deregister,
    /// Decommissioned with credit left: wait.
    Abstain,
}

/// The vote oxend's quorum casts for a failing node (`service_node_quorum_cop.cpp`).
pub fn vote_if_failing(network: Network, info: &CreditInfo, credit: i64) -> FailingVote {
    let (_, _, _, minimum) = credit_schedule(network);
    failing_vote(info.is_decommissioned(), credit, minimum)
}

/// [`vote_if_failing`] with any decommission minimum (the ledger's
/// [`CreditParams::decommission_minimum`]), told whether the node is decommissioned.
pub const fn failing_vote(decommissioned: bool, credit: i64, minimum: i64) -> FailingVote {
    match (decommissioned, credit) {
        (true, c) if c >= 0 => FailingVote::Abstain,
        (true, _) => FailingVote::Deregister,
        (false, c) if c >= minimum => FailingVote::Decommission,
        (false, _) => FailingVote::Deregister,
    }
}

/// The fields a recommission sets, and the two values it is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommission {
    /// The credit the node had when it was decommissioned.
    pub credit_at_decommission: i64,
    /// Blocks it was down.
    pub blocks_down: i64,
    /// Its new `recommission_credit`.
    pub recommission_credit: i64,
    /// Its new `active_since_height`.
    pub active_since_height: i64,
}

/// oxend's recommission of a decommissioned node at `height`.
pub fn recommission(network: Network, info: &CreditInfo, height: u64) -> Recommission {
    let credit_at_decommission = decommission_credit(network, info, info.last_decommission_height);
    let as_i64 = |h: u64| i64::try_from(h).unwrap_or(i64::MAX);
    let blocks_down = as_i64(height).saturating_sub(as_i64(info.last_decommission_height));
    Recommission {
        credit_at_decommission,
        blocks_down,
        recommission_credit: recommission_credit(credit_at_decommission, blocks_down),
        active_since_height: as_i64(height),
    }
}

/// oxend's decommission at `height`: `(active_since_height, last_decommission_height)` after it.
pub fn decommission(info: &CreditInfo, height: u64) -> (i64, u64) {
    (info.active_since_height.saturating_neg(), height)
}

/// A fee percentage as oxend parses it (an IEEE double in `0..=100`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeePercent(softfloat::Percent);

impl FeePercent {
    /// The IEEE-754 bit pattern of the parsed double.
    pub fn to_bits(self) -> u64 {
        self.0.to_bits()
    }

    /// The fee in basis points, as oxend's `percent_to_basis_points` rounds it.
    pub fn basis_points(self) -> u16 {
        self.0.basis_points()
    }
}

/// oxend's `parse_fee_percent`: an optional `%`, then a number `boost::lexical_cast<double>`
/// accepts, from 0 to 100.
///
/// # Errors
/// [`Error::FeeSyntax`], [`Error::FeeOutOfRange`], and [`Error::FeeNotANumber`] for `nan`,
/// which oxend accepts (its range check is two comparisons that NaN passes).
pub fn parse_fee_percent(text: &str) -> Result<FeePercent> {
    softfloat::parse_percent(text).map(FeePercent).map_err(|e| {
        let input = text.chars().take(40).collect();
        match e {
            softfloat::PercentError::Syntax => Error::FeeSyntax { input },
            softfloat::PercentError::NotANumber => Error::FeeNotANumber,
            softfloat::PercentError::OutOfRange => Error::FeeOutOfRange { input },
        }
    })
}

/// oxend's `percent_to_basis_points`: [`parse_fee_percent`], then rounded to basis points.
///
/// # Errors
/// As [`parse_fee_percent`].
pub fn percent_to_basis_points(text: &str) -> Result<u16> {
    parse_fee_percent(text).map(FeePercent::basis_points)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §2.2.1's test heights, exact.
    #[test]
    fn staking_requirement_by_height() {
        for (height, want) in [
            (100, 45_000 * COIN),
            (101_250, 45_000 * COIN),
            (373_200, 20_839_644_149_350),
            (450_000, 18_898_351_896_001),
            (641_110, 16_396_730_529_714),
            (641_111, 15_000 * COIN),
            (800_000, 15_000 * COIN),
        ] {
            assert_eq!(
                staking_requirement_at_height(Network::Mainnet, height),
                want,
                "height {height}"
            );
        }
    }

    /// The HF19 example of spec §2.2.2 and the wrap-around oxend has in its maximum.
    #[test]
    fn contribution_bounds() {
        let req = 15_000 * COIN;
        assert_eq!(min_node_contribution(HardFork::HF19, req, req / 4, 1), Ok(Some(1_250 * COIN)));
        assert_eq!(
            max_node_contribution(HardFork::HF19, req, req / 4),
            Ok(Some(11_362_500_000_000))
        );
        assert_eq!(min_node_contribution(HardFork::HF19, req, 0, 10), Ok(None));
        assert_eq!(max_node_contribution(HardFork(15), req, 0), Ok(None));
        assert!(matches!(
            max_node_contribution(HardFork::HF16, 182_641_030_432_767_838, 0),
            Err(Error::Overflow { .. })
        ));
        assert!(matches!(
            min_node_contribution(HardFork::HF19, 10, 11, 1),
            Err(Error::ReservedExceedsRequirement { reserved: 11, requirement: 10 })
        ));
    }

    /// Spec §2.4's credit examples.
    #[test]
    fn credits() {
        let info = CreditInfo {
            active_since_height: 1_000,
            last_decommission_height: 0,
            recommission_credit: 60,
            total_contributed: 1,
            staking_requirement: 1,
        };
        assert_eq!(decommission_credit(Network::Mainnet, &info, 1_000 + 21_600), 780);
        assert_eq!(decommission_credit(Network::Mainnet, &info, 1_000 + 41_400), 1_440);
        // localdev's 5-second blocks: the same 1/30 rate, a cap of 48 hours = 34,560 blocks.
        assert_eq!(decommission_credit(Network::Localdev, &info, 1_000 + 2_000_000), 34_560);
        assert_eq!(recommission_credit(1_000, 100), 800);
        assert_eq!(recommission_credit(1_000, 500), 0);
        assert_eq!(vote_if_failing(Network::Mainnet, &info, 60), FailingVote::Decommission);
        assert_eq!(vote_if_failing(Network::Localdev, &info, 60), FailingVote::Deregister);
        assert_eq!(vote_if_failing(Network::Mainnet, &info, 59), FailingVote::Deregister);
        let down =
            CreditInfo { active_since_height: -1_000, last_decommission_height: 5_000, ..info };
        assert_eq!(vote_if_failing(Network::Mainnet, &down, 0), FailingVote::Abstain);
        assert_eq!(vote_if_failing(Network::Mainnet, &down, -1), FailingVote::Deregister);
    }

    /// The fee strings the vectors' README singles out, and the refusals.
    #[test]
    fn fee_percentages() {
        assert_eq!(percent_to_basis_points("0.005"), Ok(1));
        assert_eq!(percent_to_basis_points("99.995"), Ok(10_000));
        assert_eq!(percent_to_basis_points("1e1"), Ok(1_000));
        assert_eq!(percent_to_basis_points("100%"), Ok(10_000));
        assert_eq!(percent_to_basis_points("5.55555"), Ok(556));
        assert_eq!(percent_to_basis_points("+.5"), Ok(50));
        assert_eq!(percent_to_basis_points("nan"), Err(Error::FeeNotANumber));
        assert!(matches!(percent_to_basis_points("100.5"), Err(Error::FeeOutOfRange { .. })));
        assert!(matches!(percent_to_basis_points("-inf"), Err(Error::FeeOutOfRange { .. })));
        for bad in ["", "%", " 5", "5 ", "1e", "0x10", "5..", "1,5", "--5", "e5"] {
            assert!(
                matches!(percent_to_basis_points(bad), Err(Error::FeeSyntax { .. })),
                "{bad:?}"
            );
        }
    }
}
