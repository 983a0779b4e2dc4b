//! serde for public keys and IDs: hex strings in human-readable formats, raw bytes otherwise.

use core::fmt;
use core::marker::PhantomData;
use core::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::id::{AnyId, BlindedId, GroupId, SessionId};
use crate::keys::{Ed25519PublicKey, X25519PublicKey};

/// Deserialises `T` from a hex string or from its raw bytes.
struct BytesOrHex<T>(PhantomData<T>, &'static str);

impl<'de, T> Visitor<'de> for BytesOrHex<T>
where
    T: FromStr + for<'a> TryFrom<&'a [u8]>,
    <T as FromStr>::Err: fmt::Display,
    for<'a> <T as TryFrom<&'a [u8]>>::Error: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        s.parse().map_err(E::custom)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<T, E> {
        T::try_from(bytes).map_err(E::custom)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        // Binary formats without a native byte string (e.g. a serde_json round trip of bytes).
        let mut bytes = Vec::with_capacity(33);
        while let Some(b) = seq.next_element::<u8>()? {
            if bytes.len() == 33 {
                return Err(de::Error::invalid_length(34, &self));
            }
            bytes.push(b);
        }
        T::try_from(bytes.as_slice()).map_err(de::Error::custom)
    }
}

macro_rules! hex_or_bytes {
    ($($ty:ty => $expecting:literal),* $(,)?) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.collect_str(self)
                } else {
                    serializer.serialize_bytes(&self.to_bytes())
                }
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let visitor = BytesOrHex::<$ty>(PhantomData, $expecting);
                if deserializer.is_human_readable() {
                    deserializer.deserialize_str(visitor)
                } else {
                    deserializer.deserialize_bytes(visitor)
                }
            }
        }
    )*};
}

hex_or_bytes! {
    Ed25519PublicKey => "an Ed25519 public key (64 hex digits or 32 bytes)",
    X25519PublicKey => "an X25519 public key (64 hex digits or 32 bytes)",
    SessionId => "a Session ID (66 hex digits starting 05, or 33 bytes)",
    GroupId => "a group ID (66 hex digits starting 03, or 33 bytes)",
    BlindedId => "a blinded ID (66 hex digits starting 15 or 25, or 33 bytes)",
    AnyId => "a Session ID of any kind (66 hex digits, or 33 bytes)",
}

/// A node id: hex in human-readable formats; in binary ones a fixed 32-byte tuple, the encoding
/// of `[u8; 32]` (so that a ledger journal written with a plain byte array reads back the same).
impl Serialize for crate::NodeId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            self.as_bytes().serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for crate::NodeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor =
            BytesOrHex::<crate::NodeId>(PhantomData, "a node id (64 hex digits or 32 bytes)");
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(visitor)
        } else {
            deserializer.deserialize_tuple(32, visitor)
        }
    }
}
