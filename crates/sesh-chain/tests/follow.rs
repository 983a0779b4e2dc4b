//! The follower against chains held in memory (blocks with hashes, parent links and the
//! contract's logs, encoded by alloy): batching invariance, reorgs below and above the
//! confirmation depth, refetches, malformed, removed and shuffled logs, failures.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::panic, clippy::cast_possible_truncation)]

use alloy_primitives::{U256, keccak256};
use proptest::prelude::*;
use sesh_chain::abi::{self, RawLog};
use sesh_chain::follow::{Answer, Config, Follower, Header, Height, Request, Seeds, Skipped, Step};
use sesh_chain::{ContractEvent, Error, EvmAddress, LogPosition};
use sesh_staking::BlsKey;

const CONTRACT: EvmAddress = EvmAddress([0xc0; 20]);
const START: u64 = 100;

/// What a log in the test chain is.
#[derive(Clone, Debug)]
enum Kind {
    /// A followed event (a `NetworkTransaction` with this payload, or an exit request).
    Event(u8),
    /// An event the contract emits that followers ignore.
    Ignored,
    /// A log under an unknown topic.
    Unknown,
    /// A `NetworkTransaction` topic over data that does not decode.
    Malformed,
}

#[derive(Clone, Debug)]
struct Block {
    hash: [u8; 32],
    parent: [u8; 32],
    logs: Vec<RawLog>,
}

/// A chain: blocks `0..len`, the contract's logs in some of them.
#[derive(Clone, Debug)]
struct Chain {
    blocks: Vec<Block>,
}

fn event(n: u8) -> ContractEvent {
    if n.is_multiple_of(3) {
        ContractEvent::ExitRequest {
            id: u64::from(n),
            initiator: EvmAddress([n; 20]),
            bls_key: BlsKey::from_bytes([n; 64]),
        }
    } else {
        ContractEvent::NetworkTransaction { sender: EvmAddress([n; 20]), transaction: vec![n; 40] }
    }
}

fn encode(kind: &Kind) -> (Vec<[u8; 32]>, Vec<u8>) {
    match kind {
        Kind::Event(n) => abi::encode(&event(*n)),
        Kind::Ignored => (vec![keccak256("Paused(address)").0], vec![0; 32]),
        Kind::Unknown => (vec![[0xee; 32]], vec![1, 2, 3]),
        Kind::Malformed => {
            let (topics, mut data) = abi::encode(&event(1));
            data.truncate(40);
            (topics, data)
        }
    }
}

impl Chain {
    /// `len` blocks; `logs` lists (block, kind), several per block allowed.
    fn new(len: u64, logs: &[(u64, Kind)], fork: u8) -> Self {
        let mut chain = Self { blocks: Vec::new() };
        chain.extend_to(len, logs, fork);
        chain
    }

    fn extend_to(&mut self, len: u64, logs: &[(u64, Kind)], fork: u8) {
        while (self.blocks.len() as u64) < len {
            let number = self.blocks.len() as u64;
            let parent = self.blocks.last().map_or([0; 32], |b| b.hash);
            let hash = keccak256([&parent[..], &number.to_be_bytes(), &[fork]].concat()).0;
            let mut block = Block { hash, parent, logs: Vec::new() };
            for (index, (_, kind)) in logs.iter().filter(|(b, _)| *b == number).enumerate() {
                let (topics, data) = encode(kind);
                block.logs.push(RawLog {
                    address: CONTRACT,
                    topics,
                    data,
                    block_number: number,
                    block_hash: hash,
                    log_index: index as u64,
                    transaction_hash: [index as u8; 32],
                    removed: false,
                });
            }
            self.blocks.push(block);
        }
    }

    /// The chain with blocks from `from` on replaced (another fork, other logs).
    fn reorg(&self, from: u64, logs: &[(u64, Kind)], fork: u8) -> Self {
        let mut chain = Self { blocks: self.blocks[..from as usize].to_vec() };
        chain.extend_to(self.blocks.len() as u64, logs, fork);
        chain
    }

