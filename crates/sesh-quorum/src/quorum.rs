//! The quorums oxend picks at each block, bit-exact: the obligations (state-change) quorum that
//! tests nodes, and the checkpointing, blink and pulse quorums the same code picks
//! (`generate_other_quorums`, `generate_pulse_quorum` and `make_pulse_entropy_from_blocks` in
//! oxend's `service_node_list.cpp`; `testdata/vectors/oxen/README-quorums.md` restates them).
//!
//! Mainnet rules throughout (testnet's old checkpointing soft fork is not modelled).
//!
//! ```
//! use sesh_identity::NodeId;
//! use sesh_quorum::{BlockHash, ServiceNodes, other_quorums};
//! use sesh_staking::oxen::HardFork;
//!
//! let active: Vec<NodeId> = (0..30u8).map(|k| NodeId::from_bytes([k; 32])).collect();
//! let decommissioned = [NodeId::from_bytes([0xff; 32])];
//! let nodes = ServiceNodes::new(active, decommissioned)?;
//! let hash = BlockHash::from_bytes([7; 32]);
//! // Height 1001: (1001 + 11) % 4 == 0, so a checkpointing quorum is defined; no blink quorum.
//! let quorums = other_quorums(HardFork::HF21, 1001, &hash, &nodes);
//! assert_eq!(quorums.obligations.validators.len(), 10);
//! assert_eq!(quorums.obligations.workers.len(), 21); // the other 20 active and the decommissioned one
//! assert_eq!(quorums.checkpointing.map(|q| q.validators.len()), Some(20));
//! assert!(quorums.blink.is_none());
//! # Ok::<(), sesh_quorum::Error>(())
//! ```

use core::fmt;
use core::num::NonZeroU64;
use core::ops::RangeInclusive;
use core::str::FromStr;

use sesh_identity::NodeId;
use sesh_staking::oxen::HardFork;

use crate::error::{Error, Result};
use crate::rng::{Mt19937_64, cn_fast_hash, quorum_rng, shuffle, uniform};

/// Validators of an obligations quorum (`STATE_CHANGE_QUORUM_SIZE`).
pub const STATE_CHANGE_QUORUM_SIZE: usize = 10;
/// The fewest workers an obligations quorum tests, when that many nodes are left
/// (`STATE_CHANGE_MIN_NODES_TO_TEST`).
pub const STATE_CHANGE_MIN_NODES_TO_TEST: usize = 50;
/// An obligations quorum tests at least this fraction (1/n) of the nodes that are not its
/// validators (`STATE_CHANGE_NTH_OF_THE_NETWORK_TO_TEST`).
pub const STATE_CHANGE_NTH_OF_THE_NETWORK_TO_TEST: usize = 100;
/// Validators of a checkpointing quorum, and the fewest active nodes that form one
/// (`CHECKPOINT_QUORUM_SIZE`).
pub const CHECKPOINT_QUORUM_SIZE: usize = 20;
/// Blocks between checkpoints (`CHECKPOINT_INTERVAL`).
pub const CHECKPOINT_INTERVAL: u64 = 4;
/// How far behind the checkpointed block its quorum's height is
/// (`REORG_SAFETY_BUFFER_BLOCKS_POST_HF12`).
pub const REORG_SAFETY_BUFFER_BLOCKS_POST_HF12: u64 = 11;
/// Blocks between blink quorums (`BLINK_QUORUM_INTERVAL`).
pub const BLINK_QUORUM_INTERVAL: u64 = 5;
/// A node whose stake unlocks within this many blocks of the quorum height is left out of the
/// blink quorum (`BLINK_EXPIRY_BUFFER`).
pub const BLINK_EXPIRY_BUFFER: u64 = 45;
/// The fewest eligible nodes that form a blink quorum (`BLINK_MIN_VOTES`).
pub const BLINK_MIN_VOTES: usize = 7;
/// Validators of a blink quorum (`BLINK_SUBQUORUM_SIZE`).
pub const BLINK_SUBQUORUM_SIZE: usize = 10;
/// The fewest active nodes that form a pulse quorum (mainnet `PULSE_MIN_SERVICE_NODES`).
pub const PULSE_MIN_SERVICE_NODES: usize = 50;
/// Validators of a pulse quorum (`PULSE_QUORUM_NUM_VALIDATORS`).
pub const PULSE_QUORUM_NUM_VALIDATORS: usize = 11;
/// Entropy blocks of a pulse quorum: one per validator and one for a backup round's producer
/// (`PULSE_QUORUM_SIZE`).
pub const PULSE_ENTROPY_BLOCKS: usize = PULSE_QUORUM_NUM_VALIDATORS + 1;
/// How far behind the chain tip pulse entropy starts (`PULSE_QUORUM_ENTROPY_LAG`).
pub const PULSE_QUORUM_ENTROPY_LAG: u64 = 21;

