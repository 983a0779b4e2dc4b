//! An operator's tools for sesh's staking contracts on any EVM chain (a local anvil, an
//! Arbitrum test network): deploy the contracts, print what a node must sign to be registered,
//! register it with its stakes, ask for an exit, exit after the wait, claim, read balances, and
//! send tokens or ether to fund operators. See `docs/deploy.md`.
//!
//! ```text
//! cargo run --release --example stake -- --rpc <url> --key <file> <command> …
//!   deploy [--staking-requirement A] [--supply A] [--receiver 0x…] [--exit-wait SECS] …
//!   registration --node-key <key_ed25519> [--create] --contract 0x… --operator 0x…
//!                (--chain-id N | --rpc <url>)                 (no --key)
//!   register --contract 0x… --node-pubkey HEX --bls-key HEX --pop HEX --signature HEX
//!            [--fee BP] [--contributor 0xADDR:AMOUNT[:0xBENEFICIARY] …]
//!   exit --contract 0x… --id N
//!   exit-after-wait --contract 0x… --id N
//!   exit-signed --contract 0x… --id N (--node <url> … | --nodes-from <seed url> [--plain-http])
//!               [--timestamp UNIX]
//!   liquidate   --contract 0x… --id N (--node <url> … | --nodes-from <seed url> [--plain-http])
//!               [--timestamp UNIX]
//!   claim --contract 0x… [--amount A]
//!         [--node <url> … | --nodes-from <seed url> [--plain-http]] [--height N]
//!   balance --contract 0x… [--address 0x…]                    (no --key with --address)
//!   transfer --to 0x… (--token 0x… --amount A | --eth A)
//!   address                                                    (the --key account; no --rpc)
//! ```
//!
//! `--key` is a file holding the sending account's secp256k1 private key in hex (`0x` or not,
//! surrounding whitespace ignored); it is never printed. Amounts are atomic units (9 decimals),
//! or whole tokens with a `SESH` suffix (`100SESH`, `2.5SESH`); `--eth` takes wei or an `ETH`
//! suffix (`0.01ETH`).
//!
//! Nothing is sent that the contract would refuse: every transaction is first estimated (a
//! dry run), and a revert is printed by its name and arguments from the committed ABIs
//! (`contracts/out`), the command exiting 1 with nothing changed on chain. `register` also
//! checks, before sending anything, what the contract leaves to the followers: the node's
//! signature (as every follower checks it) and the ledger's stake rules, so that no stake is
//! locked in a registration every node would refuse.
#![allow(clippy::disallowed_methods)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr as _;
use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::dyn_abi::{DynSolValue, ErrorExt as _};
use alloy::json_abi::JsonAbi;
use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{GenericRevertReason, SolEvent as _};
use clap::{Args as ClapArgs, Parser, Subcommand};
use serde_json::{Value, json};
use sesh_examples::contracts::{
    self, Deployment, SERVICE_NODE_REWARDS_JSON, SESH, SESH_TOKEN_JSON,
    ServiceNodeRewards as Rewards, SeshToken, Settings,
};
use sesh_identity::Identity;
use sesh_staking::tx::{ChainRegister, ChainStake, Tx, VerifiedTx};
use sesh_staking::{BlsKey, Ledger, NodeId, Params};

/// Deploys sesh's staking contracts and stakes nodes on an EVM chain.
#[derive(Debug, Parser)]
#[command(
    name = "stake",
    about = "Deploys sesh's staking contracts and stakes nodes on an EVM chain"
)]
struct Args {
    /// The chain's JSON-RPC endpoint (`http://` or `https://`).
    #[arg(long, global = true)]
    rpc: Option<String>,
    /// A file with the sending account's secp256k1 private key (hex, `0x` optional).
    #[arg(long, global = true)]
    key: Option<PathBuf>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for a transaction's receipt.
    #[arg(long, global = true, default_value_t = 180)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Deploys the token, `ServiceNodeRewards` and the contribution factory; prints their
    /// addresses and the deployment block (the nodes' `--contract` and `--start-block`).
    Deploy(DeployArgs),
    /// Prints what registering a node needs from it: its Ed25519 key, its BLS key, the proof of
    /// possession of the BLS key (for the operator and the contract), and its signature over
    /// both keys. Run on the node's machine: the node key stays there, and no secret is printed.
    Registration(RegistrationArgs),
    /// Registers a node (`addBLSPublicKey`): the sender pays the whole staking requirement.
    Register(RegisterArgs),
    /// Asks for a node to leave (`initiateExitBLSPublicKey`; the sender must be a contributor).
    Exit(NodeArgs),
    /// Removes a node whose exit wait has passed (`exitBLSPublicKeyAfterWaitTime`). As on the
    /// live contract this credits nothing: the ledger returns the stakes to the contributors'
    /// balances, claimed through the network's signature (`claim --node`).
    ExitAfterWait(NodeArgs),
    /// Removes a node with the network's signature (`exitBLSPublicKeyWithSignature`): the nodes
    /// sign its exit once their ledgers have removed it (its exit request's unlock has passed,
    /// or no node's ledger took its registration). Anyone may send it; like any exit it credits
    /// nothing on the contract (the ledger returns the stakes, claimed with `claim --node`).
    ExitSigned(RemovalArgs),
    /// Liquidates a node with the network's signature (`liquidateBLSPublicKeyWithSignature`):
    /// the nodes sign it for a node their ledgers deregistered, or removed and not exited within
    /// the exit buffer. The sender receives the liquidator's share of the deposit.
    Liquidate(RemovalArgs),
    /// Claims what the contract credits the sender (`claimRewards`); with `--node` or
    /// `--nodes-from`, first has the network sign the sender's balance and sends it to the
    /// contract (`updateRewardsBalance`).
    Claim(ClaimArgs),
    /// Prints an account's ether, tokens and claimable balance.
    Balance(BalanceArgs),
    /// Sends tokens or ether (to fund operators on a test network).
    Transfer(TransferArgs),
    /// Prints the address of the `--key` file's account (no `--rpc` needed).
    Address,
}

