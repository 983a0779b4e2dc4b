//! Load on one reference node over loopback: `store` and `retrieve` requests per second with
//! p50/p99 latency, beside the same client against a node started with `--noop` (same process,
//! HTTP stack and runtime; the handler answers an empty 200 without looking at the request). The
//! ratio is the figure: how much of the stack's capacity the storage work leaves.
//!
//! ```text
//! cargo run --release --example loadgen [-- --connections 32 --seconds 5 --sync full --tls]
//! ```
//!
//! The nodes run with `--no-rate-limit`: one client address would otherwise be held to the live
//! limit of 300 requests a second.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use rand_core::OsRng;
use serde_json::json;
use sesh_identity::Identity;
use sesh_rpc::Namespace;
use sesh_rpc::client::Account;

/// Load generator for the reference node.
#[derive(Debug, Parser)]
#[command(name = "loadgen", about)]
struct Args {
    /// Concurrent connections (each sends its next request when the last is answered).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// The node's commit durability (`full`: fsync every commit; `normal`: the live server's).
    #[arg(long, default_value = "full")]
    sync: String,
    /// Use HTTPS (the live default) instead of plain HTTP.
    #[arg(long)]
    tls: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The node binary beside this one, built if it is missing.
fn node_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory")?.to_owned();
    let bin = dir.join(format!("node{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let release = dir.parent().is_some_and(|p| p.ends_with("release"));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--example", "node", "-p", "sesh-examples"]);
        if release {
            cmd.arg("--release");
        }
        if !cmd.status().map_err(|e| e.to_string())?.success() {
            return Err("building the node failed".into());
        }
    }
    Ok(bin)
}

struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, args: &Args, noop: bool) -> Result<Node, String> {
    let _ = std::fs::remove_dir_all(dir);
    let mut cmd = Command::new(node_binary()?);
    cmd.arg("--data").arg(dir);
    cmd.args(["--authority", "--no-rate-limit", "--block-ms", "500", "--sync", &args.sync]);
    if !args.tls {
        cmd.arg("--plain-http");
    }
    if noop {
        cmd.arg("--noop");
    }
    let mut child = cmd
        .env("SESH_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
    let url =
        line.split_whitespace().nth(2).ok_or_else(|| format!("node said {line:?}"))?.to_owned();
    Ok(Node { child, url })
}

/// Requests per second and latency percentiles of one run.
struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// Runs `connections` loops sending `bodies` round-robin for `seconds`.
async fn run(url: &str, bodies: Arc<Vec<Vec<u8>>>, args: &Args) -> Figures {
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(args.connections)
        .build()
        .unwrap_or_default();
    let url = format!("{url}/storage_rpc/v1");
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..args.connections {
        let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
        let stride = args.connections;
        tasks.spawn(async move {
            let (mut latencies, mut errors, mut i) = (Vec::new(), 0usize, c);
            while Instant::now() < deadline {
                let Some(body) = bodies.get(i % bodies.len()) else { break };
                i += stride;
                let t = Instant::now();
                match http.post(&url).body(body.clone()).send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    while let Some(Ok((l, e))) = tasks.join_next().await {
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: usize| {
        all.get((all.len() * p / 100).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    Figures { rate: all.len() as f64 / elapsed, p50: pct(50), p99: pct(99), errors }
}

fn store_bodies(accounts: &[Account<'_>], n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let account = accounts.get(i % accounts.len()).map(|a| {
                a.store(
                    Namespace(0),
                    format!("load message {i:08} padded to a typical size: {}", "x".repeat(400))
                        .as_bytes(),
                    now_ms(),
                    3_600_000,
                )
            });
            json!({"method": "store", "params": account}).to_string().into_bytes()
        })
        .collect()
}

fn retrieve_bodies(accounts: &[Account<'_>]) -> Vec<Vec<u8>> {
    accounts
        .iter()
        .map(|a| {
            json!({"method": "retrieve", "params": a.retrieve(Namespace(0), now_ms(), None)})
                .to_string()
                .into_bytes()
        })
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn measure(args: Args) -> Result<(), String> {
    let base = std::env::temp_dir().join(format!("sesh-loadgen-{}", std::process::id()));
    let node = start(&base.join("node"), &args, false)?;
    let noop = start(&base.join("noop"), &args, true)?;
    // Wait until the real node is in its swarm.
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| e.to_string())?;
    let info = json!({"method": "info", "params": {}}).to_string();
    let ready = Instant::now() + Duration::from_secs(30);
    while http
        .post(format!("{}/storage_rpc/v1", node.url))
        .body(info.clone())
        .send()
        .await
        .map(|r| r.status())
        .ok()
        != Some(reqwest::StatusCode::OK)
    {
        if Instant::now() > ready {
            return Err("the node did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let people: Vec<Identity> = (0..64).map(|_| Identity::generate(&mut OsRng)).collect();
    let accounts: Vec<Account<'_>> = people.iter().map(Account::session).collect();
    // Retrieves read accounts with ten messages each, in both nodes.
    let readers: Vec<Identity> = (0..64).map(|_| Identity::generate(&mut OsRng)).collect();
    let reader_accounts: Vec<Account<'_>> = readers.iter().map(Account::session).collect();
    for target in [&node, &noop] {
        for body in store_bodies(&reader_accounts, 640) {
            let r = http
                .post(format!("{}/storage_rpc/v1", target.url))
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status() != reqwest::StatusCode::OK {
                return Err(format!("seeding the retrieve accounts: {}", r.status()));
            }
        }
    }
    println!(
        "one node on loopback ({}), {} connections, {} s per run, sync={}; {} cores",
        if args.tls { "HTTPS" } else { "plain HTTP" },
        args.connections,
        args.seconds,
        args.sync,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<10} {:<8} {:>10} {:>10} {:>10} {:>7}",
        "request", "handler", "req/s", "p50", "p99", "errors"
    );
    for op in ["store", "retrieve"] {
        let bodies = Arc::new(if op == "store" {
            store_bodies(&accounts, 60_000)
        } else {
            retrieve_bodies(&reader_accounts)
        });
        let mut rates = Vec::new();
        for (name, target) in [("node", &node), ("no-op", &noop)] {
            let f = run(&target.url, bodies.clone(), &args).await;
            println!(
                "{op:<10} {name:<8} {:>10.0} {:>10} {:>10} {:>7}",
                f.rate,
                ms(f.p50),
                ms(f.p99),
                f.errors
            );
            rates.push(f.rate);
        }
        if let [real, baseline] = rates[..] {
            println!("{op:<10} {:<8} {:>10.3}   (node / no-op)", "ratio", real / baseline.max(1.0));
        }
    }
    drop((node, noop));
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(measure(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
