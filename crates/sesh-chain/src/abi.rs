//! The staking contract's logs decoded: the live `ServiceNodeRewards` events by their live
//! signatures (session-token-contracts `ae0f6a6`), and sesh's one addition,
//! `NetworkTransaction(address indexed sender, bytes transaction)`.
//!
//! [`decode`] takes a log as JSON-RPC gives it ([`RawLog`]) and answers
//! - [`Decoded::Event`] for the events followers use (the [`ContractEvent`] variants);
//!   `NewSeededServiceNode` (the launch's import of the existing node list) among them: oxend
//!   ignores it (it had those nodes from its own chain), but a sesh follower has no other
//!   source, so it reads the stakes the log lacks with `serviceNodes(id)` ([`service_node_call`],
//!   [`decode_service_node`]; see [`ContractEvent::SeededServiceNode`]);
//! - [`Decoded::Ignored`] with the event's name for the contract's other events: its setters'
//!   (`BLSNonSignerThresholdMaxUpdated`, `ClaimThresholdUpdated`, `ClaimCycleUpdated`,
//!   `LiquidationRatiosUpdated`, `SignatureExpiryUpdated`), and OpenZeppelin 5's (`OwnershipTransferStarted`, `OwnershipTransferred`, `Paused`,
//!   `Unpaused`, `Initialized`). These are recognised by their first topic only;
//! - [`Error::UnknownEvent`] for a first topic the contract never emits (or no topic), and
//!   [`Error::MalformedLog`] for a followed event whose topics or data do not decode strictly:
//!   exactly the event's topic count, zero padding in every topic and word (alloy's validating
//!   decoder), data long enough for every offset and length. Bytes past the encoding are
//!   tolerated, as alloy's decoder tolerates them. No input panics.
//!
//! # How the node's key and signature sit in `NewServiceNodeV2` (checked in oxen-core `dev`,
//! `src/l2_tracker/rewards_contract.cpp` and `src/cryptonote_core/service_node_list.cpp`)
//! - `serviceNodePubkey` (`uint256`) is the 32 Ed25519 key bytes read as a big-endian integer:
//!   its 32-byte big-endian encoding is the key, byte for byte (oxend copies the data word).
//! - `serviceNodeSignature1‖serviceNodeSignature2` (two `uint256`) are the 64 signature bytes,
//!   each word big-endian: `R` is word 1, `s` is word 2.
//! - `pubkey` (`G1Point(X, Y)`) is the BLS key as X‖Y, each 32 bytes big-endian (64 bytes).
//! - The Ed25519 signature signs the 96 bytes `ed25519 key (32) ‖ BLS key X‖Y (64)`, nothing
//!   else: no domain tag, no chain id, no hash first, not the fee nor the contributors
//!   (oxend's `get_eth_registration_message_for_signing`, checked with libsodium's
//!   `crypto_sign_ed25519_verify_detached`). [`node_signature_message`] builds it. The contract
//!   does not check it; followers do (the ledger mapping).

