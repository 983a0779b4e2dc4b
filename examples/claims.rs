//! Having the network sign, as a claimant's (or any caller's) own client does it: the nodes
//! each sign what their own ledger agrees with, this module checks every answer against the key
//! the **contract** registered for that node and aggregates them (the sum checked once as the
//! contract checks it, `sesh_bls::verify_aggregate`; each signature alone,
//! `sesh_bls::Collector`, only if that fails), and the aggregate goes to the contract. Three
//! things are signed ([`Subject`]), by one shared path (the set, concurrent requests, the check,
//! the aggregate, the dry-run-then-send):
//!
//! - **A reward balance**: a contributor's cumulative balance at a height (`POST
//!   /network/v1/bls/reward`), sent with `updateRewardsBalance`, after which the contributor
//!   claims (`claimRewards`): [`collect_reward`], [`update_balance`], [`claim`],
//!   [`claim_through_network`].
//! - **An exit** or **a liquidation** of a node, by its BLS key and a timestamp (`POST
//!   /network/v1/bls/exit`, `/liquidate`), sent with `exitBLSPublicKeyWithSignature` or
//!   `liquidateBLSPublicKeyWithSignature`: [`collect_removal`], [`send_removal`],
//!   [`remove_through_network`]. The nodes sign only a timestamp within 3 minutes of their
//!   clocks and the contract takes the signature for 10 minutes after it, and only for a node
//!   registered at least 2 hours (by the chain's clock) before.
//!
//! The parts:
//!
//! - [`registered_set`]: the set the contract checks signatures against, read from the chain
//!   (`allServiceNodeIDs()`: the ids and G1 keys whose sum is the contract's aggregate key), not
//!   from any node's word, with the chain id and the contract (the signatures' domain) and the
//!   contract's most non-signers.
//! - [`common_height`]: a height the answering nodes have applied and still keep.
//! - The collection: every node asked concurrently; an answer that does not parse, comes from a
//!   key the contract does not list, is for another address or height, or whose signature does
//!   not verify is skipped (the node counts as a non-signer), with the reason in
//!   [`Collected::skipped`] / [`CollectedRemoval::skipped`]. Fails with
//!   [`ClaimError::TooFewSigners`] when more nodes than the contract allows did not sign, and
//!   (balances) with [`ClaimError::NodesDisagree`] when valid signatures name different amounts
//!   and none of them has enough signers.
//! - The transactions: each first dry-run so that a revert is named and nothing is sent, then
//!   sent with a quarter more gas than estimated.
//!
//! The nodes' certificates are self-signed (as the live network's are) and not checked: what a
//! node answers is authenticated by its BLS signature against the contract's key for it, and a
//! forged answer is skipped like any bad signature.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolEvent as _, SolInterface as _};
use serde_json::{Value, json};
use sesh_bls::{Collector, Domain, Message, PublicKey, Signature};

use crate::contracts::ServiceNodeRewards as Rewards;

/// The node endpoint that signs a balance.
pub const REWARD_PATH: &str = "/network/v1/bls/reward";
/// The node endpoint that signs an exit.
pub const EXIT_PATH: &str = "/network/v1/bls/exit";
/// The node endpoint that signs a liquidation.
pub const LIQUIDATE_PATH: &str = "/network/v1/bls/liquidate";

/// How far below the highest node's height [`common_height`] goes: half the heights a node
/// keeps for signing.
pub const HEIGHT_SPREAD: u64 = sesh_node::signing::HISTORY_HEIGHTS / 2;

/// What went wrong with a claim.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// A call to the chain failed (the transport, or an answer that does not decode).
    #[error("{what}: {why}")]
    Chain {
        /// The call.
        what: String,
        /// What went wrong.
        why: String,
    },
    /// The contract lists a key that is not a G1 point (a contract that does not check keys).
    #[error("the contract's node {id} has a key that is not a valid G1 point: {why}")]
    BadRegisteredKey {
        /// The contract's id of the node.
        id: u64,
        /// Why the key was refused.
        why: sesh_bls::Error,
    },
    /// The contract lists no node: nothing can be signed.
    #[error("the contract lists no nodes")]
    NoRegisteredNodes,
    /// No node URLs were given.
    #[error("no node URLs given")]
    NoNodes,
    /// A seed gave no list of nodes.
    #[error("the seed {seed}: {why}")]
    Seed {
        /// The seed's URL.
        seed: String,
        /// What went wrong.
        why: String,
    },
    /// No node said what height it has applied.
    #[error("no node said its height: {0}")]
    NoHeight(String),
    /// Valid signatures name different amounts and none has enough signers.
    #[error(
        "the nodes disagree on {subject}: {}; none has enough signers (at most {allowed} of \
         {total} may not sign)",
        amounts.iter().map(|(a, n)| format!("{a} signed by {n}")).collect::<Vec<_>>().join(", ")
    )]
    NodesDisagree {
        /// What was asked.
        subject: Box<Subject>,
        /// Each amount signed and how many valid signatures it has.
        amounts: Vec<(u128, usize)>,
        /// The contract's registered nodes.
        total: usize,
        /// The most non-signers the contract takes.
        allowed: usize,
    },
    /// Too few nodes signed: more non-signers than the contract takes.
    #[error(
        "too few signers for {subject}: {signed} of {total} nodes signed{}, the contract takes \
         at most {allowed} non-signers{}",
        if subject.is_reward() { format!(" {amount}") } else { String::new() },
        if skipped.is_empty() { String::new() } else { format!(" (skipped: {})", skipped.join("; ")) }
    )]
    TooFewSigners {
        /// What was asked.
        subject: Box<Subject>,
        /// The amount the most nodes signed (0 if none did; 0 for an exit or a liquidation).
        amount: u128,
        /// Valid signatures of it.
        signed: usize,
        /// The contract's registered nodes.
        total: usize,
        /// The most non-signers the contract takes.
        allowed: usize,
        /// The nodes that gave no valid signature, and why.
        skipped: Vec<String>,
    },
    /// The contract does not hold the node to remove (it exited, was liquidated, or was never
    /// registered): nothing to sign or send.
    #[error("the contract holds no node with the BLS key 0x{}", hex::encode(.0))]
    NotRegistered(
        /// The key (`X ‖ Y`).
        [u8; 64],
    ),
    /// The contract holds no node of this id.
    #[error("the contract holds no node {0} (it exited, was liquidated, or never was)")]
    NoSuchNode(u64),
    /// The contract already credits as much as the network signed.
    #[error(
        "the network signed {signed} for {address}, and the contract already credits {on_chain}: \
         nothing to update"
    )]
    NotAbove {
        /// The recipient.
        address: Address,
        /// The amount signed.
        signed: u128,
        /// `recipients(address).rewards`.
        on_chain: U256,
    },
    /// Nothing is claimable.
    #[error("{0} has nothing to claim")]
    NothingToClaim(Address),
    /// The contract would revert (a dry run): nothing was sent.
    #[error("{what} would revert: {reason}; nothing was sent")]
    WouldRevert {
        /// The call.
        what: String,
        /// The revert, by name.
        reason: String,
    },
    /// The transaction was sent and reverted, or has no receipt.
    #[error("{what}: {why}")]
    Sent {
        /// The call.
        what: String,
        /// What happened.
        why: String,
    },
}

