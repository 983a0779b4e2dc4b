//! What the simulation records each day, and the CSV files it writes.

use std::path::Path;

/// One day's figures.
#[derive(Clone, Debug, Default)]
pub struct DayRow {
    /// The day (from 1).
    pub day: u64,
    /// The block height at its end.
    pub height: u64,
    /// Active nodes at its end.
    pub active_nodes: u64,
    /// Swarms at its end.
    pub swarms: u64,
    /// The smallest swarm's size.
    pub size_min: u64,
    /// The median swarm size.
    pub size_median: u64,
    /// The largest swarm's size.
    pub size_max: u64,
    /// Nodes that got a swarm, lost one, or were moved between swarms during the day.
    pub joined: u64,
    /// Nodes that left a swarm that day.
    pub left: u64,
    /// Nodes moved between swarms that day.
    pub moved: u64,
    /// The most swarm changes (joined + left + moved) in one block of the day.
    pub busiest_block: u64,
    /// Share of the account space whose swarm changed (summed over the day's changes).
    pub rehomed_share: f64,
    /// Messages that had to be copied to a node: a node joining or moved into a swarm fetches
    /// the swarm's messages; re-homed space is copied to every member of its new swarm.
    pub handover_messages: f64,
    /// Share of swarms in which one operator runs more than half of the members.
    pub majority_swarm_share: f64,
    /// The largest share of one swarm held by one operator.
    pub largest_swarm_share: f64,
    /// Chance that one operator holds ≥ 2 of the 3 nodes of a random path (any operator).
    pub path_two_of_three_any: f64,
    /// … the concentrated operator.
    pub path_two_of_three_big: f64,
    /// The share of active nodes the concentrated operator runs.
    pub big_node_share: f64,
    /// Block rewards so far, SESH.
    pub rewards_sesh: f64,
    /// Mean credited so far per operator, SESH.
    pub per_operator_sesh: f64,
    /// Mean credited so far per contributor, SESH.
    pub per_contributor_sesh: f64,
    /// The concentrated operator's share of everything credited so far.
    pub big_reward_share: f64,
    /// Gini coefficient of what operators (by address) were credited so far.
    pub gini_operators: f64,
    /// … contributors.
    pub gini_contributors: f64,
    /// Whether the reward engine's totals balance.
    pub conserved: bool,
    /// Nodes failing (in an outage) at its end.
    pub failing_nodes: u64,
    /// Decommissioned nodes at its end.
    pub decommissioned_nodes: u64,
    /// Decommissions, recommissions and deregistrations the quorums decided that day.
    pub decommissions: u64,
    /// See `decommissions`.
    pub recommissions: u64,
    /// See `decommissions`.
    pub deregistrations: u64,
    /// Decommissions and deregistrations of nodes that were not failing, that day.
    pub wrongful: u64,
}

impl DayRow {
    /// Sets the swarm count and size statistics from every swarm's size.
    pub fn fill_sizes(&mut self, sizes: &[usize]) {
        let mut s: Vec<u64> = sizes.iter().map(|x| *x as u64).collect();
        s.sort_unstable();
        self.swarms = s.len() as u64;
        self.size_min = s.first().copied().unwrap_or(0);
        self.size_max = s.last().copied().unwrap_or(0);
        self.size_median = s.get(s.len() / 2).copied().unwrap_or(0);
    }
}

