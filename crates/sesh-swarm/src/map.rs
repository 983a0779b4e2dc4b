//! Who is in which swarm, and which swarm holds an account's messages.
//!
//! An account id (a Session ID, group id, …) is reduced to a point of the 64-bit *swarm space*;
//! its messages live on the swarm whose id is nearest to that point, going round the circle.
//!
//! ```
//! use sesh_swarm::{NodeId, SwarmId, SwarmMap, SwarmSpace};
//!
//! let node = |k: u8| NodeId::from_bytes([k; 32]);
//! let map = SwarmMap::from_assignments([
//!     (node(1), SwarmId::new(100)?),
//!     (node(2), SwarmId::new(100)?),
//!     (node(3), SwarmId::new(200)?),
//! ])?;
//!
//! let space: SwarmSpace = "050000000000000000000000000000000000000000000000000000000000000097"
//!     .parse()?;
//! assert_eq!(space.get(), 0x97); // 151: closer to 200 than to 100
//! assert_eq!(map.swarm_for(space), Some(SwarmId::new(200)?));
//! assert_eq!(map.members(SwarmId::new(200)?), [node(3)]);
//! # Ok::<(), sesh_swarm::Error>(())
//! ```

use crate::error::{Error, Result};
use core::fmt;
use core::str::FromStr;
pub use sesh_identity::NodeId;

fn decode_hex<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N]> {
    if text.len() != 2 * N {
        return Err(Error::InvalidLength { what, expected: 2 * N, actual: text.chars().count() });
    }
    if let Some((position, character)) =
        text.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit())
    {
        return Err(Error::InvalidHex { what, character, position });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| Error::InvalidLength {
        what,
        expected: 2 * N,
        actual: text.chars().count(),
    })?;
    Ok(out)
}

/// A swarm's id: its position on the 64-bit circle of swarm space.
///
/// Real swarms have ids `0..=2^64−2` ([`SwarmId::MAX`]); oxend uses `2^64−1`
/// ([`SwarmId::UNASSIGNED`]) in node records to mean "needs a swarm", and that is the only place
/// this crate accepts it (the newcomer bucket of [`calc_swarm_changes`](crate::calc_swarm_changes)).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SwarmId(pub(crate) u64);

impl SwarmId {
    /// The largest id a swarm can have, `2^64−2`.
    pub const MAX: Self = Self(u64::MAX - 1);
    /// oxend's marker for a node without a swarm, `2^64−1`.
    pub const UNASSIGNED: Self = Self(u64::MAX);

    /// The swarm with this id.
    ///
    /// # Errors
    /// [`Error::InvalidSwarmId`] for `2^64−1`, which is the [`UNASSIGNED`](Self::UNASSIGNED)
    /// marker and never a swarm.
    pub fn new(id: u64) -> Result<Self> {
        if id == u64::MAX {
            return Err(Error::InvalidSwarmId(id.to_string()));
        }
        Ok(Self(id))
    }

    /// Parses the id as the storage server's swarm JSON writes it: 1 to 16 hex digits (no sign,
    /// no prefix).
    ///
    /// # Errors
    /// [`Error::InvalidSwarmId`] for anything else, and for the unassigned marker.
    pub fn from_hex(text: &str) -> Result<Self> {
        let digits =
            !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
        let id = u64::from_str_radix(text, 16).ok().filter(|_| digits);
        Self::new(id.ok_or_else(|| Error::InvalidSwarmId(text.to_owned()))?)
    }

    /// The id as a number, as oxend and the storage server RPC write it.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `true` for the [`UNASSIGNED`](Self::UNASSIGNED) marker.
    pub const fn is_unassigned(self) -> bool {
        self.0 == u64::MAX
    }
}

impl fmt::Display for SwarmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for SwarmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unassigned() {
            f.write_str("SwarmId(UNASSIGNED)")
        } else {
            write!(f, "SwarmId({})", self.0)
        }
    }
}

/// Parses a decimal id in `0..=2^64−2`.
impl FromStr for SwarmId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.parse::<u64>() {
            Ok(id) if id != u64::MAX && s.bytes().all(|b| b.is_ascii_digit()) => Ok(Self(id)),
            _ => Err(Error::InvalidSwarmId(s.chars().take(40).collect())),
        }
    }
}

/// The point of swarm space an account's messages live at: the four 8-byte words of its 32 key
/// bytes XORed together, read big-endian. The id's prefix byte (`05`, `03`, …) plays no part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SwarmSpace(u64);

