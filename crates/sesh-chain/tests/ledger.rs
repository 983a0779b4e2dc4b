//! The staking contract's events mapped onto the ledger: each kind applied, refusals that change
//! nothing and say why, and quorum decisions posted as `NetworkTransaction`s.
//!
//! Every event goes through its log encoding first (`abi::encode` then `abi::decode`), as a
//! follower reads it off the chain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use sesh_chain::abi::{self, Decoded, RawLog};
use sesh_chain::event::{Contributor, U256};
use sesh_chain::ledger::Applier;
use sesh_chain::{ContractEvent, Error, EvmAddress, LogPosition};
use sesh_identity::{Identity, Seed};
use sesh_staking::tx::{DecisionKind, QuorumDecision, Register, Tx, UptimeProof};
use sesh_staking::{Address, BlsKey, Event, Ledger, NodeId, NodeStatus, Params, Rejection};

const SESH: u64 = 1_000_000_000;
const REQ: u64 = 100 * SESH;

fn key(n: u32) -> Identity {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    seed[31] = 0xc4;
    Identity::from_seed(&Seed::from_bytes(seed))
}

fn node(n: u32) -> NodeId {
    NodeId::from_identity(&key(n))
}

fn bls(n: u32) -> BlsKey {
    let mut k = [0x17u8; 64];
    k[..4].copy_from_slice(&n.to_be_bytes());
    BlsKey::from_bytes(k)
}

fn evm(n: u8) -> EvmAddress {
    EvmAddress([n; 20])
}

fn account(n: u8) -> Address {
    Address::from_evm([n; 20])
}

fn registration(id: u64, n: u32, stakes: &[(u8, U256)]) -> ContractEvent {
    let (node, bls_key) = (node(n), bls(n));
    ContractEvent::NewServiceNode {
        id,
        initiator: evm(stakes[0].0),
        bls_key,
        node,
        node_signature: key(n).sign(&abi::node_signature_message(&node, &bls_key)).to_bytes(),
        fee: 500,
        contributors: stakes
            .iter()
            .map(|&(a, amount)| Contributor { address: evm(a), beneficiary: evm(a + 50), amount })
            .collect(),
    }
}

fn solo(id: u64, n: u32, operator: u8) -> ContractEvent {
    registration(id, n, &[(operator, U256::from(REQ))])
}

/// The event as a follower gets it: encoded into a log and decoded back.
fn off_the_chain(event: &ContractEvent) -> ContractEvent {
    let (topics, data) = abi::encode(event);
    let log = RawLog {
        address: evm(0xcc),
        topics,
        data,
        block_number: 1,
        block_hash: [1; 32],
        log_index: 0,
        transaction_hash: [2; 32],
        removed: false,
    };
    match abi::decode(&log).unwrap() {
        Decoded::Event(e) => e,
        other => panic!("{other:?}"),
    }
}

struct Follower {
    applier: Applier,
    ledger: Ledger,
    next_index: u64,
}

impl Follower {
    fn new() -> Self {
        Self { applier: Applier::new(), ledger: Ledger::new(Params::testnet(REQ)), next_index: 0 }
    }

    fn at(&mut self) -> LogPosition {
        self.next_index += 1;
        LogPosition { block: 1_000 + self.ledger.height(), index: self.next_index }
    }

    /// Applies one event; a refusal must leave the ledger's state hash as it was.
    fn event(&mut self, event: &ContractEvent) -> Result<Vec<Event>, Error> {
        // A seeded node's record is not in its log: `seeded` puts it in after the trip.
        let event = match event {
            ContractEvent::SeededServiceNode { .. } => event.clone(),
            _ => off_the_chain(event),
        };
        let before = self.ledger.state_hash();
        let at = self.at();
        let result = self.applier.apply(&mut self.ledger, at, &event);
        if let Err(e) = &result {
            assert_eq!(self.ledger.state_hash(), before, "refused ({e}) but changed the ledger");
        }
        assert!(self.ledger.totals().balanced());
        result
    }

    fn refused(&mut self, event: &ContractEvent) -> Rejection {
        match self.event(event) {
            Err(Error::Refused { source: sesh_staking::Error::TxRejected { reason }, .. }) => {
                reason
            }
            other => panic!("expected the ledger's refusal, got {other:?}"),
        }
    }

