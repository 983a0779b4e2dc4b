//! How a client finds the network, as the live apps do: a seed's service-node list (`POST
//! <seed>/json_rpc`, `get_n_service_nodes`) is the first pool; after that the pool is refreshed
//! by asking [`REFRESH_FROM`] of its nodes for the list (`oxend_request`, through onion paths)
//! and keeping the nodes they all list alike ([`agree`]).
//!
//! A seed is trusted for the first list only as far as its answer can be authenticated: an
//! `https://` seed must have its certificate pinned ([`Seed::parse`]), as the live apps pin their
//! seeds'; a plain `http://` seed is accepted on loopback only (a local network), where nothing
//! lies between the client and the seed.
//!
//! ```
//! use sesh_client::bootstrap::Seed;
//!
//! let local = Seed::parse("http://127.0.0.1:22399/json_rpc")?;
//! assert!(local.is_plain());
//! let pinned = Seed::parse(&format!("https://seed.example:4443/json_rpc#sha256:{}", "ab".repeat(32)))?;
//! assert_eq!(pinned.pin(), Some(&[0xab; 32]));
//! assert!(Seed::parse("https://seed.example:4443/json_rpc").is_err(), "not pinned");
//! assert!(Seed::parse("http://203.0.113.7/json_rpc").is_err(), "plain HTTP off loopback");
//! # Ok::<(), sesh_client::Error>(())
//! ```

use std::collections::BTreeMap;

use rand_core::RngCore;
use serde_json::{Value, json};
use sesh_identity::NodeId;
use sesh_network::{NetworkState, NodeRecord, oxend};
use sesh_swarm::{SwarmId, SwarmMap};

use crate::error::{Error, Result};
use crate::paths::pick;

/// Pool nodes asked for the list at each refresh (libsession-util's and session-desktop's
/// three).
pub const REFRESH_FROM: usize = 3;

/// Nodes the refreshing answers must agree on (session-desktop's 24), or fewer for a smaller
/// network: three quarters of the pool being replaced ([`agree`]).
pub const REQUIRED_AGREEMENT: usize = 24;

/// The fields a client asks for: what it needs to reach a node, encrypt to it and know its
/// swarm.
pub const FIELDS: [&str; 6] =
    ["public_ip", "storage_port", "pubkey_x25519", "pubkey_ed25519", "swarm_id", "height"];

/// A seed to ask for the first list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    url: String,
    pin: Option<[u8; 32]>,
}

fn bad(seed: &str, why: &'static str) -> Error {
    Error::BadSeed { seed: seed.to_owned(), why }
}

impl Seed {
    /// Reads a seed URL: `http://<loopback host>[:port]/json_rpc`, or
    /// `https://<host>[:port]/json_rpc#sha256:<pin>`, the pin being the SHA-256 of the seed's
    /// certificate (DER), in hex, with or without colons (what `openssl x509 -noout -fingerprint
    /// -sha256` prints).
    ///
    /// # Errors
    /// [`Error::BadSeed`], saying what is wrong: not a URL, another scheme, plain HTTP off
    /// loopback, HTTPS without a pin, a pin that is not 32 bytes of hex.
    pub fn parse(text: &str) -> Result<Self> {
        let (url, fragment) = text.split_once('#').map_or((text, None), |(u, f)| (u, Some(f)));
        let parsed = url::Url::parse(url).map_err(|_| bad(text, "is not a URL"))?;
        let pin = match fragment {
            None => None,
            Some(f) => {
                let hex_text = f
                    .strip_prefix("sha256:")
                    .or_else(|| f.strip_prefix("sha256="))
                    .ok_or_else(|| bad(text, "has a fragment that is not #sha256:<pin>"))?
                    .replace(':', "");
                let mut pin = [0u8; 32];
                hex::decode_to_slice(&hex_text, &mut pin)
                    .map_err(|_| bad(text, "has a pin that is not 64 hex digits"))?;
                Some(pin)
            }
        };
        match (parsed.scheme(), pin) {
            ("https", Some(_)) => {}
            ("https", None) => {
                return Err(bad(
                    text,
                    "is HTTPS without a pinned certificate: add #sha256:<its certificate's SHA-256>",
                ));
            }
            ("http", _) => {
                let loopback = match parsed.host() {
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    None => false,
                };
                if !loopback {
                    return Err(bad(
                        text,
                        "is plain HTTP off loopback: its answer could not be authenticated (use https:// with a pinned certificate)",
                    ));
                }
            }
            _ => return Err(bad(text, "is not an http:// or https:// URL")),
        }
        Ok(Self { url: url.to_owned(), pin })
    }

