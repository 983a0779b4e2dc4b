//! Two ways to credit each block's reward to the contributors of the payable nodes, behind one
//! trait: [`Exact`], oxend's per-block arithmetic (O(nodes · contributors) per block), and
//! [`Accumulator`], one addition per block and a settlement when a node stops earning or a
//! beneficiary claims.
//!
//! Both are fed the same way: after each block's transactions are applied to the staking
//! [`Ledger`], call [`RewardEngine::block`] with the block's events and reward. The payable set is
//! the ledger's after the block (a node decommissioned in the block earns nothing for it), and
//! stake returned in the block (`StakeReleased`) is credited to the staker's balance too.
//!
//! ```
//! use sesh_rewards::engine::{Accumulator, Exact, RewardEngine};
//! use sesh_staking::{Ledger, Params};
//!
//! let ledger = Ledger::new(Params::session_mainnet());
//! let mut exact = Exact::new();
//! let mut fast = Accumulator::new();
//! for engine in [&mut exact as &mut dyn RewardEngine, &mut fast] {
//!     engine.block(&ledger, &[], 22_983_257_229)?; // no payable node: nothing credited
//!     assert_eq!(engine.totals().dust, 22_983_257_229_000);
//! }
//! # Ok::<(), sesh_rewards::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use ruint::aliases::U256;
use sesh_staking::{Address, Event, Ledger, NodeId};

use crate::error::{Error, Result};
use crate::plan::{Book, Plans};
use crate::split::{MILLI, PORTIONS, block_share, portions_for_operator};

/// Where the reward accounting stands, in milli-atomic units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Σ of the block rewards.
    pub rewards: u128,
    /// Rewards credited to beneficiaries.
    pub credited: u128,
    /// Rewards credited to nobody: block remainders, rounding, blocks without payable nodes.
    pub dust: u128,
    /// Rewards accrued to nodes and not yet settled to beneficiaries (the accumulator only).
    pub pending: u128,
    /// Returned stake credited to stakers' balances.
    pub returned: u128,
}

impl Totals {
    /// `rewards = credited + dust + pending`.
    pub fn conserved(&self) -> bool {
        self.credited + self.dust + self.pending == self.rewards
    }
}

/// A reward engine.
pub trait RewardEngine {
    /// Credits one block: `events` are all the events of the block's transactions, applied to
    /// `ledger` already; `reward` is the block's reward in atomic units.
    ///
    /// # Errors
    /// [`Error::RewardTooLarge`], with nothing changed.
    fn block(&mut self, ledger: &Ledger, events: &[Event], reward: u64) -> Result<()>;

    /// Brings `address`'s balance up to date (the accumulator settles the nodes it is paid by).
    fn settle(&mut self, address: &Address);

    /// Brings every balance up to date.
    fn settle_all(&mut self);

    /// What `address` has been credited, in milli-atomic units: rewards and returned stake,
    /// cumulative over its lifetime (as settled).
    fn credited(&self, address: &Address) -> u128;

    /// Every balance that is not zero, by address (as settled).
    fn balances(&self) -> BTreeMap<Address, u128>;

    /// The totals.
    fn totals(&self) -> Totals;
}

fn credit(balances: &mut BTreeMap<Address, u128>, address: Address, amount: u128) {
    if amount > 0 {
        *balances.entry(address).or_insert(0) += amount;
    }
}

/// The `StakeReleased` events' amounts in milli-atomic units, with their addresses.
pub(crate) fn returns(events: &[Event]) -> impl Iterator<Item = (Address, u128)> + '_ {
    events.iter().filter_map(|event| match event {
        Event::StakeReleased { address, amount } => {
            Some((*address, u128::from(*amount) * u128::from(MILLI)))
        }
        _ => None,
    })
}

/// oxend's per-block arithmetic, to the unit: every payable node gets `⌊R·1000/N⌋`, split by
/// fee and stakes with a floor at each step, every block.
///
/// Each payable node's split is prepared once and kept while its stakes and fee are unchanged
/// (checked against the ledger every block), and balances are kept in slots, so a block costs
/// the split's multiplications: 92 µs a block at 2,000 payable nodes of 5.5 stakes on average
/// (`cargo bench -p sesh-benches --bench rewards`).
#[derive(Clone, Debug, Default)]
pub struct Exact {
    book: Book,
    plans: Plans,
    totals: Totals,
}

impl Exact {
    /// No balances yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl RewardEngine for Exact {
    fn block(&mut self, ledger: &Ledger, events: &[Event], reward: u64) -> Result<()> {
        self.plans.sync(ledger.payable_nodes(), &mut self.book);
        let (share, remainder) = block_share(reward, self.plans.len() as u64)?;
        for (address, milli) in returns(events) {
            self.book.credit(address, milli);
            self.totals.returned += milli;
        }
        self.totals.rewards += u128::from(reward) * u128::from(MILLI);
        self.totals.dust += u128::from(remainder);
        let mut dust = 0u128;
        for plan in self.plans.iter() {
            dust += u128::from(plan.split(share, &mut self.book, false));
        }
        self.totals.credited += u128::from(share) * self.plans.len() as u128 - dust;
        self.totals.dust += dust;
        Ok(())
    }

