//! Community blinding: the per-server identities that keep a community server from learning a
//! user's Session ID.
//!
//! A user shows each community (SOGS) server a *blinded* Ed25519 key `k·A`, where `A` is the
//! user's Ed25519 key and the factor `k` comes from the server's key. Anyone who knows a Session
//! ID and a server key can compute its blinded ID ([`blind25_id`],
//! [`session_id_matches_blinded_id`]); nobody can go back. Two schemes are live:
//!
//! | | factor `k` | blinded key | from a Session ID |
//! |---|---|---|---|
//! | `15` (legacy) | `BLAKE2b-512(server)` mod L | `k·A` | two candidates: the sign of `A` is lost in the X25519 key |
//! | `25` | `BLAKE2b-512(05 ‖ X ‖ server)` mod L | `k·\|A\|` | unique |
//!
//! The owner of the account signs as the blinded key with a [`BlindedKeypair`]; the signatures
//! are ordinary Ed25519 signatures under the blinded key, with the nonce derived as
//! libsession-util derives it, so they are byte-identical to the apps'.
//!
//! ```
//! use sesh_identity::{blinding, AccountSeed, Identity};
//!
//! let server = [0xab; 32];
//! let me = Identity::from_account_seed(&AccountSeed::from_bytes([7; 16]));
//! let keypair = me.blind25_keypair(&server)?;
//!
//! // Anyone can derive the same ID from the Session ID...
//! assert_eq!(blinding::blind25_id(&me.session_id(), &server)?, *keypair.id());
//! // ...and check what the blinded key signs.
//! let signature = keypair.sign(b"GET /room/lobby");
//! assert!(keypair.id().verify(b"GET /room/lobby", &signature).is_ok());
//! # Ok::<(), sesh_identity::Error>(())
//! ```

use core::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::id::{BlindedId, Blinding, SessionId};
use crate::identity::Identity;
use crate::keys::{Ed25519PublicKey, Signature};
use crate::{hash, point, text};

/// The BLAKE2b key that derives a 25-blinded signer's nonce seed from its Ed25519 seed.
const BLIND25_SEED_KEY: &[u8; 20] = b"SessCommBlind25_seed";
/// The BLAKE2b key of the 25-blinded signature nonce.
const BLIND25_SIG_KEY: &[u8; 19] = b"SessCommBlind25_sig";

/// What a Session ID is called in blinding errors.
const SESSION_ID: &str = "Session ID";

/// A blinding factor `k`: a scalar modulo `L`. It is not secret (anyone who knows the Session ID
/// and server can compute it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlindingFactor(Scalar);

impl BlindingFactor {
    /// The 32-byte little-endian scalar.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    fn from_hash(wide: &[u8; 64]) -> Self {
        Self(Scalar::from_bytes_mod_order_wide(wide))
    }
}

impl fmt::Debug for BlindingFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindingFactor(")?;
        text::write_hex(f, self.0.as_bytes())?;
        f.write_str(")")
    }
}

/// The 15-blinding factor of a server: `BLAKE2b-512(server_pk)` reduced modulo `L`.
pub fn blind15_factor(server_pk: &[u8; 32]) -> BlindingFactor {
    BlindingFactor::from_hash(&hash::blake2b::<64>(b"", &[server_pk]))
}

/// The 25-blinding factor of a Session ID on a server:
/// `BLAKE2b-512(05 ‖ X25519 key ‖ server_pk)` reduced modulo `L`.
pub fn blind25_factor(session_id: &SessionId, server_pk: &[u8; 32]) -> BlindingFactor {
    BlindingFactor::from_hash(&hash::blake2b::<64>(
        b"",
        &[&[SessionId::PREFIX], session_id.x25519_public_key().as_bytes(), server_pk],
    ))
}

/// The Ed25519 point with sign bit 0 behind a Session ID. A `SessionId` only holds keys in the
/// prime-order subgroup, which blinding requires (libsodium's
/// `crypto_scalarmult_ed25519_noclamp` checks it), so no further check is needed.
fn positive_point(session_id: &SessionId) -> Result<EdwardsPoint> {
    point::montgomery_to_positive_edwards(session_id.x25519_public_key().as_bytes(), SESSION_ID)
}

fn blinded(blinding: Blinding, point: EdwardsPoint) -> BlindedId {
    BlindedId::new(blinding, Ed25519PublicKey::from_point(point))
}

