//! X25519, the one place sesh does it: key generation and Diffie-Hellman for sesh-identity,
//! sesh-envelope and sesh-onion, with the all-zero check that makes every backend refuse what
//! libsodium's `crypto_scalarmult` refuses.
//!
//! Diffie-Hellman is nearly all the cost of building and peeling onion requests and of 1:1
//! encryption, so the arithmetic comes from the fastest backend compiled in. Every backend
//! computes the same function — RFC 7748 X25519, the scalar clamped, the top bit of the peer's
//! `u` ignored and non-canonical `u` reduced — and is checked bit for bit against the others
//! (`tests/backends.rs`): choosing one changes speed and build requirements, never bytes.
//!
//! | backend | cargo feature | DH (key loaded) | new key pair | needs |
//! |---|---|---|---|---|
//! | [`Backend::AwsLc`] | `aws-lc` (default) | 16.8 µs | 4.8 µs | a C compiler (aws-lc-sys builds AWS-LC with `cc`) |
//! | [`Backend::Graviola`] | `graviola` (opt-in, x86-64 only; used when aws-lc is not compiled in) | 16.3 µs | 4.7 µs | Rust ≥ 1.89, and at run time AES, PCLMULQDQ, AVX2, BMI1/2 and ADX; without them sesh falls back |
//! | [`Backend::PureRust`] | always there; `pure-rust` makes it the default | 36.1 µs | 12.2 µs | nothing (curve25519-dalek) |
//!
//! (Measured by `cargo bench -p sesh-benches --features graviola --bench backends` on a 2-core
//! Intel x86-64 VM; libsodium's DH is about 31 µs there. On a 2-core AMD EPYC VM the same bench
//! gives 21–24 µs / 6–7 µs for aws-lc and graviola and 52–57 µs / 16–19 µs for pure Rust, with
//! libsodium at 33 µs: the fast backends keep their lead over libsodium, pure Rust loses it.)
//!
//! With AWS-LC active, Ed25519 signing and verification use it too: it signs in 7.8 µs where
//! ed25519-dalek takes 15.0 µs, with the same bytes (Ed25519 is deterministic), and verifies in
//! 25.1 µs against 27.8 µs. On the AMD EPYC VM it signs in 8.6–12 µs against 17–23 µs, and
//! verification is at par (29–34 µs both); sesh's libsodium checks add 0.2–0.7 µs.
//! Verification keeps libsodium's rules exactly: sesh checks `S < L` and refuses a low-order `R`
//! (and the key was checked when parsed: canonical, not of low order) before AWS-LC checks the
//! same cofactorless equation, comparing `R` byte for byte.
//! Batch verification (the staking ledger's) stays with ed25519-zebra.
//!
//! Keys are loaded into a backend once: an [`X25519SecretKey`](crate::X25519SecretKey) keeps
//! what the backend made of it (AWS-LC derives the public key whenever it loads a private key),
//! so a node's key that peels every request, or an ephemeral key whose public key is sent before
//! its one key exchange, is loaded once; an [`Identity`](crate::Identity) loads its signing key
//! into AWS-LC at its first signature.
//!
//! The backend in use is [`active`]: pure Rust if the `pure-rust` feature is on, else aws-lc if
//! compiled in (it also does Ed25519), else graviola if compiled in and the CPU has what it
//! needs, else pure Rust. So graviola serves builds without C: `default-features = false,
//! features = ["graviola"]`.
//! [`select`] changes it at run time for the whole process (benches compare the backends in one
//! run with it).
//!
//! ```
//! use sesh_identity::curve::{self, Backend};
//!
//! assert!(Backend::PureRust.is_available());
//! assert!(curve::available().any(|b| b == curve::active()));
//! ```

use core::sync::atomic::{AtomicU8, Ordering};

use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

#[cfg(feature = "aws-lc")]
pub(crate) mod aws_lc;
mod dalek;
#[cfg(all(feature = "graviola", target_arch = "x86_64"))]
mod graviola;

