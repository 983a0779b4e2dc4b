//! Uptime proofs as oxend makes, signs and accepts them (`uptime_proof::Proof`,
//! `service_node_list::handle_uptime_proof`; oxen-core `b208672`, version 11.0.6), in their
//! HF21 form.
//!
//! **What is sent.** The proof is a bencoded dict (`bt_encode_uptime_proof`), its keys in
//! bencode's sorted order:
//!
//! | key | value |
//! |---|---|
//! | `ip` | the node's public IPv4 address as dotted-quad text |
//! | `l2` | the L2 (Arbitrum) height the node has seen; must not be 0 from HF21 |
//! | `lv` | the lokinet version, a list of three integers |
//! | `pk` | the primary key, only when it differs from `pke` (refused from HF21) |
//! | `pke` | the node's Ed25519 public key, 32 bytes |
//! | `q` | the quorumnet port; must not be 0 |
//! | `shp` | the storage server's HTTPS port |
//! | `sop` | the storage server's OxenMQ port |
//! | `sv` | the storage server version, three integers |
//! | `t` | the timestamp, Unix seconds |
//! | `v` | the oxend version, three integers |
//!
//! (HF20 adds `bk` and `bp`, the BLS key and its proof of possession; not made here.) With it
//! goes `ed_sig`: the Ed25519 signature (libsodium's `crypto_sign_detached`) by `pke` of the
//! 32-byte Keccak-256 hash (`crypto::keccak`, `cn_fast_hash`'s original padding) of the bencoded
//! bytes as sent, so a receiver hashes the bytes it got, unknown keys included. From HF21 no
//! second (CryptoNote) signature is sent.
//!
//! **What is accepted** ([`accept`]), in oxend's order: storage ports not 0 (on networks with
//! storage servers), the timestamp within ±5 min of the receiver's clock, the versions at least
//! HF21 rev 2's minimums, a public IP, `pk` = `pke`, a usable Ed25519 key, the signature, and no
//! other proof of the node accepted in the last 30 min (half the proof frequency, measured from
//! the receiver's clock when it accepted the last one). Whether the node is registered is the
//! receiver's to check.
//!
//! **Timings** ([`ProofTimings`]): mainnet's, or scaled from 2-minute blocks to a network's
//! block time. The proof's timestamp has one-second resolution, so a scaled tolerance is never
//! below [`MIN_TOLERANCE_MS`].
//!
//! ```
//! use sesh_identity::{Identity, Seed};
//! use sesh_quorum::proof::{ProofRules, UptimeProof, accept};
//!
//! let node = Identity::from_seed(&Seed::from_bytes([7; 32]));
//! let now_ms = 1_700_000_000_000;
//! let proof = UptimeProof::new(&node, [2, 8, 0], "203.0.113.5".parse()?, 22021, 1234, now_ms / 1000);
//! let signed = proof.sign(&node);
//! assert!(signed.encoded().starts_with(b"d2:ip11:203.0.113.52:l2i1234e"));
//!
//! let rules = ProofRules::local(120_000); // mainnet's, but no lokinet and local IPs allowed
//! assert_eq!(accept(&signed, None, now_ms, &rules), Ok(()));
//! // A second proof 10 minutes later is too soon.
//! assert!(accept(&signed, Some(now_ms), now_ms + 600_000, &rules).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::Ipv4Addr;

use sesh_identity::{Identity, NodeId, Signature};
use sha3::{Digest as _, Keccak256};

use crate::error::{Error, Result};

/// The oxend version a sesh node reports: the release whose rules sesh follows (oxen-core's
/// `OXEN_VERSION` at `b208672`, CMake `VERSION 11.0.6`), which is also HF21 rev 2's minimum.
pub const OXEND_VERSION: [u16; 3] = [11, 0, 6];

/// The lokinet version a sesh node reports: none (`0.0.0`), as sesh runs no lokinet. Mainnet
/// rules refuse it ([`ProofRules::mainnet`]); a sesh network's ([`ProofRules::local`]) do not ask
/// for one.
pub const LOKINET_VERSION: [u16; 3] = [0, 0, 0];

/// A block of the live network, in ms.
pub const LIVE_BLOCK_MS: u64 = 120_000;

/// The smallest timestamp tolerance of scaled timings: two of the timestamp's seconds.
pub const MIN_TOLERANCE_MS: u64 = 2_000;

