//! A Session client for a sesh network: accounts, and 1:1 messages sent and received through
//! 3-hop onion paths. Every command takes `--json` for scripts.
//!
//! ```text
//! cargo run --release --example client -- --dir /tmp/alice new
//! cargo run --release --example client -- --dir /tmp/alice --network http://127.0.0.1:22100 send 05… "hello"
//! cargo run --release --example client -- --dir /tmp/bob --network http://127.0.0.1:22100 watch
//! ```
//!
//! `--network` (or `SESH_NETWORK`) is the URL of the network's ledger keeper, which lists the
//! nodes; `cargo run --example testnet -- --keep` prints it, and the keeper's key to pin
//! (`--authority-key`: the list's signature is then checked). The network access is
//! [`sesh_examples::client`]; the rules it follows are `sesh-client`'s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use sesh_identity::{AccountSeed, Identity, RecoveryPhrase, SessionId};

use sesh_client::inbox::Inbox;
use sesh_client::message::Received;
use sesh_examples::client::{self as session, Network};
use sesh_identity::NodeId;

/// A Session client.
#[derive(Debug, Parser)]
#[command(name = "client")]
struct Args {
    /// Where the account and inbox state are kept.
    #[arg(long, env = "SESH_CLIENT_DIR", default_value = ".sesh-client")]
    dir: PathBuf,
    /// The network keeper's URL.
    #[arg(long, env = "SESH_NETWORK")]
    network: Option<String>,
    /// The keeper's Ed25519 key (hex): the node list must carry its signature.
    #[arg(long, env = "SESH_AUTHORITY_KEY")]
    authority_key: Option<NodeId>,
    /// Print JSON (one object per line) instead of text.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a new account: its Session ID and recovery phrase.
    New,
    /// Restore an account from its recovery phrase (words as arguments, or on stdin).
    Restore { words: Vec<String> },
    /// Print this account's Session ID.
    Id,
    /// Send a message.
    Send {
        /// The recipient's Session ID (66 hex digits, starting 05).
        to: String,
        /// The text.
        text: String,
    },
    /// Fetch and print new messages once.
    Receive,
    /// Fetch and print new messages until stopped.
    Watch {
        /// Milliseconds between polls.
        #[arg(long, default_value_t = 2000)]
        every_ms: u64,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = args.json;
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                println!("{}", json!({"error": e}));
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn account_path(dir: &Path) -> PathBuf {
    dir.join("account")
}

fn save_account(dir: &Path, phrase: &RecoveryPhrase) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = account_path(dir);
    if path.exists() {
        return Err(format!("{} already holds an account; use another --dir", path.display()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut f, phrase.as_str().as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn load_account(dir: &Path) -> Result<Identity, String> {
    let path = account_path(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("{}: {e} (make an account with `new` or `restore`)", path.display())
    })?;
    let phrase =
        RecoveryPhrase::parse(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Identity::from_recovery_phrase(&phrase))
}

fn load_inbox(dir: &Path) -> Result<Inbox, String> {
    let path = dir.join("inbox.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Inbox::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|v| Inbox::from_json(&v).map_err(|e| e.to_string()))
        .map_err(|e| {
            format!("{}: {e} (remove it to start over; old messages show again)", path.display())
        })
}

fn save_inbox(dir: &Path, inbox: &Inbox) -> Result<(), String> {
    let (tmp, path) = (dir.join("inbox.json.tmp"), dir.join("inbox.json"));
    std::fs::write(&tmp, inbox.to_json().to_string())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

async fn network(args: &Args) -> Result<Network, String> {
    let url = args.network.clone().ok_or("give --network <keeper URL> (or set SESH_NETWORK)")?;
    if args.authority_key.is_none() {
        eprintln!("warning: no --authority-key: the node list is taken unchecked");
    }
    Network::connect(&url, args.authority_key).await.map_err(|e| e.to_string())
}

fn show(json: bool, m: &Received) {
    if json {
        println!(
            "{}",
            json!({"event": "message", "from": m.from.to_string(), "text": m.text, "sent_ms": m.sent_ms, "hash": m.hash})
        );
    } else {
        let secs = m.sent_ms / 1000 % 86_400;
        println!(
            "[{:02}:{:02}:{:02} UTC] {}: {}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            m.from,
            m.text
        );
    }
}

async fn run(args: Args) -> Result<(), String> {
    match &args.command {
        Command::New => {
            let identity =
                Identity::from_account_seed(&AccountSeed::generate(&mut rand_core::OsRng));
            let phrase = identity.recovery_phrase();
            save_account(&args.dir, &phrase)?;
            if args.json {
                println!(
                    "{}",
                    json!({"session_id": identity.session_id().to_string(), "recovery_phrase": phrase.as_str()})
                );
            } else {
                println!("Session ID       {}", identity.session_id());
                println!("recovery phrase  {}", phrase.as_str());
                println!(
                    "(kept in {}; anyone with the phrase can read your messages)",
                    account_path(&args.dir).display()
                );
            }
        }
        Command::Restore { words } => {
            let text = if words.is_empty() {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| e.to_string())?;
                s
            } else {
                words.join(" ")
            };
            let phrase =
                RecoveryPhrase::parse(text.trim()).map_err(|e| format!("recovery phrase: {e}"))?;
            let identity = Identity::from_recovery_phrase(&phrase);
            save_account(&args.dir, &phrase)?;
            if args.json {
                println!("{}", json!({"session_id": identity.session_id().to_string()}));
            } else {
                println!("restored {}", identity.session_id());
            }
        }
        Command::Id => {
            let identity = load_account(&args.dir)?;
            if args.json {
                println!("{}", json!({"session_id": identity.session_id().to_string()}));
            } else {
                println!("{}", identity.session_id());
            }
        }
        Command::Send { to, text } => {
            let to: SessionId = to.parse().map_err(|e| format!("recipient: {e}"))?;
            let identity = load_account(&args.dir)?;
            let net = network(&args).await?;
            let sent =
                session::send(&net, &identity, &to, text).await.map_err(|e| e.to_string())?;
            let (hash, by) = (&sent.stored.hash, sent.stored.stored_by.len());
            if args.json {
                println!(
                    "{}",
                    json!({"event": "sent", "hash": hash, "acknowledged_by": by, "paths_tried": sent.attempts})
                );
            } else {
                println!("sent {hash} (stored by {by} swarm members)");
            }
        }
        Command::Receive => {
            let identity = load_account(&args.dir)?;
            let net = network(&args).await?;
            let mut inbox = load_inbox(&args.dir)?;
            let (messages, unreadable) =
                session::receive(&net, &identity, &mut inbox).await.map_err(|e| e.to_string())?;
            save_inbox(&args.dir, &inbox)?;
            for m in &messages {
                show(args.json, m);
            }
            if !args.json && messages.is_empty() {
                println!("no new messages");
            }
            if unreadable > 0 {
                eprintln!("{unreadable} messages could not be read");
            }
        }
        Command::Watch { every_ms } => {
            let identity = load_account(&args.dir)?;
            let net = network(&args).await?;
            let mut inbox = load_inbox(&args.dir)?;
            let mut tick = tokio::time::interval(Duration::from_millis((*every_ms).max(200)));
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                    _ = tick.tick() => {}
                }
                match session::receive(&net, &identity, &mut inbox).await {
                    Ok((messages, _)) => {
                        save_inbox(&args.dir, &inbox)?;
                        for m in &messages {
                            show(args.json, m);
                        }
                    }
                    Err(e) => {
                        eprintln!("receive failed (retrying): {e}");
                        let _ = net.refresh().await;
                    }
                }
            }
        }
    }
    Ok(())
}
