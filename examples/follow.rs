//! The IO that drives `sesh_chain::follow::Follower` over JSON-RPC: each request the follower
//! makes (`eth_blockNumber`, `eth_getLogs` of the contract over a range, `eth_getBlockByNumber`
//! headers) is sent to an EVM endpoint with a timeout, its answer fed back, and each completed
//! sesh height handed to an [`OnHeight`] hook, whole.
//!
//! - [`Rpc`]: a small JSON-RPC client over the HTTP client the node already has (`reqwest`
//!   0.12 with rustls, so `https://` endpoints work), with [`Rpc::deployment_block`], the
//!   contract's deployment block found by binary search over `eth_getCode`.
//! - [`Driver`]: runs a follower. A failed request (an RPC error, a timeout, an answer that does
//!   not parse) or an answer the follower refuses changes nothing: the driver logs why (a
//!   `tracing` warning), waits with a backoff (doubling from [`Options::backoff_min`] to
//!   [`Options::backoff_max`]) and asks again. A reorg deeper than the confirmation depth
//!   ([`Step::Reorged`]) is logged as an error and followed by the documented rule of
//!   `sesh_chain::follow`: **rebuild from the start block** ([`OnHeight::rebuild`], then a
//!   restarted follower).
//! - [`OnHeight`]: what a height goes to. [`LedgerSink`] is the ledger-only use
//!   (`Applier::follow` into a `sesh_staking::Ledger`, for the `ledger` example and for
//!   researchers); a node implements the hook with `sesh_node::chain::Chain::produce_at` (the
//!   height's events mapped with `Applier::transaction`, the height's seed).
//!
//! A height holding `NewSeededServiceNode` logs (nodes the contract's owner seeded) waits in the
//! driver until the contract's record of each is fetched: `serviceNodes(id)` with `eth_call` at
//! the log's block ([`Rpc::service_node_at`], the state at the end of that block) and put into
//! the height ([`Height::supply`]) before the hook sees it. A failed call is retried like any
//! failed request (the height still waits, whole); a call the contract reverts is an answer,
//! which the ledger mapping refuses the same way on every follower. The block is confirmed
//! (`≤ tip − d`) as the log is; the call is made after the follower's checks of the range,
//! so a reorg deeper than the depth in between would be caught by the follower's next round
//! (and rebuilt from the start block), as for any applied height.
//!
//! A height is handed to the hook only once the follower has read and checked all its blocks,
//! and the hook is called synchronously between two awaits: dropping a driver's future at any
//! point (a timeout, a shutdown) leaves no height half-applied.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sesh_chain::abi::{self, RawLog};
use sesh_chain::event::Held;
use sesh_chain::follow::{Answer, Config, Follower, Header, Height, Request, Skipped, Step};
use sesh_chain::ledger::Applier;
use sesh_chain::{EvmAddress, LogPosition};
use sesh_staking::{Ledger, Params};

/// What went wrong while following.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// A JSON-RPC call failed: the transport, a timeout, an error answer, or an answer that
    /// does not parse.
    #[error("{method}: {why}")]
    Rpc {
        /// The method called.
        method: String,
        /// What went wrong.
        why: String,
    },
    /// The follower's configuration or the RPC URL cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// No contract code at the address at the chain's tip.
    #[error("no contract code at {address} at block {block}")]
    NoContract {
        /// The address.
        address: EvmAddress,
        /// The block asked about.
        block: u64,
    },
    /// The hook refused a height (the driver stops: the hook is behind or ahead of the chain).
    #[error("height {height}: {why}")]
    Hook {
        /// The height.
        height: u64,
        /// The hook's error.
        why: String,
    },
    /// [`Options::max_failures`] requests failed in a row.
    #[error("gave up after {failures} failed requests in a row; the last: {last}")]
    GaveUp {
        /// How many.
        failures: u32,
        /// The last reason.
        last: String,
    },
}

fn rpc_error(method: &str, why: impl fmt::Display) -> FollowError {
    FollowError::Rpc { method: method.to_owned(), why: why.to_string() }
}

/// A JSON-RPC client of one EVM endpoint.
#[derive(Debug)]
pub struct Rpc {
    client: reqwest::Client,
    url: String,
    next_id: AtomicU64,
    header_batch: usize,
}

