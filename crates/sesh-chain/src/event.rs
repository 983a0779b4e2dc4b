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
    /// `NewSeededServiceNode(uint64 indexed serviceNodeID, G1Point blsPubkey, uint256
    /// ed25519Pubkey)`: the contract's owner seeded a node before the contract started (the live
    /// launch's import of the Oxen chain's node list, `seedPublicKeyList`). The log carries no
    /// stakes: what the contract held for the node (operator, deposit, contributors) is read
    /// with `serviceNodes(id)` at the log's block (the state at the end of that block) and put
    /// in `held` by whoever fetches logs ([`crate::follow::Height::seeded`] lists what to
    /// fetch, [`crate::follow::Height::supply`] puts it in).
    SeededServiceNode {
        /// The contract's id for the node.
        id: u64,
        /// The node's BLS key.
        bls_key: BlsKey,
        /// The node's Ed25519 key (`ed25519Pubkey`, big-endian: the key's bytes).
        node: NodeId,
        /// What `serviceNodes(id)` answered at the end of the log's block;
        /// [`Held::NotFetched`] as decoded from the log alone.
        held: Held,
    },
}

/// What the contract held for a seeded node at the end of its `NewSeededServiceNode`'s block:
/// the answer to `serviceNodes(id)` called at that block.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Held {
    /// Not asked (a log decoded alone): the ledger mapping refuses the event.
    #[default]
    NotFetched,
    /// The contract's record of the node (all zeros when it no longer held one).
    Node(Box<HeldNode>),
    /// The call reverted, with this revert data.
    Reverted(Vec<u8>),
    /// The call's answer does not decode as the contract's `ServiceNode` struct: why.
    Malformed(String),
}

/// The contract's `ServiceNode` record (the live layout: `next`, `prev`, `operator`,
/// `blsPubkey`, `addedTimestamp`, `leaveRequestTimestamp`, `latestLeaveRequestTimestamp`,
/// `deposit`, `contributors`, `ed25519Pubkey`), less the list links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldNode {
    /// `operator`: the first contributor's address.
    pub operator: EvmAddress,
    /// `blsPubkey`.
    pub bls_key: BlsKey,
    /// `ed25519Pubkey`.
    pub node: NodeId,
    /// `addedTimestamp` (seconds).
    pub added_timestamp: U256,
    /// `leaveRequestTimestamp` (0: none).
    pub leave_request_timestamp: U256,
    /// `deposit`: the node's full stake.
    pub deposit: U256,
    /// `contributors`, the operator first.
    pub contributors: Vec<Contributor>,
}

impl HeldNode {
    /// Whether the record is the contract's empty one (no node with that id: never added, or
    /// removed).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.node.as_bytes().iter().all(|b| *b == 0) && self.operator.0.iter().all(|b| *b == 0)
    }
}
