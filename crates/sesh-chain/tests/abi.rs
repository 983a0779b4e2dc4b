//! The log decoder: topics against the live signatures written out by hand, round trips through
//! alloy's encoder, strictness, and no panic on any bytes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(clippy::panic, clippy::cast_possible_truncation)]

use alloy_primitives::{U256, keccak256};
use proptest::prelude::*;
use sesh_chain::abi::{self, Decoded, RawLog};
use sesh_chain::event::{Contributor, Held, HeldNode};
use sesh_chain::{ContractEvent, Error, EvmAddress, LogPosition};
use sesh_staking::{BlsKey, NodeId};

/// The live `ServiceNodeRewards` events' canonical signatures (session-token-contracts
/// `ae0f6a6`, tuples for the structs), written out by hand, and sesh's `NetworkTransaction`.
const SIGNATURES: [(&str, &str); 9] = [
    (
        "NewServiceNodeV2",
        "NewServiceNodeV2(uint64,address,(uint256,uint256),(uint256,uint256,uint256,uint16),((address,address),uint256)[])",
    ),
    ("ServiceNodeExitRequest", "ServiceNodeExitRequest(uint64,address,(uint256,uint256))"),
    ("ServiceNodeExit", "ServiceNodeExit(uint64,address,uint256,(uint256,uint256))"),
    ("ServiceNodeLiquidated", "ServiceNodeLiquidated(uint64,address,(uint256,uint256))"),
    ("RewardsBalanceUpdated", "RewardsBalanceUpdated(address,uint256,uint256)"),
    ("RewardsClaimed", "RewardsClaimed(address,uint256)"),
    ("StakingRequirementUpdated", "StakingRequirementUpdated(uint256)"),
    ("NetworkTransaction", "NetworkTransaction(address,bytes)"),
    ("NewSeededServiceNode", "NewSeededServiceNode(uint64,(uint256,uint256),uint256)"),
];

const IGNORED: [&str; 10] = [
    "BLSNonSignerThresholdMaxUpdated(uint256)",
    "ClaimThresholdUpdated(uint256)",
    "ClaimCycleUpdated(uint256)",
    "LiquidationRatiosUpdated(uint256,uint256,uint256)",
    "SignatureExpiryUpdated(uint256)",
    "OwnershipTransferStarted(address,address)",
    "OwnershipTransferred(address,address)",
    "Paused(address)",
    "Unpaused(address)",
    "Initialized(uint64)",
];

fn log(topics: Vec<[u8; 32]>, data: Vec<u8>) -> RawLog {
    RawLog {
        address: EvmAddress([0x11; 20]),
        topics,
        data,
        block_number: 7,
        block_hash: [7; 32],
        log_index: 3,
        transaction_hash: [9; 32],
        removed: false,
    }
}

fn bls(n: u8) -> BlsKey {
    let mut k = [n; 64];
    k[0] = 0x01;
    k[32] = 0x02;
    BlsKey::from_bytes(k)
}

fn new_node(contributors: usize) -> ContractEvent {
    ContractEvent::NewServiceNode {
        id: 42,
        initiator: EvmAddress([0xaa; 20]),
        bls_key: bls(5),
        node: NodeId::from_bytes(core::array::from_fn(|i| i as u8)),
        node_signature: core::array::from_fn(|i| 0xff - i as u8),
        fee: 1_000,
        contributors: (0..contributors)
            .map(|i| Contributor {
                address: EvmAddress([i as u8; 20]),
                beneficiary: EvmAddress([0x80 + i as u8; 20]),
                amount: U256::from(25_000_000_000_000u64 / (i as u64 + 1)),
            })
            .collect(),
    }
}

fn every_event() -> Vec<ContractEvent> {
    let who = EvmAddress([0x33; 20]);
    vec![
        new_node(1),
        new_node(10),
        ContractEvent::ExitRequest { id: 1, initiator: who, bls_key: bls(1) },
        ContractEvent::Exit { id: u64::MAX, initiator: who, returned: U256::MAX, bls_key: bls(2) },
        ContractEvent::Liquidated { id: 0, initiator: who, bls_key: bls(3) },
        ContractEvent::RewardsBalanceUpdated {
            recipient: who,
            amount: U256::from(10u8),
            previous: U256::from(3u8),
        },
        ContractEvent::RewardsClaimed { recipient: who, amount: U256::from(7u8) },
        ContractEvent::StakingRequirementUpdated { requirement: U256::from(25_000_000_000_000u64) },
        ContractEvent::NetworkTransaction { sender: who, transaction: vec![1, 2, 3, 4, 5] },
        ContractEvent::NetworkTransaction { sender: who, transaction: vec![] },
        ContractEvent::SeededServiceNode {
            id: 7,
            bls_key: bls(4),
            node: NodeId::from_bytes([0xee; 32]),
            held: Held::NotFetched,
        },
    ]
}

