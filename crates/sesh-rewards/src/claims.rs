//! Claims (spec §3.4.4): the network signs each beneficiary's cumulative lifetime balance; the
//! rewards contract records it only if it grows, and pays claims up to `balance − claimed`, with
//! a network-wide cap per 12-hour cycle.
//!
//! ```
//! use sesh_identity::{Identity, Seed};
//! use sesh_rewards::claims::{BalanceUpdate, Claims, Committee};
//! use sesh_staking::Address;
//!
//! let signers: Vec<Identity> = (1..=3u8).map(|n| Identity::from_seed(&Seed::from_bytes([n; 32]))).collect();
//! let committee = Committee::new(signers.iter().map(|s| *s.ed25519_public_key()), 2);
//! let alice = Address::from_bytes([7; 32]);
//!
//! let mut claims = Claims::session_mainnet();
//! let update = BalanceUpdate::signed(alice, 1_000, &signers[..2]);
//! claims.update_balance(&update, &committee)?;
//! assert_eq!(claims.claim(&alice, None, 1_700_000_000)?, 1_000);
//! assert!(claims.claim(&alice, None, 1_700_000_000).is_err()); // nothing left
//! # Ok::<(), sesh_rewards::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use sesh_identity::{Ed25519PublicKey, Identity, Signature};
use sesh_staking::Address;

use crate::error::{Error, Result};

const DOMAIN: &[u8] = b"sesh-rewards/v1/balance";

/// The nodes whose signatures make a balance update valid, and how many are needed.
#[derive(Clone, Debug)]
pub struct Committee {
    members: Vec<Ed25519PublicKey>,
    threshold: usize,
}

impl Committee {
    /// `threshold` of `members` must sign (at least one).
    pub fn new(members: impl IntoIterator<Item = Ed25519PublicKey>, threshold: usize) -> Self {
        Self { members: members.into_iter().collect(), threshold: threshold.max(1) }
    }
}

/// A signed cumulative balance: what `address` has been credited in its lifetime, in atomic
/// units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceUpdate {
    /// The beneficiary.
    pub address: Address,
    /// Its cumulative balance, atomic.
    pub amount: u128,
    /// Committee members' signatures over [`BalanceUpdate::message`].
    pub signatures: Vec<(Ed25519PublicKey, Signature)>,
}

impl BalanceUpdate {
    /// What each member signs: a domain tag, the address and the amount (32 bytes big-endian,
    /// as the contract encodes a uint256).
    pub fn message(address: &Address, amount: u128) -> Vec<u8> {
        let mut m = Vec::with_capacity(DOMAIN.len() + 64);
        m.extend_from_slice(DOMAIN);
        m.extend_from_slice(address.as_bytes());
        m.extend_from_slice(&[0u8; 16]);
        m.extend_from_slice(&amount.to_be_bytes());
        m
    }

    /// The update signed by each of `signers`.
    pub fn signed(address: Address, amount: u128, signers: &[Identity]) -> Self {
        let message = Self::message(&address, amount);
        let signatures =
            signers.iter().map(|s| (*s.ed25519_public_key(), s.sign(&message))).collect();
        Self { address, amount, signatures }
    }
}

/// A beneficiary's record in the rewards contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recipient {
    /// The last signed cumulative balance.
    pub rewards: u128,
    /// Claimed so far.
    pub claimed: u128,
}

/// The rewards contract's claim side.
#[derive(Clone, Debug)]
pub struct Claims {
    cycle_seconds: u64,
    cap_per_cycle: u128,
    recipients: BTreeMap<Address, Recipient>,
    cycle: u64,
    cycle_claimed: u128,
    total_claimed: u128,
}

impl Claims {
    /// Mainnet: at most 1,000,000 SESH claimed network-wide per 12-hour cycle.
    pub fn session_mainnet() -> Self {
        Self::new(12 * 3_600, 1_000_000 * 1_000_000_000)
    }

    /// Cycles of `cycle_seconds`, each capped at `cap_per_cycle` atomic units.
    pub fn new(cycle_seconds: u64, cap_per_cycle: u128) -> Self {
        Self {
            cycle_seconds: cycle_seconds.max(1),
            cap_per_cycle,
            recipients: BTreeMap::new(),
            cycle: 0,
            cycle_claimed: 0,
            total_claimed: 0,
        }
    }

    /// A beneficiary's record.
    pub fn recipient(&self, address: &Address) -> Recipient {
        self.recipients.get(address).copied().unwrap_or_default()
    }

    /// Σ of all claims.
    pub fn total_claimed(&self) -> u128 {
        self.total_claimed
    }

    /// `updateRewardsBalance`: records a committee-signed cumulative balance if it exceeds the
    /// recorded one.
    ///
    /// # Errors
    /// [`Error::BalanceNotIncreasing`] (this also defeats replays), and
    /// [`Error::NotEnoughSignatures`] when fewer than the threshold of distinct members signed
    /// validly.
    pub fn update_balance(&mut self, update: &BalanceUpdate, committee: &Committee) -> Result<()> {
        let current = self.recipient(&update.address).rewards;
        if update.amount <= current {
            return Err(Error::BalanceNotIncreasing { current, proposed: update.amount });
        }
        let message = BalanceUpdate::message(&update.address, update.amount);
        let mut signed = BTreeSet::new();
        for (key, signature) in &update.signatures {
            if committee.members.contains(key) && key.verify(&message, signature).is_ok() {
                signed.insert(key.to_bytes());
            }
        }
        if signed.len() < committee.threshold {
            return Err(Error::NotEnoughSignatures {
                got: signed.len(),
                needed: committee.threshold,
            });
        }
        self.recipients.entry(update.address).or_default().rewards = update.amount;
        Ok(())
    }

    /// `claimRewards(amount)` at time `now` (seconds): pays `amount`, or all that is unclaimed
    /// for `None`.
    ///
    /// # Errors
    /// [`Error::NothingToClaim`], [`Error::ClaimExceedsBalance`], and
    /// [`Error::ClaimCapExceeded`] when this cycle's network-wide total would pass the cap.
    pub fn claim(&mut self, address: &Address, amount: Option<u128>, now: u64) -> Result<u128> {
        let recipient = self.recipient(address);
        let available = recipient.rewards - recipient.claimed;
        let amount = amount.unwrap_or(available);
        if amount == 0 {
            return Err(Error::NothingToClaim);
        }
        if amount > available {
            return Err(Error::ClaimExceedsBalance { requested: amount, available });
        }
        let cycle = now / self.cycle_seconds;
        let claimed = if cycle == self.cycle { self.cycle_claimed } else { 0 };
        if claimed + amount > self.cap_per_cycle {
            return Err(Error::ClaimCapExceeded {
                requested: amount,
                claimed,
                cap: self.cap_per_cycle,
            });
        }
        self.cycle = cycle;
        self.cycle_claimed = claimed + amount;
        self.total_claimed += amount;
        self.recipients.entry(*address).or_default().claimed += amount;
        Ok(amount)
    }
}
