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
//! - Each round the follower asks for the tip (`eth_blockNumber`), then for the logs of the next
//!   confirmed range (`eth_getLogs` with `fromBlock..=toBlock` and the contract's address, at
//!   most `max_log_range` blocks), then for the headers it needs: the last applied block (to
//!   see whether it was replaced), the range's last block (to check it next round), every block
//!   holding a log (the log's `blockHash` must be that header's hash, else the answer is
//!   dropped and the range refetched: the chain changed between the two answers), and the seed
//!   blocks of the heights that end in the range ([`Seeds`] says which). When nothing new is
//!   confirmed it still re-reads the last applied block's header once per tip.
//! - Logs are put in chain order (block, then log index) whatever order they arrive in. An
//!   answer with a log from another address, outside the range asked, twice at one position, or
//!   marked `removed` (a reorg signal) is refused whole, and the range is asked again.
//! - A log of the contract that names no known event, or names a followed event but does not
//!   decode, is not applied: it goes into its height's [`Height::skipped`] list with the reason,
//!   so every follower skips it the same way. The contract's other known events are listed
//!   there too, by name.
//! - A height is handed out whole, once its last block is read and checked; never a part of a
//!   height nor a part of a block. A range may end inside a height (a small `max_log_range`, or
//!   a tip inside a height): its events wait inside the follower until the height is complete.
//! - A failed request ([`Follower::failed`]: an RPC error, a timeout), a refused answer or an
//!   answer to a question not asked changes nothing that was applied; the caller waits, retries
//!   and logs the reason given. A failed `eth_getLogs` halves the next range (down to one block:
//!   providers refuse ranges with too many logs); each answered one doubles it back up to
//!   `max_log_range`.
//! - What comes out depends only on the chain: two followers fed the same chain in any batch
//!   sizes, with any failures and tips arriving at any time, hand out identical heights.
//!
//! # Reorgs deeper than `d`
//! Each round re-reads the header of the last applied block; a different hash means a reorg
//! deeper than `d` replaced something already applied. [`Follower::feed`] answers
//! [`Step::Reorged`] and the follower stops ([`Follower::poll`] answers `None`). The rule for the
//! caller is the simplest honest one: **rebuild from the start block** — discard the ledger
//! derived so far and replay everything with a new follower ([`Follower::restart`]). It is the
//! same path as a node's restart; the follower keeps no per-height checkpoints. (The fork is at
//! or below the reported block; a reorg that deep should not happen on the chains sesh follows.)

use std::collections::{BTreeMap, BTreeSet};

