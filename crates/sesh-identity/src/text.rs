//! Hex text and fixed-size byte strings, with errors that say what was wrong and where.

use core::fmt;

use crate::error::{Error, Result};

/// Parses exactly `2·N` hex digits of either case into `N` bytes.
pub(crate) fn parse_hex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N]> {
    let chars = s.chars().count();
    if chars != 2 * N {
        return Err(Error::InvalidLength { what, expected: 2 * N, actual: chars });
    }
    if let Some((position, character)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit())
    {
        return Err(Error::InvalidHex { what, character, position });
    }
    let mut out = [0u8; N];
    // Every character is an ASCII hex digit and there are 2·N of them, so this cannot fail;
    // should it ever, the error still names the input instead of panicking.
    hex::decode_to_slice(s, &mut out).map_err(|_| Error::InvalidLength {
        what,
        expected: 2 * N,
        actual: chars,
    })?;
    Ok(out)
}

/// Copies a slice of exactly `N` bytes into an array.
pub(crate) fn array<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::InvalidByteLength {
        what,
        expected: N,
        actual: bytes.len(),
    })
}

/// Writes bytes as lowercase hex.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}
