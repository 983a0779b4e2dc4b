//! A node's record in the ledger.

use serde::{Deserialize, Serialize};

use crate::keys::{Address, BlsKey, NodeId};
use crate::oxen::CreditInfo;
use crate::params::CreditParams;

/// One contributor's stake in a node (index 0 is the operator).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Contributor {
    /// The staker: who contributed, and who gets the stake back.
    pub address: Address,
    /// Who receives this contributor's rewards.
    pub beneficiary: Address,
    /// Atomic units staked.
    pub amount: u64,
    /// Height of its last contribution (for the withdrawal delay).
    pub last_contribution_height: u64,
}

/// A spot the operator reserved for a named contributor at registration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reservation {
    /// Who the spot is for.
    pub address: Address,
    /// The least they must stake with their first contribution.
    pub amount: u64,
    /// Whether they have.
    pub received: bool,
}

/// Why a node left service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RemovalReason {
    /// Its exit request's unlock height passed.
    Exited,
    /// The quorum deregistered it.
    Deregistered,
}

/// Where a node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeStatus {
    /// Registered, not yet fully staked; contributors may join or withdraw.
    AwaitingContributions,
    /// Fully staked and serving.
    Active,
    /// Active, with an exit requested: it serves (and earns) until the unlock height.
    ExitRequested,
    /// Temporarily out of service by the quorum's decision; it burns credit while down.
    Decommissioned,
    /// Out of service for good; its stake waits to be exited (or liquidated).
    Removed,
    /// Liquidated: the penalty is paid, the rest of the stake waits for its release height.
    Liquidated,
}

/// The state machine's own state, which [`NodeStatus`] summarises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Phase {
    Awaiting,
    Active,
    Decommissioned,
    Removed { reason: RemovalReason, at: u64, liquidation_height: u64 },
    Liquidated { at: u64, release_height: u64 },
}

/// A node's record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Node {
    pub(crate) id: NodeId,
    pub(crate) bls_key: BlsKey,
    pub(crate) fee_bp: u16,
    pub(crate) staking_requirement: u64,
    pub(crate) contributors: Vec<Contributor>,
    pub(crate) reservations: Vec<Reservation>,
    pub(crate) phase: Phase,
    pub(crate) registration_height: u64,
    /// When it was first fully staked.
    pub(crate) activation_height: Option<u64>,
    /// Start of the current (or, while decommissioned, the last) active period.
    pub(crate) active_since_height: Option<u64>,
    pub(crate) last_decommission_height: u64,
    pub(crate) decommission_count: u32,
    pub(crate) recommission_credit: i64,
    pub(crate) requested_unlock_height: Option<u64>,
    pub(crate) last_uptime_proof_height: Option<u64>,
    /// Height of the last registration, activation or quorum state change: votes must be
    /// cast for a later height.
    pub(crate) last_state_change_height: u64,
}

impl Node {
    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Its BLS key.
    pub fn bls_key(&self) -> BlsKey {
        self.bls_key
    }

    /// The operator (contributor 0).
    pub fn operator(&self) -> Address {
        self.contributors.first().map_or(Address::from_bytes([0; 32]), |c| c.address)
    }

    /// The operator's fee in basis points.
    pub fn fee_bp(&self) -> u16 {
        self.fee_bp
    }

    /// The requirement frozen at registration.
    pub fn staking_requirement(&self) -> u64 {
        self.staking_requirement
    }

    /// Contributors in contribution order, operator first.
    pub fn contributors(&self) -> &[Contributor] {
        &self.contributors
    }

    /// Reserved spots.
    pub fn reservations(&self) -> &[Reservation] {
        &self.reservations
    }

    /// Sum of the stakes.
    pub fn total_contributed(&self) -> u64 {
        self.contributors.iter().map(|c| c.amount).sum()
    }

    /// Reserved amounts not yet contributed.
    pub fn unfilled_reserved(&self) -> u64 {
        self.reservations.iter().filter(|r| !r.received).map(|r| r.amount).sum()
    }

    /// Where the node is in its life.
    pub fn status(&self) -> NodeStatus {
        match self.phase {
            Phase::Awaiting => NodeStatus::AwaitingContributions,
            Phase::Active if self.requested_unlock_height.is_some() => NodeStatus::ExitRequested,
            Phase::Active => NodeStatus::Active,
            Phase::Decommissioned => NodeStatus::Decommissioned,
            Phase::Removed { .. } => NodeStatus::Removed,
            Phase::Liquidated { .. } => NodeStatus::Liquidated,
        }
    }

