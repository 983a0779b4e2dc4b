//! The ledger keeper of a local network: it keeps the staking ledger, makes the blocks (with
//! [`Chain`]), knows where each node is reached, and publishes the [`NetworkState`] and the
//! ledger ([`LedgerView`], the ledger alone). Nodes join with a [`JoinRequest`] carrying a
//! signed registration; quorum decisions reach the ledger as the transactions any node submits
//! ([`Keeper::submit`]), verified as every transaction is. Uptime proofs and votes are not the
//! keeper's: the nodes exchange and tally them ([`crate::proofs`], [`crate::obligations`]).
//!
//! On the live network, and in sesh's local networks since issue 20, the ledger is a staking
//! contract on a chain that every node follows (`sesh_chain`, [`Chain::produce_at`]): no program
//! runs a keeper any more. It stays as a ledger without a chain for this crate's obligations
//! tests and the fuzz checks; [`params`], [`REQUIREMENT`] and [`POOL_BALANCE`] are local networks'
//! rules, which chain-following nodes use. What it decides is the ledger's log (each applied
//! transaction's [`record_bytes`]) and the published state (addresses, swarms, block hash); the
//! caller stores both and hands them back to [`Keeper::restore`], which rebuilds the reward
//! balances from the log.
//!
//! ```
//! use sesh_identity::{Identity, NodeId};
//! use sesh_node::keeper::{JoinRequest, Keeper};
//!
//! let mut keeper = Keeper::new([21, 0]);
//! let node = Identity::generate(&mut rand_core::OsRng);
//! let join = JoinRequest::register(&node, "127.0.0.1".parse()?, 22100, false)?;
//! let record = keeper.join(NodeId::from_identity(&node), &join.to_body())?;
//! assert!(record.is_some()); // a new registration: append it to the log
//! let (_, block) = keeper.block()?;
//! assert_eq!(block.height, 1);
//! assert_eq!(keeper.state()?.nodes().len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand_core::{CryptoRng, RngCore};
use serde_json::{Value, json};
use sesh_identity::Identity;
use sesh_network::{NetworkState, NodeRecord};
use sesh_rewards::engine::Exact;
use sesh_staking::LogProblem;
use sesh_staking::journal::{Journal, record_bytes};
use sesh_staking::tx::{Contribute, Register, SignedTx, Tx};
use sesh_staking::{Address, NodeId, Params};
use sesh_swarm::SortOrder;

use sesh_staking::Event;

use crate::chain::{Block, Chain, Payouts};
use crate::error::{Error, Result};
use crate::obligations::LedgerView;

/// The staking requirement of a local network: 100 SESH (9 decimals).
pub const REQUIREMENT: u64 = 100_000_000_000;

/// The reward pool's balance when a local network starts (atomic units).
pub const POOL_BALANCE: u128 = 63_177_550 * 1_000_000_000;

/// The rules of a local network.
pub fn params() -> Params {
    Params::testnet(REQUIREMENT)
}

/// The registration a node sends to join: it is its own operator and stakes the whole
/// requirement, so it is active at once.
///
/// # Errors
/// [`Error::Ledger`] if it cannot be signed.
pub fn register_tx(node: &Identity) -> Result<SignedTx> {
    let params = params();
    let id = NodeId::from_identity(node);
    let operator = Address::from_identity(node);
    let bls_key = crate::signing::bls_key(node);
    let node_signature =
        node.sign(&Register::node_message(&id, &bls_key, &operator, &params)).to_bytes();
    Ok(Tx::Register(Register {
        operator,
        nonce: 0,
        node: id,
        bls_key,
        fee_bp: 0,
        stake: params.staking_requirement,
        beneficiary: operator,
        reservations: Vec::new(),
        node_signature,
    })
    .sign(node, &params)?)
}

