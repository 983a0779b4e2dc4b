//! A private Session network on this machine, shown working end to end.
//!
//! ```text
//! cargo run --release --example testnet [-- --nodes 14 --clients 6 --messages 48 --keep --json]
//! ```
//!
//! The staking ledger of record is a contract on a local chain: the testnet installs the pinned
//! chain tools on first use (a progress line on stderr), starts anvil (a block every 100 ms, a
//! sesh height every `--block-ms`), deploys sesh's token and staking contract, and stakes the
//! genesis through contract transactions (an operator per node paying its node's stake,
//! contributors, fees: [`sesh_examples::local::chain`]). It starts every node as its own process
//! on loopback (this executable, run as `testnet node …`, which runs [`sesh_examples::node`]),
//! each a follower of the contract, none special, serving HTTPS with a self-signed certificate
//! as live nodes do (`--plain-http` for plain HTTP), with its own data directory and EVM account
//! (for posting its quorums' decisions), and a seed port (oxend's `/json_rpc` on plain HTTP). It
//! sends messages between client accounts (bootstrapped from a random node's seed port) through
//! 3-hop onion paths, receives and checks them, lets heights pass so that rewards accrue, and
//! prints a report, with the chain: a height every live node has applied and how many report
//! the same state hash there. Then every operator and contributor claims what it earned through
//! the network's signature ([`sesh_examples::claims`]): at the height the rewards were read,
//! every running node signs the account's balance, the aggregate goes to the contract
//! (`updateRewardsBalance`) and the account claims (`claimRewards`); the report sets the tokens
//! that arrived in each wallet beside what `sesh-rewards` credited (equal to the atomic unit, or
//! the run fails). The contract pays claims from the reward pool's tokens, sent to it by the
//! deployer at setup ([`sesh_examples::local::chain`]). `--kill-one` (a node of the first recipient's swarm) or `--kill
//! <N>` (any node, node 0 included) also kills a node with SIGKILL halfway, keeps sending,
//! restarts it and checks what it kept. `--fault <node>:<kind>` makes a node `offline` (killed
//! halfway, not restarted), `amnesia` (it acknowledges stores and keeps nothing) or
//! `unreachable` (it serves clients and refuses every other node); the network then runs until
//! the quorums have dealt with each (deregistered, or long enough for the live rules to play
//! out), and the report shows each faulty node's states and rewards beside the honest nodes'.
//! Ctrl-C or SIGTERM stops every node and anvil. See `docs/overview.md`.

#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sesh_client::bootstrap::Seed;
use sesh_client::inbox::Inbox;
use sesh_client::paths::PATH_LENGTH;
use sesh_examples::client::{self as session, Network, Sent};
use sesh_examples::local::{self, LocalNetwork, NodeProcess, chain};
use sesh_examples::{lock, node};
use sesh_identity::{Identity, NodeId, SessionId};

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
    /// Leave the network running after the report (until Ctrl-C or SIGTERM), and print its seed
    /// (`seed: <url>`) and how to use it.
    #[arg(long)]
    keep: bool,
    /// Nodes serve plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// Kill one node (SIGKILL) halfway through, restart it at the end, and check it kept its
    /// messages: a member of the first message's recipient's swarm.
    #[arg(long)]
    kill_one: bool,
    /// As `--kill-one`, killing node `N` (any node, node 0 included).
    #[arg(long, value_name = "N", conflicts_with = "kill_one")]
    kill: Option<usize>,
    /// Make a node faulty: `<node>:offline|amnesia|unreachable`. Repeatable.
    #[arg(long, value_parser = parse_fault)]
    fault: Vec<Fault>,
    /// Most nodes each node tests a block.
    #[arg(long, default_value_t = 8)]
    tests_per_block: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A faulty node.
#[derive(Clone, Copy, Debug)]
struct Fault {
    node: usize,
    kind: FaultKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FaultKind {
    Offline,
    Amnesia,
    Unreachable,
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    let (node, kind) = s.split_once(':').ok_or("a fault is <node>:<kind>")?;
    let node = node.parse().map_err(|_| format!("{node}: not a node number"))?;
    let kind = <FaultKind as clap::ValueEnum>::from_str(kind, true)?;
    Ok(Fault { node, kind })
}

fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "node") {
        argv.remove(0);
        return node::main_with(argv);
    }
    let args = Args::parse();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(async {
                // Dropping `run` stops every node it started (`LocalNetwork`'s drop).
                tokio::select! {
                    biased;
                    r = run(&args) => r,
                    // A signal once the network is kept is the way to stop it, not an
                    // interruption (it may come before `run` listens for it itself).
                    () = sesh_examples::shutdown_signal() => match KEPT.load(Ordering::SeqCst) {
                        0 => Err("interrupted: stopped every node".to_owned()),
                        kept => Ok(kept == 1),
                    },
                }
            })
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

