//! The keys the ledger knows parties by.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;
pub(crate) use sesh_identity::NodeId;

fn decode<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return Err(Error::Decode { offset: 0, why: what });
    }
    hex::decode_to_slice(text, &mut out).map_err(|_| Error::Decode { offset: 0, why: what })?;
    Ok(out)
}

/// `a.cmp(b)` for byte arrays, as big-endian 8-byte words and then the remaining bytes: the
/// same order as comparing the bytes one by one, in a few integer comparisons.
#[inline]
fn lexicographic<const N: usize>(a: &[u8; N], b: &[u8; N]) -> core::cmp::Ordering {
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (wa.remainder(), wb.remainder());
    for (x, y) in wa.zip(wb) {
        let word = |c: &[u8]| u64::from_be_bytes(c.try_into().unwrap_or([0; 8]));
        match word(x).cmp(&word(y)) {
            core::cmp::Ordering::Equal => {}
            other => return other,
        }
    }
    ra.cmp(rb)
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident, $len:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub struct $name(#[serde(with = "serde_bytes_array")] [u8; $len]);

        impl Ord for $name {
            /// The bytes' lexicographic order (as derived), compared 8 bytes at a time: the
            /// ledger and the reward engines look these keys up in sorted maps on every block.
            #[inline]
            fn cmp(&self, other: &Self) -> core::cmp::Ordering {
                lexicographic(&self.0, &other.0)
            }
        }

        impl PartialOrd for $name {
            #[inline]
            fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// The key with these bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Its bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        /// Parses hex.
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                decode::<$len>(concat!($what, " must be ", stringify!($len), " bytes of hex"), s).map(Self)
            }
        }
    };
}

key_type!(
    /// An account: the Ed25519 public key that signs its transactions (operators, contributors,
    /// beneficiaries, liquidators).
    Address, 32, "an address"
);

key_type!(
    /// A node's BLS public key (a BN254 G1 point, X‖Y), kept as bytes: the ledger only requires it
    /// to be non-zero and unique; its proof of possession is the contract's to check.
    BlsKey, 64, "a BLS key"
);

/// serde for fixed-size byte arrays of any length (serde's own impls stop at 32).
mod serde_bytes_array {
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::ser::{SerializeTuple, Serializer};

    pub(super) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(N)?;
        for b in bytes {
            tuple.serialize_element(b)?;
        }
        tuple.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        struct Bytes<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for Bytes<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{N} bytes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
                let mut out = [0u8; N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot =
                        seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                Ok(out)
            }
        }
        d.deserialize_tuple(N, Bytes::<N>)
    }
}

impl Address {
    /// The address of an account's Ed25519 key.
    pub fn from_identity(identity: &sesh_identity::Identity) -> Self {
        Self(identity.ed25519_public_key().to_bytes())
    }

    /// The address of a 20-byte EVM account (a staker on the staking contract): 12 zero bytes,
    /// then the EVM address, as the ABI pads an `address` into a 32-byte word. Ed25519 accounts
    /// keep their 32-byte keys; a key that starts with 12 zero bytes is not one anyone can find.
    pub fn from_evm(evm: [u8; 20]) -> Self {
        let mut bytes = [0u8; 32];
        if let Some(tail) = bytes.last_chunk_mut::<20>() {
            *tail = evm;
        }
        Self(bytes)
    }

    /// The EVM address this is, if it is one (its first 12 bytes are zero): the way back from
    /// [`Address::from_evm`].
    pub fn evm(&self) -> Option<[u8; 20]> {
        let (pad, evm) = self.0.split_first_chunk::<12>()?;
        if pad.iter().any(|b| *b != 0) {
            return None;
        }
        evm.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<const N: usize>() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33).to_le_bytes()[0]
        };
        for i in 0..N {
            for (x, y) in [(0u8, 255u8), (1, 2), (255, 0), (7, 7), (128, 127)] {
                let mut a = [0u8; N];
                for byte in &mut a {
                    *byte = next();
                }
                let mut b = a;
                a[i] = x;
                b[i] = y;
                for byte in b.iter_mut().skip(i + 1) {
                    *byte = next();
                }
                assert_eq!(lexicographic(&a, &b), a.cmp(&b), "N = {N}, byte {i}");
                assert_eq!(lexicographic(&b, &a), b.cmp(&a));
            }
        }
    }

    #[test]
    fn keys_order_as_their_bytes() {
        check::<20>();
        check::<32>();
        check::<48>();
        check::<7>();
        let (a, b) = (Address::from_bytes([1; 32]), Address::from_bytes([2; 32]));
        assert!(a < b);
        assert!(b > a);
        assert_eq!(a.cmp(&a), core::cmp::Ordering::Equal);
    }

    #[test]
    fn evm_addresses_round_trip() {
        let evm: [u8; 20] = core::array::from_fn(|i| u8::try_from(i + 1).unwrap_or(0));
        let a = Address::from_evm(evm);
        assert_eq!(&a.as_bytes()[..12], &[0u8; 12]);
        assert_eq!(&a.as_bytes()[12..], &evm);
        assert_eq!(a.evm(), Some(evm));
        assert_eq!(Address::from_bytes([1; 32]).evm(), None);
        assert_eq!(Address::from_evm([0; 20]).evm(), Some([0; 20]));
    }
}
