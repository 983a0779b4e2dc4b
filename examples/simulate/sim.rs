//! The simulation: a staking ledger (`sesh-staking`, mainnet rules), swarms recomputed as oxend
//! does whenever the active set changes (`sesh-swarm`), and every block's reward credited
//! (`sesh-rewards`), driven by seeded random events. No IO and no clock: the same scenario and
//! seed give the same run, bit for bit.

// Counts here are far below 2^32, and Rust's float-to-integer casts saturate.
#![allow(clippy::cast_possible_truncation)]

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sesh_identity::Identity;
use sesh_node::chain::{Chain, Reassignment};
use sesh_rewards::engine::{Accumulator, Exact, RewardEngine, Totals};
use sesh_rewards::service::{ServiceParams, ServicePoints, ServiceWeighted};
use sesh_staking::tx::{
    ByContributor, Contribute, DecisionKind, QuorumDecision, Register, SignedTx, Tx,
};
use sesh_staking::{Address, BlsKey, Event, Ledger, NodeId, NodeStatus, Params};
use sesh_swarm::{Change, SwarmMap, SwarmSpace};

use crate::simulate::metrics::{DayRow, Recorder};
use crate::simulate::scenario::{BLOCKS_PER_DAY, Rewards, Scenario};

/// The reward pool at the start (atomic units): the live pool's size at the Session launch.
const POOL_BALANCE: u128 = 40_000_000 * 1_000_000_000;
/// Points of swarm space sampled to measure how much of it changes owner.
const SPACE_SAMPLES: u64 = 1 << 14;

/// The reward engine chosen.
enum Engine {
    Exact(Exact),
    Accumulator(Accumulator),
    Service(ServiceWeighted),
}

impl Engine {
    fn get(&self) -> &dyn RewardEngine {
        match self {
            Self::Exact(e) => e,
            Self::Accumulator(e) => e,
            Self::Service(e) => e,
        }
    }

    fn get_mut(&mut self) -> &mut dyn RewardEngine {
        match self {
            Self::Exact(e) => e,
            Self::Accumulator(e) => e,
            Self::Service(e) => e,
        }
    }
}

/// The chosen engine is the chain's engine.
impl RewardEngine for Engine {
    fn block(
        &mut self,
        ledger: &Ledger,
        events: &[Event],
        reward: u64,
    ) -> sesh_rewards::Result<()> {
        self.get_mut().block(ledger, events, reward)
    }
    fn settle(&mut self, address: &Address) {
        self.get_mut().settle(address);
    }
    fn settle_all(&mut self) {
        self.get_mut().settle_all();
    }
    fn credited(&self, address: &Address) -> u128 {
        self.get().credited(address)
    }
    fn balances(&self) -> BTreeMap<Address, u128> {
        self.get().balances()
    }
    fn totals(&self) -> Totals {
        self.get().totals()
    }
}

/// Who a staking address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// An operator (index 0 is the concentrated one, when there is one).
    Operator(u32),
    /// A contributor.
    Contributor(u32),
}

/// A node the simulation runs.
struct SimNode {
    identity: Identity,
    operator: u32,
}

/// Totals over the run, for the summary and the tests.
#[derive(Clone, Debug, Default)]
pub struct RunTotals {
    /// Nodes that joined.
    pub joined: u64,
    /// Nodes that left their swarm.
    pub left: u64,
    /// Nodes moved between swarms.
    pub moved: u64,
    /// Blocks whose swarms were recomputed.
    pub swarm_recomputes: u64,
    /// Transactions the ledger refused.
    pub rejected_txs: u64,
    /// The refusals by the ledger error's kind.
    pub rejected_by_kind: BTreeMap<String, u64>,
    /// Decommissions applied.
    pub decommissions: u64,
    /// Recommissions applied.
    pub recommissions: u64,
    /// Exit requests applied.
    pub exits: u64,
    /// Failing nodes without the credit for a decommission, deregistered.
    pub deregistrations: u64,
    /// Blocks at which the swarm map changed.
    pub map_changes: u64,
}