fn chain_error(what: &str) -> impl FnOnce(alloy::contract::Error) -> ClaimError + '_ {
    move |e| ClaimError::Chain { what: what.to_owned(), why: e.to_string() }
}

/// The set the contract checks the network's signatures against.
#[derive(Debug, Clone)]
pub struct RegisteredSet {
    /// The signatures' domain: the chain id and the contract.
    pub domain: Domain,
    /// The staking contract.
    pub contract: Address,
    /// Each registered node's contract id and BLS key, as the contract lists them.
    pub keys: Vec<(u64, PublicKey)>,
    /// The contract's cap on non-signers (`blsNonSignerThresholdMax()`): the most non-signers
    /// are `min(nodes / 3, this)`.
    pub threshold_max: usize,
}

impl RegisteredSet {
    /// The most non-signers the contract takes.
    #[must_use]
    pub fn allowed_non_signers(&self) -> usize {
        sesh_bls::non_signer_threshold(self.keys.len(), self.threshold_max)
    }
}

/// A contract's G1 point as a key (`(0, 0)`, which the contract never registers, reads as the
/// identity).
fn key_of(p: &Rewards::G1Point) -> Result<PublicKey, sesh_bls::Error> {
    let mut bytes = [0u8; 64];
    let (x, y) = bytes.split_at_mut(32);
    x.copy_from_slice(&p.X.to_be_bytes::<32>());
    y.copy_from_slice(&p.Y.to_be_bytes::<32>());
    PublicKey::from_bytes(&bytes)
}

/// The set the contract at `contract` checks signatures against, read from the chain at its tip.
///
/// # Errors
/// [`ClaimError::Chain`], [`ClaimError::BadRegisteredKey`], [`ClaimError::NoRegisteredNodes`].
pub async fn registered_set(
    provider: &DynProvider,
    contract: Address,
) -> Result<RegisteredSet, ClaimError> {
    let rewards = Rewards::new(contract, provider.clone());
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| ClaimError::Chain { what: "eth_chainId".to_owned(), why: e.to_string() })?;
    let all = rewards.allServiceNodeIDs().call().await.map_err(chain_error("allServiceNodeIDs"))?;
    let threshold_max = rewards
        .blsNonSignerThresholdMax()
        .call()
        .await
        .map_err(chain_error("blsNonSignerThresholdMax"))?;
    let keys = all
        .ids
        .iter()
        .zip(&all.pubkeys)
        .map(|(id, p)| {
            Ok((*id, key_of(p).map_err(|why| ClaimError::BadRegisteredKey { id: *id, why })?))
        })
        .collect::<Result<Vec<_>, ClaimError>>()?;
    if keys.is_empty() {
        return Err(ClaimError::NoRegisteredNodes);
    }
    Ok(RegisteredSet {
        domain: Domain { chain_id, contract: contract.0.0 },
        contract,
        keys,
        threshold_max: usize::try_from(threshold_max).unwrap_or(usize::MAX),
    })
}

/// A height to have a balance signed at: the least of the heights the nodes at `nodes` say they
/// have applied (`GET /network/v1/chain`), among those that answer and are within
/// [`HEIGHT_SPREAD`] of the highest (a node far behind, e.g. one replaying the chain after a
/// restart, would otherwise pull the height below what the others still keep; it counts as a
/// non-signer instead).
///
/// # Errors
/// [`ClaimError::NoHeight`] when none answers.
pub async fn common_height(http: &reqwest::Client, nodes: &[String]) -> Result<u64, ClaimError> {
    let mut asks = tokio::task::JoinSet::new();
    for url in nodes {
        let (http, url) = (http.clone(), url.clone());
        asks.spawn(async move {
            let got = http.get(format!("{url}/network/v1/chain")).send().await;
            let body = match got {
                Ok(r) if r.status() == 200 => crate::http::read_capped(r).await.ok(),
                _ => None,
            };
            let v: Option<Value> = body.and_then(|b| serde_json::from_slice(&b).ok());
            v.and_then(|v| v.get("height")?.as_u64()).ok_or(url)
        });
    }
    let (mut heights, mut silent) = (Vec::new(), Vec::new());
    while let Some(done) = asks.join_next().await {
        match done {
            Ok(Ok(h)) => heights.push(h),
            Ok(Err(url)) => silent.push(url),
            Err(e) => silent.push(e.to_string()),
        }
    }
    let highest = heights.iter().copied().max().unwrap_or(0);
    let least = heights.into_iter().filter(|h| *h + HEIGHT_SPREAD >= highest).min();
    least.filter(|h| *h > 0).ok_or_else(|| {
        ClaimError::NoHeight(if silent.is_empty() {
            "every node is at height 0".to_owned()
        } else {
            format!("no answer from {}", silent.join(", "))
        })
    })
}

/// What the nodes are asked to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A recipient's cumulative reward balance at a sesh height (`POST /network/v1/bls/reward`;
    /// each node names the amount).
    Reward {
        /// The recipient.
        address: Address,
        /// The height.
        height: u64,
    },
    /// A node's exit (`POST /network/v1/bls/exit`).
    Exit {
        /// The node's BLS key, as the contract holds it.
        key: PublicKey,
        /// The message's timestamp, unix seconds.
        timestamp: u64,
    },
    /// A node's liquidation (`POST /network/v1/bls/liquidate`).
    Liquidation {
        /// The node's BLS key, as the contract holds it.
        key: PublicKey,
        /// The message's timestamp, unix seconds.
        timestamp: u64,
    },
}

impl core::fmt::Display for Subject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let short = |k: &PublicKey| hex::encode(k.to_bytes().get(..8).unwrap_or_default());
        match self {
            Self::Reward { address, height } => write!(f, "{address}'s balance at height {height}"),
            Self::Exit { key, timestamp } => {
                write!(f, "the exit of BLS key 0x{}… at timestamp {timestamp}", short(key))
            }
            Self::Liquidation { key, timestamp } => {
                write!(f, "the liquidation of BLS key 0x{}… at timestamp {timestamp}", short(key))
            }
        }
    }
}

