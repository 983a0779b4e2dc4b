//! The storage server's peer storage tests, bit-exact: which member of a swarm tests which at a
//! block (`ServiceNode::derive_tester_testee` in the storage server's
//! `oxenss/snode/service_node.cpp`).
//!
//! The members are sorted by key, a `std::mt19937_64` is seeded with
//! [`storage_test_seed`] of the block hash (the little-endian `u64` of the first eight
//! characters of its hex text), the tester is `uniform(n)` and the testee `uniform(n)` drawn
//! again until it differs. The server tests block `tip − 4` ([`STORAGE_TEST_BLOCKS_BUFFER`]).
//!
//! Which message is tested is not part of this: the server picks a random stored message
//! (SQL `ORDER BY RANDOM()`), which no other node can replay.
//!
//! ```
//! use sesh_identity::NodeId;
//! use sesh_quorum::{BlockHash, storage_test_pair};
//!
//! let swarm = [NodeId::from_bytes([3; 32]), NodeId::from_bytes([1; 32]), NodeId::from_bytes([2; 32])];
//! let hash = BlockHash::from_bytes([9; 32]);
//! let test = storage_test_pair(&swarm, &hash)?.expect("a swarm of three has a test");
//! assert_ne!(test.tester(), test.testee());
//! // Every member derives the same pair, whatever order it lists the swarm in.
//! let mut reversed = swarm;
//! reversed.reverse();
//! assert_eq!(storage_test_pair(&reversed, &hash)?, Some(test));
//! // A swarm of one tests nobody.
//! assert_eq!(storage_test_pair(&swarm[..1], &hash)?, None);
//! # Ok::<(), sesh_quorum::Error>(())
//! ```

use sesh_identity::NodeId;
use sesh_swarm::{SwarmId, SwarmMap};

use crate::error::{Error, Result};
use crate::quorum::BlockHash;
use crate::rng::{Mt19937_64, storage_test_seed};

/// How many blocks behind the tip the tested block is (`TEST_BLOCKS_BUFFER`).
pub const STORAGE_TEST_BLOCKS_BUFFER: u64 = 4;

/// A storage test: `tester` asks `testee` for a message both should hold. They are two
/// different nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StorageTest {
    tester: NodeId,
    testee: NodeId,
}

impl StorageTest {
    /// The node that asks.
    pub const fn tester(&self) -> &NodeId {
        &self.tester
    }

    /// The node that must answer with the message.
    pub const fn testee(&self) -> &NodeId {
        &self.testee
    }
}

/// The storage test of a swarm with these members (in any order) at the block with hash `hash`;
/// `None` for a swarm of fewer than two.
///
/// # Errors
/// [`Error::DuplicateNode`] if a member is listed twice.
pub fn storage_test_pair(members: &[NodeId], hash: &BlockHash) -> Result<Option<StorageTest>> {
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    let twice = sorted.windows(2).find_map(|pair| match pair {
        [a, b] if a == b => Some(*a),
        _ => None,
    });
    if let Some(node) = twice {
        return Err(Error::DuplicateNode { node });
    }
    Ok(pair_of_sorted(&sorted, &mut Draws::new(storage_test_seed(hash))))
}

/// The storage test of every swarm of `swarms` that has one (two members or more), in swarm
/// order, at the block with hash `hash`.
///
/// Every swarm draws from the same generator (the seed is the block's), so its outputs are
/// computed once for the block and shared: a swarm costs a few divisions, not a generator.
pub fn storage_test_pairs<'a>(
    swarms: &'a SwarmMap,
    hash: &BlockHash,
) -> impl Iterator<Item = (SwarmId, StorageTest)> + 'a {
    let mut draws = Draws::new(storage_test_seed(hash));
    // A swarm map holds its members in key order, each once.
    swarms.iter().filter_map(move |(id, members)| Some((id, pair_of_sorted(members, &mut draws)?)))
}

/// The outputs of `mt19937_64(seed)`, kept as they are first drawn, so that every swarm can read
/// the sequence from its start.
struct Draws {
    rng: Mt19937_64,
    outputs: Vec<u64>,
}

impl Draws {
    fn new(seed: u64) -> Self {
        Self { rng: Mt19937_64::new(seed), outputs: Vec::new() }
    }

    /// Output `i` (from 0) of the sequence.
    fn get(&mut self, i: usize) -> u64 {
        while self.outputs.len() <= i {
            self.outputs.push(self.rng.next_u64());
        }
        self.outputs.get(i).copied().unwrap_or_default()
    }
}

/// oxend's `uniform_distribution_portable` ([`uniform`](crate::rng::uniform)) on the shared
/// sequence from output `*next`, which it advances past the outputs it used.
fn uniform_from(draws: &mut Draws, next: &mut usize, n: u64) -> u64 {
    let n = n.max(1);
    let secure_max = u64::MAX - u64::MAX % n;
    loop {
        let x = draws.get(*next);
        *next += 1;
        if x < secure_max {
            return x / (secure_max / n);
        }
    }
}

/// `derive_tester_testee` on members already in key order, each once.
fn pair_of_sorted(members: &[NodeId], draws: &mut Draws) -> Option<StorageTest> {
    let n = members.len() as u64;
    if n < 2 {
        return None;
    }
    let mut next = 0;
    let tester = uniform_from(draws, &mut next, n);
    let testee = loop {
        let testee = uniform_from(draws, &mut next, n);
        if testee != tester {
            break testee;
        }
    };
    let member = |i: u64| members.get(usize::try_from(i).ok()?).copied();
    Some(StorageTest { tester: member(tester)?, testee: member(testee)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::uniform;

    /// The shared sequence draws what a fresh generator per swarm would.
    #[test]
    fn shared_draws_are_those_of_a_fresh_generator() {
        let mut draws = Draws::new(42);
        for n in [1u64, 2, 3, 5, 7, 10, 1 << 40, u64::MAX] {
            let mut rng = Mt19937_64::new(42);
            let mut next = 0;
            for _ in 0..20 {
                assert_eq!(uniform_from(&mut draws, &mut next, n), uniform(&mut rng, n));
            }
        }
    }
}
