//! Recovery phrases: the Electrum/Monero-style word encoding Session uses.
//!
//! Every 4 bytes (a little-endian `u32` `x`) become three words from a list of
//! [`WORD_COUNT`]` = 1626`, with indices `a = x mod N`, `b = (x/N + a) mod N`,
//! `c = (x/N² + b) mod N`. A phrase may end with a checksum word: a copy of the seed word whose
//! position is the CRC-32 of the words' three-letter prefixes modulo the number of seed words.
//! Only the first three letters of a word are read, in either case, so a typo after them does
//! not matter. This is libsession-util's `session::mnemonics` with the English list.
//!
//! A Session account's phrase is 13 words: 16 bytes ([`AccountSeed`](crate::AccountSeed)) and
//! the checksum word. [`RecoveryPhrase`] is that phrase; [`encode`] and [`decode`] are the general
//! encoding for any multiple of 4 bytes.
//!
//! The English list is the Monero project's (BSD-3-Clause), which Electrum, Monero, Oxen and
//! Session share; `english.txt` holds it one word per line, and the tests pin its contents
//! against libsession-util's vectors.

mod phrase;
mod words;

pub use phrase::RecoveryPhrase;
pub use words::{WORD_COUNT, english_words};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The number of words in the list, `N`.
const N: u32 = 1626;
const _: () = assert!(WORD_COUNT == N as usize);

/// Encodes `bytes` (a multiple of 4 long) as words, three per 4 bytes, followed by the checksum
/// word if `checksum` is set.
///
/// # Errors
/// [`Error::UnencodableLength`] if the length is not a multiple of 4.
pub fn encode(bytes: &[u8], checksum: bool) -> Result<Vec<&'static str>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(Error::UnencodableLength(bytes.len()));
    }
    let list = english_words();
    let mut indices = Vec::with_capacity(bytes.len() / 4 * 3 + 1);
    for chunk in bytes.chunks_exact(4) {
        let &[b0, b1, b2, b3] = chunk else { continue };
        let x = u32::from_le_bytes([b0, b1, b2, b3]);
        let a = x % N;
        let b = (x / N + a) % N;
        let c = (x / N / N + b) % N;
        indices.extend([a, b, c].map(|i| i as usize));
    }
    let mut words: Vec<&'static str> =
        indices.iter().filter_map(|i| list.get(*i).copied()).collect();
    if checksum && !words.is_empty() {
        let pick = checksum_position(words.iter().copied());
        if let Some(word) = words.get(pick).copied() {
            words.push(word);
        }
    }
    Ok(words)
}

/// Decodes words back to bytes. `3k` words give `4k` bytes; `3k + 1` words are read as `3k` seed
/// words and a checksum word, which must match.
///
/// Words are matched by their first three letters, case-insensitively, as every Session client
/// does; anything after them is ignored.
///
/// # Errors
/// [`Error::WrongWordCount`] if the count is neither `3k` nor `3k + 1`;
/// [`Error::UnknownWord`] for a word whose prefix is not in the list;
/// [`Error::InvalidWordGroup`] for three words that no 4 bytes encode;
/// [`Error::ChecksumMismatch`] if the checksum word is not the one the others call for.
pub fn decode<S: AsRef<str>>(words: &[S]) -> Result<Zeroizing<Vec<u8>>> {
    let count = words.len();
    let has_checksum = count % 3 == 1;
    if count % 3 == 2 {
        return Err(Error::WrongWordCount {
            expected: "a multiple of 3 words, or a multiple of 3 and a checksum word",
            actual: count,
        });
    }
    let (seed_words, checksum_word) = match words.split_last() {
        Some((last, rest)) if has_checksum => (rest, Some(last)),
        _ => (words, None),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(seed_words.len() / 3 * 4));
    let mut indices = Zeroizing::new(Vec::with_capacity(seed_words.len()));
    for (position, word) in seed_words.iter().enumerate() {
        indices.push(index_of(word.as_ref(), position + 1)?);
    }
    for (group, triple) in indices.chunks_exact(3).enumerate() {
        let &[a, b, c] = triple else { continue };
        let (a, b, c) = (u64::from(a), u64::from(b), u64::from(c));
        let n = u64::from(N);
        let x = a + ((n - a + b) % n) * n + ((n - b + c) % n) * n * n;
        // libsession computes this in u32: a value of 2^32 or more wraps and then fails the
        // `x mod N == a` test. Refusing it directly is the same rule.
        let Ok(x) = u32::try_from(x) else {
            return Err(Error::InvalidWordGroup { position: group * 3 + 1 });
        };
        out.extend_from_slice(&x.to_le_bytes());
    }
    if let Some(given) = checksum_word {
        let given_index = index_of(given.as_ref(), count)?;
        let pick = checksum_position(seed_words.iter().map(AsRef::as_ref));
        if indices.get(pick) != Some(&given_index) {
            return Err(Error::ChecksumMismatch { word: given.as_ref().to_owned() });
        }
    }
    Ok(out)
}

/// The index of the seed word the checksum word repeats.
fn checksum_position<'a>(seed_words: impl Iterator<Item = &'a str>) -> usize {
    let mut crc = crc32fast::Hasher::new();
    let mut count = 0usize;
    for word in seed_words {
        crc.update(words::Prefix::of(word).as_bytes());
        count += 1;
    }
    if count == 0 { 0 } else { crc.finalize() as usize % count }
}

/// The list index of `word`, naming it by its 1-based `position` if it is not in the list.
fn index_of(word: &str, position: usize) -> Result<u16> {
    words::lookup(word)
        .and_then(|i| u16::try_from(i).ok())
        .ok_or_else(|| Error::UnknownWord { position, word: word.to_owned() })
}

#[cfg(test)]
mod tests;
