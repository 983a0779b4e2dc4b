//! What a Session client does on the network, shared by the `client` and `testnet` examples:
//! learn the node list and swarms, send requests to a node through a random 3-hop onion path
//! (retrying on a new path as the live clients do, spec onion-storage §5.4), and send and receive
//! 1:1 messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use sesh_envelope::{envelope, storage};
use sesh_identity::{Ed25519PublicKey, Identity, SessionId, X25519PublicKey};
use sesh_onion::{Destination, EncType, Hop};
use sesh_rpc::Namespace;
use sesh_rpc::client::Account;
use sesh_swarm::{NodeId, SwarmId, SwarmMap, SwarmSpace};

/// Nodes in a path (guard, middle, exit).
pub(crate) const PATH_LENGTH: usize = 3;
/// Strikes after which a node is not used in paths (the live `snode_failure_threshold`).
const STRIKE_LIMIT: u32 = 3;
/// Paths tried for one request before giving up.
const ATTEMPTS: usize = 4;
/// How long a message is kept: 14 days, the longest the inbox namespace allows.
pub(crate) const MESSAGE_TTL_MS: i64 = 14 * 86_400_000;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("the network authority at {url}: {why}")]
    Authority { url: String, why: String },
    #[error("the network has {have} usable nodes; a path needs {need} besides the destination")]
    TooFewNodes { have: usize, need: usize },
    #[error("no swarm holds this account yet (is the network up?)")]
    NoSwarm,
    #[error("every path failed ({attempts} tried); last: {last}")]
    PathsFailed { attempts: usize, last: String },
    #[error("the node answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error(
        "the node's clock and ours differ by more than the network allows (406): check the time"
    )]
    ClockOutOfSync,
    #[error("building the request: {0}")]
    Build(String),
}

/// A node as the client knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NetNode {
    pub(crate) ed25519: [u8; 32],
    pub(crate) x25519: [u8; 32],
    pub(crate) base_url: String,
}

impl NetNode {
    fn hop(&self) -> Result<Hop, ClientError> {
        let ed = Ed25519PublicKey::from_bytes(&self.ed25519)
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Hop { ed25519: ed, x25519: X25519PublicKey::from_bytes(self.x25519) })
    }
}

#[derive(Debug, Default)]
struct Snapshot {
    nodes: Vec<NetNode>,
    map: SwarmMap,
}

/// The network as a client sees it.
#[derive(Debug)]
pub(crate) struct Network {
    authority: String,
    authority_key: Option<[u8; 32]>,
    http: reqwest::Client,
    view: RwLock<Snapshot>,
    strikes: Mutex<HashMap<[u8; 32], u32>>,
}

/// The answer of a destination node.
#[derive(Debug)]
pub(crate) struct NodeAnswer {
    /// The swarm member that answered (Ed25519 key).
    pub(crate) node: [u8; 32],
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// Paths tried (1 if the first worked).
    pub(crate) attempts: usize,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Network {
    /// Learns the network from the authority at `url` (its state may be pinned to `key`).
    pub(crate) async fn connect(url: &str, key: Option<[u8; 32]>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(40))
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        let net = Self {
            authority: url.trim_end_matches('/').to_owned(),
            authority_key: key,
            http,
            view: RwLock::new(Snapshot::default()),
            strikes: Mutex::new(HashMap::new()),
        };
        net.refresh().await?;
        Ok(net)
    }

