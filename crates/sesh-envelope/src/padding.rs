//! Plaintext padding of 1:1 and community messages.
//!
//! A serialised `Content` is padded before it is encrypted, so that ciphertext sizes say little
//! about the message: a `0x80` byte, then zeros. Two size rules are live, and a receiver accepts
//! both:
//!
//! | producer | padded length for `L` bytes | `L = 5` |
//! |---|---|---|
//! | libsession-util (`pad_message`), what [`pad`] produces | the next multiple of 160 above `L` (a whole extra 160 when `L + 1` is one) | 160 |
//! | older clients (Signal's rule) | `ceil((L + 2) / 160) · 160 − 1` | 159 |
//!
//! ```
//! use sesh_envelope::padding::{pad, unpad};
//!
//! let padded = pad(b"hello");
//! assert_eq!(padded.len(), 160);
//! assert_eq!(unpad(&padded)?, b"hello");
//! # Ok::<(), sesh_envelope::Error>(())
//! ```

use crate::error::{Error, Result};

/// Messages are padded to a multiple of this many bytes.
pub const PADDING_BLOCK: usize = 160;

/// The byte that ends the message and starts the padding.
pub const PADDING_START: u8 = 0x80;

/// Pads a message by libsession-util's rule: `0x80`, then zeros up to the next multiple of 160.
pub fn pad(message: &[u8]) -> Vec<u8> {
    let unpadded = message.len() + 1;
    let padded = unpadded + (PADDING_BLOCK - unpadded % PADDING_BLOCK);
    let mut out = Vec::with_capacity(padded);
    out.extend_from_slice(message);
    out.push(PADDING_START);
    out.resize(padded, 0);
    out
}

/// The length a message of `len` bytes has once [`pad`]ded.
pub const fn padded_len(len: usize) -> usize {
    let unpadded = len + 1;
    unpadded + (PADDING_BLOCK - unpadded % PADDING_BLOCK)
}

/// Removes padding of either rule: trailing zeros, then one `0x80`.
///
/// A plaintext whose last non-zero byte is not `0x80` was not padded (some clients do not pad
/// every message), and is returned as it is, as the Session apps do.
///
/// # Errors
/// [`Error::MalformedPadding`] if the plaintext is empty or all zeros: no rule pads to that.
pub fn unpad(padded: &[u8]) -> Result<&[u8]> {
    match padded.iter().rposition(|b| *b != 0) {
        None => Err(Error::MalformedPadding),
        Some(end) => match padded.split_at(end) {
            (message, [PADDING_START, ..]) => Ok(message),
            _ => Ok(padded),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libsession_rule() {
        for (len, want) in [(0, 160), (5, 160), (158, 160), (159, 320), (160, 320), (319, 480)] {
            let padded = pad(&vec![7u8; len]);
            assert_eq!(padded.len(), want, "{len}");
            assert_eq!(padded_len(len), want);
            assert_eq!(padded[len], 0x80);
            assert_eq!(unpad(&padded).unwrap(), &vec![7u8; len][..]);
        }
    }

    #[test]
    fn legacy_rule_is_accepted() {
        // ceil((L + 2) / 160) · 160 − 1
        for len in [0usize, 5, 157, 158, 300] {
            let total = (len + 2).div_ceil(160) * 160 - 1;
            let mut padded = vec![1u8; len];
            padded.push(0x80);
            padded.resize(total, 0);
            assert_eq!(unpad(&padded).unwrap().len(), len);
        }
    }

    #[test]
    fn unpadded_and_malformed() {
        assert_eq!(unpad(b"no padding").unwrap(), b"no padding");
        // A message that ends in zeros but has no 0x80 is left whole.
        assert_eq!(unpad(&[1, 2, 0, 0]).unwrap(), &[1, 2, 0, 0]);
        assert_eq!(unpad(&[0x80]).unwrap(), b"");
        assert_eq!(unpad(&[]), Err(Error::MalformedPadding));
        assert_eq!(unpad(&[0, 0, 0]), Err(Error::MalformedPadding));
        // Only one 0x80 is removed.
        assert_eq!(unpad(&[0x80, 0x80, 0]).unwrap(), &[0x80]);
    }
}
