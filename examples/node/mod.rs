//! The reference storage node: the storage RPC and onion requests of the live network over
//! HTTP(S), messages in SQLite, swarm replication and handover, and the network learned from a
//! ledger authority. See `docs/node.md`.
//!
//! ```text
//! # a ledger authority (which is also a node), plain HTTP on loopback:
//! cargo run --release --example node -- --data /tmp/n0 --listen 127.0.0.1:22100 --authority --plain-http
//! # more nodes joining it:
//! cargo run --release --example node -- --data /tmp/n1 --listen 127.0.0.1:22101 \
//!     --network http://127.0.0.1:22100 --plain-http
//! ```
//!
//! The first line on stdout is `listening on <url> node <ed25519 hex>`.

//!
//! This module is the node; `main.rs` runs it, and the testnet runs the same code (its own
//! executable, re-invoked as `testnet node …`) for each of its nodes.

pub(crate) mod app;
pub(crate) mod authority;
pub(crate) mod db;
pub(crate) mod metrics;
pub(crate) mod network;
pub(crate) mod onion;
pub(crate) mod peer;
pub(crate) mod ratelimit;
pub(crate) mod server;
pub(crate) mod swarm;
pub(crate) mod tls;

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::{Value, json};
use sesh_identity::Identity;

use crate::node::app::{App, Settings};
use crate::node::authority::Authority;
use crate::node::network::{NodeInfo, View};

/// The hard fork local networks report.
const HF: [u16; 2] = [21, 0];
/// A Session storage node.
#[derive(Debug, Parser)]
#[command(name = "node", version)]
struct Args {
    /// Data directory: the database, the TLS certificate, the key (unless --key), and the
    /// ledger if this node is the authority.
    #[arg(long)]
    data: PathBuf,
    /// The identity key file: a 64-byte libsodium Ed25519 secret key, as oxen's `key_ed25519`
    /// (made if missing). Default: `<data>/key_ed25519`.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Where to listen (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The address other nodes and clients reach this node at (default: the listen address).
    #[arg(long)]
    public_ip: Option<Ipv4Addr>,
    /// Keep the ledger and publish the network (one node of a local network does).
    #[arg(long, conflicts_with = "network")]
    authority: bool,
    /// The ledger authority's URL, e.g. `http://127.0.0.1:22100`.
    #[arg(long, required_unless_present = "authority")]
    network: Option<String>,
    /// The authority's Ed25519 key (hex): only network states it signed are accepted.
    #[arg(long)]
    authority_key: Option<String>,
    /// Serve plain HTTP instead of HTTPS (loopback addresses only).
    #[arg(long)]
    plain_http: bool,
    /// Database size cap in MiB; past it the earliest-expiring messages are dropped.
    #[arg(long, default_value_t = 3584)]
    db_size_mb: u64,
    /// Commit durability.
    #[arg(long, value_enum, default_value_t = db::Sync::Full)]
    sync: db::Sync,
    /// Authority: milliseconds between blocks.
    #[arg(long, default_value_t = 2000)]
    block_ms: u64,
    /// How often to ask the authority for the network (ms).
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// How often expired messages are removed (ms; the live server: every 10 s).
    #[arg(long, default_value_t = 10_000)]
    expiry_ms: u64,
    /// Turn the per-client rate limit off (load tests from one address).
    #[arg(long)]
    no_rate_limit: bool,
    /// Answer every storage RPC with an empty 200 without looking at it: the baseline the load
    /// generator compares the node with.
    #[arg(long)]
    noop: bool,
    /// Log JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs a node with these command-line arguments (the first is the program name).
pub(crate) fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SESH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if args.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_key(path: &std::path::Path) -> Result<Identity, String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let key: [u8; 64] = bytes
                .try_into()
                .map_err(|_| format!("{}: not a 64-byte Ed25519 secret key", path.display()))?;
            Identity::from_libsodium_secret_key(&key)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let identity = Identity::generate(&mut rand_core::OsRng);
            tls::write_private(path, identity.to_libsodium_secret_key().as_slice())?;
            tracing::info!(path = %path.display(), "made a new identity key");
            Ok(identity)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    std::fs::create_dir_all(&args.data).map_err(|e| format!("{}: {e}", args.data.display()))?;
    let identity = load_key(&args.key.clone().unwrap_or_else(|| args.data.join("key_ed25519")))?;
    let db = db::Db::open(
        &args.data.join("storage.db"),
        args.db_size_mb.saturating_mul(1 << 20),
        args.sync,
    )
    .map_err(|e| format!("opening the database: {e}"))?;

