//! Nodes holding each other to their duties in a running network, as oxend's quorum cop and the
//! storage server's peer tests do it (spec §2.4, §4), sans-IO: the ledger each block
//! ([`LedgerView`], the ledger's part published by the ledger keeper, the uptime proofs this
//! node's own [`ProofBook`](crate::proofs::ProofBook)), when a node sends its uptime proof, which
//! nodes it tests at each block and what each outcome means, the state-change votes it signs
//! ([`Cop`]), and its own tally of everyone's votes ([`Ballot`]) and what it does with a decision
//! ([`Submissions`]).
//!
//! **No one collects.** As on the live network, proofs and votes go from node to node: a node
//! sends its proof to every node it knows, and each node relays a proof it newly accepted once
//! ([`crate::proofs`]); a validator sends its votes to every node it knows (all nodes: local
//! networks are small; the live network sends them to the quorum), and every node tallies them.
//! A node whose tally decides a state change submits the decided transaction
//! ([`Decided::to_tx`](sesh_quorum::Decided::to_tx)) to the ledger, which verifies its votes
//! as it verifies any transaction; who submits when is [`Submissions`]' rule.
//!
//! Each block `h`, a node that is an active validator of the obligations quorum of height
//! `q` (oxend's `process_quorums`: every `q` from `h + 1 − 60` up to `h − 12`, each once) decides
//! about each of the quorum's workers with [`sesh_quorum::decide`], on [`TestResults`] made of:
//!
//! * **uptime proof**: the last proof this node accepted of the worker is at most 2 h 5 min old
//!   (62.5 blocks); nodes send one every hour (30 blocks), [`Cop::proof_due`], in the live
//!   format ([`UptimeSubmission`], taken by oxend's checks, [`sesh_quorum::proof::accept`]);
//! * **storage server reachable**: oxend's `reachable_stats::unreachable_for`: the node failed
//!   every reachability test for at least `VALIDITY − FREQUENCY` (65 min, 32.5 blocks) and the
//!   last failure is less than 5 min (2.5 blocks) old. Tests are signed node-to-node requests
//!   ([`PING_PATH`]), made by the node itself (the live storage server reports its tests to its
//!   own oxend);
//! * **storage tests**: the tester asks the worker for a message of its swarm by hash
//!   ([`STORAGE_TEST_PATH`]) and compares the bytes; a message it holds itself when it is in
//!   the worker's swarm, otherwise one it asks another member of that swarm for
//!   ([`SAMPLE_PATH`]). More than 4 failures among the last 8 tests fails the node, as oxend's
//!   participation histories do, with the reason bit of an unreachable storage server (8); as
//!   those histories, they are not held against a decommissioned node (which has no swarm to
//!   be tested in), and a recommissioned node starts a new history.
//!
//! **Live timings, scaled.** Every duration of the live rules is scaled from 2-minute blocks to
//! the network's block time ([`Timings`]): on a testnet of 500 ms blocks, 65 minutes are
//! 16.25 s. Durations of network round trips (the 5 s ping and 15 s storage-test timeouts) are
//! not scaled: they are about networks, not blocks.
//!
//! **Deliberate differences.** The live storage server's storage tests (one tester/testee pair
//! per swarm and block) only feed local statistics, and the code starting them is commented out;
//! here the validators run them and vote on them, so that a node that acknowledges stores and
//! keeps nothing is caught. Local networks have no hard fork, so the hard-fork deregistration
//! grace is 0. A validator tests at most a budget of nodes a block ([`Cop::plan`]): the workers
//! it votes on next first (least recently tested first), then nodes due for a retest, then one
//! random node, where the live storage server pings a random node every 10 s.
//!
//! ```
//! use sesh_node::obligations::Timings;
//!
//! let testnet = Timings::scaled(500);
//! assert_eq!(testnet.unreachable_threshold_ms(), 16_250); // 65 min of 2-min blocks
//! assert!(testnet.proof_fresh(Some(100), 162)); // 62 blocks old
//! assert!(!testnet.proof_fresh(Some(100), 163)); // 63 blocks: over 2 h 5 min
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;

use rand_core::RngCore;
use serde_json::{Value, json};
use sesh_identity::{Identity, NodeId};
use sesh_network::{NetworkState, NodeRecord};
use sesh_quorum::proof::{ProofTimings, SignedProof, UptimeProof as LiveProof};
use sesh_quorum::{
    BlockHash, Decision, DecisionRules, Heights, Quorum, Reasons, ServiceNodes, StateChange,
    Subject, TestResults, Vote, WorkerInfo, decide, obligations_quorum,
};
use sesh_rpc::store::Message;
use sesh_staking::oxen::HardFork;
use sesh_staking::tx::SignedTx;
use sesh_staking::{Ledger, NodeStatus, Params};
use sesh_swarm::SwarmId;

use crate::error::{Error, Result};

pub use sesh_quorum::proof::LIVE_BLOCK_MS;
/// oxend's `UPTIME_PROOF_FREQUENCY`: a node sends a proof every hour (mainnet's
/// [`ProofTimings`], which the nodes' proof checks scale).
pub const UPTIME_PROOF_FREQUENCY_MS: u64 = ProofTimings::mainnet().frequency_ms;
/// oxend's `UPTIME_PROOF_VALIDITY`: an older proof is missing (mainnet's [`ProofTimings`]).
pub const UPTIME_PROOF_VALIDITY_MS: u64 = ProofTimings::mainnet().validity_ms;
/// oxend's `REACHABLE_MAX_FAILURE_VALIDITY`: an older failure no longer counts.
pub const REACHABLE_MAX_FAILURE_VALIDITY_MS: u64 = 300_000;
/// The storage server's `TESTING_BACKOFF`: a failing node is retested after this much per
/// failure (and its random interval, 10 s).
pub const TESTING_BACKOFF_MS: u64 = 10_000;
/// The storage server's `TESTING_BACKOFF_MAX`.
pub const TESTING_BACKOFF_MAX_MS: u64 = 120_000;
/// oxend's `REORG_SAFETY_BUFFER_BLOCKS_POST_HF12`: quorums this close to the tip are not voted on.
pub const REORG_SAFETY_BUFFER_BLOCKS: u64 = 11;
/// Storage tests remembered per node (oxend's participation histories keep 8).
pub const STORAGE_TEST_HISTORY: usize = 8;
/// Failed storage tests among them that fail a node (oxend's `*_MAX_MISSABLE_VOTES`: 4).
pub const STORAGE_TEST_MAX_FAILURES: usize = 4;
/// The storage server's `SN_PING_TIMEOUT`, ms (not scaled).
pub const PING_TIMEOUT_MS: u64 = 5_000;
/// The storage server's `STORAGE_TEST_TIMEOUT`, ms (not scaled).
pub const STORAGE_TEST_TIMEOUT_MS: u64 = 15_000;
/// How old a message must be to test a node with: as long as a live tester waits for the
/// answer, 15 s (the live testee looks for a message it does not have yet for longer than that).
pub const SAMPLE_MIN_AGE_MS: u64 = STORAGE_TEST_TIMEOUT_MS;
/// Blocks a node must have been in its swarm before it is storage-tested: the handover that
/// gives it the swarm's messages takes a few blocks.
pub const SWARM_SETTLE_BLOCKS: u64 = 10;
/// The most votes one request carries.
pub const MAX_VOTES_PER_REQUEST: usize = 500;