/// A block's hash (oxend's `crypto::hash`). Written as 64 lowercase hex digits, as oxend's RPC
/// writes it; read from hex in either case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockHash([u8; 32]);

impl BlockHash {
    /// The hash with these bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Its bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Its bytes, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl From<[u8; 32]> for BlockHash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockHash({self})")
    }
}

impl FromStr for BlockHash {
    type Err = Error;

    /// # Errors
    /// [`Error::InvalidBlockHash`] unless `s` is 64 hex digits.
    fn from_str(s: &str) -> Result<Self> {
        if s.len() != 64 {
            return Err(Error::InvalidBlockHash { why: "it is not 64 characters long" });
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes)
            .map_err(|_| Error::InvalidBlockHash { why: "it is not hex" })?;
        Ok(Self(bytes))
    }
}

/// oxend's quorum types; the value seeds [`quorum_rng`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum QuorumType {
    /// The state-change quorum: validators test workers and vote on their state.
    Obligations = 0,
    /// Checkpointing validators (from HF13).
    Checkpointing = 1,
    /// Blink validators (from HF14).
    Blink = 2,
    /// The pulse quorum producing a block (from HF16).
    Pulse = 3,
}

impl QuorumType {
    /// Whether oxend defines quorums of this type at hard fork `hf` (`max_quorum_type_for_hf`).
    pub fn exists_at(self, hf: HardFork) -> bool {
        let max = if hf <= HardFork::HF12 {
            Self::Obligations
        } else if hf < HardFork(14) {
            Self::Checkpointing
        } else if hf < HardFork::HF16 {
            Self::Blink
        } else {
            Self::Pulse
        };
        self <= max
    }
}

/// A quorum: the nodes that vote and the nodes they vote on (for an obligations quorum, the
/// nodes tested; for pulse, the block producer; empty for checkpointing and blink).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quorum {
    /// The validators, in order (a vote names its validator by this index).
    pub validators: Vec<NodeId>,
    /// The workers, in order (a state-change vote names its worker by this index).
    pub workers: Vec<NodeId>,
}

/// The registered, fully funded nodes at a block, as the quorums see them: the active nodes
/// (each with the height its stake is due to unlock, if an unlock was requested) and the
/// decommissioned ones, each list in key order with no node twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceNodes {
    active: Vec<NodeId>,
    /// `requested_unlock_height` of `active[i]`; 0 for none, as oxend stores it.
    unlock_heights: Vec<u64>,
    decommissioned: Vec<NodeId>,
}

impl ServiceNodes {
    /// The active and the decommissioned nodes, in any order (they are put in key order).
    ///
    /// # Errors
    /// [`Error::DuplicateNode`] for a node listed twice, in one list or both.
    pub fn new(
        active: impl IntoIterator<Item = NodeId>,
        decommissioned: impl IntoIterator<Item = NodeId>,
    ) -> Result<Self> {
        let active = sorted_unique(active)?;
        let decommissioned = sorted_unique(decommissioned)?;
        if let Some(node) = decommissioned.iter().find(|node| active.binary_search(node).is_ok()) {
            return Err(Error::DuplicateNode { node: *node });
        }
        let unlock_heights = vec![0; active.len()];
        Ok(Self { active, unlock_heights, decommissioned })
    }

    /// Records that active node `node` has asked to unlock its stake, which unlocks at
    /// `height` (`requested_unlock_height`): the blink quorum leaves it out from
    /// [`BLINK_EXPIRY_BUFFER`] blocks before.
    ///
    /// # Errors
    /// [`Error::NotActive`] if `node` is not one of the active nodes.
    pub fn set_unlock_height(&mut self, node: &NodeId, height: NonZeroU64) -> Result<()> {
        let slot = self
            .active
            .binary_search(node)
            .ok()
            .and_then(|i| self.unlock_heights.get_mut(i))
            .ok_or(Error::NotActive { node: *node })?;
        *slot = height.get();
        Ok(())
    }