impl Subject {
    /// Whether the nodes name an amount (a reward balance).
    #[must_use]
    pub fn is_reward(&self) -> bool {
        matches!(self, Self::Reward { .. })
    }

    /// The node endpoint that signs it.
    #[must_use]
    pub fn path(&self) -> &'static str {
        match self {
            Self::Reward { .. } => REWARD_PATH,
            Self::Exit { .. } => EXIT_PATH,
            Self::Liquidation { .. } => LIQUIDATE_PATH,
        }
    }

    /// The request's body.
    fn body(&self) -> String {
        match self {
            Self::Reward { address, height } => {
                json!({"address": address.to_string(), "height": height}).to_string()
            }
            Self::Exit { key, timestamp } | Self::Liquidation { key, timestamp } => json!({
                "bls_pubkey": format!("0x{}", hex::encode(key.to_bytes())),
                "timestamp": timestamp,
            })
            .to_string(),
        }
    }

    /// The message signed, with `amount` for a reward balance (ignored otherwise).
    #[must_use]
    pub fn message(&self, amount: u128) -> Message {
        match *self {
            Self::Reward { address, .. } => Message::Reward { recipient: address.0.0, amount },
            Self::Exit { key, timestamp } => Message::Exit { key, timestamp },
            Self::Liquidation { key, timestamp } => Message::Liquidate { key, timestamp },
        }
    }
}

/// One node's answer: its signature (of an amount, for a reward balance), with the key it
/// signed with.
#[derive(Debug, Clone, Copy)]
struct Signed {
    amount: u128,
    key: PublicKey,
    contract_id: Option<u64>,
    signature: Signature,
}

/// A node's answer to a request for `subject`, parsed (untrusted JSON: never panics).
fn parse_answer(body: &[u8], subject: &Subject) -> Result<Signed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let field = |k: &str| v.get(k).ok_or_else(|| format!("no {k:?}"));
    let amount = match *subject {
        Subject::Reward { address, height } => {
            let answered: Address = field("address")?
                .as_str()
                .and_then(|a| a.parse().ok())
                .ok_or("\"address\" is not an EVM address")?;
            if answered != address {
                return Err(format!("it signed for {answered}, not {address}"));
            }
            let at = field("height")?.as_u64().ok_or("\"height\" is not a number")?;
            if at != height {
                return Err(format!("it signed at height {at}, not {height}"));
            }
            field("amount")?
                .as_str()
                .and_then(|a| a.parse().ok())
                .ok_or("\"amount\" is not a decimal string")?
        }
        Subject::Exit { .. } | Subject::Liquidation { .. } => 0,
    };
    let words = field("signature")?.as_array().ok_or("\"signature\" is not a list")?;
    let words: Vec<[u8; 32]> = words
        .iter()
        .map(|w| hex_array::<32>(w.as_str().unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    let words: [[u8; 32]; 4] =
        words.try_into().map_err(|w: Vec<_>| format!("{} signature words, not 4", w.len()))?;
    let signature = Signature::from_words(&words).map_err(|e| format!("the signature: {e}"))?;
    let key = hex_array::<64>(field("bls_pubkey")?.as_str().unwrap_or_default())?;
    let key = PublicKey::from_bytes(&key).map_err(|e| format!("\"bls_pubkey\": {e}"))?;
    let contract_id = v.get("contract_id").and_then(Value::as_u64);
    Ok(Signed { amount, key, contract_id, signature })
}

fn hex_array<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits).map_err(|_| format!("{text:?} is not hex"))?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("{} bytes where {N} were expected", b.len()))
}

