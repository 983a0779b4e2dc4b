//! The ledger: every node's record, queued stake returns and the token totals, changed only by
//! verified transactions applied at the current height.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Rejection};
use crate::event::Event;
use crate::keys::{Address, BlsKey, NodeId};
use crate::node::{Contributor, Node, NodeStatus, Phase, RemovalReason, Reservation, credit_as};
use crate::params::{MinimumRule, Params};
use crate::tx::{
    ByContributor, ChainExit, ChainRegister, ChainRequestExit, ChainSeed, ChainStake, Contribute,
    Liquidate, QuorumDecision, Register, Tx, UptimeProof, VerifiedTx,
};

/// Stake on its way back to its staker.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PendingReturn {
    /// The staker.
    pub address: Address,
    /// Atomic units.
    pub amount: u64,
    /// The node it was staked in.
    pub node: NodeId,
    /// When it is released.
    pub release_height: u64,
}

/// Where every token that was ever staked is now. The ledger keeps
/// `deposited = staked + pending + released + penalties` after every transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Totals {
    /// Ever contributed.
    pub deposited: u128,
    /// In nodes now.
    pub staked: u128,
    /// Queued for return.
    pub pending: u128,
    /// Returned to stakers (refunds, releases).
    pub released: u128,
    /// Taken by liquidations (liquidator and pool shares).
    pub penalties: u128,
}

impl Totals {
    /// `deposited = staked + pending + released + penalties`.
    pub fn balanced(&self) -> bool {
        self.staked + self.pending + self.released + self.penalties == self.deposited
    }
}

/// The staking ledger.
///
/// ```
/// use sesh_identity::{Identity, Seed};
/// use sesh_staking::tx::{Register, Tx};
/// use sesh_staking::{Address, BlsKey, Ledger, NodeId, NodeStatus, Params};
///
/// let params = Params::session_mainnet();
/// let mut ledger = Ledger::new(params.clone());
/// let operator = Identity::from_seed(&Seed::from_bytes([1; 32]));
/// let node = Identity::from_seed(&Seed::from_bytes([2; 32]));
/// let (op, id, bls) = (Address::from_identity(&operator), NodeId::from_identity(&node), BlsKey::from_bytes([9; 64]));
///
/// // A solo node: the operator stakes the whole 25,000 SESH.
/// let register = Tx::Register(Register {
///     operator: op,
///     nonce: 0,
///     node: id,
///     bls_key: bls,
///     fee_bp: 0,
///     stake: params.staking_requirement,
///     beneficiary: op,
///     reservations: vec![],
///     node_signature: node.sign(&Register::node_message(&id, &bls, &op, &params)).to_bytes(),
/// });
/// ledger.apply_signed(&register.sign(&operator, &params)?)?;
/// assert_eq!(ledger.node(&id).map(|n| n.status()), Some(NodeStatus::Active));
/// assert!(!ledger.is_payable(&id)); // not before 720 blocks
/// # Ok::<(), sesh_staking::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    params: Params,
    height: u64,
    nodes: BTreeMap<NodeId, Node>,
    bls_keys: BTreeMap<BlsKey, NodeId>,
    nonces: BTreeMap<Address, u64>,
    pending: BTreeMap<(u64, u64), PendingReturn>,
    next_pending: u64,
    /// `(unlock height, node)`: the node leaves at the first block above the height.
    unlocks: BTreeSet<(u64, NodeId)>,
    /// `(height, node)`: the node becomes payable at the height.
    payable_at: BTreeSet<(u64, NodeId)>,
    /// `(height, node)`: the liquidated node's record is dropped at the height.
    purges: BTreeSet<(u64, NodeId)>,
    active: usize,
    totals: Totals,
}

fn reject<T>(reason: Rejection) -> Result<T, Error> {
    Err(Error::TxRejected { reason })
}

impl Ledger {
    /// An empty ledger at height 0.
    pub fn new(params: Params) -> Self {
        Self {
            params,
            height: 0,
            nodes: BTreeMap::new(),
            bls_keys: BTreeMap::new(),
            nonces: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_pending: 0,
            unlocks: BTreeSet::new(),
            payable_at: BTreeSet::new(),
            purges: BTreeSet::new(),
            active: 0,
            totals: Totals::default(),
        }
    }

