#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod aead;
pub mod builder;
mod error;
pub mod hop;
pub mod node;
pub mod payload;
pub mod reply;
pub mod routing;
pub mod v4;

pub use builder::{Destination, Hop, MAX_HOPS, OnionRequest, Server, build};
pub use error::{Error, Result};
pub use hop::EncType;
pub use reply::{ReplyKeys, Response};