    let listener = std::net::TcpListener::bind(args.listen)
        .map_err(|e| format!("binding {}: {e}", args.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let ip = match (args.public_ip, local.ip()) {
        (Some(ip), _) => ip,
        (None, IpAddr::V4(ip)) if !ip.is_unspecified() => ip,
        _ => return Err("listening on a wildcard or IPv6 address: give --public-ip".into()),
    };
    if args.plain_http && !local.ip().is_loopback() {
        return Err(
            "--plain-http is only allowed on loopback addresses; live nodes serve HTTPS".into()
        );
    }
    let tls = !args.plain_http;
    let info = NodeInfo {
        ed25519: identity.ed25519_public_key().to_bytes(),
        x25519: identity.x25519_public_key().to_bytes(),
        ip,
        port: local.port(),
        tls,
    };
    let authority = if args.authority {
        Some(Authority::open(&args.data, HF).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let authority_key = match &args.authority_key {
        None => None,
        Some(h) => {
            let mut k = [0u8; 32];
            hex::decode_to_slice(h, &mut k).map_err(|_| "--authority-key must be 64 hex digits")?;
            Some(k)
        }
    };
    let settings = Settings { noop: args.noop, network: args.network.clone(), authority_key };
    let app = Arc::new(
        App::new(
            identity,
            info.clone(),
            db,
            args.data.join("storage.db"),
            HF,
            !args.no_rate_limit,
            authority,
            settings,
        )
        .map_err(|e| format!("making the HTTP client: {e}"))?,
    );

    let scheme = if tls { "https" } else { "http" };
    println!("listening on {scheme}://{local} node {}", app.me_hex);
    let _ = std::io::stdout().flush();
    tracing::info!(%local, node = %app.me_hex, tls, authority = args.authority, "node started");

    let handle = axum_server::Handle::new();
    let tasks = spawn_background(app.clone(), &args);
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            handle.graceful_shutdown(Some(Duration::from_secs(10)));
        });
    }
    let service = server::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = if tls {
        let config = tls::config(&args.data, local.ip()).await?;
        axum_server::from_tcp_rustls(listener, config).handle(handle).serve(service).await
    } else {
        axum_server::from_tcp(listener).handle(handle).serve(service).await
    };
    for t in tasks {
        t.abort();
    }
    served.map_err(|e| format!("serving: {e}"))?;
    // Let the database go last: every acknowledged write is already committed.
    drop(app);
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn spawn_background(app: Arc<App>, args: &Args) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    // Expiry, statistics and rate limiter housekeeping.
    tasks.push(tokio::spawn({
        let app = app.clone();
        let every = Duration::from_millis(args.expiry_ms.max(100));
        async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                housekeeping(&app).await;
            }
        }
    }));
    let pending = Arc::new(AtomicBool::new(false));
    if app.authority.is_some() {
        let block = Duration::from_millis(args.block_ms.max(100));
        tasks.push(tokio::spawn(authority_loop(app, block, pending)));
    } else {
        let poll = Duration::from_millis(args.poll_ms.max(50));
        tasks.push(tokio::spawn(poll_loop(app, poll, pending)));
    }
    tasks
}

async fn housekeeping(app: &Arc<App>) {
    let now = now_ms();
    let r = app
        .with_db(move |db| {
            let expired = db.clean_expired(now)?;
            let (count, bytes) = db.stats()?;
            Ok::<_, rusqlite::Error>((expired, count, bytes, db.size()?, db.evicted))
        })
        .await;
    match r {
        Ok(Ok((expired, count, bytes, size, evicted))) => {
            let m = &app.metrics;
            m.expired.inc_by(expired as u64);
            m.stored_messages.set(count);
            m.stored_bytes.set(bytes);
            m.db_bytes.set(size);
            m.evicted.set(i64::try_from(evicted).unwrap_or(i64::MAX));
            if expired > 0 {
                tracing::info!(expired, "removed expired messages");
            }
        }
        Ok(Err(e)) => tracing::error!(error = %e, "expiry sweep failed"),
        Err(_) => {}
    }
    if let Some(limiter) = &app.limiter
        && let Ok(mut l) = limiter.lock()
    {
        l.clean(std::time::Instant::now());
    }
}

/// The join request body.
fn join_body(app: &App) -> Result<Vec<u8>, String> {
    let register = authority::register_tx(&app.identity).map_err(|e| e.to_string())?;
    Ok(json!({
        "register": hex::encode(register.to_bytes()),
        "ip": app.info.ip.to_string(),
        "port": app.info.port,
        "tls": app.info.tls,
    })
    .to_string()
    .into_bytes())
}

