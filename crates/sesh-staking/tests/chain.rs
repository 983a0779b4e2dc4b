//! The chain kinds: the staking contract's events as ledger transactions, authenticated by the
//! chain ([`VerifiedTx::attested`]) rather than by account signatures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{SESH, World, bls, identity, node_id};
use sesh_staking::journal::Journal;
use sesh_staking::tx::{
    ChainExit, ChainRegister, ChainRequestExit, ChainSeed, ChainStake, SignedTx, Tx, VerifiedTx,
};
use sesh_staking::{Address, Error, Event, NodeStatus, Params, Rejection};

const REQ: u64 = 100 * SESH;

fn evm(n: u8) -> Address {
    Address::from_evm([n; 20])
}

/// Node `n` registered on the contract with `stakes` (the operator's first), signed by the node.
fn register(n: u32, stakes: &[(u8, u64)]) -> Tx {
    let node = node_id(n);
    let key = bls(n);
    let signer = identity(1_000_000 + n);
    Tx::ChainRegister(ChainRegister {
        node,
        bls_key: key,
        fee_bp: 1_000,
        contributors: stakes
            .iter()
            .map(|&(a, amount)| ChainStake { address: evm(a), beneficiary: evm(a + 100), amount })
            .collect(),
        node_signature: signer.sign(&ChainRegister::node_message(&node, &key)).to_bytes(),
    })
}

/// Node `n` seeded on the contract with `deposit` and `stakes` (no signature, no fee).
fn seed(n: u32, deposit: u64, stakes: &[(u8, u64)]) -> Tx {
    Tx::ChainSeed(ChainSeed {
        node: node_id(n),
        bls_key: bls(n),
        deposit,
        contributors: stakes
            .iter()
            .map(|&(a, amount)| ChainStake { address: evm(a), beneficiary: evm(a + 100), amount })
            .collect(),
    })
}

fn attest(w: &mut World, tx: Tx) -> Result<Vec<Event>, Error> {
    let verified = VerifiedTx::attested(tx)?;
    let before = w.ledger.state_hash();
    let result = w.ledger.apply(&verified);
    if result.is_err() {
        assert_eq!(w.ledger.state_hash(), before, "a refused chain transaction changed the ledger");
    }
    assert!(w.ledger.totals().balanced(), "{:?}", w.ledger.totals());
    result
}

