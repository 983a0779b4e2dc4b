//! Load on reference nodes over loopback, each figure beside what the same client gets from a
//! no-op handler and beside the cryptography it waits on, both measured in the same run:
//!
//! - **store**: 450-byte messages to 64 accounts, against one node;
//! - **retrieve**: signed retrieves (as live clients sign them, [`Account::retrieve`]) of
//!   accounts holding 10 messages each (stored before the runs), against the same node; a
//!   retrieve answer counts only if it holds the 10 messages;
//! - **onion relay**: onion requests (XChaCha20, as live clients build them) whose first hop is a
//!   guard node and whose destination is a second node: the guard peels its layer and relays the
//!   rest to the destination (`/onion/v1/relay`, with the guard's MAC), which peels the last
//!   layer, answers the `info` request inside and seals the answer for the client. Both are real
//!   node processes. The requests are built before the run (on every core; the rate is printed),
//!   so the client's own onion building is not measured; a pool reused round-robin when a run
//!   sends more than it holds (the node keeps no record of requests it peeled, so a repeat is
//!   served as the first was). A relayed answer counts only if its sealed reply opens with the
//!   request's keys and says 200 (checked after the run, so the client's decryption is not
//!   measured either).
//!
//! ```text
//! cargo run --release --example loadgen [-- --connections 32 --seconds 4 --sync full --tls]
//!     [--namespace 2] [--onion-pool 60000] [--bound-ms 1000]
//! ```
//!
//! Figures: `req/s` (answers that counted, per second of the run), `p50`/`p99` (their latency,
//! request sent to answer read), `errors` (everything else, listed by kind with the first
//! answer of that kind, so a refused request cannot pass for throughput), `/no-op` (req/s over
//! the same client's req/s against a node started with `--noop`: same process, HTTP stack and
//! runtime, a handler that answers an empty 200 without looking at the request; the onion
//! bodies go to its `/storage_rpc/v1`, the route it answers that way) and `/bound`:
//!
//! - the **verification bound**: Ed25519 verifications per second on one thread, of retrieve
//!   signatures signed ahead, with the node's own check (`sesh_identity`'s
//!   `Ed25519PublicKey::from_bytes` then `verify`, libsodium's rules, on the backend
//!   `sesh_identity::curve` runs, printed); a signed retrieve costs the node one such
//!   verification (and the `05` key's Ed25519 → X25519 conversion check). Stores in a public
//!   inbox (namespace 0) are unsigned and have no bound; signed stores (`--namespace 2`) are
//!   put beside the same bound.
//! - the **peel bound**: layers peeled per second on one thread with the node's own function
//!   (`sesh_onion::node::peel` with the guard's keys) over guard layers of the run's requests;
//!   a relayed request costs two peels (guard and destination) and one sealed answer.
//!
//! The bounds are each timed for `--bound-ms` while the nodes are idle. On a 2-core machine the
//! client and the nodes share the cores, so a ratio of 1 to a one-core bound is the crypto of
//! one core's worth of requests on two.
//!
//! The nodes follow a local chain (anvil with the staking contract, [`Chain`]) as every node
//! does; three are registered. The first serves the store and retrieve runs alone (the other two
//! have not started, so it knows no swarm peer and forwards nothing, and it is stopped before
//! they start, so its messages are not handed over to them); the other two make the relay. The
//! no-op node follows the same chain, unregistered. All run with `--no-rate-limit` (one client
//! address would otherwise be held to the live limit of 300 requests a second), a per-address
//! connection cap of at least `--connections` + 16, and
//! `--tests-per-block 0`; their logs are `node.log` in their data directories, removed at the
//! end.
//!
//! Stores go to namespace 0 (a public inbox: unsigned) unless `--namespace` names another; in a
//! namespace that is not a public inbox every store is signed as the live clients sign it
//! ([`Account::store`]), so the node checks an Ed25519 signature per store. Bodies are signed
//! before a run (on every core, not while it is measured; the rate is printed) and signed again
//! in the background every 30 s of a longer run, since a signature is good for 60 s of the
//! node's clock. Every answer that is not a 200 (and, from the real node, a store answer
//! without its `hash`) is counted in `errors` and listed.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use rand_core::OsRng;
use serde_json::json;
use sesh_examples::local::chain::Chain;
use sesh_examples::local::{NodeProcess, write_keys};
use sesh_identity::{Ed25519PublicKey, Identity, Signature};
use sesh_onion::node::{Action, Layer, NodeKeys};
use sesh_onion::reply::ReplyKeys;
use sesh_onion::{Destination, EncType, Hop};
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
    #[arg(long, default_value_t = 4)]
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
    /// Distinct onion requests built before the onion runs (reused round-robin past them).
    #[arg(long, default_value_t = 60_000)]
    onion_pool: usize,
    /// Milliseconds each cryptographic bound is timed for.
    #[arg(long, default_value_t = 1_000)]
    bound_ms: u64,
}