    /// Fetches the node list and swarms again.
    pub(crate) async fn refresh(&self) -> Result<(), ClientError> {
        let url = format!("{}/network/v1/state", self.authority);
        let fail = |why: String| ClientError::Authority { url: url.clone(), why };
        let resp = self.http.get(&url).send().await.map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let signer =
            resp.headers().get("x-sesh-node").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!("{status}")));
        }
        if let Some(key) = self.authority_key
            && signer.as_deref() != Some(hex::encode(key).as_str())
        {
            // The node checks the signature itself; a client pins the key it was told.
            return Err(fail("the state is not from the pinned authority".into()));
        }
        let state: Value = serde_json::from_slice(&body).map_err(|e| fail(e.to_string()))?;
        let mut nodes = Vec::new();
        let mut assignments = Vec::new();
        for n in state
            .get("nodes")
            .and_then(Value::as_array)
            .ok_or_else(|| fail("no node list".into()))?
        {
            let key = |name: &str| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(n.get(name)?.as_str()?, &mut out).ok()?;
                Some(out)
            };
            let (Some(ed25519), Some(x25519)) = (key("pubkey_ed25519"), key("pubkey_x25519"))
            else {
                continue;
            };
            let (Some(ip), Some(port)) =
                (n.get("ip").and_then(Value::as_str), n.get("port").and_then(Value::as_u64))
            else {
                continue;
            };
            let scheme = if n.get("tls").and_then(Value::as_bool).unwrap_or(true) {
                "https"
            } else {
                "http"
            };
            if let Some(swarm) = n.get("swarm").and_then(Value::as_str)
                && let Some(id) =
                    u64::from_str_radix(swarm, 16).ok().and_then(|id| SwarmId::new(id).ok())
            {
                assignments.push((NodeId::from_bytes(ed25519), id));
            }
            nodes.push(NetNode { ed25519, x25519, base_url: format!("{scheme}://{ip}:{port}") });
        }
        let map = SwarmMap::from_assignments(assignments).map_err(|e| fail(e.to_string()))?;
        *self.view.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Snapshot { nodes, map };
        Ok(())
    }

    /// Every node.
    pub(crate) fn nodes(&self) -> Vec<NetNode> {
        read(&self.view).nodes.clone()
    }

    /// The swarms: id and members.
    pub(crate) fn swarms(&self) -> Vec<(SwarmId, Vec<NetNode>)> {
        let v = read(&self.view);
        v.map
            .iter()
            .map(|(id, members)| {
                (
                    id,
                    members
                        .iter()
                        .filter_map(|k| {
                            v.nodes.iter().find(|n| n.ed25519 == *k.as_bytes()).cloned()
                        })
                        .collect(),
                )
            })
            .collect()
    }

    /// The members of the swarm that holds `account`'s messages.
    pub(crate) fn swarm_of(&self, account: &[u8; 33]) -> Vec<NetNode> {
        let v = read(&self.view);
        let Some(id) = v.map.swarm_for(SwarmSpace::of_account(account)) else { return Vec::new() };
        v.map
            .members(id)
            .iter()
            .filter_map(|k| v.nodes.iter().find(|n| n.ed25519 == *k.as_bytes()).cloned())
            .collect()
    }

    /// The strikes counted against a node.
    fn strikes_of(&self, node: &[u8; 32]) -> u32 {
        self.strikes.lock().map(|s| s.get(node).copied().unwrap_or(0)).unwrap_or(0)
    }

    fn strike(&self, node: &[u8; 32], n: u32) {
        if let Ok(mut s) = self.strikes.lock() {
            *s.entry(*node).or_default() += n;
        }
    }

    /// A random path of distinct nodes, none of them `target`, preferring nodes without strikes.
    fn random_path(&self, target: &[u8; 32]) -> Result<Vec<NetNode>, ClientError> {
        let nodes = self.nodes();
        let mut good: Vec<NetNode> = nodes
            .iter()
            .filter(|n| n.ed25519 != *target && self.strikes_of(&n.ed25519) < STRIKE_LIMIT)
            .cloned()
            .collect();
        if good.len() < PATH_LENGTH {
            // Not enough unstruck nodes: forgive, as the live clients refresh their cache.
            if let Ok(mut s) = self.strikes.lock() {
                s.clear();
            }
            good = nodes.into_iter().filter(|n| n.ed25519 != *target).collect();
        }
        if good.len() < PATH_LENGTH {
            return Err(ClientError::TooFewNodes { have: good.len(), need: PATH_LENGTH });
        }
        // Partial Fisher–Yates: the first PATH_LENGTH entries.
        for i in 0..PATH_LENGTH {
            let j = i + pick(good.len() - i);
            good.swap(i, j);
        }
        good.truncate(PATH_LENGTH);
        Ok(good)
    }

    /// Sends `request` (`{"method", "params"}`) to `target` through a random path, trying new
    /// paths when one fails.
    pub(crate) async fn onion(
        &self,
        target: &NetNode,
        request: &[u8],
    ) -> Result<NodeAnswer, ClientError> {
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let path = self.random_path(&target.ed25519)?;
            let hops: Vec<Hop> = path.iter().map(NetNode::hop).collect::<Result<_, _>>()?;
            let built = sesh_onion::build(
                &hops,
                &Destination::Node(target.hop()?),
                request,
                EncType::XChaCha20,
                &mut OsRng,
            )
            .map_err(|e| ClientError::Build(e.to_string()))?;
            let Some(guard) = path.first() else { break };
            let sent = self
                .http
                .post(format!("{}/onion_req/v2", guard.base_url))
                .body(built.bytes)
                .send()
                .await;
            let (status, body) = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.bytes().await {
                        Ok(b) => (status, b.to_vec()),
                        Err(e) => {
                            self.strike(&guard.ed25519, STRIKE_LIMIT);
                            last = format!("guard {}: {e}", short(&guard.ed25519));
                            continue;
                        }
                    }
                }
                Err(e) => {
                    // The guard cannot be reached: it is dropped at once.
                    self.strike(&guard.ed25519, STRIKE_LIMIT);
                    last = format!("guard {}: {e}", short(&guard.ed25519));
                    continue;
                }
            };
            match built.reply.read_v3(status, &body) {
                Ok(r) => {
                    return Ok(NodeAnswer {
                        node: target.ed25519,
                        status: r.status,
                        body: r.body,
                        attempts: attempt,
                    });
                }
                Err(sesh_onion::Error::DestinationStatus { status, body }) => {
                    return Ok(NodeAnswer {
                        node: target.ed25519,
                        status,
                        body,
                        attempts: attempt,
                    });
                }
                Err(sesh_onion::Error::PathFailed {
                    unreachable_node: Some(node),
                    status,
                    body,
                }) => {
                    self.strike(&node, STRIKE_LIMIT);
                    last = format!("{status} {body}");
                }
                Err(e) => {
                    for n in &path {
                        self.strike(&n.ed25519, 1);
                    }
                    if let Some(g) = path.first() {
                        self.strike(&g.ed25519, STRIKE_LIMIT - 1);
                    }
                    last = e.to_string();
                }
            }
        }
        Err(ClientError::PathsFailed { attempts: ATTEMPTS, last })
    }

    /// Sends a request about `account` to a member of its swarm, following the live rule for
    /// `421` (another member; then refresh the node list; then give up).
    /// Sends the request `request` builds for a member (given its Ed25519 key) to a random
    /// member of `account`'s swarm.
    pub(crate) async fn to_swarm(
        &self,
        account: &[u8; 33],
        request: impl Fn(&[u8; 32]) -> Vec<u8>,
    ) -> Result<NodeAnswer, ClientError> {
        let mut tried: Vec<[u8; 32]> = Vec::new();
        for round in 0..3 {
            let members = self.swarm_of(account);
            let fresh: Vec<&NetNode> =
                members.iter().filter(|m| !tried.contains(&m.ed25519)).collect();
            let pool = if fresh.is_empty() { members.iter().collect() } else { fresh };
            if pool.is_empty() {
                return Err(ClientError::NoSwarm);
            }
            let Some(target) = pool.get(pick(pool.len())).map(|n| (*n).clone()) else {
                return Err(ClientError::NoSwarm);
            };
            tried.push(target.ed25519);
            let answer = match self.onion(&target, &request(&target.ed25519)).await {
                Ok(a) => a,
                // The destination itself may be down: try another member.
                Err(ClientError::PathsFailed { .. }) if round < 2 => continue,
                Err(e) => return Err(e),
            };
            match answer.status {
                421 if round == 0 => {}
                421 => self.refresh().await?,
                406 => return Err(ClientError::ClockOutOfSync),
                _ => return Ok(answer),
            }
        }
        Err(ClientError::Refused {
            status: 421,
            body: "the swarm moved and the node list did not catch up".into(),
        })
    }
}