impl Rpc {
    /// A client of `url` (`http://` or `https://`) whose every request gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, FollowError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| FollowError::Config(format!("RPC URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FollowError::Config(format!("RPC URL {url:?}: not http(s)")));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| FollowError::Config(format!("HTTP client: {e}")))?;
        Ok(Self { client, url: url.to_owned(), next_id: AtomicU64::new(1), header_batch: 50 })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn post(&self, method: &str, body: &Value) -> Result<Value, FollowError> {
        let response = self
            .client
            .post(&self.url)
            .json(body)
            .send()
            .await
            .map_err(|e| rpc_error(method, describe(&e)))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| rpc_error(method, describe(&e)))?;
        if !status.is_success() {
            return Err(rpc_error(method, format!("HTTP {status}: {}", shorten(&text))));
        }
        serde_json::from_str(&text)
            .map_err(|e| rpc_error(method, format!("not JSON ({e}): {}", shorten(&text))))
    }

    /// Calls `method` with `params`; its `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, FollowError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let answer = self.post(method, &body).await?;
        result_of(method, answer)
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, FollowError> {
        quantity("eth_chainId", &self.call("eth_chainId", json!([])).await?)
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64, FollowError> {
        quantity("eth_blockNumber", &self.call("eth_blockNumber", json!([])).await?)
    }

    /// `eth_getLogs` of `address` over `from..=to`.
    pub async fn logs(
        &self,
        address: EvmAddress,
        from: u64,
        to: u64,
    ) -> Result<Vec<RawLog>, FollowError> {
        let method = "eth_getLogs";
        let filter = json!([{
            "address": address.to_string(),
            "fromBlock": format!("0x{from:x}"),
            "toBlock": format!("0x{to:x}"),
        }]);
        let result = self.call(method, filter).await?;
        let Value::Array(logs) = result else {
            return Err(rpc_error(method, "the result is not an array"));
        };
        logs.iter().map(|log| raw_log(log).map_err(|why| rpc_error(method, why))).collect()
    }

    /// `eth_getBlockByNumber(n, false)` for each of `blocks`, in JSON-RPC batches (one call at
    /// a time for an endpoint that refuses batches); the headers it answered. A block above the
    /// tip (answered `null`) or one whose answer is an error is left out (the follower asks
    /// again for what is missing); an error only when no header came back at all.
    pub async fn headers(&self, blocks: &[u64]) -> Result<Vec<Header>, FollowError> {
        let method = "eth_getBlockByNumber";
        let params = |n: &u64| json!([format!("0x{n:x}"), false]);
        let mut headers = Vec::with_capacity(blocks.len());
        let mut first_error = None;
        let mut take = |answer: Result<Value, FollowError>, headers: &mut Vec<Header>| match answer
            .and_then(|v| {
                if v.is_null() {
                    return Ok(None);
                }
                header(&v).map(Some).map_err(|why| rpc_error(method, why))
            }) {
            Ok(Some(h)) => headers.push(h),
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        };
        for chunk in blocks.chunks(self.header_batch.max(1)) {
            let first = self.next_id.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            let batch: Vec<Value> = chunk
                .iter()
                .zip(first..)
                .map(|(n, id)| {
                    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params(n)})
                })
                .collect();
            match self.post(method, &Value::Array(batch)).await? {
                Value::Array(answers) => {
                    for one in answers {
                        take(result_of(method, one), &mut headers);
                    }
                }
                // A single answer to a batch: the endpoint takes no batches. One at a time.
                refused => {
                    tracing::debug!(
                        "batch refused ({}); one call each",
                        shorten(&refused.to_string())
                    );
                    for n in chunk {
                        take(self.call(method, params(n)).await, &mut headers);
                    }
                }
            }
        }
        match first_error {
            Some(e) if headers.is_empty() => Err(e),
            _ => Ok(headers),
        }
    }

    /// Whether `address` holds code at `block` (`eth_getCode`).
    pub async fn has_code(&self, address: EvmAddress, block: u64) -> Result<bool, FollowError> {
        let method = "eth_getCode";
        let code = self.call(method, json!([address.to_string(), format!("0x{block:x}")])).await?;
        let code = code.as_str().ok_or_else(|| rpc_error(method, "the result is not a string"))?;
        Ok(!hex_bytes(code).map_err(|why| rpc_error(method, why))?.is_empty())
    }

    /// The block in which `address`'s code was deployed: the first block at which
    /// `eth_getCode` answers code, found by binary search up to the tip (about 30 calls on a
    /// chain of a billion blocks; the endpoint must answer for old blocks, i.e. keep archive
    /// state, as public Arbitrum endpoints do).
    pub async fn deployment_block(&self, address: EvmAddress) -> Result<u64, FollowError> {
        let tip = self.block_number().await?;
        if !self.has_code(address, tip).await? {
            return Err(FollowError::NoContract { address, block: tip });
        }
        // Invariant: code at `hi`; none at any block below `lo`.
        let (mut lo, mut hi) = (0u64, tip);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.has_code(address, mid).await? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(hi)
    }

    /// The staking contract's record of node `id` at the end of `block`: `eth_call` of
    /// `serviceNodes(id)` on `contract` at that block, decoded
    /// ([`abi::decode_service_node`]). A call the contract reverts (a JSON-RPC error with code 3,
    /// or one whose message says `execution reverted`) is an answer, [`Held::Reverted`] with
    /// its revert data; any other failure is an error (to retry). Needs an endpoint that
    /// answers for old blocks (archive state) when following from far back.
    pub async fn service_node_at(
        &self,
        contract: EvmAddress,
        id: u64,
        block: u64,
    ) -> Result<Held, FollowError> {
        let method = "eth_call";
        let call = json!({
            "to": contract.to_string(),
            "data": format!("0x{}", hex::encode(abi::service_node_call(id))),
        });
        let id_ = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "jsonrpc": "2.0",
            "id": id_,
            "method": method,
            "params": [call, format!("0x{block:x}")],
        });
        let answer = self.post(method, &body).await?;
        if let Some(error) = answer.get("error") {
            let message = error.get("message").and_then(Value::as_str).unwrap_or_default();
            let code = error.get("code").and_then(Value::as_i64);
            if code == Some(3) || message.contains("execution reverted") {
                let data = error
                    .get("data")
                    .and_then(Value::as_str)
                    .and_then(|d| hex_bytes(d).ok())
                    .unwrap_or_default();
                return Ok(Held::Reverted(data));
            }
        }
        let result = result_of(method, answer)?;
        let text =
            result.as_str().ok_or_else(|| rpc_error(method, "the result is not a string"))?;
        let bytes = hex_bytes(text).map_err(|why| rpc_error(method, why))?;
        Ok(abi::decode_service_node(&bytes))
    }

    /// The answer to one of the follower's requests.
    pub async fn answer(&self, request: &Request) -> Result<Answer, FollowError> {
        Ok(match request {
            Request::Tip => Answer::Tip(self.block_number().await?),
            Request::Logs { address, from, to } => {
                Answer::Logs { from: *from, to: *to, logs: self.logs(*address, *from, *to).await? }
            }
            Request::Headers(blocks) => Answer::Headers(self.headers(blocks).await?),
        })
    }
}