    fn tip(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    fn header(&self, n: u64) -> Option<Header> {
        let b = self.blocks.get(n as usize)?;
        Some(Header { number: n, hash: b.hash, parent_hash: b.parent })
    }

    fn logs(&self, from: u64, to: u64) -> Vec<RawLog> {
        (from..=to.min(self.tip())).flat_map(|n| self.blocks[n as usize].logs.clone()).collect()
    }

    /// The answer to `request`, as a node at this chain's tip gives it.
    fn answer(&self, request: &Request) -> Answer {
        match request {
            Request::Tip => Answer::Tip(self.tip()),
            Request::Logs { address, from, to } => {
                assert_eq!(*address, CONTRACT);
                Answer::Logs { from: *from, to: *to, logs: self.logs(*from, *to) }
            }
            Request::Headers(ns) => {
                Answer::Headers(ns.iter().filter_map(|n| self.header(*n)).collect())
            }
        }
    }

    /// The heights a follower with `config` must hand out at this tip, computed directly.
    fn expected(&self, config: &Config) -> Vec<Height> {
        let confirmed = self.tip().saturating_sub(config.confirmations);
        let n = config.blocks_per_height;
        let mut heights = Vec::new();
        let mut h = 1;
        while config.start_block + h * n <= confirmed {
            let seed_block = config.start_block + h * n;
            let mut height =
                Height { height: h, seed_block, seed: None, events: vec![], skipped: vec![] };
            for log in self.logs(seed_block - n + 1, seed_block) {
                let at = log.position();
                match abi::decode(&log) {
                    Ok(abi::Decoded::Event(e)) => height.events.push((at, e)),
                    Ok(abi::Decoded::Ignored(name)) => {
                        height.skipped.push((at, Skipped::Ignored(name)));
                    }
                    Err(e) => height.skipped.push((at, Skipped::Refused(e))),
                }
            }
            let has_logs = !height.events.is_empty() || !height.skipped.is_empty();
            if has_logs || config.seeds == Seeds::EveryHeight {
                height.seed = Some(self.blocks[seed_block as usize].hash);
            }
            heights.push(height);
            h += 1;
        }
        heights
    }
}

fn config(d: u64, n: u64, range: u64, seeds: Seeds) -> Config {
    Config {
        contract: CONTRACT,
        start_block: START,
        confirmations: d,
        blocks_per_height: n,
        max_log_range: range,
        seeds,
    }
}

/// Drives `f` against `chain` until it waits; panics on a reorg or a refusal.
fn follow(f: &mut Follower, chain: &Chain) -> Vec<Height> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let request = f.poll().expect("not stopped");
        match f.feed(chain.answer(&request)) {
            Step::Heights(hs) => out.extend(hs),
            Step::Wait => return out,
            other => panic!("unexpected {other:?} for {request:?}"),
        }
    }
    panic!("no end")
}

/// How a driver misbehaves, within what the follower must absorb.
#[derive(Clone, Debug)]
struct Noise {
    /// Per request: fail it first (a timeout).
    fail: Vec<bool>,
    /// Per request: shuffle a logs answer / answer this many headers at most.
    split: Vec<u8>,
}

