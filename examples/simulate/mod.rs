//! The network simulator: a deterministic, seeded simulation of staking, swarms and rewards at
//! mainnet scale, built on the real crates (no network IO). `main.rs` runs it from the command
//! line; the tests drive it directly. See `docs/simulator.md`.

pub(crate) mod metrics;
pub(crate) mod output;
pub(crate) mod plot;
pub(crate) mod scenario;
pub(crate) mod sim;
