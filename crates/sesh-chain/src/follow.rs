//! The follower: a sans-IO state machine that reads the staking contract's logs at a
//! confirmation depth, in chain order, and hands out whole sesh heights. It says what to fetch
//! ([`Follower::poll`]); the caller fetches it over JSON-RPC and feeds the answer back
//! ([`Follower::feed`]), or reports that the request failed ([`Follower::failed`]).
//!
//! # Heights
//! With `start` the configured start block (the contract's deployment block) and `N` the chain
//! blocks per sesh height, sesh height `h ≥ 1` covers the chain blocks
//! `(start + (h-1)·N, start + h·N]`, and its seed is the hash of chain block `start + h·N` (its
//! last block). Logs in blocks `≤ start` belong to no height and are never asked for: a contract
//! that emits followed events in its deployment block is configured with the block before it.
//! A fast chain thus reshuffles swarms once per `N` blocks, not once per block.
//!
//! # What is applied, and when
//! - Only chain blocks `≤ tip − d` are used (`d` the confirmation depth): a reorg shallower
//!   than `d` replaces no block the follower has read, and is invisible.
//! - A round reads one range of at most `max_log_range` confirmed blocks, `from..=to`, in four
//!   requests: (1) the headers of the last applied block (replaced? see below) and of `to`;
//!   (2) `eth_getLogs` of `from..=to` at the contract's address; (3) the headers of every block
//!   holding a log (each log's `blockHash` must be its header's hash) and of the seed blocks of
//!   the heights ending in the range ([`Seeds`] says which; skipped when none is needed);
//!   (4) `to`'s header again. The range is applied only if `to`'s hash is the same in (1) and
//!   (4): every answer in between then came from one chain (a block's hash covers all blocks
//!   below it; this assumes the endpoint does not switch to another chain and back between
//!   the two reads). Otherwise, or when a log's
//!   `blockHash` is not its header's, or two headers answered do not link, the chain changed
//!   under the answers (a reorg deeper than `d`, above the applied blocks): the range is
//!   dropped and read again. The tip (`eth_blockNumber`) is asked when the confirmed blocks run
//!   out; when nothing new is confirmed, the last applied block's header is still re-read once
//!   per tip.
//! - Logs are put in chain order (block, then log index) whatever order they arrive in. An
//!   answer with a log from another address, outside the range asked, twice at one position, or
//!   marked `removed` (a reorg signal) is refused whole, and the logs are asked again.
//! - A log of the contract that names no known event, or names a followed event but does not
//!   decode, is not applied: it goes into its height's [`Height::skipped`] list with the reason,
//!   so every follower skips it the same way. The contract's other known events are listed
//!   there too, by name.
//! - A height is handed out whole, once its last block is read and checked; never a part of a
//!   height nor a part of a block. A range may end inside a height (a small `max_log_range`, or
//!   a tip inside a height): its events wait inside the follower until the height is complete.
//! - A failed request ([`Follower::failed`]: an RPC error, a timeout), a refused answer or an
//!   answer to a question not asked changes nothing that was applied; the caller waits, retries
//!   and logs the reason given. A failed `eth_getLogs` halves the range (down to one block:
//!   providers refuse ranges with too many logs; a shorter range starts again at (1)); each
//!   answered one doubles it back up to `max_log_range`.
//! - A `NewSeededServiceNode` log names a node but not its stakes: its event comes out with
//!   [`Held::NotFetched`], and [`Height::seeded`] lists it. Before applying the height, the
//!   caller reads the contract's record with `eth_call` of `serviceNodes(id)` at the log's block
//!   ([`crate::abi::service_node_call`], the state at the end of that block, confirmed like the
//!   log) and puts the answer in with [`Height::supply`] ([`crate::abi::decode_service_node`]
//!   of the returned bytes, or [`Held::Reverted`]); an RPC failure is retried like any other,
//!   the height waiting whole.
//! - What comes out depends only on the chain: two followers fed the same chain in any batch
//!   sizes, with any failures and tips arriving at any time, hand out identical heights.
//!
//! # Reorgs deeper than `d`
//! Each round re-reads the header of the last applied block (request 1, or the re-read when
//! caught up); a different hash means a reorg deeper than `d` replaced something already
//! applied. [`Follower::feed`] answers
//! [`Step::Reorged`] and the follower stops ([`Follower::poll`] answers `None`). The rule for the
//! caller is the simplest honest one: **rebuild from the start block** — discard the ledger
//! derived so far and replay everything with a new follower ([`Follower::restart`]). It is the
//! same path as a node's restart; the follower keeps no per-height checkpoints. (The fork is at
//! or below the reported block; a reorg that deep should not happen on the chains sesh follows.)

