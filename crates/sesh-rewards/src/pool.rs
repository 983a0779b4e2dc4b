//! Emission: the SESH reward pool's release rule (`RewardRatePool.sol`) and the app-chain's block
//! reward derived from it (spec §3.4.1–§3.4.2). All integer.
//!
//! ```
//! use sesh_rewards::pool::{BlockRewards, RewardRatePool, INITIAL_BLOCK_REWARD};
//!
//! // 40 M SESH in the pool: 22.98 SESH per 2-minute block.
//! let pool = RewardRatePool::new(40_000_000 * 1_000_000_000, 0);
//! assert_eq!(pool.reward_rate(0), INITIAL_BLOCK_REWARD);
//!
//! // The chain pays the least L2 reward of the last 15 blocks.
//! let mut chain = BlockRewards::new();
//! let block = chain.next_block(INITIAL_BLOCK_REWARD)?;
//! assert_eq!(block.reward, INITIAL_BLOCK_REWARD);
//! # Ok::<(), sesh_rewards::Error>(())
//! ```

use std::collections::VecDeque;

use crate::error::{Error, Result};

/// The simple annual payout rate, in tenths of a percent: 15.1 %.
pub const ANNUAL_SIMPLE_PAYOUT_RATE: u128 = 151;
/// Its denominator.
pub const RATE_DENOMINATOR: u128 = 1000;
/// Seconds in the contract's year (365 days).
pub const YEAR_SECONDS: u128 = 365 * 86_400;
/// Seconds per app-chain block.
pub const BLOCK_SECONDS: u64 = 120;
/// `ETH_BLS_INITIAL_REWARD`: the reward rate of a 40 M SESH pool, 22,983,257,229 atomic.
pub const INITIAL_BLOCK_REWARD: u64 = 22_983_257_229;
/// A block's L2 reward may rise by at most `prev / 50000` …
pub const MAX_INCREASE_DIVISOR: u64 = 50_000;
/// … and fall by at most `prev / 25000`.
pub const MAX_DECREASE_DIVISOR: u64 = 25_000;
/// The block reward is the least L2 reward of this many previous blocks.
pub const CONSENSUS_BLOCKS: usize = 15;

/// `⌊balance · 151 · dt / (1000 · 31,536,000)⌋`: what `balance` releases in `dt` seconds.
pub fn payout(balance: u128, dt_seconds: u64) -> u128 {
    balance.saturating_mul(ANNUAL_SIMPLE_PAYOUT_RATE).saturating_mul(u128::from(dt_seconds))
        / (RATE_DENOMINATOR * YEAR_SECONDS)
}

/// The pool contract's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewardRatePool {
    balance: u128,
    total_paid_out: u128,
    last_paid_out_time: u64,
}

impl RewardRatePool {
    /// A pool holding `balance`, last paid out at `now` (seconds).
    pub fn new(balance: u128, now: u64) -> Self {
        Self { balance, total_paid_out: 0, last_paid_out_time: now }
    }

    /// Tokens held (not yet released).
    pub fn balance(&self) -> u128 {
        self.balance
    }

    /// Released so far.
    pub fn total_paid_out(&self) -> u128 {
        self.total_paid_out
    }

    /// Adds tokens to the pool (e.g. re-minted fees).
    pub fn deposit(&mut self, amount: u128) {
        self.balance = self.balance.saturating_add(amount);
    }

    /// `calculateReleasedAmount()`: paid out so far plus what the balance released since.
    pub fn released(&self, now: u64) -> u128 {
        self.total_paid_out + payout(self.balance, now.saturating_sub(self.last_paid_out_time))
    }

    /// `payoutReleased()`: moves what was released to the beneficiary; returns the amount.
    pub fn payout_released(&mut self, now: u64) -> u128 {
        let released = self.released(now) - self.total_paid_out;
        self.balance -= released.min(self.balance);
        self.total_paid_out += released;
        self.last_paid_out_time = now;
        released
    }

    /// `rewardRate()`: what the still-unreleased balance releases in one block.
    pub fn reward_rate(&self, now: u64) -> u64 {
        let deposited = self.balance + self.total_paid_out;
        let unreleased = deposited.saturating_sub(self.released(now));
        u64::try_from(payout(unreleased, BLOCK_SECONDS)).unwrap_or(u64::MAX)
    }
}

/// The range a block's L2 reward must fall in, given the previous block's:
/// `[prev − ⌊prev/25000⌋, prev + ⌊prev/50000⌋]`.
pub fn l2_reward_range(previous: u64) -> (u64, u64) {
    (
        previous - previous / MAX_DECREASE_DIVISOR,
        previous.saturating_add(previous / MAX_INCREASE_DIVISOR),
    )
}

