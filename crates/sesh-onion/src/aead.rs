//! The two AEADs of hop encryption, sealed and opened in place with a detached tag.
//!
//! With AWS-LC the active backend ([`sesh_identity::curve`]), both come from AWS-LC's assembly,
//! three to four times as fast as RustCrypto's on a layer's 1–3 KiB: AES-256-GCM as it is, and
//! XChaCha20-Poly1305 built from its ChaCha20-Poly1305 as the XChaCha construction defines it
//! (draft-irtf-cfrg-xchacha §2.3): the HChaCha20 subkey of the key and the nonce's first 16
//! bytes, then the IETF AEAD under that subkey with the nonce `0⁴ ‖ nonce[16..24]`. Otherwise
//! they come from RustCrypto. Either way the bytes are the same: `tests/backends.rs` seals and
//! opens with every backend against the others.

#[cfg(any(feature = "aws-lc", test))]
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Which AEAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aead {
    /// XChaCha20-Poly1305: 24-byte nonce.
    XChaCha20Poly1305,
    /// AES-256-GCM: 12-byte nonce.
    Aes256Gcm,
}

impl Aead {
    /// The nonce length.
    pub(crate) const fn nonce_len(self) -> usize {
        match self {
            Self::XChaCha20Poly1305 => 24,
            Self::Aes256Gcm => 12,
        }
    }
}

/// Encrypts `body` in place under `key` and `nonce` (no associated data); returns the tag.
///
/// # Errors
/// [`Error::EncryptUnsupported`] if `nonce` has the wrong length (or the library fails).
pub(crate) fn seal(aead: Aead, key: &[u8; 32], nonce: &[u8], body: &mut [u8]) -> Result<[u8; 16]> {
    if nonce.len() != aead.nonce_len() {
        return Err(Error::EncryptUnsupported);
    }
    #[cfg(feature = "aws-lc")]
    if aws_lc::active() {
        return aws_lc::seal(aead, key, nonce, body).ok_or(Error::EncryptUnsupported);
    }
    rust_crypto::seal(aead, key, nonce, body).ok_or(Error::EncryptUnsupported)
}

/// Decrypts `body` in place and checks `tag`.
///
/// # Errors
/// [`Error::DecryptionFailed`] for a wrong key, nonce, tag or body; `body` is then garbage.
pub(crate) fn open(
    aead: Aead,
    key: &[u8; 32],
    nonce: &[u8],
    body: &mut [u8],
    tag: &[u8; 16],
) -> Result<()> {
    if nonce.len() != aead.nonce_len() {
        return Err(Error::DecryptionFailed);
    }
    #[cfg(feature = "aws-lc")]
    if aws_lc::active() {
        return aws_lc::open(aead, key, nonce, body, tag).ok_or(Error::DecryptionFailed);
    }
    rust_crypto::open(aead, key, nonce, body, tag).ok_or(Error::DecryptionFailed)
}

/// XChaCha's subkey and IETF nonce from the key and the 24-byte nonce.
#[cfg(any(feature = "aws-lc", test))]
fn xchacha_subkey(key: &[u8; 32], nonce: &[u8]) -> Option<(Zeroizing<[u8; 32]>, [u8; 12])> {
    let (first, last) = nonce.split_at_checked(16)?;
    let first: &[u8; 16] = first.try_into().ok()?;
    let subkey = chacha20::hchacha::<chacha20::cipher::consts::U10>(key.into(), first.into());
    let mut ietf = [0u8; 12];
    ietf.get_mut(4..)?.copy_from_slice(last);
    Some((Zeroizing::new(subkey.into()), ietf))
}

mod rust_crypto {
    use aes_gcm::Aes256Gcm;
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    use chacha20poly1305::XChaCha20Poly1305;

    use super::Aead;

    pub(super) fn seal(
        aead: Aead,
        key: &[u8; 32],
        nonce: &[u8],
        body: &mut [u8],
    ) -> Option<[u8; 16]> {
        let tag = match aead {
            Aead::XChaCha20Poly1305 => XChaCha20Poly1305::new(key.into())
                .encrypt_in_place_detached(nonce.into(), b"", body),
            Aead::Aes256Gcm => {
                Aes256Gcm::new(key.into()).encrypt_in_place_detached(nonce.into(), b"", body)
            }
        };
        tag.ok().map(Into::into)
    }

    pub(super) fn open(
        aead: Aead,
        key: &[u8; 32],
        nonce: &[u8],
        body: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<()> {
        match aead {
            Aead::XChaCha20Poly1305 => XChaCha20Poly1305::new(key.into())
                .decrypt_in_place_detached(nonce.into(), b"", body, tag.into()),
            Aead::Aes256Gcm => Aes256Gcm::new(key.into()).decrypt_in_place_detached(
                nonce.into(),
                b"",
                body,
                tag.into(),
            ),
        }
        .ok()
    }
}

#[cfg(feature = "aws-lc")]
mod aws_lc {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
    use sesh_identity::curve::{self, Backend};