    fn settle(&mut self, _: &Address) {}

    fn settle_all(&mut self) {}

    fn credited(&self, address: &Address) -> u128 {
        self.book.get(address)
    }

    fn balances(&self) -> BTreeMap<Address, u128> {
        self.book.balances()
    }

    fn totals(&self) -> Totals {
        self.totals
    }
}

/// A payable node as the accumulator keeps it: its stakes (fixed while it is payable) and the
/// accumulator value at its last settlement.
#[derive(Clone, Debug)]
struct Entry {
    snapshot: u128,
    since_block: u64,
    portions: u64,
    amounts: Vec<u64>,
    beneficiaries: Vec<Address>,
}

/// A global reward-per-node accumulator: each block adds `⌊R·1000/N⌋` to one counter; a node's
/// contributors are credited (settled) when it stops being payable, or when one of its
/// beneficiaries asks for its balance ([`settle`](RewardEngine::settle)). O(1) per block plus
/// O(events).
///
/// Rounding, against [`Exact`] over a settled interval of `B` blocks: the operator fee is the
/// least the per-block fees can sum to, `⌈(p·P − B·(2^64−5)) / (2^64−4)⌉`, so the fee recipient
/// gets between `B` milli less than Exact and exactly Exact; the stakes then share the rest, so
/// each contributor gets between exactly Exact and `2B` milli more. Nothing is credited beyond
/// the node's accrued share; the rest is dust.
#[derive(Clone, Debug, Default)]
pub struct Accumulator {
    acc: u128,
    reward_blocks: u64,
    nodes: BTreeMap<NodeId, Entry>,
    by_beneficiary: BTreeMap<Address, BTreeSet<NodeId>>,
    balances: BTreeMap<Address, u128>,
    totals: Totals,
}

impl Accumulator {
    /// No balances yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Payable nodes it follows.
    pub fn payable_count(&self) -> usize {
        self.nodes.len()
    }

