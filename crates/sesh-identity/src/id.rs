//! Session IDs and the other prefixed IDs: 33 bytes, a prefix byte and a 32-byte key, written
//! as 66 hex digits.

use core::fmt;
use core::str::FromStr;

use crate::error::{Error, Result};
use crate::keys::{Ed25519PublicKey, X25519PublicKey};
use crate::{point, text};

/// The prefix byte of an ID, which says what kind of key follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[non_exhaustive]
pub enum IdPrefix {
    /// `00`: an unblinded community identity, the plain Ed25519 key (for communities that do
    /// not blind).
    Unblinded = 0x00,
    /// `03`: a group ("closed group v2"), the group's Ed25519 key.
    Group = 0x03,
    /// `05`: a user's Session ID (account ID), an X25519 key.
    Standard = 0x05,
    /// `07`: a version-blinded Ed25519 key, for requests to Session's own servers.
    VersionBlinded = 0x07,
    /// `15`: a community-blinded Ed25519 key, legacy ("15") blinding.
    Blinded15 = 0x15,
    /// `25`: a community-blinded Ed25519 key, "25" blinding.
    Blinded25 = 0x25,
}

impl IdPrefix {
    /// The prefix for a byte, if it is one of the known prefixes.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0x00 => Self::Unblinded,
            0x03 => Self::Group,
            0x05 => Self::Standard,
            0x07 => Self::VersionBlinded,
            0x15 => Self::Blinded15,
            0x25 => Self::Blinded25,
            _ => return None,
        })
    }

    /// The prefix byte.
    pub const fn as_byte(self) -> u8 {
        self as u8
    }
}

/// Parses 66 hex digits into a prefix byte and 32 key bytes.
fn parse_prefixed(s: &str, what: &'static str) -> Result<(u8, [u8; 32])> {
    Ok(split(&text::parse_hex::<33>(s, what)?))
}

fn split(bytes: &[u8; 33]) -> (u8, [u8; 32]) {
    let [prefix, key @ ..] = *bytes;
    (prefix, key)
}

fn join(prefix: u8, key: &[u8; 32]) -> [u8; 33] {
    let mut out = [prefix; 33];
    for (o, k) in out.iter_mut().skip(1).zip(key) {
        *o = *k;
    }
    out
}

/// The byte and text forms every ID type shares: `from_bytes` and `TryFrom<&[u8]>` (33 bytes),
/// `FromStr` (66 hex digits), `Display` (lowercase hex) and a `Debug` that shows the ID. Each
/// type has `WHAT`, `with_prefix` and `to_bytes`.
macro_rules! id_forms {
    ($($ty:ident: $parses:literal),* $(,)?) => {$(
        impl $ty {
            /// Parses the 33-byte form: the prefix byte and the 32-byte key.
            ///
            /// # Errors
            /// [`Error::WrongPrefix`] for a prefix of another kind of ID, or the error of the
            /// key rule the 32 bytes break.
            pub fn from_bytes(bytes: &[u8; 33]) -> Result<Self> {
                let (prefix, key) = split(bytes);
                Self::with_prefix(prefix, key)
            }
        }

        impl TryFrom<&[u8]> for $ty {
            type Error = Error;
            fn try_from(bytes: &[u8]) -> Result<Self> {
                Self::from_bytes(&text::array(bytes, Self::WHAT)?)
            }
        }

        impl FromStr for $ty {
            type Err = Error;
            #[doc = $parses]
            fn from_str(s: &str) -> Result<Self> {
                let (prefix, key) = parse_prefixed(s, Self::WHAT)?;
                Self::with_prefix(prefix, key)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                text::write_hex(f, &self.to_bytes())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self)
            }
        }
    )*};
}

id_forms! {
    SessionId: "Parses 66 hex digits (either case) starting with `05`.",
    GroupId: "Parses 66 hex digits (either case) starting with `03`.",
    BlindedId: "Parses 66 hex digits (either case) starting with `15` or `25`.",
    AnyId: "Parses 66 hex digits (either case) with any known prefix.",
}

/// A user's Session ID: `05` followed by the account's X25519 public key.
///
/// Every `SessionId` holds a key that some secret key could have made: canonically encoded, a
/// point of the curve (not of its twist), not of low order, and in the prime-order subgroup.
/// The parser says which of these rules an input breaks. (libsession-util accepts any 32 bytes
/// here and refuses the same keys later, when it blinds them.)
///
/// ```
/// use sesh_identity::{Error, SessionId};
///
/// let id: SessionId = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72".parse()?;
/// assert_eq!(id.to_string(), "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72");
///
/// let blinded = "15d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72";
/// assert!(matches!(blinded.parse::<SessionId>(), Err(Error::WrongPrefix { found: 0x15, .. })));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(X25519PublicKey);