/// A transport error with its causes (reqwest's own message is often just "error sending
/// request").
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() { format!("timed out: {e}") } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

fn result_of(method: &str, answer: Value) -> Result<Value, FollowError> {
    if let Some(error) = answer.get("error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("(no message)");
        let code = error.get("code").map_or_else(String::new, |c| format!(" (code {c})"));
        return Err(rpc_error(method, format!("error answer: {message}{code}")));
    }
    match answer {
        Value::Object(mut fields) => fields
            .remove("result")
            .ok_or_else(|| rpc_error(method, "an answer with neither result nor error")),
        other => Err(rpc_error(method, format!("not an answer: {}", shorten(&other.to_string())))),
    }
}

fn quantity(method: &str, value: &Value) -> Result<u64, FollowError> {
    parse_quantity(value).map_err(|why| rpc_error(method, why))
}

fn parse_quantity(value: &Value) -> Result<u64, String> {
    let text = value.as_str().ok_or_else(|| format!("{value} is not a hex quantity"))?;
    let digits =
        text.strip_prefix("0x").ok_or_else(|| format!("{text:?} is not a hex quantity"))?;
    u64::from_str_radix(digits, 16).map_err(|e| format!("{text:?}: {e}"))
}

fn hex_bytes(text: &str) -> Result<Vec<u8>, String> {
    let digits =
        text.strip_prefix("0x").ok_or_else(|| format!("{:?} is not 0x-hex", shorten(text)))?;
    hex::decode(digits).map_err(|e| format!("{:?}: {e}", shorten(text)))
}

fn fixed<const N: usize>(value: Option<&Value>, what: &str) -> Result<[u8; N], String> {
    let text = value.and_then(Value::as_str).ok_or_else(|| format!("no {what}"))?;
    hex_bytes(text)?.try_into().map_err(|_| format!("{what} {text:?} is not {N} bytes"))
}

