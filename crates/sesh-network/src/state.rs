//! The network state: every node's record and the swarms, at a height.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{Value, json};
use sesh_identity::{NodeId, X25519PublicKey};
use sesh_swarm::{SwarmId, SwarmMap, SwarmSpace};

use crate::auth::{self, SignatureHeaders};
use crate::error::{Error, Result};
use crate::record::NodeRecord;

/// The path a network state is published at; its signature is made for this path.
pub const STATE_PATH: &str = "/network/v1/state";

/// One published state of the network: the nodes that serve, with their addresses and keys, and
/// the swarms they form, as of a block.
///
/// The JSON form ([`NetworkState::to_json`], read back by [`NetworkState::from_json`]) is
/// `{"height", "hf": [major, minor], "block_hash": hex, "nodes": [{"pubkey_ed25519",
/// "pubkey_x25519", "ip", "port", "tls", "swarm": hex id or null}]}`. A state with any broken
/// entry is refused whole.
///
/// ```
/// use sesh_network::NetworkState;
///
/// let text = r#"{"height": 7, "hf": [21, 0], "block_hash": "00000000000000000000000000000000000000000000000000000000000000ff",
///   "nodes": [{"pubkey_ed25519": "0101010101010101010101010101010101010101010101010101010101010101",
///              "pubkey_x25519": "0202020202020202020202020202020202020202020202020202020202020202",
///              "ip": "127.0.0.1", "port": 22100, "tls": false, "swarm": "a"}]}"#;
/// let state = NetworkState::from_json(text.as_bytes())?;
/// assert_eq!(state.height, 7);
/// assert_eq!(state.swarm_for(&[5; 33]).map(|s| s.get()), Some(10));
/// assert_eq!(NetworkState::from_json(state.to_json().to_string().as_bytes())?, state);
/// # Ok::<(), sesh_network::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkState {
    /// The block height it is for.
    pub height: u64,
    /// The hard fork the network is at (major, minor).
    pub hf: [u16; 2],
    /// The hash of that block (the seed of its swarm assignment).
    pub block_hash: [u8; 32],
    nodes: BTreeMap<NodeId, NodeRecord>,
    map: SwarmMap,
}

fn field<'a>(v: &'a Value, name: &'static str, expected: &'static str) -> Result<&'a Value> {
    v.get(name).ok_or(Error::Field { field: name, expected })
}

fn hex32(text: Option<&str>) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text?, &mut out).ok()?;
    Some(out)
}

impl NetworkState {
    /// A state without nodes (what a node knows before it first hears from the network).
    pub fn empty(hf: [u16; 2]) -> Self {
        Self { hf, ..Self::default() }
    }

    /// A state of these nodes, with `map` their swarms.
    ///
    /// # Errors
    /// [`Error::DuplicateNode`] for a node given twice; [`Error::NodeField`] (`swarm`) for a
    /// swarm member without a record.
    pub fn new(
        height: u64,
        hf: [u16; 2],
        block_hash: [u8; 32],
        records: impl IntoIterator<Item = NodeRecord>,
        map: SwarmMap,
    ) -> Result<Self> {
        let mut nodes = BTreeMap::new();
        for r in records {
            if nodes.insert(r.id, r).is_some() {
                return Err(Error::DuplicateNode(r.id));
            }
        }
        if let Some((index, _)) =
            map.assignments().enumerate().find(|(_, (id, _))| !nodes.contains_key(id))
        {
            return Err(Error::NodeField {
                index,
                field: "swarm",
                expected: "the swarm of a listed node",
            });
        }
        Ok(Self { height, hf, block_hash, nodes, map })
    }

