//! Aggregation as the contract takes it: the G2 sum of the signers' signatures and the ids of
//! the registered nodes that did not sign, checked against the G1 sum of the registered keys
//! minus the non-signers' keys.

use std::collections::BTreeMap;

use ark_bn254::{G1Projective, G2Projective};
use ark_ec::CurveGroup as _;

use crate::domain::Tag;
use crate::error::Error;
use crate::hash::hash_to_g2;
use crate::keys::PublicKey;
use crate::signature::Signature;
use crate::verify::{G2Prepared, check_pairing, check_pairing_prepared};

/// The live contract's `blsNonSignerThresholdMax`.
pub const NON_SIGNER_THRESHOLD_MAX: usize = 4000;

/// The contract's `blsNonSignerThreshold`: at most `min(total / 3, max)` non-signers.
#[must_use]
pub fn non_signer_threshold(total: usize, max: usize) -> usize {
    (total / 3).min(max)
}

/// What `updateRewardsBalance` and the exit and liquidation functions take: the aggregate
/// signature and the ids that did not sign, ascending.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Aggregate {
    /// The G2 sum of the signers' signatures.
    pub signature: Signature,
    /// The registered ids without a signature, ascending.
    pub non_signers: Vec<u64>,
}

/// The key the contract checks an aggregate against: the sum of every registered key minus the
/// keys of the listed non-signers, as listed (an id outside the set subtracts the identity, a
/// repeated id subtracts its key again).
#[must_use]
pub fn aggregate_key(set: &BTreeMap<u64, PublicKey>, non_signers: &[u64]) -> PublicKey {
    let all: G1Projective = set.values().map(|key| key.point()).sum();
    let listed: G1Projective =
        non_signers.iter().filter_map(|id| set.get(id)).map(|key| key.point()).sum();
    PublicKey::from_point((all - listed).into_affine())
}

/// The contract's check of an aggregate (`hasEnoughSigners` and `validateSignatureOrRevert`):
/// no more listed non-signers than `min(set size / 3, threshold_max)`, then
/// `e(G1, σ) · e(−apk, H) == 1` with `apk` = [`aggregate_key`]. Like the contract it neither
/// checks the listed ids nor refuses an identity `apk`.
///
/// # Errors
/// [`Error::TooFewSigners`], [`Error::InvalidSignature`], or [`Error::HashToG2Exhausted`].
pub fn verify_aggregate(
    set: &BTreeMap<u64, PublicKey>,
    dst: &Tag,
    message_bytes: &[u8],
    aggregate: &Aggregate,
    threshold_max: usize,
) -> Result<(), Error> {
    let listed = aggregate.non_signers.len();
    let allowed = non_signer_threshold(set.len(), threshold_max);
    if listed > allowed {
        return Err(Error::TooFewSigners {
            signed: set.len().saturating_sub(listed),
            non_signers: listed,
            allowed,
        });
    }
    let apk = aggregate_key(set, &aggregate.non_signers);
    let hash = hash_to_g2(message_bytes, dst)?;
    check_pairing(apk.point(), aggregate.signature.point(), hash.point.point())
}

/// Collects individual signatures of one message from a registered set (contract ids → keys) and
/// makes the aggregate the contract takes: the G2 sum of the valid ones and the ids that did not
/// sign (ascending).
///
/// Each signature is verified alone as it arrives (the message's hash point is computed and
/// prepared once), so one bad signer cannot spoil the aggregate.
#[derive(Debug)]
pub struct Collector {
    set: BTreeMap<u64, PublicKey>,
    hash: Result<G2Prepared, Error>,
    signed: BTreeMap<u64, Signature>,
    sum: G2Projective,
}

impl Collector {
    /// A collector for `message_bytes` under `dst` (the hash-to-G2 tag), from the registered
    /// `set`. A repeated id keeps its last key.
    pub fn new(
        set: impl IntoIterator<Item = (u64, PublicKey)>,
        dst: Tag,
        message_bytes: Vec<u8>,
    ) -> Self {
        let hash =
            hash_to_g2(&message_bytes, &dst).map(|hash| G2Prepared::from(hash.point.point()));
        Collector {
            set: set.into_iter().collect(),
            hash,
            signed: BTreeMap::new(),
            sum: G2Projective::default(),
        }
    }

    /// Verifies `signature` as `id`'s signature of the message and adds it.
    ///
    /// # Errors
    /// [`Error::UnknownSigner`] for an id outside the set, [`Error::DuplicateSigner`] for a
    /// second signature from an id, [`Error::InvalidSignature`] for one that does not verify
    /// against the id's key, [`Error::IdentityPublicKey`] if the id's key is the identity,
    /// [`Error::HashToG2Exhausted`] if the message has no hash point.
    pub fn add(&mut self, id: u64, signature: Signature) -> Result<(), Error> {
        let key = self.set.get(&id).ok_or(Error::UnknownSigner { id })?;
        if self.signed.contains_key(&id) {
            return Err(Error::DuplicateSigner { id });
        }
        if key.is_identity() {
            return Err(Error::IdentityPublicKey);
        }
        let hash = self.hash.as_ref().map_err(Clone::clone)?;
        check_pairing_prepared(key.point(), signature.point(), hash)?;
        self.signed.insert(id, signature);
        self.sum += signature.point();
        Ok(())
    }

    /// How many valid signatures have been added.
    #[must_use]
    pub fn signed(&self) -> usize {
        self.signed.len()
    }

    /// The aggregate, if the non-signers are no more than `min(set size / 3, threshold_max)`.
    ///
    /// # Errors
    /// [`Error::TooFewSigners`] otherwise.
    pub fn finish(&self, threshold_max: usize) -> Result<Aggregate, Error> {
        let non_signers: Vec<u64> =
            self.set.keys().copied().filter(|id| !self.signed.contains_key(id)).collect();
        let allowed = non_signer_threshold(self.set.len(), threshold_max);
        if non_signers.len() > allowed {
            return Err(Error::TooFewSigners {
                signed: self.signed.len(),
                non_signers: non_signers.len(),
                allowed,
            });
        }
        Ok(Aggregate { signature: Signature::from_point(self.sum.into_affine()), non_signers })
    }
}