/// oxend's proof timings (`network_config/mainnet.h`), in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProofTimings {
    /// `UPTIME_PROOF_TOLERANCE`: how far a proof's timestamp may be from the receiver's clock
    /// (5 min).
    pub tolerance_ms: u64,
    /// `UPTIME_PROOF_FREQUENCY`: how often a node sends one (1 h); a proof within half of it of
    /// the last accepted one is refused.
    pub frequency_ms: u64,
    /// `UPTIME_PROOF_VALIDITY`: how long an accepted proof counts (2 h 5 min).
    pub validity_ms: u64,
    /// `UPTIME_PROOF_STARTUP_DELAY`: how long a node waits after starting before its first
    /// proof (30 s).
    pub startup_delay_ms: u64,
    /// `UPTIME_PROOF_CHECK_INTERVAL`: how often a node checks whether a proof is due (30 s).
    pub check_interval_ms: u64,
}

impl ProofTimings {
    /// Mainnet's.
    pub const fn mainnet() -> Self {
        Self {
            tolerance_ms: 300_000,
            frequency_ms: 3_600_000,
            validity_ms: 7_500_000,
            startup_delay_ms: 30_000,
            check_interval_ms: 30_000,
        }
    }

    /// Mainnet's scaled from 2-minute blocks to blocks of `block_ms` (at least 1 ms); the
    /// tolerance is at least [`MIN_TOLERANCE_MS`].
    pub fn scaled(block_ms: u64) -> Self {
        let m = Self::mainnet();
        let scale = |live: u64| {
            let s = u128::from(live) * u128::from(block_ms.max(1)) / u128::from(LIVE_BLOCK_MS);
            u64::try_from(s).unwrap_or(u64::MAX)
        };
        Self {
            tolerance_ms: scale(m.tolerance_ms).max(MIN_TOLERANCE_MS),
            frequency_ms: scale(m.frequency_ms),
            validity_ms: scale(m.validity_ms),
            startup_delay_ms: scale(m.startup_delay_ms),
            check_interval_ms: scale(m.check_interval_ms),
        }
    }

    /// How long after an accepted proof another is refused: half the frequency.
    pub const fn min_interval_ms(&self) -> u64 {
        self.frequency_ms / 2
    }
}

/// The versions a proof must report at least (`MIN_UPTIME_PROOF_VERSIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MinVersions {
    /// oxend's.
    pub oxend: [u16; 3],
    /// lokinet's (checked only on networks with storage servers and lokinet).
    pub lokinet: [u16; 3],
    /// The storage server's (likewise).
    pub storage_server: [u16; 3],
}

impl MinVersions {
    /// HF21 rev 2: oxend 11.0.6, lokinet 0.9.11, storage server 2.8.0.
    pub const HF21_2: Self =
        Self { oxend: [11, 0, 6], lokinet: [0, 9, 11], storage_server: [2, 8, 0] };
}

/// What a receiver accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProofRules {
    /// The timings.
    pub timings: ProofTimings,
    /// The minimum versions.
    pub min_versions: MinVersions,
    /// `HAVE_STORAGE_AND_LOKINET`: storage ports must not be 0, and the lokinet and storage
    /// server versions are checked (mainnet, testnet; not devnet).
    pub have_storage: bool,
    /// oxend's `--dev-allow-local-ips`: private, loopback and other non-public addresses are
    /// accepted (a network on one machine).
    pub allow_local_ips: bool,
}

impl ProofRules {
    /// Mainnet's at HF21 rev 2.
    pub const fn mainnet() -> Self {
        Self {
            timings: ProofTimings::mainnet(),
            min_versions: MinVersions::HF21_2,
            have_storage: true,
            allow_local_ips: false,
        }
    }

    /// A sesh network of `block_ms` blocks: mainnet's rules with scaled timings, local
    /// addresses allowed, and no lokinet asked for ([`LOKINET_VERSION`]).
    pub fn local(block_ms: u64) -> Self {
        Self {
            timings: ProofTimings::scaled(block_ms),
            min_versions: MinVersions { lokinet: [0, 0, 0], ..MinVersions::HF21_2 },
            have_storage: true,
            allow_local_ips: true,
        }
    }
}