    fn advance(&mut self, blocks: u64) {
        for _ in 0..blocks {
            let h = self.ledger.height() + 1;
            assert!(self.applier.follow(&mut self.ledger, h, &[]).unwrap().is_empty());
        }
    }
}

#[test]
fn a_registration_with_contributors_is_an_active_node_with_their_stakes_and_fee() {
    let mut f = Follower::new();
    f.advance(1);
    let events = f
        .event(&registration(
            1,
            1,
            &[(1, U256::from(50 * SESH)), (2, U256::from(30 * SESH)), (3, U256::from(20 * SESH))],
        ))
        .unwrap();
    assert!(events.contains(&Event::Activated { node: node(1) }));
    let n = f.ledger.node(&node(1)).unwrap();
    assert_eq!(n.status(), NodeStatus::Active);
    assert_eq!(n.bls_key(), bls(1));
    assert_eq!(n.fee_bp(), 500);
    assert_eq!(n.operator(), account(1));
    let stakes: Vec<_> =
        n.contributors().iter().map(|c| (c.address, c.beneficiary, c.amount)).collect();
    assert_eq!(
        stakes,
        vec![
            (account(1), account(51), 50 * SESH),
            (account(2), account(52), 30 * SESH),
            (account(3), account(53), 20 * SESH),
        ]
    );
    assert_eq!(n.contributors()[0].address.evm(), Some([1; 20]));
    assert_eq!(f.applier.node_key(1), Some(&bls(1)));
}

#[test]
fn exit_request_unlock_exit_and_liquidation() {
    let params = Params::testnet(REQ);
    let mut f = Follower::new();
    f.event(&registration(1, 1, &[(1, U256::from(60 * SESH)), (2, U256::from(40 * SESH))]))
        .unwrap();
    f.event(&solo(2, 2, 5)).unwrap();
    f.advance(5);

    // Node 1: a contributor asks to leave; the node serves until the unlock height.
    let request = ContractEvent::ExitRequest { id: 1, initiator: evm(2), bls_key: bls(1) };
    let events = f.event(&request).unwrap();
    let unlock_height = 5 + params.unlock_blocks;
    assert_eq!(events, vec![Event::ExitRequested { node: node(1), unlock_height }]);
    assert_eq!(f.ledger.node(&node(1)).unwrap().status(), NodeStatus::ExitRequested);
    // The contract lets the request be re-emitted; the ledger keeps the first.
    assert_eq!(f.refused(&request), Rejection::ExitAlreadyRequested { unlock_height });
    f.advance(params.unlock_blocks + 1);
    assert_eq!(f.ledger.node(&node(1)).unwrap().status(), NodeStatus::Removed);

    // ... then the contract's exit returns the whole stake.
    let exit = ContractEvent::Exit {
        id: 1,
        initiator: evm(1),
        returned: U256::from(REQ),
        bls_key: bls(1),
    };
    let events = f.event(&exit).unwrap();
    assert!(events.contains(&Event::Exited { node: node(1) }));
    assert!(f.ledger.node(&node(1)).is_none());
    assert!(f.applier.node_key(1).is_none());
    let mut returns: Vec<_> = f.ledger.pending_returns().map(|r| (r.address, r.amount)).collect();
    returns.sort();
    assert_eq!(returns, vec![(account(1), 60 * SESH), (account(2), 40 * SESH)]);

    // Node 2 asks to leave, is removed, and is liquidated after the exit buffer: the contract
    // emits ServiceNodeLiquidated, then ServiceNodeExit with what it returned.
    f.event(&ContractEvent::ExitRequest { id: 2, initiator: evm(5), bls_key: bls(2) }).unwrap();
    f.advance(params.unlock_blocks + 1 + params.exit_buffer_blocks);
    let (to_liquidator, to_pool, returned) = params.liquidation.unwrap().split(REQ).unwrap();
    assert!(
        f.event(&ContractEvent::Liquidated { id: 2, initiator: evm(9), bls_key: bls(2) })
            .unwrap()
            .is_empty()
    );
    let events = f
        .event(&ContractEvent::Exit {
            id: 2,
            initiator: evm(9),
            returned: U256::from(returned),
            bls_key: bls(2),
        })
        .unwrap();
    assert!(events.contains(&Event::Liquidated {
        node: node(2),
        liquidator: account(9),
        liquidator_amount: to_liquidator,
        pool_amount: to_pool,
        returned,
    }));
    assert!(f.ledger.node(&node(2)).is_none());
    assert_eq!(f.ledger.totals().penalties, u128::from(to_liquidator + to_pool));
}

