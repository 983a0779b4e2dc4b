//! Store proofs: what a store keeps of its signature, its compact form and its check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use sesh_identity::{Identity, Seed};
use sesh_rpc::client::Account;
use sesh_rpc::handler::{Context, Node, Solo, handle_params};
use sesh_rpc::proof::StoreProof;
use sesh_rpc::store::MemoryStore;
use sesh_rpc::{Auth, Namespace, SignedSubaccount, SubaccountToken};

const NOW: i64 = 1_735_689_600_000;

proptest! {
    /// Every proof survives its compact form; no byte string makes the reader panic, and
    /// anything it reads writes back to the same bytes.
    #[test]
    fn compact_form_round_trips(
        signature in prop::collection::vec(any::<u8>(), 64),
        signed_at: i64,
        ed: Option<[u8; 32]>,
        token in prop::option::of(prop::collection::vec(any::<u8>(), 100)),
        junk in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let proof = StoreProof {
            auth: Auth {
                signature: signature.try_into().unwrap(),
                pubkey_ed25519: ed,
                subaccount: token.map(|t| SignedSubaccount {
                    token: SubaccountToken(t[..36].try_into().unwrap()),
                    signature: t[36..].try_into().unwrap(),
                }),
            },
            signed_at,
        };
        let bytes = proof.to_bytes();
        prop_assert_eq!(StoreProof::from_bytes(&bytes), Some(proof));
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            prop_assert_eq!(StoreProof::from_bytes(&bytes[..cut]), None);
        }
        prop_assert_eq!(StoreProof::from_bytes(&[bytes.as_slice(), &[0]].concat()), None);
        if let Some(read) = StoreProof::from_bytes(&junk) {
            prop_assert_eq!(read.to_bytes(), junk);
        }
    }
}

/// A store keeps the proof in an authenticated namespace, and none in a public inbox; the
/// proof it kept verifies for that account and namespace only.
#[test]
fn the_handler_keeps_the_proof_of_what_it_stored() {
    let node_key = Identity::from_seed(&Seed::from_bytes([0x77; 32]));
    let node = Node { identity: &node_key, hf: [21, 0], swarm: &Solo };
    let owner = Identity::from_seed(&Seed::from_bytes([1; 32]));
    let other = Identity::from_seed(&Seed::from_bytes([2; 32]));
    let ctx = Context { now_ms: NOW, forwarded: false };
    let mut store = MemoryStore::new();
    for ns in [0, 2, -10, -21] {
        let params = Account::session(&owner).store(Namespace(ns), b"hi", NOW, 3_600_000);
        let r = handle_params(&node, &mut store, ctx, "store", &params);
        assert_eq!(r.status, 200, "{r:?}");
    }
    let kept: Vec<_> = store.messages().iter().map(|m| (m.namespace.0, m.proof.clone())).collect();
    assert_eq!(
        kept.iter().map(|k| (k.0, k.1.is_some())).collect::<Vec<_>>(),
        [(0, false), (2, true), (-10, false), (-21, true)]
    );
    let account = Account::session(&owner).id();
    for (ns, proof) in kept.into_iter().filter_map(|(ns, p)| p.map(|p| (ns, p))) {
        assert!(proof.verifies(&account, Namespace(ns)));
        assert!(!proof.verifies(&account, Namespace(ns + 1)));
        assert!(!proof.verifies(&Account::session(&other).id(), Namespace(ns)));
        assert_eq!(proof.signed_at, NOW);
    }
}
