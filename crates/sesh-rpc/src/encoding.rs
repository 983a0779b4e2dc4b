//! The storage server's base64 and hex rules (oxenc's): standard alphabet only, padding optional
//! but correct if present, trailing bits ignored.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig as Config, STANDARD, STANDARD_NO_PAD,
};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    Config::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// oxenc's `is_base64`: standard-alphabet characters, and one or two `=` only where they pad the
/// text to a multiple of 4; a length of 1 mod 4 never is.
pub fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    if end > 0 && end.is_multiple_of(4) && bytes.get(end - 1) == Some(&b'=') {
        end -= 1;
        if bytes.get(end - 1) == Some(&b'=') {
            end -= 1;
        }
    }
    if bytes.len() % 4 == 1 {
        return false;
    }
    bytes.get(..end).is_some_and(|body| {
        body.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
    })
}

/// Decodes text [`is_base64`] accepts.
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    LENIENT.decode(text).ok()
}

/// Standard base64 with padding (signatures, data in responses).
pub fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64 without padding (message hashes).
pub fn to_base64_unpadded(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Whether `text` is hex (either case).
pub fn is_hex(text: &str) -> bool {
    text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
