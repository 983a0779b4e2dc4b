//! The node as a follower of the staking contract (`--rpc`, `--contract`): no one in charge.
//!
//! A background task drives `sesh_chain::follow::Follower` over JSON-RPC
//! ([`crate::follow::Driver`]); each completed sesh height's events are mapped onto ledger
//! transactions ([`Applier`]) and applied to the node's own [`Chain`] with
//! [`Chain::produce_at`] (the height's seed is the hash of its last chain block). Every node
//! following the same contract derives the same ledger, swarms and rewards: the state hash at
//! each height is the ledger's ([`sesh_staking::Ledger::state_hash`]), served with the last
//! [`RECENT`] heights' at `GET /network/v1/chain`.
//!
//! - **What the rest of the node sees.** Once caught up (and after each new height), the node
//!   publishes its [`NetworkState`]: the followed height, its seed, the swarms of the ledger's
//!   serving nodes, and addresses from the uptime proofs it holds
//!   (`sesh_node::proofs::ProofBook`). A registered node this node holds no proof of has no
//!   address: it is left out of the published state (and its swarm of the map clients see)
//!   until its proof arrives; the swarms themselves are the chain's, the same on every node.
//!   This node itself is always listed where it listens. The quorum cop runs on the node's own
//!   `LedgerView` of the same height.
//! - **Failures.** An RPC error, a timeout or an answer the follower refuses changes nothing:
//!   the driver logs why and the task waits (a backoff doubling up to 5 s) and asks again; a
//!   height is applied whole or not at all. A height the chain cannot take (a bug) or a reorg
//!   deeper than the confirmation depth: the node discards what it derived and replays from the
//!   start block, as it does at every start (nothing ledger-side is stored; the messages
//!   database stays).
//! - **Decisions.** A quorum's decided transaction goes to the chain as
//!   `submitNetworkTransaction(bytes)` from the `--evm-key` account ([`post_decision`]); every
//!   follower applies it at the height its log lands in, verifying the votes itself.
//! - **What the node signs.** Each applied height near the chain's tip (the last [`RECENT`]
//!   heights of a catch-up on) is recorded in [`Following::signing`]
//!   (`sesh_node::signing::Signable`: the last 64 heights' reward balances, the contract's node
//!   ids as followed, the ledger's nodes), and once the chain id is known the node's BLS key
//!   signs for the chain's domain ([`Following::signer`]); the `/network/v1/bls/*` endpoints
//!   (`crate::node::bls`) answer from them.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};
use sesh_chain::EvmAddress;
use sesh_chain::follow::{Config, Height, Skipped};
use sesh_chain::ledger::Applier;
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::chain::{Chain, Payouts};
use sesh_node::obligations::LedgerView;
use sesh_node::signing::{Signable, Signer};
use sesh_rewards::engine::Exact;
use sesh_staking::Params;
use sesh_staking::tx::{SignedTx, Tx};
use sesh_swarm::{SortOrder, SwarmMap};

use crate::follow::{Driver, OnHeight, Options, Progress, Rpc};
use crate::lock;
use crate::node::app::App;

/// Heights whose state hash `GET /network/v1/chain` lists.
pub const RECENT: usize = 256;

/// How long one JSON-RPC request may take before it is given up (and retried).
const RPC_TIMEOUT: Duration = Duration::from_secs(5);

/// How long posting a decision may take (sending it; then waiting for its receipt).
const POST_TIMEOUT: Duration = Duration::from_secs(20);

alloy::sol! {
    /// The one call a node makes to the staking contract.
    #[sol(rpc)]
    contract NetworkTransactions {
        function submitNetworkTransaction(bytes transaction) external;
    }
}

/// What the node follows, from its command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The JSON-RPC endpoint.
    pub rpc: String,
    /// The staking contract.
    pub contract: EvmAddress,
    /// The follower's configuration.
    pub config: Config,
    /// The sesh height time, ms (the node's timings scale with it).
    pub height_ms: u64,
    /// The ledger's rules.
    pub params: Params,
}