    /// The URL to POST to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SHA-256 its certificate must have (HTTPS seeds).
    pub fn pin(&self) -> Option<&[u8; 32]> {
        self.pin.as_ref()
    }

    /// Whether it is a plain-HTTP (loopback) seed, whose answer is not authenticated.
    pub fn is_plain(&self) -> bool {
        self.pin.is_none()
    }
}

/// The params of the list request (active nodes, the [`FIELDS`]).
fn list_params() -> Value {
    let fields: serde_json::Map<String, Value> =
        FIELDS.iter().map(|f| ((*f).to_owned(), json!(true))).collect();
    json!({"active_only": true, "fields": fields})
}

/// The body of a seed request: `{"jsonrpc": "2.0", "id": 0, "method": "get_n_service_nodes",
/// "params": {…}}`.
pub fn seed_request() -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 0, "method": "get_n_service_nodes", "params": list_params()})
        .to_string()
        .into_bytes()
}

/// Reads a seed's answer into the pool, its nodes served over HTTPS if `tls`.
///
/// # Errors
/// [`Error::SeedRefused`] for a JSON-RPC error; [`Error::BadNodeList`] for an answer that is
/// not a list of nodes.
pub fn read_seed_answer(body: &[u8], tls: bool) -> Result<NetworkState> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| Error::BadNodeList("the answer is not JSON".into()))?;
    if let Some(e) = v.get("error") {
        return Err(Error::SeedRefused {
            code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: e.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
        });
    }
    let result = v.get("result").ok_or_else(|| Error::BadNodeList("no \"result\"".into()))?;
    oxend::read_service_nodes(result, tls).map_err(|e| Error::BadNodeList(e.to_string()))
}

/// The storage-RPC body that asks a node for the list: `oxend_request` for
/// `get_service_nodes`.
pub fn refresh_request() -> Vec<u8> {
    json!({"method": "oxend_request",
           "params": {"endpoint": "get_service_nodes", "params": list_params()}})
    .to_string()
    .into_bytes()
}

/// Reads a node's answer to [`refresh_request`] (`{"result": {…}, "hf", "t"}`).
///
/// # Errors
/// [`Error::BadNodeList`].
pub fn read_refresh_answer(body: &[u8], tls: bool) -> Result<NetworkState> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| Error::BadNodeList("the answer is not JSON".into()))?;
    let result = v.get("result").ok_or_else(|| Error::BadNodeList("no \"result\"".into()))?;
    oxend::read_service_nodes(result, tls).map_err(|e| Error::BadNodeList(e.to_string()))
}

/// [`REFRESH_FROM`] different nodes of the pool, at random, to ask for the list.
///
/// # Errors
/// [`Error::TooFewNodes`] when the pool has fewer.
pub fn refresh_from(pool: &NetworkState, rng: &mut impl RngCore) -> Result<Vec<NodeRecord>> {
    let mut left: Vec<NodeRecord> = pool.nodes().copied().collect();
    if left.len() < REFRESH_FROM {
        return Err(Error::TooFewNodes { have: left.len(), need: REFRESH_FROM });
    }
    Ok((0..REFRESH_FROM).map(|_| left.swap_remove(pick(rng, left.len()))).collect())
}

