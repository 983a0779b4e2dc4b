//! Community-inbox messages: direct messages between two people who know each other only by
//! their blinded IDs on a community server (libsession-util's `encrypt_for_blinded_recipient`
//! and `decrypt_from_blinded_recipient`).
//!
//! ```text
//!  key = BLAKE2b-256(x·jB ‖ kA ‖ jB)     kA, jB: sender's and recipient's blinded keys
//!                                         (always sender first), x: see
//!                                         Identity::blinded_key_exchange
//!  out = 0x00 ‖ XChaCha20-Poly1305(key, nonce, M ‖ A) ‖ nonce     A: sender's real Ed25519 key
//! ```
//!
//! The recipient learns the sender's Session ID from `A`, and checks that `A` blinds to the
//! sender's blinded ID. For 15-blinding a Session ID has two candidate blinded IDs (the sign of
//! the Ed25519 key is lost in it), but the blinded ID a message names is also hashed into its key,
//! so only the sender's exact ID ever decrypts: the check compares it exactly.
//!
//! ```
//! use sesh_envelope::blinded;
//! use sesh_identity::{AccountSeed, Identity};
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
//! # use rand_core::SeedableRng;
//!
//! let server = [7u8; 32];
//! let alice = Identity::from_account_seed(&AccountSeed::from_bytes([1; 16]));
//! let bob = Identity::from_account_seed(&AccountSeed::from_bytes([2; 16]));
//! let alice_id = *alice.blind25_keypair(&server)?.id();
//! let bob_id = *bob.blind25_keypair(&server)?.id();
//!
//! let ciphertext = blinded::encrypt(&alice, &server, &bob_id, b"hi", &mut rng)?;
//! let message = blinded::decrypt(&bob, &server, &alice_id, &bob_id, &ciphertext)?;
//! assert_eq!(message.plaintext(), b"hi");
//! assert_eq!(message.sender_session_id(), &alice.session_id());
//! # Ok::<(), sesh_envelope::Error>(())
//! ```

use core::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use sesh_identity::{
    BlindedId, Blinding, Ed25519PublicKey, Identity, SessionId, blinding as blind, hash,
};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// The version byte that starts every blinded message.
pub const VERSION: u8 = 0;

/// What encryption adds to a message: the version byte, the sender's key, the tag and the nonce.
pub const OVERHEAD: usize = 1 + 32 + 16 + 24;

/// The XChaCha20-Poly1305 key of a message from `sender` to `recipient`, computed by `me`, who
/// is one of them (`peer` is the other).
fn message_key(
    me: &Identity,
    server_pk: &[u8; 32],
    peer: &BlindedId,
    sender: &BlindedId,
    recipient: &BlindedId,
) -> Result<Zeroizing<[u8; 32]>> {
    if sender.blinding() != recipient.blinding() {
        return Err(Error::MixedBlinding);
    }
    let shared = me.blinded_key_exchange(server_pk, peer)?;
    Ok(Zeroizing::new(hash::blake2b(
        b"",
        &[
            shared.as_bytes(),
            sender.ed25519_public_key().as_bytes(),
            recipient.ed25519_public_key().as_bytes(),
        ],
    )))
}

/// Encrypts `message` from `sender` to the holder of `recipient` on the community server
/// `server_pk`, with a 24-byte nonce from `rng`. The sender's own blinded ID is the one of the
/// same blinding as `recipient`.
///
/// # Errors
/// [`Error::Identity`] if the recipient's key has a torsion component or the sender cannot be
/// blinded on this server.
pub fn encrypt<R: RngCore + CryptoRng>(
    sender: &Identity,
    server_pk: &[u8; 32],
    recipient: &BlindedId,
    message: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    let own = match recipient.blinding() {
        Blinding::Blind15 => sender.blind15_keypair(server_pk)?,
        _ => sender.blind25_keypair(server_pk)?,
    };
    let key = message_key(sender, server_pk, recipient, own.id(), recipient)?;
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);

    let mut inner = Zeroizing::new(Vec::with_capacity(message.len() + 32));
    inner.extend_from_slice(message);
    inner.extend_from_slice(sender.ed25519_public_key().as_bytes());
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: &inner, aad: b"" })
        .map_err(|_| Error::DecryptionFailed)?;

    let mut out = Vec::with_capacity(1 + sealed.len() + 24);
    out.push(VERSION);
    out.extend_from_slice(&sealed);
    out.extend_from_slice(&nonce);
    Ok(out)
}

