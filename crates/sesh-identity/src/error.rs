//! The one error type of this crate.

/// What went wrong. Every variant says which input was at fault and which rule it broke.
///
/// Parsing errors (`InvalidLength`, `InvalidHex`, `WrongPrefix`, the point-validity variants and
/// the recovery-phrase variants) describe untrusted input and are safe to show to the person who
/// typed it. [`Error::InvalidSignature`] is deliberately opaque: it never says *why* a signature
/// failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hex string had the wrong number of characters.
    #[error("{what} must be {expected} hex characters long, got {actual}")]
    InvalidLength {
        /// What was being parsed, e.g. "Session ID".
        what: &'static str,
        /// The length that is required.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },

    /// A byte string had the wrong number of bytes.
    #[error("{what} must be {expected} bytes long, got {actual}")]
    InvalidByteLength {
        /// What was being parsed.
        what: &'static str,
        /// The length that is required.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },

    /// A hex string contained a character that is not a hex digit.
    #[error("{what} must be hex, but has {character:?} at position {position}")]
    InvalidHex {
        /// What was being parsed.
        what: &'static str,
        /// The first offending character.
        character: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },

    /// An ID started with a prefix byte other than the one this type holds.
    #[error("{what} must start with {expected}, but starts with {found:02x}")]
    WrongPrefix {
        /// What was being parsed.
        what: &'static str,
        /// The prefix (or prefixes) accepted, as hex.
        expected: &'static str,
        /// The prefix byte that was found.
        found: u8,
    },

    /// [`curve::select`](crate::curve::select) named a backend this build does not have, or
    /// that cannot run on this CPU.
    #[error(
        "the {backend} X25519 backend is not available: build with the `{backend}` feature (graviola also needs an x86-64 CPU with AES, PCLMULQDQ, AVX2, BMI1/2 and ADX)"
    )]
    BackendUnavailable {
        /// The backend's name.
        backend: &'static str,
    },

    /// A public key is one of the low-order points of the curve; no honest key is.
    #[error("{what} is a low-order point, which is never a valid public key")]
    LowOrderPoint {
        /// Which key.
        what: &'static str,
    },

    /// A public key does not decode to a point on the curve (for an X25519 key: it lies on the
    /// quadratic twist).
    #[error("{what} is not a point on the curve")]
    NotOnCurve {
        /// Which key.
        what: &'static str,
    },

    /// A public key is on the curve but has a torsion component, so it cannot have come from a
    /// secret key; blinding and the Ed25519 to X25519 conversion refuse such keys.
    #[error("{what} is not in the prime-order subgroup")]
    NotInPrimeOrderSubgroup {
        /// Which key.
        what: &'static str,
    },

    /// A public key's encoding is not the canonical one (a coordinate at or above the field
    /// prime, or the unused top bit of an X25519 key set).
    #[error("{what} is not canonically encoded")]
    NonCanonical {
        /// Which key.
        what: &'static str,
    },

    /// Blinding produced the neutral point (a blinding factor of zero). This happens with
    /// negligible probability and means the inputs were constructed to make it happen.
    #[error("blinding with this server key gives the neutral point")]
    DegenerateBlinding,

    /// A recovery phrase had a number of words that no phrase has.
    #[error("a recovery phrase has {expected}, but this one has {actual} words")]
    WrongWordCount {
        /// The counts that are accepted, in words.
        expected: &'static str,
        /// The number of words given.
        actual: usize,
    },

    /// A word of a recovery phrase is not in the word list. Only the first three letters of a
    /// word are significant, so this means those letters are wrong.
    #[error("word {position} of the recovery phrase, {word:?}, is not in the word list")]
    UnknownWord {
        /// The position of the word, counted from 1 as a person counts.
        position: usize,
        /// The word as given.
        word: String,
    },

    /// The last word of a recovery phrase does not match the checksum of the others: a word was
    /// mistyped, swapped or left out.
    #[error(
        "the checksum word {word:?} does not match the other words: check the phrase for a mistyped or swapped word"
    )]
    ChecksumMismatch {
        /// The checksum word as given.
        word: String,
    },

    /// Three words of a recovery phrase do not encode any 4-byte value; the phrase was not made
    /// by an encoder.
    #[error("words {position} to {} of the recovery phrase do not form a valid group", position + 2)]
    InvalidWordGroup {
        /// The position of the group's first word, counted from 1.
        position: usize,
    },

    /// Bytes to encode as a phrase were not a whole number of 4-byte groups.
    #[error("only a multiple of 4 bytes can be written as words, got {0} bytes")]
    UnencodableLength(usize),

    /// A 64-byte libsodium secret key whose second half is not the public key of its first.
    #[error("the secret key's public half does not belong to its seed: the key is corrupt")]
    MismatchedKeyPair,

    /// A ciphertext did not decrypt: a wrong key, or the bytes were changed. The reason is not
    /// given, on purpose.
    #[error("decryption failed")]
    DecryptionFailed,

    /// A signature did not verify. The reason is not given, on purpose.
    #[error("signature verification failed")]
    InvalidSignature,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
