//! What the per-block engines ([`Exact`](crate::engine::Exact),
//! [`ServiceWeighted`](crate::service::ServiceWeighted)) keep between blocks, so that a block
//! costs the split's arithmetic and little else: every balance in a slot of a [`Book`], found
//! once, and each payable node's [`Plan`] — its fee in portions, its stakes with the slot each is
//! credited to, the sum of the stakes prepared as a divisor.
//!
//! Nothing here trusts the events an engine is given: every block the plans are compared with
//! the ledger's payable nodes (id, fee, each stake's amount and beneficiary) and a plan that
//! differs is rebuilt, so the engines credit exactly what oxend's arithmetic over the ledger
//! gives.

use std::collections::BTreeMap;

use sesh_staking::{Address, Node, NodeId};

use crate::split::{Divisor, portions_for_operator, split_prepared, stake_sum};

/// Balances by address, each in a slot of its own: an address's slot is looked up when a plan
/// is made, and each credit after that is an addition at an index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Book {
    slots: BTreeMap<Address, usize>,
    entries: Vec<(Address, u128)>,
}

impl Book {
    /// `address`'s slot, made (empty) on first use.
    pub(crate) fn slot(&mut self, address: Address) -> usize {
        let entries = &mut self.entries;
        *self.slots.entry(address).or_insert_with(|| {
            entries.push((address, 0));
            entries.len() - 1
        })
    }

    /// Adds `amount` to a slot [`slot`](Self::slot) returned.
    pub(crate) fn add(&mut self, slot: usize, amount: u128) {
        if let Some((_, balance)) = self.entries.get_mut(slot) {
            *balance += amount;
        }
    }

    /// Adds `amount` to `address`'s balance.
    pub(crate) fn credit(&mut self, address: Address, amount: u128) {
        if amount > 0 {
            let slot = self.slot(address);
            self.add(slot, amount);
        }
    }

    /// `address`'s balance.
    pub(crate) fn get(&self, address: &Address) -> u128 {
        self.slots.get(address).and_then(|s| self.entries.get(*s)).map_or(0, |(_, b)| *b)
    }

    /// Every balance that is not zero, by address.
    pub(crate) fn balances(&self) -> BTreeMap<Address, u128> {
        self.entries.iter().filter(|(_, b)| *b > 0).copied().collect()
    }
}

/// One stake of a plan.
#[derive(Clone, Debug)]
struct Stake {
    amount: u64,
    beneficiary: Address,
    slot: usize,
}

/// A payable node's split, prepared.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    id: NodeId,
    fee_bp: u16,
    portions: u64,
    total: Divisor,
    stakes: Vec<Stake>,
}

impl Plan {
    fn new(node: &Node, book: &mut Book) -> Self {
        let stakes: Vec<Stake> = node
            .contributors()
            .iter()
            .map(|c| Stake {
                amount: c.amount,
                beneficiary: c.beneficiary,
                slot: book.slot(c.beneficiary),
            })
            .collect();
        Self {
            id: node.id(),
            fee_bp: node.fee_bp(),
            portions: portions_for_operator(node.fee_bp()),
            total: Divisor::new(stake_sum(stakes.iter().map(|s| s.amount))),
            stakes,
        }
    }

    /// Whether the plan still describes `node`.
    fn matches(&self, node: &Node) -> bool {
        let contributors = node.contributors();
        self.id == node.id()
            && self.fee_bp == node.fee_bp()
            && self.stakes.len() == contributors.len()
            && self
                .stakes
                .iter()
                .zip(contributors)
                .all(|(s, c)| s.amount == c.amount && s.beneficiary == c.beneficiary)
    }

    /// The node's id.
    pub(crate) fn id(&self) -> NodeId {
        self.id
    }

    /// oxend's split of `share` (`split::split_node`): credits each stake's share to its
    /// beneficiary and the fee, plus the rounding if `fee_takes_dust`, to the operator's.
    /// Returns what was left to nobody (all of `share` for a node without stakes).
    pub(crate) fn split(&self, share: u64, book: &mut Book, fee_takes_dust: bool) -> u64 {
        let Some(operator) = self.stakes.first().map(|s| s.slot) else { return share };
        let stakes = &self.stakes;
        let (fee, dust) = split_prepared(
            share,
            self.portions,
            self.total,
            stakes.iter().map(|s| s.amount),
            |i, amount| {
                if let Some(s) = stakes.get(i) {
                    book.add(s.slot, u128::from(amount));
                }
            },
        );
        if fee_takes_dust {
            book.add(operator, u128::from(fee + dust));
            0
        } else {
            book.add(operator, u128::from(fee));
            dust
        }
    }
}

/// The plans of the payable nodes, in the order the ledger gives them (id order).
#[derive(Clone, Debug, Default)]
pub(crate) struct Plans {
    plans: Vec<Plan>,
}

impl Plans {
    /// Brings the plans in line with `nodes` (the ledger's payable nodes, in id order): plans
    /// that still match are kept, the others made again.
    pub(crate) fn sync<'a>(&mut self, nodes: impl Iterator<Item = &'a Node>, book: &mut Book) {
        let mut nodes = nodes.peekable();
        // Most blocks change nothing: walk while the plans match.
        let mut kept = 0;
        while let (Some(node), Some(plan)) = (nodes.peek(), self.plans.get(kept)) {
            if !plan.matches(node) {
                break;
            }
            kept += 1;
            nodes.next();
        }
        let mut old = self.plans.split_off(kept).into_iter().peekable();
        for node in nodes {
            // Plans of nodes before this one are of nodes no longer payable.
            while old.next_if(|p| p.id < node.id()).is_some() {}
            let plan = old.next_if(|p| p.matches(node)).unwrap_or_else(|| Plan::new(node, book));
            self.plans.push(plan);
        }
    }

    /// The plans.
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, Plan> {
        self.plans.iter()
    }

    /// How many payable nodes.
    pub(crate) fn len(&self) -> usize {
        self.plans.len()
    }
}
