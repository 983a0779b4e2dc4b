//! The block pipeline: a block's transactions applied to the staking ledger, the swarms
//! recomputed when the set of serving nodes changed, and the block's reward paid out.
//!
//! The reference node's ledger keeper and the simulator both make their blocks with [`Chain`],
//! so a simulated network and a running one follow the same rules:
//!
//! 1. transactions are verified and applied as they come ([`Chain::apply`]);
//! 2. closing a block ([`Chain::produce`], which first applies the height advance) hashes it
//!    (`blake2b(previous hash ‖ height)`, the seed of its swarm assignment);
//! 3. recomputes the swarms with oxend's assignment if the block had any event that can change
//!    which nodes serve (every event but height advances and contributions; when the active set
//!    is in fact the same, the assignment leaves the map as it is), or the caller said the set
//!    of reachable nodes changed ([`Chain::reassign`]);
//! 4. pays the block: the reward pool's release for the block's time (the live pool, a block
//!    taken as [`BLOCK_SECONDS`]) becomes the block reward, which the reward engine splits
//!    among the payable nodes and their contributors.
//!
//! ```
//! use sesh_node::chain::Chain;
//! use sesh_rewards::engine::{Exact, RewardEngine as _};
//! use sesh_staking::Params;
//! use sesh_swarm::SortOrder;
//!
//! let mut chain = Chain::new(Params::testnet(100_000_000_000), Exact::new(), 1_000_000_000_000_000, SortOrder::Compat);
//! let block = chain.produce(|_| true, |_, _, _| {})?;
//! assert_eq!(block.height, 1);
//! assert!(block.reward > 0);
//! let totals = chain.payouts().engine().totals();
//! // Nobody to pay yet: the whole reward (counted in milli-atomic units) is dust.
//! assert_eq!((totals.credited, totals.dust), (0, u128::from(block.reward) * 1000));
//! # Ok::<(), sesh_node::Error>(())
//! ```

use std::collections::BTreeMap;

use sesh_rewards::engine::RewardEngine;
use sesh_rewards::pool::{BlockRewards, RewardRatePool};
use sesh_staking::tx::{SignedTx, Tx};
use sesh_staking::{Event, Ledger, NodeId, NodeStatus, Params};
use sesh_swarm::{NodeState, SortOrder, SwarmMap, Transition, next, seed_from_block_hash};

use crate::error::Result;

/// The chain time of a block (the live target), for the reward pool's release.
pub const BLOCK_SECONDS: u64 = 120;

/// How a ledger status places a node in the swarms.
pub fn swarm_state(status: NodeStatus) -> NodeState {
    match status {
        NodeStatus::Active | NodeStatus::ExitRequested => NodeState::Active,
        NodeStatus::Decommissioned => NodeState::Decommissioned,
        _ => NodeState::Removed,
    }
}

/// Whether an event changes which nodes serve (and so calls for a swarm recomputation).
fn moves_swarms(event: &Event) -> bool {
    !matches!(event, Event::HeightAdvanced { .. } | Event::Contributed { .. })
}

/// The reward side of the pipeline: the pool, the block reward, the engine, and the events since
/// the last paid block.
#[derive(Clone, Debug)]
pub struct Payouts<E> {
    engine: E,
    blocks: BlockRewards,
    pool: RewardRatePool,
    pending: Vec<Event>,
    nodes: Option<BTreeMap<NodeId, u128>>,
}

impl<E: RewardEngine> Payouts<E> {
    /// A pool holding `pool_balance` atomic units at time 0.
    pub fn new(engine: E, pool_balance: u128) -> Self {
        Self {
            engine,
            blocks: BlockRewards::new(),
            pool: RewardRatePool::new(pool_balance, 0),
            pending: Vec::new(),
            nodes: None,
        }
    }

    /// Also keeps what each node has earned (its share of each block it was payable in, before
    /// the split among its operator and contributors): [`Payouts::node_totals`].
    pub fn with_node_totals(mut self) -> Self {
        self.nodes = Some(BTreeMap::new());
        self
    }

    /// What each node has earned, milli-atomic units, if kept.
    pub fn node_totals(&self) -> Option<&BTreeMap<NodeId, u128>> {
        self.nodes.as_ref()
    }

    /// The reward engine (balances, totals).
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// The reward engine, to settle or claim.
    pub fn engine_mut(&mut self) -> &mut E {
        &mut self.engine
    }

    /// The reward pool.
    pub fn pool(&self) -> &RewardRatePool {
        &self.pool
    }

    /// Takes the events of an applied transaction, to be paid with its block.
    pub fn record(&mut self, events: &[Event]) {
        self.pending.extend_from_slice(events);
    }

    /// Pays block `height` with the events recorded since the last one; returns its reward.
    ///
    /// # Errors
    /// [`Error::Rewards`](crate::Error::Rewards) when the engine cannot credit it.
    pub fn pay(&mut self, ledger: &Ledger, height: u64) -> Result<u64> {
        let now = height.saturating_mul(BLOCK_SECONDS);
        let reward = self.blocks.next_block(self.pool.reward_rate(now))?.reward;
        let paid = self.engine.block(ledger, &self.pending, reward);
        self.pending.clear();
        paid?;
        if let Some(totals) = &mut self.nodes {
            let payable: Vec<NodeId> = ledger.payable_nodes().map(|n| n.id()).collect();
            let (share, _) = sesh_rewards::split::block_share(reward, payable.len() as u64)?;
            for id in payable {
                *totals.entry(id).or_default() += u128::from(share);
            }
        }
        self.pool.payout_released(now);
        Ok(reward)
    }

