//! Service-weighted rewards (this project's extension; the live network pays every payable node
//! the same): each block's reward is divided among the payable nodes in proportion to a weight
//! that grows with the service they proved in that block, and the block reward is conserved
//! exactly. Design and attack surface: `docs/rewards.md`.
//!
//! ```
//! use sesh_rewards::service::{weighted_shares, ServiceParams, ServicePoints};
//!
//! let params = ServiceParams::default();
//! let idle = params.weight(None);
//! let busy = params.weight(Some(&ServicePoints { stored: 500, delivered: 700, tests_passed: 2, tests_failed: 0 }));
//! assert_eq!(busy, 2 * idle); // full service doubles a node's weight
//! let shares = weighted_shares(1_000, &[idle, busy, idle])?;
//! assert_eq!(shares, [250, 500, 250]);
//! assert_eq!(shares.iter().sum::<u64>(), 1_000); // nothing lost
//! # Ok::<(), sesh_rewards::Error>(())
//! ```

use std::collections::BTreeMap;

use sesh_staking::{Address, Event, Ledger, NodeId};

use crate::engine::{RewardEngine, Totals, returns};
use crate::error::{Error, Result};
use crate::plan::{Book, Plans};
use crate::split::block_share;

/// What a node proved in one block, from receipts its swarm peers countersigned (verified by the
/// caller): messages it stored and delivered, and storage tests it passed or failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServicePoints {
    /// Messages stored (countersigned by the swarm peers that replicated them).
    pub stored: u64,
    /// Messages delivered to their recipients.
    pub delivered: u64,
    /// Storage tests passed (as testee).
    pub tests_passed: u32,
    /// Storage tests failed.
    pub tests_failed: u32,
}

/// How service turns into weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceParams {
    /// Weight every payable node has, serving or not (so honest idle nodes in quiet swarms
    /// still earn).
    pub base_weight: u64,
    /// Extra weight at full service.
    pub bonus_weight: u64,
    /// Messages (stored + delivered) per block that count as full service; more earns nothing.
    pub points_cap: u64,
}

impl Default for ServiceParams {
    /// Base 1, bonus 1 (a fully serving node earns twice an idle one), full service at 1,000
    /// messages a block.
    fn default() -> Self {
        Self { base_weight: 1, bonus_weight: 1, points_cap: 1_000 }
    }
}

impl ServiceParams {
    /// A node's weight: `base · cap + bonus · min(points, cap)`; a node that failed more
    /// storage tests than it passed gets the base only.
    pub fn weight(&self, points: Option<&ServicePoints>) -> u128 {
        let cap = u128::from(self.points_cap.max(1));
        let base = u128::from(self.base_weight) * cap;
        match points {
            Some(p) if p.tests_failed <= p.tests_passed => {
                let served = u128::from(p.stored.saturating_add(p.delivered)).min(cap);
                base + u128::from(self.bonus_weight) * served
            }
            _ => base,
        }
    }
}

