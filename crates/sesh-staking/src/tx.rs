//! Transactions: values, their canonical bytes, and their signatures.
//!
//! Every transaction has one byte encoding (fixed-width big-endian integers, raw keys, counted
//! lists), and is signed by the party entitled to issue it: the operator or contributor named in
//! it, the node itself, or a quorum of active nodes. Signatures are Ed25519 under ZIP-215's
//! cofactored rule, so verifying a batch accepts exactly what verifying one by one does.
//!
//! The chain kinds ([`Tx::ChainRegister`], [`Tx::ChainRequestExit`], [`Tx::ChainExit`],
//! [`Tx::SetStakingRequirement`], [`Tx::ChainSeed`]) are the staking contract's events: the EVM chain authenticated
//! their sender (`msg.sender`) and moved the tokens, so they carry no account signature. They
//! become [`VerifiedTx`] only through [`VerifiedTx::attested`], by a caller that read them off the
//! contract; [`SignedTx::verify`] refuses them, so no one can hand them to a ledger as signed
//! transactions.
//!
//! ```
//! use sesh_identity::{Identity, Seed};
//! use sesh_staking::tx::{Contribute, SignedTx, Tx};
//! use sesh_staking::{Address, NodeId, Params};
//!
//! let params = Params::session_mainnet();
//! let alice = Identity::from_seed(&Seed::from_bytes([1; 32]));
//! let tx = Tx::Contribute(Contribute {
//!     contributor: Address::from_identity(&alice),
//!     nonce: 0,
//!     node: NodeId::from_bytes([7; 32]),
//!     amount: 2_083_333_333_334,
//!     beneficiary: Address::from_identity(&alice),
//! });
//! let signed = tx.sign(&alice, &params)?;
//! let bytes = signed.to_bytes();
//! assert_eq!(SignedTx::from_bytes(&bytes)?, signed);
//! assert!(signed.verify(&params).is_ok());
//! # Ok::<(), sesh_staking::Error>(())
//! ```

use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};
use rand_core::{CryptoRng, RngCore};
use sesh_identity::Identity;

use crate::error::Error;
use crate::keys::{Address, BlsKey, NodeId};
use crate::params::Params;

/// Format version of every encoding.
pub const VERSION: u8 = 1;
/// Most reservations or votes a transaction may carry.
pub const MAX_LIST: usize = 64;

const TX_DOMAIN: &[u8] = b"sesh-staking/v1/tx";
const VOTE_DOMAIN: &[u8] = b"sesh-staking/v1/vote";
const NODE_DOMAIN: &[u8] = b"sesh-staking/v1/node";

/// Registers a node: the operator's first stake, fee, reserved spots, and the node's own
/// signature proving the operator controls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    /// The operator, who signs.
    pub operator: Address,
    /// The operator's next nonce.
    pub nonce: u64,
    /// The node.
    pub node: NodeId,
    /// The node's BLS key.
    pub bls_key: BlsKey,
    /// Operator fee, basis points.
    pub fee_bp: u16,
    /// The operator's stake.
    pub stake: u64,
    /// Who receives the operator's rewards.
    pub beneficiary: Address,
    /// Reserved spots, the operator's first.
    pub reservations: Vec<(Address, u64)>,
    /// The node's signature over its id, BLS key and operator ([`Register::node_message`]).
    pub node_signature: [u8; 64],
}

/// Stakes into a node that is awaiting contributions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribute {
    /// The contributor, who signs.
    pub contributor: Address,
    /// The contributor's next nonce.
    pub nonce: u64,
    /// The node.
    pub node: NodeId,
    /// Atomic units.
    pub amount: u64,
    /// Who receives this contributor's rewards.
    pub beneficiary: Address,
}

/// A request by a contributor about one node: withdraw (before activation), request exit, or
/// exit (after removal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByContributor {
    /// The contributor, who signs.
    pub contributor: Address,
    /// The contributor's next nonce.
    pub nonce: u64,
    /// The node.
    pub node: NodeId,
}

/// A quorum's signed decision about a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumDecision {
    /// The node decided on.
    pub node: NodeId,
    /// The height the votes were cast for.
    pub vote_height: u64,
    /// The voters and their signatures over [`QuorumDecision::vote_message`].
    pub votes: Vec<(NodeId, [u8; 64])>,
}

