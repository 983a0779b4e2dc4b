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

#[test]
fn service_weights_conserve_the_block_reward() {
    let params = Params::testnet(100_000_000_000);
    let mut ledger = Ledger::new(params.clone());
    for n in 1..=3u8 {
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
            fee_bp: 1_000,
            stake: params.staking_requirement,
            beneficiary: op,
            reservations: vec![],
            node_signature: node.sign(&Register::node_message(&id, &bls, &op, &params)).to_bytes(),
        });
        ledger.apply_signed(&tx.sign(&operator, &params).unwrap()).unwrap();
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
