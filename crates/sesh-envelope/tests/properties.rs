//! Properties: everything round-trips for any message a swarm stores (up to 76,800 bytes), any
//! change to a ciphertext is refused with the one opaque error, and no byte string makes a
//! decryption or a parser panic.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::LazyLock;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sesh_envelope::{Error, blinded, envelope, multi, one_to_one, padding, storage};
use sesh_identity::{AccountSeed, BlindedId, Identity};

static ALICE: LazyLock<Identity> =
    LazyLock::new(|| Identity::from_account_seed(&AccountSeed::from_bytes([1; 16])));
static BOB: LazyLock<Identity> =
    LazyLock::new(|| Identity::from_account_seed(&AccountSeed::from_bytes([2; 16])));
const SERVER: [u8; 32] = [9; 32];
static BLINDED: LazyLock<(BlindedId, BlindedId)> = LazyLock::new(|| {
    (*ALICE.blind25_keypair(&SERVER).unwrap().id(), *BOB.blind25_keypair(&SERVER).unwrap().id())
});

fn message(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<u8>(), 0..=max),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn one_to_one_round_trips(m in message(storage::MAX_MESSAGE_SIZE), seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let ct = one_to_one::encrypt_for_recipient(&ALICE, &BOB.session_id(), &m, &mut rng).unwrap();
        prop_assert_eq!(ct.len(), m.len() + one_to_one::OVERHEAD);
        let got = one_to_one::decrypt_incoming(&BOB, &ct).unwrap();
        prop_assert_eq!(got.plaintext(), &m[..]);
        prop_assert_eq!(got.sender_session_id().unwrap(), ALICE.session_id());
        prop_assert_eq!(got.into_plaintext(), m.clone());

        let det = one_to_one::encrypt_for_recipient_deterministic(&ALICE, &BOB.session_id(), &m).unwrap();
        let got = one_to_one::decrypt_incoming(&BOB, &det).unwrap();
        prop_assert_eq!(got.plaintext(), &m[..]);
    }

    #[test]
    fn stored_messages_round_trip(m in message(storage::MAX_MESSAGE_SIZE - 1024), seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let stored = envelope::encode_for_recipient(&ALICE, &BOB.session_id(), &m, seed, &mut rng).unwrap();
        let back = storage::decode_data(&storage::encode_data(&stored)).unwrap();
        let got = envelope::decode_for_recipient(&BOB, &back).unwrap();
        prop_assert_eq!(got.content_bytes(), &m[..]);
        prop_assert_eq!(got.envelope().timestamp_ms, seed);
    }

    #[test]
    fn blinded_round_trips(m in message(storage::MAX_MESSAGE_SIZE), seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (alice_id, bob_id) = *BLINDED;
        let ct = blinded::encrypt(&ALICE, &SERVER, &bob_id, &m, &mut rng).unwrap();
        prop_assert_eq!(ct.len(), m.len() + blinded::OVERHEAD);
        for me in [&*BOB, &*ALICE] {
            let got = blinded::decrypt(me, &SERVER, &alice_id, &bob_id, &ct).unwrap();
            prop_assert_eq!(got.plaintext(), &m[..]);
        }
    }

    #[test]
    fn multi_round_trips(m in message(2000), recipients in 1usize..6, pad in 0usize..5, seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secrets: Vec<_> = (0..recipients).map(|_| sesh_identity::X25519SecretKey::generate(&mut rng)).collect();
        let keys: Vec<_> = secrets.iter().map(|s| s.public_key()).collect();
        let sender = ALICE.x25519_secret_key();
        let encoded = multi::encrypt(&[&m], &keys, sender, multi::GROUP_KEYS, None, pad, &mut rng).unwrap();
        for s in &secrets {
            let got = multi::decrypt(&encoded, s, ALICE.x25519_public_key(), multi::GROUP_KEYS);
            prop_assert_eq!(got.as_deref(), Some(&m[..]));
        }
        prop_assert!(multi::decrypt(&encoded, BOB.x25519_secret_key(), ALICE.x25519_public_key(), multi::GROUP_KEYS).is_none());
    }

    #[test]
    fn any_change_is_refused_opaquely(m in message(500), seed: u64, at: prop::sample::Index, bit in 0u8..8) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut ct = one_to_one::encrypt_for_recipient(&ALICE, &BOB.session_id(), &m, &mut rng).unwrap();
        let i = at.index(ct.len());
        ct[i] ^= 1 << bit;
        prop_assert_eq!(one_to_one::decrypt_incoming(&BOB, &ct).unwrap_err(), Error::DecryptionFailed);
        // Truncated anywhere.
        ct[i] ^= 1 << bit;
        prop_assert_eq!(one_to_one::decrypt_incoming(&BOB, &ct[..i]).unwrap_err(), Error::DecryptionFailed);

        let (alice_id, bob_id) = *BLINDED;
        let mut bct = blinded::encrypt(&ALICE, &SERVER, &bob_id, &m, &mut rng).unwrap();
        let j = at.index(bct.len());
        if j > 0 {
            bct[j] ^= 1 << bit;
            prop_assert_eq!(blinded::decrypt(&BOB, &SERVER, &alice_id, &bob_id, &bct).unwrap_err(), Error::DecryptionFailed);
        }
    }

    #[test]
    fn no_bytes_make_decryption_or_parsing_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = one_to_one::decrypt_incoming(&BOB, &bytes);
        let (alice_id, bob_id) = *BLINDED;
        let _ = blinded::decrypt(&BOB, &SERVER, &alice_id, &bob_id, &bytes);
        let _ = multi::decrypt(&bytes, BOB.x25519_secret_key(), ALICE.x25519_public_key(), multi::GROUP_KEYS);
        let _ = envelope::decode_for_recipient(&BOB, &bytes);
        let _ = envelope::unwrap_websocket(&bytes);
        let _ = envelope::parse_envelope(&bytes);
        let _ = padding::unpad(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = storage::decode_data(text);
        }
    }

    #[test]
    fn padding_round_trips(m in proptest::collection::vec(any::<u8>(), 0..1000)) {
        let padded = padding::pad(&m);
        prop_assert_eq!(padded.len() % padding::PADDING_BLOCK, 0);
        prop_assert!(padded.len() > m.len());
        prop_assert_eq!(padding::unpad(&padded).unwrap(), &m[..]);
    }
}

#[test]
fn bencoded_multi_inputs_do_not_panic() {
    // Structurally valid bencode with the wrong shapes.
    for encoded in [
        &b"de"[..],
        b"d1:#3:abce",
        b"d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:ei1eee",
        b"d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:eli1eee",
        b"d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:ele",
        b"d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:elee",
        b"d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:elee5:extra",
        b"d1:e1:x1:#24:aaaaaaaaaaaaaaaaaaaaaaaae",
        b"l1:#e",
        b"",
    ] {
        assert_eq!(
            multi::decrypt(
                encoded,
                BOB.x25519_secret_key(),
                ALICE.x25519_public_key(),
                multi::GROUP_KEYS
            ),
            None
        );
    }
}
