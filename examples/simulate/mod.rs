//! The network simulator: a deterministic, seeded simulation of staking, swarms and rewards at
//! mainnet scale, built on the real crates (no network IO). `main.rs` runs it from the command
//! line; the tests drive it directly. See `docs/simulator.md`.

pub mod ledger_file;
pub mod metrics;
pub mod obligations;
pub mod output;
pub mod plot;
pub mod scenario;
pub mod sim;