/// An uptime proof's content (oxend's `uptime_proof::Proof` without its signatures).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UptimeProof {
    /// oxend's version (`v`).
    pub version: [u16; 3],
    /// The storage server's version (`sv`).
    pub storage_server_version: [u16; 3],
    /// Lokinet's version (`lv`).
    pub lokinet_version: [u16; 3],
    /// Unix seconds (`t`).
    pub timestamp: u64,
    /// The primary key (`pk`, sent only when it differs from `pubkey_ed25519`).
    pub pubkey: NodeId,
    /// The Ed25519 key that signs the proof (`pke`).
    pub pubkey_ed25519: NodeId,
    /// The L2 height (`l2`).
    pub l2_height: u64,
    /// The public IP (`ip`).
    pub public_ip: Ipv4Addr,
    /// The storage server's HTTPS port (`shp`).
    pub storage_https_port: u16,
    /// The storage server's OxenMQ port (`sop`).
    pub storage_omq_port: u16,
    /// The quorumnet port (`q`).
    pub qnet_port: u16,
}

impl UptimeProof {
    /// A sesh node's proof: its key as `pk` and `pke`, [`OXEND_VERSION`], the storage server
    /// version it reports (`sesh_rpc::handler::STORAGE_SERVER_VERSION`), [`LOKINET_VERSION`],
    /// and its one port as the storage HTTPS, storage OxenMQ and quorumnet port (a sesh node
    /// serves clients, its peers and its quorums on one port).
    pub fn new(
        node: &Identity,
        storage_server_version: [u16; 3],
        public_ip: Ipv4Addr,
        port: u16,
        l2_height: u64,
        timestamp: u64,
    ) -> Self {
        let id = NodeId::from_identity(node);
        Self {
            version: OXEND_VERSION,
            storage_server_version,
            lokinet_version: LOKINET_VERSION,
            timestamp,
            pubkey: id,
            pubkey_ed25519: id,
            l2_height,
            public_ip,
            storage_https_port: port,
            storage_omq_port: port,
            qnet_port: port,
        }
    }

    /// The bencoded proof, byte for byte oxend's `bt_encode_uptime_proof` at HF21.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Bt(Vec::with_capacity(200));
        w.0.push(b'd');
        w.key("ip");
        w.string(self.public_ip.to_string().as_bytes());
        w.key("l2");
        w.int(self.l2_height);
        w.key("lv");
        w.version(self.lokinet_version);
        if self.pubkey != self.pubkey_ed25519 {
            w.key("pk");
            w.string(self.pubkey.as_bytes());
        }
        w.key("pke");
        w.string(self.pubkey_ed25519.as_bytes());
        w.key("q");
        w.int(self.qnet_port.into());
        w.key("shp");
        w.int(self.storage_https_port.into());
        w.key("sop");
        w.int(self.storage_omq_port.into());
        w.key("sv");
        w.version(self.storage_server_version);
        w.key("t");
        w.int(self.timestamp);
        w.key("v");
        w.version(self.version);
        w.0.push(b'e');
        w.0
    }

    /// Reads a bencoded proof as oxend's deserializing constructor does at HF21: keys in sorted
    /// order, unknown keys skipped, `ip` a non-zero IPv4 address, `l2` and `q` not 0.
    ///
    /// # Errors
    /// [`Error::MalformedProof`], [`Error::MissingProofKey`] or [`Error::BadProofValue`]: what is
    /// wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = BtReader { bytes, at: 0 };
        let entries = r.dict()?;
        if r.at != bytes.len() {
            return Err(malformed("bytes after the dict"));
        }
        let get = |key: &str| entries.iter().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| v);
        let need = |key: &'static str| get(key).ok_or(Error::MissingProofKey { key });
        let ip = match need("ip")? {
            Value::Str(s) => core::str::from_utf8(s).ok().and_then(|s| s.parse::<Ipv4Addr>().ok()),
            _ => None,
        };
        let public_ip =
            ip.filter(|ip| !ip.is_unspecified()).ok_or(malformed("invalid IP address"))?;
        let l2_height = need("l2")?.int("l2")?;
        if l2_height == 0 {
            return Err(malformed("invalid L2 height (0)"));
        }
        let pubkey_ed25519 = need("pke")?.key("pke")?;
        let pubkey = match get("pk") {
            Some(v) => v.key("pk")?,
            None => pubkey_ed25519,
        };
        let qnet_port = need("q")?.u16("q")?;
        if qnet_port == 0 {
            return Err(malformed("invalid quorumnet port (0)"));
        }
        Ok(Self {
            version: need("v")?.version("v")?,
            storage_server_version: need("sv")?.version("sv")?,
            lokinet_version: need("lv")?.version("lv")?,
            timestamp: need("t")?.int("t")?,
            pubkey,
            pubkey_ed25519,
            l2_height,
            public_ip,
            storage_https_port: need("shp")?.u16("shp")?,
            storage_omq_port: need("sop")?.u16("sop")?,
            qnet_port,
        })
    }

    /// Encodes and signs the proof: Ed25519 by `node` over the Keccak-256 of the encoding.
    /// (`node` should be the key the proof names as `pke`; otherwise it fails [`accept`].)
    pub fn sign(&self, node: &Identity) -> SignedProof {
        let encoded = self.encode();
        let signature = node.sign(&proof_hash(&encoded));
        SignedProof { proof: self.clone(), encoded, signature }
    }
}

