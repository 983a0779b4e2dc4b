//! The staking ledger of a contract, for anyone to read: follows a `ServiceNodeRewards`-shaped
//! staking contract over JSON-RPC from its deployment block to the confirmed tip, derives the
//! `sesh-staking` ledger from its events exactly as every sesh follower does, and prints it: the
//! nodes with operator, contributors and stakes, fee, state, and the state hash at the followed
//! height. Nodes the contract's owner seeded (`NewSeededServiceNode`, the live launch's import
//! of the Oxen chain's nodes) are listed like the others, with `"seeded": true` (their stakes
//! read with `serviceNodes(id)` at the seeding block). See `docs/ledger.md`.
//!
//! ```text
//! cargo run --release --example ledger -- --rpc <url> --contract <0x address>
//!     [--start-block B] [--confirmations D] [--blocks-per-height N] [--max-log-range R]
//!     [--params mainnet|local] [--staking-requirement ATOMIC] [--json]
//! ```
//!
//! Progress lines and warnings go to stderr (`SESH_LOG` filters them, e.g. `SESH_LOG=warn`);
//! the ledger to stdout.
#![allow(clippy::disallowed_methods)]

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use sesh_chain::EvmAddress;
use sesh_chain::follow::{Config, Seeds, Skipped};
use sesh_examples::follow::{Driver, LedgerSink, Options, Rpc};
use sesh_staking::{Address, BlsKey, Node, NodeStatus, Params, RemovalReason};

/// Reads a staking contract's ledger off an EVM chain.
#[derive(Debug, Parser)]
#[command(name = "ledger", about)]
struct Args {
    /// The chain's JSON-RPC endpoint (`http://` or `https://`).
    #[arg(long)]
    rpc: String,
    /// The staking contract (`0x` and 40 hex digits).
    #[arg(long)]
    contract: String,
    /// The contract's deployment block (height 1 begins at the block after it). Found by
    /// binary search over `eth_getCode` when not given (the endpoint must answer for old
    /// blocks).
    #[arg(long)]
    start_block: Option<u64>,
    /// Blocks at the tip not read yet (the confirmation depth).
    #[arg(long, default_value_t = 20)]
    confirmations: u64,
    /// Chain blocks per sesh height (480 on Arbitrum One: 2 minutes of 0.25 s blocks).
    #[arg(long, default_value_t = 1)]
    blocks_per_height: u64,
    /// The most blocks asked for in one `eth_getLogs` (halved while the endpoint refuses).
    #[arg(long, default_value_t = 10_000)]
    max_log_range: u64,
    /// The ledger's rules: the live network's (`mainnet`) or sesh's local networks' (`local`,
    /// `sesh_node::keeper::params()`).
    #[arg(long, value_enum, default_value_t = Rules::Mainnet)]
    params: Rules,
    /// Overrides the rules' staking requirement (atomic units, 9 decimals) until the contract
    /// emits `StakingRequirementUpdated`.
    #[arg(long)]
    staking_requirement: Option<u64>,
    /// Seconds before one JSON-RPC request is given up (and retried).
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Give up after this many failed requests in a row (default: retry for ever).
    #[arg(long)]
    give_up_after: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Rules {
    /// `Params::session_mainnet()`: 25,000 SESH per node.
    Mainnet,
    /// `sesh_node::keeper::params()`: sesh's local networks.
    Local,
}

fn parse_address(text: &str) -> Result<EvmAddress, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits).map_err(|e| format!("--contract {text:?}: {e}"))?;
    bytes.try_into().map(EvmAddress).map_err(|_| format!("--contract {text:?}: not 20 bytes"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SESH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledger: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let contract = parse_address(&args.contract)?;
    let mut params = match args.params {
        Rules::Mainnet => Params::session_mainnet(),
        Rules::Local => sesh_node::keeper::params(),
    };
    if let Some(requirement) = args.staking_requirement {
        params.staking_requirement = requirement;
    }
    let rpc =
        Rpc::new(&args.rpc, Duration::from_secs(args.timeout.max(1))).map_err(|e| e.to_string())?;
    let chain_id = retrying(args, "eth_chainId", || rpc.chain_id()).await?;
    let start_block = match args.start_block {
        Some(block) => block,
        None => {
            tracing::info!(
                "finding {contract}'s deployment block (binary search over eth_getCode)"
            );
            let block =
                retrying(args, "the deployment block", || rpc.deployment_block(contract)).await?;
            tracing::info!("{contract} was deployed in block {block}");
            block
        }
    };
    let config = Config {
        contract,
        start_block,
        confirmations: args.confirmations,
        blocks_per_height: args.blocks_per_height,
        max_log_range: args.max_log_range,
        seeds: Seeds::WithLogs,
    };
    let options = Options { max_failures: args.give_up_after, ..Options::default() };
    let mut driver = Driver::new(rpc, config, options).map_err(|e| e.to_string())?;
    let mut sink = LedgerSink::new(params);
    driver.catch_up(&mut sink).await.map_err(|e| e.to_string())?;

    let followed_block = driver.follower().applied_block();
    let report = Report { chain_id, contract, start_block, followed_block, sink: &sink };
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// Retries a call made before the driver runs (it retries its own), with the driver's backoff.
async fn retrying<T, F, Fut>(args: &Args, what: &str, mut call: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sesh_examples::follow::FollowError>>,
{
    let defaults = Options::default();
    let mut pause = defaults.backoff_min;
    let mut failures = 0u32;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(e @ sesh_examples::follow::FollowError::NoContract { .. }) => {
                return Err(e.to_string());
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(failures, "{what}: {e}");
                if args.give_up_after.is_some_and(|max| failures >= max) {
                    return Err(format!("{what}: gave up after {failures} failures: {e}"));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(defaults.backoff_max);
            }
        }
    }
}

struct Report<'a> {
    chain_id: u64,
    contract: EvmAddress,
    start_block: u64,
    followed_block: u64,
    sink: &'a LedgerSink,
}

/// An account: `0x` and 40 hex digits for an EVM account, else the 32 bytes in hex.
fn account(address: &Address) -> String {
    address
        .evm()
        .map_or_else(|| hex::encode(address.as_bytes()), |evm| format!("0x{}", hex::encode(evm)))
}

fn state(node: &Node) -> &'static str {
    match node.status() {
        NodeStatus::AwaitingContributions => "awaiting_contributions",
        NodeStatus::Active => "active",
        NodeStatus::ExitRequested => "exit_requested",
        NodeStatus::Decommissioned => "decommissioned",
        NodeStatus::Removed => "removed",
        NodeStatus::Liquidated => "liquidated",
    }
}

