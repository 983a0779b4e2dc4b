//! Every ledger rule, with the spec's figures (swarm-stake-rewards.md §2, §2.4, §6.4).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{SESH, World, address, bls, node_id};
use sesh_staking::tx::{DecisionKind, Tx, UptimeProof};
use sesh_staking::{Event, NodeStatus, Params, Rejection};

fn mainnet() -> World {
    World::new(Params::session_mainnet())
}

#[test]
fn operator_minimum_is_6250_sesh() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 6_250 * SESH - 1, 0, vec![]);
    assert_eq!(
        w.rejection(&tx),
        Rejection::StakeBelowMinimum { index: 0, amount: 6_250 * SESH - 1, minimum: 6_250 * SESH }
    );
    let tx = w.register_tx(1, 1, 6_250 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    assert_eq!(w.ledger.node(&node_id(1)).unwrap().status(), NodeStatus::AwaitingContributions);
}

#[test]
fn second_contributor_minimum_is_2083_333333334_sesh() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 6_250 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let minimum = 2_083_333_333_334;
    let tx = w.contribute_tx(2, 1, minimum - 1);
    assert_eq!(
        w.rejection(&tx),
        Rejection::ContributionBelowMinimum { amount: minimum - 1, minimum }
    );
    let tx = w.contribute_tx(2, 1, minimum);
    w.apply(&tx).unwrap();
    // Top-ups have no minimum.
    let tx = w.contribute_tx(2, 1, 1);
    w.apply(&tx).unwrap();
}

#[test]
fn filling_the_stake_activates_and_pays_after_720_blocks() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 6_250 * SESH, 1_000, vec![]);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(2, 1, 18_750 * SESH + 1);
    assert!(matches!(w.rejection(&tx), Rejection::ContributionExceedsRequirement { .. }));
    let tx = w.contribute_tx(2, 1, 18_750 * SESH);
    let events = w.apply(&tx).unwrap();
    assert!(events.contains(&Event::Activated { node: node_id(1) }));
    assert!(!w.ledger.is_payable(&node_id(1)));
    let events = w.advance(719);
    assert!(!events.contains(&Event::BecamePayable { node: node_id(1) }));
    assert!(!w.ledger.is_payable(&node_id(1)));
    let events = w.advance(1);
    assert!(events.contains(&Event::BecamePayable { node: node_id(1) }));
    assert!(w.ledger.is_payable(&node_id(1)));
    // No more contributions to an active node.
    let tx = w.contribute_tx(3, 1, SESH);
    assert_eq!(
        w.rejection(&tx),
        Rejection::NotAwaitingContributions { status: NodeStatus::Active }
    );
}

#[test]
fn reservations_follow_the_contract() {
    let mut w = mainnet();
    // First reservation must be the operator's.
    let tx = w.register_tx(1, 1, 6_250 * SESH, 0, vec![(address(2), 6_250 * SESH)]);
    assert_eq!(w.rejection(&tx), Rejection::FirstReservationNotOperator);
    // Each at least the minimum at its position: after 6,250, 18,750 / 9 rounded up.
    let tx = w.register_tx(
        1,
        1,
        6_250 * SESH,
        0,
        vec![(address(1), 6_250 * SESH), (address(2), 2_083_333_333_333)],
    );
    assert_eq!(
        w.rejection(&tx),
        Rejection::StakeBelowMinimum {
            index: 1,
            amount: 2_083_333_333_333,
            minimum: 2_083_333_333_334
        }
    );
    let tx = w.register_tx(
        1,
        1,
        6_250 * SESH,
        0,
        vec![(address(1), 6_250 * SESH), (address(2), 10_000 * SESH)],
    );
    w.apply(&tx).unwrap();
    // A reserved contributor must pay at least its reservation on its first payment.
    let tx = w.contribute_tx(2, 1, 9_999 * SESH);
    assert_eq!(
        w.rejection(&tx),
        Rejection::ContributionBelowReservation { amount: 9_999 * SESH, reserved: 10_000 * SESH }
    );
    // A public contributor cannot take the reserved room: 8,750 remain for the public.
    let tx = w.contribute_tx(3, 1, 8_750 * SESH + 1);
    assert!(matches!(w.rejection(&tx), Rejection::ContributionExceedsRequirement { .. }));
    let tx = w.contribute_tx(3, 1, 8_750 * SESH);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(2, 1, 10_000 * SESH);
    let events = w.apply(&tx).unwrap();
    assert!(events.contains(&Event::Activated { node: node_id(1) }));
}

