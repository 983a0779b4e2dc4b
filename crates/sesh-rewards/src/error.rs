//! The one error type of this crate.

/// What went wrong. Every variant names the value at fault and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A block reward whose milli-atomic amount does not fit in 64 bits (oxend: "Reward
    /// distribution amount is too large").
    #[error(
        "block reward {reward} atomic is too large: at most 18446744073709551 (2^64−1 milli-atomic)"
    )]
    RewardTooLarge {
        /// The reward, atomic units.
        reward: u64,
    },
    /// A block's L2 reward outside the clamp around the previous block's.
    #[error("L2 reward {proposed} is outside [{min}, {max}] around the previous block's")]
    L2RewardOutOfRange {
        /// The reward proposed.
        proposed: u64,
        /// The least allowed.
        min: u64,
        /// The most allowed.
        max: u64,
    },
    /// A balance update that does not raise the recorded balance.
    #[error("balance update to {proposed} does not exceed the recorded {current}")]
    BalanceNotIncreasing {
        /// Recorded balance.
        current: u128,
        /// Proposed balance.
        proposed: u128,
    },
    /// Too few valid committee signatures on a balance update.
    #[error("{got} valid signatures from the committee, {needed} needed")]
    NotEnoughSignatures {
        /// Valid signatures.
        got: usize,
        /// Needed.
        needed: usize,
    },
    /// A claim of more than the unclaimed balance.
    #[error("claim of {requested} exceeds the unclaimed {available}")]
    ClaimExceedsBalance {
        /// Requested.
        requested: u128,
        /// Available.
        available: u128,
    },
    /// A claim that would exceed the network-wide cap of this cycle.
    #[error(
        "claim of {requested} would exceed the cycle's cap {cap} ({claimed} already claimed); retry next cycle"
    )]
    ClaimCapExceeded {
        /// Requested.
        requested: u128,
        /// Claimed this cycle.
        claimed: u128,
        /// The cap.
        cap: u128,
    },
    /// A claim of nothing.
    #[error("nothing to claim")]
    NothingToClaim,
    /// Service weights that do not fit the arithmetic.
    #[error("service weights overflow: {what}")]
    WeightOverflow {
        /// What overflowed.
        what: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
