#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod analysis;
mod assign;
mod error;
mod map;
pub mod rng;
#[cfg(feature = "serde")]
mod serde_impls;
mod sort;
mod transition;

pub use assign::{
    DECOMMISSIONED_REDISTRIBUTION_LOWER_PERCENTILE, EXCESS_BASE, FILL_SWARM_LOWER_PERCENTILE,
    IDEAL_SWARM_MARGIN, MIN_SWARM_SIZE, NEW_SWARM_SIZE, STEALING_SWARM_UPPER_PERCENTILE, SortOrder,
    Swarms, calc_swarm_changes, new_swarm_id,
};
pub use error::{Error, Result};
pub use map::{NodeId, SwarmId, SwarmIds, SwarmMap, SwarmSpace};
pub use transition::{Change, NodeState, Transition, next, seed_from_block_hash};
