//! One message for many recipients: libsession-util's `encrypt_for_multiple_simple`, which
//! groups use to hand their keys to every member.
//!
//! Each recipient gets the message encrypted with XChaCha20-Poly1305 under
//! `BLAKE2b-256(key = domain, X25519(a, B) ‖ A ‖ B)` (sender `a`/`A`, recipient `B`), all with one
//! nonce. Nothing says which entry is whose: a recipient tries each. Junk entries can pad the
//! list to a multiple of `pad`, so its length says less about the group's size. The result is
//! bencoded: `d 1:# 24:<nonce> 1:e l <entry>… e e`.
//!
//! ```
//! use sesh_envelope::multi;
//! use sesh_identity::X25519SecretKey;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
//! # use rand_core::SeedableRng;
//!
//! let admin = X25519SecretKey::generate(&mut rng);
//! let members: Vec<X25519SecretKey> = (0..3).map(|_| X25519SecretKey::generate(&mut rng)).collect();
//! let keys: Vec<_> = members.iter().map(|m| m.public_key()).collect();
//!
//! let encoded = multi::encrypt(&[b"group key"], &keys, &admin, multi::GROUP_KEYS, None, 4, &mut rng)?;
//! for member in &members {
//!     let got = multi::decrypt(&encoded, member, &admin.public_key(), multi::GROUP_KEYS);
//!     assert_eq!(got.as_deref(), Some(&b"group key"[..]));
//! }
//! # Ok::<(), sesh_envelope::Error>(())
//! ```

use bendy::decoding::{Decoder, Object};
use bendy::encoding::Encoder;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use sesh_identity::{X25519PublicKey, X25519SecretKey, hash};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The domain of group key distribution (libsession-util's groups keys).
pub const GROUP_KEYS: &[u8] = b"SessionGroupKeyGen";

/// The domain of the message that tells members they were removed from a group.
pub const GROUP_KICKED: &[u8] = b"SessionGroupKickedMessage";

/// Bytes each entry adds to its message: the Poly1305 tag.
pub const ENTRY_OVERHEAD: usize = 16;

/// The key of the entry for one sender/recipient pair. `me` is one of them; `sender` and
/// `recipient` are the two public keys in that order.
fn entry_cipher(
    me: &X25519SecretKey,
    peer: &X25519PublicKey,
    sender: &X25519PublicKey,
    recipient: &X25519PublicKey,
    domain: &[u8],
) -> Result<XChaCha20Poly1305> {
    let shared = me.diffie_hellman(peer)?;
    let key = Zeroizing::new(hash::blake2b::<32>(
        domain,
        &[shared.as_bytes(), sender.as_bytes(), recipient.as_bytes()],
    ));
    Ok(XChaCha20Poly1305::new(key.as_ref().into()))
}

/// Encrypts `messages` for `recipients`: one message for all of them, or one per recipient in
/// the same order. `domain` separates uses (see [`GROUP_KEYS`]); a domain longer than 64 bytes
/// is cut to 64, as libsession-util does. The nonce is `nonce`, or 24 bytes from `rng`. If `pad`
/// is above 1 and the first message is not empty, junk entries as long as the first message
/// (libsession-util's choice: 16 bytes shorter than a real entry) are drawn from `rng` until the
/// number of entries is a multiple of `pad`.
///
/// # Errors
/// [`Error::MessageCountMismatch`], or [`Error::Identity`] if a recipient's key is of low order.
pub fn encrypt<M: AsRef<[u8]>, R: RngCore + CryptoRng>(
    messages: &[M],
    recipients: &[X25519PublicKey],
    sender: &X25519SecretKey,
    domain: &[u8],
    nonce: Option<[u8; 24]>,
    pad: usize,
    rng: &mut R,
) -> Result<Vec<u8>> {
    if messages.len() != 1 && messages.len() != recipients.len() {
        return Err(Error::MessageCountMismatch {
            messages: messages.len(),
            recipients: recipients.len(),
        });
    }
    let nonce = nonce.unwrap_or_else(|| {
        let mut fresh = [0u8; 24];
        rng.fill_bytes(&mut fresh);
        fresh
    });
    let sender_public = sender.public_key();
    let mut entries = Vec::with_capacity(recipients.len());
    for (i, recipient) in recipients.iter().enumerate() {
        let message = messages.get(i).or_else(|| messages.first()).map_or(&[][..], AsRef::as_ref);
        let cipher = entry_cipher(sender, recipient, &sender_public, recipient, domain)?;
        let entry = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: message, aad: b"" })
            .map_err(|_| Error::DecryptionFailed)?;
        entries.push(entry);
    }
    let junk_len = messages.first().map_or(0, |m| m.as_ref().len());
    if pad > 1 && junk_len > 0 {
        while entries.len() % pad != 0 {
            let mut junk = vec![0u8; junk_len];
            rng.fill_bytes(&mut junk);
            entries.push(junk);
        }
    }

    let mut encoder = Encoder::new();
    encoder
        .emit_dict(|mut dict| {
            dict.emit_pair_with(b"#", |e| e.emit_bytes(&nonce))?;
            dict.emit_pair_with(b"e", |e| {
                e.emit_list(|list| entries.iter().try_for_each(|entry| list.emit_bytes(entry)))
            })
        })
        .and_then(|()| encoder.get_output())
        .map_err(|e| Error::MalformedMultiEncoding(e.to_string()))
}

