//! Properties: no bytes make a parser panic, each refusal is reported as itself, signatures and
//! encodings round-trip, aggregates verify against the summed keys, the Collector refuses what
//! the contract would, and secrets never show in `Debug`.

// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeMap;

use ark_bn254::{Fq, Fq2, G2Affine, g2};
use ark_ec::short_weierstrass::SWCurveConfig as _;
use ark_ff::{BigInteger as _, Field as _, PrimeField as _};
use proptest::prelude::*;
use sesh_bls::{
    Aggregate, Collector, Domain, Error, Message, NON_SIGNER_THRESHOLD_MAX, PublicKey, SecretKey,
    Signature, Tag, aggregate_key, non_signer_threshold, verify_aggregate,
};

const DOMAIN: Domain = Domain { chain_id: 42161, contract: [0xc2; 20] };

fn word(value: Fq) -> [u8; 32] {
    value.into_bigint().to_bytes_be().try_into().unwrap()
}

/// p as a big-endian word.
fn modulus() -> [u8; 32] {
    Fq::MODULUS.to_bytes_be().try_into().unwrap()
}

fn keys(seeds: &[u64]) -> Vec<SecretKey> {
    seeds.iter().map(|s| SecretKey::from_seed(&s.to_be_bytes())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signature_words_never_panic(bytes in any::<[u8; 128]>()) {
        let from_bytes = Signature::from_bytes(&bytes);
        let mut words = [[0u8; 32]; 4];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(32)) {
            w.copy_from_slice(chunk);
        }
        prop_assert_eq!(&from_bytes, &Signature::from_words(&words));
        if let Ok(signature) = from_bytes {
            prop_assert_eq!(signature.to_bytes(), bytes);
        }
    }

    #[test]
    fn public_key_bytes_never_panic(bytes in any::<[u8; 64]>()) {
        if let Ok(key) = PublicKey::from_bytes(&bytes) {
            prop_assert_eq!(key.to_bytes(), bytes);
        }
    }

    #[test]
    fn secret_key_bytes_never_panic(bytes in any::<[u8; 32]>()) {
        match SecretKey::from_be_bytes(&bytes) {
            Ok(sk) => prop_assert_eq!(*sk.to_be_bytes(), bytes),
            Err(e) => prop_assert!(matches!(e, Error::SecretKeyTooLarge | Error::ZeroSecretKey)),
        }
        if let Ok(sk) = SecretKey::from_be_bytes_mod_order(&bytes) {
            // The reduced value is below r, so it reads back strictly.
            let again = SecretKey::from_be_bytes(&sk.to_be_bytes()).unwrap();
            prop_assert_eq!(again.public_key(), sk.public_key());
        }
    }

    /// Coordinates at or above p are refused as such, before any curve check.
    #[test]
    fn large_coordinates_are_refused(index in 0usize..4, low in any::<u64>(), other in any::<[u8; 32]>()) {
        let mut large = modulus();
        // p + low (p's top byte is 0x30, so this never wraps).
        let mut carry = u128::from(low);
        for byte in large.iter_mut().rev() {
            let sum = u128::from(*byte) + (carry & 0xff);
            *byte = (sum & 0xff) as u8;
            carry = (carry >> 8) + (sum >> 8);
        }
        let mut words = [other; 4];
        words[index] = large;
        prop_assert_eq!(Signature::from_words(&words), Err(Error::CoordinateTooLarge));
        let mut key = [0u8; 64];
        key[(index % 2) * 32..(index % 2) * 32 + 32].copy_from_slice(&large);
        prop_assert_eq!(PublicKey::from_bytes(&key), Err(Error::CoordinateTooLarge));
    }

    /// A point on the twist but outside G2's order-r subgroup is refused as such.
    #[test]
    fn twist_points_outside_the_subgroup_are_refused(re in any::<u64>(), im in any::<u64>()) {
        let x = Fq2::new(Fq::from(re), Fq::from(im));
        let y_squared = x.square() * x + g2::Config::COEFF_B;
        if let Some(y) = y_squared.sqrt() {
            let point = G2Affine::new_unchecked(x, y);
            prop_assume!(!point.is_in_correct_subgroup_assuming_on_curve());
            let words = [word(x.c0), word(x.c1), word(y.c0), word(y.c1)];
            prop_assert_eq!(Signature::from_words(&words), Err(Error::NotInSubgroup));
            let mut off = words;
            off[3] = word(y.c1 + Fq::from(1u8));
            prop_assert_eq!(Signature::from_words(&off), Err(Error::NotOnCurve));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn sign_verify_round_trips(
        seed in any::<u64>(),
        other in any::<u64>(),
        recipient in any::<[u8; 20]>(),
        amount in any::<u128>(),
        flip in 0usize..(52 * 8),
    ) {
        prop_assume!(seed != other);
        let [sk, wrong] = <[SecretKey; 2]>::try_from(keys(&[seed, other])).unwrap();
        let pk = sk.public_key();
        let message = Message::Reward { recipient, amount };
        let signature = sk.sign(&DOMAIN, &message);
        prop_assert_eq!(pk.verify(&DOMAIN, &message, &signature), Ok(()));
        // The words round-trip and verify the same.
        let parsed = Signature::from_words(&signature.to_words()).unwrap();
        prop_assert_eq!(parsed, signature);
        prop_assert_eq!(PublicKey::from_bytes(&pk.to_bytes()).unwrap(), pk);
        // Another key, another message, another domain: refused.
        prop_assert_eq!(
            wrong.public_key().verify(&DOMAIN, &message, &signature),
            Err(Error::InvalidSignature)
        );
        let mut bytes = message.to_bytes(&DOMAIN);
        bytes[32 + flip / 8] ^= 0x80 >> (flip % 8);
        prop_assert_eq!(
            pk.verify_bytes(&DOMAIN.hash_to_g2_tag(), &bytes, &signature),
            Err(Error::InvalidSignature)
        );
        let elsewhere = Domain { chain_id: 421_614, ..DOMAIN };
        prop_assert_eq!(pk.verify(&elsewhere, &message, &signature), Err(Error::InvalidSignature));
        // Proofs of possession verify as the message they sign.
        let pop = sk.proof_of_possession(&DOMAIN, recipient, &[7; 32]);
        let claim = Message::ProofOfPossession { key: pk, caller: recipient, ed25519: [7; 32] };
        prop_assert_eq!(pk.verify(&DOMAIN, &claim, &pop), Ok(()));
    }

    #[test]
    fn aggregates_verify_against_the_summed_keys(
        seeds in proptest::collection::btree_set(any::<u64>(), 1..9),
        message in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let dst = Tag([0x5a; 32]);
        let secrets = keys(&seeds.iter().copied().collect::<Vec<_>>());
        let sum: Signature = secrets.iter().map(|sk| sk.sign_bytes(&dst, &message)).sum();
        let key: PublicKey = secrets.iter().map(SecretKey::public_key).sum();
        prop_assert_eq!(key.verify_bytes(&dst, &message, &sum), Ok(()));
        // Less one signer's key, it fails; subtracted from both, it verifies again.
        let first = &secrets[0];
        prop_assert!((key - first.public_key()).verify_bytes(&dst, &message, &sum).is_err());
        if secrets.len() > 1 {
            let rest: Signature = secrets[1..].iter().map(|sk| sk.sign_bytes(&dst, &message)).sum();
            prop_assert_eq!((key - first.public_key()).verify_bytes(&dst, &message, &rest), Ok(()));
        }
    }

    #[test]
    fn collector_makes_what_the_contract_takes(
        n in 1usize..13,
        signing in proptest::collection::vec(any::<bool>(), 12),
        message in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let dst = DOMAIN.hash_to_g2_tag();
        let secrets = keys(&(0..n as u64).collect::<Vec<_>>());
        let set: BTreeMap<u64, PublicKey> =
            (1..).zip(secrets.iter().map(SecretKey::public_key)).collect();
        let mut collector = Collector::new(set.clone(), dst, message.clone());

        let outsider = SecretKey::from_seed(b"outsider");
        prop_assert_eq!(
            collector.add(99, outsider.sign_bytes(&dst, &message)),
            Err(Error::UnknownSigner { id: 99 })
        );
        let mut non_signers = Vec::new();
        for (id, sk) in (1u64..).zip(&secrets) {
            if !signing[(id - 1) as usize] {
                non_signers.push(id);
                // A signature of something else, or by another key, is refused.
                prop_assert_eq!(
                    collector.add(id, sk.sign_bytes(&dst, b"something else")),
                    Err(Error::InvalidSignature)
                );
                prop_assert_eq!(
                    collector.add(id, outsider.sign_bytes(&dst, &message)),
                    Err(Error::InvalidSignature)
                );
                continue;
            }
            let signature = sk.sign_bytes(&dst, &message);
            prop_assert_eq!(collector.add(id, signature), Ok(()));
            prop_assert_eq!(collector.add(id, signature), Err(Error::DuplicateSigner { id }));
        }
        let signed = n - non_signers.len();
        prop_assert_eq!(collector.signed(), signed);
        let allowed = non_signer_threshold(n, NON_SIGNER_THRESHOLD_MAX);
        match collector.finish(NON_SIGNER_THRESHOLD_MAX) {
            Ok(aggregate) => {
                prop_assert!(non_signers.len() <= allowed);
                prop_assert_eq!(&aggregate.non_signers, &non_signers);
                prop_assert_eq!(
                    verify_aggregate(&set, &dst, &message, &aggregate, NON_SIGNER_THRESHOLD_MAX),
                    Ok(())
                );
                let apk = aggregate_key(&set, &non_signers);
                prop_assert_eq!(apk.verify_bytes(&dst, &message, &aggregate.signature).is_ok(), signed > 0);
            }
            Err(e) => prop_assert_eq!(
                e,
                Error::TooFewSigners { signed, non_signers: non_signers.len(), allowed }
            ),
        }
        // A lower cap on non-signers refuses sooner.
        if !non_signers.is_empty() {
            let refused = matches!(collector.finish(0), Err(Error::TooFewSigners { allowed: 0, .. }));
            prop_assert!(refused, "a cap of 0 still let a non-signer through");
        }
    }
}

#[test]
fn the_contract_refuses_extra_or_repeated_non_signers() {
    let dst = DOMAIN.hash_to_g2_tag();
    let message = b"m".to_vec();
    let secrets = keys(&[1, 2, 3, 4, 5, 6]);
    let set: BTreeMap<u64, PublicKey> =
        (1..).zip(secrets.iter().map(SecretKey::public_key)).collect();
    let signature: Signature = secrets[1..].iter().map(|sk| sk.sign_bytes(&dst, &message)).sum();
    let check = |non_signers: Vec<u64>| {
        verify_aggregate(&set, &dst, &message, &Aggregate { signature, non_signers }, 4000)
    };
    assert_eq!(check(vec![1]), Ok(()));
    // An unknown id subtracts nothing but counts toward the threshold.
    assert_eq!(check(vec![1, 77]), Ok(()));
    assert_eq!(
        check(vec![1, 77, 78]),
        Err(Error::TooFewSigners { signed: 3, non_signers: 3, allowed: 2 })
    );
    // A repeated id subtracts its key twice.
    assert_eq!(check(vec![1, 1]), Err(Error::InvalidSignature));
    // A signer listed as a non-signer.
    assert_eq!(check(vec![1, 2]), Err(Error::InvalidSignature));
    // The identity signature, and the identity key, are refused by a single-key check.
    let sk = &secrets[0];
    assert_eq!(
        sk.public_key().verify_bytes(&dst, &message, &Signature::identity()),
        Err(Error::InvalidSignature)
    );
    assert_eq!(
        PublicKey::identity().verify_bytes(&dst, &message, &Signature::identity()),
        Err(Error::IdentityPublicKey)
    );
}

#[test]
fn secrets_never_show_in_debug() {
    let sk = SecretKey::from_seed(b"seed");
    let shown = format!("{sk:?} {:?}", sk.clone());
    assert_eq!(shown, "SecretKey(..) SecretKey(..)");
    assert!(!shown.contains(&hex::encode(*sk.to_be_bytes())));
}

#[test]
fn secret_keys_refuse_zero_and_r() {
    assert_eq!(SecretKey::from_be_bytes(&[0; 32]).unwrap_err(), Error::ZeroSecretKey);
    let r: [u8; 32] =
        hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
            .unwrap()
            .try_into()
            .unwrap();
    assert_eq!(SecretKey::from_be_bytes(&r).unwrap_err(), Error::SecretKeyTooLarge);
    assert_eq!(SecretKey::from_be_bytes_mod_order(&r).unwrap_err(), Error::ZeroSecretKey);
    let mut r_plus_one = r;
    r_plus_one[31] = 2;
    let one = SecretKey::from_be_bytes_mod_order(&r_plus_one).unwrap();
    let mut one_bytes = [0; 32];
    one_bytes[31] = 1;
    assert_eq!(*one.to_be_bytes(), one_bytes);
}

#[test]
fn random_keys_are_distinct_and_sign() {
    use rand_chacha::rand_core::SeedableRng as _;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
    let a = SecretKey::random(&mut rng);
    let b = SecretKey::random(&mut rng);
    assert_ne!(*a.to_be_bytes(), *b.to_be_bytes());
    let message = Message::Exit { key: b.public_key(), timestamp: 1_767_000_000 };
    let signature = a.sign(&DOMAIN, &message);
    assert_eq!(a.public_key().verify(&DOMAIN, &message, &signature), Ok(()));
    let liquidate = Message::Liquidate { key: b.public_key(), timestamp: 1_767_000_000 };
    assert_eq!(
        a.public_key().verify(&DOMAIN, &liquidate, &signature),
        Err(Error::InvalidSignature)
    );
}