/// A node's request to join (`POST /network/v1/join`, signed by the node): where it is reached,
/// and its registration if the ledger does not know it yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest {
    /// The signed registration.
    pub register: Option<SignedTx>,
    /// Its public address.
    pub ip: Ipv4Addr,
    /// Its port.
    pub port: u16,
    /// Whether it serves HTTPS.
    pub tls: bool,
}

impl JoinRequest {
    /// A request that registers `node` (with [`register_tx`]) at this address.
    ///
    /// # Errors
    /// As [`register_tx`].
    pub fn register(node: &Identity, ip: Ipv4Addr, port: u16, tls: bool) -> Result<Self> {
        Ok(Self { register: Some(register_tx(node)?), ip, port, tls })
    }

    /// `{"register": hex, "ip", "port", "tls"}`.
    pub fn to_body(&self) -> Vec<u8> {
        json!({
            "register": self.register.as_ref().map(|tx| hex::encode(tx.to_bytes())),
            "ip": self.ip.to_string(),
            "port": self.port,
            "tls": self.tls,
        })
        .to_string()
        .into_bytes()
    }

    /// Reads a join request.
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the field that is wrong.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::BadRequest(why.to_owned());
        let v: Value =
            serde_json::from_slice(body).map_err(|e| bad(&format!("body is not JSON: {e}")))?;
        let ip = v
            .get("ip")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("\"ip\" must be an IPv4 address"))?;
        let port = v
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("\"port\" must be a port number"))?;
        let tls = v
            .get("tls")
            .and_then(Value::as_bool)
            .ok_or_else(|| bad("\"tls\" must be true or false"))?;
        let register = match v.get("register") {
            None | Some(Value::Null) => None,
            Some(r) => {
                let bytes = r
                    .as_str()
                    .and_then(|h| hex::decode(h).ok())
                    .ok_or_else(|| bad("\"register\" must be the hex of a signed registration"))?;
                Some(SignedTx::from_bytes(&bytes)?)
            }
        };
        Ok(Self { register, ip, port, tls })
    }
}

/// Where a node is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reach {
    ip: Ipv4Addr,
    port: u16,
    tls: bool,
}

/// What [`Keeper::restore`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct Restored {
    /// The keeper.
    pub keeper: Keeper,
    /// Bytes of the log that are intact: truncate the file to this before appending.
    pub valid_len: u64,
    /// Where the log is damaged, and how, if it is.
    pub damage: Option<(u64, LogProblem)>,
    /// Blocks of the log whose reward could not be credited (each with why).
    pub unpaid: Vec<(u64, Error)>,
    /// The saved state's height when it is not the log's (the keeper stopped between writing
    /// the two, or the log lost its tail): the swarms and block hash are that height's.
    pub stale_state: Option<u64>,
}

/// A state change a quorum decided and the ledger applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The ledger's height when it was applied (the node's `last_decommission_height` for a
    /// decommission).
    pub height: u64,
    /// The node.
    pub node: NodeId,
    /// `decommission`, `recommission` or `deregister`.
    pub state: &'static str,
}

fn change_of(event: &Event, height: u64) -> Option<Change> {
    let (node, state) = match event {
        Event::Decommissioned { node, .. } => (*node, "decommission"),
        Event::Recommissioned { node, .. } => (*node, "recommission"),
        Event::Deregistered { node } => (*node, "deregister"),
        _ => return None,
    };
    Some(Change { height, node, state })
}

/// The block time a keeper publishes until told its own (the node's default).
pub const DEFAULT_BLOCK_MS: u64 = 2_000;

/// A local network's ledger keeper.
#[derive(Debug)]
pub struct Keeper {
    chain: Chain<Exact>,
    reach: BTreeMap<NodeId, Reach>,
    hf: [u16; 2],
    block_ms: u64,
    view: LedgerView,
    changes: Vec<Change>,
}

