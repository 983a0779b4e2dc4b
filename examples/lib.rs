//! The IO halves of sesh's example programs, compiled once and shared: the reference node
//! ([`node`], which the `node` program and every testnet node run: a follower of the staking
//! contract), a client's network access ([`client`], for the `client` and `testnet` programs),
//! a local network of node processes ([`local`], for the `testnet` program and
//! the node's tests), the simulator ([`simulate`]),
//! the pinned chain tools and a local anvil ([`chain_tools`]), claiming rewards through the
//! network's BLS signature ([`claims`]),
//! capped reads and egress-checked name resolution for untrusted peers ([`http`]), and secret
//! and replaced files ([`files`]). Each program's `main.rs` holds its command line; what the
//! protocol decides is in the crates (`sesh-network`, `sesh-node`, `sesh-client` and the
//! protocol crates under them).

// The examples are where clocks live (the crates take time as an argument). Their errors are
// the database's and the sockets', each saying what failed in its message.
#![allow(clippy::disallowed_methods, clippy::missing_errors_doc)]

pub mod chain_tools;
pub mod claims;
pub mod client;
pub mod contracts;
pub mod files;
pub mod follow;
pub mod http;
pub mod local;
pub mod node;
pub mod simulate;

/// Milliseconds since the Unix epoch: the clock every program here passes to the crates.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Waits for Ctrl-C or SIGTERM: what stops the node and the testnet.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = async {
            match signal(SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Takes a lock even if a panicking holder poisoned it.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