impl SwarmSpace {
    /// The point of these 32 key bytes (an account id without its prefix byte).
    pub fn of_key(key: &[u8; 32]) -> Self {
        let mut folded = [0u8; 8];
        for chunk in key.chunks_exact(8) {
            for (f, b) in folded.iter_mut().zip(chunk) {
                *f ^= b;
            }
        }
        Self(u64::from_be_bytes(folded))
    }

    /// The point of a 33-byte account id (prefix byte, then 32 key bytes).
    pub fn of_account(id: &[u8; 33]) -> Self {
        let [_prefix, key @ ..] = id;
        Self::of_key(key)
    }

    /// The point of an account id as bytes off the wire: 33 bytes (prefix and key), or a bare
    /// 32-byte key as testnet storage servers also accept.
    ///
    /// # Errors
    /// [`Error::InvalidByteLength`] for any other length.
    pub fn from_account_bytes(bytes: &[u8]) -> Result<Self> {
        if let Ok(id) = <&[u8; 33]>::try_from(bytes) {
            Ok(Self::of_account(id))
        } else if let Ok(key) = <&[u8; 32]>::try_from(bytes) {
            Ok(Self::of_key(key))
        } else {
            Err(Error::InvalidByteLength {
                what: "account id",
                expected: "33 (or, on testnet, 32)",
                actual: bytes.len(),
            })
        }
    }

    /// A point given directly.
    pub const fn from_u64(point: u64) -> Self {
        Self(point)
    }

    /// The point as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Parses an account id as 66 hex characters (prefix and key), or a bare key as 64.
impl FromStr for SwarmSpace {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.len() == 64 {
            return decode_hex::<32>("account key", s).map(|k| Self::of_key(&k));
        }
        decode_hex::<33>("account id", s).map(|id| Self::of_account(&id))
    }
}

/// A set of swarm ids in ascending order: enough to find an account's swarm, which is what a
/// client learns from a storage server's swarm list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SwarmIds(Vec<SwarmId>);

impl SwarmIds {
    /// The set of these ids (in any order; repeats count once).
    pub fn new(ids: impl IntoIterator<Item = SwarmId>) -> Self {
        let mut ids: Vec<SwarmId> = ids.into_iter().filter(|id| !id.is_unassigned()).collect();
        ids.sort_unstable();
        ids.dedup();
        Self(ids)
    }

    /// The ids, ascending.
    pub fn as_slice(&self) -> &[SwarmId] {
        &self.0
    }

    /// How many swarms.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` when there is no swarm.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `true` when `id` is one of the ids.
    pub fn contains(&self, id: SwarmId) -> bool {
        self.0.binary_search(&id).is_ok()
    }

    /// The swarm nearest to `space` going round the circle: `None` without swarms, the only one
    /// if there is one; otherwise of the first id at or above the point (`right`, wrapping to
    /// the lowest id) and the one before it (`left`, wrapping to the highest), `right` only if it
    /// is strictly closer. Ties go to `left`: the lower id, or across the wrap the highest.
    /// `O(log S)`.
    pub fn nearest(&self, space: SwarmSpace) -> Option<SwarmId> {
        let ids = self.0.as_slice();
        let (first, last) = (ids.first()?, ids.last()?);
        if ids.len() == 1 {
            return Some(*first);
        }
        let at = ids.partition_point(|id| id.0 < space.0);
        let (left, right) = match at.checked_sub(1) {
            None => (last, first),
            Some(before) => (ids.get(before)?, ids.get(at).unwrap_or(first)),
        };
        let to_right = right.0.wrapping_sub(space.0);
        let to_left = space.0.wrapping_sub(left.0);
        Some(if to_right < to_left { *right } else { *left })
    }
}

/// Every active node's swarm: the consensus state that swarm assignment produces each block.
///
/// Members are kept in key order (the order oxend rebuilds them in before each block); a
/// swarm exists exactly while it has members. Finding an account's swarm is `O(log S)`, a
/// node's swarm `O(log n)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwarmMap {
    ids: SwarmIds,
    /// `members[i]`: the members of swarm `ids[i]`, in key order.
    members: Vec<Vec<NodeId>>,
    /// Every node with its swarm, in key order.
    nodes: Vec<(NodeId, SwarmId)>,
}

impl SwarmMap {
    /// The map with no swarms.
    pub fn new() -> Self {
        Self::default()
    }