/// What is signed: Keccak-256 (`cn_fast_hash`) of the bencoded proof as sent.
pub fn proof_hash(encoded: &[u8]) -> [u8; 32] {
    Keccak256::digest(encoded).into()
}

/// A proof as sent (`NOTIFY_BTENCODED_UPTIME_PROOF`'s `proof` and `ed_sig`), and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedProof {
    proof: UptimeProof,
    encoded: Vec<u8>,
    signature: Signature,
}

impl SignedProof {
    /// A received proof: its bencoded bytes and the 64 bytes of its Ed25519 signature. The
    /// signature is not checked here ([`SignedProof::verify`], [`accept`]).
    ///
    /// # Errors
    /// [`Error::MalformedProof`]: the proof does not decode, or the signature is not 64 bytes.
    pub fn from_parts(encoded: &[u8], ed_sig: &[u8]) -> Result<Self> {
        let proof = UptimeProof::decode(encoded)?;
        let sig: [u8; 64] = ed_sig.try_into().map_err(|_| malformed("ed_sig is not 64 bytes"))?;
        Ok(Self { proof, encoded: encoded.to_vec(), signature: Signature::from_bytes(&sig) })
    }

    /// The content.
    pub fn proof(&self) -> &UptimeProof {
        &self.proof
    }

    /// The bencoded bytes (`proof`).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The signature's 64 bytes (`ed_sig`).
    pub fn ed_sig(&self) -> [u8; 64] {
        self.signature.to_bytes()
    }

    /// Checks the Ed25519 signature of `pke` on the hash of the bytes.
    ///
    /// # Errors
    /// [`Error::ForgedProof`], whatever the reason.
    pub fn verify(&self) -> Result<()> {
        let node = self.proof.pubkey_ed25519;
        (node.verify(&proof_hash(&self.encoded), &self.signature))
            .map_err(|_| Error::ForgedProof { node })
    }
}

