//! Starts real node processes (`target/<profile>/examples/node`) on loopback ports, each with its
//! own data directory and SQLite file, every one a follower of sesh's staking contract on a
//! local anvil (`sesh_examples::local::chain`), and talks to them over HTTP.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::U256;
use serde_json::{Map, Value, json};
use sesh_examples::contracts::{self, NodeRegistration};
use sesh_examples::local::chain::Chain;
use sesh_examples::local::{LocalNetwork, NodeProcess};
use sesh_identity::Identity;

/// The node binary.
pub fn node_binary() -> PathBuf {
    example_binary("node")
}

/// An example's binary, brought up to date once per test run: `cargo test --test …` alone does
/// not build examples, and a stale binary would test old code.
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test binary>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "--example", name, "-p", "sesh-examples"]);
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        // What cargo set for this test process (the package's metadata) would look like a
        // change of environment to build scripts, and rebuild everything every time.
        for (k, _) in std::env::vars() {
            if k.starts_with("CARGO_PKG_") || k.starts_with("CARGO_MANIFEST_") {
                cmd.env_remove(k);
            }
        }
        assert!(cmd.status().unwrap().success(), "building the {name} example failed");
        built.push(name.to_owned());
    }
    profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

pub fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sesh-node-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A node process of the `node` example (see `sesh_examples::local`).
pub struct NodeProc(pub NodeProcess);

impl NodeProc {
    /// Starts a node with `extra` arguments; waits for its `listening on` line.
    pub fn start(dir: &Path, listen: &str, extra: &[String]) -> Self {
        let command = [node_binary().into_os_string()];
        Self(NodeProcess::start(&command, dir, listen, extra).unwrap())
    }
}

impl std::ops::Deref for NodeProc {
    type Target = NodeProcess;
    fn deref(&self) -> &NodeProcess {
        &self.0
    }
}

/// What the tests do to a node process.
pub trait NodeExt {
    /// Its key, hex.
    fn key_hex(&self) -> String;
    /// Starts it again after a kill or a stop.
    fn restart_now(&mut self);
    /// SIGTERM, and the exit status (within 20 s).
    fn terminate(&mut self) -> std::process::ExitStatus;
}

impl NodeExt for NodeProcess {
    fn key_hex(&self) -> String {
        self.key.to_string()
    }

    fn restart_now(&mut self) {
        self.restart().unwrap();
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        self.stop(Duration::from_secs(20)).expect("the node did not stop on SIGTERM")
    }
}

/// The sesh height time of the tests' networks (three 100 ms chain blocks).
pub const HEIGHT_MS: u64 = 300;

/// `node`'s registration with the staking contract at `contract`, its whole stake from
/// `operator`: its own BLS key with the proof of possession for `operator`
/// (`sesh_examples::local::chain::registration`).
pub fn registration(
    node: &Identity,
    contract: alloy::primitives::Address,
    operator: alloy::primitives::Address,
) -> NodeRegistration {
    let requirement = U256::from(sesh_node::keeper::REQUIREMENT);
    sesh_examples::local::chain::registration(
        node,
        &sesh_examples::local::chain::domain(contract),
        operator,
        0,
        [contracts::contributor(operator, operator, requirement)],
    )
}

/// A local network of `node` processes, plain HTTP on loopback, every one a follower of the
/// staking contract on its own anvil (none of them special).
pub struct Testnet {
    pub net: LocalNetwork,
    pub http: reqwest::Client,
    /// anvil, the contracts, the staked genesis.
    pub chain: Chain,
    /// The nodes' directories' parent.
    pub dir: PathBuf,
}

impl std::ops::Deref for Testnet {
    type Target = LocalNetwork;
    fn deref(&self) -> &LocalNetwork {
        &self.net
    }
}

impl std::ops::DerefMut for Testnet {
    fn deref_mut(&mut self) -> &mut LocalNetwork {
        &mut self.net
    }
}

impl Testnet {
    /// Starts `n` nodes, plain HTTP on loopback, and waits until every one is in a swarm and
    /// knows every other.
    pub async fn start(name: &str, n: usize, extra: &[&str]) -> Self {
        let mut extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        extra.push("--plain-http".into());
        Self::start_command(name, n, &extra, &[node_binary().into_os_string()]).await
    }

    /// [`Testnet::start`] with each node run as `command` (the program and the arguments before
    /// the node's own) and exactly `extra` (no `--plain-http` added).
    pub async fn start_command(
        name: &str,
        n: usize,
        extra: &[String],
        command: &[std::ffi::OsString],
    ) -> Self {
        let chain = Chain::start(n, HEIGHT_MS).await.unwrap();
        Self::start_on(name, chain, extra, command).await
    }