/// The nodes every answer lists alike (same keys, address, port and swarm), as the new pool, at
/// the lowest height answered; refused when they agree on fewer than [`REQUIRED_AGREEMENT`]
/// nodes, or (in a smaller network) on fewer than three quarters of the `current` pool: a node
/// that leaves nodes out cannot shrink the pool to its friends.
///
/// # Errors
/// [`Error::NoAgreement`]; [`Error::BadNodeList`] if the agreed swarms do not form a map.
pub fn agree(current: &NetworkState, answers: &[NetworkState]) -> Result<NetworkState> {
    type Entry = (NodeId, [u8; 32], std::net::Ipv4Addr, u16, bool, Option<SwarmId>);
    let listed = |s: &NetworkState| -> BTreeMap<Entry, NodeRecord> {
        s.nodes()
            .map(|n| ((n.id, *n.x25519.as_bytes(), n.ip, n.port, n.tls, s.swarm_of(&n.id)), *n))
            .collect()
    };
    let Some((first, rest)) = answers.split_first() else {
        return Err(Error::NoAgreement { asked: 0, agreed: 0, need: 1 });
    };
    let mut common = listed(first);
    for answer in rest {
        let theirs = listed(answer);
        common.retain(|e, _| theirs.contains_key(e));
    }
    let need = REQUIRED_AGREEMENT.min((current.nodes().len() * 3).div_ceil(4)).max(1);
    if common.len() < need {
        return Err(Error::NoAgreement { asked: answers.len(), agreed: common.len(), need });
    }
    let swarms = common.keys().filter_map(|e| e.5.map(|s| (e.0, s)));
    let map = SwarmMap::from_assignments(swarms).map_err(|e| Error::BadNodeList(e.to_string()))?;
    let height = answers.iter().map(|a| a.height).min().unwrap_or(0);
    NetworkState::new(height, first.hf, first.block_hash, common.into_values(), map)
        .map_err(|e| Error::BadNodeList(e.to_string()))
}

/// A pool node, at random, to ask for a swarm.
///
/// # Errors
/// [`Error::TooFewNodes`] for an empty pool.
pub fn any_node(pool: &NetworkState, rng: &mut impl RngCore) -> Result<NodeRecord> {
    let nodes: Vec<&NodeRecord> = pool.nodes().collect();
    nodes.get(pick(rng, nodes.len())).map(|n| **n).ok_or(Error::TooFewNodes { have: 0, need: 1 })
}

/// The storage-RPC body that asks a node for `account`'s swarm (`get_swarm`), as the live apps
/// learn the swarm of a recipient and their own.
pub fn swarm_request(account: &[u8; 33]) -> Vec<u8> {
    json!({"method": "get_swarm", "params": {"pubkey": hex::encode(account)}})
        .to_string()
        .into_bytes()
}

/// Reads a node's `get_swarm` answer (`{"snodes": [{"ip", "port_https", "pubkey_ed25519",
/// "pubkey_x25519", …}], "swarm": hex}`; also the `snodes` of a `421`) into the swarm's members,
/// served over HTTPS if `tls`. Members without an address (`0.0.0.0`, as the live clients skip
/// them) are left out.
///
/// # Errors
/// [`Error::BadNodeList`] naming the member and field that is wrong; [`Error::NoSwarm`] when the
/// list is empty.
pub fn read_swarm(body: &[u8], tls: bool) -> Result<Vec<NodeRecord>> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| Error::BadNodeList("the swarm answer is not JSON".into()))?;
    let list = v
        .get("snodes")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::BadNodeList("the swarm answer has no \"snodes\" list".into()))?;
    let mut members = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let bad = |field: &str| Error::BadNodeList(format!("swarm member {i}: bad \"{field}\""));
        let ip = match m.get("ip").and_then(Value::as_str) {
            Some("0.0.0.0") => continue,
            Some(ip) => ip.parse().map_err(|_| bad("ip"))?,
            None => return Err(bad("ip")),
        };
        let port = m
            .get("port_https")
            .and_then(Value::as_u64)
            .or_else(|| m.get("port").and_then(Value::as_str).and_then(|p| p.parse().ok()))
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("port_https"))?;
        let key = |field: &str| {
            let mut out = [0u8; 32];
            let text = m.get(field).and_then(Value::as_str).ok_or_else(|| bad(field))?;
            hex::decode_to_slice(text, &mut out).map_err(|_| bad(field))?;
            Ok::<_, Error>(out)
        };
        let id = NodeId::from_bytes(key("pubkey_ed25519")?);
        let x25519 = sesh_identity::X25519PublicKey::from_bytes(key("pubkey_x25519")?);
        members.push(NodeRecord { id, x25519, ip, port, tls });
    }
    if members.is_empty() {
        return Err(Error::NoSwarm);
    }
    Ok(members)
}
