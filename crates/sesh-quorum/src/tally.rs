//! Counting votes: a [`Tally`] per quorum height, worker and state, which takes only valid votes
//! of the quorum's validators and decides once enough agree.
//!
//! The rules are oxend's (`quorum_cop::handle_vote`, `verify_vote_age`, `verify_vote_signature`,
//! the vote pool, `verify_tx_state_change`):
//!
//! * votes are pooled by (quorum height, worker index, state); a validator counts once per pool
//!   (by its index in the quorum);
//! * a state change needs [`STATE_CHANGE_MIN_VOTES_TO_CHANGE_STATE`] (7) votes, whatever the
//!   quorum's size: oxend refuses a state-change transaction with fewer than 7 votes, so a
//!   quorum of fewer than 7 validators (a network of fewer than 7 active nodes) decides nothing;
//! * a vote is refused for a height above the current one, and once the current height reaches
//!   the vote's height plus [`VOTE_LIFETIME`] (60 blocks): from there oxend's
//!   `verify_tx_state_change`, and the ledger, refuse the transaction it would go into (oxend
//!   still pools a single vote for one block more, which could then decide nothing);
//! * the decided transaction lists the votes by ascending validator index (as oxend requires
//!   from HF13), with the reasons all of them give and the reasons any of them gives.
//!
//! Both numbers come from the ledger's [`Params`] (`quorum_votes`, `vote_window_blocks`), 7 and
//! 60 on every network, so the tally and the ledger agree on when a decision is valid.
//!
//! ```
//! use sesh_identity::{Identity, NodeId, Seed};
//! use sesh_quorum::tally::{Status, Tally};
//! use sesh_quorum::vote::{Reasons, StateChange, Subject, Vote};
//! use sesh_staking::Params;
//!
//! let params = Params::testnet(1_000);
//! let keys: Vec<Identity> = (1..=10u8).map(|k| Identity::from_seed(&Seed::from_bytes([k; 32]))).collect();
//! let validators: Vec<NodeId> = keys.iter().map(NodeId::from_identity).collect();
//! let workers = [NodeId::from_bytes([0xaa; 32]), NodeId::from_bytes([0xbb; 32])];
//! let subject = Subject { height: 500, worker_index: 1, worker: workers[1], state: StateChange::Decommission };
//!
//! let mut tally = Tally::new(500, &validators, &workers, 1, StateChange::Decommission, &params)?;
//! for (i, key) in keys.iter().enumerate().take(7) {
//!     let vote = Vote::sign(key, i as u16, &subject, Reasons::UPTIME, &params);
//!     tally.add(&vote, 510)?;
//! }
//! assert_eq!(tally.status(), Status::Decided);
//! let decided = tally.decision().expect("7 of 10");
//! assert_eq!(decided.worker, workers[1]);
//! assert_eq!(decided.votes.len(), 7);
//! // A transaction the staking ledger applies (it checks the votes' ledger signatures).
//! assert!(decided.to_tx().is_some());
//! # Ok::<(), sesh_quorum::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use sesh_identity::NodeId;
use sesh_staking::Params;
use sesh_staking::tx::{DecisionKind, QuorumDecision, SignedTx, Tx};

use crate::error::{Error, Result};
use crate::vote::{Reasons, StateChange, Vote};

/// oxend's `STATE_CHANGE_MIN_VOTES_TO_CHANGE_STATE`.
pub const STATE_CHANGE_MIN_VOTES_TO_CHANGE_STATE: usize = 7;
/// oxend's `STATE_CHANGE_QUORUM_SIZE`: the most validators (and votes) a state change has.
pub const STATE_CHANGE_QUORUM_SIZE: usize = 10;
/// oxend's `VOTE_LIFETIME`, in blocks.
pub const VOTE_LIFETIME: u64 = 60;

/// Where a tally stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not enough votes yet.
    Pending {
        /// Votes counted.
        votes: usize,
        /// Votes needed.
        needed: usize,
    },
    /// Enough votes agree: [`Tally::decision`] has the state change.
    Decided,
}