    /// [`Testnet::start`] on `chain` (e.g. one of [`Chain::start_at`]), one node per registered
    /// node of its genesis.
    pub async fn start_on(
        name: &str,
        chain: Chain,
        extra: &[String],
        command: &[std::ffi::OsString],
    ) -> Self {
        let dir = scratch_dir(name);
        let net = chain.start_nodes(command, &dir, extra, |_| Vec::new()).unwrap();
        let http = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        let net = Self { net, http, chain, dir };
        net.wait_ready(Duration::from_secs(60)).await;
        net.wait_known(Duration::from_secs(60)).await;
        net
    }

    /// Registers one more node with the contract (staked by dev account 0) and starts it, with
    /// node 0 as its peer (not waiting for it to be ready).
    pub async fn add_node(&mut self) -> usize {
        let key = Identity::generate(&mut rand_core::OsRng);
        let anvil = &self.chain.anvil;
        let owner_key = anvil.dev_signer(0).unwrap();
        let owner_address = owner_key.address();
        let owner = anvil.provider(owner_key).unwrap();
        contracts::register(
            &owner,
            &self.chain.deployment,
            &registration(&key, self.chain.deployment.rewards, owner_address),
        )
        .await
        .unwrap();
        let i = self.net.nodes.len();
        let node_dir = self.dir.join(format!("node{i}"));
        std::fs::create_dir_all(&node_dir).unwrap();
        sesh_examples::files::write_private(
            &node_dir.join("key_ed25519"),
            key.to_libsodium_secret_key().as_slice(),
        )
        .unwrap();
        let args: Vec<String> = [
            "--rpc",
            &anvil.url(),
            "--contract",
            &self.chain.contract(),
            "--start-block",
            &self.chain.deployment.block.to_string(),
            "--confirmations",
            &sesh_examples::local::chain::CONFIRMATIONS.to_string(),
            "--blocks-per-height",
            &self.chain.blocks_per_height.to_string(),
            "--block-ms",
            &self.chain.height_ms().to_string(),
            "--peer",
            &self.net.nodes[0].url,
        ]
        .map(String::from)
        .to_vec();
        self.net.add_peer(&args).unwrap()
    }

    /// Waits until every running node has followed `n` more heights than the furthest of them
    /// had when called (what a node starts at a height, such as its first handover, has had
    /// that long to finish).
    pub async fn wait_heights(&self, n: u64) {
        let running: Vec<&NodeProcess> = self.nodes.iter().filter(|n| n.is_running()).collect();
        let height = async |node: &NodeProcess| -> u64 {
            let url = format!("{}/network/v1/chain", node.url);
            match self.http.get(&url).send().await {
                Ok(r) => r.json::<Value>().await.ok().and_then(|v| v["height"].as_u64()),
                Err(_) => None,
            }
            .unwrap_or(0)
        };
        let mut start = 0;
        for node in &running {
            start = start.max(height(node).await);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        for node in &running {
            while height(node).await < start + n {
                assert!(std::time::Instant::now() < deadline, "{} stopped following", node.url);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Waits until every node answers `info` (it is in a swarm).
    pub async fn wait_ready(&self, within: Duration) {
        let ready = self.net.wait_ready(&self.http, within, |_| {}).await;
        if let Err(e) = ready {
            let logs: Vec<String> = self.nodes.iter().map(|n| n.log()).collect();
            panic!("{e}; logs:\n{}", logs.join("\n---\n"));
        }
    }

    /// Waits until every running node's published state lists every running node (each has
    /// the others' uptime proofs).
    pub async fn wait_known(&self, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        let running: Vec<&NodeProcess> = self.nodes.iter().filter(|n| n.is_running()).collect();
        for node in &running {
            loop {
                let url = format!("{}/network/v1/state", node.url);
                let listed = match self.http.get(&url).send().await {
                    Ok(r) => r
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|v| Some(v["nodes"].as_array()?.len())),
                    Err(_) => None,
                };
                if listed == Some(running.len()) {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} lists {listed:?} of {} nodes; log:\n{}",
                    node.url,
                    running.len(),
                    node.log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The published network state.
    pub async fn state(&self) -> Value {
        let r =
            self.http.get(format!("{}/network/v1/state", self.nodes[0].url)).send().await.unwrap();
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }

    /// POSTs raw bytes to a node's path.
    pub async fn post(&self, node: usize, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        self.post_with(node, path, body, &[]).await
    }

    pub async fn post_with(
        &self,
        node: usize,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<u8>) {
        let mut req = self.http.post(format!("{}{path}", self.nodes[node].url)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    /// A storage RPC; the body as JSON if it is JSON, else as a string.
    pub async fn rpc(&self, node: usize, method: &str, params: Map<String, Value>) -> (u16, Value) {
        let body = json!({"method": method, "params": params}).to_string().into_bytes();
        let (status, body) = self.post(node, "/storage_rpc/v1", body).await;
        (status, parse(&body))
    }

    /// `GET /metrics`.
    pub async fn metrics(&self, node: usize) -> String {
        let r = self.http.get(format!("{}/metrics", self.nodes[node].url)).send().await.unwrap();
        r.text().await.unwrap()
    }
}

/// JSON if it is, else a string.
pub fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// The value of an unlabelled metric.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
