//! The client's path and retry policy against an in-memory network: real onion requests, peeled
//! by the nodes' real keys, with nodes that are down, answer 421 or 406, or drop their part of a
//! path. No processes, no sockets.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sesh_client::Error;
use sesh_client::delivery::{ATTEMPTS, Delivery, NodeAnswer, ROUNDS, Step, Transport};
use sesh_client::paths::{NODE_FAILURE_THRESHOLD, Outcome, PATH_FAILURE_THRESHOLD, Paths};
use sesh_identity::{Identity, NodeId, Seed};
use sesh_network::{NetworkState, NodeRecord};
use sesh_onion::node::{self, Action, Layer, NodeKeys, Rejection, ReplyBody};
use sesh_swarm::{SwarmId, SwarmMap};

/// How a node behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
    /// Answers storage requests with this status.
    Status(u16),
}

struct Net {
    ids: Vec<Identity>,
    state: NetworkState,
    modes: BTreeMap<NodeId, Mode>,
    /// Storage requests each node answered.
    served: BTreeMap<NodeId, usize>,
}

impl Net {
    /// `n` nodes in two swarms (even and odd), all up.
    fn new(n: usize) -> Self {
        let ids: Vec<Identity> =
            (0..n).map(|i| Identity::from_seed(&Seed::from_bytes([i as u8 + 1; 32]))).collect();
        let records: Vec<NodeRecord> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| NodeRecord {
                id: NodeId::from_identity(id),
                x25519: *id.x25519_public_key(),
                ip: "127.0.0.1".parse().unwrap(),
                port: 20_000 + i as u16,
                tls: false,
            })
            .collect();
        let map = SwarmMap::from_assignments(records.iter().enumerate().map(|(i, r)| {
            (r.id, SwarmId::new(if i.is_multiple_of(2) { 100 } else { u64::MAX / 2 }).unwrap())
        }))
        .unwrap();
        let modes = records.iter().map(|r| (r.id, Mode::Up)).collect();
        let state = NetworkState::new(1, [21, 0], [0; 32], records, map).unwrap();
        Self { ids, state, modes, served: BTreeMap::new() }
    }

    fn id_of_url(&self, url: &str) -> NodeId {
        self.state.nodes().find(|n| url.starts_with(&n.url(""))).unwrap().id
    }

    fn identity(&self, id: &NodeId) -> &Identity {
        self.ids.iter().find(|i| NodeId::from_identity(i) == *id).unwrap()
    }

    /// What the guard at `url` does with an onion request.
    fn post(&mut self, url: &str, body: &[u8], rng: &mut ChaCha20Rng) -> Transport {
        let mut at = self.id_of_url(url);
        if self.modes[&at] == Mode::Down {
            return Transport::Unreachable("connection refused".into());
        }
        let mut layer = match Layer::from_client(body) {
            Ok(l) => l,
            Err(r) => return Transport::Answered { status: r.status, body: r.body },
        };
        loop {
            let me = self.identity(&at);
            let keys = NodeKeys { secret: me.x25519_secret_key(), public: me.x25519_public_key() };
            match node::peel(&keys, &layer, rng) {
                Err(r) => return Transport::Answered { status: r.status, body: r.body },
                Ok(Action::Forward { next, message }) => {
                    let next = NodeId::from_bytes(next);
                    if self.modes.get(&next).is_none_or(|m| *m == Mode::Down) {
                        let r = Rejection::next_node_not_found(next.as_bytes());
                        return Transport::Answered { status: r.status, body: r.body };
                    }
                    layer = Layer::from_node(&message).unwrap();
                    at = next;
                }
                Ok(Action::Deliver { request: _, reply }) => {
                    *self.served.entry(at).or_default() += 1;
                    let (status, body) = match self.modes[&at] {
                        Mode::Status(s) => (s, ReplyBody::Text(format!("status {s}"))),
                        _ => (200, ReplyBody::Json(serde_json::json!({"node": at.to_string()}))),
                    };
                    return Transport::Answered {
                        status: 200,
                        body: reply.seal(status, body, rng).unwrap(),
                    };
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
    }

    /// Runs a delivery to `account` to the end; the answer and the steps it took.
    fn deliver(
        &mut self,
        paths: &mut Paths,
        account: [u8; 33],
        rng: &mut ChaCha20Rng,
    ) -> (Result<NodeAnswer, Error>, usize, usize) {
        self.drive(Delivery::new(account), paths, rng, |_| {})
    }

    /// Runs `d` to the end, `refresh` doing what a refresh does; the answer, the posts and the
    /// refreshes it took.
    fn drive(
        &mut self,
        mut d: Delivery,
        paths: &mut Paths,
        rng: &mut ChaCha20Rng,
        mut refresh: impl FnMut(&mut Delivery),
    ) -> (Result<NodeAnswer, Error>, usize, usize) {
        let (mut posts, mut refreshes) = (0, 0);
        loop {
            match d.step(&self.state, paths, |_| br#"{"method":"info","params":{}}"#.to_vec(), rng)
            {
                Step::Post { url, body } => {
                    posts += 1;
                    let reply = self.post(&url, &body, rng);
                    d.on_reply(paths, reply);
                }
                Step::Refresh => {
                    refreshes += 1;
                    refresh(&mut d);
                }
                Step::Done(r) => return (r, posts, refreshes),
            }
            assert!(posts <= ROUNDS * ATTEMPTS, "the policy must end");
        }
    }

    fn members(&self, account: &[u8; 33]) -> Vec<NodeId> {
        self.state.members_for(account).iter().map(|n| n.id).collect()
    }
}

const ACCOUNT: [u8; 33] = [5; 33];

#[test]
fn a_healthy_network_answers_on_the_first_path() {
    let mut net = Net::new(10);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut paths = Paths::default();
    for _ in 0..20 {
        let (answer, posts, refreshes) = net.deliver(&mut paths, ACCOUNT, &mut rng);
        let answer = answer.unwrap();
        assert_eq!((answer.status, answer.attempts, posts, refreshes), (200, 1, 1, 0));
        assert!(net.members(&ACCOUNT).contains(&answer.node));
    }
    // Two paths are kept and reused.
    assert_eq!(paths.kept().count(), 2);
}

#[test]
fn a_member_that_is_down_is_struck_and_another_member_answers() {
    let mut net = Net::new(10);
    let members = net.members(&ACCOUNT);
    let down = members[0];
    net.modes.insert(down, Mode::Down);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut paths = Paths::default();
    for _ in 0..10 {
        let (answer, _, _) = net.deliver(&mut paths, ACCOUNT, &mut rng);
        let answer = answer.unwrap();
        assert_ne!(answer.node, down);
        assert_eq!(answer.status, 200);
    }
    assert_eq!(paths.strikes(&down), NODE_FAILURE_THRESHOLD);
}

#[test]
fn a_guard_that_is_down_is_dropped_at_once() {
    let mut net = Net::new(12);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut paths = Paths::default();
    net.deliver(&mut paths, ACCOUNT, &mut rng).0.unwrap();
    let guard = paths.kept().next().unwrap().guard().id;
    net.modes.insert(guard, Mode::Down);
    for _ in 0..10 {
        net.deliver(&mut paths, ACCOUNT, &mut rng).0.unwrap();
    }
    assert_eq!(paths.strikes(&guard), NODE_FAILURE_THRESHOLD);
    assert!(paths.kept().all(|p| !p.nodes().iter().any(|n| n.id == guard)));
}

#[test]
fn a_middle_node_that_is_down_is_replaced_in_its_path() {
    let mut net = Net::new(12);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut paths = Paths::default();
    net.deliver(&mut paths, ACCOUNT, &mut rng).0.unwrap();
    let kept: Vec<_> = paths.kept().cloned().collect();
    let middle = kept[0].nodes()[1].id;
    net.modes.insert(middle, Mode::Down);
    for _ in 0..10 {
        net.deliver(&mut paths, ACCOUNT, &mut rng).0.unwrap();
    }
    assert_eq!(paths.strikes(&middle), NODE_FAILURE_THRESHOLD);
    // The path with that guard, if still kept, goes round the dead node now.
    for p in paths.kept() {
        assert!(p.nodes().iter().all(|n| n.id != middle));
    }
}

#[test]
fn misdirected_twice_refreshes_and_three_times_fails() {
    let mut net = Net::new(14);
    let members = net.members(&ACCOUNT);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    // Every member but one says 421: at most two 421s come before it is found, with a refresh
    // after the second.
    for m in &members[1..] {
        net.modes.insert(*m, Mode::Status(421));
    }
    let mut answered = 0;
    for _ in 0..30 {
        let mut paths = Paths::default();
        let (answer, _, refreshes) = net.deliver(&mut paths, ACCOUNT, &mut rng);
        match answer {
            Ok(a) => {
                assert_eq!(a.node, members[0]);
                answered += 1;
            }
            Err(e) => assert!(matches!(e, Error::Refused { status: 421, .. }), "{e}"),
        }
        assert!(refreshes <= 1);
    }
    assert!(answered > 0);
    // Every member 421: three tries (two members and a third after a refresh), then the error.
    net.modes.insert(members[0], Mode::Status(421));
    let mut paths = Paths::default();
    let (answer, posts, refreshes) = net.deliver(&mut paths, ACCOUNT, &mut rng);
    assert!(matches!(answer, Err(Error::Refused { status: 421, .. })));
    assert_eq!((posts, refreshes), (ROUNDS, 1));
}

#[test]
fn a_clock_error_stops_at_once() {
    let mut net = Net::new(10);
    for m in net.members(&ACCOUNT) {
        net.modes.insert(m, Mode::Status(406));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let (answer, posts, _) = net.deliver(&mut Paths::default(), ACCOUNT, &mut rng);
    assert_eq!((answer, posts), (Err(Error::ClockOutOfSync), 1));
}

#[test]
fn other_statuses_are_the_answer_and_the_path_is_fine() {
    let mut net = Net::new(10);
    for m in net.members(&ACCOUNT) {
        net.modes.insert(m, Mode::Status(400));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut paths = Paths::default();
    let (answer, posts, _) = net.deliver(&mut paths, ACCOUNT, &mut rng);
    assert_eq!((answer.unwrap().status, posts), (400, 1));
    assert!(net.state.nodes().all(|n| paths.strikes(&n.id) == 0));
}

#[test]
fn a_swarm_with_every_member_down_fails_with_the_path_errors() {
    let mut net = Net::new(10);
    for m in net.members(&ACCOUNT) {
        net.modes.insert(m, Mode::Down);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let (answer, posts, _) = net.deliver(&mut Paths::default(), ACCOUNT, &mut rng);
    assert!(matches!(answer, Err(Error::PathsFailed { .. })), "{answer:?}");
    assert!(posts <= ROUNDS * ATTEMPTS);
    // No swarm at all.
    let mut empty = Net::new(0);
    let (answer, posts, _) = empty.deliver(&mut Paths::default(), ACCOUNT, &mut rng);
    assert_eq!((answer, posts), (Err(Error::NoSwarm), 0));
}

#[test]
fn path_failures_drop_a_path_at_the_threshold() {
    let net = Net::new(10);
    let nodes: Vec<NodeRecord> = net.state.nodes().copied().collect();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut paths = Paths::default();
    let target = nodes[0].id;
    let path = paths.choose(&nodes, &target, &mut rng).unwrap();
    for _ in 1..PATH_FAILURE_THRESHOLD {
        paths.report(&path, Outcome::Failed);
        assert!(paths.kept().any(|p| *p == path));
        assert!(path.nodes().iter().all(|n| paths.strikes(&n.id) == 0));
    }
    paths.report(&path, Outcome::Failed);
    assert!(!paths.kept().any(|p| *p == path));
    assert_eq!(paths.strikes(&path.guard().id), NODE_FAILURE_THRESHOLD);
    assert!(path.nodes()[1..].iter().all(|n| paths.strikes(&n.id) == 1));
}

#[test]
fn strikes_are_forgiven_when_too_few_nodes_are_left() {
    let net = Net::new(5);
    let nodes: Vec<NodeRecord> = net.state.nodes().copied().collect();
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut paths = Paths::default();
    let target = nodes[0].id;
    for n in &nodes[1..3] {
        let p = paths.choose(&nodes, &target, &mut rng).unwrap();
        paths.report(&p, Outcome::NodeNotFound(n.id));
    }
    // Four nodes besides the target, two struck: a path cannot be made of the rest alone.
    let p = paths.choose(&nodes, &target, &mut rng).unwrap();
    assert!(p.nodes().iter().all(|n| n.id != target));
    assert!(nodes.iter().all(|n| paths.strikes(&n.id) == 0));
    // Fewer than a path's worth of nodes: a clear error.
    let few = &nodes[..3];
    assert!(matches!(
        paths.choose(few, &few[0].id, &mut rng),
        Err(Error::TooFewNodes { have: 2, need: 3 })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever is down, the policy ends within its bounds; an answer comes from a member that
    /// is up; when one member and enough other nodes are up, and every node is up or down, the
    /// request goes through unless every try hit a dead node.
    #[test]
    fn any_outage_ends_within_bounds(seed in any::<u64>(), down in proptest::collection::btree_set(0usize..14, 0..7)) {
        let mut net = Net::new(14);
        let ids: Vec<NodeId> = net.state.nodes().map(|n| n.id).collect();
        let down: BTreeSet<NodeId> = down.iter().map(|i| ids[*i]).collect();
        for d in &down {
            net.modes.insert(*d, Mode::Down);
        }
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut paths = Paths::default();
        for _ in 0..5 {
            let (answer, posts, refreshes) = net.deliver(&mut paths, ACCOUNT, &mut rng);
            prop_assert!(posts <= ROUNDS * ATTEMPTS);
            prop_assert_eq!(refreshes, 0);
            if let Ok(a) = &answer {
                prop_assert!(!down.contains(&a.node));
                prop_assert!(net.members(&ACCOUNT).contains(&a.node));
            }
            // A dead node is never a guard twice.
            for d in &down {
                prop_assert!(paths.strikes(d) == 0 || paths.strikes(d) == NODE_FAILURE_THRESHOLD || paths.strikes(d) < NODE_FAILURE_THRESHOLD);
            }
        }
        // With at most two of the seven members down and nine live nodes in all, a request
        // after the dead ones are struck goes through.
        let members_down = net.members(&ACCOUNT).iter().filter(|m| down.contains(m)).count();
        if members_down <= 2 && down.len() <= 5 {
            let (answer, _, _) = net.deliver(&mut paths, ACCOUNT, &mut rng);
            prop_assert!(answer.is_ok(), "{:?}", answer);
        }
    }
}

/// A request for one given node (`oxend_request`) goes to that node only: answered by it when
/// it is up; when it is down, the paths are tried and no other node is.
#[test]
fn a_request_for_one_node_goes_to_that_node_only() {
    let mut net = Net::new(10);
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let mut paths = Paths::default();
    let target = *net.state.nodes().nth(3).unwrap();
    let mut run = |net: &mut Net, paths: &mut Paths| {
        let no_refresh = |_: &mut Delivery| panic!("a request for one node never refreshes");
        let (answer, posts, _) = net.drive(Delivery::to_node(target), paths, &mut rng, no_refresh);
        (answer, posts)
    };
    for _ in 0..5 {
        let (answer, posts) = run(&mut net, &mut paths);
        assert_eq!((answer.unwrap().node, posts), (target.id, 1));
    }
    net.modes.insert(target.id, Mode::Down);
    net.served.clear();
    let (answer, posts) = run(&mut net, &mut paths);
    assert!(matches!(answer, Err(Error::PathsFailed { .. })), "{answer:?}");
    assert!(posts <= ATTEMPTS);
    assert!(net.served.is_empty(), "no other node was asked: {:?}", net.served);
    // Misdirected (421) is the end too, not another node.
    net.modes.insert(target.id, Mode::Status(421));
    let (answer, _) = run(&mut net, &mut paths);
    assert!(matches!(answer, Err(Error::Refused { status: 421, .. })), "{answer:?}");
}

/// A request to a swarm whose members a node listed (`get_swarm`) goes to those members, not
/// to the swarm the network state computes; after a refresh, to the members given then.
#[test]
fn a_request_goes_to_the_members_it_is_given() {
    let mut net = Net::new(10);
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let mut paths = Paths::default();
    let computed = net.members(&ACCOUNT);
    let listed: Vec<NodeRecord> =
        net.state.nodes().filter(|n| !computed.contains(&n.id)).take(2).copied().collect();
    for _ in 0..5 {
        let d = Delivery::to_members(ACCOUNT, listed.clone());
        let no_refresh = |_: &mut Delivery| panic!("no refresh asked");
        let answer = net.drive(d, &mut paths, &mut rng, no_refresh).0.unwrap();
        assert!(listed.iter().any(|m| m.id == answer.node), "answered by a listed member");
    }
    // Misdirected twice: a refresh, then the members given after it.
    for m in &listed {
        net.modes.insert(m.id, Mode::Status(421));
    }
    let fresh = *net.state.nodes().find(|n| computed.contains(&n.id)).unwrap();
    let d = Delivery::to_members(ACCOUNT, listed.clone());
    let answer = net.drive(d, &mut paths, &mut rng, |d| d.set_members(vec![fresh])).0.unwrap();
    assert_eq!((answer.node, answer.status), (fresh.id, 200));
}