    /// The active nodes, in key order.
    pub fn active(&self) -> &[NodeId] {
        &self.active
    }

    /// The decommissioned nodes, in key order.
    pub fn decommissioned(&self) -> &[NodeId] {
        &self.decommissioned
    }

    /// The height active node `node` unlocks at, if it asked to.
    pub fn unlock_height(&self, node: &NodeId) -> Option<NonZeroU64> {
        let i = self.active.binary_search(node).ok()?;
        NonZeroU64::new(*self.unlock_heights.get(i)?)
    }
}

fn sorted_unique(nodes: impl IntoIterator<Item = NodeId>) -> Result<Vec<NodeId>> {
    let mut nodes: Vec<NodeId> = nodes.into_iter().collect();
    nodes.sort_unstable();
    let twice = nodes.windows(2).find_map(|pair| match pair {
        [a, b] if a == b => Some(*a),
        _ => None,
    });
    match twice {
        Some(node) => Err(Error::DuplicateNode { node }),
        None => Ok(nodes),
    }
}

/// The quorums oxend picks at the end of each block (`generate_other_quorums`): the pulse quorum
/// is picked before the block instead, by [`pulse_quorum`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtherQuorums {
    /// The obligations (state-change) quorum, defined at every block.
    pub obligations: Quorum,
    /// The checkpointing quorum: `None` where none is defined (before HF13, or a height with
    /// `(height + 11) % 4 != 0`); empty validators with fewer than 20 active nodes.
    pub checkpointing: Option<Quorum>,
    /// The blink quorum: `None` where none is defined (before HF14, or a height not a multiple
    /// of 5); empty validators with fewer than 7 eligible nodes.
    pub blink: Option<Quorum>,
}

/// Every quorum oxend picks at the end of block `height` (hash `hash`, hard fork `hf`).
pub fn other_quorums(
    hf: HardFork,
    height: u64,
    hash: &BlockHash,
    nodes: &ServiceNodes,
) -> OtherQuorums {
    OtherQuorums {
        obligations: obligations_quorum(hf, hash, nodes),
        checkpointing: checkpointing_quorum(hf, height, hash, nodes),
        blink: blink_quorum(hf, height, hash, nodes),
    }
}

/// The obligations quorum of a block: up to 10 active validators, then the workers they test,
/// `min(rest, max(50, rest / 100))` of the other nodes, active or decommissioned.
///
/// The list `active ++ decommissioned` is shuffled with
/// [`quorum_rng`]; with both kinds of node present, the active part is
/// shuffled first (so validators are active) and the part after the validators is shuffled with
/// a copy of the generator. Before HF12 decommissioned nodes do not exist and are ignored.
pub fn obligations_quorum(hf: HardFork, hash: &BlockHash, nodes: &ServiceNodes) -> Quorum {
    let active = nodes.active.len();
    let decommissioned = if hf >= HardFork::HF12 { nodes.decommissioned.as_slice() } else { &[] };
    let total = active + decommissioned.len();
    let validators = active.min(STATE_CHANGE_QUORUM_SIZE);

    let mut rng = quorum_rng(hf, hash.as_bytes(), QuorumType::Obligations);
    let mut order: Vec<usize> = (0..total).collect();
    if 0 < validators && validators < total && 0 < active && active < total {
        let mut copy = rng.clone();
        if let Some(head) = order.get_mut(..active) {
            shuffle(head, &mut rng);
        }
        if let Some(tail) = order.get_mut(validators..) {
            shuffle(tail, &mut copy);
        }
    } else {
        shuffle(&mut order, &mut rng);
    }

    let rest = total - validators;
    let workers = rest
        .min(STATE_CHANGE_MIN_NODES_TO_TEST.max(rest / STATE_CHANGE_NTH_OF_THE_NETWORK_TO_TEST));
    let node = |i: &usize| match i.checked_sub(active) {
        None => nodes.active.get(*i).copied(),
        Some(j) => decommissioned.get(j).copied(),
    };
    Quorum {
        validators: order.iter().take(validators).filter_map(node).collect(),
        workers: order.iter().skip(validators).take(workers).filter_map(node).collect(),
    }
}