#[test]
fn registration_rules() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 25_000 * SESH, 10_001, vec![]);
    assert_eq!(w.rejection(&tx), Rejection::FeeTooHigh { fee_bp: 10_001, max: 10_000 });
    let tx = w.register_tx(1, 1, 25_000 * SESH, 10_000, vec![]);
    w.apply(&tx).unwrap();
    // The same node again, and a replay of the same signed transaction.
    let again = w.register_tx(2, 1, 25_000 * SESH, 0, vec![]);
    assert_eq!(w.rejection(&again), Rejection::NodeAlreadyRegistered { node: node_id(1) });
    assert_eq!(w.rejection(&tx), Rejection::BadNonce { expected: 1, got: 0 });
    // Another node with the first one's BLS key.
    let mut other = w.register_tx(3, 2, 25_000 * SESH, 0, vec![]);
    if let Tx::Register(r) = &mut other.tx {
        r.bls_key = bls(1);
    }
    assert!(w.apply(&other).is_err(), "a changed transaction no longer matches its signatures");
    let tx = w.register_tx(1, 3, 25_000 * SESH + 1, 0, vec![]);
    assert!(matches!(w.rejection(&tx), Rejection::ContributionExceedsRequirement { .. }));
    // At most 10 contributors: with every spot reserved, no one else can join.
    let mut w = mainnet();
    let mut reservations = vec![(address(1), 6_250 * SESH)];
    reservations.extend((2..=9).map(|c| (address(c), 2_083_333_333_334)));
    reservations.push((address(10), 18_750 * SESH - 8 * 2_083_333_333_334));
    let tx = w.register_tx(1, 1, 6_250 * SESH, 0, reservations);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(11, 1, 2_083_333_333_334);
    assert_eq!(w.rejection(&tx), Rejection::TooManyContributors { count: 11, max: 10 });
}

#[test]
fn withdrawal_before_activation() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 6_250 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(2, 1, 5_000 * SESH);
    w.apply(&tx).unwrap();
    // One day (720 blocks) after the last contribution.
    let tx = w.by_contributor(2, 1, Tx::Withdraw);
    assert_eq!(w.rejection(&tx), Rejection::WithdrawTooEarly { allowed_from: 720 });
    w.advance(720);
    let tx = w.by_contributor(2, 1, Tx::Withdraw);
    let events = w.apply(&tx).unwrap();
    assert!(events.contains(&Event::Withdrawn {
        node: node_id(1),
        contributor: address(2),
        amount: 5_000 * SESH
    }));
    // The operator's withdrawal cancels the registration.
    let tx = w.by_contributor(1, 1, Tx::Withdraw);
    let events = w.apply(&tx).unwrap();
    assert!(events.contains(&Event::RegistrationCancelled { node: node_id(1) }));
    assert!(w.ledger.node(&node_id(1)).is_none());
    let totals = w.ledger.totals();
    assert_eq!(
        (totals.staked, totals.released, totals.deposited),
        (0, 11_250 * u128::from(SESH), 11_250 * u128::from(SESH))
    );
}

#[test]
fn voluntary_exit_returns_the_stake_without_penalty() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 25_000 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let tx = w.by_contributor(2, 1, Tx::RequestExit);
    assert_eq!(w.rejection(&tx), Rejection::NotAContributor { address: address(2) });
    let tx = w.by_contributor(1, 1, Tx::RequestExit);
    let events = w.apply(&tx).unwrap();
    assert_eq!(events, [Event::ExitRequested { node: node_id(1), unlock_height: 10_800 }]);
    assert_eq!(w.ledger.node(&node_id(1)).unwrap().status(), NodeStatus::ExitRequested);
    let tx = w.by_contributor(1, 1, Tx::RequestExit);
    assert_eq!(w.rejection(&tx), Rejection::ExitAlreadyRequested { unlock_height: 10_800 });
    // It serves until the first block above the unlock height.
    w.advance(10_800);
    assert_eq!(w.ledger.node(&node_id(1)).unwrap().status(), NodeStatus::ExitRequested);
    let events = w.advance(1);
    assert!(
        events.contains(&Event::Expired { node: node_id(1), liquidation_height: 10_801 + 5_040 })
    );
    let tx = w.by_contributor(1, 1, Tx::Exit);
    let events = w.apply(&tx).unwrap();
    assert!(events.contains(&Event::StakeQueued {
        address: address(1),
        amount: 25_000 * SESH,
        release_height: 10_802
    }));
    let events = w.advance(1);
    assert!(events.contains(&Event::StakeReleased { address: address(1), amount: 25_000 * SESH }));
    assert_eq!(w.ledger.totals().released, 25_000 * u128::from(SESH));
}