fn node_json(node: &Node, seeded: bool) -> Value {
    let contributors: Vec<Value> = node
        .contributors()
        .iter()
        .map(|c| {
            json!({
                "address": account(&c.address),
                "beneficiary": account(&c.beneficiary),
                "stake": c.amount.to_string(),
            })
        })
        .collect();
    let removal = node.removal().map(|(reason, at, liquidation_height)| {
        json!({
            "reason": match reason {
                RemovalReason::Exited => "exited",
                RemovalReason::Deregistered => "deregistered",
            },
            "height": at,
            "liquidation_height": liquidation_height,
        })
    });
    json!({
        "bls_key": format!("0x{}", node.bls_key()),
        "pubkey_ed25519": node.id().to_string(),
        "operator": account(&node.operator()),
        "stake": node.total_contributed().to_string(),
        "staking_requirement": node.staking_requirement().to_string(),
        "fee_bp": node.fee_bp(),
        "seeded": seeded,
        "state": state(node),
        "registration_height": node.registration_height(),
        "requested_unlock_height": node.requested_unlock_height(),
        "removal": removal,
        "contributors": contributors,
    })
}

impl Report<'_> {
    /// Whether the node with `key` came from `NewSeededServiceNode` (while the contract holds
    /// it).
    fn seeded(&self, key: &BlsKey) -> bool {
        let applier = &self.sink.applier;
        applier.ids().any(|(id, k)| k == key && applier.is_seeded(id))
    }

    fn json(&self) -> Value {
        let ledger = &self.sink.ledger;
        let skipped: Vec<Value> = self
            .sink
            .skipped
            .iter()
            .map(|(at, why)| {
                let why = match why {
                    Skipped::Ignored(name) => format!("ignored: {name}"),
                    Skipped::Refused(e) => e.to_string(),
                };
                json!({"block": at.block, "index": at.index, "why": why})
            })
            .collect();
        let refused: Vec<Value> = self
            .sink
            .refused
            .iter()
            .map(|(height, e)| json!({"height": height, "why": e.to_string()}))
            .collect();
        json!({
            "chain_id": self.chain_id,
            "contract": self.contract.to_string(),
            "start_block": self.start_block,
            "followed_block": self.followed_block,
            "height": ledger.height(),
            "state_hash": hex::encode(ledger.state_hash()),
            "staking_requirement": ledger.params().staking_requirement.to_string(),
            "events": self.sink.events,
            "nodes": ledger
                .nodes()
                .map(|n| node_json(n, self.seeded(&n.bls_key())))
                .collect::<Vec<_>>(),
            "refused": refused,
            "skipped": skipped,
        })
    }

    fn text(&self) -> String {
        use std::fmt::Write as _;
        let ledger = &self.sink.ledger;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "contract {} on chain {}, followed blocks {}..={} (height {}, {} events)",
            self.contract,
            self.chain_id,
            self.start_block,
            self.followed_block,
            ledger.height(),
            self.sink.events
        );
        let _ = writeln!(out, "state hash {}", hex::encode(ledger.state_hash()));
        let _ = writeln!(out, "{} nodes ({} active)", ledger.nodes().len(), ledger.active_count());
        for node in ledger.nodes() {
            let unlock = node
                .requested_unlock_height()
                .map_or_else(String::new, |h| format!(", unlocks at height {h}"));
            let removal = node
                .removal()
                .map_or_else(String::new, |(r, at, _)| format!(", removed ({r:?}) at height {at}"));
            let seeded = if self.seeded(&node.bls_key()) { " (seeded)" } else { "" };
            let _ = writeln!(
                out,
                "\nnode {}{seeded}\n  bls 0x{}\n  operator {}, fee {} bp, stake {} of {}, \
                 {}{unlock}{removal}",
                node.id(),
                node.bls_key(),
                account(&node.operator()),
                node.fee_bp(),
                node.total_contributed(),
                node.staking_requirement(),
                state(node),
            );
            for c in node.contributors() {
                let _ = writeln!(
                    out,
                    "  contributor {} (rewards to {}): {}",
                    account(&c.address),
                    account(&c.beneficiary),
                    c.amount
                );
            }
        }
        if !self.sink.refused.is_empty() {
            let _ = writeln!(out, "\nrefused by the ledger:");
            for (height, e) in &self.sink.refused {
                let _ = writeln!(out, "  height {height}: {e}");
            }
        }
        if !self.sink.skipped.is_empty() {
            let _ = writeln!(out, "\nlogs not applied:");
            for (at, why) in &self.sink.skipped {
                let _ = writeln!(out, "  {at}: {why:?}");
            }
        }
        out
    }
}