/// Liquidates a removed node: a quorum's decision, and the account that collects the
/// liquidator's share, which signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liquidate {
    /// The liquidator, who signs.
    pub liquidator: Address,
    /// The liquidator's next nonce.
    pub nonce: u64,
    /// The quorum's decision.
    pub decision: QuorumDecision,
}

/// A node's proof that it is up, signed by the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UptimeProof {
    /// The node.
    pub node: NodeId,
    /// The height it is made for (must be the ledger's current height).
    pub height: u64,
}

/// One staker of a [`ChainRegister`]: `((addr, beneficiary), stakedAmount)` of the contract's
/// `Contributor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainStake {
    /// The staker (an EVM address, [`Address::from_evm`]).
    pub address: Address,
    /// Who receives its rewards.
    pub beneficiary: Address,
    /// Atomic units staked.
    pub amount: u64,
}

/// A node the staking contract registered fully staked (`NewServiceNodeV2`): it is active at
/// once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainRegister {
    /// The node (`serviceNodePubkey`).
    pub node: NodeId,
    /// Its BLS key.
    pub bls_key: BlsKey,
    /// Operator fee, basis points.
    pub fee_bp: u16,
    /// The stakers, the operator first; their amounts sum to the staking requirement.
    pub contributors: Vec<ChainStake>,
    /// The node's Ed25519 signature over [`ChainRegister::node_message`].
    pub node_signature: [u8; 64],
}

/// A node the contract's owner seeded before the contract started (`NewSeededServiceNode`,
/// with the stakes the contract held for it): the launch's import of the network's existing
/// nodes. It carries no node signature (the owner vouched for the list) and no fee (the contract
/// holds none: the fee is 0). Active at once, like [`ChainRegister`], with the checks the
/// contract makes when seeding (see `Ledger::apply`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSeed {
    /// The node (`ed25519Pubkey`).
    pub node: NodeId,
    /// Its BLS key.
    pub bls_key: BlsKey,
    /// The node's full stake as the contract holds it (`deposit`).
    pub deposit: u64,
    /// The stakers, the operator first; their amounts sum to `deposit`.
    pub contributors: Vec<ChainStake>,
}

/// A contributor's exit request on the contract (`ServiceNodeExitRequest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainRequestExit {
    /// The node, by its BLS key (as the event names it).
    pub bls_key: BlsKey,
    /// The contributor who asked (the contract checked it is one).
    pub contributor: Address,
}

/// A node the contract removed, returning `returned` of its stake (`ServiceNodeExit`; after a
/// `ServiceNodeLiquidated` the difference is the liquidation penalty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainExit {
    /// The node, by its BLS key.
    pub bls_key: BlsKey,
    /// Atomic units returned to the contributors.
    pub returned: u64,
    /// Who liquidated it, when the exit is a liquidation.
    pub liquidator: Option<Address>,
}

/// A transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tx {
    /// Register a node.
    Register(Register),
    /// Contribute to a node.
    Contribute(Contribute),
    /// Withdraw a stake from a node not yet active (the operator's withdrawal cancels the
    /// registration).
    Withdraw(ByContributor),
    /// Ask for a node to leave.
    RequestExit(ByContributor),
    /// Return the stake of a node that left.
    Exit(ByContributor),
    /// Take a failing node out of service for a while.
    Decommission(QuorumDecision),
    /// Bring a decommissioned node back.
    Recommission(QuorumDecision),
    /// Remove a node for good.
    Deregister(QuorumDecision),
    /// Liquidate a removed node.
    Liquidate(Liquidate),
    /// A node's uptime proof.
    UptimeProof(UptimeProof),
    /// The next block: the ledger's height advances to this.
    AdvanceHeight(u64),
    /// The contract registered a node, fully staked (chain kind).
    ChainRegister(ChainRegister),
    /// A contributor asked the contract for the node to leave (chain kind).
    ChainRequestExit(ChainRequestExit),
    /// The contract removed a node and returned its stake, less any penalty (chain kind).
    ChainExit(ChainExit),
    /// The contract's staking requirement for new nodes changed (chain kind).
    SetStakingRequirement(u64),
    /// The contract's owner seeded a node before the contract started (chain kind).
    ChainSeed(ChainSeed),
}

