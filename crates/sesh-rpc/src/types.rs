//! Account keys, namespaces and subaccount tokens as the storage server reads them.

use core::fmt;

use crate::encoding::is_hex;

/// An account id as the storage server addresses it: a network prefix byte (`05` Session ID,
/// `03` group, …) and 32 key bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId {
    prefix: u8,
    key: [u8; 32],
}

impl AccountId {
    /// The id with this prefix and key.
    pub const fn new(prefix: u8, key: [u8; 32]) -> Self {
        Self { prefix, key }
    }

    /// Loads a `pubkey` parameter as the mainnet server does: 66 hex digits, or 33 raw bytes.
    pub fn load(text: &str) -> Option<Self> {
        let bytes: Vec<u8> = if text.len() == 66 && is_hex(text) {
            hex::decode(text).ok()?
        } else if text.len() == 33 {
            text.as_bytes().to_vec()
        } else {
            return None;
        };
        let (prefix, key) = bytes.split_first()?;
        Some(Self { prefix: *prefix, key: key.try_into().ok()? })
    }

    /// The prefix byte.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The 32 key bytes.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// 66 lowercase hex digits, prefix first (what node signatures include).
    pub fn prefixed_hex(&self) -> String {
        let mut out = hex::encode([self.prefix]);
        out.push_str(&hex::encode(self.key));
        out
    }

    /// The 33 bytes.
    pub fn to_bytes(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = self.prefix;
        out[1..].copy_from_slice(&self.key);
        out
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefixed_hex())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({self})")
    }
}

/// A message namespace, −32768 … 32767.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(pub i16);

impl Namespace {
    /// Namespace 0: ordinary messages.
    pub const DEFAULT: Self = Self(0);
    /// −10: legacy closed groups (no auth to retrieve).
    pub const LEGACY_CLOSED: Self = Self(-10);

    /// `ns % 10 == 0` (C++ remainder): anyone may store, with the shorter TTL limit.
    pub fn is_public_inbox(self) -> bool {
        self.0 % 10 == 0
    }

    /// `ns < 0 && −ns % 20 == 1`: retrieval needs no auth; a store replaces the rest.
    pub fn is_public_outbox(self) -> bool {
        let n = i32::from(self.0);
        n < 0 && (-n) % 20 == 1
    }

    /// −10 and the public outboxes: `retrieve` without a signature.
    pub fn is_noauth_retrieve(self) -> bool {
        self == Self::LEGACY_CLOSED || self.is_public_outbox()
    }

    /// `ns < 0 && −ns % 100 == 11`: a revoked subaccount may still retrieve.
    pub fn is_unrevocable(self) -> bool {
        let n = i32::from(self.0);
        n < 0 && (-n) % 100 == 11
    }

    /// What signatures and hashes use: empty for 0, else the decimal value.
    pub fn signature_part(self) -> String {
        if self.0 == 0 { String::new() } else { self.0.to_string() }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A namespace, or all of them (delete_all, delete_before, expire_all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NamespaceSel {
    /// One namespace.
    One(Namespace),
    /// `"all"`.
    All,
}

impl NamespaceSel {
    /// What the request signature uses: empty for 0, `all`, or the decimal value.
    pub fn signature_part(self) -> String {
        match self {
            Self::One(ns) => ns.signature_part(),
            Self::All => "all".to_owned(),
        }
    }
}

/// Subaccount permission flags.
pub mod access {
    /// May retrieve.
    pub const READ: u8 = 0x01;
    /// May store (and extend expiries).
    pub const WRITE: u8 = 0x02;
    /// May delete (and shorten expiries).
    pub const DELETE: u8 = 0x04;
    /// Valid for any network prefix of the account.
    pub const ANY_PREFIX: u8 = 0x08;
}

/// A 36-byte subaccount token: prefix, flags, two reserved bytes, the subaccount's Ed25519 key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubaccountToken(pub [u8; 36]);

impl SubaccountToken {
    /// The network prefix it is for.
    pub fn prefix(&self) -> u8 {
        self.0[0]
    }

    /// Its flags.
    pub fn flags(&self) -> u8 {
        self.0[1]
    }

    /// The subaccount's Ed25519 key.
    pub fn pubkey(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(&self.0[4..]);
        key
    }

    /// Whether it may be used for an account with `prefix`.
    pub fn prefix_allowed(&self, prefix: u8) -> bool {
        self.prefix() == prefix || self.flags() & access::ANY_PREFIX != 0
    }

    /// Whether it carries every flag in `required`.
    pub fn has(&self, required: u8) -> bool {
        self.flags() & required == required
    }
}

impl fmt::Debug for SubaccountToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubaccountToken({})", hex::encode(self.0))
    }
}

/// A subaccount token with the account key's signature over its 36 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedSubaccount {
    /// The token.
    pub token: SubaccountToken,
    /// The account key's signature over the token.
    pub signature: [u8; 64],
}

/// `b64_unpadded(BLAKE2b-256(prefix ‖ key ‖ NS ‖ data))`: a message's id (43 characters), `NS`
/// being empty for namespace 0 and otherwise its decimal value.
///
/// ```
/// use sesh_rpc::{message_hash, AccountId, Namespace};
///
/// let id = AccountId::load("05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48").unwrap();
/// assert_eq!(message_hash(&id, Namespace(0), b"hello"), "tse7cPdGXVWduXXcEKR/FS0RYFBYv/dQ0HmjzQMyqQo");
/// assert_eq!(message_hash(&id, Namespace(-10), b"hello"), "d48BWNFAd57PyvUMrGK2bqjeTNLkHhnUPWHo6MZOBZQ");
/// ```
pub fn message_hash(account: &AccountId, namespace: Namespace, data: &[u8]) -> String {
    let ns = namespace.signature_part();
    let digest: [u8; 32] =
        sesh_identity::hash::blake2b(b"", &[&[account.prefix], &account.key, ns.as_bytes(), data]);
    crate::encoding::to_base64_unpadded(&digest)
}
