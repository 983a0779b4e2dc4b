//! The block pipeline against a straightforward reimplementation: a plain staking ledger, the
//! swarms recomputed with `sesh_swarm::next` on every block whose set of serving active nodes
//! changed, and the exact reward engine fed each block's events and the pool's reward. Random
//! registrations, contributions, exits and quorum decisions, block by block; then the reward
//! balances rebuilt from the ledger's log.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sesh_identity::{Identity, Seed};
use sesh_node::Error;
use sesh_node::chain::{Block, Chain, Payouts};
use sesh_rewards::engine::{Exact, RewardEngine};
use sesh_rewards::pool::{BlockRewards, RewardRatePool};
use sesh_staking::journal::{Journal, record_bytes};
use sesh_staking::tx::{
    ByContributor, Contribute, DecisionKind, Liquidate, QuorumDecision, Register, SignedTx, Tx,
    UptimeProof,
};
use sesh_staking::{Address, Event, Ledger, NodeId, NodeStatus, Params};
use sesh_swarm::{NodeState, SortOrder, SwarmMap, next, seed_from_block_hash};

const REQUIREMENT: u64 = 100_000_000_000;
const POOL: u128 = 1_000_000_000_000_000;
const NODES: usize = 24;
const CONTRIBUTORS: usize = 3;
const BLOCK_SECONDS: u64 = 120;

fn params() -> Params {
    Params::testnet(REQUIREMENT)
}

fn key(tag: u8, i: usize) -> Identity {
    let mut seed = [tag; 32];
    seed[0] = i as u8;
    Identity::from_seed(&Seed::from_bytes(seed))
}

/// The keys of a run: node `i` is run by operator `i`; a few contributors.
struct Keys {
    nodes: Vec<Identity>,
    operators: Vec<Identity>,
    contributors: Vec<Identity>,
}

impl Keys {
    fn new() -> Self {
        Self {
            nodes: (0..NODES).map(|i| key(0x11, i)).collect(),
            operators: (0..NODES).map(|i| key(0x22, i)).collect(),
            contributors: (0..CONTRIBUTORS).map(|i| key(0x33, i)).collect(),
        }
    }

    fn node(&self, i: usize) -> NodeId {
        NodeId::from_identity(&self.nodes[i % NODES])
    }

    fn identity_of(&self, id: &NodeId) -> Option<&Identity> {
        self.nodes.iter().find(|n| NodeId::from_identity(n) == *id)
    }
}

/// What a test does in a block.
#[derive(Clone, Debug)]
enum Op {
    /// Operator `node` registers node `node`: the whole stake, or half of it.
    Register { node: usize, solo: bool, fee: u16 },
    /// A contributor stakes into a node: a quarter, a half, or one atomic unit.
    Contribute { who: usize, node: usize, amount: u8 },
    /// A contributor (or the operator) withdraws from a node not yet active.
    Withdraw { who: Option<usize>, node: usize },
    /// The operator asks for the node to leave.
    RequestExit { node: usize },
    /// The operator takes the stake of a removed node back.
    Exit { node: usize },
    /// A quorum decides about a node.
    Decide { kind: u8, node: usize, voters: usize, back: u64 },
    /// Contributor 0 liquidates a removed node.
    Liquidate { node: usize, voters: usize },
    /// The node proves its uptime.
    Uptime { node: usize },
    /// The node becomes unreachable (or reachable again): the caller asks for a reassignment.
    Toggle { node: usize },
    /// A registration signed by the wrong key: always refused.
    Forged { node: usize },
}

impl Op {
    fn strategy() -> impl Strategy<Value = Self> {
        let n = 0..NODES;
        prop_oneof![
            5 => (n.clone(), any::<bool>(), 0u16..4).prop_map(|(node, solo, fee)| Op::Register { node, solo, fee: fee * 500 }),
            3 => (0..CONTRIBUTORS, n.clone(), 0u8..3).prop_map(|(who, node, amount)| Op::Contribute { who, node, amount }),
            1 => (proptest::option::of(0..CONTRIBUTORS), n.clone()).prop_map(|(who, node)| Op::Withdraw { who, node }),
            1 => n.clone().prop_map(|node| Op::RequestExit { node }),
            1 => n.clone().prop_map(|node| Op::Exit { node }),
            3 => (0u8..3, n.clone(), 0usize..9, 0u64..2).prop_map(|(kind, node, voters, back)| Op::Decide { kind, node, voters, back }),
            1 => (n.clone(), 0usize..9).prop_map(|(node, voters)| Op::Liquidate { node, voters }),
            1 => n.clone().prop_map(|node| Op::Uptime { node }),
            1 => n.clone().prop_map(|node| Op::Toggle { node }),
            1 => n.prop_map(|node| Op::Forged { node }),
        ]
    }

