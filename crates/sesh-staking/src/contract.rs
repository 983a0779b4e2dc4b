//! The SESH contribution contract's arithmetic (`ServiceNodeContribution.sol`), in its own
//! 256-bit integers: the minimum contribution, the operator minimum and the check of a
//! reservation list, with the contract's reverts as values.
//!
//! ```
//! use sesh_staking::contract::{U256, calc_minimum_contribution, minimum_operator_contribution};
//!
//! let sesh = |n: u64| U256::from(n) * U256::from(1_000_000_000u64);
//! assert_eq!(minimum_operator_contribution(sesh(25_000))?, sesh(6_250));
//! // After a 6,250 SESH operator, 18,750 remain over 9 slots, rounded up:
//! let second = calc_minimum_contribution(sesh(18_750), U256::from(1u8), U256::from(10u8))?;
//! assert_eq!(second, U256::from(2_083_333_333_334u64));
//! # Ok::<(), sesh_staking::contract::Revert>(())
//! ```

pub use ruint::aliases::U256;

/// A revert of the contract, with the data the EVM returns for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Revert {
    /// `CalcMinContributionGivenBadContribArgs(numContributors, maxNumContributors)`: no slot.
    #[error("no contributor slot left: {contributors} contributors of at most {max}")]
    BadContribArgs {
        /// Contributors so far.
        contributors: U256,
        /// The maximum.
        max: U256,
    },
    /// `Panic(code)`: a Solidity runtime check, here `0x11`, arithmetic underflow (a minimum
    /// asked for when nothing remains).
    #[error("Solidity panic {code:#04x}: arithmetic underflow (nothing left to contribute)")]
    Panic {
        /// The panic code.
        code: u8,
    },
    /// `TooManyReservedContributors(count, max)`.
    #[error("{count} reservations, but at most {max} contributors")]
    TooManyReservedContributors {
        /// Reservations given.
        count: U256,
        /// The maximum.
        max: U256,
    },
    /// `ReservedContributionBelowMinAmount(index, amount, minimum)`.
    #[error("reservation {index} of {amount} is below the minimum {minimum}")]
    ReservedContributionBelowMinAmount {
        /// Which reservation.
        index: U256,
        /// Its amount.
        amount: U256,
        /// The minimum at that point.
        minimum: U256,
    },
    /// `ReservedContributionExceedsStakingRequirement(index, amount, remaining)`.
    #[error("reservation {index} of {amount} exceeds the {remaining} that remain")]
    ReservedContributionExceedsStakingRequirement {
        /// Which reservation.
        index: U256,
        /// Its amount.
        amount: U256,
        /// What remained.
        remaining: U256,
    },
}

impl Revert {
    /// The Solidity signature of the error, e.g. `Panic(uint256)`.
    pub fn signature(&self) -> &'static str {
        match self {
            Self::BadContribArgs { .. } => {
                "CalcMinContributionGivenBadContribArgs(uint256,uint256)"
            }
            Self::Panic { .. } => "Panic(uint256)",
            Self::TooManyReservedContributors { .. } => {
                "TooManyReservedContributors(uint256,uint256)"
            }
            Self::ReservedContributionBelowMinAmount { .. } => {
                "ReservedContributionBelowMinAmount(uint256,uint256,uint256)"
            }
            Self::ReservedContributionExceedsStakingRequirement { .. } => {
                "ReservedContributionExceedsStakingRequirement(uint256,uint256,uint256)"
            }
        }
    }

    /// The error's name, the signature without its arguments.
    pub fn name(&self) -> &'static str {
        let signature = self.signature();
        signature.split('(').next().unwrap_or(signature)
    }

    /// The revert data: the 4-byte selector (the start of `keccak256(signature)`, precomputed;
    /// a test checks the ones the vectors show), then each argument as a 32-byte big-endian
    /// word.
    pub fn abi_data(&self) -> Vec<u8> {
        let (selector, args): ([u8; 4], Vec<U256>) = match self {
            Self::BadContribArgs { contributors, max } => {
                ([0xec, 0xce, 0xbd, 0xb2], vec![*contributors, *max])
            }
            Self::Panic { code } => ([0x4e, 0x48, 0x7b, 0x71], vec![U256::from(*code)]),
            Self::TooManyReservedContributors { count, max } => {
                ([0x4b, 0x11, 0x1a, 0xb8], vec![*count, *max])
            }
            Self::ReservedContributionBelowMinAmount { index, amount, minimum } => {
                ([0xc4, 0xaa, 0x8a, 0xa3], vec![*index, *amount, *minimum])
            }
            Self::ReservedContributionExceedsStakingRequirement { index, amount, remaining } => {
                ([0x6d, 0x3a, 0xe3, 0xa7], vec![*index, *amount, *remaining])
            }
        };
        let mut data = selector.to_vec();
        for arg in args {
            data.extend_from_slice(&arg.to_be_bytes::<32>());
        }
        data
    }
}

