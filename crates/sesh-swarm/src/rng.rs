//! The randomness of swarm assignment, bit-exact with oxend: C++'s `std::mt19937_64` and oxend's
//! portable uniform distribution. Library distributions are never used: they differ between
//! implementations, and every node must draw the same numbers.
//!
//! ```
//! use sesh_swarm::rng::{Mt19937_64, uniform};
//!
//! let mut mt = Mt19937_64::new(42);
//! assert_eq!(mt.next_u64(), 13930160852258120406);
//! let picks: Vec<u64> = (0..5).map(|_| uniform(&mut Mt19937_64::new(42), 7)).collect();
//! assert_eq!(picks[0], 5);
//! ```

/// The 64-bit Mersenne Twister, `std::mt19937_64`.
#[derive(Clone)]
pub struct Mt19937_64 {
    state: [u64; Self::N],
    index: usize,
}

// Indices are below N by construction (i < N, (i + 1) % N, (i + M) % N, index < N after twist).
#[allow(clippy::indexing_slicing)]
impl Mt19937_64 {
    const N: usize = 312;
    const M: usize = 156;
    const MATRIX_A: u64 = 0xB502_6F5A_A966_19E9;
    const UPPER: u64 = 0xFFFF_FFFF_8000_0000;
    const LOWER: u64 = 0x0000_0000_7FFF_FFFF;

    /// Seeded as `std::mt19937_64{seed}`.
    pub fn new(seed: u64) -> Self {
        let mut state = [0u64; Self::N];
        let mut previous = seed;
        for (i, slot) in state.iter_mut().enumerate() {
            *slot = previous;
            previous = 6_364_136_223_846_793_005u64
                .wrapping_mul(previous ^ (previous >> 62))
                .wrapping_add(i as u64 + 1);
        }
        Self { state, index: Self::N }
    }

    fn twist(&mut self) {
        for i in 0..Self::N {
            let x = (self.state[i] & Self::UPPER) | (self.state[(i + 1) % Self::N] & Self::LOWER);
            let mut xa = x >> 1;
            if x & 1 != 0 {
                xa ^= Self::MATRIX_A;
            }
            self.state[i] = self.state[(i + Self::M) % Self::N] ^ xa;
        }
        self.index = 0;
    }

    /// The next output.
    pub fn next_u64(&mut self) -> u64 {
        if self.index >= Self::N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= (y >> 29) & 0x5555_5555_5555_5555;
        y ^= (y << 17) & 0x71D6_7FFF_EDA6_0000;
        y ^= (y << 37) & 0xFFF7_EEE0_0000_0000;
        y ^= y >> 43;
        y
    }
}

impl core::fmt::Debug for Mt19937_64 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mt19937_64").field("index", &self.index).finish_non_exhaustive()
    }
}

/// A uniform draw from `0..n` (oxend's `uniform_distribution_portable`): draws below the largest
/// multiple of `n` are kept, and divided down. `n` is at least 1.
pub fn uniform(rng: &mut Mt19937_64, n: u64) -> u64 {
    let n = n.max(1);
    let secure_max = u64::MAX - u64::MAX % n;
    loop {
        let x = rng.next_u64();
        if x < secure_max {
            return x / (secure_max / n);
        }
    }
}

/// Shuffles `items` as oxend's `tools::shuffle_portable` does (a Fisher-Yates from the front,
/// with [`uniform`]).
pub fn shuffle<T>(items: &mut [T], rng: &mut Mt19937_64) {
    for i in 1..items.len() {
        let j = uniform(rng, i as u64 + 1);
        items.swap(i, usize::try_from(j).unwrap_or(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's PRNG vectors (§1.7), including the C++ standard's check value.
    #[test]
    fn spec_vectors() {
        let mut mt = Mt19937_64::new(42);
        assert_eq!(
            [mt.next_u64(), mt.next_u64(), mt.next_u64()],
            [13930160852258120406, 11788048577503494824, 13874630024467741450]
        );
        let mut mt = Mt19937_64::new(5489);
        assert_eq!(
            [mt.next_u64(), mt.next_u64(), mt.next_u64()],
            [14514284786278117030, 4620546740167642908, 13109570281517897720]
        );
        for _ in 3..9999 {
            mt.next_u64();
        }
        assert_eq!(mt.next_u64(), 9981545732273789042);
        let mut mt = Mt19937_64::new(42);
        let draws: Vec<u64> = (0..5).map(|_| uniform(&mut mt, 7)).collect();
        assert_eq!(draws, [5, 4, 5, 0, 6]);
    }

    #[test]
    fn uniform_stays_in_range() {
        let mut mt = Mt19937_64::new(1);
        for n in [1u64, 2, 3, 7, 1000, u64::MAX] {
            for _ in 0..100 {
                assert!(uniform(&mut mt, n) < n);
            }
        }
        assert_eq!(uniform(&mut mt, 0), 0);
        let mut v = [1, 2, 3, 4, 5];
        shuffle(&mut v, &mut mt);
        v.sort_unstable();
        assert_eq!(v, [1, 2, 3, 4, 5]);
    }
}
