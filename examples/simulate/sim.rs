//! The simulation: a staking ledger (`sesh-staking`, mainnet rules), swarms recomputed as oxend
//! does whenever the active set changes (`sesh-swarm`), every block's reward credited
//! (`sesh-rewards`), and failing nodes found by the network's own obligations rules
//! (`sesh-quorum`, see [`obligations`](crate::simulate::obligations)), driven by seeded random
//! events. No IO and no clock: the same scenario and seed give the same run, bit for bit.

// Counts here are far below 2^32, and Rust's float-to-integer casts saturate.
#![allow(clippy::cast_possible_truncation)]

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sesh_identity::Identity;
use sesh_node::chain::{Chain, Reassignment};
use sesh_quorum::{Decided, Reasons, StateChange};
use sesh_rewards::engine::{Accumulator, Exact, RewardEngine, Totals};
use sesh_rewards::service::{ServiceParams, ServicePoints, ServiceWeighted};
use sesh_staking::tx::{
    ByContributor, ChainRegister, ChainRequestExit, ChainSeed, Contribute, Register, SignedTx, Tx,
    VerifiedTx,
};
use sesh_staking::{Address, BlsKey, Event, Ledger, NodeId, NodeStatus, Params};
use sesh_swarm::{Change, SwarmMap, SwarmSpace};

use crate::simulate::ledger_file::{FileState, LedgerFile, LedgerFileError};
use crate::simulate::metrics::{DayRow, Recorder};
use crate::simulate::obligations::{
    Condition, FaultKind, Obligations, PROOF_FREQUENCY_BLOCKS, VoteStats, unit,
};
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

/// A node's current outage.
#[derive(Clone, Copy, Debug)]
struct Fault {
    kind: FaultKind,
    /// First failing height.
    since: u64,
}

/// A node the simulation runs.
struct SimNode {
    identity: Identity,
    operator: u32,
    /// It proves it is up at heights ≡ this (mod 30), and when it starts.
    proof_phase: u64,
    /// Registration, or the height it came back from its last outage (a proof).
    up_since: u64,
    /// Fails each check with the scenario's `flaky_failure_rate`.
    flaky: bool,
    fault: Option<Fault>,
    /// Its last outage, for the recommission that ends it.
    last_outage: Option<usize>,
    /// Ledger height at registration.
    registered_at: u64,
    /// It asked to leave.
    exit_requested: bool,
    /// SESH earned (its share of each block it was payable in).
    earned: f64,
    /// The cumulative reward per payable node before its current payable run.
    payable_since: Option<f64>,
    /// The last height it was payable.
    last_payable: Option<u64>,
    /// Outages it had, and blocks it spent failing.
    outages: u32,
    down_blocks: u64,
    /// Decommissions and deregistrations while it was not failing.
    wrongful: u32,
}

impl SimNode {
    /// Its last uptime proof at or before `height`.
    fn last_proof(&self, height: u64) -> u64 {
        if height <= self.up_since {
            return self.up_since;
        }
        let phase = self.proof_phase % PROOF_FREQUENCY_BLOCKS;
        // The last height ≡ phase (mod 30) at or before `height`, if any.
        let k =
            height.checked_sub((height + PROOF_FREQUENCY_BLOCKS - phase) % PROOF_FREQUENCY_BLOCKS);
        k.unwrap_or(0).max(self.up_since)
    }
}

/// Why a state change was decided, as the simulation knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// The node was failing (an outage of this kind).
    Failing(FaultKind),
    /// The node is flaky and not in an outage.
    Flaky,
    /// The node was doing nothing wrong.
    Healthy,
}

impl Cause {
    /// Its name in the outputs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Failing(kind) => kind.name(),
            Self::Flaky => "flaky",
            Self::Healthy => "healthy",
        }
    }
}

/// One outage: a node that starts failing, how long, and what the quorums did about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    /// The node.
    pub node: NodeId,
    /// Its operator.
    pub operator: u32,
    /// What it does wrong.
    pub kind: FaultKind,
    /// First failing height.
    pub start: u64,
    /// The height it is back (may be after the run).
    pub end: u64,
    /// Its decommission credit when it started failing, in blocks.
    pub credit: i64,
    /// When the ledger decommissioned it.
    pub decommissioned: Option<u64>,
    /// When it was recommissioned after it.
    pub recommissioned: Option<u64>,
    /// When it was deregistered.
    pub deregistered: Option<u64>,
}

