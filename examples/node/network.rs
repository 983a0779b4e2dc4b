//! What a node knows of the network: every node's keys and address, and the swarms, as the
//! ledger authority publishes them (`GET /network/v1/state`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{Value, json};
use sesh_rpc::AccountId;
use sesh_rpc::handler::SwarmView;
use sesh_swarm::{NodeId, SwarmId, SwarmMap, SwarmSpace};

/// A node of the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeInfo {
    /// Its Ed25519 key (its name).
    pub(crate) ed25519: [u8; 32],
    /// Its X25519 key (what onion layers are encrypted to).
    pub(crate) x25519: [u8; 32],
    /// Where it listens.
    pub(crate) ip: Ipv4Addr,
    /// Its port.
    pub(crate) port: u16,
    /// Whether it serves HTTPS (else plain HTTP, loopback testnets only).
    pub(crate) tls: bool,
}

impl NodeInfo {
    /// The base URL of the node.
    pub(crate) fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}:{}{path}", self.ip, self.port)
    }

    /// The node as the swarm JSON lists it.
    fn to_json(&self) -> Value {
        let ed = hex::encode(self.ed25519);
        json!({
            "address": format!("{}.snode", base32z(&self.ed25519)),
            "pubkey_legacy": ed,
            "pubkey_x25519": hex::encode(self.x25519),
            "pubkey_ed25519": ed,
            "port": self.port.to_string(),
            "port_https": self.port,
            "port_omq": self.port,
            "port_quic": self.port,
            "ip": self.ip.to_string(),
        })
    }
}

/// z-base-32, as oxenc's `to_base32z` writes keys in `.snode` addresses.
pub(crate) fn base32z(bytes: &[u8]) -> String {
    let spec = {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str("ybndrfg8ejkmcpqxot1uwisza345h769");
        spec
    };
    match spec.encoding() {
        Ok(encoding) => encoding.encode(bytes),
        Err(_) => String::new(),
    }
}

/// One published state of the network.
#[derive(Clone, Debug, Default)]
pub(crate) struct View {
    /// The block height it is for.
    pub(crate) height: u64,
    /// The hard fork the network is at.
    pub(crate) hf: [u16; 2],
    /// Every node with an address, by Ed25519 key.
    pub(crate) nodes: BTreeMap<[u8; 32], NodeInfo>,
    /// The swarms.
    pub(crate) map: SwarmMap,
    /// This node's key.
    pub(crate) me: [u8; 32],
}

impl View {
    /// An empty view (before the first poll).
    pub(crate) fn empty(me: [u8; 32], hf: [u16; 2]) -> Self {
        Self { me, hf, ..Self::default() }
    }

    /// Parses the authority's state JSON.
    pub(crate) fn from_json(me: [u8; 32], state: &Value) -> Result<Self, String> {
        let height = state.get("height").and_then(Value::as_u64).ok_or("state has no height")?;
        let hf = match state.get("hf").and_then(Value::as_array).map(Vec::as_slice) {
            Some([a, b]) => [
                a.as_u64().and_then(|v| u16::try_from(v).ok()).ok_or("bad hf")?,
                b.as_u64().and_then(|v| u16::try_from(v).ok()).ok_or("bad hf")?,
            ],
            _ => return Err("state has no hf".into()),
        };
        let list = state.get("nodes").and_then(Value::as_array).ok_or("state has no nodes")?;
        let mut nodes = BTreeMap::new();
        let mut assignments = Vec::new();
        for n in list {
            let key = |name: &str| -> Result<[u8; 32], String> {
                let text =
                    n.get(name).and_then(Value::as_str).ok_or(format!("node without {name}"))?;
                let mut out = [0u8; 32];
                hex::decode_to_slice(text, &mut out).map_err(|_| format!("bad {name}"))?;
                Ok(out)
            };
            let info = NodeInfo {
                ed25519: key("pubkey_ed25519")?,
                x25519: key("pubkey_x25519")?,
                ip: n
                    .get("ip")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .ok_or("node without an IPv4 address")?,
                port: n
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or("node without a port")?,
                tls: n.get("tls").and_then(Value::as_bool).unwrap_or(true),
            };
            if let Some(swarm) = n.get("swarm").and_then(Value::as_str) {
                let id = u64::from_str_radix(swarm, 16).map_err(|_| "bad swarm id")?;
                let id = SwarmId::new(id).map_err(|e| e.to_string())?;
                assignments.push((NodeId::from_bytes(info.ed25519), id));
            }
            nodes.insert(info.ed25519, info);
        }
        let map = SwarmMap::from_assignments(assignments).map_err(|e| e.to_string())?;
        Ok(Self { height, hf, nodes, map, me })
    }

    /// This node's swarm, once it has one.
    pub(crate) fn my_swarm(&self) -> Option<SwarmId> {
        self.map.swarm_of(&NodeId::from_bytes(self.me))
    }

    /// Why the node cannot serve yet, if it cannot.
    pub(crate) fn not_ready(&self) -> Option<&'static str> {
        if !self.nodes.contains_key(&self.me) {
            Some("not registered with the network yet")
        } else if self.my_swarm().is_none() {
            Some("not in a swarm")
        } else {
            None
        }
    }

    /// The members of a swarm.
    pub(crate) fn members(&self, swarm: SwarmId) -> Vec<&NodeInfo> {
        self.map.members(swarm).iter().filter_map(|k| self.nodes.get(k.as_bytes())).collect()
    }

    /// The other members of this node's swarm.
    pub(crate) fn peers(&self) -> Vec<&NodeInfo> {
        match self.my_swarm() {
            Some(s) => self.members(s).into_iter().filter(|n| n.ed25519 != self.me).collect(),
            None => Vec::new(),
        }
    }

    /// The swarm that stores `account`'s messages.
    pub(crate) fn swarm_for(&self, account: &AccountId) -> Option<SwarmId> {
        self.map.swarm_for(SwarmSpace::of_account(&account.to_bytes()))
    }

    /// The swarm JSON of a swarm.
    fn swarm_to_json(&self, swarm: Option<SwarmId>) -> Value {
        match swarm {
            None => json!({"snodes": [], "swarm": "ffffffffffffffff"}),
            Some(id) => json!({
                "snodes": self.members(id).iter().map(|n| n.to_json()).collect::<Vec<_>>(),
                "swarm": format!("{:x}", id.get()),
            }),
        }
    }
}

impl SwarmView for View {
    fn owns(&self, account: &AccountId) -> bool {
        self.my_swarm().is_some() && self.swarm_for(account) == self.my_swarm()
    }

    fn swarm_json(&self, account: &AccountId) -> Value {
        self.swarm_to_json(self.swarm_for(account))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base32z_matches_oxenc() {
        // oxenc: to_base32z of 32 zero bytes is 52 'y's; of 0xff… ends in the 1-bit symbol.
        assert_eq!(base32z(&[0; 32]), "y".repeat(52));
        assert_eq!(base32z(&[0xff; 2]), "999o");
    }
}
