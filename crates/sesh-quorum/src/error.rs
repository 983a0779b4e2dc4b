//! The one error type of this crate.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {}

/// This crate's result.
pub type Result<T, E = Error> = core::result::Result<T, E>;