    /// Parses the JSON form.
    ///
    /// # Errors
    /// What is wrong and where: [`Error::NotJson`], [`Error::Field`], [`Error::NodeField`],
    /// [`Error::DuplicateNode`], [`Error::Swarms`].
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::NotJson(e.to_string()))?;
        Self::from_value(&v)
    }

    /// Parses the JSON form, already read as a value.
    ///
    /// # Errors
    /// As [`NetworkState::from_json`].
    pub fn from_value(v: &Value) -> Result<Self> {
        if !v.is_object() {
            return Err(Error::NotJson("not an object".into()));
        }
        let height = field(v, "height", "a block height")?
            .as_u64()
            .ok_or(Error::Field { field: "height", expected: "a block height" })?;
        const HF: &str = "[major, minor] hard fork numbers";
        let hf = match field(v, "hf", HF)?.as_array().map(Vec::as_slice) {
            Some([a, b]) => [a, b].map(|x| x.as_u64().and_then(|x| u16::try_from(x).ok())),
            _ => [None, None],
        };
        let [Some(major), Some(minor)] = hf else {
            return Err(Error::Field { field: "hf", expected: HF });
        };
        const HASH: &str = "64 hex digits";
        let block_hash = hex32(field(v, "block_hash", HASH)?.as_str())
            .ok_or(Error::Field { field: "block_hash", expected: HASH })?;
        let list = field(v, "nodes", "a list of nodes")?
            .as_array()
            .ok_or(Error::Field { field: "nodes", expected: "a list of nodes" })?;
        let mut records = Vec::with_capacity(list.len());
        let mut assignments = Vec::new();
        for (index, n) in list.iter().enumerate() {
            let bad = |field: &'static str, expected: &'static str| Error::NodeField {
                index,
                field,
                expected,
            };
            let text = |name: &'static str| n.get(name).and_then(Value::as_str);
            let id = hex32(text("pubkey_ed25519")).ok_or(bad("pubkey_ed25519", HASH))?;
            let x25519 = hex32(text("pubkey_x25519")).ok_or(bad("pubkey_x25519", HASH))?;
            let ip: Ipv4Addr =
                text("ip").and_then(|s| s.parse().ok()).ok_or(bad("ip", "an IPv4 address"))?;
            let port = n
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0)
                .ok_or(bad("port", "a port number"))?;
            let tls = match n.get("tls") {
                None => true,
                Some(t) => t.as_bool().ok_or(bad("tls", "true or false"))?,
            };
            let id = NodeId::from_bytes(id);
            if records.iter().any(|r: &NodeRecord| r.id == id) {
                return Err(Error::DuplicateNode(id));
            }
            match n.get("swarm") {
                None | Some(Value::Null) => {}
                Some(s) => {
                    let swarm = s
                        .as_str()
                        .and_then(|s| SwarmId::from_hex(s).ok())
                        .ok_or(bad("swarm", "a swarm id in hex, or null"))?;
                    assignments.push((id, swarm));
                }
            }
            records.push(NodeRecord {
                id,
                x25519: X25519PublicKey::from_bytes(x25519),
                ip,
                port,
                tls,
            });
        }
        let map = SwarmMap::from_assignments(assignments)?;
        Self::new(height, [major, minor], block_hash, records, map)
    }

    /// Checks a published state: `body` signed (the [`auth`] headers) for [`STATE_PATH`] by
    /// `authority` at most a minute from `now_ms`; then parses it.
    ///
    /// # Errors
    /// [`Error::WrongSigner`] when another key signed it, the errors of [`auth::verify`] when the
    /// signature is missing or does not verify, and the parse errors of
    /// [`NetworkState::from_json`].
    pub fn from_signed(
        body: &[u8],
        headers: &SignatureHeaders<'_>,
        authority: &NodeId,
        now_ms: i64,
    ) -> Result<Self> {
        let signer = auth::verify(headers, STATE_PATH, now_ms, body)?;
        if signer != *authority {
            return Err(Error::WrongSigner { signer, expected: *authority });
        }
        Self::from_json(body)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let nodes: Vec<Value> = self
            .nodes
            .values()
            .map(|r| {
                json!({
                    "pubkey_ed25519": r.id.to_string(),
                    "pubkey_x25519": r.x25519.to_string(),
                    "ip": r.ip.to_string(),
                    "port": r.port,
                    "tls": r.tls,
                    "swarm": self.map.swarm_of(&r.id).map(|s| format!("{:x}", s.get())),
                })
            })
            .collect();
        json!({
            "height": self.height,
            "hf": self.hf,
            "block_hash": hex::encode(self.block_hash),
            "nodes": nodes,
        })
    }

    /// A node's record.
    pub fn node(&self, id: &NodeId) -> Option<&NodeRecord> {
        self.nodes.get(id)
    }

    /// Every node, in id order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &NodeRecord> + '_ {
        self.nodes.values()
    }

    /// The swarms.
    pub fn map(&self) -> &SwarmMap {
        &self.map
    }

    /// The swarm a node is in.
    pub fn swarm_of(&self, node: &NodeId) -> Option<SwarmId> {
        self.map.swarm_of(node)
    }

    /// The members of a swarm.
    pub fn members(&self, swarm: SwarmId) -> Vec<&NodeRecord> {
        self.map.members(swarm).iter().filter_map(|k| self.nodes.get(k)).collect()
    }

    /// The swarm that stores the messages of the account with this 33-byte id.
    pub fn swarm_for(&self, account: &[u8; 33]) -> Option<SwarmId> {
        self.map.swarm_for(SwarmSpace::of_account(account))
    }

    /// The members of the swarm that stores `account`'s messages.
    pub fn members_for(&self, account: &[u8; 33]) -> Vec<&NodeRecord> {
        self.swarm_for(account).map(|s| self.members(s)).unwrap_or_default()
    }

    /// A swarm as the storage server answers `get_swarm` (and the body of a 421):
    /// `{"snodes": [...], "swarm": hex id}`; no swarm is `ffffffffffffffff`, as oxend's
    /// "unassigned".
    pub fn swarm_json(&self, swarm: Option<SwarmId>) -> Value {
        match swarm {
            None => json!({"snodes": [], "swarm": "ffffffffffffffff"}),
            Some(id) => json!({
                "snodes": self.members(id).iter().map(|n| n.swarm_entry()).collect::<Vec<_>>(),
                "swarm": format!("{:x}", id.get()),
            }),
        }
    }
}