#[derive(Debug, ClapArgs)]
struct DeployArgs {
    /// A node's full stake (default 100SESH: the nodes' `--params local` requirement).
    #[arg(long, value_parser = amount, default_value = "100SESH")]
    staking_requirement: U256,
    /// The token's whole supply, all sent to `--receiver`.
    #[arg(long, value_parser = amount, default_value = "240000000SESH")]
    supply: U256,
    /// Who receives the supply (default: the sender).
    #[arg(long, value_parser = evm_address)]
    receiver: Option<Address>,
    /// Seconds from a node's first leave request to when it may exit (the live contract: 30
    /// days).
    #[arg(long, default_value_t = 30 * 86_400)]
    exit_wait: u64,
    /// Seconds after a registration before a small contributor may ask to leave.
    #[arg(long, default_value_t = 30 * 86_400)]
    small_contributor_leave_delay: u64,
    /// Seconds between repeated leave requests for one node.
    #[arg(long, default_value_t = 3_600)]
    repeated_leave_request_delay: u64,
}

#[derive(Debug, ClapArgs)]
struct RegistrationArgs {
    /// The node's key file (a 64-byte libsodium Ed25519 secret key, the node's `--key`,
    /// default `<data>/key_ed25519`).
    #[arg(long)]
    node_key: PathBuf,
    /// Make the key file (as the node would) if there is none; without it a missing file is
    /// an error (a mistyped path must not register a new key).
    #[arg(long)]
    create: bool,
    /// The staking contract the node is to be registered on (the proof of possession names it).
    #[arg(long, value_parser = evm_address)]
    contract: Address,
    /// The operator's address: the registration's first contributor, or the account sending a
    /// solo `register` (the proof of possession names it; the contract checks it against that).
    #[arg(long, value_parser = evm_address)]
    operator: Address,
    /// The chain's id (default: asked of `--rpc`).
    #[arg(long)]
    chain_id: Option<u64>,
}

#[derive(Debug, ClapArgs)]
struct RegisterArgs {
    /// The staking contract (`ServiceNodeRewards`).
    #[arg(long, value_parser = evm_address)]
    contract: Address,
    /// The node's Ed25519 key (64 hex), from `stake registration`.
    #[arg(long)]
    node_pubkey: String,
    /// The node's BLS key (128 hex, `0x` optional), from `stake registration`.
    #[arg(long)]
    bls_key: String,
    /// The proof of possession of the BLS key (256 hex, `0x` optional: the four words
    /// `sigs0‖sigs1‖sigs2‖sigs3`), from `stake registration`.
    #[arg(long)]
    pop: String,
    /// The node's signature (128 hex), from `stake registration`.
    #[arg(long)]
    signature: String,
    /// The operator's fee, basis points (0 to 10000).
    #[arg(long, default_value_t = 0)]
    fee: u16,
    /// A stake, `0xADDRESS:AMOUNT` or `0xADDRESS:AMOUNT:0xBENEFICIARY`, repeatable, the
    /// operator first; the amounts must add up to the staking requirement. Without any, the
    /// sender stakes the whole requirement alone.
    #[arg(long = "contributor", value_parser = stake)]
    contributors: Vec<Stake>,
}

#[derive(Debug, ClapArgs)]
struct NodeArgs {
    /// The staking contract.
    #[arg(long, value_parser = evm_address)]
    contract: Address,
    /// The contract's id of the node (what `register` printed).
    #[arg(long)]
    id: u64,
}

#[derive(Debug, ClapArgs)]
struct RemovalArgs {
    /// The staking contract.
    #[arg(long, value_parser = evm_address)]
    contract: Address,
    /// The contract's id of the node to remove.
    #[arg(long)]
    id: u64,
    /// A node to ask for its signature (its base URL, `https://host:port`), repeatable.
    #[arg(long = "node", conflicts_with = "nodes_from", required_unless_present = "nodes_from")]
    nodes: Vec<String>,
    /// A seed (a node's `…/json_rpc`) whose list of nodes to ask, as `--node`.
    #[arg(long)]
    nodes_from: Option<String>,
    /// The nodes of `--nodes-from` serve plain HTTP (a `--plain-http` testnet).
    #[arg(long, requires = "nodes_from")]
    plain_http: bool,
    /// The signed timestamp, unix seconds (default: now; the nodes sign only one within 3
    /// minutes of their clocks, the contract takes it for 10 minutes).
    #[arg(long)]
    timestamp: Option<u64>,
    /// Seconds to keep asking nodes that refuse (e.g. one a height behind).
    #[arg(long, default_value_t = 5)]
    wait: u64,
}

#[derive(Debug, ClapArgs)]
struct ClaimArgs {
    /// The staking contract.
    #[arg(long, value_parser = evm_address)]
    contract: Address,
    /// Claim this much (default: all that is claimable).
    #[arg(long, value_parser = amount)]
    amount: Option<U256>,
    /// A node to ask for its signature of the sender's balance (its base URL,
    /// `https://host:port`), repeatable: the network's signature is sent to the contract first.
    #[arg(long = "node", conflicts_with = "nodes_from")]
    nodes: Vec<String>,
    /// A seed (a node's `…/json_rpc`) whose list of nodes to ask, as `--node`.
    #[arg(long)]
    nodes_from: Option<String>,
    /// The nodes of `--nodes-from` serve plain HTTP (a `--plain-http` testnet).
    #[arg(long, requires = "nodes_from")]
    plain_http: bool,
    /// The sesh height to have the balance signed at (default: the least height the nodes
    /// have applied).
    #[arg(long)]
    height: Option<u64>,
}

#[derive(Debug, ClapArgs)]
struct BalanceArgs {
    /// The staking contract.
    #[arg(long, value_parser = evm_address)]
    contract: Address,
    /// The account (default: the sender's, from `--key`).
    #[arg(long, value_parser = evm_address)]
    address: Option<Address>,
}

#[derive(Debug, ClapArgs)]
struct TransferArgs {
    /// The recipient.
    #[arg(long, value_parser = evm_address)]
    to: Address,
    /// The token to send (with `--amount`).
    #[arg(long, value_parser = evm_address, requires = "amount", conflicts_with = "eth")]
    token: Option<Address>,
    /// How many tokens.
    #[arg(long, value_parser = amount, requires = "token")]
    amount: Option<U256>,
    /// Ether to send instead: wei, or with an `ETH` suffix.
    #[arg(long, value_parser = ether, required_unless_present = "token")]
    eth: Option<U256>,
}

/// One `--contributor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stake {
    address: Address,
    amount: U256,
    beneficiary: Address,
}

// ---- parsing ----

/// Atomic units, or whole tokens with a `SESH` suffix (up to 9 decimals).
fn amount(text: &str) -> Result<U256, String> {
    decimal(text, "SESH", 9)
}

