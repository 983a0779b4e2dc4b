//! Everything a run writes: `daily.csv`, `rewards.csv`, `swarm_sizes.csv`, the SVG charts and
//! `summary.txt`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use sesh_staking::NodeId;

use crate::simulate::plot;
use crate::simulate::scenario::BLOCKS_PER_DAY;
use crate::simulate::sim::{Cause, NodeEarnings, Outage, Role, Sim};

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

    if let Some(origin) = sim.origin() {
        let path = dir.join("ledger_nodes.csv");
        let mut w =
            csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        w.write_record(["pubkey_ed25519", "node", "operator", "operator_account"])
            .map_err(|e| e.to_string())?;
        for (pubkey, node) in &origin.stand_ins {
            let (index, account) = sim.operator_of(node).unwrap_or((u32::MAX, None));
            let account = account.map_or_else(String::new, |a| format!("0x{}", hex::encode(a)));
            w.write_record([pubkey.clone(), node.to_string(), index.to_string(), account])
                .map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())?;
    }
    write_outages(sim, &dir.join("outages.csv"))?;
    write_decisions(sim, &dir.join("decisions.csv"))?;
    write_nodes(&sim.earnings(), &dir.join("nodes.csv"))?;

    if charts {
        plot::all(dir, &sim.recorder.days)?;
        let mut caught: Vec<u64> = sim.outages.iter().filter_map(Outage::blocks_to_catch).collect();
        caught.sort_unstable();
        plot::caught_chart(&dir.join("caught.svg"), &caught, sim.outages.len())?;
    }

    let summary = summary(sim, elapsed_s);
    std::fs::write(dir.join("summary.txt"), &summary).map_err(|e| e.to_string())?;
    Ok(summary)
}

fn short(id: &NodeId) -> String {
    id.to_string().chars().take(16).collect()
}

fn opt(h: Option<u64>) -> String {
    h.map(|h| h.to_string()).unwrap_or_default()
}

/// What became of an outage at the end of the run.
pub fn outcome(o: &Outage, height: u64) -> &'static str {
    match (o.decommissioned, o.recommissioned, o.deregistered) {
        (None, _, Some(_)) => "deregistered",
        (Some(_), _, Some(_)) => "decommissioned, deregistered",
        (Some(_), Some(_), None) => "decommissioned, recommissioned",
        (Some(_), None, None) => "decommissioned",
        (None, _, None) if o.end <= height => "not caught",
        (None, _, None) => "ongoing",
    }
}

