//! The reference storage node: the storage RPC and onion requests of the live network over
//! HTTP(S), messages in SQLite, swarm replication and handover, and the network learned from a
//! ledger keeper. See `docs/node.md` and the [`sesh_examples::node`] module.
//!
//! ```text
//! cargo run --release --example node -- --data /tmp/n0 --listen 127.0.0.1:22100 --authority --plain-http
//! ```

/// mimalloc: a loaded node allocates and frees per request, and glibc's allocator took a tenth
/// of its time (see `docs/node.md`, Load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sesh_examples::node::main_with(std::env::args_os())
}
