//! Version blinding: the `07` key a client signs requests to Session's own servers with (the
//! version check, the file server), unlinkable to its Session ID.

use core::fmt;

use zeroize::Zeroizing;

use crate::hash;
use crate::id::{AnyId, IdPrefix};
use crate::identity::Identity;
use crate::keys::{Ed25519PublicKey, Signature};
use crate::seed::Seed;

/// The BLAKE2b key that derives the version-blinded seed from the account seed.
const VERSION_KEY: &[u8; 19] = b"VersionCheckKey_sig";

/// A client platform, as the version check names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// Session for Android.
    Android,
    /// Session Desktop.
    Desktop,
    /// Session for iOS.
    Ios,
}

impl Platform {
    /// The name in the version-check path.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Android => "android",
            Self::Desktop => "desktop",
            Self::Ios => "ios",
        }
    }
}

/// An account's version-blinded Ed25519 key: an ordinary key pair whose seed is
/// `BLAKE2b-256(key = "VersionCheckKey_sig", account seed)`.
///
/// ```
/// use sesh_identity::{AccountSeed, Identity, Platform};
///
/// let me = Identity::from_account_seed(&AccountSeed::from_bytes([3; 16]));
/// let key = me.version_blinded_key();
/// let signature = key.sign_version_check(Platform::Desktop, 1_700_000_000);
/// let signed = b"1700000000GET/session_version?platform=desktop";
/// assert!(key.public_key().verify(signed, &signature).is_ok());
/// ```
#[derive(Clone)]
pub struct VersionBlindedKey(Identity);

impl VersionBlindedKey {
    /// The version-blinded public key.
    pub fn public_key(&self) -> &Ed25519PublicKey {
        self.0.ed25519_public_key()
    }

    /// The `07` ID of the key.
    pub fn id(&self) -> AnyId {
        AnyId::VersionBlinded(*self.public_key())
    }

    /// The prefix of the key's ID, `07`.
    pub const PREFIX: u8 = IdPrefix::VersionBlinded as u8;

    /// The libsodium 64-byte secret key, `seed ‖ public key`.
    pub fn to_libsodium_secret_key(&self) -> Zeroizing<[u8; 64]> {
        self.0.to_libsodium_secret_key()
    }

    /// Signs a request: `timestamp ‖ method ‖ path ‖ body`, with the timestamp in decimal, as
    /// libsession-util's `blind_version_sign_request`.
    pub fn sign_request(
        &self,
        timestamp: u64,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Signature {
        let mut message = timestamp.to_string().into_bytes();
        message.extend_from_slice(method.as_bytes());
        message.extend_from_slice(path.as_bytes());
        message.extend_from_slice(body.unwrap_or_default());
        self.0.sign(&message)
    }

    /// Signs the version check `GET /session_version?platform=…` at `timestamp`, as
    /// libsession-util's `blind_version_sign`.
    pub fn sign_version_check(&self, platform: Platform, timestamp: u64) -> Signature {
        let path = format!("/session_version?platform={}", platform.as_str());
        self.sign_request(timestamp, "GET", &path, None)
    }
}

impl fmt::Debug for VersionBlindedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionBlindedKey")
            .field("public_key", self.public_key())
            .field("secret", &"<secret>")
            .finish()
    }
}

impl Identity {
    /// The account's version-blinded key.
    pub fn version_blinded_key(&self) -> VersionBlindedKey {
        let seed = hash::blake2b::<32>(VERSION_KEY, &[self.seed().as_bytes()]);
        VersionBlindedKey(Identity::from_seed(&Seed::from_bytes(seed)))
    }
}