fn refused(w: &mut World, tx: Tx) -> Rejection {
    match attest(w, tx) {
        Err(Error::TxRejected { reason }) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_contract_registration_is_active_at_once_with_its_stakes_and_fee() {
    let mut w = World::new(Params::testnet(REQ));
    let events =
        attest(&mut w, register(1, &[(1, 40 * SESH), (2, 35 * SESH), (3, 25 * SESH)])).unwrap();
    assert!(events.contains(&Event::Activated { node: node_id(1) }));
    let node = w.ledger.node(&node_id(1)).unwrap();
    assert_eq!(node.status(), NodeStatus::Active);
    assert_eq!(node.fee_bp(), 1_000);
    assert_eq!(node.operator(), evm(1));
    let stakes: Vec<_> =
        node.contributors().iter().map(|c| (c.address, c.beneficiary, c.amount)).collect();
    assert_eq!(
        stakes,
        vec![
            (evm(1), evm(101), 40 * SESH),
            (evm(2), evm(102), 35 * SESH),
            (evm(3), evm(103), 25 * SESH)
        ]
    );
    assert_eq!(w.ledger.totals().staked, u128::from(REQ));
    assert_eq!(w.ledger.nonce(&evm(1)), 0, "the chain orders these: no nonces");
}

#[test]
fn registrations_are_checked_as_oxend_checks_them() {
    let mut w = World::new(Params::testnet(REQ));
    attest(&mut w, register(1, &[(1, REQ)])).unwrap();
    // The same node again, and another node with its BLS key.
    assert_eq!(
        refused(&mut w, register(1, &[(1, REQ)])),
        Rejection::NodeAlreadyRegistered { node: node_id(1) }
    );
    let Tx::ChainRegister(mut stolen) = register(2, &[(1, REQ)]) else { unreachable!() };
    stolen.bls_key = bls(1);
    stolen.node_signature = identity(1_000_002)
        .sign(&ChainRegister::node_message(&stolen.node, &stolen.bls_key))
        .to_bytes();
    assert_eq!(
        refused(&mut w, Tx::ChainRegister(stolen)),
        Rejection::BlsKeyInUse { node: node_id(1) }
    );
    assert_eq!(
        refused(&mut w, register(3, &[(1, REQ / 4 - 1), (2, REQ - REQ / 4 + 1)])),
        Rejection::StakeBelowMinimum { index: 0, amount: REQ / 4 - 1, minimum: REQ / 4 }
    );
    assert_eq!(
        refused(&mut w, register(3, &[(1, REQ / 2), (2, REQ / 4)])),
        Rejection::RegistrationNotFull { contributed: REQ / 2 + REQ / 4, requirement: REQ }
    );
    assert_eq!(
        refused(&mut w, register(3, &[(1, REQ / 2), (1, REQ / 2)])),
        Rejection::DuplicateContributor { address: evm(1) }
    );
    assert_eq!(refused(&mut w, register(3, &[])), Rejection::NoContributors);
    let eleven: Vec<(u8, u64)> = (0..11).map(|i| (i + 10, REQ / 10)).collect();
    assert_eq!(
        refused(&mut w, register(3, &eleven)),
        Rejection::TooManyContributors { count: 11, max: 10 }
    );
}

#[test]
fn a_seeded_node_is_active_at_once_without_signature_fee_or_operator_minimum() {
    let mut w = World::new(Params::testnet(REQ));
    // An operator below a quarter: the seeding contract does not check it, nor does the ledger.
    let events = attest(&mut w, seed(1, REQ, &[(1, 10 * SESH), (2, 90 * SESH)])).unwrap();
    assert!(events.contains(&Event::Activated { node: node_id(1) }));
    let node = w.ledger.node(&node_id(1)).unwrap();
    assert_eq!(node.status(), NodeStatus::Active);
    assert_eq!(node.fee_bp(), 0);
    assert_eq!(node.operator(), evm(1));
    assert_eq!(node.staking_requirement(), REQ);
    // Its deposit, not the requirement now, is its full stake.
    attest(&mut w, seed(2, 2 * REQ, &[(3, 2 * REQ)])).unwrap();
    assert_eq!(w.ledger.node(&node_id(2)).unwrap().staking_requirement(), 2 * REQ);
    assert_eq!(w.ledger.totals().staked, u128::from(3 * REQ));
    // The contract's seeding rules, and the ledger's keys.
    assert_eq!(
        refused(&mut w, seed(1, REQ, &[(1, REQ)])),
        Rejection::NodeAlreadyRegistered { node: node_id(1) }
    );
    assert_eq!(
        refused(&mut w, seed(3, REQ, &[(1, REQ / 2)])),
        Rejection::RegistrationNotFull { contributed: REQ / 2, requirement: REQ }
    );
    assert_eq!(refused(&mut w, seed(3, REQ, &[])), Rejection::NoContributors);
    assert_eq!(refused(&mut w, seed(3, 0, &[(1, 0)])), Rejection::ZeroRequirement);
    assert_eq!(
        refused(&mut w, seed(3, REQ, &[(1, REQ), (2, 0)])),
        Rejection::StakeBelowMinimum { index: 1, amount: 0, minimum: 1 }
    );
    assert_eq!(
        refused(&mut w, seed(3, REQ, &[(1, REQ / 2), (1, REQ / 2)])),
        Rejection::DuplicateContributor { address: evm(1) }
    );
    // A registration may not reuse a seeded node's keys.
    assert_eq!(
        refused(&mut w, register(1, &[(1, REQ)])),
        Rejection::NodeAlreadyRegistered { node: node_id(1) }
    );
    // Never a signed transaction; attested as it is.
    let signed = seed(3, REQ, &[(1, REQ)]).unsigned();
    assert_eq!(signed.verify(&Params::testnet(REQ)), Err(Error::ChainOnly { kind: 16 }));
    // Its exit goes as any chain node's.
    attest(&mut w, Tx::ChainRequestExit(ChainRequestExit { bls_key: bls(1), contributor: evm(2) }))
        .unwrap();
    attest(&mut w, Tx::ChainExit(ChainExit { bls_key: bls(1), returned: REQ, liquidator: None }))
        .unwrap();
    assert!(w.ledger.node(&node_id(1)).is_none());
}

#[test]
fn the_node_signature_is_checked_and_chain_kinds_are_never_signed_transactions() {
    let Tx::ChainRegister(mut r) = register(1, &[(1, REQ)]) else { unreachable!() };
    r.node_signature[0] ^= 1;
    assert!(matches!(
        VerifiedTx::attested(Tx::ChainRegister(r.clone())),
        Err(Error::BadSignature { .. })
    ));
    // A chain kind posted as a signed transaction is refused whatever it carries.
    r.node_signature[0] ^= 1;
    let signed = Tx::ChainRegister(r).unsigned();
    let decoded = SignedTx::from_bytes(&signed.to_bytes()).unwrap();
    assert_eq!(decoded, signed);
    assert_eq!(decoded.verify(&Params::testnet(REQ)), Err(Error::ChainOnly { kind: 12 }));
    // And attested() takes only chain kinds.
    assert_eq!(VerifiedTx::attested(Tx::AdvanceHeight(1)), Err(Error::NotAChainKind { kind: 11 }));
}

#[test]
fn chain_kinds_round_trip_their_bytes() {
    let txs = [
        register(1, &[(1, 60 * SESH), (2, 40 * SESH)]),
        Tx::ChainRequestExit(ChainRequestExit { bls_key: bls(1), contributor: evm(2) }),
        Tx::ChainExit(ChainExit { bls_key: bls(1), returned: 5, liquidator: None }),
        Tx::ChainExit(ChainExit { bls_key: bls(1), returned: 5, liquidator: Some(evm(9)) }),
        Tx::SetStakingRequirement(7),
        seed(2, 9, &[(1, 4), (2, 5)]),
        seed(3, 9, &[]),
    ];
    for tx in txs {
        let signed = tx.unsigned();
        let bytes = signed.to_bytes();
        assert_eq!(SignedTx::from_bytes(&bytes).unwrap(), signed);
        for cut in 0..bytes.len() {
            assert!(SignedTx::from_bytes(&bytes[..cut]).is_err());
        }
    }
    let mut bad_flag =
        Tx::ChainExit(ChainExit { bls_key: bls(1), returned: 5, liquidator: None }).to_bytes();
    *bad_flag.last_mut().unwrap() = 2;
    assert!(matches!(SignedTx::from_bytes(&bad_flag), Err(Error::Decode { .. })));
}

#[test]
fn exit_request_unlock_then_exit() {
    let params = Params::testnet(REQ);
    let mut w = World::new(params.clone());
    attest(&mut w, register(1, &[(1, 75 * SESH), (2, 25 * SESH)])).unwrap();
    w.advance(10);
    let request =
        |who| Tx::ChainRequestExit(ChainRequestExit { bls_key: bls(1), contributor: who });
    assert_eq!(refused(&mut w, request(evm(7))), Rejection::NotAContributor { address: evm(7) });
    let events = attest(&mut w, request(evm(2))).unwrap();
    let unlock_height = 10 + params.unlock_blocks;
    assert_eq!(events, vec![Event::ExitRequested { node: node_id(1), unlock_height }]);
    assert_eq!(w.ledger.node(&node_id(1)).unwrap().status(), NodeStatus::ExitRequested);
    // The contract re-emits a repeated request; the ledger keeps the first.
    assert_eq!(refused(&mut w, request(evm(1))), Rejection::ExitAlreadyRequested { unlock_height });
    w.advance(params.unlock_blocks + 1);
    assert_eq!(w.ledger.node(&node_id(1)).unwrap().status(), NodeStatus::Removed);
    assert_eq!(w.ledger.active_count(), 0);

    let exit = Tx::ChainExit(ChainExit { bls_key: bls(1), returned: REQ, liquidator: None });
    let events = attest(&mut w, exit.clone()).unwrap();
    assert!(events.contains(&Event::Exited { node: node_id(1) }));
    assert!(w.ledger.node(&node_id(1)).is_none());
    let queued: u64 = w.ledger.pending_returns().map(|r| r.amount).sum();
    assert_eq!(queued, REQ);
    // The node is gone: a second exit names an unknown key.
    assert!(matches!(refused(&mut w, exit), Rejection::UnknownBlsKey { .. }));
    w.advance(1);
    assert_eq!(w.ledger.totals().released, u128::from(REQ));
}

#[test]
fn an_exit_of_a_node_that_asked_to_leave_is_taken_early_but_not_of_one_that_did_not() {
    let mut w = World::new(Params::testnet(REQ));
    attest(&mut w, register(1, &[(1, REQ)])).unwrap();
    attest(&mut w, register(2, &[(2, REQ)])).unwrap();
    let exit = |n| Tx::ChainExit(ChainExit { bls_key: bls(n), returned: REQ, liquidator: None });
    assert_eq!(refused(&mut w, exit(1)), Rejection::NotRemoved { status: NodeStatus::Active });
    attest(&mut w, Tx::ChainRequestExit(ChainRequestExit { bls_key: bls(1), contributor: evm(1) }))
        .unwrap();
    attest(&mut w, exit(1)).unwrap();
    assert!(w.ledger.node(&node_id(1)).is_none());
    assert_eq!(w.ledger.active_count(), 1);
}

#[test]
fn a_liquidation_takes_the_penalty_from_the_operator() {
    let params = Params::testnet(REQ);
    let mut w = World::new(params.clone());
    attest(&mut w, register(1, &[(1, 50 * SESH), (2, 50 * SESH)])).unwrap();
    attest(&mut w, Tx::ChainRequestExit(ChainRequestExit { bls_key: bls(1), contributor: evm(1) }))
        .unwrap();
    w.advance(params.unlock_blocks + 1);
    let (to_liquidator, to_pool, returned) = params.liquidation.unwrap().split(REQ).unwrap();
    let liquidate =
        Tx::ChainExit(ChainExit { bls_key: bls(1), returned, liquidator: Some(evm(9)) });
    // Removed at the first block above the unlock height; liquidable after the exit buffer.
    let liquidation_height = params.unlock_blocks + 1 + params.exit_buffer_blocks;
    assert_eq!(
        refused(&mut w, liquidate.clone()),
        Rejection::LiquidationTooEarly { from: liquidation_height }
    );
    w.advance(params.exit_buffer_blocks);
    let events = attest(&mut w, liquidate).unwrap();
    assert!(events.contains(&Event::Liquidated {
        node: node_id(1),
        liquidator: evm(9),
        liquidator_amount: to_liquidator,
        pool_amount: to_pool,
        returned,
    }));
    let mut returns: Vec<_> = w.ledger.pending_returns().map(|r| (r.address, r.amount)).collect();
    returns.sort();
    assert_eq!(returns, vec![(evm(1), 50 * SESH - to_liquidator - to_pool), (evm(2), 50 * SESH)]);
    assert_eq!(w.ledger.totals().penalties, u128::from(to_liquidator + to_pool));
}

#[test]
fn the_requirement_changes_for_new_nodes_and_snapshots_still_open() {
    let params = Params::testnet(REQ);
    let mut journal = Journal::new(params.clone());
    let mut log = Vec::new();
    for tx in
        [register(1, &[(1, REQ)]), Tx::SetStakingRequirement(2 * REQ), register(2, &[(2, 2 * REQ)])]
    {
        let verified = VerifiedTx::attested(tx.clone()).unwrap();
        let (_, record) = journal.apply_verified(&tx.unsigned(), &verified).unwrap();
        log.extend_from_slice(&record);
    }
    let ledger = journal.ledger();
    assert_eq!(ledger.params().staking_requirement, 2 * REQ);
    assert_eq!(ledger.node(&node_id(1)).unwrap().staking_requirement(), REQ);
    assert_eq!(ledger.node(&node_id(2)).unwrap().staking_requirement(), 2 * REQ);
    let replayed = Journal::open(params.clone(), None, &log).unwrap();
    assert_eq!(replayed.journal.ledger().state_hash(), ledger.state_hash());
    let snapshot = journal.snapshot();
    let reopened = Journal::open(params, Some(&snapshot), &log).unwrap();
    assert_eq!(reopened.journal.ledger().state_hash(), ledger.state_hash());
    let mut w = World::new(Params::testnet(REQ));
    assert_eq!(refused(&mut w, Tx::SetStakingRequirement(0)), Rejection::ZeroRequirement);
}

mod props {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Register { node: u32, split: Vec<u8> },
        Seed { node: u32, split: Vec<u8>, double: bool },
        RequestExit { node: u32, who: u8 },
        Exit { node: u32, returned_percent: u8, liquidator: bool },
        Requirement { times: u8 },
        Advance { blocks: u8 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => (1..6u32, proptest::collection::vec(0..4u8, 0..12), any::<bool>()).prop_map(
                |(node, split, plausible)| {
                    // Mostly stakes that can fill a node; sometimes anything.
                    let split = if plausible {
                        split.iter().take(4).map(|w| w + 1).collect()
                    } else {
                        split
                    };
                    Op::Register { node, split }
                }
            ),
            1 => (1..6u32, proptest::collection::vec(0..4u8, 0..12), any::<bool>())
                .prop_map(|(node, split, double)| Op::Seed { node, split, double }),
            3 => (1..6u32, 0..5u8).prop_map(|(node, who)| Op::RequestExit { node, who }),
            3 => (1..6u32, prop_oneof![Just(100u8), 0..120u8], any::<bool>()).prop_map(
                |(node, returned_percent, liquidator)| {
                    Op::Exit { node, returned_percent, liquidator }
                }
            ),
            1 => (0..3u8).prop_map(|times| Op::Requirement { times }),
            3 => (0..40u8).prop_map(|blocks| Op::Advance { blocks }),
        ]
    }

    /// Stakes from `split` (weights of contributors 1..): some sum to the requirement, some not.
    fn stakes(requirement: u64, split: &[u8]) -> Vec<(u8, u64)> {
        let total: u64 = split.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return vec![];
        }
        let mut out: Vec<(u8, u64)> = split
            .iter()
            .enumerate()
            .map(|(i, w)| (u8::try_from(i + 1).unwrap(), requirement / total * u64::from(*w)))
            .collect();
        let given: u64 = out.iter().map(|(_, a)| a).sum();
        if let Some(first) = out.first_mut() {
            first.1 += requirement - given;
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn chain_kinds_never_panic_conserve_tokens_and_replay(
            ops in proptest::collection::vec(op(), 1..60)
        ) {
            let mut params = Params::testnet(REQ);
            params.unlock_blocks = 10;
            params.exit_buffer_blocks = 5;
            let mut w = World::new(params.clone());
            let mut journal = Journal::new(params.clone());
            let mut log = Vec::new();
            for op in ops {
                let txs = match op {
                    Op::Register { node, split } => {
                        let requirement = w.ledger.params().staking_requirement;
                        vec![register(node, &stakes(requirement, &split))]
                    }
                    Op::Seed { node, split, double } => {
                        let deposit = if double { 2 * REQ } else { REQ };
                        vec![seed(node, deposit, &stakes(deposit, &split))]
                    }
                    Op::RequestExit { node, who } => vec![Tx::ChainRequestExit(ChainRequestExit {
                        bls_key: bls(node),
                        contributor: evm(who),
                    })],
                    Op::Exit { node, returned_percent, liquidator } => {
                        let stake = w.ledger.node(&node_id(node)).map_or(REQ, |n| {
                            n.contributors().iter().map(|c| c.amount).sum()
                        });
                        vec![Tx::ChainExit(ChainExit {
                            bls_key: bls(node),
                            returned: stake / 100 * u64::from(returned_percent),
                            liquidator: liquidator.then(|| evm(9)),
                        })]
                    }
                    Op::Requirement { times } => {
                        vec![Tx::SetStakingRequirement(REQ * u64::from(times))]
                    }
                    Op::Advance { blocks } => (1..=u64::from(blocks))
                        .map(|i| Tx::AdvanceHeight(w.ledger.height() + i))
                        .collect(),
                };
                for tx in txs {
                    let result = match &tx {
                        Tx::AdvanceHeight(_) => w.apply(&tx.clone().unsigned()),
                        _ => attest(&mut w, tx.clone()),
                    };
                    let verified = match &tx {
                        Tx::AdvanceHeight(_) => tx.clone().unsigned().verify(&params).unwrap(),
                        _ => VerifiedTx::attested(tx.clone()).unwrap(),
                    };
                    let logged = journal.apply_verified(&tx.clone().unsigned(), &verified);
                    prop_assert_eq!(result.is_ok(), logged.is_ok());
                    if let Ok((_, record)) = logged {
                        log.extend_from_slice(&record);
                    }
                    prop_assert_eq!(journal.ledger().state_hash(), w.ledger.state_hash());
                }
            }
            let replayed = Journal::open(params.clone(), None, &log).unwrap();
            prop_assert!(replayed.damage.is_none());
            prop_assert_eq!(replayed.journal.ledger().state_hash(), w.ledger.state_hash());
            let snapshot = journal.snapshot();
            let reopened = Journal::open(params, Some(&snapshot), &log).unwrap();
            prop_assert_eq!(reopened.journal.ledger().state_hash(), w.ledger.state_hash());
        }
    }
}
