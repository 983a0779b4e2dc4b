#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod auth;
mod error;
pub mod link;
pub mod oxend;
mod record;
mod state;
pub mod stream;

pub use error::{Error, Result};
pub use record::{NodeRecord, base32z};
pub use sesh_identity::NodeId;
pub use state::{NetworkState, STATE_PATH};
