#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod bootstrap;
pub mod delivery;
mod error;
pub mod inbox;
pub mod message;
pub mod paths;

pub use error::{Error, Result};
