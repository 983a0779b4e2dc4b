#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod aggregate;
mod domain;
mod error;
mod field;
mod hash;
mod keys;
mod message;
mod signature;
mod verify;

pub use aggregate::{
    Aggregate, Collector, NON_SIGNER_THRESHOLD_MAX, aggregate_key, non_signer_threshold,
    verify_aggregate,
};
pub use domain::{
    Domain, EXIT_BASE, HASH_TO_G2_BASE, LIQUIDATE_BASE, PROOF_OF_POSSESSION_BASE, REWARD_BASE, Tag,
};
pub use error::Error;
pub use hash::{FieldHash, HashPoint, expand_message_xmd_keccak, hash_to_field, hash_to_g2};
pub use keys::{PublicKey, SecretKey};
pub use message::Message;
pub use signature::Signature;
