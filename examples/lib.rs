//! Runnable examples of the sesh crates; see the `[[example]]` entries of this package.
