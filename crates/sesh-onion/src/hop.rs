//! Hop ("channel") encryption: how each layer of an onion request, and the reply, is encrypted
//! between a client's ephemeral key and a node's (or server's) X25519 key.
//!
//! | `enc_type` | 32-byte key | layout |
//! |---|---|---|
//! | `xchacha20` | `BLAKE2b-256(DH ‖ client_pub ‖ server_pub)` | `nonce(24) ‖ ciphertext ‖ tag(16)` |
//! | `aes-gcm` | `HMAC-SHA256(key = "LOKI", DH)` | `iv(12) ‖ ciphertext ‖ tag(16)` |
//! | `aes-cbc` (decrypt only) | `DH` | `iv(16) ‖ AES-256-CBC(PKCS#7)` |
//!
//! Both directions use the same key; only the random nonce differs. Diffie-Hellman is
//! sesh-identity's, which refuses an all-zero result as libsodium does; the AEADs come from
//! AWS-LC while it is the active backend ([`sesh_identity::curve`]), else from RustCrypto, with
//! the same bytes.
//!
//! ```
//! use sesh_identity::X25519SecretKey;
//! use sesh_onion::hop::{EncType, HopKey, Role};
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! # use rand_core::SeedableRng;
//!
//! let client = X25519SecretKey::generate(&mut rng);
//! let node = X25519SecretKey::generate(&mut rng);
//! let (client_pub, node_pub) = (client.public_key(), node.public_key());
//!
//! let to_node = HopKey::derive(EncType::XChaCha20, &client, &client_pub, &node_pub, Role::Client)?;
//! let at_node = HopKey::derive(EncType::XChaCha20, &node, &node_pub, &client_pub, Role::Server)?;
//! let ciphertext = to_node.encrypt(b"layer", &mut rng)?;
//! assert_eq!(at_node.decrypt(&ciphertext)?, b"layer");
//! # Ok::<(), sesh_onion::Error>(())
//! ```

use core::fmt;

use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sesh_identity::{X25519PublicKey, X25519SecretKey, hash};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::aead::{self, Aead};
use crate::error::{Error, Result};

/// How a layer is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncType {
    /// XChaCha20-Poly1305 with a BLAKE2b key: what current clients use.
    XChaCha20,
    /// AES-256-GCM with an HMAC key: the default when none is named, and what old clients use.
    AesGcm,
    /// AES-256-CBC with the raw DH output: accepted from very old clients, never produced.
    AesCbc,
}

impl EncType {
    /// The encryption type when a message names none: AES-GCM, as on the live network.
    pub const WIRE_DEFAULT: Self = Self::AesGcm;

    /// Parses a name as nodes do: `xchacha20` or `xchacha20-poly1305`, `aes-gcm` or `gcm`,
    /// `aes-cbc` or `cbc`.
    ///
    /// # Errors
    /// [`Error::UnknownEncType`] for anything else.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "xchacha20" | "xchacha20-poly1305" => Ok(Self::XChaCha20),
            "aes-gcm" | "gcm" => Ok(Self::AesGcm),
            "aes-cbc" | "cbc" => Ok(Self::AesCbc),
            other => Err(Error::UnknownEncType(other.to_owned())),
        }
    }

    /// The canonical name, as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::XChaCha20 => "xchacha20",
            Self::AesGcm => "aes-gcm",
            Self::AesCbc => "aes-cbc",
        }
    }

    /// Bytes encryption adds to a message (AES-CBC adds 17 to 32, depending on the length).
    pub const fn overhead(self) -> usize {
        match self {
            Self::XChaCha20 => 24 + 16,
            Self::AesGcm => 12 + 16,
            Self::AesCbc => 16 + 16,
        }
    }
}

impl fmt::Display for EncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of a hop a key is derived on. Only XChaCha20 cares: its key hashes the client's
/// public key first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The side with the ephemeral key: the client building the request.
    Client,
    /// The node or server the layer is for.
    Server,
}

/// The symmetric key of one hop, for both directions.
#[derive(Clone)]
pub struct HopKey {
    enc_type: EncType,
    key: Zeroizing<[u8; 32]>,
}

impl HopKey {
    /// Derives the key between `own` (whose public key is `own_public`) and `peer`.
    ///
    /// # Errors
    /// [`Error::Identity`] if the key exchange gives the all-zero secret (a low-order `peer`).
    pub fn derive(
        enc_type: EncType,
        own: &X25519SecretKey,
        own_public: &X25519PublicKey,
        peer: &X25519PublicKey,
        role: Role,
    ) -> Result<Self> {
        let shared = own.diffie_hellman(peer)?;
        let key = match enc_type {
            EncType::XChaCha20 => {
                let (client, server) = match role {
                    Role::Client => (own_public, peer),
                    Role::Server => (peer, own_public),
                };
                hash::blake2b::<32>(b"", &[shared.as_bytes(), client.as_bytes(), server.as_bytes()])
            }
            EncType::AesGcm => {
                let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(b"LOKI") {
                    Ok(mac) => mac,
                    Err(_) => return Err(Error::DecryptionFailed), // HMAC takes any key length
                };
                mac.update(shared.as_bytes());
                mac.finalize().into_bytes().into()
            }
            EncType::AesCbc => *shared.as_bytes(),
        };
        Ok(Self { enc_type, key: Zeroizing::new(key) })
    }

