//! Random networks over up to a year of blocks: `Exact` credits what oxend's split of every
//! payable node gives, block by block; `Accumulator` stays within its documented bound of
//! `Exact` for every beneficiary; rewards are conserved; claims never exceed balances and the
//! claim cap holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use sesh_bls::{Aggregate, Domain, Message, SecretKey, Signature};
use sesh_identity::{Identity, Seed};
use sesh_rewards::Error;
use sesh_rewards::claims::{BalanceUpdate, Claims, RegisteredSet};
use sesh_rewards::engine::{Accumulator, Exact, RewardEngine};
use sesh_rewards::pool::BlockRewards;
use sesh_rewards::split::{block_share, portions_for_operator, split_node};
use sesh_staking::tx::{
    ByContributor, Contribute, DecisionKind, QuorumDecision, Register, SignedTx, Tx,
};
use sesh_staking::{Address, BlsKey, Event, Ledger, NodeId, Params};

fn identity(n: u32) -> Identity {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    seed[31] = 0xee;
    Identity::from_seed(&Seed::from_bytes(seed))
}

const DOMAIN: Domain = Domain { chain_id: 421_614, contract: [0xc2; 20] };

/// A ledger beneficiary's stand-in EVM address (its last 20 bytes).
fn evm(address: &Address) -> [u8; 20] {
    address.as_bytes()[12..].try_into().unwrap()
}

/// `keys[id − 1]` for each id of `signers` signs `recipient`'s balance; the other ids are listed
/// as non-signers.
fn reward_update(
    keys: &[SecretKey],
    signers: &[u64],
    recipient: [u8; 20],
    amount: u128,
) -> BalanceUpdate {
    let message = Message::Reward { recipient, amount };
    let signature: Signature =
        signers.iter().map(|id| keys[*id as usize - 1].sign(&DOMAIN, &message)).sum();
    let non_signers = (1..=keys.len() as u64).filter(|id| !signers.contains(id)).collect();
    BalanceUpdate { recipient, amount, aggregate: Aggregate { signature, non_signers } }
}

fn node_key(n: u32) -> Identity {
    identity(1_000_000 + n)
}

fn node_id(n: u32) -> NodeId {
    NodeId::from_identity(&node_key(n))
}

/// A node: fee, and the contributors' count.
#[derive(Clone, Debug)]
struct NodeSpec {
    fee_bp: u16,
    contributors: usize,
    operator_extra: u64,
}

#[derive(Clone, Debug)]
enum Change {
    Decommission(usize),
    Recommission(usize),
    Exit(usize),
    /// A new node registers (and becomes payable later, among the others in id order).
    Join(NodeSpec),
}

/// oxend's arithmetic as plainly as it can be written: every block, every payable node's share
/// split afresh. What `Exact` must credit, to the unit.
#[derive(Default)]
struct Reference {
    balances: BTreeMap<Address, u128>,
    dust: u128,
}

impl Reference {
    fn block(&mut self, ledger: &Ledger, events: &[Event], reward: u64) {
        for e in events {
            if let Event::StakeReleased { address, amount } = e {
                *self.balances.entry(*address).or_default() += u128::from(*amount) * 1_000;
            }
        }
        let payable: Vec<_> = ledger.payable_nodes().collect();
        let (share, remainder) = block_share(reward, payable.len() as u64).unwrap();
        self.dust += u128::from(remainder);
        for node in payable {
            let amounts: Vec<u64> = node.contributors().iter().map(|c| c.amount).collect();
            let split = split_node(share, portions_for_operator(node.fee_bp()), &amounts);
            let operator = node.contributors()[0].beneficiary;
            *self.balances.entry(operator).or_default() += u128::from(split.fee);
            for (c, amount) in node.contributors().iter().zip(&split.contributors) {
                *self.balances.entry(c.beneficiary).or_default() += u128::from(*amount);
            }
            self.dust += u128::from(split.dust);
        }
        self.balances.retain(|_, v| *v > 0);
    }
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (prop_oneof![Just(0u16), Just(10_000), 0..=10_000u16], 1..=10usize, 0..1_000_000_000u64)
        .prop_map(|(fee_bp, contributors, operator_extra)| NodeSpec {
            fee_bp,
            contributors,
            operator_extra,
        })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..10usize).prop_map(Change::Decommission),
        (0..10usize).prop_map(Change::Recommission),
        (0..10usize).prop_map(Change::Exit),
        node_spec().prop_map(Change::Join),
    ]
}

