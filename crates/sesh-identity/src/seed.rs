//! The secret an account is made from.

use core::fmt;

use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::mnemonic::RecoveryPhrase;

/// The 16 random bytes a Session account is made from, and what its 13-word recovery phrase
/// encodes.
///
/// The Ed25519 seed of the account is these bytes followed by 16 zero bytes
/// ([`AccountSeed::to_seed`]), as every Session client does it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AccountSeed([u8; 16]);

impl AccountSeed {
    /// The length of the seed.
    pub const LENGTH: usize = 16;

    /// A new seed from 16 bytes of `rng`: a new account.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps 16 secret bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The 32-byte Ed25519 seed: these 16 bytes, then 16 zero bytes.
    pub fn to_seed(&self) -> Seed {
        let mut seed = [0u8; 32];
        let (head, _) = seed.split_at_mut(16);
        head.copy_from_slice(&self.0);
        Seed(seed)
    }

    /// The 13-word recovery phrase that encodes this seed.
    pub fn recovery_phrase(&self) -> RecoveryPhrase {
        RecoveryPhrase::from_account_seed(self)
    }
}

impl ConstantTimeEq for AccountSeed {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for AccountSeed {
    /// Compares in constant time.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}
impl Eq for AccountSeed {}

impl fmt::Debug for AccountSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountSeed(<secret>)")
    }
}

/// A 32-byte Ed25519 seed, from which the Ed25519 and X25519 keys of an identity derive.
///
/// Accounts made since 2020 have seeds whose last 16 bytes are zero ([`AccountSeed`]); older
/// ("Loki Messenger") accounts have a full 32-byte seed and a 25-word phrase.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed([u8; 32]);

impl Seed {
    /// The length of the seed.
    pub const LENGTH: usize = 32;

    /// Wraps 32 secret bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A full 32-byte seed from `rng`. New accounts use [`AccountSeed::generate`] instead, so
    /// that their phrase has 13 words.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 16-byte account seed, if this seed is one zero-padded (as every account made since
    /// 2020 is).
    pub fn account_seed(&self) -> Option<AccountSeed> {
        let (head, tail) = self.0.split_at(16);
        if tail.iter().any(|b| *b != 0) {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(head);
        Some(AccountSeed(bytes))
    }
}

impl From<&AccountSeed> for Seed {
    fn from(seed: &AccountSeed) -> Self {
        seed.to_seed()
    }
}

impl ConstantTimeEq for Seed {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Seed {
    /// Compares in constant time.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}
impl Eq for Seed {}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<secret>)")
    }
}
