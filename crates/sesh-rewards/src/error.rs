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
    /// A balance update sent to a contract that has not started (`ContractNotStarted`).
    #[error("the rewards contract has not started: no balance update is accepted yet")]
    NotStarted,
    /// A balance update listing more non-signers than the contract allows
    /// (`InsufficientBLSSignatures`).
    #[error(
        "{non_signers} non-signers listed, at most {allowed} allowed (min({registered} registered / 3, the cap))"
    )]
    TooManyNonSigners {
        /// The ids listed as not signing.
        non_signers: usize,
        /// The contract's `blsNonSignerThreshold`.
        allowed: usize,
        /// Registered nodes.
        registered: usize,
    },
    /// A balance update for the zero address (`NullAddress`).
    #[error("balance update for the zero address")]
    NullRecipient,
    /// A balance update that does not raise the recorded balance (`RecipientRewardsTooLow`;
    /// a replay fails here).
    #[error("balance update to {proposed} does not exceed the recorded {current}")]
    BalanceNotIncreasing {
        /// Recorded balance.
        current: u128,
        /// Proposed balance.
        proposed: u128,
    },
    /// An aggregate signature that is not of this recipient, amount and contract under the
    /// registered keys minus the listed non-signers' (`InvalidBLSSignature(apk)`).
    #[error(
        "the aggregate signature does not verify for this recipient, amount and contract under the key 0x{} (the registered keys minus the listed non-signers')",
        hex::encode(.aggregate_key)
    )]
    InvalidSignature {
        /// The key it was checked against, `X ‖ Y` (the contract's revert argument).
        aggregate_key: [u8; 64],
    },
    /// The BLS check could not be made.
    #[error("the balance update's signature could not be checked: {0}")]
    Bls(sesh_bls::Error),
    /// A claim of more than the unclaimed balance (`MaxClaimExceeded`).
    #[error("claim of {requested} exceeds the unclaimed {available}")]
    ClaimExceedsBalance {
        /// Requested.
        requested: u128,
        /// Available.
        available: u128,
    },
    /// A claim that would take this cycle's total of all claims above the threshold
    /// (`ClaimThresholdExceeded`).
    #[error(
        "claim of {requested} would take this cycle's claims above the threshold {cap} ({claimed} already claimed); retry next cycle"
    )]
    ClaimCapExceeded {
        /// Requested.
        requested: u128,
        /// Claimed this cycle before it.
        claimed: u128,
        /// `claimThreshold`.
        cap: u128,
    },
    /// Service weights that do not fit the arithmetic.
    #[error("service weights overflow: {what}")]
    WeightOverflow {
        /// What overflowed.
        what: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
