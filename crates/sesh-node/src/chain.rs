//! The block pipeline: a block's transactions applied to the staking ledger, the swarms
//! recomputed when the set of serving nodes changed, and the block's reward paid out.
//!
//! Blocks are made on one of two paths, with the same ledger, swarm and reward rules:
//!
//! - **Followed from the chain** ([`Chain::produce_at`]), what every node of a network with no
//!   one in charge does: the staking contract's events, read at a confirmation depth and mapped
//!   onto transactions by `sesh_chain::ledger`, arrive a sesh height at a time with the hash of
//!   that height's last chain block. The block's height and seed are the chain's, every node in
//!   the ledger counts for the swarms, and nothing a node sees on its own (which nodes it can
//!   reach, a [`Chain::reassign`] request) enters: every follower of the same chain reaches the
//!   same ledger, swarms and rewards.
//! - **Kept by one process** ([`Chain::apply`] then [`Chain::produce`] or
//!   [`Chain::close_block`]): the local network's ledger keeper and the simulator, until the
//!   node moves over to following. The keeper makes its own heights and hashes its own blocks
//!   (`blake2b(previous hash ‖ height)`), and drops the nodes it cannot reach from the swarms.
//!
//! Either way, a block
//!
//! 1. applies its transactions (verified, or attested by the chain) at its height;
//! 2. has a hash, the seed of its swarm assignment: the chain's seed when followed, the keeper's
//!    own hash when kept;
//! 3. recomputes the swarms with oxend's assignment if the block had any event that can change
//!    which nodes serve (every event but height advances, contributions and requirement
//!    changes; when the active set is in fact the same, the assignment leaves the map as it
//!    is), or, on the kept path only, the caller said the set of reachable nodes changed
//!    ([`Chain::reassign`]);
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
use sesh_staking::tx::{SignedTx, Tx, VerifiedTx};
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
    !matches!(
        event,
        Event::HeightAdvanced { .. }
            | Event::Contributed { .. }
            | Event::StakingRequirementChanged { .. }
    )
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
    /// The transactions of a followed block ([`Chain::produce_at`]) that the ledger refused,
    /// by their index in the block, with its verdict; they changed nothing.
    pub refused: Vec<(usize, sesh_staking::Error)>,
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

    /// Applies a transaction already verified (a chain kind, [`VerifiedTx::attested`]) in the
    /// current block; returns its events.
    ///
    /// # Errors
    /// [`Error::Ledger`](crate::Error::Ledger): the ledger's verdict; nothing changed.
    pub fn apply_verified(&mut self, tx: &VerifiedTx) -> Result<Vec<Event>> {
        let events = self.ledger.apply(tx)?;
        self.reassign |= events.iter().any(moves_swarms);
        self.payouts.record(&events);
        Ok(events)
    }

    /// Asks for the swarms to be recomputed at the next kept block: the set of nodes the caller
    /// counts as reachable changed. The followed path ([`Chain::produce_at`]) ignores it.
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

    /// Makes block `height` as the chain gives it (the followed path): advances the ledger to
    /// `height`, applies `txs` in order (the height's contract events, mapped by
    /// `sesh_chain::ledger`), takes `seed` (the hash of the height's last chain block) as the
    /// block's hash, recomputes the swarms of every node in the ledger if the block changed
    /// which nodes serve, and pays it. A transaction the ledger refuses is listed in
    /// [`Block::refused`] and changes nothing; the others apply. Nothing node-local enters: a
    /// pending [`Chain::reassign`] is dropped, and no reachability filter or engine hook is
    /// taken.
    ///
    /// # Errors
    /// [`Error::Ledger`](crate::Error::Ledger) when `height` is not the ledger's next height
    /// (nothing changed); [`Error::Swarms`](crate::Error::Swarms) or
    /// [`Error::Rewards`](crate::Error::Rewards).
    pub fn produce_at(&mut self, height: u64, seed: [u8; 32], txs: &[VerifiedTx]) -> Result<Block> {
        let advanced = self.ledger.apply_signed(&Tx::AdvanceHeight(height).unsigned())?;
        let mut moved = advanced.iter().any(moves_swarms);
        self.payouts.record(&advanced);
        let mut refused = Vec::new();
        for (index, tx) in txs.iter().enumerate() {
            match self.ledger.apply(tx) {
                Ok(events) => {
                    moved |= events.iter().any(moves_swarms);
                    self.payouts.record(&events);
                }
                Err(e) => refused.push((index, e)),
            }
        }
        self.reassign = moved;
        let mut block = self.close(seed, |_| true, |_, _, _| {})?;
        block.refused = refused;
        Ok(block)
    }

    /// Closes the block at the ledger's height (the kept path): hashes it, recomputes the
    /// swarms of the nodes for which `serves` is true if the block changed them, lets
    /// `before_pay` see the engine (a service-weighted engine takes its points here), and pays
    /// it.
    ///
    /// # Errors
    /// [`Error::Swarms`](crate::Error::Swarms) or [`Error::Rewards`](crate::Error::Rewards).
    pub fn close_block(
        &mut self,
        serves: impl Fn(&NodeId) -> bool,
        before_pay: impl FnOnce(&mut E, &Ledger, &SwarmMap),
    ) -> Result<Block> {
        let height = self.ledger.height();
        let hash = sesh_identity::hash::blake2b(b"", &[&self.block_hash, &height.to_le_bytes()]);
        self.close(hash, serves, before_pay)
    }

    fn close(
        &mut self,
        hash: [u8; 32],
        serves: impl Fn(&NodeId) -> bool,
        before_pay: impl FnOnce(&mut E, &Ledger, &SwarmMap),
    ) -> Result<Block> {
        let height = self.ledger.height();
        self.block_hash = hash;
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
        Ok(Block { height, hash: self.block_hash, reward, swarms, refused: Vec::new() })
    }
}

