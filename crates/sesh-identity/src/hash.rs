//! The BLAKE2b and SHA-512 forms the protocol uses, as libsodium's `crypto_generichash` and
//! `crypto_hash_sha512` compute them: every sesh crate hashes through these.
//!
//! BLAKE2b goes through the `blake2` crate's core directly: its MAC wrapper cannot express an
//! unkeyed personalised hash (with an empty key it would hash a block of zeros first), and the
//! core covers every (key, personalisation, length) the protocol uses with one code path.

use blake2::Blake2bVarCore;
use blake2::digest::Output;
use blake2::digest::core_api::{Buffer, UpdateCore, VariableOutputCore};
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

/// No personalisation: sixteen zero bytes are the same parameter block as none at all.
const NO_PERSONAL: &[u8; 16] = &[0; 16];

/// BLAKE2b with an `N`-byte output (1 to 64, checked when compiled) and a key (none if empty),
/// over the concatenation of `parts`: libsodium's `crypto_generichash`.
///
/// A key longer than BLAKE2b's 64-byte maximum is cut to its first 64 bytes, as libsession-util
/// does with the domain strings of multi-recipient encryption.
///
/// ```
/// use sesh_identity::hash::blake2b;
///
/// let nonce: [u8; 24] = blake2b(b"", &[b"ephemeral key", b"recipient key"]);
/// let key: [u8; 32] = blake2b(b"TestKey", &[b"TestMessage"]);
/// assert_eq!(hex::encode(key), "3d643e479b626bb2907476e32ccf7bdbd1ac3efa0da6e2c335255c48dcc216b6");
/// # let _ = nonce;
/// ```
pub fn blake2b<const N: usize>(key: &[u8], parts: &[&[u8]]) -> [u8; N] {
    blake2b_with(key, NO_PERSONAL, parts)
}

/// Unkeyed BLAKE2b with an `N`-byte output and a 16-byte personalisation, as libsodium's
/// `crypto_generichash_blake2b_salt_personal` with no key and no salt.
pub fn blake2b_personal<const N: usize>(personal: &[u8; 16], parts: &[&[u8]]) -> [u8; N] {
    blake2b_with(&[], personal, parts)
}

fn blake2b_with<const N: usize>(key: &[u8], personal: &[u8; 16], parts: &[&[u8]]) -> [u8; N] {
    const { assert!(N >= 1 && N <= 64) };
    let key = key.get(..64).unwrap_or(key);
    let mut core = Blake2bVarCore::new_with_params(&[], personal, key.len(), N);
    let mut buffer = Buffer::<Blake2bVarCore>::default();
    if !key.is_empty() {
        // A keyed hash starts with the key, zero-padded to a whole block.
        let mut block = [0u8; 128];
        for (b, k) in block.iter_mut().zip(key) {
            *b = *k;
        }
        buffer.digest_blocks(&block, |blocks| core.update_blocks(blocks));
        block.zeroize();
    }
    for part in parts {
        buffer.digest_blocks(part, |blocks| core.update_blocks(blocks));
    }
    let mut full = Output::<Blake2bVarCore>::default();
    core.finalize_variable_core(&mut buffer, &mut full);
    let mut out = [0u8; N];
    for (o, f) in out.iter_mut().zip(full.iter()) {
        *o = *f;
    }
    full.zeroize();
    out
}

/// SHA-512 over the concatenation of `parts`.
pub fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Sha512::new();
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use blake2::digest::{Mac, Update, VariableOutput};

    // libsession-util tests/test_hash.cpp, quoted in the spec §1.4.
    #[test]
    fn upstream_blake2b_vectors() {
        assert_eq!(
            hex::encode(blake2b::<32>(b"", &[b"TestMessage"])),
            "2a48a12262e4548afb97fe2b04a912a02297d451169ee7ef2d01a28ea20286ab"
        );
        assert_eq!(
            hex::encode(blake2b::<32>(b"TestKey", &[b"TestMessage"])),
            "3d643e479b626bb2907476e32ccf7bdbd1ac3efa0da6e2c335255c48dcc216b6"
        );
        assert_eq!(
            hex::encode(blake2b::<64>(b"", &[b"Test", b"Message"])),
            "9d9085ac026fe3542abbeb2ea2ec05f5c37aecd7695f6cc41e9ccf39014196a3\
             9c02db69c4416d5c45acc2e9469b7f274992b2858f3bb2746becb48c8b56ce4b"
        );
    }

    #[test]
    fn agrees_with_the_blake2_crate_wrappers() {
        for len in [0usize, 1, 127, 128, 129, 256, 1000] {
            let msg: Vec<u8> = (0..=255u8).cycle().step_by(7).take(len).collect();
            let (a, b) = msg.split_at(len / 3);

            let mut var = blake2::Blake2bVar::new(24).unwrap();
            var.update(&msg);
            let mut want = [0u8; 24];
            var.finalize_variable(&mut want).unwrap();
            assert_eq!(blake2b::<24>(b"", &[a, b]), want);

            let mut mac =
                <blake2::Blake2bMac<blake2::digest::consts::U32> as Mac>::new_from_slice(b"k3y")
                    .unwrap();
            Mac::update(&mut mac, &msg);
            let want: [u8; 32] = mac.finalize().into_bytes().into();
            assert_eq!(blake2b::<32>(b"k3y", &[a, b]), want);
        }
        assert_ne!(
            blake2b_personal::<64>(b"xed25519signatur", &[b"x"]),
            blake2b::<64>(b"", &[b"x"])
        );
        // Keys past 64 bytes are cut to 64.
        assert_eq!(blake2b::<32>(&[7; 80], &[b"x"]), blake2b::<32>(&[7; 64], &[b"x"]));
    }
}