/// A decrypted community-inbox message.
pub struct Decrypted {
    plaintext: Vec<u8>,
    sender: Ed25519PublicKey,
    sender_session_id: SessionId,
}

impl Decrypted {
    /// The message.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The message, by value.
    pub fn into_plaintext(mut self) -> Vec<u8> {
        core::mem::take(&mut self.plaintext)
    }

    /// The sender's real Ed25519 key.
    pub fn sender_ed25519(&self) -> &Ed25519PublicKey {
        &self.sender
    }

    /// The sender's Session ID.
    pub fn sender_session_id(&self) -> &SessionId {
        &self.sender_session_id
    }
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("sender_session_id", &self.sender_session_id)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

impl Drop for Decrypted {
    fn drop(&mut self) {
        self.plaintext.zeroize();
    }
}

/// Decrypts a message from `sender` to `recipient` on the community server `server_pk`. `me` is
/// the recipient, or the sender reading their own sent message (told apart by whether `sender`
/// is `me`'s blinded ID).
///
/// # Errors
/// [`Error::MixedBlinding`] if the two IDs are of different blindings;
/// [`Error::UnsupportedBlindedVersion`] for a version byte other than 0;
/// [`Error::DecryptionFailed`] for anything else: wrong keys, a changed or truncated message, or a
/// sender whose real key does not blind to `sender`.
pub fn decrypt(
    me: &Identity,
    server_pk: &[u8; 32],
    sender: &BlindedId,
    recipient: &BlindedId,
    ciphertext: &[u8],
) -> Result<Decrypted> {
    if sender.blinding() != recipient.blinding() {
        return Err(Error::MixedBlinding);
    }
    let own = match recipient.blinding() {
        Blinding::Blind15 => blind::blinded15_id_from_ed(me.ed25519_public_key(), server_pk)?,
        _ => blind::blinded25_id_from_ed(me.ed25519_public_key(), server_pk)?,
    };
    let peer = if own == *sender { recipient } else { sender };
    let key = message_key(me, server_pk, peer, sender, recipient)?;

    let Some((&version, rest)) = ciphertext.split_first() else {
        return Err(Error::DecryptionFailed);
    };
    if rest.len() < 24 + 16 + 32 {
        return Err(Error::DecryptionFailed);
    }
    if version != VERSION {
        return Err(Error::UnsupportedBlindedVersion(version));
    }
    let (sealed, nonce) = rest.split_at(rest.len() - 24);
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let mut inner = cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: b"" })
        .map_err(|_| Error::DecryptionFailed)?;

    let split = inner.len() - 32;
    let sender_key = Ed25519PublicKey::try_from(inner.get(split..).unwrap_or_default())
        .map_err(|_| Error::DecryptionFailed);
    let checked = sender_key.and_then(|key| {
        let session_id = SessionId::from_ed25519(&key).map_err(|_| Error::DecryptionFailed)?;
        let claimed = match sender.blinding() {
            Blinding::Blind15 => blind::blinded15_id_from_ed(&key, server_pk),
            _ => blind::blinded25_id_from_ed(&key, server_pk),
        };
        if claimed.ok().as_ref() == Some(sender) {
            Ok((key, session_id))
        } else {
            Err(Error::DecryptionFailed)
        }
    });
    match checked {
        Ok((sender, sender_session_id)) => {
            inner.truncate(split);
            Ok(Decrypted { plaintext: inner, sender, sender_session_id })
        }
        Err(e) => {
            inner.zeroize();
            Err(e)
        }
    }
}