/// The keeper's ledger view, the ledger only: no uptime proofs (`GET`, signed by the keeper as
/// the network state is).
pub const LEDGER_PATH: &str = "/network/v1/ledger";
/// An uptime proof, to any node (`POST` [`UptimeSubmission::to_body`], the proof's own or
/// relayed; `GET` the proofs the node holds).
pub const UPTIME_PATH: &str = "/network/v1/uptime";
/// Votes, to any node (`POST` [`votes_body`] by the voter; `GET` the node's open tallies, and
/// on the keeper the state changes applied).
pub const VOTES_PATH: &str = "/network/v1/votes";
/// A quorum's decided transaction, to the ledger (the keeper's; `POST` the transaction's bytes,
/// [`SignedTx::to_bytes`](sesh_staking::tx::SignedTx::to_bytes)).
pub const TX_PATH: &str = "/network/v1/tx";
/// The reachability test (the live storage server's HTTPS ping path).
pub const PING_PATH: &str = "/ping_test/v1";
/// A storage test: `{"hash"}`, answered `{"status": "OK", "data"}` or `{"status": "missing"}`.
pub const STORAGE_TEST_PATH: &str = "/swarm/v1/storage_test";
/// A message a swarm member holds, for a storage test of another member.
pub const SAMPLE_PATH: &str = "/swarm/v1/sample";

/// The live timings scaled to a network's block time. The uptime proof's frequency and validity
/// are mainnet's [`ProofTimings`] (by which nodes take proofs), scaled the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timings {
    /// The network's block time, ms.
    pub block_ms: u64,
}

impl Timings {
    /// A network of `block_ms` blocks (at least 1 ms).
    pub fn scaled(block_ms: u64) -> Self {
        Self { block_ms: block_ms.max(1) }
    }

    /// A live duration on this network.
    pub fn scale(&self, live_ms: u64) -> u64 {
        let scaled = u128::from(live_ms) * u128::from(self.block_ms) / u128::from(LIVE_BLOCK_MS);
        u64::try_from(scaled).unwrap_or(u64::MAX)
    }

    /// Blocks between two uptime proofs: 30 (an hour).
    pub fn proof_frequency_blocks(&self) -> u64 {
        UPTIME_PROOF_FREQUENCY_MS / LIVE_BLOCK_MS
    }

    /// Whether a proof accepted at `proof` is still valid at `height` (at most 62.5 blocks old).
    pub fn proof_fresh(&self, proof: Option<u64>, height: u64) -> bool {
        proof.is_some_and(|p| {
            u128::from(height.saturating_sub(p)) * u128::from(LIVE_BLOCK_MS)
                <= u128::from(UPTIME_PROOF_VALIDITY_MS)
        })
    }

    /// How long a node must fail every reachability test to fail: `VALIDITY − FREQUENCY`.
    pub fn unreachable_threshold_ms(&self) -> u64 {
        self.scale(UPTIME_PROOF_VALIDITY_MS - UPTIME_PROOF_FREQUENCY_MS)
    }

    /// How long a reachability failure counts.
    pub fn max_failure_validity_ms(&self) -> u64 {
        self.scale(REACHABLE_MAX_FAILURE_VALIDITY_MS)
    }

    /// How long a node runs before it votes: the proof validity (oxend's 2 h 5 min), so that it
    /// has heard from the network.
    pub fn startup_wait_ms(&self) -> u64 {
        self.scale(UPTIME_PROOF_VALIDITY_MS)
    }

    /// When a node that failed `failures` tests in a row is tested again, after its last test.
    pub fn retest_after_ms(&self, failures: u32) -> u64 {
        let live = TESTING_BACKOFF_MS.saturating_mul(u64::from(failures)) + TESTING_BACKOFF_MS;
        self.scale(live.min(TESTING_BACKOFF_MAX_MS))
    }
}

/// A registered, fully funded node as the ledger view lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewNode {
    /// Its id.
    pub id: NodeId,
    /// Where it is reached: from its uptime proof ([`LedgerView::with_proofs`]), else where it
    /// told the keeper when it joined.
    pub record: Option<NodeRecord>,
    /// Its record as the vote decision reads it (decommissioned or active among it).
    pub info: WorkerInfo,
    /// This node's ledger height when it accepted the node's last uptime proof (this node's
    /// [`ProofBook`](crate::proofs::ProofBook), [`LedgerView::with_proofs`]); never the
    /// keeper's word.
    pub last_uptime_proof_height: Option<u64>,
}

/// The ledger at each block for the quorum cops: the block, and every registered, fully funded
/// node (active or decommissioned) with its ledger record, as the keeper publishes it; each node
/// adds the uptime proofs it holds itself ([`LedgerView::with_proofs`]). The active and
/// decommissioned nodes are the ones of the block's close, so that every node computes the same
/// obligations quorum ([`LedgerView::obligations_quorum`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerView {
    /// The block's height.
    pub height: u64,
    /// The network's hard fork.
    pub hf: [u16; 2],
    /// The block's hash.
    pub block_hash: [u8; 32],
    /// The network's block time, ms.
    pub block_ms: u64,
    nodes: BTreeMap<NodeId, ViewNode>,
}

