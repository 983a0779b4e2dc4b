//! libsodium's sealed box (`crypto_box_seal`), built from its parts so that the recipient's public
//! key is not recomputed on every open and Diffie-Hellman goes through sesh-identity's one
//! X25519 function (with libsodium's refusal of an all-zero shared secret).
//!
//! ```text
//! seal(P, Y):  e random, E = X25519(e, 9)
//!              k = HSalsa20(X25519(e, Y), 0^16)          (crypto_box_beforenm)
//!              n = BLAKE2b-192(E ‖ Y)
//!              out = E ‖ Poly1305 tag ‖ XSalsa20(k, n, P)   (crypto_box_easy: tag first)
//! ```

use crypto_secretbox::aead::AeadInPlace;
use crypto_secretbox::{KeyInit, Nonce, Tag, XSalsa20Poly1305};
use salsa20::cipher::consts::U10;
use sesh_identity::{X25519PublicKey, X25519SecretKey, hash};
use zeroize::Zeroize;

/// Bytes a sealed box adds: the ephemeral public key and the tag.
pub(crate) const SEAL_OVERHEAD: usize = 32 + 16;

/// `crypto_box_beforenm`: the XSalsa20-Poly1305 key of a key exchange.
fn box_cipher(
    secret: &X25519SecretKey,
    public: &X25519PublicKey,
) -> Result<XSalsa20Poly1305, sesh_identity::Error> {
    let shared = secret.diffie_hellman(public)?;
    let mut key = salsa20::hsalsa::<U10>(shared.as_bytes().into(), &Default::default());
    let cipher = XSalsa20Poly1305::new(&key);
    key.zeroize();
    Ok(cipher)
}

fn seal_nonce(ephemeral: &X25519PublicKey, recipient: &X25519PublicKey) -> Nonce {
    hash::blake2b::<24>(b"", &[ephemeral.as_bytes(), recipient.as_bytes()]).into()
}

/// Seals `plaintext` to `recipient` with the ephemeral secret key `ephemeral`.
///
/// `plaintext` is given as a buffer with [`SEAL_OVERHEAD`] free bytes in front, which receive the
/// ephemeral key and the tag, so that nothing is copied.
pub(crate) fn seal_in_place(
    ephemeral: &X25519SecretKey,
    recipient: &X25519PublicKey,
    buffer: &mut [u8],
) -> Result<(), sesh_identity::Error> {
    let ephemeral_public = ephemeral.public_key();
    let cipher = box_cipher(ephemeral, recipient)?;
    let nonce = seal_nonce(&ephemeral_public, recipient);
    let (header, body) = buffer.split_at_mut(SEAL_OVERHEAD);
    let (key_part, tag_part) = header.split_at_mut(32);
    // XSalsa20-Poly1305 fails only for messages longer than 2^38 bytes.
    let tag = cipher.encrypt_in_place_detached(&nonce, b"", body).map_err(|_| {
        sesh_identity::Error::InvalidByteLength {
            what: "message",
            expected: 1 << 38,
            actual: body.len(),
        }
    })?;
    key_part.copy_from_slice(ephemeral_public.as_bytes());
    tag_part.copy_from_slice(&tag);
    Ok(())
}

/// Opens a sealed box in place with the recipient's key pair, returning the plaintext part of
/// `sealed` (which starts [`SEAL_OVERHEAD`] bytes in). `None` for anything that does not open.
pub(crate) fn open_in_place<'a>(
    secret: &X25519SecretKey,
    public: &X25519PublicKey,
    sealed: &'a mut [u8],
) -> Option<&'a mut [u8]> {
    if sealed.len() < SEAL_OVERHEAD {
        return None;
    }
    let (header, body) = sealed.split_at_mut(SEAL_OVERHEAD);
    let (key_part, tag_part) = header.split_at(32);
    let ephemeral = X25519PublicKey::try_from(key_part).ok()?;
    let cipher = box_cipher(secret, &ephemeral).ok()?;
    let nonce = seal_nonce(&ephemeral, public);
    let tag = Tag::from_slice(tag_part);
    cipher.decrypt_in_place_detached(&nonce, b"", body, tag).ok()?;
    Some(body)
}