impl Keeper {
    /// A keeper with an empty ledger.
    pub fn new(hf: [u16; 2]) -> Self {
        let payouts = Payouts::new(Exact::new(), POOL_BALANCE).with_node_totals();
        let chain = Chain::from_parts(
            sesh_staking::Ledger::new(params()),
            payouts,
            Default::default(),
            [0; 32],
            SortOrder::Compat,
        );
        Self::from_chain(chain, BTreeMap::new(), hf, Vec::new())
    }

    fn from_chain(
        chain: Chain<Exact>,
        reach: BTreeMap<NodeId, Reach>,
        hf: [u16; 2],
        changes: Vec<Change>,
    ) -> Self {
        let mut keeper = Self {
            view: LedgerView::from_ledger(chain.ledger(), |_| None, hf, [0; 32], DEFAULT_BLOCK_MS),
            chain,
            reach,
            hf,
            block_ms: DEFAULT_BLOCK_MS,
            changes,
        };
        keeper.close_view();
        keeper
    }

    /// Says what block time the published ledger view carries (the nodes scale the live
    /// timings to it, their uptime proof checks included).
    pub fn set_block_ms(&mut self, block_ms: u64) {
        self.block_ms = block_ms;
        self.view.block_ms = block_ms;
    }

    /// The view of the ledger at the last block's close.
    fn close_view(&mut self) {
        let reach = &self.reach;
        let record = |id: &NodeId| {
            let r = reach.get(id)?;
            Some(NodeRecord {
                id: *id,
                x25519: id.to_x25519().ok()?,
                ip: r.ip,
                port: r.port,
                tls: r.tls,
            })
        };
        let ledger = self.chain.ledger();
        self.view = LedgerView::from_ledger(
            ledger,
            record,
            self.hf,
            self.chain.block_hash(),
            self.block_ms,
        );
    }

    /// The ledger view published for the nodes' quorum cops (no uptime proofs: each node adds
    /// its own).
    pub fn view(&self) -> &LedgerView {
        &self.view
    }

    /// The state changes quorums decided, as applied.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// `GET /network/v1/votes` on the keeper: its height and every state change applied.
    pub fn changes_json(&self) -> Value {
        let changes: Vec<Value> = (self.changes.iter())
            .map(|c| json!({"height": c.height, "node": c.node.to_string(), "state": c.state}))
            .collect();
        json!({"height": self.chain.ledger().height(), "changes": changes})
    }

    /// Takes a quorum's decided transaction ([`sesh_quorum::Decided::to_tx`]) that a node
    /// submits: verified (every vote's signature) and applied as any transaction, at once.
    /// Returns its log record. The same decision submitted again, by the same node or another,
    /// is refused by the ledger's own rules (the node is no longer in the state the decision
    /// moves it from, or the votes predate its last change).
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a transaction that is not a decommission, recommission or
    /// deregistration; [`Error::Ledger`]: the ledger's refusal (a bad signature, too few
    /// votes, votes of nodes not active, expired votes, a node not in that state). Nothing
    /// changed.
    pub fn submit(&mut self, tx: &SignedTx) -> Result<Vec<u8>> {
        if !matches!(tx.tx, Tx::Decommission(_) | Tx::Recommission(_) | Tx::Deregister(_)) {
            return Err(Error::BadRequest(
                "only a quorum's decision (decommission, recommission, deregistration) is \
                 submitted to the ledger"
                    .into(),
            ));
        }
        self.apply(tx)
    }