/// Takes a new view of the network; starts a handover if this node's swarm changed.
fn apply_view(app: &Arc<App>, view: View, pending: &Arc<AtomicBool>) {
    app.metrics.height.set(i64::try_from(view.height).unwrap_or(i64::MAX));
    let old = app.set_view(view);
    let new = app.view();
    if swarm::swarm_changed(&old, &new) {
        tracing::info!(height = new.height, swarm = ?new.my_swarm(), peers = new.peers().len(), "swarm changed");
        start_handover(app, pending);
    }
}

fn start_handover(app: &Arc<App>, pending: &Arc<AtomicBool>) {
    let (app, pending) = (app.clone(), pending.clone());
    tokio::spawn(async move {
        let left_over = swarm::handover(&app).await;
        if left_over {
            pending.store(true, Ordering::SeqCst);
        }
    });
}

/// The authority: joins itself, makes blocks, and takes each state as its view.
async fn authority_loop(app: Arc<App>, block: Duration, pending: Arc<AtomicBool>) {
    let Some(authority) = &app.authority else { return };
    match join_body(&app) {
        Ok(body) => {
            if let Err(e) = authority.lock().await.join(app.me, &body) {
                tracing::error!(error = %e, "the authority could not register itself");
            }
        }
        Err(e) => tracing::error!(error = %e, "making the registration failed"),
    }
    let mut tick = tokio::time::interval(block);
    let mut retry = 0u32;
    loop {
        tick.tick().await;
        let state = {
            let mut a = authority.lock().await;
            if let Err(e) = a.block() {
                tracing::error!(error = %e, "making a block failed");
            }
            a.state()
        };
        match View::from_json(app.me, &state) {
            Ok(view) => apply_view(&app, view, &pending),
            Err(e) => tracing::error!(error = %e, "the authority's own state does not parse"),
        }
        retry_handover(&app, &pending, &mut retry);
    }
}

/// Re-runs a handover that left work undone, every tenth tick.
fn retry_handover(app: &Arc<App>, pending: &Arc<AtomicBool>, ticks: &mut u32) {
    if pending.load(Ordering::SeqCst) {
        *ticks += 1;
        if *ticks >= 10 {
            *ticks = 0;
            pending.store(false, Ordering::SeqCst);
            start_handover(app, pending);
        }
    }
}

/// Other nodes: join the authority, then poll its state.
async fn poll_loop(app: Arc<App>, poll: Duration, pending: Arc<AtomicBool>) {
    let Some(base) = app.settings.network.clone() else { return };
    let base = base.trim_end_matches('/').to_owned();
    let mut tick = tokio::time::interval(poll);
    let mut last_state: Option<Vec<u8>> = None;
    let mut retry = 0u32;
    loop {
        tick.tick().await;
        let state = match fetch_state(&app, &base).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "could not get the network state");
                continue;
            }
        };
        if last_state.as_deref() != Some(state.0.as_slice()) {
            match View::from_json(app.me, &state.1) {
                Ok(view) => {
                    let joined = view.nodes.get(&app.me) == Some(&app.info);
                    apply_view(&app, view, &pending);
                    if joined {
                        last_state = Some(state.0);
                    } else if let Err(e) = join(&app, &base).await {
                        tracing::warn!(error = %e, "joining the network failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the network state does not parse"),
            }
        }
        retry_handover(&app, &pending, &mut retry);
    }
}

async fn fetch_state(app: &App, base: &str) -> Result<(Vec<u8>, Value), String> {
    let resp = app
        .peers
        .get(format!("{base}/network/v1/state"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let headers = resp.headers().clone();
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| e.to_string())?.to_vec();
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    if let Some(pinned) = app.settings.authority_key {
        let signer = peer::verify(&headers, "/network/v1/state", now_ms(), &body)?;
        if signer != pinned {
            return Err("the network state is not signed by the pinned authority".into());
        }
    }
    let v = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok((body, v))
}

async fn join(app: &App, base: &str) -> Result<(), String> {
    let body = join_body(app)?;
    match peer::post(
        &app.peers,
        &app.identity,
        &format!("{base}/network/v1/join"),
        "/network/v1/join",
        body,
        Duration::from_secs(10),
    )
    .await
    {
        peer::Reply::Answered { status: 200, .. } => {
            tracing::info!("joined the network");
            Ok(())
        }
        peer::Reply::Answered { status, body } => {
            Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
        }
        peer::Reply::TimedOut => Err("timed out".into()),
        peer::Reply::Unreachable(e) => Err(e),
    }
}
