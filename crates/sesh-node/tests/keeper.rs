//! The ledger keeper of a local network: joins, blocks, the published state, a restart from the
//! log and the last state, and the genesis ledger.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::net::Ipv4Addr;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sesh_identity::{Identity, NodeId};
use sesh_node::Error;
use sesh_node::keeper::{
    GENESIS_CONTRIBUTORS, Genesis, JoinRequest, Keeper, REQUIREMENT, params, register_tx,
};
use sesh_staking::journal::{Journal, record_bytes};
use sesh_staking::tx::Tx;
use sesh_staking::{LogProblem, NodeStatus};

const HF: [u16; 2] = [21, 0];

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// A join that only says where the node is.
fn at(ip: Ipv4Addr, port: u16) -> Vec<u8> {
    JoinRequest { register: None, ip, port, tls: false }.to_body()
}

fn bad_request(e: Error) -> String {
    match e {
        Error::BadRequest(why) => why,
        other => panic!("expected BadRequest, got {other:?}"),
    }
}

/// Blocks until the payable delay is behind, so a block has only its height advance.
fn settle(keeper: &mut Keeper) {
    for _ in 0..8 {
        keeper.block().unwrap();
    }
}

#[test]
fn a_join_registers_the_node_and_places_it_next_block() {
    let mut keeper = Keeper::new(HF);
    let node = Identity::generate(&mut rng(1));
    let id = NodeId::from_identity(&node);
    let join = JoinRequest::register(&node, ip(1), 22100, true).unwrap();
    assert_eq!(JoinRequest::parse(&join.to_body()).unwrap(), join);

    let record = keeper.join(id, &join.to_body()).unwrap().expect("a registration record");
    assert_eq!(record, record_bytes(&register_tx(&node).unwrap()));
    // The record is the ledger's own: replayed, it gives the same ledger.
    let replayed = Journal::open(params(), None, &record).unwrap();
    assert_eq!(replayed.journal.ledger().state_hash(), keeper.chain().ledger().state_hash());
    assert_eq!(keeper.chain().ledger().node(&id).unwrap().status(), NodeStatus::Active);
    assert!(keeper.chain().map().is_empty(), "placed only when the block closes");

    let (advance, block) = keeper.block().unwrap();
    assert_eq!(advance, record_bytes(&Tx::AdvanceHeight(1).unsigned()));
    assert_eq!(block.height, 1);
    assert!(block.swarms.is_some());
    let state = keeper.state().unwrap();
    assert_eq!((state.height, state.hf, state.block_hash), (1, HF, block.hash));
    assert!(state.swarm_of(&id).is_some());
    let r = state.node(&id).unwrap();
    assert_eq!((r.ip, r.port, r.tls), (ip(1), 22100, true));
    assert_eq!(r.x25519, *node.x25519_public_key());

    // Joining again registers nothing, with or without the registration.
    assert_eq!(keeper.join(id, &join.to_body()).unwrap(), None);
    assert_eq!(keeper.join(id, &at(ip(1), 22100)).unwrap(), None);
    assert_eq!(keeper.chain().ledger().nodes().len(), 1);
}

#[test]
fn a_registration_of_another_node_is_refused() {
    let mut keeper = Keeper::new(HF);
    let mut r = rng(2);
    let (a, b) = (Identity::generate(&mut r), Identity::generate(&mut r));
    let body = JoinRequest::register(&b, ip(2), 22100, false).unwrap().to_body();
    let why = bad_request(keeper.join(NodeId::from_identity(&a), &body).unwrap_err());
    assert!(why.contains("\"register\"") && why.contains("signs the request"), "{why}");
    assert_eq!(keeper.chain().ledger().nodes().len(), 0);
    assert_eq!(keeper.state().unwrap().nodes().len(), 0);

    // An unknown node must bring a registration.
    let why = bad_request(keeper.join(NodeId::from_identity(&a), &at(ip(2), 1)).unwrap_err());
    assert!(why.contains("\"register\""), "{why}");

    // A registration the ledger refuses (its fee changed after signing) is the ledger's refusal,
    // and the node is not listed.
    let mut tx = register_tx(&a).unwrap();
    if let Tx::Register(reg) = &mut tx.tx {
        reg.fee_bp = 700;
    }
    let body = JoinRequest { register: Some(tx), ip: ip(2), port: 3, tls: false }.to_body();
    assert!(matches!(keeper.join(NodeId::from_identity(&a), &body), Err(Error::Ledger(_))));
    assert_eq!(keeper.chain().ledger().nodes().len(), 0);
    assert_eq!(keeper.state().unwrap().nodes().len(), 0);

    // The node itself may then register.
    let body = JoinRequest::register(&a, ip(2), 22100, false).unwrap().to_body();
    assert!(keeper.join(NodeId::from_identity(&a), &body).unwrap().is_some());
}