/// Asks `url` for its signature of `subject`; a refusal (HTTP 409 or 503, e.g. a height the
/// node has not applied yet, or a removal its ledger has not seen yet) or no answer is asked
/// again every 100 ms until `until`.
async fn ask(
    http: &reqwest::Client,
    url: &str,
    subject: &Subject,
    until: Instant,
) -> Result<Signed, String> {
    let body = subject.body();
    loop {
        let sent = http
            .post(format!("{url}{}", subject.path()))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let why = match sent {
            Ok(r) => {
                let status = r.status();
                let bytes = crate::http::read_capped(r).await.map_err(|e| {
                    e.map_or_else(|| "an answer over the cap".to_owned(), |e| e.to_string())
                });
                match (status.as_u16(), bytes) {
                    (200, Ok(b)) => return parse_answer(&b, subject),
                    (code @ (409 | 503), Ok(b)) => {
                        let text =
                            String::from_utf8_lossy(&b).chars().take(300).collect::<String>();
                        format!("refused ({code}): {}", text.trim())
                    }
                    (code, Ok(b)) => {
                        let text =
                            String::from_utf8_lossy(&b).chars().take(300).collect::<String>();
                        return Err(format!("answered {code}: {}", text.trim()));
                    }
                    (_, Err(e)) => e,
                }
            }
            Err(e) => crate::http::chain(&e),
        };
        if Instant::now() >= until {
            return Err(why);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The network's signature of a balance, ready for `updateRewardsBalance`.
#[derive(Debug, Clone)]
pub struct Collected {
    /// The recipient.
    pub address: Address,
    /// The height it was signed at.
    pub height: u64,
    /// The cumulative balance signed (atomic units).
    pub amount: u128,
    /// The aggregate of the valid signatures of `amount`.
    pub signature: Signature,
    /// The contract ids that signed it.
    pub signers: Vec<u64>,
    /// The contract ids that did not (ascending): the contract subtracts their keys.
    pub non_signers: Vec<u64>,
    /// The nodes asked whose answers were not used, and why (`<url>: <why>`).
    pub skipped: Vec<String>,
    /// Valid signatures of other amounts (their nodes count as non-signers): amount, ids.
    pub dissent: Vec<(u128, Vec<u64>)>,
}

/// What [`aggregate_answers`] makes of the answers for one subject.
#[derive(Debug, Clone)]
struct Aggregated {
    amount: u128,
    signature: Signature,
    signers: Vec<u64>,
    non_signers: Vec<u64>,
    skipped: Vec<String>,
    dissent: Vec<(u128, Vec<u64>)>,
}

/// Asks every node of `nodes` (base URLs) for its signature of `subject`, concurrently, checks
/// each answer against `set` off the async runtime, and aggregates (see
/// [`aggregate_answers`]). Nodes that refuse or do not answer are asked again until `wait` has
/// passed; then they count as non-signers.
async fn collect(
    http: &reqwest::Client,
    nodes: &[String],
    set: &RegisteredSet,
    subject: Subject,
    wait: Duration,
) -> Result<Aggregated, ClaimError> {
    if nodes.is_empty() {
        return Err(ClaimError::NoNodes);
    }
    let until = Instant::now() + wait;
    let mut asks = tokio::task::JoinSet::new();
    for url in nodes {
        let (http, url) = (http.clone(), url.trim_end_matches('/').to_owned());
        asks.spawn(async move {
            let got = ask(&http, &url, &subject, until).await;
            (url, got)
        });
    }
    let mut answers = Vec::with_capacity(nodes.len());
    while let Some(done) = asks.join_next().await {
        if let Ok(answer) = done {
            answers.push(answer);
        }
    }
    let set = set.clone();
    tokio::task::spawn_blocking(move || aggregate_answers(&set, &subject, answers)).await.map_err(
        |e| ClaimError::Chain { what: "checking the signatures".to_owned(), why: e.to_string() },
    )?
}

/// Asks every node of `nodes` (base URLs) for its signature of `address`'s cumulative balance at
/// `height`, checks each against `set`, and aggregates the amount the most nodes signed. Nodes
/// that refuse or do not answer are asked again until `wait` has passed (a node a height
/// behind catches up); then they count as non-signers.
///
/// The answers are gathered first, then checked off the async runtime (pairings are CPU work):
/// the sum of the answers for the amount is checked once as the contract checks it
/// (`sesh_bls::verify_aggregate`); only if that fails is each checked alone
/// (`sesh_bls::Collector`), and those that do not verify are skipped.
///
/// # Errors
/// [`ClaimError::NoNodes`], [`ClaimError::TooFewSigners`], [`ClaimError::NodesDisagree`].
pub async fn collect_reward(
    http: &reqwest::Client,
    nodes: &[String],
    set: &RegisteredSet,
    address: Address,
    height: u64,
    wait: Duration,
) -> Result<Collected, ClaimError> {
    let got = collect(http, nodes, set, Subject::Reward { address, height }, wait).await?;
    Ok(Collected {
        address,
        height,
        amount: got.amount,
        signature: got.signature,
        signers: got.signers,
        non_signers: got.non_signers,
        skipped: got.skipped,
        dissent: got.dissent,
    })
}

/// The CPU half of [`collect`]: the answers checked against the contract's keys and
/// aggregated, by the amount they name (one message for an exit or a liquidation).
fn aggregate_answers(
    set: &RegisteredSet,
    subject: &Subject,
    answers: Vec<(String, Result<Signed, String>)>,
) -> Result<Aggregated, ClaimError> {
    let ids: BTreeMap<PublicKey, u64> = set.keys.iter().map(|(id, k)| (*k, *id)).collect();
    let keys: BTreeMap<u64, PublicKey> = set.keys.iter().copied().collect();
    let dst = set.domain.hash_to_g2_tag();
    // The answers by amount: (url, id, signature), one per registered key.
    let mut by_amount: BTreeMap<u128, Vec<(String, u64, Signature)>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut skipped = Vec::new();
    for (url, got) in answers {
        let signed = match got {
            Ok(s) => s,
            Err(why) => {
                skipped.push(format!("{url}: {why}"));
                continue;
            }
        };
        let Some(&id) = ids.get(&signed.key) else {
            skipped.push(format!("{url}: its key is not one the contract lists"));
            continue;
        };
        if let Some(claimed) = signed.contract_id.filter(|c| *c != id) {
            skipped.push(format!(
                "{url}: it says it is node {claimed}, the contract lists its key as node {id}"
            ));
            continue;
        }
        if !seen.insert(id) {
            skipped.push(format!("{url}: node {id} answered already"));
            continue;
        }
        by_amount.entry(signed.amount).or_default().push((url, id, signed.signature));
    }
    let message = |amount: u128| subject.message(amount).to_bytes(&set.domain);
    // Each amount's valid signers: the sum checked once, each alone only if the sum fails.
    let mut valid: BTreeMap<u128, (Vec<u64>, Signature)> = BTreeMap::new();
    for (amount, signed) in &by_amount {
        let bytes = message(*amount);
        let sum: Signature = signed.iter().map(|(_, _, s)| *s).sum();
        let mut signers: Vec<u64> = signed.iter().map(|(_, id, _)| *id).collect();
        signers.sort_unstable();
        let whole = sesh_bls::Aggregate {
            signature: sum,
            non_signers: keys
                .keys()
                .filter(|id| signers.binary_search(id).is_err())
                .copied()
                .collect(),
        };
        if sesh_bls::verify_aggregate(&keys, &dst, &bytes, &whole, usize::MAX).is_ok() {
            valid.insert(*amount, (signers, sum));
            continue;
        }
        let mut collector = Collector::new(set.keys.iter().copied(), dst, bytes);
        let (mut good, mut sum) = (Vec::new(), Signature::identity());
        for (url, id, signature) in signed {
            match collector.add(*id, *signature) {
                Ok(()) => {
                    good.push(*id);
                    sum = sum + *signature;
                }
                Err(e) => skipped.push(format!("{url} (node {id}): {e}")),
            }
        }
        good.sort_unstable();
        valid.insert(*amount, (good, sum));
    }
    valid.retain(|_, (signers, _)| !signers.is_empty());
    let allowed = set.allowed_non_signers();
    let total = set.keys.len();
    let Some((&amount, (signers, signature))) = valid.iter().max_by_key(|(_, (s, _))| s.len())
    else {
        return Err(ClaimError::TooFewSigners {
            subject: Box::new(*subject),
            amount: 0,
            signed: 0,
            total,
            allowed,
            skipped,
        });
    };
    let non_signers: Vec<u64> =
        keys.keys().filter(|id| signers.binary_search(id).is_err()).copied().collect();
    if non_signers.len() > allowed {
        if valid.len() > 1 {
            return Err(ClaimError::NodesDisagree {
                subject: Box::new(*subject),
                amounts: valid.iter().map(|(a, (s, _))| (*a, s.len())).collect(),
                total,
                allowed,
            });
        }
        return Err(ClaimError::TooFewSigners {
            subject: Box::new(*subject),
            amount,
            signed: signers.len(),
            total,
            allowed,
            skipped,
        });
    }
    let dissent =
        valid.iter().filter(|(a, _)| **a != amount).map(|(a, (s, _))| (*a, s.clone())).collect();
    Ok(Aggregated {
        amount,
        signature: *signature,
        signers: signers.clone(),
        non_signers,
        skipped,
        dissent,
    })
}

/// The contract's revert, by name, from the bindings' errors (hex if unknown).
fn revert_reason(e: &alloy::contract::Error) -> Option<String> {
    let data = e.as_revert_data()?;
    Some(match Rewards::ServiceNodeRewardsErrors::abi_decode(&data) {
        Ok(error) => format!("{error:?}"),
        Err(_) => format!("0x{}", hex::encode(&data)),
    })
}

/// Estimates `call` (a dry run: a revert is named and nothing is sent), sends it with a quarter
/// more gas than estimated (claims sent at once share the contract's claim-cycle counter, so a
/// transaction may cost more when it lands than when it was estimated) and waits for its
/// receipt.
async fn send<D: alloy::contract::CallDecoder>(
    what: &str,
    call: alloy::contract::CallBuilder<&DynProvider, D>,
) -> Result<TransactionReceipt, ClaimError> {
    let gas = call.estimate_gas().await.map_err(|e| match revert_reason(&e) {
        Some(reason) => ClaimError::WouldRevert { what: what.to_owned(), reason },
        None => ClaimError::Chain { what: format!("{what} (dry run)"), why: e.to_string() },
    })?;
    let call = call.gas(gas.saturating_add(gas / 4));
    let pending = call.send().await.map_err(chain_error(what))?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| ClaimError::Sent { what: what.to_owned(), why: format!("no receipt: {e}") })?;
    if receipt.status() {
        Ok(receipt)
    } else {
        Err(ClaimError::Sent {
            what: what.to_owned(),
            why: format!("{} reverted", receipt.transaction_hash),
        })
    }
}

/// Sends `collected` to the contract (`updateRewardsBalance`) from `provider`'s signer (anyone
/// may send it); refused before sending when the contract already credits as much.
///
/// # Errors
/// [`ClaimError::NotAbove`], [`ClaimError::WouldRevert`], [`ClaimError::Sent`],
/// [`ClaimError::Chain`].
pub async fn update_balance(
    provider: &DynProvider,
    contract: Address,
    collected: &Collected,
) -> Result<TransactionReceipt, ClaimError> {
    let rewards = Rewards::new(contract, provider.clone());
    let on_chain =
        rewards.recipients(collected.address).call().await.map_err(chain_error("recipients"))?;
    if on_chain.rewards >= U256::from(collected.amount) {
        return Err(ClaimError::NotAbove {
            address: collected.address,
            signed: collected.amount,
            on_chain: on_chain.rewards,
        });
    }
    let [sigs0, sigs1, sigs2, sigs3] =
        collected.signature.to_words().map(|w| U256::from_be_bytes(w));
    let call = rewards.updateRewardsBalance(
        collected.address,
        U256::from(collected.amount),
        Rewards::BLSSignatureParams { sigs0, sigs1, sigs2, sigs3 },
        collected.non_signers.clone(),
    );
    send("updateRewardsBalance", call).await
}

/// Claims all that the contract credits `provider`'s signer (`claimRewards()`); returns the
/// amount the contract paid (its `RewardsClaimed`) and the receipt.
///
/// # Errors
/// [`ClaimError::NothingToClaim`], [`ClaimError::WouldRevert`], [`ClaimError::Sent`],
/// [`ClaimError::Chain`].
pub async fn claim(
    provider: &DynProvider,
    contract: Address,
    who: Address,
    amount: Option<U256>,
) -> Result<(U256, TransactionReceipt), ClaimError> {
    let rewards = Rewards::new(contract, provider.clone());
    let credited = rewards.recipients(who).call().await.map_err(chain_error("recipients"))?;
    let claimable = credited.rewards.saturating_sub(credited.claimed);
    if amount.unwrap_or(claimable).is_zero() {
        return Err(ClaimError::NothingToClaim(who));
    }
    let receipt = match amount {
        Some(a) => send("claimRewards(amount)", rewards.claimRewards_1(a)).await?,
        None => send("claimRewards", rewards.claimRewards_0()).await?,
    };
    let paid = (receipt.inner.logs().iter())
        .filter_map(|log| Rewards::RewardsClaimed::decode_log(&log.inner).ok())
        .filter(|e| e.recipientAddress == who)
        .map(|e| e.amount)
        .fold(U256::ZERO, |a, b| a.saturating_add(b));
    Ok((paid, receipt))
}

/// What [`claim_through_network`] did.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The network's signature (its amount, signers and non-signers).
    pub collected: Collected,
    /// `updateRewardsBalance`'s receipt (`None` when the contract already credited as much).
    pub update: Option<TransactionReceipt>,
    /// What the contract paid, and the claim's receipt.
    pub claim: (U256, TransactionReceipt),
}

/// The whole path for `provider`'s signer (`who`): the network's signature of its balance at
/// `height` (default: [`common_height`]) from `nodes`, `updateRewardsBalance` (skipped when the
/// contract already credits that much), then `claimRewards` (all, or `amount`).
///
/// # Errors
/// Any [`ClaimError`].
pub async fn claim_through_network(
    provider: &DynProvider,
    http: &reqwest::Client,
    contract: Address,
    nodes: &[String],
    who: Address,
    height: Option<u64>,
    amount: Option<U256>,
) -> Result<Claimed, ClaimError> {
    let set = registered_set(provider, contract).await?;
    let height = match height {
        Some(h) => h,
        None => common_height(http, nodes).await?,
    };
    claim_with(provider, http, &set, nodes, who, height, amount, Duration::from_secs(5)).await
}

/// [`claim_through_network`] with the set read and the height chosen: nodes that refuse are
/// asked again until `wait` has passed.
///
/// # Errors
/// Any [`ClaimError`].
#[allow(clippy::too_many_arguments)]
pub async fn claim_with(
    provider: &DynProvider,
    http: &reqwest::Client,
    set: &RegisteredSet,
    nodes: &[String],
    who: Address,
    height: u64,
    amount: Option<U256>,
    wait: Duration,
) -> Result<Claimed, ClaimError> {
    let contract = set.contract;
    let collected = collect_reward(http, nodes, set, who, height, wait).await?;
    let update = match update_balance(provider, contract, &collected).await {
        Ok(r) => Some(r),
        Err(ClaimError::NotAbove { on_chain, .. }) if on_chain == U256::from(collected.amount) => {
            None
        }
        Err(e) => return Err(e),
    };
    let claim = claim(provider, contract, who, amount).await?;
    Ok(Claimed { collected, update, claim })
}

/// An exit or a liquidation with the network's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `exitBLSPublicKeyWithSignature`: the node leaves, nothing is taken from its stake.
    Exit,
    /// `liquidateBLSPublicKeyWithSignature`: the node is removed with a penalty (the caller's
    /// and the pool's shares of its deposit).
    Liquidation,
}