    /// The encryption type.
    pub fn enc_type(&self) -> EncType {
        self.enc_type
    }

    /// The 32 key bytes. This is the secret itself.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// Encrypts `plaintext` with a fresh nonce (24 bytes for XChaCha20, 12 for AES-GCM) drawn from
    /// `rng`.
    ///
    /// # Errors
    /// [`Error::EncryptUnsupported`] for AES-CBC.
    pub fn encrypt<R: RngCore + CryptoRng>(
        &self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        self.encrypt_parts(&[plaintext], rng)
    }

    /// Encrypts the concatenation of `parts` (as [`encrypt`](Self::encrypt)), building it in
    /// the one buffer that becomes the ciphertext.
    ///
    /// # Errors
    /// [`Error::EncryptUnsupported`] for AES-CBC.
    pub fn encrypt_parts<R: RngCore + CryptoRng>(
        &self,
        parts: &[&[u8]],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let cipher = self.aead().ok_or(Error::EncryptUnsupported)?;
        let nonce_len = cipher.nonce_len();
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut out = Vec::with_capacity(nonce_len + len + 16);
        out.resize(nonce_len, 0);
        rng.fill_bytes(&mut out);
        for part in parts {
            out.extend_from_slice(part);
        }
        let (nonce, body) = out.split_at_mut(nonce_len);
        let tag = aead::seal(cipher, &self.key, nonce, body)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// The AEAD of this key's type (AES-CBC has none).
    fn aead(&self) -> Option<Aead> {
        match self.enc_type {
            EncType::XChaCha20 => Some(Aead::XChaCha20Poly1305),
            EncType::AesGcm => Some(Aead::Aes256Gcm),
            EncType::AesCbc => None,
        }
    }

    /// Decrypts a ciphertext of this key's layout.
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] for anything that does not decrypt, including a ciphertext too
    /// short to hold the nonce and tag.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let Some(cipher) = self.aead() else {
            let (iv, body) = ciphertext.split_at_checked(16).ok_or(Error::DecryptionFailed)?;
            let iv: &[u8; 16] = iv.try_into().map_err(|_| Error::DecryptionFailed)?;
            return cbc::Decryptor::<aes::Aes256>::new(self.key.as_ref().into(), iv.into())
                .decrypt_padded_vec_mut::<Pkcs7>(body)
                .map_err(|_| Error::DecryptionFailed);
        };
        let (nonce, rest) =
            ciphertext.split_at_checked(cipher.nonce_len()).ok_or(Error::DecryptionFailed)?;
        let body_len = rest.len().checked_sub(16).ok_or(Error::DecryptionFailed)?;
        let (body, tag) = rest.split_at(body_len);
        let tag: &[u8; 16] = tag.try_into().map_err(|_| Error::DecryptionFailed)?;
        let mut plaintext = body.to_vec();
        aead::open(cipher, &self.key, nonce, &mut plaintext, tag)?;
        Ok(plaintext)
    }
}