    /// The rules.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The current height.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// A node's record.
    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// Every node, by id.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &Node> + '_ {
        self.nodes.values()
    }

    /// How many nodes are active (serving).
    pub fn active_count(&self) -> usize {
        self.active
    }

    /// The next nonce `address` must use.
    pub fn nonce(&self, address: &Address) -> u64 {
        self.nonces.get(address).copied().unwrap_or(0)
    }

    /// Stake queued for return, by release height.
    pub fn pending_returns(&self) -> impl Iterator<Item = &PendingReturn> + '_ {
        self.pending.values()
    }

    /// Where the tokens are.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The nodes that earn rewards at the current height, in id order.
    pub fn payable_nodes(&self) -> impl Iterator<Item = &Node> {
        let (height, after) = (self.height, self.params.payable_after_blocks);
        self.nodes.values().filter(move |n| n.is_payable(height, after))
    }

    /// Whether `node` earns rewards at the current height.
    pub fn is_payable(&self, node: &NodeId) -> bool {
        self.nodes
            .get(node)
            .is_some_and(|n| n.is_payable(self.height, self.params.payable_after_blocks))
    }

    /// Checks the transaction's signatures, then applies it.
    ///
    /// # Errors
    /// [`Error::BadSignature`], or as [`apply`](Self::apply).
    pub fn apply_signed(&mut self, tx: &crate::tx::SignedTx) -> Result<Vec<Event>, Error> {
        let verified = tx.verify(&self.params)?;
        self.apply(&verified)
    }

    /// Applies a verified transaction at the current height and returns what changed.
    ///
    /// The chain kinds follow oxend's handling of the staking contract's events
    /// (`service_node_list.cpp`, `process_confirmed_event`): a [`Tx::ChainRegister`] is checked
    /// as oxend checks an L2 registration and is active at once; a [`Tx::ChainRequestExit`] sets
    /// the unlock height; a [`Tx::ChainExit`] removes a node that has left (or asked to) and queues
    /// its stake, less the penalty the contract took when it returned less than the stake; a
    /// [`Tx::SetStakingRequirement`] sets the full stake of nodes registered from now on. A
    /// [`Tx::ChainSeed`] (a node the contract's owner seeded before the contract started) is
    /// checked as the contract checks a seeded node: 1 to `max_contributors` stakers, each
    /// with a non-zero stake and no address twice, summing to its `deposit` (its full stake,
    /// which need not be the current requirement); neither the operator's minimum nor the fee
    /// limit applies (the contract seeds no fee; the fee is 0). The keys must be new, as for a
    /// registration. It is active at once.
    ///
    /// # Errors
    /// [`Error::TxRejected`] with the rule it broke; the ledger is then exactly as before.
    pub fn apply(&mut self, tx: &VerifiedTx) -> Result<Vec<Event>, Error> {
        let mut events = Vec::new();
        match &tx.0 {
            Tx::Register(r) => self.register(r, &mut events)?,
            Tx::Contribute(c) => self.contribute(c, &mut events)?,
            Tx::Withdraw(c) => self.withdraw(c, &mut events)?,
            Tx::RequestExit(c) => self.request_exit(c, &mut events)?,
            Tx::Exit(c) => self.exit(c, &mut events)?,
            Tx::Decommission(d) => self.decommission(d, &mut events)?,
            Tx::Recommission(d) => self.recommission(d, &mut events)?,
            Tx::Deregister(d) => self.deregister(d, &mut events)?,
            Tx::Liquidate(l) => self.liquidate(l, &mut events)?,
            Tx::UptimeProof(p) => self.uptime_proof(p, &mut events)?,
            Tx::AdvanceHeight(h) => self.advance(*h, &mut events)?,
            Tx::ChainRegister(r) => self.chain_register(r, &mut events)?,
            Tx::ChainSeed(s) => self.chain_seed(s, &mut events)?,
            Tx::ChainRequestExit(e) => self.chain_request_exit(e, &mut events)?,
            Tx::ChainExit(e) => self.chain_exit(e, &mut events)?,
            Tx::SetStakingRequirement(r) => {
                if *r == 0 {
                    return reject(Rejection::ZeroRequirement);
                }
                self.params.staking_requirement = *r;
                events.push(Event::StakingRequirementChanged { requirement: *r });
            }
        }
        Ok(events)
    }

    // ---- checks shared by several transactions ----

    fn check_nonce(&self, address: &Address, nonce: u64) -> Result<(), Error> {
        let expected = self.nonce(address);
        if nonce != expected {
            return reject(Rejection::BadNonce { expected, got: nonce });
        }
        Ok(())
    }

    fn bump_nonce(&mut self, address: Address) {
        *self.nonces.entry(address).or_insert(0) += 1;
    }

    fn node_or_reject(&self, id: &NodeId) -> Result<&Node, Error> {
        match self.nodes.get(id) {
            Some(node) => Ok(node),
            None => reject(Rejection::UnknownNode { node: *id }),
        }
    }

    /// The least a new contributor may stake: `remaining` of the requirement over the slots
    /// left after `taken` (`0` = the operator).
    fn minimum(&self, requirement: u64, remaining: u64, taken: usize) -> Result<u64, Error> {
        let max = self.params.max_contributors;
        if taken >= max {
            return reject(Rejection::TooManyContributors { count: taken + 1, max });
        }
        let slots = (max - taken) as u64;
        Ok(match (self.params.minimum_rule, taken) {
            (MinimumRule::Contract, 0) => remaining.div_ceil(4),
            (MinimumRule::Contract, _) => remaining.div_ceil(slots),
            (MinimumRule::Oxen, 0) => requirement / 4,
            (MinimumRule::Oxen, _) => remaining / slots,
        })
    }

    /// Checks a quorum decision at the current height: the votes were cast for a height within
    /// the window and after the node's last state change, by distinct active nodes other than
    /// the node, enough of them.
    fn check_quorum(&self, d: &QuorumDecision, node: &Node) -> Result<(), Error> {
        let h = self.height;
        if d.vote_height > h {
            return reject(Rejection::VoteHeightInFuture { vote_height: d.vote_height, height: h });
        }
        if h >= d.vote_height.saturating_add(self.params.vote_window_blocks) {
            return reject(Rejection::VotesExpired { vote_height: d.vote_height, height: h });
        }
        if d.vote_height <= node.last_state_change_height {
            return reject(Rejection::VotesPredateLastChange {
                vote_height: d.vote_height,
                last_change: node.last_state_change_height,
            });
        }
        let mut seen = BTreeSet::new();
        for (voter, _) in &d.votes {
            if *voter == node.id {
                return reject(Rejection::VoterIsTheNode { voter: *voter });
            }
            if !seen.insert(*voter) {
                return reject(Rejection::DuplicateVoter { voter: *voter });
            }
            if !self.nodes.get(voter).is_some_and(Node::is_active) {
                return reject(Rejection::VoterNotActive { voter: *voter });
            }
        }
        let others = self.active - usize::from(node.is_active());
        if others == 0 {
            return reject(Rejection::NoQuorumPossible);
        }
        let needed = self.params.quorum_votes.min(others).max(1);
        if d.votes.len() < needed {
            return reject(Rejection::NotEnoughVotes { got: d.votes.len(), needed });
        }
        Ok(())
    }

    fn contributor_index(node: &Node, address: &Address) -> Result<usize, Error> {
        match node.contributors.iter().position(|c| c.address == *address) {
            Some(i) => Ok(i),
            None => reject(Rejection::NotAContributor { address: *address }),
        }
    }

    fn node_by_bls(&self, bls_key: &BlsKey) -> Result<NodeId, Error> {
        match self.bls_keys.get(bls_key) {
            Some(id) => Ok(*id),
            None => reject(Rejection::UnknownBlsKey { bls_key: bls_key.to_string() }),
        }
    }

    // ---- transactions ----

    fn register(&mut self, r: &Register, events: &mut Vec<Event>) -> Result<(), Error> {
        let p = &self.params;
        let requirement = p.staking_requirement;
        self.check_nonce(&r.operator, r.nonce)?;
        if self.nodes.contains_key(&r.node) {
            return reject(Rejection::NodeAlreadyRegistered { node: r.node });
        }
        if r.bls_key.as_bytes().iter().all(|b| *b == 0) {
            return reject(Rejection::ZeroBlsKey);
        }
        if let Some(holder) = self.bls_keys.get(&r.bls_key) {
            return reject(Rejection::BlsKeyInUse { node: *holder });
        }
        if r.fee_bp > p.max_fee_bp {
            return reject(Rejection::FeeTooHigh { fee_bp: r.fee_bp, max: p.max_fee_bp });
        }
        if r.reservations.len() > p.max_contributors {
            return reject(Rejection::TooManyContributors {
                count: r.reservations.len(),
                max: p.max_contributors,
            });
        }
        // Reservations, as the contribution contract checks them.
        let mut remaining = requirement;
        let mut seen = BTreeSet::new();
        for (index, (address, amount)) in r.reservations.iter().enumerate() {
            if index == 0 && *address != r.operator {
                return reject(Rejection::FirstReservationNotOperator);
            }
            if !seen.insert(*address) {
                return reject(Rejection::DuplicateReservation { address: *address });
            }
            if remaining == 0 {
                return reject(Rejection::StakeAboveRemaining {
                    index,
                    amount: *amount,
                    remaining,
                });
            }
            let minimum = self.minimum(requirement, remaining, index)?;
            if *amount < minimum {
                return reject(Rejection::StakeBelowMinimum { index, amount: *amount, minimum });
            }
            if *amount > remaining {
                return reject(Rejection::StakeAboveRemaining {
                    index,
                    amount: *amount,
                    remaining,
                });
            }
            remaining -= amount;
        }
        // The operator's stake: at least its reservation, or the operator minimum.
        let reserved_by_others: u64 = r.reservations.iter().skip(1).map(|(_, a)| a).sum();
        match r.reservations.first() {
            Some((_, reserved)) if r.stake < *reserved => {
                return reject(Rejection::ContributionBelowReservation {
                    amount: r.stake,
                    reserved: *reserved,
                });
            }
            Some(_) => {}
            None => {
                let minimum = self.minimum(requirement, requirement, 0)?;
                if r.stake < minimum {
                    return reject(Rejection::StakeBelowMinimum {
                        index: 0,
                        amount: r.stake,
                        minimum,
                    });
                }
            }
        }
        if u128::from(r.stake) + u128::from(reserved_by_others) > u128::from(requirement) {
            return reject(Rejection::ContributionExceedsRequirement {
                total: r.stake,
                reserved: reserved_by_others,
                requirement,
            });
        }

        let h = self.height;
        let reservations = r
            .reservations
            .iter()
            .enumerate()
            .map(|(i, (address, amount))| Reservation {
                address: *address,
                amount: *amount,
                received: i == 0,
            })
            .collect();
        let node = Node {
            id: r.node,
            bls_key: r.bls_key,
            fee_bp: r.fee_bp,
            staking_requirement: requirement,
            contributors: vec![Contributor {
                address: r.operator,
                beneficiary: r.beneficiary,
                amount: r.stake,
                last_contribution_height: h,
            }],
            reservations,
            phase: Phase::Awaiting,
            registration_height: h,
            activation_height: None,
            active_since_height: None,
            last_decommission_height: 0,
            decommission_count: 0,
            recommission_credit: 0,
            requested_unlock_height: None,
            last_uptime_proof_height: None,
            last_state_change_height: h,
        };
        self.bump_nonce(r.operator);
        self.bls_keys.insert(r.bls_key, r.node);
        self.nodes.insert(r.node, node);
        self.totals.deposited += u128::from(r.stake);
        self.totals.staked += u128::from(r.stake);
        events.push(Event::Registered { node: r.node, operator: r.operator });
        events.push(Event::Contributed { node: r.node, contributor: r.operator, amount: r.stake });
        self.activate_if_full(r.node, events);
        Ok(())
    }

    fn activate_if_full(&mut self, id: NodeId, events: &mut Vec<Event>) {
        let h = self.height;
        let payable = h.saturating_add(self.params.payable_after_blocks);
        let initial = self.params.credit.initial;
        let Some(node) = self.nodes.get_mut(&id) else { return };
        if node.phase != Phase::Awaiting || node.total_contributed() < node.staking_requirement {
            return;
        }
        node.phase = Phase::Active;
        node.activation_height = Some(h);
        node.active_since_height = Some(h);
        node.recommission_credit = initial;
        node.last_state_change_height = h;
        self.active += 1;
        self.payable_at.insert((payable, id));
        events.push(Event::Activated { node: id });
    }

    fn contribute(&mut self, c: &Contribute, events: &mut Vec<Event>) -> Result<(), Error> {
        self.check_nonce(&c.contributor, c.nonce)?;
        let node = self.node_or_reject(&c.node)?;
        if node.phase != Phase::Awaiting {
            return reject(Rejection::NotAwaitingContributions { status: node.status() });
        }
        if c.amount == 0 {
            return reject(Rejection::ZeroAmount);
        }
        let existing = node.contributors.iter().position(|x| x.address == c.contributor);
        let reservation =
            node.reservations.iter().position(|r| r.address == c.contributor && !r.received);
        let unfilled = node.unfilled_reserved();
        let unfilled_count = node.reservations.iter().filter(|r| !r.received).count();
        let total = node.total_contributed();
        let requirement = node.staking_requirement;
        match (reservation, existing) {
            (Some(i), _) => {
                let reserved = node.reservations.get(i).map_or(0, |r| r.amount);
                if c.amount < reserved {
                    return reject(Rejection::ContributionBelowReservation {
                        amount: c.amount,
                        reserved,
                    });
                }
            }
            (None, Some(_)) => {} // top-ups have no minimum
            (None, None) => {
                // As the contract: first whether a slot is left, then whether any stake is.
                let remaining = requirement.saturating_sub(total).saturating_sub(unfilled);
                let minimum =
                    self.minimum(requirement, remaining, node.contributors.len() + unfilled_count)?;
                if remaining == 0 {
                    return reject(Rejection::ContributionExceedsRequirement {
                        total: c.amount,
                        reserved: unfilled,
                        requirement,
                    });
                }
                if c.amount < minimum {
                    return reject(Rejection::ContributionBelowMinimum {
                        amount: c.amount,
                        minimum,
                    });
                }
            }
        }
        if existing.is_none() && node.contributors.len() >= self.params.max_contributors {
            return reject(Rejection::TooManyContributors {
                count: node.contributors.len() + 1,
                max: self.params.max_contributors,
            });
        }
        let unfilled_after =
            unfilled - reservation.and_then(|i| node.reservations.get(i)).map_or(0, |r| r.amount);
        let new_total = u128::from(total) + u128::from(c.amount);
        if new_total + u128::from(unfilled_after) > u128::from(requirement) {
            return reject(Rejection::ContributionExceedsRequirement {
                total: u64::try_from(new_total).unwrap_or(u64::MAX),
                reserved: unfilled_after,
                requirement,
            });
        }

        let h = self.height;
        let Some(node) = self.nodes.get_mut(&c.node) else {
            return reject(Rejection::UnknownNode { node: c.node });
        };
        match existing.and_then(|i| node.contributors.get_mut(i)) {
            Some(x) => {
                x.amount += c.amount;
                x.beneficiary = c.beneficiary;
                x.last_contribution_height = h;
            }
            None => node.contributors.push(Contributor {
                address: c.contributor,
                beneficiary: c.beneficiary,
                amount: c.amount,
                last_contribution_height: h,
            }),
        }
        if let Some(r) = reservation.and_then(|i| node.reservations.get_mut(i)) {
            r.received = true;
        }
        self.bump_nonce(c.contributor);
        self.totals.deposited += u128::from(c.amount);
        self.totals.staked += u128::from(c.amount);
        events.push(Event::Contributed {
            node: c.node,
            contributor: c.contributor,
            amount: c.amount,
        });
        self.activate_if_full(c.node, events);
        Ok(())
    }

    fn withdraw(&mut self, c: &ByContributor, events: &mut Vec<Event>) -> Result<(), Error> {
        self.check_nonce(&c.contributor, c.nonce)?;
        let node = self.node_or_reject(&c.node)?;
        if node.phase != Phase::Awaiting {
            return reject(Rejection::NotAwaitingContributions { status: node.status() });
        }
        let index = Self::contributor_index(node, &c.contributor)?;
        if index == 0 {
            // The operator's withdrawal cancels the registration and refunds everyone.
            let Some(node) = self.nodes.remove(&c.node) else {
                return reject(Rejection::UnknownNode { node: c.node });
            };
            self.bls_keys.remove(&node.bls_key);
            self.bump_nonce(c.contributor);
            for x in &node.contributors {
                self.totals.staked -= u128::from(x.amount);
                self.totals.released += u128::from(x.amount);
                events.push(Event::Withdrawn {
                    node: c.node,
                    contributor: x.address,
                    amount: x.amount,
                });
            }
            events.push(Event::RegistrationCancelled { node: c.node });
            return Ok(());
        }
        let last = node.contributors.get(index).map_or(0, |x| x.last_contribution_height);
        let allowed_from = last.saturating_add(self.params.withdrawal_delay_blocks);
        if self.height < allowed_from {
            return reject(Rejection::WithdrawTooEarly { allowed_from });
        }
        let Some(node) = self.nodes.get_mut(&c.node) else {
            return reject(Rejection::UnknownNode { node: c.node });
        };
        let removed = node.contributors.remove(index);
        for r in node.reservations.iter_mut().filter(|r| r.address == c.contributor) {
            r.received = false;
        }
        self.bump_nonce(c.contributor);
        self.totals.staked -= u128::from(removed.amount);
        self.totals.released += u128::from(removed.amount);
        events.push(Event::Withdrawn {
            node: c.node,
            contributor: c.contributor,
            amount: removed.amount,
        });
        Ok(())
    }

    fn request_exit(&mut self, c: &ByContributor, events: &mut Vec<Event>) -> Result<(), Error> {
        self.check_nonce(&c.contributor, c.nonce)?;
        let node = self.node_or_reject(&c.node)?;
        if !matches!(node.phase, Phase::Active | Phase::Decommissioned) {
            return reject(Rejection::NotServing { status: node.status() });
        }
        if let Some(unlock_height) = node.requested_unlock_height {
            return reject(Rejection::ExitAlreadyRequested { unlock_height });
        }
        let index = Self::contributor_index(node, &c.contributor)?;
        let stake = node.contributors.get(index).map_or(0, |x| x.amount);
        let small = u128::from(stake) * u128::from(self.params.small_contributor_divisor)
            < u128::from(node.staking_requirement);
        if small {
            let allowed_from = node
                .activation_height
                .unwrap_or(0)
                .saturating_add(self.params.small_contributor_delay_blocks);
            if self.height < allowed_from {
                return reject(Rejection::SmallContributorTooEarly { allowed_from });
            }
        }
        let unlock_height = self.height.saturating_add(self.params.unlock_blocks);
        if let Some(node) = self.nodes.get_mut(&c.node) {
            node.requested_unlock_height = Some(unlock_height);
        }
        self.unlocks.insert((unlock_height, c.node));
        self.bump_nonce(c.contributor);
        events.push(Event::ExitRequested { node: c.node, unlock_height });
        Ok(())
    }

    /// Queues every contributor's stake for return at `release_height` and drops the node.
    fn return_stakes(&mut self, id: NodeId, release_height: u64, events: &mut Vec<Event>) {
        let Some(node) = self.nodes.remove(&id) else { return };
        self.bls_keys.remove(&node.bls_key);
        self.forget_schedules(&node);
        for x in &node.contributors {
            self.queue_return(x.address, x.amount, id, release_height, events);
        }
        self.totals.staked -= u128::from(node.total_contributed());
    }

    fn queue_return(
        &mut self,
        address: Address,
        amount: u64,
        node: NodeId,
        release_height: u64,
        events: &mut Vec<Event>,
    ) {
        if amount == 0 {
            return;
        }
        self.pending.insert(
            (release_height, self.next_pending),
            PendingReturn { address, amount, node, release_height },
        );
        self.next_pending += 1;
        self.totals.pending += u128::from(amount);
        events.push(Event::StakeQueued { address, amount, release_height });
    }

    fn forget_schedules(&mut self, node: &Node) {
        if let Some(unlock) = node.requested_unlock_height {
            self.unlocks.remove(&(unlock, node.id));
        }
        if let Some(since) = node.active_since_height {
            self.payable_at
                .remove(&(since.saturating_add(self.params.payable_after_blocks), node.id));
        }
    }

    fn exit(&mut self, c: &ByContributor, events: &mut Vec<Event>) -> Result<(), Error> {
        self.check_nonce(&c.contributor, c.nonce)?;
        let node = self.node_or_reject(&c.node)?;
        let Phase::Removed { reason, at, liquidation_height } = node.phase else {
            return reject(Rejection::NotRemoved { status: node.status() });
        };
        Self::contributor_index(node, &c.contributor)?;
        let release_height = match (self.params.liquidation.is_some(), reason) {
            (true, RemovalReason::Deregistered) => return reject(Rejection::MustBeLiquidated),
            (true, RemovalReason::Exited) if self.height >= liquidation_height => {
                return reject(Rejection::ExitWindowClosed { closed_at: liquidation_height });
            }
            (_, RemovalReason::Exited) => self.height.saturating_add(1),
            (false, RemovalReason::Deregistered) => {
                at.saturating_add(self.params.penalty_lock_blocks)
            }
        };
        self.bump_nonce(c.contributor);
        self.return_stakes(c.node, release_height, events);
        events.push(Event::Exited { node: c.node });
        Ok(())
    }

    fn liquidate(&mut self, l: &Liquidate, events: &mut Vec<Event>) -> Result<(), Error> {
        self.check_nonce(&l.liquidator, l.nonce)?;
        let Some(ratios) = self.params.liquidation else {
            return reject(Rejection::NotInThisEra { what: "liquidation on a network without it" });
        };
        let id = l.decision.node;
        let node = self.node_or_reject(&id)?;
        let Phase::Removed { reason, at: removed_at, liquidation_height } = node.phase else {
            return reject(Rejection::NotRemoved { status: node.status() });
        };
        if reason == RemovalReason::Exited && self.height < liquidation_height {
            return reject(Rejection::LiquidationTooEarly { from: liquidation_height });
        }
        self.check_quorum(&l.decision, node)?;
        let deposit = node.total_contributed();
        let Some((to_liquidator, to_pool, returned)) = ratios.split(deposit) else {
            return reject(Rejection::NotInThisEra { what: "liquidation ratios that sum to 0" });
        };
        let penalty = to_liquidator + to_pool;
        let operator_stake = node.contributors.first().map_or(0, |x| x.amount);
        if penalty > operator_stake {
            return reject(Rejection::PenaltyExceedsOperatorStake { penalty, operator_stake });
        }

        let h = self.height;
        let release_height =
            removed_at.saturating_add(self.params.penalty_lock_blocks).max(h.saturating_add(1));
        let Some(node) = self.nodes.get_mut(&id) else {
            return reject(Rejection::UnknownNode { node: id });
        };
        if let Some(operator) = node.contributors.first_mut() {
            operator.amount -= penalty;
        }
        node.phase = Phase::Liquidated { at: h, release_height };
        node.last_state_change_height = h;
        let stakes: Vec<(Address, u64)> =
            node.contributors.iter().map(|x| (x.address, x.amount)).collect();
        self.bump_nonce(l.liquidator);
        self.totals.staked -= u128::from(deposit);
        self.totals.penalties += u128::from(penalty);
        events.push(Event::Liquidated {
            node: id,
            liquidator: l.liquidator,
            liquidator_amount: to_liquidator,
            pool_amount: to_pool,
            returned,
        });
        for (address, amount) in stakes {
            self.queue_return(address, amount, id, release_height, events);
        }
        self.purges.insert((release_height, id));
        Ok(())
    }

    // ---- the staking contract's events ----

    /// `NewServiceNodeV2`, with oxend's checks of an L2 registration
    /// (`validate_ethereum_registration`, `check_service_node_stakes` at `ETH_BLS`).
    fn chain_register(&mut self, r: &ChainRegister, events: &mut Vec<Event>) -> Result<(), Error> {
        let requirement = self.params.staking_requirement;
        self.chain_add(r.node, r.bls_key, r.fee_bp, requirement, &r.contributors, false, events)
    }

    /// `NewSeededServiceNode` with the stakes the contract held: the contract's seeding checks
    /// (see [`Ledger::apply`]).
    fn chain_seed(&mut self, s: &ChainSeed, events: &mut Vec<Event>) -> Result<(), Error> {
        if s.deposit == 0 {
            return reject(Rejection::ZeroRequirement);
        }
        self.chain_add(s.node, s.bls_key, 0, s.deposit, &s.contributors, true, events)
    }

    /// A node the contract holds fully staked with `requirement`, active at once. `seeded`
    /// lifts the operator's minimum (a seeded node's stakes are the contract owner's word).
    #[allow(clippy::too_many_arguments)]
    fn chain_add(
        &mut self,
        node_id: NodeId,
        bls_key: BlsKey,
        fee_bp: u16,
        requirement: u64,
        stakes: &[ChainStake],
        seeded: bool,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let p = &self.params;
        if self.nodes.contains_key(&node_id) {
            return reject(Rejection::NodeAlreadyRegistered { node: node_id });
        }
        if bls_key.as_bytes().iter().all(|b| *b == 0) {
            return reject(Rejection::ZeroBlsKey);
        }
        if let Some(holder) = self.bls_keys.get(&bls_key) {
            return reject(Rejection::BlsKeyInUse { node: *holder });
        }
        if fee_bp > p.max_fee_bp {
            return reject(Rejection::FeeTooHigh { fee_bp, max: p.max_fee_bp });
        }
        if stakes.is_empty() {
            return reject(Rejection::NoContributors);
        }
        if stakes.len() > p.max_contributors {
            return reject(Rejection::TooManyContributors {
                count: stakes.len(),
                max: p.max_contributors,
            });
        }
        let mut seen = BTreeSet::new();
        let mut remaining = requirement;
        for (index, c) in stakes.iter().enumerate() {
            if !seen.insert(c.address) {
                return reject(Rejection::DuplicateContributor { address: c.address });
            }
            // The operator at least a quarter (rounded down), the others anything but zero.
            let minimum = if index == 0 && !seeded { (requirement / 4).max(1) } else { 1 };
            if c.amount < minimum {
                return reject(Rejection::StakeBelowMinimum { index, amount: c.amount, minimum });
            }
            if c.amount > remaining {
                return reject(Rejection::StakeAboveRemaining {
                    index,
                    amount: c.amount,
                    remaining,
                });
            }
            remaining -= c.amount;
        }
        if remaining != 0 {
            return reject(Rejection::RegistrationNotFull {
                contributed: requirement - remaining,
                requirement,
            });
        }

        let h = self.height;
        let contributors: Vec<Contributor> = stakes
            .iter()
            .map(|c| Contributor {
                address: c.address,
                beneficiary: c.beneficiary,
                amount: c.amount,
                last_contribution_height: h,
            })
            .collect();
        let operator = contributors.first().map_or(Address::from_bytes([0; 32]), |c| c.address);
        let node = Node {
            id: node_id,
            bls_key,
            fee_bp,
            staking_requirement: requirement,
            contributors,
            reservations: Vec::new(),
            phase: Phase::Awaiting,
            registration_height: h,
            activation_height: None,
            active_since_height: None,
            last_decommission_height: 0,
            decommission_count: 0,
            recommission_credit: 0,
            requested_unlock_height: None,
            last_uptime_proof_height: None,
            last_state_change_height: h,
        };
        self.bls_keys.insert(bls_key, node_id);
        self.nodes.insert(node_id, node);
        self.totals.deposited += u128::from(requirement);
        self.totals.staked += u128::from(requirement);
        events.push(Event::Registered { node: node_id, operator });
        for c in stakes {
            events.push(Event::Contributed {
                node: node_id,
                contributor: c.address,
                amount: c.amount,
            });
        }
        self.activate_if_full(node_id, events);
        Ok(())
    }

    /// `ServiceNodeExitRequest`: as oxend, the node must be registered, in service and not
    /// already unlocking. The contract checked the caller and the small-contributor delay (in
    /// its own time); the ledger still asks that the caller be a contributor.
    fn chain_request_exit(
        &mut self,
        e: &ChainRequestExit,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let id = self.node_by_bls(&e.bls_key)?;
        let node = self.node_or_reject(&id)?;
        if !matches!(node.phase, Phase::Active | Phase::Decommissioned) {
            return reject(Rejection::NotServing { status: node.status() });
        }
        if let Some(unlock_height) = node.requested_unlock_height {
            return reject(Rejection::ExitAlreadyRequested { unlock_height });
        }
        Self::contributor_index(node, &e.contributor)?;
        let unlock_height = self.height.saturating_add(self.params.unlock_blocks);
        if let Some(node) = self.nodes.get_mut(&id) {
            node.requested_unlock_height = Some(unlock_height);
        }
        self.unlocks.insert((unlock_height, id));
        events.push(Event::ExitRequested { node: id, unlock_height });
        Ok(())
    }

    /// `ServiceNodeExit` (after `ServiceNodeLiquidated` when it is a liquidation): the contract
    /// removed the node and returned `returned`; the rest of the stake was its penalty.
    fn chain_exit(&mut self, e: &ChainExit, events: &mut Vec<Event>) -> Result<(), Error> {
        let id = self.node_by_bls(&e.bls_key)?;
        let node = self.node_or_reject(&id)?;
        let total = node.total_contributed();
        // oxend returns at most the stake when the event names more.
        let returned = e.returned.min(total);
        let penalty = total - returned;
        let h = self.height;
        let removed = match node.phase {
            Phase::Removed { reason, at, liquidation_height } => {
                Some((reason, at, liquidation_height))
            }
            // The contract let a node that asked to leave go by its own clock (the wait after a
            // request, or the network's signature); it leaves now.
            Phase::Active | Phase::Decommissioned
                if penalty == 0 && node.requested_unlock_height.is_some() =>
            {
                None
            }
            _ => return reject(Rejection::NotRemoved { status: node.status() }),
        };
        if penalty == 0 {
            let was_active = node.is_active();
            if was_active {
                self.active = self.active.saturating_sub(1);
            }
            self.return_stakes(id, h.saturating_add(1), events);
            events.push(Event::Exited { node: id });
            return Ok(());
        }
        let Some((reason, removed_at, liquidation_height)) = removed else {
            return reject(Rejection::NotRemoved { status: node.status() });
        };
        if reason == RemovalReason::Exited && h < liquidation_height {
            return reject(Rejection::LiquidationTooEarly { from: liquidation_height });
        }
        let operator_stake = node.contributors.first().map_or(0, |x| x.amount);
        if penalty > operator_stake {
            return reject(Rejection::PenaltyExceedsOperatorStake { penalty, operator_stake });
        }
        // The penalty's split, as far as the ledger knows the contract's ratios.
        let liquidator_amount = match self.params.liquidation.and_then(|r| r.split(total)) {
            Some((to_liquidator, _, _)) => to_liquidator.min(penalty),
            None => 0,
        };
        let release_height =
            removed_at.saturating_add(self.params.penalty_lock_blocks).max(h.saturating_add(1));
        if let Some(operator) = self.nodes.get_mut(&id).and_then(|n| n.contributors.first_mut()) {
            operator.amount -= penalty;
        }
        self.totals.staked -= u128::from(penalty);
        self.totals.penalties += u128::from(penalty);
        events.push(Event::Liquidated {
            node: id,
            liquidator: e.liquidator.unwrap_or(Address::from_bytes([0; 32])),
            liquidator_amount,
            pool_amount: penalty - liquidator_amount,
            returned,
        });
        self.return_stakes(id, release_height, events);
        events.push(Event::Exited { node: id });
        Ok(())
    }

    fn decommission(&mut self, d: &QuorumDecision, events: &mut Vec<Event>) -> Result<(), Error> {
        let node = self.node_or_reject(&d.node)?;
        if node.phase != Phase::Active {
            return reject(Rejection::NotActive { status: node.status() });
        }
        self.check_quorum(d, node)?;
        let h = self.height;
        let credit = node.credit(h, &self.params.credit);
        let minimum = self.params.credit.decommission_minimum;
        if credit < minimum {
            return reject(Rejection::CreditTooLow { credit, minimum });
        }
        let payable =
            node.active_since_height.map(|s| s.saturating_add(self.params.payable_after_blocks));
        if let Some(node) = self.nodes.get_mut(&d.node) {
            node.phase = Phase::Decommissioned;
            node.last_decommission_height = h;
            node.decommission_count += 1;
            node.last_state_change_height = h;
        }
        if let Some(payable) = payable {
            self.payable_at.remove(&(payable, d.node));
        }
        self.active = self.active.saturating_sub(1);
        events.push(Event::Decommissioned { node: d.node, credit });
        Ok(())
    }

    fn recommission(&mut self, d: &QuorumDecision, events: &mut Vec<Event>) -> Result<(), Error> {
        let node = self.node_or_reject(&d.node)?;
        if node.phase != Phase::Decommissioned {
            return reject(Rejection::NotDecommissioned { status: node.status() });
        }
        self.check_quorum(d, node)?;
        let h = self.height;
        let at_decommission = credit_as(
            &node.credit_info(),
            true,
            node.last_decommission_height,
            &self.params.credit,
        );
        let blocks_down =
            i64::try_from(h.saturating_sub(node.last_decommission_height)).unwrap_or(i64::MAX);
        let new_credit = crate::oxen::recommission_credit(at_decommission, blocks_down);
        let payable = h.saturating_add(self.params.payable_after_blocks);
        if let Some(node) = self.nodes.get_mut(&d.node) {
            node.phase = Phase::Active;
            node.active_since_height = Some(h);
            node.recommission_credit = new_credit;
            node.last_state_change_height = h;
        }
        self.payable_at.insert((payable, d.node));
        self.active += 1;
        events.push(Event::Recommissioned { node: d.node, credit: new_credit });
        Ok(())
    }

    fn deregister(&mut self, d: &QuorumDecision, events: &mut Vec<Event>) -> Result<(), Error> {
        let node = self.node_or_reject(&d.node)?;
        if !matches!(node.phase, Phase::Active | Phase::Decommissioned) {
            return reject(Rejection::NotServing { status: node.status() });
        }
        self.check_quorum(d, node)?;
        let h = self.height;
        let was_active = node.is_active();
        let snapshot = node.clone();
        self.forget_schedules(&snapshot);
        if let Some(node) = self.nodes.get_mut(&d.node) {
            node.phase = Phase::Removed {
                reason: RemovalReason::Deregistered,
                at: h,
                liquidation_height: h,
            };
            node.requested_unlock_height = None;
            node.last_state_change_height = h;
        }
        if was_active {
            self.active = self.active.saturating_sub(1);
        }
        events.push(Event::Deregistered { node: d.node });
        Ok(())
    }

    fn uptime_proof(&mut self, p: &UptimeProof, events: &mut Vec<Event>) -> Result<(), Error> {
        let node = self.node_or_reject(&p.node)?;
        if matches!(node.phase, Phase::Removed { .. } | Phase::Liquidated { .. }) {
            return reject(Rejection::NotServing { status: node.status() });
        }
        if p.height != self.height {
            return reject(Rejection::ProofNotForThisHeight {
                proof: p.height,
                height: self.height,
            });
        }
        if let Some(last) = node.last_uptime_proof_height {
            let next = last.saturating_add(self.params.uptime_proof_interval_blocks);
            if self.height < next {
                return reject(Rejection::ProofTooSoon { next });
            }
        }
        if let Some(node) = self.nodes.get_mut(&p.node) {
            node.last_uptime_proof_height = Some(self.height);
        }
        events.push(Event::UptimeProof { node: p.node });
        Ok(())
    }

    fn advance(&mut self, height: u64, events: &mut Vec<Event>) -> Result<(), Error> {
        let expected = self.height.saturating_add(1);
        if height != expected {
            return reject(Rejection::HeightNotNext { expected, got: height });
        }
        self.height = height;
        events.push(Event::HeightAdvanced { height });

        // Exit requests whose unlock height is now passed.
        while let Some(&(unlock, id)) = self.unlocks.first() {
            if unlock >= height {
                break;
            }
            self.unlocks.pop_first();
            let liquidation_height = height.saturating_add(self.params.exit_buffer_blocks);
            let payable_after = self.params.payable_after_blocks;
            if let Some(node) = self.nodes.get_mut(&id) {
                if node.is_active() {
                    self.active = self.active.saturating_sub(1);
                }
                if let Some(since) = node.active_since_height {
                    self.payable_at.remove(&(since.saturating_add(payable_after), id));
                }
                node.phase = Phase::Removed {
                    reason: RemovalReason::Exited,
                    at: height,
                    liquidation_height,
                };
                node.last_state_change_height = height;
                events.push(Event::Expired { node: id, liquidation_height });
            }
        }
        // Stake due for release.
        while let Some((&(release, _), _)) = self.pending.first_key_value() {
            if release > height {
                break;
            }
            if let Some((_, r)) = self.pending.pop_first() {
                self.totals.pending -= u128::from(r.amount);
                self.totals.released += u128::from(r.amount);
                events.push(Event::StakeReleased { address: r.address, amount: r.amount });
            }
        }
        // Liquidated records whose stake is now released.
        while let Some(&(at, id)) = self.purges.first() {
            if at > height {
                break;
            }
            self.purges.pop_first();
            if let Some(node) = self.nodes.remove(&id) {
                self.bls_keys.remove(&node.bls_key);
                events.push(Event::Purged { node: id });
            }
        }
        // Nodes that start earning.
        while let Some(&(at, id)) = self.payable_at.first() {
            if at > height {
                break;
            }
            self.payable_at.pop_first();
            if self.nodes.get(&id).is_some_and(Node::is_active) {
                events.push(Event::BecamePayable { node: id });
            }
        }
        Ok(())
    }
}

/// Helps `NodeStatus` appear in rejections.
impl core::fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::AwaitingContributions => "awaiting contributions",
            Self::Active => "active",
            Self::ExitRequested => "active with an exit requested",
            Self::Decommissioned => "decommissioned",
            Self::Removed => "removed",
            Self::Liquidated => "liquidated",
        })
    }
}
