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
    /// The minimum it had to meet: `None` where `calcMinimumContribution` reverted instead
    /// (a reservation after the reserved amounts already reach the requirement: nothing
    /// remains, and `remaining − 1` underflows), the revert that is then the verdict.
    pub minimum: Option<U256>,
    /// Its amount.
    pub amount: U256,
}

/// Checks a reservation list as `updateReservedContributors` does (the address checks aside):
/// at most `max` entries; each at least `calcMinimumContribution(remaining, i, max)` and at most
/// what remains. Returns the steps evaluated, the failing one included, and the revert if one
/// failed.
///
/// Like the contract, the loop does not stop when the reserved amounts reach the requirement: a
/// reservation after that is still evaluated, and its minimum, asked for with nothing remaining,
/// reverts with [`Revert::Panic`] (arithmetic underflow). That step is in the list, with no
/// minimum.
///
/// ```
/// use sesh_staking::contract::{Revert, U256, check_reservations};
///
/// let sesh = |n: u64| U256::from(n) * U256::from(1_000_000_000u64);
/// // The operator and one contributor fill the 25,000 SESH; a third reservation follows.
/// let (steps, verdict) =
///     check_reservations(sesh(25_000), U256::from(10u8), &[sesh(6_250), sesh(18_750), sesh(1)]);
/// assert_eq!(steps.len(), 3);
/// assert_eq!((steps[2].remaining, steps[2].minimum), (U256::ZERO, None));
/// assert_eq!(verdict, Err(Revert::Panic { code: 0x11 }));
/// ```
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
        let amount = *amount;
        let minimum = calc_minimum_contribution(remaining, U256::from(index), max_contributors);
        steps.push(ReservationStep {
            index,
            remaining,
            minimum: minimum.as_ref().ok().copied(),
            amount,
        });
        let minimum = match minimum {
            Ok(minimum) => minimum,
            Err(revert) => return (steps, Err(revert)),
        };
        let index = U256::from(index);
        if amount < minimum {
            return (
                steps,
                Err(Revert::ReservedContributionBelowMinAmount { index, amount, minimum }),
            );
        }
        if remaining < amount {
            return (
                steps,
                Err(Revert::ReservedContributionExceedsStakingRequirement {
                    index,
                    amount,
                    remaining,
                }),
            );
        }
        remaining -= amount;
    }
    (steps, Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sesh(n: u64) -> U256 {
        U256::from(n) * U256::from(1_000_000_000u64)
    }

    /// The reserved amounts reach the requirement and one more reservation follows: the contract
    /// evaluates it, `calcMinimumContribution(0, i, max)` underflows, and that step is listed.
    #[test]
    fn a_reservation_after_the_requirement_is_reached_is_evaluated_and_panics() {
        let ten = U256::from(10u8);
        let amounts = [sesh(6_250), sesh(10_000), sesh(8_750), sesh(1), sesh(1)];
        let (steps, verdict) = check_reservations(sesh(25_000), ten, &amounts);
        assert_eq!(verdict, Err(Revert::Panic { code: 0x11 }));
        assert_eq!(
            steps,
            [
                ReservationStep {
                    index: 0,
                    remaining: sesh(25_000),
                    minimum: Some(sesh(6_250)),
                    amount: sesh(6_250),
                },
                ReservationStep {
                    index: 1,
                    remaining: sesh(18_750),
                    minimum: Some(U256::from(2_083_333_333_334u64)),
                    amount: sesh(10_000),
                },
                ReservationStep {
                    index: 2,
                    remaining: sesh(8_750),
                    minimum: Some(U256::from(1_093_750_000_000u64)),
                    amount: sesh(8_750),
                },
                // The failing step: nothing remains, and its minimum reverts.
                ReservationStep { index: 3, remaining: U256::ZERO, minimum: None, amount: sesh(1) },
            ]
        );
        // Its revert is the one calcMinimumContribution gives for nothing remaining.
        assert_eq!(
            calc_minimum_contribution(U256::ZERO, U256::from(3u8), ten),
            Err(Revert::Panic { code: 0x11 })
        );
        // Exactly full, with nothing after: accepted, every step with its minimum.
        let (steps, verdict) = check_reservations(sesh(25_000), ten, &amounts[..3]);
        assert_eq!(verdict, Ok(()));
        assert_eq!(steps.len(), 3);
        assert!(steps.iter().all(|s| s.minimum.is_some()));
        // The operator alone filling the stake, then a reservation: the second step panics.
        let (steps, verdict) = check_reservations(sesh(25_000), ten, &[sesh(25_000), sesh(0)]);
        assert_eq!(verdict, Err(Revert::Panic { code: 0x11 }));
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[1].index, steps[1].remaining, steps[1].minimum), (1, U256::ZERO, None));
    }

    /// Reverts other than the underflow come after the step's minimum, which is listed.
    #[test]
    fn failing_steps_are_listed_with_their_minimum() {
        let ten = U256::from(10u8);
        let (steps, verdict) =
            check_reservations(sesh(25_000), ten, &[sesh(6_250) - U256::from(1u8)]);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].minimum, Some(sesh(6_250)));
        assert!(matches!(verdict, Err(Revert::ReservedContributionBelowMinAmount { .. })));
        let (steps, verdict) = check_reservations(sesh(25_000), ten, &[sesh(6_250), sesh(20_000)]);
        assert_eq!(steps.len(), 2);
        assert!(matches!(
            verdict,
            Err(Revert::ReservedContributionExceedsStakingRequirement { .. })
        ));
        let (steps, verdict) =
            check_reservations(sesh(25_000), U256::from(1u8), &[sesh(1), sesh(1)]);
        assert!(steps.is_empty());
        assert!(matches!(verdict, Err(Revert::TooManyReservedContributors { .. })));
    }
}