/// An implementation of X25519.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// curve25519-dalek: pure Rust, always compiled in.
    PureRust,
    /// aws-lc-rs (AWS-LC's formally verified X25519 assembly where the CPU has it).
    AwsLc,
    /// graviola: pure Rust with formally verified assembly, x86-64 only.
    Graviola,
}

/// How many backends there are.
pub(crate) const BACKENDS: usize = 3;

/// Every backend, the preferred last (so that [`auto`] takes the last available): aws-lc before
/// graviola, which is as fast for X25519 but leaves Ed25519 to ed25519-dalek.
const ALL: [Backend; BACKENDS] = [Backend::PureRust, Backend::Graviola, Backend::AwsLc];

impl Backend {
    /// Its name, as the cargo feature spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PureRust => "pure-rust",
            Self::AwsLc => "aws-lc",
            Self::Graviola => "graviola",
        }
    }

    /// Whether it is compiled in and can run on this CPU.
    pub fn is_available(self) -> bool {
        match self {
            Self::PureRust => true,
            Self::AwsLc => cfg!(feature = "aws-lc"),
            Self::Graviola => graviola_runs_here(),
        }
    }

    /// A slot of its own among [`BACKENDS`].
    pub(crate) const fn index(self) -> usize {
        self.tag() as usize - 1
    }

    const fn tag(self) -> u8 {
        match self {
            Self::PureRust => 1,
            Self::AwsLc => 2,
            Self::Graviola => 3,
        }
    }
}

impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(all(feature = "graviola", target_arch = "x86_64"))]
fn graviola_runs_here() -> bool {
    graviola::runs_here()
}

#[cfg(not(all(feature = "graviola", target_arch = "x86_64")))]
const fn graviola_runs_here() -> bool {
    false
}

/// The backends compiled in that run on this CPU.
pub fn available() -> impl Iterator<Item = Backend> {
    ALL.into_iter().filter(|b| b.is_available())
}

/// The backend the features choose: see the [module docs](self).
pub fn auto() -> Backend {
    if cfg!(feature = "pure-rust") {
        return Backend::PureRust;
    }
    available().last().unwrap_or(Backend::PureRust)
}

/// 0: not chosen yet (then [`auto`]); otherwise a [`Backend::tag`].
static SELECTED: AtomicU8 = AtomicU8::new(0);

/// The backend every X25519 operation of this process uses now.
pub fn active() -> Backend {
    let tag = SELECTED.load(Ordering::Relaxed);
    ALL.into_iter().find(|b| b.tag() == tag).unwrap_or_else(auto)
}

/// Makes `backend` the one every X25519 operation of this process uses from now on. All
/// backends give the same bytes, so this is safe to call at any time, from any thread.
///
/// # Errors
/// [`Error::BackendUnavailable`] if it is not compiled in or cannot run on this CPU; the
/// active backend is then unchanged.
pub fn select(backend: Backend) -> Result<()> {
    if !backend.is_available() {
        return Err(Error::BackendUnavailable { backend: backend.name() });
    }
    SELECTED.store(backend.tag(), Ordering::Relaxed);
    Ok(())
}

/// An X25519 secret key loaded into a backend, for keys used more than once: AWS-LC derives the
/// public key whenever it loads a private key, so an ephemeral key whose public key is sent and
/// which then does one DH, or a node's key that peels every request, is loaded once.
pub(crate) enum Prepared {
    /// curve25519-dalek works from the bytes: nothing to keep.
    PureRust,
    /// AWS-LC's loaded key (its memory is cleansed when freed).
    #[cfg(feature = "aws-lc")]
    AwsLc(aws_lc_rs::agreement::PrivateKey),
    /// graviola's key (zeroised on drop).
    #[cfg(all(feature = "graviola", target_arch = "x86_64"))]
    Graviola(::graviola::key_agreement::x25519::StaticPrivateKey),
}

