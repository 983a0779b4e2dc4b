//! A private Session network on this machine, shown working end to end.
//!
//! ```text
//! cargo run --release --example testnet [-- --nodes 14 --clients 6 --messages 48 --keep --json]
//! ```
//!
//! It builds a staking ledger (an operator per node, contributors, fees), starts every node as
//! its own process on loopback (this executable, run as `testnet node …`), with its own data
//! directory, sends messages between client accounts through 3-hop onion paths, receives and
//! checks them, lets blocks pass so that rewards accrue, and prints a report. `--kill-one` also
//! kills a node with SIGKILL halfway, keeps sending, restarts it and checks what it kept. Ctrl-C
//! stops every node. See `docs/overview.md`.

#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sesh_client::inbox::Inbox;
use sesh_client::paths::PATH_LENGTH;
use sesh_examples::client::{self as session, Network, now_ms};
use sesh_examples::node;
use sesh_identity::{Identity, NodeId};
use sesh_node::keeper::Genesis;
use sesh_rpc::Namespace;
use sesh_rpc::client::Account;
use sesh_staking::Address;

/// A private Session network on this machine.
#[derive(Debug, Parser)]
#[command(name = "testnet")]
struct Args {
    /// Nodes to run (oxend's rules form a second swarm at 14).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u16).range(5..=100))]
    nodes: u16,
    /// Client accounts that message each other.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(2..=100))]
    clients: u16,
    /// Messages to send.
    #[arg(long, default_value_t = 48)]
    messages: usize,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 500)]
    block_ms: u64,
    /// Where the nodes keep their data (default: a new directory under the system's temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Leave the network running after the report (until Ctrl-C), and say how to use it.
    #[arg(long)]
    keep: bool,
    /// Kill one node (SIGKILL) halfway through, restart it at the end, and check it kept its
    /// messages.
    #[arg(long)]
    kill_one: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "node") {
        argv.remove(0);
        return node::main_with(argv);
    }
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run(&args) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted: stopping every node".to_owned()),
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A node process.
struct NodeProcess {
    child: Option<Child>,
    _stdout: Option<BufReader<ChildStdout>>,
    dir: PathBuf,
    url: String,
    key: NodeId,
    args: Vec<String>,
}