    fn random(rng: &mut ChaCha20Rng) -> Self {
        let mut below = |n: u64| (rng.next_u64() % n) as usize;
        let node = below(NODES as u64);
        match below(19) {
            0..=2 => Op::Register { node, solo: below(2) == 0, fee: below(4) as u16 * 500 },
            3..=5 => Op::Contribute { who: below(3), node, amount: below(3) as u8 },
            6 => Op::Withdraw { who: [None, Some(0), Some(1)][below(3)], node },
            7 => Op::RequestExit { node },
            8 => Op::Exit { node },
            9..=12 => Op::Decide { kind: below(3) as u8, node, voters: below(9), back: 0 },
            13 => Op::Liquidate { node, voters: 8 },
            14 | 15 => Op::Uptime { node },
            16 => Op::Toggle { node },
            17 => Op::Forged { node },
            _ => Op::Contribute { who: 0, node, amount: 0 },
        }
    }
}

/// How a ledger status places a node in the swarms, written out again.
fn state_of(status: NodeStatus) -> NodeState {
    match status {
        NodeStatus::Active | NodeStatus::ExitRequested => NodeState::Active,
        NodeStatus::Decommissioned => NodeState::Decommissioned,
        NodeStatus::AwaitingContributions | NodeStatus::Removed | NodeStatus::Liquidated => {
            NodeState::Removed
        }
    }
}

/// The pipeline written out plainly.
struct Reference {
    ledger: Ledger,
    map: SwarmMap,
    hash: [u8; 32],
    engine: Exact,
    blocks: BlockRewards,
    pool: RewardRatePool,
    events: Vec<Event>,
}

impl Reference {
    fn new() -> Self {
        Self {
            ledger: Ledger::new(params()),
            map: SwarmMap::new(),
            hash: [0; 32],
            engine: Exact::new(),
            blocks: BlockRewards::new(),
            pool: RewardRatePool::new(POOL, 0),
            events: Vec::new(),
        }
    }

    /// Closes the next block; returns its reward and whether the swarms were recomputed.
    fn block(&mut self, unreachable: &BTreeSet<NodeId>) -> (u64, bool) {
        let h = self.ledger.height() + 1;
        let events = self.ledger.apply_signed(&Tx::AdvanceHeight(h).unsigned()).unwrap();
        self.events.extend(events);
        self.hash = sesh_identity::hash::blake2b(b"", &[&self.hash, &h.to_le_bytes()]);
        let states: Vec<(NodeId, NodeState)> = self
            .ledger
            .nodes()
            .filter(|n| !unreachable.contains(&n.id()))
            .map(|n| (n.id(), state_of(n.status())))
            .collect();
        let active: BTreeSet<NodeId> =
            states.iter().filter(|(_, s)| *s == NodeState::Active).map(|(n, _)| *n).collect();
        let placed: BTreeSet<NodeId> = self.map.assignments().map(|(n, _)| n).collect();
        let recomputed = active != placed;
        if recomputed {
            let t = next(&self.map, states, seed_from_block_hash(&self.hash), SortOrder::Compat)
                .unwrap();
            self.map = t.into_map();
        }
        let now = h * BLOCK_SECONDS;
        let reward = self.blocks.next_block(self.pool.reward_rate(now)).unwrap().reward;
        self.engine.block(&self.ledger, &self.events, reward).unwrap();
        self.events.clear();
        self.pool.payout_released(now);
        (reward, recomputed)
    }
}

/// A chain and the reference, driven together.
struct World {
    keys: Keys,
    chain: Chain<Exact>,
    reference: Reference,
    unreachable: BTreeSet<NodeId>,
    /// Every applied transaction's log record.
    log: Vec<u8>,
    applied: usize,
    refused: usize,
    recomputations: usize,
}

impl World {
    fn new() -> Self {
        Self {
            keys: Keys::new(),
            chain: Chain::new(params(), Exact::new(), POOL, SortOrder::Compat),
            reference: Reference::new(),
            unreachable: BTreeSet::new(),
            log: Vec::new(),
            applied: 0,
            refused: 0,
            recomputations: 0,
        }
    }

    fn ledger(&self) -> &Ledger {
        &self.reference.ledger
    }

