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