#[test]
fn refused_events_change_nothing_and_say_why() {
    let mut f = Follower::new();
    f.event(&solo(1, 1, 1)).unwrap();
    let hash = f.ledger.state_hash();

    // The same node key under another contract id.
    assert_eq!(f.refused(&solo(2, 1, 2)), Rejection::NodeAlreadyRegistered { node: node(1) });

    // A node signature over something else.
    let ContractEvent::NewServiceNode { node: id, bls_key, .. } = solo(3, 3, 3) else {
        unreachable!()
    };
    let mut forged = solo(3, 3, 3);
    if let ContractEvent::NewServiceNode { node_signature, .. } = &mut forged {
        *node_signature = key(4).sign(&abi::node_signature_message(&id, &bls_key)).to_bytes();
    }
    assert!(matches!(
        f.event(&forged),
        Err(Error::Transaction { source: sesh_staking::Error::BadSignature { .. }, .. })
    ));

    // A stake over 64 bits.
    let huge = U256::from(u64::MAX) + U256::from(1u8);
    assert!(matches!(
        f.event(&registration(4, 4, &[(1, huge)])),
        Err(Error::AmountTooLarge { amount, .. }) if amount == huge
    ));
    assert!(matches!(
        f.event(&ContractEvent::StakingRequirementUpdated { requirement: huge }),
        Err(Error::AmountTooLarge { .. })
    ));

    // Ids the contract never gave, or gave to another key.
    assert!(matches!(
        f.event(&ContractEvent::ExitRequest { id: 77, initiator: evm(1), bls_key: bls(1) }),
        Err(Error::UnknownNodeId { id: 77, .. })
    ));
    assert!(matches!(
        f.event(&ContractEvent::Exit {
            id: 1,
            initiator: evm(1),
            returned: U256::from(REQ),
            bls_key: bls(9)
        }),
        Err(Error::NodeIdKeyMismatch { id: 1, .. })
    ));
    assert!(matches!(f.event(&solo(1, 5, 5)), Err(Error::DuplicateNodeId { id: 1, .. })));

    // An exit of a node that never asked to leave.
    assert_eq!(
        f.refused(&ContractEvent::Exit {
            id: 1,
            initiator: evm(1),
            returned: U256::from(REQ),
            bls_key: bls(1)
        }),
        Rejection::NotRemoved { status: NodeStatus::Active }
    );
    // Rewards events are the contract's bookkeeping, not the ledger's.
    for rewards in [
        ContractEvent::RewardsBalanceUpdated {
            recipient: evm(1),
            amount: U256::from(5u8),
            previous: U256::ZERO,
        },
        ContractEvent::RewardsClaimed { recipient: evm(1), amount: U256::from(5u8) },
    ] {
        assert_eq!(f.event(&rewards).unwrap(), vec![]);
    }
    assert_eq!(f.ledger.state_hash(), hash);
    assert_eq!(f.ledger.node(&node(1)).unwrap().status(), NodeStatus::Active);
}

#[test]
fn the_staking_requirement_changes_for_new_registrations() {
    let mut f = Follower::new();
    f.event(&ContractEvent::StakingRequirementUpdated { requirement: U256::from(2 * REQ) })
        .unwrap();
    assert_eq!(
        f.refused(&solo(1, 1, 1)),
        Rejection::RegistrationNotFull { contributed: REQ, requirement: 2 * REQ }
    );
    f.event(&registration(2, 1, &[(1, U256::from(2 * REQ))])).unwrap();
    assert_eq!(f.ledger.node(&node(1)).unwrap().staking_requirement(), 2 * REQ);
}