/// One column: its header and how a row shows it.
type Column = (&'static str, fn(&DayRow) -> String);

fn f(v: f64) -> String {
    format!("{v:.6}")
}

/// Every column, in `daily.csv` order.
const COLUMNS: &[Column] = &[
    ("day", |r| r.day.to_string()),
    ("height", |r| r.height.to_string()),
    ("active_nodes", |r| r.active_nodes.to_string()),
    ("swarms", |r| r.swarms.to_string()),
    ("size_min", |r| r.size_min.to_string()),
    ("size_median", |r| r.size_median.to_string()),
    ("size_max", |r| r.size_max.to_string()),
    ("joined", |r| r.joined.to_string()),
    ("left", |r| r.left.to_string()),
    ("moved", |r| r.moved.to_string()),
    ("busiest_block", |r| r.busiest_block.to_string()),
    ("rehomed_share", |r| f(r.rehomed_share)),
    ("handover_messages", |r| format!("{:.0}", r.handover_messages)),
    ("majority_swarm_share", |r| f(r.majority_swarm_share)),
    ("largest_swarm_share", |r| f(r.largest_swarm_share)),
    ("path_two_of_three_any", |r| f(r.path_two_of_three_any)),
    ("path_two_of_three_big", |r| f(r.path_two_of_three_big)),
    ("big_node_share", |r| f(r.big_node_share)),
    ("rewards_sesh", |r| f(r.rewards_sesh)),
    ("per_operator_sesh", |r| f(r.per_operator_sesh)),
    ("per_contributor_sesh", |r| f(r.per_contributor_sesh)),
    ("big_reward_share", |r| f(r.big_reward_share)),
    ("gini_operators", |r| f(r.gini_operators)),
    ("gini_contributors", |r| f(r.gini_contributors)),
    ("conserved", |r| r.conserved.to_string()),
    ("failing_nodes", |r| r.failing_nodes.to_string()),
    ("decommissioned_nodes", |r| r.decommissioned_nodes.to_string()),
    ("decommissions", |r| r.decommissions.to_string()),
    ("recommissions", |r| r.recommissions.to_string()),
    ("deregistrations", |r| r.deregistrations.to_string()),
    ("wrongful", |r| r.wrongful.to_string()),
];

/// One CSV per metric, each with the day first: (file, columns).
pub const METRIC_FILES: &[(&str, &[&str])] = &[
    ("swarms.csv", &["day", "active_nodes", "swarms", "size_min", "size_median", "size_max"]),
    ("churn.csv", &["day", "joined", "left", "moved", "busiest_block"]),
    ("handover.csv", &["day", "rehomed_share", "handover_messages"]),
    (
        "control.csv",
        &[
            "day",
            "majority_swarm_share",
            "largest_swarm_share",
            "path_two_of_three_any",
            "path_two_of_three_big",
            "big_node_share",
        ],
    ),
    (
        "reward_split.csv",
        &["day", "rewards_sesh", "per_operator_sesh", "per_contributor_sesh", "big_reward_share"],
    ),
    ("gini.csv", &["day", "gini_operators", "gini_contributors", "conserved"]),
    (
        "obligations.csv",
        &[
            "day",
            "failing_nodes",
            "decommissioned_nodes",
            "decommissions",
            "recommissions",
            "deregistrations",
            "wrongful",
        ],
    ),
];

/// Every day's row.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    /// One row per day, in order.
    pub days: Vec<DayRow>,
}

impl Recorder {
    /// Writes `daily.csv` (every column) and the per-metric files of [`METRIC_FILES`].
    pub fn write_csv(&self, dir: &Path) -> Result<(), String> {
        let all: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
        self.write_columns(&dir.join("daily.csv"), &all)?;
        for (file, columns) in METRIC_FILES {
            self.write_columns(&dir.join(file), columns)?;
        }
        Ok(())
    }

    fn write_columns(&self, path: &Path, names: &[&str]) -> Result<(), String> {
        let columns: Vec<&Column> = names
            .iter()
            .map(|n| COLUMNS.iter().find(|(c, _)| c == n).ok_or_else(|| format!("no column {n}")))
            .collect::<Result<_, _>>()?;
        let e = |e: csv::Error| format!("{}: {e}", path.display());
        let mut w = csv::Writer::from_path(path).map_err(e)?;
        w.write_record(names).map_err(e)?;
        for r in &self.days {
            w.write_record(columns.iter().map(|(_, show)| show(r))).map_err(e)?;
        }
        w.flush().map_err(|io| format!("{}: {io}", path.display()))
    }
}
