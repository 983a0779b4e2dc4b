//! The staking contract's events as plain values: what [`crate::abi`] decodes logs into and
//! [`crate::ledger`] maps onto `sesh-staking` transactions. Amounts stay `U256` here (the
//! contract's type, in atomic units of a 9-decimal token); the ledger mapping narrows them.

use core::fmt;

pub use alloy_primitives::U256;
use sesh_staking::{BlsKey, NodeId};

/// A 20-byte EVM account or contract address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvmAddress(pub [u8; 20]);

impl fmt::Display for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvmAddress({self})")
    }
}

/// Where a log is on the chain: events apply in this order (block, then index in the block).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// The chain block's number.
    pub block: u64,
    /// The log's index within its block.
    pub index: u64,
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.block, self.index)
    }
}

/// A contributor as `NewServiceNodeV2` lists it: `((addr, beneficiary), stakedAmount)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contributor {
    /// The account that staked.
    pub address: EvmAddress,
    /// Where its rewards go.
    pub beneficiary: EvmAddress,
    /// Atomic units staked.
    pub amount: U256,
}

/// One event of the staking contract (the live `ServiceNodeRewards`'s, and sesh's one
/// addition, [`ContractEvent::NetworkTransaction`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContractEvent {
    /// `NewServiceNodeV2`: a fully staked node joins.
    NewServiceNode {
        /// The contract's id for the node.
        id: u64,
        /// Who sent the transaction (the operator, or a multi-contribution contract).
        initiator: EvmAddress,
        /// The node's BLS key (G1, X‖Y big-endian).
        bls_key: BlsKey,
        /// The node's Ed25519 key (`serviceNodePubkey`).
        node: NodeId,
        /// The node's Ed25519 signature (`serviceNodeSignature1‖serviceNodeSignature2`).
        node_signature: [u8; 64],
        /// Operator fee, in the contract's units (basis points out of 10,000).
        fee: u16,
        /// The stakers, the operator first.
        contributors: Vec<Contributor>,
    },
    /// `ServiceNodeExitRequest`: a contributor asks for the node to leave.
    ExitRequest {
        /// The node's id.
        id: u64,
        /// The contributor who asked.
        initiator: EvmAddress,
        /// The node's BLS key.
        bls_key: BlsKey,
    },
    /// `ServiceNodeExit`: the node left the contract and its stake was released.
    Exit {
        /// The node's id.
        id: u64,
        /// Who sent the transaction.
        initiator: EvmAddress,
        /// Atomic units returned.
        returned: U256,
        /// The node's BLS key.
        bls_key: BlsKey,
    },
    /// `ServiceNodeLiquidated`: the node was removed with a penalty.
    Liquidated {
        /// The node's id.
        id: u64,
        /// Who sent the transaction.
        initiator: EvmAddress,
        /// The node's BLS key.
        bls_key: BlsKey,
    },
    /// `RewardsBalanceUpdated`: a recipient's claimable balance, as the network signed it.
    RewardsBalanceUpdated {
        /// The recipient.
        recipient: EvmAddress,
        /// The new cumulative balance.
        amount: U256,
        /// The balance before.
        previous: U256,
    },
    /// `RewardsClaimed`: tokens paid out to a recipient.
    RewardsClaimed {
        /// The recipient.
        recipient: EvmAddress,
        /// Atomic units paid.
        amount: U256,
    },
    /// `StakingRequirementUpdated`: a new full stake for nodes registered from now on.
    StakingRequirementUpdated {
        /// Atomic units.
        requirement: U256,
    },
    /// sesh's addition, `NetworkTransaction(address indexed sender, bytes transaction)`: a
    /// signed `sesh-staking` transaction (a quorum's decision) put on the chain so that every
    /// follower applies it at the same height. The chain does not check it; each follower checks
    /// its signatures itself.
    NetworkTransaction {
        /// Who posted it.
        sender: EvmAddress,
        /// The transaction's canonical bytes (`SignedTx::to_bytes`).
        transaction: Vec<u8>,
    },
}
