//! A local network of node processes on this machine (loopback; HTTPS with self-signed
//! certificates as live nodes serve, or plain HTTP with `--plain-http`): nodes following a
//! local chain's staking contract ([`chain`]: anvil, the contracts, the staked genesis), none of
//! them special; each its own process with its own data directory, started, killed, restarted
//! and stopped. The `testnet` program runs its network with it, and
//! so do the node's tests.

pub mod chain;

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sesh_identity::{Identity, NodeId};
use sesh_rpc::Namespace;
use sesh_rpc::client::Account;

/// A node process.
#[derive(Debug)]
pub struct NodeProcess {
    /// Its data directory (its log is `node.log` there).
    pub dir: PathBuf,
    /// Its base URL, e.g. `https://127.0.0.1:41234` (`http://` with `--plain-http`).
    pub url: String,
    /// Its key.
    pub key: NodeId,
    /// Its plain-HTTP `/json_rpc` URL, e.g. `http://127.0.0.1:22399/json_rpc`, when it was
    /// started with `--seed-http`.
    pub seed: Option<String>,
    command: Vec<OsString>,
    args: Vec<String>,
    child: Option<Child>,
    _stdout: Option<BufReader<ChildStdout>>,
}

impl NodeProcess {
    /// Runs `command` (the program and the arguments before the node's own) with
    /// `--data <dir> --listen <listen>` and `args`; returns once the node says where it listens.
    ///
    /// # Errors
    /// When the process cannot start or dies before it listens (its log says why).
    pub fn start(
        command: &[OsString],
        dir: &Path,
        listen: &str,
        args: &[String],
    ) -> Result<Self, String> {
        let mut all: Vec<String> =
            vec!["--data".into(), dir.display().to_string(), "--listen".into(), listen.into()];
        all.extend_from_slice(args);
        let mut me = Self {
            dir: dir.to_owned(),
            url: String::new(),
            key: NodeId::from_bytes([0; 32]),
            seed: None,
            command: command.to_vec(),
            args: all,
            child: None,
            _stdout: None,
        };
        me.spawn()?;
        Ok(me)
    }

    fn spawn(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let log_path = self.dir.join("node.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path);
        let (program, before) = self.command.split_first().ok_or("no program to run")?;
        let mut child = Command::new(program)
            .args(before)
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(log.map_err(|e| format!("{}: {e}", log_path.display()))?)
            .spawn()
            .map_err(|e| format!("starting a node: {e}"))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        // `listening on <url> node <key>`, then `json_rpc on <url>` with `--seed-http`.
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let words: Vec<&str> = line.split_whitespace().collect();
        let listening = match (words.get(2), words.get(4).map(|k| k.parse())) {
            (Some(url), Some(Ok(key))) => Some(((*url).to_owned(), key)),
            _ => None,
        };
        let seed = if self.args.iter().any(|a| a == "--seed-http") {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            line.strip_prefix("json_rpc on ").map(|url| Some(url.trim().to_owned()))
        } else {
            Some(None)
        };
        let (Some((url, key)), Some(seed)) = (listening, seed) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("a node did not start; see {}", log_path.display()));
        };
        // A restart keeps the ports.
        keep_port(&mut self.args, "--listen", &url);
        if let Some(seed) = &seed {
            keep_port(&mut self.args, "--seed-http", seed);
        }
        (self.url, self.key, self.seed, self.child, self._stdout) =
            (url, key, seed, Some(child), Some(stdout));
        Ok(())
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is running (not killed or stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again (killing it first if it runs), on the same port and data.
    ///
    /// # Errors
    /// As [`NodeProcess::start`].
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill9();
        self.spawn()
    }

