//! The service-node list as oxend serves it: the `get_service_nodes` call that Session clients
//! send a seed's `POST /json_rpc` (JSON-RPC 2.0) and, through a node, `oxend_request` on the
//! storage RPC; and the reading of its answer, which turns a seed's list back into a
//! [`NetworkState`].
//!
//! ```
//! use rand_core::OsRng;
//! use sesh_network::{NetworkState, oxend};
//!
//! let state = NetworkState::empty([21, 0]);
//! let body = br#"{"jsonrpc": "2.0", "id": 0, "method": "get_n_service_nodes",
//!                 "params": {"active_only": true, "fields": {"public_ip": true, "height": true}}}"#;
//! let answer = oxend::json_rpc(&state, body, &mut OsRng);
//! assert_eq!(answer["id"], 0);
//! assert_eq!(answer["result"]["status"], "OK");
//! assert_eq!(answer["result"]["service_node_states"], serde_json::json!([]));
//!
//! let bad = oxend::json_rpc(&state, br#"{"id": 7, "method": "get_nodes"}"#, &mut OsRng);
//! assert_eq!(bad["error"]["code"], -32601);
//! assert_eq!(bad["error"]["message"], "Method not found");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What sesh knows of a node is what its network state lists: keys, address, port and swarm.
//! Every listed node is registered, funded and serving, so `active` and `funded` are true and
//! `requested_unlock_height` is 0; `storage_lmq_port` is the storage port (sesh serves no
//! OxenMQ/QUIC port; the live swarm lists name the same port for both); `storage_server_version`
//! is the storage server version sesh speaks ([`STORAGE_SERVER_VERSION`]). Fields oxend has and
//! sesh does not (contributors, uptime proofs, votes) are not sent.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rand::seq::SliceRandom as _;
use rand_core::RngCore;
use serde_json::{Map, Value, json};
use sesh_identity::{NodeId, X25519PublicKey};
use sesh_rpc::handler::STORAGE_SERVER_VERSION;
use sesh_swarm::{SwarmId, SwarmMap};

use crate::{Error, NetworkState, NodeRecord, Result};

/// The names oxend serves the service-node list under.
pub const METHODS: [&str; 3] =
    ["get_service_nodes", "get_n_service_nodes", "get_all_service_nodes"];

/// `swarm_id` of a node in no swarm.
pub const NO_SWARM: u64 = u64::MAX;

/// A JSON-RPC error as oxend answers it (always with HTTP 200).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// The JSON-RPC code (`-32700` parse error, `-32600` invalid request, `-32601` method not
    /// found, `-32602` invalid params).
    pub code: i64,
    /// oxend's message for the code.
    pub message: &'static str,
    /// For invalid params, what was wrong (oxend's text).
    pub data: Option<String>,
}

impl RpcError {
    fn params(what: impl std::fmt::Display) -> Self {
        Self {
            code: -32602,
            message: "Invalid params",
            data: Some(format!(
                "Unable to parse request: Failed to parse request parameters: {what}"
            )),
        }
    }

    /// The text a storage server answers `oxend_request` with when oxend refused the params.
    pub fn text(&self) -> &str {
        self.data.as_deref().unwrap_or(self.message)
    }

    fn to_json(&self) -> Value {
        match &self.data {
            Some(data) => json!({"code": self.code, "message": self.message, "data": data}),
            None => json!({"code": self.code, "message": self.message}),
        }
    }
}

/// A `get_service_nodes` request, as oxend reads its params.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceNodesQuery {
    /// The fields asked for; empty means all (`"all"` with `"-name"`s means all but those).
    pub fields: BTreeSet<String>,
    /// Only active nodes.
    pub active_only: bool,
    /// 0: every node in list order; negative or at least the count: every node, shuffled; else a
    /// random sample of this many, in random order.
    pub limit: i32,
    /// Only these nodes, in this order (unknown ones skipped).
    pub pubkeys: Option<Vec<NodeId>>,
    /// The block hash the asker has: if it is still the top one, no list is sent.
    pub poll_block_hash: Option<[u8; 32]>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// 32 bytes as 64 hex digits (optionally `0x`-prefixed) or base64 (padded or not).
