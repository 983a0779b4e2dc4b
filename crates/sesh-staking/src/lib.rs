#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
// Amounts are integers: atomic units in u64, products and sums in u128. No float, anywhere.
#![deny(clippy::float_arithmetic, clippy::float_cmp, clippy::cast_precision_loss)]

pub mod contract;
mod error;
mod event;
pub mod journal;
mod keys;
mod ledger;
mod node;
pub mod oxen;
mod params;
pub mod tx;

pub use error::{Error, LogProblem, Rejection};
pub use event::Event;
pub use keys::{Address, BlsKey};
pub use ledger::{Ledger, PendingReturn, Totals};
pub use node::{Contributor, Node, NodeStatus, RemovalReason, Reservation};
pub use params::{CreditParams, LiquidationRatios, MinimumRule, Params};
/// A service node's identity (its Ed25519 key): one type across the sesh crates.
pub use sesh_identity::NodeId;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