/// Four active nodes, the first of which the other three vote to decommission.
fn network() -> (Follower, QuorumDecision) {
    let mut f = Follower::new();
    f.advance(1);
    for n in 1..=4 {
        f.event(&solo(u64::from(n), n, u8::try_from(n).unwrap())).unwrap();
    }
    f.advance(1);
    let voters = [key(2), key(3), key(4)];
    let voters: Vec<&Identity> = voters.iter().collect();
    let decision = QuorumDecision::signed(
        DecisionKind::Decommission,
        node(1),
        f.ledger.height(),
        &voters,
        f.ledger.params(),
    );
    (f, decision)
}

fn posted(tx: &Tx) -> ContractEvent {
    ContractEvent::NetworkTransaction {
        sender: evm(0xee),
        transaction: tx.clone().unsigned().to_bytes(),
    }
}

#[test]
fn a_quorum_decision_posted_to_the_chain_is_applied_by_its_votes() {
    let (mut f, decision) = network();
    let events = f.event(&posted(&Tx::Decommission(decision.clone()))).unwrap();
    assert!(matches!(events.as_slice(), [Event::Decommissioned { node: n, .. }] if *n == node(1)));
    assert_eq!(f.ledger.node(&node(1)).unwrap().status(), NodeStatus::Decommissioned);
    // Posted again: the node's state changed after the votes, so they are stale.
    assert!(matches!(f.refused(&posted(&Tx::Decommission(decision))), Rejection::NotActive { .. }));
}

#[test]
fn a_forged_vote_is_refused() {
    let (mut f, mut decision) = network();
    // Node 4's vote, signed by someone else.
    let message = QuorumDecision::vote_message(
        DecisionKind::Decommission as u8,
        &node(1),
        decision.vote_height,
        f.ledger.params(),
    );
    decision.votes[2].1 = key(99).sign(&message).to_bytes();
    let hash = f.ledger.state_hash();
    assert!(matches!(
        f.event(&posted(&Tx::Decommission(decision))),
        Err(Error::Transaction { source: sesh_staking::Error::BadSignature { signer }, .. })
            if signer == hex::encode(node(4).as_bytes())
    ));
    assert_eq!(f.ledger.state_hash(), hash);
    // Bytes that are no transaction at all.
    assert!(matches!(
        f.event(&ContractEvent::NetworkTransaction { sender: evm(1), transaction: vec![1, 99] }),
        Err(Error::Transaction { source: sesh_staking::Error::Decode { .. }, .. })
    ));
}

#[test]
fn stake_and_heights_never_come_as_network_transactions() {
    let (mut f, _) = network();
    let operator = key(50);
    let op = Address::from_identity(&operator);
    let (id, b) = (node(50), bls(50));
    let register = Tx::Register(Register {
        operator: op,
        nonce: 0,
        node: id,
        bls_key: b,
        fee_bp: 0,
        stake: REQ,
        beneficiary: op,
        reservations: vec![],
        node_signature: key(50)
            .sign(&Register::node_message(&id, &b, &op, f.ledger.params()))
            .to_bytes(),
    });
    let signed = register.sign(&operator, f.ledger.params()).unwrap();
    let event =
        ContractEvent::NetworkTransaction { sender: evm(1), transaction: signed.to_bytes() };
    assert!(matches!(f.event(&event), Err(Error::NotANetworkDecision { kind: 1, .. })));
    let advance = f.ledger.height() + 1;
    assert!(matches!(
        f.event(&posted(&Tx::AdvanceHeight(advance))),
        Err(Error::NotANetworkDecision { kind: 11, .. })
    ));
    assert!(matches!(
        f.event(&posted(&Tx::SetStakingRequirement(1))),
        Err(Error::NotANetworkDecision { kind: 15, .. })
    ));
    let proof = Tx::UptimeProof(UptimeProof { node: node(1), height: f.ledger.height() })
        .sign(&key(1), f.ledger.params())
        .unwrap();
    let event = ContractEvent::NetworkTransaction { sender: evm(1), transaction: proof.to_bytes() };
    assert!(matches!(f.event(&event), Err(Error::NotANetworkDecision { kind: 10, .. })));
}

