//! What a transaction changed.

use crate::keys::{Address, NodeId};

/// One change the ledger made. [`Ledger::apply`](crate::Ledger::apply) returns them in the order
/// they happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// A node was registered by its operator.
    Registered {
        /// The node.
        node: NodeId,
        /// Its operator.
        operator: Address,
    },
    /// A contributor staked into a node.
    Contributed {
        /// The node.
        node: NodeId,
        /// The contributor.
        contributor: Address,
        /// Atomic units.
        amount: u64,
    },
    /// A node was fully staked and became active.
    Activated {
        /// The node.
        node: NodeId,
    },
    /// A contributor took its stake back from a node not yet active (refunded at once).
    Withdrawn {
        /// The node.
        node: NodeId,
        /// The contributor.
        contributor: Address,
        /// Atomic units refunded.
        amount: u64,
    },
    /// The operator withdrew: the registration is cancelled and everyone refunded.
    RegistrationCancelled {
        /// The node.
        node: NodeId,
    },
    /// A contributor asked for the node to leave.
    ExitRequested {
        /// The node.
        node: NodeId,
        /// It leaves at the first block above this height.
        unlock_height: u64,
    },
    /// A node's unlock height passed: it left service.
    Expired {
        /// The node.
        node: NodeId,
        /// From this height it can be liquidated if its stake has not been exited.
        liquidation_height: u64,
    },
    /// A removed node's stake was exited; the node is gone.
    Exited {
        /// The node.
        node: NodeId,
    },
    /// Stake queued for return.
    StakeQueued {
        /// The staker it returns to.
        address: Address,
        /// Atomic units.
        amount: u64,
        /// The height it is released at.
        release_height: u64,
    },
    /// Queued stake was released to its staker.
    StakeReleased {
        /// The staker.
        address: Address,
        /// Atomic units.
        amount: u64,
    },
    /// A node was decommissioned.
    Decommissioned {
        /// The node.
        node: NodeId,
        /// Its credit at that moment, in blocks.
        credit: i64,
    },
    /// A node was recommissioned.
    Recommissioned {
        /// The node.
        node: NodeId,
        /// The credit it starts its new active period with.
        credit: i64,
    },
    /// A node was deregistered.
    Deregistered {
        /// The node.
        node: NodeId,
    },
    /// A removed node was liquidated.
    Liquidated {
        /// The node.
        node: NodeId,
        /// Who liquidated it.
        liquidator: Address,
        /// Paid to the liquidator.
        liquidator_amount: u64,
        /// Paid to the reward pool.
        pool_amount: u64,
        /// Left for the contributors (queued).
        returned: u64,
    },
    /// A liquidated node's record was dropped after its stake's release.
    Purged {
        /// The node.
        node: NodeId,
    },
    /// A node's uptime proof was accepted.
    UptimeProof {
        /// The node.
        node: NodeId,
    },
    /// A node started earning rewards (active for the payable delay).
    BecamePayable {
        /// The node.
        node: NodeId,
    },
    /// The ledger moved to a new height.
    HeightAdvanced {
        /// The new height.
        height: u64,
    },
    /// The staking requirement of nodes registered from now on changed (the contract's
    /// `StakingRequirementUpdated`).
    StakingRequirementChanged {
        /// Atomic units.
        requirement: u64,
    },
}