    fn operator(&self, node: usize) -> (&Identity, Address) {
        let op = &self.keys.operators[node % NODES];
        (op, Address::from_identity(op))
    }

    fn register(&self, node: usize, solo: bool, fee: u16, signer: &Identity) -> SignedTx {
        let tx = self.registration(node, solo, fee);
        if signer.ed25519_public_key().to_bytes() == tx.signer().unwrap() {
            return tx.sign(signer, &params()).unwrap();
        }
        // Forged: a signature by the wrong key.
        let signature = Some(signer.sign(&tx.signing_bytes(&params())).to_bytes());
        SignedTx { tx, signature }
    }

    fn registration(&self, node: usize, solo: bool, fee: u16) -> Tx {
        let p = params();
        let (_, op) = self.operator(node);
        let id = self.keys.node(node);
        let node_key = &self.keys.nodes[node % NODES];
        let bls_key = sesh_node::signing::bls_key(node_key);
        Tx::Register(Register {
            operator: op,
            nonce: self.ledger().nonce(&op),
            node: id,
            bls_key,
            fee_bp: fee,
            stake: if solo { REQUIREMENT } else { REQUIREMENT / 2 },
            beneficiary: op,
            reservations: Vec::new(),
            node_signature: node_key
                .sign(&Register::node_message(&id, &bls_key, &op, &p))
                .to_bytes(),
        })
    }

    fn by(&self, who: &Identity, node: usize, make: fn(ByContributor) -> Tx) -> SignedTx {
        let addr = Address::from_identity(who);
        make(ByContributor {
            contributor: addr,
            nonce: self.ledger().nonce(&addr),
            node: self.keys.node(node),
        })
        .sign(who, &params())
        .unwrap()
    }

    /// A decision signed by up to `count` active nodes other than the node, as the simulator
    /// makes them.
    fn decision(&self, kind: DecisionKind, node: usize, count: usize, back: u64) -> QuorumDecision {
        let target = self.keys.node(node);
        let voters: Vec<&Identity> = self
            .ledger()
            .nodes()
            .filter(|n| n.is_active() && n.id() != target)
            .take(count)
            .filter_map(|n| self.keys.identity_of(&n.id()))
            .collect();
        let height = self.ledger().height().saturating_sub(back);
        QuorumDecision::signed(kind, target, height, &voters, &params())
    }

    fn tx(&self, op: &Op) -> Option<SignedTx> {
        let p = params();
        Some(match *op {
            Op::Register { node, solo, fee } => {
                self.register(node, solo, fee, self.operator(node).0)
            }
            Op::Forged { node } => self.register(node, true, 0, &self.keys.contributors[0]),
            Op::Contribute { who, node, amount } => {
                let c = &self.keys.contributors[who];
                let addr = Address::from_identity(c);
                let amount = [REQUIREMENT / 4, REQUIREMENT / 2, 1][usize::from(amount)];
                Tx::Contribute(Contribute {
                    contributor: addr,
                    nonce: self.ledger().nonce(&addr),
                    node: self.keys.node(node),
                    amount,
                    beneficiary: addr,
                })
                .sign(c, &p)
                .unwrap()
            }
            Op::Withdraw { who, node } => {
                let who = who.map_or(self.operator(node).0, |c| &self.keys.contributors[c]);
                self.by(who, node, Tx::Withdraw)
            }
            Op::RequestExit { node } => self.by(self.operator(node).0, node, Tx::RequestExit),
            Op::Exit { node } => self.by(self.operator(node).0, node, Tx::Exit),
            Op::Decide { kind, node, voters, back } => {
                let (kind, make): (DecisionKind, fn(QuorumDecision) -> Tx) = match kind {
                    0 => (DecisionKind::Decommission, Tx::Decommission),
                    1 => (DecisionKind::Recommission, Tx::Recommission),
                    _ => (DecisionKind::Deregister, Tx::Deregister),
                };
                make(self.decision(kind, node, voters, back)).unsigned()
            }
            Op::Liquidate { node, voters } => {
                let c = &self.keys.contributors[0];
                let addr = Address::from_identity(c);
                Tx::Liquidate(Liquidate {
                    liquidator: addr,
                    nonce: self.ledger().nonce(&addr),
                    decision: self.decision(DecisionKind::Liquidate, node, voters, 0),
                })
                .sign(c, &p)
                .unwrap()
            }
            Op::Uptime { node } => {
                let id = self.keys.node(node);
                Tx::UptimeProof(UptimeProof { node: id, height: self.ledger().height() })
                    .sign(&self.keys.nodes[node % NODES], &p)
                    .unwrap()
            }
            Op::Toggle { .. } => return None,
        })
    }

