//! State-change votes: what an obligations-quorum validator signs about one of the quorum's
//! workers, byte for byte as oxend hashes it.
//!
//! A vote names the quorum by its height, the worker by its index in the quorum's workers, the
//! new state, and the validator by its index in the quorum's validators. What is signed is
//! oxend's `make_state_change_vote_hash`: Keccak-256 (`cn_fast_hash`, the original padding) of
//! `height (u64 LE) ‖ worker index (u32 LE) ‖ state (u16 LE)`, with the state left out for a
//! deregistration (12 bytes instead of 14, as pre-v12 votes were). The reasons, and the quorum
//! group and index, are not signed, as in oxend.
//!
//! **The signature differs from the live network's.** oxend signs the hash with a CryptoNote
//! Schnorr signature (`crypto::generate_signature`, a random nonce) under the node's legacy
//! key; sesh nodes have Ed25519 keys ([`NodeId`]), so a sesh vote is an Ed25519 signature
//! ([`Identity::sign`]) over the same 32 bytes. The hash is the live one; the signature bytes
//! cannot be.
//!
//! A vote for a decommission, recommission or deregistration carries a second Ed25519
//! signature, over the staking ledger's vote message
//! ([`QuorumDecision::vote_message`]: network id, decision kind, the worker's id and the
//! height). The ledger does not know which nodes each height's quorum drew, so it checks that
//! message, which names the node; the live hash names the worker only by its index in a quorum
//! the ledger cannot see. With both, a [`Tally`](crate::tally::Tally) that reaches a decision
//! hands the ledger a transaction it accepts ([`Decided::to_tx`](crate::tally::Decided::to_tx)).
//! An IP-change penalty has no ledger transaction (sesh has no block-leader queue for it to
//! move a node in), so its votes carry no second signature.
//!
//! ```
//! use sesh_identity::{Identity, NodeId, Seed};
//! use sesh_quorum::vote::{Reasons, StateChange, Subject, Vote, vote_hash};
//! use sesh_staking::Params;
//!
//! // The live bytes: height 80, worker 239711123, decommission.
//! assert_eq!(
//!     hex::encode(vote_hash(80, 239_711_123, StateChange::Decommission)),
//!     "7a3896df85d009b8a48cf0b44d7a901fd94c7da4f8384acbc498efccdf90b10a"
//! );
//!
//! let params = Params::testnet(1_000);
//! let validator = Identity::from_seed(&Seed::from_bytes([1; 32]));
//! let worker = NodeId::from_bytes([7; 32]);
//! let subject = Subject { height: 80, worker_index: 3, worker, state: StateChange::Decommission };
//! let vote = Vote::sign(&validator, 4, &subject, Reasons::UPTIME | Reasons::STORAGE, &params);
//! assert!(vote.verify(&NodeId::from_identity(&validator), &worker, &params).is_ok());
//! assert!(vote.verify(&worker, &worker, &params).is_err());
//! ```

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

use sesh_identity::{Identity, NodeId, Signature};
use sesh_staking::Params;
use sesh_staking::tx::{DecisionKind, QuorumDecision};

use crate::error::{Error, Result};
use crate::rng::cn_fast_hash;

/// The state a vote moves a worker to: oxend's `new_state`, with its numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum StateChange {
    /// Remove the node for good (0).
    Deregister = 0,
    /// Take it out of service for a while (1).
    Decommission = 1,
    /// Bring a decommissioned node back (2).
    Recommission = 2,
    /// Move it to the back of the block-leader queue: it used more than one IP address (3).
    IpChangePenalty = 3,
}

impl StateChange {
    /// Every state change, in number order.
    pub const ALL: [Self; 4] =
        [Self::Deregister, Self::Decommission, Self::Recommission, Self::IpChangePenalty];

    /// Its number (`new_state`'s value).
    pub const fn to_u16(self) -> u16 {
        self as u16
    }

    /// The state change with number `state`.
    ///
    /// # Errors
    /// [`Error::UnknownState`] for a number above 3.
    pub const fn from_u16(state: u16) -> Result<Self> {
        Ok(match state {
            0 => Self::Deregister,
            1 => Self::Decommission,
            2 => Self::Recommission,
            3 => Self::IpChangePenalty,
            _ => return Err(Error::UnknownState { state }),
        })
    }