use crate::abi::{self, Decoded, RawLog};
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
    from: u64,
    to: u64,
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
    /// Wants the logs of the next range.
    Logs,
    /// Wants headers for a range read.
    Headers(Pending),
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
        let current = Height {
            height: 1,
            seed_block: config.start_block.saturating_add(config.blocks_per_height),
            seed: None,
            events: Vec::new(),
            skipped: Vec::new(),
        };
        Ok(Self {
            tip: None,
            applied: config.start_block,
            applied_hash: None,
            current,
            range: config.max_log_range,
            phase: Phase::Tip,
            config,
        })
    }

    /// A new follower with the same configuration, at the start block (after
    /// [`Step::Reorged`]).
    #[must_use]
    pub fn restart(&self) -> Self {
        let mut fresh = self.clone();
        fresh.tip = None;
        fresh.applied = self.config.start_block;
        fresh.applied_hash = None;
        fresh.current = Height {
            height: 1,
            seed_block: self.config.start_block.saturating_add(self.config.blocks_per_height),
            seed: None,
            events: Vec::new(),
            skipped: Vec::new(),
        };
        fresh.range = self.config.max_log_range;
        fresh.phase = Phase::Tip;
        fresh
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
            Phase::Logs => match self.next_range() {
                Some((from, to)) => Request::Logs { address: self.config.contract, from, to },
                None => Request::Tip,
            },
            Phase::Headers(p) => Request::Headers(
                p.need.iter().filter(|n| !p.got.contains_key(n)).copied().collect(),
            ),
            Phase::Stopped => return None,
        })
    }

    /// The request named by [`Follower::poll`] failed (an RPC error, a timeout, an answer that
    /// would not parse): nothing changes but the next `eth_getLogs` range, halved after a failed
    /// one. Returns [`Step::Retry`] with `reason`.
    pub fn failed(&mut self, reason: &str) -> Step {
        let what = self.poll().map_or_else(|| "nothing".to_owned(), |r| r.to_string());
        if matches!(self.phase, Phase::Logs) {
            self.range = (self.range / 2).max(1);
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

    /// After a tip or an applied range: read on, check, or ask the tip again.
    fn advance(&mut self) {
        self.phase = if self.next_range().is_some() { Phase::Logs } else { Phase::Tip };
    }

    fn on_tip(&mut self, tip: u64) -> Step {
        self.tip = Some(tip);
        match self.phase {
            Phase::Headers(_) | Phase::Stopped => Step::Heights(Vec::new()),
            _ if self.next_range().is_some() => {
                self.phase = Phase::Logs;
                Step::Heights(Vec::new())
            }
            _ if self.applied_hash.is_some() => {
                self.phase = Phase::Check;
                Step::Heights(Vec::new())
            }
            _ => {
                self.phase = Phase::Tip;
                Step::Wait
            }
        }
    }

    fn on_logs(&mut self, from: u64, to: u64, logs: Vec<RawLog>) -> Step {
        if !matches!(self.phase, Phase::Logs) || self.next_range() != Some((from, to)) {
            return retry(&format!("logs of {from}..={to} were not asked for"));
        }
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
        need.insert(to);
        if self.applied_hash.is_some() {
            need.insert(self.applied);
        }
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
        self.phase = Phase::Headers(Pending { from, to, logs: read, need, got: BTreeMap::new() });
        Step::Heights(Vec::new())
    }

    /// The last block of sesh height `h`, if it is a block number.
    fn seed_block(&self, h: u64) -> Option<u64> {
        self.config.start_block.checked_add(h.checked_mul(self.config.blocks_per_height)?)
    }

    fn on_headers(&mut self, headers: Vec<Header>) -> Step {
        let phase = core::mem::replace(&mut self.phase, Phase::Tip);
        match phase {
            Phase::Check => {
                self.phase = Phase::Check;
                let Some(applied) = self.applied_hash else {
                    self.phase = Phase::Tip;
                    return Step::Wait;
                };
                let Some(header) = headers.iter().find(|h| h.number == self.applied) else {
                    return retry(&format!("no header for block {} in the answer", self.applied));
                };
                if header.hash != applied {
                    return self.reorged(header.hash, applied);
                }
                self.phase = Phase::Tip;
                Step::Wait
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
                        self.phase = Phase::Logs;
                        return retry(&format!(
                            "two different headers for block {}: the chain changed; refetching",
                            header.number
                        ));
                    }
                    pending.got.insert(header.number, header);
                }
                if let Some(reason) = broken_link(&pending.got) {
                    self.phase = Phase::Logs;
                    return retry(&reason);
                }
                if pending.got.len() < pending.need.len() {
                    let progress = pending.got.len() > before;
                    let missing = pending.need.len() - pending.got.len();
                    self.phase = Phase::Headers(pending);
                    return if progress {
                        Step::Heights(Vec::new())
                    } else {
                        retry(&format!("{missing} headers asked for are still missing"))
                    };
                }
                self.apply(pending)
            }
            other => {
                self.phase = other;
                retry("headers were not asked for")
            }
        }
    }

    fn reorged(&mut self, now: [u8; 32], applied: [u8; 32]) -> Step {
        self.phase = Phase::Stopped;
        Step::Reorged { fork_below: self.applied, applied, now }
    }

    /// Checks a range whose headers are all in, and applies it.
    fn apply(&mut self, pending: Pending) -> Step {
        let Pending { to, logs, got, .. } = pending;
        if let Some(applied) = self.applied_hash {
            let now = got.get(&self.applied).map_or([0; 32], |h| h.hash);
            if now != applied {
                return self.reorged(now, applied);
            }
        }
        for log in &logs {
            let header = got.get(&log.at.block).map_or([0; 32], |h| h.hash);
            if header != log.block_hash {
                self.phase = Phase::Logs;
                return retry(&format!(
                    "log {} names block hash 0x{}, the header says 0x{}: the chain changed \
                     between the answers; refetching the range",
                    log.at,
                    hex::encode(log.block_hash),
                    hex::encode(header)
                ));
            }
        }
        let Some(to_hash) = got.get(&to).map(|h| h.hash) else {
            self.phase = Phase::Logs;
            return retry(&format!("no header for block {to}"));
        };

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
        self.applied_hash = Some(to_hash);
        self.advance();
        Step::Heights(done)
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