/// Wei, or ether with an `ETH` suffix (up to 18 decimals).
fn ether(text: &str) -> Result<U256, String> {
    decimal(text, "ETH", 18)
}

fn decimal(text: &str, unit: &str, decimals: usize) -> Result<U256, String> {
    let t = text.trim();
    let bad = || format!("{text:?}: not an amount (an integer, or a number with {unit})");
    let upper = t.to_ascii_uppercase();
    let Some(number) = upper.strip_suffix(unit).map(str::trim) else {
        return U256::from_str_radix(t, 10).map_err(|_| bad());
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > decimals {
        return Err(format!("{text:?}: more than {decimals} decimals"));
    }
    let digits = format!("{whole}{frac:0<decimals$}");
    U256::from_str_radix(&digits, 10).map_err(|_| bad())
}

fn evm_address(text: &str) -> Result<Address, String> {
    Address::from_str(text.trim())
        .map_err(|_| format!("{text:?}: not an EVM address (0x and 40 hex digits)"))
}

fn stake(text: &str) -> Result<Stake, String> {
    let mut parts = text.split(':');
    let (Some(address), Some(value)) = (parts.next(), parts.next()) else {
        return Err(format!("{text:?}: expected 0xADDRESS:AMOUNT[:0xBENEFICIARY]"));
    };
    let address = evm_address(address)?;
    let amount = amount(value)?;
    let beneficiary = parts.next().map_or(Ok(address), evm_address)?;
    if parts.next().is_some() {
        return Err(format!("{text:?}: expected 0xADDRESS:AMOUNT[:0xBENEFICIARY]"));
    }
    Ok(Stake { address, amount, beneficiary })
}

fn hex_bytes<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let t = text.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    let bytes = hex::decode(digits).map_err(|_| format!("{what}: not hex"))?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("{what}: {} bytes, not {N}", b.len()))
}

/// `123 (0.000000123 SESH)`.
fn sesh_text(atomic: U256) -> String {
    format!("{atomic} ({} SESH)", units(atomic, SESH))
}

