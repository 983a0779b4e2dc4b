//! Random sequences of valid and invalid transactions: tokens are conserved, no balance goes
//! negative, a rejected transaction changes nothing, and the log replays (from the start, from
//! any snapshot, and from any cut-off prefix) to the same state hash.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation)]

mod common;

use common::{SESH, World, address, identity, node_id};
use proptest::prelude::*;
use sesh_staking::journal::Journal;
use sesh_staking::tx::{DecisionKind, SignedTx, Tx, UptimeProof};
use sesh_staking::{Error, Params};

#[derive(Clone, Debug)]
enum Action {
    Register {
        operator: u32,
        node: u32,
        stake: u8,
        reserve: bool,
    },
    Contribute {
        who: u32,
        node: u32,
        amount: u8,
    },
    Withdraw {
        who: u32,
        node: u32,
    },
    RequestExit {
        who: u32,
        node: u32,
    },
    Exit {
        who: u32,
        node: u32,
    },
    Decide {
        kind: u8,
        node: u32,
        votes: u8,
    },
    Liquidate {
        who: u32,
        node: u32,
        votes: u8,
    },
    Uptime {
        node: u32,
    },
    Advance {
        blocks: u16,
    },
    Tamper {
        inner: Box<Action>,
    },
    /// A solo node's whole life: registered, exit requested, expired, then exited or (after the
    /// exit window) liquidated.
    Lifecycle {
        node: u32,
        liquidate: bool,
    },
    /// A decommission, some blocks down, a recommission.
    Downtime {
        node: u32,
        blocks: u16,
    },
}

/// Composite actions as the atomic ones they stand for, each generated when its turn comes.
fn expand(actions: &[Action]) -> Vec<Action> {
    let mut out = Vec::new();
    for action in actions {
        match action {
            Action::Lifecycle { node, liquidate } => {
                let node = *node;
                out.extend([
                    Action::Register { operator: node, node, stake: 0, reserve: false },
                    Action::Advance { blocks: 1 },
                    Action::RequestExit { who: node, node },
                    Action::Advance { blocks: 722 },
                ]);
                if *liquidate {
                    out.extend([
                        Action::Advance { blocks: 31 },
                        Action::Liquidate { who: 5, node, votes: 8 },
                    ]);
                } else {
                    out.push(Action::Exit { who: node, node });
                }
                out.push(Action::Advance { blocks: 3 });
            }
            Action::Downtime { node, blocks } => out.extend([
                Action::Advance { blocks: 1 },
                Action::Decide { kind: 0, node: *node, votes: 8 },
                Action::Advance { blocks: *blocks },
                Action::Decide { kind: 1, node: *node, votes: 8 },
            ]),
            other => out.push(other.clone()),
        }
    }
    out
}

fn action() -> impl Strategy<Value = Action> {
    let leaf = prop_oneof![
        // Few nodes and contributors, so that actions meet the nodes earlier actions made;
        // operator n usually runs node n.
        3 => (1..4u32, prop_oneof![3 => Just(0u32), 1 => 1..4u32], any::<u8>(), any::<bool>())
            .prop_map(|(node, other, stake, reserve)| Action::Register { operator: if other == 0 { node } else { other }, node, stake, reserve }),
        4 => (1..6u32, 1..4u32, any::<u8>()).prop_map(|(who, node, amount)| Action::Contribute { who, node, amount }),
        1 => (1..6u32, 1..4u32).prop_map(|(who, node)| Action::Withdraw { who, node }),
        2 => (1..6u32, 1..4u32).prop_map(|(who, node)| Action::RequestExit { who, node }),
        2 => (1..6u32, 1..4u32).prop_map(|(who, node)| Action::Exit { who, node }),
        4 => (0..3u8, 1..4u32, prop_oneof![4 => 7..9u8, 1 => 0..7u8]).prop_map(|(kind, node, votes)| Action::Decide { kind, node, votes }),
        2 => (1..6u32, 1..4u32, prop_oneof![4 => 7..9u8, 1 => 0..7u8]).prop_map(|(who, node, votes)| Action::Liquidate { who, node, votes }),
        1 => (1..4u32).prop_map(|node| Action::Uptime { node }),
        4 => prop_oneof![3 => 1..20u16, 1 => 700..800u16, 1 => 20..40u16].prop_map(|blocks| Action::Advance { blocks }),
        1 => (1..4u32, any::<bool>()).prop_map(|(node, liquidate)| Action::Lifecycle { node, liquidate }),
        1 => (1..4u32, 1..60u16).prop_map(|(node, blocks)| Action::Downtime { node, blocks }),
    ];
    prop_oneof![12 => leaf.clone(), 1 => leaf.prop_map(|a| Action::Tamper { inner: Box::new(a) })]
}

