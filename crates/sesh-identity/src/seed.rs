//! The secret an account is made from.

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

/// A 32-byte Ed25519 seed, from which the Ed25519 and X25519 keys of an identity derive.
///
/// Accounts made since 2020 have seeds whose last 16 bytes are zero ([`AccountSeed`]); older
/// ("Loki Messenger") accounts have a full 32-byte seed and a 25-word phrase. A new account
/// should come from [`AccountSeed::generate`], so that its phrase has 13 words.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed([u8; 32]);

impl Seed {
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

crate::secret::secret_bytes!(AccountSeed: 16, Seed: 32);