/// A valid join body as JSON, with `field` replaced by `value` (or removed when `None`).
fn with(field: &str, value: Option<Value>) -> Vec<u8> {
    let node = Identity::generate(&mut rng(3));
    let body = JoinRequest::register(&node, ip(3), 22100, false).unwrap().to_body();
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    let object = v.as_object_mut().unwrap();
    match value {
        Some(value) => object.insert(field.to_owned(), value),
        None => object.remove(field),
    };
    v.to_string().into_bytes()
}

#[test]
fn a_malformed_join_is_refused_naming_the_field() {
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("ip", None),
        ("ip", Some(json!("::1"))),
        ("ip", Some(json!("127.0.0"))),
        ("ip", Some(json!(2_130_706_433))),
        ("port", None),
        ("port", Some(json!(0))),
        ("port", Some(json!(65_536))),
        ("port", Some(json!(-1))),
        ("port", Some(json!("22100"))),
        ("tls", None),
        ("tls", Some(json!("false"))),
        ("tls", Some(json!(0))),
        ("register", Some(json!(5))),
        ("register", Some(json!("not hex"))),
        ("register", Some(json!([1, 2]))),
    ];
    let mut keeper = Keeper::new(HF);
    let id = NodeId::from_identity(&Identity::generate(&mut rng(3)));
    for (field, value) in cases {
        let body = with(field, value.clone());
        let why = bad_request(JoinRequest::parse(&body).unwrap_err());
        assert!(why.contains(&format!("\"{field}\"")), "{field} = {value:?}: {why}");
        assert_eq!(bad_request(keeper.join(id, &body).unwrap_err()), why);
    }
    for body in [&b"not json"[..], b"", b"[1, 2"] {
        let why = bad_request(JoinRequest::parse(body).unwrap_err());
        assert!(why.starts_with("body is not JSON"), "{why}");
    }
    // Hex that is not a signed transaction: the ledger's decoding error.
    let body = with("register", Some(json!("00ff00")));
    assert!(matches!(JoinRequest::parse(&body), Err(Error::Ledger(_))));
    // A null registration is none; so is a missing one.
    for value in [Some(Value::Null), None] {
        let parsed = JoinRequest::parse(&with("register", value)).unwrap();
        assert_eq!(parsed.register, None);
        assert_eq!((parsed.ip, parsed.port, parsed.tls), (ip(3), 22100, false));
    }
    assert_eq!(keeper.chain().ledger().nodes().len(), 0);
}

proptest! {
    /// Any address round-trips, with or without a registration.
    #[test]
    fn join_requests_round_trip(a in any::<[u8; 4]>(), port in 1u16.., tls: bool, register: bool) {
        let node = Identity::generate(&mut rng(u64::from(port)));
        let mut join = JoinRequest::register(&node, Ipv4Addr::from(a), port, tls).unwrap();
        if !register {
            join.register = None;
        }
        prop_assert_eq!(JoinRequest::parse(&join.to_body()).unwrap(), join);
    }

    /// No body makes the parser panic.
    #[test]
    fn join_parse_never_panics(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = JoinRequest::parse(&body);
    }
}