/// Drives `f` through the tips `tips` of `chain` (a prefix of the chain at each), with noise.
fn follow_noisy(f: &mut Follower, chain: &Chain, tips: &[u64], noise: &Noise) -> Vec<Height> {
    let mut out = Vec::new();
    let mut k = 0usize;
    for tip in tips {
        let visible = Chain { blocks: chain.blocks[..=*tip as usize].to_vec() };
        loop {
            k += 1;
            let request = f.poll().expect("not stopped");
            if noise.fail[k % noise.fail.len()] {
                let before = (f.applied_block(), f.next_height());
                assert!(matches!(f.failed("timeout"), Step::Retry { .. }));
                assert_eq!((f.applied_block(), f.next_height()), before);
            }
            let request2 = f.poll().expect("not stopped");
            if !matches!(request, Request::Logs { .. }) {
                assert_eq!(request, request2, "a failure changes only the logs range");
            }
            let split = noise.split[k % noise.split.len()];
            let answer = match visible.answer(&request2) {
                Answer::Logs { from, to, mut logs } => {
                    // A deterministic shuffle: rotate and reverse.
                    let len = logs.len().max(1);
                    logs.rotate_left(usize::from(split) % len);
                    if split % 2 == 1 {
                        logs.reverse();
                    }
                    Answer::Logs { from, to, logs }
                }
                Answer::Headers(mut hs) => {
                    hs.truncate(usize::from(split % 4) + 1);
                    if split % 2 == 1 {
                        hs.reverse();
                    }
                    Answer::Headers(hs)
                }
                tip => tip,
            };
            match f.feed(answer) {
                Step::Heights(hs) => out.extend(hs),
                Step::Wait => break,
                Step::Retry { reason } => panic!("refused: {reason}"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    out
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop_oneof![
        8 => any::<u8>().prop_map(Kind::Event),
        1 => Just(Kind::Ignored),
        1 => Just(Kind::Unknown),
        1 => Just(Kind::Malformed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Two followers fed the same chain in different batch sizes, with tips arriving at
    /// different times, answers shuffled and split, and requests failing, hand out the same
    /// heights: the ones computed from the chain directly.
    #[test]
    fn batching_does_not_change_the_heights(
        logs in proptest::collection::vec((START - 5..START + 200, kind_strategy()), 0..40),
        d in 0u64..6,
        n in 1u64..20,
        every in any::<bool>(),
        ranges in (1u64..50, 1u64..300),
        tips in (proptest::collection::vec(START - 10..START + 210, 1..6),
                 proptest::collection::vec(START - 10..START + 210, 1..6)),
        noise in (proptest::collection::vec(proptest::bool::weighted(0.2), 1..8),
                  proptest::collection::vec(any::<u8>(), 1..8)),
    ) {
        let chain = Chain::new(START + 211, &logs, 0);
        let seeds = if every { Seeds::EveryHeight } else { Seeds::WithLogs };
        let end = START + 210;
        let run = |range: u64, tips: &[u64], noisy: bool| {
            let mut tips = tips.to_vec();
            tips.sort_unstable();
            tips.push(end);
            let mut f = Follower::new(config(d, n, range, seeds)).unwrap();
            if noisy {
                let noise = Noise { fail: noise.0.clone(), split: noise.1.clone() };
                follow_noisy(&mut f, &chain, &tips, &noise)
            } else {
                let quiet = Noise { fail: vec![false], split: vec![u8::MAX - 1] };
                follow_noisy(&mut f, &chain, &tips, &quiet)
            }
        };
        let a = run(ranges.0, &tips.0, true);
        let b = run(ranges.1, &tips.1, false);
        let expected = chain.expected(&config(d, n, 1, seeds));
        prop_assert_eq!(&a, &expected);
        prop_assert_eq!(&b, &expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A reorg of any depth, arriving at any point of a round (between any two answers): either
    /// it replaced only blocks the follower had not applied, and the heights are the new
    /// chain's, or it replaced an applied block and is reported at or above its fork, with only
    /// the old chain's heights handed out before; a restarted follower then derives the new
    /// chain.
    #[test]
    fn reorgs_at_any_point_are_survived_or_reported(
        logs_a in proptest::collection::vec((START - 5..START + 120, kind_strategy()), 0..30),
        logs_b in proptest::collection::vec((START - 5..START + 150, kind_strategy()), 0..30),
        fork in START - 3..START + 120,
        switch in 0usize..80,
        d in 0u64..6,
        n in 1u64..10,
        range in 1u64..60,
    ) {
        let a = Chain::new(START + 120, &logs_a, 0);
        let mut b = a.reorg(fork, &logs_b, 1);
        b.extend_to(START + 150, &logs_b, 1);
        let cfg = config(d, n, range, Seeds::EveryHeight);
        let mut f = Follower::new(cfg.clone()).unwrap();
        let mut out = Vec::new();
        let (mut steps, mut new_tip) = (0usize, false);
        let reorged = loop {
            let chain = if steps < switch { &a } else { &b };
            steps += 1;
            prop_assert!(steps < 100_000);
            let request = f.poll().unwrap();
            new_tip |= steps > switch && request == Request::Tip;
            match f.feed(chain.answer(&request)) {
                Step::Heights(hs) => out.extend(hs),
                Step::Wait if new_tip => break None,
                Step::Wait => {}
                Step::Retry { reason } => {
                    prop_assert!(reason.contains("refetching"), "{}", reason);
                }
                Step::Reorged { fork_below, applied, now } => {
                    prop_assert_eq!(applied, a.blocks[fork_below as usize].hash);
                    prop_assert_eq!(now, b.blocks[fork_below as usize].hash);
                    break Some(fork_below);
                }
            }
        };
        match reorged {
            None => prop_assert_eq!(&out, &b.expected(&cfg)),
            Some(fork_below) => {
                prop_assert!(fork <= fork_below);
                let old = a.expected(&cfg);
                prop_assert_eq!(&out[..], &old[..out.len()]);
                let mut g = f.restart();
                prop_assert_eq!(finish(&mut g, &b), b.expected(&cfg));
            }
        }
    }
}

fn logs_every(blocks: impl IntoIterator<Item = u64>) -> Vec<(u64, Kind)> {
    blocks.into_iter().map(|b| (b, Kind::Event(b as u8))).collect()
}

#[test]
fn a_two_block_chain_by_hand() {
    let mut f = Follower::new(config(0, 1, 10, Seeds::EveryHeight)).unwrap();
    let chain = Chain::new(START + 3, &logs_every([START + 1, START + 2]), 0);
    let heights = follow(&mut f, &chain);
    assert_eq!(heights.len(), 2);
    assert_eq!(heights[0].height, 1);
    assert_eq!(heights[0].seed_block, START + 1);
    assert_eq!(heights[0].seed, Some(chain.blocks[START as usize + 1].hash));
    assert_eq!(heights[0].events, vec![(LogPosition { block: START + 1, index: 0 }, event(101))]);
    assert_eq!(heights, chain.expected(f.config()));
}

#[test]
fn a_reorg_shallower_than_the_depth_is_invisible() {
    let d = 4;
    let cfg = config(d, 2, 7, Seeds::EveryHeight);
    let mut f = Follower::new(cfg.clone()).unwrap();
    let first = Chain::new(START + 40, &logs_every((START..START + 40).step_by(3)), 0);
    let mut got = follow(&mut f, &first);
    // Blocks above the tip − d are replaced: every one the follower has not read.
    for depth in 1..=d {
        let fork_at = first.tip() + 1 - depth;
        let mut second =
            first.reorg(fork_at, &logs_every((START..START + 60).step_by(2)), depth as u8);
        second.extend_to(START + 60, &logs_every((START..START + 60).step_by(2)), depth as u8);
        let mut g = f.clone();
        let mut out = got.clone();
        out.extend(follow(&mut g, &second));
        assert_eq!(out, second.expected(&cfg), "reorg {depth} deep");
        if depth == d {
            got = out;
        }
    }
    assert!(!got.is_empty());
}

#[test]
fn a_reorg_deeper_than_the_depth_is_reported() {
    let cfg = config(2, 3, 100, Seeds::WithLogs);
    let mut f = Follower::new(cfg.clone()).unwrap();
    let first = Chain::new(START + 30, &logs_every([START + 5, START + 20]), 0);
    follow(&mut f, &first);
    let applied = f.applied_block();
    assert_eq!(applied, first.tip() - 2);
    // Replace the block below the last applied one: its hash changes too.
    let second = first.reorg(applied - 1, &[], 9);
    // Same tip: the check of the last applied block finds it.
    let request = f.poll().unwrap();
    assert_eq!(request, Request::Tip);
    assert_eq!(f.feed(second.answer(&request)), Step::Heights(vec![]));
    let request = f.poll().unwrap();
    assert_eq!(request, Request::Headers(vec![applied]));
    assert_eq!(
        f.feed(second.answer(&request)),
        Step::Reorged {
            fork_below: applied,
            applied: first.blocks[applied as usize].hash,
            now: second.blocks[applied as usize].hash,
        }
    );
    assert_eq!(f.poll(), None);
    assert!(f.is_stopped());
    // A longer chain: the check rides with the next range's headers.
    let mut g = Follower::new(cfg.clone()).unwrap();
    follow(&mut g, &first);
    let mut longer = first.reorg(applied - 1, &[], 9);
    longer.extend_to(START + 50, &[], 9);
    let mut step = Step::Wait;
    for _ in 0..10 {
        let request = g.poll().unwrap();
        step = g.feed(longer.answer(&request));
        if matches!(step, Step::Reorged { .. }) {
            break;
        }
    }
    assert!(matches!(step, Step::Reorged { fork_below, .. } if fork_below == applied), "{step:?}");
    // The rule: rebuild from the start block; the restarted follower derives the new chain.
    let mut h = g.restart();
    assert_eq!((h.applied_block(), h.next_height()), (START, 1));
    assert_eq!(follow(&mut h, &longer), longer.expected(&cfg));
}

/// Feeds `chain`'s answers until the follower asks for logs; that request.
fn until_logs(f: &mut Follower, chain: &Chain) -> Request {
    loop {
        let request = f.poll().unwrap();
        if matches!(request, Request::Logs { .. }) {
            return request;
        }
        assert!(matches!(f.feed(chain.answer(&request)), Step::Heights(_)));
    }
}

/// Drives `f` on `chain` to the end, expecting no refusal.
fn finish(f: &mut Follower, chain: &Chain) -> Vec<Height> {
    let mut out = Vec::new();
    loop {
        match f.feed(chain.answer(&f.poll().unwrap())) {
            Step::Heights(hs) => out.extend(hs),
            Step::Wait => return out,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_chain_that_changes_under_the_answers_is_read_again() {
    let cfg = config(0, 5, 100, Seeds::EveryHeight);
    let mut f = Follower::new(cfg.clone()).unwrap();
    let first = Chain::new(START + 20, &logs_every([START + 3, START + 12]), 0);
    let second = first.reorg(START + 10, &logs_every([START + 11, START + 12]), 1);
    f.feed(first.answer(&Request::Tip));
    let logs = until_logs(&mut f, &first);
    assert!(matches!(logs, Request::Logs { from: 101, to: 119, .. }));
    // Logs from the first chain, then headers from the second: the range's last block is not
    // the one read before the logs.
    assert_eq!(f.feed(first.answer(&logs)), Step::Heights(vec![]));
    let before = (f.applied_block(), f.next_height());
    let reason = loop {
        match f.feed(second.answer(&f.poll().unwrap())) {
            Step::Heights(hs) => assert!(hs.is_empty()),
            Step::Retry { reason } => break reason,
            other => panic!("{other:?}"),
        }
    };
    assert!(reason.contains("changed") && reason.contains("refetching"), "{reason}");
    assert_eq!((f.applied_block(), f.next_height()), before);
    // The range is read again, from the second chain.
    assert_eq!(until_logs(&mut f, &second), logs);
    let out = finish(&mut f, &second);
    assert_eq!(out, second.expected(&cfg));
    assert_eq!(out[2].events[0].0, LogPosition { block: START + 11, index: 0 });
}

#[test]
fn a_log_whose_block_hash_is_not_its_headers_is_refetched() {
    let cfg = config(0, 5, 100, Seeds::EveryHeight);
    let chain = Chain::new(START + 20, &logs_every([START + 3, START + 12]), 0);
    let mut f = Follower::new(cfg.clone()).unwrap();
    f.feed(chain.answer(&Request::Tip));
    let logs = until_logs(&mut f, &chain);
    // An endpoint that answers the logs from another chain than the headers (a load balancer
    // between nodes that disagree): one log names another block hash.
    let Answer::Logs { from, to, logs: mut bad } = chain.answer(&logs) else { panic!() };
    bad[1].block_hash = [0xbb; 32];
    f.feed(Answer::Logs { from, to, logs: bad });
    let before = (f.applied_block(), f.next_height());
    let reason = loop {
        match f.feed(chain.answer(&f.poll().unwrap())) {
            Step::Heights(hs) => assert!(hs.is_empty()),
            Step::Retry { reason } => break reason,
            other => panic!("{other:?}"),
        }
    };
    assert!(
        reason.contains("names block hash 0xbbbb") && reason.contains("refetching"),
        "{reason}"
    );
    assert_eq!((f.applied_block(), f.next_height()), before);
    assert_eq!(until_logs(&mut f, &chain), logs);
    assert_eq!(finish(&mut f, &chain), chain.expected(&cfg));
}

#[test]
fn malformed_and_unknown_logs_are_skipped_by_every_follower() {
    let logs = vec![
        (START + 1, Kind::Malformed),
        (START + 1, Kind::Event(7)),
        (START + 2, Kind::Unknown),
        (START + 2, Kind::Ignored),
    ];
    let chain = Chain::new(START + 10, &logs, 0);
    let cfg = config(0, 4, 1, Seeds::WithLogs);
    let mut f = Follower::new(cfg.clone()).unwrap();
    let heights = follow(&mut f, &chain);
    assert_eq!(heights, chain.expected(&cfg));
    let first = &heights[0];
    assert_eq!(first.events, vec![(LogPosition { block: START + 1, index: 1 }, event(7))]);
    assert!(matches!(
        first.skipped[0],
        (
            LogPosition { index: 0, .. },
            Skipped::Refused(Error::MalformedLog { event: "NetworkTransaction", .. })
        )
    ));
    assert!(matches!(first.skipped[1].1, Skipped::Refused(Error::UnknownEvent { .. })));
    assert_eq!(first.skipped[2].1, Skipped::Ignored("Paused"));
    assert!(first.seed.is_some());
    assert_eq!(heights[1].seed, None, "no logs, no seed with Seeds::WithLogs");
}

#[test]
fn answers_that_cannot_be_right_are_refused_and_change_nothing() {
    let chain = Chain::new(START + 10, &logs_every([START + 2, START + 3]), 0);
    let mut f = Follower::new(config(1, 3, 100, Seeds::EveryHeight)).unwrap();
    f.feed(Answer::Tip(chain.tip()));
    let request = until_logs(&mut f, &chain);
    let Answer::Logs { from, to, logs } = chain.answer(&request) else { panic!() };
    let snapshot = f.clone();
    let mut refuse = |logs: Vec<RawLog>, what: &str| {
        let Step::Retry { reason } = f.feed(Answer::Logs { from, to, logs }) else { panic!() };
        assert!(reason.contains(what), "{reason}");
        assert_eq!(f, snapshot);
    };
    // A removed log (a reorg signal).
    let mut removed = logs.clone();
    removed[1].removed = true;
    refuse(removed, "removed");
    // A log of another contract.
    let mut other = logs.clone();
    other[0].address = EvmAddress([1; 20]);
    refuse(other, "not the contract");
    // A log outside the range.
    let mut outside = logs.clone();
    outside[0].block_number = to + 1;
    refuse(outside, "outside");
    // Two logs at one position.
    let mut twice = logs.clone();
    twice.push(logs[0].clone());
    refuse(twice, "two logs");
    // Logs for a range not asked, and headers not asked.
    assert!(matches!(f.feed(Answer::Logs { from, to: to + 1, logs: vec![] }), Step::Retry { .. }));
    assert!(matches!(f.feed(Answer::Headers(vec![])), Step::Retry { .. }));
    assert_eq!(f, snapshot);
    // Out of order is fine: the same heights as in order.
    let mut g = f.clone();
    let mut reversed = logs.clone();
    reversed.reverse();
    f.feed(Answer::Logs { from, to, logs });
    g.feed(Answer::Logs { from, to, logs: reversed });
    assert_eq!(f, g);
}

#[test]
fn a_failure_mid_height_leaves_the_follower_where_it_was() {
    // Heights of 10 blocks read 3 blocks at a time: ranges end inside heights.
    let cfg = config(0, 10, 3, Seeds::EveryHeight);
    let chain = Chain::new(START + 25, &logs_every(START + 1..START + 25), 0);
    let mut f = Follower::new(cfg.clone()).unwrap();
    f.feed(Answer::Tip(chain.tip()));
    let mut out = Vec::new();
    let mut failures = 0;
    while let Some(request) = f.poll() {
        // Fail every request once, at every point of every height.
        let before = f.clone();
        let Step::Retry { reason } = f.failed("connection reset") else { panic!() };
        assert!(reason.contains("connection reset"));
        failures += 1;
        if matches!(request, Request::Logs { .. }) {
            // Only the next range shrinks.
            assert_eq!(
                (f.applied_block(), f.next_height()),
                (before.applied_block(), before.next_height())
            );
        } else {
            assert_eq!(f, before);
        }
        match f.feed(chain.answer(&f.poll().unwrap())) {
            Step::Heights(hs) => out.extend(hs),
            Step::Wait => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(failures > 10);
    assert_eq!(out, chain.expected(&cfg));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].events.len(), 10);
}

#[test]
fn configuration_is_checked() {
    assert!(matches!(
        Follower::new(config(0, 0, 1, Seeds::EveryHeight)),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        Follower::new(config(0, 1, 0, Seeds::EveryHeight)),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn untrusted_tips_do_not_overflow() {
    let chain = Chain::new(START + 5, &[], 0);
    let mut f = Follower::new(config(u64::MAX, 1, 10, Seeds::EveryHeight)).unwrap();
    assert_eq!(f.feed(Answer::Tip(chain.tip())), Step::Wait);
    let mut g = Follower::new(config(0, u64::MAX, u64::MAX, Seeds::EveryHeight)).unwrap();
    g.feed(Answer::Tip(u64::MAX));
    assert_eq!(g.poll(), Some(Request::Headers(vec![u64::MAX])));
    let _ = U256::ZERO;
}
