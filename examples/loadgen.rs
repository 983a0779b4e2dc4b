//! Load on one reference node over loopback: `store` and `retrieve` requests per second with
//! p50/p99 latency, beside the same client against a node started with `--noop` (same process,
//! HTTP stack and runtime; the handler answers an empty 200 without looking at the request). The
//! ratio is the figure: how much of the stack's capacity the storage work leaves.
//!
//! ```text
//! cargo run --release --example loadgen [-- --connections 32 --seconds 5 --sync full --tls]
//!     [--namespace 2]
//! ```
//!
//! The nodes run with `--no-rate-limit`: one client address would otherwise be held to the live
//! limit of 300 requests a second.
//!
//! Stores go to namespace 0 (a public inbox: unsigned) unless `--namespace` names another; in a
//! namespace that is not a public inbox every store is signed as the live clients sign it
//! ([`Account::store`]), so the node checks an Ed25519 signature per store. Bodies are signed
//! before a run (on every core, not while it is measured; the rate is printed) and signed again
//! in the background every 30 s of a longer run, since a signature is good for 60 s of the
//! node's clock. Every answer that is not a 200 (and, from the real node, a store answer
//! without its `hash`) is counted in `errors` and listed, so a refused signature cannot pass
//! for throughput.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, RwLock};
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
    /// Namespace of the stores and retrieves. 0 (a public inbox) takes unsigned stores; one that
    /// is not a public inbox (`n % 10 != 0`, e.g. 2) takes only signed ones.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    namespace: i16,
}

/// How often a run signs its bodies again (a signature is good for 60 s of the node's clock,
/// `sesh_rpc::handler::SIGNATURE_TOLERANCE`).
const RESIGN: Duration = Duration::from_secs(30);

/// Makes a run's request bodies, signed at the time they are made.
type Make = Arc<dyn Fn() -> Vec<Vec<u8>> + Send + Sync>;

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
    /// Failed requests by kind: count and the first answer of that kind.
    failures: BTreeMap<String, (usize, String)>,
    /// Bodies in the pool and how long making them took (before the run).
    made: (usize, Duration),
}