    use super::{Aead, xchacha_subkey};

    pub(super) fn active() -> bool {
        curve::active() == Backend::AwsLc
    }

    /// The key AWS-LC uses, and its 12-byte nonce.
    fn key_and_nonce(aead: Aead, key: &[u8; 32], nonce: &[u8]) -> Option<(LessSafeKey, Nonce)> {
        let (key, nonce) = match aead {
            Aead::XChaCha20Poly1305 => {
                let (subkey, ietf) = xchacha_subkey(key, nonce)?;
                (UnboundKey::new(&CHACHA20_POLY1305, subkey.as_ref()).ok()?, ietf)
            }
            Aead::Aes256Gcm => (UnboundKey::new(&AES_256_GCM, key).ok()?, nonce.try_into().ok()?),
        };
        Some((LessSafeKey::new(key), Nonce::assume_unique_for_key(nonce)))
    }

    pub(super) fn seal(
        aead: Aead,
        key: &[u8; 32],
        nonce: &[u8],
        body: &mut [u8],
    ) -> Option<[u8; 16]> {
        let (key, nonce) = key_and_nonce(aead, key, nonce)?;
        let tag = key.seal_in_place_separate_tag(nonce, Aad::empty(), body).ok()?;
        tag.as_ref().try_into().ok()
    }

    pub(super) fn open(
        aead: Aead,
        key: &[u8; 32],
        nonce: &[u8],
        body: &mut [u8],
        tag: &[u8; 16],
    ) -> Option<()> {
        let (key, nonce) = key_and_nonce(aead, key, nonce)?;
        key.open_in_place_separate_tag(nonce, Aad::empty(), tag, body).ok().map(|_| ())
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn bytes<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    /// The HChaCha20 vector of draft-irtf-cfrg-xchacha-03 §2.2.1, through the subkey derivation.
    #[test]
    fn xchacha_subkey_matches_the_draft() {
        let key = bytes::<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let nonce = bytes::<24>("000000090000004a0000000031415927000000000000abcd");
        let (subkey, ietf) = xchacha_subkey(&key, &nonce).unwrap();
        assert_eq!(
            hex::encode(subkey.as_ref()),
            "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
        );
        assert_eq!(ietf, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd]);
    }

    /// AWS-LC and RustCrypto give the same ciphertext and tag, open each other's, and refuse
    /// a flipped bit, at every length around the block and lane sizes.
    #[cfg(feature = "aws-lc")]
    #[test]
    fn aws_lc_and_rust_crypto_agree() {
        for aead in [Aead::XChaCha20Poly1305, Aead::Aes256Gcm] {
            for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 511, 1000, 2049, 4097] {
                let key = [u8::try_from(len % 251).unwrap(); 32];
                let nonce: Vec<u8> =
                    (0..aead.nonce_len()).map(|i| ((i * 7 + len) % 256) as u8).collect();
                let plain: Vec<u8> = (0..len).map(|i| ((i * 31 + 5) % 256) as u8).collect();
                let (mut a, mut b) = (plain.clone(), plain.clone());
                let tag_a = aws_lc::seal(aead, &key, &nonce, &mut a).unwrap();
                let tag_b = rust_crypto::seal(aead, &key, &nonce, &mut b).unwrap();
                assert_eq!((&a, tag_a), (&b, tag_b), "{aead:?} {len}");
                let mut opened = a.clone();
                aws_lc::open(aead, &key, &nonce, &mut opened, &tag_b).unwrap();
                assert_eq!(opened, plain);
                let mut opened = b.clone();
                rust_crypto::open(aead, &key, &nonce, &mut opened, &tag_a).unwrap();
                assert_eq!(opened, plain);
                let mut bad_tag = tag_a;
                bad_tag[len % 16] ^= 1;
                assert!(aws_lc::open(aead, &key, &nonce, &mut a.clone(), &bad_tag).is_none());
                assert!(rust_crypto::open(aead, &key, &nonce, &mut a.clone(), &bad_tag).is_none());
                if len > 0 {
                    let mut bad = a.clone();
                    bad[len / 2] ^= 0x80;
                    assert!(aws_lc::open(aead, &key, &nonce, &mut bad.clone(), &tag_a).is_none());
                    assert!(rust_crypto::open(aead, &key, &nonce, &mut bad, &tag_a).is_none());
                }
            }
        }
    }

    #[test]
    fn a_nonce_of_the_wrong_length_is_refused() {
        let mut body = [0u8; 4];
        assert_eq!(
            seal(Aead::Aes256Gcm, &[1; 32], &[0; 24], &mut body),
            Err(Error::EncryptUnsupported)
        );
        assert_eq!(
            open(Aead::XChaCha20Poly1305, &[1; 32], &[0; 12], &mut body, &[0; 16]),
            Err(Error::DecryptionFailed)
        );
    }
}