/// Whether a receiver whose clock reads `now_ms` (Unix ms) accepts `proof`, when it last
/// accepted a proof of the same node at `previous_accepted_ms` (its clock then), under `rules`:
/// oxend's checks in oxend's order (the module documentation lists them).
///
/// # Errors
/// The first rule the proof breaks: [`Error::ZeroStoragePort`], [`Error::ProofTimestamp`],
/// [`Error::OldVersion`], [`Error::NotPublicIp`], [`Error::ProofKeyMismatch`],
/// [`Error::InvalidProofKey`], [`Error::ForgedProof`], [`Error::ProofTooSoon`].
pub fn accept(
    proof: &SignedProof,
    previous_accepted_ms: Option<u64>,
    now_ms: u64,
    rules: &ProofRules,
) -> Result<()> {
    let p = &proof.proof;
    let node = p.pubkey_ed25519;
    if rules.have_storage && (p.storage_https_port == 0 || p.storage_omq_port == 0) {
        return Err(Error::ZeroStoragePort { node });
    }
    let stamped_ms = p.timestamp.saturating_mul(1000);
    if now_ms.abs_diff(stamped_ms) > rules.timings.tolerance_ms {
        return Err(Error::ProofTimestamp {
            node,
            timestamp: p.timestamp,
            now_ms,
            tolerance_ms: rules.timings.tolerance_ms,
        });
    }
    let min = rules.min_versions;
    let mut checks = vec![("oxend", p.version, min.oxend)];
    if rules.have_storage {
        checks.push(("lokinet", p.lokinet_version, min.lokinet));
        checks.push(("storage server", p.storage_server_version, min.storage_server));
    }
    if let Some((component, version, min)) = checks.into_iter().find(|(_, v, m)| v < m) {
        return Err(Error::OldVersion { node, component, version, min });
    }
    if !rules.allow_local_ips && !is_public(p.public_ip) {
        return Err(Error::NotPublicIp { node, ip: p.public_ip });
    }
    if p.pubkey != p.pubkey_ed25519 {
        return Err(Error::ProofKeyMismatch { pubkey: p.pubkey, pubkey_ed25519: node });
    }
    if node.to_x25519().map_or(true, |x| x.as_bytes() == &[0; 32]) {
        return Err(Error::InvalidProofKey { node });
    }
    proof.verify()?;
    if let Some(previous) = previous_accepted_ms {
        let next = previous.saturating_add(rules.timings.min_interval_ms());
        if now_ms <= next {
            return Err(Error::ProofTooSoon { node, previous_ms: previous, next_ms: next });
        }
    }
    Ok(())
}

/// epee's `is_ip_public`: not in 0/8, 10/8, 100.64/10 (shared), 127/8, 169.254/16, 172.16/12,
/// 192.168/16, and not multicast or reserved (224/3).
pub fn is_public(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(a == 0
        || a == 10
        || (a == 100 && (64..128).contains(&b))
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || a >= 224)
}

fn malformed(why: &'static str) -> Error {
    Error::MalformedProof { why }
}

struct Bt(Vec<u8>);

impl Bt {
    fn string(&mut self, s: &[u8]) {
        self.0.extend_from_slice(s.len().to_string().as_bytes());
        self.0.push(b':');
        self.0.extend_from_slice(s);
    }

    fn key(&mut self, k: &str) {
        self.string(k.as_bytes());
    }

    fn int(&mut self, n: u64) {
        self.0.push(b'i');
        self.0.extend_from_slice(n.to_string().as_bytes());
        self.0.push(b'e');
    }

    fn version(&mut self, v: [u16; 3]) {
        self.0.push(b'l');
        for n in v {
            self.int(n.into());
        }
        self.0.push(b'e');
    }
}

/// A bencoded value the proof's reader keeps (other values are checked and skipped).
enum Value<'a> {
    Int(u64),
    Str(&'a [u8]),
    Ints(Vec<u64>),
    Other,
}

impl Value<'_> {
    fn int(&self, key: &'static str) -> Result<u64> {
        match self {
            Self::Int(n) => Ok(*n),
            _ => Err(Error::BadProofValue { key }),
        }
    }

    fn u16(&self, key: &'static str) -> Result<u16> {
        u16::try_from(self.int(key)?).map_err(|_| Error::BadProofValue { key })
    }

    fn version(&self, key: &'static str) -> Result<[u16; 3]> {
        let bad = || Error::BadProofValue { key };
        let Self::Ints(v) = self else { return Err(bad()) };
        let [a, b, c] = v.as_slice() else { return Err(bad()) };
        let n = |x: &u64| u16::try_from(*x).map_err(|_| bad());
        Ok([n(a)?, n(b)?, n(c)?])
    }

    fn key(&self, key: &'static str) -> Result<NodeId> {
        match self {
            Self::Str(s) => <[u8; 32]>::try_from(*s)
                .map(NodeId::from_bytes)
                .map_err(|_| Error::BadProofValue { key }),
            _ => Err(Error::BadProofValue { key }),
        }
    }
}

struct BtReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// How deep the skipped values may nest.
const MAX_DEPTH: usize = 32;