/// The transactions an action makes (an advance makes several).
fn txs(w: &World, action: &Action) -> Vec<SignedTx> {
    let req = w.params.staking_requirement;
    match action {
        Action::Register { operator, node, stake, reserve } => {
            let stake = match stake % 4 {
                0 => req,
                1 => req.div_ceil(4),
                2 => req.div_ceil(4) - 1,
                _ => req / 2 + u64::from(*stake),
            };
            let reservations = if *reserve {
                vec![(address(*operator), req.div_ceil(4)), (address(operator + 1), req / 4)]
            } else {
                vec![]
            };
            vec![w.register_tx(*operator, *node, stake, 500, reservations)]
        }
        Action::Contribute { who, node, amount } => {
            let amount = match amount % 4 {
                0 => req / 4,
                1 => req / 9,
                2 => req,
                _ => u64::from(*amount) * SESH / 8,
            };
            vec![w.contribute_tx(*who, *node, amount)]
        }
        Action::Withdraw { who, node } => vec![w.by_contributor(*who, *node, Tx::Withdraw)],
        Action::RequestExit { who, node } => vec![w.by_contributor(*who, *node, Tx::RequestExit)],
        Action::Exit { who, node } => vec![w.by_contributor(*who, *node, Tx::Exit)],
        Action::Decide { kind, node, votes } => {
            let kind =
                [DecisionKind::Decommission, DecisionKind::Recommission, DecisionKind::Deregister]
                    [usize::from(*kind)];
            let voters: Vec<u32> = (100..100 + u32::from(*votes)).collect();
            vec![w.quorum_tx(kind, *node, &voters)]
        }
        Action::Liquidate { who, node, votes } => {
            let voters: Vec<u32> = (100..100 + u32::from(*votes)).collect();
            vec![w.liquidate_tx(*who, *node, &voters)]
        }
        Action::Uptime { node } => {
            let tx =
                Tx::UptimeProof(UptimeProof { node: node_id(*node), height: w.ledger.height() });
            vec![tx.sign(&identity(1_000_000 + node), &w.params).unwrap()]
        }
        Action::Advance { blocks } => (1..=u64::from(*blocks))
            .map(|i| Tx::AdvanceHeight(w.ledger.height() + i).unsigned())
            .collect(),
        Action::Lifecycle { .. } | Action::Downtime { .. } => Vec::new(), // expanded before
        Action::Tamper { inner } => txs(w, inner)
            .into_iter()
            .map(|mut tx| {
                match &mut tx.signature {
                    Some(sig) => sig[5] ^= 1,
                    None => {
                        if let Tx::Decommission(d) | Tx::Recommission(d) | Tx::Deregister(d) =
                            &mut tx.tx
                            && let Some((_, sig)) = d.votes.first_mut()
                        {
                            sig[9] ^= 1;
                        }
                    }
                }
                tx
            })
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariants(actions in prop::collection::vec(action(), 1..60), snapshot_at in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let params = Params::testnet(100 * SESH);
        let mut w = World::new(params.clone());
        let mut journal = Journal::new(params.clone());
        let mut log = Vec::new();
        // (log length, state hash) after each applied record.
        let mut checkpoints = vec![(0u64, journal.ledger().state_hash())];
        let mut history = Vec::new();
        let mut snapshots = Vec::new();

        // Voters: eight solo nodes.
        let setup: Vec<SignedTx> = (100..108u32).map(|n| w.register_tx(n, n, params.staking_requirement, 0, vec![])).collect();
        let mut all: Vec<Vec<SignedTx>> = setup.into_iter().map(|tx| vec![tx]).collect();
        let actions = expand(&actions);
        all.extend(actions.iter().map(|_| Vec::new()));
        let mut queue = actions.iter();
        let mut index = 0;
        while index < all.len() {
            if all[index].is_empty()
                && let Some(action) = queue.next()
            {
                all[index] = txs(&w, action);
            }
            for tx in std::mem::take(&mut all[index]) {
                let before = w.ledger.clone();
                let via_world = w.apply(&tx); // asserts: conservation, rejection changes nothing
                let via_journal = journal.apply(&tx);
                match (via_world, via_journal) {
                    (Ok(a), Ok((b, record))) => {
                        prop_assert_eq!(&a, &b);
                        log.extend_from_slice(&record);
                        checkpoints.push((log.len() as u64, journal.ledger().state_hash()));
                        history.push((tx.tx.clone(), b, journal.ledger().state_hash()));
                    }
                    (Err(a), Err(b)) => {
                        prop_assert_eq!(a.clone(), b);
                        prop_assert_eq!(&w.ledger, &before);
                        if matches!(a, Error::BadSignature { .. }) {
                            prop_assert!(matches!(action_kind(&tx), "signed" | "quorum"));
                        }
                    }
                    (a, b) => prop_assert!(false, "ledger and journal disagree: {:?} / {:?}", a, b),
                }
                prop_assert_eq!(journal.ledger(), &w.ledger);
                let t = w.ledger.totals();
                prop_assert!(t.balanced());
                if index == snapshot_at.index(all.len()) {
                    snapshots.push(journal.snapshot());
                }
            }
            index += 1;
        }

        // Replay from empty and from the snapshot: the same state; an observer sees every
        // transaction with its events and the ledger after it, as they were first applied.
        let want = journal.ledger().state_hash();
        let mut observed = Vec::new();
        let replayed = Journal::open_observed(params.clone(), None, &log, |ledger, tx, events| {
            observed.push((tx.clone(), events.to_vec(), ledger.state_hash()));
        })
        .unwrap();
        prop_assert_eq!(&observed, &history);
        prop_assert!(replayed.damage.is_none());
        prop_assert_eq!(replayed.journal.ledger().state_hash(), want);
        for snapshot in &snapshots {
            let from_snapshot = Journal::open(params.clone(), Some(snapshot), &log).unwrap();
            prop_assert_eq!(from_snapshot.journal.ledger().state_hash(), want);
        }

        // A log cut anywhere recovers exactly the records before the cut.
        let cut = cut.index(log.len() + 1);
        let recovered = Journal::open(params.clone(), None, &log[..cut]).unwrap();
        let (len, hash) = *checkpoints.iter().rev().find(|(len, _)| *len as usize <= cut).unwrap();
        prop_assert_eq!(recovered.valid_len, len);
        prop_assert_eq!(recovered.journal.ledger().state_hash(), hash);
        prop_assert_eq!(recovered.damage.is_some(), len as usize != cut);
        // A flipped byte in the tail is caught by the checksum.
        if cut < log.len() {
            let mut damaged = log.clone();
            damaged[cut] ^= 0x40;
            let recovered = Journal::open(params, None, &damaged).unwrap();
            prop_assert!(recovered.valid_len as usize <= cut);
            let (_, hash) = *checkpoints.iter().find(|(len, _)| *len == recovered.valid_len).unwrap();
            prop_assert_eq!(recovered.journal.ledger().state_hash(), hash);
        }
    }
}

fn action_kind(tx: &SignedTx) -> &'static str {
    match (&tx.tx, tx.signature) {
        (Tx::AdvanceHeight(_), _) => "height",
        (_, Some(_)) => "signed",
        _ => "quorum",
    }
}