/// Changes by the block they happen in (`at` taken modulo the run's length).
fn schedule(changes: Vec<(u64, Change)>, blocks: u64) -> BTreeMap<u64, Vec<Change>> {
    changes.into_iter().fold(BTreeMap::new(), |mut m, (at, c)| {
        m.entry(at % blocks).or_insert_with(Vec::new).push(c);
        m
    })
}

struct Net {
    params: Params,
    ledger: Ledger,
    events: Vec<Event>,
    /// Nodes registered at the start (1 ..= count); they vote and they are the ones changed.
    count: u32,
    /// Nodes registered later (101, 102, …).
    joined: u32,
}

impl Net {
    /// A testnet ledger with one node registered for each spec.
    fn start(specs: &[NodeSpec]) -> Self {
        let params = Params::testnet(100_000_000_000);
        let count = specs.len() as u32;
        let mut net = Self {
            ledger: Ledger::new(params.clone()),
            params,
            events: Vec::new(),
            count,
            joined: 0,
        };
        for (i, spec) in specs.iter().enumerate() {
            net.register(i as u32 + 1, spec);
        }
        net
    }

    /// Applies a change; a joining node's id is returned.
    fn change(&mut self, change: &Change) -> Option<NodeId> {
        let pick = |i: usize, count: u32| (i as u32 % count) + 1;
        let voters: Vec<u32> = (1..=self.count).collect();
        match change {
            Change::Decommission(i) => {
                self.decide(DecisionKind::Decommission, pick(*i, self.count), &voters);
            }
            Change::Recommission(i) => {
                self.decide(DecisionKind::Recommission, pick(*i, self.count), &voters);
            }
            Change::Exit(i) => self.exit(pick(*i, self.count)),
            Change::Join(spec) => {
                self.joined += 1;
                let n = 100 + self.joined;
                self.register(n, spec);
                return Some(node_id(n));
            }
        }
        None
    }

    fn apply(&mut self, tx: &SignedTx) -> bool {
        match self.ledger.apply_signed(tx) {
            Ok(events) => {
                self.events.extend(events);
                true
            }
            Err(_) => false,
        }
    }

    /// Node `n` with contributors `n*100 + j`, each its own beneficiary.
    fn register(&mut self, n: u32, spec: &NodeSpec) {
        let req = self.params.staking_requirement;
        let operator = identity(n * 100);
        let op = Address::from_identity(&operator);
        let (id, bls) = (node_id(n), BlsKey::from_bytes([n as u8 + 1; 64]));
        let stake = if spec.contributors == 1 {
            req
        } else {
            (req.div_ceil(4) + spec.operator_extra).min(req / 2)
        };
        let tx = Tx::Register(Register {
            operator: op,
            nonce: self.ledger.nonce(&op),
            node: id,
            bls_key: bls,
            fee_bp: spec.fee_bp,
            stake,
            beneficiary: op,
            reservations: vec![],
            node_signature: node_key(n)
                .sign(&Register::node_message(&id, &bls, &op, &self.params))
                .to_bytes(),
        });
        assert!(self.apply(&tx.sign(&operator, &self.params).unwrap()));
        let mut remaining = req - stake;
        for j in 1..spec.contributors {
            let amount = if j + 1 == spec.contributors {
                remaining
            } else {
                remaining.div_ceil((10 - j) as u64)
            };
            let who = identity(n * 100 + j as u32);
            let a = Address::from_identity(&who);
            let tx = Tx::Contribute(Contribute {
                contributor: a,
                nonce: self.ledger.nonce(&a),
                node: id,
                amount,
                beneficiary: a,
            });
            assert!(
                self.apply(&tx.sign(&who, &self.params).unwrap()),
                "contribution {j} of {spec:?}"
            );
            remaining -= amount;
        }
        assert_eq!(remaining, 0);
    }

    fn decide(&mut self, kind: DecisionKind, n: u32, voters: &[u32]) {
        let keys: Vec<Identity> =
            voters.iter().filter(|v| **v != n).map(|v| node_key(*v)).collect();
        let refs: Vec<&Identity> = keys.iter().collect();
        let d = QuorumDecision::signed(kind, node_id(n), self.ledger.height(), &refs, &self.params);
        let tx = match kind {
            DecisionKind::Decommission => Tx::Decommission(d),
            DecisionKind::Recommission => Tx::Recommission(d),
            _ => Tx::Deregister(d),
        };
        self.apply(&tx.unsigned());
    }

    fn exit(&mut self, n: u32) {
        let operator = identity(n * 100);
        let a = Address::from_identity(&operator);
        let tx = Tx::RequestExit(ByContributor {
            contributor: a,
            nonce: self.ledger.nonce(&a),
            node: node_id(n),
        });
        self.apply(&tx.sign(&operator, &self.params).unwrap());
    }

