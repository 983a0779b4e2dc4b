//! 1:1 messages: Session protocol v1, as libsession-util's `encrypt_for_recipient` and
//! `decrypt_incoming`.
//!
//! ```text
//!  SIG = Ed25519(sender, M ‖ A ‖ Y)        A: sender's Ed25519 key, Y: recipient's X25519 key
//!  CT  = sealed_box(M ‖ A ‖ SIG, Y)        = E ‖ tag ‖ XSalsa20(M ‖ A ‖ SIG), |M| + 144 bytes
//! ```
//!
//! The signature binds the message to its recipient (Y is signed but not sent), and the sealed
//! box hides the sender from everyone but the recipient.
//!
//! ```
//! use sesh_envelope::one_to_one;
//! use sesh_identity::{AccountSeed, Identity};
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
//! # use rand_core::SeedableRng;
//!
//! let alice = Identity::from_account_seed(&AccountSeed::from_bytes([1; 16]));
//! let bob = Identity::from_account_seed(&AccountSeed::from_bytes([2; 16]));
//!
//! let ciphertext = one_to_one::encrypt_for_recipient(&alice, &bob.session_id(), b"hi", &mut rng)?;
//! let message = one_to_one::decrypt_incoming(&bob, &ciphertext)?;
//! assert_eq!(message.plaintext(), b"hi");
//! assert_eq!(message.sender_session_id()?, alice.session_id());
//!
//! // Anyone else, the sender included, gets one opaque error.
//! assert!(one_to_one::decrypt_incoming(&alice, &ciphertext).is_err());
//! # Ok::<(), sesh_envelope::Error>(())
//! ```

use core::fmt;

use rand_core::{CryptoRng, RngCore};
use sesh_identity::{Ed25519PublicKey, Identity, SessionId, Signature, X25519SecretKey, hash};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::sealed::{self, SEAL_OVERHEAD};

/// What the ciphertext adds to the message: the sealed box's 48 bytes, the sender's key and the
/// signature.
pub const OVERHEAD: usize = SEAL_OVERHEAD + 32 + 64;

/// The BLAKE2b key of the deterministic variant's ephemeral seed.
const EPHEMERAL_HASH_KEY: &[u8] = b"SessionBoxEphemeralHashKey";

/// `M ‖ A ‖ SIG`, written after `offset` free bytes of a new buffer.
fn signed(sender: &Identity, recipient: &SessionId, message: &[u8], offset: usize) -> Vec<u8> {
    let recipient_key = recipient.x25519_public_key().as_bytes();
    let mut buffer = Vec::with_capacity(offset + message.len() + 32 + 64);
    buffer.resize(offset, 0);
    buffer.extend_from_slice(message);
    buffer.extend_from_slice(sender.ed25519_public_key().as_bytes());
    buffer.extend_from_slice(recipient_key);
    let signature = sender.sign(buffer.get(offset..).unwrap_or_default());
    // M ‖ A ‖ Y was signed; M ‖ A ‖ SIG is sent.
    buffer.truncate(buffer.len() - 32);
    buffer.extend_from_slice(&signature.to_bytes());
    buffer
}

/// `M ‖ A ‖ SIG`: the message, the sender's Ed25519 key, and the sender's signature over
/// `M ‖ A ‖ Y` (libsession-util's `sign_for_recipient`).
pub fn sign_for_recipient(sender: &Identity, recipient: &SessionId, message: &[u8]) -> Vec<u8> {
    signed(sender, recipient, message, 0)
}

fn seal(
    sender: &Identity,
    recipient: &SessionId,
    message: &[u8],
    ephemeral: &X25519SecretKey,
) -> Result<Vec<u8>> {
    let mut buffer = signed(sender, recipient, message, SEAL_OVERHEAD);
    sealed::seal_in_place(ephemeral, recipient.x25519_public_key(), &mut buffer)?;
    Ok(buffer)
}

/// Encrypts `message` for `recipient` as every Session client does: signed, then sealed with a
/// fresh ephemeral key drawn from `rng` (32 bytes).
///
/// `message` is what the recipient gets back; for a `Content` it is the padded bytes (see
/// [`crate::envelope`], which does the layering).
///
/// # Errors
/// None in practice: the recipient's key is valid by construction. An error would mean the
/// message is longer than XSalsa20 can encrypt (256 GiB).
pub fn encrypt_for_recipient<R: RngCore + CryptoRng>(
    sender: &Identity,
    recipient: &SessionId,
    message: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    seal(sender, recipient, message, &X25519SecretKey::generate(rng))
}