/// Divides `total` in proportion to `weights`, exactly: each gets `⌊total · w / W⌋`, and what
/// the floors leave goes one unit each to the largest remainders (ties to the earlier entry).
///
/// # Errors
/// [`Error::WeightOverflow`] if the weights sum past 2^128 or all are zero.
pub fn weighted_shares(total: u64, weights: &[u128]) -> Result<Vec<u64>> {
    let sum = weights
        .iter()
        .try_fold(0u128, |s, w| s.checked_add(*w))
        .ok_or(Error::WeightOverflow { what: "Σ weights" })?;
    if sum == 0 {
        return Err(Error::WeightOverflow { what: "all weights are zero" });
    }
    let total = u128::from(total);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        // total < 2^64 and w ≤ sum, so total · w / sum fits; the product may not fit u128 for
        // huge weights, so split it.
        let (q, r) =
            mul_div_rem(total, *w, sum).ok_or(Error::WeightOverflow { what: "total · weight" })?;
        shares.push(u64::try_from(q).unwrap_or(u64::MAX));
        remainders.push((r, i));
    }
    let assigned: u128 = shares.iter().map(|s| u128::from(*s)).sum();
    // Fewer than one unit per entry is left; only which entries get one matters, so the
    // `left` first in (remainder descending, index) order are selected, not sorted.
    let left = usize::try_from(total - assigned).unwrap_or(usize::MAX).min(remainders.len());
    if left > 0 && left < remainders.len() {
        remainders.select_nth_unstable_by(left - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    for (_, i) in remainders.iter().take(left) {
        if let Some(s) = shares.get_mut(*i) {
            *s += 1;
        }
    }
    Ok(shares)
}

/// `(⌊a·b/c⌋, a·b mod c)` without overflowing, for `a < 2^64`, `b ≤ c`.
fn mul_div_rem(a: u128, b: u128, c: u128) -> Option<(u128, u128)> {
    if let Some(product) = a.checked_mul(b) {
        return Some((product / c, product % c));
    }
    let product = ruint::aliases::U256::from(a) * ruint::aliases::U256::from(b);
    let c = ruint::aliases::U256::from(c);
    let (q, r) = product.div_rem(c);
    Some((u128::try_from(q).ok()?, u128::try_from(r).ok()?))
}

/// The service-weighted engine: per block, the payable nodes' weights from the points submitted
/// for that block; each node's weighted share split among its contributors as oxend splits,
/// with the split's rounding given to the operator's beneficiary so the whole block reward is
/// credited. O(nodes · contributors) per block, like [`Exact`](crate::engine::Exact), and
/// prepared the same way.
#[derive(Clone, Debug, Default)]
pub struct ServiceWeighted {
    params: ServiceParams,
    /// Submissions for the next block, in the order they came.
    points: Vec<(NodeId, ServicePoints)>,
    book: Book,
    plans: Plans,
    totals: Totals,
}

impl ServiceWeighted {
    /// An engine weighting by `params`.
    pub fn new(params: ServiceParams) -> Self {
        Self { params, ..Self::default() }
    }

    /// Records `node`'s points for the next block (the last submission counts). Submitting in
    /// node id order saves a sort.
    pub fn submit(&mut self, node: NodeId, points: ServicePoints) {
        self.points.push((node, points));
    }

    /// Each plan's weight, from the points submitted for it.
    fn weights(&mut self) -> Vec<u128> {
        // Stable: a node's submissions stay in the order they came, so the last one counts.
        if !self.points.is_sorted_by(|a, b| a.0 <= b.0) {
            self.points.sort_by_key(|(id, _)| *id);
        }
        let mut points = self.points.iter().peekable();
        let mut weights = Vec::with_capacity(self.plans.len());
        for plan in self.plans.iter() {
            while points.next_if(|(id, _)| *id < plan.id()).is_some() {}
            let mut mine = None;
            while let Some((_, p)) = points.next_if(|(id, _)| *id == plan.id()) {
                mine = Some(p);
            }
            weights.push(self.params.weight(mine));
        }
        weights
    }
}

impl RewardEngine for ServiceWeighted {
    fn block(&mut self, ledger: &Ledger, events: &[Event], reward: u64) -> Result<()> {
        let (_, milli) = block_share(reward, 0)?;
        self.plans.sync(ledger.payable_nodes(), &mut self.book);
        let weights = self.weights();
        let shares =
            if weights.is_empty() { Vec::new() } else { weighted_shares(milli, &weights)? };
        for (address, milli) in returns(events) {
            self.book.credit(address, milli);
            self.totals.returned += milli;
        }
        self.points.clear();
        self.totals.rewards += u128::from(milli);
        if shares.is_empty() {
            self.totals.dust += u128::from(milli);
            return Ok(());
        }
        for (plan, share) in self.plans.iter().zip(shares) {
            let lost = plan.split(share, &mut self.book, true);
            self.totals.credited += u128::from(share - lost);
            self.totals.dust += u128::from(lost);
        }
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