    /// Sends SIGTERM (the node shuts down gracefully).
    pub fn term(&self) {
        #[cfg(unix)]
        if let Some(c) = &self.child {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; its exit status if it exited
    /// by itself.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.term();
        let mut c = self.child.take()?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// The hashes of the messages it holds for `account` in namespace 0 (none if it does not
    /// answer).
    pub async fn retrieve(&self, http: &reqwest::Client, account: &Identity) -> Vec<String> {
        let params = Account::session(account).retrieve(Namespace(0), crate::now_ms(), None);
        let body = json!({"method": "retrieve", "params": params}).to_string();
        let got = http.post(format!("{}/storage_rpc/v1", self.url)).body(body).send().await;
        let body = match got {
            Ok(r) if r.status() == 200 => r.bytes().await.unwrap_or_default(),
            _ => return Vec::new(),
        };
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        let messages = v.get("messages").and_then(Value::as_array).into_iter().flatten();
        messages.filter_map(|m| Some(m.get("hash")?.as_str()?.to_owned())).collect()
    }

    /// What it logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }
}

/// Sets the address after `flag` in `args` to the host and port of `url`.
fn keep_port(args: &mut [String], flag: &str, url: &str) {
    let address = url.split("://").last().unwrap_or(url);
    if let Some(pos) = args.iter().position(|a| a == flag)
        && let Some(slot) = args.get_mut(pos + 1)
    {
        address.split('/').next().unwrap_or(address).clone_into(slot);
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// Writes node `i`'s key in `<dir>/node<i>/key_ed25519`.
///
/// # Errors
/// What could not be written.
pub fn write_keys(dir: &Path, nodes: &[Identity]) -> Result<(), String> {
    for (i, key) in nodes.iter().enumerate() {
        let node = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&node).map_err(|e| format!("{}: {e}", node.display()))?;
        crate::files::write_private(
            &node.join("key_ed25519"),
            key.to_libsodium_secret_key().as_slice(),
        )?;
    }
    Ok(())
}

/// The nodes of a local network, each a follower of the chain; all stopped when dropped.
#[derive(Debug)]
pub struct LocalNetwork {
    /// The nodes, in the order they were started.
    pub nodes: Vec<NodeProcess>,
    command: Vec<OsString>,
    dir: PathBuf,
    extra: Vec<String>,
}

impl LocalNetwork {
    /// No node yet: [`LocalNetwork::add_peer`] starts each (nodes that follow a chain, none of
    /// them special); `extra` goes to every node.
    pub fn followers(command: &[OsString], dir: &Path, extra: &[String]) -> Self {
        Self {
            nodes: Vec::new(),
            command: command.to_vec(),
            dir: dir.to_owned(),
            extra: extra.to_vec(),
        }
    }

    /// Starts one more node in `<dir>/node<i>` with the network's arguments and `own`; its index.
    ///
    /// # Errors
    /// As [`NodeProcess::start`].
    pub fn add_peer(&mut self, own: &[String]) -> Result<usize, String> {
        let i = self.nodes.len();
        let mut args = self.extra.clone();
        args.extend_from_slice(own);
        let node = NodeProcess::start(
            &self.command,
            &self.dir.join(format!("node{i}")),
            "127.0.0.1:0",
            &args,
        )?;
        self.nodes.push(node);
        Ok(i)
    }

    /// Waits until every running node answers `info` (it is in a swarm), calling `ready` with
    /// each node's index as it does.
    ///
    /// # Errors
    /// Which node was not ready within `within`.
    pub async fn wait_ready(
        &self,
        http: &reqwest::Client,
        within: Duration,
        mut ready: impl FnMut(usize),
    ) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let info = json!({"method": "info", "params": {}}).to_string();
        for (i, n) in self.nodes.iter().enumerate().filter(|(_, n)| n.is_running()) {
            loop {
                let sent =
                    http.post(format!("{}/storage_rpc/v1", n.url)).body(info.clone()).send().await;
                if sent.is_ok_and(|r| r.status() == 200) {
                    ready(i);
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "node {i} ({}) is not ready; see {}",
                        n.url,
                        n.dir.join("node.log").display()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }
}

impl Drop for LocalNetwork {
    fn drop(&mut self) {
        // Every node is told at once, then each is waited for.
        self.nodes.iter().for_each(NodeProcess::term);
        self.nodes.clear();
    }
}

/// A node's rewards (`/network/v1/rewards`, its own chain's, read by
/// [`reward_lines_named`]) once its chain has reached `height`, asked every `every`; `Null` if it has
/// not answered so within 200 × `every` (at least 30 s).
pub async fn rewards_at(http: &reqwest::Client, node: &str, height: u64, every: Duration) -> Value {
    let deadline = Instant::now() + (every * 200).max(Duration::from_secs(30));
    loop {
        if Instant::now() > deadline {
            return Value::Null;
        }
        let got = http.get(format!("{node}/network/v1/rewards")).send().await;
        let body = match got {
            Ok(r) => r.bytes().await.unwrap_or_default(),
            Err(_) => Default::default(),
        };
        let r: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if r.get("height").and_then(Value::as_u64).unwrap_or(0) >= height {
            return r;
        }
        tokio::time::sleep(every).await;
    }
}

/// The balances of a [`rewards_at`] answer by the names given by address (the ledger's, hex:
/// `operator 3`, `contributor 1`), in SESH, with each operator's fee (basis points).
pub fn reward_lines_named(
    rewards: &Value,
    names: &std::collections::BTreeMap<String, String>,
    fees: &[u16],
) -> Vec<Value> {
    let names = names.iter();
    let balances = rewards.get("balances").and_then(Value::as_object);
    let mut out: Vec<(bool, usize, &String, u128)> = names
        .filter_map(|(addr, name)| {
            let milli: u128 = balances?.get(addr.as_str())?.as_str()?.parse().ok()?;
            let number = name.rsplit(' ').next()?.parse().ok()?;
            Some((name.starts_with("contributor"), number, name, milli))
        })
        .collect();
    out.sort();
    out.into_iter()
        .map(|(contributor, i, name, milli)| {
            let fee = (!contributor).then(|| fees.get(i).map(|f| f64::from(*f) / 100.0)).flatten();
            json!({"name": name, "fee_percent": fee, "sesh": sesh(milli)})
        })
        .collect()
}

/// Milli-atomic units as SESH (10^12), a decimal string with 6 places, without floats.
pub fn sesh(milli: u128) -> String {
    format!("{}.{:06}", milli / 1_000_000_000_000, milli % 1_000_000_000_000 / 1_000_000)
}

/// What each node earned (milli-atomic units), from a [`rewards_at`] answer.
pub fn node_rewards(rewards: &Value) -> std::collections::BTreeMap<NodeId, u128> {
    let nodes = rewards.get("nodes").and_then(Value::as_object).into_iter().flatten();
    nodes.filter_map(|(id, v)| Some((id.parse().ok()?, v.as_str()?.parse().ok()?))).collect()
}

/// A node's height and the state changes its chain applied (`GET /network/v1/votes`):
/// `(height, node, state)`, in order.
pub async fn state_changes(
    http: &reqwest::Client,
    node: &str,
) -> Option<(u64, Vec<(u64, NodeId, String)>)> {
    let got = http.get(format!("{node}{}", sesh_node::obligations::VOTES_PATH)).send().await;
    let v: Value = serde_json::from_slice(&got.ok()?.bytes().await.ok()?).ok()?;
    let changes = v.get("changes")?.as_array()?.iter().filter_map(|c| {
        let node = c.get("node")?.as_str()?.parse().ok()?;
        Some((c.get("height")?.as_u64()?, node, c.get("state")?.as_str()?.to_owned()))
    });
    Some((v.get("height")?.as_u64()?, changes.collect()))
}

/// A faulty node's report: its states over time from a node's state `changes`, from
/// `start` (when its fault began) on, the blocks to its first decommission, what it earned
/// beside what each `honest` node earned (milli-atomic), and whether it was caught
/// (decommissioned, and paid less than every honest node).
pub fn fault_entry(
    node: usize,
    kind: &str,
    key: NodeId,
    start: u64,
    changes: &[(u64, NodeId, String)],
    earned: u128,
    honest: &[u128],
) -> Value {
    let mut sorted = honest.to_vec();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let least = sorted.first().copied().unwrap_or(0);
    let mut states = vec![json!({"height": start, "state": "active"})];
    for (height, _, state) in changes.iter().filter(|(_, n, _)| *n == key) {
        let state = match state.as_str() {
            "decommission" => "decommissioned",
            "recommission" => "recommissioned",
            _ => "deregistered",
        };
        states.push(json!({"height": height, "state": state}));
    }
    let decommissioned = changes.iter().find(|(_, n, s)| *n == key && s == "decommission");
    json!({
        "node": node,
        "kind": kind,
        "pubkey_ed25519": key.to_string(),
        "states": states,
        "blocks_to_decommission": decommissioned.map(|(h, _, _)| h.saturating_sub(start)),
        "rewards": sesh(earned),
        "honest_median_rewards": sesh(median),
        "honest_least_rewards": sesh(least),
        "caught": decommissioned.is_some() && earned < least,
    })
}

/// CPU time (user and system, ms) process `pid` has used, where `/proc` says (Linux).
pub fn cpu_ms(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command (which may hold spaces) in parentheses; utime and stime are
    // the 14th and 15th, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}

/// A node's `GET /network/v1/chain`: what it follows (`chain_id`, `contract`), the chain block and
/// sesh height it has applied, its state hash, and its `recent` heights' state hashes.
pub async fn chain_status(http: &reqwest::Client, node: &str) -> Option<Value> {
    let got = http.get(format!("{node}/network/v1/chain")).send().await.ok()?;
    if got.status() != 200 {
        return None;
    }
    serde_json::from_slice(&got.bytes().await.ok()?).ok()
}

/// The state hash node `status` (a [`chain_status`] answer) reports at `height`: its current one
/// or one of its `recent`.
pub fn state_hash_at(status: &Value, height: u64) -> Option<&str> {
    if status.get("height").and_then(Value::as_u64) == Some(height) {
        return status.get("state_hash")?.as_str();
    }
    let recent = status.get("recent")?.as_array()?;
    let at = recent.iter().find(|r| r.get("height").and_then(Value::as_u64) == Some(height))?;
    at.get("state_hash")?.as_str()
}

/// The agreement among nodes' [`chain_status`] answers: the highest height every one has applied
/// (the least of their heights), the state hash most of them report at it, and how many report
/// that hash. `None` without answers.
pub fn chain_agreement(statuses: &[Value]) -> Option<(u64, String, usize)> {
    let height = statuses.iter().map(|s| s.get("height").and_then(Value::as_u64)).min()??;
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for s in statuses {
        if let Some(hash) = state_hash_at(s, height) {
            *counts.entry(hash).or_default() += 1;
        }
    }
    let (hash, agreeing) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    Some((height, hash.to_owned(), agreeing))
}
