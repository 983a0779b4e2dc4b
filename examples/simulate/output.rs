//! Everything a run writes: `daily.csv`, `rewards.csv`, `swarm_sizes.csv`, the SVG charts and
//! `summary.txt`.

use std::fmt::Write as _;
use std::path::Path;

use crate::simulate::plot;
use crate::simulate::sim::{Role, Sim};

/// Milli-atomic units as SESH with 6 decimals (1 SESH = 10^12 milli-atomic), without floats.
pub fn sesh(milli: u128) -> String {
    format!("{}.{:06}", milli / 1_000_000_000_000, (milli % 1_000_000_000_000) / 1_000_000)
}

/// Writes the CSV files and charts of a finished run into `dir`; returns the summary text.
pub fn write(sim: &Sim, dir: &Path, elapsed_s: f64, charts: bool) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    sim.recorder.write_csv(dir)?;

    let path = dir.join("rewards.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    w.write_record(["role", "index", "nodes", "credited_sesh"]).map_err(|e| e.to_string())?;
    let nodes = sim.nodes_per_operator();
    let credits = sim.credits();
    for (role, milli) in &credits {
        let (kind, i, n) = match role {
            Role::Operator(i) => ("operator", *i, nodes.get(i).copied().unwrap_or(0).to_string()),
            Role::Contributor(i) => ("contributor", *i, String::new()),
        };
        w.write_record([kind.to_owned(), i.to_string(), n, sesh(*milli)])
            .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;

    let path = dir.join("swarm_sizes.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    w.write_record(["size", "swarms"]).map_err(|e| e.to_string())?;
    for (size, count) in sesh_swarm::analysis::size_histogram(sim.map()) {
        w.write_record([size.to_string(), count.to_string()]).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;

    if charts {
        plot::all(dir, &sim.recorder.days)?;
    }

    let summary = summary(sim, elapsed_s);
    std::fs::write(dir.join("summary.txt"), &summary).map_err(|e| e.to_string())?;
    Ok(summary)
}

/// The text summary. `elapsed_s` is left out of the file when 0 (so that files compare).
pub fn summary(sim: &Sim, elapsed_s: f64) -> String {
    let sc = sim.scenario();
    let t = &sim.totals;
    let days = &sim.recorder.days;
    let last = days.last().cloned().unwrap_or_default();
    let mean = |f: &dyn Fn(&crate::simulate::metrics::DayRow) -> f64| {
        if days.is_empty() { 0.0 } else { days.iter().map(f).sum::<f64>() / days.len() as f64 }
    };
    let totals = sim.reward_totals();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario: seed {}, {} days, {} nodes at start, {} operators, concentration {:.0} %, {:?} order, {:?} rewards",
        sc.seed,
        sc.days,
        sc.nodes,
        sc.operators,
        sc.concentration * 100.0,
        sc.order,
        sc.rewards
    );
    let _ = writeln!(
        s,
        "churn: {} nodes registered ({} at the start), {} left swarms, {} moved between swarms; {} exits requested, {} decommissions, {} recommissions, {} deregistrations; {} transactions refused by the ledger{}",
        t.joined,
        sc.nodes,
        t.left,
        t.moved,
        t.exits,
        t.decommissions,
        t.recommissions,
        t.deregistrations,
        t.rejected_txs,
        if t.rejected_by_kind.is_empty() {
            String::new()
        } else {
            let kinds: Vec<String> =
                t.rejected_by_kind.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            format!(" ({})", kinds.join(", "))
        }
    );
    let _ = writeln!(
        s,
        "swarms at the end: {} (sizes {}–{}, median {}), {} active nodes; the map changed in {} blocks",
        last.swarms,
        last.size_min,
        last.size_max,
        last.size_median,
        last.active_nodes,
        t.map_changes
    );
    let _ = writeln!(
        s,
        "handover: {:.1} million messages copied a day on average (of {} million stored)",
        mean(&|d| d.handover_messages) / 1e6,
        sc.messages / 1_000_000
    );
    let _ = writeln!(
        s,
        "control: one operator holds a majority of {:.2} % of swarms (mean), P(2 of 3 hops one operator) {:.4} %, the big operator {:.4} % (end)",
        mean(&|d| d.majority_swarm_share) * 100.0,
        last.path_two_of_three_any * 100.0,
        last.path_two_of_three_big * 100.0
    );
    let _ = writeln!(
        s,
        "rewards: {} SESH paid, {} credited, {} dust, {} pending; conserved: {}; Gini operators {:.3}, contributors {:.3}",
        sesh(totals.rewards),
        sesh(totals.credited),
        sesh(totals.dust),
        sesh(totals.pending),
        totals.conserved(),
        last.gini_operators,
        last.gini_contributors
    );
    if elapsed_s > 0.0 {
        let blocks = sc.blocks() as f64;
        let _ = writeln!(
            s,
            "speed: {} blocks in {elapsed_s:.2} s on one thread ({:.1} µs a block)",
            sc.blocks(),
            elapsed_s * 1e6 / blocks
        );
    }
    s
}
