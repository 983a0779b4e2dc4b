//! A local network of node processes on this machine (loopback, plain HTTP): the ledger keeper
//! and the nodes that join it, each its own process with its own data directory, started,
//! killed, restarted and stopped. The `testnet` program runs its network with it, and so do the
//! node's tests.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sesh_identity::NodeId;
use sesh_node::keeper::Genesis;

/// A node process.
#[derive(Debug)]
pub struct NodeProcess {
    /// Its data directory (its log is `node.log` there).
    pub dir: PathBuf,
    /// Its base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Its key.
    pub key: NodeId,
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
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        // `listening on <url> node <key>`
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(url), Some(Ok(key))) = (words.get(2), words.get(4).map(|k| k.parse())) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("a node did not start; see {}", log_path.display()));
        };
        // A restart keeps the port.
        if let Some(pos) = self.args.iter().position(|a| a == "--listen")
            && let Some(slot) = self.args.get_mut(pos + 1)
        {
            *slot = url.trim_start_matches("http://").trim_start_matches("https://").to_owned();
        }
        (self.url, self.key, self.child, self._stdout) =
            ((*url).to_owned(), key, Some(child), Some(stdout));
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

    /// What it logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// Lays out a local network's genesis under `dir`: node `i`'s key in `<dir>/node<i>/key_ed25519`
/// and the ledger in the keeper's `<dir>/node0/ledger.log`, for [`LocalNetwork::start`] and
/// [`LocalNetwork::add_node`] to find.
///
/// # Errors
/// What could not be written.
pub fn write_genesis(dir: &Path, genesis: &Genesis) -> Result<(), String> {
    for (i, key) in genesis.nodes.iter().enumerate() {
        let node = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&node).map_err(|e| format!("{}: {e}", node.display()))?;
        crate::files::write_private(
            &node.join("key_ed25519"),
            key.to_libsodium_secret_key().as_slice(),
        )?;
    }
    let log = dir.join("node0").join("ledger.log");
    std::fs::write(&log, &genesis.log).map_err(|e| format!("{}: {e}", log.display()))
}

/// The keeper (node 0) and the nodes that joined it; all stopped when dropped.
#[derive(Debug)]
pub struct LocalNetwork {
    /// The nodes, the keeper first.
    pub nodes: Vec<NodeProcess>,
    command: Vec<OsString>,
    dir: PathBuf,
    extra: Vec<String>,
}

impl LocalNetwork {
    /// Starts the keeper in `<dir>/node0`, with `keeper_args` and `extra` (which every node gets,
    /// e.g. `--plain-http`).
    ///
    /// # Errors
    /// As [`NodeProcess::start`].
    pub fn start(
        command: &[OsString],
        dir: &Path,
        keeper_args: &[String],
        extra: &[String],
    ) -> Result<Self, String> {
        let mut args = vec!["--authority".to_owned()];
        args.extend_from_slice(keeper_args);
        args.extend_from_slice(extra);
        let keeper = NodeProcess::start(command, &dir.join("node0"), "127.0.0.1:0", &args)?;
        Ok(Self {
            nodes: vec![keeper],
            command: command.to_vec(),
            dir: dir.to_owned(),
            extra: extra.to_vec(),
        })
    }

    /// The keeper.
    pub fn keeper(&self) -> Option<&NodeProcess> {
        self.nodes.first()
    }

    /// Starts one more node in `<dir>/node<i>`, joining the keeper (its key pinned); its index.
    ///
    /// # Errors
    /// As [`NodeProcess::start`].
    pub fn add_node(&mut self) -> Result<usize, String> {
        let i = self.nodes.len();
        let keeper = self.keeper().ok_or("no keeper")?;
        let mut args = [
            "--network",
            &keeper.url,
            "--authority-key",
            &keeper.key.to_string(),
            "--poll-ms",
            "200",
        ]
        .map(String::from)
        .to_vec();
        args.extend_from_slice(&self.extra);
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