#[test]
fn a_new_address_triggers_a_reassignment() {
    let mut keeper = Keeper::new(HF);
    let mut r = rng(4);
    let nodes: Vec<Identity> = (0..5).map(|_| Identity::generate(&mut r)).collect();
    for (i, node) in nodes.iter().enumerate() {
        let body = JoinRequest::register(node, ip(10), 22100 + i as u16, false).unwrap().to_body();
        keeper.join(NodeId::from_identity(node), &body).unwrap();
    }
    settle(&mut keeper);
    assert!(keeper.block().unwrap().1.swarms.is_none());
    let id = NodeId::from_identity(&nodes[2]);

    // The same address again: nothing to recompute.
    keeper.join(id, &at(ip(10), 22102)).unwrap();
    assert!(keeper.block().unwrap().1.swarms.is_none());

    // A new port: recomputed at the next block (and only that one), and published.
    keeper.join(id, &at(ip(10), 23000)).unwrap();
    let (_, block) = keeper.block().unwrap();
    assert!(block.swarms.is_some());
    assert!(keeper.block().unwrap().1.swarms.is_none());
    assert_eq!(keeper.state().unwrap().node(&id).unwrap().port, 23000);

    // TLS on: a new address too.
    let tls = JoinRequest { register: None, ip: ip(10), port: 23000, tls: true }.to_body();
    keeper.join(id, &tls).unwrap();
    assert!(keeper.block().unwrap().1.swarms.is_some());
    assert!(keeper.state().unwrap().node(&id).unwrap().tls);
}

/// A keeper started from a genesis of `n` nodes that all joined, after `blocks` blocks; with
/// its whole log.
fn running(n: usize, blocks: usize, seed: u64) -> (Keeper, Vec<u8>, Genesis) {
    let genesis = Genesis::build(n, &mut rng(seed)).unwrap();
    let restored = Keeper::restore(HF, &genesis.log, None).unwrap();
    assert!(restored.damage.is_none());
    let mut keeper = restored.keeper;
    let mut log = genesis.log.clone();
    for (i, node) in genesis.nodes.iter().enumerate() {
        let joined = keeper.join(NodeId::from_identity(node), &at(ip(20), 22100 + i as u16));
        assert_eq!(joined.unwrap(), None, "genesis nodes are registered");
    }
    for _ in 0..blocks {
        let (record, _) = keeper.block().unwrap();
        log.extend(record);
    }
    (keeper, log, genesis)
}

#[test]
fn a_restored_keeper_is_the_running_one() {
    let (mut keeper, log, _) = running(9, 12, 5);
    let state = keeper.state().unwrap();
    assert_eq!(state.nodes().len(), 9);
    assert_eq!(state.map().node_count(), 9);
    let rewards = keeper.rewards();
    assert_eq!(rewards["height"], 12);
    assert!(!rewards["balances"].as_object().unwrap().is_empty());
    assert_ne!(rewards["pool_released_atomic"], "0");

    let saved = state.to_json().to_string();
    let restored = Keeper::restore(HF, &log, Some(saved.as_bytes())).unwrap();
    assert_eq!(restored.valid_len, log.len() as u64);
    assert!(restored.damage.is_none());
    assert!(restored.unpaid.is_empty());
    let mut again = restored.keeper;
    assert_eq!(again.state().unwrap(), state);
    assert_eq!(again.rewards(), rewards);
    assert_eq!(again.chain().ledger().state_hash(), keeper.chain().ledger().state_hash());

    // They go on the same way.
    for _ in 0..3 {
        let (a, x) = keeper.block().unwrap();
        let (b, y) = again.block().unwrap();
        assert_eq!((a, x.hash, x.reward), (b, y.hash, y.reward));
    }
    assert_eq!(again.state().unwrap(), keeper.state().unwrap());
    assert_eq!(again.rewards(), keeper.rewards());

    // Without the state, the ledger and rewards are back but nobody's address is.
    let bare = Keeper::restore(HF, &log, None).unwrap().keeper;
    assert_eq!(bare.state().unwrap().nodes().len(), 0);
    assert_eq!(bare.chain().ledger().height(), 12);
}