/// The simulated network.
pub struct Sim {
    sc: Scenario,
    params: Params,
    /// The ledger, the swarms and the rewards: the block pipeline the node's keeper uses too.
    chain: Chain<Engine>,
    rng: ChaCha20Rng,
    nodes: BTreeMap<NodeId, SimNode>,
    operators: Vec<Identity>,
    contributors: Vec<Identity>,
    /// Who each staking address is.
    pub roles: BTreeMap<Address, Role>,
    recommission_at: BTreeMap<u64, Vec<NodeId>>,
    failing: BTreeSet<NodeId>,
    /// Totals so far.
    pub totals: RunTotals,
    /// The daily rows so far.
    pub recorder: Recorder,
    day: DayRow,
}

impl core::fmt::Debug for Sim {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sim")
            .field("height", &self.chain.ledger().height())
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

fn unit(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn below(rng: &mut ChaCha20Rng, n: u64) -> u64 {
    if n == 0 { 0 } else { rng.next_u64() % n }
}

/// A Poisson draw with mean `lambda` (Knuth; `lambda` is small here).
fn poisson(rng: &mut ChaCha20Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let limit = (-lambda).exp();
    let (mut k, mut p) = (0u32, 1.0f64);
    loop {
        p *= unit(rng);
        if p <= limit || k > 1_000 {
            return k;
        }
        k += 1;
    }
}

impl Sim {
    /// Builds the starting network: `nodes` registered, staked and active, in swarms.
    pub fn new(sc: Scenario) -> Result<Self, String> {
        sc.check()?;
        let mut rng = ChaCha20Rng::seed_from_u64(sc.seed);
        let params = Params::session_mainnet();
        let big = sc.concentration > 0.0;
        let operator_count = sc.operators + u32::from(big);
        let operators: Vec<Identity> =
            (0..operator_count).map(|_| Identity::generate(&mut rng)).collect();
        let contributors: Vec<Identity> =
            (0..sc.contributor_pool).map(|_| Identity::generate(&mut rng)).collect();
        let mut roles = BTreeMap::new();
        for (i, o) in operators.iter().enumerate() {
            roles.insert(
                Address::from_identity(o),
                Role::Operator(u32::try_from(i).unwrap_or(u32::MAX)),
            );
        }
        for (i, c) in contributors.iter().enumerate() {
            roles.insert(
                Address::from_identity(c),
                Role::Contributor(u32::try_from(i).unwrap_or(u32::MAX)),
            );
        }
        let engine = match sc.rewards {
            Rewards::Exact => Engine::Exact(Exact::new()),
            Rewards::Accumulator => Engine::Accumulator(Accumulator::new()),
            Rewards::Service => Engine::Service(ServiceWeighted::new(ServiceParams::default())),
        };
        let mut sim = Self {
            chain: Chain::new(params.clone(), engine, POOL_BALANCE, sc.order.into()),
            params,
            rng,
            nodes: BTreeMap::new(),
            operators,
            contributors,
            roles,
            recommission_at: BTreeMap::new(),
            failing: BTreeSet::new(),
            totals: RunTotals::default(),
            recorder: Recorder::default(),
            day: DayRow::default(),
            sc,
        };
        // The concentrated operator's share of the starting nodes, exactly.
        let big_nodes =
            if big { (f64::from(sim.sc.nodes) * sim.sc.concentration).round() as u32 } else { 0 };
        for i in 0..sim.sc.nodes {
            let operator = if i < big_nodes { 0 } else { sim.small_operator() };
            sim.join(operator);
        }
        // Block 0: the starting network's swarms and its first reward.
        sim.close_block(false)?;
        sim.day = DayRow::default();
        Ok(sim)
    }

    fn small_operator(&mut self) -> u32 {
        let big = u32::from(self.sc.concentration > 0.0);
        big + u32::try_from(below(&mut self.rng, u64::from(self.sc.operators))).unwrap_or(0)
    }

    fn apply(&mut self, tx: &SignedTx) -> bool {
        match self.chain.apply(tx) {
            Ok(_) => true,
            Err(sesh_node::Error::Ledger(e)) => {
                self.totals.rejected_txs += 1;
                let debug = match e {
                    sesh_staking::Error::TxRejected { reason } => format!("{reason:?}"),
                    other => format!("{other:?}"),
                };
                let kind = debug.split(['(', ' ', '{']).next().unwrap_or_default().to_owned();
                *self.totals.rejected_by_kind.entry(kind).or_default() += 1;
                false
            }
            Err(_) => false,
        }
    }

    /// A new node: registered by `operator` with a quarter, contributors staking the rest.
    fn join(&mut self, operator: u32) {
        let params = self.params.clone();
        let node = Identity::generate(&mut self.rng);
        let id = NodeId::from_identity(&node);
        let Some(op_identity) = self.operators.get(operator as usize) else { return };
        let op = Address::from_identity(op_identity);
        let bls_key = BlsKey::from_bytes(sesh_identity::hash::blake2b::<64>(
            b"sesh-sim-bls",
            &[id.as_bytes()],
        ));
        let requirement = params.staking_requirement;
        let fee_bp = u16::try_from(below(&mut self.rng, 11) * 100).unwrap_or(0);
        let register = Tx::Register(Register {
            operator: op,
            nonce: self.chain.ledger().nonce(&op),
            node: id,
            bls_key,
            fee_bp,
            stake: requirement / 4,
            beneficiary: op,
            reservations: Vec::new(),
            node_signature: node
                .sign(&Register::node_message(&id, &bls_key, &op, &params))
                .to_bytes(),
        });
        let Ok(signed) = register.sign(op_identity, &params) else { return };
        if !self.apply(&signed) {
            return;
        }
        let spread = u64::from(self.sc.max_contributors - self.sc.min_contributors) + 1;
        let k = u64::from(self.sc.min_contributors) + below(&mut self.rng, spread);
        let k = k.max(1);
        let mut chosen: Vec<u64> = Vec::new();
        while (chosen.len() as u64) < k {
            let c = below(&mut self.rng, u64::from(self.sc.contributor_pool));
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        let rest = requirement - requirement / 4;
        for (j, c) in chosen.iter().enumerate() {
            let amount = if j as u64 + 1 == k { rest - (rest / k) * (k - 1) } else { rest / k };
            let Some(ci) = self.contributors.get(*c as usize) else { continue };
            let addr = Address::from_identity(ci);
            let tx = Tx::Contribute(Contribute {
                contributor: addr,
                nonce: self.chain.ledger().nonce(&addr),
                node: id,
                amount,
                beneficiary: addr,
            });
            if let Ok(signed) = tx.sign(ci, &params) {
                self.apply(&signed);
            }
        }
        if self.sc.rewards == Rewards::Service && unit(&mut self.rng) < self.sc.failing_share {
            self.failing.insert(id);
        }
        self.nodes.insert(id, SimNode { identity: node, operator });
        self.totals.joined += 1;
    }

    fn active_nodes(&self) -> Vec<NodeId> {
        self.chain
            .ledger()
            .nodes()
            .filter(|n| n.status() == NodeStatus::Active)
            .map(|n| n.id())
            .collect()
    }

    fn pick_active(&mut self) -> Option<NodeId> {
        let active = self.active_nodes();
        active.get(below(&mut self.rng, active.len() as u64) as usize).copied()
    }

    /// A quorum's decision about `node`, signed by up to 7 other active nodes.
    fn decision(&mut self, kind: DecisionKind, node: NodeId) -> Option<SignedTx> {
        let mut voters: Vec<NodeId> =
            self.active_nodes().into_iter().filter(|v| *v != node).collect();
        let want = voters.len().min(7);
        for i in 0..want {
            let j = i + below(&mut self.rng, (voters.len() - i) as u64) as usize;
            voters.swap(i, j);
        }
        voters.truncate(want);
        let identities: Vec<&Identity> =
            voters.iter().filter_map(|v| self.nodes.get(v).map(|n| &n.identity)).collect();
        let d = QuorumDecision::signed(
            kind,
            node,
            self.chain.ledger().height(),
            &identities,
            &self.params,
        );
        Some(
            match kind {
                DecisionKind::Decommission => Tx::Decommission(d),
                DecisionKind::Recommission => Tx::Recommission(d),
                DecisionKind::Deregister => Tx::Deregister(d),
                DecisionKind::Liquidate => return None,
            }
            .unsigned(),
        )
    }

    /// One block: the day's random events, the height advance, swarms, rewards.
    pub fn step(&mut self) -> Result<(), String> {
        let h = self.chain.ledger().height() + 1;
        let per_block = |per_day: f64| per_day / BLOCKS_PER_DAY as f64;

        for _ in 0..poisson(&mut self.rng, per_block(self.sc.join_per_day)) {
            let big = self.sc.concentration > 0.0 && unit(&mut self.rng) < self.sc.concentration;
            let operator = if big { 0 } else { self.small_operator() };
            self.join(operator);
        }
        for _ in 0..poisson(&mut self.rng, per_block(self.sc.leave_per_day)) {
            let Some(node) = self.pick_active() else { break };
            let Some(operator) =
                self.nodes.get(&node).and_then(|n| self.operators.get(n.operator as usize))
            else {
                continue;
            };
            let addr = Address::from_identity(operator);
            let tx = Tx::RequestExit(ByContributor {
                contributor: addr,
                nonce: self.chain.ledger().nonce(&addr),
                node,
            });
            if let Ok(signed) = tx.sign(operator, &self.params.clone())
                && self.apply(&signed)
            {
                self.totals.exits += 1;
            }
        }
        for _ in 0..poisson(&mut self.rng, per_block(self.sc.decommission_per_day)) {
            let Some(node) = self.pick_active() else { break };
            // A quorum decommissions a failing node while it has the credit for it, and
            // deregisters it otherwise (oxend's rule).
            let credit =
                self.chain.ledger().node(&node).map_or(0, |n| n.credit(h, &self.params.credit));
            if credit < self.params.credit.decommission_minimum {
                if let Some(tx) = self.decision(DecisionKind::Deregister, node)
                    && self.apply(&tx)
                {
                    self.totals.deregistrations += 1;
                }
                continue;
            }
            let Some(tx) = self.decision(DecisionKind::Decommission, node) else { continue };
            if self.apply(&tx) {
                self.totals.decommissions += 1;
                let down = (-self.sc.outage_days
                    * (1.0 - unit(&mut self.rng)).ln()
                    * BLOCKS_PER_DAY as f64)
                    .ceil();
                let back = h + (down as u64).max(1);
                self.recommission_at.entry(back).or_default().push(node);
            }
        }
        if let Some(due) = self.recommission_at.remove(&h) {
            for node in due {
                if let Some(tx) = self.decision(DecisionKind::Recommission, node)
                    && self.apply(&tx)
                {
                    self.totals.recommissions += 1;
                }
            }
        }
        self.close_block(true)
    }

    /// Closes the block (after its height advance, if `advance`): swarms, rewards (with every
    /// swarm member's service points first, for the service engine), the day's metrics.
    fn close_block(&mut self, advance: bool) -> Result<(), String> {
        let (failing, messages) = (&self.failing, self.sc.messages_per_block);
        let points = |engine: &mut Engine, _: &Ledger, map: &SwarmMap| {
            let Engine::Service(engine) = engine else { return };
            // Every member of a swarm stores its swarm's share of the messages (submitted in
            // node order, which the engine takes without sorting).
            let per_swarm = messages / (map.swarm_count().max(1) as u64);
            let mut failing_nodes = failing.iter().peekable();
            for (id, _) in map.assignments() {
                while failing_nodes.next_if(|f| **f < id).is_some() {}
                let failing = failing_nodes.peek().is_some_and(|f| **f == id);
                engine.submit(
                    id,
                    ServicePoints {
                        stored: per_swarm,
                        delivered: 0,
                        tests_passed: u32::from(!failing),
                        tests_failed: u32::from(failing),
                    },
                );
            }
        };
        let block = if advance {
            self.chain.produce(|_| true, points)
        } else {
            self.chain.close_block(|_| true, points)
        }
        .map_err(|e| e.to_string())?;
        if let Some(reassignment) = block.swarms {
            self.count_swarm_changes(&reassignment);
        }
        if block.height.is_multiple_of(BLOCKS_PER_DAY) {
            self.end_of_day();
        }
        Ok(())
    }

    /// The day's churn and handover metrics of a swarm recomputation.
    fn count_swarm_changes(&mut self, r: &Reassignment) {
        let t = &r.transition;
        self.totals.swarm_recomputes += 1;
        if t.changes().is_empty() && t.new_swarms().is_empty() && t.dissolved_swarms().is_empty() {
            return;
        }
        if self.chain.ledger().height() == 0 {
            // The first assignment is the starting state, not churn.
            return;
        }
        self.totals.map_changes += 1;
        let (mut joined, mut left, mut moved) = (0u64, 0u64, 0u64);
        for c in t.changes() {
            match c {
                Change::Joined { .. } => joined += 1,
                Change::Left { .. } => left += 1,
                Change::Moved { .. } => moved += 1,
            }
        }
        let rehomed = if t.new_swarms().is_empty() && t.dissolved_swarms().is_empty() {
            0.0
        } else {
            rehomed_share(&r.previous, t.map())
        };
        let swarms = t.map().swarm_count().max(1) as f64;
        let avg_size = t.map().node_count() as f64 / swarms;
        let per_swarm = self.sc.messages as f64 / swarms;
        self.day.joined += joined;
        self.day.left += left;
        self.day.moved += moved;
        self.day.busiest_block = self.day.busiest_block.max(joined + left + moved);
        self.day.rehomed_share += rehomed;
        self.day.handover_messages +=
            (joined + moved) as f64 * per_swarm + rehomed * self.sc.messages as f64 * avg_size;
        self.totals.moved += moved;
        self.totals.left += left;
    }

    fn end_of_day(&mut self) {
        self.chain.payouts_mut().engine_mut().settle_all();
        let mut row = core::mem::take(&mut self.day);
        row.day = self.chain.ledger().height() / BLOCKS_PER_DAY;
        row.height = self.chain.ledger().height();
        let sizes: Vec<usize> = self.chain.map().iter().map(|(_, m)| m.len()).collect();
        row.fill_sizes(&sizes);
        row.active_nodes = self.chain.ledger().active_count() as u64;
        // Operator control.
        let operator_of =
            |k: &NodeId| self.nodes.get(&NodeId::from_bytes(*k.as_bytes())).map(|n| n.operator);
        let shares = sesh_swarm::analysis::largest_operator_shares(self.chain.map(), operator_of);
        let majority = shares.iter().filter(|s| s.held * 2 > s.size).count();
        row.majority_swarm_share =
            if shares.is_empty() { 0.0 } else { majority as f64 / shares.len() as f64 };
        row.largest_swarm_share = shares.iter().map(|s| s.fraction()).fold(0.0, f64::max);
        let mut per_operator: BTreeMap<u32, u64> = BTreeMap::new();
        for (_, members) in self.chain.map().iter() {
            for k in members {
                if let Some(op) = operator_of(k) {
                    *per_operator.entry(op).or_default() += 1;
                }
            }
        }
        let counts: Vec<f64> = per_operator.values().map(|c| *c as f64).collect();
        let big = if self.sc.concentration > 0.0 {
            per_operator.get(&0).copied().unwrap_or(0) as f64
        } else {
            0.0
        };
        (row.path_two_of_three_any, row.path_two_of_three_big) = path_control(&counts, big);
        let in_swarms: f64 = counts.iter().sum();
        row.big_node_share = if in_swarms > 0.0 { big / in_swarms } else { 0.0 };
        // Rewards.
        let totals = self.chain.payouts().engine().totals();
        row.rewards_sesh = totals.rewards as f64 / 1e12;
        row.conserved = totals.conserved();
        let (mut ops, mut cons) = (Vec::new(), Vec::new());
        for (addr, role) in &self.roles {
            let v = self.chain.payouts().engine().credited(addr) as f64;
            match role {
                Role::Operator(_) => ops.push(v),
                Role::Contributor(_) => cons.push(v),
            }
        }
        let mean =
            |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        row.per_operator_sesh = mean(&ops) / 1e12;
        row.per_contributor_sesh = mean(&cons) / 1e12;
        let credited: f64 = ops.iter().chain(&cons).sum();
        if self.sc.concentration > 0.0 && credited > 0.0 {
            let big = self.operators.first().map(Address::from_identity);
            let big = big.map(|a| self.chain.payouts().engine().credited(&a) as f64).unwrap_or(0.0);
            row.big_reward_share = big / credited;
        }
        row.gini_operators = gini(&mut ops);
        row.gini_contributors = gini(&mut cons);
        self.recorder.days.push(row);
    }

    /// Runs the whole scenario, calling `progress` with each block's height.
    pub fn run(&mut self, mut progress: impl FnMut(u64)) -> Result<(), String> {
        for _ in 0..self.sc.blocks() {
            self.step()?;
            progress(self.chain.ledger().height());
        }
        self.chain.payouts_mut().engine_mut().settle_all();
        Ok(())
    }

    /// The engine's totals.
    pub fn reward_totals(&self) -> Totals {
        self.chain.payouts().engine().totals()
    }

    /// Every staking address with its role and what it was credited (milli-atomic).
    pub fn credits(&self) -> Vec<(Role, u128)> {
        let mut v: Vec<(Role, u128)> = self
            .roles
            .iter()
            .map(|(a, r)| (*r, self.chain.payouts().engine().credited(a)))
            .collect();
        v.sort();
        v
    }

    /// Nodes each operator runs (active or not).
    pub fn nodes_per_operator(&self) -> BTreeMap<u32, u64> {
        let mut m = BTreeMap::new();
        for n in self.nodes.values() {
            *m.entry(n.operator).or_default() += 1;
        }
        m
    }

    /// The swarms now.
    pub fn map(&self) -> &SwarmMap {
        self.chain.map()
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.sc
    }
}

/// The share of swarm space whose owning swarm differs between two maps (sampled at fixed
/// points).
fn rehomed_share(old: &SwarmMap, new: &SwarmMap) -> f64 {
    let step = u64::MAX / SPACE_SAMPLES;
    let changed = (0..SPACE_SAMPLES)
        .filter(|i| {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i * step + step / 2).to_be_bytes());
            let space = SwarmSpace::of_key(&key);
            old.swarm_for(space) != new.swarm_for(space)
        })
        .count();
    changed as f64 / SPACE_SAMPLES as f64
}

/// The chance that one operator holds at least 2 of the 3 nodes of a random path: any operator,
/// and the concentrated one (`big` nodes), from the operators' node counts.
fn path_control(counts: &[f64], big: f64) -> (f64, f64) {
    let n: f64 = counts.iter().sum();
    if n < 3.0 {
        return (0.0, 0.0);
    }
    let triples = n * (n - 1.0) * (n - 2.0) / 6.0;
    // e3: triples with three distinct operators (elementary symmetric polynomial).
    let (mut e1, mut e2, mut e3) = (0.0f64, 0.0f64, 0.0f64);
    for c in counts {
        e3 += e2 * c;
        e2 += e1 * c;
        e1 += c;
    }
    let any = 1.0 - e3 / triples;
    let big_pairs = big * (big - 1.0) / 2.0 * (n - big) + big * (big - 1.0) * (big - 2.0) / 6.0;
    (any, (big_pairs / triples).max(0.0))
}

/// The Gini coefficient of `values` (0: equal, → 1: one holds everything).
fn gini(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    if values.is_empty() || sum <= 0.0 {
        return 0.0;
    }
    let weighted: f64 = values.iter().enumerate().map(|(i, v)| (i as f64 + 1.0) * v).sum();
    2.0 * weighted / (n * sum) - (n + 1.0) / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_and_path_control() {
        assert!(gini(&mut [1.0, 1.0, 1.0, 1.0]).abs() < 1e-12);
        assert!((gini(&mut [0.0, 0.0, 0.0, 4.0]) - 0.75).abs() < 1e-12);
        // 3 operators with one node each: a path always has three distinct operators.
        assert_eq!(path_control(&[1.0, 1.0, 1.0], 0.0).0, 0.0);
        // One operator with everything.
        let (any, big) = path_control(&[10.0], 10.0);
        assert!((any - 1.0).abs() < 1e-12 && (big - 1.0).abs() < 1e-12);
        // Two operators of 2: C(4,3) = 4 triples, all with a pair.
        assert!((path_control(&[2.0, 2.0], 2.0).0 - 1.0).abs() < 1e-12);
        assert!((path_control(&[2.0, 2.0], 2.0).1 - 0.5).abs() < 1e-12);
    }
}
