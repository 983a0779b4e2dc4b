#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod decision;
mod error;
pub mod proof;
pub mod quorum;
pub mod rng;
pub mod storage_test;
pub mod tally;
pub mod vote;

pub use decision::{Decision, DecisionRules, Heights, TestResults, WorkerInfo, decide};
pub use error::{Error, Result};
pub use proof::{ProofRules, ProofTimings, SignedProof, UptimeProof};
pub use quorum::{
    BlockHash, EntropyBlock, OtherQuorums, PulseCandidate, PulseEntropy, PulseQuorum, Quorum,
    QuorumType, ServiceNodes, blink_quorum, checkpointing_quorum, obligations_quorum,
    other_quorums, pulse_entropy_heights, pulse_quorum,
};
pub use storage_test::{StorageTest, storage_test_pair, storage_test_pairs};
pub use tally::{Decided, Status, Tally, VotePool};
pub use vote::{Reasons, StateChange, Subject, Vote, vote_hash};