    fn run(&mut self, op: &Op) {
        if let Op::Toggle { node } = *op {
            let id = self.keys.node(node);
            if !self.unreachable.remove(&id) {
                self.unreachable.insert(id);
            }
            self.chain.reassign();
            return;
        }
        let tx = self.tx(op).unwrap();
        self.submit(&tx);
    }

    /// Applies `tx` to both; they must agree, and a refusal must change nothing.
    fn submit(&mut self, tx: &SignedTx) {
        let before = self.chain.ledger().state_hash();
        let got = self.chain.apply(tx);
        let want = self.reference.ledger.apply_signed(tx);
        match (got, want) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "events of {tx:?}");
                self.reference.events.extend(want);
                self.log.extend(record_bytes(tx));
                self.applied += 1;
            }
            (Err(got), Err(want)) => {
                assert_eq!(got, Error::Ledger(want));
                assert_eq!(
                    self.chain.ledger().state_hash(),
                    before,
                    "a refusal changed the ledger"
                );
                self.refused += 1;
            }
            (got, want) => panic!("chain {got:?}, reference {want:?} for {tx:?}"),
        }
    }

    /// Closes a block on both and compares everything.
    fn block(&mut self) -> Block {
        let before = self.chain.map().clone();
        let unreachable = self.unreachable.clone();
        let block = self.chain.produce(|id| !unreachable.contains(id), |_, _, _| {}).unwrap();
        let (reward, recomputed) = self.reference.block(&self.unreachable);
        let r = &self.reference;
        let h = r.ledger.height();
        assert_eq!(block.height, h);
        assert_eq!(block.hash, r.hash, "block hash at {h}");
        assert_eq!(self.chain.block_hash(), r.hash);
        assert_eq!(self.chain.ledger().state_hash(), r.ledger.state_hash(), "ledger at {h}");
        assert_eq!(self.chain.map(), &r.map, "swarms at {h}");
        if recomputed {
            self.recomputations += 1;
            let re = block.swarms.as_ref().unwrap_or_else(|| panic!("no recomputation at {h}"));
            assert_eq!(re.previous, before);
            assert_eq!(re.transition.map(), &r.map);
            assert!(!re.transition.changes().is_empty() || before.is_empty());
        }
        // Whatever the reference: only serving, active nodes are in a swarm.
        for (id, _) in self.chain.map().assignments() {
            assert!(!self.unreachable.contains(&id), "unreachable {id} in a swarm at {h}");
            let status = r.ledger.node(&id).unwrap().status();
            assert!(matches!(status, NodeStatus::Active | NodeStatus::ExitRequested), "{status:?}");
        }
        assert_eq!(block.reward, reward, "reward at {h}");
        let engine = self.chain.payouts().engine();
        assert_eq!(engine.balances(), r.engine.balances(), "balances at {h}");
        assert_eq!(engine.totals(), r.engine.totals(), "totals at {h}");
        assert!(engine.totals().conserved());
        assert_eq!(self.chain.payouts().pool().total_paid_out(), r.pool.total_paid_out());
        assert_eq!(self.chain.payouts().pool().balance(), r.pool.balance());
        self.log.extend(record_bytes(&Tx::AdvanceHeight(h).unsigned()));
        block
    }

    /// The balances rebuilt from the log equal the live ones.
    fn check_replay(&self) {
        let mut payouts = Payouts::new(Exact::new(), POOL);
        let mut failures = 0;
        let recovered = Journal::open_observed(params(), None, &self.log, |ledger, tx, events| {
            if payouts.replay(ledger, tx, events).is_err() {
                failures += 1;
            }
        })
        .unwrap();
        assert_eq!(failures, 0);
        assert!(recovered.damage.is_none());
        assert_eq!(recovered.valid_len, self.log.len() as u64);
        assert_eq!(recovered.journal.ledger().state_hash(), self.chain.ledger().state_hash());
        let live = self.chain.payouts();
        assert_eq!(payouts.engine().balances(), live.engine().balances());
        assert_eq!(payouts.engine().totals(), live.engine().totals());
        assert_eq!(payouts.pool().total_paid_out(), live.pool().total_paid_out());
        assert_eq!(payouts.pool().balance(), live.pool().balance());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Block by block the chain's ledger, swarms and rewards are the reference's, and the log
    /// replays to the same balances.
    #[test]
    fn chain_matches_reference(
        start in 0..NODES,
        blocks in prop::collection::vec(prop::collection::vec(Op::strategy(), 0..6), 1..30),
    ) {
        let mut w = World::new();
        for node in 0..start {
            w.run(&Op::Register { node, solo: true, fee: 0 });
        }
        for ops in &blocks {
            for op in ops {
                w.run(op);
            }
            w.block();
        }
        w.check_replay();
    }
}