impl Outage {
    /// Blocks from its start to the decommission or deregistration that caught it.
    pub fn blocks_to_catch(&self) -> Option<u64> {
        self.decommissioned.or(self.deregistered).map(|h| h.saturating_sub(self.start))
    }
}

/// A state change the ledger applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRecord {
    /// The block it is in.
    pub height: u64,
    /// The quorum's height.
    pub vote_height: u64,
    /// The node.
    pub node: NodeId,
    /// The change.
    pub state: StateChange,
    /// Reasons every vote gave.
    pub reasons: Reasons,
    /// What the node was doing.
    pub cause: Cause,
}

/// What one node earned against what an always-up node registered at the same height did.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeEarnings {
    /// The node.
    pub node: NodeId,
    /// Its operator.
    pub operator: u32,
    /// Registration height.
    pub registered_at: u64,
    /// A flaky node.
    pub flaky: bool,
    /// Outages it had.
    pub outages: u32,
    /// Blocks it spent failing.
    pub down_blocks: u64,
    /// Decommissions and deregistrations while not failing.
    pub wrongful: u32,
    /// Its status at the end.
    pub status: NodeStatus,
    /// SESH it earned (its share of the block rewards, before the operator/contributor split).
    pub earned: f64,
    /// SESH a node registered with it that never failed would have earned over the same time:
    /// from its first payable height to the end of the run (or to its exit, if it asked to
    /// leave).
    pub potential: f64,
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
    /// Deregistrations applied (failing nodes without the credit to be decommissioned, or out
    /// of credit while decommissioned).
    pub deregistrations: u64,
    /// Decommissions and deregistrations of nodes that were not failing.
    pub wrongful: u64,
    /// Blocks at which the swarm map changed.
    pub map_changes: u64,
}