    /// The map of these (node, swarm) pairs, as the node records on chain hold them.
    ///
    /// # Errors
    /// [`Error::DuplicateNode`] for a node given twice, [`Error::UnassignedSwarm`] for one placed
    /// in [`SwarmId::UNASSIGNED`].
    pub fn from_assignments(pairs: impl IntoIterator<Item = (NodeId, SwarmId)>) -> Result<Self> {
        let mut nodes: Vec<(NodeId, SwarmId)> = pairs.into_iter().collect();
        if let Some((node, _)) = nodes.iter().find(|(_, swarm)| swarm.is_unassigned()) {
            return Err(Error::UnassignedSwarm { node: node.to_string() });
        }
        nodes.sort_unstable_by_key(|pair| pair.0);
        if let Some(pair) = nodes.windows(2).find(|pair| matches!(pair, [a, b] if a.0 == b.0)) {
            let node = pair.first().map(|(node, _)| node.to_string()).unwrap_or_default();
            return Err(Error::DuplicateNode { node });
        }
        let ids = SwarmIds::new(nodes.iter().map(|(_, swarm)| *swarm));
        let mut members = vec![Vec::new(); ids.len()];
        for (node, swarm) in &nodes {
            if let Some(list) = ids.0.binary_search(swarm).ok().and_then(|at| members.get_mut(at)) {
                list.push(*node);
            }
        }
        Ok(Self { ids, members, nodes })
    }

    /// Assembles a map from parts that already hold its invariants: `ids` ascending and
    /// distinct, `members[i]` the non-empty key-ordered members of `ids[i]`, `nodes` the same
    /// pairs in key order.
    pub(crate) fn from_parts(
        ids: Vec<SwarmId>,
        members: Vec<Vec<NodeId>>,
        nodes: Vec<(NodeId, SwarmId)>,
    ) -> Self {
        Self { ids: SwarmIds(ids), members, nodes }
    }

    /// The swarm that holds messages for the account at `space`; `None` without swarms.
    pub fn swarm_for(&self, space: SwarmSpace) -> Option<SwarmId> {
        self.ids.nearest(space)
    }

    /// The members of swarm `id` in key order; empty if there is no such swarm.
    pub fn members(&self, id: SwarmId) -> &[NodeId] {
        match self.ids.0.binary_search(&id) {
            Ok(at) => self.members.get(at).map_or(&[], Vec::as_slice),
            Err(_) => &[],
        }
    }

    /// The swarm `node` is in, if it is an active node with a swarm.
    pub fn swarm_of(&self, node: &NodeId) -> Option<SwarmId> {
        let at = self.nodes.binary_search_by(|(key, _)| key.cmp(node)).ok()?;
        self.nodes.get(at).map(|(_, swarm)| *swarm)
    }

    /// The swarm ids, ascending.
    pub fn ids(&self) -> &SwarmIds {
        &self.ids
    }

