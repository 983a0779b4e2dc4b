#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod client;
pub mod encoding;
mod error;
pub mod handler;
pub mod proof;
pub mod request;
pub mod store;
mod types;

pub use error::{Error, Result};
pub use request::{Auth, Request};
pub use types::{
    AccountId, Namespace, NamespaceSel, SignedSubaccount, SubaccountToken, access, message_hash,
};
