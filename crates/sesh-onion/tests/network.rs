//! Onion requests through an in-memory network: the client builds, each node peels and does
//! what its layer says, the destination answers, and the client reads the answer; for every
//! destination kind and encryption type, for random paths and payloads, and with the failures a
//! path meets. Also: no bytes make a node's parsers panic.

// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::HashMap;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sesh_identity::{Identity, Seed};
use sesh_onion::node::{self, Action, Layer, NodeKeys, Rejection, ReplyBody};
use sesh_onion::{Destination, EncType, Error, Hop, Server, build, reply, routing, v4};

/// Nodes by Ed25519 key, and one HTTP server.
struct Network {
    nodes: HashMap<[u8; 32], Identity>,
    order: Vec<[u8; 32]>,
    server: Identity,
}

impl Network {
    fn new(size: usize) -> Self {
        let mut nodes = HashMap::new();
        let mut order = Vec::new();
        for i in 0..size {
            let id = Identity::from_seed(&Seed::from_bytes([i as u8 + 1; 32]));
            order.push(*id.ed25519_public_key().as_bytes());
            nodes.insert(*id.ed25519_public_key().as_bytes(), id);
        }
        Self { nodes, order, server: Identity::from_seed(&Seed::from_bytes([0xee; 32])) }
    }

    fn hop(&self, i: usize) -> Hop {
        Hop::from_ed25519(*self.nodes[&self.order[i]].ed25519_public_key()).unwrap()
    }

    fn server_destination(&self) -> Destination {
        Destination::Server(Server::https_v4("files.example", *self.server.x25519_public_key()))
    }

    /// What the guard answers the client: the HTTP status and body. A node destination runs
    /// the request with `storage`.
    fn send(&self, guard: &[u8; 32], request: &[u8], rng: &mut ChaCha20Rng) -> (u16, Vec<u8>) {
        self.send_to(guard, request, rng, &|request| {
            // A storage server: echo the method back.
            let json: serde_json::Value = serde_json::from_slice(request).unwrap();
            let body = serde_json::json!({"echo": json["method"], "size": request.len()});
            (200, ReplyBody::Json(body))
        })
    }

