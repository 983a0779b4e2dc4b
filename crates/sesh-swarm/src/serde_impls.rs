//! serde: node keys as hex strings in human-readable formats (raw bytes otherwise), swarm ids as
//! numbers, a map as `{swarm id: [node key, …]}`. Everything is validated on the way in.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::map::{NodeId, SwarmId, SwarmMap};

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
        let swarms = BTreeMap::<SwarmId, Vec<NodeId>>::deserialize(deserializer)?;
        SwarmMap::from_assignments(
            swarms.into_iter().flat_map(|(id, members)| members.into_iter().map(move |m| (m, id))),
        )
        .map_err(de::Error::custom)
    }
}
