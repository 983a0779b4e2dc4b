//! What the simulation records each day, and the CSV files it writes.

use std::path::Path;

/// One day's figures.
#[derive(Clone, Debug, Default)]
pub(crate) struct DayRow {
    pub(crate) day: u64,
    pub(crate) height: u64,
    pub(crate) active_nodes: u64,
    pub(crate) swarms: u64,
    pub(crate) size_min: u64,
    pub(crate) size_median: u64,
    pub(crate) size_max: u64,
    /// Nodes that got a swarm, lost one, or were moved between swarms during the day.
    pub(crate) joined: u64,
    pub(crate) left: u64,
    pub(crate) moved: u64,
    /// Share of the account space whose swarm changed (summed over the day's changes).
    pub(crate) rehomed_share: f64,
    /// Messages that had to be copied to a node: a node joining or moved into a swarm fetches
    /// the swarm's messages; re-homed space is copied to every member of its new swarm.
    pub(crate) handover_messages: f64,
    /// Share of swarms in which one operator runs more than half of the members.
    pub(crate) majority_swarm_share: f64,
    /// The largest share of one swarm held by one operator.
    pub(crate) largest_swarm_share: f64,
    /// Chance that one operator holds ≥ 2 of the 3 nodes of a random path (any operator).
    pub(crate) path_two_of_three_any: f64,
    /// … the concentrated operator.
    pub(crate) path_two_of_three_big: f64,
    /// Block rewards so far, SESH.
    pub(crate) rewards_sesh: f64,
    /// Gini coefficient of what operators (by address) were credited so far.
    pub(crate) gini_operators: f64,
    /// … contributors.
    pub(crate) gini_contributors: f64,
    /// Whether the reward engine's totals balance.
    pub(crate) conserved: bool,
}

impl DayRow {
    pub(crate) fn fill_sizes(&mut self, sizes: &[usize]) {
        let mut s: Vec<u64> = sizes.iter().map(|x| *x as u64).collect();
        s.sort_unstable();
        self.swarms = s.len() as u64;
        self.size_min = s.first().copied().unwrap_or(0);
        self.size_max = s.last().copied().unwrap_or(0);
        self.size_median = s.get(s.len() / 2).copied().unwrap_or(0);
    }
}

/// Every day's row.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) days: Vec<DayRow>,
}

fn f(v: f64) -> String {
    format!("{v:.6}")
}

impl Recorder {
    /// Writes `daily.csv`.
    pub(crate) fn write_daily(&self, dir: &Path) -> Result<(), String> {
        let path = dir.join("daily.csv");
        let mut w =
            csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        w.write_record([
            "day",
            "height",
            "active_nodes",
            "swarms",
            "size_min",
            "size_median",
            "size_max",
            "joined",
            "left",
            "moved",
            "rehomed_share",
            "handover_messages",
            "majority_swarm_share",
            "largest_swarm_share",
            "path_two_of_three_any",
            "path_two_of_three_big",
            "rewards_sesh",
            "gini_operators",
            "gini_contributors",
            "conserved",
        ])
        .map_err(|e| e.to_string())?;
        for r in &self.days {
            w.write_record([
                r.day.to_string(),
                r.height.to_string(),
                r.active_nodes.to_string(),
                r.swarms.to_string(),
                r.size_min.to_string(),
                r.size_median.to_string(),
                r.size_max.to_string(),
                r.joined.to_string(),
                r.left.to_string(),
                r.moved.to_string(),
                f(r.rehomed_share),
                format!("{:.0}", r.handover_messages),
                f(r.majority_swarm_share),
                f(r.largest_swarm_share),
                f(r.path_two_of_three_any),
                f(r.path_two_of_three_big),
                f(r.rewards_sesh),
                f(r.gini_operators),
                f(r.gini_contributors),
                r.conserved.to_string(),
            ])
            .map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())
    }
}
