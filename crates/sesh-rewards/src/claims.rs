//! Claims (spec §3.4.4): the claim side of the rewards contract (`ServiceNodeRewards`:
//! `updateRewardsBalance`, `claimRewards`), check for check.
//!
//! The network signs each recipient's cumulative lifetime balance with BN254 BLS: every node
//! signs `rewardTag ‖ recipient ‖ uint256(amount)` ([`sesh_bls::Message::Reward`]) and an
//! aggregator sums the signatures and lists the registered nodes that did not sign. The
//! contract checks the sum against the aggregate of all registered keys minus the listed ones
//! ([`sesh_bls::verify_aggregate`]), with at most `min(registered / 3, max)` listed, and records
//! the balance only if it is above the recorded one (so a replay fails). Claims pay up to
//! `rewards − claimed`, and all claims together at most `claimThreshold` per `claimCycle`
//! (1,000,000 SESH per 12 hours on mainnet).
//!
//! Recipients are EVM addresses (20 bytes); a ledger beneficiary that is one gives it with
//! [`sesh_staking::Address::evm`].
//!
//! ```
//! use sesh_bls::{Domain, Message, SecretKey};
//! use sesh_rewards::claims::{BalanceUpdate, Claims, RegisteredSet};
//!
//! // Three registered nodes (contract ids 1, 2, 3) of the contract at `domain`.
//! let domain = Domain { chain_id: 421_614, contract: [0xc2; 20] };
//! let keys: Vec<SecretKey> = (1..=3u8).map(|i| SecretKey::from_seed(&[i])).collect();
//! let set = RegisteredSet::new(domain, (1..).zip(keys.iter().map(SecretKey::public_key)));
//! assert_eq!(set.non_signer_threshold(), 1); // 3 / 3
//!
//! // Nodes 1 and 2 sign alice's balance; node 3 does not.
//! let alice = [0x11; 20];
//! let reward = Message::Reward { recipient: alice, amount: 1_000 };
//! let mut collector = set.collector(alice, 1_000);
//! for (id, key) in (1..).zip(&keys[..2]) {
//!     collector.add(id, key.sign(&domain, &reward))?;
//! }
//! let update = BalanceUpdate { recipient: alice, amount: 1_000, aggregate: collector.finish(set.threshold_max())? };
//! assert_eq!(update.aggregate.non_signers, vec![3]);
//!
//! let mut claims = Claims::session_mainnet();
//! claims.update_balance(&set, &update)?;
//! assert!(claims.update_balance(&set, &update).is_err()); // a replay
//! assert_eq!(claims.claim(&alice, None, 1_700_000_000)?, 1_000);
//! assert!(claims.claim(&alice, Some(1), 1_700_000_000).is_err()); // nothing left
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use sesh_bls::{Aggregate, Collector, Domain, Message, NON_SIGNER_THRESHOLD_MAX, PublicKey};

use crate::error::{Error, Result};

/// The BLS keys registered in the rewards contract, by contract id, and what the contract's
/// check of an aggregate signature depends on: its [`Domain`] (chain id and address, in the
/// tags), `blsNonSignerThresholdMax`, and whether it has started.
#[derive(Clone, Debug)]
pub struct RegisteredSet {
    domain: Domain,
    keys: BTreeMap<u64, PublicKey>,
    threshold_max: usize,
    started: bool,
}

impl RegisteredSet {
    /// A started contract with `keys` registered (registering starts it), and the live cap of
    /// 4,000 non-signers. A repeated id keeps its last key.
    pub fn new(domain: Domain, keys: impl IntoIterator<Item = (u64, PublicKey)>) -> Self {
        Self {
            domain,
            keys: keys.into_iter().collect(),
            threshold_max: NON_SIGNER_THRESHOLD_MAX,
            started: true,
        }
    }

    /// `keys` seeded (`seedPublicKeyList`) into a contract that has not started: balance
    /// updates fail with [`Error::NotStarted`] until [`RegisteredSet::start`] or a
    /// registration.
    pub fn seeded(domain: Domain, keys: impl IntoIterator<Item = (u64, PublicKey)>) -> Self {
        Self { started: false, ..Self::new(domain, keys) }
    }

