//! The chain's randomness, as oxend and the storage server draw it: every node must draw the same
//! numbers from the same block, so nothing here is a library distribution.
//!
//! * [`quorum_rng`]: oxend's `quorum_rng`, the generator behind every quorum shuffle: from HF16
//!   a `std::seed_seq` over the quorum type and the block hash, before that the hash's first
//!   eight bytes plus the type.
//! * [`storage_test_seed`]: the storage server's seed for a block's tester/testee draw, which
//!   reads the first eight characters of the block hash's **hex text**, not its bytes.
//! * [`cn_fast_hash`]: Keccak-256 with the original padding, which pulse entropy (and oxend's
//!   vote hashes) are made with.
//!
//! The generator and the draws are `sesh-swarm`'s (the swarm code and the quorum code call the
//! same `std::mt19937_64`, `uniform_distribution_portable` and `shuffle_portable`), re-exported
//! here.
//!
//! ```
//! use sesh_quorum::rng::{cn_fast_hash, quorum_rng, storage_test_seed, uniform};
//! use sesh_quorum::{BlockHash, QuorumType};
//! use sesh_staking::oxen::HardFork;
//!
//! let hash: BlockHash = "c616231ee68165f167eb4475bf77f95b1605f23d1be5f4a6c1973d4db490a90b".parse()?;
//! // The storage server seeds with the ASCII of "c616231e", little-endian.
//! assert_eq!(storage_test_seed(&hash), 0x6531_3332_3631_3663);
//! let mut rng = quorum_rng(HardFork::HF21, hash.as_bytes(), QuorumType::Obligations);
//! assert!(uniform(&mut rng, 10) < 10);
//! assert_eq!(
//!     hex::encode(cn_fast_hash(b"")),
//!     "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
//! );
//! # Ok::<(), sesh_quorum::Error>(())
//! ```

use sesh_staking::oxen::HardFork;
use sha3::{Digest as _, Keccak256};

pub use sesh_swarm::rng::{Mt19937_64, shuffle, uniform};

use crate::quorum::{BlockHash, QuorumType};

/// oxend's `quorum_rng(hf, hash, type)`: the generator a quorum of `kind` is shuffled with, from
/// a block hash (or, for pulse, an entropy hash).
///
/// From HF16 it is `std::mt19937_64` seeded by `std::seed_seq` over nine 32-bit words: the
/// type, then the hash as eight little-endian words. Before HF16 the seed is the hash's first
/// eight bytes as a little-endian `u64`, plus the type (wrapping).
pub fn quorum_rng(hf: HardFork, hash: &[u8; 32], kind: QuorumType) -> Mt19937_64 {
    if hf >= HardFork::HF16 {
        let (chunks, _) = hash.as_chunks::<4>();
        let mut words = [0u32; 9];
        let source = core::iter::once(u32::from(kind as u8))
            .chain(chunks.iter().map(|chunk| u32::from_le_bytes(*chunk)));
        for (word, value) in words.iter_mut().zip(source) {
            *word = value;
        }
        Mt19937_64::from_seed_seq(&words)
    } else {
        let [a, b, c, d, e, f, g, h, ..] = *hash;
        let seed = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
        Mt19937_64::new(seed.wrapping_add(u64::from(kind as u8)))
    }
}

/// The storage server's seed for the tester/testee draw at a block: the little-endian `u64` of
/// the first eight characters of the block hash as oxend's RPC writes it (lowercase hex).
///
/// The server keeps the hash as that text, so these are ASCII digits, not hash bytes
/// (`../shared/spec/swarm-stake-rewards.md` §4.3 and its correction).
pub fn storage_test_seed(hash: &BlockHash) -> u64 {
    const fn digit(nibble: u8) -> u8 {
        if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 }
    }
    let [a, b, c, d, ..] = *hash.as_bytes();
    let [a, b, c, d] = [a, b, c, d].map(|byte| [digit(byte >> 4), digit(byte & 0x0f)]);
    u64::from_le_bytes([a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1]])
}

/// oxend's `cn_fast_hash`: Keccak-256 with the original Keccak padding (not SHA3-256).
pub fn cn_fast_hash(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_is_not_sha3() {
        assert_eq!(
            hex::encode(cn_fast_hash(&[0])),
            "bc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a"
        );
    }

    #[test]
    fn legacy_seed_adds_the_type() {
        let mut rng = quorum_rng(HardFork::HF13, &[1; 32], QuorumType::Blink);
        let mut expected = Mt19937_64::new(0x0101_0101_0101_0101 + 2);
        assert_eq!(rng.next_u64(), expected.next_u64());
    }
}