impl Chain<sesh_rewards::engine::Exact> {
    /// `GET /network/v1/rewards`: what every address has been credited (milli-atomic units, as
    /// decimal strings: they pass 2^53), what each node earned before its split (`nodes`, when
    /// the payouts keep it: [`Payouts::with_node_totals`]), and the totals, at the ledger's
    /// height.
    pub fn rewards_json(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        let engine = self.payouts.engine();
        let balances: serde_json::Map<String, Value> = engine
            .balances()
            .iter()
            .map(|(a, v)| (hex::encode(a.as_bytes()), Value::String(v.to_string())))
            .collect();
        let nodes: serde_json::Map<String, Value> = (self.payouts.node_totals())
            .into_iter()
            .flatten()
            .map(|(id, v)| (id.to_string(), Value::String(v.to_string())))
            .collect();
        json!({
            "height": self.ledger.height(),
            "unit": "milli-atomic (1 SESH = 10^12)",
            "balances": balances,
            "nodes": nodes,
            "total_rewards": engine.totals().rewards.to_string(),
            "pool_released_atomic": self.payouts.pool().total_paid_out().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use sesh_identity::{Identity, Seed};
    use sesh_rewards::engine::{Exact, RewardEngine as _};
    use sesh_staking::tx::{
        ChainExit, ChainRegister, ChainRequestExit, ChainStake, DecisionKind, QuorumDecision,
    };
    use sesh_staking::{Address, BlsKey};

    use super::*;

    const REQ: u64 = 100_000_000_000;
    const HEIGHTS: u64 = 60;

    fn key(n: u32) -> Identity {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&n.to_be_bytes());
        seed[31] = 0x77;
        Identity::from_seed(&Seed::from_bytes(seed))
    }

    fn node(n: u32) -> NodeId {
        NodeId::from_identity(&key(n))
    }

    fn bls(n: u32) -> BlsKey {
        let mut k = [0x33u8; 64];
        k[..4].copy_from_slice(&n.to_be_bytes());
        BlsKey::from_bytes(k)
    }

    fn evm(n: u32) -> Address {
        let mut a = [0u8; 20];
        a[..4].copy_from_slice(&n.to_be_bytes());
        Address::from_evm(a)
    }

    fn params() -> Params {
        let mut p = Params::testnet(REQ);
        p.unlock_blocks = 8;
        p
    }

    fn register(n: u32) -> VerifiedTx {
        let (id, b) = (node(n), bls(n));
        VerifiedTx::attested(Tx::ChainRegister(ChainRegister {
            node: id,
            bls_key: b,
            fee_bp: 300,
            contributors: vec![
                ChainStake { address: evm(n), beneficiary: evm(n), amount: REQ / 2 },
                ChainStake { address: evm(1_000 + n), beneficiary: evm(2_000), amount: REQ / 2 },
            ],
            node_signature: key(n).sign(&ChainRegister::node_message(&id, &b)).to_bytes(),
        }))
        .unwrap()
    }

    /// The transactions of each height, as a follower maps them off the chain: 36 nodes join,
    /// one more later, one asks to leave and exits, one is decommissioned by a quorum,
    /// the requirement changes, and a duplicate registration is refused.
    fn heights(seeds: u8) -> Vec<(u64, [u8; 32], Vec<VerifiedTx>)> {
        let p = params();
        (1..=HEIGHTS)
            .map(|h| {
                let txs = match h {
                    1 => (1..=36).map(register).collect(),
                    4 => vec![register(37), register(37)],
                    6 => vec![
                        VerifiedTx::attested(Tx::ChainRequestExit(ChainRequestExit {
                            bls_key: bls(2),
                            contributor: evm(1_002),
                        }))
                        .unwrap(),
                    ],
                    9 => {
                        let voters: Vec<Identity> = (4..=10).map(key).collect();
                        let voters: Vec<&Identity> = voters.iter().collect();
                        let d = QuorumDecision::signed(
                            DecisionKind::Decommission,
                            node(3),
                            8,
                            &voters,
                            &p,
                        );
                        vec![Tx::Decommission(d).unsigned().verify(&p).unwrap()]
                    }
                    12 => vec![VerifiedTx::attested(Tx::SetStakingRequirement(2 * REQ)).unwrap()],
                    20 => vec![
                        VerifiedTx::attested(Tx::ChainExit(ChainExit {
                            bls_key: bls(2),
                            returned: REQ,
                            liquidator: None,
                        }))
                        .unwrap(),
                    ],
                    _ => vec![],
                };
                let seed = sesh_identity::hash::blake2b(b"chain", &[&[seeds], &h.to_be_bytes()]);
                (h, seed, txs)
            })
            .collect()
    }

    fn chain() -> Chain<Exact> {
        let mut c = Chain::new(params(), Exact::new(), 1_000_000_000_000_000, SortOrder::Compat);
        c.payouts = Payouts::new(Exact::new(), 1_000_000_000_000_000).with_node_totals();
        c
    }

    /// Feeds the heights in batches of the given sizes (cycled); between batches, node-local
    /// requests that the followed path must ignore.
    fn follow(sizes: &[usize], seeds: u8) -> (Chain<Exact>, Vec<Vec<usize>>) {
        let mut c = chain();
        let mut refused = Vec::new();
        let all = heights(seeds);
        let mut rest = all.as_slice();
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, tail) = rest.split_at((*size).min(rest.len()));
            rest = tail;
            for (h, seed, txs) in batch {
                let block = c.produce_at(*h, *seed, txs).unwrap();
                assert_eq!(block.hash, *seed);
                refused.push(block.refused.iter().map(|(i, _)| *i).collect());
            }
            c.reassign();
        }
        (c, refused)
    }