    /// `start()`.
    pub fn start(&mut self) {
        self.started = true;
    }

    /// `setBLSNonSignerThresholdMax(max)`.
    #[must_use]
    pub fn with_threshold_max(mut self, max: usize) -> Self {
        self.threshold_max = max;
        self
    }

    /// `addBLSPublicKey`: registers `key` as `id` (which starts the contract); the key `id` had,
    /// if any.
    pub fn insert(&mut self, id: u64, key: PublicKey) -> Option<PublicKey> {
        self.started = true;
        self.keys.insert(id, key)
    }

    /// A node leaves (exit or liquidation): its key, if it was registered.
    pub fn remove(&mut self, id: u64) -> Option<PublicKey> {
        self.keys.remove(&id)
    }

    /// The contract's chain id and address.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The registered keys by contract id.
    pub fn keys(&self) -> &BTreeMap<u64, PublicKey> {
        &self.keys
    }

    /// `blsNonSignerThresholdMax`.
    pub fn threshold_max(&self) -> usize {
        self.threshold_max
    }

    /// `blsNonSignerThreshold`: the most non-signers an aggregate may list,
    /// `min(registered / 3, blsNonSignerThresholdMax)`.
    pub fn non_signer_threshold(&self) -> usize {
        sesh_bls::non_signer_threshold(self.keys.len(), self.threshold_max)
    }

    /// Whether the contract has started.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// A [`Collector`] of the registered nodes' signatures of `recipient`'s balance `amount`;
    /// its `finish(self.threshold_max())` is the aggregate of a [`BalanceUpdate`].
    pub fn collector(&self, recipient: [u8; 20], amount: u128) -> Collector {
        Collector::new(
            self.keys.iter().map(|(id, key)| (*id, *key)),
            self.domain.hash_to_g2_tag(),
            Message::Reward { recipient, amount }.to_bytes(&self.domain),
        )
    }
}

/// `updateRewardsBalance(recipient, amount, signature, non_signers)`: the network's signature
/// that `recipient` has been credited `amount` atomic units in its lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceUpdate {
    /// The recipient's EVM address.
    pub recipient: [u8; 20],
    /// Its cumulative balance, atomic units.
    pub amount: u128,
    /// The signers' summed signature of [`Message::Reward`] and the ids that did not sign.
    pub aggregate: Aggregate,
}

/// A recipient's record in the rewards contract (`recipients(address)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recipient {
    /// The last signed cumulative balance.
    pub rewards: u128,
    /// Claimed so far.
    pub claimed: u128,
}

/// The rewards contract's claim side: the recipients' records and the claim cycle's counter.
#[derive(Clone, Debug)]
pub struct Claims {
    claim_cycle: u64,
    claim_threshold: u128,
    recipients: BTreeMap<[u8; 20], Recipient>,
    current_cycle: u64,
    current_total: u128,
    total_claimed: u128,
}

impl Claims {
    /// Mainnet: `claimThreshold` 1,000,000 SESH per `claimCycle` of 12 hours.
    pub fn session_mainnet() -> Self {
        Self::new(12 * 3_600, 1_000_000 * 1_000_000_000)
    }

    /// `claimCycle` = `cycle_seconds` (at least 1: `setClaimCycle` refuses 0) and
    /// `claimThreshold` = `threshold` atomic units.
    pub fn new(cycle_seconds: u64, threshold: u128) -> Self {
        Self {
            claim_cycle: cycle_seconds.max(1),
            claim_threshold: threshold,
            recipients: BTreeMap::new(),
            current_cycle: 0,
            current_total: 0,
            total_claimed: 0,
        }
    }

    /// `recipients(address)`.
    pub fn recipient(&self, address: &[u8; 20]) -> Recipient {
        self.recipients.get(address).copied().unwrap_or_default()
    }

    /// `(currentClaimCycle, currentClaimTotal)`.
    pub fn cycle(&self) -> (u64, u128) {
        (self.current_cycle, self.current_total)
    }