/// One counted vote, as a decided state change lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CountedVote {
    /// The validator's index in the quorum.
    pub validator_index: u16,
    /// The validator.
    pub validator: NodeId,
    /// Its reasons (not signed).
    pub reasons: Reasons,
    /// Its signature over the vote hash.
    pub signature: [u8; 64],
    /// Its signature over the ledger's vote message (`None` for an IP-change penalty).
    pub ledger_signature: Option<[u8; 64]>,
}

/// A state change a quorum decided: what oxend's state-change transaction carries, and the
/// worker's id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decided {
    /// The quorum's height.
    pub height: u64,
    /// The worker's index in the quorum.
    pub worker_index: u32,
    /// The worker.
    pub worker: NodeId,
    /// The new state.
    pub state: StateChange,
    /// Reasons every vote gives (oxend's `reason_consensus_all`).
    pub reasons_all: Reasons,
    /// Reasons any vote gives (`reason_consensus_any`).
    pub reasons_any: Reasons,
    /// The votes, by ascending validator index.
    pub votes: Vec<CountedVote>,
}

impl Decided {
    /// The ledger's decision: its kind and the votes' ledger signatures; `None` for an
    /// IP-change penalty, which the ledger has no transaction for.
    pub fn quorum_decision(&self) -> Option<(DecisionKind, QuorumDecision)> {
        let kind = self.state.ledger_kind()?;
        let votes = self
            .votes
            .iter()
            .map(|v| v.ledger_signature.map(|signature| (v.validator, signature)))
            .collect::<Option<Vec<_>>>()?;
        Some((kind, QuorumDecision { node: self.worker, vote_height: self.height, votes }))
    }

    /// The transaction the staking ledger applies: a decommission, recommission or
    /// deregistration carrying the votes; `None` for an IP-change penalty.
    pub fn to_tx(&self) -> Option<SignedTx> {
        let (kind, decision) = self.quorum_decision()?;
        let tx = match kind {
            DecisionKind::Decommission => Tx::Decommission(decision),
            DecisionKind::Recommission => Tx::Recommission(decision),
            DecisionKind::Deregister => Tx::Deregister(decision),
            DecisionKind::Liquidate => return None,
        };
        Some(tx.unsigned())
    }
}

/// The votes on one state change of one worker of one quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    height: u64,
    worker_index: u32,
    worker: NodeId,
    state: StateChange,
    validators: Vec<NodeId>,
    params: Params,
    votes: BTreeMap<u16, Vote>,
}

impl Tally {
    /// An empty tally of votes for moving the quorum's worker number `worker_index` to `state`,
    /// the quorum of `height` having `validators` and `workers`.
    ///
    /// # Errors
    /// [`Error::WorkerOutOfRange`] if there is no such worker, [`Error::QuorumTooLarge`] for
    /// more than 10 validators, [`Error::DuplicateNode`] for a validator listed twice.
    pub fn new(
        height: u64,
        validators: &[NodeId],
        workers: &[NodeId],
        worker_index: u32,
        state: StateChange,
        params: &Params,
    ) -> Result<Self> {
        let worker = usize::try_from(worker_index)
            .ok()
            .and_then(|i| workers.get(i))
            .copied()
            .ok_or(Error::WorkerOutOfRange { worker_index, workers: workers.len() })?;
        if validators.len() > STATE_CHANGE_QUORUM_SIZE {
            return Err(Error::QuorumTooLarge {
                validators: validators.len(),
                max: STATE_CHANGE_QUORUM_SIZE,
            });
        }
        let mut seen = BTreeSet::new();
        if let Some(twice) = validators.iter().find(|v| !seen.insert(**v)) {
            return Err(Error::DuplicateNode { node: *twice });
        }
        Ok(Self {
            height,
            worker_index,
            worker,
            state,
            validators: validators.to_vec(),
            params: params.clone(),
            votes: BTreeMap::new(),
        })
    }