    /// The swarms in id order, each with its members in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (SwarmId, &[NodeId])> + '_ {
        self.ids.0.iter().zip(&self.members).map(|(id, members)| (*id, members.as_slice()))
    }

    /// Every node with its swarm, in key order.
    pub fn assignments(&self) -> impl ExactSizeIterator<Item = (NodeId, SwarmId)> + '_ {
        self.nodes.iter().copied()
    }

    /// How many swarms.
    pub fn swarm_count(&self) -> usize {
        self.ids.len()
    }

    /// How many nodes have a swarm.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// `true` when there is no swarm.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[u64]) -> SwarmIds {
        SwarmIds::new(ids.iter().map(|i| SwarmId(*i)))
    }

    /// Spec §1.6 swarm-space vectors (from the storage server's unit test).
    #[test]
    fn swarm_space_vectors() {
        let cases: [(&str, u64); 9] = [
            (
                "053506f4a71324b7dd114eddbf4e311f39dde243e1f2cb97c40db1961f70ebaae8",
                17589930838143112648,
            ),
            (
                "05cf27da303a50ac8c4b2d43d27259505c9bcd73fc21cf2a57902c3d050730b604",
                10370619079776428163,
            ),
            (
                "03d3511706b8b34f6e8411bf07bd22ba6b2435ca56846fbccf6eb1e166a6cd15cc",
                2144983569669512198,
            ),
            (
                "ff0f06693428fca9102a451e3f28d9cc743d8ea60a89ab6aa69eb119470c11cbd3",
                9690840703409570833,
            ),
            (
                "05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48",
                4532060000165252872,
            ),
            ("05eeeeeeeeeeeeeeee777777777777777711111111111111118888888888888888", 0),
            ("05fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe", 1),
            ("05000000000000000000000000000000000000000000000000ffffffffffffffff", u64::MAX),
            (
                "050000000000000000000000000000000000000000000000000123456789abcdef",
                0x0123456789abcdef,
            ),
        ];
        for (id, space) in cases {
            assert_eq!(id.parse::<SwarmSpace>().unwrap().get(), space, "{id}");
            assert_eq!(id[2..].parse::<SwarmSpace>().unwrap().get(), space, "{id} without prefix");
        }
    }

    /// Spec §1.6 nearest-swarm vectors.
    #[test]
    fn nearest_vectors() {
        let unit = [100, 200, 300, 399, 498, 596, 694];
        let near = |set: &SwarmIds, space: u64| set.nearest(SwarmSpace(space)).unwrap().0;
        let set = ids(&unit);
        for (space, want) in [
            (0, 100),
            (0x96, 100),
            (0x97, 200),
            (0xfa, 200),
            (0xfb, 300),
            (0x15d, 300),
            (0x15e, 399),
            (0x223, 498),
            (0x8000_0000_0000_0000, 694),
            (0xa000_0000_0000_0000, 100),
            (0x8000_0000_0000_018d, 694),
            (0x8000_0000_0000_018e, 100),
            (u64::MAX, 100),
        ] {
            assert_eq!(near(&set, space), want, "space {space:#x}");
        }
        let mut plus_top = unit.to_vec();
        plus_top.push(u64::MAX - 19);
        let set = ids(&plus_top);
        assert_eq!(near(&set, 0x28), u64::MAX - 19);
        assert_eq!(near(&set, 0x29), 100);
        plus_top.push(0);
        let set = ids(&plus_top);
        assert_eq!(near(&set, u64::MAX), 0);
        assert_eq!(near(&set, u64::MAX - 1), 0);
    }

    #[test]
    fn nearest_edges() {
        assert_eq!(ids(&[]).nearest(SwarmSpace(5)), None);
        assert_eq!(ids(&[7]).nearest(SwarmSpace(u64::MAX)), Some(SwarmId(7)));
        // A space equal to an id picks it.
        assert_eq!(ids(&[0, 10]).nearest(SwarmSpace(10)), Some(SwarmId(10)));
        assert_eq!(ids(&[0, 10]).nearest(SwarmSpace(0)), Some(SwarmId(0)));
    }

    #[test]
    fn parsing_errors_say_what_is_wrong() {
        assert_eq!(
            "05zz".repeat(16).parse::<NodeId>().map_err(|e| e.to_string()),
            Err("node id must be hex, but has 'z' at position 2".to_owned())
        );
        assert_eq!(
            "00".parse::<NodeId>().map_err(|e| e.to_string()),
            Err("node id must be 64 hex characters long, got 2".to_owned())
        );
        assert!(matches!("18446744073709551615".parse::<SwarmId>(), Err(Error::InvalidSwarmId(_))));
        assert!(matches!("+5".parse::<SwarmId>(), Err(Error::InvalidSwarmId(_))));
        assert_eq!(SwarmId::from_hex("7fffffffffffffff"), Ok(SwarmId(i64::MAX as u64)));
        for bad in ["", "+1f", "0x1f", "ffffffffffffffff", "10000000000000000", "g"] {
            assert!(matches!(SwarmId::from_hex(bad), Err(Error::InvalidSwarmId(_))), "{bad}");
        }
        assert_eq!("18446744073709551614".parse::<SwarmId>(), Ok(SwarmId::MAX));
        assert!(matches!(
            SwarmSpace::from_account_bytes(&[0; 31]),
            Err(Error::InvalidByteLength { actual: 31, .. })
        ));
        // A multi-byte character must not make slicing panic.
        assert!("é".repeat(32).parse::<NodeId>().is_err());
    }

    #[test]
    fn map_rejects_bad_assignments() {
        let a = NodeId::from_bytes([1; 32]);
        assert!(matches!(
            SwarmMap::from_assignments([(a, SwarmId(1)), (a, SwarmId(2))]),
            Err(Error::DuplicateNode { .. })
        ));
        assert!(matches!(
            SwarmMap::from_assignments([(a, SwarmId::UNASSIGNED)]),
            Err(Error::UnassignedSwarm { .. })
        ));
    }
}