impl fmt::Debug for HopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HopKey")
            .field("enc_type", &self.enc_type)
            .field("key", &"<secret>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex_key: &str) -> [u8; 32] {
        hex::decode(hex_key).unwrap().try_into().unwrap()
    }

    /// Spec V1 (libsession-util tests/test_onionreq.cpp, "Onion request encryption").
    #[test]
    fn upstream_v1() {
        let client_pub = X25519PublicKey::from_bytes(key(
            "bbdfc83022d0aff084a6f0c529a93d1c4d728bf7e41199afed0e01ae70d20540",
        ));
        let server = X25519SecretKey::from_bytes(key(
            "8fcd8ad3a15c76f76f1c56dff0c529999f8c59b4acda79e05666e54d5727dca1",
        ));
        let server_pub = server.public_key();
        assert_eq!(
            server_pub.to_string(),
            "caea52c5b0c316d85ffb53ea536826618b13dee40685f166f632653114526a78"
        );
        let gcm = HopKey::derive(EncType::AesGcm, &server, &server_pub, &client_pub, Role::Server)
            .unwrap();
        assert_eq!(
            hex::encode(gcm.as_bytes()),
            "4f310f62c43f14d7fea7c084819a4e394d9fc7005919275ac18d9eb8bf3e4231"
        );
        let xchacha =
            HopKey::derive(EncType::XChaCha20, &server, &server_pub, &client_pub, Role::Server)
                .unwrap();
        assert_eq!(
            hex::encode(xchacha.as_bytes()),
            "37a3af90eb276c0b4069998e97edf956b6933bd3c77d330a072cdf274e757ab5"
        );
        let enc_gcm = hex::decode(
            "1eb6ae1cd72f60999486365749bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b61",
        )
        .unwrap();
        let enc_xchacha = hex::decode("9e1a3abe60eff3ea5c23556cc7e225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b287d1638d765db75de02b032").unwrap();
        assert_eq!(gcm.decrypt(&enc_gcm).unwrap(), b"Hello world");
        assert_eq!(xchacha.decrypt(&enc_xchacha).unwrap(), b"Hello world");
        for (at, to) in [(enc_xchacha.len() - 1, 0x33), (12, 0xcf)] {
            let mut broken = enc_xchacha.clone();
            broken[at] = to;
            assert_eq!(xchacha.decrypt(&broken), Err(Error::DecryptionFailed));
            assert_eq!(gcm.decrypt(&broken), Err(Error::DecryptionFailed));
        }
        for (at, to) in [(12, 0x59), (enc_gcm.len() - 1, 0x69)] {
            let mut broken = enc_gcm.clone();
            broken[at] = to;
            assert_eq!(gcm.decrypt(&broken), Err(Error::DecryptionFailed));
        }
    }

    /// Spec V2 (storage server unit_test/encrypt.cpp), with the constructed CBC vector.
    #[test]
    fn upstream_v2_and_cbc() {
        let alice = X25519SecretKey::from_bytes(key(
            "7d446468c186d6fb3c83365ab77a37b1f9fa3e59eb9788a40ae2e9560f196f30",
        ));
        let bob = X25519SecretKey::from_bytes(key(
            "f512f68e81a932aa2ff6d8723baa260a43a6f789d61c91b71f73e4f284e3600a",
        ));
        let (alice_pub, bob_pub) = (alice.public_key(), bob.public_key());
        let derive = |enc, role| HopKey::derive(enc, &alice, &alice_pub, &bob_pub, role).unwrap();
        assert_eq!(
            hex::encode(derive(EncType::AesCbc, Role::Client).as_bytes()),
            "82febb47d580439e5b71d2784f87a6946a898d71fed262aeb5bf03c2447f6069"
        );
        assert_eq!(
            hex::encode(derive(EncType::AesGcm, Role::Client).as_bytes()),
            "3bb5fc9d718d88fa673d69829e737b97b4a0e4be2915fc7ef8a5f5d0776c1e6f"
        );
        assert_eq!(
            hex::encode(derive(EncType::XChaCha20, Role::Client).as_bytes()),
            "489bc44da3522e9acd6fb1b4c6cbf42d1d2739de64466dfafa819a9f8c21c403"
        );
        assert_eq!(
            hex::encode(derive(EncType::XChaCha20, Role::Server).as_bytes()),
            "f5b79c7f5c1cf13036b5eb885ab064bddb371a1416894134ac72d5a2ee823e25"
        );
        let cbc = hex::decode("000102030405060708090a0b0c0d0e0f80d66ce43084f282f4df7277fa443af269dcb556f3a7886f2c1d248076915cc7").unwrap();
        let at_bob =
            HopKey::derive(EncType::AesCbc, &bob, &bob_pub, &alice_pub, Role::Server).unwrap();
        assert_eq!(at_bob.decrypt(&cbc).unwrap(), b"Grumpy cat says no!");
        assert_eq!(at_bob.decrypt(&cbc[..31]), Err(Error::DecryptionFailed));
        let gcm = hex::decode("000102030405060708090a0b254141d0fb10f0f25e1e316f3f47bf675d49eb6c238bd3c18b86df3fc8d5687cc64c7a").unwrap();
        let at_bob =
            HopKey::derive(EncType::AesGcm, &bob, &bob_pub, &alice_pub, Role::Server).unwrap();
        assert_eq!(at_bob.decrypt(&gcm).unwrap(), b"Grumpy cat says no!");
        assert_eq!(
            derive(EncType::AesCbc, Role::Client).encrypt(
                b"x",
                &mut <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(0)
            ),
            Err(Error::EncryptUnsupported)
        );
    }

    #[test]
    fn names() {
        for (name, enc) in [
            ("xchacha20", EncType::XChaCha20),
            ("xchacha20-poly1305", EncType::XChaCha20),
            ("aes-gcm", EncType::AesGcm),
            ("gcm", EncType::AesGcm),
            ("aes-cbc", EncType::AesCbc),
            ("cbc", EncType::AesCbc),
        ] {
            assert_eq!(EncType::parse(name).unwrap(), enc);
        }
        assert_eq!(EncType::parse("rot13"), Err(Error::UnknownEncType("rot13".into())));
    }
}