/// A uniform index below `len` (> 0).
fn pick(len: usize) -> usize {
    let len64 = u64::try_from(len).unwrap_or(u64::MAX).max(1);
    usize::try_from(OsRng.next_u64() % len64).unwrap_or(0)
}

fn short(key: &[u8; 32]) -> String {
    hex::encode(key.get(..4).unwrap_or_default())
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A message that was stored.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    /// Its hash (how the swarm files it).
    pub(crate) hash: String,
    /// Swarm members that acknowledged it.
    pub(crate) acknowledged: usize,
    /// Their Ed25519 keys (hex).
    pub(crate) stored_by: Vec<String>,
    /// Paths tried.
    pub(crate) attempts: usize,
}

/// Encrypts `text` from `me` to `to` and stores it in `to`'s swarm through an onion path.
pub(crate) async fn send(
    net: &Network,
    me: &Identity,
    to: &SessionId,
    text: &str,
) -> Result<Sent, ClientError> {
    let now = now_ms();
    let sent_ms = u64::try_from(now).unwrap_or(0);
    let content = envelope::text_content(text, sent_ms).encode_to_vec();
    let stored = envelope::encode_for_recipient(me, to, &content, sent_ms, &mut OsRng)
        .map_err(|e| ClientError::Build(e.to_string()))?;
    let account = sesh_rpc::AccountId::load(&to.to_string())
        .ok_or_else(|| ClientError::Build("bad Session ID".into()))?;
    // Storing to a public inbox needs no signature: the recipient's ID is enough.
    let mut params = serde_json::Map::new();
    params.insert("pubkey".into(), json!(account.prefixed_hex()));
    params.insert("namespace".into(), json!(0));
    params.insert("data".into(), json!(storage::encode_data(&stored)));
    params.insert("timestamp".into(), json!(now));
    params.insert("ttl".into(), json!(MESSAGE_TTL_MS));
    let request = json!({"method": "store", "params": params}).to_string().into_bytes();
    let answer = net.to_swarm(&to.to_bytes(), |_| request.clone()).await?;
    if answer.status != 200 {
        return Err(ClientError::Refused {
            status: answer.status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        });
    }
    let v: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let stored_by: Vec<String> = v
        .get("swarm")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter().filter(|(_, e)| e.get("failed").is_none()).map(|(k, _)| k.clone()).collect()
        })
        .unwrap_or_default();
    let hash = v.get("hash").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Sent { hash, acknowledged: stored_by.len(), stored_by, attempts: answer.attempts })
}