/// A transaction with the signature of the party that issued it (none for quorum decisions,
/// whose votes carry their own, and for height advances, which come from the chain itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    /// The transaction.
    pub tx: Tx,
    /// The issuer's signature over [`Tx::signing_bytes`].
    pub signature: Option<[u8; 64]>,
}

/// A transaction whose signatures have been checked: the only kind the ledger applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx(pub(crate) Tx);

impl VerifiedTx {
    /// The transaction.
    pub fn tx(&self) -> &Tx {
        &self.0
    }

    /// A chain kind ([`Tx::is_chain_kind`]) read off the staking contract's events. The caller
    /// vouches that the chain authenticated it: the EVM checked its sender (`msg.sender`) and
    /// moved its tokens, so it carries no account signature. What it does carry is checked here:
    /// the node's own Ed25519 signature on a [`Tx::ChainRegister`] (over
    /// [`ChainRegister::node_message`], as oxend checks it). A [`Tx::ChainSeed`] carries no
    /// signature at all: the contract's owner vouched for it.
    ///
    /// # Errors
    /// [`Error::NotAChainKind`] for any other kind (those need [`SignedTx::verify`]);
    /// [`Error::BadSignature`] naming the node whose signature fails.
    pub fn attested(tx: Tx) -> Result<Self, Error> {
        match &tx {
            Tx::ChainRegister(r) => {
                let message = ChainRegister::node_message(&r.node, &r.bls_key);
                verify_one(r.node.as_bytes(), &message, &r.node_signature)?;
            }
            Tx::ChainRequestExit(_)
            | Tx::ChainExit(_)
            | Tx::SetStakingRequirement(_)
            | Tx::ChainSeed(_) => {}
            other => return Err(Error::NotAChainKind { kind: other.kind() }),
        }
        Ok(Self(tx))
    }
}

// ---- encoding ----

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn count(&mut self, n: usize) {
        self.u8(u8::try_from(n).unwrap_or(u8::MAX));
    }
}

/// Reads untrusted bytes; every failure names the offset and what was expected.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }
    fn take<const N: usize>(&mut self, why: &'static str) -> Result<[u8; N], Error> {
        let slice =
            self.bytes.get(self.at..self.at + N).ok_or(Error::Decode { offset: self.at, why })?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        self.at += N;
        Ok(out)
    }
    fn u8(&mut self, why: &'static str) -> Result<u8, Error> {
        self.take::<1>(why).map(|[b]| b)
    }
    fn u16(&mut self, why: &'static str) -> Result<u16, Error> {
        self.take::<2>(why).map(u16::from_be_bytes)
    }
    fn u64(&mut self, why: &'static str) -> Result<u64, Error> {
        self.take::<8>(why).map(u64::from_be_bytes)
    }
    fn count(&mut self, why: &'static str) -> Result<usize, Error> {
        let at = self.at;
        let n = usize::from(self.u8(why)?);
        if n > MAX_LIST {
            return Err(Error::Decode { offset: at, why: "a list longer than 64 entries" });
        }
        Ok(n)
    }
    fn end(&self) -> Result<(), Error> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(Error::Decode {
                offset: self.at,
                why: "the end of the transaction, but more bytes follow",
            })
        }
    }
}

mod kind {
    pub(super) const REGISTER: u8 = 1;
    pub(super) const CONTRIBUTE: u8 = 2;
    pub(super) const WITHDRAW: u8 = 3;
    pub(super) const REQUEST_EXIT: u8 = 4;
    pub(super) const EXIT: u8 = 5;
    pub(super) const DECOMMISSION: u8 = 6;
    pub(super) const RECOMMISSION: u8 = 7;
    pub(super) const DEREGISTER: u8 = 8;
    pub(super) const LIQUIDATE: u8 = 9;
    pub(super) const UPTIME_PROOF: u8 = 10;
    pub(super) const ADVANCE_HEIGHT: u8 = 11;
    pub(super) const CHAIN_REGISTER: u8 = 12;
    pub(super) const CHAIN_REQUEST_EXIT: u8 = 13;
    pub(super) const CHAIN_EXIT: u8 = 14;
    pub(super) const SET_STAKING_REQUIREMENT: u8 = 15;
    pub(super) const CHAIN_SEED: u8 = 16;
}

