#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

pub mod chain;
mod duty;
pub mod egress;
mod error;
pub mod handover;
pub mod keeper;
pub mod obligations;
pub mod proofs;
pub mod ratelimit;
pub mod replication;
pub mod signing;

pub use duty::Duty;
pub use error::{Error, Result};
