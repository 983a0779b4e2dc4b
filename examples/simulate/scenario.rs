//! What to simulate: read from a TOML file, every field optional (the defaults are a year of a
//! 2,000-node network with modest churn).
//!
//! ```toml
//! seed = 7
//! days = 365
//! nodes = 2000
//! operators = 400
//! concentration = 0.2        # one operator runs 20 % of the nodes
//! join_per_day = 6.0
//! leave_per_day = 5.0
//! outages_per_day = 3.0      # nodes that start failing
//! outage_days = 1.5          # mean time a failing node stays down
//! amnesia_share = 0.0        # outages where the node answers but keeps nothing
//! flaky_share = 0.0          # nodes failing each check with `flaky_failure_rate`
//! order = "compat"           # or "canonical"
//! rewards = "accumulator"    # or "exact", "service"
//!
//! [checks.uptime]            # also checks.reachability, checks.storage
//! false_positive = 0.01      # a check the node passes fails (packet loss)
//! false_negative = 0.0       # a check the node fails passes
//! ```

use serde::Deserialize;
use sesh_swarm::SortOrder;

pub use crate::simulate::obligations::{CheckRates, Checks};

/// Which reward engine credits the blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rewards {
    /// oxend's per-block split, to the unit (O(nodes · contributors) per block).
    Exact,
    /// The O(1)-per-block accumulator.
    Accumulator,
    /// Service-weighted rewards (`docs/rewards.md`): weight from messages served and storage
    /// tests.
    Service,
}

/// Swarm ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// oxend's own tie order, bit for bit.
    Compat,
    /// (size, id) order.
    Canonical,
}

impl From<Order> for SortOrder {
    fn from(o: Order) -> Self {
        match o {
            Order::Compat => SortOrder::Compat,
            Order::Canonical => SortOrder::Canonical,
        }
    }
}

/// A scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Everything random comes from this seed.
    pub seed: u64,
    /// Days to simulate (720 blocks of 2 minutes each).
    pub days: u32,
    /// Active nodes at the start.
    pub nodes: u32,
    /// Operators the nodes are spread over (besides the concentrated one).
    pub operators: u32,
    /// The share of nodes (at the start, and of joins) run by one operator: 0 for none.
    pub concentration: f64,
    /// Contributors staking beside each operator: from this many …
    pub min_contributors: u32,
    /// … to this many, uniformly.
    pub max_contributors: u32,
    /// Distinct contributor accounts (they stake into several nodes).
    pub contributor_pool: u32,
    /// New nodes per day (Poisson).
    pub join_per_day: f64,
    /// Nodes asking to leave per day (Poisson); they leave when their stake unlocks.
    pub leave_per_day: f64,
    /// Nodes that start failing per day (Poisson): outages. The quorums find them (or not).
    #[serde(alias = "decommission_per_day")]
    pub outages_per_day: f64,
    /// Mean days a failing node stays down (exponential).
    pub outage_days: f64,
    /// Share of outages in which the node keeps answering but stores nothing (it fails storage
    /// tests only); the others are offline (no proofs, no answers).
    pub amnesia_share: f64,
    /// Share of nodes (at the start and of joins) that are flaky: they fail each check of each
    /// test with `flaky_failure_rate`.
    pub flaky_share: f64,
    /// See `flaky_share`.
    pub flaky_failure_rate: f64,
    /// Each check's false-positive and false-negative rates.
    pub checks: Checks,
    /// Sign every vote and tally them in a vote pool (slow); otherwise only the votes of a
    /// decision are signed.
    pub sign_all_votes: bool,
    /// Swarm ordering.
    pub order: Order,
    /// Reward engine.
    pub rewards: Rewards,
    /// Messages the network stores (for the handover estimates).
    pub messages: u64,
    /// Messages stored per block network-wide (service points for `rewards = "service"`).
    pub messages_per_block: u64,
    /// Share of nodes that fail their storage tests (`rewards = "service"`).
    pub failing_share: f64,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            seed: 1,
            days: 365,
            nodes: 2_000,
            operators: 400,
            concentration: 0.0,
            min_contributors: 1,
            max_contributors: 4,
            contributor_pool: 1_000,
            join_per_day: 6.0,
            leave_per_day: 5.0,
            outages_per_day: 3.0,
            outage_days: 1.5,
            amnesia_share: 0.0,
            flaky_share: 0.0,
            flaky_failure_rate: 0.3,
            checks: Checks::default(),
            sign_all_votes: false,
            order: Order::Compat,
            rewards: Rewards::Accumulator,
            messages: 20_000_000,
            messages_per_block: 100_000,
            failing_share: 0.02,
        }
    }
}

/// Blocks per day.
pub const BLOCKS_PER_DAY: u64 = 720;

impl Scenario {
    /// Reads a scenario file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let s: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        s.check()?;
        Ok(s)
    }

    /// Refuses scenarios that cannot run.
    pub fn check(&self) -> Result<(), String> {
        let rate = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a non-negative number"))
            }
        };
        let at_most = |name: &str, v: f64, max: f64| {
            if v <= max { Ok(()) } else { Err(format!("{name} must be at most {max}")) }
        };
        rate("join_per_day", self.join_per_day)?;
        if self.days > 36_500 || self.nodes > 100_000 {
            return Err("at most 36,500 days (a century) and 100,000 starting nodes".into());
        }
        if self.operators > 1_000_000 || self.contributor_pool > 1_000_000 {
            return Err("at most 1,000,000 operators and contributors".into());
        }
        rate("leave_per_day", self.leave_per_day)?;
        rate("outages_per_day", self.outages_per_day)?;
        rate("outage_days", self.outage_days)?;
        at_most("join_per_day", self.join_per_day, 10_000.0)?;
        at_most("leave_per_day", self.leave_per_day, 10_000.0)?;
        at_most("outages_per_day", self.outages_per_day, 10_000.0)?;
        at_most("outage_days", self.outage_days, 3_650.0)?;
        if !(0.0..=1.0).contains(&self.concentration) {
            return Err("concentration is a share of nodes, from 0 to 1".into());
        }
        let shares = [
            ("failing_share", self.failing_share),
            ("amnesia_share", self.amnesia_share),
            ("flaky_share", self.flaky_share),
            ("flaky_failure_rate", self.flaky_failure_rate),
        ];
        for (name, v) in shares.into_iter().chain(self.checks.rates()) {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} is a share, from 0 to 1"));
            }
        }
        if self.nodes == 0 || self.operators == 0 {
            return Err("nodes and operators must be at least 1".into());
        }
        if self.min_contributors > self.max_contributors || self.max_contributors > 9 {
            return Err(
                "contributors per node: min ≤ max ≤ 9 (10 stakers at most, the operator included)"
                    .into(),
            );
        }
        if self.contributor_pool < self.max_contributors {
            return Err("contributor_pool must be at least max_contributors".into());
        }
        Ok(())
    }

    /// Blocks to simulate.
    pub fn blocks(&self) -> u64 {
        u64::from(self.days) * BLOCKS_PER_DAY
    }
}
