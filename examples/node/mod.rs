//! The reference storage node: the storage RPC and onion requests of the live network over
//! HTTP(S), messages in SQLite, swarm replication and handover, and the network learned from the
//! staking contract it follows on an EVM chain ([`chain`]: every node a follower, none of them
//! special). See `docs/node.md`.
//!
//! ```text
//! # follow the staking contract; learn the other nodes from their uptime proofs
//! cargo run --release --example node -- --data /tmp/n0 --listen 127.0.0.1:22100 --plain-http \
//!     --rpc http://127.0.0.1:8545 --contract 0x… --start-block 2 --evm-key /tmp/n0/evm_key
//! cargo run --release --example node -- --data /tmp/n1 --listen 127.0.0.1:22101 --plain-http \
//!     --rpc http://127.0.0.1:8545 --contract 0x… --start-block 2 --peer http://127.0.0.1:22100
//! ```
//!
//! The first line on stdout is `listening on <url> node <ed25519 hex>`. This module is the node's
//! IO (sockets, files, clocks, tasks); what it decides comes from `sesh-node`, `sesh-network`,
//! `sesh-chain` and `sesh-rpc`.

pub mod app;
pub mod bls;
pub mod chain;
pub mod db;
pub mod metrics;
pub mod obligations;
pub mod onion;
pub mod peer;
pub mod server;
pub mod stream;
pub mod swarm;
pub mod tls;

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum_server::tls_rustls::RustlsAcceptor;
use clap::Parser;
use sesh_identity::NodeId;
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::Duty;

use crate::node::app::App;

/// The hard fork local networks report.
pub(crate) const HF: [u16; 2] = [21, 0];

/// How often the node checks for a handover to run again (every tenth tick).
const HANDOVER_RETRY_TICK_MS: u64 = 1_000;

/// A Session storage node.
#[derive(Clone, Debug, Parser)]
#[command(name = "node", version)]
pub struct Args {
    /// Data directory: the database, the TLS certificate, the key (unless --key).
    #[arg(long)]
    pub data: PathBuf,
    /// The identity key file: a 64-byte libsodium Ed25519 secret key, as oxen's `key_ed25519`
    /// (made if missing). Default: `<data>/key_ed25519`.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Where to listen (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The address other nodes and clients reach this node at (default: the listen address).
    #[arg(long)]
    pub public_ip: Option<Ipv4Addr>,
    /// The EVM JSON-RPC endpoint (`http(s)://`) of the chain holding the staking contract, which
    /// the node follows to derive the ledger from its events, as every node does.
    #[arg(long)]
    pub rpc: String,
    /// The staking contract (`0x` and 40 hex digits).
    #[arg(long)]
    pub contract: String,
    /// The contract's deployment block (height 1 begins at the block after it).
    #[arg(long)]
    pub start_block: u64,
    /// Blocks at the chain's tip not read yet (the confirmation depth).
    #[arg(long, default_value_t = 2)]
    pub confirmations: u64,
    /// Chain blocks per sesh height.
    #[arg(long, default_value_t = 1)]
    pub blocks_per_height: u64,
    /// The most blocks asked for in one `eth_getLogs`.
    #[arg(long, default_value_t = 1_000)]
    pub max_log_range: u64,
    /// A file with a hex secp256k1 private key, the account that posts this node's quorum
    /// decisions (`submitNetworkTransaction`); without it the node never posts.
    #[arg(long)]
    pub evm_key: Option<PathBuf>,
    /// A node's URL (repeatable) to send the first uptime proof to and learn the network from;
    /// after that, addresses come from the proofs the node holds.
    #[arg(long)]
    pub peer: Vec<String>,
    /// The ledger's rules, sesh's local networks' (`local`) or the live network's (`mainnet`).
    #[arg(long, value_enum, default_value_t = Rules::Local)]
    pub params: Rules,
    /// Overrides the rules' staking requirement (atomic units) until the contract emits
    /// `StakingRequirementUpdated`.
    #[arg(long)]
    pub staking_requirement: Option<u64>,
    /// Overrides the rules' unlock delay: the heights from a confirmed exit request to the
    /// node's removal (local networks and tests; every node of a network must be given the
    /// same, or their ledgers part).
    #[arg(long)]
    pub unlock_heights: Option<u64>,
    /// Serve plain HTTP instead of HTTPS (loopback addresses only).
    #[arg(long)]
    pub plain_http: bool,
    /// Database size cap in MiB; past it the earliest-expiring messages are dropped.
    #[arg(long, default_value_t = 3584)]
    pub db_size_mb: u64,
    /// Commit durability.
    #[arg(long, value_enum, default_value_t = db::Sync::Full)]
    pub sync: db::Sync,
    /// The sesh height time in ms (blocks per height × the chain's block time), which the proof
    /// frequency, tests and vote timings scale with.
    #[arg(long, default_value_t = 2000)]
    pub block_ms: u64,
    /// How often expired messages are removed (ms; the live server: every 10 s).
    #[arg(long, default_value_t = 10_000)]
    pub expiry_ms: u64,
    /// Let onion requests relay to loopback and private addresses (a local network whose servers
    /// are on this machine); live nodes relay to public servers only.
    #[arg(long)]
    pub allow_private_destinations: bool,
    /// How often swarm members reconcile what they hold (ms): a full handover run, pushing what
    /// this node should not hold and fetching what its swarm peers hold for its swarm.
    #[arg(long, default_value_t = 600_000)]
    pub reconcile_ms: u64,
    /// Turn the per-client rate limit off (load tests from one address).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Answer every storage RPC with an empty 200 without looking at it: the baseline the load
    /// generator compares the node with.
    #[arg(long)]
    pub noop: bool,
    /// Log JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
    /// Also answer `POST /json_rpc` over plain HTTP on this address, as live seeds do for
    /// clients that only speak `http://` to a seed.
    #[arg(long)]
    pub seed_http: Option<SocketAddr>,
    /// Most nodes tested a block (pings and storage tests of the obligations quorums' workers
    /// this node votes on, retests, a random node); 0 tests nobody.
    #[arg(long, default_value_t = 8)]
    pub tests_per_block: usize,
    /// A testnet fault: acknowledge every store and keep nothing.
    #[arg(long, hide = true)]
    pub fault_amnesia: bool,
    /// A testnet fault: refuse every request from other nodes (clients are still served).
    #[arg(long, hide = true)]
    pub fault_unreachable: bool,
    /// Connection caps (`--max-connections`, `--max-connections-per-address`) and timeouts.
    #[command(flatten)]
    pub limits: crate::http::Limits,
}

