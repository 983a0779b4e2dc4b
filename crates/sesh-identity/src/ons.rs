//! Session name (ONS) records: a name resolves to a Session ID, stored on the chain encrypted
//! under a key derived from the name, so that only someone who knows the name can read it.
//!
//! The key is `BLAKE2b-256(name, key = BLAKE2b-256(name))` over the lowercased name, and the
//! record is the 33-byte Session ID sealed with XChaCha20-Poly1305 (no associated data) under a
//! 24-byte nonce stored beside it, as libsession-util's `decrypt_ons_response`.
//!
//! ```
//! use sesh_identity::ons;
//!
//! let nonce: [u8; 24] = hex::decode("00112233445566778899aabbccddeeff00ffeeddccbbaa99")
//!     .unwrap().try_into().unwrap();
//! let ciphertext = hex::decode(
//!     "3575802dd9bfea72672a208840f37ca289ceade5d3ffacabe2d231f109d204329fc33e28c331580d9a8c9b8a64cacfec97",
//! ).unwrap();
//! let id = ons::decrypt_record("Test", &ciphertext, &nonce)?;
//! assert_eq!(id.to_string(), "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72");
//! # Ok::<(), sesh_identity::Error>(())
//! ```

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hash;
use crate::id::SessionId;

fn cipher(name: &str) -> XChaCha20Poly1305 {
    let name = name.to_lowercase();
    let name_hash = hash::blake2b::<32>(b"", &[name.as_bytes()]);
    let key = Zeroizing::new(hash::blake2b::<32>(&name_hash, &[name.as_bytes()]));
    XChaCha20Poly1305::new(key.as_ref().into())
}

/// Reads the Session ID in an ONS record for `name` (any case).
///
/// # Errors
/// [`Error::DecryptionFailed`] if the record does not open under the name's key (a wrong name or
/// a corrupt record), [`Error::InvalidByteLength`] if it holds something other than 33 bytes, or
/// a [`SessionId`] parse error if those bytes are not a valid Session ID.
pub fn decrypt_record(name: &str, ciphertext: &[u8], nonce: &[u8; 24]) -> Result<SessionId> {
    let plaintext = Zeroizing::new(
        cipher(name)
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| Error::DecryptionFailed)?,
    );
    SessionId::try_from(plaintext.as_slice())
}

/// Makes the ONS record of `session_id` under `name` with a fresh 24-byte `nonce`; what the
/// registration of a name stores.
pub fn encrypt_record(name: &str, session_id: &SessionId, nonce: &[u8; 24]) -> Vec<u8> {
    // Encrypting a 33-byte message with XChaCha20-Poly1305 cannot fail.
    cipher(name)
        .encrypt(XNonce::from_slice(nonce), session_id.to_bytes().as_slice())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_name() {
        let id: SessionId =
            "05aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74".parse().unwrap();
        let nonce = [9u8; 24];
        let record = encrypt_record("Alice", &id, &nonce);
        assert_eq!(record.len(), 33 + 16);
        assert_eq!(decrypt_record("alice", &record, &nonce), Ok(id));
        assert_eq!(decrypt_record("bob", &record, &nonce), Err(Error::DecryptionFailed));
        assert_eq!(decrypt_record("alice", &record[..20], &nonce), Err(Error::DecryptionFailed));
        assert_eq!(decrypt_record("alice", &[], &nonce), Err(Error::DecryptionFailed));
    }
}