use std::collections::{BTreeMap, BTreeSet};

use crate::abi::{self, Decoded, RawLog};
use crate::event::Held;
use crate::{ContractEvent, Error, EvmAddress, LogPosition, Result};

/// Which heights carry their seed (the hash of their last chain block).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Seeds {
    /// Every height: one header read per height (what a node needs to draw swarms and quorums
    /// at each height).
    #[default]
    EveryHeight,
    /// Only heights with at least one log of the contract (what a ledger reader needs; saves a
    /// header read per empty height when catching up on a long chain).
    WithLogs,
}

/// How to follow a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The staking contract.
    pub contract: EvmAddress,
    /// The start block (the deployment block): height 1 begins at the block after it.
    pub start_block: u64,
    /// The confirmation depth `d`: blocks above `tip − d` are not read.
    pub confirmations: u64,
    /// Chain blocks per sesh height (`N ≥ 1`).
    pub blocks_per_height: u64,
    /// The most blocks asked for in one `eth_getLogs` (`≥ 1`).
    pub max_log_range: u64,
    /// Which heights carry their seed.
    pub seeds: Seeds,
}

/// A block header, as much as the follower needs of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// `number`.
    pub number: u64,
    /// `hash`.
    pub hash: [u8; 32],
    /// `parentHash`.
    pub parent_hash: [u8; 32],
}

/// What the follower wants fetched next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `eth_blockNumber`; answer with [`Answer::Tip`].
    Tip,
    /// `eth_getLogs` with `{"address": address, "fromBlock": from, "toBlock": to}`; answer with
    /// [`Answer::Logs`] and every log returned.
    Logs {
        /// The contract.
        address: EvmAddress,
        /// First block, inclusive.
        from: u64,
        /// Last block, inclusive.
        to: u64,
    },
    /// `eth_getBlockByNumber(n, false)` for each block listed (ascending); answer with
    /// [`Answer::Headers`]: all of them, or some (the follower asks again for the rest).
    Headers(Vec<u64>),
}

/// Short: `eth_blockNumber`, `eth_getLogs 101..=200`, `headers of 3 blocks (101..=200)`.
impl core::fmt::Display for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Tip => write!(f, "eth_blockNumber"),
            Self::Logs { from, to, .. } => write!(f, "eth_getLogs {from}..={to}"),
            Self::Headers(blocks) => match (blocks.first(), blocks.last()) {
                (Some(first), Some(last)) => {
                    write!(f, "headers of {} blocks ({first}..={last})", blocks.len())
                }
                _ => write!(f, "no headers"),
            },
        }
    }
}

/// The caller's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The chain's tip block number.
    Tip(u64),
    /// The logs of `from..=to`, in any order.
    Logs {
        /// First block asked, inclusive.
        from: u64,
        /// Last block asked, inclusive.
        to: u64,
        /// Every log returned.
        logs: Vec<RawLog>,
    },
    /// Some or all of the headers asked for.
    Headers(Vec<Header>),
}

/// A log of the contract that no one applies, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// A known event that followers do not use (see [`crate::abi`]).
    Ignored(&'static str),
    /// An unknown event or a followed event that does not decode.
    Refused(Error),
}

/// A completed sesh height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Height {
    /// The height (`≥ 1`).
    pub height: u64,
    /// Its last chain block, whose hash is its seed: `start + height·N`.
    pub seed_block: u64,
    /// The hash of `seed_block`: always with [`Seeds::EveryHeight`], when the height holds a
    /// log with [`Seeds::WithLogs`].
    pub seed: Option<[u8; 32]>,
    /// The events to apply, in chain order.
    pub events: Vec<(LogPosition, ContractEvent)>,
    /// The contract's logs in the height that are not applied, in chain order.
    pub skipped: Vec<(LogPosition, Skipped)>,
}