fn units(value: U256, one: u64) -> String {
    let one = U256::from(one);
    let (whole, frac) = (value / one, value % one);
    if frac.is_zero() {
        return whole.to_string();
    }
    let width = one.to_string().len() - 1;
    let frac = format!("{frac:0>width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

// ---- the sending account ----

/// The sending account. Its key is never printed: `Debug` shows the address only.
struct Sender {
    signer: PrivateKeySigner,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("address", &self.signer.address())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Sender {
    fn read(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("--key {}: {e}", path.display()))?;
        let t = text.trim();
        let digits = t.strip_prefix("0x").unwrap_or(t);
        // The parser's own error is not shown: it could quote the key.
        let signer = PrivateKeySigner::from_str(digits).map_err(|_| {
            format!(
                "--key {}: not a secp256k1 private key (64 hex digits, `0x` optional)",
                path.display()
            )
        })?;
        Ok(Self { signer })
    }

    fn address(&self) -> Address {
        self.signer.address()
    }
}

/// What every command that talks to the chain has.
#[derive(Debug)]
struct Chain {
    provider: DynProvider,
    sender: Option<Sender>,
    timeout: Duration,
}

impl Chain {
    fn connect(args: &Args, needs_key: bool) -> Result<Self, String> {
        let url = args.rpc.as_deref().ok_or("--rpc <url> is needed for this command")?;
        let parsed: reqwest::Url = url.parse().map_err(|e| format!("--rpc {url:?}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("--rpc {url:?}: not http(s)"));
        }
        let sender = match &args.key {
            Some(path) => Some(Sender::read(path)?),
            None if needs_key => return Err("--key <file> is needed for this command".to_owned()),
            None => None,
        };
        let provider = match &sender {
            // The nonce is asked of the chain for each transaction (see `Anvil::provider`).
            Some(s) => ProviderBuilder::new()
                .disable_recommended_fillers()
                .with_gas_estimation()
                .with_simple_nonce_management()
                .fetch_chain_id()
                .wallet(s.signer.clone())
                .connect_http(parsed)
                .erased(),
            None => {
                ProviderBuilder::new().disable_recommended_fillers().connect_http(parsed).erased()
            }
        };
        provider.client().set_poll_interval(Duration::from_millis(250));
        Ok(Self { provider, sender, timeout: Duration::from_secs(args.timeout.max(1)) })
    }

    fn sender(&self) -> Result<Address, String> {
        self.sender.as_ref().map(Sender::address).ok_or_else(|| "--key <file> is needed".to_owned())
    }

    fn rewards(&self, contract: Address) -> Rewards::ServiceNodeRewardsInstance<DynProvider> {
        Rewards::new(contract, self.provider.clone())
    }

    fn token(&self, token: Address) -> SeshToken::SeshTokenInstance<DynProvider> {
        SeshToken::new(token, self.provider.clone())
    }

    async fn chain_id(&self) -> Result<u64, String> {
        self.provider.get_chain_id().await.map_err(|e| format!("eth_chainId: {e}"))
    }

    /// Checks that `contract` has code (a mistyped address would otherwise answer zeros).
    async fn has_code(&self, contract: Address, what: &str) -> Result<(), String> {
        let code = self
            .provider
            .get_code_at(contract)
            .await
            .map_err(|e| format!("eth_getCode {contract}: {e}"))?;
        if code.is_empty() {
            return Err(format!("no contract at {contract} ({what})"));
        }
        Ok(())
    }

    /// Sends `call` (estimated first: a revert is named and nothing is sent) with a quarter
    /// more gas than estimated (a transaction landing after another may cost more than its
    /// estimate: registrations change the contract's non-signer threshold, claims its claim
    /// cycle's counter) and waits for its receipt.
    async fn send<D: CallDecoder + Clone>(
        &self,
        what: &str,
        call: &CallBuilder<&DynProvider, D>,
    ) -> Result<TransactionReceipt, String> {
        let named = |e: alloy::contract::Error| match revert_of(&e) {
            Some(reason) => format!("{what} would revert: {reason}; nothing was sent"),
            None => format!("{what}: {e}"),
        };
        let gas = call.estimate_gas().await.map_err(named)?;
        let pending = call.clone().gas(gas.saturating_add(gas / 4)).send().await.map_err(named)?;
        let hash = *pending.tx_hash();
        let receipt =
            pending.with_timeout(Some(self.timeout)).get_receipt().await.map_err(|e| {
                format!(
                    "{what}: sent as {hash}, but no receipt within {:?} ({e}); check it before \
                     sending again",
                    self.timeout
                )
            })?;
        if receipt.status() {
            return Ok(receipt);
        }
        // Mined but reverted (the chain changed since the estimate): say why, as it would now.
        let why = match call.call_raw().await {
            Ok(_) => "no reason (it would pass now)".to_owned(),
            Err(e) => revert_of(&e).unwrap_or_else(|| e.to_string()),
        };
        Err(format!("{what} {hash} reverted in block {:?}: {why}", receipt.block_number))
    }
}

// ---- reverts, by name ----

/// The committed ABIs whose errors a revert may carry: the staking contract's and the token's
/// (its errors bubble up through the staking contract's transfers).
fn abis() -> Vec<JsonAbi> {
    [SERVICE_NODE_REWARDS_JSON, SESH_TOKEN_JSON]
        .iter()
        .filter_map(|json| {
            let value: Value = serde_json::from_str(json).ok()?;
            serde_json::from_value(value.get("abi")?.clone()).ok()
        })
        .collect()
}

/// A revert's name and arguments, if the error is a revert with data.
fn revert_of(error: &alloy::contract::Error) -> Option<String> {
    error.as_revert_data().map(|data| describe_revert(&data))
}

/// `Name(arg: value, …)` for a revert's data, from the committed ABIs; `Error(string)` and
/// `Panic(code)` by their text; anything else as hex.
fn describe_revert(data: &[u8]) -> String {
    let Some(selector) = data.get(..4) else {
        return if data.is_empty() {
            "a revert without a reason".to_owned()
        } else {
            format!("a revert with data 0x{}", hex::encode(data))
        };
    };
    for abi in abis() {
        for error in abi.errors() {
            if error.selector().as_slice() != selector {
                continue;
            }
            let Ok(decoded) = error.decode_error(data) else { continue };
            let args: Vec<String> = error
                .inputs
                .iter()
                .zip(&decoded.body)
                .map(|(input, value)| format!("{}: {}", input.name, value_text(value)))
                .collect();
            return format!("{}({})", error.name, args.join(", "));
        }
    }
    match GenericRevertReason::decode(data) {
        Some(GenericRevertReason::RawString(text)) if !text.chars().any(char::is_control) => {
            format!("a revert: {text:?}")
        }
        Some(reason @ GenericRevertReason::ContractError(_)) => reason.to_string(),
        _ => format!("an unknown revert 0x{}", hex::encode(data)),
    }
}

fn value_text(value: &DynSolValue) -> String {
    match value {
        DynSolValue::Uint(v, _) => v.to_string(),
        DynSolValue::Int(v, _) => v.to_string(),
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Bytes(b) => format!("0x{}", hex::encode(b)),
        DynSolValue::FixedBytes(w, size) => {
            format!("0x{}", hex::encode(w.get(..*size).unwrap_or_default()))
        }
        other => format!("{other:?}"),
    }
}

// ---- the commands ----

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stake: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let out = match &args.command {
        Command::Registration(r) => registration(args, r).await?,
        Command::Address => {
            let path = args.key.as_deref().ok_or("--key <file> is needed for this command")?;
            let address = Sender::read(path)?.address();
            Output { text: format!("{address}\n"), json: json!({"address": address.to_string()}) }
        }
        Command::Deploy(d) => deploy(&Chain::connect(args, true)?, args, d).await?,
        Command::Register(r) => register(&Chain::connect(args, true)?, r).await?,
        Command::Exit(n) => {
            let chain = Chain::connect(args, true)?;
            chain.has_code(n.contract, "--contract").await?;
            let rewards = chain.rewards(n.contract);
            let receipt = chain
                .send("initiateExitBLSPublicKey", &rewards.initiateExitBLSPublicKey(n.id))
                .await?;
            sent(&receipt, format!("asked for node {} to leave", n.id), json!({"id": n.id}))
        }
        Command::ExitAfterWait(n) => {
            let chain = Chain::connect(args, true)?;
            chain.has_code(n.contract, "--contract").await?;
            let rewards = chain.rewards(n.contract);
            let receipt = chain
                .send("exitBLSPublicKeyAfterWaitTime", &rewards.exitBLSPublicKeyAfterWaitTime(n.id))
                .await?;
            sent(
                &receipt,
                format!(
                    "node {} exited; its stakes return to the contributors' ledger balances \
                     after the unlock, claimed with `claim --node`",
                    n.id
                ),
                json!({"id": n.id}),
            )
        }
        Command::ExitSigned(r) => {
            remove(&Chain::connect(args, true)?, r, sesh_examples::claims::Removal::Exit).await?
        }
        Command::Liquidate(r) => {
            let chain = Chain::connect(args, true)?;
            remove(&chain, r, sesh_examples::claims::Removal::Liquidation).await?
        }
        Command::Claim(c) => claim(&Chain::connect(args, true)?, c).await?,
        Command::Balance(b) => balance(&Chain::connect(args, b.address.is_none())?, b).await?,
        Command::Transfer(t) => transfer(&Chain::connect(args, true)?, t).await?,
    };
    if args.json {
        println!("{}", out.json);
    } else {
        print!("{}", out.text);
    }
    Ok(())
}

/// A command's answer, as text and as JSON.
#[derive(Debug)]
struct Output {
    text: String,
    json: Value,
}

fn sent(receipt: &TransactionReceipt, what: String, mut json: Value) -> Output {
    let (hash, block) = (receipt.transaction_hash, receipt.block_number.unwrap_or_default());
    if let Some(map) = json.as_object_mut() {
        map.insert("tx".to_owned(), json!(hash.to_string()));
        map.insert("block".to_owned(), json!(block));
    }
    Output { text: format!("{}\ntx {hash} (block {block})\n", what.trim_end()), json }
}

async fn deploy(chain: &Chain, args: &Args, d: &DeployArgs) -> Result<Output, String> {
    let sender = chain.sender()?;
    let chain_id = chain.chain_id().await?;
    if d.staking_requirement.is_zero() {
        return Err("--staking-requirement must be above 0".to_owned());
    }
    let settings = Settings {
        supply: d.supply,
        supply_receiver: d.receiver.unwrap_or(sender),
        staking_requirement: d.staking_requirement,
        max_contributors: 10,
        exit_wait_time: d.exit_wait,
        small_contributor_leave_delay: d.small_contributor_leave_delay,
        repeated_leave_request_delay: d.repeated_leave_request_delay,
    };
    eprintln!("deploying the token, ServiceNodeRewards and the contribution factory from {sender}");
    let deployment: Deployment =
        contracts::deploy(&chain.provider, &settings).await.map_err(|e| e.to_string())?;
    let rpc = args.rpc.clone().unwrap_or_default();
    let mut flags =
        format!("--rpc {rpc} --contract {} --start-block {}", deployment.rewards, deployment.block);
    if d.staking_requirement != U256::from(sesh_node::keeper::REQUIREMENT) {
        flags.push_str(&format!(" --staking-requirement {}", d.staking_requirement));
    }
    let text = format!(
        "chain id             {chain_id}\n\
         token (SESH)         {}\n\
         ServiceNodeRewards   {}\n\
         contribution factory {}\n\
         deployment block     {}\n\
         staking requirement  {}\n\
         supply               {} to {}\n\
         owner                {sender}\n\
         the nodes' flags:    {flags}\n",
        deployment.token,
        deployment.rewards,
        deployment.factory,
        deployment.block,
        sesh_text(d.staking_requirement),
        sesh_text(d.supply),
        settings.supply_receiver,
    );
    let json = json!({
        "chain_id": chain_id,
        "token": deployment.token.to_string(),
        "contract": deployment.rewards.to_string(),
        "factory": deployment.factory.to_string(),
        "start_block": deployment.block,
        "staking_requirement": d.staking_requirement.to_string(),
        "supply": d.supply.to_string(),
        "receiver": settings.supply_receiver.to_string(),
        "owner": sender.to_string(),
        "exit_wait": d.exit_wait,
        "node_flags": flags,
    });
    Ok(Output { text, json })
}

async fn registration(args: &Args, r: &RegistrationArgs) -> Result<Output, String> {
    let chain_id = match (r.chain_id, &args.rpc) {
        (Some(id), _) => id,
        (None, Some(_)) => Chain::connect(args, false)?.chain_id().await?,
        (None, None) => return Err("give --chain-id, or --rpc to ask the chain".to_owned()),
    };
    let there = r.node_key.try_exists().map_err(|e| format!("{}: {e}", r.node_key.display()))?;
    if !there && !r.create {
        return Err(format!(
            "{}: no such node key (give the node's key file, or --create to make one as the \
             node would)",
            r.node_key.display()
        ));
    }
    let identity: Identity = sesh_examples::files::node_key(&r.node_key)?;
    if !there {
        eprintln!("made a new node key in {}", r.node_key.display());
    }
    let node = NodeId::from_identity(&identity);
    // The node's own BLS key (the one it signs with, derived from its key as the node derives
    // it), and the proof of possession the contract checks: for this operator, contract and chain.
    let domain = sesh_bls::Domain { chain_id, contract: r.contract.0.0 };
    let proof = sesh_examples::local::chain::proof_of_possession(&identity, &domain, r.operator);
    let bls = sesh_examples::local::chain::bls_key(&identity);
    let words = proof.to_words().map(hex::encode);
    let pop = words.concat();
    let signature = identity.sign(&sesh_chain::abi::node_signature_message(&node, &bls)).to_bytes();
    let signature = hex::encode(signature);
    let text = [
        format!("node (Ed25519)       {node}"),
        format!("BLS key              0x{bls}"),
        format!("proof of possession  0x{pop}"),
        format!(
            "                     (for operator {} on contract {} of chain {chain_id})",
            r.operator, r.contract
        ),
        format!("signature            {signature}"),
        "register it with:".to_owned(),
        format!("  stake register --contract {} --node-pubkey {node} \\", r.contract),
        format!("    --bls-key 0x{bls} \\"),
        format!("    --pop 0x{pop} \\"),
        format!("    --signature {signature}\n"),
    ]
    .join("\n");
    let json = json!({
        "pubkey_ed25519": node.to_string(),
        "bls_key": format!("0x{bls}"),
        "pop": format!("0x{pop}"),
        "pop_words": words.iter().map(|w| format!("0x{w}")).collect::<Vec<_>>(),
        "operator": r.operator.to_string(),
        "contract": r.contract.to_string(),
        "chain_id": chain_id,
        "signature": signature,
    });
    Ok(Output { text, json })
}

async fn register(chain: &Chain, r: &RegisterArgs) -> Result<Output, String> {
    let sender = chain.sender()?;
    let node: NodeId = r
        .node_pubkey
        .trim()
        .parse()
        .map_err(|_| format!("--node-pubkey {:?}: not 32 bytes of hex", r.node_pubkey))?;
    let bls_bytes = hex_bytes::<64>(&r.bls_key, "--bls-key")?;
    let bls = BlsKey::from_bytes(bls_bytes);
    let bls_point = sesh_bls::PublicKey::from_bytes(&bls_bytes)
        .map_err(|e| format!("--bls-key: not a BLS key ({e})"))?;
    let pop = hex_bytes::<128>(&r.pop, "--pop")?;
    let pop = sesh_bls::Signature::from_bytes(&pop)
        .map_err(|e| format!("--pop: not a BLS signature ({e})"))?;
    let signature = hex_bytes::<64>(&r.signature, "--signature")?;
    chain.has_code(r.contract, "--contract").await?;
    let rewards = chain.rewards(r.contract);
    let requirement = rewards
        .stakingRequirement()
        .call()
        .await
        .map_err(|e| format!("stakingRequirement: {e}"))?;
    let token_address =
        rewards.designatedToken().call().await.map_err(|e| format!("designatedToken: {e}"))?;
    let stakes = if r.contributors.is_empty() {
        vec![Stake { address: sender, amount: requirement, beneficiary: sender }]
    } else {
        r.contributors.clone()
    };

    let token = chain.token(token_address);
    let g1 = Rewards::G1Point {
        X: U256::from_be_slice(bls.as_bytes().get(..32).unwrap_or_default()),
        Y: U256::from_be_slice(bls.as_bytes().get(32..).unwrap_or_default()),
    };
    let params = Rewards::ServiceNodeParams {
        serviceNodePubkey: U256::from_be_slice(node.as_bytes()),
        serviceNodeSignature1: U256::from_be_slice(signature.get(..32).unwrap_or_default()),
        serviceNodeSignature2: U256::from_be_slice(signature.get(32..).unwrap_or_default()),
        fee: r.fee,
    };
    // The proof of possession, checked as the contract checks it (the operator is the first
    // contributor, or the sender of a solo registration), so that the reason for a refusal is
    // said here rather than as the contract's bare revert.
    let operator = stakes.first().map_or(sender, |s| s.address);
    let domain = sesh_bls::Domain { chain_id: chain.chain_id().await?, contract: r.contract.0.0 };
    let message = sesh_bls::Message::ProofOfPossession {
        key: bls_point,
        caller: operator.0.0,
        ed25519: *node.as_bytes(),
    };
    bls_point.verify(&domain, &message, &pop).map_err(|e| {
        format!(
            "the proof of possession does not verify for operator {operator} on contract {} of \
             chain {} ({e}): the contract would refuse it; make it with `stake registration \
             --operator {operator} --contract {}`; nothing was sent",
            r.contract, domain.chain_id, r.contract
        )
    })?;
    let [sigs0, sigs1, sigs2, sigs3] = pop.to_words().map(|w| U256::from_be_bytes(w));
    let bls_signature = Rewards::BLSSignatureParams { sigs0, sigs1, sigs2, sigs3 };
    let contributors: Vec<Rewards::Contributor> = if r.contributors.is_empty() {
        Vec::new()
    } else {
        stakes.iter().map(|s| contracts::contributor(s.address, s.beneficiary, s.amount)).collect()
    };
    let add = rewards.addBLSPublicKey(g1, bls_signature, params, contributors);

    // A dry run before the approval, so that a registration the contract refuses changes
    // nothing: without the allowance it can only fail at the final transfer.
    let allowance =
        token.allowance(sender, r.contract).call().await.map_err(|e| format!("allowance: {e}"))?;
    if let Err(e) = add.clone().from(sender).call().await {
        let allowance_only =
            e.as_revert_data().and_then(|d| d.get(..4).map(<[u8]>::to_vec)).is_some_and(|s| {
                s == <SeshToken::ERC20InsufficientAllowance as alloy::sol_types::SolError>::SELECTOR
            });
        if !(allowance_only && allowance < requirement) {
            return Err(match revert_of(&e) {
                Some(reason) => format!("addBLSPublicKey would revert: {reason}; nothing was sent"),
                None => format!("addBLSPublicKey (dry run): {e}"),
            });
        }
    }
    // What the contract leaves to the followers, checked as they check it: a registration
    // they refuse would lock the stake in a node no follower lists.
    let requirement_u64 = u64::try_from(requirement)
        .map_err(|_| format!("the contract's staking requirement  {requirement} is above u64"))?;
    let chain_stakes = stakes
        .iter()
        .map(|s| {
            Ok(ChainStake {
                address: sesh_staking::Address::from_evm(s.address.0.0),
                beneficiary: sesh_staking::Address::from_evm(s.beneficiary.0.0),
                amount: u64::try_from(s.amount)
                    .map_err(|_| format!("a stake of {} is above u64", s.amount))?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let tx = Tx::ChainRegister(ChainRegister {
        node,
        bls_key: bls,
        fee_bp: r.fee,
        contributors: chain_stakes,
        node_signature: signature,
    });
    let verified = VerifiedTx::attested(tx).map_err(|e| {
        format!(
            "the node's signature does not verify over its key and the BLS key ({e}): every \
             follower would refuse this registration; nothing was sent"
        )
    })?;
    let mut ledger = Ledger::new(Params::testnet(requirement_u64));
    ledger.apply(&verified).map_err(|e| {
        format!(
            "the ledger's rules refuse this registration ({e}): every follower would; nothing \
             was sent"
        )
    })?;

    let balance = token.balanceOf(sender).call().await.map_err(|e| format!("balanceOf: {e}"))?;
    if balance < requirement {
        return Err(format!(
            "{sender} holds {} of {token_address}, the stake is {}: nothing was sent",
            sesh_text(balance),
            sesh_text(requirement)
        ));
    }
    if allowance < requirement {
        chain.send("approve", &token.approve(r.contract, requirement)).await?;
    }
    let receipt = chain.send("addBLSPublicKey", &add).await?;
    let id = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| Rewards::NewServiceNodeV2::decode_log(&log.inner).ok())
        .map(|event| event.serviceNodeID)
        .ok_or_else(|| format!("{}: no NewServiceNodeV2 log", receipt.transaction_hash))?;
    let stakes_text: Vec<String> = stakes
        .iter()
        .map(|s| {
            let to = if s.beneficiary == s.address {
                String::new()
            } else {
                format!(" paid to {}", s.beneficiary)
            };
            format!("  {} {}{to}\n", s.address, sesh_text(s.amount))
        })
        .collect();
    let out = sent(
        &receipt,
        format!(
            "registered node {node} as id {id} (fee {} bp), stakes:\n{}",
            r.fee,
            stakes_text.concat()
        ),
        json!({
            "id": id,
            "node": node.to_string(),
            "fee_bp": r.fee,
            "contributors": stakes.iter().map(|s| json!({
                "address": s.address.to_string(),
                "beneficiary": s.beneficiary.to_string(),
                "amount": s.amount.to_string(),
            })).collect::<Vec<_>>(),
        }),
    );
    Ok(out)
}

async fn claim(chain: &Chain, c: &ClaimArgs) -> Result<Output, String> {
    let sender = chain.sender()?;
    chain.has_code(c.contract, "--contract").await?;
    if !c.nodes.is_empty() || c.nodes_from.is_some() {
        return claim_through_network(chain, c, sender).await;
    }
    let rewards = chain.rewards(c.contract);
    let before = rewards.recipients(sender).call().await.map_err(|e| format!("recipients: {e}"))?;
    let claimable = before.rewards.saturating_sub(before.claimed);
    let amount = c.amount.unwrap_or(claimable);
    if amount.is_zero() {
        return Err(format!(
            "{sender} has nothing to claim (the contract credits what the network has signed: \
             --node <url> or --nodes-from <seed> has it sign the balance first)"
        ));
    }
    let receipt = match c.amount {
        Some(a) => chain.send("claimRewards(amount)", &rewards.claimRewards_1(a)).await?,
        None => chain.send("claimRewards", &rewards.claimRewards_0()).await?,
    };
    Ok(sent(
        &receipt,
        format!("claimed {} to {sender}", sesh_text(amount)),
        json!({"claimed": amount.to_string(), "address": sender.to_string()}),
    ))
}

/// `claim --node …`/`--nodes-from …`: the network's signature of the sender's balance, sent
/// to the contract, then the claim.
async fn claim_through_network(
    chain: &Chain,
    c: &ClaimArgs,
    sender: Address,
) -> Result<Output, String> {
    use sesh_examples::claims;
    let http = claims::node_client()?;
    let nodes = match &c.nodes_from {
        Some(seed) => {
            claims::nodes_from_seed(&http, seed, !c.plain_http).await.map_err(|e| e.to_string())?
        }
        None => c.nodes.iter().map(|n| n.trim_end_matches('/').to_owned()).collect(),
    };
    let set =
        claims::registered_set(&chain.provider, c.contract).await.map_err(|e| e.to_string())?;
    let height = match c.height {
        Some(h) => h,
        None => claims::common_height(&http, &nodes).await.map_err(|e| e.to_string())?,
    };
    let collected =
        claims::collect_reward(&http, &nodes, &set, sender, height, Duration::from_secs(5))
            .await
            .map_err(|e| e.to_string())?;
    let mut text = format!(
        "the network signed {} for {sender} at height {height}: {} of {} nodes (the contract \
         takes up to {} non-signers){}\n",
        sesh_text(U256::from(collected.amount)),
        collected.signers.len(),
        set.keys.len(),
        set.allowed_non_signers(),
        if collected.non_signers.is_empty() {
            String::new()
        } else {
            format!(
                "; non-signers: {}",
                collected.non_signers.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
            )
        },
    );
    for why in &collected.skipped {
        text.push_str(&format!("  skipped {why}\n"));
    }
    for (amount, ids) in &collected.dissent {
        text.push_str(&format!("  nodes {ids:?} signed another amount: {amount}\n"));
    }
    let update = match claims::update_balance(&chain.provider, c.contract, &collected).await {
        Ok(receipt) => {
            let (hash, block) =
                (receipt.transaction_hash, receipt.block_number.unwrap_or_default());
            text.push_str(&format!(
                "balance updated (updateRewardsBalance): tx {hash} (block {block})\n"
            ));
            json!({"tx": hash.to_string(), "block": block})
        }
        Err(claims::ClaimError::NotAbove { on_chain, .. })
            if on_chain == U256::from(collected.amount) =>
        {
            text.push_str("the contract already credits that balance\n");
            Value::Null
        }
        Err(e) => return Err(e.to_string()),
    };
    let (paid, receipt) = claims::claim(&chain.provider, c.contract, sender, c.amount)
        .await
        .map_err(|e| e.to_string())?;
    let out = sent(
        &receipt,
        format!("{text}claimed {} to {sender}", sesh_text(paid)),
        json!({
            "address": sender.to_string(),
            "height": height,
            "signed": collected.amount.to_string(),
            "signers": collected.signers,
            "non_signers": collected.non_signers,
            "skipped": collected.skipped,
            "update": update,
            "claimed": paid.to_string(),
        }),
    );
    Ok(out)
}

/// `exit-signed` / `liquidate`: the network's signature of the node's removal, sent to the
/// contract; prints the node, the signers and non-signers (and why each was skipped), the
/// transaction and what the contract emitted.
async fn remove(
    chain: &Chain,
    r: &RemovalArgs,
    removal: sesh_examples::claims::Removal,
) -> Result<Output, String> {
    use sesh_examples::claims::{self, Removal};
    chain.sender()?;
    chain.has_code(r.contract, "--contract").await?;
    let http = claims::node_client()?;
    let nodes = match &r.nodes_from {
        Some(seed) => {
            claims::nodes_from_seed(&http, seed, !r.plain_http).await.map_err(|e| e.to_string())?
        }
        None => r.nodes.iter().map(|n| n.trim_end_matches('/').to_owned()).collect(),
    };
    let set =
        claims::registered_set(&chain.provider, r.contract).await.map_err(|e| e.to_string())?;
    let key = set
        .keys
        .iter()
        .find(|(id, _)| *id == r.id)
        .map(|(_, k)| *k)
        .ok_or_else(|| claims::ClaimError::NoSuchNode(r.id).to_string())?;
    let timestamp = r.timestamp.unwrap_or_else(claims::unix_now);
    let wait = Duration::from_secs(r.wait);
    let collected = claims::collect_removal(&http, &nodes, &set, removal, key, timestamp, wait)
        .await
        .map_err(|e| e.to_string())?;
    let what = match removal {
        Removal::Exit => "exit",
        Removal::Liquidation => "liquidation",
    };
    let ids = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let mut text = format!(
        "the network signed the {what} of node {} (BLS key 0x{}) at timestamp {timestamp}: {} \
         of {} nodes (the contract takes up to {} non-signers)\n  signers: {}\n",
        r.id,
        hex::encode(key.to_bytes()),
        collected.signers.len(),
        set.keys.len(),
        set.allowed_non_signers(),
        ids(&collected.signers),
    );
    if !collected.non_signers.is_empty() {
        text.push_str(&format!("  non-signers: {}\n", ids(&collected.non_signers)));
    }
    for why in &collected.skipped {
        text.push_str(&format!("  skipped {why}\n"));
    }
    let removed = claims::send_removal(&chain.provider, r.contract, &collected)
        .await
        .map_err(|e| e.to_string())?;
    text.push_str(&format!(
        "{}: ServiceNodeExit(node {}, returned {})",
        removal.function(),
        r.id,
        sesh_text(removed.returned)
    ));
    if let Some(liquidator) = removed.liquidator {
        text.push_str(&format!(", ServiceNodeLiquidated(node {}, by {liquidator})", r.id));
    }
    Ok(sent(
        &removed.receipt,
        text,
        json!({
            "removal": what,
            "id": r.id,
            "bls_key": format!("0x{}", hex::encode(key.to_bytes())),
            "timestamp": timestamp,
            "signers": collected.signers,
            "non_signers": collected.non_signers,
            "skipped": collected.skipped,
            "returned": removed.returned.to_string(),
            "liquidator": removed.liquidator.map(|a| a.to_string()),
        }),
    ))
}

async fn balance(chain: &Chain, b: &BalanceArgs) -> Result<Output, String> {
    let address = match b.address {
        Some(a) => a,
        None => chain.sender()?,
    };
    chain.has_code(b.contract, "--contract").await?;
    let rewards = chain.rewards(b.contract);
    let token_address =
        rewards.designatedToken().call().await.map_err(|e| format!("designatedToken: {e}"))?;
    let tokens = chain
        .token(token_address)
        .balanceOf(address)
        .call()
        .await
        .map_err(|e| format!("balanceOf: {e}"))?;
    let credited =
        rewards.recipients(address).call().await.map_err(|e| format!("recipients: {e}"))?;
    let claimable = credited.rewards.saturating_sub(credited.claimed);
    let eth =
        chain.provider.get_balance(address).await.map_err(|e| format!("eth_getBalance: {e}"))?;
    let text = format!(
        "account   {address}\n\
         ether     {eth} wei ({} ETH)\n\
         tokens    {}\n\
         claimable {}\n\
         claimed   {}\n",
        units(eth, 1_000_000_000_000_000_000),
        sesh_text(tokens),
        sesh_text(claimable),
        sesh_text(credited.claimed),
    );
    let json = json!({
        "address": address.to_string(),
        "token": token_address.to_string(),
        "eth": eth.to_string(),
        "tokens": tokens.to_string(),
        "claimable": claimable.to_string(),
        "claimed": credited.claimed.to_string(),
    });
    Ok(Output { text, json })
}

async fn transfer(chain: &Chain, t: &TransferArgs) -> Result<Output, String> {
    let sender = chain.sender()?;
    match (t.token, t.amount, t.eth) {
        (Some(token), Some(amount), None) => {
            chain.has_code(token, "--token").await?;
            let receipt =
                chain.send("transfer", &chain.token(token).transfer(t.to, amount)).await?;
            Ok(sent(
                &receipt,
                format!("sent {} of {token} from {sender} to {}", sesh_text(amount), t.to),
                json!({"token": token.to_string(), "to": t.to.to_string(), "amount": amount.to_string()}),
            ))
        }
        (None, None, Some(wei)) => {
            let tx = TransactionRequest::default().with_to(t.to).with_value(wei);
            let pending = chain
                .provider
                .send_transaction(tx)
                .await
                .map_err(|e| format!("sending ether: {e}"))?;
            let hash = *pending.tx_hash();
            let receipt = pending
                .with_timeout(Some(chain.timeout))
                .get_receipt()
                .await
                .map_err(|e| format!("sent as {hash}, but no receipt: {e}"))?;
            if !receipt.status() {
                return Err(format!("{hash} failed"));
            }
            Ok(sent(
                &receipt,
                format!(
                    "sent {wei} wei ({} ETH) from {sender} to {}",
                    units(wei, 1_000_000_000_000_000_000),
                    t.to
                ),
                json!({"to": t.to.to_string(), "wei": wei.to_string()}),
            ))
        }
        _ => Err("give --token and --amount, or --eth".to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError as _;

    #[test]
    fn amounts_in_atomic_units_or_whole_tokens() {
        assert_eq!(amount("100SESH").unwrap(), U256::from(100 * SESH));
        assert_eq!(amount("2.5 sesh").unwrap(), U256::from(2_500_000_000u64));
        assert_eq!(amount("0.000000001SESH").unwrap(), U256::from(1u8));
        assert_eq!(amount("1234").unwrap(), U256::from(1234u64));
        assert!(amount("0.0000000001SESH").is_err());
        assert!(amount("1e9").is_err());
        assert!(amount("SESH").is_err());
        assert!(amount("-1").is_err());
        assert_eq!(ether("0.01ETH").unwrap(), U256::from(10_000_000_000_000_000u64));
        assert_eq!(units(U256::from(2_500_000_000u64), SESH), "2.5");
        assert_eq!(units(U256::from(100 * SESH), SESH), "100");
    }

    #[test]
    fn contributors_with_and_without_a_beneficiary() {
        let a = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let b = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
        let s = stake(&format!("{a}:50SESH")).unwrap();
        assert_eq!(
            (s.address, s.beneficiary, s.amount),
            (s.address, s.address, U256::from(50 * SESH))
        );
        let s = stake(&format!("{a}:7:{b}")).unwrap();
        assert_eq!(s.beneficiary, evm_address(b).unwrap());
        assert!(stake(a).is_err());
        assert!(stake(&format!("{a}:7:{b}:1")).is_err());
        assert!(stake("0x12:7").is_err());
    }

    #[test]
    fn reverts_are_named_with_their_arguments() {
        let data = Rewards::ContributionTotalMismatch {
            required: U256::from(100u8),
            provided: U256::from(95u8),
        }
        .abi_encode();
        assert_eq!(
            describe_revert(&data),
            "ContributionTotalMismatch(required: 100, provided: 95)"
        );
        let who: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap();
        let data = SeshToken::ERC20InsufficientBalance {
            sender: who,
            balance: U256::ZERO,
            needed: U256::from(5u8),
        }
        .abi_encode();
        assert_eq!(
            describe_revert(&data),
            format!("ERC20InsufficientBalance(sender: {who}, balance: 0, needed: 5)")
        );
        assert_eq!(describe_revert(&[]), "a revert without a reason");
        assert!(describe_revert(&[1, 2]).contains("0x0102"));
        assert!(describe_revert(&[1, 2, 3, 4, 5]).contains("unknown"));
        // A known selector with a truncated body does not panic.
        assert!(!describe_revert(&data[..10]).is_empty());
    }

    #[test]
    fn the_sending_key_is_never_in_debug_output() {
        let dir = std::env::temp_dir().join(format!("stake-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let path = dir.join("key");
        std::fs::write(&path, format!("  0x{key}\n")).unwrap();
        let sender = Sender::read(&path).unwrap();
        assert_eq!(sender.address().to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let debug = format!("{sender:?}");
        assert!(!debug.to_lowercase().contains(key) && debug.contains("redacted"), "{debug}");
        // Nor in what holds it: the command line, and the chain connection with its wallet.
        let args = Args::parse_from([
            "stake",
            "--rpc",
            "http://127.0.0.1:9",
            "--key",
            path.to_str().unwrap(),
            "claim",
            "--contract",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        ]);
        let chain = Chain::connect(&args, true).unwrap();
        for debug in [format!("{args:?}"), format!("{chain:?}"), format!("{:?}", chain.provider)] {
            assert!(!debug.to_lowercase().contains(key), "{debug}");
        }
        std::fs::write(&path, format!("{key}zz")).unwrap();
        let e = Sender::read(&path).unwrap_err();
        assert!(!e.contains(key), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
