//! A Session client for a sesh network: accounts, and 1:1 messages sent and received through
//! 3-hop onion paths. Every command takes `--json` for scripts.
//!
//! ```text
//! cargo run --release --example client -- --dir /tmp/alice new
//! cargo run --release --example client -- --dir /tmp/alice --seed http://127.0.0.1:22399/json_rpc send 05… "hello"
//! cargo run --release --example client -- --dir /tmp/bob --seed http://127.0.0.1:22399/json_rpc watch
//! ```
//!
//! `--seed` (repeatable, or `SESH_SEEDS`, comma-separated) is where the client first asks for the
//! node list, as the live apps ask theirs: `cargo run --example testnet -- --keep` prints a local
//! network's seed. An `https://` seed needs its certificate pinned (`#sha256:<its SHA-256>`); a
//! plain `http://` seed is taken on loopback only. The network access is
//! [`sesh_examples::client`]; the rules it follows are `sesh-client`'s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use sesh_identity::{AccountSeed, Identity, RecoveryPhrase, SessionId};

use sesh_client::bootstrap::Seed;
use sesh_client::inbox::Inbox;
use sesh_client::message::Received;
use sesh_examples::client::{self as session, Network};

/// A Session client.
#[derive(Debug, Parser)]
#[command(name = "client")]
struct Args {
    /// Where the account and inbox state are kept.
    #[arg(long, env = "SESH_CLIENT_DIR", default_value = ".sesh-client")]
    dir: PathBuf,
    /// A seed's `json_rpc` URL (`https://…#sha256:<certificate SHA-256>`, or `http://` on
    /// loopback); the first that answers gives the node list.
    #[arg(long = "seed", env = "SESH_SEEDS", value_delimiter = ',')]
    seeds: Vec<String>,
    /// The network's nodes serve plain HTTP (a local network started with `--plain-http`).
    #[arg(long)]
    plain_http: bool,
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
    let json = args.json;
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(run(args)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if json => {
            println!("{}", json!({"error": e}));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `v` (with `--json`) or `text`.
fn say(json: bool, v: Value, text: impl std::fmt::Display) {
    if json { println!("{v}") } else { println!("{text}") }
}

fn save_account(dir: &Path, phrase: &RecoveryPhrase) -> Result<Identity, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("account");
    if path.exists() {
        return Err(format!("{} already holds an account; use another --dir", path.display()));
    }
    sesh_examples::files::write_private(&path, phrase.as_str().as_bytes())?;
    Ok(Identity::from_recovery_phrase(phrase))
}

fn load_account(dir: &Path) -> Result<Identity, String> {
    let path = dir.join("account");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("{}: {e} (make an account with `new` or `restore`)", path.display())
    })?;
    let phrase =
        RecoveryPhrase::parse(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Identity::from_recovery_phrase(&phrase))
}

fn load_inbox(dir: &Path) -> Result<Inbox, String> {
    let path = dir.join("inbox.json");
    match sesh_examples::files::read_if_there(&path)? {
        None => Ok(Inbox::default()),
        Some(bytes) => serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|v| Inbox::from_json(&v).map_err(|e| e.to_string()))
            .map_err(|e| {
                format!(
                    "{}: {e} (remove it to start over; old messages show again)",
                    path.display()
                )
            }),
    }
}

fn save_inbox(dir: &Path, inbox: &Inbox) -> Result<(), String> {
    sesh_examples::files::replace(&dir.join("inbox.json"), inbox.to_json().to_string().as_bytes())
}

async fn network(args: &Args) -> Result<Network, String> {
    if args.seeds.is_empty() {
        return Err("give --seed <URL> (or set SESH_SEEDS; the testnet prints its seed)".into());
    }
    let seeds = args.seeds.iter().map(|s| Seed::parse(s)).collect::<Result<Vec<_>, _>>();
    let seeds = seeds.map_err(|e| e.to_string())?;
    for plain in seeds.iter().filter(|s| s.is_plain()) {
        eprintln!("warning: the seed {} is plain HTTP; its list is not authenticated", plain.url());
    }
    Network::bootstrap(seeds, !args.plain_http).await.map_err(|e| e.to_string())
}

fn show(json: bool, m: &Received) {
    let v = json!({"event": "message", "from": m.from.to_string(), "text": m.text, "sent_ms": m.sent_ms, "hash": m.hash});
    let secs = m.sent_ms / 1000 % 86_400;
    let (h, min, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    say(json, v, format!("[{h:02}:{min:02}:{s:02} UTC] {}: {}", m.from, m.text));
}

async fn run(args: Args) -> Result<(), String> {
    let (json, dir) = (args.json, &args.dir);
    match &args.command {
        Command::New => {
            let seed = AccountSeed::generate(&mut rand_core::OsRng);
            let phrase = Identity::from_account_seed(&seed).recovery_phrase();
            let id = save_account(dir, &phrase)?.session_id();
            let v = json!({"session_id": id.to_string(), "recovery_phrase": phrase.as_str()});
            let kept = format!(
                "(kept in {}; anyone with the phrase can read your messages)",
                dir.join("account").display()
            );
            say(
                json,
                v,
                format!("Session ID       {id}\nrecovery phrase  {}\n{kept}", phrase.as_str()),
            );
        }
        Command::Restore { words } => {
            let mut text = words.join(" ");
            if words.is_empty() {
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| e.to_string())?;
            }
            let phrase =
                RecoveryPhrase::parse(text.trim()).map_err(|e| format!("recovery phrase: {e}"))?;
            let id = save_account(dir, &phrase)?.session_id();
            say(json, json!({"session_id": id.to_string()}), format!("restored {id}"));
        }
        Command::Id => {
            let id = load_account(dir)?.session_id();
            say(json, json!({"session_id": id.to_string()}), id);
        }
        Command::Send { to, text } => {
            let to: SessionId = to.parse().map_err(|e| format!("recipient: {e}"))?;
            let (identity, net) = (load_account(dir)?, network(&args).await?);
            let sent =
                session::send(&net, &identity, &to, text).await.map_err(|e| e.to_string())?;
            let (hash, by) = (&sent.stored.hash, sent.stored.stored_by.len());
            let v = json!({"event": "sent", "hash": hash, "acknowledged_by": by, "paths_tried": sent.attempts});
            say(json, v, format!("sent {hash} (stored by {by} swarm members)"));
        }
        Command::Receive | Command::Watch { .. } => {
            let (identity, net, mut inbox) =
                (load_account(dir)?, network(&args).await?, load_inbox(dir)?);
            let Command::Watch { every_ms } = args.command else {
                let (messages, unreadable) = session::receive(&net, &identity, &mut inbox)
                    .await
                    .map_err(|e| e.to_string())?;
                save_inbox(dir, &inbox)?;
                messages.iter().for_each(|m| show(json, m));
                if !json && messages.is_empty() {
                    println!("no new messages");
                }
                if unreadable > 0 {
                    eprintln!("{unreadable} messages could not be read");
                }
                return Ok(());
            };
            let mut tick = tokio::time::interval(Duration::from_millis(every_ms.max(200)));
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                    _ = tick.tick() => {}
                }
                match session::receive(&net, &identity, &mut inbox).await {
                    Ok((messages, _)) => {
                        save_inbox(dir, &inbox)?;
                        messages.iter().for_each(|m| show(json, m));
                    }
                    Err(e) => {
                        eprintln!("receive failed (retrying): {e}");
                        if let Err(e) = net.refresh().await {
                            eprintln!("{e}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