/// Both 15-blinded IDs a Session ID can have on a server: `15 ‖ k·A` for the positive `A`, and
/// the same with the sign bit of the last byte flipped. The account's real blinded ID is one of
/// them, depending on the sign of its Ed25519 key, which the Session ID does not reveal.
///
/// # Errors
/// [`Error::DegenerateBlinding`] if the server key gives a zero factor.
pub fn blind15_ids(session_id: &SessionId, server_pk: &[u8; 32]) -> Result<[BlindedId; 2]> {
    let k = blind15_factor(server_pk);
    let id = point::mul_noclamp_public(&k.0, &positive_point(session_id)?)?;
    Ok([blinded(Blinding::Blind15, id), blinded(Blinding::Blind15, -id)])
}

/// The 25-blinded ID of a Session ID on a server: `25 ‖ k·|A|`.
///
/// # Errors
/// [`Error::DegenerateBlinding`] if the factor is zero.
pub fn blind25_id(session_id: &SessionId, server_pk: &[u8; 32]) -> Result<BlindedId> {
    let k = blind25_factor(session_id, server_pk);
    let id = point::mul_noclamp_public(&k.0, &positive_point(session_id)?)?;
    Ok(blinded(Blinding::Blind25, id))
}

/// The 15-blinded ID of a known Ed25519 key: `15 ‖ k·A`, with no sign ambiguity.
///
/// # Errors
/// [`Error::NotInPrimeOrderSubgroup`] if the key has a torsion component, or
/// [`Error::DegenerateBlinding`].
pub fn blinded15_id_from_ed(key: &Ed25519PublicKey, server_pk: &[u8; 32]) -> Result<BlindedId> {
    point::require_prime_order(key.point(), "Ed25519 public key")?;
    let k = blind15_factor(server_pk);
    Ok(blinded(Blinding::Blind15, point::mul_noclamp_public(&k.0, key.point())?))
}

/// The 25-blinded ID of a known Ed25519 key: `25 ‖ k·|A|`, the same as [`blind25_id`] of its
/// Session ID.
///
/// # Errors
/// [`Error::NotInPrimeOrderSubgroup`] if the key has a torsion component, or
/// [`Error::DegenerateBlinding`].
pub fn blinded25_id_from_ed(key: &Ed25519PublicKey, server_pk: &[u8; 32]) -> Result<BlindedId> {
    let session_id = SessionId::from_ed25519(key)?;
    let k = blind25_factor(&session_id, server_pk);
    let positive = if key.is_negative() { -key.point() } else { *key.point() };
    Ok(blinded(Blinding::Blind25, point::mul_noclamp_public(&k.0, &positive)?))
}

/// Whether `blinded_id` is the 15- or 25-blinded ID of `session_id` on the server: what a
/// community uses to recognise a user who reveals their Session ID.
///
/// # Errors
/// As [`blind25_id`]: a Session ID that cannot be blinded matches nothing and says why.
pub fn session_id_matches_blinded_id(
    session_id: &SessionId,
    blinded_id: &BlindedId,
    server_pk: &[u8; 32],
) -> Result<bool> {
    Ok(match blinded_id.blinding() {
        Blinding::Blind15 => blind15_ids(session_id, server_pk)?.contains(blinded_id),
        Blinding::Blind25 => blind25_id(session_id, server_pk)? == *blinded_id,
    })
}

/// An account's blinded key pair on one community server: it signs as the blinded ID.
///
/// Made by [`Identity::blind15_keypair`] or [`Identity::blind25_keypair`]. The secret scalar and
/// nonce key are zeroized on drop.
pub struct BlindedKeypair {
    id: BlindedId,
    factor: BlindingFactor,
    secret: Scalar,
    nonce_key: [u8; 32],
}

impl BlindedKeypair {
    /// The blinded ID, `15` or `25` and the blinded public key.
    pub fn id(&self) -> &BlindedId {
        &self.id
    }

    /// The blinded Ed25519 public key.
    pub fn public_key(&self) -> &Ed25519PublicKey {
        self.id.ed25519_public_key()
    }

    /// The factor the key was blinded with: `k` for 15-blinding; for 25-blinding `k'`, which is
    /// `k` negated when the account's Ed25519 key is negative.
    pub fn blinding_factor(&self) -> BlindingFactor {
        self.factor
    }