impl LedgerView {
    /// The view of `ledger` at the close of the block with `block_hash`; `reach` says where
    /// each node is reached.
    pub fn from_ledger(
        ledger: &Ledger,
        reach: impl Fn(&NodeId) -> Option<NodeRecord>,
        hf: [u16; 2],
        block_hash: [u8; 32],
        block_ms: u64,
    ) -> Self {
        let nodes = ledger
            .nodes()
            .filter(|n| n.activation_height().is_some())
            .filter(|n| {
                matches!(
                    n.status(),
                    NodeStatus::Active | NodeStatus::ExitRequested | NodeStatus::Decommissioned
                )
            })
            .map(|n| {
                let view = ViewNode {
                    id: n.id(),
                    record: reach(&n.id()),
                    info: WorkerInfo::from_node(n),
                    // Proofs are each node's own: see `with_proofs`.
                    last_uptime_proof_height: None,
                };
                (n.id(), view)
            })
            .collect();
        Self { height: ledger.height(), hf, block_hash, block_ms, nodes }
    }

    /// A node of the view.
    pub fn node(&self, id: &NodeId) -> Option<&ViewNode> {
        self.nodes.get(id)
    }

    /// Every node, by id.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &ViewNode> + '_ {
        self.nodes.values()
    }

    /// Whether `id` is an active node.
    pub fn is_active(&self, id: &NodeId) -> bool {
        self.nodes.get(id).is_some_and(|n| n.info.is_active())
    }

    /// This view with the proofs `book` holds: each node's last proof height is the height
    /// this node accepted its proof at (none without one), and a node with a proof is reached
    /// where the proof says (with `tls`, [`ProofBook::record`](crate::proofs::ProofBook::record)).
    #[must_use]
    pub fn with_proofs(mut self, book: &crate::proofs::ProofBook, tls: bool) -> Self {
        for n in self.nodes.values_mut() {
            let held = book.get(&n.id);
            n.last_uptime_proof_height = held.map(|h| h.accepted_height);
            if let Some(record) = book.record(&n.id, tls) {
                n.record = Some(record);
            }
        }
        self
    }

    /// The timings of its network.
    pub fn timings(&self) -> Timings {
        Timings::scaled(self.block_ms)
    }

    /// The block's obligations quorum (oxend's, bit-exact: `sesh_quorum::obligations_quorum`).
    pub fn obligations_quorum(&self) -> Quorum {
        let active = self.nodes.values().filter(|n| !n.info.decommissioned).map(|n| n.id);
        let decommissioned = self.nodes.values().filter(|n| n.info.decommissioned).map(|n| n.id);
        // The ids are the keys of a map: none is listed twice.
        let nodes = ServiceNodes::new(active, decommissioned).unwrap_or_default();
        let hf = HardFork(u8::try_from(self.hf[0]).unwrap_or(u8::MAX));
        obligations_quorum(hf, &BlockHash::from_bytes(self.block_hash), &nodes)
    }

    /// Its JSON form.
    pub fn to_json(&self) -> Value {
        let nodes: Vec<Value> = self
            .nodes
            .values()
            .map(|n| {
                let i = &n.info;
                let mut v = json!({
                    "pubkey_ed25519": n.id.to_string(),
                    "status": if i.decommissioned { "decommissioned" } else { "active" },
                    "registration_height": i.registration_height,
                    "active_since_height": i.active_since_height,
                    "last_decommission_height": i.last_decommission_height,
                    "recommission_credit": i.recommission_credit,
                    "staking_requirement": i.staking_requirement,
                });
                if let (Some(h), Some(o)) = (n.last_uptime_proof_height, v.as_object_mut()) {
                    o.insert("last_uptime_proof_height".into(), json!(h));
                }
                if let (Some(r), Some(o)) = (n.record, v.as_object_mut()) {
                    o.insert("ip".into(), json!(r.ip.to_string()));
                    o.insert("port".into(), json!(r.port));
                    o.insert("tls".into(), json!(r.tls));
                }
                v
            })
            .collect();
        json!({
            "height": self.height,
            "hf": self.hf,
            "block_hash": hex::encode(self.block_hash),
            "block_ms": self.block_ms,
            "nodes": nodes,
        })
    }

    /// Reads a view; any malformed entry refuses it whole.
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the entry and field.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(&format!("not JSON: {e}")))?;
        let u = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(&format!("\"{key}\" is not a number")))
        };
        let hf = v
            .get("hf")
            .and_then(Value::as_array)
            .and_then(|a| match a.as_slice() {
                [a, b] => {
                    Some([u16::try_from(a.as_u64()?).ok()?, u16::try_from(b.as_u64()?).ok()?])
                }
                _ => None,
            })
            .ok_or_else(|| bad("\"hf\" is not [major, minor]"))?;
        let mut block_hash = [0u8; 32];
        v.get("block_hash")
            .and_then(Value::as_str)
            .and_then(|h| hex::decode_to_slice(h, &mut block_hash).ok())
            .ok_or_else(|| bad("\"block_hash\" is not 64 hex digits"))?;
        let mut nodes = BTreeMap::new();
        let list = v.get("nodes").and_then(Value::as_array).ok_or_else(|| bad("no \"nodes\""))?;
        for (k, n) in list.iter().enumerate() {
            let node = read_view_node(n).map_err(|why| bad(&format!("node {k}: {why}")))?;
            if nodes.insert(node.id, node).is_some() {
                return Err(bad(&format!("node {k} is listed twice")));
            }
        }
        Ok(Self { height: u(&v, "height")?, hf, block_hash, block_ms: u(&v, "block_ms")?, nodes })
    }
}

fn bad(why: &str) -> Error {
    Error::BadRequest(why.to_owned())
}