fn binary32(text: &str) -> Option<[u8; 32]> {
    let hex_text = text.strip_prefix("0x").unwrap_or(text);
    let bytes = if hex_text.len() == 64 {
        hex::decode(hex_text).ok()?
    } else if text.len() == 43 {
        STANDARD_NO_PAD.decode(text).ok()?
    } else if text.len() == 44 {
        STANDARD.decode(text).ok()?
    } else {
        return None;
    };
    bytes.try_into().ok()
}

impl ServiceNodesQuery {
    /// Reads the params as oxend does: absent, `null` or `[]` is every default.
    ///
    /// # Errors
    /// An invalid-params [`RpcError`] with oxend's text for what was wrong.
    pub fn parse(params: Option<&Value>) -> std::result::Result<Self, RpcError> {
        let p = match params {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(Value::Array(a)) if a.is_empty() => return Ok(Self::default()),
            Some(Value::Object(p)) => p,
            Some(_) => {
                return Err(RpcError::params(
                    "[json.exception.invalid_iterator.207] cannot use key() for non-object iterators",
                ));
            }
        };
        let mut q = Self::default();
        match p.get("active_only") {
            None => {}
            Some(Value::Bool(b)) => q.active_only = *b,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => {
                q.active_only = n.as_u64() == Some(1);
            }
            Some(_) => {
                return Err(RpcError::params("Invalid value for 'active_only': expected boolean"));
            }
        }
        match p.get("fields") {
            None => {}
            Some(Value::Object(fields)) => {
                for (name, v) in fields {
                    let Value::Bool(wanted) = v else {
                        return Err(RpcError::params(format!(
                            "[json.exception.type_error.302] type must be boolean, but is {}",
                            type_name(v)
                        )));
                    };
                    if *wanted {
                        if name == "all" {
                            q.fields.clear();
                            break;
                        }
                        q.fields.insert(name.clone());
                    }
                }
            }
            Some(Value::Array(fields)) => {
                for f in fields {
                    let Value::String(name) = f else {
                        return Err(RpcError::params("Invalid values in 'fields'"));
                    };
                    q.fields.insert(name.clone());
                }
                if q.fields.len() == 1 && q.fields.contains("all") {
                    q.fields.clear();
                }
            }
            Some(_) => return Err(RpcError::params("Invalid values in 'fields'")),
        }
        match p.get("limit") {
            None => {}
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                q.limit = match n.as_i64().map(i32::try_from) {
                    Some(Ok(limit)) => limit,
                    Some(Err(_)) if n.as_i64().is_some_and(i64::is_negative) => {
                        return Err(RpcError::params(
                            "Invalid value for 'limit': negative value magnitude is too large",
                        ));
                    }
                    _ => {
                        return Err(RpcError::params(
                            "Invalid value for 'limit': value is too large",
                        ));
                    }
                };
            }
            Some(_) => {
                return Err(RpcError::params("Invalid value for 'limit': value is not an integer"));
            }
        }
        match p.get("poll_block_hash") {
            None => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => match binary32(s) {
                Some(h) => q.poll_block_hash = Some(h),
                None => return Err(RpcError::params("Invalid values in 'poll_block_hash'")),
            },
            Some(_) => return Err(RpcError::params("Invalid values in 'poll_block_hash'")),
        }
        match p.get("service_node_pubkeys") {
            None => {}
            Some(Value::Array(keys)) => {
                let keys = keys
                    .iter()
                    .map(|k| k.as_str().and_then(binary32).map(NodeId::from_bytes))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| RpcError::params("Invalid values in 'service_node_pubkeys'"))?;
                q.pubkeys = Some(keys);
            }
            Some(_) => return Err(RpcError::params("Invalid values in 'service_node_pubkeys'")),
        }
        Ok(q)
    }

    /// Whether `key` is asked for (oxend's `requested`).
    pub fn requested(&self, key: &str) -> bool {
        self.fields.is_empty()
            || if self.fields.contains("all") {
                !self.fields.contains(&format!("-{key}"))
            } else {
                self.fields.contains(key)
            }
    }

    /// The result oxend answers (`"status": "OK"`, the top-level fields asked for, and
    /// `service_node_states`), from `state`; `rng` draws the sample and its order when
    /// `limit` asks for one.
    pub fn answer(&self, state: &NetworkState, rng: &mut impl RngCore) -> Value {
        let mut out = Map::new();
        out.insert("status".into(), json!("OK"));
        let top = [
            ("height", json!(state.height)),
            ("target_height", json!(state.height)),
            ("hardfork", json!(state.hf[0])),
            ("snode_revision", json!(state.hf[1])),
            ("block_hash", json!(hex::encode(state.block_hash))),
        ];
        for (key, value) in top {
            if self.requested(key) {
                out.insert(key.into(), value);
            }
        }
        if let Some(hash) = self.poll_block_hash {
            let unchanged = hash == state.block_hash;
            out.insert("unchanged".into(), json!(unchanged));
            if unchanged {
                return Value::Object(out);
            }
            out.insert("block_hash".into(), json!(hex::encode(state.block_hash)));
        }
        let mut nodes: Vec<&NodeRecord> = match &self.pubkeys {
            Some(keys) => keys.iter().filter_map(|k| state.node(k)).collect(),
            None => state.nodes().collect(),
        };
        // Every listed node is active: `active_only` removes none.
        let top_index = nodes.len() as i64 - 1;
        let limit = i64::from(self.limit);
        if limit < 0 || limit > top_index {
            nodes.shuffle(&mut RngAdapter(rng));
        } else if limit > 0 {
            let n = self.limit as usize;
            nodes.partial_shuffle(&mut RngAdapter(rng), n);
            nodes.truncate(n);
        }
        let states: Vec<Value> = nodes.into_iter().map(|n| self.entry(state, n)).collect();
        out.insert("service_node_states".into(), Value::Array(states));
        Value::Object(out)
    }

    fn entry(&self, state: &NetworkState, node: &NodeRecord) -> Value {
        let swarm = state.swarm_of(&node.id).map_or(NO_SWARM, SwarmId::get);
        let ed = node.id.to_string();
        let fields = [
            ("service_node_pubkey", json!(ed)),
            ("pubkey_ed25519", json!(ed)),
            ("pubkey_x25519", json!(node.x25519.to_string())),
            ("public_ip", json!(node.ip.to_string())),
            ("storage_port", json!(node.port)),
            ("storage_lmq_port", json!(node.port)),
            ("swarm_id", json!(swarm)),
            ("swarm", json!(format!("{swarm:x}"))),
            ("storage_server_version", json!(STORAGE_SERVER_VERSION)),
            ("active", json!(true)),
            ("funded", json!(true)),
            ("requested_unlock_height", json!(0)),
        ];
        let mut out = Map::new();
        for (key, value) in fields {
            if self.requested(key) {
                out.insert(key.into(), value);
            }
        }
        Value::Object(out)
    }
}