/// A long seeded run: past the payable delay, the 720-block unlock of requested exits, and the
/// release of returned stake.
#[test]
fn long_run_matches_reference() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5e55_0001);
    let mut w = World::new();
    // Start with every node solo and active.
    for node in 0..NODES {
        w.run(&Op::Register { node, solo: node % 3 != 0, fee: (node % 4) as u16 * 500 });
    }
    let mut seen = BTreeSet::new();
    for _ in 0..900 {
        while rng.next_u64() % 3 == 0 {
            let op = Op::random(&mut rng);
            w.run(&op);
        }
        w.block();
        for n in w.ledger().nodes() {
            seen.insert(format!("{:?}", n.status()));
        }
    }
    w.check_replay();
    // The run went through the interesting states.
    assert!(w.recomputations > 3, "{} recomputations", w.recomputations);
    assert!(w.applied > 50 && w.refused > 10, "{} applied, {} refused", w.applied, w.refused);
    assert!(seen.contains("Active") && seen.contains("Decommissioned"), "{seen:?}");
    let totals = w.chain.payouts().engine().totals();
    assert!(totals.credited > 0);
}

// ---- the rules one at a time ----

/// A world with `n` solo nodes registered and a first block made.
fn started(n: usize) -> World {
    let mut w = World::new();
    for node in 0..n {
        w.run(&Op::Register { node, solo: true, fee: 0 });
    }
    let block = w.block();
    assert!(block.swarms.is_some());
    assert_eq!(w.chain.map().node_count(), n);
    w
}

/// Blocks until one passes without any event but the height advance (no node becomes payable).
fn quiet(w: &mut World) {
    for _ in 0..10 {
        w.block();
    }
}

#[test]
fn a_quiet_block_keeps_the_swarms() {
    let mut w = started(6);
    quiet(&mut w);
    let before = w.chain.map().clone();
    let block = w.block();
    assert!(block.swarms.is_none());
    assert_eq!(w.chain.map(), &before);
}

#[test]
fn a_contribution_alone_moves_no_swarm() {
    let mut w = started(6);
    w.run(&Op::Register { node: 7, solo: false, fee: 0 });
    w.block();
    quiet(&mut w);
    let before = w.chain.map().clone();
    w.run(&Op::Contribute { who: 0, node: 7, amount: 0 });
    assert_eq!(
        w.ledger().node(&w.keys.node(7)).unwrap().status(),
        NodeStatus::AwaitingContributions
    );
    let block = w.block();
    assert!(block.swarms.is_none());
    assert_eq!(w.chain.map(), &before);
    // The contribution that completes the stake activates the node: recomputed, and placed.
    w.run(&Op::Contribute { who: 1, node: 7, amount: 0 });
    let block = w.block();
    let re = block.swarms.unwrap();
    assert!(re.transition.map().swarm_of(&w.keys.node(7)).is_some());
    assert_eq!(re.previous, before);
}

#[test]
fn reassign_forces_a_recomputation() {
    let mut w = started(6);
    quiet(&mut w);
    let before = w.chain.map().clone();
    w.chain.reassign();
    let block = w.block();
    let re = block.swarms.expect("reassign() recomputes");
    assert!(re.transition.changes().is_empty());
    assert_eq!(w.chain.map(), &before);
    // Once: the block after is quiet again.
    assert!(w.block().swarms.is_none());
}

#[test]
fn serves_excludes_nodes_from_the_swarms() {
    let mut w = started(6);
    quiet(&mut w);
    let gone = w.keys.node(2);
    assert!(w.chain.map().swarm_of(&gone).is_some());
    w.run(&Op::Toggle { node: 2 });
    let block = w.block();
    let re = block.swarms.unwrap();
    assert!(w.chain.map().swarm_of(&gone).is_none());
    assert_eq!(w.chain.map().node_count(), 5);
    assert!(re.transition.changes().iter().any(|c| c.node() == gone));
    // A node the caller does not serve is not placed even when it registers.
    let mut chain = w.chain.clone();
    let tx = w.tx(&Op::Register { node: 9, solo: true, fee: 0 }).unwrap();
    chain.apply(&tx).unwrap();
    let newcomer = w.keys.node(9);
    let block = chain.produce(|id| *id != newcomer && *id != gone, |_, _, _| {}).unwrap();
    assert!(block.swarms.is_some());
    assert!(chain.map().swarm_of(&newcomer).is_none());
    assert_eq!(chain.ledger().node(&newcomer).unwrap().status(), NodeStatus::Active);
    // Back in service: placed again.
    w.run(&Op::Toggle { node: 2 });
    w.block();
    assert!(w.chain.map().swarm_of(&gone).is_some());
}

