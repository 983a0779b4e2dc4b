#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![deny(clippy::float_arithmetic, clippy::float_cmp, clippy::cast_precision_loss)]

pub mod claims;
pub mod engine;
mod error;
mod plan;
pub mod pool;
pub mod service;
pub mod split;

pub use error::{Error, Result};