impl Height {
    /// The seeded nodes whose contract record is still to be fetched, in chain order: each
    /// `(position, id)` wants `serviceNodes(id)` called at block `position.block`, its answer
    /// given to [`Height::supply`].
    #[must_use]
    pub fn seeded(&self) -> Vec<(LogPosition, u64)> {
        self.events
            .iter()
            .filter_map(|(at, e)| match e {
                ContractEvent::SeededServiceNode { id, held: Held::NotFetched, .. } => {
                    Some((*at, *id))
                }
                _ => None,
            })
            .collect()
    }

    /// Puts the contract's record of the seeded node logged at `at` into its event; `false`
    /// when no `NewSeededServiceNode` is at `at`.
    pub fn supply(&mut self, at: LogPosition, record: Held) -> bool {
        let found = self.events.iter_mut().find_map(|(position, e)| match e {
            ContractEvent::SeededServiceNode { held, .. } if *position == at => Some(held),
            _ => None,
        });
        match found {
            Some(held) => {
                *held = record;
                true
            }
            None => false,
        }
    }
}

/// What became of an answer or a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Taken; these heights (maybe none) are complete, in order. Poll again now.
    Heights(Vec<Height>),
    /// Caught up: nothing new is confirmed. Poll again after a pause (a block time or so).
    Wait,
    /// Nothing changed: the request failed or the answer was refused, for this reason (log
    /// it). Poll again after a pause.
    Retry {
        /// Why.
        reason: String,
    },
    /// A block already applied was replaced (a reorg deeper than the confirmation depth): the
    /// follower has stopped. Rebuild from the start block (see the module docs).
    Reorged {
        /// The applied block whose hash changed: the fork is at or below it.
        fork_below: u64,
        /// Its hash when it was applied.
        applied: [u8; 32],
        /// Its hash now.
        now: [u8; 32],
    },
}

/// A log read and decoded, waiting for its block's header.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Read {
    at: LogPosition,
    block_hash: [u8; 32],
    decoded: Result<Decoded>,
}

/// A range's logs, waiting for headers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    to: u64,
    /// The header of `to`, read before the logs.
    last: Header,
    logs: Vec<Read>,
    need: BTreeSet<u64>,
    got: BTreeMap<u64, Header>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Wants the tip.
    Tip,
    /// Caught up: re-reads the last applied block's header, then waits.
    Check,
    /// About to read `from..=to`: re-reads the last applied block's header (`checked` once
    /// done) and reads `to`'s (`last`).
    Open { from: u64, to: u64, checked: bool, last: Option<Header> },
    /// Wants the logs of `from..=to`; `last` is `to`'s header.
    Logs { from: u64, to: u64, last: Header },
    /// Wants the headers of the blocks holding logs and of the seed blocks.
    Headers(Pending),
    /// Re-reads `to`'s header: unchanged, the range is applied.
    Close(Pending),
    /// Stopped after a reorg deeper than the confirmation depth.
    Stopped,
}

/// The follower's state (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Follower {
    config: Config,
    /// The last tip answered.
    tip: Option<u64>,
    /// The last chain block read and checked.
    applied: u64,
    /// Its hash (`None` for the start block, which is not read).
    applied_hash: Option<[u8; 32]>,
    /// The height in progress: its events and skipped logs so far.
    current: Height,
    /// The blocks asked for in the next `eth_getLogs`.
    range: u64,
    phase: Phase,
}

impl Follower {
    /// A follower at the start block.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `blocks_per_height` or `max_log_range` is 0.
    pub fn new(config: Config) -> Result<Self> {
        if config.blocks_per_height == 0 {
            return Err(Error::InvalidConfig { why: "blocks_per_height must be at least 1" });
        }
        if config.max_log_range == 0 {
            return Err(Error::InvalidConfig { why: "max_log_range must be at least 1" });
        }
        Ok(Self {
            tip: None,
            applied: config.start_block,
            applied_hash: None,
            current: first_height(&config),
            range: config.max_log_range,
            phase: Phase::Tip,
            config,
        })
    }

    /// A new follower with the same configuration, at the start block (after
    /// [`Step::Reorged`]).
    #[must_use]
    pub fn restart(&self) -> Self {
        Self {
            tip: None,
            applied: self.config.start_block,
            applied_hash: None,
            current: first_height(&self.config),
            range: self.config.max_log_range,
            phase: Phase::Tip,
            config: self.config.clone(),
        }
    }