fn read_view_node(n: &Value) -> core::result::Result<ViewNode, String> {
    let u =
        |key: &str| n.get(key).and_then(Value::as_u64).ok_or(format!("\"{key}\" is not a number"));
    let id: NodeId = n
        .get("pubkey_ed25519")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or("\"pubkey_ed25519\" is not a node key")?;
    let decommissioned = match n.get("status").and_then(Value::as_str) {
        Some("active") => false,
        Some("decommissioned") => true,
        _ => return Err("\"status\" is neither active nor decommissioned".into()),
    };
    let record = match n.get("ip") {
        None | Some(Value::Null) => None,
        Some(ip) => {
            let ip: Ipv4Addr = ip.as_str().and_then(|s| s.parse().ok()).ok_or("bad \"ip\"")?;
            let port = u16::try_from(u("port")?).map_err(|_| "bad \"port\"")?;
            let tls = n.get("tls").and_then(Value::as_bool).ok_or("bad \"tls\"")?;
            let x25519 = id.to_x25519().map_err(|_| "a key with no X25519 form")?;
            Some(NodeRecord { id, x25519, ip, port, tls })
        }
    };
    let proof = match n.get("last_uptime_proof_height") {
        None | Some(Value::Null) => None,
        Some(h) => Some(h.as_u64().ok_or("bad \"last_uptime_proof_height\"")?),
    };
    let registration_height = u("registration_height")?;
    let info = WorkerInfo {
        fully_funded: true,
        registration_height,
        active_since_height: u("active_since_height")?,
        decommissioned,
        last_decommission_height: u("last_decommission_height")?,
        recommission_credit: n
            .get("recommission_credit")
            .and_then(Value::as_i64)
            .ok_or("\"recommission_credit\" is not a number")?,
        staking_requirement: u("staking_requirement")?,
        last_ip_change_height: registration_height,
    };
    Ok(ViewNode { id, record, info, last_uptime_proof_height: proof })
}

/// An uptime proof as sent from node to node: the live proof (oxend's bencoded proof and its
/// Ed25519 signature, [`sesh_quorum::proof`]).
///
/// The live proof's `l2` (the L2 height a live node has seen) is the ledger height the proof is
/// made at: sesh's ledger stands in for the L2 contract (so, as in oxend from HF21, a proof is
/// made from height 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UptimeSubmission {
    /// The live proof.
    pub proof: SignedProof,
}

impl UptimeSubmission {
    /// The proof `node`, reached at `ip` and `port`, sends at ledger height `height` when its
    /// clock reads `now_ms` (Unix ms): a live-format proof with the storage server version sesh
    /// reports ([`sesh_rpc::handler::STORAGE_SERVER_VERSION`]).
    pub fn new(node: &Identity, ip: Ipv4Addr, port: u16, height: u64, now_ms: u64) -> Self {
        let version = sesh_rpc::handler::STORAGE_SERVER_VERSION;
        let proof = LiveProof::new(node, version, ip, port, height, now_ms / 1000).sign(node);
        Self { proof }
    }

    /// The body of [`UPTIME_PATH`]: `{"proof", "ed_sig"}`, each hex (the bencoded proof, its
    /// signature), named as oxend's `NOTIFY_BTENCODED_UPTIME_PROOF` names them.
    pub fn to_body(&self) -> Vec<u8> {
        json!({
            "proof": hex::encode(self.proof.encoded()),
            "ed_sig": hex::encode(self.proof.ed_sig()),
        })
        .to_string()
        .into_bytes()
    }

    /// Reads [`UptimeSubmission::to_body`].
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a body not of that form; [`Error::ProofRefused`] for a proof
    /// oxend could not read.
    pub fn from_body(body: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| Error::BadRequest(format!("uptime proof: not JSON: {e}")))?;
        let field = |k: &str| {
            let text = v.get(k).and_then(Value::as_str);
            text.and_then(|t| hex::decode(t).ok())
                .ok_or_else(|| Error::BadRequest(format!("uptime proof: \"{k}\" is not hex")))
        };
        let (proof, ed_sig) = (field("proof")?, field("ed_sig")?);
        let proof = SignedProof::from_parts(&proof, &ed_sig)
            .map_err(|source| Error::ProofRefused { source })?;
        Ok(Self { proof })
    }
}

/// oxend's `reachable_stats`: when a node was last seen reachable and unreachable, and since
/// when it has been failing (ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reachability {
    last_reachable: Option<i64>,
    first_unreachable: Option<i64>,
    last_unreachable: Option<i64>,
}

impl Reachability {
    /// Notes a test's outcome at `now_ms` (oxend's `set_peer_reachable`).
    pub fn record(&mut self, reachable: bool, now_ms: i64) {
        if reachable {
            self.last_reachable = Some(now_ms);
            self.first_unreachable = None;
        } else {
            self.last_unreachable = Some(now_ms);
            self.first_unreachable.get_or_insert(now_ms);
        }
    }

    /// `Some(true)` if the last test passed, `Some(false)` if it failed less than `validity_ms`
    /// ago, `None` for an older failure (oxend's `reachable`).
    pub fn reachable(&self, now_ms: i64, validity_ms: u64) -> Option<bool> {
        let Some(failed) = self.last_unreachable else { return Some(true) };
        if self.last_reachable.is_some_and(|r| r >= failed) {
            return Some(true);
        }
        (failed > now_ms.saturating_sub(ms(validity_ms))).then_some(false)
    }

    /// Whether it failed recently and has failed every test for at least `threshold_ms`
    /// (oxend's `unreachable_for`).
    pub fn unreachable_for(&self, threshold_ms: u64, now_ms: i64, validity_ms: u64) -> bool {
        self.reachable(now_ms, validity_ms) == Some(false)
            && self.first_unreachable.is_some_and(|f| f <= now_ms.saturating_sub(ms(threshold_ms)))
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What a node knows about another from its own tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Peer {
    reach: Reachability,
    /// The last storage tests, oldest first: `true` passed.
    storage: VecDeque<bool>,
    /// Reachability failures in a row.
    failures: u32,
    last_tested_ms: Option<i64>,
    swarm: Option<SwarmId>,
    /// The first height it was seen in `swarm`.
    swarm_since: u64,
    decommissioned: bool,
}

impl Peer {
    fn storage_failing(&self) -> bool {
        self.storage.iter().filter(|passed| !**passed).count() > STORAGE_TEST_MAX_FAILURES
    }
}

/// Where a storage test's message comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// A message this node holds: it is in the tested node's swarm.
    Mine,
    /// A message another member of the tested node's swarm holds (ask it, [`SAMPLE_PATH`]).
    From(NodeRecord),
}

/// One test to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Test {
    /// The node tested.
    pub node: NodeRecord,
    /// With a storage test (which also tests reachability), or a ping alone.
    pub storage: Option<Sample>,
}

/// A test's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// No answer, or not a 200 from the node asked for.
    Unreachable,
    /// It answered; no storage test was made (a ping, or no message to test with).
    Reachable,
    /// It answered a storage test: with the message's bytes (`true`) or not.
    Storage(bool),
}