fn field_quantity(object: &Value, name: &str) -> Result<u64, String> {
    parse_quantity(object.get(name).ok_or_else(|| format!("no {name}"))?)
        .map_err(|why| format!("{name}: {why}"))
}

/// A log of `eth_getLogs`, in plain types.
fn raw_log(log: &Value) -> Result<RawLog, String> {
    let topics = log
        .get("topics")
        .and_then(Value::as_array)
        .ok_or("a log without topics")?
        .iter()
        .map(|t| fixed::<32>(Some(t), "topic"))
        .collect::<Result<Vec<_>, _>>()?;
    let data = hex_bytes(log.get("data").and_then(Value::as_str).ok_or("a log without data")?)?;
    Ok(RawLog {
        address: EvmAddress(fixed(log.get("address"), "address")?),
        topics,
        data,
        block_number: field_quantity(log, "blockNumber")?,
        block_hash: fixed(log.get("blockHash"), "blockHash")?,
        log_index: field_quantity(log, "logIndex")?,
        transaction_hash: fixed(log.get("transactionHash"), "transactionHash")?,
        removed: log.get("removed").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn header(block: &Value) -> Result<Header, String> {
    Ok(Header {
        number: field_quantity(block, "number")?,
        hash: fixed(block.get("hash"), "hash")?,
        parent_hash: fixed(block.get("parentHash"), "parentHash")?,
    })
}

/// Where completed heights go.
pub trait OnHeight {
    /// Why a height could not be taken.
    type Error: fmt::Display;

    /// Takes one complete height (the next one: heights come in order, each once). Must apply
    /// all of it or nothing: the driver never hands the same height out again, and stops on an
    /// error.
    fn on_height(&mut self, height: &Height) -> Result<(), Self::Error>;

    /// A reorg deeper than the confirmation depth: discard everything taken so far; heights
    /// start again from 1.
    fn rebuild(&mut self);
}

/// The ledger-only use: each height's events applied to a [`Ledger`] with
/// [`Applier::follow`], the refusals and skipped logs kept for the report.
#[derive(Debug, Clone)]
pub struct LedgerSink {
    params: Params,
    /// The ledger derived so far.
    pub ledger: Ledger,
    /// The contract's node ids.
    pub applier: Applier,
    /// Events the ledger refused (each changed nothing), with their height.
    pub refused: Vec<(u64, sesh_chain::Error)>,
    /// Logs of the contract that no one applies, with why.
    pub skipped: Vec<(LogPosition, Skipped)>,
    /// Events applied or refused so far.
    pub events: u64,
    /// The last height's seed block (the last chain block the ledger covers).
    pub seed_block: Option<u64>,
}

impl LedgerSink {
    /// An empty ledger under `params`.
    pub fn new(params: Params) -> Self {
        Self {
            ledger: Ledger::new(params.clone()),
            params,
            applier: Applier::new(),
            refused: Vec::new(),
            skipped: Vec::new(),
            events: 0,
            seed_block: None,
        }
    }
}

impl OnHeight for LedgerSink {
    type Error = sesh_chain::Error;

    fn on_height(&mut self, height: &Height) -> Result<(), Self::Error> {
        let refused = self.applier.follow(&mut self.ledger, height.height, &height.events)?;
        for e in &refused {
            tracing::info!(height = height.height, "refused by the ledger: {e}");
        }
        self.refused.extend(refused.into_iter().map(|e| (height.height, e)));
        self.skipped.extend(height.skipped.iter().cloned());
        self.events += height.events.len() as u64;
        self.seed_block = Some(height.seed_block);
        Ok(())
    }

    fn rebuild(&mut self) {
        *self = Self::new(self.params.clone());
    }
}

/// How a [`Driver`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The first pause after a failure (doubled after each failure in a row).
    pub backoff_min: Duration,
    /// The longest pause after failures.
    pub backoff_max: Duration,
    /// The pause once caught up, before asking for the tip again ([`Driver::run`]).
    pub poll_interval: Duration,
    /// Give up after this many failures in a row (`None`: never).
    pub max_failures: Option<u32>,
    /// The pause between two progress lines while catching up.
    pub progress_every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
            max_failures: None,
            progress_every: Duration::from_secs(5),
        }
    }
}