/// What the node has followed, for the HTTP handlers and the quorum cop.
#[derive(Debug, Default)]
pub struct Followed {
    /// `eth_chainId`, once the endpoint answered it.
    pub chain_id: Option<u64>,
    /// The last chain block applied (the last height's seed block).
    pub chain_block: Option<u64>,
    /// The last height applied and published.
    pub height: u64,
    /// The ledger's state hash at `height`.
    pub state_hash: Option<[u8; 32]>,
    /// `(height, state hash)` of the last [`RECENT`] heights applied, oldest first.
    pub recent: VecDeque<(u64, [u8; 32])>,
    /// The ledger view at `height` (no proofs: the cop adds its own).
    pub view: Option<LedgerView>,
    /// How many times the node discarded its ledger and replayed from the start block.
    pub rebuilds: u32,
    /// `GET /network/v1/rewards` at `height` (`Chain::rewards_json`).
    pub rewards: Value,
    /// The quorum decisions applied, in order: `(height, node, state)`.
    pub changes: Vec<(u64, sesh_staking::NodeId, &'static str)>,
}

impl Followed {
    /// What `GET /network/v1/votes` adds: the ledger's height and every quorum decision
    /// applied (`{"height", "changes": [{"height", "node", "state"}…]}`, as the keeper's).
    pub fn changes_json(&self) -> Value {
        let changes: Vec<Value> = (self.changes.iter())
            .map(|(h, node, state)| json!({"height": h, "node": node.to_string(), "state": state}))
            .collect();
        json!({"height": self.height, "changes": changes})
    }
}

/// The chain mode's shared part.
#[derive(Debug)]
pub struct Following {
    /// Its settings.
    pub settings: Settings,
    /// What it followed.
    pub followed: Mutex<Followed>,
    poster: Option<(Address, DynProvider)>,
    posting: tokio::sync::Mutex<()>,
    /// What the node would sign, at each height it applied (updated as it applies them).
    pub signing: Arc<Mutex<Signable>>,
    /// The node's BLS key signing for the followed chain and contract, once `eth_chainId` has
    /// been answered.
    pub signer: OnceLock<Signer>,
}

impl Following {
    /// The chain mode of these settings; `evm_key` (a file with a hex secp256k1 key) is the
    /// account that posts this node's quorum decisions.
    ///
    /// # Errors
    /// What is wrong with the RPC URL or the key file.
    pub fn new(settings: Settings, evm_key: Option<&std::path::Path>) -> Result<Self, String> {
        Rpc::new(&settings.rpc, RPC_TIMEOUT).map_err(|e| format!("--rpc: {e}"))?;
        let poster = match evm_key {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--evm-key {}: {e}", path.display()))?;
                let signer: PrivateKeySigner = text.trim().parse().map_err(|e| {
                    format!("--evm-key {}: not a hex secp256k1 key: {e}", path.display())
                })?;
                let url = settings.rpc.parse().map_err(|e| format!("--rpc: {e}"))?;
                let address = signer.address();
                // The nonce is asked of the chain for each post (alloy's simple manager): the
                // cached one spends a nonce on a call whose gas estimate fails (a revert), and
                // every later post would wait behind the gap.
                let provider = ProviderBuilder::new()
                    .disable_recommended_fillers()
                    .with_gas_estimation()
                    .with_simple_nonce_management()
                    .fetch_chain_id()
                    .wallet(signer)
                    .connect_http(url)
                    .erased();
                Some((address, provider))
            }
        };
        Ok(Self {
            settings,
            followed: Mutex::new(Followed::default()),
            poster,
            posting: tokio::sync::Mutex::new(()),
            signing: Arc::new(Mutex::new(Signable::default())),
            signer: OnceLock::new(),
        })
    }

    /// The account that posts decisions, if any.
    pub fn poster(&self) -> Option<Address> {
        self.poster.as_ref().map(|(a, _)| *a)
    }

    /// `GET /network/v1/chain`.
    pub fn json(&self) -> Value {
        let f = lock(&self.followed);
        let recent: Vec<Value> = (f.recent.iter())
            .map(|(h, s)| json!({"height": h, "state_hash": hex::encode(s)}))
            .collect();
        json!({
            "chain_id": f.chain_id,
            "contract": self.settings.contract.to_string(),
            "chain_block": f.chain_block,
            "height": f.height,
            "state_hash": f.state_hash.map(hex::encode),
            "rebuilds": f.rebuilds,
            "recent": recent,
        })
    }
}