    /// oxend's name for it (`deregister`, `decommission`, `recommission`, `ip_change_penalty`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Deregister => "deregister",
            Self::Decommission => "decommission",
            Self::Recommission => "recommission",
            Self::IpChangePenalty => "ip_change_penalty",
        }
    }

    /// The staking ledger's transaction for it; `None` for the IP-change penalty, which the
    /// ledger has no queue to apply to.
    pub const fn ledger_kind(self) -> Option<DecisionKind> {
        match self {
            Self::Deregister => Some(DecisionKind::Deregister),
            Self::Decommission => Some(DecisionKind::Decommission),
            Self::Recommission => Some(DecisionKind::Recommission),
            Self::IpChangePenalty => None,
        }
    }
}

impl TryFrom<u16> for StateChange {
    type Error = Error;
    fn try_from(state: u16) -> Result<Self> {
        Self::from_u16(state)
    }
}

impl fmt::Display for StateChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a validator votes against a node: oxend's `Decommission_Reason` bits. Any `u16` is kept
/// as it is (oxend does not check the bits of a vote's reason, which is not signed).
///
/// ```
/// use sesh_quorum::vote::Reasons;
///
/// let reasons = Reasons::UPTIME | Reasons::STORAGE;
/// assert_eq!(reasons.bits(), 9);
/// assert_eq!(reasons.names().collect::<Vec<_>>(), ["uptime", "storage"]);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reasons(u16);

impl Reasons {
    /// No reason (the reason of a recommission or an IP-change penalty).
    pub const NONE: Self = Self(0);
    /// Missed uptime proofs (`missed_uptime_proof`, 1).
    pub const UPTIME: Self = Self(1);
    /// Missed checkpoint votes (`missed_checkpoints`, 2).
    pub const CHECKPOINTS: Self = Self(1 << 1);
    /// Missed pulse participation (`missed_pulse_participations`, 4).
    pub const PULSE: Self = Self(1 << 2);
    /// Storage server unreachable (`storage_server_unreachable`, 8).
    pub const STORAGE: Self = Self(1 << 3);
    /// Did not answer timestamp checks (`timestamp_response_unreachable`, 16).
    pub const TIMESTAMP: Self = Self(1 << 4);
    /// Clock out of sync (`timesync_status_out_of_sync`, 32).
    pub const TIMESYNC: Self = Self(1 << 5);
    /// Lokinet (session-router) unreachable (`lokinet_unreachable`, 64).
    pub const LOKINET: Self = Self(1 << 6);
    /// Its proofs' L2 height is too far behind (`l2_height_out_of_sync`, 128).
    pub const L2_HEIGHT: Self = Self(1 << 7);
    /// An HF21 node that did not make the transition (`failed_transition`, 256).
    pub const FAILED_TRANSITION: Self = Self(1 << 8);

    /// The named bits, lowest first, with oxend's codes (`coded_reasons`).
    const NAMED: [(Self, &'static str); 9] = [
        (Self::UPTIME, "uptime"),
        (Self::CHECKPOINTS, "checkpoints"),
        (Self::PULSE, "pulse"),
        (Self::STORAGE, "storage"),
        (Self::TIMESTAMP, "timecheck"),
        (Self::TIMESYNC, "timesync"),
        (Self::LOKINET, "lokinet"),
        (Self::L2_HEIGHT, "l2"),
        (Self::FAILED_TRANSITION, "hf21_transition"),
    ];

    /// The reasons with these bits.
    pub const fn from_bits(bits: u16) -> Self {
        Self(bits)
    }

    /// The bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// No bit set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Every bit of `other` is set here.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// oxend's code for each named bit set (`uptime`, `storage`, …), lowest bit first.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMED.into_iter().filter(move |(bit, _)| self.contains(*bit)).map(|(_, name)| name)
    }
}