/// What one [`Driver::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// This many heights completed and handed to the hook (maybe none).
    Heights(usize),
    /// Nothing new is confirmed.
    CaughtUp,
    /// The request failed or the answer was refused; nothing changed. Why.
    Retry(String),
    /// A reorg deeper than the confirmation depth: the hook was told to rebuild and the
    /// follower starts again from the start block.
    Rebuilt {
        /// The applied block whose hash changed.
        fork_below: u64,
    },
}

/// Runs a [`Follower`] over an [`Rpc`].
#[derive(Debug)]
pub struct Driver {
    rpc: Rpc,
    follower: Follower,
    options: Options,
    tip: Option<u64>,
    rebuilds: u32,
    failures: u32,
    last_failure: String,
    heights: u64,
    last_progress: Option<Instant>,
    /// Completed heights waiting for their seeded nodes' records, in order.
    waiting: VecDeque<Height>,
}

impl Driver {
    /// A driver of a new follower of `config`.
    pub fn new(rpc: Rpc, config: Config, options: Options) -> Result<Self, FollowError> {
        let follower = Follower::new(config).map_err(|e| FollowError::Config(e.to_string()))?;
        Ok(Self {
            rpc,
            follower,
            options,
            tip: None,
            rebuilds: 0,
            failures: 0,
            last_failure: String::new(),
            heights: 0,
            last_progress: None,
            waiting: VecDeque::new(),
        })
    }

    /// The follower.
    pub fn follower(&self) -> &Follower {
        &self.follower
    }

    /// The endpoint.
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The last tip the endpoint answered.
    pub fn tip(&self) -> Option<u64> {
        self.tip
    }

    /// How many times the driver rebuilt from the start block after a deep reorg.
    pub fn rebuilds(&self) -> u32 {
        self.rebuilds
    }

    /// Failures (failed requests and refused answers) in a row just now.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// One request sent, its answer (or failure) fed to the follower, and any completed
    /// heights handed to `hook`. Does not pause.
    pub async fn step<H: OnHeight>(&mut self, hook: &mut H) -> Result<Progress, FollowError> {
        if !self.waiting.is_empty() {
            return self.deliver(hook).await;
        }
        let Some(request) = self.follower.poll() else {
            // Stopped by a reorg that was not handled (cannot happen: handled below).
            return Ok(self.rebuild(hook, self.follower.applied_block()));
        };
        let step = match self.rpc.answer(&request).await {
            Ok(answer) => {
                if let Answer::Tip(tip) = answer {
                    self.tip = Some(tip);
                }
                self.follower.feed(answer)
            }
            Err(e) => self.follower.failed(&e.to_string()),
        };
        match step {
            Step::Heights(done) => {
                self.failures = 0;
                self.waiting.extend(done);
                self.deliver(hook).await
            }
            Step::Wait => {
                self.failures = 0;
                Ok(Progress::CaughtUp)
            }
            Step::Retry { reason } => self.retry(reason),
            Step::Reorged { fork_below, applied, now } => {
                tracing::error!(
                    "REORG deeper than the confirmation depth ({} blocks): block {fork_below} \
                     was 0x{} when applied and is 0x{} now; discarding the ledger and \
                     rebuilding from the start block {}",
                    self.follower.config().confirmations,
                    hex::encode(applied),
                    hex::encode(now),
                    self.follower.config().start_block,
                );
                Ok(self.rebuild(hook, fork_below))
            }
        }
    }

    /// A failed request or a refused answer: counted, logged, given up on after
    /// [`Options::max_failures`].
    fn retry(&mut self, reason: String) -> Result<Progress, FollowError> {
        self.failures = self.failures.saturating_add(1);
        tracing::warn!(failures = self.failures, url = %self.rpc.url, "{reason}");
        self.last_failure.clone_from(&reason);
        if let Some(max) = self.options.max_failures
            && self.failures >= max
        {
            return Err(FollowError::GaveUp { failures: self.failures, last: reason });
        }
        Ok(Progress::Retry(reason))
    }

