//! An account's keys.

use core::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha512;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::keys::{Ed25519PublicKey, Signature, X25519PublicKey, X25519SecretKey};
use crate::mnemonic::RecoveryPhrase;
use crate::seed::{AccountSeed, Seed};
use crate::{hash, point};

/// The keys of a Session account, all derived from one 32-byte [`Seed`]:
///
/// ```text
///  AccountSeed (16 bytes) ──pad with 16 zero bytes──▶ Seed (32 bytes)
///  Seed ──SHA-512, clamp──▶ secret scalar a ──a·B──▶ Ed25519 public key A
///  a (as bytes) = X25519 secret key;  A ──(1+y)/(1−y)──▶ X25519 public key ──▶ "05…" Session ID
/// ```
///
/// This is libsodium's `crypto_sign_seed_keypair` and its `crypto_sign_ed25519_*_to_curve25519`
/// conversions, which is how every Session client derives an account.
///
/// ```
/// use sesh_identity::{AccountSeed, Identity};
///
/// let seed = AccountSeed::from_bytes(*b"\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef");
/// let me = Identity::from_account_seed(&seed);
/// assert_eq!(me.session_id().to_string(),
///            "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72");
/// let signature = me.sign(b"hello");
/// assert!(me.ed25519_public_key().verify(b"hello", &signature).is_ok());
/// ```
///
/// Secrets are zeroized when the identity is dropped, and `Debug` shows only the Session ID.
pub struct Identity {
    seed: Seed,
    expanded: ExpandedSecretKey,
    verifying: VerifyingKey,
    ed25519_public: Ed25519PublicKey,
    x25519_secret: X25519SecretKey,
    session_id: SessionId,
    /// The signing key loaded into AWS-LC, at the first signature made with it active.
    #[cfg(feature = "aws-lc")]
    aws_lc: std::sync::OnceLock<Option<aws_lc_rs::signature::Ed25519KeyPair>>,
}

impl Identity {
    /// A new account: a fresh 16-byte [`AccountSeed`] from `rng`, so that its recovery phrase
    /// has 13 words.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_account_seed(&AccountSeed::generate(rng))
    }

    /// The account made from a 16-byte account seed.
    pub fn from_account_seed(seed: &AccountSeed) -> Self {
        Self::from_seed(&seed.to_seed())
    }

    /// The account a recovery phrase encodes.
    pub fn from_recovery_phrase(phrase: &RecoveryPhrase) -> Self {
        Self::from_seed(phrase.seed())
    }

    /// The account made from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &Seed) -> Self {
        // One SHA-512 gives both the signing key (scalar and nonce prefix, RFC 8032) and the
        // X25519 secret key (the clamped scalar bytes), one base multiplication the public key.
        let mut hash = hash::sha512(&[seed.as_bytes()]);
        let expanded = ExpandedSecretKey::from_bytes(&hash);
        let mut scalar_bytes = [0u8; 32];
        scalar_bytes.copy_from_slice(hash.split_at(32).0);
        let x25519_secret = X25519SecretKey::from_bytes(point::clamp(scalar_bytes));
        scalar_bytes.zeroize();
        hash.zeroize();

        // A = a·B with a clamped a, which is never 0 mod L: A is in the prime-order subgroup and
        // not of low order, so it is a valid Ed25519 key and its X25519 form a valid Session ID.
        let point = EdwardsPoint::mul_base(&expanded.scalar);
        let verifying = VerifyingKey::from(point);
        let ed25519_public = Ed25519PublicKey::from_parts(verifying.to_bytes(), point);
        let x25519_public = X25519PublicKey::from_bytes(point.to_montgomery().to_bytes());
        Self {
            seed: seed.clone(),
            expanded,
            verifying,
            ed25519_public,
            x25519_secret,
            session_id: SessionId::from_valid(x25519_public),
            #[cfg(feature = "aws-lc")]
            aws_lc: std::sync::OnceLock::new(),
        }
    }

    /// The account of a libsodium 64-byte Ed25519 secret key (`seed ‖ public key`), the form
    /// libsession-util and the Session apps store.
    ///
    /// # Errors
    /// [`Error::MismatchedKeyPair`] if the second half is not the public key of the first: the
    /// bytes are corrupt, and using them would sign under a key nobody can verify.
    pub fn from_libsodium_secret_key(secret_key: &[u8; 64]) -> Result<Self> {
        let (seed, public) = secret_key.split_at(32);
        let mut seed_bytes = Zeroizing::new([0u8; 32]);
        seed_bytes.copy_from_slice(seed);
        let identity = Self::from_seed(&Seed::from_bytes(*seed_bytes));
        if bool::from(identity.ed25519_public.as_bytes().as_slice().ct_eq(public)) {
            Ok(identity)
        } else {
            Err(Error::MismatchedKeyPair)
        }
    }

    /// The 32-byte seed everything derives from. It is the account's secret.
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// The recovery phrase: 13 words for accounts made from an [`AccountSeed`], 25 for older
    /// accounts with a full 32-byte seed.
    pub fn recovery_phrase(&self) -> RecoveryPhrase {
        RecoveryPhrase::from_seed(&self.seed)
    }

    /// The account's Session ID, `05` and its X25519 public key.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The Ed25519 public key.
    pub fn ed25519_public_key(&self) -> &Ed25519PublicKey {
        &self.ed25519_public
    }

    /// The X25519 public key (the key inside the Session ID).
    pub fn x25519_public_key(&self) -> &X25519PublicKey {
        self.session_id.x25519_public_key()
    }

    /// The X25519 secret key: the clamped Ed25519 secret scalar, as libsodium's
    /// `crypto_sign_ed25519_sk_to_curve25519` gives it.
    pub fn x25519_secret_key(&self) -> &X25519SecretKey {
        &self.x25519_secret
    }

    /// The libsodium 64-byte secret key, `seed ‖ Ed25519 public key`.
    pub fn to_libsodium_secret_key(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        let (seed, public) = out.split_at_mut(32);
        seed.copy_from_slice(self.seed.as_bytes());
        public.copy_from_slice(self.ed25519_public.as_bytes());
        out
    }

    /// An Ed25519 signature (RFC 8032, deterministic) of `message`, as libsodium's
    /// `crypto_sign_detached` makes it.
    pub fn sign(&self, message: &[u8]) -> Signature {
        #[cfg(feature = "aws-lc")]
        if crate::curve::active() == crate::curve::Backend::AwsLc {
            let key = self.aws_lc.get_or_init(|| {
                crate::curve::aws_lc::ed25519_key(
                    self.seed.as_bytes(),
                    self.ed25519_public.as_bytes(),
                )
            });
            if let Some(bytes) =
                key.as_ref().and_then(|k| crate::curve::aws_lc::ed25519_sign(k, message))
            {
                return Signature::from_bytes(&bytes);
            }
        }
        raw_sign::<Sha512>(&self.expanded, message, &self.verifying)
    }

    /// The secret scalar `a` (reduced modulo `L`), for the blinding code.
    pub(crate) fn secret_scalar(&self) -> &curve25519_dalek::Scalar {
        &self.expanded.scalar
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            seed: self.seed.clone(),
            expanded: ExpandedSecretKey {
                scalar: self.expanded.scalar,
                hash_prefix: self.expanded.hash_prefix,
            },
            verifying: self.verifying,
            ed25519_public: self.ed25519_public,
            x25519_secret: self.x25519_secret.clone(),
            session_id: self.session_id,
            #[cfg(feature = "aws-lc")]
            aws_lc: std::sync::OnceLock::new(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("session_id", &self.session_id)
            .field("secret", &"<secret>")
            .finish()
    }
}
