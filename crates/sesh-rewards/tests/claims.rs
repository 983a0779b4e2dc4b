//! Claims as the rewards contract checks them: the non-signer threshold, the BLS aggregate over
//! the exact reward message, balances that only grow, the checks' order, and the claim cycle's
//! cap.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation)]

use sesh_bls::{Aggregate, Domain, Message, PublicKey, SecretKey, Signature, Tag};
use sesh_rewards::Error;
use sesh_rewards::claims::{BalanceUpdate, Claims, RegisteredSet};

const SESH: u128 = 1_000_000_000;
const DOMAIN: Domain = Domain { chain_id: 421_614, contract: [0xc2; 20] };
const ALICE: [u8; 20] = [0xa1; 20];

/// Ten registered nodes, contract ids 1..=10 (at most 3 non-signers).
fn network() -> (Vec<SecretKey>, RegisteredSet) {
    let keys: Vec<SecretKey> = (1..=10u8).map(|i| SecretKey::from_seed(&[i])).collect();
    let set = RegisteredSet::new(DOMAIN, (1..).zip(keys.iter().map(SecretKey::public_key)));
    (keys, set)
}

/// The ids in `signers` sign `message` (under `domain`); the others are listed as non-signers.
fn signed_as(keys: &[SecretKey], signers: &[u64], domain: &Domain, message: &Message) -> Aggregate {
    let signature: Signature =
        signers.iter().map(|id| keys[*id as usize - 1].sign(domain, message)).sum();
    let non_signers = (1..=keys.len() as u64).filter(|id| !signers.contains(id)).collect();
    Aggregate { signature, non_signers }
}

fn update(keys: &[SecretKey], signers: &[u64], recipient: [u8; 20], amount: u128) -> BalanceUpdate {
    let aggregate = signed_as(keys, signers, &DOMAIN, &Message::Reward { recipient, amount });
    BalanceUpdate { recipient, amount, aggregate }
}

#[test]
fn the_threshold_of_signers_passes_and_one_more_non_signer_reverts() {
    let (keys, set) = network();
    assert_eq!(set.non_signer_threshold(), 3);
    let mut claims = Claims::session_mainnet();

    let four_missing = update(&keys, &[1, 2, 3, 4, 5, 6], ALICE, 100 * SESH);
    assert_eq!(
        claims.update_balance(&set, &four_missing),
        Err(Error::TooManyNonSigners { non_signers: 4, allowed: 3, registered: 10 })
    );
    assert_eq!(claims.recipient(&ALICE).rewards, 0);

    let three_missing = update(&keys, &[1, 2, 3, 4, 5, 6, 7], ALICE, 100 * SESH);
    claims.update_balance(&set, &three_missing).unwrap();
    assert_eq!(claims.recipient(&ALICE).rewards, 100 * SESH);

    // The Collector makes the same aggregate from the nodes' own signatures.
    let mut collector = set.collector(ALICE, 200 * SESH);
    let reward = Message::Reward { recipient: ALICE, amount: 200 * SESH };
    for id in [2u64, 4, 6, 8, 9, 10, 1] {
        collector.add(id, keys[id as usize - 1].sign(&DOMAIN, &reward)).unwrap();
    }
    let aggregate = collector.finish(set.threshold_max()).unwrap();
    assert_eq!(aggregate.non_signers, vec![3, 5, 7]);
    claims
        .update_balance(&set, &BalanceUpdate { recipient: ALICE, amount: 200 * SESH, aggregate })
        .unwrap();

    // A lower `blsNonSignerThresholdMax` lowers the threshold.
    let capped = set.clone().with_threshold_max(2);
    let next = update(&keys, &[1, 2, 3, 4, 5, 6, 7], ALICE, 300 * SESH);
    assert_eq!(
        claims.update_balance(&capped, &next),
        Err(Error::TooManyNonSigners { non_signers: 3, allowed: 2, registered: 10 })
    );
    // A node leaving changes the set: 9 registered, still 3, but its key is no longer summed.
    let mut left = set.clone();
    left.remove(10).unwrap();
    let mut after = update(&keys, &[1, 2, 3, 4, 5, 6], ALICE, 300 * SESH);
    after.aggregate.non_signers.retain(|id| *id != 10);
    assert_eq!(after.aggregate.non_signers, vec![7, 8, 9]);
    claims.update_balance(&left, &after).unwrap();
    assert_eq!(claims.recipient(&ALICE).rewards, 300 * SESH);
}