impl Tx {
    /// The kind byte of its encoding (1 register … 11 height advance, 12–16 the chain kinds).
    pub fn kind(&self) -> u8 {
        match self {
            Self::Register(_) => kind::REGISTER,
            Self::Contribute(_) => kind::CONTRIBUTE,
            Self::Withdraw(_) => kind::WITHDRAW,
            Self::RequestExit(_) => kind::REQUEST_EXIT,
            Self::Exit(_) => kind::EXIT,
            Self::Decommission(_) => kind::DECOMMISSION,
            Self::Recommission(_) => kind::RECOMMISSION,
            Self::Deregister(_) => kind::DEREGISTER,
            Self::Liquidate(_) => kind::LIQUIDATE,
            Self::UptimeProof(_) => kind::UPTIME_PROOF,
            Self::AdvanceHeight(_) => kind::ADVANCE_HEIGHT,
            Self::ChainRegister(_) => kind::CHAIN_REGISTER,
            Self::ChainRequestExit(_) => kind::CHAIN_REQUEST_EXIT,
            Self::ChainExit(_) => kind::CHAIN_EXIT,
            Self::SetStakingRequirement(_) => kind::SET_STAKING_REQUIREMENT,
            Self::ChainSeed(_) => kind::CHAIN_SEED,
        }
    }

    /// Whether it is a chain kind: one only the staking contract's events make
    /// ([`VerifiedTx::attested`]).
    pub fn is_chain_kind(&self) -> bool {
        matches!(
            self,
            Self::ChainRegister(_)
                | Self::ChainRequestExit(_)
                | Self::ChainExit(_)
                | Self::SetStakingRequirement(_)
                | Self::ChainSeed(_)
        )
    }

    /// The key whose signature the transaction needs, if any (quorum decisions carry votes
    /// instead; height advances need none).
    pub fn signer(&self) -> Option<[u8; 32]> {
        match self {
            Self::Register(r) => Some(*r.operator.as_bytes()),
            Self::Contribute(c) => Some(*c.contributor.as_bytes()),
            Self::Withdraw(c) | Self::RequestExit(c) | Self::Exit(c) => {
                Some(*c.contributor.as_bytes())
            }
            Self::Liquidate(l) => Some(*l.liquidator.as_bytes()),
            Self::UptimeProof(p) => Some(*p.node.as_bytes()),
            Self::Decommission(_)
            | Self::Recommission(_)
            | Self::Deregister(_)
            | Self::AdvanceHeight(_)
            | Self::ChainRegister(_)
            | Self::ChainRequestExit(_)
            | Self::ChainExit(_)
            | Self::SetStakingRequirement(_)
            | Self::ChainSeed(_) => None,
        }
    }

