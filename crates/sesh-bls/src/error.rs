//! The crate's one error type.

/// What went wrong: a refused encoding, a signature that does not verify, or a collection of
/// signatures the contract would not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A coordinate word is not below the BN254 base field modulus p.
    #[error("a point coordinate is not below the field modulus p")]
    CoordinateTooLarge,
    /// The coordinates do not satisfy the curve equation.
    #[error("the point is not on the curve")]
    NotOnCurve,
    /// The G2 point is on the twist but outside the subgroup of order r.
    #[error("the G2 point is not in the subgroup of order r")]
    NotInSubgroup,
    /// A secret key of zero (or a multiple of r, read modulo r).
    #[error("the secret key is zero")]
    ZeroSecretKey,
    /// A secret key's big-endian value is not below the group order r.
    #[error("the secret key is not below the group order r")]
    SecretKeyTooLarge,
    /// A single-key check was given the identity (the all-zero key), which anyone can sign for.
    #[error("the public key is the identity (0, 0)")]
    IdentityPublicKey,
    /// The pairing check failed: the signature is not the key's signature of this message.
    #[error("the signature does not verify against the key and message")]
    InvalidSignature,
    /// A signature came from an id that is not in the registered set.
    #[error("signer id {id} is not in the registered set")]
    UnknownSigner {
        /// The id.
        id: u64,
    },
    /// A second signature from the same id.
    #[error("signer id {id} has already signed")]
    DuplicateSigner {
        /// The id.
        id: u64,
    },
    /// More nodes did not sign than the contract's non-signer threshold allows.
    #[error(
        "too few signers: {signed} signed, {non_signers} did not, and the contract allows at most {allowed} non-signers"
    )]
    TooFewSigners {
        /// Valid signatures collected.
        signed: usize,
        /// Registered ids without a valid signature.
        non_signers: usize,
        /// `min(total / 3, max)`.
        allowed: usize,
    },
    /// No counter byte 0..=255 gave a point (probability about 2^-256; the contract reverts too).
    #[error("hash to G2 found no point for any of the 256 counter values")]
    HashToG2Exhausted,
}
