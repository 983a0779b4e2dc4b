//! A deterministic simulation of a Session network at mainnet scale: staking, swarms, rewards
//! and the quorums that find failing nodes, over days or years, built on `sesh-staking`,
//! `sesh-swarm`, `sesh-rewards` and `sesh-quorum`, with no network IO. Writes CSV files, SVG
//! charts and a summary.
//!
//! ```text
//! cargo run --release --example simulate -- [--scenario study.toml] [--out sim-out] [--seed 7] [--days 30]
//!     [--false-positive 0.05] [--false-negative 0.1] [--sign-all-votes] [--ledger ledger.json]
//! ```
//!
//! See `docs/simulator.md` for the scenario fields and three worked studies.

#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use sesh_examples::simulate;
use sesh_examples::simulate::ledger_file::LedgerFile;
use sesh_examples::simulate::scenario::Scenario;
use sesh_examples::simulate::sim::Sim;

/// Simulates a Session network.
#[derive(Debug, Parser)]
#[command(name = "simulate")]
struct Args {
    /// The scenario (TOML); every field has a default.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Where to write the results.
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// Overrides the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides the scenario's days.
    #[arg(long)]
    days: Option<u32>,
    /// Starts from this staking ledger (the `ledger` example's `--json` output) instead of a
    /// generated network: its active and exit-requested nodes, with their operators,
    /// contributors, stakes and fees, and its staking requirement.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Overrides the scenario's starting node count.
    #[arg(long)]
    nodes: Option<u32>,
    /// Sets the false-positive rate of every check (uptime, reachability, storage): a healthy
    /// node fails each check of a validator's test with this probability.
    #[arg(long)]
    false_positive: Option<f64>,
    /// Sets the false-negative rate of every check: a failing node passes with this probability.
    #[arg(long)]
    false_negative: Option<f64>,
    /// Signs every vote and tallies them in a vote pool (slow); by default only the votes of a
    /// decision are signed.
    #[arg(long)]
    sign_all_votes: bool,
    /// No charts (CSV and summary only).
    #[arg(long)]
    no_charts: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut sc = match &args.scenario {
        Some(path) => Scenario::from_toml(
            &std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )
        .map_err(|e| format!("{}: {e}", path.display()))?,
        None => Scenario::default(),
    };
    if let Some(s) = args.seed {
        sc.seed = s;
    }
    if let Some(d) = args.days {
        sc.days = d;
    }
    if let Some(n) = args.nodes {
        sc.nodes = n;
    }
    if let Some(rate) = args.false_positive {
        sc.checks.set_false_positive(rate);
    }
    if let Some(rate) = args.false_negative {
        sc.checks.set_false_negative(rate);
    }
    sc.sign_all_votes |= args.sign_all_votes;
    sc.check()?;
    let blocks = sc.blocks();
    let setup = Instant::now();
    let mut sim = match &args.ledger {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let params = sesh_staking::Params::session_mainnet();
            let file = LedgerFile::parse(&text, params.max_contributors, params.max_fee_bp)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Sim::from_ledger(sc, &file, &path.display().to_string())
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Sim::new(sc)?,
    };
    let setup_s = setup.elapsed().as_secs_f64();
    let pb = ProgressBar::new(blocks);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} simulating [{bar:40}] day {msg} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = Instant::now();
    sim.run(|h| {
        if h.is_multiple_of(720) {
            pb.set_position(h);
            pb.set_message((h / 720).to_string());
        }
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let summary = simulate::output::write(&sim, &args.out, elapsed, !args.no_charts)?;
    print!("{summary}");
    println!("setup (registering the starting nodes): {setup_s:.2} s");
    println!("results in {}", args.out.display());
    Ok(())
}