    /// The canonical bytes: version, kind, then the fields in order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(128));
        w.u8(VERSION);
        w.u8(self.kind());
        match self {
            Self::Register(r) => {
                w.bytes(r.operator.as_bytes());
                w.u64(r.nonce);
                w.bytes(r.node.as_bytes());
                w.bytes(r.bls_key.as_bytes());
                w.u16(r.fee_bp);
                w.u64(r.stake);
                w.bytes(r.beneficiary.as_bytes());
                w.count(r.reservations.len());
                for (address, amount) in &r.reservations {
                    w.bytes(address.as_bytes());
                    w.u64(*amount);
                }
                w.bytes(&r.node_signature);
            }
            Self::Contribute(c) => {
                w.bytes(c.contributor.as_bytes());
                w.u64(c.nonce);
                w.bytes(c.node.as_bytes());
                w.u64(c.amount);
                w.bytes(c.beneficiary.as_bytes());
            }
            Self::Withdraw(c) | Self::RequestExit(c) | Self::Exit(c) => {
                w.bytes(c.contributor.as_bytes());
                w.u64(c.nonce);
                w.bytes(c.node.as_bytes());
            }
            Self::Decommission(d) | Self::Recommission(d) | Self::Deregister(d) => {
                write_decision(&mut w, d)
            }
            Self::Liquidate(l) => {
                w.bytes(l.liquidator.as_bytes());
                w.u64(l.nonce);
                write_decision(&mut w, &l.decision);
            }
            Self::UptimeProof(p) => {
                w.bytes(p.node.as_bytes());
                w.u64(p.height);
            }
            Self::AdvanceHeight(h) => w.u64(*h),
            Self::ChainRegister(r) => {
                w.bytes(r.node.as_bytes());
                w.bytes(r.bls_key.as_bytes());
                w.u16(r.fee_bp);
                w.count(r.contributors.len());
                for c in &r.contributors {
                    w.bytes(c.address.as_bytes());
                    w.bytes(c.beneficiary.as_bytes());
                    w.u64(c.amount);
                }
                w.bytes(&r.node_signature);
            }
            Self::ChainRequestExit(e) => {
                w.bytes(e.bls_key.as_bytes());
                w.bytes(e.contributor.as_bytes());
            }
            Self::ChainExit(e) => {
                w.bytes(e.bls_key.as_bytes());
                w.u64(e.returned);
                match &e.liquidator {
                    None => w.u8(0),
                    Some(l) => {
                        w.u8(1);
                        w.bytes(l.as_bytes());
                    }
                }
            }
            Self::SetStakingRequirement(r) => w.u64(*r),
            Self::ChainSeed(s) => {
                w.bytes(s.node.as_bytes());
                w.bytes(s.bls_key.as_bytes());
                w.u64(s.deposit);
                w.count(s.contributors.len());
                for c in &s.contributors {
                    w.bytes(c.address.as_bytes());
                    w.bytes(c.beneficiary.as_bytes());
                    w.u64(c.amount);
                }
            }
        }
        w.0
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let version = r.u8("a version byte")?;
        if version != VERSION {
            return Err(Error::Decode { offset: 0, why: "format version 1" });
        }
        let kind_at = r.at;
        let tx = match r.u8("a transaction kind")? {
            kind::REGISTER => {
                let operator = Address::from_bytes(r.take("an operator address")?);
                let nonce = r.u64("a nonce")?;
                let node = NodeId::from_bytes(r.take("a node id")?);
                let bls_key = BlsKey::from_bytes(r.take("a BLS key")?);
                let fee_bp = r.u16("a fee")?;
                let stake = r.u64("a stake")?;
                let beneficiary = Address::from_bytes(r.take("a beneficiary")?);
                let n = r.count("a reservation count")?;
                let mut reservations = Vec::with_capacity(n);
                for _ in 0..n {
                    reservations.push((
                        Address::from_bytes(r.take("a reserved address")?),
                        r.u64("a reserved amount")?,
                    ));
                }
                let node_signature = r.take("the node's signature")?;
                Self::Register(Register {
                    operator,
                    nonce,
                    node,
                    bls_key,
                    fee_bp,
                    stake,
                    beneficiary,
                    reservations,
                    node_signature,
                })
            }
            kind::CONTRIBUTE => Self::Contribute(Contribute {
                contributor: Address::from_bytes(r.take("a contributor address")?),
                nonce: r.u64("a nonce")?,
                node: NodeId::from_bytes(r.take("a node id")?),
                amount: r.u64("an amount")?,
                beneficiary: Address::from_bytes(r.take("a beneficiary")?),
            }),
            k @ (kind::WITHDRAW | kind::REQUEST_EXIT | kind::EXIT) => {
                let c = ByContributor {
                    contributor: Address::from_bytes(r.take("a contributor address")?),
                    nonce: r.u64("a nonce")?,
                    node: NodeId::from_bytes(r.take("a node id")?),
                };
                match k {
                    kind::WITHDRAW => Self::Withdraw(c),
                    kind::REQUEST_EXIT => Self::RequestExit(c),
                    _ => Self::Exit(c),
                }
            }
            kind::DECOMMISSION => Self::Decommission(read_decision(r)?),
            kind::RECOMMISSION => Self::Recommission(read_decision(r)?),
            kind::DEREGISTER => Self::Deregister(read_decision(r)?),
            kind::LIQUIDATE => Self::Liquidate(Liquidate {
                liquidator: Address::from_bytes(r.take("a liquidator address")?),
                nonce: r.u64("a nonce")?,
                decision: read_decision(r)?,
            }),
            kind::UPTIME_PROOF => Self::UptimeProof(UptimeProof {
                node: NodeId::from_bytes(r.take("a node id")?),
                height: r.u64("a height")?,
            }),
            kind::ADVANCE_HEIGHT => Self::AdvanceHeight(r.u64("a height")?),
            kind::CHAIN_REGISTER => {
                let node = NodeId::from_bytes(r.take("a node id")?);
                let bls_key = BlsKey::from_bytes(r.take("a BLS key")?);
                let fee_bp = r.u16("a fee")?;
                let contributors = read_chain_stakes(r)?;
                let node_signature = r.take("the node's signature")?;
                Self::ChainRegister(ChainRegister {
                    node,
                    bls_key,
                    fee_bp,
                    contributors,
                    node_signature,
                })
            }
            kind::CHAIN_REQUEST_EXIT => Self::ChainRequestExit(ChainRequestExit {
                bls_key: BlsKey::from_bytes(r.take("a BLS key")?),
                contributor: Address::from_bytes(r.take("a contributor address")?),
            }),
            kind::CHAIN_EXIT => {
                let bls_key = BlsKey::from_bytes(r.take("a BLS key")?);
                let returned = r.u64("an amount")?;
                let flag_at = r.at;
                let liquidator = match r.u8("a liquidator flag")? {
                    0 => None,
                    1 => Some(Address::from_bytes(r.take("a liquidator address")?)),
                    _ => {
                        return Err(Error::Decode {
                            offset: flag_at,
                            why: "a liquidator flag of 0 or 1",
                        });
                    }
                };
                Self::ChainExit(ChainExit { bls_key, returned, liquidator })
            }
            kind::SET_STAKING_REQUIREMENT => {
                Self::SetStakingRequirement(r.u64("a staking requirement")?)
            }
            kind::CHAIN_SEED => Self::ChainSeed(ChainSeed {
                node: NodeId::from_bytes(r.take("a node id")?),
                bls_key: BlsKey::from_bytes(r.take("a BLS key")?),
                deposit: r.u64("a deposit")?,
                contributors: read_chain_stakes(r)?,
            }),
            _ => {
                return Err(Error::Decode {
                    offset: kind_at,
                    why: "a transaction kind from 1 to 16",
                });
            }
        };
        Ok(tx)
    }

    /// What the issuer signs: a domain tag, the network id, and the canonical bytes.
    pub fn signing_bytes(&self, params: &Params) -> Vec<u8> {
        let body = self.to_bytes();
        let mut message = Vec::with_capacity(TX_DOMAIN.len() + 4 + body.len());
        message.extend_from_slice(TX_DOMAIN);
        message.extend_from_slice(&params.network_id.to_be_bytes());
        message.extend_from_slice(&body);
        message
    }

    /// Signs as `key`, which must be the transaction's [`signer`](Self::signer).
    ///
    /// # Errors
    /// [`Error::BadSignature`] if `key` is not the signer the transaction names (or it needs no
    /// signature of this kind).
    pub fn sign(self, key: &Identity, params: &Params) -> Result<SignedTx, Error> {
        let public = key.ed25519_public_key().to_bytes();
        if self.signer() != Some(public) {
            return Err(Error::BadSignature { signer: hex::encode(public) });
        }
        let signature = key.sign(&self.signing_bytes(params)).to_bytes();
        Ok(SignedTx { tx: self, signature: Some(signature) })
    }

    /// A transaction that carries no issuer signature (quorum decisions, height advances).
    pub fn unsigned(self) -> SignedTx {
        SignedTx { tx: self, signature: None }
    }
}

