//! Every backend (`sesh_identity::curve`) builds the same bytes from the same randomness, and
//! every backend peels, hop by hop, what any backend built: the X25519 and the hop AEADs
//! (AWS-LC's or RustCrypto's) are interchangeable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sesh_identity::curve::{self, Backend};
use sesh_identity::{Identity, Seed};
use sesh_onion::node::{self, Action, Layer, NodeKeys};
use sesh_onion::{Destination, EncType, Hop, build};

fn node(i: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([i; 32]))
}

/// Peels `request` through the path, as the nodes do, to the destination's request.
fn deliver(request: &[u8], nodes: &[Identity]) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let mut layer = Layer::from_client(request).unwrap();
    let mut at = &nodes[0];
    loop {
        let (secret, public) = (at.x25519_secret_key(), at.x25519_public_key());
        match node::peel(&NodeKeys { secret, public }, &layer, &mut rng).unwrap() {
            Action::Forward { next, message } => {
                at = nodes.iter().find(|n| n.ed25519_public_key().to_bytes() == next).unwrap();
                layer = Layer::from_node(&message).unwrap();
            }
            Action::Deliver { request, .. } => return request,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn every_backend_builds_the_same_request_and_peels_every_other_backends() {
    let backends: Vec<Backend> = curve::available().collect();
    let nodes: Vec<Identity> = (1..=4u8).map(node).collect();
    let path: Vec<Hop> =
        nodes[..3].iter().map(|n| Hop::from_ed25519(*n.ed25519_public_key()).unwrap()).collect();
    let destination = Destination::Node(Hop::from_ed25519(*nodes[3].ed25519_public_key()).unwrap());
    for enc_type in [EncType::XChaCha20, EncType::AesGcm] {
        for size in [0usize, 1, 63, 64, 1024, 5_000] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let built: Vec<Vec<u8>> = backends
                .iter()
                .map(|b| {
                    curve::select(*b).unwrap();
                    let mut rng = ChaCha20Rng::seed_from_u64(size as u64);
                    build(&path, &destination, &payload, enc_type, &mut rng).unwrap().bytes
                })
                .collect();
            for (b, bytes) in backends.iter().zip(&built) {
                assert_eq!(bytes, &built[0], "{b} built other bytes ({enc_type:?}, {size})");
            }
            for b in &backends {
                curve::select(*b).unwrap();
                assert_eq!(deliver(&built[0], &nodes), payload, "{b} ({enc_type:?}, {size})");
            }
        }
    }
    curve::select(curve::auto()).unwrap();
}
