//! The ledger authority of a local network: it keeps the staking ledger (`sesh-staking`), makes a
//! block every few seconds, recomputes the swarms for it (`sesh-swarm`) and publishes the node
//! list with swarm ids at `GET /network/v1/state`. Nodes join with a signed registration
//! (`POST /network/v1/join`).
//!
//! On a live network the ledger is the chain and this role is oxend's; here one process plays
//! it, and everything it decides is persisted in its data directory (`ledger.log`, the journal of
//! every applied transaction, and `network.json`, addresses and swarms).
//!
//! It also keeps the reward accounting (`sesh-rewards`): each block is paid what the reward pool
//! releases for it (the live pool's rules, a block taken as 120 s), split among the payable nodes
//! and their contributors as oxend does, published at `GET /network/v1/rewards`. The balances are
//! not stored: they are rebuilt from `ledger.log` on start.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sesh_identity::Identity;
use sesh_rewards::engine::{Exact, RewardEngine as _};
use sesh_rewards::pool::{BlockRewards, RewardRatePool};
use sesh_staking::journal::Journal;
use sesh_staking::tx::{Register, SignedTx, Tx};
use sesh_staking::{Address, BlsKey, Event, Ledger, NodeId, NodeStatus, Params};
use sesh_swarm::{NodeId, NodeState, SortOrder, SwarmId, SwarmMap, next, seed_from_block_hash};

/// The staking requirement of a local network: 100 SESH (9 decimals).
pub(crate) const TESTNET_REQUIREMENT: u64 = 100_000_000_000;

/// The rules of a local network.
pub(crate) fn params() -> Params {
    Params::testnet(TESTNET_REQUIREMENT)
}

/// The registration a node sends to join: it is its own operator and stakes the whole
/// requirement, so it is active at once.
pub(crate) fn register_tx(node: &Identity) -> Result<SignedTx, sesh_staking::Error> {
    let params = params();
    let id = NodeId::from_identity(node);
    let operator = Address::from_identity(node);
    // Local networks have no BLS aggregation; the key only has to be unique.
    let bls_key = BlsKey::from_bytes(sesh_identity::hash::blake2b::<64>(
        b"sesh-testnet-bls",
        &[id.as_bytes()],
    ));
    let node_signature =
        node.sign(&Register::node_message(&id, &bls_key, &operator, &params)).to_bytes();
    Tx::Register(Register {
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
    .sign(node, &params)
}

/// The reward pool's balance when a local network starts (atomic units).
const POOL_BALANCE: u128 = 63_177_550 * 1_000_000_000;
/// The chain time of a block (the live target), for the pool's release.
const BLOCK_SECONDS: u64 = 120;

/// Reward accounting, fed with every applied transaction.
#[derive(Debug)]
struct Rewards {
    engine: Exact,
    chain: BlockRewards,
    pool: RewardRatePool,
    /// Events since the last block.
    pending: Vec<Event>,
}

impl Rewards {
    fn new() -> Self {
        Self {
            engine: Exact::new(),
            chain: BlockRewards::new(),
            pool: RewardRatePool::new(POOL_BALANCE, 0),
            pending: Vec::new(),
        }
    }

    /// Takes one applied transaction; a height advance pays the block.
    fn observe(&mut self, ledger: &Ledger, tx: &Tx, events: &[Event]) {
        self.pending.extend_from_slice(events);
        if let Tx::AdvanceHeight(height) = tx {
            let now = height.saturating_mul(BLOCK_SECONDS);
            let rate = self.pool.reward_rate(now);
            match self.chain.next_block(rate) {
                Ok(block) => {
                    if let Err(e) = self.engine.block(ledger, &self.pending, block.reward) {
                        tracing::error!(error = %e, height, "crediting a block failed");
                    }
                    self.pool.payout_released(now);
                }
                Err(e) => tracing::error!(error = %e, height, "no block reward"),
            }
            self.pending.clear();
        }
    }
}

/// Where a node is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Address4 {
    ip: Ipv4Addr,
    port: u16,
    tls: bool,
}

/// The authority's state.
pub(crate) struct Authority {
    journal: Journal,
    log: File,
    dir: PathBuf,
    addresses: BTreeMap<[u8; 32], Address4>,
    map: SwarmMap,
    block_hash: [u8; 32],
    hf: [u16; 2],
    rewards: Rewards,
}

impl core::fmt::Debug for Authority {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Authority")
            .field("height", &self.journal.ledger().height())
            .finish_non_exhaustive()
    }
}