impl Removal {
    /// What the nodes are asked to sign for the node of `key` at `timestamp`.
    #[must_use]
    pub fn subject(self, key: PublicKey, timestamp: u64) -> Subject {
        match self {
            Self::Exit => Subject::Exit { key, timestamp },
            Self::Liquidation => Subject::Liquidation { key, timestamp },
        }
    }

    /// The contract function.
    #[must_use]
    pub fn function(self) -> &'static str {
        match self {
            Self::Exit => "exitBLSPublicKeyWithSignature",
            Self::Liquidation => "liquidateBLSPublicKeyWithSignature",
        }
    }
}

/// The network's signature of an exit or a liquidation, ready for the contract.
#[derive(Debug, Clone)]
pub struct CollectedRemoval {
    /// Which removal.
    pub removal: Removal,
    /// The contract's id of the node removed.
    pub id: u64,
    /// Its BLS key.
    pub key: PublicKey,
    /// The signed timestamp, unix seconds (the contract takes it for `signatureExpiry`, 10
    /// minutes, after it; the nodes sign only one within 3 minutes of their clocks).
    pub timestamp: u64,
    /// The aggregate of the valid signatures.
    pub signature: Signature,
    /// The contract ids that signed it.
    pub signers: Vec<u64>,
    /// The contract ids that did not (ascending).
    pub non_signers: Vec<u64>,
    /// The nodes asked whose answers were not used, and why (`<url>: <why>`; a node's refusal
    /// says which rule of its ledger refused).
    pub skipped: Vec<String>,
}