/// `rand` 0.8's `Rng` over any `rand_core` 0.6 generator passed by reference.
struct RngAdapter<'a, R: RngCore>(&'a mut R);

impl<R: RngCore> RngCore for RngAdapter<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

/// The answer to a seed's `POST /json_rpc` body, as oxend gives it (always with HTTP 200 and
/// `Content-Type: application/json`): `{"jsonrpc": "2.0", "id", "result"}`, or `"error"` with
/// oxend's code and message. `jsonrpc` is not required; `id` is echoed whatever it is, `null`
/// when missing or when the body is not JSON.
pub fn json_rpc(state: &NetworkState, body: &[u8], rng: &mut impl RngCore) -> Value {
    let envelope = |id: Value, outcome: std::result::Result<Value, RpcError>| match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    };
    let invalid = RpcError { code: -32600, message: "Invalid Request", data: None };
    let request = match serde_json::from_slice::<Value>(body) {
        Err(_) => {
            let parse = RpcError { code: -32700, message: "Parse error", data: None };
            return envelope(Value::Null, Err(parse));
        }
        Ok(Value::Object(request)) => request,
        Ok(Value::Null) => return envelope(Value::Null, Err(invalid)),
        // oxend has no defined answer for an array or a scalar: an invalid request.
        Ok(_) => return envelope(Value::Null, Err(invalid)),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return envelope(id, Err(invalid));
    };
    if !METHODS.contains(&method) {
        let unknown = RpcError { code: -32601, message: "Method not found", data: None };
        return envelope(id, Err(unknown));
    }
    let outcome = ServiceNodesQuery::parse(request.get("params")).map(|q| q.answer(state, rng));
    envelope(id, outcome)
}

