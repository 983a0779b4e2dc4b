#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod abi;
mod error;
pub mod event;
pub mod follow;
pub mod ledger;

pub use error::{Error, Result};
pub use event::{ContractEvent, EvmAddress, LogPosition};
