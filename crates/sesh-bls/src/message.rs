//! The messages the contract checks, in its `abi.encodePacked` layouts: 32-byte big-endian
//! integers, 20-byte addresses, the message tag first.

use crate::domain::Domain;
use crate::keys::PublicKey;

/// A message a node signs, as one of the contract's functions rebuilds it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Message {
    /// `updateRewardsBalance`: `rewardTag ‖ recipient ‖ uint256(amount)` (84 bytes).
    Reward {
        /// The recipient address.
        recipient: [u8; 20],
        /// The recipient's total rewards (atomic units).
        amount: u128,
    },
    /// `exitBLSPublicKeyWithSignature`: `exitTag ‖ X ‖ Y ‖ uint256(timestamp)` (128 bytes).
    Exit {
        /// The leaving node's key.
        key: PublicKey,
        /// Unix seconds; the contract accepts it until `timestamp + 600`.
        timestamp: u64,
    },
    /// `liquidateBLSPublicKeyWithSignature`: `liquidateTag ‖ X ‖ Y ‖ uint256(timestamp)` (128 bytes).
    Liquidate {
        /// The liquidated node's key.
        key: PublicKey,
        /// Unix seconds; the contract accepts it until `timestamp + 600`.
        timestamp: u64,
    },
    /// `validateProofOfPossession`: `proofOfPossessionTag ‖ X ‖ Y ‖ caller ‖ ed25519` (148 bytes).
    ProofOfPossession {
        /// The key being registered.
        key: PublicKey,
        /// The address that registers it.
        caller: [u8; 20],
        /// The node's Ed25519 key (the contract's `serviceNodePubkey`, read as a uint256).
        ed25519: [u8; 32],
    },
}

fn word(value: u128) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[16..].copy_from_slice(&value.to_be_bytes());
    out
}

impl Message {
    /// The exact bytes the contract hashes to G2.
    #[must_use]
    pub fn to_bytes(&self, domain: &Domain) -> Vec<u8> {
        let mut out = Vec::with_capacity(148);
        match self {
            Message::Reward { recipient, amount } => {
                out.extend_from_slice(&domain.reward_tag().0);
                out.extend_from_slice(recipient);
                out.extend_from_slice(&word(*amount));
            }
            Message::Exit { key, timestamp } => {
                out.extend_from_slice(&domain.exit_tag().0);
                out.extend_from_slice(&key.to_bytes());
                out.extend_from_slice(&word(u128::from(*timestamp)));
            }
            Message::Liquidate { key, timestamp } => {
                out.extend_from_slice(&domain.liquidate_tag().0);
                out.extend_from_slice(&key.to_bytes());
                out.extend_from_slice(&word(u128::from(*timestamp)));
            }
            Message::ProofOfPossession { key, caller, ed25519 } => {
                out.extend_from_slice(&domain.proof_of_possession_tag().0);
                out.extend_from_slice(&key.to_bytes());
                out.extend_from_slice(caller);
                out.extend_from_slice(ed25519);
            }
        }
        out
    }
}