    /// Its configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The last chain block read and checked (the start block before any).
    pub const fn applied_block(&self) -> u64 {
        self.applied
    }

    /// The height in progress: every height below it has been handed out.
    pub const fn next_height(&self) -> u64 {
        self.current.height
    }

    /// Whether the follower stopped after a reorg deeper than the confirmation depth.
    pub const fn is_stopped(&self) -> bool {
        matches!(self.phase, Phase::Stopped)
    }

    /// What to fetch next; `None` once stopped by a reorg. The same until an answer or failure
    /// is fed.
    pub fn poll(&self) -> Option<Request> {
        Some(match &self.phase {
            Phase::Tip => Request::Tip,
            Phase::Check => Request::Headers(vec![self.applied]),
            Phase::Open { to, checked, last, .. } => Request::Headers(
                (self.applied_hash.is_some() && !checked)
                    .then_some(self.applied)
                    .into_iter()
                    .chain(last.is_none().then_some(*to))
                    .collect(),
            ),
            Phase::Logs { from, to, .. } => {
                Request::Logs { address: self.config.contract, from: *from, to: *to }
            }
            Phase::Headers(p) => Request::Headers(
                p.need.iter().filter(|n| !p.got.contains_key(n)).copied().collect(),
            ),
            Phase::Close(p) => Request::Headers(vec![p.to]),
            Phase::Stopped => return None,
        })
    }

    /// The request named by [`Follower::poll`] failed (an RPC error, a timeout, an answer that
    /// would not parse): nothing changes but the `eth_getLogs` range, halved after a failed one
    /// (and opened again when that makes it shorter). Returns [`Step::Retry`] with `reason`.
    pub fn failed(&mut self, reason: &str) -> Step {
        let what = self.poll().map_or_else(|| "nothing".to_owned(), |r| r.to_string());
        if let Phase::Logs { from, to, .. } = self.phase {
            self.range = (self.range / 2).max(1);
            // A shorter range is opened again (its last block's header is read first); the
            // same range keeps the header read.
            if self.next_range() != Some((from, to)) {
                self.plan();
            }
        }
        Step::Retry { reason: format!("{what} failed: {reason}") }
    }

    /// Takes an answer.
    pub fn feed(&mut self, answer: Answer) -> Step {
        if self.is_stopped() {
            return retry("the follower stopped after a reorg; restart it");
        }
        match answer {
            Answer::Tip(tip) => self.on_tip(tip),
            Answer::Logs { from, to, logs } => self.on_logs(from, to, logs),
            Answer::Headers(headers) => self.on_headers(headers),
        }
    }

    /// Blocks `≤` this are confirmed, if any are.
    fn confirmed(&self) -> Option<u64> {
        self.tip?.checked_sub(self.config.confirmations)
    }

    /// The next `eth_getLogs` range, if any block past the applied one is confirmed.
    fn next_range(&self) -> Option<(u64, u64)> {
        let from = self.applied.checked_add(1)?;
        let confirmed = self.confirmed()?;
        if confirmed < from {
            return None;
        }
        Some((from, confirmed.min(from.saturating_add(self.range - 1))))
    }

    /// Opens the next range if one is confirmed; else asks the tip again. Returns whether a
    /// range was opened.
    fn plan(&mut self) -> bool {
        match self.next_range() {
            Some((from, to)) => {
                self.phase = Phase::Open { from, to, checked: false, last: None };
                true
            }
            None => {
                self.phase = Phase::Tip;
                false
            }
        }
    }

    /// The range being read is dropped and opened again (the chain changed under it).
    fn refetch(&mut self, reason: &str) -> Step {
        self.plan();
        retry(reason)
    }

    fn on_tip(&mut self, tip: u64) -> Step {
        self.tip = Some(tip);
        match self.phase {
            Phase::Logs { .. } | Phase::Headers(_) | Phase::Close(_) | Phase::Stopped => {
                Step::Heights(Vec::new())
            }
            Phase::Tip | Phase::Check | Phase::Open { .. } => {
                if self.plan() {
                    Step::Heights(Vec::new())
                } else if self.applied_hash.is_some() {
                    self.phase = Phase::Check;
                    Step::Heights(Vec::new())
                } else {
                    Step::Wait
                }
            }
        }
    }

