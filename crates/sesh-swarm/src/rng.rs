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

    /// Seeded as `std::mt19937_64::seed(std::seed_seq{seeds…})`: [`seed_seq_generate`] gives
    /// two 32-bit words per state word (low word first). oxend seeds its quorum RNG so from
    /// HF16.
    ///
    /// ```
    /// use sesh_swarm::rng::Mt19937_64;
    ///
    /// // std::mt19937_64 mt; std::seed_seq seq{1, 2, 3}; mt.seed(seq); mt();
    /// assert_eq!(Mt19937_64::from_seed_seq(&[1, 2, 3]).next_u64(), 1831209241179374162);
    /// ```
    pub fn from_seed_seq(seeds: &[u32]) -> Self {
        let mut words = [0u32; 2 * Self::N];
        seed_seq_generate(seeds, &mut words);
        let mut state = [0u64; Self::N];
        for (slot, pair) in state.iter_mut().zip(words.chunks_exact(2)) {
            *slot = u64::from(pair[0]) | u64::from(pair[1]) << 32;
        }
        // The standard's guard against an all-zero state (the top 33 bits of the first word and
        // every other word zero), which no seed_seq output is known to produce.
        if state[0] & Self::UPPER == 0 && state[1..].iter().all(|&word| word == 0) {
            state[0] = 1 << 63;
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

/// C++'s `std::seed_seq{seeds…}.generate(out)` ([rand.util.seedseq]): fills `out` with 32-bit
/// words mixed from `seeds`. Arithmetic is modulo 2^32, as the standard requires.
// Every index into `out` is below n = out.len(); seeds[k - 1] is read for 1 ≤ k ≤ seeds.len().
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
pub fn seed_seq_generate(seeds: &[u32], out: &mut [u32]) {
    let n = out.len();
    if n == 0 {
        return;
    }
    out.fill(0x8b8b_8b8b);
    let s = seeds.len();
    let t = match n {
        623.. => 11,
        68.. => 7,
        39.. => 5,
        7.. => 3,
        _ => (n - 1) / 2,
    };
    let p = (n - t) / 2;
    let q = p + t;
    let m = (s + 1).max(n);
    let mix = |x: u32| x ^ (x >> 27);
    // k mod n, (k + p) mod n, (k + q) mod n and (k - 1) mod n, stepped without a division each.
    // At k = 0 the buffer is still all 0x8b8b8b8b, so which word stands for k - 1 is moot.
    let (mut at, mut at_p, mut at_q, mut before) = (0, p % n, q % n, n - 1);
    let step = |i: &mut usize| *i = if *i + 1 == n { 0 } else { *i + 1 };
    for k in 0..m + n {
        if k < m {
            let r1 = mix(out[at] ^ out[at_p] ^ out[before]).wrapping_mul(1_664_525);
            let extra = match k {
                0 => s as u32,
                k if k <= s => (at as u32).wrapping_add(seeds[k - 1]),
                _ => at as u32,
            };
            let r2 = r1.wrapping_add(extra);
            out[at_p] = out[at_p].wrapping_add(r1);
            out[at_q] = out[at_q].wrapping_add(r2);
            out[at] = r2;
        } else {
            let sum = out[at].wrapping_add(out[at_p]).wrapping_add(out[before]);
            let r3 = mix(sum).wrapping_mul(1_566_083_941);
            let r4 = r3.wrapping_sub(at as u32);
            out[at_p] ^= r3;
            out[at_q] ^= r4;
            out[at] = r4;
        }
        before = at;
        step(&mut at);
        step(&mut at_p);
        step(&mut at_q);
    }
}

/// A uniform draw from `0..n` (oxend's `uniform_distribution_portable`): draws below the largest
/// multiple of `n` are kept, and divided down. `n` is at least 1.
pub fn uniform(rng: &mut Mt19937_64, n: u64) -> u64 {
    let n = n.max(1);
    // oxend's `secure_max = MAX - MAX % n` and `x / (secure_max / n)`, with one division fewer:
    // `secure_max / n` is `MAX / n`, and `secure_max` is that times `n`.
    let bucket = u64::MAX / n;
    let secure_max = bucket * n;
    loop {
        let x = rng.next_u64();
        if x < secure_max {
            return x / bucket;
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

    /// Values from libstdc++ (GCC 12): `std::seed_seq` and `std::mt19937_64::seed(seq)`.
    #[test]
    fn seed_seq_matches_libstdcxx() {
        let mut out = [0u32; 10];
        seed_seq_generate(&[5, 6], &mut out);
        assert_eq!(
            out,
            [
                1143704149, 2933325638, 9954296, 3328680195, 3577796885, 1364400955, 4224846615,
                3081697763, 1877558199, 3968599873
            ]
        );
        let mut one = [0u32; 1];
        seed_seq_generate(&[5, 6], &mut one);
        assert_eq!(one, [3803619778]);
        seed_seq_generate(&[5, 6], &mut []);
        // More seeds than words: the first pass runs past the end of the output.
        let long = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xffff_fff0];
        let mut seven = [0u32; 7];
        seed_seq_generate(&long, &mut seven);
        assert_eq!(
            seven,
            [3361714860, 2574488086, 2926363187, 3472274583, 3574726808, 1991613417, 1521364197]
        );
        let mut two = [0u32; 2];
        seed_seq_generate(&long, &mut two);
        assert_eq!(two, [923360547, 126662490]);
        assert_eq!(Mt19937_64::from_seed_seq(&[1, 2, 3]).next_u64(), 1831209241179374162);
        assert_eq!(Mt19937_64::from_seed_seq(&[]).next_u64(), 835052665647855778);
        let mut mt = Mt19937_64::from_seed_seq(&[0, u32::MAX, 7, 8, 9, 10, 11, 12, 13]);
        for _ in 0..999 {
            mt.next_u64();
        }
        assert_eq!(mt.next_u64(), 11599801138258880047);
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

    /// The draw is oxend's `uniform_distribution_portable` to the bit: the same generator
    /// gives the same values as its three-division form, for every kind of bound.
    #[test]
    fn uniform_is_oxends_formula() {
        let oxend = |mt: &mut Mt19937_64, n: u64| {
            let secure_max = u64::MAX - u64::MAX % n;
            loop {
                let x = mt.next_u64();
                if x < secure_max {
                    return x / (secure_max / n);
                }
            }
        };
        let mut ns = vec![1u64, 2, 3, 7, 10, 1000, 1 << 32, (1 << 63) + 1, u64::MAX - 1, u64::MAX];
        let mut pick = Mt19937_64::new(99);
        ns.extend((0..200).map(|_| pick.next_u64() >> (pick.next_u64() % 64)).filter(|n| *n > 0));
        for (i, n) in ns.into_iter().enumerate() {
            let (mut a, mut b) = (Mt19937_64::new(i as u64), Mt19937_64::new(i as u64));
            for _ in 0..20 {
                assert_eq!(uniform(&mut a, n), oxend(&mut b, n), "n = {n}");
            }
        }
    }
}