#[test]
fn a_damaged_log_tail_is_reported() {
    let (keeper, log, _) = running(4, 6, 6);
    let last = record_bytes(&Tx::AdvanceHeight(6).unsigned());
    let intact = log.len() - last.len();
    assert_eq!(&log[intact..], &last[..]);

    // Cut inside the last record: an interrupted write.
    let cut = &log[..log.len() - 2];
    let restored = Keeper::restore(HF, cut, None).unwrap();
    assert_eq!(restored.valid_len, intact as u64);
    assert_eq!(restored.damage, Some((intact as u64, LogProblem::Truncated)));
    assert_eq!(restored.keeper.chain().ledger().height(), 5);

    // A flipped byte in the last record's payload.
    let mut flipped = log.clone();
    *flipped.last_mut().unwrap() ^= 0x01;
    let restored = Keeper::restore(HF, &flipped, None).unwrap();
    assert_eq!(restored.damage, Some((intact as u64, LogProblem::Checksum)));
    assert_eq!(restored.valid_len, intact as u64);

    // Junk appended after a whole log: everything before it is kept.
    let mut junk = log.clone();
    junk.extend_from_slice(&[0xde, 0xad]);
    let restored = Keeper::restore(HF, &junk, None).unwrap();
    assert_eq!(restored.valid_len, log.len() as u64);
    assert_eq!(restored.damage, Some((log.len() as u64, LogProblem::Truncated)));
    assert_eq!(restored.keeper.rewards(), keeper.rewards());

    // A record that decodes but does not apply (block 6 twice).
    let mut twice = log.clone();
    twice.extend_from_slice(&last);
    let restored = Keeper::restore(HF, &twice, None).unwrap();
    assert_eq!(restored.damage, Some((log.len() as u64, LogProblem::Inapplicable)));

    // A state that does not parse is an error.
    assert!(matches!(Keeper::restore(HF, &log, Some(b"{")), Err(Error::Network(_))));
}

#[test]
fn genesis_makes_active_nodes_with_the_fees() {
    for n in [1, 4, 7] {
        let g = Genesis::build(n, &mut rng(n as u64)).unwrap();
        assert_eq!(g.nodes.len(), n);
        let expected: Vec<u16> = (0..n).map(|i| [0, 500, 1000, 1500][i % 4]).collect();
        assert_eq!(g.fees, expected);
        assert_eq!(g.names.len(), n + GENESIS_CONTRIBUTORS);
        assert_eq!(g.names.values().filter(|v| v.starts_with("operator ")).count(), n);

        let ledger = Journal::open(params(), None, &g.log).unwrap();
        assert!(ledger.damage.is_none());
        let ledger = ledger.journal.ledger().clone();
        assert_eq!(ledger.active_count(), n);
        assert_eq!(ledger.nodes().len(), n);
        for (i, (node, fee)) in g.nodes.iter().zip(&g.fees).enumerate() {
            let record = ledger.node(&NodeId::from_identity(node)).unwrap();
            assert_eq!(record.status(), NodeStatus::Active);
            assert_eq!(record.fee_bp(), *fee);
            assert_eq!(record.total_contributed(), REQUIREMENT);
            let stakes: Vec<u64> = record.contributors().iter().map(|c| c.amount).collect();
            assert_eq!(stakes, vec![REQUIREMENT / 2, REQUIREMENT / 4, REQUIREMENT / 4]);
            assert_eq!(g.names[&record.operator()], format!("operator {i}"));
            for c in &record.contributors()[1..] {
                assert!(g.names[&c.address].starts_with("contributor "));
            }
        }
    }
    // The same seed, the same ledger; another seed, other keys.
    let a = Genesis::build(3, &mut rng(9)).unwrap();
    let b = Genesis::build(3, &mut rng(9)).unwrap();
    let c = Genesis::build(3, &mut rng(10)).unwrap();
    assert_eq!(a.log, b.log);
    assert_ne!(a.log, c.log);
    assert_eq!(Genesis::build(0, &mut rng(1)).unwrap().log, Vec::<u8>::new());
}