fn name(event: &ContractEvent) -> &'static str {
    match event {
        ContractEvent::NewServiceNode { .. } => "NewServiceNodeV2",
        ContractEvent::ExitRequest { .. } => "ServiceNodeExitRequest",
        ContractEvent::Exit { .. } => "ServiceNodeExit",
        ContractEvent::Liquidated { .. } => "ServiceNodeLiquidated",
        ContractEvent::RewardsBalanceUpdated { .. } => "RewardsBalanceUpdated",
        ContractEvent::RewardsClaimed { .. } => "RewardsClaimed",
        ContractEvent::StakingRequirementUpdated { .. } => "StakingRequirementUpdated",
        ContractEvent::NetworkTransaction { .. } => "NetworkTransaction",
        ContractEvent::SeededServiceNode { .. } => "NewSeededServiceNode",
        _ => unreachable!(),
    }
}

#[test]
fn topics_are_keccak_of_the_live_signatures() {
    for (event, signature) in SIGNATURES {
        let (_, hash) = abi::FOLLOWED.iter().find(|(n, _)| *n == event).unwrap();
        assert_eq!(*hash, keccak256(signature), "{event}");
    }
    // And the logs `encode` makes carry them.
    for event in every_event() {
        let (topics, _) = abi::encode(&event);
        let (_, signature) = SIGNATURES.iter().find(|(n, _)| *n == name(&event)).unwrap();
        assert_eq!(topics[0], keccak256(signature).0, "{}", name(&event));
    }
}

#[test]
fn the_other_known_events_are_ignored_by_name() {
    for signature in IGNORED {
        let topic = keccak256(signature).0;
        let decoded = abi::decode(&log(vec![topic], vec![])).unwrap();
        let name = signature.split('(').next().unwrap();
        assert_eq!(decoded, Decoded::Ignored(name), "{signature}");
    }
}

#[test]
fn events_round_trip() {
    for event in every_event() {
        let (topics, data) = abi::encode(&event);
        assert_eq!(abi::decode(&log(topics, data)).unwrap(), Decoded::Event(event));
    }
}

/// The key, signature and BLS key sit in the data words as oxend reads them: the key is the
/// `serviceNodePubkey` word's bytes, the signature words 1 and 2 in order, the BLS key X‖Y.
#[test]
fn new_node_words_are_oxends() {
    let event = new_node(1);
    let (_, data) = abi::encode(&event);
    let ContractEvent::NewServiceNode { node, node_signature, bls_key, initiator, .. } = &event
    else {
        unreachable!()
    };
    // initiator (32) | pubkey X, Y | serviceNodePubkey | sig1 | sig2 | fee | offset
    assert_eq!(&data[12..32], &initiator.0);
    assert_eq!(&data[32..96], bls_key.as_bytes());
    assert_eq!(&data[96..128], node.as_bytes());
    assert_eq!(&data[128..192], &node_signature[..]);
    assert_eq!(U256::from_be_slice(&data[192..224]), U256::from(1_000u16));
    assert_eq!(U256::from_be_slice(&data[224..256]), U256::from(256u16));
    let message = event.node_signature_message().unwrap();
    assert_eq!(&message[..32], node.as_bytes());
    assert_eq!(&message[32..], bls_key.as_bytes());
}