/// The contract's id of the node whose key is `key` in `set`.
///
/// # Errors
/// [`ClaimError::NotRegistered`].
pub fn id_of(set: &RegisteredSet, key: &PublicKey) -> Result<u64, ClaimError> {
    set.keys
        .iter()
        .find(|(_, k)| k == key)
        .map(|(id, _)| *id)
        .ok_or_else(|| ClaimError::NotRegistered(key.to_bytes()))
}

/// Asks every node of `nodes` for its signature of the `removal` of the node of `key` at
/// `timestamp`, concurrently, checks each against the contract's keys (`set`) and aggregates
/// them as [`collect_reward`] does (the sum checked once as the contract checks it; bad
/// answers skipped with the reason, their nodes non-signers). A node that refuses (409: e.g.
/// its ledger has not removed the node yet) is asked again until `wait` has passed.
///
/// # Errors
/// [`ClaimError::NotRegistered`] when the contract does not hold `key`, [`ClaimError::NoNodes`],
/// [`ClaimError::TooFewSigners`].
pub async fn collect_removal(
    http: &reqwest::Client,
    nodes: &[String],
    set: &RegisteredSet,
    removal: Removal,
    key: PublicKey,
    timestamp: u64,
    wait: Duration,
) -> Result<CollectedRemoval, ClaimError> {
    let id = id_of(set, &key)?;
    let got = collect(http, nodes, set, removal.subject(key, timestamp), wait).await?;
    Ok(CollectedRemoval {
        removal,
        id,
        key,
        timestamp,
        signature: got.signature,
        signers: got.signers,
        non_signers: got.non_signers,
        skipped: got.skipped,
    })
}

/// What the contract did with a removal.
#[derive(Debug, Clone)]
pub struct Removed {
    /// The network's signature sent.
    pub collected: CollectedRemoval,
    /// The transaction's receipt.
    pub receipt: TransactionReceipt,
    /// `ServiceNodeExit`'s `returnedAmount`: the deposit less a liquidation's penalty (the ledger
    /// returns it to the contributors' balances).
    pub returned: U256,
    /// `ServiceNodeLiquidated`'s initiator, for a liquidation: who took the liquidator's share.
    pub liquidator: Option<Address>,
}

/// Sends `collected` to the contract (`exitBLSPublicKeyWithSignature` or
/// `liquidateBLSPublicKeyWithSignature`) from `provider`'s signer (anyone may), first as a dry
/// run (a revert is named, e.g. `ExitTooEarly` or `SignatureExpired`, and nothing is sent), with
/// a quarter more gas than estimated; reads what the contract emitted.
///
/// # Errors
/// [`ClaimError::WouldRevert`], [`ClaimError::Sent`] (also when the receipt has no
/// `ServiceNodeExit` for the node), [`ClaimError::Chain`].
pub async fn send_removal(
    provider: &DynProvider,
    contract: Address,
    collected: &CollectedRemoval,
) -> Result<Removed, ClaimError> {
    let rewards = Rewards::new(contract, provider.clone());
    let point = crate::contracts::g1_point(&collected.key.to_bytes());
    let params = crate::contracts::signature_params(&collected.signature.to_words());
    let timestamp = U256::from(collected.timestamp);
    let ids = collected.non_signers.clone();
    let what = collected.removal.function();
    let receipt = match collected.removal {
        Removal::Exit => {
            send(what, rewards.exitBLSPublicKeyWithSignature(point, timestamp, params, ids)).await?
        }
        Removal::Liquidation => {
            let call = rewards.liquidateBLSPublicKeyWithSignature(point, timestamp, params, ids);
            send(what, call).await?
        }
    };
    let logs = receipt.inner.logs();
    let returned = logs
        .iter()
        .filter_map(|log| Rewards::ServiceNodeExit::decode_log(&log.inner).ok())
        .find(|e| e.serviceNodeID == collected.id)
        .map(|e| e.returnedAmount)
        .ok_or_else(|| ClaimError::Sent {
            what: what.to_owned(),
            why: format!(
                "{} emitted no ServiceNodeExit for node {}",
                receipt.transaction_hash, collected.id
            ),
        })?;
    let liquidator = logs
        .iter()
        .filter_map(|log| Rewards::ServiceNodeLiquidated::decode_log(&log.inner).ok())
        .find(|e| e.serviceNodeID == collected.id)
        .map(|e| e.initiator);
    Ok(Removed { collected: collected.clone(), receipt, returned, liquidator })
}