/// Encrypts `message` for `recipient` with an ephemeral key derived from the sender's seed, the
/// recipient and the message, so the same input always gives the same ciphertext
/// (libsession-util's `encrypt_for_recipient_deterministic`, for data a client sends to itself).
/// It decrypts like any other 1:1 message. Do not use it where two equal messages must not be
/// recognisable as equal.
///
/// # Errors
/// As [`encrypt_for_recipient`].
pub fn encrypt_for_recipient_deterministic(
    sender: &Identity,
    recipient: &SessionId,
    message: &[u8],
) -> Result<Vec<u8>> {
    let mut seed: [u8; 32] = hash::blake2b(
        EPHEMERAL_HASH_KEY,
        &[sender.seed().as_bytes(), recipient.x25519_public_key().as_bytes(), message],
    );
    // libsodium's crypto_box_seed_keypair: the secret key is SHA-512(seed)[0..32].
    let mut expanded = hash::sha512(&[&seed]);
    let mut secret = [0u8; 32];
    secret.copy_from_slice(expanded.split_at(32).0);
    let ephemeral = X25519SecretKey::from_bytes(secret);
    for bytes in [&mut seed[..], &mut expanded[..], &mut secret[..]] {
        bytes.zeroize();
    }
    seal(sender, recipient, message, &ephemeral)
}

/// A decrypted 1:1 message: its plaintext and its sender, whose signature has been checked.
pub struct Decrypted {
    buffer: Vec<u8>,
    len: usize,
    sender: Ed25519PublicKey,
}

impl Decrypted {
    /// The message as the sender passed it (for a stored message: the padded `Content`).
    pub fn plaintext(&self) -> &[u8] {
        self.buffer.get(SEAL_OVERHEAD..SEAL_OVERHEAD + self.len).unwrap_or_default()
    }

    /// The message, by value.
    pub fn into_plaintext(mut self) -> Vec<u8> {
        self.buffer.truncate(SEAL_OVERHEAD + self.len);
        self.buffer.drain(..SEAL_OVERHEAD);
        core::mem::take(&mut self.buffer)
    }

    /// The sender's Ed25519 key, which signed the message.
    pub fn sender_ed25519(&self) -> &Ed25519PublicKey {
        &self.sender
    }

    /// The sender's Session ID, `05` and the X25519 form of their key, as libsession-util's
    /// `decrypt_incoming_session_id` gives it.
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] if the key has a torsion component: a valid signature can be
    /// made under such a key, but no account has one, and libsodium refuses to convert it. (The
    /// check costs a scalar multiplication, which is why it is made here and not in
    /// [`decrypt_incoming`].)
    pub fn sender_session_id(&self) -> Result<SessionId> {
        SessionId::from_ed25519(&self.sender).map_err(|_| Error::DecryptionFailed)
    }
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("sender", &self.sender)
            .field("plaintext_len", &self.len)
            .finish()
    }
}

impl Drop for Decrypted {
    fn drop(&mut self) {
        self.buffer.zeroize();
    }
}

/// Decrypts a 1:1 message sent to `recipient`, and checks that its sender signed it for this
/// recipient (libsession-util's `decrypt_incoming`).
///
/// The recipient's X25519 key pair comes from the [`Identity`], where it is computed once.
///
/// # Errors
/// [`Error::DecryptionFailed`], whatever the reason: not for this recipient, changed, truncated,
/// signed for someone else, or with a sender key swapped in.
pub fn decrypt_incoming(recipient: &Identity, ciphertext: &[u8]) -> Result<Decrypted> {
    if ciphertext.len() < OVERHEAD {
        return Err(Error::DecryptionFailed);
    }
    let mut buffer = ciphertext.to_vec();
    let recipient_key = recipient.x25519_public_key();
    let opened = sealed::open_in_place(recipient.x25519_secret_key(), recipient_key, &mut buffer)
        .ok_or(Error::DecryptionFailed)?;

    // opened = M ‖ A ‖ SIG. Take SIG out, and put Y in its place to check M ‖ A ‖ Y.
    let signed_len = opened.len() - 64;
    let (signed_part, signature_part) = opened.split_at_mut(signed_len);
    let signature = Signature::from_slice(signature_part).map_err(|_| Error::DecryptionFailed)?;
    let (message, sender_part) = signed_part.split_at(signed_len - 32);
    let sender = Ed25519PublicKey::try_from(sender_part).map_err(|_| Error::DecryptionFailed)?;
    let len = message.len();
    let check_len = signed_len + 32;
    signature_part
        .get_mut(..32)
        .ok_or(Error::DecryptionFailed)?
        .copy_from_slice(recipient_key.as_bytes());
    let checked = opened.get(..check_len).ok_or(Error::DecryptionFailed)?;
    sender.verify(checked, &signature).map_err(|_| Error::DecryptionFailed)?;
    Ok(Decrypted { buffer, len, sender })
}