    /// Σ of all claims paid.
    pub fn total_claimed(&self) -> u128 {
        self.total_claimed
    }

    /// `updateRewardsBalance`: records `update.amount` as the recipient's balance if `set`'s
    /// aggregate check accepts it. Nothing changes on an error.
    ///
    /// # Errors
    /// In the contract's order: [`Error::NotStarted`]; [`Error::TooManyNonSigners`] when more
    /// ids are listed than [`RegisteredSet::non_signer_threshold`] (`InsufficientBLSSignatures`);
    /// [`Error::NullRecipient`]; [`Error::BalanceNotIncreasing`] unless the amount is above the
    /// recorded balance (`RecipientRewardsTooLow`: replays fail here);
    /// [`Error::InvalidSignature`] when the signature is not of this recipient, amount and
    /// domain under the registered keys minus the listed ids' (`InvalidBLSSignature`);
    /// [`Error::Bls`] if the message has no hash point (probability 2⁻²⁵⁶).
    pub fn update_balance(&mut self, set: &RegisteredSet, update: &BalanceUpdate) -> Result<()> {
        if !set.started {
            return Err(Error::NotStarted);
        }
        let non_signers = update.aggregate.non_signers.len();
        let allowed = set.non_signer_threshold();
        if non_signers > allowed {
            return Err(Error::TooManyNonSigners {
                non_signers,
                allowed,
                registered: set.keys.len(),
            });
        }
        if update.recipient == [0; 20] {
            return Err(Error::NullRecipient);
        }
        let current = self.recipient(&update.recipient).rewards;
        if current >= update.amount {
            return Err(Error::BalanceNotIncreasing { current, proposed: update.amount });
        }
        let message = Message::Reward { recipient: update.recipient, amount: update.amount }
            .to_bytes(&set.domain);
        sesh_bls::verify_aggregate(
            &set.keys,
            &set.domain.hash_to_g2_tag(),
            &message,
            &update.aggregate,
            set.threshold_max,
        )
        .map_err(|e| match e {
            sesh_bls::Error::InvalidSignature => Error::InvalidSignature {
                aggregate_key: sesh_bls::aggregate_key(&set.keys, &update.aggregate.non_signers)
                    .to_bytes(),
            },
            other => Error::Bls(other),
        })?;
        self.recipients.entry(update.recipient).or_default().rewards = update.amount;
        Ok(())
    }

    /// `claimRewards()` (`amount` `None`: all that is unclaimed) or `claimRewards(amount)` by
    /// `address` at block time `now` (Unix seconds); returns what is paid. A claim of 0 is paid
    /// (nothing), as the contract does, and may start a new cycle. Nothing changes on an error.
    ///
    /// The cycle is `now / claimCycle`; a later cycle than the current one resets the cycle's
    /// total, and the claim fails if the total with it would be above `claimThreshold`.
    ///
    /// # Errors
    /// [`Error::ClaimExceedsBalance`] (`MaxClaimExceeded`), then [`Error::ClaimCapExceeded`]
    /// (`ClaimThresholdExceeded`).
    pub fn claim(&mut self, address: &[u8; 20], amount: Option<u128>, now: u64) -> Result<u128> {
        let recipient = self.recipient(address);
        let available = recipient.rewards.saturating_sub(recipient.claimed);
        let amount = amount.unwrap_or(available);
        if amount > available {
            return Err(Error::ClaimExceedsBalance { requested: amount, available });
        }
        let cycle = now / self.claim_cycle;
        let (cycle, claimed) = if cycle > self.current_cycle {
            (cycle, 0)
        } else {
            (self.current_cycle, self.current_total)
        };
        let total = claimed.checked_add(amount).filter(|total| *total <= self.claim_threshold);
        let Some(total) = total else {
            return Err(Error::ClaimCapExceeded {
                requested: amount,
                claimed,
                cap: self.claim_threshold,
            });
        };
        self.current_cycle = cycle;
        self.current_total = total;
        self.total_claimed = self.total_claimed.saturating_add(amount);
        self.recipients.entry(*address).or_default().claimed = recipient.claimed + amount;
        Ok(amount)
    }
}