/// The ledger's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Rules {
    /// `sesh_node::keeper::params()`: 100 SESH per node, a local network's timings.
    Local,
    /// `Params::session_mainnet()`: 25,000 SESH per node.
    Mainnet,
}

impl Args {
    /// The ledger's rules: `--params`, with `--staking-requirement`.
    pub fn ledger_params(&self) -> sesh_staking::Params {
        let mut params = match self.params {
            Rules::Local => sesh_node::keeper::params(),
            Rules::Mainnet => sesh_staking::Params::session_mainnet(),
        };
        if let Some(requirement) = self.staking_requirement {
            params.staking_requirement = requirement;
        }
        if let Some(heights) = self.unlock_heights {
            params.unlock_blocks = heights;
        }
        params
    }

    /// What the node follows.
    ///
    /// # Errors
    /// What is wrong with the settings.
    pub fn chain(&self) -> Result<chain::Settings, String> {
        let text = self.contract.as_str();
        let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text))
            .map_err(|e| format!("--contract {text:?}: {e}"))?;
        let contract = sesh_chain::EvmAddress(
            bytes.try_into().map_err(|_| format!("--contract {text:?}: not 20 bytes"))?,
        );
        let config = sesh_chain::follow::Config {
            contract,
            start_block: self.start_block,
            confirmations: self.confirmations,
            blocks_per_height: self.blocks_per_height,
            max_log_range: self.max_log_range,
            seeds: sesh_chain::follow::Seeds::EveryHeight,
        };
        sesh_chain::follow::Follower::new(config.clone()).map_err(|e| e.to_string())?;
        Ok(chain::Settings {
            rpc: self.rpc.clone(),
            contract,
            config,
            height_ms: self.block_ms.max(1),
            params: self.ledger_params(),
        })
    }
}

