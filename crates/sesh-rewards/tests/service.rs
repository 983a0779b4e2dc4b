//! Service-weighted rewards: the whole block reward is credited, in proportion to weights.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use sesh_identity::{Identity, Seed};
use sesh_rewards::engine::RewardEngine;
use sesh_rewards::service::{ServiceParams, ServicePoints, ServiceWeighted};
use sesh_staking::tx::{Register, Tx};
use sesh_staking::{Address, BlsKey, Ledger, NodeId, Params};

fn key(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([n; 32]))
}

/// Registers node `100 + n` for operator `n` with `fee_bp` and the operator's `stake`.
fn register(ledger: &mut Ledger, n: u8, fee_bp: u16, stake: u64) -> NodeId {
    let params = ledger.params().clone();
    let (operator, node) = (key(n), key(100 + n));
    let (op, id, bls) = (
        Address::from_identity(&operator),
        NodeId::from_identity(&node),
        BlsKey::from_bytes([n; 64]),
    );
    let tx = Tx::Register(Register {
        operator: op,
        nonce: 0,
        node: id,
        bls_key: bls,
        fee_bp,
        stake,
        beneficiary: op,
        reservations: vec![],
        node_signature: node.sign(&Register::node_message(&id, &bls, &op, &params)).to_bytes(),
    });
    ledger.apply_signed(&tx.sign(&operator, &params).unwrap()).unwrap();
    id
}

#[test]
fn service_weights_conserve_the_block_reward() {
    let params = Params::testnet(100_000_000_000);
    let mut ledger = Ledger::new(params.clone());
    for n in 1..=3u8 {
        register(&mut ledger, n, 1_000, params.staking_requirement);
    }
    for h in 1..=4 {
        ledger.apply_signed(&Tx::AdvanceHeight(h).unsigned()).unwrap();
    }
    let mut engine = ServiceWeighted::new(ServiceParams::default());
    let busy = NodeId::from_identity(&key(102));
    engine.submit(
        busy,
        ServicePoints { stored: 2_000, delivered: 0, tests_passed: 1, tests_failed: 0 },
    );
    // A node failing its storage tests earns the base only, whatever it claims to have served.
    engine.submit(
        NodeId::from_identity(&key(103)),
        ServicePoints { stored: 2_000, delivered: 0, tests_passed: 0, tests_failed: 1 },
    );
    let reward = 22_983_257_229;
    engine.block(&ledger, &[], reward).unwrap();
    let totals = engine.totals();
    assert_eq!(totals.credited, u128::from(reward) * 1_000);
    assert_eq!(totals.dust, 0);
    let credited =
        |engine: &ServiceWeighted, n: u8| engine.credited(&Address::from_identity(&key(n)));
    let got = |n: u8| credited(&engine, n);
    // Weights 1 : 2 : 1 of 22,983,257,229,000 milli.
    assert_eq!(got(1) + got(2) + got(3), 22_983_257_229_000);
    assert_eq!(got(2), 11_491_628_614_500);
    assert_eq!(got(1), 5_745_814_307_250);
    assert_eq!(got(3), 5_745_814_307_250);
    // Points apply to one block only.
    engine.block(&ledger, &[], reward).unwrap();
    assert_eq!(credited(&engine, 1) - 5_745_814_307_250, 7_661_085_743_000);
}