    #[test]
    fn followers_fed_alike_agree_on_ledger_swarms_and_rewards() {
        let (a, refused_a) = follow(&[1], 1);
        let (b, refused_b) = follow(&[7, 2, 13, 1], 1);
        assert_eq!(a.ledger().height(), HEIGHTS);
        assert_eq!(a.ledger().state_hash(), b.ledger().state_hash());
        assert_eq!(a.map(), b.map());
        assert_eq!(a.payouts().engine().totals(), b.payouts().engine().totals());
        assert_eq!(a.payouts().engine().balances(), b.payouts().engine().balances());
        assert_eq!(a.payouts().node_totals(), b.payouts().node_totals());
        assert_eq!(refused_a, refused_b);

        // What happened: the duplicate was refused, node 2 left, node 3 is decommissioned.
        assert_eq!(refused_a[3], vec![1]);
        assert!(refused_a.iter().enumerate().all(|(i, r)| i == 3 || r.is_empty()));
        let ledger = a.ledger();
        assert!(ledger.node(&node(2)).is_none());
        assert_eq!(ledger.node(&node(3)).map(|n| n.status()), Some(NodeStatus::Decommissioned));
        assert_eq!(ledger.active_count(), 35);
        assert_eq!(ledger.params().staking_requirement, 2 * REQ);
        assert_eq!(a.map().node_count(), 35);
        assert!(a.map().swarm_count() > 1);
        assert!(a.payouts().engine().totals().credited > 0);

        // The swarms follow the chain's seeds: other seeds, another assignment.
        let (c, _) = follow(&[1], 2);
        assert_eq!(c.ledger().state_hash(), a.ledger().state_hash());
        assert_ne!(c.map(), a.map());
    }

    #[test]
    fn a_height_out_of_turn_changes_nothing() {
        let mut c = chain();
        let before = c.ledger().state_hash();
        assert!(c.produce_at(2, [1; 32], &[register(1)]).is_err());
        assert_eq!(c.ledger().state_hash(), before);
        assert_eq!(c.block_hash(), [0; 32]);
    }
}