/// The checkpointing quorum of block `height`, if one is defined there: from HF13, at heights
/// 11 blocks before a multiple of 4. It is the first 20 of the shuffled active nodes, or empty
/// with fewer than 20.
pub fn checkpointing_quorum(
    hf: HardFork,
    height: u64,
    hash: &BlockHash,
    nodes: &ServiceNodes,
) -> Option<Quorum> {
    if !QuorumType::Checkpointing.exists_at(hf)
        || !height
            .wrapping_add(REORG_SAFETY_BUFFER_BLOCKS_POST_HF12)
            .is_multiple_of(CHECKPOINT_INTERVAL)
    {
        return None;
    }
    let mut quorum = Quorum::default();
    if nodes.active.len() >= CHECKPOINT_QUORUM_SIZE {
        let mut rng = quorum_rng(hf, hash.as_bytes(), QuorumType::Checkpointing);
        quorum.validators = shuffled_prefix(&nodes.active, &mut rng, CHECKPOINT_QUORUM_SIZE);
    }
    Some(quorum)
}

/// The blink quorum of block `height`, if one is defined there: from HF14, at multiples of 5.
/// The active nodes not due to unlock within 45 blocks are shuffled and the first 10 are the
/// validators, or none with fewer than 7 such nodes.
pub fn blink_quorum(
    hf: HardFork,
    height: u64,
    hash: &BlockHash,
    nodes: &ServiceNodes,
) -> Option<Quorum> {
    if !QuorumType::Blink.exists_at(hf) || !height.is_multiple_of(BLINK_QUORUM_INTERVAL) {
        return None;
    }
    let active_until = height.wrapping_add(BLINK_EXPIRY_BUFFER);
    let eligible: Vec<NodeId> = nodes
        .active
        .iter()
        .zip(&nodes.unlock_heights)
        .filter(|(_, unlock)| **unlock == 0 || **unlock > active_until)
        .map(|(node, _)| *node)
        .collect();
    let mut quorum = Quorum::default();
    if eligible.len() >= BLINK_MIN_VOTES {
        let mut rng = quorum_rng(hf, hash.as_bytes(), QuorumType::Blink);
        quorum.validators = shuffled_prefix(&eligible, &mut rng, BLINK_SUBQUORUM_SIZE);
    }
    Some(quorum)
}

/// The first `n` of `nodes` after `shuffle_portable`.
fn shuffled_prefix(nodes: &[NodeId], rng: &mut Mt19937_64, n: usize) -> Vec<NodeId> {
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    shuffle(&mut order, rng);
    order.iter().take(n).filter_map(|i| nodes.get(*i).copied()).collect()
}

/// One block of pulse entropy, as oxend reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntropyBlock {
    /// A block produced by a pulse quorum: its `pulse.random_value`.
    Pulse {
        /// The 16 random bytes the block's producer revealed.
        random_value: [u8; 16],
    },
    /// Any other block (mined): its hash.
    NonPulse {
        /// The block's hash.
        hash: BlockHash,
    },
}

/// The entropy of a pulse round: one hash per entropy block, `cn_fast_hash(round ‖ value)`
/// (`make_pulse_entropy_from_blocks`). The first seeds a backup round's choice of producer,
/// the others one validator each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PulseEntropy([[u8; 32]; PULSE_ENTROPY_BLOCKS]);

impl PulseEntropy {
    /// The entropy of round `round` from the 12 entropy blocks, oldest first (the blocks at
    /// [`pulse_entropy_heights`]).
    pub fn from_blocks(blocks: &[EntropyBlock; PULSE_ENTROPY_BLOCKS], round: u8) -> Self {
        Self(blocks.map(|block| {
            let mut input = [0u8; 33];
            input[0] = round;
            let len = match block {
                EntropyBlock::Pulse { random_value } => {
                    input[1..17].copy_from_slice(&random_value);
                    17
                }
                EntropyBlock::NonPulse { hash } => {
                    input[1..].copy_from_slice(hash.as_bytes());
                    33
                }
            };
            cn_fast_hash(input.get(..len).unwrap_or(&input))
        }))
    }

    /// The entropy from its hashes.
    pub const fn from_hashes(hashes: [[u8; 32]; PULSE_ENTROPY_BLOCKS]) -> Self {
        Self(hashes)
    }

    /// Its hashes, in order.
    pub const fn hashes(&self) -> &[[u8; 32]; PULSE_ENTROPY_BLOCKS] {
        &self.0
    }
}