/// A failure to open or persist the authority's files.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthorityError {
    #[error("ledger: {0}")]
    Ledger(#[from] sesh_staking::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {why}")]
    Corrupt { path: PathBuf, why: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthorityError + '_ {
    move |source| AuthorityError::Io { path: path.to_owned(), source }
}

impl Authority {
    /// Opens (or starts) the ledger in `dir`.
    pub(crate) fn open(dir: &Path, hf: [u16; 2]) -> Result<Self, AuthorityError> {
        let log_path = dir.join("ledger.log");
        let bytes = match std::fs::read(&log_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&log_path)(e)),
        };
        let mut rewards = Rewards::new();
        let recovered = Journal::open_observed(params(), None, &bytes, |ledger, tx, events| {
            rewards.observe(ledger, tx, events);
        })?;
        if let Some((offset, problem)) = &recovered.damage {
            tracing::warn!(offset, %problem, "ledger log has a damaged tail; truncating it");
        }
        let log =
            OpenOptions::new().create(true).append(true).open(&log_path).map_err(io(&log_path))?;
        log.set_len(recovered.valid_len).map_err(io(&log_path))?;
        let mut me = Self {
            journal: recovered.journal,
            log,
            dir: dir.to_owned(),
            addresses: BTreeMap::new(),
            map: SwarmMap::new(),
            block_hash: [0; 32],
            hf,
            rewards,
        };
        let net_path = dir.join("network.json");
        match std::fs::read(&net_path) {
            Ok(b) => me
                .load_network(&b)
                .map_err(|why| AuthorityError::Corrupt { path: net_path, why })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&net_path)(e)),
        }
        Ok(me)
    }

    fn load_network(&mut self, bytes: &[u8]) -> Result<(), String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let hash = v.get("block_hash").and_then(Value::as_str).ok_or("no block_hash")?;
        hex::decode_to_slice(hash, &mut self.block_hash).map_err(|e| e.to_string())?;
        let mut assignments = Vec::new();
        for n in v.get("nodes").and_then(Value::as_array).ok_or("no nodes")? {
            let mut key = [0u8; 32];
            let k = n.get("pubkey_ed25519").and_then(Value::as_str).ok_or("node without key")?;
            hex::decode_to_slice(k, &mut key).map_err(|e| e.to_string())?;
            let ip =
                n.get("ip").and_then(Value::as_str).and_then(|s| s.parse().ok()).ok_or("bad ip")?;
            let port = n
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or("bad port")?;
            let tls = n.get("tls").and_then(Value::as_bool).unwrap_or(true);
            self.addresses.insert(key, Address4 { ip, port, tls });
            if let Some(s) = n.get("swarm").and_then(Value::as_str) {
                let id = u64::from_str_radix(s, 16).map_err(|e| e.to_string())?;
                assignments
                    .push((NodeId::from_bytes(key), SwarmId::new(id).map_err(|e| e.to_string())?));
            }
        }
        self.map = SwarmMap::from_assignments(assignments).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn append(&mut self, record: &[u8]) -> Result<(), AuthorityError> {
        let path = self.dir.join("ledger.log");
        self.log.write_all(record).map_err(io(&path))?;
        self.log.sync_data().map_err(io(&path))
    }

    fn persist(&self) -> Result<(), AuthorityError> {
        let path = self.dir.join("network.json");
        let tmp = self.dir.join("network.json.tmp");
        let bytes = self.state().to_string();
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    /// A node joins (or, once registered, updates its address). `node` is the key that signed
    /// the request.
    ///
    /// # Errors
    /// What was wrong with the request, for a `400` answer.
    pub(crate) fn join(&mut self, node: [u8; 32], body: &[u8]) -> Result<(), String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let ip: Ipv4Addr = v
            .get("ip")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or("\"ip\" must be an IPv4 address")?;
        let port = v
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or("\"port\" must be a port number")?;
        let tls = v.get("tls").and_then(Value::as_bool).ok_or("\"tls\" must be true or false")?;
        let id = NodeId::from_bytes(node);
        if self.journal.ledger().node(&id).is_none() {
            let bytes = v
                .get("register")
                .and_then(Value::as_str)
                .and_then(|h| hex::decode(h).ok())
                .ok_or("\"register\" must be the hex of a signed registration")?;
            let tx = SignedTx::from_bytes(&bytes).map_err(|e| e.to_string())?;
            match &tx.tx {
                Tx::Register(r) if r.node == id => {}
                _ => {
                    return Err("\"register\" must register the node that signs the request".into());
                }
            }
            let (events, record) = self.journal.apply(&tx).map_err(|e| e.to_string())?;
            self.append(&record).map_err(|e| e.to_string())?;
            self.rewards.observe(self.journal.ledger(), &tx.tx, &events);
            tracing::info!(node = %hex::encode(node), "node registered");
        }
        self.addresses.insert(node, Address4 { ip, port, tls });
        self.persist().map_err(|e| e.to_string())
    }

    /// Makes the next block: advances the ledger and recomputes the swarms.
    pub(crate) fn block(&mut self) -> Result<bool, AuthorityError> {
        let height = self.journal.ledger().height() + 1;
        let advance = Tx::AdvanceHeight(height).unsigned();
        let (events, record) = self.journal.apply(&advance)?;
        self.append(&record)?;
        self.rewards.observe(self.journal.ledger(), &advance.tx, &events);
        self.block_hash =
            sesh_identity::hash::blake2b(b"", &[&self.block_hash, &height.to_le_bytes()]);
        let states = self
            .journal
            .ledger()
            .nodes()
            .filter(|n| self.addresses.contains_key(n.id().as_bytes()))
            .map(|n| {
                let state = match n.status() {
                    NodeStatus::Active | NodeStatus::ExitRequested => NodeState::Active,
                    NodeStatus::Decommissioned => NodeState::Decommissioned,
                    _ => NodeState::Removed,
                };
                (NodeId::from_bytes(*n.id().as_bytes()), state)
            });
        let transition =
            next(&self.map, states, seed_from_block_hash(&self.block_hash), SortOrder::Compat)
                .map_err(|e| AuthorityError::Corrupt {
                    path: self.dir.clone(),
                    why: e.to_string(),
                })?;
        let changed = !transition.changes().is_empty();
        if changed {
            tracing::info!(
                height,
                swarms = transition.map().swarm_count(),
                nodes = transition.map().node_count(),
                "swarms changed"
            );
        }
        self.map = transition.into_map();
        self.persist()?;
        Ok(changed)
    }

    /// `GET /network/v1/rewards`: what every address has been credited (milli-atomic units, as
    /// decimal strings: they pass 2^53), and the totals.
    pub(crate) fn rewards(&self) -> Value {
        let balances: serde_json::Map<String, Value> = self
            .rewards
            .engine
            .balances()
            .iter()
            .map(|(a, v)| (hex::encode(a.as_bytes()), Value::String(v.to_string())))
            .collect();
        let totals = self.rewards.engine.totals();
        json!({
            "height": self.journal.ledger().height(),
            "unit": "milli-atomic (1 SESH = 10^12)",
            "balances": balances,
            "total_rewards": totals.rewards.to_string(),
            "pool_released_atomic": self.rewards.pool.total_paid_out().to_string(),
        })
    }

    /// The published state.
    pub(crate) fn state(&self) -> Value {
        let nodes: Vec<Value> = self
            .addresses
            .iter()
            .filter_map(|(key, a)| {
                let node = self.journal.ledger().node(&NodeId::from_bytes(*key))?;
                let x25519 =
                    sesh_identity::Ed25519PublicKey::from_bytes(key).ok()?.to_x25519().ok()?;
                let swarm =
                    self.map.swarm_of(&NodeId::from_bytes(*key)).map(|s| format!("{:x}", s.get()));
                Some(json!({
                    "pubkey_ed25519": hex::encode(key),
                    "pubkey_x25519": hex::encode(x25519.as_bytes()),
                    "ip": a.ip.to_string(),
                    "port": a.port,
                    "tls": a.tls,
                    "status": format!("{:?}", node.status()),
                    "swarm": swarm,
                }))
            })
            .collect();
        json!({
            "height": self.journal.ledger().height(),
            "hf": self.hf,
            "block_hash": hex::encode(self.block_hash),
            "nodes": nodes,
        })
    }
}