/// The engine against the rule written plainly — weights from the last submission of each node,
/// `weighted_shares`, oxend's split with the rounding to the operator — over blocks whose
/// payable set changes, with points submitted out of order and more than once.
#[test]
fn the_engine_credits_what_the_rule_gives() {
    use std::collections::BTreeMap;

    use sesh_rewards::service::weighted_shares;
    use sesh_rewards::split::{portions_for_operator, split_node};
    use sesh_staking::tx::{Contribute, DecisionKind, QuorumDecision};

    let params = Params::testnet(100_000_000_000);
    let mut ledger = Ledger::new(params.clone());
    let req = params.staking_requirement;
    for n in 1..=12u8 {
        let stake = if n % 3 == 0 { req } else { req / 2 };
        let id = register(&mut ledger, n, u16::from(n) * 700, stake);
        if stake < req {
            let who = key(200 + n);
            let a = Address::from_identity(&who);
            let tx = Tx::Contribute(Contribute {
                contributor: a,
                nonce: 0,
                node: id,
                amount: req - stake,
                beneficiary: a,
            });
            ledger.apply_signed(&tx.sign(&who, &params).unwrap()).unwrap();
        }
    }
    let mut engine = ServiceWeighted::new(ServiceParams::default());
    let mut want: BTreeMap<Address, u128> = BTreeMap::new();
    let mut decisions = 0;
    let mut down: Option<u8> = None;
    let mut lcg = 0x853c_49e6_748f_ea9bu64;
    let mut next = move || {
        lcg = lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        lcg >> 33
    };
    for b in 0..400u64 {
        let h = ledger.height() + 1;
        let mut events = ledger.apply_signed(&Tx::AdvanceHeight(h).unsigned()).unwrap();
        // Now and then a node is decommissioned, and later comes back: the payable set changes.
        if b % 23 == 22 {
            let (kind, n) = match down.take() {
                Some(n) => (DecisionKind::Recommission, n),
                None => (DecisionKind::Decommission, u8::try_from(next() % 12).unwrap() + 1),
            };
            let voters: Vec<Identity> =
                (1..=12u8).filter(|v| *v != n).map(|v| key(100 + v)).collect();
            let refs: Vec<&Identity> = voters.iter().collect();
            let target = NodeId::from_identity(&key(100 + n));
            let d = QuorumDecision::signed(kind, target, ledger.height(), &refs, &params);
            let tx = match kind {
                DecisionKind::Decommission => Tx::Decommission(d),
                _ => Tx::Recommission(d),
            };
            // A node recommissioned lately lacks the credit for another decommission.
            if let Ok(e) = ledger.apply_signed(&tx.unsigned()) {
                events.extend(e);
                decisions += 1;
                if kind == DecisionKind::Decommission {
                    down = Some(n);
                }
            }
        }
        // Points for some nodes, in a shuffled order, some twice (the last counts).
        let mut submitted: Vec<(NodeId, ServicePoints)> = Vec::new();
        for n in (1..=12u8).rev() {
            for _ in 0..next() % 3 {
                let p = ServicePoints {
                    stored: next() % 1_500,
                    delivered: next() % 300,
                    tests_passed: u32::try_from(next() % 2).unwrap(),
                    tests_failed: u32::try_from(next() % 2).unwrap(),
                };
                submitted.push((NodeId::from_identity(&key(100 + n)), p));
            }
        }
        if b % 2 == 0 {
            let third = submitted.len() / 3;
            submitted.rotate_left(third);
        }
        let mut last: BTreeMap<NodeId, ServicePoints> = BTreeMap::new();
        for (id, p) in &submitted {
            engine.submit(*id, *p);
            last.insert(*id, *p);
        }
        let reward = 22_983_257_229 + next() % 1_000;
        engine.block(&ledger, &events, reward).unwrap();

        let payable: Vec<_> = ledger.nodes().filter(|n| ledger.is_payable(&n.id())).collect();
        if payable.is_empty() {
            continue;
        }
        let weights: Vec<u128> =
            payable.iter().map(|n| ServiceParams::default().weight(last.get(&n.id()))).collect();
        let shares = weighted_shares(reward * 1_000, &weights).unwrap();
        for (node, share) in payable.iter().zip(shares) {
            let amounts: Vec<u64> = node.contributors().iter().map(|c| c.amount).collect();
            let split = split_node(share, portions_for_operator(node.fee_bp()), &amounts);
            *want.entry(node.contributors()[0].beneficiary).or_default() +=
                u128::from(split.fee + split.dust);
            for (c, amount) in node.contributors().iter().zip(&split.contributors) {
                *want.entry(c.beneficiary).or_default() += u128::from(*amount);
            }
        }
    }
    want.retain(|_, v| *v > 0);
    assert!(decisions >= 5, "the payable set changed {decisions} times");
    assert!(engine.totals().conserved());
    assert_eq!(engine.balances(), want);
}