/// The heights of the entropy blocks for the block after chain tip `tip`:
/// `tip − 21 ..= tip − 10`, oldest first (`get_pulse_entropy_for_next_block`); `None` while the
/// chain is shorter than 21 blocks.
pub fn pulse_entropy_heights(tip: u64) -> Option<RangeInclusive<u64>> {
    let start = tip.checked_sub(PULSE_QUORUM_ENTROPY_LAG)?;
    Some(start..=start + (PULSE_ENTROPY_BLOCKS as u64 - 1))
}

/// An active node as the pulse quorum sorts it (oxend's `pulse_sort_key`): the node that has gone
/// longest without validating comes first, then by its index in that quorum, then by key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PulseCandidate {
    /// The node.
    pub node: NodeId,
    /// The last height at which it was a pulse validator (0 if never).
    pub last_height_validating: u64,
    /// Its validator index in that quorum.
    pub quorum_index: u8,
}

impl PulseCandidate {
    /// A node that has never validated.
    pub const fn new(node: NodeId) -> Self {
        Self { node, last_height_validating: 0, quorum_index: 0 }
    }

    /// `pulse_sorter` order, ties broken by key.
    fn order(&self, other: &Self) -> core::cmp::Ordering {
        (self.last_height_validating, self.quorum_index)
            .cmp(&(other.last_height_validating, other.quorum_index))
            .then_with(|| self.node.cmp(&other.node))
    }
}

/// A pulse quorum: the block producer and its 11 validators. The producer is never a validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PulseQuorum {
    producer: NodeId,
    validators: [NodeId; PULSE_QUORUM_NUM_VALIDATORS],
}

impl PulseQuorum {
    /// The node that produces the block.
    pub const fn producer(&self) -> &NodeId {
        &self.producer
    }

    /// The validators, in order (`quorum_index` is the position).
    pub const fn validators(&self) -> &[NodeId; PULSE_QUORUM_NUM_VALIDATORS] {
        &self.validators
    }

    /// As oxend stores it: the validators, and the producer as the one worker.
    pub fn to_quorum(&self) -> Quorum {
        Quorum { validators: self.validators.to_vec(), workers: vec![self.producer] }
    }
}

/// The pulse quorum for round `round` of the next block (`generate_pulse_quorum`): `None` with
/// fewer than 50 active nodes.
///
/// `leader` is the round-0 producer, the next node in oxend's block-leader queue (which need not
/// be active). The candidates are the active nodes (minus the leader in round 0), in
/// [`PulseCandidate`] order. In a backup round (`round > 0`) the producer is drawn from them
/// with the first entropy hash. Validator `i` is then drawn from the next `(len − 1) / 2`
/// candidates with entropy hash `i + 1`.
///
/// # Errors
/// [`Error::DuplicateNode`] if a node is listed twice in `active`.
pub fn pulse_quorum(
    hf: HardFork,
    round: u8,
    leader: &NodeId,
    active: &[PulseCandidate],
    entropy: &PulseEntropy,
) -> Result<Option<PulseQuorum>> {
    sorted_unique(active.iter().map(|candidate| candidate.node))?;
    if active.len() < PULSE_MIN_SERVICE_NODES {
        return Ok(None);
    }
    let [producer_entropy, validator_entropy @ ..] = entropy.hashes();
    let mut candidates: Vec<PulseCandidate> =
        active.iter().filter(|c| round > 0 || c.node != *leader).copied().collect();
    candidates.sort_unstable_by(PulseCandidate::order);

    let producer = if round == 0 {
        *leader
    } else {
        let mut rng = quorum_rng(hf, producer_entropy, QuorumType::Pulse);
        let index = uniform(&mut rng, candidates.len() as u64);
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        if index >= candidates.len() {
            return Ok(None);
        }
        candidates.remove(index).node
    };

    let window = candidates.len().saturating_sub(1) / 2;
    if window > 0 {
        for (i, hash) in validator_entropy.iter().enumerate() {
            let mut rng = quorum_rng(hf, hash, QuorumType::Pulse);
            let available = candidates.len().saturating_sub(i);
            let offset = uniform(&mut rng, window.min(available) as u64);
            let offset = usize::try_from(offset).unwrap_or(0);
            if i + offset < candidates.len() {
                candidates.swap(i, i + offset);
            }
        }
    }
    let validators: Vec<NodeId> =
        candidates.iter().take(PULSE_QUORUM_NUM_VALIDATORS).map(|c| c.node).collect();
    Ok(validators.try_into().ok().map(|validators| PulseQuorum { producer, validators }))
}