    /// The quorum's height.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The worker voted on.
    pub fn worker(&self) -> NodeId {
        self.worker
    }

    /// The state voted for.
    pub fn state(&self) -> StateChange {
        self.state
    }

    /// Votes needed to decide.
    pub fn needed(&self) -> usize {
        self.params.quorum_votes
    }

    /// The last height at which a vote still counts: the quorum's height plus the vote
    /// lifetime, less one.
    pub fn last_height(&self) -> u64 {
        self.height.saturating_add(self.params.vote_window_blocks.saturating_sub(1))
    }

    /// Counts `vote`, received at `current_height`. A refused vote changes nothing.
    ///
    /// # Errors
    /// In the order checked: [`Error::WrongHeight`], [`Error::WrongWorker`],
    /// [`Error::WrongState`] (the vote belongs to another tally); [`Error::VoteFromFuture`],
    /// [`Error::VoteTooLate`]; [`Error::NotAValidator`] (no validator has that index);
    /// [`Error::ForgedVote`] (a signature does not verify under that validator's key);
    /// [`Error::DuplicateVote`] (the validator already voted).
    pub fn add(&mut self, vote: &Vote, current_height: u64) -> Result<Status> {
        if vote.height != self.height {
            return Err(Error::WrongHeight { tally: self.height, vote: vote.height });
        }
        if vote.worker_index != self.worker_index {
            return Err(Error::WrongWorker { tally: self.worker_index, vote: vote.worker_index });
        }
        if vote.state != self.state {
            return Err(Error::WrongState { tally: self.state, vote: vote.state });
        }
        if vote.height > current_height {
            return Err(Error::VoteFromFuture { vote_height: vote.height, height: current_height });
        }
        let lifetime = self.params.vote_window_blocks;
        if current_height >= vote.height.saturating_add(lifetime) {
            return Err(Error::VoteTooLate {
                vote_height: vote.height,
                height: current_height,
                lifetime,
            });
        }
        let validator = self.validators.get(usize::from(vote.validator_index)).copied().ok_or(
            Error::NotAValidator {
                validator_index: vote.validator_index,
                validators: self.validators.len(),
            },
        )?;
        let duplicate = Error::DuplicateVote { validator_index: vote.validator_index };
        match self.votes.get(&vote.validator_index) {
            // The same signatures again (a replay, its unsigned reasons changed or not): no
            // need to check them a second time.
            Some(counted)
                if counted.signature == vote.signature
                    && counted.ledger_signature == vote.ledger_signature =>
            {
                return Err(duplicate);
            }
            Some(_) => {
                vote.verify(&validator, &self.worker, &self.params)?;
                return Err(duplicate);
            }
            None => vote.verify(&validator, &self.worker, &self.params)?,
        }
        self.votes.insert(vote.validator_index, *vote);
        Ok(self.status())
    }

    /// Where the tally stands.
    pub fn status(&self) -> Status {
        let needed = self.needed();
        if self.votes.len() >= needed {
            Status::Decided
        } else {
            Status::Pending { votes: self.votes.len(), needed }
        }
    }

    /// Votes counted.
    pub fn votes(&self) -> usize {
        self.votes.len()
    }

    /// The decided state change with every vote counted so far, once enough agree.
    pub fn decision(&self) -> Option<Decided> {
        if self.status() != Status::Decided {
            return None;
        }
        let mut reasons_all = Reasons::from_bits(u16::MAX);
        let mut reasons_any = Reasons::NONE;
        let mut votes = Vec::with_capacity(self.votes.len());
        for (index, vote) in &self.votes {
            reasons_all = reasons_all & vote.reasons;
            reasons_any |= vote.reasons;
            votes.push(CountedVote {
                validator_index: *index,
                validator: self.validators.get(usize::from(*index)).copied()?,
                reasons: vote.reasons,
                signature: vote.signature,
                ledger_signature: vote.ledger_signature,
            });
        }
        Some(Decided {
            height: self.height,
            worker_index: self.worker_index,
            worker: self.worker,
            state: self.state,
            reasons_all,
            reasons_any,
            votes,
        })
    }
}