/// One vote a node cast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cast {
    /// The worker voted on.
    pub worker: NodeId,
    /// The vote.
    pub vote: Vote,
}

/// What a node's quorum cop decided about one quorum's worker (for logs and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The quorum's height.
    pub height: u64,
    /// The worker.
    pub worker: NodeId,
    /// Its test results.
    pub results: TestResults,
    /// The decision.
    pub decision: Decision,
}

/// A node's quorum cop: the quorums it has seen, what its tests found, and the heights it has
/// processed.
///
/// ```
/// use sesh_identity::{Identity, NodeId};
/// use sesh_node::obligations::Cop;
///
/// let me = Identity::generate(&mut rand_core::OsRng);
/// let cop = Cop::new(NodeId::from_identity(&me), sesh_node::keeper::params(), 0);
/// assert_eq!(cop.quorums(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct Cop {
    me: NodeId,
    params: Params,
    rules: DecisionRules,
    started_ms: i64,
    quorums: BTreeMap<u64, Quorum>,
    next_height: u64,
    peers: BTreeMap<NodeId, Peer>,
}

impl Cop {
    /// The cop of node `me` on a network with `params`, started at `started_ms`.
    pub fn new(me: NodeId, params: Params, started_ms: i64) -> Self {
        let mut rules = DecisionRules::from_params(&params);
        // Local networks have no hard fork: no deregistration grace.
        rules.hardfork_grace_blocks = 0;
        Self {
            me,
            params,
            rules,
            started_ms,
            quorums: BTreeMap::new(),
            next_height: 0,
            peers: BTreeMap::new(),
        }
    }

    /// Quorums known.
    pub fn quorums(&self) -> usize {
        self.quorums.len()
    }

    /// The obligations quorum of `height`, if this node saw that block.
    pub fn quorum(&self, height: u64) -> Option<&Quorum> {
        self.quorums.get(&height)
    }

    /// Takes a block's view (and the network state of the same block, for the swarms): its
    /// quorum, recommissions (a new storage history), swarm moves.
    pub fn observe(&mut self, view: &LedgerView, state: &NetworkState) {
        self.quorums.entry(view.height).or_insert_with(|| view.obligations_quorum());
        let keep_from = view.height.saturating_sub(self.params.vote_window_blocks + 12);
        self.quorums.retain(|h, _| *h >= keep_from);
        self.peers.retain(|id, _| view.node(id).is_some());
        for n in view.nodes().filter(|n| n.id != self.me) {
            let peer = self.peers.entry(n.id).or_default();
            if peer.decommissioned && !n.info.decommissioned {
                peer.storage.clear();
            }
            peer.decommissioned = n.info.decommissioned;
            let swarm = state.swarm_of(&n.id);
            if swarm != peer.swarm {
                peer.swarm = swarm;
                peer.swarm_since = view.height;
            }
        }
    }

    /// Notes a test's outcome.
    pub fn record(&mut self, node: &NodeId, outcome: Outcome, now_ms: i64) {
        let peer = self.peers.entry(*node).or_default();
        peer.last_tested_ms = Some(now_ms);
        let reachable = outcome != Outcome::Unreachable;
        peer.reach.record(reachable, now_ms);
        peer.failures = if reachable { 0 } else { peer.failures.saturating_add(1) };
        if let Outcome::Storage(passed) = outcome {
            if peer.storage.len() >= STORAGE_TEST_HISTORY {
                peer.storage.pop_front();
            }
            peer.storage.push_back(passed);
        }
    }

    /// The outcome of this node's tests of `node` at block `height`, at `now_ms`.
    pub fn results(
        &self,
        node: &ViewNode,
        height: u64,
        now_ms: i64,
        timings: &Timings,
    ) -> TestResults {
        let peer = self.peers.get(&node.id);
        let unreachable = peer.is_some_and(|p| {
            p.reach.unreachable_for(
                timings.unreachable_threshold_ms(),
                now_ms,
                timings.max_failure_validity_ms(),
            )
        });
        let storage_failing = !node.info.decommissioned && peer.is_some_and(Peer::storage_failing);
        TestResults {
            uptime_proved: timings.proof_fresh(node.last_uptime_proof_height, height),
            storage_server_reachable: !unreachable && !storage_failing,
            ..TestResults::default()
        }
    }

    /// Whether this node should send an uptime proof at the view's height: it has none, or its
    /// last is an hour (30 blocks) old.
    pub fn proof_due(&self, view: &LedgerView) -> bool {
        view.node(&self.me).is_some_and(|n| {
            n.last_uptime_proof_height.is_none_or(|last| {
                view.height >= last.saturating_add(view.timings().proof_frequency_blocks())
            })
        })
    }

    /// The heights whose quorums this node votes on at the view's block, oxend's window: from
    /// `latest − 60` (`latest` being the chain's height, the view's plus one) up to the view's
    /// height less 12.
    fn due_heights(&mut self, view: &LedgerView) -> core::ops::Range<u64> {
        let latest = view.height.saturating_add(1);
        let Some(start) = latest.checked_sub(self.params.vote_window_blocks) else {
            return 0..0;
        };
        let from = self.next_height.max(start);
        let to = view.height.saturating_sub(REORG_SAFETY_BUFFER_BLOCKS).max(from);
        self.next_height = to;
        from..to
    }

    /// The block's votes: for every quorum height due (each processed once), if this node is
    /// an active validator of it and has run for the startup wait, a vote on each worker the
    /// decision says to vote on, signed by `identity`. Returns the votes and every verdict.
    pub fn process(
        &mut self,
        view: &LedgerView,
        identity: &Identity,
        now_ms: i64,
    ) -> (Vec<Cast>, Vec<Verdict>) {
        let (mut casts, mut verdicts) = (Vec::new(), Vec::new());
        let timings = view.timings();
        let heights = self.due_heights(view);
        let waited = now_ms.saturating_sub(self.started_ms) >= ms(timings.startup_wait_ms());
        if !waited || !view.is_active(&self.me) {
            return (casts, verdicts);
        }
        for q in heights {
            let Some(quorum) = self.quorums.get(&q) else { continue };
            let Some(index) = quorum.validators.iter().position(|v| *v == self.me) else {
                continue;
            };
            let Ok(index) = u16::try_from(index) else { continue };
            let at = Heights {
                obligations: q,
                latest: view.height.saturating_add(1),
                block: view.height,
                hard_fork_start: 0,
            };
            let mut deactivated = 0;
            for (i, worker) in quorum.workers.iter().enumerate() {
                let (Some(node), Ok(worker_index)) = (view.node(worker), u32::try_from(i)) else {
                    continue;
                };
                let results = self.results(node, view.height, now_ms, &timings);
                let decision = decide(&node.info, &results, &at, &self.rules, &mut deactivated);
                verdicts.push(Verdict { height: q, worker: *worker, results, decision });
                if let Decision::Vote { state, reasons } = decision {
                    let subject = Subject { height: q, worker_index, worker: *worker, state };
                    let vote = Vote::sign(identity, index, &subject, reasons, &self.params);
                    casts.push(Cast { worker: *worker, vote });
                }
            }
        }
        (casts, verdicts)
    }