use alloy_primitives::{B256, FixedBytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
use sesh_staking::{BlsKey, NodeId};

use crate::event::{Contributor, Held, HeldNode};
use crate::{ContractEvent, Error, EvmAddress, LogPosition, Result};

/// The contract's ABI as `alloy-sol-types` declarations: the live `ServiceNodeRewards`'s
/// structs and events (signatures exactly as deployed), the OpenZeppelin events it inherits,
/// and sesh's `NetworkTransaction` event and `submitNetworkTransaction` function.
#[allow(missing_docs, clippy::pub_underscore_fields, missing_debug_implementations)]
pub mod sol {
    alloy_sol_types::sol! {
        /// `BN256G1.G1Point`.
        #[derive(Debug, PartialEq, Eq)]
        struct G1Point { uint256 X; uint256 Y; }
        /// `IServiceNodeRewards.ServiceNodeParams`.
        #[derive(Debug, PartialEq, Eq)]
        struct ServiceNodeParams {
            uint256 serviceNodePubkey;
            uint256 serviceNodeSignature1;
            uint256 serviceNodeSignature2;
            uint16 fee;
        }
        /// `IServiceNodeRewards.Staker`.
        #[derive(Debug, PartialEq, Eq)]
        struct Staker { address addr; address beneficiary; }
        /// `IServiceNodeRewards.Contributor`.
        #[derive(Debug, PartialEq, Eq)]
        struct Contributor { Staker staker; uint256 stakedAmount; }
        /// `IServiceNodeRewards.ServiceNode`: what `serviceNodes(id)` returns.
        #[derive(Debug, PartialEq, Eq)]
        struct ServiceNode {
            uint64 next;
            uint64 prev;
            address operator;
            G1Point blsPubkey;
            uint256 addedTimestamp;
            uint256 leaveRequestTimestamp;
            uint256 latestLeaveRequestTimestamp;
            uint256 deposit;
            Contributor[] contributors;
            uint256 ed25519Pubkey;
        }
        /// `IServiceNodeRewards.SeedServiceNode`: one node of `seedPublicKeyList`.
        #[derive(Debug, PartialEq, Eq)]
        struct SeedServiceNode {
            G1Point blsPubkey;
            uint256 ed25519Pubkey;
            uint256 addedTimestamp;
            Contributor[] contributors;
        }

        function serviceNodes(uint64 serviceNodeID) external view returns (ServiceNode memory);
        function seedPublicKeyList(SeedServiceNode[] nodes) external;

        #[derive(Debug, PartialEq, Eq)]
        event NewServiceNodeV2(
            uint64 indexed serviceNodeID,
            address initiator,
            G1Point pubkey,
            ServiceNodeParams serviceNode,
            Contributor[] contributors
        );
        #[derive(Debug, PartialEq, Eq)]
        event NewSeededServiceNode(uint64 indexed serviceNodeID, G1Point blsPubkey, uint256 ed25519Pubkey);
        #[derive(Debug, PartialEq, Eq)]
        event ServiceNodeExitRequest(uint64 indexed serviceNodeID, address initiator, G1Point pubkey);
        #[derive(Debug, PartialEq, Eq)]
        event ServiceNodeExit(uint64 indexed serviceNodeID, address initiator, uint256 returnedAmount, G1Point pubkey);
        #[derive(Debug, PartialEq, Eq)]
        event ServiceNodeLiquidated(uint64 indexed serviceNodeID, address initiator, G1Point pubkey);
        #[derive(Debug, PartialEq, Eq)]
        event RewardsBalanceUpdated(address indexed recipientAddress, uint256 amount, uint256 previousBalance);
        #[derive(Debug, PartialEq, Eq)]
        event RewardsClaimed(address indexed recipientAddress, uint256 amount);
        #[derive(Debug, PartialEq, Eq)]
        event StakingRequirementUpdated(uint256 newRequirement);
        event BLSNonSignerThresholdMaxUpdated(uint256 newMax);
        event ClaimThresholdUpdated(uint256 newThreshold);
        event ClaimCycleUpdated(uint256 newValue);
        event LiquidationRatiosUpdated(uint256 liquidatorRatio, uint256 poolRatio, uint256 recipientRatio);
        event SignatureExpiryUpdated(uint256 newExpiry);

        // OpenZeppelin 5 (Ownable2StepUpgradeable, PausableUpgradeable, Initializable).
        event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
        event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
        event Paused(address account);
        event Unpaused(address account);
        event Initialized(uint64 version);

        // sesh's addition.
        #[derive(Debug, PartialEq, Eq)]
        event NetworkTransaction(address indexed sender, bytes transaction);
        function submitNetworkTransaction(bytes transaction);
    }
}

/// A log as `eth_getLogs` returns it, in plain types (the caller parses the JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLog {
    /// The emitting contract.
    pub address: EvmAddress,
    /// `topics`: the event's signature hash first, then its indexed parameters.
    pub topics: Vec<[u8; 32]>,
    /// `data`: the ABI-encoded non-indexed parameters.
    pub data: Vec<u8>,
    /// `blockNumber`.
    pub block_number: u64,
    /// `blockHash`.
    pub block_hash: [u8; 32],
    /// `logIndex`: the log's index in its block.
    pub log_index: u64,
    /// `transactionHash`.
    pub transaction_hash: [u8; 32],
    /// `removed`: true when a reorg removed the log (a node says so in filters and
    /// subscriptions); the follower refuses such an answer and refetches.
    pub removed: bool,
}

impl RawLog {
    /// Where the log is on the chain.
    pub const fn position(&self) -> LogPosition {
        LogPosition { block: self.block_number, index: self.log_index }
    }
}