    fn on_logs(&mut self, from: u64, to: u64, logs: Vec<RawLog>) -> Step {
        let last = match &self.phase {
            Phase::Logs { from: f, to: t, last } if (*f, *t) == (from, to) => *last,
            _ => return retry(&format!("logs of {from}..={to} were not asked for")),
        };
        let mut read = Vec::with_capacity(logs.len());
        for log in &logs {
            let at = log.position();
            if log.address != self.config.contract {
                return retry(&format!("log {at} is from {}, not the contract", log.address));
            }
            if log.removed {
                return retry(&format!("log {at} is marked removed (a reorg): refetching"));
            }
            if log.block_number < from || log.block_number > to {
                return retry(&format!("log {at} is outside the range asked, {from}..={to}"));
            }
            read.push(Read { at, block_hash: log.block_hash, decoded: abi::decode(log) });
        }
        read.sort_by_key(|r| r.at);
        if let Some((a, _)) = read.iter().zip(read.iter().skip(1)).find(|(a, b)| a.at == b.at) {
            return retry(&format!("two logs at {}", a.at));
        }
        self.range = self.range.saturating_mul(2).min(self.config.max_log_range);

        let mut need: BTreeSet<u64> = read.iter().map(|r| r.at.block).collect();
        let mut height = self.current.height;
        let mut has_logs = !self.current.events.is_empty() || !self.current.skipped.is_empty();
        let mut logs_left = read.iter().peekable();
        while let Some(seed_block) = self.seed_block(height).filter(|b| *b <= to) {
            while logs_left.next_if(|r| r.at.block <= seed_block).is_some() {
                has_logs = true;
            }
            if has_logs || self.config.seeds == Seeds::EveryHeight {
                need.insert(seed_block);
            }
            has_logs = false;
            height = height.saturating_add(1);
        }
        need.insert(to);
        let got = BTreeMap::from([(to, last)]);
        let pending = Pending { to, last, logs: read, need, got };
        self.phase = if pending.need.len() == pending.got.len() {
            Phase::Close(pending)
        } else {
            Phase::Headers(pending)
        };
        Step::Heights(Vec::new())
    }

    /// The last block of sesh height `h`, if it is a block number.
    fn seed_block(&self, h: u64) -> Option<u64> {
        self.config.start_block.checked_add(h.checked_mul(self.config.blocks_per_height)?)
    }

    /// The applied block's header in `headers` matches what was applied; `Err` is the step to
    /// return (a missing header, or a reorg).
    fn check_applied(&mut self, headers: &[Header]) -> Result<(), Step> {
        let Some(applied) = self.applied_hash else { return Ok(()) };
        let Some(header) = headers.iter().find(|h| h.number == self.applied) else {
            return Err(retry(&format!("no header for block {} in the answer", self.applied)));
        };
        if header.hash == applied {
            Ok(())
        } else {
            self.phase = Phase::Stopped;
            Err(Step::Reorged { fork_below: self.applied, applied, now: header.hash })
        }
    }