/// Reads a service-node list (`result.service_node_states` of a seed's answer, or the `result`
/// of an `oxend_request`) into a network state at the answer's height, its nodes served over
/// HTTPS if `tls`. Entries without an address (`public_ip` missing, empty or `0.0.0.0`, or a
/// port of 0: nodes without a proof) are skipped, as the live clients skip them; an entry that
/// is there but broken refuses the whole list.
///
/// # Errors
/// [`Error::Field`] when the result has no list; [`Error::NodeField`] naming the entry and field
/// that is wrong; [`Error::DuplicateNode`]; [`Error::Swarms`] when the swarms do not form a map.
pub fn read_service_nodes(result: &Value, tls: bool) -> Result<NetworkState> {
    let list = result
        .get("service_node_states")
        .and_then(Value::as_array)
        .ok_or(Error::Field { field: "service_node_states", expected: "a list of nodes" })?;
    let mut records = Vec::new();
    let mut swarms = Vec::new();
    for (index, v) in list.iter().enumerate() {
        let bad = |field: &'static str, expected: &'static str| Error::NodeField {
            index,
            field,
            expected,
        };
        if !v.is_object() {
            return Err(bad("(the entry)", "an object"));
        }
        let ip = match v.get("public_ip").and_then(Value::as_str) {
            None | Some("" | "0.0.0.0") => continue,
            Some(ip) => ip.parse().map_err(|_| bad("public_ip", "an IPv4 address"))?,
        };
        let port = v
            .get("storage_port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or(bad("storage_port", "a port number"))?;
        if port == 0 {
            continue;
        }
        let key = |field: &'static str| {
            v.get(field)
                .and_then(Value::as_str)
                .and_then(|s| {
                    let mut out = [0u8; 32];
                    hex::decode_to_slice(s, &mut out).ok().map(|()| out)
                })
                .ok_or(bad(field, "64 hex digits"))
        };
        let id = NodeId::from_bytes(key("pubkey_ed25519")?);
        let x25519 = X25519PublicKey::from_bytes(key("pubkey_x25519")?);
        records.push(NodeRecord { id, x25519, ip, port, tls });
        match v.get("swarm_id") {
            None => {}
            Some(s) => match s.as_u64() {
                Some(NO_SWARM) => {}
                Some(s) => swarms.push((id, SwarmId::new(s)?)),
                None => return Err(bad("swarm_id", "an unsigned 64-bit number")),
            },
        }
    }
    let map = SwarmMap::from_assignments(swarms)?;
    let height = result.get("height").and_then(Value::as_u64).unwrap_or(0);
    let hf = [
        result
            .get("hardfork")
            .and_then(Value::as_u64)
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(0),
        result
            .get("snode_revision")
            .and_then(Value::as_u64)
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(0),
    ];
    let block_hash =
        result.get("block_hash").and_then(Value::as_str).and_then(binary32).unwrap_or_default();
    NetworkState::new(height, hf, block_hash, records, map)
}