#[test]
fn a_refused_transaction_changes_nothing() {
    let mut w = started(6);
    quiet(&mut w);
    let mut twin = w.chain.clone();
    let hash = w.chain.ledger().state_hash();
    // Registered already; signed by the wrong key; a decision without votes; a second
    // registration of an unknown operator's node with a stale nonce.
    let refused = [
        w.tx(&Op::Register { node: 0, solo: true, fee: 0 }).unwrap(),
        w.tx(&Op::Forged { node: 8 }).unwrap(),
        w.tx(&Op::Decide { kind: 0, node: 1, voters: 0, back: 0 }).unwrap(),
        w.tx(&Op::Exit { node: 1 }).unwrap(),
    ];
    for tx in &refused {
        assert!(matches!(w.chain.apply(tx), Err(Error::Ledger(_))), "{tx:?}");
        assert_eq!(w.chain.ledger().state_hash(), hash);
    }
    // Nothing is pending either: the next block is the twin's, and it moves no swarm.
    let a = w.chain.produce(|_| true, |_, _, _| {}).unwrap();
    let b = twin.produce(|_| true, |_, _, _| {}).unwrap();
    assert!(a.swarms.is_none());
    assert_eq!((a.height, a.hash, a.reward), (b.height, b.hash, b.reward));
    assert_eq!(w.chain.ledger().state_hash(), twin.ledger().state_hash());
    assert_eq!(w.chain.payouts().engine().balances(), twin.payouts().engine().balances());
    assert_eq!(w.chain.payouts().engine().totals(), twin.payouts().engine().totals());
}

#[test]
fn a_decommission_leaves_and_a_recommission_returns() {
    let mut w = started(8);
    quiet(&mut w);
    let node = w.keys.node(3);
    w.run(&Op::Decide { kind: 0, node: 3, voters: 7, back: 0 });
    assert_eq!(w.ledger().node(&node).unwrap().status(), NodeStatus::Decommissioned);
    let block = w.block();
    let left = block.swarms.unwrap();
    assert!(
        left.transition
            .changes()
            .iter()
            .any(|c| matches!(c, sesh_swarm::Change::Left { node: n, .. } if *n == node))
    );
    w.block();
    w.run(&Op::Decide { kind: 1, node: 3, voters: 7, back: 0 });
    assert_eq!(w.ledger().node(&node).unwrap().status(), NodeStatus::Active);
    let block = w.block();
    let back = block.swarms.unwrap();
    assert!(
        back.transition
            .changes()
            .iter()
            .any(|c| matches!(c, sesh_swarm::Change::Joined { node: n, .. } if *n == node))
    );
    w.check_replay();
}

#[test]
fn rewards_are_paid_once_nodes_are_payable() {
    let mut w = started(4);
    let totals = w.chain.payouts().engine().totals();
    assert_eq!(totals.credited, 0, "nobody is payable in the first block");
    quiet(&mut w);
    let totals = w.chain.payouts().engine().totals();
    assert!(totals.credited > 0);
    // Each operator of a solo node with no fee is paid the same.
    let balances = w.chain.payouts().engine().balances();
    let operators: Vec<u128> = (0..4).map(|i| balances[&w.operator(i).1]).collect();
    assert!(operators.windows(2).all(|p| p[0] == p[1]), "{operators:?}");
    w.check_replay();
}

#[test]
fn the_replay_reproduces_the_live_balances_midway() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut w = started(10);
    for _ in 0..60 {
        let op = Op::random(&mut rng);
        w.run(&op);
        w.block();
    }
    w.check_replay();
    // A log cut after a block's record replays to a chain that pays the same from there.
    let mut damaged = w.log.clone();
    damaged.truncate(damaged.len() - 3);
    let recovered = Journal::open(params(), None, &damaged).unwrap();
    assert!(recovered.damage.is_some());
    assert_eq!(recovered.journal.ledger().height(), w.ledger().height() - 1);
}