    fn on_headers(&mut self, headers: Vec<Header>) -> Step {
        let phase = core::mem::replace(&mut self.phase, Phase::Tip);
        match phase {
            Phase::Check => {
                self.phase = Phase::Check;
                if let Err(step) = self.check_applied(&headers) {
                    return step;
                }
                self.phase = Phase::Tip;
                Step::Wait
            }
            Phase::Open { from, to, mut checked, mut last } => {
                let mut progress = false;
                if !checked && headers.iter().any(|h| h.number == self.applied) {
                    if let Err(step) = self.check_applied(&headers) {
                        return step;
                    }
                    (checked, progress) = (true, true);
                }
                if last.is_none() {
                    last = headers.iter().find(|h| h.number == to).copied();
                    progress |= last.is_some();
                }
                self.phase = match last {
                    Some(last) if checked || self.applied_hash.is_none() => {
                        Phase::Logs { from, to, last }
                    }
                    _ => Phase::Open { from, to, checked, last },
                };
                if progress {
                    Step::Heights(Vec::new())
                } else {
                    retry("none of the headers asked for is in the answer")
                }
            }
            Phase::Headers(mut pending) => {
                let before = pending.got.len();
                for header in headers {
                    if !pending.need.contains(&header.number) {
                        continue;
                    }
                    if let Some(had) = pending.got.get(&header.number)
                        && had != &header
                    {
                        return self.refetch(&format!(
                            "two different headers for block {}: the chain changed; refetching",
                            header.number
                        ));
                    }
                    pending.got.insert(header.number, header);
                }
                if let Some(reason) = broken_link(&pending.got) {
                    return self.refetch(&reason);
                }
                let missing = pending.need.len() - pending.got.len();
                let progress = pending.got.len() > before;
                if missing == 0 {
                    self.phase = Phase::Close(pending);
                    Step::Heights(Vec::new())
                } else {
                    self.phase = Phase::Headers(pending);
                    if progress {
                        Step::Heights(Vec::new())
                    } else {
                        retry(&format!("{missing} headers asked for are still missing"))
                    }
                }
            }
            Phase::Close(pending) => {
                let Some(now) = headers.iter().find(|h| h.number == pending.to) else {
                    let to = pending.to;
                    self.phase = Phase::Close(pending);
                    return retry(&format!("no header for block {to} in the answer"));
                };
                if *now != pending.last {
                    return self.refetch(&format!(
                        "block {} changed while its range was read (a reorg deeper than the \
                         confirmation depth, above the applied blocks): refetching",
                        pending.to
                    ));
                }
                self.apply(pending)
            }
            other => {
                self.phase = other;
                retry("headers were not asked for")
            }
        }
    }

    /// Checks the logs of a range read between two equal reads of its last block against their
    /// blocks' headers, and applies it.
    fn apply(&mut self, pending: Pending) -> Step {
        let Pending { to, last, logs, got, .. } = pending;
        for log in &logs {
            let header = got.get(&log.at.block).map_or([0; 32], |h| h.hash);
            if header != log.block_hash {
                return self.refetch(&format!(
                    "log {} names block hash 0x{}, the header says 0x{}: the chain changed \
                     between the answers; refetching the range",
                    log.at,
                    hex::encode(log.block_hash),
                    hex::encode(header)
                ));
            }
        }
        let mut done = Vec::new();
        let mut logs = logs.into_iter().peekable();
        loop {
            let seed_block = self.current.seed_block;
            while let Some(log) = logs.next_if(|r| r.at.block <= seed_block) {
                match log.decoded {
                    Ok(Decoded::Event(e)) => self.current.events.push((log.at, e)),
                    Ok(Decoded::Ignored(name)) => {
                        self.current.skipped.push((log.at, Skipped::Ignored(name)));
                    }
                    Err(e) => self.current.skipped.push((log.at, Skipped::Refused(e))),
                }
            }
            if seed_block > to {
                break;
            }
            let has_logs = !self.current.events.is_empty() || !self.current.skipped.is_empty();
            if has_logs || self.config.seeds == Seeds::EveryHeight {
                self.current.seed = got.get(&seed_block).map(|h| h.hash);
            }
            let next = self.current.height.saturating_add(1);
            let next_seed = self.seed_block(next).unwrap_or(u64::MAX);
            let finished = core::mem::replace(
                &mut self.current,
                Height {
                    height: next,
                    seed_block: next_seed,
                    seed: None,
                    events: Vec::new(),
                    skipped: Vec::new(),
                },
            );
            done.push(finished);
            if next_seed == u64::MAX && seed_block == u64::MAX {
                break;
            }
        }
        self.applied = to;
        self.applied_hash = Some(last.hash);
        self.plan();
        Step::Heights(done)
    }
}

/// Height 1, nothing in it yet.
fn first_height(config: &Config) -> Height {
    Height {
        height: 1,
        seed_block: config.start_block.saturating_add(config.blocks_per_height),
        seed: None,
        events: Vec::new(),
        skipped: Vec::new(),
    }
}

/// Two headers of consecutive blocks that do not link: answers from two different chains.
fn broken_link(got: &BTreeMap<u64, Header>) -> Option<String> {
    got.iter().zip(got.iter().skip(1)).find_map(|((n, a), (m, b))| {
        (n.checked_add(1) == Some(*m) && b.parent_hash != a.hash).then(|| {
            format!(
                "block {m}'s parent hash is not block {n}'s hash: the chain changed; refetching"
            )
        })
    })
}

fn retry(reason: &str) -> Step {
    Step::Retry { reason: reason.to_owned() }
}