    /// Rebuilds a keeper from its ledger log and its last published state (if it has one).
    ///
    /// # Errors
    /// [`Error::Ledger`] when the log cannot be read at all; [`Error::Network`] when the state
    /// does not parse.
    pub fn restore(hf: [u16; 2], log: &[u8], state: Option<&[u8]>) -> Result<Restored> {
        let mut payouts = Payouts::new(Exact::new(), POOL_BALANCE).with_node_totals();
        let (mut unpaid, mut changes) = (Vec::new(), Vec::new());
        let recovered = Journal::open_observed(params(), None, log, |ledger, tx, events| {
            changes.extend(events.iter().filter_map(|e| change_of(e, ledger.height())));
            if let Err(e) = payouts.replay(ledger, tx, events) {
                unpaid.push((ledger.height(), e));
            }
        })?;
        let mut reach = BTreeMap::new();
        let height = recovered.journal.ledger().height();
        let mut stale_state = None;
        let (map, block_hash) = match state {
            None => (Default::default(), [0; 32]),
            Some(bytes) => {
                let state = NetworkState::from_json(bytes)?;
                stale_state = (state.height != height).then_some(state.height);
                for n in state.nodes() {
                    reach.insert(n.id, Reach { ip: n.ip, port: n.port, tls: n.tls });
                }
                (state.map().clone(), state.block_hash)
            }
        };
        let ledger = recovered.journal.ledger().clone();
        let chain = Chain::from_parts(ledger, payouts, map, block_hash, SortOrder::Compat);
        Ok(Restored {
            keeper: Self::from_chain(chain, reach, hf, changes),
            valid_len: recovered.valid_len,
            damage: recovered.damage,
            unpaid,
            stale_state,
        })
    }

    /// The chain (ledger, swarms, rewards).
    pub fn chain(&self) -> &Chain<Exact> {
        &self.chain
    }

    /// Applies a transaction; returns its log record.
    ///
    /// # Errors
    /// [`Error::Ledger`]: the ledger's refusal; nothing changed.
    pub fn apply(&mut self, tx: &SignedTx) -> Result<Vec<u8>> {
        let events = self.chain.apply(tx)?;
        let height = self.chain.ledger().height();
        self.changes.extend(events.iter().filter_map(|e| change_of(e, height)));
        Ok(record_bytes(tx))
    }

    /// A node joins, or, once registered, says where it is reached now. `node` is the key that
    /// signed the request. Returns the log record of its registration, if this registered it.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a malformed request or a registration of another node;
    /// [`Error::Ledger`] when the ledger refuses the registration.
    pub fn join(&mut self, node: NodeId, body: &[u8]) -> Result<Option<Vec<u8>>> {
        let request = JoinRequest::parse(body)?;
        let mut record = None;
        if self.chain.ledger().node(&node).is_none() {
            let tx = request.register.ok_or_else(|| {
                Error::BadRequest("\"register\" must be the hex of a signed registration".into())
            })?;
            if !matches!(&tx.tx, Tx::Register(r) if r.node == node) {
                return Err(Error::BadRequest(
                    "\"register\" must register the node that signs the request".into(),
                ));
            }
            record = Some(self.apply(&tx)?);
        }
        let reach = Reach { ip: request.ip, port: request.port, tls: request.tls };
        if self.reach.insert(node, reach) != Some(reach) {
            self.chain.reassign();
        }
        Ok(record)
    }

    /// Makes the next block: the height advance. Returns its log record, and the block.
    ///
    /// # Errors
    /// As [`Chain::produce`].
    pub fn block(&mut self) -> Result<(Vec<u8>, Block)> {
        let mut records = Vec::new();
        let reach = &self.reach;
        let block = self.chain.produce(|id| reach.contains_key(id), |_, _, _| {})?;
        records.extend(record_bytes(&Tx::AdvanceHeight(block.height).unsigned()));
        self.close_view();
        Ok((records, block))
    }

    /// The published state: every serving node (active, or asked to exit) with an address, and
    /// the swarms. Decommissioned nodes are left out, as they have no swarm and serve nobody
    /// (the ledger view lists them).
    ///
    /// # Errors
    /// [`Error::Network`] only if the swarms name a node without an address (never, as the
    /// swarms are made of nodes with one).
    pub fn state(&self) -> Result<NetworkState> {
        let ledger = self.chain.ledger();
        let records =
            self.reach.iter().filter(|(id, _)| serving(ledger, id)).filter_map(|(id, r)| {
                Some(NodeRecord {
                    id: *id,
                    x25519: id.to_x25519().ok()?,
                    ip: r.ip,
                    port: r.port,
                    tls: r.tls,
                })
            });
        Ok(NetworkState::new(
            ledger.height(),
            self.hf,
            self.chain.block_hash(),
            records,
            self.chain.map().clone(),
        )?)
    }