    /// The tests to run at the view's block, at most `budget`: the workers of the quorums this
    /// node votes on in the next 12 blocks (least recently tested first), then nodes that failed
    /// and are due for a retest, then one node at random. A node in a swarm it has been in for
    /// [`SWARM_SETTLE_BLOCKS`] gets a storage test, with a message of this node's if they share
    /// the swarm, else of another member's.
    pub fn plan(
        &self,
        view: &LedgerView,
        state: &NetworkState,
        now_ms: i64,
        budget: usize,
        rng: &mut impl RngCore,
    ) -> Vec<Test> {
        let timings = view.timings();
        let mut upcoming = BTreeSet::new();
        let soon = view.height.saturating_sub(REORG_SAFETY_BUFFER_BLOCKS)..=view.height;
        for q in soon {
            let Some(quorum) = self.quorums.get(&q) else { continue };
            if quorum.validators.contains(&self.me) {
                upcoming.extend(quorum.workers.iter().copied());
            }
        }
        let last = |id: &NodeId| self.peers.get(id).and_then(|p| p.last_tested_ms);
        let mut order: Vec<NodeId> = upcoming.into_iter().collect();
        order.sort_by_key(|id| (last(id), *id));
        let mut retests: Vec<(i64, NodeId)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.failures > 0)
            .filter_map(|(id, p)| {
                let due = p.last_tested_ms?.saturating_add(ms(timings.retest_after_ms(p.failures)));
                (due <= now_ms).then_some((due, *id))
            })
            .collect();
        retests.sort_unstable();
        order.extend(retests.into_iter().map(|(_, id)| id));
        let others: Vec<NodeId> = view.nodes().map(|n| n.id).filter(|id| *id != self.me).collect();
        if let Some(pick) = pick(&others, rng) {
            order.push(*pick);
        }
        let mut seen = BTreeSet::new();
        order
            .into_iter()
            .filter(|id| seen.insert(*id))
            .filter_map(|id| {
                let node = view.node(&id)?.record?;
                Some(Test { node, storage: self.sample_for(&id, view, state, rng) })
            })
            .take(budget)
            .collect()
    }

    fn sample_for(
        &self,
        id: &NodeId,
        view: &LedgerView,
        state: &NetworkState,
        rng: &mut impl RngCore,
    ) -> Option<Sample> {
        let peer = self.peers.get(id)?;
        let swarm = peer.swarm?;
        if peer.decommissioned || view.height < peer.swarm_since.saturating_add(SWARM_SETTLE_BLOCKS)
        {
            return None;
        }
        if state.swarm_of(&self.me) == Some(swarm) {
            return Some(Sample::Mine);
        }
        let members: Vec<&NodeRecord> =
            state.members(swarm).into_iter().filter(|m| m.id != *id).collect();
        pick(&members, rng).map(|m| Sample::From(**m))
    }
}

fn pick<'a, T>(items: &'a [T], rng: &mut impl RngCore) -> Option<&'a T> {
    let n = u64::try_from(items.len()).ok().filter(|n| *n > 0)?;
    items.get(usize::try_from(rng.next_u64() % n).ok()?)
}

/// Whether a sampled message can test `node`: its account belongs to the node's swarm in
/// `state`, and it is older than `min_age_ms` (replicated by now) at `now_ms`.
pub fn sample_fits(
    message: &Message,
    node: &NodeId,
    state: &NetworkState,
    now_ms: i64,
    min_age_ms: u64,
) -> bool {
    let account = message.pubkey.to_bytes();
    state.swarm_for(&account).is_some_and(|s| state.swarm_of(node) == Some(s))
        && message.timestamp <= now_ms.saturating_sub(ms(min_age_ms))
        && message.expiry > now_ms
}

/// The storage test's request: `{"hash"}`.
pub fn storage_test_body(hash: &str) -> Vec<u8> {
    json!({"hash": hash}).to_string().into_bytes()
}

/// Reads a storage test's request: the hash asked for.
///
/// # Errors
/// [`Error::BadRequest`] unless it is `{"hash": <43 base64 characters>}`.
pub fn read_storage_test(body: &[u8]) -> Result<String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&format!("not JSON: {e}")))?;
    v.get("hash")
        .and_then(Value::as_str)
        .filter(|h| {
            h.len() == 43 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        })
        .map(str::to_owned)
        .ok_or_else(|| bad("\"hash\" must be a message hash"))
}

/// The tested node's answer: the message's bytes if it holds it.
pub fn storage_test_answer(data: Option<&[u8]>) -> Value {
    use base64::Engine as _;
    match data {
        Some(d) => {
            json!({"status": "OK", "data": base64::engine::general_purpose::STANDARD.encode(d)})
        }
        None => json!({"status": "missing"}),
    }
}

/// The tester's reading of the answer: whether it is `expected`'s bytes.
pub fn storage_test_passed(answer: &[u8], expected: &[u8]) -> bool {
    use base64::Engine as _;
    let v: Value = serde_json::from_slice(answer).unwrap_or_default();
    v.get("status").and_then(Value::as_str) == Some("OK")
        && v.get("data")
            .and_then(Value::as_str)
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
            .is_some_and(|d| d == expected)
}

/// A ping's answer: the answering node's key (the tester checks it is the node it meant).
pub fn ping_answer(me: &NodeId) -> Value {
    json!({"pubkey_ed25519": me.to_string()})
}