#[test]
fn follow_takes_heights_in_turn_and_reports_refusals_in_order() {
    let mut ledger = Ledger::new(Params::testnet(REQ));
    let mut applier = Applier::new();
    let at = |index| LogPosition { block: 10, index };
    let refused = applier
        .follow(
            &mut ledger,
            1,
            &[
                (at(0), solo(1, 1, 1)),
                (at(1), solo(2, 1, 2)),
                (at(2), ContractEvent::ExitRequest { id: 9, initiator: evm(1), bls_key: bls(1) }),
                (at(3), solo(3, 3, 3)),
            ],
        )
        .unwrap();
    assert_eq!(refused.len(), 2);
    assert!(matches!(refused[0], Error::Refused { at: p, .. } if p == at(1)));
    assert!(matches!(refused[1], Error::UnknownNodeId { at: p, id: 9 } if p == at(2)));
    assert_eq!(ledger.height(), 1);
    assert_eq!(ledger.active_count(), 2);
    assert!(matches!(
        applier.follow(&mut ledger, 3, &[]),
        Err(Error::HeightNotNext { expected: 2, got: 3 })
    ));
}

/// A chain of `blocks` blocks holding `logs` (block → events), served to a follower.
struct TestChain {
    contract: EvmAddress,
    blocks: u64,
    logs: Vec<RawLog>,
}

impl TestChain {
    fn hash(n: u64) -> [u8; 32] {
        sesh_identity::hash::blake2b(b"test chain", &[&n.to_be_bytes()])
    }

    fn new(blocks: u64, events: Vec<(u64, ContractEvent)>) -> Self {
        let contract = evm(0xcc);
        let mut index = std::collections::BTreeMap::<u64, u64>::new();
        let logs = events
            .into_iter()
            .map(|(block, event)| {
                let (topics, data) = abi::encode(&event);
                let log_index = index.entry(block).or_default();
                *log_index += 1;
                RawLog {
                    address: contract,
                    topics,
                    data,
                    block_number: block,
                    block_hash: Self::hash(block),
                    log_index: *log_index,
                    transaction_hash: [3; 32],
                    removed: false,
                }
            })
            .collect();
        Self { contract, blocks, logs }
    }

    /// Follows the chain with `max_log_range`, the tip growing by `tip_step` blocks at a time,
    /// applying each height to a ledger; returns the ledger and every refusal's position.
    fn follow(&self, max_log_range: u64, tip_step: u64) -> (Ledger, Vec<LogPosition>) {
        use sesh_chain::follow::{Answer, Config, Follower, Header, Request, Seeds, Step};
        let mut follower = Follower::new(Config {
            contract: self.contract,
            start_block: 0,
            confirmations: 2,
            blocks_per_height: 3,
            max_log_range,
            seeds: Seeds::EveryHeight,
        })
        .unwrap();
        let mut ledger = Ledger::new(Params::testnet(REQ));
        let mut applier = Applier::new();
        let mut refused = Vec::new();
        let mut tip = 0;
        while tip < self.blocks {
            tip = (tip + tip_step).min(self.blocks);
            loop {
                let answer = match follower.poll().unwrap() {
                    Request::Tip => Answer::Tip(tip),
                    Request::Logs { from, to, .. } => Answer::Logs {
                        from,
                        to,
                        logs: self
                            .logs
                            .iter()
                            .filter(|l| (from..=to).contains(&l.block_number))
                            .cloned()
                            .collect(),
                    },
                    Request::Headers(blocks) => Answer::Headers(
                        blocks
                            .into_iter()
                            .map(|n| Header {
                                number: n,
                                hash: Self::hash(n),
                                parent_hash: Self::hash(n.wrapping_sub(1)),
                            })
                            .collect(),
                    ),
                };
                match follower.feed(answer) {
                    Step::Heights(heights) => {
                        for h in heights {
                            let errors = applier.follow(&mut ledger, h.height, &h.events).unwrap();
                            refused.extend(errors.iter().map(|e| match e {
                                Error::Refused { at, .. }
                                | Error::Transaction { at, .. }
                                | Error::UnknownNodeId { at, .. } => *at,
                                other => panic!("{other:?}"),
                            }));
                        }
                    }
                    Step::Wait => break,
                    other => panic!("{other:?}"),
                }
            }
        }
        (ledger, refused)
    }
}