/// Where a network started from a ledger file came from ([`Sim::from_ledger`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file, as given.
    pub file: String,
    /// The ledger's state hash.
    pub state_hash: String,
    /// The ledger's height.
    pub height: u64,
    /// The staking requirement the simulation runs with: the file's.
    pub staking_requirement: u64,
    /// Nodes in the file.
    pub in_file: usize,
    /// Nodes the simulation started with (active and exit-requested).
    pub started: usize,
    /// Of those, nodes that had asked to leave (they leave when their stake unlocks).
    pub exit_requested: usize,
    /// Nodes left out, by their state in the file.
    pub skipped: BTreeMap<&'static str, usize>,
    /// Each started node: its key in the file and the stand-in key the simulation signs with.
    pub stand_ins: Vec<(String, NodeId)>,
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
    /// A ledger file's operators (no keys: their exit requests go as the contract's), numbered
    /// after `operators`.
    ledger_operators: Vec<Address>,
    /// Where the starting network came from, when it was a ledger file.
    origin: Option<Origin>,
    /// Who each staking address is.
    pub roles: BTreeMap<Address, Role>,
    /// Nodes failing storage tests for the service engine's points.
    failing: BTreeSet<NodeId>,
    /// Nodes in an outage or flaky, as the quorums' tests see them.
    troubled: BTreeMap<NodeId, Condition>,
    /// Quorums, tests and votes.
    obligations: Obligations,
    /// The draws of the tests' verdicts (a stream of their own).
    check_rng: ChaCha20Rng,
    /// Outages ending at each height.
    back_at: BTreeMap<u64, Vec<NodeId>>,
    /// Every outage, in order.
    pub outages: Vec<Outage>,
    /// Every state change applied.
    pub decisions: Vec<DecisionRecord>,
    /// The payable nodes, in id order.
    payable: Vec<NodeId>,
    /// The block reward per payable node, summed: `reward_per_node[h]` after block `h` (SESH).
    reward_per_node: Vec<f64>,
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
        let mut sim = Self::empty(sc, Params::session_mainnet());
        let big = sim.sc.concentration > 0.0;
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

    /// Builds the starting network from a staking ledger (the `ledger` example's `--json`):
    /// its active nodes, and its exit-requested ones (which then leave when their stake
    /// unlocks, counted from the start), with their operators, contributors, stakes and fees,
    /// registered as the contract registers them (`Tx::ChainRegister`, `Tx::ChainSeed` for
    /// seeded nodes). The rules are mainnet's with the file's staking requirement; a node
    /// registered under another requirement keeps its own. Each node signs with a stand-in
    /// Ed25519 key (the file has public keys only); its BLS key is the file's. Nodes in other
    /// states are left out ([`Origin::skipped`]). `sc.nodes` becomes the count started; the
    /// scenario's operators and contributors register the nodes that join during the run.
    ///
    /// # Errors
    /// [`LedgerFileError::Refused`] naming the node the ledger's rules refuse (or whose keys
    /// another node has), and why;
    /// [`LedgerFileError::Empty`] when no node can start; [`LedgerFileError::Sim`] when the
    /// scenario cannot run.
    pub fn from_ledger(
        sc: Scenario,
        file: &LedgerFile,
        name: &str,
    ) -> Result<Self, LedgerFileError> {
        sc.check().map_err(LedgerFileError::Sim)?;
        let mut params = Params::session_mainnet();
        params.staking_requirement = file.staking_requirement;
        let mut sim = Self::empty(sc, params);
        let mut origin = Origin {
            file: name.to_owned(),
            state_hash: file.state_hash.clone(),
            height: file.height,
            staking_requirement: file.staking_requirement,
            in_file: file.nodes.len(),
            started: 0,
            exit_requested: 0,
            skipped: BTreeMap::new(),
            stand_ins: Vec::new(),
        };
        let mut operator_index: BTreeMap<Address, u32> = BTreeMap::new();
        let mut contributor_count = sim.sc.contributor_pool;
        let (mut seen, mut seen_pubkeys) = (BTreeMap::new(), BTreeMap::new());
        let mut operator_beneficiaries: BTreeMap<Address, u32> = BTreeMap::new();
        for node in &file.nodes {
            let skipped = match node.state {
                FileState::Active | FileState::ExitRequested => None,
                FileState::Awaiting => Some("awaiting_contributions"),
                FileState::Decommissioned => Some("decommissioned"),
                FileState::Removed => Some("removed"),
                FileState::Liquidated => Some("liquidated"),
            };
            if let Some(state) = skipped {
                *origin.skipped.entry(state).or_default() += 1;
                continue;
            }
            let refused = |why: String| LedgerFileError::Refused {
                index: node.index,
                pubkey: node.pubkey.clone(),
                why,
            };
            // Said in the file's terms before the ledger says it with stand-in keys.
            if let Some(first) = seen.insert(node.bls_key, node.index) {
                return Err(refused(format!("its BLS key is node {first}'s too")));
            }
            if let Some(first) = seen_pubkeys.insert(node.pubkey.to_lowercase(), node.index) {
                return Err(refused(format!("its pubkey_ed25519 is node {first}'s too")));
            }
            let identity = Identity::generate(&mut sim.rng);
            let id = NodeId::from_identity(&identity);
            let tx = if node.seeded {
                Tx::ChainSeed(ChainSeed {
                    node: id,
                    bls_key: node.bls_key,
                    deposit: node.stake,
                    contributors: node.contributors.clone(),
                })
            } else {
                Tx::ChainRegister(ChainRegister {
                    node: id,
                    bls_key: node.bls_key,
                    fee_bp: node.fee_bp,
                    contributors: node.contributors.clone(),
                    node_signature: identity
                        .sign(&ChainRegister::node_message(&id, &node.bls_key))
                        .to_bytes(),
                })
            };
            // A node registered under another requirement: the contract's requirement then.
            let other = !node.seeded && node.staking_requirement != file.staking_requirement;
            if other {
                sim.apply_chain(Tx::SetStakingRequirement(node.staking_requirement))
                    .map_err(&refused)?;
            }
            let registered = sim.apply_chain(tx);
            if other {
                sim.apply_chain(Tx::SetStakingRequirement(file.staking_requirement))
                    .map_err(&refused)?;
            }
            registered.map_err(&refused)?;
            let next =
                u32::try_from(sim.operators.len() + sim.ledger_operators.len()).unwrap_or(u32::MAX);
            let operator = *operator_index.entry(node.operator).or_insert_with(|| {
                sim.ledger_operators.push(node.operator);
                next
            });
            // Rewards are credited to beneficiaries: they are the accounts with roles.
            for (j, c) in node.contributors.iter().enumerate() {
                if j == 0 {
                    operator_beneficiaries.insert(c.beneficiary, operator);
                } else if let std::collections::btree_map::Entry::Vacant(e) =
                    sim.roles.entry(c.beneficiary)
                {
                    e.insert(Role::Contributor(contributor_count));
                    contributor_count = contributor_count.saturating_add(1);
                }
            }
            sim.track(id, identity, operator);
            if node.state == FileState::ExitRequested {
                sim.apply_chain(Tx::ChainRequestExit(ChainRequestExit {
                    bls_key: node.bls_key,
                    contributor: node.operator,
                }))
                .map_err(&refused)?;
                if let Some(n) = sim.nodes.get_mut(&id) {
                    n.exit_requested = true;
                }
                origin.exit_requested += 1;
            }
            origin.started += 1;
            origin.stand_ins.push((node.pubkey.clone(), id));
        }
        if origin.started == 0 {
            return Err(LedgerFileError::Empty);
        }
        // An operator's beneficiary that also receives a contributor's rewards elsewhere is
        // counted as the operator's.
        for (address, index) in &operator_beneficiaries {
            sim.roles.insert(*address, Role::Operator(*index));
        }
        sim.sc.nodes = u32::try_from(origin.started).unwrap_or(u32::MAX);
        sim.origin = Some(origin);
        sim.close_block(false).map_err(LedgerFileError::Sim)?;
        sim.day = DayRow::default();
        Ok(sim)
    }

    /// Applies a contract-kind transaction (no account signature: the contract's word).
    fn apply_chain(&mut self, tx: Tx) -> Result<(), String> {
        let verified = VerifiedTx::attested(tx).map_err(|e| e.to_string())?;
        self.chain.apply_verified(&verified).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Where the starting network came from, when it was a ledger file.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// The operator index of a node the simulation ran, and the operator's EVM account when it
    /// came from a ledger file.
    pub fn operator_of(&self, node: &NodeId) -> Option<(u32, Option<[u8; 20]>)> {
        let index = self.nodes.get(node)?.operator;
        let account = (index as usize)
            .checked_sub(self.operators.len())
            .and_then(|i| self.ledger_operators.get(i))
            .and_then(Address::evm);
        Some((index, account))
    }

    /// A simulation with no nodes yet: the scenario's operators and contributors generated.
    fn empty(sc: Scenario, params: Params) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(sc.seed);
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
        let mut check_rng = ChaCha20Rng::seed_from_u64(sc.seed);
        check_rng.set_stream(1);
        Self {
            chain: Chain::new(params.clone(), engine, POOL_BALANCE, sc.order.into()),
            obligations: Obligations::new(&params, sc.checks, sc.sign_all_votes),
            params,
            rng,
            check_rng,
            nodes: BTreeMap::new(),
            operators,
            contributors,
            ledger_operators: Vec::new(),
            origin: None,
            roles,
            failing: BTreeSet::new(),
            troubled: BTreeMap::new(),
            back_at: BTreeMap::new(),
            outages: Vec::new(),
            decisions: Vec::new(),
            payable: Vec::new(),
            reward_per_node: Vec::new(),
            totals: RunTotals::default(),
            recorder: Recorder::default(),
            day: DayRow::default(),
            sc,
        }
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
        self.track(id, node, operator);
    }

    /// Starts simulating registered node `id` (its service failures, flakiness, proofs).
    fn track(&mut self, id: NodeId, node: Identity, operator: u32) {
        if self.sc.rewards == Rewards::Service && unit(&mut self.rng) < self.sc.failing_share {
            self.failing.insert(id);
        }
        let flaky = self.sc.flaky_share > 0.0 && unit(&mut self.rng) < self.sc.flaky_share;
        if flaky {
            self.troubled.insert(id, Condition { fault: None, flaky: self.sc.flaky_failure_rate });
        }
        let height = self.chain.ledger().height();
        self.nodes.insert(
            id,
            SimNode {
                identity: node,
                operator,
                proof_phase: below(&mut self.rng, PROOF_FREQUENCY_BLOCKS),
                up_since: height,
                flaky,
                fault: None,
                last_outage: None,
                registered_at: height,
                exit_requested: false,
                earned: 0.0,
                payable_since: None,
                last_payable: None,
                outages: 0,
                down_blocks: 0,
                wrongful: 0,
            },
        );
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
            if self.request_exit(node) {
                self.totals.exits += 1;
                if let Some(n) = self.nodes.get_mut(&node) {
                    n.exit_requested = true;
                }
            }
        }
        for _ in 0..poisson(&mut self.rng, per_block(self.sc.outages_per_day)) {
            let Some(node) = self.pick_active() else { break };
            self.start_outage(node, h);
        }
        if let Some(back) = self.back_at.remove(&h) {
            for node in back {
                self.end_outage(node, h);
            }
        }
        self.vote(h);
        self.close_block(true)
    }

    /// `node`'s operator asks for it to leave: signed, or as the contract's event for a ledger
    /// file's operator (no key).
    fn request_exit(&mut self, node: NodeId) -> bool {
        let Some(index) = self.nodes.get(&node).map(|n| n.operator as usize) else { return false };
        if let Some(operator) = self.operators.get(index) {
            let addr = Address::from_identity(operator);
            let tx = Tx::RequestExit(ByContributor {
                contributor: addr,
                nonce: self.chain.ledger().nonce(&addr),
                node,
            });
            return match tx.sign(operator, &self.params) {
                Ok(signed) => self.apply(&signed),
                Err(_) => false,
            };
        }
        let Some(operator) = index
            .checked_sub(self.operators.len())
            .and_then(|i| self.ledger_operators.get(i))
            .copied()
        else {
            return false;
        };
        let Some(bls_key) = self.chain.ledger().node(&node).map(sesh_staking::Node::bls_key) else {
            return false;
        };
        let tx = Tx::ChainRequestExit(ChainRequestExit { bls_key, contributor: operator });
        match self.apply_chain(tx) {
            Ok(()) => true,
            Err(_) => {
                self.totals.rejected_txs += 1;
                *self.totals.rejected_by_kind.entry("ChainRequestExit".into()).or_default() += 1;
                false
            }
        }
    }

    /// `node` starts failing at `height`, for a drawn time.
    fn start_outage(&mut self, node: NodeId, height: u64) {
        let kind = if self.sc.amnesia_share > 0.0 && unit(&mut self.rng) < self.sc.amnesia_share {
            FaultKind::Amnesia
        } else {
            FaultKind::Offline
        };
        let down =
            (-self.sc.outage_days * (1.0 - unit(&mut self.rng)).ln() * BLOCKS_PER_DAY as f64)
                .ceil();
        self.fail_at(node, kind, height, (down as u64).max(1));
    }

    /// `node` fails from the next block on, for `blocks` blocks (if it is not failing already).
    pub fn fail(&mut self, node: NodeId, kind: FaultKind, blocks: u64) {
        let next = self.chain.ledger().height() + 1;
        self.fail_at(node, kind, next, blocks.max(1));
    }

    fn fail_at(&mut self, node: NodeId, kind: FaultKind, height: u64, blocks: u64) {
        let until = height + blocks;
        let credit = self
            .chain
            .ledger()
            .node(&node)
            .map_or(0, |n| n.credit(self.chain.ledger().height(), &self.params.credit));
        let Some(n) = self.nodes.get_mut(&node) else { return };
        if n.fault.is_some() {
            return;
        }
        let outage = self.outages.len();
        let last_proof = n.last_proof(height - 1);
        n.fault = Some(Fault { kind, since: height });
        n.last_outage = Some(outage);
        n.outages += 1;
        let flaky = if n.flaky { self.sc.flaky_failure_rate } else { 0.0 };
        self.troubled.insert(node, Condition { fault: Some((kind, height, last_proof)), flaky });
        self.outages.push(Outage {
            node,
            operator: n.operator,
            kind,
            start: height,
            end: until,
            credit,
            decommissioned: None,
            recommissioned: None,
            deregistered: None,
        });
        self.back_at.entry(until).or_default().push(node);
    }

    /// `node`'s outage ends at `height` (if it is still in one): it proves it is up again.
    fn end_outage(&mut self, node: NodeId, height: u64) {
        let Some(n) = self.nodes.get_mut(&node) else { return };
        let Some(fault) = n.fault.take() else { return };
        n.down_blocks += height - fault.since;
        n.up_since = height;
        if n.flaky {
            self.troubled
                .insert(node, Condition { fault: None, flaky: self.sc.flaky_failure_rate });
        } else {
            self.troubled.remove(&node);
        }
    }

    /// The obligations quorum now due tests its workers and votes; the ledger applies what it
    /// decides.
    fn vote(&mut self, now: u64) {
        let troubled = &self.troubled;
        let nodes = &self.nodes;
        let decided = self.obligations.vote(
            self.chain.ledger(),
            now,
            |id| troubled.get(id).copied().unwrap_or(Condition::HEALTHY),
            |id| nodes.get(id).map(|n| &n.identity),
            &mut self.check_rng,
        );
        for d in decided {
            self.apply_decision(&d, now);
        }
    }

    fn apply_decision(&mut self, d: &Decided, now: u64) {
        let Some(tx) = d.to_tx() else { return };
        if !self.apply(&tx) {
            return;
        }
        // The decision is in the block being made.
        let height = now;
        let node = d.worker;
        let cause = match self.nodes.get(&node) {
            Some(SimNode { fault: Some(f), .. }) => Cause::Failing(f.kind),
            Some(SimNode { flaky: true, .. }) => Cause::Flaky,
            _ => Cause::Healthy,
        };
        let against = matches!(d.state, StateChange::Decommission | StateChange::Deregister);
        match d.state {
            StateChange::Decommission => self.totals.decommissions += 1,
            StateChange::Recommission => self.totals.recommissions += 1,
            StateChange::Deregister => self.totals.deregistrations += 1,
            StateChange::IpChangePenalty => {}
        }
        if against && !matches!(cause, Cause::Failing(_)) {
            self.totals.wrongful += 1;
            self.day.wrongful += 1;
        }
        match d.state {
            StateChange::Decommission => self.day.decommissions += 1,
            StateChange::Recommission => self.day.recommissions += 1,
            StateChange::Deregister => self.day.deregistrations += 1,
            StateChange::IpChangePenalty => {}
        }
        let mut ended = false;
        if let Some(n) = self.nodes.get_mut(&node) {
            if against && matches!(cause, Cause::Healthy | Cause::Flaky) {
                n.wrongful += 1;
            }
            let outage = n.last_outage.and_then(|o| self.outages.get_mut(o));
            if let Some(o) = outage {
                let in_outage = matches!(cause, Cause::Failing(_));
                match d.state {
                    StateChange::Decommission if in_outage && o.decommissioned.is_none() => {
                        o.decommissioned = Some(height);
                    }
                    StateChange::Recommission
                        if o.decommissioned.is_some() && o.recommissioned.is_none() =>
                    {
                        o.recommissioned = Some(height);
                    }
                    StateChange::Deregister
                        if in_outage
                            || (o.decommissioned.is_some() && o.recommissioned.is_none()) =>
                    {
                        o.deregistered = Some(height);
                    }
                    _ => {}
                }
            }
            ended = d.state == StateChange::Deregister;
        }
        if ended {
            // Gone for good: it is no longer tested.
            self.end_outage(node, now);
            self.troubled.remove(&node);
        }
        self.decisions.push(DecisionRecord {
            height,
            vote_height: d.height,
            node,
            state: d.state,
            reasons: d.reasons_all,
            cause,
        });
    }

    /// After block `height` was paid `reward` (atomic units): who was paid, and the running sum
    /// of the reward per payable node. `changed`: the block had events.
    fn count_rewards(&mut self, height: u64, reward: u64, changed: bool) {
        let before = self.reward_per_node.last().copied().unwrap_or(0.0);
        if changed {
            let now: Vec<NodeId> = self.chain.ledger().payable_nodes().map(|n| n.id()).collect();
            let old = core::mem::take(&mut self.payable);
            let (mut i, mut j) = (0, 0);
            loop {
                let (leave, enter) = match (old.get(i), now.get(j)) {
                    (None, None) => break,
                    (Some(a), Some(b)) if a == b => {
                        i += 1;
                        j += 1;
                        continue;
                    }
                    (Some(a), Some(b)) if a < b => (Some(*a), None),
                    (Some(a), None) => (Some(*a), None),
                    (_, Some(b)) => (None, Some(*b)),
                };
                if let Some(a) = leave {
                    i += 1;
                    if let Some(n) = self.nodes.get_mut(&a)
                        && let Some(since) = n.payable_since.take()
                    {
                        n.earned += before - since;
                        n.last_payable = height.checked_sub(1);
                    }
                }
                if let Some(b) = enter {
                    j += 1;
                    if let Some(n) = self.nodes.get_mut(&b) {
                        n.payable_since = Some(before);
                    }
                }
            }
            self.payable = now;
        }
        let share = if self.payable.is_empty() {
            0.0
        } else {
            reward as f64 / 1e9 / self.payable.len() as f64
        };
        let index = height as usize;
        if self.reward_per_node.len() <= index {
            self.reward_per_node.resize(index + 1, before);
        }
        if let Some(r) = self.reward_per_node.get_mut(index) {
            *r = before + share;
        }
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
        let changed = block.swarms.is_some();
        if changed {
            self.obligations.refresh(self.chain.ledger());
        }
        self.obligations.close(block.height, block.hash);
        self.count_rewards(block.height, block.reward, changed);
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
        row.failing_nodes = self.failing_now() as u64;
        row.decommissioned_nodes = self
            .chain
            .ledger()
            .nodes()
            .filter(|n| n.status() == NodeStatus::Decommissioned)
            .count() as u64;
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

    /// What each node earned against what it could have ([`NodeEarnings`]), in id order.
    pub fn earnings(&self) -> Vec<NodeEarnings> {
        let height = self.chain.ledger().height();
        let r = |h: u64| -> f64 {
            self.reward_per_node
                .get(h as usize)
                .or(self.reward_per_node.last())
                .copied()
                .unwrap_or(0.0)
        };
        let after = self.params.payable_after_blocks;
        self.nodes
            .iter()
            .map(|(id, n)| {
                let running = n.payable_since.map_or(0.0, |since| r(height) - since);
                let start = n.registered_at + after;
                let end = if n.exit_requested {
                    if n.payable_since.is_some() { height } else { n.last_payable.unwrap_or(0) }
                } else {
                    height
                };
                let potential = if end >= start { r(end) - r(start - 1) } else { 0.0 };
                NodeEarnings {
                    node: *id,
                    operator: n.operator,
                    registered_at: n.registered_at,
                    flaky: n.flaky,
                    outages: n.outages,
                    down_blocks: n.down_blocks
                        + n.fault.map_or(0, |f| height.saturating_sub(f.since)),
                    wrongful: n.wrongful,
                    status: self
                        .chain
                        .ledger()
                        .node(id)
                        .map_or(NodeStatus::Removed, |l| l.status()),
                    earned: n.earned + running,
                    potential,
                }
            })
            .collect()
    }

    /// The ledger's height.
    pub fn height(&self) -> u64 {
        self.chain.ledger().height()
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        self.chain.ledger()
    }

    /// Every node the simulation ran, in id order.
    pub fn node_ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// The obligations counters.
    pub fn vote_stats(&self) -> &VoteStats {
        &self.obligations.stats
    }

    /// Nodes failing now.
    pub fn failing_now(&self) -> usize {
        self.nodes.values().filter(|n| n.fault.is_some()).count()
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
