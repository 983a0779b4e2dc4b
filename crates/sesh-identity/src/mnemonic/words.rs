//! The English word list and prefix lookup.

/// The number of words in the list.
pub const WORD_COUNT: usize = 1626;

/// How many leading characters of a word are significant.
const PREFIX_LEN: usize = 3;

/// The list, split from `english.txt` at compile time; a list of any other length does not build.
static WORDS: [&str; WORD_COUNT] = split_lines(include_str!("english.txt"));

/// The English word list, in index order.
pub fn english_words() -> &'static [&'static str; WORD_COUNT] {
    &WORDS
}

#[allow(clippy::panic, clippy::indexing_slicing)] // runs at compile time: a panic is a build error
const fn split_lines(text: &'static str) -> [&'static str; WORD_COUNT] {
    let mut out = [""; WORD_COUNT];
    let mut rest = text.as_bytes();
    let mut i = 0;
    while i < WORD_COUNT {
        let mut end = 0;
        while end < rest.len() && rest[end] != b'\n' {
            end += 1;
        }
        let (word, tail) = rest.split_at(end);
        out[i] = match core::str::from_utf8(word) {
            Ok(word) if !word.is_empty() => word,
            _ => panic!("english.txt: every line must be one word"),
        };
        rest = if tail.is_empty() { tail } else { tail.split_at(1).1 };
        i += 1;
    }
    if !rest.is_empty() {
        panic!("english.txt must have exactly 1626 words");
    }
    out
}

/// The significant part of a word as libsession reads it: its first three characters, with
/// ASCII letters lowercased (other characters are kept as they are, and so never match an
/// English word).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Prefix {
    bytes: [u8; 4 * PREFIX_LEN],
    len: usize,
}

impl Prefix {
    pub(super) fn of(word: &str) -> Self {
        let mut bytes = [0u8; 4 * PREFIX_LEN];
        let mut len = 0;
        for c in word.chars().take(PREFIX_LEN) {
            let c = c.to_ascii_lowercase();
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                if let Some(slot) = bytes.get_mut(len) {
                    *slot = b;
                    len += 1;
                }
            }
        }
        Self { bytes, len }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The index of the word whose prefix `word` starts with.
pub(super) fn lookup(word: &str) -> Option<usize> {
    let wanted = Prefix::of(word);
    // The list is sorted and its prefixes are unique (see the tests), so the prefixes are sorted
    // too and a binary search finds the one word that can match.
    WORDS.binary_search_by(|candidate| Prefix::of(candidate).as_bytes().cmp(wanted.as_bytes())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_with_unique_prefixes() {
        assert_eq!(WORDS[0], "abbey");
        assert_eq!(WORDS[WORD_COUNT - 1], "zoom");
        for pair in WORDS.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
            assert!(Prefix::of(pair[0]).as_bytes() < Prefix::of(pair[1]).as_bytes());
        }
        for (i, w) in WORDS.iter().enumerate() {
            assert!(w.len() >= PREFIX_LEN && w.bytes().all(|b| b.is_ascii_lowercase()));
            assert_eq!(lookup(w), Some(i));
        }
    }

    #[test]
    fn lookup_reads_only_the_prefix_in_any_case() {
        assert_eq!(lookup("ZOOM"), Some(WORD_COUNT - 1));
        assert_eq!(lookup("zoo"), Some(WORD_COUNT - 1));
        assert_eq!(lookup("zooxyz"), Some(WORD_COUNT - 1));
        assert_eq!(lookup("zo"), None);
        assert_eq!(lookup(""), None);
        assert_eq!(lookup("zöom"), None);
        assert_eq!(lookup("qqq"), None);
    }
}