#[test]
fn followers_fed_the_same_logs_in_different_batches_reach_the_same_state_hash() {
    let mut events: Vec<(u64, ContractEvent)> = (1..=6)
        .map(|n| (2 + u64::from(n), solo(u64::from(n), n, u8::try_from(n).unwrap())))
        .collect();
    events.push((9, solo(7, 1, 7))); // the same node again: refused
    events.push((11, ContractEvent::ExitRequest { id: 2, initiator: evm(2), bls_key: bls(2) }));
    events.push((11, ContractEvent::ExitRequest { id: 42, initiator: evm(2), bls_key: bls(2) }));
    let voters = [key(2), key(3), key(4), key(5), key(6)];
    let voters: Vec<&Identity> = voters.iter().collect();
    let params = Params::testnet(REQ);
    // Votes cast at height 4 (block 12), posted in block 14 (height 5).
    let decision = QuorumDecision::signed(DecisionKind::Decommission, node(1), 4, &voters, &params);
    events.push((14, posted(&Tx::Decommission(decision))));
    events
        .push((20, ContractEvent::StakingRequirementUpdated { requirement: U256::from(2 * REQ) }));
    let chain = TestChain::new(60, events);

    let (a, refused_a) = chain.follow(1_000, 60);
    let (b, refused_b) = chain.follow(1, 1);
    let (c, refused_c) = chain.follow(4, 7);
    assert_eq!(a.height(), (60 - 2) / 3);
    assert_eq!(a.state_hash(), b.state_hash());
    assert_eq!(a.state_hash(), c.state_hash());
    assert_eq!(refused_a, refused_b);
    assert_eq!(refused_a, refused_c);
    assert_eq!(refused_a.len(), 2);
    assert_eq!(a.node(&node(1)).unwrap().status(), NodeStatus::Decommissioned);
    assert_eq!(a.node(&node(2)).unwrap().status(), NodeStatus::ExitRequested);
    assert_eq!(a.params().staking_requirement, 2 * REQ);
}

// ---- seeded nodes (NewSeededServiceNode + serviceNodes(id) at its block) ----

use sesh_chain::event::{Held, HeldNode};
use sesh_chain::follow::Height;

/// The contract's record of seeded node `n` with `stakes`, as `serviceNodes(id)` answers it
/// (encoded and decoded back, as the driver gets it).
fn record(n: u32, deposit: u64, stakes: &[(u8, u64)]) -> Held {
    let held = HeldNode {
        operator: evm(stakes.first().map_or(0, |s| s.0)),
        bls_key: bls(n),
        node: node(n),
        added_timestamp: U256::from(1_700_000_000u64),
        leave_request_timestamp: U256::ZERO,
        deposit: U256::from(deposit),
        contributors: stakes
            .iter()
            .map(|&(a, amount)| Contributor {
                address: evm(a),
                beneficiary: evm(a + 50),
                amount: U256::from(amount),
            })
            .collect(),
    };
    abi::decode_service_node(&abi::encode_service_node(&held))
}

/// The contract's empty record: what `serviceNodes(id)` answers for an id it does not hold.
fn gone() -> Held {
    abi::decode_service_node(&abi::encode_service_node(&HeldNode {
        operator: EvmAddress([0; 20]),
        bls_key: BlsKey::from_bytes([0; 64]),
        node: NodeId::from_bytes([0; 32]),
        added_timestamp: U256::ZERO,
        leave_request_timestamp: U256::ZERO,
        deposit: U256::ZERO,
        contributors: vec![],
    }))
}

/// `NewSeededServiceNode` of node `n` read off the chain, its record supplied as a driver does.
fn seeded(id: u64, n: u32, held: Held) -> ContractEvent {
    let logged = off_the_chain(&ContractEvent::SeededServiceNode {
        id,
        bls_key: bls(n),
        node: node(n),
        held: Held::Node(Box::new(HeldNode {
            operator: evm(9),
            bls_key: bls(99),
            node: node(99),
            added_timestamp: U256::ZERO,
            leave_request_timestamp: U256::ZERO,
            deposit: U256::ZERO,
            contributors: vec![],
        })),
    });
    let at = LogPosition { block: 5, index: 0 };
    let mut height = Height {
        height: 1,
        seed_block: 5,
        seed: None,
        events: vec![(at, logged)],
        skipped: vec![],
    };
    // `held` is not in the log: decoded, it is to be fetched.
    assert_eq!(height.seeded(), vec![(at, id)]);
    if held != Held::NotFetched {
        assert!(height.supply(at, held));
        assert!(height.seeded().is_empty());
    }
    assert!(!height.supply(LogPosition { block: 5, index: 1 }, Held::NotFetched));
    height.events.remove(0).1
}