impl BitOr for Reasons {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Reasons {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Reasons {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl fmt::Debug for Reasons {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reasons({:#x}", self.0)?;
        for name in self.names() {
            write!(f, " {name}")?;
        }
        f.write_str(")")
    }
}

/// The bytes oxend hashes for a vote: `height (u64 LE) ‖ worker index (u32 LE) ‖ state (u16
/// LE)`, without the state for a deregistration (12 bytes; 14 otherwise).
pub fn vote_signed_bytes(height: u64, worker_index: u32, state: StateChange) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(14);
    bytes.extend_from_slice(&height.to_le_bytes());
    bytes.extend_from_slice(&worker_index.to_le_bytes());
    if state != StateChange::Deregister {
        bytes.extend_from_slice(&state.to_u16().to_le_bytes());
    }
    bytes
}

/// What a validator signs: oxend's `make_state_change_vote_hash`, Keccak-256 with the original
/// padding (`cn_fast_hash`) of [`vote_signed_bytes`].
pub fn vote_hash(height: u64, worker_index: u32, state: StateChange) -> [u8; 32] {
    cn_fast_hash(&vote_signed_bytes(height, worker_index, state))
}

/// What a vote is about: the worker at `worker_index` of the obligations quorum of `height`
/// (the node `worker`), and the state it should move to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The quorum's height (oxend's `block_height` of the vote).
    pub height: u64,
    /// The worker's index in the quorum's workers.
    pub worker_index: u32,
    /// The worker itself (`workers[worker_index]`), which the ledger's message names.
    pub worker: NodeId,
    /// The new state.
    pub state: StateChange,
}

/// One validator's signed vote.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vote {
    /// The quorum's height.
    pub height: u64,
    /// The worker's index in the quorum's workers (oxend keeps a `u16` in a vote and a `u32` in
    /// a transaction; the hash takes a `u32`).
    pub worker_index: u32,
    /// The new state.
    pub state: StateChange,
    /// Why (not signed, as in oxend).
    pub reasons: Reasons,
    /// The validator's index in the quorum's validators (oxend's `index_in_group`).
    pub validator_index: u16,
    /// The validator's Ed25519 signature over [`vote_hash`].
    pub signature: [u8; 64],
    /// The validator's Ed25519 signature over the ledger's
    /// [`QuorumDecision::vote_message`] for this decision; `None` for an IP-change penalty.
    pub ledger_signature: Option<[u8; 64]>,
}

impl Vote {
    /// `validator`'s vote on `subject`, as validator number `validator_index` of the quorum.
    pub fn sign(
        validator: &Identity,
        validator_index: u16,
        subject: &Subject,
        reasons: Reasons,
        params: &Params,
    ) -> Self {
        let hash = vote_hash(subject.height, subject.worker_index, subject.state);
        let ledger_signature =
            ledger_message(subject.state, &subject.worker, subject.height, params)
                .map(|message| validator.sign(&message).to_bytes());
        Self {
            height: subject.height,
            worker_index: subject.worker_index,
            state: subject.state,
            reasons,
            validator_index,
            signature: validator.sign(&hash).to_bytes(),
            ledger_signature,
        }
    }

    /// The hash this vote signs.
    pub fn hash(&self) -> [u8; 32] {
        vote_hash(self.height, self.worker_index, self.state)
    }

    /// Checks both signatures: by `validator`, on the vote about `worker` (which must be the
    /// quorum's worker at [`Vote::worker_index`]).
    ///
    /// # Errors
    /// [`Error::ForgedVote`] if either signature does not verify under `validator`'s key, a
    /// decommission, recommission or deregistration has no ledger signature, or an IP-change
    /// penalty has one. The error does not say which.
    pub fn verify(&self, validator: &NodeId, worker: &NodeId, params: &Params) -> Result<()> {
        let forged = || Error::ForgedVote { validator_index: self.validator_index };
        validator
            .verify(&self.hash(), &Signature::from_bytes(&self.signature))
            .map_err(|_| forged())?;
        match (ledger_message(self.state, worker, self.height, params), &self.ledger_signature) {
            (None, None) => Ok(()),
            (Some(message), Some(signature)) => {
                validator.verify(&message, &Signature::from_bytes(signature)).map_err(|_| forged())
            }
            _ => Err(forged()),
        }
    }
}

impl fmt::Debug for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vote")
            .field("height", &self.height)
            .field("worker_index", &self.worker_index)
            .field("state", &self.state)
            .field("reasons", &self.reasons)
            .field("validator_index", &self.validator_index)
            .field("signature", &hex::encode(self.signature))
            .field("ledger_signature", &self.ledger_signature.map(hex::encode))
            .finish()
    }
}

/// The ledger's vote message for `state` on `worker` at `height`, if the ledger has a
/// transaction for it.
fn ledger_message(
    state: StateChange,
    worker: &NodeId,
    height: u64,
    params: &Params,
) -> Option<Vec<u8>> {
    state.ledger_kind().map(|kind| QuorumDecision::vote_message(kind as u8, worker, height, params))
}