    fn send_to(
        &self,
        guard: &[u8; 32],
        request: &[u8],
        rng: &mut ChaCha20Rng,
        storage: &dyn Fn(&[u8]) -> (u16, ReplyBody),
    ) -> (u16, Vec<u8>) {
        let mut layer = match Layer::from_client(request) {
            Ok(layer) => layer,
            Err(rejection) => return (rejection.status, rejection.body),
        };
        let mut at = *guard;
        loop {
            let Some(me) = self.nodes.get(&at) else {
                let r = Rejection::next_node_not_found(&at);
                return (r.status, r.body);
            };
            let keys = NodeKeys { secret: me.x25519_secret_key(), public: me.x25519_public_key() };
            match node::peel(&keys, &layer, rng) {
                Err(rejection) => return (rejection.status, rejection.body),
                Ok(Action::Forward { next, message }) => {
                    if !self.nodes.contains_key(&next) {
                        let r = Rejection::next_node_not_found(&next);
                        return (r.status, r.body);
                    }
                    layer = match Layer::from_node(&message) {
                        Ok(layer) => layer,
                        Err(r) => return (node::relay_status(r.status), r.body),
                    };
                    at = next;
                }
                Ok(Action::Deliver { request, reply }) => {
                    let (status, body) = storage(&request);
                    return (200, reply.seal(status, body, rng).unwrap());
                }
                Ok(Action::Relay { target, body, .. }) => {
                    assert_eq!(target.url(), "https://files.example/oxen/v4/lsrpc");
                    // The server opens the whole layer itself.
                    let server_keys = NodeKeys {
                        secret: self.server.x25519_secret_key(),
                        public: self.server.x25519_public_key(),
                    };
                    let opened = node::open(&server_keys, &body).unwrap();
                    let request = v4::Request::decode(&opened.plaintext).unwrap();
                    let answer = v4::Response::new(201, request.body.unwrap_or_default());
                    let sealed = opened.reply_key.encrypt(&answer.encode(), rng).unwrap();
                    return (node::relay_status(200), sealed);
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
    }
}

fn enc_types() -> [EncType; 2] {
    [EncType::XChaCha20, EncType::AesGcm]
}

#[test]
fn three_hops_to_every_destination_with_every_enc_type() {
    let net = Network::new(4);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let path: Vec<Hop> = (0..3).map(|i| net.hop(i)).collect();
    for enc in enc_types() {
        // To a node: a v3 JSON request, answered as base64 JSON.
        let payload = br#"{"method":"info","params":{}}"#;
        let request = build(&path, &Destination::Node(net.hop(3)), payload, enc, &mut rng).unwrap();
        let (status, body) = net.send(&net.order[0], &request.bytes, &mut rng);
        let response = request.reply.read_v3(status, &body).unwrap();
        assert_eq!(response.status, 200);
        let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(json, serde_json::json!({"echo": "info", "size": payload.len()}));

        // To a server: a v4 request with a binary body (0 bytes included), answered raw.
        let v4_request = v4::Request::post_json("/room/lobby/message", vec![0, 1, 2, 0, 255]);
        let request =
            build(&path, &net.server_destination(), &v4_request.encode(), enc, &mut rng).unwrap();
        let (status, body) = net.send(&net.order[0], &request.bytes, &mut rng);
        let response = request.reply.read_v4(status, &body).unwrap();
        assert_eq!((response.status, response.body), (201, vec![0, 1, 2, 0, 255]));
    }
}

#[test]
fn failures_a_path_meets() {
    let net = Network::new(4);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    // A middle node the guard does not know.
    let stranger = Identity::from_seed(&Seed::from_bytes([0x77; 32]));
    let path = [net.hop(0), Hop::from_ed25519(*stranger.ed25519_public_key()).unwrap(), net.hop(2)];
    let request =
        build(&path, &Destination::Node(net.hop(3)), b"{}", EncType::XChaCha20, &mut rng).unwrap();
    let (status, body) = net.send(&net.order[0], &request.bytes, &mut rng);
    match request.reply.read_v3(status, &body) {
        Err(Error::PathFailed { status: 502, unreachable_node: Some(node), .. }) => {
            assert_eq!(node, *stranger.ed25519_public_key().as_bytes());
        }
        other => panic!("{other:?}"),
    }

    // A destination that answers 421 (wrong swarm): the path is fine.
    let path: Vec<Hop> = (0..3).map(|i| net.hop(i)).collect();
    let request =
        build(&path, &Destination::Node(net.hop(3)), b"{}", EncType::AesGcm, &mut rng).unwrap();
    let (status, body) = net.send_to(&net.order[0], &request.bytes, &mut rng, &|_| {
        (421, ReplyBody::Text("wrong swarm".into()))
    });
    match request.reply.read_v3(status, &body) {
        Err(Error::DestinationStatus { status: 421, body }) => assert_eq!(body, b"wrong swarm"),
        other => panic!("{other:?}"),
    }

    // Garbage from the guard instead of a reply.
    assert!(matches!(request.reply.read_v3(200, b"not base64!"), Err(Error::BadReply(_))));
    assert!(matches!(request.reply.read_v3(200, b"AAAA"), Err(Error::BadReply(_))));
    assert!(matches!(
        reply::check_transport(503, b"Snode not ready"),
        Err(Error::PathFailed { status: 503, .. })
    ));

    // Too long a path is refused when building; a relay count past 15 when peeling.
    let long: Vec<Hop> = (0..16).map(|i| net.hop(i % 4)).collect();
    assert!(matches!(
        build(&long, &Destination::Node(net.hop(3)), b"{}", EncType::AesGcm, &mut rng),
        Err(Error::PathLength { actual: 16, .. })
    ));
    assert!(matches!(
        build(&[], &Destination::Node(net.hop(3)), b"{}", EncType::AesGcm, &mut rng),
        Err(Error::PathLength { actual: 0, .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn build_then_peel_round_trips(
        hops in 1usize..=15,
        payload in proptest::collection::vec(any::<u8>(), 0..3000),
        xchacha: bool,
        to_server: bool,
        seed: u64,
    ) {
        let net = Network::new(6);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let enc = if xchacha { EncType::XChaCha20 } else { EncType::AesGcm };
        let path: Vec<Hop> = (0..hops).map(|i| net.hop((seed as usize + i) % 5)).collect();
        if to_server {
            let request_body = v4::Request::post_json("/x", payload.clone());
            let request = build(&path, &net.server_destination(), &request_body.encode(), enc, &mut rng).unwrap();
            let (status, body) = net.send(path[0].ed25519.as_bytes(), &request.bytes, &mut rng);
            let response = request.reply.read_v4(status, &body).unwrap();
            prop_assert_eq!(response.body, payload);
        } else {
            let json = serde_json::json!({"method": "store", "params": {"data": hex::encode(&payload)}});
            let bytes = serde_json::to_vec(&json).unwrap();
            let request = build(&path, &Destination::Node(net.hop(5)), &bytes, enc, &mut rng).unwrap();
            let (status, body) = net.send(path[0].ed25519.as_bytes(), &request.bytes, &mut rng);
            let response = request.reply.read_v3(status, &body).unwrap();
            let echoed: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            prop_assert_eq!(echoed["size"].as_u64(), Some(bytes.len() as u64));
        }
    }

    #[test]
    fn no_bytes_make_a_node_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800), seed: u64) {
        let net = Network::new(1);
        let me = &net.nodes[&net.order[0]];
        let keys = NodeKeys { secret: me.x25519_secret_key(), public: me.x25519_public_key() };
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        if let Ok(layer) = Layer::from_client(&bytes) {
            let _ = node::peel(&keys, &layer, &mut rng);
        }
        if let Ok(layer) = Layer::from_node(&bytes) {
            let _ = node::peel(&keys, &layer, &mut rng);
        }
        let _ = node::open(&keys, &bytes);
        let _ = routing::Routing::parse(&bytes);
        let _ = sesh_onion::payload::parse(&bytes);
        let _ = v4::Request::decode(&bytes);
        let _ = v4::Response::decode(&bytes);
        let request = build(&[net.hop(0)], &Destination::Node(net.hop(0)), b"{}", EncType::XChaCha20, &mut rng).unwrap();
        let _ = request.reply.read_v3(200, &bytes);
        let _ = request.reply.read_v4(200, &bytes);
        let _ = reply::check_transport(502, &bytes);
        // A well-formed layer around random ciphertext is an answer, never a panic.
        let wrapped = sesh_onion::payload::encode(&bytes, format!(r#"{{"ephemeral_key":"{}","enc_type":"aes-cbc"}}"#, "11".repeat(32)).as_bytes());
        let layer = Layer::from_client(&wrapped).unwrap();
        prop_assert!(node::peel(&keys, &layer, &mut rng).is_err());
    }
}