    /// `GET /network/v1/rewards`: what every address has been credited (milli-atomic units, as
    /// decimal strings: they pass 2^53), what each node earned before its split (`nodes`), and
    /// the totals.
    pub fn rewards(&self) -> Value {
        self.chain.rewards_json()
    }
}

fn serving(ledger: &sesh_staking::Ledger, id: &NodeId) -> bool {
    ledger
        .node(id)
        .is_some_and(|n| crate::chain::swarm_state(n.status()) == sesh_swarm::NodeState::Active)
}

/// Contributors shared among the nodes of a [`Genesis`].
pub const GENESIS_CONTRIBUTORS: usize = 4;

/// A local network's starting ledger: one operator per node, [`GENESIS_CONTRIBUTORS`]
/// contributors staking into two nodes each, operator fees from 0 to 15 %, every node fully
/// staked and active.
#[derive(Debug)]
pub struct Genesis {
    /// The ledger's log: the keeper's starting log.
    pub log: Vec<u8>,
    /// Each node's key.
    pub nodes: Vec<Identity>,
    /// A name for every staking address (`operator 3`, `contributor 1`).
    pub names: BTreeMap<Address, String>,
    /// Each node's operator fee, basis points.
    pub fees: Vec<u16>,
}

impl Genesis {
    /// The ledger of `n` nodes, with keys from `rng`.
    ///
    /// # Errors
    /// [`Error::Ledger`] if the ledger refuses a step (a bug).
    pub fn build(n: usize, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self> {
        let params = params();
        let requirement = params.staking_requirement;
        let mut journal = Journal::new(params.clone());
        let mut log = Vec::new();
        let mut names = BTreeMap::new();
        let contributors: Vec<Identity> =
            (0..GENESIS_CONTRIBUTORS).map(|_| Identity::generate(rng)).collect();
        for (i, c) in contributors.iter().enumerate() {
            names.insert(Address::from_identity(c), format!("contributor {i}"));
        }
        let (mut nodes, mut fees) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let node = Identity::generate(rng);
            let operator = Identity::generate(rng);
            let op = Address::from_identity(&operator);
            names.insert(op, format!("operator {i}"));
            let id = NodeId::from_identity(&node);
            let bls_key = crate::signing::bls_key(&node);
            let fee_bp = [0u16, 500, 1000, 1500].get(i % 4).copied().unwrap_or(0);
            // The operator stakes half; two contributors a quarter each.
            let register = Tx::Register(Register {
                operator: op,
                nonce: journal.ledger().nonce(&op),
                node: id,
                bls_key,
                fee_bp,
                stake: requirement / 2,
                beneficiary: op,
                reservations: Vec::new(),
                node_signature: node
                    .sign(&Register::node_message(&id, &bls_key, &op, &params))
                    .to_bytes(),
            });
            let (_, record) = journal.apply(&register.sign(&operator, &params)?)?;
            log.extend_from_slice(&record);
            let last_share = requirement - requirement / 2 - requirement / 4;
            for (k, share) in [
                (i % GENESIS_CONTRIBUTORS, requirement / 4),
                ((i + 1) % GENESIS_CONTRIBUTORS, last_share),
            ] {
                let Some(c) = contributors.get(k) else { continue };
                let addr = Address::from_identity(c);
                let tx = Tx::Contribute(Contribute {
                    contributor: addr,
                    nonce: journal.ledger().nonce(&addr),
                    node: id,
                    amount: share,
                    beneficiary: addr,
                });
                let (_, record) = journal.apply(&tx.sign(c, &params)?)?;
                log.extend_from_slice(&record);
            }
            nodes.push(node);
            fees.push(fee_bp);
        }
        Ok(Self { log, nodes, names, fees })
    }
}