#[test]
fn replays_and_lower_balances_are_refused() {
    let (keys, set) = network();
    let mut claims = Claims::session_mainnet();
    let first = update(&keys, &[1, 2, 3, 4, 5, 6, 7, 8], ALICE, 100 * SESH);
    claims.update_balance(&set, &first).unwrap();
    assert_eq!(
        claims.update_balance(&set, &first),
        Err(Error::BalanceNotIncreasing { current: 100 * SESH, proposed: 100 * SESH })
    );
    let lower = update(&keys, &[1, 2, 3, 4, 5, 6, 7, 8], ALICE, 99 * SESH);
    assert_eq!(
        claims.update_balance(&set, &lower),
        Err(Error::BalanceNotIncreasing { current: 100 * SESH, proposed: 99 * SESH })
    );
    // An old signature stays refused after the balance has grown past it and been claimed.
    let second = update(&keys, &[1, 2, 3, 4, 5, 6, 7, 8], ALICE, 150 * SESH);
    claims.update_balance(&set, &second).unwrap();
    assert_eq!(claims.claim(&ALICE, None, 1_000), Ok(150 * SESH));
    assert!(matches!(claims.update_balance(&set, &first), Err(Error::BalanceNotIncreasing { .. })));
    assert_eq!(claims.recipient(&ALICE).rewards, 150 * SESH);
    assert_eq!(claims.claim(&ALICE, None, 1_000), Ok(0));
}

#[test]
fn wrong_amount_recipient_domain_tag_or_non_signers_are_refused() {
    let (keys, set) = network();
    let mut claims = Claims::session_mainnet();
    let signers = [1u64, 2, 3, 4, 5, 6, 7, 8];
    let good = update(&keys, &signers, ALICE, 100 * SESH);
    let expected_key =
        |aggregate: &Aggregate| sesh_bls::aggregate_key(set.keys(), &aggregate.non_signers);
    let refused = |claims: &mut Claims, u: &BalanceUpdate| {
        assert_eq!(
            claims.update_balance(&set, u),
            Err(Error::InvalidSignature { aggregate_key: expected_key(&u.aggregate).to_bytes() }),
            "{u:?}"
        );
    };

    // Another amount, another recipient under the same signature.
    refused(&mut claims, &BalanceUpdate { amount: 100 * SESH + 1, ..good.clone() });
    refused(&mut claims, &BalanceUpdate { recipient: [0xb0; 20], ..good.clone() });
    // Signed for another chain, another contract.
    for domain in [Domain { chain_id: 42_161, ..DOMAIN }, Domain { contract: [0xc3; 20], ..DOMAIN }]
    {
        let aggregate = signed_as(
            &keys,
            &signers,
            &domain,
            &Message::Reward { recipient: ALICE, amount: 100 * SESH },
        );
        refused(&mut claims, &BalanceUpdate { aggregate, ..good.clone() });
    }
    // The same recipient and amount behind another message's tag, or hashed with another DST.
    let mut bytes = Message::Reward { recipient: ALICE, amount: 100 * SESH }.to_bytes(&DOMAIN);
    bytes[..32].copy_from_slice(&DOMAIN.exit_tag().0);
    let exit_tagged: Signature = signers
        .iter()
        .map(|id| keys[*id as usize - 1].sign_bytes(&DOMAIN.hash_to_g2_tag(), &bytes))
        .sum();
    let own_bytes = Message::Reward { recipient: ALICE, amount: 100 * SESH }.to_bytes(&DOMAIN);
    let other_dst: Signature =
        signers.iter().map(|id| keys[*id as usize - 1].sign_bytes(&Tag([7; 32]), &own_bytes)).sum();
    for signature in [exit_tagged, other_dst] {
        let aggregate = Aggregate { signature, ..good.aggregate.clone() };
        refused(&mut claims, &BalanceUpdate { aggregate, ..good.clone() });
    }
    // Non-signers misnamed: a signer listed in a non-signer's place, an id not registered in a
    // non-signer's place (it subtracts nothing), and one id listed twice (subtracted twice).
    for non_signers in [vec![8, 10], vec![9, 11], vec![9, 9, 10]] {
        let aggregate = Aggregate { non_signers, ..good.aggregate.clone() };
        refused(&mut claims, &BalanceUpdate { aggregate, ..good.clone() });
    }
    // A signature by one node only, all others listed, or an outsider's key in the sum.
    let outsider = SecretKey::from_seed(b"not registered");
    let reward = Message::Reward { recipient: ALICE, amount: 100 * SESH };
    let aggregate = Aggregate {
        signature: good.aggregate.signature + outsider.sign(&DOMAIN, &reward),
        ..good.aggregate.clone()
    };
    refused(&mut claims, &BalanceUpdate { aggregate, ..good.clone() });

    assert_eq!(claims.recipient(&ALICE).rewards, 0, "nothing recorded");
    // As in the contract, an unregistered id listed besides the real non-signers subtracts
    // nothing and only counts towards the threshold.
    let padded = Aggregate { non_signers: vec![9, 10, 11], ..good.aggregate.clone() };
    claims.update_balance(&set, &BalanceUpdate { aggregate: padded, ..good.clone() }).unwrap();
    assert_eq!(claims.recipient(&ALICE).rewards, 100 * SESH);
}