/// Whether a ping's answer is `node`'s.
pub fn ping_passed(answer: &[u8], node: &NodeId) -> bool {
    let v: Value = serde_json::from_slice(answer).unwrap_or_default();
    v.get("pubkey_ed25519").and_then(Value::as_str) == Some(&node.to_string())
}

/// Votes to send: `{"votes": [{"height", "worker_index", "state", "reasons", "validator_index",
/// "signature", "ledger_signature"}…]}` (signatures in hex, the ledger's `null` for an IP-change
/// penalty).
pub fn votes_body(votes: &[Vote]) -> Vec<u8> {
    let list: Vec<Value> = votes
        .iter()
        .map(|v| {
            json!({
                "height": v.height,
                "worker_index": v.worker_index,
                "state": v.state.to_u16(),
                "reasons": v.reasons.bits(),
                "validator_index": v.validator_index,
                "signature": hex::encode(v.signature),
                "ledger_signature": v.ledger_signature.map(hex::encode),
            })
        })
        .collect();
    json!({"votes": list}).to_string().into_bytes()
}

/// Reads [`votes_body`].
///
/// # Errors
/// [`Error::BadRequest`] naming the vote and field, or for more than
/// [`MAX_VOTES_PER_REQUEST`] votes.
pub fn read_votes(body: &[u8]) -> Result<Vec<Vote>> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let list = v.get("votes").and_then(Value::as_array).ok_or_else(|| bad("no \"votes\" list"))?;
    if list.len() > MAX_VOTES_PER_REQUEST {
        return Err(bad(&format!("more than {MAX_VOTES_PER_REQUEST} votes")));
    }
    list.iter()
        .enumerate()
        .map(|(k, v)| read_vote(v).map_err(|why| bad(&format!("vote {k}: {why}"))))
        .collect()
}

fn read_vote(v: &Value) -> core::result::Result<Vote, String> {
    let u =
        |key: &str| v.get(key).and_then(Value::as_u64).ok_or(format!("\"{key}\" is not a number"));
    let sig = |s: &str| -> Option<[u8; 64]> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(s, &mut out).ok().map(|()| out)
    };
    let state = u16::try_from(u("state")?).map_err(|_| "bad \"state\"")?;
    Ok(Vote {
        height: u("height")?,
        worker_index: u32::try_from(u("worker_index")?).map_err(|_| "bad \"worker_index\"")?,
        state: StateChange::from_u16(state).map_err(|e| e.to_string())?,
        reasons: Reasons::from_bits(u16::try_from(u("reasons")?).map_err(|_| "bad \"reasons\"")?),
        validator_index: u16::try_from(u("validator_index")?)
            .map_err(|_| "bad \"validator_index\"")?,
        signature: v
            .get("signature")
            .and_then(Value::as_str)
            .and_then(sig)
            .ok_or("bad \"signature\"")?,
        ledger_signature: match v.get("ledger_signature") {
            None | Some(Value::Null) => None,
            Some(s) => Some(s.as_str().and_then(sig).ok_or("bad \"ledger_signature\"")?),
        },
    })
}

/// Why a node refused a vote (nothing changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VoteRefusal {
    /// Its signatures are not its validator's.
    Forged,
    /// Its validator already voted the same.
    Duplicate,
    /// Its quorum is past the vote lifetime.
    Late,
    /// It comes from a node that is not a validator of its quorum.
    NonMember,
    /// No quorum of its height (above the node's height, or not kept), or no such worker
    /// there.
    WrongHeight,
}

impl VoteRefusal {
    /// Its name: `forged`, `duplicate`, `late`, `non_member`, `wrong_height`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Forged => "forged",
            Self::Duplicate => "duplicate",
            Self::Late => "late",
            Self::NonMember => "non_member",
            Self::WrongHeight => "wrong_height",
        }
    }

    /// The refusal a tally's error is.
    pub fn of(e: &sesh_quorum::Error) -> Self {
        use sesh_quorum::Error as E;
        match e {
            E::DuplicateVote { .. } => Self::Duplicate,
            E::VoteTooLate { .. } => Self::Late,
            E::NotAValidator { .. } => Self::NonMember,
            E::VoteFromFuture { .. } | E::WrongHeight { .. } | E::WorkerOutOfRange { .. } => {
                Self::WrongHeight
            }
            _ => Self::Forged,
        }
    }
}

impl core::fmt::Display for VoteRefusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A node's tally: the obligations quorum of each recent block, and the votes on them until
/// enough agree (every node keeps its own, of the votes sent to it). A vote is refused ([`Error::VoteRefused`]) unless it is for a kept quorum
/// within the vote lifetime, sent by one of its validators, signed by the validator it names,
/// and the first of that validator on that state change; a refused vote changes nothing.
#[derive(Clone, Debug, Default)]
pub struct Ballot {
    quorums: BTreeMap<u64, Quorum>,
    pool: sesh_quorum::VotePool,
    keys: BTreeSet<(u64, u32, StateChange)>,
}

impl Ballot {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the quorum of the block at `height`, and forgets quorums and tallies whose votes
    /// no longer count.
    pub fn close_block(&mut self, height: u64, quorum: Quorum, params: &Params) {
        self.quorums.insert(height, quorum);
        let keep_from = height.saturating_sub(params.vote_window_blocks);
        self.quorums.retain(|h, _| *h >= keep_from);
        self.pool.prune(height);
        let pool = &self.pool;
        self.keys.retain(|(h, w, s)| pool.tally(*h, *w, *s).is_some());
    }

    /// The quorum of `height`, if kept.
    pub fn quorum(&self, height: u64) -> Option<&Quorum> {
        self.quorums.get(&height)
    }

