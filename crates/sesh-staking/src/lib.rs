#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
// Amounts are integers: atomic units in u64, products and sums in u128. No float, anywhere.
#![deny(clippy::float_arithmetic, clippy::float_cmp, clippy::cast_precision_loss)]

pub mod contract;
mod error;
pub mod oxen;

pub use error::{Error, LogProblem, Rejection};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