    /// Fetches the seeded nodes' records of the waiting heights and hands each complete height
    /// to `hook`, in order; stops at the first failed call (the height waits, whole).
    async fn deliver<H: OnHeight>(&mut self, hook: &mut H) -> Result<Progress, FollowError> {
        let contract = self.follower.config().contract;
        let mut delivered = 0;
        while let Some(height) = self.waiting.front_mut() {
            for (at, id) in height.seeded() {
                match self.rpc.service_node_at(contract, id, at.block).await {
                    Ok(record) => {
                        tracing::debug!(%at, id, "seeded node's record: {record:?}");
                        height.supply(at, record);
                    }
                    Err(e) => {
                        if delivered > 0 {
                            // Report the delivered heights now; the call is made again next step.
                            return Ok(Progress::Heights(delivered));
                        }
                        return self.retry(format!(
                            "serviceNodes({id}) at block {} (seeded at {at}): {e}",
                            at.block
                        ));
                    }
                }
            }
            let Some(height) = self.waiting.pop_front() else { break };
            hook.on_height(&height)
                .map_err(|e| FollowError::Hook { height: height.height, why: e.to_string() })?;
            self.failures = 0;
            self.heights += 1;
            delivered += 1;
        }
        Ok(Progress::Heights(delivered))
    }

    fn rebuild<H: OnHeight>(&mut self, hook: &mut H, fork_below: u64) -> Progress {
        self.waiting.clear();
        hook.rebuild();
        self.follower = self.follower.restart();
        self.rebuilds = self.rebuilds.saturating_add(1);
        self.heights = 0;
        Progress::Rebuilt { fork_below }
    }

    /// The pause after `failures` failures in a row.
    fn backoff(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(16);
        self.options.backoff_min.saturating_mul(1 << doublings).min(self.options.backoff_max)
    }

    fn progress(&mut self, force: bool) {
        let due = self.last_progress.is_none_or(|t| t.elapsed() >= self.options.progress_every);
        if force || due {
            self.last_progress = Some(Instant::now());
            let confirmed =
                self.tip.map(|t| t.saturating_sub(self.follower.config().confirmations));
            tracing::info!(
                "followed block {} of {} confirmed (tip {}), height {}",
                self.follower.applied_block(),
                confirmed.map_or_else(|| "?".to_owned(), |c| c.to_string()),
                self.tip.map_or_else(|| "?".to_owned(), |t| t.to_string()),
                self.follower.next_height().saturating_sub(1),
            );
        }
    }

    /// Follows until nothing new is confirmed (every height up to the confirmed tip handed to
    /// `hook`), retrying failures with the backoff; a progress line every
    /// [`Options::progress_every`].
    pub async fn catch_up<H: OnHeight>(&mut self, hook: &mut H) -> Result<(), FollowError> {
        loop {
            match self.step(hook).await? {
                Progress::CaughtUp => {
                    self.progress(true);
                    return Ok(());
                }
                Progress::Retry(_) => tokio::time::sleep(self.backoff()).await,
                Progress::Heights(_) | Progress::Rebuilt { .. } => self.progress(false),
            }
        }
    }

    /// Follows until `shutdown` completes: catches up, then asks for the tip every
    /// [`Options::poll_interval`].
    pub async fn run<H: OnHeight>(
        &mut self,
        hook: &mut H,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), FollowError> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let pause = tokio::select! {
                () = &mut shutdown => return Ok(()),
                progress = self.step(hook) => match progress? {
                    Progress::CaughtUp => Some(self.options.poll_interval),
                    Progress::Retry(_) => Some(self.backoff()),
                    Progress::Heights(_) | Progress::Rebuilt { .. } => {
                        self.progress(false);
                        None
                    }
                },
            };
            if let Some(pause) = pause {
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_log_parses_and_malformed_ones_are_errors_not_panics() {
        let log = json!({
            "address": "0x00000000000000000000000000000000000000c0",
            "topics": [format!("0x{}", "11".repeat(32))],
            "data": "0x0102",
            "blockNumber": "0x10",
            "blockHash": format!("0x{}", "22".repeat(32)),
            "logIndex": "0x3",
            "transactionHash": format!("0x{}", "33".repeat(32)),
            "removed": false
        });
        let raw = raw_log(&log).unwrap();
        assert_eq!(raw.position(), LogPosition { block: 16, index: 3 });
        assert_eq!(raw.data, vec![1, 2]);
        assert_eq!(raw.address.0[19], 0xc0);
        for (field, bad) in [
            ("blockNumber", json!("16")),
            ("blockHash", json!("0x22")),
            ("topics", json!(["0xzz"])),
            ("data", json!(3)),
            ("address", json!(null)),
        ] {
            let mut broken = log.clone();
            broken[field] = bad;
            assert!(raw_log(&broken).is_err(), "{field}");
        }
        assert!(header(&json!({"number": "0x1"})).is_err());
        assert!(result_of("m", json!({"error": {"code": -32000, "message": "no"}})).is_err());
        assert!(result_of("m", json!([1])).is_err());
    }
}