#[test]
fn strictness() {
    let at = LogPosition { block: 7, index: 3 };
    let (topics, data) = abi::encode(&new_node(2));
    // A topic too many, or too few.
    let mut more = topics.clone();
    more.push([0; 32]);
    assert!(matches!(abi::decode(&log(more, data.clone())), Err(Error::MalformedLog { .. })));
    assert!(matches!(
        abi::decode(&log(topics[..1].to_vec(), data.clone())),
        Err(Error::MalformedLog { event: "NewServiceNodeV2", .. })
    ));
    // An id topic wider than uint64.
    let mut wide = topics.clone();
    wide[1][0] = 1;
    assert!(matches!(abi::decode(&log(wide, data.clone())), Err(Error::MalformedLog { .. })));
    // An address word with dirty padding.
    let mut dirty = data.clone();
    dirty[0] = 1;
    assert!(matches!(abi::decode(&log(topics.clone(), dirty)), Err(Error::MalformedLog { .. })));
    // A fee word wider than uint16.
    let mut fee = data.clone();
    fee[200] = 1;
    assert!(matches!(abi::decode(&log(topics.clone(), fee)), Err(Error::MalformedLog { .. })));
    // Truncated data.
    assert!(matches!(
        abi::decode(&log(topics.clone(), data[..data.len() - 1].to_vec())),
        Err(Error::MalformedLog { at: a, .. }) if a == at
    ));
    // Unknown topic, and no topic.
    assert_eq!(
        abi::decode(&log(vec![[0xab; 32]], vec![])),
        Err(Error::UnknownEvent { at, topic: Some([0xab; 32]) })
    );
    assert_eq!(abi::decode(&log(vec![], vec![])), Err(Error::UnknownEvent { at, topic: None }));
    // An error says where and what.
    let text = abi::decode(&log(vec![[0xab; 32]], vec![])).unwrap_err().to_string();
    assert!(text.contains("7:3") && text.contains("abab"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Arbitrary topics and data never panic, under any followed event's first topic.
    #[test]
    fn arbitrary_logs_never_panic(
        which in 0usize..11,
        extra in proptest::collection::vec(any::<[u8; 32]>(), 0..4),
        data in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut topics = Vec::new();
        if which < 9 {
            topics.push(abi::FOLLOWED[which].1.0);
        } else if which == 9 {
            topics.push(keccak256(IGNORED[0]).0);
        }
        topics.extend(extra);
        let _ = abi::decode(&log(topics, data));
    }

    /// Mutating bytes of a valid encoding never panics either (reaching deeper decoder paths:
    /// offsets and lengths that point anywhere).
    #[test]
    fn mutated_logs_never_panic(
        which in 0usize..11,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let event = &every_event()[which];
        let (topics, mut data) = abi::encode(event);
        for (at, byte) in flips {
            let n = data.len().max(1);
            if let Some(b) = data.get_mut(at % n) {
                *b = byte;
            }
        }
        data.truncate(cut % (data.len() + 1) + data.len() / 2);
        let _ = abi::decode(&log(topics, data));
    }

    #[test]
    fn network_transactions_round_trip(
        sender in any::<[u8; 20]>(),
        transaction in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let event = ContractEvent::NetworkTransaction { sender: EvmAddress(sender), transaction };
        let (topics, data) = abi::encode(&event);
        prop_assert_eq!(abi::decode(&log(topics, data)).unwrap(), Decoded::Event(event));
    }
}

/// A contributor count that the data cannot hold is refused without a large allocation
/// mattering: alloy reserves fallibly, then fails on the first missing element.
#[test]
fn huge_array_lengths_are_refused() {
    let (topics, data) = abi::encode(&new_node(1));
    for len in [10_000_000u64, 1 << 40, u64::MAX] {
        let mut bad = data.clone();
        // The array's length word sits at its offset, 256.
        bad[256..288].copy_from_slice(&U256::from(len).to_be_bytes::<32>());
        assert!(matches!(
            abi::decode(&log(topics.clone(), bad)),
            Err(Error::MalformedLog { event: "NewServiceNodeV2", .. })
        ));
    }
    // Bytes past the encoding are tolerated, as alloy's decoder tolerates them.
    let mut longer = data.clone();
    longer.extend_from_slice(&[0xff; 64]);
    assert_eq!(abi::decode(&log(topics, longer)).unwrap(), Decoded::Event(new_node(1)));
}

/// `serviceNodes(uint64)`: the live selector, the struct's layout, and no panic on any answer.
#[test]
fn service_node_records_decode_and_garbage_is_malformed() {
    let call = abi::service_node_call(5);
    assert_eq!(call[..4], keccak256("serviceNodes(uint64)")[..4]);
    assert_eq!(call.len(), 36);
    assert_eq!(call[35], 5);
    let record = HeldNode {
        operator: EvmAddress([1; 20]),
        bls_key: bls(3),
        node: NodeId::from_bytes([0xee; 32]),
        added_timestamp: U256::from(17u8),
        leave_request_timestamp: U256::ZERO,
        deposit: U256::from(25_000_000_000_000u64),
        contributors: (0..3)
            .map(|i| Contributor {
                address: EvmAddress([i + 1; 20]),
                beneficiary: EvmAddress([i + 9; 20]),
                amount: U256::from(u64::from(i) + 1),
            })
            .collect(),
    };
    let bytes = abi::encode_service_node(&record);
    // One dynamic struct: an offset word, then 9 static words, the array's offset and the key.
    assert_eq!(U256::from_be_slice(&bytes[..32]), U256::from(32u8));
    assert_eq!(abi::decode_service_node(&bytes), Held::Node(Box::new(record)));
    for cut in [0, 31, 32, 100, bytes.len() - 1] {
        assert!(matches!(abi::decode_service_node(&bytes[..cut]), Held::Malformed(_)), "{cut}");
    }
}

proptest! {
    #[test]
    fn arbitrary_service_node_answers_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..800),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    ) {
        let _ = abi::decode_service_node(&data);
        let mut valid = abi::encode_service_node(&HeldNode {
            operator: EvmAddress([1; 20]),
            bls_key: bls(3),
            node: NodeId::from_bytes([0xee; 32]),
            added_timestamp: U256::ZERO,
            leave_request_timestamp: U256::ZERO,
            deposit: U256::from(1u8),
            contributors: vec![Contributor {
                address: EvmAddress([1; 20]),
                beneficiary: EvmAddress([1; 20]),
                amount: U256::from(1u8),
            }],
        });
        for (at, byte) in flips {
            let n = valid.len();
            valid[at % n] = byte;
        }
        let _ = abi::decode_service_node(&valid);
    }
}