    fn exit_stake(&mut self, n: u32) {
        let operator = identity(n * 100);
        let a = Address::from_identity(&operator);
        let tx = Tx::Exit(ByContributor {
            contributor: a,
            nonce: self.ledger.nonce(&a),
            node: node_id(n),
        });
        self.apply(&tx.sign(&operator, &self.params).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn accumulator_tracks_exact(
        specs in prop::collection::vec(node_spec(), 2..10),
        blocks in prop_oneof![1_000u64..20_000, 200_000u64..262_800],
        changes in prop::collection::vec((0..262_800u64, change()), 0..30),
        claim_every in 2_000u64..20_000,
    ) {
        let mut net = Net::start(&specs);
        let changes = schedule(changes, blocks);

        let mut exact = Exact::new();
        let mut fast = Accumulator::new();
        let mut rewards = BlockRewards::new();
        let mut payable_blocks: BTreeMap<NodeId, u64> = BTreeMap::new();
        let mut fee_recipients = BTreeSet::new();
        let mut pays: BTreeMap<Address, BTreeSet<NodeId>> = BTreeMap::new();
        for node in net.ledger.nodes() {
            fee_recipients.insert(node.contributors()[0].beneficiary);
            for c in node.contributors() {
                pays.entry(c.beneficiary).or_default().insert(node.id());
            }
        }
        let bls: Vec<SecretKey> = (0..3u8).map(|i| SecretKey::from_seed(&[0xbb, i])).collect();
        let set = RegisteredSet::new(DOMAIN, (1..).zip(bls.iter().map(SecretKey::public_key)));
        let mut claims = Claims::new(43_200, 20_000_000_000);
        let mut claim_rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut per_cycle: BTreeMap<u64, u128> = BTreeMap::new();

        for b in 0..blocks {
            for change in changes.get(&b).into_iter().flatten() {
                if let Some(id) = net.change(change) {
                    let node = net.ledger.node(&id).unwrap();
                    fee_recipients.insert(node.contributors()[0].beneficiary);
                    for c in node.contributors() {
                        pays.entry(c.beneficiary).or_default().insert(id);
                    }
                }
            }
            let height = net.ledger.height() + 1;
            assert!(net.apply(&Tx::AdvanceHeight(height).unsigned()));
            if height.is_multiple_of(97) {
                for n in 1..=net.count {
                    net.exit_stake(n);
                }
            }
            // The pool's rate wanders; the chain clamps it and pays the minimum of 15.
            let rate = 22_983_257_229 + (b % 1_000) * 1_000_000;
            let reward = rewards.next_block(rate).unwrap().reward;
            let events = std::mem::take(&mut net.events);
            exact.block(&net.ledger, &events, reward).unwrap();
            fast.block(&net.ledger, &events, reward).unwrap();
            for node in net.ledger.nodes() {
                if net.ledger.is_payable(&node.id()) {
                    *payable_blocks.entry(node.id()).or_insert(0) += 1;
                }
            }

            // Claims: a random beneficiary asks, its balance is signed and claimed in part.
            if b % claim_every == claim_every - 1 {
                claim_rng ^= claim_rng << 13;
                claim_rng ^= claim_rng >> 7;
                claim_rng ^= claim_rng << 17;
                let addresses: Vec<Address> = pays.keys().copied().collect();
                let beneficiary = addresses[(claim_rng % addresses.len() as u64) as usize];
                let who = evm(&beneficiary);
                fast.settle(&beneficiary);
                let balance = fast.credited(&beneficiary) / 1_000;
                // Two of the three nodes sign (one non-signer is allowed).
                let update = reward_update(&bls, &[1, 2], who, balance);
                let before = claims.recipient(&who);
                match claims.update_balance(&set, &update) {
                    Ok(()) => prop_assert!(balance > before.rewards),
                    Err(e) => {
                        prop_assert!(balance <= before.rewards);
                        prop_assert_eq!(e, Error::BalanceNotIncreasing { current: before.rewards, proposed: balance });
                    }
                }
                let now = b * 120;
                let recipient = claims.recipient(&who);
                let ask = (recipient.rewards - recipient.claimed) / 2 + 1;
                let cycle_before = claims.total_claimed();
                if let Ok(paid) = claims.claim(&who, Some(ask), now) {
                    prop_assert_eq!(paid, ask);
                    prop_assert_eq!(claims.total_claimed(), cycle_before + paid);
                    let cycle = per_cycle.entry(now / 43_200).or_insert(0);
                    *cycle += paid;
                    prop_assert!(*cycle <= 20_000_000_000, "the claim cap was passed");
                }
                let recipient = claims.recipient(&who);
                prop_assert!(recipient.claimed <= recipient.rewards);
                prop_assert!(recipient.rewards * 1_000 <= fast.credited(&beneficiary));
            }
        }

        fast.settle_all();
        let (e, f) = (exact.totals(), fast.totals());
        prop_assert!(e.conserved(), "exact: {:?}", e);
        prop_assert!(f.conserved(), "accumulator: {:?}", f);
        prop_assert_eq!(f.pending, 0);
        prop_assert_eq!(e.rewards, f.rewards);
        prop_assert_eq!(e.returned, f.returned);

        // Per beneficiary: the accumulator's error is within 1 milli per payable block of each
        // node paying it on the fee side, 2 on the stake side.
        let addresses: BTreeSet<Address> = exact.balances().keys().chain(fast.balances().keys()).copied().collect();
        for a in addresses {
            let (x, y) = (exact.credited(&a) as i128, fast.credited(&a) as i128);
            let blocks: i128 = pays.get(&a).map_or(0, |nodes| nodes.iter().map(|n| *payable_blocks.get(n).unwrap_or(&0) as i128).sum());
            prop_assert!(y - x <= 2 * blocks, "{a}: accumulator {y} exact {x} over {blocks} blocks");
            if fee_recipients.contains(&a) {
                prop_assert!(x - y <= blocks, "{a}: fee recipient short by {} over {blocks} blocks", x - y);
            } else {
                prop_assert!(y >= x, "{a}: a contributor got {} less than exact", x - y);
            }
        }
    }

    /// `Exact` keeps each node's split prepared between blocks: whatever joins, leaves, comes
    /// back or exits, it credits what splitting every payable node afresh gives, every block.
    #[test]
    fn exact_is_oxends_split_of_every_block(
        specs in prop::collection::vec(node_spec(), 2..10),
        blocks in 1_000u64..6_000,
        changes in prop::collection::vec((0..6_000u64, change()), 0..40),
    ) {
        let mut net = Net::start(&specs);
        let changes = schedule(changes, blocks);
        let (mut exact, mut reference) = (Exact::new(), Reference::default());
        let mut rewards = BlockRewards::new();
        for b in 0..blocks {
            for change in changes.get(&b).into_iter().flatten() {
                net.change(change);
            }
            let height = net.ledger.height() + 1;
            assert!(net.apply(&Tx::AdvanceHeight(height).unsigned()));
            if height.is_multiple_of(97) {
                for n in 1..=net.count {
                    net.exit_stake(n);
                }
            }
            let reward = rewards.next_block(22_983_257_229 + (b % 1_000) * 1_000_000).unwrap().reward;
            let events = std::mem::take(&mut net.events);
            exact.block(&net.ledger, &events, reward).unwrap();
            reference.block(&net.ledger, &events, reward);
            if b % 101 == 0 {
                prop_assert_eq!(&exact.balances(), &reference.balances, "block {}", b);
            }
        }
        prop_assert_eq!(&exact.balances(), &reference.balances);
        prop_assert_eq!(exact.totals().dust, reference.dust);
        prop_assert!(exact.totals().conserved());
    }
}

/// One step of a claim sequence.
#[derive(Clone, Debug)]
enum ClaimOp {
    /// The nodes of `signers` (bit i: id i + 1) sign `who`'s recorded balance raised (or
    /// lowered) by `by`; `tamper` 1–4 spoils the update (another amount, recipient, domain, or
    /// non-signer list), 0 and 5 leave it honest.
    Sign { who: usize, by: u128, lower: bool, signers: u8, tamper: u8 },
    /// `who` claims `amount` (all for `None`) `wait` seconds after the previous step.
    Claim { who: usize, amount: Option<u128>, wait: u64 },
}

fn claim_op() -> impl Strategy<Value = ClaimOp> {
    prop_oneof![
        (0..3usize, 0..700u128, prop::bool::weighted(0.2), 0..16u8, 0..6u8).prop_map(
            |(who, by, lower, signers, tamper)| ClaimOp::Sign { who, by, lower, signers, tamper }
        ),
        (0..3usize, prop::option::of(0..500u128), 0..120u64)
            .prop_map(|(who, amount, wait)| ClaimOp::Claim { who, amount, wait }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random sequences of signed balances and claims against four registered nodes (one may
    /// abstain), a cap of 1,000 per 100-second cycle: each update is accepted exactly when the
    /// contract would accept it, each claim paid exactly when it is within the balance and the
    /// cycle's cap, and nothing is claimed that was not signed.
    #[test]
    fn claim_sequences_conserve(ops in prop::collection::vec(claim_op(), 1..40)) {
        const CYCLE: u64 = 100;
        const CAP: u128 = 1_000;
        let keys: Vec<SecretKey> = (0..4u8).map(|i| SecretKey::from_seed(&[0xcc, i])).collect();
        let set = RegisteredSet::new(DOMAIN, (1..).zip(keys.iter().map(SecretKey::public_key)));
        prop_assert_eq!(set.non_signer_threshold(), 1);
        let who_of = |i: usize| [0x10 + i as u8; 20];
        let mut claims = Claims::new(CYCLE, CAP);
        // What the test knows independently: the balances the network signed honestly and the
        // contract took, what was paid, per cycle.
        let mut recorded = [0u128; 3];
        let mut paid = [0u128; 3];
        let mut per_cycle: BTreeMap<u64, u128> = BTreeMap::new();
        let mut now = 1_000_000u64;

        for op in ops {
            match op {
                ClaimOp::Sign { who, by, lower, signers, tamper } => {
                    let recipient = who_of(who);
                    let amount = if lower { recorded[who].saturating_sub(by) } else { recorded[who] + by };
                    let ids: Vec<u64> = (1..=4u64).filter(|id| signers & (1 << (id - 1)) != 0).collect();
                    let mut update = reward_update(&keys, &ids, recipient, amount);
                    let message = match tamper {
                        1 => Some((DOMAIN, Message::Reward { recipient, amount: amount + 1 })),
                        2 => Some((DOMAIN, Message::Reward { recipient: who_of(who + 1), amount })),
                        3 => Some((Domain { chain_id: 1, ..DOMAIN }, Message::Reward { recipient, amount })),
                        _ => None,
                    };
                    if let Some((domain, message)) = message {
                        update.aggregate.signature =
                            ids.iter().map(|id| keys[*id as usize - 1].sign(&domain, &message)).sum();
                    }
                    if tamper == 4 {
                        update.aggregate.non_signers = match update.aggregate.non_signers.first() {
                            None => vec![1],
                            Some(id) => vec![id % 4 + 1],
                        };
                    }
                    let listed = update.aggregate.non_signers.len();
                    let expected = if listed > 1 {
                        Err(Error::TooManyNonSigners { non_signers: listed, allowed: 1, registered: 4 })
                    } else if amount <= recorded[who] {
                        Err(Error::BalanceNotIncreasing { current: recorded[who], proposed: amount })
                    } else if (1..=4).contains(&tamper) {
                        Err(Error::InvalidSignature {
                            aggregate_key: sesh_bls::aggregate_key(set.keys(), &update.aggregate.non_signers).to_bytes(),
                        })
                    } else {
                        Ok(())
                    };
                    prop_assert_eq!(claims.update_balance(&set, &update), expected.clone(), "{:?}", update);
                    if expected.is_ok() {
                        recorded[who] = amount;
                    }
                }
                ClaimOp::Claim { who, amount, wait } => {
                    now += wait;
                    let recipient = who_of(who);
                    let available = recorded[who] - paid[who];
                    let asked = amount.unwrap_or(available);
                    let so_far = per_cycle.get(&(now / CYCLE)).copied().unwrap_or(0);
                    let expected = if asked > available {
                        Err(Error::ClaimExceedsBalance { requested: asked, available })
                    } else if so_far + asked > CAP {
                        Err(Error::ClaimCapExceeded { requested: asked, claimed: so_far, cap: CAP })
                    } else {
                        Ok(asked)
                    };
                    let got = claims.claim(&recipient, amount, now);
                    prop_assert_eq!(&got, &expected);
                    if let Ok(p) = got {
                        paid[who] += p;
                        *per_cycle.entry(now / CYCLE).or_default() += p;
                    }
                }
            }
            let mut sum_claimed = 0;
            for (i, (r, p)) in recorded.iter().zip(&paid).enumerate() {
                let on_chain = claims.recipient(&who_of(i));
                prop_assert_eq!(on_chain, sesh_rewards::claims::Recipient { rewards: *r, claimed: *p });
                prop_assert!(on_chain.claimed <= on_chain.rewards);
                sum_claimed += on_chain.claimed;
            }
            prop_assert_eq!(claims.total_claimed(), sum_claimed);
            prop_assert!(sum_claimed <= recorded.iter().sum::<u128>());
            prop_assert!(per_cycle.values().all(|c| *c <= CAP));
        }
    }
}