impl<'a> BtReader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, b: u8) -> Result<()> {
        if self.peek() != Some(b) {
            return Err(malformed("not bencode"));
        }
        self.at += 1;
        Ok(())
    }

    fn until(&mut self, end: u8) -> Result<&'a [u8]> {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == end).ok_or(malformed("truncated"))?;
        self.at += len + 1;
        Ok(rest.get(..len).unwrap_or_default())
    }

    fn string(&mut self) -> Result<&'a [u8]> {
        let len = self.until(b':')?;
        let len = decimal(len)?;
        let len = usize::try_from(len).map_err(|_| malformed("truncated"))?;
        let end = self.at.checked_add(len).ok_or(malformed("truncated"))?;
        let s = self.bytes.get(self.at..end).ok_or(malformed("truncated"))?;
        self.at = end;
        Ok(s)
    }

    fn int(&mut self) -> Result<Option<u64>> {
        self.expect(b'i')?;
        let digits = self.until(b'e')?;
        if let Some(rest) = digits.strip_prefix(b"-") {
            decimal(rest)?;
            if rest == b"0" {
                return Err(malformed("not bencode"));
            }
            return Ok(None); // negative: no field of a proof takes it
        }
        decimal(digits).map(Some)
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>> {
        if depth > MAX_DEPTH {
            return Err(malformed("nested too deeply"));
        }
        match self.peek() {
            Some(b'i') => Ok(self.int()?.map_or(Value::Other, Value::Int)),
            Some(b'0'..=b'9') => self.string().map(Value::Str),
            Some(b'l') => {
                self.at += 1;
                let mut ints = Some(Vec::new());
                while self.peek() != Some(b'e') {
                    match self.value(depth + 1)? {
                        Value::Int(n) => ints.iter_mut().for_each(|v| v.push(n)),
                        _ => ints = None,
                    }
                }
                self.at += 1;
                Ok(ints.map_or(Value::Other, Value::Ints))
            }
            Some(b'd') => {
                self.at += 1;
                while self.peek() != Some(b'e') {
                    self.string()?;
                    self.value(depth + 1)?;
                }
                self.at += 1;
                Ok(Value::Other)
            }
            _ => Err(malformed("not bencode")),
        }
    }

    /// The top-level dict's entries; keys strictly ascending, as oxend's consumer reads them.
    fn dict(&mut self) -> Result<Vec<(&'a [u8], Value<'a>)>> {
        self.expect(b'd')?;
        let mut entries: Vec<(&[u8], Value<'_>)> = Vec::new();
        while self.peek() != Some(b'e') {
            let key = self.string()?;
            if entries.last().is_some_and(|(last, _)| *last >= key) {
                return Err(malformed("keys out of order"));
            }
            let value = self.value(1)?;
            entries.push((key, value));
        }
        self.at += 1;
        Ok(entries)
    }
}

/// A bencode decimal: digits, no leading zero (but a lone 0).
fn decimal(digits: &[u8]) -> Result<u64> {
    let bad = || malformed("not bencode");
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    if digits.len() > 1 && digits.first() == Some(&b'0') {
        return Err(bad());
    }
    core::str::from_utf8(digits).ok().and_then(|s| s.parse().ok()).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesh_identity::Seed;

    const NOW_MS: u64 = 1_700_000_000_000;

    fn node(k: u8) -> Identity {
        Identity::from_seed(&Seed::from_bytes([k; 32]))
    }

    /// A sesh node's proof (no lokinet).
    fn sesh_proof(k: u8) -> UptimeProof {
        let ip = Ipv4Addr::new(203, 0, 113, 5);
        UptimeProof::new(&node(k), [2, 8, 0], ip, 22021, 1234, NOW_MS / 1000)
    }

    /// A proof as a live node with lokinet 0.9.11 sends it.
    fn proof(k: u8) -> UptimeProof {
        UptimeProof { lokinet_version: [0, 9, 11], ..sesh_proof(k) }
    }

    #[test]
    fn encoding_by_hand() {
        let p = sesh_proof(1);
        let pke = *p.pubkey_ed25519.as_bytes();
        let mut want = b"d2:ip11:203.0.113.52:l2i1234e2:lvli0ei0ei0ee3:pke32:".to_vec();
        want.extend_from_slice(&pke);
        want.extend_from_slice(
            b"1:qi22021e3:shpi22021e3:sopi22021e2:svli2ei8ei0ee1:ti1700000000e1:vli11ei0ei6ee",
        );
        want.push(b'e');
        assert_eq!(p.encode(), want);
    }

    #[test]
    fn pk_only_when_it_differs() {
        let mut p = proof(1);
        p.pubkey = NodeId::from_bytes([9; 32]);
        let e = p.encode();
        let at = |k: &[u8]| e.windows(k.len()).position(|w| w == k).unwrap();
        assert!(at(b"2:lv") < at(b"2:pk32:") && at(b"2:pk32:") < at(b"3:pke32:"));
        assert_eq!(UptimeProof::decode(&e).unwrap(), p);
    }

    #[test]
    fn round_trip_and_signature() {
        let s = proof(2).sign(&node(2));
        let back = SignedProof::from_parts(s.encoded(), &s.ed_sig()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.verify(), Ok(()));
        // The signature is plain Ed25519 over the Keccak-256 of the bytes.
        let id = NodeId::from_identity(&node(2));
        assert!(id.verify(&proof_hash(s.encoded()), &Signature::from_bytes(&s.ed_sig())).is_ok());
    }

    #[test]
    fn unknown_keys_are_skipped_and_signed() {
        let s = proof(3).sign(&node(3));
        let mut e = s.encoded().to_vec();
        // "zz" sorts after "v": insert before the final 'e'.
        e.pop();
        e.extend_from_slice(b"2:zzd1:ali1eee");
        e.push(b'e');
        let p = SignedProof::from_parts(&e, &s.ed_sig()).unwrap();
        assert_eq!(p.proof(), s.proof());
        assert!(matches!(p.verify(), Err(Error::ForgedProof { .. })));
    }

    #[test]
    fn malformed_proofs() {
        let good = proof(1).encode();
        for bad in [&b""[..], b"d", b"de", b"d2:ip7:0.0.0.02:l2i1e", b"i1e", b"d1:ti1e1:ai1ee"] {
            assert!(UptimeProof::decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut trailing = good.clone();
        trailing.push(b'x');
        assert!(UptimeProof::decode(&trailing).is_err());
        let zero_l2 = UptimeProof { l2_height: 0, ..proof(1) }.encode();
        assert_eq!(UptimeProof::decode(&zero_l2), Err(malformed("invalid L2 height (0)")));
        let replace = |from: &[u8], to: &[u8]| {
            let at = good.windows(from.len()).position(|w| w == from).unwrap();
            [&good[..at], to, &good[at + from.len()..]].concat()
        };
        let no_t = replace(b"1:ti1700000000e", b"");
        assert_eq!(UptimeProof::decode(&no_t), Err(Error::MissingProofKey { key: "t" }));
        let big_q = replace(b"1:qi22021e", b"1:qi65536e");
        assert_eq!(UptimeProof::decode(&big_q), Err(Error::BadProofValue { key: "q" }));
        let zero_q = UptimeProof { qnet_port: 0, ..proof(1) }.encode();
        assert_eq!(UptimeProof::decode(&zero_q), Err(malformed("invalid quorumnet port (0)")));
        assert!(SignedProof::from_parts(&good, &[0; 63]).is_err());
    }

    fn mainnet() -> ProofRules {
        ProofRules::mainnet()
    }

    #[test]
    fn accepts_a_good_proof() {
        let s = proof(1).sign(&node(1));
        assert_eq!(accept(&s, None, NOW_MS, &mainnet()), Ok(()));
        assert_eq!(accept(&s, None, NOW_MS + 300_000, &mainnet()), Ok(()));
        assert_eq!(accept(&s, None, NOW_MS - 300_000, &mainnet()), Ok(()));
        assert_eq!(accept(&s, Some(NOW_MS - 1_800_001), NOW_MS, &mainnet()), Ok(()));
    }

    #[test]
    fn refusals() {
        let rules = mainnet();
        let signed = |p: UptimeProof| p.sign(&node(1));
        let s = signed(proof(1));
        assert!(matches!(
            accept(&s, None, NOW_MS + 300_001, &rules),
            Err(Error::ProofTimestamp { .. })
        ));
        assert!(matches!(
            accept(&s, None, NOW_MS - 300_001, &rules),
            Err(Error::ProofTimestamp { .. })
        ));
        assert!(matches!(
            accept(&s, Some(NOW_MS - 1_800_000), NOW_MS, &rules),
            Err(Error::ProofTooSoon { .. })
        ));
        let old = signed(UptimeProof { version: [11, 0, 5], ..proof(1) });
        assert!(matches!(
            accept(&old, None, NOW_MS, &rules),
            Err(Error::OldVersion { component: "oxend", .. })
        ));
        let old_ss = signed(UptimeProof { storage_server_version: [2, 7, 9], ..proof(1) });
        assert!(matches!(
            accept(&old_ss, None, NOW_MS, &rules),
            Err(Error::OldVersion { component: "storage server", .. })
        ));
        // sesh's own proof has no lokinet: refused on mainnet, accepted by a sesh network.
        let sesh = sesh_proof(1).sign(&node(1));
        assert!(matches!(
            accept(&sesh, None, NOW_MS, &rules),
            Err(Error::OldVersion { component: "lokinet", .. })
        ));
        assert_eq!(accept(&sesh, None, NOW_MS, &ProofRules::local(120_000)), Ok(()));
        let local = signed(UptimeProof { public_ip: Ipv4Addr::new(192, 168, 1, 2), ..proof(1) });
        assert!(matches!(accept(&local, None, NOW_MS, &rules), Err(Error::NotPublicIp { .. })));
        assert_eq!(accept(&local, None, NOW_MS, &ProofRules::local(120_000)), Ok(()));
        let other_pk = signed(UptimeProof { pubkey: NodeId::from_bytes([9; 32]), ..proof(1) });
        assert!(matches!(
            accept(&other_pk, None, NOW_MS, &rules),
            Err(Error::ProofKeyMismatch { .. })
        ));
        let no_key = UptimeProof {
            pubkey: NodeId::from_bytes([0; 32]),
            pubkey_ed25519: NodeId::from_bytes([0; 32]),
            ..proof(1)
        };
        assert!(matches!(
            accept(&signed(no_key), None, NOW_MS, &rules),
            Err(Error::InvalidProofKey { .. })
        ));
        let forged = proof(1).sign(&node(2));
        assert!(matches!(accept(&forged, None, NOW_MS, &rules), Err(Error::ForgedProof { .. })));
        let no_storage = signed(UptimeProof { storage_omq_port: 0, ..proof(1) });
        assert!(matches!(
            accept(&no_storage, None, NOW_MS, &rules),
            Err(Error::ZeroStoragePort { .. })
        ));
    }

    #[test]
    fn timings() {
        let m = ProofTimings::mainnet();
        assert_eq!(ProofTimings::scaled(LIVE_BLOCK_MS), m);
        assert_eq!(m.min_interval_ms(), 1_800_000);
        let t = ProofTimings::scaled(500);
        assert_eq!((t.frequency_ms, t.validity_ms, t.min_interval_ms()), (15_000, 31_250, 7_500));
        assert_eq!(t.tolerance_ms, MIN_TOLERANCE_MS); // 1.25 s scaled
        assert_eq!(ProofTimings::scaled(60_000).tolerance_ms, 150_000);
    }

    #[test]
    fn public_ips() {
        for ip in ["10.1.2.3", "127.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1", "0.1.2.3"] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.113.5", "8.8.8.8", "172.32.0.1", "100.128.0.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    use proptest::prelude::Strategy as _;

    proptest::proptest! {
        #[test]
        fn no_bytes_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = UptimeProof::decode(&bytes);
            let _ = SignedProof::from_parts(&bytes, &[0; 64]);
        }

        #[test]
        fn round_trips(
            v in proptest::prelude::any::<[u16; 9]>(),
            t in proptest::prelude::any::<u64>(),
            l2 in 1..u64::MAX,
            ip in proptest::prelude::any::<u32>().prop_filter("not 0", |ip| *ip != 0),
            ports in proptest::prelude::any::<[u16; 3]>().prop_filter("q", |p| p[2] != 0),
            pk in proptest::prelude::any::<[u8; 32]>(),
        ) {
            let p = UptimeProof {
                version: [v[0], v[1], v[2]],
                storage_server_version: [v[3], v[4], v[5]],
                lokinet_version: [v[6], v[7], v[8]],
                timestamp: t,
                pubkey: NodeId::from_bytes(pk),
                pubkey_ed25519: NodeId::from_identity(&node(1)),
                l2_height: l2,
                public_ip: Ipv4Addr::from(ip),
                storage_https_port: ports[0],
                storage_omq_port: ports[1],
                qnet_port: ports[2],
            };
            proptest::prop_assert_eq!(UptimeProof::decode(&p.encode()), Ok(p));
        }
    }
}