impl Prepared {
    /// Loads `secret` into `backend` (which must be available).
    #[cfg_attr(
        not(any(feature = "aws-lc", all(feature = "graviola", target_arch = "x86_64"))),
        allow(unused_variables)
    )]
    pub(crate) fn new(backend: Backend, secret: &[u8; 32]) -> Self {
        match backend {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => aws_lc::prepare(secret).map_or(Self::PureRust, Self::AwsLc),
            #[cfg(all(feature = "graviola", target_arch = "x86_64"))]
            Backend::Graviola => Self::Graviola(graviola::prepare(secret)),
            _ => Self::PureRust,
        }
    }

    /// `X25519(clamp(secret), 9)`: the public key. `secret` is the key it was loaded from.
    pub(crate) fn public_key(&self, secret: &[u8; 32]) -> [u8; 32] {
        match self {
            #[cfg(feature = "aws-lc")]
            Self::AwsLc(key) => {
                aws_lc::public_key(key).unwrap_or_else(|| dalek::public_key(secret))
            }
            #[cfg(all(feature = "graviola", target_arch = "x86_64"))]
            Self::Graviola(key) => graviola::public_key(key),
            Self::PureRust => dalek::public_key(secret),
        }
    }

    /// `X25519(clamp(secret), peer)`, refused as libsodium's `crypto_scalarmult` refuses it:
    /// when the result is all zeros, which happens exactly when `peer` is of low order.
    ///
    /// # Errors
    /// [`Error::LowOrderPoint`].
    pub(crate) fn diffie_hellman(&self, secret: &[u8; 32], peer: &[u8; 32]) -> Result<[u8; 32]> {
        let shared = match self {
            #[cfg(feature = "aws-lc")]
            Self::AwsLc(key) => aws_lc::diffie_hellman(key, peer),
            #[cfg(all(feature = "graviola", target_arch = "x86_64"))]
            Self::Graviola(key) => graviola::diffie_hellman(key, peer),
            Self::PureRust => None,
        };
        // aws-lc and graviola refuse an all-zero result themselves (and aws-lc could fail for
        // other reasons): what they refuse is recomputed here, so that the one rule below
        // decides.
        let shared = shared.unwrap_or_else(|| dalek::diffie_hellman(secret, peer));
        if bool::from(shared.ct_eq(&[0u8; 32])) {
            return Err(Error::LowOrderPoint { what: "X25519 public key" });
        }
        Ok(shared)
    }
}

/// The raw function of one backend, all-zero results included, for the cross-checks.
#[doc(hidden)]
pub fn raw_x25519(backend: Backend, secret: &[u8; 32], peer: &[u8; 32]) -> Option<[u8; 32]> {
    match backend {
        Backend::PureRust => Some(dalek::diffie_hellman(secret, peer)),
        #[cfg(feature = "aws-lc")]
        Backend::AwsLc => {
            let key = aws_lc::prepare(secret)?;
            Some(aws_lc::diffie_hellman(&key, peer).unwrap_or([0; 32]))
        }
        #[cfg(all(feature = "graviola", target_arch = "x86_64"))]
        Backend::Graviola if graviola::runs_here() => {
            Some(graviola::diffie_hellman(&graviola::prepare(secret), peer).unwrap_or([0; 32]))
        }
        _ => None,
    }
}

/// The raw public-key function of one backend, for the cross-checks.
#[doc(hidden)]
pub fn raw_public_key(backend: Backend, secret: &[u8; 32]) -> Option<[u8; 32]> {
    match backend {
        Backend::PureRust => Some(dalek::public_key(secret)),
        #[cfg(feature = "aws-lc")]
        Backend::AwsLc => aws_lc::public_key(&aws_lc::prepare(secret)?),
        #[cfg(all(feature = "graviola", target_arch = "x86_64"))]
        Backend::Graviola if graviola::runs_here() => {
            Some(graviola::public_key(&graviola::prepare(secret)))
        }
        _ => None,
    }
}