    /// Replays one transaction of a ledger's history (what [`Journal::open_observed`] gives):
    /// records its events, and pays the block when it is a height advance. How a keeper rebuilds
    /// the balances from its log instead of storing them.
    ///
    /// [`Journal::open_observed`]: sesh_staking::journal::Journal::open_observed
    ///
    /// # Errors
    /// As [`Payouts::pay`].
    pub fn replay(&mut self, ledger: &Ledger, tx: &Tx, events: &[Event]) -> Result<()> {
        self.record(events);
        if let Tx::AdvanceHeight(height) = tx {
            self.pay(ledger, *height)?;
        }
        Ok(())
    }
}

/// A swarm recomputation of a block.
#[derive(Clone, Debug)]
pub struct Reassignment {
    /// The swarms before the block.
    pub previous: SwarmMap,
    /// Who moved, and the swarms after (also [`Chain::map`] now).
    pub transition: Transition,
}

/// A closed block.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Block {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: [u8; 32],
    /// Its reward (atomic units), as split by the engine.
    pub reward: u64,
    /// The swarm recomputation, when there was one (its transition may be empty).
    pub swarms: Option<Reassignment>,
}

/// The ledger, the swarms and the rewards, advanced a block at a time.
#[derive(Clone, Debug)]
pub struct Chain<E> {
    ledger: Ledger,
    map: SwarmMap,
    block_hash: [u8; 32],
    order: SortOrder,
    payouts: Payouts<E>,
    reassign: bool,
}

impl<E: RewardEngine> Chain<E> {
    /// An empty ledger with `params`, an empty swarm map, and a reward pool of `pool_balance`
    /// atomic units; swarm ties broken in `order`.
    pub fn new(params: Params, engine: E, pool_balance: u128, order: SortOrder) -> Self {
        Self::from_parts(
            Ledger::new(params),
            Payouts::new(engine, pool_balance),
            SwarmMap::new(),
            [0; 32],
            order,
        )
    }

    /// A chain restored from its parts (a ledger replayed from its log with [`Payouts::replay`],
    /// the swarms and block hash its keeper kept).
    pub fn from_parts(
        ledger: Ledger,
        payouts: Payouts<E>,
        map: SwarmMap,
        block_hash: [u8; 32],
        order: SortOrder,
    ) -> Self {
        Self { ledger, map, block_hash, order, payouts, reassign: false }
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The swarms.
    pub fn map(&self) -> &SwarmMap {
        &self.map
    }

    /// The last block's hash.
    pub fn block_hash(&self) -> [u8; 32] {
        self.block_hash
    }

    /// The rewards.
    pub fn payouts(&self) -> &Payouts<E> {
        &self.payouts
    }

    /// The rewards, to settle or claim.
    pub fn payouts_mut(&mut self) -> &mut Payouts<E> {
        &mut self.payouts
    }

    /// Verifies and applies a transaction of the current block; returns its events.
    ///
    /// # Errors
    /// [`Error::Ledger`](crate::Error::Ledger): the ledger's verdict; nothing changed.
    pub fn apply(&mut self, tx: &SignedTx) -> Result<Vec<Event>> {
        let events = self.ledger.apply_signed(tx)?;
        self.reassign |= events.iter().any(moves_swarms);
        self.payouts.record(&events);
        Ok(events)
    }

    /// Asks for the swarms to be recomputed at the next block: the set of nodes the caller
    /// counts as reachable changed.
    pub fn reassign(&mut self) {
        self.reassign = true;
    }

    /// Applies the height advance and closes the block (see [`Chain::close_block`]).
    ///
    /// # Errors
    /// As [`Chain::close_block`], or the ledger's refusal of the advance.
    pub fn produce(
        &mut self,
        serves: impl Fn(&NodeId) -> bool,
        before_pay: impl FnOnce(&mut E, &Ledger, &SwarmMap),
    ) -> Result<Block> {
        let height = self.ledger.height().saturating_add(1);
        self.apply(&Tx::AdvanceHeight(height).unsigned())?;
        self.close_block(serves, before_pay)
    }

    /// Closes the block at the ledger's height: hashes it, recomputes the swarms of the nodes
    /// for which `serves` is true if the block changed them, lets `before_pay` see the engine
    /// (a service-weighted engine takes its points here), and pays it.
    ///
    /// # Errors
    /// [`Error::Swarms`](crate::Error::Swarms) or [`Error::Rewards`](crate::Error::Rewards).
    pub fn close_block(
        &mut self,
        serves: impl Fn(&NodeId) -> bool,
        before_pay: impl FnOnce(&mut E, &Ledger, &SwarmMap),
    ) -> Result<Block> {
        let height = self.ledger.height();
        self.block_hash =
            sesh_identity::hash::blake2b(b"", &[&self.block_hash, &height.to_le_bytes()]);
        let swarms = if core::mem::take(&mut self.reassign) {
            let states = self
                .ledger
                .nodes()
                .filter(|n| serves(&n.id()))
                .map(|n| (n.id(), swarm_state(n.status())));
            let transition =
                next(&self.map, states, seed_from_block_hash(&self.block_hash), self.order)?;
            let previous = core::mem::replace(&mut self.map, transition.map().clone());
            Some(Reassignment { previous, transition })
        } else {
            None
        };
        before_pay(&mut self.payouts.engine, &self.ledger, &self.map);
        let reward = self.payouts.pay(&self.ledger, height)?;
        Ok(Block { height, hash: self.block_hash, reward, swarms })
    }
}
