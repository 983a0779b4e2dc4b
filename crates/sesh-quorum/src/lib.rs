#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
pub mod quorum;
pub mod rng;
pub mod storage_test;

pub use error::{Error, Result};
pub use quorum::{
    BlockHash, EntropyBlock, OtherQuorums, PulseCandidate, PulseEntropy, PulseQuorum, Quorum,
    QuorumType, ServiceNodes, blink_quorum, checkpointing_quorum, obligations_quorum,
    other_quorums, pulse_entropy_heights, pulse_quorum,
};
pub use storage_test::{StorageTest, storage_test_pair, storage_test_pairs};
