//! Test support shared by the sesh crates: where the vectors are, reading them, tallying each
//! file's records, and replaying recorded randomness.
//!
//! Vector tests read the directory named by `SESH_VECTORS` (a relative path is taken from the
//! workspace root), or `testdata/vectors` at the workspace root. A test checks every record of
//! every file it covers and prints one line per file:
//!
//! ```text
//! vectors: identity.jsonl: 40 checked, 40 passed
//! ```
//!
//! The line is written to the process's standard output directly, so it shows even when the
//! test harness captures output.
//!
//! A record that expects the library to refuse (an error, `false`, no value) is also met when its
//! input cannot even be put into the API's types, a 31-byte key for a `[u8; 32]` parameter say:
//! the typed API refuses it before any call. Checks read such inputs with the `input_*`
//! functions, which report them as [`Miss::Unparsable`], and apply the rule with [`judge`] or
//! [`settle`]. Where the record expects a value, an unparsable input stays a failure.

// A test helper fails loudly, and every `Err(String)` below says what did not match.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used, clippy::missing_errors_doc)]

use std::collections::VecDeque;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, RngCore};
use serde_json::Value;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The vector directory: `$SESH_VECTORS`, or `testdata/vectors` at the workspace root.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("SESH_VECTORS") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { workspace_root().join(dir) }
        }
        _ => workspace_root().join("testdata/vectors"),
    }
}

/// The records of one JSON Lines vector file, e.g. `libsession/identity.jsonl`.
///
/// # Panics
/// If the file is missing or a line is not JSON: a vector test never skips silently.
pub fn records(relative: &str) -> Vec<Value> {
    let path = vectors_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "vector file {} cannot be read ({e}); set SESH_VECTORS to the vector directory",
            path.display()
        )
    });
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: line {} is not JSON: {e}", path.display(), n + 1))
        })
        .collect()
}

/// Counts the records of one file as they are checked, and reports them.
#[derive(Debug)]
pub struct Tally {
    file: String,
    checked: usize,
    passed: usize,
    failures: Vec<String>,
}

impl Tally {
    /// A tally for `file` (the name printed in the report).
    pub fn new(file: &str) -> Self {
        Self { file: file.to_owned(), checked: 0, passed: 0, failures: Vec::new() }
    }

    /// Runs one record's check. A check that returns an error or panics is a failed record;
    /// the others still run.
    pub fn check(&mut self, record: &Value, check: impl FnOnce(&Value) -> Result<(), String>) {
        self.checked += 1;
        let index = record.get("index").and_then(Value::as_u64);
        let outcome = catch_unwind(AssertUnwindSafe(|| check(record)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&panic))));
        match outcome {
            Ok(()) => self.passed += 1,
            Err(why) => self.failures.push(format!("record {index:?}: {why}")),
        }
    }

    /// Prints `vectors: <file>: <N> checked, <N> passed`.
    ///
    /// # Panics
    /// If any record failed, or if there were no records at all.
    pub fn finish(self) {
        let line =
            format!("vectors: {}: {} checked, {} passed\n", self.file, self.checked, self.passed);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
        assert!(self.checked > 0, "{}: no records were checked", self.file);
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} records failed:\n{}",
            self.file,
            self.failures.len(),
            self.checked,
            self.failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Reads a field of a record.
pub fn field<'a>(record: &'a Value, path: &str) -> Result<&'a Value, String> {
    path.split('.')
        .try_fold(record, |v, key| v.get(key).ok_or_else(|| format!("no field {path:?}")))
}

/// A string field.
pub fn str_field<'a>(record: &'a Value, path: &str) -> Result<&'a str, String> {
    field(record, path)?.as_str().ok_or_else(|| format!("field {path:?} is not a string"))
}

/// An integer field.
pub fn u64_field(record: &Value, path: &str) -> Result<u64, String> {
    field(record, path)?.as_u64().ok_or_else(|| format!("field {path:?} is not an integer"))
}

/// A hex field as bytes.
pub fn hex_field(record: &Value, path: &str) -> Result<Vec<u8>, String> {
    hex::decode(str_field(record, path)?).map_err(|e| format!("field {path:?} is not hex: {e}"))
}

/// A hex field of exactly `N` bytes.
pub fn hex_array<const N: usize>(record: &Value, path: &str) -> Result<[u8; N], String> {
    let bytes = hex_field(record, path)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| format!("field {path:?} has {len} bytes, not {N}"))
}

/// Fails with a message naming `what` unless `got == want`.
pub fn expect_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    got: T,
    want: T,
) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, want {want:?}")) }
}

