//! The reference storage node: the storage RPC and onion requests of the live network over
//! HTTP(S), messages in SQLite, swarm replication and handover, and the network learned from a
//! ledger authority. See `docs/node.md` and the `node` module.
//!
//! ```text
//! cargo run --release --example node -- --data /tmp/n0 --listen 127.0.0.1:22100 --authority --plain-http
//! ```

// The node is where the clock and the network live (the protocol crates take them as arguments).
#![allow(clippy::disallowed_methods)]

#[path = "mod.rs"]
mod node;

fn main() -> std::process::ExitCode {
    node::main_with(std::env::args_os())
}