    /// Why and when it was removed, and from when it may be liquidated.
    pub fn removal(&self) -> Option<(RemovalReason, u64, u64)> {
        match self.phase {
            Phase::Removed { reason, at, liquidation_height } => {
                Some((reason, at, liquidation_height))
            }
            _ => None,
        }
    }

    /// Height of registration.
    pub fn registration_height(&self) -> u64 {
        self.registration_height
    }

    /// When it was first fully staked.
    pub fn activation_height(&self) -> Option<u64> {
        self.activation_height
    }

    /// Start of the current active period.
    pub fn active_since_height(&self) -> Option<u64> {
        self.active_since_height
    }

    /// The height its exit request lets it leave after.
    pub fn requested_unlock_height(&self) -> Option<u64> {
        self.requested_unlock_height
    }

    /// Times decommissioned.
    pub fn decommission_count(&self) -> u32 {
        self.decommission_count
    }

    /// Height of its last accepted uptime proof.
    pub fn last_uptime_proof_height(&self) -> Option<u64> {
        self.last_uptime_proof_height
    }

    /// Serving: active or exit requested.
    pub fn is_active(&self) -> bool {
        self.phase == Phase::Active
    }

    /// Earning at `height`: active, and active for at least `payable_after` blocks.
    pub fn is_payable(&self, height: u64, payable_after: u64) -> bool {
        self.is_active()
            && self
                .active_since_height
                .is_some_and(|since| height >= since.saturating_add(payable_after))
    }

    /// The record as oxend's credit functions read it.
    pub(crate) fn credit_info(&self) -> CreditInfo {
        let since = self.active_since_height.map_or(0, |h| i64::try_from(h).unwrap_or(i64::MAX));
        let funded = self.active_since_height.is_some();
        CreditInfo {
            active_since_height: if self.phase == Phase::Decommissioned { -since } else { since },
            last_decommission_height: self.last_decommission_height,
            recommission_credit: self.recommission_credit,
            total_contributed: u64::from(funded),
            staking_requirement: 1,
        }
    }

    /// Decommission credit in blocks at `height` (spec §2.4).
    pub fn credit(&self, height: u64, params: &CreditParams) -> i64 {
        // The phase says whether it is decommissioned: a node active since height 0 reads as
        // `-0` in oxend's signed form, which is not negative.
        credit_as(&self.credit_info(), self.phase == Phase::Decommissioned, height, params)
    }

    /// Height of its last decommission (0 if never).
    pub fn last_decommission_height(&self) -> u64 {
        self.last_decommission_height
    }

    /// Credit in blocks at the start of its current (or, while decommissioned, last) active
    /// period.
    pub fn recommission_credit(&self) -> i64 {
        self.recommission_credit
    }
}

/// oxend's credit formula with a network's schedule.
pub(crate) fn credit(info: &CreditInfo, height: u64, params: &CreditParams) -> i64 {
    credit_as(info, info.is_decommissioned(), height, params)
}

/// oxend's credit formula, told whether the node is decommissioned rather than reading it from
/// the sign of `active_since_height` (whose magnitude is the start of the active period).
pub(crate) fn credit_as(
    info: &CreditInfo,
    decommissioned: bool,
    height: u64,
    params: &CreditParams,
) -> i64 {
    let as_i64 = |h: u64| i64::try_from(h).unwrap_or(i64::MAX);
    let blocks_up = if info.total_contributed < info.staking_requirement {
        0
    } else if decommissioned {
        as_i64(info.last_decommission_height).saturating_sub(
            i64::try_from(info.active_since_height.unsigned_abs()).unwrap_or(i64::MAX),
        )
    } else {
        as_i64(height).saturating_sub(info.active_since_height)
    };
    let mut credit = info.recommission_credit;
    if blocks_up > 0 && params.blocks_per_day > 0 {
        credit =
            credit.saturating_add(blocks_up.saturating_mul(params.per_day) / params.blocks_per_day);
    }
    credit = credit.min(params.max);
    if decommissioned {
        credit = credit
            .saturating_sub(as_i64(height).saturating_sub(as_i64(info.last_decommission_height)));
    }
    credit
}