fn write_decision(w: &mut Writer, d: &QuorumDecision) {
    w.bytes(d.node.as_bytes());
    w.u64(d.vote_height);
    w.count(d.votes.len());
    for (voter, signature) in &d.votes {
        w.bytes(voter.as_bytes());
        w.bytes(signature);
    }
}

fn read_decision(r: &mut Reader<'_>) -> Result<QuorumDecision, Error> {
    let node = NodeId::from_bytes(r.take("a node id")?);
    let vote_height = r.u64("a vote height")?;
    let n = r.count("a vote count")?;
    let mut votes = Vec::with_capacity(n);
    for _ in 0..n {
        votes.push((NodeId::from_bytes(r.take("a voter id")?), r.take("a vote signature")?));
    }
    Ok(QuorumDecision { node, vote_height, votes })
}

impl QuorumDecision {
    /// What each voter signs: a domain tag, the network id, the decision's kind (6 decommission,
    /// 7 recommission, 8 deregister, 9 liquidate), the node and the vote height.
    pub fn vote_message(kind: u8, node: &NodeId, vote_height: u64, params: &Params) -> Vec<u8> {
        let mut m = Vec::with_capacity(VOTE_DOMAIN.len() + 45);
        m.extend_from_slice(VOTE_DOMAIN);
        m.extend_from_slice(&params.network_id.to_be_bytes());
        m.push(kind);
        m.extend_from_slice(node.as_bytes());
        m.extend_from_slice(&vote_height.to_be_bytes());
        m
    }