/// 0 while the testnet runs; once it is kept up, 1 if its run was ok, 2 if not.
static KEPT: AtomicU8 = AtomicU8::new(0);

fn bar(len: usize, what: &str, hidden: bool) -> ProgressBar {
    let pb = if hidden { ProgressBar::hidden() } else { ProgressBar::new(len as u64) };
    let style =
        ProgressStyle::with_template("{spinner} {msg:<28} [{bar:30}] {pos}/{len} {elapsed}");
    pb.set_style(style.unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
    pb.set_message(what.to_owned());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// One message the scenario sends.
#[derive(Debug, Clone)]
struct Planned {
    from: usize,
    to: usize,
    text: String,
}

/// The accounts, what they send, and when each message was sent and delivered.
struct Traffic {
    clients: Vec<Identity>,
    plan: Vec<Planned>,
    sent_at: Mutex<BTreeMap<String, Instant>>,
    delivered: Mutex<BTreeMap<String, Duration>>,
}

async fn run(args: &Args) -> Result<bool, String> {
    let started = Instant::now();
    let n = usize::from(args.nodes);
    let base = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sesh-testnet-{}", std::process::id()))
    });
    if base.exists() {
        std::fs::remove_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    }

    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let command = [exe.into_os_string(), "node".into()];
    let mut extra = vec!["--tests-per-block".to_owned(), args.tests_per_block.to_string()];
    if args.plain_http {
        extra.push("--plain-http".to_owned());
    }
    if let Some(f) = args.fault.iter().find(|f| f.node >= n) {
        return Err(format!("node {}: faults are for nodes 0 to {}", f.node, n - 1));
    }
    if let Some(k) = args.kill.filter(|k| *k >= n) {
        return Err(format!("--kill {k}: nodes 0 to {} can be killed", n - 1));
    }
    let faulty = |i: usize| args.fault.iter().any(|f| f.node == i);
    let fault_args = |i: usize| -> Vec<String> {
        let own = args.fault.iter().filter(|f| f.node == i).filter_map(|f| match f.kind {
            FaultKind::Amnesia => Some("--fault-amnesia".to_owned()),
            FaultKind::Unreachable => Some("--fault-unreachable".to_owned()),
            FaultKind::Offline => None,
        });
        own.collect()
    };
    let (mut nodes, chain) =
        start_on_chain(args, &base, &command, extra, &http, fault_args).await?;
    // The clients' seed: any node's, not a faulty one.
    let honest: Vec<usize> = (0..n).filter(|i| !faulty(*i)).collect();
    let pick = usize::try_from(rand_core::RngCore::next_u32(&mut rand_core::OsRng)).unwrap_or(0);
    let seed_node = honest.get(pick % honest.len().max(1)).copied().unwrap_or(0);
    let (network_url, seed) = (nodes.nodes.get(seed_node))
        .map(|k| (k.url.clone(), k.seed.clone()))
        .ok_or("no seed node")?;
    let seed = seed.ok_or("the seed node serves no json_rpc")?;
    // Every honest node knows every other honest one (from their uptime proofs) before clients
    // use them. Not the faulty ones: an unreachable node takes no proofs, and the others learn
    // of it only from its own, a proof period apart.
    let honest = nodes.nodes.iter().enumerate().filter(|(i, _)| !faulty(*i));
    let keys: Vec<String> = honest.clone().map(|(_, p)| p.key.to_string()).collect();
    for (_, p) in honest {
        let seed = p.seed.as_deref().ok_or("a node serves no json_rpc")?;
        wait_listed(&http, seed, &keys, Duration::from_secs(60)).await?;
    }
    let seeds = vec![Seed::parse(&seed).map_err(|e| e.to_string())?];
    let net =
        Arc::new(Network::bootstrap(seeds, !args.plain_http).await.map_err(|e| e.to_string())?);
    let name_of: BTreeMap<NodeId, usize> =
        nodes.nodes.iter().enumerate().map(|(i, p)| (p.key, i)).collect();
    let state = net.state();
    let up_after = started.elapsed();
    // Where the network's ledger is read: a running node that is not faulty (another one once
    // that node is killed).
    let reader = |nodes: &LocalNetwork| -> String {
        let mut honest =
            nodes.nodes.iter().enumerate().filter(|(i, p)| p.is_running() && !faulty(*i));
        honest.next().map(|(_, p)| p.url.clone()).unwrap_or_default()
    };
    let height_at_up = height_of(&http, &reader(&nodes)).await;
    let up_at = Instant::now();

    // Accounts, and who messages whom.
    let k = usize::from(args.clients);
    let plan = (0..args.messages)
        .map(|j| {
            let from = j % k;
            let to = (from + 1 + (j / k) % (k - 1)) % k;
            Planned { from, to, text: format!("message {j} from account {from} to account {to}") }
        })
        .collect::<Vec<_>>();
    // Account i lives in swarm i (mod the swarm count), so that every swarm stores messages and
    // each member's storage can be tested: random keys left a swarm empty one run in eight.
    let swarms = state.map().ids().as_slice();
    let clients = (0..k)
        .map(|i| {
            let want = swarms.get(i % swarms.len().max(1)).copied();
            let mut id = Identity::generate(&mut rand_core::OsRng);
            for _ in 0..10_000 {
                if state.swarm_for(&id.session_id().to_bytes()) == want {
                    break;
                }
                id = Identity::generate(&mut rand_core::OsRng);
            }
            id
        })
        .collect();
    let traffic =
        Arc::new(Traffic { clients, plan, sent_at: Mutex::default(), delivered: Mutex::default() });
    let (clients, plan) = (&traffic.clients, &traffic.plan);

    // The node to kill: the one named, or a member (not a faulty one) of the first recipient's
    // swarm.
    let victim = match (args.kill, args.kill_one, plan.first().and_then(|p| clients.get(p.to))) {
        (Some(k), _, _) => Some(k),
        (None, true, Some(to)) => state
            .members_for(&to.session_id().to_bytes())
            .iter()
            .filter_map(|m| name_of.get(&m.id).copied())
            .find(|i| !faulty(*i)),
        _ => None,
    };
    let mut fault_from = vec![0; args.fault.len()];

    // Send half, (kill), the other half; the receivers poll meanwhile.
    let pb = bar(plan.len(), "sending through onion paths", args.json);
    let mut receivers = spawn_receivers(&net, &traffic);
    let mut sent: Vec<Option<Sent>> = vec![None; plan.len()];
    let (mut send_errors, mut retried, mut resent) = (Vec::new(), 0, 0);
    let half = plan.len() / 2;
    for range in [0..half, half..plan.len()] {
        if range.start == half
            && let Some(v) = victim
            && let Some(p) = nodes.nodes.get_mut(v)
        {
            p.kill9();
            let short = p.key.to_string().chars().take(8).collect::<String>();
            pb.println(format!("killed node {v} ({short}) with SIGKILL"));
        }
        if range.start == half {
            let height = local::state_changes(&http, &reader(&nodes)).await.map_or(0, |c| c.0);
            for (f, from) in args.fault.iter().zip(fault_from.iter_mut()) {
                if f.kind == FaultKind::Offline
                    && let Some(p) = nodes.nodes.get_mut(f.node)
                {
                    p.kill9();
                    *from = height;
                    pb.println(format!("node {} is offline (killed) at height {height}", f.node));
                }
            }
        }
        let slots = Arc::new(tokio::sync::Semaphore::new(8));
        let mut tasks = tokio::task::JoinSet::new();
        for i in range {
            let (net, traffic, slots) = (net.clone(), traffic.clone(), slots.clone());
            tasks.spawn(async move {
                let _slot = slots.acquire().await;
                let p = traffic.plan.get(i).ok_or("bad plan")?;
                let (Some(from), Some(to)) =
                    (traffic.clients.get(p.from), traffic.clients.get(p.to))
                else {
                    return Err("bad plan".to_owned());
                };
                lock(&traffic.sent_at).insert(p.text.clone(), Instant::now());
                // As the apps do, a message whose every path failed is sent again a little
                // later (a faulty node can fail every path of one try); twice at most.
                let mut resent = 0;
                loop {
                    let r = session::send(&net, from, &to.session_id(), &p.text).await;
                    if r.is_ok() || resent == 2 {
                        return Ok((i, resent, r.map_err(|e| e.to_string())));
                    }
                    resent += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            let Ok(Ok((i, again, r))) = done else { continue };
            pb.inc(1);
            resent += again;
            match r {
                Ok(s) => {
                    retried += s.attempts.saturating_sub(1);
                    if let Some(slot) = sent.get_mut(i) {
                        *slot = Some(s);
                    }
                }
                Err(e) => {
                    pb.println(format!("message {i} not sent: {e}"));
                    send_errors.push(format!("message {i}: {e}"));
                }
            }
        }
    }
    pb.finish_and_clear();

    // Wait for delivery.
    let pb = bar(plan.len(), "delivering", args.json);
    let expected = sent.iter().flatten().count();
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered = loop {
        let got = lock(&traffic.delivered).clone();
        pb.set_position(got.len() as u64);
        if got.len() >= expected || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    receivers.abort_all();
    pb.finish_and_clear();

    // The killed node comes back: does it still hold what it acknowledged, and does it catch up?
    let kill_report = match victim {
        Some(v) => Some(check_restart(v, &mut nodes, &http, &traffic, &sent, half).await?),
        None => None,
    };

    // The faulty nodes meet the quorums.
    let every = Duration::from_millis(chain.height_ms());
    let changes = if args.fault.is_empty() {
        Vec::new()
    } else {
        watch_faults(&http, &reader(&nodes), &args.fault, &nodes, &fault_from, args, every).await
    };
    let cpu_ms: u64 = nodes.nodes.iter().filter_map(|p| local::cpu_ms(p.pid()?)).sum();
    let anvil_pid = chain.anvil.pid();
    let anvil_cpu_ms = local::cpu_ms(anvil_pid);
    // Let rewards accrue for a few blocks, then read them.
    let rewards = local::rewards_at(&http, &reader(&nodes), 8, every).await;
    let height_now = height_of(&http, &reader(&nodes)).await;
    let height = rewards.get("height").and_then(Value::as_u64).unwrap_or(height_now).max(1);
    let height_ms = (height_now > height_at_up)
        .then(|| (ms(up_at.elapsed()) / (height_now - height_at_up) as f64 * 10.0).round() / 10.0);
    let chain_report = chain_report(&http, &nodes, &chain).await;
    // Every staking account claims what it earned, through the network's signature.
    let claims_started = Instant::now();
    let claims = claims_report(&http, &nodes, &chain, &rewards).await;
    let claims_ms = ms(claims_started.elapsed());
    let claims_ok = claims.as_ref().is_ok_and(|c| {
        c.iter().any(|e| e.get("ok") == Some(&Value::Bool(true)))
            && c.iter().all(|e| e.get("ok") == Some(&Value::Bool(true)))
    });
    let faults = fault_report(&args.fault, &fault_from, &nodes, &changes, &rewards);
    let mut wronged: Vec<usize> =
        changes.iter().filter_map(|c| name_of.get(&c.1).copied()).filter(|i| !faulty(*i)).collect();
    wronged.sort_unstable();
    wronged.dedup();

    // The report.
    let mut latencies: Vec<Duration> = delivered.values().copied().collect();
    latencies.sort_unstable();
    let percentile = |p: usize| {
        ms(latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default())
    };
    let delivered_ok = plan.iter().filter(|p| delivered.contains_key(&p.text)).count();
    let all_ok = expected == plan.len()
        && delivered_ok == plan.len()
        && kill_report.as_ref().is_none_or(|k| k.get("ok") == Some(&Value::Bool(true)))
        && faults.iter().all(|f| f.get("caught") == Some(&Value::Bool(true)))
        && wronged.is_empty()
        && chain_report.get("ok") == Some(&Value::Bool(true))
        && claims_ok;
    let member = |m: &NodeId| json!({"node": name_of.get(m), "pubkey_ed25519": m.to_string()});
    let swarms: Vec<Value> = (state.map().iter())
        .map(|(id, m)| json!({"swarm": format!("{:x}", id.get()), "nodes": m.iter().map(member).collect::<Vec<_>>()}))
        .collect();
    let report = json!({
        "ok": all_ok,
        "nodes": n,
        "network": network_url,
        "seed": seed,
        "node_pids": nodes.nodes.iter().map(NodeProcess::pid).collect::<Vec<_>>(),
        "anvil_pid": anvil_pid,
        "chain": chain_report,
        "data": base.display().to_string(),
        "up_after_ms": ms(up_after),
        "swarms": swarms,
        "accounts": k,
        "messages": {
            "planned": plan.len(),
            "sent": expected,
            "delivered": delivered_ok,
            "send_errors": send_errors,
            "paths_retried": retried,
            "resent": resent,
            "latency_ms": {"p50": percentile(50), "p99": percentile(99), "max": ms(latencies.last().copied().unwrap_or_default())},
            "path_length": PATH_LENGTH,
        },
        "kill": kill_report,
        "faults": faults,
        "honest_nodes_changed": wronged,
        "testing": {"tests_per_block": args.tests_per_block, "nodes_cpu_ms_per_block": cpu_ms / height, "anvil_cpu_ms_per_block": anvil_cpu_ms.map(|c| c / height)},
        "height_ms": {"configured": ms(every), "measured": height_ms},
        "rewards": {"height": rewards.get("height"), "balances": local::reward_lines_named(&rewards, &chain.names, &chain.fees)},
        "claims": claims.as_ref().map_or(Value::Null, |c| json!(c)),
        "claims_ok": claims_ok,
        "claims_ms": claims_ms,
        "claims_error": claims.as_ref().err(),
        "elapsed_ms": ms(started.elapsed()),
    });
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }
    if args.keep {
        KEPT.store(if all_ok { 1 } else { 2 }, Ordering::SeqCst);
        if !args.json {
            println!("\nThe network is up. Its seed, for any Session client (oxend's json_rpc):");
        }
        println!("seed: {seed}");
        if !args.json {
            println!("sesh's client, in another terminal:");
            let plain = if args.plain_http { " --plain-http" } else { "" };
            println!("  export SESH_SEEDS={seed}");
            println!("  alias client='cargo run --release --example client --{plain}'");
            println!("  client --dir /tmp/alice new");
            println!("  client --dir /tmp/alice send <session id> \"hello\"");
            println!("  client --dir /tmp/bob watch");
            println!("The staking ledger, as any follower derives it from the chain:");
            println!(
                "  cargo run --release --example ledger -- --rpc {} --contract {} --params local",
                chain.anvil.url(),
                chain.contract()
            );
            println!("Data: {}. Ctrl-C or SIGTERM stops every node and anvil.", base.display());
        }
        sesh_examples::shutdown_signal().await;
    }
    drop(nodes);
    drop(chain);
    if args.dir.is_none() && !args.keep && all_ok {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(all_ok)
}

/// The chain's network: anvil, the contracts, the genesis staked on the contract, and every node
/// a follower of it (each sends its first uptime proof to node 0 and the node before it, and
/// learns the others from the proofs it gets; none is special).
async fn start_on_chain(
    args: &Args,
    base: &std::path::Path,
    command: &[std::ffi::OsString],
    mut extra: Vec<String>,
    http: &reqwest::Client,
    fault_args: impl Fn(usize) -> Vec<String>,
) -> Result<(LocalNetwork, chain::Chain), String> {
    let n = usize::from(args.nodes);
    let pb = bar(n, "deploying and staking on anvil", args.json);
    let chain = chain::Chain::start(n, args.block_ms).await?;
    pb.finish_and_clear();
    extra.extend(["--seed-http", "127.0.0.1:0"].map(String::from));
    let pb = bar(n, "starting nodes", args.json);
    let nodes = chain.start_nodes(command, base, &extra, fault_args)?;
    nodes.wait_ready(http, Duration::from_secs(60), |_| pb.inc(1)).await?;
    pb.finish_and_clear();
    Ok((nodes, chain))
}

/// Waits until the seed request at `seed` lists every node of `keys` (their addresses reach a
/// node with the others' uptime proofs).
async fn wait_listed(
    http: &reqwest::Client,
    seed: &str,
    keys: &[String],
    within: Duration,
) -> Result<(), String> {
    let ask = json!({"jsonrpc": "2.0", "method": "get_n_service_nodes", "params": {
        "active_only": true, "fields": {"pubkey_ed25519": true}}})
    .to_string();
    let deadline = Instant::now() + within;
    let mut missing = keys.len();
    while Instant::now() < deadline {
        if let Ok(r) = http.post(seed).body(ask.clone()).send().await
            && let Ok(body) = r.bytes().await
        {
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            let states = v.pointer("/result/service_node_states").and_then(Value::as_array);
            let listed: Vec<&str> = (states.into_iter().flatten())
                .filter_map(|n| n.get("pubkey_ed25519")?.as_str())
                .collect();
            missing = keys.iter().filter(|k| !listed.contains(&k.as_str())).count();
            if missing == 0 {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the seed {seed} lacks {missing} of {} nodes after {within:?}", keys.len()))
}

/// The sesh height a node has applied (0 if it does not answer).
async fn height_of(http: &reqwest::Client, node: &str) -> u64 {
    let status = local::chain_status(http, node).await;
    status.and_then(|s| s.get("height")?.as_u64()).unwrap_or(0)
}

/// The chain as the running nodes follow it: a height every one of them has applied, the state
/// hash most report there, and how many do (`ok` when all of them).
async fn chain_report(http: &reqwest::Client, nodes: &LocalNetwork, chain: &chain::Chain) -> Value {
    let running: Vec<&NodeProcess> = nodes.nodes.iter().filter(|p| p.is_running()).collect();
    // A node just restarted reports height 0 until it has replayed the chain: ask again, a
    // height at a time, for a while.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (statuses, agreement) = loop {
        let mut statuses = Vec::with_capacity(running.len());
        for p in &running {
            if let Some(s) = local::chain_status(http, &p.url).await {
                statuses.push(s);
            }
        }
        let agreement =
            if statuses.len() == running.len() { local::chain_agreement(&statuses) } else { None };
        let all = agreement.as_ref().is_some_and(|(h, _, k)| *h > 0 && *k == running.len());
        if all || Instant::now() > deadline {
            break (statuses, agreement);
        }
        tokio::time::sleep(Duration::from_millis(chain.height_ms())).await;
    };
    let (height, state_hash, agreeing) = agreement.unwrap_or_default();
    json!({
        "chain_id": sesh_examples::chain_tools::CHAIN_ID,
        "rpc": chain.anvil.url(),
        "contract": chain.contract(),
        "start_block": chain.deployment.block,
        "block_ms": chain::BLOCK_MS,
        "blocks_per_height": chain.blocks_per_height,
        "confirmations": chain::CONFIRMATIONS,
        "setup_ms": ms(chain.setup),
        "height": height,
        "state_hash": state_hash,
        "live_nodes": running.len(),
        "answered": statuses.len(),
        "nodes_agreeing": agreeing,
        "ok": agreeing == running.len() && height > 0,
    })
}

/// Each staking account of the genesis (operators and contributors) with a balance at the
/// rewards' height claims it: the running nodes each sign the account's balance there, the
/// aggregate goes to the contract (`updateRewardsBalance`) from the account's wallet, which then
/// claims (`claimRewards`). Each entry sets what arrived in the wallet (its token balance's
/// increase) beside what `sesh-rewards` credited (the node's balance there, milli-atomic,
/// ⌊/1000⌋) and what the network signed; `ok` when the three are equal.
async fn claims_report(
    http: &reqwest::Client,
    nodes: &LocalNetwork,
    chain: &chain::Chain,
    rewards: &Value,
) -> Result<Vec<Value>, String> {
    use alloy::primitives::{Address as EvmAddress, U256};
    use sesh_examples::claims;
    let height = rewards.get("height").and_then(Value::as_u64).ok_or("no rewards read")?;
    let balances = rewards.get("balances").and_then(Value::as_object).ok_or("no balances")?;
    let urls: Vec<String> =
        nodes.nodes.iter().filter(|p| p.is_running()).map(|p| p.url.clone()).collect();
    let owner = chain.provider(chain.anvil.dev_signer(0).map_err(|e| e.to_string())?)?;
    let set = claims::registered_set(&owner, chain.deployment.rewards)
        .await
        .map_err(|e| e.to_string())?;
    let set = Arc::new(set);
    let wait = Duration::from_millis(chain.height_ms() * 4).max(Duration::from_secs(2));
    let mut tasks = tokio::task::JoinSet::new();
    for (ledger_address, name) in &chain.names {
        let milli: u128 = (balances.get(ledger_address).and_then(Value::as_str))
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        let computed = milli / 1000;
        if computed == 0 {
            continue;
        }
        // The ledger's address: 32 bytes, an EVM address in the last 20.
        let evm = hex::decode(ledger_address).ok().and_then(|b| {
            let (pad, evm) = b.split_first_chunk::<12>()?;
            pad.iter().all(|z| *z == 0).then(|| <[u8; 20]>::try_from(evm).ok()).flatten()
        });
        let address =
            EvmAddress::from(evm.ok_or_else(|| format!("{ledger_address}: not an EVM address"))?);
        let provider = chain.provider(chain.staker(address)?)?;
        let token = chain.deployment.token(&provider);
        let (http, set, urls, name) = (http.clone(), set.clone(), urls.clone(), name.clone());
        tasks.spawn(async move {
            let before = token.balanceOf(address).call().await;
            let got =
                claims::claim_with(&provider, &http, &set, &urls, address, height, None, wait)
                    .await;
            let after = token.balanceOf(address).call().await;
            let claimed = match (before, after) {
                (Ok(b), Ok(a)) => a.saturating_sub(b),
                _ => U256::ZERO,
            };
            let (signed, signers, non_signers, error) = match &got {
                Ok(c) => (
                    Some(c.collected.amount),
                    c.collected.signers.len(),
                    c.collected.non_signers.clone(),
                    None,
                ),
                Err(e) => (None, 0, Vec::new(), Some(e.to_string())),
            };
            let ok = signed == Some(computed) && claimed == U256::from(computed);
            json!({
                "name": name,
                "address": address.to_checksum(None),
                "height": height,
                "computed": computed.to_string(),
                "signed": signed.map(|s| s.to_string()),
                "claimed": claimed.to_string(),
                "signers": signers,
                "non_signers": non_signers,
                "error": error,
                "ok": ok,
            })
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        out.push(done.map_err(|e| e.to_string())?);
    }
    out.sort_by_key(|e| {
        let name = e.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let (kind, number) = name.rsplit_once(' ').unwrap_or((&name, ""));
        (kind.to_owned(), number.parse::<usize>().unwrap_or(0))
    });
    Ok(out)
}

/// Receivers: each account polls its swarm through onion paths and records when each expected
/// message arrives (and that it came from the right sender).
fn spawn_receivers(net: &Arc<Network>, traffic: &Arc<Traffic>) -> tokio::task::JoinSet<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..traffic.clients.len() {
        let expected: BTreeMap<String, SessionId> = traffic
            .plan
            .iter()
            .filter(|p| p.to == i)
            .filter_map(|p| Some((p.text.clone(), traffic.clients.get(p.from)?.session_id())))
            .collect();
        let (net, traffic) = (net.clone(), traffic.clone());
        tasks.spawn(async move {
            let (Some(me), false) = (traffic.clients.get(i), expected.is_empty()) else { return };
            let mut inbox = Inbox::default();
            loop {
                if let Ok((messages, _)) = session::receive(&net, me, &mut inbox).await {
                    let now = Instant::now();
                    for m in messages.into_iter().filter(|m| expected.get(&m.text) == Some(&m.from))
                    {
                        let start = lock(&traffic.sent_at).get(&m.text).copied().unwrap_or(now);
                        lock(&traffic.delivered).entry(m.text).or_insert(now - start);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    tasks
}

/// Lets blocks pass until every faulty node is deregistered, or the live rules have had their
/// time (a proof's validity, the credit a node has, margins: 160 blocks after the votes start
/// or the last fault began); the state changes the quorums decided.
async fn watch_faults(
    http: &reqwest::Client,
    node: &str,
    faults: &[Fault],
    nodes: &LocalNetwork,
    from: &[u64],
    args: &Args,
    every: Duration,
) -> Vec<(u64, NodeId, String)> {
    let deadline = from.iter().copied().max().unwrap_or(0).max(63) + 160;
    let pb = bar(usize::try_from(deadline).unwrap_or(0), "quorums testing the nodes", args.json);
    let keys: Vec<NodeId> =
        faults.iter().filter_map(|f| Some(nodes.nodes.get(f.node)?.key)).collect();
    loop {
        let (height, changes) = local::state_changes(http, node).await.unwrap_or_default();
        pb.set_position(height);
        let gone = |k: &NodeId| changes.iter().any(|(_, n, s)| n == k && s == "deregister");
        if height >= deadline || keys.iter().all(gone) {
            pb.finish_and_clear();
            return changes;
        }
        tokio::time::sleep(every).await;
    }
}

/// Each faulty node's states over time and its rewards beside the honest nodes'.
fn fault_report(
    faults: &[Fault],
    from: &[u64],
    nodes: &LocalNetwork,
    changes: &[(u64, NodeId, String)],
    rewards: &Value,
) -> Vec<Value> {
    let earned = local::node_rewards(rewards);
    let paid = |i: usize| nodes.nodes.get(i).and_then(|p| earned.get(&p.key)).copied();
    let honest: Vec<u128> = (0..nodes.nodes.len())
        .filter(|i| faults.iter().all(|f| f.node != *i))
        .map(|i| paid(i).unwrap_or(0))
        .collect();
    let entry = |(f, start): (&Fault, &u64)| {
        let key = nodes.nodes.get(f.node)?.key;
        let kind = format!("{:?}", f.kind).to_lowercase();
        let paid = paid(f.node).unwrap_or(0);
        Some(local::fault_entry(f.node, &kind, key, *start, changes, paid, &honest))
    };
    faults.iter().zip(from).filter_map(entry).collect()
}

/// Restarts the killed node and checks it: what it acknowledged before the kill is still there,
/// and it catches up with what was stored while it was down.
async fn check_restart(
    v: usize,
    nodes: &mut LocalNetwork,
    http: &reqwest::Client,
    traffic: &Traffic,
    sent: &[Option<Sent>],
    killed_at: usize,
) -> Result<Value, String> {
    nodes.nodes.get_mut(v).ok_or("no such node")?.restart()?;
    nodes.wait_ready(http, Duration::from_secs(30), |_| {}).await?;
    let node = nodes.nodes.get(v).ok_or("no such node")?;
    // What it held: the messages it acknowledged before the kill. What it should get back: those
    // stored while it was down, for accounts of its swarm.
    let stored = traffic.plan.iter().zip(sent).filter_map(|(p, s)| Some((p.to, s.as_ref()?)));
    let held: Vec<(usize, &str)> = stored
        .clone()
        .take(killed_at)
        .filter(|(_, s)| s.stored.stored_by.contains(&node.key))
        .map(|(to, s)| (to, s.stored.hash.as_str()))
        .collect();
    let missed: Vec<(usize, &str)> = traffic
        .plan
        .iter()
        .zip(sent)
        .skip(killed_at)
        .filter_map(|(p, s)| Some((p.to, s.as_ref()?.stored.hash.as_str())))
        .filter(|(to, _)| held.iter().any(|(h, _)| h == to))
        .collect();
    let on_node = async |list: &[(usize, &str)]| {
        let mut have = 0;
        for (account, hash) in list {
            let Some(c) = traffic.clients.get(*account) else { continue };
            have += usize::from(node.retrieve(http, c).await.iter().any(|h| h == hash));
        }
        have
    };
    let kept = on_node(&held).await;
    // Catching up takes a fetch from its peers after the restart.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut caught_up = on_node(&missed).await;
    while caught_up < missed.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        caught_up = caught_up.max(on_node(&missed).await);
    }
    Ok(json!({
        "node": v,
        "pubkey_ed25519": node.key.to_string(),
        "killed_after_messages": killed_at,
        "held_before_kill": held.len(),
        "kept_after_restart": kept,
        "stored_while_down": missed.len(),
        "caught_up_after_restart": caught_up,
        "ok": kept == held.len() && caught_up == missed.len() && !held.is_empty(),
    }))
}

// serde_json's index by key gives `Null` for a missing key: it cannot panic.
#[allow(clippy::indexing_slicing)]
fn print_report(r: &Value) {
    let (m, k) = (&r["messages"], &r["kill"]);
    println!(
        "sesh testnet: {} nodes up in {} ms (anvil, the contracts and the stakes in {} ms), {} accounts",
        r["nodes"], r["up_after_ms"], r["chain"]["setup_ms"], r["accounts"]
    );
    println!(
        "messages: {} sent, {} delivered of {} through {}-hop onion paths; latency p50 {} ms, p99 {} ms; {} paths retried, {} messages sent again",
        m["sent"],
        m["delivered"],
        m["planned"],
        m["path_length"],
        m["latency_ms"]["p50"],
        m["latency_ms"]["p99"],
        m["paths_retried"],
        m["resent"]
    );
    for e in m["send_errors"].as_array().into_iter().flatten() {
        println!("  not sent: {}", e.as_str().unwrap_or_default());
    }
    if !k.is_null() {
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
    for f in r["faults"].as_array().into_iter().flatten() {
        let states: Vec<String> = (f["states"].as_array().into_iter().flatten())
            .map(|s| format!("{} at {}", s["state"].as_str().unwrap_or("?"), s["height"]))
            .collect();
        println!(
            "fault: node {} {}: {}; rewards {} SESH, honest median {} SESH{}",
            f["node"],
            f["kind"].as_str().unwrap_or("?"),
            states.join(" → "),
            f["rewards"].as_str().unwrap_or("?"),
            f["honest_median_rewards"].as_str().unwrap_or("?"),
            if f["caught"] == json!(true) { "" } else { " (NOT CAUGHT)" }
        );
    }
    for n in r["honest_nodes_changed"].as_array().into_iter().flatten() {
        println!("honest node {n} was decommissioned or deregistered");
    }
    println!(
        "testing: {} tests a block per node; the nodes used {} ms of CPU a block",
        r["testing"]["tests_per_block"], r["testing"]["nodes_cpu_ms_per_block"]
    );
    let c = &r["chain"];
    if !c.is_null() {
        println!(
            "chain: anvil (chain id {}) at {}, contract {}, a height every {} blocks of {} ms (measured {} ms); {} of {} live nodes report state hash {} at height {}",
            c["chain_id"],
            c["rpc"].as_str().unwrap_or("?"),
            c["contract"].as_str().unwrap_or("?"),
            c["blocks_per_height"],
            c["block_ms"],
            r["height_ms"]["measured"],
            c["nodes_agreeing"],
            c["live_nodes"],
            c["state_hash"].as_str().unwrap_or("?"),
            c["height"]
        );
    }
    println!("swarms:");
    for s in r["swarms"].as_array().into_iter().flatten() {
        let members: Vec<String> = (s["nodes"].as_array().into_iter().flatten())
            .map(|n| {
                format!("node {} ({:.8})", n["node"], n["pubkey_ed25519"].as_str().unwrap_or("?"))
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
    if let Some(e) = r["claims_error"].as_str() {
        println!("claims: none ({e})");
    }
    let claims = r["claims"].as_array().into_iter().flatten();
    for (i, c) in claims.enumerate() {
        if i == 0 {
            println!(
                "claims through the network's signature at height {} (updateRewardsBalance, then claimRewards; {} ms):",
                c["height"], r["claims_ms"]
            );
        }
        // Atomic units as SESH, all 9 decimals: the comparison is to the atomic unit.
        let atomic = |v: &Value| {
            let n: u128 = v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
            format!("{}.{:09}", n / 1_000_000_000, n % 1_000_000_000)
        };
        let tail = match c["error"].as_str() {
            Some(e) => format!(" FAILED: {e}"),
            None if c["ok"] == json!(true) => {
                let non: Vec<String> = (c["non_signers"].as_array().into_iter().flatten())
                    .map(ToString::to_string)
                    .collect();
                if non.is_empty() {
                    format!(" (signed by {} nodes)", c["signers"])
                } else {
                    let non = non.join(", ");
                    format!(" (signed by {} nodes; contract ids {non} did not sign)", c["signers"])
                }
            }
            None => format!(" DIFFERS (signed {})", c["signed"].as_str().unwrap_or("?")),
        };
        println!(
            "  {:<16}{} claimed {:>18} SESH, computed {:>18} SESH{tail}",
            c["name"].as_str().unwrap_or("?"),
            c["address"].as_str().unwrap_or("?"),
            atomic(&c["claimed"]),
            atomic(&c["computed"]),
        );
    }
    println!("{} in {} ms", if r["ok"] == json!(true) { "ok" } else { "FAILED" }, r["elapsed_ms"]);
}