/// Runs `connections` loops sending the bodies `make` makes, round-robin, for `seconds`. An
/// answer counts when it is a 200 and contains `expect` (if given).
async fn run(url: &str, make: &Make, expect: Option<&'static [u8]>, args: &Args) -> Figures {
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(args.connections)
        .build()
        .unwrap_or_default();
    let url = format!("{url}/storage_rpc/v1");
    let t = Instant::now();
    let first = tokio::task::spawn_blocking({
        let make = make.clone();
        move || make()
    })
    .await
    .unwrap_or_default();
    let made = (first.len(), t.elapsed());
    let pool = Arc::new(RwLock::new(Arc::new(first)));
    // Signatures go stale after 60 s: a longer run swaps in freshly signed bodies.
    let resign = tokio::spawn({
        let (pool, make) = (pool.clone(), make.clone());
        async move {
            loop {
                tokio::time::sleep(RESIGN).await;
                let make = make.clone();
                if let Ok(fresh) = tokio::task::spawn_blocking(move || make()).await
                    && let Ok(mut current) = pool.write()
                {
                    *current = Arc::new(fresh);
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..args.connections {
        let (http, url, pool) = (http.clone(), url.clone(), pool.clone());
        let stride = args.connections;
        tasks.spawn(async move {
            let (mut latencies, mut failures, mut i) = (Vec::new(), BTreeMap::new(), c);
            let mut fail = |kind: String, sample: String| {
                failures.entry(kind).or_insert((0, sample)).0 += 1;
            };
            while Instant::now() < deadline {
                let bodies = match pool.read() {
                    Ok(p) => p.clone(),
                    Err(_) => break,
                };
                let Some(body) = bodies.get(i % bodies.len()) else { break };
                i += stride;
                let t = Instant::now();
                match http.post(&url).body(body.clone()).send().await {
                    Ok(r) if r.status() == 200 => match r.bytes().await {
                        Ok(b) if expect.is_none_or(|e| b.windows(e.len()).any(|w| w == e)) => {
                            latencies.push(t.elapsed());
                        }
                        Ok(b) => fail(
                            "200 without the expected field".into(),
                            String::from_utf8_lossy(&b).chars().take(120).collect(),
                        ),
                        Err(e) => fail("body not read".into(), e.to_string()),
                    },
                    Ok(r) => {
                        let kind = format!("HTTP {}", r.status().as_u16());
                        let text = r.text().await.unwrap_or_default();
                        fail(kind, text.chars().take(120).collect());
                    }
                    Err(e) => fail("not sent".into(), e.to_string()),
                }
            }
            (latencies, failures)
        });
    }
    let (mut all, mut failures) = (Vec::new(), BTreeMap::<String, (usize, String)>::new());
    while let Some(Ok((l, f))) = tasks.join_next().await {
        all.extend(l);
        for (kind, (n, sample)) in f {
            failures.entry(kind).or_insert((0, sample)).0 += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    resign.abort();
    all.sort_unstable();
    let pct = |p: usize| {
        all.get((all.len() * p / 100).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    let errors = failures.values().map(|(n, _)| n).sum();
    Figures { rate: all.len() as f64 / elapsed, p50: pct(50), p99: pct(99), errors, failures, made }
}

/// `n` store bodies from `people` (round-robin) to `namespace`, made (and signed, where the
/// namespace needs it) on every core.
fn store_bodies(people: &[Identity], n: usize, namespace: Namespace) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let accounts: Vec<Account<'_>> = people.iter().map(Account::session).collect();
                    (t * per..((t + 1) * per).min(n))
                        .map(|i| {
                            let account = accounts.get(i % accounts.len()).map(|a| {
                                a.store(
                                    namespace,
                                    format!(
                                        "load message {i:08} padded to a typical size: {}",
                                        "x".repeat(400)
                                    )
                                    .as_bytes(),
                                    now_ms(),
                                    3_600_000,
                                )
                            });
                            json!({"method": "store", "params": account}).to_string().into_bytes()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    })
}

fn retrieve_bodies(people: &[Identity], namespace: Namespace) -> Vec<Vec<u8>> {
    people
        .iter()
        .map(|p| {
            let params = Account::session(p).retrieve(namespace, now_ms(), None);
            json!({"method": "retrieve", "params": params}).to_string().into_bytes()
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

    let namespace = Namespace(args.namespace);
    let signed = !namespace.is_public_inbox();
    let people: Arc<Vec<Identity>> =
        Arc::new((0..64).map(|_| Identity::generate(&mut OsRng)).collect());
    // Retrieves read accounts with ten messages each, in both nodes.
    let readers: Arc<Vec<Identity>> =
        Arc::new((0..64).map(|_| Identity::generate(&mut OsRng)).collect());
    for target in [&node, &noop] {
        for body in store_bodies(&readers, 640, namespace) {
            let r = http
                .post(format!("{}/storage_rpc/v1", target.url))
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status() != reqwest::StatusCode::OK {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                return Err(format!("seeding the retrieve accounts: {status} {text}"));
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
        "namespace {namespace}: stores {}, retrieves signed",
        if signed { "signed (the node verifies each)" } else { "unsigned (public inbox)" }
    );
    println!(
        "{:<10} {:<8} {:>10} {:>10} {:>10} {:>7}",
        "request", "handler", "req/s", "p50", "p99", "errors"
    );
    let mut signing = None;
    for op in ["store", "retrieve"] {
        let make: Make = if op == "store" {
            let people = people.clone();
            Arc::new(move || store_bodies(&people, 60_000, namespace))
        } else {
            let readers = readers.clone();
            Arc::new(move || retrieve_bodies(&readers, namespace))
        };
        let mut rates = Vec::new();
        for (name, target) in [("node", &node), ("no-op", &noop)] {
            // The no-op handler answers an empty body; the node's store answer names its hash.
            let expect = (name == "node" && op == "store").then_some(&b"\"hash\""[..]);
            let f = run(&target.url, &make, expect, &args).await;
            println!(
                "{op:<10} {name:<8} {:>10.0} {:>10} {:>10} {:>7}",
                f.rate,
                ms(f.p50),
                ms(f.p99),
                f.errors
            );
            for (kind, (n, sample)) in &f.failures {
                println!("{:<10} {:<8} {n} × {kind}: {sample}", "", "");
            }
            if op == "store" && signed && signing.is_none() {
                signing = Some(f.made);
            }
            rates.push(f.rate);
        }
        if let [real, baseline] = rates[..] {
            println!("{op:<10} {:<8} {:>10.3}   (node / no-op)", "ratio", real / baseline.max(1.0));
        }
    }
    if let Some((n, took)) = signing {
        println!(
            "client signing: {n} store bodies in {:.2} s ({:.0}/s on {} threads), made before each \
             run (and again in the background every {} s of a longer one)",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64().max(1e-9),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            RESIGN.as_secs()
        );
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
