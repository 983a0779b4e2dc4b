//! The contract's tags: each is `keccak256(base ‖ uint256(chain_id) ‖ contract)`, fixed at the
//! contract's `initialize`, so a signature made for one chain or contract never verifies on another.

use sha3::{Digest as _, Keccak256};

/// The base string of the hash-to-G2 domain separation tag (`hashToG2Tag`).
pub const HASH_TO_G2_BASE: &str = "BLS_SIG_HASH_TO_FIELD_TAG";
/// The base string of `rewardTag`.
pub const REWARD_BASE: &str = "BLS_SIG_TRYANDINCREMENT_REWARD";
/// The base string of `exitTag`.
pub const EXIT_BASE: &str = "BLS_SIG_TRYANDINCREMENT_EXIT";
/// The base string of `liquidateTag`.
pub const LIQUIDATE_BASE: &str = "BLS_SIG_TRYANDINCREMENT_LIQUIDATE";
/// The base string of `proofOfPossessionTag`.
pub const PROOF_OF_POSSESSION_BASE: &str = "BLS_SIG_TRYANDINCREMENT_POP";

/// A 32-byte tag: a message tag (the first word of a signed message) or the hash-to-G2 DST.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Tag(pub [u8; 32]);

impl Tag {
    /// `keccak256(base ‖ uint256(chain_id) ‖ contract)`, as the contract's `buildTag`.
    #[must_use]
    pub fn build(base: &str, chain_id: u64, contract: [u8; 20]) -> Tag {
        let mut chain = [0u8; 32];
        chain[24..].copy_from_slice(&chain_id.to_be_bytes());
        let mut hasher = Keccak256::new();
        hasher.update(base.as_bytes());
        hasher.update(chain);
        hasher.update(contract);
        Tag(hasher.finalize().into())
    }
}

/// Where signatures are checked: the chain id and the `ServiceNodeRewards` contract address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Domain {
    /// The EVM chain id (42161 for Arbitrum One).
    pub chain_id: u64,
    /// The `ServiceNodeRewards` proxy address.
    pub contract: [u8; 20],
}

impl Domain {
    /// `hashToG2Tag`: the DST of hash to G2.
    #[must_use]
    pub fn hash_to_g2_tag(&self) -> Tag {
        Tag::build(HASH_TO_G2_BASE, self.chain_id, self.contract)
    }

    /// `rewardTag`: the first word of a reward message.
    #[must_use]
    pub fn reward_tag(&self) -> Tag {
        Tag::build(REWARD_BASE, self.chain_id, self.contract)
    }

    /// `exitTag`: the first word of an exit message.
    #[must_use]
    pub fn exit_tag(&self) -> Tag {
        Tag::build(EXIT_BASE, self.chain_id, self.contract)
    }

    /// `liquidateTag`: the first word of a liquidation message.
    #[must_use]
    pub fn liquidate_tag(&self) -> Tag {
        Tag::build(LIQUIDATE_BASE, self.chain_id, self.contract)
    }

    /// `proofOfPossessionTag`: the first word of a proof of possession.
    #[must_use]
    pub fn proof_of_possession_tag(&self) -> Tag {
        Tag::build(PROOF_OF_POSSESSION_BASE, self.chain_id, self.contract)
    }
}