/// How often a run signs its bodies again (a signature is good for 60 s of the node's clock,
/// `sesh_rpc::handler::SIGNATURE_TOLERANCE`).
const RESIGN: Duration = Duration::from_secs(30);
/// The sesh height of the local chain the nodes follow.
const HEIGHT_MS: u64 = 1_000;
/// Messages each retrieved account holds.
const PER_ACCOUNT: usize = 10;
/// The request an onion request carries to its destination.
const ONION_PAYLOAD: &[u8] = br#"{"method":"info","params":{}}"#;

/// Makes a run's request bodies, signed at the time they are made.
type Make = Arc<dyn Fn() -> Vec<Vec<u8>> + Send + Sync>;
/// Checks a 200 answer to the body at this index of the pool: `Err(kind, sample)` to refuse it.
type Check = Arc<dyn Fn(usize, &[u8]) -> Result<(), (String, String)> + Send + Sync>;

/// What a run sends and which answers count.
struct Load {
    /// The path the bodies are posted to.
    path: &'static str,
    make: Make,
    /// Checked as each answer arrives (cheap checks), or
    check: Option<Check>,
    /// checked after the run, outside the measured time (checks that decrypt).
    after: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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

/// Requests per second and latency percentiles of one run.
struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    /// Requests sent.
    sent: usize,
    errors: usize,
    /// Failed requests by kind: count and the first answer of that kind.
    failures: BTreeMap<String, (usize, String)>,
    /// Bodies in the pool and how long making them took (before the run).
    made: (usize, Duration),
}

/// An answer to check after the run: its latency, the body's index in the pool, the answer.
type Held = (Duration, usize, Vec<u8>);