    /// A decision of `kind` signed by each of `voters`.
    pub fn signed(
        kind: DecisionKind,
        node: NodeId,
        vote_height: u64,
        voters: &[&Identity],
        params: &Params,
    ) -> Self {
        let message = Self::vote_message(kind as u8, &node, vote_height, params);
        let votes = voters
            .iter()
            .map(|v| {
                (NodeId::from_bytes(v.ed25519_public_key().to_bytes()), v.sign(&message).to_bytes())
            })
            .collect();
        Self { node, vote_height, votes }
    }
}

/// What a quorum decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DecisionKind {
    /// [`Tx::Decommission`].
    Decommission = kind::DECOMMISSION,
    /// [`Tx::Recommission`].
    Recommission = kind::RECOMMISSION,
    /// [`Tx::Deregister`].
    Deregister = kind::DEREGISTER,
    /// [`Tx::Liquidate`].
    Liquidate = kind::LIQUIDATE,
}

impl ChainRegister {
    /// What the node signs for a registration on the staking contract, as oxend checks it
    /// (`get_eth_registration_message_for_signing`): its Ed25519 key then its BLS key, 96
    /// bytes, no domain tag.
    pub fn node_message(node: &NodeId, bls_key: &BlsKey) -> Vec<u8> {
        let mut m = Vec::with_capacity(96);
        m.extend_from_slice(node.as_bytes());
        m.extend_from_slice(bls_key.as_bytes());
        m
    }
}

impl Register {
    /// What the node signs to prove the operator controls it: a domain tag, the network id, the
    /// node id, the BLS key and the operator.
    pub fn node_message(
        node: &NodeId,
        bls_key: &BlsKey,
        operator: &Address,
        params: &Params,
    ) -> Vec<u8> {
        let mut m = Vec::with_capacity(NODE_DOMAIN.len() + 132);
        m.extend_from_slice(NODE_DOMAIN);
        m.extend_from_slice(&params.network_id.to_be_bytes());
        m.extend_from_slice(node.as_bytes());
        m.extend_from_slice(bls_key.as_bytes());
        m.extend_from_slice(operator.as_bytes());
        m
    }
}