/// What a log of the contract is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// An event that followers apply.
    Event(ContractEvent),
    /// A known event of the contract that followers do not use, by name.
    Ignored(&'static str),
}

/// The 96 bytes that a node's Ed25519 key signs to register with the BLS key `bls_key`:
/// `node (32) ‖ bls_key X‖Y (64)`, as oxend builds and checks it for `NewServiceNodeV2`'s
/// `serviceNodeSignature1‖2` (see the module docs).
#[must_use]
pub fn node_signature_message(node: &NodeId, bls_key: &BlsKey) -> [u8; 96] {
    let mut message = [0u8; 96];
    let (key, bls) = message.split_at_mut(32);
    key.copy_from_slice(node.as_bytes());
    bls.copy_from_slice(bls_key.as_bytes());
    message
}

impl ContractEvent {
    /// For [`ContractEvent::NewServiceNode`], the message its `node_signature` signs
    /// ([`node_signature_message`]); `None` for other events.
    #[must_use]
    pub fn node_signature_message(&self) -> Option<[u8; 96]> {
        match self {
            Self::NewServiceNode { node, bls_key, .. } => {
                Some(node_signature_message(node, bls_key))
            }
            _ => None,
        }
    }
}

/// The events [`decode`] recognises but does not use, by first topic.
fn ignored(topic: &B256) -> Option<&'static str> {
    use sol::{
        BLSNonSignerThresholdMaxUpdated, ClaimCycleUpdated, ClaimThresholdUpdated, Initialized,
        LiquidationRatiosUpdated, OwnershipTransferStarted, OwnershipTransferred, Paused,
        SignatureExpiryUpdated, Unpaused,
    };
    const IGNORED: [(B256, &str); 10] = [
        (BLSNonSignerThresholdMaxUpdated::SIGNATURE_HASH, "BLSNonSignerThresholdMaxUpdated"),
        (ClaimThresholdUpdated::SIGNATURE_HASH, "ClaimThresholdUpdated"),
        (ClaimCycleUpdated::SIGNATURE_HASH, "ClaimCycleUpdated"),
        (LiquidationRatiosUpdated::SIGNATURE_HASH, "LiquidationRatiosUpdated"),
        (SignatureExpiryUpdated::SIGNATURE_HASH, "SignatureExpiryUpdated"),
        (OwnershipTransferStarted::SIGNATURE_HASH, "OwnershipTransferStarted"),
        (OwnershipTransferred::SIGNATURE_HASH, "OwnershipTransferred"),
        (Paused::SIGNATURE_HASH, "Paused"),
        (Unpaused::SIGNATURE_HASH, "Unpaused"),
        (Initialized::SIGNATURE_HASH, "Initialized"),
    ];
    IGNORED.iter().find(|(hash, _)| hash == topic).map(|(_, name)| *name)
}

