#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod blinded;
pub mod envelope;
mod error;
pub mod multi;
pub mod one_to_one;
pub mod padding;
pub mod proto;
mod sealed;
pub mod storage;

pub use error::{Error, Result};