    /// The blinded secret scalar (`k·a`, or `k'·a`). This is the secret key itself; it is
    /// exposed for the blinded-message encryption, which multiplies it into a peer's key.
    pub fn secret_scalar(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// Signs `message` as the blinded key, byte for byte as libsession-util's `blind15_sign` or
    /// `blind25_sign`. The result verifies as plain Ed25519 under [`public_key`](Self::public_key).
    pub fn sign(&self, message: &[u8]) -> Signature {
        let public = self.id.ed25519_public_key().as_bytes();
        let mut wide = match self.id.blinding() {
            Blinding::Blind15 => hash::sha512(&[&self.nonce_key, public, message]),
            Blinding::Blind25 => {
                hash::blake2b::<64>(BLIND25_SIG_KEY, &[&self.nonce_key, public, message])
            }
        };
        let mut r = Scalar::from_bytes_mod_order_wide(&wide);
        wide.zeroize();
        let signature = point::sign_with_scalar(&self.secret, public, &r, message);
        r.zeroize();
        Signature::from_bytes(&signature)
    }
}

impl Drop for BlindedKeypair {
    fn drop(&mut self) {
        self.secret.zeroize();
        self.nonce_key.zeroize();
    }
}

impl fmt::Debug for BlindedKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindedKeypair").field("id", &self.id).field("secret", &"<secret>").finish()
    }
}

impl Identity {
    /// The account's 15-blinded key pair on a server: `a' = k·a`, `A' = a'·B` (which is `k·A`),
    /// as libsession-util's `blind15_key_pair`.
    ///
    /// # Errors
    /// [`Error::DegenerateBlinding`] if the server key gives a zero factor.
    pub fn blind15_keypair(&self, server_pk: &[u8; 32]) -> Result<BlindedKeypair> {
        let factor = blind15_factor(server_pk);
        // The nonce key hashes the full 64-byte libsodium secret key, not the seed.
        let sk64 = self.to_libsodium_secret_key();
        let mut wide = hash::sha512(&[sk64.as_slice()]);
        let mut nonce_key = [0u8; 32];
        nonce_key.copy_from_slice(wide.split_at(32).1);
        wide.zeroize();
        self.blinded_keypair(Blinding::Blind15, factor, nonce_key)
    }

    /// The account's 25-blinded key pair on a server: `a' = k'·a`, `A' = a'·B`, where `k'` is
    /// the 25-blinding factor negated if the account's Ed25519 key is negative, so that `A'` is
    /// `k·|A|`, the ID anyone derives from the Session ID. As libsession-util's
    /// `blind25_key_pair`.
    ///
    /// # Errors
    /// [`Error::DegenerateBlinding`] if the factor is zero.
    pub fn blind25_keypair(&self, server_pk: &[u8; 32]) -> Result<BlindedKeypair> {
        let k = blind25_factor(&self.session_id(), server_pk);
        let factor = if self.ed25519_public_key().is_negative() { BlindingFactor(-k.0) } else { k };
        let nonce_key = hash::blake2b::<32>(BLIND25_SEED_KEY, &[self.seed().as_bytes()]);
        self.blinded_keypair(Blinding::Blind25, factor, nonce_key)
    }

    /// The key exchange of community-inbox messages between two blinded IDs (libsession-util's
    /// `blinded_shared_secret` before its final hash): `x·P`, where `P` is the peer's blinded key
    /// and `x` is this account's secret scalar `a` for 15-blinding (the factor is the same for
    /// both sides, so it cancels) or its blinded scalar `k'·a` for 25-blinding. Both sides get
    /// the same point.
    ///
    /// # Errors
    /// [`Error::NotInPrimeOrderSubgroup`] if the peer's key has a torsion component (libsodium
    /// refuses it), or [`Error::DegenerateBlinding`].
    pub fn blinded_key_exchange(
        &self,
        server_pk: &[u8; 32],
        peer: &BlindedId,
    ) -> Result<crate::keys::SharedSecret> {
        let peer_point = peer.ed25519_public_key().point();
        point::require_prime_order(peer_point, "blinded ID")?;
        let shared = match peer.blinding() {
            Blinding::Blind15 => point::mul_noclamp_secret(self.secret_scalar(), peer_point)?,
            Blinding::Blind25 => {
                let keypair = self.blind25_keypair(server_pk)?;
                point::mul_noclamp_secret(&keypair.secret, peer_point)?
            }
        };
        Ok(crate::keys::SharedSecret::from_bytes(shared.compress().to_bytes()))
    }

    fn blinded_keypair(
        &self,
        blinding: Blinding,
        factor: BlindingFactor,
        nonce_key: [u8; 32],
    ) -> Result<BlindedKeypair> {
        let mut secret = factor.0 * self.secret_scalar();
        let public = EdwardsPoint::mul_base(&secret);
        if public.is_identity() {
            secret.zeroize();
            return Err(Error::DegenerateBlinding);
        }
        Ok(BlindedKeypair { id: blinded(blinding, public), factor, secret, nonce_key })
    }
}
