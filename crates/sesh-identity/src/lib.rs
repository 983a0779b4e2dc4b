#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod blinding;
pub mod curve;
mod error;
pub mod hash;
mod id;
mod identity;
mod keys;
pub mod mnemonic;
mod node_id;
pub mod ons;
mod point;
mod secret;
mod seed;
#[cfg(feature = "serde")]
mod serde_impls;
mod text;
mod version;
pub mod xed25519;

pub use blinding::{BlindedKeypair, BlindingFactor};
pub use error::{Error, Result};
pub use id::{AnyId, BlindedId, Blinding, GroupId, IdPrefix, SessionId};
pub use identity::Identity;
pub use keys::{Ed25519PublicKey, SharedSecret, Signature, X25519PublicKey, X25519SecretKey};
pub use mnemonic::RecoveryPhrase;
pub use node_id::NodeId;
pub use seed::{AccountSeed, Seed};
pub use version::{Platform, VersionBlindedKey};