#[test]
fn small_contributors_wait_30_days_to_request_an_exit() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 6_250 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(2, 1, 18_750 * SESH - 2_083_333_333_334);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(3, 1, 2_083_333_333_334);
    w.apply(&tx).unwrap(); // active at height 0
    let tx = w.by_contributor(3, 1, Tx::RequestExit);
    assert_eq!(w.rejection(&tx), Rejection::SmallContributorTooEarly { allowed_from: 21_600 });
    // The operator holds exactly a quarter: not small.
    let tx = w.by_contributor(1, 1, Tx::RequestExit);
    w.apply(&tx).unwrap();
}

/// Spec §2.3.4 / §6.4 item 8: 25,000 SESH → liquidator 7.5, pool 42.5, returned 24,950; the
/// operator's stake loses 50 (6,250 → 6,200); everything released at removal + 21,600.
#[test]
fn liquidation_7_5_42_5_24950() {
    let mut w = mainnet();
    let voters = w.voters(7);
    let tx = w.register_tx(1, 1, 6_250 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(2, 1, 18_750 * SESH);
    w.apply(&tx).unwrap();
    w.advance(1);
    // Deregistered: liquidatable at once, never exitable.
    let tx = w.quorum_tx(DecisionKind::Deregister, 1, &voters);
    w.apply(&tx).unwrap();
    let removed_at = w.ledger.height();
    let tx = w.by_contributor(1, 1, Tx::Exit);
    assert_eq!(w.rejection(&tx), Rejection::MustBeLiquidated);
    let tx = w.liquidate_tx(50, 1, &voters);
    assert_eq!(
        w.rejection(&tx),
        Rejection::VotesPredateLastChange { vote_height: removed_at, last_change: removed_at }
    );
    w.advance(1);
    let tx = w.liquidate_tx(50, 1, &voters[..6]);
    assert_eq!(w.rejection(&tx), Rejection::NotEnoughVotes { got: 6, needed: 7 });
    let tx = w.liquidate_tx(50, 1, &voters);
    let events = w.apply(&tx).unwrap();
    let release_height = removed_at + 21_600;
    assert_eq!(
        events,
        [
            Event::Liquidated {
                node: node_id(1),
                liquidator: address(50),
                liquidator_amount: 7_500_000_000,
                pool_amount: 42_500_000_000,
                returned: 24_950 * SESH,
            },
            Event::StakeQueued { address: address(1), amount: 6_200 * SESH, release_height },
            Event::StakeQueued { address: address(2), amount: 18_750 * SESH, release_height },
        ]
    );
    assert_eq!(w.ledger.node(&node_id(1)).unwrap().status(), NodeStatus::Liquidated);
    assert_eq!(w.ledger.totals().penalties, 50 * u128::from(SESH));
    w.advance(release_height - w.ledger.height() - 1);
    assert_eq!(w.ledger.totals().pending, 24_950 * u128::from(SESH));
    let events = w.advance(1);
    assert!(events.contains(&Event::Purged { node: node_id(1) }));
    assert_eq!(w.ledger.totals().pending, 0);
}

#[test]
fn exit_window_then_liquidation() {
    let mut w = Params::testnet(100 * SESH).into_world();
    let voters = w.voters(3);
    let tx = w.register_tx(1, 1, 100 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let tx = w.by_contributor(1, 1, Tx::RequestExit);
    w.apply(&tx).unwrap();
    w.advance(721); // unlock 720 on testnet; removed at 721, exit window 30 blocks
    let tx = w.liquidate_tx(50, 1, &voters);
    assert_eq!(w.rejection(&tx), Rejection::LiquidationTooEarly { from: 751 });
    w.advance(30);
    let tx = w.by_contributor(1, 1, Tx::Exit);
    assert_eq!(w.rejection(&tx), Rejection::ExitWindowClosed { closed_at: 751 });
    let tx = w.liquidate_tx(50, 1, &voters);
    w.apply(&tx).unwrap();
}

trait IntoWorld {
    fn into_world(self) -> World;
}

impl IntoWorld for Params {
    fn into_world(self) -> World {
        World::new(self)
    }
}

/// Spec §2.4: credit 1000 at decommission; down 100 blocks → 800; down 500 → 0. And the
/// decommission minimum of 60 blocks.
#[test]
fn recommission_credit() {
    for (down, want) in [(100, 800), (500, 0)] {
        let mut w = mainnet();
        let voters = w.voters(7);
        let tx = w.register_tx(1, 1, 25_000 * SESH, 0, vec![]);
        w.apply(&tx).unwrap();
        // 60 + blocks_up · 24 / 720 = 1000 after 28,200 blocks up.
        w.advance(28_200);
        assert_eq!(
            w.ledger.node(&node_id(1)).unwrap().credit(w.ledger.height(), &w.params.credit),
            1_000
        );
        let tx = w.quorum_tx(DecisionKind::Decommission, 1, &voters);
        let events = w.apply(&tx).unwrap();
        assert_eq!(events, [Event::Decommissioned { node: node_id(1), credit: 1_000 }]);
        assert!(!w.ledger.is_payable(&node_id(1)));
        w.advance(down);
        let tx = w.quorum_tx(DecisionKind::Recommission, 1, &voters);
        let events = w.apply(&tx).unwrap();
        assert_eq!(events, [Event::Recommissioned { node: node_id(1), credit: want }]);
        // Another 720 blocks before it earns again.
        assert!(!w.ledger.is_payable(&node_id(1)));
        w.advance(720);
        assert!(w.ledger.is_payable(&node_id(1)));
    }
}

/// A node active since height 0 (the ledger's first block) burns credit while decommissioned, as
/// any other does: its record's `-0` must not read as active.
#[test]
fn credit_falls_while_decommissioned_from_height_zero() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 25_000 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let voters = w.voters(7);
    assert_eq!(w.ledger.node(&node_id(1)).unwrap().active_since_height(), Some(0));
    w.advance(7_200); // 60 + 7,200 · 24 / 720 = 300
    let tx = w.quorum_tx(DecisionKind::Decommission, 1, &voters);
    let events = w.apply(&tx).unwrap();
    assert_eq!(events, [Event::Decommissioned { node: node_id(1), credit: 300 }]);
    w.advance(100);
    let node = w.ledger.node(&node_id(1)).unwrap();
    assert_eq!(node.credit(w.ledger.height(), &w.params.credit), 200);
    assert_eq!(node.credit(w.ledger.height() + 400, &w.params.credit), -200);
    assert_eq!((node.last_decommission_height(), node.recommission_credit()), (7_200, 60));
}

#[test]
fn decommission_needs_60_blocks_of_credit() {
    let mut params = Params::session_mainnet();
    params.credit.initial = 59;
    let mut w = World::new(params);
    let voters = w.voters(1);
    let tx = w.register_tx(1, 1, 25_000 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    w.advance(1);
    let tx = w.quorum_tx(DecisionKind::Decommission, 1, &voters);
    assert_eq!(w.rejection(&tx), Rejection::CreditTooLow { credit: 59, minimum: 60 });
    w.advance(30); // +1 credit per 30 blocks
    let tx = w.quorum_tx(DecisionKind::Decommission, 1, &voters);
    w.apply(&tx).unwrap();
}

#[test]
fn quorum_rules() {
    let mut w = mainnet();
    let voters = w.voters(8);
    let tx = w.register_tx(1, 1, 25_000 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    w.advance(1);
    // Seven of the eight other active nodes are needed.
    let tx = w.quorum_tx(DecisionKind::Deregister, 1, &voters[..6]);
    assert_eq!(w.rejection(&tx), Rejection::NotEnoughVotes { got: 6, needed: 7 });
    let tx =
        w.quorum_tx(DecisionKind::Deregister, 1, &[voters[0], voters[0], 102, 103, 104, 105, 106]);
    assert_eq!(w.rejection(&tx), Rejection::DuplicateVoter { voter: node_id(100) });
    let tx = w.quorum_tx(DecisionKind::Deregister, 1, &[1, 100, 101, 102, 103, 104, 105]);
    assert_eq!(w.rejection(&tx), Rejection::VoterIsTheNode { voter: node_id(1) });
    let tx = w.quorum_tx(DecisionKind::Deregister, 1, &[99, 100, 101, 102, 103, 104, 105]);
    assert_eq!(w.rejection(&tx), Rejection::VoterNotActive { voter: node_id(99) });
    // Votes stay valid for 60 blocks.
    let stale = w.quorum_tx(DecisionKind::Deregister, 1, &voters[..7]);
    w.advance(60);
    assert_eq!(w.rejection(&stale), Rejection::VotesExpired { vote_height: 1, height: 61 });
    let tx = w.quorum_tx(DecisionKind::Recommission, 1, &voters);
    assert_eq!(w.rejection(&tx), Rejection::NotDecommissioned { status: NodeStatus::Active });
}

#[test]
fn uptime_proofs() {
    let mut w = mainnet();
    let tx = w.register_tx(1, 1, 25_000 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let node_key = common::identity(1_000_001);
    let proof = |height| {
        Tx::UptimeProof(UptimeProof { node: node_id(1), height })
            .sign(&node_key, &Params::session_mainnet())
            .unwrap()
    };
    w.apply(&proof(0)).unwrap();
    w.advance(14);
    assert_eq!(w.rejection(&proof(14)), Rejection::ProofTooSoon { next: 15 });
    assert_eq!(w.rejection(&proof(13)), Rejection::ProofNotForThisHeight { proof: 13, height: 14 });
    w.advance(1);
    w.apply(&proof(15)).unwrap();
    // Signed by someone else: refused before the ledger sees it.
    let forged = Tx::UptimeProof(UptimeProof { node: node_id(1), height: 15 })
        .sign(&common::identity(7), &w.params);
    assert!(forged.is_err());
}

#[test]
fn heights_advance_one_at_a_time() {
    let mut w = mainnet();
    assert_eq!(
        w.rejection(&Tx::AdvanceHeight(2).unsigned()),
        Rejection::HeightNotNext { expected: 1, got: 2 }
    );
    assert_eq!(
        w.rejection(&Tx::AdvanceHeight(0).unsigned()),
        Rejection::HeightNotNext { expected: 1, got: 0 }
    );
}

#[test]
fn oxen_era_deregistration_locks_without_penalty() {
    let mut w = World::new(Params::oxen_hf19());
    let voters = w.voters(1);
    // oxend's operator minimum is ⌊15,000 / 4⌋ = 3,750 OXEN, and the next contributor's
    // ⌊11,250 / 9⌋ = 1,250.
    let tx = w.register_tx(1, 1, 3_750 * SESH - 1, 0, vec![]);
    assert!(matches!(
        w.rejection(&tx),
        Rejection::StakeBelowMinimum { minimum: 3_750_000_000_000, .. }
    ));
    let tx = w.register_tx(1, 1, 3_750 * SESH, 0, vec![]);
    w.apply(&tx).unwrap();
    let tx = w.contribute_tx(2, 1, 1_250 * SESH - 1);
    assert!(matches!(
        w.rejection(&tx),
        Rejection::ContributionBelowMinimum { minimum: 1_250_000_000_000, .. }
    ));
    let tx = w.contribute_tx(2, 1, 11_250 * SESH);
    w.apply(&tx).unwrap();
    w.advance(1);
    let tx = w.quorum_tx(DecisionKind::Deregister, 1, &voters);
    w.apply(&tx).unwrap();
    let tx = w.liquidate_tx(50, 1, &voters);
    assert!(matches!(w.rejection(&tx), Rejection::NotInThisEra { .. }));
    let tx = w.by_contributor(2, 1, Tx::Exit);
    let events = w.apply(&tx).unwrap();
    assert!(events.contains(&Event::StakeQueued {
        address: address(2),
        amount: 11_250 * SESH,
        release_height: 1 + 21_600
    }));
}