impl NodeProcess {
    fn start(dir: &Path, mut args: Vec<String>) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .arg("node")
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting a node: {e}"))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(url), Some(key)) = (words.get(2), words.get(4)) else {
            let _ = child.kill();
            return Err(format!("a node did not start; see {}", dir.join("node.log").display()));
        };
        let key: NodeId = key.parse().map_err(|e| format!("a node's key: {e}"))?;
        // A restart keeps the port.
        if let Some(pos) = args.iter().position(|a| a == "--listen")
            && let Some(port) = url.rsplit(':').next()
            && let Some(slot) = args.get_mut(pos + 1)
        {
            *slot = format!("127.0.0.1:{port}");
        }
        Ok(Self {
            child: Some(child),
            _stdout: Some(stdout),
            dir: dir.to_owned(),
            url: (*url).to_owned(),
            key,
            args,
        })
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn restart(&mut self) -> Result<(), String> {
        self.kill9();
        let again = Self::start(&self.dir, self.args.clone())?;
        *self = again;
        Ok(())
    }

    /// SIGTERM (graceful), then SIGKILL for a node that has not stopped in `grace`.
    fn stop(&mut self, grace: Duration) {
        let Some(mut c) = self.child.take() else { return };
        #[cfg(unix)]
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(c.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// Every node; stopping them all when dropped (also on Ctrl-C and on errors).
struct Nodes(Vec<NodeProcess>);

impl Drop for Nodes {
    fn drop(&mut self) {
        #[cfg(unix)]
        for n in &self.0 {
            if let Some(c) = &n.child {
                let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            }
        }
        for n in &mut self.0 {
            n.stop(Duration::from_secs(3));
        }
    }
}

fn bar(len: u64, what: &str, hidden: bool) -> ProgressBar {
    let pb = if hidden { ProgressBar::hidden() } else { ProgressBar::new(len) };
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg:<28} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Option<(u16, Value)> {
    let r = http.post(url).body(body.to_string()).send().await.ok()?;
    let status = r.status().as_u16();
    let v = serde_json::from_slice(&r.bytes().await.ok()?).unwrap_or(Value::Null);
    Some((status, v))
}

async fn get_json(http: &reqwest::Client, url: &str) -> Option<Value> {
    let r = http.get(url).send().await.ok()?;
    serde_json::from_slice(&r.bytes().await.ok()?).ok()
}

/// Waits until every node answers `info` (it is in a swarm) and the network lists them all.
async fn wait_ready(
    http: &reqwest::Client,
    nodes: &[NodeProcess],
    pb: &ProgressBar,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let info = json!({"method": "info", "params": {}});
    for n in nodes {
        loop {
            if let Some((200, _)) =
                post_json(http, &format!("{}/storage_rpc/v1", n.url), &info).await
            {
                pb.inc(1);
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "node {} is not ready; see {}",
                    n.url,
                    n.dir.join("node.log").display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

/// One message the scenario sends.
#[derive(Debug, Clone)]
struct Planned {
    from: usize,
    to: usize,
    text: String,
}

async fn run(args: &Args) -> Result<bool, String> {
    let started = Instant::now();
    let n = usize::from(args.nodes);
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("sesh-testnet-{}", std::process::id())),
    };
    if base.exists() {
        std::fs::remove_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    }
    let quiet = args.json;

    // The ledger, and each node's key in its data directory.
    let genesis = Genesis::build(n, &mut rand_core::OsRng).map_err(|e| e.to_string())?;
    let dirs: Vec<PathBuf> = (0..n).map(|i| base.join(format!("node{i}"))).collect();
    for (dir, key) in dirs.iter().zip(&genesis.nodes) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        node::tls::write_private(
            &dir.join("key_ed25519"),
            key.to_libsodium_secret_key().as_slice(),
        )?;
    }
    let first = dirs.first().ok_or("no nodes")?;
    std::fs::write(first.join("ledger.log"), &genesis.log).map_err(|e| e.to_string())?;

    // The nodes: the authority first, then the others pointed at it.
    let pb = bar(n as u64, "starting nodes", quiet);
    let listen =
        || vec!["--listen".to_owned(), "127.0.0.1:0".to_owned(), "--plain-http".to_owned()];
    let mut a_args = listen();
    a_args.extend([
        "--data".into(),
        first.display().to_string(),
        "--authority".into(),
        "--block-ms".into(),
        args.block_ms.to_string(),
    ]);
    let authority = NodeProcess::start(first, a_args)?;
    let network_url = authority.url.clone();
    let authority_key = authority.key;
    let mut nodes = Nodes(vec![authority]);
    for dir in dirs.iter().skip(1) {
        let mut a = listen();
        a.extend([
            "--data".into(),
            dir.display().to_string(),
            "--network".into(),
            network_url.clone(),
            "--authority-key".into(),
            authority_key.to_string(),
            "--poll-ms".into(),
            "200".into(),
        ]);
        nodes.0.push(NodeProcess::start(dir, a)?);
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    wait_ready(&http, &nodes.0, &pb, Duration::from_secs(60)).await?;
    pb.finish_and_clear();

    let net = Arc::new(
        Network::connect(&network_url, Some(authority_key)).await.map_err(|e| e.to_string())?,
    );
    let name_of: BTreeMap<NodeId, usize> =
        nodes.0.iter().enumerate().map(|(i, p)| (p.key, i)).collect();
    let state = net.state();
    let up_after = started.elapsed();

    // Accounts, and who messages whom.
    let clients: Arc<Vec<Identity>> =
        Arc::new((0..args.clients).map(|_| Identity::generate(&mut rand_core::OsRng)).collect());
    let k = clients.len();
    let plan: Vec<Planned> = (0..args.messages)
        .map(|j| {
            let from = j % k;
            let to = (from + 1 + (j / k) % (k - 1)) % k;
            Planned { from, to, text: format!("message {j} from account {from} to account {to}") }
        })
        .collect();

    // The node to kill: a member (not the authority) of the first recipient's swarm.
    let victim = if args.kill_one {
        let to = plan.first().map_or(1, |p| p.to);
        let members =
            state.members_for(&clients.get(to).ok_or("no client")?.session_id().to_bytes());
        members.iter().filter_map(|m| name_of.get(&m.id).copied()).find(|i| *i != 0)
    } else {
        None
    };

    // Send, half, (kill), the other half; receivers poll meanwhile.
    let pb = bar(plan.len() as u64, "sending through onion paths", quiet);
    let send_started: Arc<std::sync::Mutex<BTreeMap<String, Instant>>> = Arc::default();
    let receivers =
        spawn_receivers(net.clone(), clients.clone(), plan.clone(), send_started.clone());
    let mut sent: Vec<Option<session::Sent>> = vec![None; plan.len()];
    let mut send_errors = Vec::new();
    let mut retried = 0;
    let half = plan.len() / 2;
    let mut killed_at_send = None;
    for (chunk_start, chunk) in
        [(0, plan.get(..half).unwrap_or_default()), (half, plan.get(half..).unwrap_or_default())]
    {
        if chunk_start == half
            && let Some(v) = victim
            && let Some(p) = nodes.0.get_mut(v)
        {
            p.kill9();
            killed_at_send = Some(half);
            pb.println(format!(
                "killed node {v} ({}) with SIGKILL",
                p.key.to_string().get(..8).unwrap_or_default()
            ));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (offset, p) in chunk.iter().enumerate() {
            let (net, clients, p, starts) =
                (net.clone(), clients.clone(), p.clone(), send_started.clone());
            tasks.spawn(async move {
                let (Some(from), Some(to)) = (clients.get(p.from), clients.get(p.to)) else {
                    return (chunk_start + offset, Err("bad plan".to_owned()));
                };
                if let Ok(mut s) = starts.lock() {
                    s.insert(p.text.clone(), Instant::now());
                }
                let r = session::send(&net, from, &to.session_id(), &p.text)
                    .await
                    .map_err(|e| e.to_string());
                (chunk_start + offset, r)
            });
            // A few in flight at a time.
            while tasks.len() >= 8 {
                if let Some(Ok((i, r))) = tasks.join_next().await {
                    record(&mut sent, &mut send_errors, &mut retried, i, r, &pb);
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, r)) = done {
                record(&mut sent, &mut send_errors, &mut retried, i, r, &pb);
            }
        }
    }
    pb.finish_and_clear();

    // Wait for delivery.
    let pb = bar(plan.len() as u64, "delivering", quiet);
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered = loop {
        let got = receivers.delivered();
        pb.set_position(got.len() as u64);
        let expected = sent.iter().filter(|s| s.is_some()).count();
        if got.len() >= expected || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    receivers.stop();
    pb.finish_and_clear();

    // The killed node comes back: does it still hold what it acknowledged, and does it catch up?
    let kill_report = match victim {
        Some(v) => Some(
            check_restart(
                v,
                &mut nodes,
                &http,
                &clients,
                &plan,
                &sent,
                killed_at_send.unwrap_or(0),
            )
            .await?,
        ),
        None => None,
    };

    // Let rewards accrue for a few blocks, then read them.
    let rewards_url = format!("{network_url}/network/v1/rewards");
    let min_blocks = 8;
    let rewards = loop {
        let r = get_json(&http, &rewards_url).await.unwrap_or(Value::Null);
        if r.get("height").and_then(Value::as_u64).unwrap_or(0) >= min_blocks {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(args.block_ms)).await;
    };

    // The report.
    let mut latencies: Vec<Duration> = delivered.values().copied().collect();
    latencies.sort_unstable();
    let sent_ok = sent.iter().filter(|s| s.is_some()).count();
    let delivered_ok = plan.iter().filter(|p| delivered.contains_key(&p.text)).count();
    let all_ok = sent_ok == plan.len()
        && delivered_ok == plan.len()
        && kill_report.as_ref().is_none_or(|k| k.get("ok") == Some(&Value::Bool(true)));
    let swarm_list: Vec<Value> = state
        .map()
        .iter()
        .map(|(id, members)| {
            json!({"swarm": format!("{:x}", id.get()), "nodes": members.iter().map(|m| json!({"node": name_of.get(m), "pubkey_ed25519": m.to_string()})).collect::<Vec<_>>()})
        })
        .collect();
    let balances = reward_lines(&rewards, &genesis);
    let report = json!({
        "ok": all_ok,
        "nodes": n,
        "network": network_url,
        "authority_key": authority_key.to_string(),
        "data": base.display().to_string(),
        "up_after_ms": ms(up_after),
        "swarms": swarm_list,
        "accounts": k,
        "messages": {
            "planned": plan.len(),
            "sent": sent_ok,
            "delivered": delivered_ok,
            "send_errors": send_errors,
            "paths_retried": retried,
            "latency_ms": {"p50": ms(percentile(&latencies, 50)), "p99": ms(percentile(&latencies, 99)), "max": ms(latencies.last().copied().unwrap_or_default())},
            "path_length": PATH_LENGTH,
        },
        "kill": kill_report,
        "rewards": {"height": rewards.get("height"), "balances": balances},
        "elapsed_ms": ms(started.elapsed()),
    });
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }

    if args.keep {
        // Hand the network over until Ctrl-C (which stops every node).
        if !args.json {
            println!("\nThe network is up. In another terminal:");
            println!("  export SESH_NETWORK={network_url} SESH_AUTHORITY_KEY={authority_key}");
            println!("  cargo run --release --example client -- --dir /tmp/alice new");
            println!(
                "  cargo run --release --example client -- --dir /tmp/alice send <session id> \"hello\""
            );
            println!("  cargo run --release --example client -- --dir /tmp/bob watch");
            println!("Data: {}. Ctrl-C stops every node.", base.display());
        }
        let _ = tokio::signal::ctrl_c().await;
    }
    drop(nodes);
    if args.dir.is_none() && !args.keep && all_ok {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(all_ok)
}

fn record(
    sent: &mut [Option<session::Sent>],
    errors: &mut Vec<String>,
    retried: &mut usize,
    i: usize,
    r: Result<session::Sent, String>,
    pb: &ProgressBar,
) {
    pb.inc(1);
    match r {
        Ok(s) => {
            *retried += s.attempts.saturating_sub(1);
            if let Some(slot) = sent.get_mut(i) {
                *slot = Some(s);
            }
        }
        Err(e) => {
            pb.println(format!("message {i} not sent: {e}"));
            errors.push(format!("message {i}: {e}"));
        }
    }
}

/// Receivers: each account polls its swarm through onion paths and records when each expected
/// message arrives (and that it came from the right sender).
struct Receivers {
    delivered: Arc<std::sync::Mutex<BTreeMap<String, Duration>>>,
    tasks: tokio::task::JoinSet<()>,
}

impl Receivers {
    fn delivered(&self) -> BTreeMap<String, Duration> {
        self.delivered.lock().map(|d| d.clone()).unwrap_or_default()
    }

    fn stop(mut self) {
        self.tasks.abort_all();
    }
}

fn spawn_receivers(
    net: Arc<Network>,
    clients: Arc<Vec<Identity>>,
    plan: Vec<Planned>,
    starts: Arc<std::sync::Mutex<BTreeMap<String, Instant>>>,
) -> Receivers {
    let delivered: Arc<std::sync::Mutex<BTreeMap<String, Duration>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, me) in clients.iter().enumerate() {
        let expected: BTreeMap<String, sesh_identity::SessionId> = plan
            .iter()
            .filter(|p| p.to == i)
            .filter_map(|p| Some((p.text.clone(), clients.get(p.from)?.session_id())))
            .collect();
        if expected.is_empty() {
            continue;
        }
        let (net, clients, delivered, starts) =
            (net.clone(), clients.clone(), delivered.clone(), starts.clone());
        tasks.spawn(async move {
            let Some(me) = clients.get(i) else { return };
            let mut inbox = Inbox::default();
            loop {
                if let Ok((messages, _)) = session::receive(&net, me, &mut inbox).await {
                    let now = Instant::now();
                    for m in messages {
                        if expected.get(&m.text) == Some(&m.from) {
                            let start = starts
                                .lock()
                                .ok()
                                .and_then(|s| s.get(&m.text).copied())
                                .unwrap_or(now);
                            if let Ok(mut d) = delivered.lock() {
                                d.entry(m.text).or_insert(now - start);
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let _ = me;
    }
    Receivers { delivered, tasks }
}

/// Restarts the killed node and checks it: what it acknowledged before the kill is still there,
/// and it catches up with what was stored while it was down.
async fn check_restart(
    v: usize,
    nodes: &mut Nodes,
    http: &reqwest::Client,
    clients: &[Identity],
    plan: &[Planned],
    sent: &[Option<session::Sent>],
    killed_at: usize,
) -> Result<Value, String> {
    let p = nodes.0.get_mut(v).ok_or("no such node")?;
    let key = p.key;
    p.restart()?;
    let url = p.url.clone();
    let pb = ProgressBar::hidden();
    wait_ready(http, std::slice::from_ref(p), &pb, Duration::from_secs(30)).await?;
    // What it held: the messages it acknowledged before the kill. What it should get back: those
    // stored while it was down, for accounts of its swarm.
    let held: Vec<(usize, String)> = plan
        .iter()
        .zip(sent)
        .take(killed_at)
        .filter_map(|(p, s)| {
            s.as_ref()
                .filter(|s| s.stored.stored_by.contains(&key))
                .map(|s| (p.to, s.stored.hash.clone()))
        })
        .collect();
    let victim_accounts: Vec<usize> = held.iter().map(|(to, _)| *to).collect();
    let missed: Vec<(usize, String)> = plan
        .iter()
        .zip(sent)
        .skip(killed_at)
        .filter(|(p, _)| victim_accounts.contains(&p.to))
        .filter_map(|(p, s)| s.as_ref().map(|s| (p.to, s.stored.hash.clone())))
        .collect();
    let on_node = |account: usize| {
        let http = http.clone();
        let url = url.clone();
        let me = clients
            .get(account)
            .map(|c| Account::session(c).retrieve(Namespace(0), now_ms(), None));
        async move {
            let params = me?;
            let (status, v) = post_json(
                &http,
                &format!("{url}/storage_rpc/v1"),
                &json!({"method": "retrieve", "params": params}),
            )
            .await?;
            (status == 200).then(|| {
                v.get("messages")
                    .and_then(Value::as_array)
                    .map(|m| {
                        m.iter()
                            .filter_map(|m| m.get("hash")?.as_str().map(str::to_owned))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        }
    };
    let mut kept = 0;
    for (account, hash) in &held {
        if on_node(*account).await.is_some_and(|h| h.contains(hash)) {
            kept += 1;
        }
    }
    // Catching up takes a fetch from its peers after the restart.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut caught_up = 0;
    loop {
        let mut have = 0;
        for (account, hash) in &missed {
            if on_node(*account).await.is_some_and(|h| h.contains(hash)) {
                have += 1;
            }
        }
        caught_up = caught_up.max(have);
        if have == missed.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(json!({
        "node": v,
        "pubkey_ed25519": key.to_string(),
        "killed_after_messages": killed_at,
        "held_before_kill": held.len(),
        "kept_after_restart": kept,
        "stored_while_down": missed.len(),
        "caught_up_after_restart": caught_up,
        "ok": kept == held.len() && caught_up == missed.len() && !held.is_empty(),
    }))
}

/// Rewards by name, in SESH.
fn reward_lines(rewards: &Value, genesis: &Genesis) -> Vec<Value> {
    let Some(balances) = rewards.get("balances").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u128)> = balances
        .iter()
        .filter_map(|(addr, milli)| {
            let mut a = [0u8; 32];
            hex::decode_to_slice(addr, &mut a).ok()?;
            let name =
                genesis.names.get(&Address::from_bytes(a)).cloned().unwrap_or_else(|| addr.clone());
            Some((name, milli.as_str()?.parse().ok()?))
        })
        .collect();
    out.sort_by_key(|a| natural(&a.0));
    out.into_iter()
        .map(|(name, milli)| {
            let fee = name
                .strip_prefix("operator ")
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| genesis.fees.get(i).copied());
            // milli-atomic → SESH (10^12), as a decimal string without floats.
            let sesh = format!(
                "{}.{:06}",
                milli / 1_000_000_000_000,
                (milli % 1_000_000_000_000) / 1_000_000
            );
            json!({"name": name, "fee_percent": fee.map(|f| f64::from(f) / 100.0), "sesh": sesh})
        })
        .collect()
}

/// Sort key: contributors after operators, numbers in order.
fn natural(name: &str) -> (bool, usize, String) {
    let mut parts = name.rsplitn(2, ' ');
    let num = parts.next().and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
    (name.starts_with("contributor"), num, name.to_owned())
}

// serde_json's index by key gives `Null` for a missing key: it cannot panic.
#[allow(clippy::indexing_slicing)]
fn print_report(r: &Value) {
    let m = &r["messages"];
    println!(
        "sesh testnet: {} nodes up in {} ms, {} accounts",
        r["nodes"], r["up_after_ms"], r["accounts"]
    );
    println!(
        "messages: {} sent, {} delivered of {} through {}-hop onion paths; latency p50 {} ms, p99 {} ms; {} paths retried",
        m["sent"],
        m["delivered"],
        m["planned"],
        m["path_length"],
        m["latency_ms"]["p50"],
        m["latency_ms"]["p99"],
        m["paths_retried"]
    );
    for e in m["send_errors"].as_array().into_iter().flatten() {
        println!("  not sent: {}", e.as_str().unwrap_or_default());
    }
    if let Some(k) = r.get("kill").filter(|k| !k.is_null()) {
        println!(
            "killed node {} after {} messages: it kept {} of the {} it had stored, and caught up {} of {} stored while it was down",
            k["node"],
            k["killed_after_messages"],
            k["kept_after_restart"],
            k["held_before_kill"],
            k["caught_up_after_restart"],
            k["stored_while_down"]
        );
    }
    println!("swarms:");
    for s in r["swarms"].as_array().into_iter().flatten() {
        let members: Vec<String> = s["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                format!(
                    "node {} ({})",
                    n["node"],
                    n["pubkey_ed25519"].as_str().and_then(|k| k.get(..8)).unwrap_or("?")
                )
            })
            .collect();
        println!("  {:>16}: {}", s["swarm"].as_str().unwrap_or("?"), members.join(", "));
    }
    println!("rewards at height {}:", r["rewards"]["height"]);
    for b in r["rewards"]["balances"].as_array().into_iter().flatten() {
        let fee = b["fee_percent"].as_f64().map(|f| format!(" (fee {f:.0} %)")).unwrap_or_default();
        println!(
            "  {:<16}{:>18} SESH{fee}",
            b["name"].as_str().unwrap_or("?"),
            b["sesh"].as_str().unwrap_or("?")
        );
    }
    println!(
        "{} in {} ms",
        if r["ok"] == Value::Bool(true) { "ok" } else { "FAILED" },
        r["elapsed_ms"]
    );
}