#[test]
fn the_checks_come_in_the_contracts_order() {
    let (keys, set) = network();
    let mut claims = Claims::session_mainnet();
    let bad_signature = |mut u: BalanceUpdate| {
        u.aggregate.signature = Signature::identity();
        u
    };

    // Not started: refused before anything else.
    let seeded = RegisteredSet::seeded(DOMAIN, set.keys().iter().map(|(id, k)| (*id, *k)));
    let few = update(&keys, &[1], [0; 20], 0);
    assert_eq!(claims.update_balance(&seeded, &few), Err(Error::NotStarted));
    let mut started = seeded.clone();
    started.start();
    assert!(matches!(claims.update_balance(&started, &few), Err(Error::TooManyNonSigners { .. })));
    let mut registered = seeded;
    registered.insert(11, SecretKey::from_seed(&[11]).public_key());
    assert!(registered.is_started());

    // Too many non-signers, before the zero address, a replay and the signature.
    assert!(matches!(claims.update_balance(&set, &few), Err(Error::TooManyNonSigners { .. })));
    // The zero address before a replay and the signature.
    let null = bad_signature(update(&keys, &[1, 2, 3, 4, 5, 6, 7], [0; 20], 0));
    assert_eq!(claims.update_balance(&set, &null), Err(Error::NullRecipient));
    // A balance not above the recorded one before the signature.
    let zero = bad_signature(update(&keys, &[1, 2, 3, 4, 5, 6, 7], ALICE, 0));
    assert_eq!(
        claims.update_balance(&set, &zero),
        Err(Error::BalanceNotIncreasing { current: 0, proposed: 0 })
    );
    let one = bad_signature(update(&keys, &[1, 2, 3, 4, 5, 6, 7], ALICE, 1));
    assert!(matches!(claims.update_balance(&set, &one), Err(Error::InvalidSignature { .. })));

    // With no node registered (all left), the contract's check accepts the identity signature
    // against the identity key: the model says so too.
    let empty = RegisteredSet::new(DOMAIN, std::iter::empty::<(u64, PublicKey)>());
    let anything = BalanceUpdate {
        recipient: ALICE,
        amount: 5,
        aggregate: Aggregate { signature: Signature::identity(), non_signers: vec![] },
    };
    claims.update_balance(&empty, &anything).unwrap();
}

