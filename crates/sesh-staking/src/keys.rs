//! The keys the ledger knows parties by.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

fn decode<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return Err(Error::Decode { offset: 0, why: what });
    }
    hex::decode_to_slice(text, &mut out).map_err(|_| Error::Decode { offset: 0, why: what })?;
    Ok(out)
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident, $len:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(#[serde(with = "serde_bytes_array")] [u8; $len]);

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
    /// A service node's identity: its Ed25519 public key, which signs its uptime proofs, its
    /// votes and its registration proof.
    NodeId, 32, "a node id"
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
}

impl NodeId {
    /// The id of a node whose Ed25519 key is `identity`'s.
    pub fn from_identity(identity: &sesh_identity::Identity) -> Self {
        Self(identity.ed25519_public_key().to_bytes())
    }
}
