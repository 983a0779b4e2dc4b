// The checks behind the sesh-onion fuzz targets. Included (not compiled on its own) by
// `fuzz_targets/*.rs` and by `crates/sesh-onion/tests/fuzz_corpus.rs`, which replays the
// committed corpus through the same code on stable Rust.

use std::sync::LazyLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sesh_identity::{Identity, Seed};
use sesh_onion::node::{self, Layer, NodeKeys};
use sesh_onion::{payload, routing, v4};

static NODE: LazyLock<Identity> = LazyLock::new(|| Identity::from_seed(&Seed::from_bytes([3; 32])));

/// The combined payload, as a client's request and as a node's relay message, through the whole
/// peel: an answer (or an action), never a panic.
pub fn onion_payload(data: &[u8]) {
    let keys = NodeKeys { secret: NODE.x25519_secret_key(), public: NODE.x25519_public_key() };
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    if let Ok(parsed) = payload::parse(data) {
        assert_eq!(payload::encode(parsed.blob, parsed.json), data);
    }
    if let Ok(layer) = Layer::from_client(data) {
        let _ = node::peel(&keys, &layer, &mut rng);
    }
    if let Ok(layer) = Layer::from_node(data) {
        let again = Layer::from_node(&layer.to_node_message()).map(|l| l.hop_no);
        assert!(again.is_err() || again == Ok(layer.hop_no + 1));
        let _ = node::peel(&keys, &layer, &mut rng);
    }
    let _ = node::open(&keys, data);
}

/// The routing JSON of a decrypted layer.
pub fn routing_json(data: &[u8]) {
    if let Ok(routing::Routing::Http(target)) = routing::Routing::parse(data) {
        let _ = target.url();
        let _ = target.is_allowed();
    }
}

/// v4 requests and responses: no panic, and what parses re-encodes to something that parses
/// the same.
pub fn v4_message(data: &[u8]) {
    if let Ok(request) = v4::Request::decode(data) {
        assert_eq!(v4::Request::decode(&request.encode()).as_ref(), Ok(&request));
    }
    if let Ok(response) = v4::Response::decode(data) {
        assert_eq!(v4::Response::decode(&response.encode()).as_ref(), Ok(&response));
    }
}