/// A received message.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) hash: String,
    pub(crate) from: String,
    pub(crate) text: String,
    pub(crate) sent_ms: u64,
}

/// What a client remembers between runs: where it got to on each swarm member, and what it has
/// shown.
///
/// The last hash is kept per member, as live clients keep it: members receive a swarm's messages
/// in different orders (forwarded, handed over, caught up after a restart), so "after this hash"
/// on one member is not "after this hash" on another.
#[derive(Debug, Default, Clone)]
pub(crate) struct Inbox {
    /// The last hash retrieved from each member, by its Ed25519 key in hex.
    pub(crate) last_hashes: BTreeMap<String, String>,
    /// Hashes already shown, with their expiry (forgotten once expired).
    pub(crate) seen: BTreeMap<String, i64>,
}

impl Inbox {
    pub(crate) fn to_json(&self) -> Value {
        json!({"last_hashes": self.last_hashes, "seen": self.seen})
    }

    pub(crate) fn from_json(v: &Value) -> Self {
        let strings = |key: &str| -> BTreeMap<String, String> {
            v.get(key)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            last_hashes: strings("last_hashes"),
            seen: v
                .get("seen")
                .and_then(Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_i64()?))).collect())
                .unwrap_or_default(),
        }
    }
}

/// Retrieves `me`'s new messages through an onion path, decrypts them, and returns those not
/// seen before (and how many could not be read).
pub(crate) async fn receive(
    net: &Network,
    me: &Identity,
    inbox: &mut Inbox,
) -> Result<(Vec<Received>, usize), ClientError> {
    let account = Account::session(me);
    let id = me.session_id().to_bytes();
    let mut out = Vec::new();
    let mut unreadable = 0;
    loop {
        let last_hashes = &inbox.last_hashes;
        let answer = net
            .to_swarm(&id, |node| {
                let last = last_hashes.get(&hex::encode(node)).map(String::as_str);
                let params = account.retrieve(Namespace(0), now_ms(), last);
                json!({"method": "retrieve", "params": params}).to_string().into_bytes()
            })
            .await?;
        let member = hex::encode(answer.node);
        if answer.status != 200 {
            return Err(ClientError::Refused {
                status: answer.status,
                body: String::from_utf8_lossy(&answer.body).into_owned(),
            });
        }
        let v: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let messages = v.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
        for m in &messages {
            let (Some(hash), Some(data)) =
                (m.get("hash").and_then(Value::as_str), m.get("data").and_then(Value::as_str))
            else {
                unreadable += 1;
                continue;
            };
            inbox.last_hashes.insert(member.clone(), hash.to_owned());
            if inbox.seen.contains_key(hash) {
                continue;
            }
            inbox.seen.insert(
                hash.to_owned(),
                m.get("expiration").and_then(Value::as_i64).unwrap_or(now_ms() + MESSAGE_TTL_MS),
            );
            let Ok(bytes) = STANDARD.decode(data) else {
                unreadable += 1;
                continue;
            };
            match envelope::decode_for_recipient(me, &bytes) {
                Ok(msg) => {
                    let from = msg
                        .sender_session_id()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|_| "?".into());
                    let text = msg
                        .content()
                        .ok()
                        .and_then(|c| c.data_message)
                        .and_then(|d| d.body)
                        .unwrap_or_default();
                    out.push(Received {
                        hash: hash.to_owned(),
                        from,
                        text,
                        sent_ms: msg.envelope().timestamp_ms,
                    });
                }
                Err(_) => unreadable += 1,
            }
        }
        if v.get("more").and_then(Value::as_bool) != Some(true) || messages.is_empty() {
            break;
        }
    }
    let now = now_ms();
    inbox.seen.retain(|_, expiry| *expiry > now);
    Ok((out, unreadable))
}
