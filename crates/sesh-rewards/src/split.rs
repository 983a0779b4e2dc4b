//! oxend's per-block split of a node's reward (spec §3.4.3; `db_sqlite.cpp` `reward_handler`
//! and `add_rewards`), in milli-atomic units, to the unit.
//!
//! ```
//! use sesh_rewards::split::{block_share, portions_for_operator, split_node};
//!
//! // Spec §3.4.3: 22,983,257,229 atomic over 1000 nodes; fee 10 %; stakes 6,250/12,500/6,250.
//! let (share, remainder) = block_share(22_983_257_229, 1000)?;
//! assert_eq!((share, remainder), (22_983_257_229, 0));
//! let split = split_node(share, portions_for_operator(1000), &[6_250_000_000_000, 12_500_000_000_000, 6_250_000_000_000]);
//! assert_eq!(split.fee, 2_298_325_722);
//! assert_eq!(split.contributors, [5_171_232_876, 10_342_465_753, 5_171_232_876]);
//! assert_eq!(split.dust, 2);
//! # Ok::<(), sesh_rewards::Error>(())
//! ```

use crate::error::{Error, Result};

/// oxend's `STAKING_PORTIONS`, `2^64 − 4`.
pub const PORTIONS: u64 = 0xffff_ffff_ffff_fffc;
/// Milli-atomic units per atomic unit: the accrual database's unit.
pub const MILLI: u64 = 1000;

/// `⌊a · b / c⌋` with a 128-bit intermediate (oxend's `mul128_div64`); `c` is never 0 here, and
/// the quotient fits because `b ≤ c` at every call.
fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    if c == 0 {
        return 0;
    }
    u64::try_from(u128::from(a) * u128::from(b) / u128::from(c)).unwrap_or(u64::MAX)
}

/// The operator fee in portions, `mul_div(fee_bp, PORTIONS, 10000)`.
pub fn portions_for_operator(fee_bp: u16) -> u64 {
    mul_div(u64::from(fee_bp.min(10_000)), PORTIONS, 10_000)
}

/// Each payable node's share of a block, `⌊reward · 1000 / n⌋` milli-atomic, and the remainder
/// nobody is credited. With no payable node nothing is credited: `(0, reward · 1000)`.
///
/// # Errors
/// [`Error::RewardTooLarge`] when `reward · 1000` overflows 64 bits, as oxend refuses it.
pub fn block_share(reward: u64, payable: u64) -> Result<(u64, u64)> {
    let milli = reward.checked_mul(MILLI).ok_or(Error::RewardTooLarge { reward })?;
    if payable == 0 {
        return Ok((0, milli));
    }
    let share = milli / payable;
    Ok((share, milli - share * payable))
}

/// How one node's share is split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The operator fee, credited to contributor 0's beneficiary.
    pub fee: u64,
    /// Each contributor's share, in contributor order (0 is the operator's stake share).
    pub contributors: Vec<u64>,
    /// What rounding left uncredited.
    pub dust: u64,
}

/// oxend's `add_rewards`: fee `mul_div(portions, share, PORTIONS)`, then each contributor
/// `mul_div(amount_i, share − fee, Σ amounts)` (the sum of the amounts, not the requirement).
pub fn split_node(share: u64, portions: u64, amounts: &[u64]) -> Split {
    let mut contributors = Vec::with_capacity(amounts.len());
    let (fee, dust) =
        split_node_with(share, portions, amounts.iter().copied(), |_, c| contributors.push(c));
    Split { fee, contributors, dust }
}

/// [`split_node`] without allocating: calls `credit(i, amount)` for each contributor in order
/// and returns `(fee, dust)`. The reward engines use it on every payable node of every block.
pub(crate) fn split_node_with<I>(
    share: u64,
    portions: u64,
    amounts: I,
    mut credit: impl FnMut(usize, u64),
) -> (u64, u64)
where
    I: Iterator<Item = u64> + Clone,
{
    let fee = mul_div(portions, share, PORTIONS);
    let rest = share - fee.min(share);
    let total: u64 = amounts.clone().fold(0u64, |sum, a| sum.saturating_add(a));
    let mut credited = fee;
    for (i, a) in amounts.enumerate() {
        let c = mul_div(a, rest, total);
        credited = credited.saturating_add(c);
        credit(i, c);
    }
    (fee, share.saturating_sub(credited))
}