/// Decodes one log of the followed contract.
///
/// # Errors
/// [`Error::UnknownEvent`] when its first topic is no event of the contract (or it has none);
/// [`Error::MalformedLog`] when it names a followed event but its topics or data do not decode
/// as that event (see the module docs for how strict).
pub fn decode(log: &RawLog) -> Result<Decoded> {
    let at = log.position();
    let Some(topic0) = log.topics.first().map(|t| B256::from(*t)) else {
        return Err(Error::UnknownEvent { at, topic: None });
    };
    let event = match topic0 {
        sol::NewServiceNodeV2::SIGNATURE_HASH => {
            let e = strict::<sol::NewServiceNodeV2>(log, "NewServiceNodeV2", &[Word::U64])?;
            let params = e.serviceNode;
            let mut node_signature = [0u8; 64];
            let (r, s) = node_signature.split_at_mut(32);
            r.copy_from_slice(&params.serviceNodeSignature1.to_be_bytes::<32>());
            s.copy_from_slice(&params.serviceNodeSignature2.to_be_bytes::<32>());
            ContractEvent::NewServiceNode {
                id: e.serviceNodeID,
                initiator: address(e.initiator),
                bls_key: bls_key(&e.pubkey),
                node: NodeId::from_bytes(params.serviceNodePubkey.to_be_bytes::<32>()),
                node_signature,
                fee: params.fee,
                contributors: e
                    .contributors
                    .into_iter()
                    .map(|c| Contributor {
                        address: address(c.staker.addr),
                        beneficiary: address(c.staker.beneficiary),
                        amount: c.stakedAmount,
                    })
                    .collect(),
            }
        }
        sol::ServiceNodeExitRequest::SIGNATURE_HASH => {
            let e =
                strict::<sol::ServiceNodeExitRequest>(log, "ServiceNodeExitRequest", &[Word::U64])?;
            ContractEvent::ExitRequest {
                id: e.serviceNodeID,
                initiator: address(e.initiator),
                bls_key: bls_key(&e.pubkey),
            }
        }
        sol::ServiceNodeExit::SIGNATURE_HASH => {
            let e = strict::<sol::ServiceNodeExit>(log, "ServiceNodeExit", &[Word::U64])?;
            ContractEvent::Exit {
                id: e.serviceNodeID,
                initiator: address(e.initiator),
                returned: e.returnedAmount,
                bls_key: bls_key(&e.pubkey),
            }
        }
        sol::ServiceNodeLiquidated::SIGNATURE_HASH => {
            let e =
                strict::<sol::ServiceNodeLiquidated>(log, "ServiceNodeLiquidated", &[Word::U64])?;
            ContractEvent::Liquidated {
                id: e.serviceNodeID,
                initiator: address(e.initiator),
                bls_key: bls_key(&e.pubkey),
            }
        }
        sol::RewardsBalanceUpdated::SIGNATURE_HASH => {
            let e = strict::<sol::RewardsBalanceUpdated>(
                log,
                "RewardsBalanceUpdated",
                &[Word::Address],
            )?;
            ContractEvent::RewardsBalanceUpdated {
                recipient: address(e.recipientAddress),
                amount: e.amount,
                previous: e.previousBalance,
            }
        }
        sol::RewardsClaimed::SIGNATURE_HASH => {
            let e = strict::<sol::RewardsClaimed>(log, "RewardsClaimed", &[Word::Address])?;
            ContractEvent::RewardsClaimed {
                recipient: address(e.recipientAddress),
                amount: e.amount,
            }
        }
        sol::StakingRequirementUpdated::SIGNATURE_HASH => {
            let e =
                strict::<sol::StakingRequirementUpdated>(log, "StakingRequirementUpdated", &[])?;
            ContractEvent::StakingRequirementUpdated { requirement: e.newRequirement }
        }
        sol::NetworkTransaction::SIGNATURE_HASH => {
            let e = strict::<sol::NetworkTransaction>(log, "NetworkTransaction", &[Word::Address])?;
            ContractEvent::NetworkTransaction {
                sender: address(e.sender),
                transaction: e.transaction.to_vec(),
            }
        }
        sol::NewSeededServiceNode::SIGNATURE_HASH => {
            let e = strict::<sol::NewSeededServiceNode>(log, "NewSeededServiceNode", &[Word::U64])?;
            ContractEvent::SeededServiceNode {
                id: e.serviceNodeID,
                bls_key: bls_key(&e.blsPubkey),
                node: NodeId::from_bytes(e.ed25519Pubkey.to_be_bytes::<32>()),
                held: Held::NotFetched,
            }
        }
        other => {
            return match ignored(&other) {
                Some(name) => Ok(Decoded::Ignored(name)),
                None => Err(Error::UnknownEvent { at, topic: Some(other.0) }),
            };
        }
    };
    Ok(Decoded::Event(event))
}

/// The type of an indexed parameter, for its padding check.
#[derive(Clone, Copy)]
enum Word {
    /// `uint64`: 24 zero bytes first.
    U64,
    /// `address`: 12 zero bytes first.
    Address,
}