/// Why one record's check did not pass: the input could not be put into the API's types, the
/// library refused, or anything else.
///
/// A record's input that the typed API cannot even express (a 31-byte key where the API takes
/// `[u8; 32]`, a number out of the parameter's range, text that is not hex) never reaches the
/// library: the API's types refuse it. So where a record expects the library to refuse (an
/// error, `false`, no value), a [`Miss::Unparsable`] input is that refusal, and the record
/// passes; where it expects a value, it is a failure. [`judge`] and [`settle`] apply this rule.
///
/// A missing field is a broken record, not an input the API refuses: the `input_*` readers
/// report it as [`Miss::Failed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    /// The record's input cannot be put into the API's types.
    Unparsable(String),
    /// The library refused: an error, or a negative answer.
    Refused(String),
    /// A broken record, or a result other than the record's.
    Failed(String),
}

impl Miss {
    /// The library's refusal, with its error.
    pub fn refused(why: impl std::fmt::Display) -> Self {
        Self::Refused(why.to_string())
    }

    /// An input the API's types cannot hold, with why.
    pub fn unparsable(why: impl std::fmt::Display) -> Self {
        Self::Unparsable(why.to_string())
    }
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unparsable(why) => {
                write!(f, "input cannot be parsed into the API's types: {why}")
            }
            Self::Refused(why) => write!(f, "the library refused: {why}"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

impl From<String> for Miss {
    fn from(why: String) -> Self {
        Self::Failed(why)
    }
}

impl From<&str> for Miss {
    fn from(why: &str) -> Self {
        Self::Failed(why.to_owned())
    }
}

impl From<Miss> for String {
    fn from(miss: Miss) -> Self {
        miss.to_string()
    }
}

/// What a record expects of the call it describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A value (or a yes).
    Value,
    /// A refusal: an error, `false`, or no value.
    Refusal,
}

/// Judges a call's outcome against what the record expects. A refusal expected is met by the
/// library refusing or by an input the API's types cannot hold (`Ok(None)`); a value expected
/// is handed back for comparison (`Ok(Some(value))`). Everything else fails, with the reason.
pub fn judge<T: std::fmt::Debug>(
    expect: Expect,
    outcome: Result<T, Miss>,
) -> Result<Option<T>, String> {
    match (expect, outcome) {
        (Expect::Value, Ok(value)) => Ok(Some(value)),
        (Expect::Refusal, Err(Miss::Unparsable(_) | Miss::Refused(_))) => Ok(None),
        (Expect::Refusal, Ok(value)) => {
            Err(format!("accepted ({value:?}), but the record expects a refusal"))
        }
        (Expect::Value, Err(miss @ (Miss::Unparsable(_) | Miss::Refused(_)))) => {
            Err(format!("{miss}, but the record expects a value"))
        }
        (_, Err(Miss::Failed(why))) => Err(why),
    }
}

/// Settles a check that compares the library's refusal itself (which error, with which data):
/// it passes if the check passed, or if the record expects a refusal and its input cannot be
/// put into the API's types.
pub fn settle(expect: Expect, checked: Result<(), Miss>) -> Result<(), String> {
    match (expect, checked) {
        (_, Ok(())) | (Expect::Refusal, Err(Miss::Unparsable(_))) => Ok(()),
        (Expect::Value, Err(miss @ Miss::Unparsable(_))) => {
            Err(format!("{miss}, but the record expects a value"))
        }
        (_, Err(miss)) => Err(miss.to_string()),
    }
}

/// Reads field `path` of `record` as an input of a call, converted by `parse`: a missing field
/// is [`Miss::Failed`] (a broken record), a value that `parse` rejects is [`Miss::Unparsable`].
pub fn input<'a, T>(
    record: &'a Value,
    path: &str,
    parse: impl FnOnce(&'a Value) -> Result<T, String>,
) -> Result<T, Miss> {
    let value = field(record, path)?;
    parse(value).map_err(|why| Miss::Unparsable(format!("{path}: {why}")))
}

/// A string input.
pub fn input_str<'a>(record: &'a Value, path: &str) -> Result<&'a str, Miss> {
    input(record, path, |v| v.as_str().ok_or_else(|| format!("not a string: {v}")))
}

/// A hex input as bytes.
pub fn input_hex(record: &Value, path: &str) -> Result<Vec<u8>, Miss> {
    input(record, path, hex_value)
}

/// A hex input of exactly `N` bytes.
pub fn input_hex_array<const N: usize>(record: &Value, path: &str) -> Result<[u8; N], Miss> {
    input(record, path, |v| {
        let bytes = hex_value(v)?;
        let len = bytes.len();
        bytes.try_into().map_err(|_| format!("{len} bytes, not {N}"))
    })
}

/// An input given as a decimal string (as the oxen vectors write u64 and u256 values), parsed
/// by `T`'s `FromStr`.
pub fn input_decimal<T>(record: &Value, path: &str) -> Result<T, Miss>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    input(record, path, decimal_value)
}

/// An input given as a JSON integer, converted to `T` (out of `T`'s range is unparsable).
pub fn input_int<T: TryFrom<u64>>(record: &Value, path: &str) -> Result<T, Miss> {
    input(record, path, int_value)
}

