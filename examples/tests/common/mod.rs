//! Starts real node processes (`target/<profile>/examples/node`) on loopback ports, each with its
//! own data directory and SQLite file, and talks to them over HTTP.
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

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The node binary.
fn node_binary() -> PathBuf {
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

/// A running node process.
pub struct NodeProc {
    pub dir: PathBuf,
    pub url: String,
    pub key: [u8; 32],
    pub listen: String,
    args: Vec<String>,
    child: Option<Child>,
}

impl NodeProc {
    /// Starts a node with `extra` arguments; waits for its `listening on` line.
    pub fn start(dir: &Path, listen: &str, extra: &[String]) -> Self {
        let mut args =
            vec!["--data".to_owned(), dir.display().to_string(), "--listen".into(), listen.into()];
        args.extend_from_slice(extra);
        let mut me = Self {
            dir: dir.to_owned(),
            url: String::new(),
            key: [0; 32],
            listen: listen.into(),
            args,
            child: None,
        };
        me.spawn();
        me
    }

    fn spawn(&mut self) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .unwrap();
        let mut child = Command::new(node_binary())
            .args(&self.args)
            .env("SESH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "listening on <url> node <hex>"
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            words.get(..2),
            Some(&["listening", "on"][..]),
            "node said: {line:?}; log in {}",
            self.dir.display()
        );
        self.url = words[2].to_owned();
        hex::decode_to_slice(words[4], &mut self.key).unwrap();
        // Restarts keep the port.
        self.listen = self.url.rsplit('/').next().unwrap().to_owned();
        if let Some(pos) = self.args.iter().position(|a| a == "--listen") {
            self.args[pos + 1] = self.listen.clone();
        }
        self.child = Some(child);
    }

    pub fn key_hex(&self) -> String {
        hex::encode(self.key)
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM, and the exit status.
    #[cfg(unix)]
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        let status = Command::new("kill").args(["-TERM", &c.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "the node did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A local network: node 0 is the ledger authority.
pub struct Testnet {
    pub dir: PathBuf,
    pub nodes: Vec<NodeProc>,
    pub http: reqwest::Client,
    extra: Vec<String>,
}

impl Testnet {
    /// Starts `n` nodes, plain HTTP on loopback, and waits until every one is in a swarm.
    pub async fn start(name: &str, n: usize, extra: &[&str]) -> Self {
        let dir = scratch_dir(name);
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let mut args = vec![
            "--authority".to_owned(),
            "--plain-http".into(),
            "--block-ms".into(),
            "300".into(),
        ];
        args.extend(extra.iter().cloned());
        let authority = NodeProc::start(&dir.join("n0"), "127.0.0.1:0", &args);
        let http = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        let mut net = Self { dir, nodes: vec![authority], http, extra };
        for _ in 1..n {
            net.add_node();
        }
        net.wait_ready(Duration::from_secs(60)).await;
        net
    }

    /// Starts one more node joining the network (not waiting for it).
    pub fn add_node(&mut self) -> usize {
        let i = self.nodes.len();
        let mut args = vec![
            "--network".to_owned(),
            self.nodes[0].url.clone(),
            "--plain-http".into(),
            "--poll-ms".into(),
            "200".into(),
            "--authority-key".into(),
            self.nodes[0].key_hex(),
        ];
        args.extend(self.extra.iter().cloned());
        self.nodes.push(NodeProc::start(&self.dir.join(format!("n{i}")), "127.0.0.1:0", &args));
        i
    }

    /// Waits until every node answers `info` (it is in a swarm).
    pub async fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        for (i, n) in self.nodes.iter().enumerate() {
            loop {
                let (status, _) = self.rpc(i, "info", Map::new()).await;
                if status == 200 {
                    break;
                }
                assert!(Instant::now() < deadline, "node {i} not ready; log:\n{}", n.log());
                tokio::time::sleep(Duration::from_millis(100)).await;
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