/// A producer's L2 reward: the pool's rate clamped to [`l2_reward_range`].
pub fn clamp_l2_reward(rate: u64, previous: u64) -> u64 {
    let (min, max) = l2_reward_range(previous);
    rate.clamp(min, max)
}

/// One block's rewards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockReward {
    /// The L2 reward the block carries (for the blocks after it).
    pub l2_reward: u64,
    /// What the block pays: the least L2 reward of the previous 15 blocks.
    pub reward: u64,
}

/// The app-chain's reward state: the previous L2 reward and the last 15.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRewards {
    previous: u64,
    recent: VecDeque<u64>,
}

impl Default for BlockRewards {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockRewards {
    /// The state at the first HF21 block: previous = [`INITIAL_BLOCK_REWARD`], no history.
    pub fn new() -> Self {
        Self { previous: INITIAL_BLOCK_REWARD, recent: VecDeque::with_capacity(CONSENSUS_BLOCKS) }
    }

    /// What the next block pays: the least L2 reward of the previous 15, or
    /// [`INITIAL_BLOCK_REWARD`] while there are fewer than 15.
    pub fn current_reward(&self) -> u64 {
        if self.recent.len() < CONSENSUS_BLOCKS {
            return INITIAL_BLOCK_REWARD;
        }
        self.recent.iter().copied().min().unwrap_or(INITIAL_BLOCK_REWARD)
    }

    /// A producer's next block from the pool's `rate`: its L2 reward clamped, its reward.
    ///
    /// # Errors
    /// Never for a clamped rate; kept for symmetry with [`accept`](Self::accept).
    pub fn next_block(&mut self, rate: u64) -> Result<BlockReward> {
        self.accept(clamp_l2_reward(rate, self.previous))
    }

    /// A validator's check of a block carrying `l2_reward`; records it.
    ///
    /// # Errors
    /// [`Error::L2RewardOutOfRange`] if it is outside the clamp (the block is invalid).
    pub fn accept(&mut self, l2_reward: u64) -> Result<BlockReward> {
        let (min, max) = l2_reward_range(self.previous);
        if !(min..=max).contains(&l2_reward) {
            return Err(Error::L2RewardOutOfRange { proposed: l2_reward, min, max });
        }
        let reward = self.current_reward();
        if self.recent.len() == CONSENSUS_BLOCKS {
            self.recent.pop_front();
        }
        self.recent.push_back(l2_reward);
        self.previous = l2_reward;
        Ok(BlockReward { l2_reward, reward })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESH: u128 = 1_000_000_000;

    /// The spec's RewardRatePool figures (§3.4.1, §6.4 item 7).
    #[test]
    fn pool_figures() {
        assert_eq!(payout(100_000 * SESH, 365 * 86_400), 15_100 * SESH);
        assert_eq!(payout(84_900 * SESH, 365 * 86_400), 12_819_900_000_000);
        // Daily payouts for a year release 14.017916502388 %, monthly 14.097571610714 %.
        for (step, times, want) in
            [(86_400u64, 365, 14_017_916_502_388u128), (2_628_000, 12, 14_097_571_610_714)]
        {
            let mut pool = RewardRatePool::new(100_000 * SESH, 0);
            let mut now = 0;
            for _ in 0..times {
                now += step;
                pool.payout_released(now);
            }
            assert_eq!(pool.total_paid_out(), want);
        }
        assert_eq!(RewardRatePool::new(40_000_000 * SESH, 0).reward_rate(0), INITIAL_BLOCK_REWARD);
    }

    #[test]
    fn clamp_range() {
        assert_eq!(l2_reward_range(INITIAL_BLOCK_REWARD), (22_982_337_899, 22_983_716_894));
        assert_eq!(clamp_l2_reward(u64::MAX, INITIAL_BLOCK_REWARD), 22_983_716_894);
        assert_eq!(clamp_l2_reward(0, INITIAL_BLOCK_REWARD), 22_982_337_899);
    }

    /// The block reward is the minimum of the last 15 L2 rewards, and the initial constant for
    /// the first 15 blocks; a spike must persist 15 blocks before it is paid.
    #[test]
    fn minimum_of_fifteen() {
        let mut chain = BlockRewards::new();
        let mut paid = Vec::new();
        for _ in 0..40 {
            paid.push(chain.next_block(u64::MAX).unwrap().reward);
        }
        assert!(paid[..15].iter().all(|r| *r == INITIAL_BLOCK_REWARD));
        // Block 15 pays the least of blocks 0..15, i.e. block 0's L2 reward.
        assert_eq!(paid[15], 22_983_716_894);
        assert!(paid.windows(2).all(|w| w[1] >= w[0]));
        assert!(chain.accept(0).is_err());
    }
}