    /// Counts `vote`, sent by `from`, at `height`.
    ///
    /// # Errors
    /// [`Error::VoteRefused`]: why; nothing changed.
    pub fn vote(
        &mut self,
        from: &NodeId,
        vote: &Vote,
        height: u64,
        params: &Params,
    ) -> Result<sesh_quorum::Status> {
        let refuse = |kind: VoteRefusal, why: String| Err(Error::VoteRefused { kind, why });
        if vote.height > height {
            return refuse(
                VoteRefusal::WrongHeight,
                format!("a vote on height {} at height {height}", vote.height),
            );
        }
        if height >= vote.height.saturating_add(params.vote_window_blocks) {
            let e = sesh_quorum::Error::VoteTooLate {
                vote_height: vote.height,
                height,
                lifetime: params.vote_window_blocks,
            };
            return refuse(VoteRefusal::Late, e.to_string());
        }
        let Some(quorum) = self.quorums.get(&vote.height) else {
            return refuse(
                VoteRefusal::WrongHeight,
                format!("no quorum of height {} is kept", vote.height),
            );
        };
        if !quorum.validators.contains(from) {
            return refuse(
                VoteRefusal::NonMember,
                format!("{from} is not a validator of the quorum of height {}", vote.height),
            );
        }
        match self.pool.add(vote, &quorum.validators, &quorum.workers, height, params) {
            Ok(status) => {
                self.keys.insert((vote.height, vote.worker_index, vote.state));
                Ok(status)
            }
            Err(e) => refuse(VoteRefusal::of(&e), e.to_string()),
        }
    }

    /// Takes out every decided state change.
    pub fn take_decided(&mut self) -> Vec<sesh_quorum::Decided> {
        let decided: Vec<_> = self.pool.decided().collect();
        for d in &decided {
            self.pool.remove(d.height, d.worker_index, d.state);
            self.keys.remove(&(d.height, d.worker_index, d.state));
        }
        decided
    }

    /// The tallies not yet decided: `(quorum height, worker, state, votes)`.
    pub fn pending(&self) -> Vec<(u64, NodeId, StateChange, usize)> {
        self.keys
            .iter()
            .filter_map(|(h, w, s)| {
                let t = self.pool.tally(*h, *w, *s)?;
                Some((*h, t.worker(), *s, t.votes()))
            })
            .collect()
    }
}

/// The JSON of pending tallies.
pub fn pending_json(pending: &[(u64, NodeId, StateChange, usize)]) -> Value {
    let list: Vec<Value> = pending
        .iter()
        .map(|(h, w, s, n)| json!({"height": h, "worker": w.to_string(), "state": s.name(), "votes": n}))
        .collect();
    Value::Array(list)
}

/// Voters of a decision (the first, by validator index) that submit it as soon as their tally
/// reaches it.
pub const SUBMIT_AT_ONCE: usize = 2;
/// Blocks every other node that tallied a decision waits before submitting it, if the ledger
/// has not applied it by then; and between two submissions of the same decision.
pub const SUBMIT_DELAY_BLOCKS: u64 = 2;

/// What a node does with the decisions its tally reaches: it submits their transactions to the
/// ledger, avoiding needless repeats. **The rule**: the first [`SUBMIT_AT_ONCE`] voters of a
/// decision (by validator index, as [`Decided::votes`](sesh_quorum::Decided::votes) lists them)
/// submit it at once; every other node that tallied it waits [`SUBMIT_DELAY_BLOCKS`], then
/// submits it if its ledger view does not show the change (decommissioned, active again,
/// gone), and again every [`SUBMIT_DELAY_BLOCKS`] while it does not, until the ledger answers
/// (applied or refused: [`Submissions::done`]) or the votes are too old for the ledger. The
/// ledger refuses a repeat of an applied decision (the node is no longer in the state the
/// decision moves it from, or the votes predate its last change): repeats change nothing.
#[derive(Clone, Debug)]
pub struct Submissions {
    me: NodeId,
    vote_window: u64,
    waiting: BTreeMap<(u64, u32, StateChange), Waiting>,
}

#[derive(Clone, Debug)]
struct Waiting {
    tx: SignedTx,
    worker: NodeId,
    state: StateChange,
    due: u64,
}

impl Submissions {
    /// The submissions of node `me` on a network with `params`.
    pub fn new(me: NodeId, params: &Params) -> Self {
        Self { me, vote_window: params.vote_window_blocks, waiting: BTreeMap::new() }
    }

    /// Takes a decision this node's tally reached at ledger height `height` (an IP-change
    /// penalty, which the ledger has no transaction for, is dropped).
    pub fn decided(&mut self, decided: &sesh_quorum::Decided, height: u64) {
        let Some(tx) = decided.to_tx() else { return };
        let first = decided.votes.iter().take(SUBMIT_AT_ONCE).any(|v| v.validator == self.me);
        let due = if first { height } else { height.saturating_add(SUBMIT_DELAY_BLOCKS) };
        let key = (decided.height, decided.worker_index, decided.state);
        let waiting = Waiting { tx, worker: decided.worker, state: decided.state, due };
        self.waiting.entry(key).or_insert(waiting);
    }

    /// The transactions to submit at the view's block: the decisions due that the view does not
    /// show applied. Each is due again [`SUBMIT_DELAY_BLOCKS`] later unless [`Submissions::done`]
    /// is called; decisions applied, or too old for the ledger, are forgotten.
    pub fn due(&mut self, view: &LedgerView) -> Vec<((u64, u32, StateChange), SignedTx)> {
        let window = self.vote_window;
        self.waiting.retain(|(h, _, _), w| {
            let applied = match (view.node(&w.worker), w.state) {
                (None, _) => true,
                (Some(n), StateChange::Decommission) => n.info.decommissioned,
                (Some(n), StateChange::Recommission) => !n.info.decommissioned,
                _ => false,
            };
            !applied && view.height < h.saturating_add(window)
        });
        let mut out = Vec::new();
        for (key, w) in &mut self.waiting {
            if w.due <= view.height {
                w.due = view.height.saturating_add(SUBMIT_DELAY_BLOCKS);
                out.push((*key, w.tx.clone()));
            }
        }
        out
    }

    /// The ledger answered a submission (applied or refused): it is not submitted again.
    pub fn done(&mut self, key: &(u64, u32, StateChange)) {
        self.waiting.remove(key);
    }

    /// Decisions waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_timings_are_the_quorum_crates() {
        for block_ms in [0, 1, 500, 1_000, 7_919, LIVE_BLOCK_MS, 3_600_000] {
            let (ours, proof) = (Timings::scaled(block_ms), ProofTimings::scaled(block_ms));
            assert_eq!(ours.scale(UPTIME_PROOF_FREQUENCY_MS), proof.frequency_ms, "{block_ms}");
            assert_eq!(ours.startup_wait_ms(), proof.validity_ms, "{block_ms}");
        }
        assert_eq!(Timings::scaled(500).proof_frequency_blocks(), 30);
    }
}