/// Decodes `log` as `E` with exactly `1 + indexed.len()` topics, zero-padded indexed words and
/// validated data.
fn strict<E: SolEvent>(log: &RawLog, event: &'static str, indexed: &[Word]) -> Result<E> {
    let malformed = |why: String| Error::MalformedLog { at: log.position(), event, why };
    let expected = indexed.len() + 1;
    if log.topics.len() != expected {
        return Err(malformed(format!("{} topics, the event has {expected}", log.topics.len())));
    }
    for (n, (word, topic)) in indexed.iter().zip(log.topics.iter().skip(1)).enumerate() {
        let zeros = match word {
            Word::U64 => 24,
            Word::Address => 12,
        };
        if topic.iter().take(zeros).any(|b| *b != 0) {
            return Err(malformed(format!(
                "topic {} 0x{} is not a zero-padded {}",
                n + 1,
                hex::encode(topic),
                match word {
                    Word::U64 => "uint64",
                    Word::Address => "address",
                }
            )));
        }
    }
    let topics = log.topics.iter().map(|t| alloy_sol_types::Word::from(*t));
    E::decode_raw_log_validate(topics, &log.data).map_err(|e| malformed(e.to_string()))
}

fn address(a: alloy_primitives::Address) -> EvmAddress {
    EvmAddress(a.into_array())
}

fn bls_key(p: &sol::G1Point) -> BlsKey {
    let mut key = [0u8; 64];
    let (x, y) = key.split_at_mut(32);
    x.copy_from_slice(&p.X.to_be_bytes::<32>());
    y.copy_from_slice(&p.Y.to_be_bytes::<32>());
    BlsKey::from_bytes(key)
}

fn g1(key: &BlsKey) -> sol::G1Point {
    let (x, y) = key.as_bytes().split_at(32);
    sol::G1Point { X: U256::from_be_slice(x), Y: U256::from_be_slice(y) }
}

fn alloy_address(a: EvmAddress) -> alloy_primitives::Address {
    alloy_primitives::Address::from(a.0)
}

/// Encodes an event as the contract emits it: `(topics, data)`, the inverse of [`decode`]
/// (`decode` of a log with these topics and data gives `event` back). For tests, benches and
/// tools that make logs; followers only decode.
#[must_use]
pub fn encode(event: &ContractEvent) -> (Vec<[u8; 32]>, Vec<u8>) {
    fn parts<E: SolEvent>(e: &E) -> (Vec<[u8; 32]>, Vec<u8>) {
        let data = e.encode_log_data();
        (data.topics().iter().map(|t| t.0).collect(), data.data.to_vec())
    }
    match event {
        ContractEvent::NewServiceNode {
            id,
            initiator,
            bls_key,
            node,
            node_signature,
            fee,
            contributors,
        } => {
            let (r, s) = node_signature.split_at(32);
            parts(&sol::NewServiceNodeV2 {
                serviceNodeID: *id,
                initiator: alloy_address(*initiator),
                pubkey: g1(bls_key),
                serviceNode: sol::ServiceNodeParams {
                    serviceNodePubkey: U256::from_be_bytes(node.to_bytes()),
                    serviceNodeSignature1: U256::from_be_slice(r),
                    serviceNodeSignature2: U256::from_be_slice(s),
                    fee: *fee,
                },
                contributors: contributors
                    .iter()
                    .map(|c| sol::Contributor {
                        staker: sol::Staker {
                            addr: alloy_address(c.address),
                            beneficiary: alloy_address(c.beneficiary),
                        },
                        stakedAmount: c.amount,
                    })
                    .collect(),
            })
        }
        ContractEvent::ExitRequest { id, initiator, bls_key } => {
            parts(&sol::ServiceNodeExitRequest {
                serviceNodeID: *id,
                initiator: alloy_address(*initiator),
                pubkey: g1(bls_key),
            })
        }
        ContractEvent::Exit { id, initiator, returned, bls_key } => parts(&sol::ServiceNodeExit {
            serviceNodeID: *id,
            initiator: alloy_address(*initiator),
            returnedAmount: *returned,
            pubkey: g1(bls_key),
        }),
        ContractEvent::Liquidated { id, initiator, bls_key } => {
            parts(&sol::ServiceNodeLiquidated {
                serviceNodeID: *id,
                initiator: alloy_address(*initiator),
                pubkey: g1(bls_key),
            })
        }
        ContractEvent::RewardsBalanceUpdated { recipient, amount, previous } => {
            parts(&sol::RewardsBalanceUpdated {
                recipientAddress: alloy_address(*recipient),
                amount: *amount,
                previousBalance: *previous,
            })
        }
        ContractEvent::RewardsClaimed { recipient, amount } => parts(&sol::RewardsClaimed {
            recipientAddress: alloy_address(*recipient),
            amount: *amount,
        }),
        ContractEvent::StakingRequirementUpdated { requirement } => {
            parts(&sol::StakingRequirementUpdated { newRequirement: *requirement })
        }
        ContractEvent::NetworkTransaction { sender, transaction } => {
            parts(&sol::NetworkTransaction {
                sender: alloy_address(*sender),
                transaction: transaction.clone().into(),
            })
        }
        // `held` is not in the log.
        ContractEvent::SeededServiceNode { id, bls_key, node, held: _ } => {
            parts(&sol::NewSeededServiceNode {
                serviceNodeID: *id,
                blsPubkey: g1(bls_key),
                ed25519Pubkey: U256::from_be_bytes(node.to_bytes()),
            })
        }
    }
}