impl SignedTx {
    /// The canonical bytes: the transaction, then the 64-byte signature if it has one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.tx.to_bytes();
        if let Some(signature) = &self.signature {
            bytes.extend_from_slice(signature);
        }
        bytes
    }

    /// Decodes untrusted bytes.
    ///
    /// # Errors
    /// [`Error::Decode`] naming the offset and what was expected there.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let tx = Tx::read(&mut r)?;
        let signature =
            if tx.signer().is_some() { Some(r.take("the issuer's signature")?) } else { None };
        r.end()?;
        Ok(Self { tx, signature })
    }

    /// Every (key, message, signature) this transaction needs to verify.
    fn checks(&self, params: &Params) -> Result<Vec<Check>, Error> {
        if self.tx.is_chain_kind() {
            return Err(Error::ChainOnly { kind: self.tx.kind() });
        }
        let mut checks = Vec::new();
        match (self.tx.signer(), self.signature) {
            (Some(signer), Some(signature)) => {
                checks.push((signer, self.tx.signing_bytes(params), signature))
            }
            (None, None) => {}
            (Some(signer), None) => {
                return Err(Error::BadSignature { signer: hex::encode(signer) });
            }
            (None, Some(_)) => {
                return Err(Error::Decode { offset: 0, why: "no issuer signature on this kind" });
            }
        }
        if let Tx::Register(r) = &self.tx {
            let message = Register::node_message(&r.node, &r.bls_key, &r.operator, params);
            checks.push((*r.node.as_bytes(), message, r.node_signature));
        }
        let decision = match &self.tx {
            Tx::Decommission(d) => Some((DecisionKind::Decommission, d)),
            Tx::Recommission(d) => Some((DecisionKind::Recommission, d)),
            Tx::Deregister(d) => Some((DecisionKind::Deregister, d)),
            Tx::Liquidate(l) => Some((DecisionKind::Liquidate, &l.decision)),
            _ => None,
        };
        if let Some((kind, d)) = decision {
            let message = QuorumDecision::vote_message(kind as u8, &d.node, d.vote_height, params);
            for (voter, signature) in &d.votes {
                checks.push((*voter.as_bytes(), message.clone(), *signature));
            }
        }
        Ok(checks)
    }

    /// Checks every signature the transaction carries, one by one.
    ///
    /// # Errors
    /// [`Error::BadSignature`] naming the key whose signature fails.
    pub fn verify(&self, params: &Params) -> Result<VerifiedTx, Error> {
        for (key, message, signature) in self.checks(params)? {
            verify_one(&key, &message, &signature)?;
        }
        Ok(VerifiedTx(self.tx.clone()))
    }

    /// Skips verification: for a log the caller itself wrote and checksummed, whose
    /// transactions were verified when first applied.
    pub(crate) fn assume_verified(self) -> VerifiedTx {
        VerifiedTx(self.tx)
    }
}

/// A counted list of [`ChainStake`]s.
fn read_chain_stakes(r: &mut Reader<'_>) -> Result<Vec<ChainStake>, Error> {
    let n = r.count("a contributor count")?;
    let mut contributors = Vec::with_capacity(n);
    for _ in 0..n {
        contributors.push(ChainStake {
            address: Address::from_bytes(r.take("a contributor address")?),
            beneficiary: Address::from_bytes(r.take("a beneficiary")?),
            amount: r.u64("an amount")?,
        });
    }
    Ok(contributors)
}

/// One signature to check: key, message, signature.
type Check = ([u8; 32], Vec<u8>, [u8; 64]);

fn verify_one(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<(), Error> {
    let bad = || Error::BadSignature { signer: hex::encode(key) };
    let key = VerificationKey::try_from(*key).map_err(|_| bad())?;
    key.verify(&Signature::from_bytes(signature), message).map_err(|_| bad())
}

/// Verifies many transactions at once with one batched check (ZIP-215, so it accepts exactly
/// what [`SignedTx::verify`] does); if the batch fails, each transaction is checked on its own
/// to find the bad ones.
pub fn verify_batch<R: RngCore + CryptoRng>(
    txs: &[SignedTx],
    params: &Params,
    rng: R,
) -> Vec<Result<VerifiedTx, Error>> {
    let mut batch = ed25519_zebra::batch::Verifier::new();
    let mut all_checks = Vec::with_capacity(txs.len());
    for tx in txs {
        let checks = tx.checks(params);
        if let Ok(checks) = &checks {
            for (key, message, signature) in checks {
                batch.queue((
                    VerificationKeyBytes::from(*key),
                    Signature::from_bytes(signature),
                    message,
                ));
            }
        }
        all_checks.push(checks);
    }
    if all_checks.iter().all(Result::is_ok) && batch.verify(rng).is_ok() {
        return txs.iter().map(|tx| Ok(VerifiedTx(tx.tx.clone()))).collect();
    }
    txs.iter().map(|tx| tx.verify(params)).collect()
}