#[test]
fn a_seeded_node_is_active_with_the_stakes_the_contract_held() {
    let mut f = Follower::new();
    let stakes = [(1, 10 * SESH), (2, 60 * SESH), (3, 30 * SESH)];
    let events = f.event(&seeded(1, 1, record(1, REQ, &stakes))).unwrap();
    assert!(events.contains(&Event::Activated { node: node(1) }));
    let n = f.ledger.node(&node(1)).unwrap();
    assert_eq!(n.status(), NodeStatus::Active);
    assert_eq!(n.fee_bp(), 0, "the contract holds no fee for a seeded node");
    assert_eq!(n.operator(), account(1));
    let got: Vec<_> =
        n.contributors().iter().map(|c| (c.address, c.beneficiary, c.amount)).collect();
    assert_eq!(
        got,
        stakes.iter().map(|&(a, amount)| (account(a), account(a + 50), amount)).collect::<Vec<_>>()
    );
    assert!(f.applier.is_seeded(1));
    // Registered nodes follow; a seeded node leaves as any other.
    f.event(&solo(2, 2, 4)).unwrap();
    assert!(!f.applier.is_seeded(2));
    f.event(&ContractEvent::ExitRequest { id: 1, initiator: evm(2), bls_key: bls(1) }).unwrap();
    f.event(&ContractEvent::Exit {
        id: 1,
        initiator: evm(2),
        returned: U256::from(REQ),
        bls_key: bls(1),
    })
    .unwrap();
    assert!(f.ledger.node(&node(1)).is_none());
    assert!(!f.applier.is_seeded(1));
    assert_eq!(f.ledger.active_count(), 1);
}

#[test]
fn a_seeded_node_without_its_record_is_refused_the_same_way_everywhere() {
    let mut f = Follower::new();
    let before = f.ledger.state_hash();
    let refusal = |f: &mut Follower, e: &ContractEvent| {
        let at = f.at();
        let result = f.applier.apply(&mut f.ledger, at, e);
        assert_eq!(f.ledger.state_hash(), before);
        result.unwrap_err()
    };
    assert!(matches!(
        refusal(&mut f, &seeded(1, 1, Held::NotFetched)),
        Error::SeedNotFetched { id: 1, .. }
    ));
    let cases = [
        (2, Held::Reverted(vec![0xde, 0xad]), "reverted at its block (0xdead)"),
        (3, Held::Malformed("short".into()), "short"),
        (4, gone(), "no longer held the node"),
        (5, record(6, REQ, &[(1, REQ)]), "another node under its id"),
        (6, abi::decode_service_node(&[0u8; 31]), "does not decode"),
    ];
    for (id, held, why) in cases {
        let n = u32::try_from(id).unwrap();
        match refusal(&mut f, &seeded(id, n, held)) {
            Error::SeedUnavailable { id: got, why: text, .. } => {
                assert_eq!(got, id);
                assert!(text.contains(why), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The ledger's own rules: a deposit the stakes do not fill, the same id twice.
    let short = seeded(7, 7, record(7, REQ, &[(1, REQ / 2)]));
    assert_eq!(
        f.refused(&short),
        Rejection::RegistrationNotFull { contributed: REQ / 2, requirement: REQ }
    );
    f.event(&seeded(8, 8, record(8, REQ, &[(1, REQ)]))).unwrap();
    assert!(matches!(
        f.event(&seeded(8, 9, record(9, REQ, &[(1, REQ)]))),
        Err(Error::DuplicateNodeId { id: 8, .. })
    ));
    // A stake beyond 64 bits.
    let mut huge = record(10, REQ, &[(1, REQ)]);
    if let Held::Node(n) = &mut huge {
        n.contributors[0].amount = U256::MAX;
    }
    assert!(matches!(f.event(&seeded(10, 10, huge)), Err(Error::AmountTooLarge { .. })));
}