/// The nonce and entries of an encoding.
fn parse(encoded: &[u8]) -> Result<([u8; 24], Vec<&[u8]>)> {
    let malformed = |what: &str| Error::MalformedMultiEncoding(what.to_owned());
    let bendy_error = |e: bendy::decoding::Error| Error::MalformedMultiEncoding(e.to_string());
    let mut decoder = Decoder::new(encoded).with_max_depth(3);
    let mut dict = match decoder.next_object().map_err(bendy_error)? {
        Some(Object::Dict(dict)) => dict,
        _ => return Err(malformed("not a dictionary")),
    };
    let mut nonce = None;
    let mut entries = None;
    while let Some((key, value)) = dict.next_pair().map_err(bendy_error)? {
        match key {
            b"#" => {
                let bytes = value.try_into_bytes().map_err(bendy_error)?;
                nonce = Some(
                    <[u8; 24]>::try_from(bytes).map_err(|_| malformed("nonce is not 24 bytes"))?,
                );
            }
            b"e" => {
                let mut list = value.try_into_list().map_err(bendy_error)?;
                let mut found = Vec::new();
                while let Some(item) = list.next_object().map_err(bendy_error)? {
                    found.push(item.try_into_bytes().map_err(bendy_error)?);
                }
                entries = Some(found);
            }
            _ => {}
        }
    }
    drop(dict);
    if decoder.next_object().map_err(bendy_error)?.is_some() {
        return Err(malformed("data after the dictionary"));
    }
    match (nonce, entries) {
        (Some(nonce), Some(entries)) => Ok((nonce, entries)),
        (None, _) => Err(malformed("no nonce (\"#\")")),
        (_, None) => Err(malformed("no entries (\"e\")")),
    }
}

/// Finds and decrypts the entry meant for `recipient` in an encoding from `sender`. `None` if
/// there is none (the encoding is malformed, from someone else, for another domain, or not for
/// this recipient), as libsession-util's `decrypt_for_multiple_simple`.
pub fn decrypt(
    encoded: &[u8],
    recipient: &X25519SecretKey,
    sender: &X25519PublicKey,
    domain: &[u8],
) -> Option<Vec<u8>> {
    let (nonce, entries) = parse(encoded).ok()?;
    let recipient_public = recipient.public_key();
    let cipher = entry_cipher(recipient, sender, sender, &recipient_public, domain).ok()?;
    entries.into_iter().find_map(|entry| {
        cipher.decrypt(XNonce::from_slice(&nonce), Payload { msg: entry, aad: b"" }).ok()
    })
}
