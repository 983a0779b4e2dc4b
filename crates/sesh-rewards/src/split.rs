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
    Divisor::new(c).mul_div(a, b)
}

/// A divisor prepared for many divisions: `⌊a · b / d⌋` by a multiplication with the
/// reciprocal `⌊(2^128 − 1) / d⌋` and at most a few corrections (Granlund and Montgomery,
/// "Division by invariant integers using multiplication"), exact for every input. The engines
/// divide by the same stake sums and by [`PORTIONS`] every block: a 128-bit division costs
/// several times a multiplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Divisor {
    d: u64,
    reciprocal: u128,
}

/// [`PORTIONS`], prepared.
pub(crate) const PORTIONS_DIVISOR: Divisor = Divisor::new(PORTIONS);

impl Divisor {
    /// Prepares `d` (one 128-bit division). Dividing by 0 gives 0, as oxend's callers never do.
    pub(crate) const fn new(d: u64) -> Self {
        let reciprocal = if d == 0 { 0 } else { u128::MAX / d as u128 };
        Self { d, reciprocal }
    }

    /// `⌊a · b / d⌋`, or `u64::MAX` if it does not fit (never, where `a ≤ d` or `b ≤ d`).
    pub(crate) fn mul_div(self, a: u64, b: u64) -> u64 {
        if self.d == 0 {
            return 0;
        }
        let (x, d) = (u128::from(a) * u128::from(b), u128::from(self.d));
        // The reciprocal is below 2^128/d by less than 1, so `q` is ⌊x/d⌋ or at most 2 below;
        // `q·d ≤ x`, so nothing overflows.
        let mut q = mul_high(x, self.reciprocal);
        let mut r = x - q * d;
        while r >= d {
            q += 1;
            r -= d;
        }
        u64::try_from(q).unwrap_or(u64::MAX)
    }
}

/// The high 128 bits of the 256-bit product `x · y`.
fn mul_high(x: u128, y: u128) -> u128 {
    const LOW: u128 = u64::MAX as u128;
    let (x0, x1, y0, y1) = (x & LOW, x >> 64, y & LOW, y >> 64);
    let (p00, p01, p10, p11) = (x0 * y0, x0 * y1, x1 * y0, x1 * y1);
    let middle = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64)
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
    let total = Divisor::new(stake_sum(amounts.iter().copied()));
    let (fee, dust) = split_prepared(share, portions, total, amounts.iter().copied(), |_, c| {
        contributors.push(c)
    });
    Split { fee, contributors, dust }
}

/// The sum of the stakes, the divisor of every contributor's share (saturating: never reached,
/// a node's stakes sum to its requirement).
pub(crate) fn stake_sum(amounts: impl Iterator<Item = u64>) -> u64 {
    amounts.fold(0u64, u64::saturating_add)
}

/// [`split_node`] with the stakes' sum prepared and without allocating: calls `credit(i, amount)`
/// for each contributor in order and returns `(fee, dust)`. The reward engines run it on every
/// payable node of every block.
pub(crate) fn split_prepared(
    share: u64,
    portions: u64,
    total: Divisor,
    amounts: impl Iterator<Item = u64>,
    mut credit: impl FnMut(usize, u64),
) -> (u64, u64) {
    let fee = PORTIONS_DIVISOR.mul_div(portions, share);
    let rest = share - fee.min(share);
    let mut credited = fee;
    for (i, a) in amounts.enumerate() {
        let c = total.mul_div(a, rest);
        credited = credited.saturating_add(c);
        credit(i, c);
    }
    (fee, share.saturating_sub(credited))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: u64, b: u64, d: u64) -> u64 {
        u64::try_from(u128::from(a) * u128::from(b) / u128::from(d)).unwrap_or(u64::MAX)
    }

    #[test]
    fn prepared_division_is_exact_at_the_edges() {
        let edges = [
            0u64,
            1,
            2,
            3,
            999,
            1_000,
            (1 << 32) - 1,
            1 << 32,
            (1 << 63) - 1,
            1 << 63,
            PORTIONS - 1,
            PORTIONS,
            u64::MAX - 1,
            u64::MAX,
        ];
        for d in edges.into_iter().filter(|d| *d > 0) {
            let div = Divisor::new(d);
            for a in edges {
                for b in edges {
                    assert_eq!(div.mul_div(a, b), naive(a, b, d), "{a} * {b} / {d}");
                }
            }
        }
        assert_eq!(Divisor::new(0).mul_div(5, 7), 0);
    }

    #[test]
    fn prepared_division_is_exact_on_random_operands() {
        // A fixed xorshift stream: shapes from tiny to full width, divisors alike.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let (x, y, z, w) = (next(), next(), next(), next());
            let d = (z >> (w % 64)).max(1);
            let (a, b) = (x >> ((w >> 8) % 64), y >> ((w >> 16) % 64));
            assert_eq!(Divisor::new(d).mul_div(a, b), naive(a, b, d), "{a} * {b} / {d}");
        }
    }
}