fn write_outages(sim: &Sim, path: &Path) -> Result<(), String> {
    let e = |e: csv::Error| format!("{}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(e)?;
    w.write_record([
        "node",
        "operator",
        "kind",
        "start",
        "end",
        "blocks",
        "credit",
        "decommissioned",
        "blocks_to_catch",
        "recommissioned",
        "deregistered",
        "outcome",
    ])
    .map_err(e)?;
    let height = sim.height();
    for o in &sim.outages {
        w.write_record([
            short(&o.node),
            o.operator.to_string(),
            o.kind.name().to_owned(),
            o.start.to_string(),
            o.end.to_string(),
            (o.end - o.start).to_string(),
            o.credit.to_string(),
            opt(o.decommissioned),
            opt(o.blocks_to_catch()),
            opt(o.recommissioned),
            opt(o.deregistered),
            outcome(o, height).to_owned(),
        ])
        .map_err(e)?;
    }
    w.flush().map_err(|io| format!("{}: {io}", path.display()))
}

fn write_decisions(sim: &Sim, path: &Path) -> Result<(), String> {
    let e = |e: csv::Error| format!("{}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(e)?;
    w.write_record(["height", "vote_height", "node", "state", "reasons", "cause"]).map_err(e)?;
    for d in &sim.decisions {
        let reasons: Vec<&str> = d.reasons.names().collect();
        w.write_record([
            d.height.to_string(),
            d.vote_height.to_string(),
            short(&d.node),
            d.state.name().to_owned(),
            reasons.join("+"),
            d.cause.name().to_owned(),
        ])
        .map_err(e)?;
    }
    w.flush().map_err(|io| format!("{}: {io}", path.display()))
}

fn write_nodes(earnings: &[NodeEarnings], path: &Path) -> Result<(), String> {
    let e = |e: csv::Error| format!("{}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(e)?;
    w.write_record([
        "node",
        "operator",
        "registered_at",
        "flaky",
        "outages",
        "down_blocks",
        "wrongful",
        "status",
        "earned_sesh",
        "potential_sesh",
    ])
    .map_err(e)?;
    for n in earnings {
        w.write_record([
            short(&n.node),
            n.operator.to_string(),
            n.registered_at.to_string(),
            n.flaky.to_string(),
            n.outages.to_string(),
            n.down_blocks.to_string(),
            n.wrongful.to_string(),
            format!("{:?}", n.status),
            format!("{:.6}", n.earned),
            format!("{:.6}", n.potential),
        ])
        .map_err(e)?;
    }
    w.flush().map_err(|io| format!("{}: {io}", path.display()))
}

/// The value at quantile `per_mille` / 1000 of sorted `v` (nearest rank).
fn quantile(v: &[u64], per_mille: u64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let i = ((v.len() as u64 - 1) * per_mille.min(1000) + 500) / 1000;
    v.get(usize::try_from(i).unwrap_or(usize::MAX)).copied().unwrap_or(0)
}

/// The obligations figures: how outages were caught, wrongful decisions, what failing cost.
pub fn obligations_summary(sim: &Sim) -> String {
    let mut s = String::new();
    let v = sim.vote_stats();
    let height = sim.height();
    let votes: Vec<String> = v.votes.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = writeln!(
        s,
        "quorums: {} tested their workers ({} had fewer than 7 validators up); {} failed tests; votes: {}; {} abstentions, {} over the deactivation limit; {} tallies decided; {} votes signed",
        v.quorums,
        v.quorums_without_quorum,
        v.failed_tests,
        if votes.is_empty() { "none".to_owned() } else { votes.join(", ") },
        v.abstained,
        v.over_deactivation_limit,
        v.decided,
        v.signed,
    );
    let outages = &sim.outages;
    let mut caught: Vec<u64> = outages.iter().filter_map(Outage::blocks_to_catch).collect();
    caught.sort_unstable();
    let count = |f: &dyn Fn(&Outage) -> bool| outages.iter().filter(|o| f(o)).count();
    let amnesia = count(&|o| o.kind == crate::simulate::obligations::FaultKind::Amnesia);
    let at_once = count(&|o| o.decommissioned.is_none() && o.deregistered.is_some());
    let later = count(&|o| o.decommissioned.is_some() && o.deregistered.is_some());
    let uncaught = count(&|o| outcome(o, height) == "not caught");
    let mean = if caught.is_empty() {
        0.0
    } else {
        caught.iter().sum::<u64>() as f64 / caught.len() as f64
    };
    let _ = writeln!(
        s,
        "outages: {} ({} amnesia); caught {} (decommissioned {}, deregistered at once {}) after median {} blocks (p10 {}, p90 {}, p99 {}, max {}; mean {:.1}); {} ended before being caught; {} deregistered after a decommission (credit spent)",
        outages.len(),
        amnesia,
        caught.len(),
        caught.len() - at_once,
        at_once,
        quantile(&caught, 500),
        quantile(&caught, 100),
        quantile(&caught, 900),
        quantile(&caught, 990),
        caught.last().copied().unwrap_or(0),
        mean,
        uncaught,
        later,
    );
    let mut by_length = Vec::new();
    for (name, lo, hi) in [
        ("< 1 h", 0, 30),
        ("1–2 h", 30, 60),
        ("2–6 h", 60, 180),
        ("6–24 h", 180, BLOCKS_PER_DAY),
        ("> 1 d", BLOCKS_PER_DAY, u64::MAX),
    ] {
        let done: Vec<&Outage> = outages
            .iter()
            .filter(|o| o.end <= height && (lo..hi).contains(&(o.end - o.start)))
            .collect();
        let c = done.iter().filter(|o| o.blocks_to_catch().is_some()).count();
        if !done.is_empty() {
            by_length.push(format!(
                "{name} {:.0} % of {}",
                c as f64 * 100.0 / done.len() as f64,
                done.len()
            ));
        }
    }
    let _ = writeln!(s, "outages caught, by length: {}", by_length.join(", "));
    let earnings = sim.earnings();
    // Active node-years: the active nodes at the end of each day.
    let node_years: f64 =
        sim.recorder.days.iter().map(|d| d.active_nodes as f64).sum::<f64>() / 365.0;
    let wrongful: Vec<_> = sim.decisions.iter().filter(|d| d.cause == Cause::Healthy).collect();
    let against = |c: &str| wrongful.iter().filter(|d| d.state.name() == c).count();
    let flaky = |state: &str| {
        sim.decisions.iter().filter(|d| d.cause == Cause::Flaky && d.state.name() == state).count()
    };
    let _ = writeln!(
        s,
        "healthy nodes voted out: {} decommissions, {} deregistrations ({:.3} per active node-year, over {:.0}); flaky nodes (outside outages): {} decommissions, {} deregistrations",
        against("decommission"),
        against("deregister"),
        (against("decommission") + against("deregister")) as f64 / node_years.max(1e-9),
        node_years,
        flaky("decommission"),
        flaky("deregister"),
    );
    let ratio = |f: &dyn Fn(&NodeEarnings) -> bool| {
        let (e, p, n) = earnings
            .iter()
            .filter(|n| f(n) && n.potential > 0.0)
            .fold((0.0, 0.0, 0), |(e, p, c), n| (e + n.earned, p + n.potential, c + 1));
        if p > 0.0 { format!("{:.2} % ({n} nodes)", e * 100.0 / p) } else { "—".to_owned() }
    };
    let _ = writeln!(
        s,
        "rewards earned, of what an always-up node registered at the same height earned: never failing {}, with outages {}, flaky {}",
        ratio(&|n| n.outages == 0 && !n.flaky),
        ratio(&|n| n.outages > 0),
        ratio(&|n| n.flaky && n.outages == 0),
    );
    // One outage each: what it cost, in days of the node's rewards, by what became of it.
    let mut lost: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let single: BTreeMap<NodeId, &NodeEarnings> =
        earnings.iter().filter(|n| n.outages == 1).map(|n| (n.node, n)).collect();
    for o in outages {
        let Some(n) = single.get(&o.node) else { continue };
        let window = height.saturating_sub(n.registered_at + 720) as f64 / BLOCKS_PER_DAY as f64;
        if n.potential <= 0.0 || window < 1.0 {
            continue;
        }
        let per_day = n.potential / window;
        let entry = lost.entry(outcome(o, height)).or_default();
        entry.0.push((n.potential - n.earned) / per_day);
        entry.1.push((o.end - o.start) as f64 / BLOCKS_PER_DAY as f64);
    }
    let parts: Vec<String> = lost
        .iter()
        .map(|(k, (l, d))| {
            let m = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            format!(
                "{k}: {} outages of {:.2} d on average cost {:.2} d of rewards",
                l.len(),
                m(d),
                m(l)
            )
        })
        .collect();
    let _ = writeln!(s, "what an outage cost (nodes with one outage): {}", parts.join("; "));
    s
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
    if let Some(o) = sim.origin() {
        let skipped: Vec<String> =
            o.skipped.iter().map(|(state, n)| format!("{n} {state}")).collect();
        let _ = writeln!(
            s,
            "starting network: ledger {} (state hash {}, height {}): {} of its {} nodes ({} exit-requested), skipped {}; staking requirement {} (the ledger's)",
            o.file,
            o.state_hash,
            o.height,
            o.started,
            o.in_file,
            o.exit_requested,
            if skipped.is_empty() { "none".to_owned() } else { skipped.join(", ") },
            o.staking_requirement
        );
    } else {
        let _ = writeln!(s, "starting network: generated from the scenario");
    }
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
    s.push_str(&obligations_summary(sim));
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