/// The node's ledger, swarms and rewards as it follows them: the driver's hook.
struct Ledger {
    chain: Chain<Exact>,
    applier: Applier,
    params: Params,
    recent: VecDeque<(u64, [u8; 32])>,
    seed_block: Option<u64>,
    /// Heights applied since the last publication.
    fresh: bool,
    /// The chain's tip as last answered, and the chain blocks of [`RECENT`] heights: a height
    /// further behind the tip than that gets no state hash while catching up (hashing the
    /// whole ledger at every height of a long replay would cost more than applying it).
    tip: Option<u64>,
    recent_blocks: u64,
    changes: Vec<(u64, sesh_staking::NodeId, &'static str)>,
    /// [`Following::signing`], recorded at every height.
    signing: Arc<Mutex<Signable>>,
}

impl Ledger {
    fn new(params: Params, signing: Arc<Mutex<Signable>>) -> Self {
        *lock(&signing) = Signable::default();
        Self {
            chain: Chain::from_parts(
                sesh_staking::Ledger::new(params.clone()),
                Payouts::new(Exact::new(), sesh_node::keeper::POOL_BALANCE).with_node_totals(),
                SwarmMap::new(),
                [0; 32],
                SortOrder::Compat,
            ),
            applier: Applier::new(),
            params,
            recent: VecDeque::new(),
            seed_block: None,
            fresh: false,
            tip: None,
            recent_blocks: 0,
            changes: Vec::new(),
            signing,
        }
    }

    /// Records the state hash of the ledger's height, if not yet recorded.
    fn hash_now(&mut self) {
        let height = self.chain.ledger().height();
        if height == 0 || self.recent.back().is_some_and(|(h, _)| *h == height) {
            return;
        }
        self.recent.push_back((height, self.chain.ledger().state_hash()));
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
    }
}

impl OnHeight for Ledger {
    type Error = String;

    fn on_height(&mut self, height: &Height) -> Result<(), String> {
        let h = height.height;
        let seed = height.seed.ok_or_else(|| format!("height {h} came without its seed"))?;
        let (mut txs, mut at) = (Vec::new(), Vec::new());
        for (position, event) in &height.events {
            match self.applier.transaction(*position, event, &self.params) {
                Ok(Some(tx)) => {
                    txs.push(tx);
                    at.push(*position);
                }
                Ok(None) => {}
                Err(e) => tracing::info!(height = h, "a contract event is not applied: {e}"),
            }
        }
        for (position, skipped) in &height.skipped {
            match skipped {
                Skipped::Ignored(name) => tracing::debug!(height = h, %position, name, "ignored"),
                Skipped::Refused(e) => {
                    tracing::warn!(height = h, %position, "a log is skipped: {e}")
                }
            }
        }
        let block = self.chain.produce_at(h, seed, &txs).map_err(|e| e.to_string())?;
        let near_tip =
            self.tip.is_none_or(|tip| height.seed_block.saturating_add(self.recent_blocks) >= tip);
        // What the node signs, from the last RECENT heights of a catch-up on (a replay of a
        // long chain does not pay for the heights no one will ask about).
        if near_tip {
            let mut signing = lock(&self.signing);
            signing.record(&self.chain, self.applier.ids()).map_err(|e| e.to_string())?;
        }
        for (i, tx) in txs.iter().enumerate() {
            let position = at.get(i).map(ToString::to_string).unwrap_or_default();
            if let Some((_, e)) = block.refused.iter().find(|(k, _)| *k == i) {
                tracing::info!(height = h, %position, "refused by the ledger: {e}");
                continue;
            }
            let (node, state) = match tx.tx() {
                Tx::Decommission(d) => (d.node, "decommission"),
                Tx::Recommission(d) => (d.node, "recommission"),
                Tx::Deregister(d) => (d.node, "deregister"),
                _ => continue,
            };
            tracing::info!(height = h, %node, state, %position, "a quorum's decision applied");
            self.changes.push((h, node, state));
        }
        if near_tip {
            self.hash_now();
        }
        self.seed_block = Some(height.seed_block);
        self.fresh = true;
        Ok(())
    }