/// The tallies of every (quorum height, worker, state) a node hears votes on: oxend's
/// obligations vote pool. A tally is kept only once a vote in it counts, so refused votes leave
/// nothing behind, and [`VotePool::prune`] drops tallies past the vote lifetime.
///
/// ```
/// use sesh_identity::{Identity, NodeId, Seed};
/// use sesh_quorum::tally::VotePool;
/// use sesh_quorum::vote::{Reasons, StateChange, Subject, Vote};
/// use sesh_staking::Params;
///
/// let params = Params::testnet(1_000);
/// let keys: Vec<Identity> = (1..=10u8).map(|k| Identity::from_seed(&Seed::from_bytes([k; 32]))).collect();
/// let validators: Vec<NodeId> = keys.iter().map(NodeId::from_identity).collect();
/// let workers = [NodeId::from_bytes([0xaa; 32])];
/// let subject = Subject { height: 90, worker_index: 0, worker: workers[0], state: StateChange::Deregister };
///
/// let mut pool = VotePool::new();
/// for (i, key) in keys.iter().enumerate().take(7) {
///     let vote = Vote::sign(key, i as u16, &subject, Reasons::UPTIME, &params);
///     pool.add(&vote, &validators, &workers, 100, &params)?;
/// }
/// assert_eq!(pool.decided().count(), 1);
/// pool.prune(150);
/// assert_eq!(pool.len(), 0); // 90 + 60 = 150: its votes no longer count
/// # Ok::<(), sesh_quorum::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VotePool {
    tallies: BTreeMap<(u64, u32, StateChange), Tally>,
}

impl VotePool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `vote`, received at `current_height`, in the tally of its height, worker and
    /// state; `validators` and `workers` are the obligations quorum of the vote's height (the
    /// caller's to look up, and to refuse the vote if it knows none).
    ///
    /// # Errors
    /// As [`Tally::new`] and [`Tally::add`]. A refused vote changes nothing.
    pub fn add(
        &mut self,
        vote: &Vote,
        validators: &[NodeId],
        workers: &[NodeId],
        current_height: u64,
        params: &Params,
    ) -> Result<Status> {
        let key = (vote.height, vote.worker_index, vote.state);
        if let Some(tally) = self.tallies.get_mut(&key) {
            return tally.add(vote, current_height);
        }
        let mut tally =
            Tally::new(vote.height, validators, workers, vote.worker_index, vote.state, params)?;
        let status = tally.add(vote, current_height)?;
        self.tallies.insert(key, tally);
        Ok(status)
    }

    /// The tally of one state change, if any vote on it counted.
    pub fn tally(&self, height: u64, worker_index: u32, state: StateChange) -> Option<&Tally> {
        self.tallies.get(&(height, worker_index, state))
    }

    /// Every decided state change, by height, worker and state.
    pub fn decided(&self) -> impl Iterator<Item = Decided> + '_ {
        self.tallies.values().filter_map(Tally::decision)
    }

    /// Takes a tally out (once its state change is in a block, as oxend's `remove_used_votes`).
    pub fn remove(&mut self, height: u64, worker_index: u32, state: StateChange) -> Option<Tally> {
        self.tallies.remove(&(height, worker_index, state))
    }

    /// Drops the tallies whose votes no longer count at `current_height`.
    pub fn prune(&mut self, current_height: u64) {
        self.tallies.retain(|_, tally| tally.last_height() >= current_height);
    }

    /// Tallies held.
    pub fn len(&self) -> usize {
        self.tallies.len()
    }

    /// No tally held.
    pub fn is_empty(&self) -> bool {
        self.tallies.is_empty()
    }
}
