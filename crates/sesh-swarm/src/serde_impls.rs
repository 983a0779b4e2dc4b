//! serde: node keys as hex strings in human-readable formats (raw bytes otherwise), swarm ids as
//! numbers, a map as `{swarm id: [node key, …]}`. Everything is validated on the way in.

use core::fmt;
use std::collections::BTreeMap;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::map::{NodeKey, SwarmId, SwarmMap};

struct NodeKeyVisitor;

impl<'de> Visitor<'de> for NodeKeyVisitor {
    type Value = NodeKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node key (64 hex digits or 32 bytes)")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<NodeKey, E> {
        s.parse().map_err(E::custom)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<NodeKey, E> {
        NodeKey::try_from(bytes).map_err(E::custom)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<NodeKey, A::Error> {
        let mut bytes = [0u8; 32];
        for (i, slot) in bytes.iter_mut().enumerate() {
            *slot = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        if seq.next_element::<u8>()?.is_some() {
            return Err(de::Error::invalid_length(33, &self));
        }
        Ok(NodeKey::from_bytes(bytes))
    }
}

impl Serialize for NodeKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_bytes(self.as_bytes())
        }
    }
}

impl<'de> Deserialize<'de> for NodeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(NodeKeyVisitor)
        } else {
            deserializer.deserialize_bytes(NodeKeyVisitor)
        }
    }
}

impl Serialize for SwarmId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.get())
    }
}

impl<'de> Deserialize<'de> for SwarmId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SwarmId::new(u64::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl Serialize for SwarmMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for SwarmMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let swarms = BTreeMap::<SwarmId, Vec<NodeKey>>::deserialize(deserializer)?;
        SwarmMap::from_assignments(
            swarms.into_iter().flat_map(|(id, members)| members.into_iter().map(move |m| (m, id))),
        )
        .map_err(de::Error::custom)
    }
}