impl SessionId {
    /// The prefix byte, `05`.
    pub const PREFIX: u8 = IdPrefix::Standard as u8;

    const WHAT: &'static str = "Session ID";

    /// The Session ID of an X25519 public key.
    ///
    /// # Errors
    /// [`Error::NonCanonical`], [`Error::NotOnCurve`], [`Error::LowOrderPoint`] or
    /// [`Error::NotInPrimeOrderSubgroup`] if the key is not one a secret key can make.
    pub fn from_x25519(key: X25519PublicKey) -> Result<Self> {
        if !point::is_canonical_u(key.as_bytes()) {
            return Err(Error::NonCanonical { what: Self::WHAT });
        }
        let point = point::montgomery_to_positive_edwards(key.as_bytes(), Self::WHAT)?;
        point::require_prime_order(&point, Self::WHAT)?;
        Ok(Self(key))
    }

    /// The Session ID of an account's Ed25519 public key (libsodium's
    /// `crypto_sign_ed25519_pk_to_curve25519`).
    ///
    /// # Errors
    /// [`Error::NotInPrimeOrderSubgroup`] if the key has a torsion component.
    pub fn from_ed25519(key: &Ed25519PublicKey) -> Result<Self> {
        // `to_x25519` checks the subgroup, and the image of a valid key is valid.
        Ok(Self(key.to_x25519()?))
    }

    /// A key this crate derived from a secret key, which is valid by construction.
    pub(crate) const fn from_valid(key: X25519PublicKey) -> Self {
        Self(key)
    }

    fn with_prefix(prefix: u8, key: [u8; 32]) -> Result<Self> {
        if prefix != Self::PREFIX {
            return Err(Error::WrongPrefix { what: Self::WHAT, expected: "05", found: prefix });
        }
        Self::from_x25519(X25519PublicKey::from_bytes(key))
    }

    /// The 33-byte form.
    pub fn to_bytes(&self) -> [u8; 33] {
        join(Self::PREFIX, self.0.as_bytes())
    }

    /// The account's X25519 public key.
    pub const fn x25519_public_key(&self) -> &X25519PublicKey {
        &self.0
    }
}

/// A group's ID: `03` followed by the group's Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(Ed25519PublicKey);

impl GroupId {
    /// The prefix byte, `03`.
    pub const PREFIX: u8 = IdPrefix::Group as u8;

    const WHAT: &'static str = "group ID";

    /// The ID of a group's Ed25519 key.
    pub const fn from_ed25519(key: Ed25519PublicKey) -> Self {
        Self(key)
    }

    fn with_prefix(prefix: u8, key: [u8; 32]) -> Result<Self> {
        if prefix != Self::PREFIX {
            return Err(Error::WrongPrefix { what: Self::WHAT, expected: "03", found: prefix });
        }
        Ok(Self(Ed25519PublicKey::decode(&key, Self::WHAT)?))
    }

    /// The 33-byte form.
    pub fn to_bytes(&self) -> [u8; 33] {
        join(Self::PREFIX, self.0.as_bytes())
    }

    /// The group's Ed25519 public key.
    pub const fn ed25519_public_key(&self) -> &Ed25519PublicKey {
        &self.0
    }
}

/// Which community blinding made a [`BlindedId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Blinding {
    /// Legacy blinding (`15`): the factor depends only on the server, and the ID of a Session ID
    /// is known only up to its sign bit.
    Blind15,
    /// `25` blinding: the factor depends on the Session ID and the server; the ID is unique.
    Blind25,
}

impl Blinding {
    /// The prefix byte of this kind of ID.
    pub const fn prefix(self) -> u8 {
        match self {
            Self::Blind15 => IdPrefix::Blinded15 as u8,
            Self::Blind25 => IdPrefix::Blinded25 as u8,
        }
    }
}

/// A community-blinded ID: `15` or `25` followed by a blinded Ed25519 public key.
///
/// The key verifies the blinded signatures its owner makes ([`BlindedId::verify`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindedId {
    blinding: Blinding,
    key: Ed25519PublicKey,
}

impl BlindedId {
    const WHAT: &'static str = "blinded ID";

    /// A blinded ID from its kind and key.
    pub const fn new(blinding: Blinding, key: Ed25519PublicKey) -> Self {
        Self { blinding, key }
    }

