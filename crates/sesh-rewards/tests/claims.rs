//! Claims: signed cumulative balances only grow, claims stay within the unclaimed balance, and
//! the network-wide cap per 12-hour cycle holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use sesh_identity::{Identity, Seed};
use sesh_rewards::Error;
use sesh_rewards::claims::{BalanceUpdate, Claims, Committee};
use sesh_staking::Address;

const SESH: u128 = 1_000_000_000;

fn committee() -> (Vec<Identity>, Committee) {
    let signers: Vec<Identity> =
        (1..=5u8).map(|n| Identity::from_seed(&Seed::from_bytes([n; 32]))).collect();
    let committee = Committee::new(signers.iter().map(|s| *s.ed25519_public_key()), 4);
    (signers, committee)
}

#[test]
fn balances_only_grow_and_need_the_threshold() {
    let (signers, committee) = committee();
    let alice = Address::from_bytes([1; 32]);
    let mut claims = Claims::session_mainnet();
    let update = BalanceUpdate::signed(alice, 100 * SESH, &signers[..3]);
    assert_eq!(
        claims.update_balance(&update, &committee),
        Err(Error::NotEnoughSignatures { got: 3, needed: 4 })
    );
    // The same signature twice counts once; an outsider's does not count.
    let mut padded = update.clone();
    padded.signatures.push(padded.signatures[0]);
    let outsider = Identity::from_seed(&Seed::from_bytes([99; 32]));
    padded.signatures.push((
        *outsider.ed25519_public_key(),
        outsider.sign(&BalanceUpdate::message(&alice, 100 * SESH)),
    ));
    assert_eq!(
        claims.update_balance(&padded, &committee),
        Err(Error::NotEnoughSignatures { got: 3, needed: 4 })
    );
    // A signature over another amount does not count.
    let mut forged = BalanceUpdate::signed(alice, 100 * SESH, &signers[..4]);
    forged.amount = 1_000 * SESH;
    assert!(matches!(
        claims.update_balance(&forged, &committee),
        Err(Error::NotEnoughSignatures { .. })
    ));

    let update = BalanceUpdate::signed(alice, 100 * SESH, &signers[..4]);
    claims.update_balance(&update, &committee).unwrap();
    // Replays and decreases are refused.
    assert_eq!(
        claims.update_balance(&update, &committee),
        Err(Error::BalanceNotIncreasing { current: 100 * SESH, proposed: 100 * SESH })
    );
    let lower = BalanceUpdate::signed(alice, 99 * SESH, &signers[..4]);
    assert!(matches!(
        claims.update_balance(&lower, &committee),
        Err(Error::BalanceNotIncreasing { .. })
    ));
}

#[test]
fn claims_stay_within_balance_and_cap() {
    let (signers, committee) = committee();
    let mut claims = Claims::session_mainnet();
    let whales: Vec<Address> = (0..3u8).map(|n| Address::from_bytes([n + 10; 32])).collect();
    for w in &whales {
        claims
            .update_balance(&BalanceUpdate::signed(*w, 600_000 * SESH, &signers[..4]), &committee)
            .unwrap();
    }
    let noon = 1_700_000_000 - 1_700_000_000 % 43_200;
    assert_eq!(
        claims.claim(&whales[0], Some(600_001 * SESH), noon),
        Err(Error::ClaimExceedsBalance { requested: 600_001 * SESH, available: 600_000 * SESH })
    );
    assert_eq!(claims.claim(&whales[0], None, noon), Ok(600_000 * SESH));
    assert_eq!(claims.claim(&whales[0], None, noon), Err(Error::NothingToClaim));
    // 1,000,000 SESH per 12-hour cycle, network-wide.
    assert_eq!(
        claims.claim(&whales[1], None, noon + 100),
        Err(Error::ClaimCapExceeded {
            requested: 600_000 * SESH,
            claimed: 600_000 * SESH,
            cap: 1_000_000 * SESH
        })
    );
    assert_eq!(claims.claim(&whales[1], Some(400_000 * SESH), noon + 100), Ok(400_000 * SESH));
    assert!(claims.claim(&whales[2], Some(1), noon + 43_199).is_err());
    // The next cycle starts afresh.
    assert_eq!(claims.claim(&whales[2], None, noon + 43_200), Ok(600_000 * SESH));
    assert_eq!(claims.claim(&whales[1], None, noon + 43_201), Ok(200_000 * SESH));
    assert_eq!(claims.total_claimed(), 1_800_000 * SESH);
}