/// Runs a node with these command-line arguments (the first is the program name).
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
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
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))
        .and_then(|rt| rt.block_on(run(args)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    std::fs::create_dir_all(&args.data).map_err(|e| format!("{}: {e}", args.data.display()))?;
    let identity =
        crate::files::node_key(&args.key.clone().unwrap_or_else(|| args.data.join("key_ed25519")))?;
    let db_path = args.data.join("storage.db");
    let mut db = db::Db::open(&db_path, args.db_size_mb.saturating_mul(1 << 20), args.sync)
        .map_err(|e| format!("opening the database: {e}"))?;
    db.amnesia = args.fault_amnesia;

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
    let info = NodeRecord {
        id: NodeId::from_identity(&identity),
        x25519: *identity.x25519_public_key(),
        ip,
        port: local.port(),
        tls,
    };
    let following = Arc::new(chain::Following::new(args.chain()?, args.evm_key.as_deref())?);
    let app = Arc::new(
        App::new(identity, info, db, db_path, HF, following, args.clone())
            .map_err(|e| format!("making the HTTP client: {e}"))?,
    );

    let scheme = if tls { "https" } else { "http" };
    println!("listening on {scheme}://{local} node {}", app.me);
    let _ = std::io::stdout().flush();
    tracing::info!(%local, node = %app.me, tls, "node started");

    let handle = axum_server::Handle::new();
    let mut tasks = spawn_background(&app, &args);
    if let Some(addr) = args.seed_http {
        let seed = std::net::TcpListener::bind(addr).map_err(|e| format!("binding {addr}: {e}"))?;
        seed.set_nonblocking(true).map_err(|e| e.to_string())?;
        println!("json_rpc on http://{}/json_rpc", seed.local_addr().map_err(|e| e.to_string())?);
        let service = args.limits.guard(server::seed_router(app.clone()));
        let service = service.into_make_service_with_connect_info::<SocketAddr>();
        let server = crate::http::defended(seed, handle.clone()).acceptor(args.limits.acceptor());
        let serve = async move { server.serve(service).await.map_err(|e| tracing::error!(%e)) };
        tasks.push(tokio::spawn(async move { serve.await.unwrap_or_default() }));
    }
    tokio::spawn({
        let handle = handle.clone();
        async move {
            crate::shutdown_signal().await;
            tracing::info!("shutting down");
            handle.graceful_shutdown(Some(Duration::from_secs(10)));
        }
    });
    let service = args.limits.guard(server::router(app.clone()));
    let service = service.into_make_service_with_connect_info::<SocketAddr>();
    let (server, limited) = (crate::http::defended(listener, handle), args.limits.acceptor());
    let served = if tls {
        let config = tls::config(&args.data, local.ip()).await?;
        server.acceptor(RustlsAcceptor::new(config).acceptor(limited)).serve(service).await
    } else {
        server.acceptor(limited).serve(service).await
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

fn spawn_background(app: &Arc<App>, args: &Args) -> Vec<tokio::task::JoinHandle<()>> {
    let every = |ms: u64, floor: u64| tokio::time::interval(Duration::from_millis(ms.max(floor)));
    let mut housekeeping = every(args.expiry_ms, 100);
    let mut tick = every(HANDOVER_RETRY_TICK_MS, 50);
    let mut reconcile = every(args.reconcile_ms, 100);
    let (app1, app2, app3) = (app.clone(), app.clone(), app.clone());
    let pending = Arc::new(AtomicBool::new(false));
    let pending3 = pending.clone();
    vec![
        tokio::spawn(chain::run(app.clone(), pending.clone())),
        tokio::spawn(async move {
            loop {
                housekeeping.tick().await;
                app1.housekeeping().await;
            }
        }),
        // A handover that left work undone runs again, every tenth tick.
        tokio::spawn(async move {
            let mut retry = 0u32;
            loop {
                tick.tick().await;
                if pending.load(Ordering::SeqCst) {
                    retry += 1;
                    if retry >= 10 {
                        retry = 0;
                        pending.store(false, Ordering::SeqCst);
                        start_handover(&app2, &pending);
                    }
                }
            }
        }),
        // Reconciliation: the handover run again now and then, so that a message one member
        // committed but did not forward (it died first) reaches every member.
        tokio::spawn(async move {
            reconcile.tick().await;
            loop {
                reconcile.tick().await;
                start_handover(&app3, &pending3);
            }
        }),
    ]
}

/// Takes a new state of the network; starts a handover if this node's swarm changed.
pub(crate) fn apply_state(app: &Arc<App>, state: NetworkState, pending: &Arc<AtomicBool>) {
    app.metrics.height.set(i64::try_from(state.height).unwrap_or(i64::MAX));
    let old = app.set_state(state);
    let new = app.state();
    if new.height > old.height {
        tokio::spawn(obligations::on_block(app.clone(), new.clone()));
    }
    if sesh_node::handover::swarm_changed(&old, &new, &app.me) {
        let duty = Duty::new(&new, app.me);
        tracing::info!(height = new.height, swarm = ?duty.swarm(), peers = duty.peers().len(), "swarm changed");
        start_handover(app, pending);
    }
}

fn start_handover(app: &Arc<App>, pending: &Arc<AtomicBool>) {
    let (app, pending) = (app.clone(), pending.clone());
    tokio::spawn(async move {
        if swarm::handover(&app).await {
            pending.store(true, Ordering::SeqCst);
        }
    });
}