    fn with_prefix(prefix: u8, key: [u8; 32]) -> Result<Self> {
        let blinding = match IdPrefix::from_byte(prefix) {
            Some(IdPrefix::Blinded15) => Blinding::Blind15,
            Some(IdPrefix::Blinded25) => Blinding::Blind25,
            _ => {
                return Err(Error::WrongPrefix {
                    what: Self::WHAT,
                    expected: "15 or 25",
                    found: prefix,
                });
            }
        };
        Ok(Self { blinding, key: Ed25519PublicKey::decode(&key, Self::WHAT)? })
    }

    /// Which blinding made the ID.
    pub const fn blinding(&self) -> Blinding {
        self.blinding
    }

    /// The blinded Ed25519 public key.
    pub const fn ed25519_public_key(&self) -> &Ed25519PublicKey {
        &self.key
    }

    /// The 33-byte form.
    pub fn to_bytes(&self) -> [u8; 33] {
        join(self.blinding.prefix(), self.key.as_bytes())
    }

    /// Checks a blinded signature, which is an ordinary Ed25519 signature by the blinded key.
    ///
    /// # Errors
    /// [`Error::InvalidSignature`].
    pub fn verify(&self, message: &[u8], signature: &crate::Signature) -> Result<()> {
        self.key.verify(message, signature)
    }
}

/// Any of the prefixed IDs, told apart by their prefix: what a client gets when a person pastes
/// an ID.
///
/// ```
/// use sesh_identity::{AnyId, IdPrefix};
///
/// let id: AnyId = "25a69cc6884530bf8498d22892e563716c4742f2845a7eb608de2aecbe7b6b5996".parse()?;
/// assert_eq!(id.prefix(), IdPrefix::Blinded25);
/// # Ok::<(), sesh_identity::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AnyId {
    /// `05`.
    Session(SessionId),
    /// `03`.
    Group(GroupId),
    /// `15` or `25`.
    Blinded(BlindedId),
    /// `00`: an unblinded community key.
    Unblinded(Ed25519PublicKey),
    /// `07`: a version-blinded key.
    VersionBlinded(Ed25519PublicKey),
}

impl AnyId {
    const WHAT: &'static str = "ID";

    /// The prefix of this ID.
    pub const fn prefix(&self) -> IdPrefix {
        match self {
            Self::Session(_) => IdPrefix::Standard,
            Self::Group(_) => IdPrefix::Group,
            Self::Blinded(id) => match id.blinding {
                Blinding::Blind15 => IdPrefix::Blinded15,
                Blinding::Blind25 => IdPrefix::Blinded25,
            },
            Self::Unblinded(_) => IdPrefix::Unblinded,
            Self::VersionBlinded(_) => IdPrefix::VersionBlinded,
        }
    }

    fn with_prefix(prefix: u8, key: [u8; 32]) -> Result<Self> {
        Ok(match IdPrefix::from_byte(prefix) {
            Some(IdPrefix::Standard) => Self::Session(SessionId::with_prefix(prefix, key)?),
            Some(IdPrefix::Group) => Self::Group(GroupId::with_prefix(prefix, key)?),
            Some(IdPrefix::Blinded15 | IdPrefix::Blinded25) => {
                Self::Blinded(BlindedId::with_prefix(prefix, key)?)
            }
            Some(IdPrefix::Unblinded) => Self::Unblinded(Ed25519PublicKey::decode(&key, "ID")?),
            Some(IdPrefix::VersionBlinded) => {
                Self::VersionBlinded(Ed25519PublicKey::decode(&key, "ID")?)
            }
            None => {
                return Err(Error::WrongPrefix {
                    what: Self::WHAT,
                    expected: "one of 00, 03, 05, 07, 15 or 25",
                    found: prefix,
                });
            }
        })
    }

    /// The 33-byte form.
    pub fn to_bytes(&self) -> [u8; 33] {
        match self {
            Self::Session(id) => id.to_bytes(),
            Self::Group(id) => id.to_bytes(),
            Self::Blinded(id) => id.to_bytes(),
            Self::Unblinded(key) | Self::VersionBlinded(key) => {
                join(self.prefix().as_byte(), key.as_bytes())
            }
        }
    }
}

impl From<SessionId> for AnyId {
    fn from(id: SessionId) -> Self {
        Self::Session(id)
    }
}
impl From<GroupId> for AnyId {
    fn from(id: GroupId) -> Self {
        Self::Group(id)
    }
}
impl From<BlindedId> for AnyId {
    fn from(id: BlindedId) -> Self {
        Self::Blinded(id)
    }
}