/// A JSON integer as `T`.
pub fn int_value<T: TryFrom<u64>>(value: &Value) -> Result<T, String> {
    let n = value.as_u64().ok_or_else(|| format!("not a non-negative integer: {value}"))?;
    T::try_from(n).map_err(|_| format!("{n} is out of range"))
}

/// A decimal string as `T`.
pub fn decimal_value<T>(value: &Value) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = value.as_str().ok_or_else(|| format!("not a decimal string: {value}"))?;
    text.parse().map_err(|e| format!("{text:?}: {e}"))
}

/// A hex string as bytes.
pub fn hex_value(value: &Value) -> Result<Vec<u8>, String> {
    let text = value.as_str().ok_or_else(|| format!("not a hex string: {value}"))?;
    hex::decode(text).map_err(|e| format!("not hex: {e}"))
}

/// A random number generator that plays back the `rng_draws` of a vector record: each request
/// must be for exactly the next recorded buffer, in order.
#[derive(Debug)]
pub struct ReplayRng {
    draws: VecDeque<Vec<u8>>,
}

impl ReplayRng {
    /// Replays the hex strings of `record[field]` (usually `"rng_draws"`).
    pub fn from_record(record: &Value, path: &str) -> Result<Self, String> {
        let draws = field(record, path)?
            .as_array()
            .ok_or_else(|| format!("field {path:?} is not a list"))?
            .iter()
            .map(|d| {
                d.as_str()
                    .and_then(|s| hex::decode(s).ok())
                    .ok_or_else(|| format!("field {path:?} holds something other than hex"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { draws })
    }

    /// Fails unless every recorded draw was used.
    pub fn finish(self) -> Result<(), String> {
        if self.draws.is_empty() {
            Ok(())
        } else {
            Err(format!("{} recorded random draws were not used", self.draws.len()))
        }
    }
}

impl RngCore for ReplayRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let draw = self.draws.pop_front().expect("the code drew more randomness than was recorded");
        assert_eq!(draw.len(), dest.len(), "the code drew a buffer of another size than recorded");
        dest.copy_from_slice(&draw);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for ReplayRng {}

/// Runs `check` on every file of the committed fuzz corpus `fuzz/corpus/<target>`, so that every
/// input the fuzzer kept is tested on stable Rust, through the same check the fuzz target runs.
///
/// # Panics
/// If the directory cannot be read or holds no file (and, through `check`, if an input fails).
#[allow(clippy::panic, clippy::expect_used)]
pub fn replay_corpus(target: &str, check: fn(&[u8])) {
    let dir = workspace_root().join("fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            check(&data);
            count += 1;
        }
    }
    assert!(count > 0, "{} has no corpus files", dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unparsable_input_is_a_refusal_only_where_one_is_expected() {
        let record = serde_json::json!({ "key": "00ff", "n": 300, "missing": null });
        let key = input_hex_array::<32>(&record, "key");
        assert!(matches!(key, Err(Miss::Unparsable(_))), "{key:?}");
        assert_eq!(judge(Expect::Refusal, key.clone()), Ok(None));
        assert!(judge(Expect::Value, key.clone()).unwrap_err().contains("cannot be parsed"));
        assert_eq!(settle(Expect::Refusal, key.clone().map(|_| ())), Ok(()));
        assert!(settle(Expect::Value, key.map(|_| ())).is_err());

        let n = input_int::<u8>(&record, "n");
        assert!(matches!(n, Err(Miss::Unparsable(_))), "{n:?}");
        assert_eq!(input_int::<u16>(&record, "n"), Ok(300));

        // A missing field is a broken record, whatever the record expects.
        let absent = input_hex(&record, "absent");
        assert!(matches!(absent, Err(Miss::Failed(_))), "{absent:?}");
        assert!(judge(Expect::Refusal, absent.clone()).is_err());
        assert!(settle(Expect::Refusal, absent.map(|_| ())).is_err());
        // A field that is there but null cannot be parsed.
        assert!(matches!(input_hex(&record, "missing"), Err(Miss::Unparsable(_))));
    }

    #[test]
    fn judge_compares_refusals_and_values() {
        assert_eq!(judge(Expect::Refusal, Err::<u8, _>(Miss::refused("bad key"))), Ok(None));
        assert!(judge(Expect::Refusal, Ok::<u8, Miss>(1)).is_err());
        assert_eq!(judge(Expect::Value, Ok::<u8, Miss>(1)), Ok(Some(1)));
        assert!(judge(Expect::Value, Err::<u8, _>(Miss::refused("bad key"))).is_err());
        assert!(judge(Expect::Refusal, Err::<u8, _>(Miss::from("wrong output"))).is_err());
        assert!(settle(Expect::Refusal, Err(Miss::refused("x"))).is_err());
    }
}