/// The calldata of `serviceNodes(id)`, the contract's record of node `id` (for `eth_call` at
/// a seeded node's block).
#[must_use]
pub fn service_node_call(id: u64) -> Vec<u8> {
    sol::serviceNodesCall { serviceNodeID: id }.abi_encode()
}

/// Decodes what `serviceNodes(id)` returned (strictly, as logs are: zero padding checked,
/// every offset and length inside the data). An answer that does not decode is
/// [`Held::Malformed`], never a panic.
#[must_use]
pub fn decode_service_node(returned: &[u8]) -> Held {
    match sol::serviceNodesCall::abi_decode_returns_validate(returned) {
        Ok(n) => Held::Node(Box::new(HeldNode {
            operator: address(n.operator),
            bls_key: bls_key(&n.blsPubkey),
            node: NodeId::from_bytes(n.ed25519Pubkey.to_be_bytes::<32>()),
            added_timestamp: n.addedTimestamp,
            leave_request_timestamp: n.leaveRequestTimestamp,
            deposit: n.deposit,
            contributors: n
                .contributors
                .into_iter()
                .map(|c| Contributor {
                    address: address(c.staker.addr),
                    beneficiary: address(c.staker.beneficiary),
                    amount: c.stakedAmount,
                })
                .collect(),
        })),
        Err(e) => Held::Malformed(format!("serviceNodes' answer does not decode: {e}")),
    }
}

/// Encodes a `serviceNodes(id)` answer (the inverse of [`decode_service_node`]; the list
/// links `next`/`prev` are 0). For tests and tools.
#[must_use]
pub fn encode_service_node(n: &HeldNode) -> Vec<u8> {
    let record = sol::ServiceNode {
        next: 0,
        prev: 0,
        operator: alloy_address(n.operator),
        blsPubkey: g1(&n.bls_key),
        addedTimestamp: n.added_timestamp,
        leaveRequestTimestamp: n.leave_request_timestamp,
        latestLeaveRequestTimestamp: n.leave_request_timestamp,
        deposit: n.deposit,
        contributors: n
            .contributors
            .iter()
            .map(|c| sol::Contributor {
                staker: sol::Staker {
                    addr: alloy_address(c.address),
                    beneficiary: alloy_address(c.beneficiary),
                },
                stakedAmount: c.amount,
            })
            .collect(),
        ed25519Pubkey: U256::from_be_bytes(n.node.to_bytes()),
    };
    sol::serviceNodesCall::abi_encode_returns(&record)
}

/// The first topic of each event [`decode`] applies, by name (for `eth_getLogs` topic filters
/// and for logs).
pub const FOLLOWED: [(&str, FixedBytes<32>); 9] = [
    ("NewServiceNodeV2", sol::NewServiceNodeV2::SIGNATURE_HASH),
    ("ServiceNodeExitRequest", sol::ServiceNodeExitRequest::SIGNATURE_HASH),
    ("ServiceNodeExit", sol::ServiceNodeExit::SIGNATURE_HASH),
    ("ServiceNodeLiquidated", sol::ServiceNodeLiquidated::SIGNATURE_HASH),
    ("RewardsBalanceUpdated", sol::RewardsBalanceUpdated::SIGNATURE_HASH),
    ("RewardsClaimed", sol::RewardsClaimed::SIGNATURE_HASH),
    ("StakingRequirementUpdated", sol::StakingRequirementUpdated::SIGNATURE_HASH),
    ("NetworkTransaction", sol::NetworkTransaction::SIGNATURE_HASH),
    ("NewSeededServiceNode", sol::NewSeededServiceNode::SIGNATURE_HASH),
];