/// The whole removal path: the contract's set, the nodes' signatures of the `removal` of the
/// node with contract id `id` at `timestamp` (default: this machine's clock now), and the
/// transaction.
///
/// # Errors
/// Any [`ClaimError`]; [`ClaimError::NotRegistered`] when the contract holds no node `id`.
#[allow(clippy::too_many_arguments)]
pub async fn remove_through_network(
    provider: &DynProvider,
    http: &reqwest::Client,
    contract: Address,
    nodes: &[String],
    removal: Removal,
    id: u64,
    timestamp: Option<u64>,
    wait: Duration,
) -> Result<Removed, ClaimError> {
    let set = registered_set(provider, contract).await?;
    let Some(&(_, key)) = set.keys.iter().find(|(i, _)| *i == id) else {
        return Err(ClaimError::NoSuchNode(id));
    };
    let timestamp = timestamp.unwrap_or_else(unix_now);
    let collected = collect_removal(http, nodes, &set, removal, key, timestamp, wait).await?;
    send_removal(provider, contract, &collected).await
}

/// This machine's clock, unix seconds.
#[must_use]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An HTTP client for asking nodes: their self-signed certificates accepted (the answers are
/// checked by their BLS signatures), 10 s a request, no redirects.
///
/// # Errors
/// When the TLS backend cannot start.
pub fn node_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// The base URLs of the nodes a seed lists (oxend's `get_n_service_nodes` at `seed`, e.g. a
/// node's `http://…/json_rpc`), each over HTTPS if `tls`. The list is the seed's word: it can
/// leave nodes out (then the claim may have too few signers), but every signature is still
/// checked against the contract's keys.
///
/// # Errors
/// [`ClaimError::Seed`].
pub async fn nodes_from_seed(
    http: &reqwest::Client,
    seed: &str,
    tls: bool,
) -> Result<Vec<String>, ClaimError> {
    let failed = |why: String| ClaimError::Seed { seed: seed.to_owned(), why };
    let got = http
        .post(seed)
        .body(sesh_client::bootstrap::seed_request())
        .send()
        .await
        .map_err(|e| failed(crate::http::chain(&e)))?;
    let body = crate::http::read_capped(got).await.map_err(|e| {
        failed(e.map_or_else(|| "an answer over the cap".to_owned(), |e| e.to_string()))
    })?;
    let state =
        sesh_client::bootstrap::read_seed_answer(&body, tls).map_err(|e| failed(e.to_string()))?;
    let urls: Vec<String> = state.nodes().map(|n| n.url("")).collect();
    if urls.is_empty() {
        return Err(failed("an empty list".to_owned()));
    }
    Ok(urls)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use sesh_bls::SecretKey;

    const AMOUNT: u128 = 4_924_983_691;

    fn who() -> Address {
        Address::repeat_byte(0x11)
    }

    fn reward(height: u64) -> Subject {
        Subject::Reward { address: who(), height }
    }

    /// Six registered nodes (ids 1..=6) on a contract.
    fn set() -> (RegisteredSet, Vec<SecretKey>) {
        let secrets: Vec<SecretKey> = (1..=6u8).map(|i| SecretKey::from_seed(&[i; 8])).collect();
        let contract = Address::repeat_byte(0x22);
        let set = RegisteredSet {
            domain: Domain { chain_id: 31337, contract: contract.0.0 },
            contract,
            keys: (1..).zip(secrets.iter().map(SecretKey::public_key)).collect(),
            threshold_max: sesh_bls::NON_SIGNER_THRESHOLD_MAX,
        };
        (set, secrets)
    }

    /// Node `i`'s (0-based) answer for `amount`.
    fn answer(set: &RegisteredSet, secrets: &[SecretKey], i: usize, amount: u128) -> Signed {
        let message = Message::Reward { recipient: who().0.0, amount };
        Signed {
            amount,
            key: secrets[i].public_key(),
            contract_id: Some(i as u64 + 1),
            signature: secrets[i].sign(&set.domain, &message),
        }
    }

    fn url(i: usize) -> String {
        format!("https://node{i}")
    }

    #[test]
    fn the_aggregate_of_the_agreed_amount_verifies_as_the_contract_checks_it() {
        let (set, secrets) = set();
        // Four sign the amount; node 4 signs garbage (another message); node 5 does not answer.
        let mut answers: Vec<(String, Result<Signed, String>)> =
            (0..4).map(|i| (url(i), Ok(answer(&set, &secrets, i, AMOUNT)))).collect();
        let mut forged = answer(&set, &secrets, 4, AMOUNT + 1);
        forged.amount = AMOUNT;
        answers.push((url(4), Ok(forged)));
        answers.push((url(5), Err("refused (409): not yet".to_owned())));
        let got = aggregate_answers(&set, &reward(7), answers).unwrap();
        assert_eq!(got.amount, AMOUNT);
        assert_eq!(got.signers, vec![1, 2, 3, 4]);
        assert_eq!(got.non_signers, vec![5, 6]);
        assert_eq!(got.skipped.len(), 2, "{:?}", got.skipped);
        assert!(
            got.skipped.iter().any(|s| s.starts_with("https://node4 (node 5)")),
            "{:?}",
            got.skipped
        );
        let keys: BTreeMap<u64, PublicKey> = set.keys.iter().copied().collect();
        let message = Message::Reward { recipient: who().0.0, amount: AMOUNT };
        let aggregate =
            sesh_bls::Aggregate { signature: got.signature, non_signers: got.non_signers.clone() };
        let dst = set.domain.hash_to_g2_tag();
        sesh_bls::verify_aggregate(&keys, &dst, &message.to_bytes(&set.domain), &aggregate, 4000)
            .unwrap();
    }

    #[test]
    fn too_few_signers_and_disagreement_are_refused_with_what_happened() {
        let (set, secrets) = set();
        // 6 nodes: at most 2 may not sign. Three sign: too few.
        let three: Vec<(String, Result<Signed, String>)> =
            (0..3).map(|i| (url(i), Ok(answer(&set, &secrets, i, AMOUNT)))).collect();
        match aggregate_answers(&set, &reward(7), three) {
            Err(ClaimError::TooFewSigners { signed: 3, total: 6, allowed: 2, amount, .. }) => {
                assert_eq!(amount, AMOUNT);
            }
            other => panic!("{other:?}"),
        }
        // Three and three on two amounts: the nodes disagree.
        let split: Vec<(String, Result<Signed, String>)> = (0..6)
            .map(|i| (url(i), Ok(answer(&set, &secrets, i, AMOUNT + (i as u128 % 2)))))
            .collect();
        let e = aggregate_answers(&set, &reward(7), split).unwrap_err();
        assert!(matches!(e, ClaimError::NodesDisagree { .. }), "{e:?}");
        assert!(e.to_string().contains(&format!("{AMOUNT} signed by 3")), "{e}");
        // Five on one amount and one on another: the five carry it, the one is dissent.
        let mostly: Vec<(String, Result<Signed, String>)> = (0..6)
            .map(|i| (url(i), Ok(answer(&set, &secrets, i, AMOUNT + u128::from(i == 2)))))
            .collect();
        let got = aggregate_answers(&set, &reward(7), mostly).unwrap();
        assert_eq!((got.amount, got.non_signers.clone()), (AMOUNT, vec![3]));
        assert_eq!(got.dissent, vec![(AMOUNT + 1, vec![3])]);
    }

    #[test]
    fn a_key_the_contract_does_not_list_or_a_repeated_one_counts_for_nothing() {
        let (set, secrets) = set();
        let stranger = SecretKey::from_seed(b"not registered");
        let message = Message::Reward { recipient: who().0.0, amount: AMOUNT };
        let mut answers: Vec<(String, Result<Signed, String>)> =
            (0..4).map(|i| (url(i), Ok(answer(&set, &secrets, i, AMOUNT)))).collect();
        answers.push((
            "https://stranger".to_owned(),
            Ok(Signed {
                amount: AMOUNT,
                key: stranger.public_key(),
                contract_id: Some(5),
                signature: stranger.sign(&set.domain, &message),
            }),
        ));
        answers.push(("https://again".to_owned(), Ok(answer(&set, &secrets, 0, AMOUNT))));
        let mut liar = answer(&set, &secrets, 5, AMOUNT);
        liar.contract_id = Some(2);
        answers.push(("https://liar".to_owned(), Ok(liar)));
        let got = aggregate_answers(&set, &reward(7), answers).unwrap();
        assert_eq!(got.signers, vec![1, 2, 3, 4]);
        let skipped = got.skipped.join("\n");
        assert!(
            skipped.contains("https://stranger: its key is not one the contract lists"),
            "{skipped}"
        );
        assert!(skipped.contains("https://again: node 1 answered already"), "{skipped}");
        assert!(skipped.contains("https://liar: it says it is node 2"), "{skipped}");
    }

    #[test]
    fn answers_that_do_not_parse_or_name_another_request_are_refused_without_panicking() {
        let (set, secrets) = set();
        let a = answer(&set, &secrets, 0, AMOUNT);
        let good = json!({
            "address": who().to_string(),
            "height": 7,
            "amount": AMOUNT.to_string(),
            "signature": a.signature.to_words().map(|w| format!("0x{}", hex::encode(w))),
            "bls_pubkey": format!("0x{}", hex::encode(a.key.to_bytes())),
            "contract_id": 1,
        });
        let parsed = parse_answer(good.to_string().as_bytes(), &reward(7)).unwrap();
        assert_eq!((parsed.amount, parsed.key, parsed.contract_id), (AMOUNT, a.key, Some(1)));
        assert!(
            parse_answer(good.to_string().as_bytes(), &reward(8)).unwrap_err().contains("height 7")
        );
        let other = Address::repeat_byte(0x33);
        assert!(
            parse_answer(
                good.to_string().as_bytes(),
                &Subject::Reward { address: other, height: 7 }
            )
            .unwrap_err()
            .contains("signed for")
        );
        let mut cases = vec![b"".to_vec(), b"[]".to_vec(), b"{\"address\": 5}".to_vec()];
        for (field, bad) in [
            ("amount", json!(-1)),
            ("amount", json!("1e9")),
            ("signature", json!(["0x00"])),
            ("signature", json!(["0xzz", "", "", ""])),
            ("signature", json!([format!("0x{}", "ff".repeat(32)), "0x00", "0x00", "0x00"])),
            ("bls_pubkey", json!(format!("0x{}", "ff".repeat(64)))),
            ("bls_pubkey", json!(7)),
        ] {
            let mut v = good.clone();
            v[field] = bad;
            cases.push(v.to_string().into_bytes());
        }
        for case in cases {
            assert!(parse_answer(&case, &reward(7)).is_err(), "{}", String::from_utf8_lossy(&case));
        }
    }

    #[test]
    fn an_exit_aggregates_one_message_and_a_liquidation_signature_does_not_count_for_it() {
        let (set, secrets) = set();
        let leaving = secrets[5].public_key();
        let exit = Subject::Exit { key: leaving, timestamp: 1_700_000_000 };
        let liquidation = Subject::Liquidation { key: leaving, timestamp: 1_700_000_000 };
        let signed = |i: usize, subject: &Subject| Signed {
            amount: 0,
            key: secrets[i].public_key(),
            contract_id: Some(i as u64 + 1),
            signature: secrets[i].sign(&set.domain, &subject.message(0)),
        };
        // Four sign the exit, node 5 signs the liquidation instead (same key, other tag), node
        // 6 refuses.
        let mut answers: Vec<(String, Result<Signed, String>)> =
            (0..4).map(|i| (url(i), Ok(signed(i, &exit)))).collect();
        answers.push((url(4), Ok(signed(4, &liquidation))));
        answers.push((url(5), Err("refused (409): node_in_service".to_owned())));
        let got = aggregate_answers(&set, &exit, answers).unwrap();
        assert_eq!((got.signers.clone(), got.non_signers.clone()), (vec![1, 2, 3, 4], vec![5, 6]));
        assert!(
            got.skipped.iter().any(|s| s.starts_with("https://node4 (node 5)")),
            "{:?}",
            got.skipped
        );
        let keys: BTreeMap<u64, PublicKey> = set.keys.iter().copied().collect();
        let aggregate =
            sesh_bls::Aggregate { signature: got.signature, non_signers: got.non_signers };
        let dst = set.domain.hash_to_g2_tag();
        let bytes = exit.message(0).to_bytes(&set.domain);
        sesh_bls::verify_aggregate(&keys, &dst, &bytes, &aggregate, 4000).unwrap();
        let other = liquidation.message(0).to_bytes(&set.domain);
        assert!(sesh_bls::verify_aggregate(&keys, &dst, &other, &aggregate, 4000).is_err());
        // Three exit signatures of six: too few, said for the exit.
        let three: Vec<(String, Result<Signed, String>)> =
            (0..3).map(|i| (url(i), Ok(signed(i, &exit)))).collect();
        let e = aggregate_answers(&set, &exit, three).unwrap_err();
        assert!(matches!(e, ClaimError::TooFewSigners { signed: 3, .. }), "{e:?}");
        assert!(e.to_string().starts_with("too few signers for the exit of BLS key 0x"), "{e}");
        // The id of a key, and a key the contract does not hold.
        assert_eq!(id_of(&set, &leaving).unwrap(), 6);
        let stranger = SecretKey::from_seed(b"not registered").public_key();
        assert!(matches!(id_of(&set, &stranger), Err(ClaimError::NotRegistered(_))));
    }
}