/// `calcMinimumContribution(remaining, n, max)`: `⌈remaining / 4⌉` for the operator (`n = 0`),
/// else `⌈remaining / (max − n)⌉`, computed as the contract does, `(remaining − 1) / k + 1`.
///
/// # Errors
/// [`Revert::BadContribArgs`] when `max ≤ n`; [`Revert::Panic`] (underflow) when nothing
/// remains.
pub fn calc_minimum_contribution(
    remaining: U256,
    contributors: U256,
    max: U256,
) -> Result<U256, Revert> {
    if max <= contributors {
        return Err(Revert::BadContribArgs { contributors, max });
    }
    let divisor = if contributors.is_zero() { U256::from(4u8) } else { max - contributors };
    let less_one = remaining.checked_sub(U256::from(1u8)).ok_or(Revert::Panic { code: 0x11 })?;
    Ok(less_one / divisor + U256::from(1u8))
}

/// `minimumOperatorContribution(req)` = `calcMinimumContribution(req, 0, 1)`.
///
/// # Errors
/// [`Revert::Panic`] for a zero requirement.
pub fn minimum_operator_contribution(staking_requirement: U256) -> Result<U256, Revert> {
    calc_minimum_contribution(staking_requirement, U256::ZERO, U256::from(1u8))
}

/// One reservation as `updateReservedContributors` checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservationStep {
    /// Its position (0 is the operator).
    pub index: usize,
    /// What remained of the requirement before it.
    pub remaining: U256,
    /// The minimum it had to meet.
    pub minimum: U256,
    /// Its amount.
    pub amount: U256,
}

/// Checks a reservation list as `updateReservedContributors` does (the address checks aside):
/// at most `max` entries; each at least `calcMinimumContribution(remaining, i, max)` and at most
/// what remains. Returns the steps checked, and the revert if one failed.
pub fn check_reservations(
    staking_requirement: U256,
    max_contributors: U256,
    amounts: &[U256],
) -> (Vec<ReservationStep>, Result<(), Revert>) {
    let mut steps = Vec::new();
    let count = U256::from(amounts.len());
    if count > max_contributors {
        return (steps, Err(Revert::TooManyReservedContributors { count, max: max_contributors }));
    }
    let mut remaining = staking_requirement;
    for (index, amount) in amounts.iter().enumerate() {
        let minimum =
            match calc_minimum_contribution(remaining, U256::from(index), max_contributors) {
                Ok(minimum) => minimum,
                Err(revert) => return (steps, Err(revert)),
            };
        steps.push(ReservationStep { index, remaining, minimum, amount: *amount });
        if *amount < minimum {
            let index = U256::from(index);
            return (
                steps,
                Err(Revert::ReservedContributionBelowMinAmount { index, amount: *amount, minimum }),
            );
        }
        if remaining < *amount {
            let index = U256::from(index);
            return (
                steps,
                Err(Revert::ReservedContributionExceedsStakingRequirement {
                    index,
                    amount: *amount,
                    remaining,
                }),
            );
        }
        remaining -= *amount;
    }
    (steps, Ok(()))
}