#[test]
fn the_claim_cycle_caps_all_claims_together() {
    let (keys, set) = network();
    let mut claims = Claims::session_mainnet();
    let whales: Vec<[u8; 20]> = (0..3u8).map(|n| [n + 10; 20]).collect();
    for w in &whales {
        claims
            .update_balance(&set, &update(&keys, &[1, 2, 3, 4, 5, 6, 7], *w, 600_000 * SESH))
            .unwrap();
    }
    let start = 1_700_000_000 - 1_700_000_000 % 43_200;
    let cycle = start / 43_200;
    assert_eq!(
        claims.claim(&whales[0], Some(600_000 * SESH + 1), start),
        Err(Error::ClaimExceedsBalance {
            requested: 600_000 * SESH + 1,
            available: 600_000 * SESH
        })
    );
    assert_eq!(claims.cycle(), (0, 0), "a failed claim starts no cycle");
    assert_eq!(claims.claim(&whales[0], None, start), Ok(600_000 * SESH));
    assert_eq!(claims.cycle(), (cycle, 600_000 * SESH));
    assert_eq!(claims.claim(&whales[0], Some(0), start), Ok(0));
    assert_eq!(
        claims.claim(&whales[0], Some(1), start),
        Err(Error::ClaimExceedsBalance { requested: 1, available: 0 })
    );
    // The cap: the cycle's total may reach 1,000,000 SESH exactly, not one atomic unit more.
    assert_eq!(
        claims.claim(&whales[1], None, start + 100),
        Err(Error::ClaimCapExceeded {
            requested: 600_000 * SESH,
            claimed: 600_000 * SESH,
            cap: 1_000_000 * SESH
        })
    );
    assert_eq!(
        claims.claim(&whales[1], Some(400_000 * SESH + 1), start + 43_199),
        Err(Error::ClaimCapExceeded {
            requested: 400_000 * SESH + 1,
            claimed: 600_000 * SESH,
            cap: 1_000_000 * SESH
        })
    );
    assert_eq!(claims.claim(&whales[1], Some(400_000 * SESH), start + 100), Ok(400_000 * SESH));
    assert_eq!(claims.cycle(), (cycle, 1_000_000 * SESH));
    assert!(claims.claim(&whales[2], Some(1), start + 43_199).is_err());
    // A block time earlier than the cycle's (the contract compares cycles with `>`) resets
    // nothing.
    assert!(claims.claim(&whales[2], Some(1), start - 1).is_err());
    assert_eq!(claims.cycle(), (cycle, 1_000_000 * SESH));
    // The next cycle starts afresh, at its first second.
    assert_eq!(claims.claim(&whales[2], None, start + 43_200), Ok(600_000 * SESH));
    assert_eq!(claims.claim(&whales[1], None, start + 43_201), Ok(200_000 * SESH));
    assert_eq!(claims.cycle(), (cycle + 1, 800_000 * SESH));
    assert_eq!(claims.total_claimed(), 1_800_000 * SESH);
    // A zero claim in a later cycle starts it (as the contract's does).
    assert_eq!(claims.claim(&whales[1], None, start + 2 * 43_200), Ok(0));
    assert_eq!(claims.cycle(), (cycle + 2, 0));
    for w in &whales {
        let r = claims.recipient(w);
        assert!(r.claimed <= r.rewards);
    }
}

#[test]
fn errors_say_what_was_wrong() {
    let (keys, set) = network();
    let mut claims = Claims::session_mainnet();
    let e = claims.update_balance(&set, &update(&keys, &[1], ALICE, 5)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "9 non-signers listed, at most 3 allowed (min(10 registered / 3, the cap))"
    );
    let mut u = update(&keys, &[1, 2, 3, 4, 5, 6, 7], ALICE, 5);
    u.amount = 6;
    let e = claims.update_balance(&set, &u).unwrap_err();
    let key = hex::encode(sesh_bls::aggregate_key(set.keys(), &[8, 9, 10]).to_bytes());
    assert!(e.to_string().contains(&key), "{e}");
    assert!(e.to_string().starts_with("the aggregate signature does not verify"), "{e}");
}