    fn rebuild(&mut self) {
        let recent_blocks = self.recent_blocks;
        *self = Self::new(self.params.clone(), self.signing.clone());
        self.recent_blocks = recent_blocks;
    }
}

/// This node's published state at the ledger's height: the swarms of the chain, the nodes
/// with an address (from a proof; this node where it listens).
fn network_state(app: &App, chain: &Chain<Exact>) -> Result<NetworkState, String> {
    let ledger = chain.ledger();
    let map = chain.map();
    let records: Vec<NodeRecord> = map
        .assignments()
        .filter_map(|(id, _)| {
            if id == app.me { Some(app.info) } else { app.obligations.record(&id, app.info.tls) }
        })
        .collect();
    let listed: std::collections::BTreeSet<_> = records.iter().map(|r| r.id).collect();
    let visible =
        SwarmMap::from_assignments(map.assignments().filter(|(id, _)| listed.contains(id)))
            .map_err(|e| e.to_string())?;
    NetworkState::new(ledger.height(), crate::node::HF, chain.block_hash(), records, visible)
        .map_err(|e| e.to_string())
}

/// Publishes what the node followed: the chain's JSON, the ledger view for the cop, and the
/// network state for the rest of the node.
fn publish(app: &Arc<App>, following: &Following, ledger: &mut Ledger, pending: &Arc<AtomicBool>) {
    ledger.fresh = false;
    ledger.hash_now();
    let chain = &ledger.chain;
    let height = chain.ledger().height();
    let view = LedgerView::from_ledger(
        chain.ledger(),
        |_| None,
        crate::node::HF,
        chain.block_hash(),
        following.settings.height_ms,
    );
    let state = match network_state(app, chain) {
        Ok(state) => state,
        Err(e) => return tracing::error!(height, "the network state cannot be made: {e}"),
    };
    {
        let mut f = lock(&following.followed);
        f.chain_block = ledger.seed_block;
        f.height = height;
        f.state_hash = ledger.recent.back().map(|(_, s)| *s);
        f.recent.clone_from(&ledger.recent);
        f.view = Some(view);
        f.rewards = chain.rewards_json();
        f.changes.clone_from(&ledger.changes);
    }
    crate::node::apply_state(app, state, pending);
}

/// The pause after `failures` failures in a row: 250 ms doubling up to 5 s.
fn pause_after(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(5);
    Duration::from_millis(250u64 << doublings).min(Duration::from_secs(5))
}

/// Follows the chain for ever: the node's background task in chain mode.
pub async fn run(app: Arc<App>, pending: Arc<AtomicBool>) {
    let following = app.chain.clone();
    let s = following.settings.clone();
    let Ok(rpc) = Rpc::new(&s.rpc, RPC_TIMEOUT) else { return };
    let mut failures = 0u32;
    let chain_id = loop {
        match rpc.chain_id().await {
            Ok(id) => break id,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(url = %s.rpc, failures, "waiting for the chain: {e}");
                tokio::time::sleep(pause_after(failures)).await;
            }
        }
    };
    lock(&following.followed).chain_id = Some(chain_id);
    let domain = sesh_bls::Domain { chain_id, contract: s.contract.0 };
    if following.signer.set(Signer::new(&app.identity, domain)).is_err() {
        tracing::debug!("the BLS signer was set already");
    }
    if let Ok(tip) = rpc.block_number().await
        && let Ok(false) = rpc.has_code(s.contract, tip).await
    {
        tracing::warn!(contract = %s.contract, tip, "no contract code at the address at the tip");
    }
    tracing::info!(
        chain_id,
        contract = %s.contract,
        start_block = s.config.start_block,
        confirmations = s.config.confirmations,
        blocks_per_height = s.config.blocks_per_height,
        poster = ?following.poster(),
        "following the staking contract"
    );
    // Once caught up, the tip is asked for twice a height: a height is applied only once its
    // last block is confirmed, so asking more often buys nothing and costs a rate-limited
    // endpoint (Arbitrum's 4 blocks a second would otherwise be 8 requests a second a node).
    let poll = Duration::from_millis((s.height_ms / 2).clamp(100, 5_000));
    let options = Options { backoff_max: Duration::from_secs(5), ..Options::default() };
    let new_driver = |rpc| Driver::new(rpc, s.config.clone(), options.clone());
    let mut driver = match new_driver(rpc) {
        Ok(d) => d,
        Err(e) => return tracing::error!("the follower cannot start: {e}"),
    };
    let mut ledger = Ledger::new(s.params.clone(), following.signing.clone());
    ledger.recent_blocks = (RECENT as u64).saturating_mul(s.config.blocks_per_height);
    let started = Instant::now();
    let mut caught_up = false;
    failures = 0;
    loop {
        ledger.tip = driver.tip();
        let pause = match driver.step(&mut ledger).await {
            Ok(Progress::Heights(_)) => {
                failures = 0;
                None
            }
            Ok(Progress::CaughtUp) => {
                failures = 0;
                if !caught_up {
                    caught_up = true;
                    tracing::info!(
                        height = ledger.chain.ledger().height(),
                        block = driver.follower().applied_block(),
                        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "caught up with the chain"
                    );
                }
                if ledger.fresh {
                    publish(&app, &following, &mut ledger, &pending);
                }
                Some(poll)
            }
            Ok(Progress::Retry(_)) => {
                // The driver logged why.
                failures = failures.saturating_add(1);
                Some(pause_after(failures))
            }
            Ok(Progress::Rebuilt { fork_below }) => {
                tracing::error!(fork_below, "rebuilding the ledger from the start block");
                lock(&following.followed).rebuilds += 1;
                caught_up = false;
                None
            }
            Err(e) => {
                tracing::error!(
                    "following stopped: {e}; discarding the ledger and replaying from the start \
                     block"
                );
                ledger.rebuild();
                lock(&following.followed).rebuilds += 1;
                caught_up = false;
                match Rpc::new(&s.rpc, RPC_TIMEOUT)
                    .map_err(|e| e.to_string())
                    .and_then(|rpc| new_driver(rpc).map_err(|e| e.to_string()))
                {
                    Ok(d) => driver = d,
                    Err(e) => return tracing::error!("the follower cannot start again: {e}"),
                }
                Some(Duration::from_secs(1))
            }
        };
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
}

/// Posts a quorum's decided transaction to the chain (`submitNetworkTransaction`) from the
/// `--evm-key` account, and waits for its receipt. `Some` once it is mined (every follower then
/// applies or refuses it at that block's height), or when this node has no key (it never
/// posts; the decision's other voters do); `None` when the RPC failed, timed out or the call
/// reverted (logged; the decision is due again later).
pub async fn post_decision(following: &Following, tx: &SignedTx) -> Option<Value> {
    let Some((from, provider)) = &following.poster else {
        tracing::info!("a decision is not posted: this node has no --evm-key");
        return Some(json!({"posted": false, "why": "no --evm-key"}));
    };
    let _one_at_a_time = following.posting.lock().await;
    let contract = Address::from(following.settings.contract.0);
    let rewards = NetworkTransactions::new(contract, provider.clone());
    let call = rewards.submitNetworkTransaction(Bytes::from(tx.to_bytes()));
    let pending = match tokio::time::timeout(POST_TIMEOUT, call.send()).await {
        Ok(Ok(pending)) => pending,
        Ok(Err(e)) => {
            tracing::warn!(%from, "posting a decision failed: {e}");
            return None;
        }
        Err(_) => {
            tracing::warn!(%from, "posting a decision timed out");
            return None;
        }
    };
    let hash = *pending.tx_hash();
    tracing::info!(%from, tx = %hash, "a decision posted (submitNetworkTransaction)");
    match tokio::time::timeout(POST_TIMEOUT, pending.get_receipt()).await {
        Ok(Ok(receipt)) if receipt.status() => {
            let block = receipt.block_number;
            tracing::info!(tx = %hash, ?block, "the decision is on the chain");
            Some(json!({"posted": hash.to_string(), "block": block}))
        }
        Ok(Ok(_)) => {
            tracing::warn!(tx = %hash, "the decision's transaction reverted");
            None
        }
        Ok(Err(e)) => {
            tracing::warn!(tx = %hash, "no receipt for the decision: {e}");
            None
        }
        Err(_) => {
            tracing::warn!(tx = %hash, "no receipt for the decision in {POST_TIMEOUT:?}");
            None
        }
    }
}
