//! The one error type of this crate, and the reasons a transaction is rejected.

/// What went wrong. Every variant names the input at fault and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ledger refused a transaction; nothing was changed.
    #[error("transaction rejected: {reason}")]
    TxRejected {
        /// The rule the transaction broke.
        reason: Rejection,
    },

    /// Transaction bytes that do not decode.
    #[error("cannot decode transaction: {why} (at byte {offset})")]
    Decode {
        /// Where decoding stopped.
        offset: usize,
        /// What was expected there.
        why: &'static str,
    },

    /// A signature that does not verify under the key that must have made it.
    #[error("bad signature by {signer}: the transaction was not signed by the key it names")]
    BadSignature {
        /// The key, as hex.
        signer: String,
    },

    /// The log or a snapshot is damaged; see [`LogProblem`].
    #[error("ledger log damaged at byte {offset}: {problem}")]
    Log {
        /// Where the damage starts.
        offset: u64,
        /// What is wrong there.
        problem: LogProblem,
    },

    /// Arithmetic that would overflow (oxend's functions wrap here; these refuse).
    #[error("arithmetic overflow in {what}")]
    Overflow {
        /// The computation.
        what: &'static str,
    },

    /// A division by zero.
    #[error("division by zero: {what} is 0")]
    DivisionByZero {
        /// The divisor.
        what: &'static str,
    },

    /// More reserved than the requirement (oxend's `req − reserved` wraps here).
    #[error("reserved {reserved} exceeds the staking requirement {requirement}")]
    ReservedExceedsRequirement {
        /// Total reserved.
        reserved: u64,
        /// The requirement.
        requirement: u64,
    },

    /// A hard fork this function does not cover.
    #[error("not defined for HF{hf}")]
    UnsupportedHardFork {
        /// The hard fork's major version.
        hf: u8,
    },

    /// A network name other than mainnet, testnet, devnet, localdev or stagenet.
    #[error("unknown network {name:?}: use mainnet, testnet, devnet, localdev or stagenet")]
    UnknownNetwork {
        /// The name given.
        name: String,
    },

    /// A fee percentage that is not a number.
    #[error("fee percentage {input:?} is not a number (write e.g. 10, 10% or 5.5)")]
    FeeSyntax {
        /// The text given (at most 40 characters).
        input: String,
    },

    /// A fee percentage below 0 or above 100.
    #[error("fee percentage {input:?} is outside 0 to 100")]
    FeeOutOfRange {
        /// The text given (at most 40 characters).
        input: String,
    },

    /// `nan` as a fee percentage (oxend accepts it; this does not).
    #[error("fee percentage is NaN")]
    FeeNotANumber,
}

/// What is wrong with a log or snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogProblem {
    /// The bytes end inside a record: a write was cut off.
    #[error("truncated record (an interrupted write); everything before it is intact")]
    Truncated,
    /// A record's checksum does not match its contents.
    #[error("checksum mismatch; everything before this record is intact")]
    Checksum,
    /// A record or snapshot of an unknown format version.
    #[error("unknown format version {0}")]
    Version(u8),
    /// A record that decodes but does not apply to the ledger it follows.
    #[error("record does not apply to the state before it")]
    Inapplicable,
    /// A snapshot whose contents do not decode.
    #[error("snapshot contents do not decode")]
    Snapshot,
}

/// Why the ledger refused a transaction. The ledger is unchanged after any rejection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// A rule of another era (e.g. portion registrations after HF19).
    #[error("{what} is not allowed")]
    NotInThisEra {
        /// What was attempted.
        what: &'static str,
    },
    /// More contributors than allowed.
    #[error("{count} contributors, but at most {max} are allowed")]
    TooManyContributors {
        /// Contributors there would be.
        count: usize,
        /// The maximum.
        max: usize,
    },
    /// A stake below the minimum at its position.
    #[error("stake {index} of {amount} is below the minimum {minimum}")]
    StakeBelowMinimum {
        /// Its position (0 is the operator).
        index: usize,
        /// The amount.
        amount: u64,
        /// The minimum there.
        minimum: u64,
    },
    /// A stake above what is left of the requirement.
    #[error("stake {index} of {amount} exceeds the {remaining} left of the requirement")]
    StakeAboveRemaining {
        /// Its position.
        index: usize,
        /// The amount.
        amount: u64,
        /// What was left.
        remaining: u64,
    },
    /// A registration that does not fill the requirement where it must.
    #[error("registration contributes {contributed} of the required {requirement}")]
    RegistrationNotFull {
        /// Contributed.
        contributed: u64,
        /// Required.
        requirement: u64,
    },
}
