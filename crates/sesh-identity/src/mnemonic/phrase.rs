//! The recovery phrase of an account.

use core::fmt;
use core::str::FromStr;

use zeroize::Zeroizing;

use super::{decode, encode, words};
use crate::error::{Error, Result};
use crate::seed::{AccountSeed, Seed};

/// A Session account's recovery phrase: 13 words (the 16-byte [`AccountSeed`] and a checksum
/// word), or 25 for the 32-byte seeds of accounts made before 2020.
///
/// Parsing is as forgiving as the Session apps are: words are separated by any whitespace, only
/// their first three letters count, and case does not matter. The phrase is kept in its canonical
/// form (full lowercase words, one space apart), which [`as_str`](Self::as_str) returns. It is a
/// secret: it is zeroized on drop and its `Debug` prints nothing of it.
///
/// ```
/// use sesh_identity::RecoveryPhrase;
///
/// let phrase: RecoveryPhrase =
///     "Vexed enjoy pigment films adept voted vexed enjoy pigment films adept voted adept".parse()?;
/// assert_eq!(hex::encode(phrase.seed().as_bytes()),
///            "0123456789abcdef0123456789abcdef00000000000000000000000000000000");
///
/// let typo = "vexed enjoy pigment films adept voted vexed enjoy pigment films adept voted adapt";
/// assert!(typo.parse::<RecoveryPhrase>().is_err()); // "adapt" is not the checksum word
/// # Ok::<(), sesh_identity::Error>(())
/// ```
#[derive(Clone)]
pub struct RecoveryPhrase {
    phrase: Zeroizing<String>,
    seed: Seed,
}

impl RecoveryPhrase {
    /// The phrase of a 16-byte account seed: 12 words and the checksum word.
    pub fn from_account_seed(seed: &AccountSeed) -> Self {
        Self::from_entropy(seed.as_bytes(), seed.to_seed())
    }

    /// The phrase of a 32-byte seed: 13 words if it is a zero-padded [`AccountSeed`], otherwise
    /// the 25-word form of older accounts.
    pub fn from_seed(seed: &Seed) -> Self {
        match seed.account_seed() {
            Some(account) => Self::from_account_seed(&account),
            None => Self::from_entropy(seed.as_bytes(), seed.clone()),
        }
    }

    fn from_entropy(entropy: &[u8], seed: Seed) -> Self {
        // 16 and 32 are multiples of 4, so encoding cannot fail.
        let words = encode(entropy, true).unwrap_or_default();
        Self { phrase: Zeroizing::new(words.join(" ")), seed }
    }

    /// Parses a phrase of 13 words (or 25 for an old account).
    ///
    /// # Errors
    /// [`Error::WrongWordCount`], [`Error::UnknownWord`] (naming the word and its position),
    /// [`Error::InvalidWordGroup`] or [`Error::ChecksumMismatch`] (naming the checksum word).
    pub fn parse(phrase: &str) -> Result<Self> {
        let given: Vec<&str> = phrase.split_whitespace().collect();
        if given.len() != 13 && given.len() != 25 {
            return Err(Error::WrongWordCount {
                expected: "13 words (25 for an account made before 2020)",
                actual: given.len(),
            });
        }
        let entropy = decode(&given)?;
        let seed = if given.len() == 13 {
            <[u8; 16]>::try_from(entropy.as_slice()).map(|b| AccountSeed::from_bytes(b).to_seed())
        } else {
            <[u8; 32]>::try_from(entropy.as_slice()).map(Seed::from_bytes)
        };
        // 13 words decode to 16 bytes and 25 to 32, so the conversion cannot fail.
        let seed = seed.map_err(|_| Error::UnencodableLength(entropy.len()))?;
        // Canonical form: every word as it is in the list.
        let list = words::english_words();
        let canonical: Vec<&str> = given
            .iter()
            .filter_map(|w| words::lookup(w).and_then(|i| list.get(i).copied()))
            .collect();
        Ok(Self { phrase: Zeroizing::new(canonical.join(" ")), seed })
    }

    /// The phrase in canonical form: lowercase list words separated by single spaces. This is
    /// the secret itself; show it only to its owner.
    pub fn as_str(&self) -> &str {
        &self.phrase
    }

    /// The words of the phrase, in canonical form.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.phrase.split(' ')
    }

    /// The 32-byte Ed25519 seed the phrase encodes.
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// The 16-byte account seed, for a 13-word phrase.
    pub fn account_seed(&self) -> Option<AccountSeed> {
        self.seed.account_seed()
    }
}

impl FromStr for RecoveryPhrase {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl PartialEq for RecoveryPhrase {
    /// Two phrases are equal if they encode the same seed (compared in constant time).
    fn eq(&self, other: &Self) -> bool {
        self.seed == other.seed
    }
}
impl Eq for RecoveryPhrase {}

impl fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryPhrase(<{} secret words>)", self.words().count())
    }
}