    fn reconcile(&mut self, ledger: &Ledger, id: &NodeId) {
        let payable = ledger.is_payable(id);
        match (payable, self.nodes.contains_key(id)) {
            (true, false) => {
                let Some(node) = ledger.node(id) else { return };
                let entry = Entry {
                    snapshot: self.acc,
                    since_block: self.reward_blocks,
                    portions: portions_for_operator(node.fee_bp()),
                    amounts: node.contributors().iter().map(|c| c.amount).collect(),
                    beneficiaries: node.contributors().iter().map(|c| c.beneficiary).collect(),
                };
                for b in &entry.beneficiaries {
                    self.by_beneficiary.entry(*b).or_default().insert(*id);
                }
                self.nodes.insert(*id, entry);
            }
            (false, true) => {
                self.settle_node(id);
                if let Some(entry) = self.nodes.remove(id) {
                    for b in &entry.beneficiaries {
                        if let Some(set) = self.by_beneficiary.get_mut(b) {
                            set.remove(id);
                            if set.is_empty() {
                                self.by_beneficiary.remove(b);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn settle_node(&mut self, id: &NodeId) {
        let (acc, blocks) = (self.acc, self.reward_blocks);
        let Some(entry) = self.nodes.get_mut(id) else { return };
        let accrued = acc - entry.snapshot;
        let elapsed = blocks - entry.since_block;
        entry.snapshot = acc;
        entry.since_block = blocks;
        if accrued == 0 {
            return;
        }
        let (fee, shares) = settle_split(accrued, elapsed, entry.portions, &entry.amounts);
        let mut credited = 0u128;
        if let Some(operator) = entry.beneficiaries.first() {
            credit(&mut self.balances, *operator, fee);
            credited += fee;
        }
        for (b, share) in entry.beneficiaries.iter().zip(shares) {
            credit(&mut self.balances, *b, share);
            credited += share;
        }
        self.totals.pending -= accrued;
        self.totals.credited += credited;
        self.totals.dust += accrued - credited;
    }
}

/// The settlement of `accrued` milli over `blocks` blocks: the least fee the per-block fees can
/// sum to, and each stake's floor share of the rest.
fn settle_split(accrued: u128, blocks: u64, portions: u64, amounts: &[u64]) -> (u128, Vec<u128>) {
    let p = U256::from(portions);
    let ports = U256::from(PORTIONS);
    let slack = U256::from(blocks) * (ports - U256::from(1u8));
    let numerator = p * U256::from(accrued);
    let fee = if numerator > slack { (numerator - slack).div_ceil(ports) } else { U256::ZERO };
    let fee = u128::try_from(fee).unwrap_or(0).min(accrued);
    let rest = U256::from(accrued - fee);
    let total = amounts.iter().fold(U256::ZERO, |s, a| s + U256::from(*a));
    let shares = amounts
        .iter()
        .map(|a| {
            if total.is_zero() {
                0
            } else {
                u128::try_from(U256::from(*a) * rest / total).unwrap_or(0)
            }
        })
        .collect();
    (fee, shares)
}

impl RewardEngine for Accumulator {
    fn block(&mut self, ledger: &Ledger, events: &[Event], reward: u64) -> Result<()> {
        reward.checked_mul(MILLI).ok_or(Error::RewardTooLarge { reward })?;
        for (address, milli) in returns(events) {
            credit(&mut self.balances, address, milli);
            self.totals.returned += milli;
        }
        for event in events {
            let node = match event {
                Event::BecamePayable { node }
                | Event::Activated { node }
                | Event::Decommissioned { node, .. }
                | Event::Recommissioned { node, .. }
                | Event::Deregistered { node }
                | Event::Expired { node, .. }
                | Event::Exited { node }
                | Event::Liquidated { node, .. } => node,
                _ => continue,
            };
            self.reconcile(ledger, node);
        }
        let n = self.nodes.len() as u64;
        let (share, remainder) = block_share(reward, n)?;
        self.totals.rewards += u128::from(reward) * u128::from(MILLI);
        self.totals.dust += u128::from(remainder);
        if n > 0 {
            self.acc += u128::from(share);
            self.reward_blocks += 1;
            self.totals.pending += u128::from(share) * u128::from(n);
        }
        Ok(())
    }

    fn settle(&mut self, address: &Address) {
        let nodes: Vec<NodeId> = self
            .by_beneficiary
            .get(address)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for id in nodes {
            self.settle_node(&id);
        }
    }

    fn settle_all(&mut self) {
        let nodes: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in nodes {
            self.settle_node(&id);
        }
    }

    fn credited(&self, address: &Address) -> u128 {
        self.balances.get(address).copied().unwrap_or(0)
    }

    fn balances(&self) -> BTreeMap<Address, u128> {
        self.balances.clone()
    }

    fn totals(&self) -> Totals {
        self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::split_node;

    /// Per-block arithmetic over `blocks` equal shares, as Exact does it.
    fn exact_over(blocks: u64, share: u64, portions: u64, amounts: &[u64]) -> (u128, Vec<u128>) {
        let split = split_node(share, portions, amounts);
        let b = u128::from(blocks);
        (u128::from(split.fee) * b, split.contributors.iter().map(|c| u128::from(*c) * b).collect())
    }

    /// A fee just under one milli per block: Exact floors it to 0 every block. Settling the
    /// whole interval at once with the plain floor would hand the operator 999 milli taken
    /// from the stakers; the accumulator's lower-bound fee does not.
    #[test]
    fn settlement_never_moves_stakers_money_to_the_fee() {
        let (blocks, share) = (1_000u64, 9_999u64);
        let portions = portions_for_operator(1);
        let amounts = [25u64, 75];
        let (exact_fee, exact_shares) = exact_over(blocks, share, portions, &amounts);
        assert_eq!(exact_fee, 0);
        let (fee, shares) = settle_split(u128::from(blocks * share), blocks, portions, &amounts);
        assert!(fee <= exact_fee);
        for (got, want) in shares.iter().zip(&exact_shares) {
            assert!(got >= want && got - want <= 2 * u128::from(blocks), "{got} vs {want}");
        }
        // The plain floor would have given the operator 999 and short-changed the 75 % staker.
        let plain_fee = u128::from(portions) * u128::from(blocks * share) / u128::from(PORTIONS);
        assert_eq!(plain_fee, 999);
        assert!((u128::from(blocks * share) - plain_fee) * 75 / 100 < exact_shares[1]);
    }

    /// The bound on many shapes: fee between Exact − B and Exact, stakes between Exact and
    /// Exact + 2B.
    #[test]
    fn settlement_bounds() {
        for fee_bp in [0u16, 1, 7, 1_000, 3_333, 9_999, 10_000] {
            for share in [0u64, 1, 999, 9_999, 22_983_257_229, 17_163_417_141_001] {
                for blocks in [1u64, 2, 720, 262_800] {
                    let portions = portions_for_operator(fee_bp);
                    let amounts = [6_250_000_000_000u64, 12_500_000_000_000, 1, 6_249_999_999_999];
                    let (exact_fee, exact_shares) = exact_over(blocks, share, portions, &amounts);
                    let (fee, shares) = settle_split(
                        u128::from(blocks) * u128::from(share),
                        blocks,
                        portions,
                        &amounts,
                    );
                    let b = u128::from(blocks);
                    assert!(fee <= exact_fee && exact_fee - fee <= b, "fee {fee} vs {exact_fee}");
                    for (got, want) in shares.iter().zip(&exact_shares) {
                        assert!(got >= want && got - want <= 2 * b, "{got} vs {want}");
                    }
                    assert!(fee + shares.iter().sum::<u128>() <= b * u128::from(share));
                }
            }
        }
    }
}