/// Runs `connections` loops sending the bodies `load` makes, round-robin, for `seconds`. An
/// answer counts when it is a 200 that `load`'s check (if any) accepts.
async fn run(url: &str, load: &Load, args: &Args) -> Figures {
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(args.connections)
        .build()
        .unwrap_or_default();
    let url = format!("{url}{}", load.path);
    let t = Instant::now();
    let first = tokio::task::spawn_blocking({
        let make = load.make.clone();
        move || make()
    })
    .await
    .unwrap_or_default();
    let made = (first.len(), t.elapsed());
    let pool = Arc::new(RwLock::new(Arc::new(first)));
    // Signatures go stale after 60 s: a longer run swaps in freshly signed bodies.
    let resign = tokio::spawn({
        let (pool, make) = (pool.clone(), load.make.clone());
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
        let (check, after) = (load.check.clone(), load.after);
        let stride = args.connections;
        tasks.spawn(async move {
            let (mut latencies, mut held, mut failures, mut sent, mut i) =
                (Vec::new(), Vec::<Held>::new(), BTreeMap::new(), 0usize, c);
            let mut fail = |kind: String, sample: String| {
                failures.entry(kind).or_insert((0, sample)).0 += 1;
            };
            while Instant::now() < deadline {
                let bodies = match pool.read() {
                    Ok(p) => p.clone(),
                    Err(_) => break,
                };
                let index = i % bodies.len().max(1);
                let Some(body) = bodies.get(index) else { break };
                i += stride;
                sent += 1;
                let t = Instant::now();
                match http.post(&url).body(body.clone()).send().await {
                    Ok(r) if r.status() == 200 => match r.bytes().await {
                        Ok(b) => match &check {
                            Some(_) if after => held.push((t.elapsed(), index, b.to_vec())),
                            Some(check) => match check(index, &b) {
                                Ok(()) => latencies.push(t.elapsed()),
                                Err((kind, sample)) => fail(kind, sample),
                            },
                            None => latencies.push(t.elapsed()),
                        },
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
            (latencies, held, failures, sent)
        });
    }
    let (mut all, mut held, mut failures, mut sent) =
        (Vec::new(), Vec::new(), BTreeMap::<String, (usize, String)>::new(), 0);
    while let Some(Ok((l, h, f, s))) = tasks.join_next().await {
        all.extend(l);
        held.extend(h);
        sent += s;
        for (kind, (n, sample)) in f {
            failures.entry(kind).or_insert((0, sample)).0 += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    resign.abort();
    // The checks that decrypt, outside the measured time.
    if let Some(check) = &load.check {
        for (latency, index, body) in held {
            match check(index, &body) {
                Ok(()) => all.push(latency),
                Err((kind, sample)) => failures.entry(kind).or_insert((0, sample)).0 += 1,
            }
        }
    }
    all.sort_unstable();
    let pct = |p: usize| {
        all.get((all.len() * p / 100).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    let errors = failures.values().map(|(n, _)| n).sum();
    Figures {
        rate: all.len() as f64 / elapsed,
        p50: pct(50),
        p99: pct(99),
        sent,
        errors,
        failures,
        made,
    }
}

/// `n` store bodies from `people` (round-robin) to `namespace`, made (and signed, where the
/// namespace needs it) on every core.
fn store_bodies(people: &[Identity], n: usize, namespace: Namespace) -> Vec<Vec<u8>> {
    let threads = threads();
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

/// Onion requests: the body sent to the guard, and the keys that open its reply.
type Onions = Vec<(Vec<u8>, ReplyKeys)>;

/// `n` onion requests through `guard` to `destination`, each with its own keys, built on every
/// core; and how long that took.
fn onion_requests(guard: Hop, destination: Hop, n: usize) -> Result<(Onions, Duration), String> {
    let t = Instant::now();
    let threads = threads();
    let per = n.div_ceil(threads);
    let built: Result<Vec<Vec<_>>, String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * per..((t + 1) * per).min(n))
                        .map(|_| {
                            sesh_onion::build(
                                &[guard],
                                &Destination::Node(destination),
                                ONION_PAYLOAD,
                                EncType::XChaCha20,
                                &mut OsRng,
                            )
                            .map(|r| (r.bytes, r.reply))
                            .map_err(|e| e.to_string())
                        })
                        .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().map_err(|_| "a builder thread panicked".to_owned())?)
            .collect()
    });
    Ok((built?.into_iter().flatten().collect(), t.elapsed()))
}

/// A cryptographic bound: operations per second on one thread.
struct Bound {
    rate: f64,
    /// Operations that did not give the expected result (a bound with any is not printed as one).
    failed: usize,
}

/// Times `op` over `items` round-robin on this thread for `window`.
fn time_bound<T>(items: &[T], window: Duration, op: impl Fn(&T) -> bool) -> Bound {
    let (mut done, mut failed) = (0usize, 0usize);
    let started = Instant::now();
    'timed: loop {
        for item in items {
            if !op(std::hint::black_box(item)) {
                failed += 1;
            }
            done += 1;
            if done % 64 == 0 && started.elapsed() >= window {
                break 'timed;
            }
        }
        if items.is_empty() {
            break;
        }
    }
    Bound { rate: done as f64 / started.elapsed().as_secs_f64().max(1e-9), failed }
}

/// The verification bound: retrieve signatures of `people` made ahead, each checked as the node
/// checks one (the key parsed, then the signature verified with libsodium's rules).
fn verify_bound(people: &[Identity], namespace: Namespace, window: Duration) -> Bound {
    let signed: Vec<([u8; 32], Vec<u8>, [u8; 64])> = people
        .iter()
        .map(|p| {
            let message = [
                &b"retrieve"[..],
                namespace.signature_part().as_bytes(),
                now_ms().to_string().as_bytes(),
            ]
            .concat();
            let signature = p.sign(&message).to_bytes();
            (p.ed25519_public_key().to_bytes(), message, signature)
        })
        .collect();
    time_bound(&signed, window, |(key, message, signature)| {
        Ed25519PublicKey::from_bytes(key)
            .is_ok_and(|k| k.verify(message, &Signature::from_bytes(signature)).is_ok())
    })
}

/// The peel bound: the guard's layers of `requests`, parsed ahead, peeled with its keys.
fn peel_bound(guard: &Identity, requests: &[Vec<u8>], window: Duration) -> Bound {
    let keys = NodeKeys { secret: guard.x25519_secret_key(), public: guard.x25519_public_key() };
    let layers: Vec<Layer> = requests.iter().filter_map(|r| Layer::from_client(r).ok()).collect();
    let mut bound = time_bound(&layers, window, |layer| {
        matches!(sesh_onion::node::peel(&keys, layer, &mut OsRng), Ok(Action::Forward { .. }))
    });
    bound.failed += requests.len() - layers.len();
    bound
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Starts a node process in `dir` with the chain's follower arguments `chain_args` and this
/// run's settings.
fn start_node(
    command: &[OsString],
    dir: &std::path::Path,
    chain_args: Vec<String>,
    args: &Args,
    own: &[&str],
) -> Result<NodeProcess, String> {
    let mut all = chain_args;
    all.extend(
        ["--no-rate-limit", "--tests-per-block", "0", "--sync", &args.sync].map(String::from),
    );
    if !args.tls {
        all.push("--plain-http".into());
    }
    // One client address opens all the connections (and a few more: the seeding client's, and
    // reqwest's while one closes): past the node's per-address cap (64) they would be refused.
    let cap = (args.connections + 16).max(sesh_node::ratelimit::MAX_CONNECTIONS_PER_ADDRESS);
    all.extend(["--max-connections-per-address".to_owned(), cap.to_string()]);
    all.extend(own.iter().map(|s| (*s).to_owned()));
    NodeProcess::start(command, dir, "127.0.0.1:0", &all)
}

/// Waits until `node` answers `info` (it follows the chain and is in a swarm).
async fn wait_ready(http: &reqwest::Client, node: &NodeProcess) -> Result<(), String> {
    let info = json!({"method": "info", "params": {}}).to_string();
    let ready = Instant::now() + Duration::from_secs(60);
    loop {
        let sent =
            http.post(format!("{}/storage_rpc/v1", node.url)).body(info.clone()).send().await;
        if sent.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        if Instant::now() > ready {
            return Err(format!(
                "the node at {} did not become ready; see {}",
                node.url,
                node.dir.join("node.log").display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One line of the figures table, and the failures under it.
fn print_run(op: &str, name: &str, f: &Figures) {
    println!(
        "{op:<12} {name:<8} {:>9.0} {:>10} {:>10} {:>9} {:>7}",
        f.rate,
        ms(f.p50),
        ms(f.p99),
        f.sent,
        f.errors
    );
    for (kind, (n, sample)) in &f.failures {
        println!("{:<12} {:<8} {n} × {kind}: {sample}", "", "");
    }
}

/// A ratio, or why there is none.
fn ratio(of: f64, to: Option<&Bound>) -> String {
    match to {
        None => "-".into(),
        Some(b) if b.failed > 0 => format!("({} failed)", b.failed),
        Some(b) => format!("{:.3}", of / b.rate.max(1.0)),
    }
}

#[allow(clippy::too_many_lines)]
async fn measure(args: Args) -> Result<(), String> {
    let base = std::env::temp_dir().join(format!("sesh-loadgen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let window = Duration::from_millis(args.bound_ms);
    let command = [node_binary()?.into_os_string()];
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;

    // The chain: three registered nodes (the store/retrieve node, the guard, the destination).
    let chain = Chain::start(3, HEIGHT_MS).await?;
    write_keys(&base, &chain.nodes)?;
    let dir = |name: &str| base.join(name);
    let chain_args = |i: usize, name: &str| chain.node_args(i, &dir(name));
    let node = start_node(&command, &dir("node0"), chain_args(0, "node0")?, &args, &[])?;
    // The no-op node follows the same chain, unregistered and without an EVM key.
    std::fs::create_dir_all(dir("noop")).map_err(|e| e.to_string())?;
    let mut noop_args = chain_args(0, "noop")?;
    if let Some(at) = noop_args.iter().position(|a| a == "--evm-key") {
        noop_args.drain(at..(at + 2).min(noop_args.len()));
    }
    let noop = start_node(&command, &dir("noop"), noop_args, &args, &["--noop"])?;
    wait_ready(&http, &node).await?;

    let namespace = Namespace(args.namespace);
    let signed = !namespace.is_public_inbox();
    let people: Arc<Vec<Identity>> =
        Arc::new((0..64).map(|_| Identity::generate(&mut OsRng)).collect());
    // Retrieves read accounts with ten messages each, in both nodes.
    let readers: Arc<Vec<Identity>> =
        Arc::new((0..64).map(|_| Identity::generate(&mut OsRng)).collect());
    for target in [&node, &noop] {
        for body in store_bodies(&readers, readers.len() * PER_ACCOUNT, namespace) {
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
        "nodes on loopback ({}), {} connections, {} s per run, sync={}; {} cores; chain set up \
         in {:.1} s",
        if args.tls { "HTTPS" } else { "plain HTTP" },
        args.connections,
        args.seconds,
        args.sync,
        threads(),
        chain.setup.as_secs_f64()
    );
    println!(
        "namespace {namespace}: stores {}, retrieves signed ({PER_ACCOUNT} messages each)",
        if signed { "signed (the node verifies each)" } else { "unsigned (public inbox)" }
    );
    let verify = tokio::task::spawn_blocking({
        let readers = readers.clone();
        move || verify_bound(&readers, namespace, window)
    })
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "{:<12} {:<8} {:>9} {:>10} {:>10} {:>9} {:>7}",
        "request", "handler", "req/s", "p50", "p99", "sent", "errors"
    );
    let mut signing = None;
    let mut rates: Vec<(&str, f64, f64, Option<&Bound>)> = Vec::new();
    for op in ["store", "retrieve"] {
        let load = if op == "store" {
            let people = people.clone();
            let make: Make = Arc::new(move || store_bodies(&people, 60_000, namespace));
            let check: Check = Arc::new(|_, b: &[u8]| {
                if b.windows(6).any(|w| w == b"\"hash\"") {
                    Ok(())
                } else {
                    Err(("200 without the hash".into(), sample(b)))
                }
            });
            Load { path: "/storage_rpc/v1", make, check: Some(check), after: false }
        } else {
            let readers = readers.clone();
            let make: Make = Arc::new(move || retrieve_bodies(&readers, namespace));
            // memchr's SIMD search: the check is the client's work, inside the measured window.
            let check: Check = Arc::new(|_, b: &[u8]| {
                let n = memchr::memmem::find_iter(b, b"\"hash\":").count();
                if n == PER_ACCOUNT {
                    Ok(())
                } else {
                    Err((format!("200 with {n} messages, not {PER_ACCOUNT}"), sample(b)))
                }
            });
            Load { path: "/storage_rpc/v1", make, check: Some(check), after: false }
        };
        let real = run(&node.url, &load, &args).await;
        print_run(op, "node", &real);
        // The no-op handler answers an empty body: every 200 counts.
        let baseline = run(&noop.url, &Load { check: None, ..load }, &args).await;
        print_run(op, "no-op", &baseline);
        if op == "store" && signed {
            signing = Some(real.made);
        }
        let bound = (op == "retrieve" || signed).then_some(&verify);
        rates.push((op, real.rate, baseline.rate, bound));
    }
    // The store/retrieve node goes before the relay's nodes start (see the module docs).
    drop(node);

    // The relay: the guard (node 1) and the destination (node 2), which tells the guard where
    // it is with its uptime proof.
    let guard_id = chain.nodes.get(1).ok_or("no guard")?;
    let dest_id = chain.nodes.get(2).ok_or("no destination")?;
    let guard = start_node(&command, &dir("node1"), chain_args(1, "node1")?, &args, &[])?;
    let dest_args = chain_args(2, "node2")?;
    let dest = start_node(&command, &dir("node2"), dest_args, &args, &["--peer", &guard.url])?;
    wait_ready(&http, &guard).await?;
    wait_ready(&http, &dest).await?;
    let hop =
        |id: &Identity| Hop::from_ed25519(*id.ed25519_public_key()).map_err(|e| e.to_string());
    let (guard_hop, dest_hop) = (hop(guard_id)?, hop(dest_id)?);
    let pool_size = args.onion_pool.max(1);
    let (built, took) =
        tokio::task::spawn_blocking(move || onion_requests(guard_hop, dest_hop, pool_size))
            .await
            .map_err(|e| e.to_string())??;
    let (bodies, replies): (Vec<Vec<u8>>, Vec<ReplyKeys>) = built.into_iter().unzip();
    let (bodies, replies) = (Arc::new(bodies), Arc::new(replies));
    // Until the guard knows the destination's address, it refuses: wait for one relayed answer.
    let probe = bodies.first().zip(replies.first()).ok_or("no onion requests")?;
    let ready = Instant::now() + Duration::from_secs(60);
    loop {
        let sent = http.post(format!("{}/onion_req/v2", guard.url)).body(probe.0.clone()).send();
        let last = match sent.await {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.bytes().await.unwrap_or_default();
                match probe.1.read_v3(status, &body) {
                    Ok(_) => break,
                    Err(e) => format!("{status}: {e}"),
                }
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() > ready {
            return Err(format!("the guard did not relay to the destination: {last}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let peel = tokio::task::spawn_blocking({
        let (guard_id, bodies) = (guard_id.clone(), bodies.clone());
        move || peel_bound(&guard_id, bodies.get(..bodies.len().min(1_000)).unwrap_or(&[]), window)
    })
    .await
    .map_err(|e| e.to_string())?;
    let make: Make = {
        let bodies = bodies.clone();
        Arc::new(move || bodies.as_ref().clone())
    };
    let check: Check = {
        let replies = replies.clone();
        Arc::new(move |index, b: &[u8]| match replies.get(index).map(|r| r.read_v3(200, b)) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(("200 whose sealed reply is not a 200".into(), e.to_string())),
            None => Err(("no keys for the request".into(), String::new())),
        })
    };
    let load = Load { path: "/onion_req/v2", make, check: Some(check), after: true };
    let real = run(&guard.url, &load, &args).await;
    print_run("onion relay", "node", &real);
    let load = Load { path: "/storage_rpc/v1", check: None, after: false, ..load };
    let baseline = run(&noop.url, &load, &args).await;
    print_run("onion relay", "no-op", &baseline);
    rates.push(("onion relay", real.rate, baseline.rate, Some(&peel)));
    let relay_sent = real.sent;

    let backend = sesh_identity::curve::active().name();
    let bound_line = |name: &str, b: &Bound, what: &str| {
        let failed = if b.failed > 0 { format!(", {} FAILED", b.failed) } else { String::new() };
        println!(
            "bound: {name} {:.0}/s ({:.1} µs each) on one thread, {what}{failed}",
            b.rate,
            1e6 / b.rate.max(1e-9)
        );
    };
    bound_line("Ed25519 verifications", &verify, &format!("the node's check ({backend})"));
    bound_line("onion layer peels", &peel, "sesh_onion::node::peel with the guard's keys");
    println!("{:<12} {:>9} {:>9} {:>9}", "request", "req/s", "/no-op", "/bound");
    for (op, real, baseline, bound) in &rates {
        println!(
            "{op:<12} {real:>9.0} {:>9.3} {:>9}",
            real / baseline.max(1.0),
            ratio(*real, *bound)
        );
    }
    if let Some((_, real, _, _)) = rates.iter().find(|(op, ..)| *op == "onion relay") {
        println!(
            "onion relay: each request is peeled twice (guard, destination), so its own crypto \
             allows {:.0} relays/s on one core; the relay ran at {:.3} of that (/bound above is \
             against one peel)",
            peel.rate / 2.0,
            real / (peel.rate / 2.0).max(1e-9)
        );
    }
    println!(
        "onion requests: {} distinct built in {:.2} s ({:.0}/s on {} threads) before the runs; \
         the relay run sent {relay_sent}{}",
        bodies.len(),
        took.as_secs_f64(),
        bodies.len() as f64 / took.as_secs_f64().max(1e-9),
        threads(),
        if relay_sent > bodies.len() { ", so some were sent again" } else { "" }
    );
    if let Some((n, took)) = signing {
        println!(
            "client signing: {n} store bodies in {:.2} s ({:.0}/s on {} threads), made before each \
             run (and again in the background every {} s of a longer one)",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64().max(1e-9),
            threads(),
            RESIGN.as_secs()
        );
    }
    drop((guard, dest, noop, chain));
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}

/// The first 120 characters of an answer.
fn sample(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().take(120).collect()
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
