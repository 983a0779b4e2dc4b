//! Durability: the ledger as an append-only log of the transactions it applied, plus snapshots.
//!
//! Sans-IO: [`Journal::apply`] returns the bytes to append to the log file; [`Journal::open`]
//! takes the file's bytes (and optionally a snapshot's) and rebuilds the ledger. A log whose tail
//! was cut off or damaged is reported with the offset to truncate to; everything before it is
//! kept. Replaying from the start or from any snapshot gives the same [`Ledger::state_hash`].
//!
//! ```
//! use sesh_staking::journal::Journal;
//! use sesh_staking::tx::Tx;
//! use sesh_staking::Params;
//!
//! let mut journal = Journal::new(Params::session_mainnet());
//! let mut file = Vec::new();
//! for height in 1..=3 {
//!     let (_, record) = journal.apply(&Tx::AdvanceHeight(height).unsigned())?;
//!     file.extend_from_slice(&record);
//! }
//! let snapshot = journal.snapshot();
//! file.truncate(file.len() - 3); // a crash in the middle of the last write
//!
//! let recovered = Journal::open(Params::session_mainnet(), None, &file)?;
//! assert_eq!(recovered.journal.ledger().height(), 2);
//! assert!(recovered.damage.is_some()); // ... and where: truncate the file to `valid_len`
//!
//! // A snapshot taken at height 3 covers more than the damaged file holds: an error.
//! assert!(Journal::open(Params::session_mainnet(), Some(&snapshot), &file).is_err());
//! # Ok::<(), sesh_staking::Error>(())
//! ```

use crate::error::{Error, LogProblem};
use crate::event::Event;
use crate::ledger::Ledger;
use crate::params::Params;
use crate::tx::{SignedTx, VerifiedTx};

/// Format version of log records and snapshots.
pub const FORMAT_VERSION: u8 = 1;
const SNAPSHOT_MAGIC: &[u8; 8] = b"SESHSNAP";
/// Largest record accepted when reading a log (a transaction is at most a few KiB).
const MAX_RECORD: usize = 64 * 1024;

/// A ledger with its log.
#[derive(Clone, Debug)]
pub struct Journal {
    ledger: Ledger,
    log_len: u64,
}

/// What [`Journal::open`] found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Recovered {
    /// The ledger with every intact record applied.
    pub journal: Journal,
    /// Records applied from the log (after the snapshot, if one was given).
    pub applied: usize,
    /// Bytes of the log that are intact: truncate the file to this before appending.
    pub valid_len: u64,
    /// Where the log is damaged, and how, if it is.
    pub damage: Option<(u64, LogProblem)>,
}

impl Journal {
    /// An empty ledger with an empty log.
    pub fn new(params: Params) -> Self {
        Self { ledger: Ledger::new(params), log_len: 0 }
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Bytes of log written so far.
    pub fn log_len(&self) -> u64 {
        self.log_len
    }

    /// Verifies and applies `tx`; on success returns the events and the record to append to the
    /// log. A rejected transaction changes nothing and writes nothing.
    ///
    /// # Errors
    /// As [`Ledger::apply_signed`].
    pub fn apply(&mut self, tx: &SignedTx) -> Result<(Vec<Event>, Vec<u8>), Error> {
        let verified = tx.verify(self.ledger.params())?;
        self.apply_verified(tx, &verified)
    }

    /// Applies a transaction verified beforehand (e.g. in a batch with
    /// [`verify_batch`](crate::tx::verify_batch)); `tx` is what gets logged.
    ///
    /// # Errors
    /// As [`Ledger::apply`].
    pub fn apply_verified(
        &mut self,
        tx: &SignedTx,
        verified: &VerifiedTx,
    ) -> Result<(Vec<Event>, Vec<u8>), Error> {
        let events = self.ledger.apply(verified)?;
        let record = record_bytes(tx);
        self.log_len += record.len() as u64;
        Ok((events, record))
    }

    /// The ledger's state and the log length it covers, versioned and checksummed.
    pub fn snapshot(&self) -> Vec<u8> {
        let body = postcard::to_stdvec(&self.ledger).unwrap_or_default();
        let mut out = Vec::with_capacity(body.len() + 25);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.log_len.to_le_bytes());
        out.extend_from_slice(&body);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Rebuilds the ledger from a snapshot (if given) and the log. Records after the snapshot's
    /// position are applied in order until the log ends or is damaged.
    ///
    /// # Errors
    /// [`Error::Log`] if the snapshot is damaged, of another version, for other parameters, or
    /// covers more log than `log` holds (`log` is always the whole file, from its start). Damage in the log itself is not an error: it is reported
    /// in [`Recovered::damage`].
    pub fn open(params: Params, snapshot: Option<&[u8]>, log: &[u8]) -> Result<Recovered, Error> {
        Self::open_observed(params, snapshot, log, |_, _, _| {})
    }

    /// As [`open`](Self::open), calling `observe(ledger, tx, events)` after each record of the
    /// log is applied (after the snapshot's part): how a caller rebuilds what it derives from
    /// the ledger's history, such as reward balances, without storing it.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_observed(
        params: Params,
        snapshot: Option<&[u8]>,
        log: &[u8],
        mut observe: impl FnMut(&Ledger, &crate::tx::Tx, &[Event]),
    ) -> Result<Recovered, Error> {
        let mut journal = match snapshot {
            Some(bytes) => Self::from_snapshot(&params, bytes)?,
            None => Self::new(params),
        };
        let Some(mut at) =
            usize::try_from(journal.log_len).ok().filter(|start| *start <= log.len())
        else {
            // The snapshot covers more log than there is: the log lost records.
            return Err(Error::Log { offset: log.len() as u64, problem: LogProblem::Truncated });
        };
        let mut applied = 0;
        let mut damage = None;
        while at < log.len() {
            let problem = match read_record(log.get(at..).unwrap_or_default()) {
                Ok((tx, len)) => {
                    let verified = tx.assume_verified();
                    match journal.ledger.apply(&verified) {
                        Ok(events) => {
                            observe(&journal.ledger, verified.tx(), &events);
                            at += len;
                            applied += 1;
                            continue;
                        }
                        Err(_) => LogProblem::Inapplicable,
                    }
                }
                Err(problem) => problem,
            };
            damage = Some((at as u64, problem));
            break;
        }
        journal.log_len = at as u64;
        Ok(Recovered { valid_len: journal.log_len, journal, applied, damage })
    }

    fn from_snapshot(params: &Params, bytes: &[u8]) -> Result<Self, Error> {
        let damaged = |problem| Error::Log { offset: 0, problem };
        let (body, crc) = bytes.split_last_chunk::<4>().ok_or(damaged(LogProblem::Truncated))?;
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return Err(damaged(LogProblem::Checksum));
        }
        let rest = body.strip_prefix(SNAPSHOT_MAGIC).ok_or(damaged(LogProblem::Snapshot))?;
        let (&version, rest) = rest.split_first().ok_or(damaged(LogProblem::Truncated))?;
        if version != FORMAT_VERSION {
            return Err(damaged(LogProblem::Version(version)));
        }
        let (log_len, state) =
            rest.split_first_chunk::<8>().ok_or(damaged(LogProblem::Truncated))?;
        let ledger: Ledger =
            postcard::from_bytes(state).map_err(|_| damaged(LogProblem::Snapshot))?;
        // The staking requirement is the chain's to change (`Tx::SetStakingRequirement`): a
        // snapshot's may differ from the one the network started with.
        let mut expected = params.clone();
        expected.staking_requirement = ledger.params().staking_requirement;
        if *ledger.params() != expected {
            return Err(damaged(LogProblem::Snapshot));
        }
        Ok(Self { ledger, log_len: u64::from_le_bytes(*log_len) })
    }
}

/// The log record of `tx`: payload length (u32 LE), CRC-32 of the payload (u32 LE), payload
/// (format version, then the signed transaction's bytes). [`Journal::apply`] returns these.
pub fn record_bytes(tx: &SignedTx) -> Vec<u8> {
    let mut payload = vec![FORMAT_VERSION];
    payload.extend_from_slice(&tx.to_bytes());
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Reads the record at the start of `bytes`: the transaction and the record's length.
fn read_record(bytes: &[u8]) -> Result<(SignedTx, usize), LogProblem> {
    let (len, rest) = bytes.split_first_chunk::<4>().ok_or(LogProblem::Truncated)?;
    let (crc, rest) = rest.split_first_chunk::<4>().ok_or(LogProblem::Truncated)?;
    let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
    if len > MAX_RECORD {
        return Err(LogProblem::Checksum);
    }
    let payload = rest.get(..len).ok_or(LogProblem::Truncated)?;
    if crc32fast::hash(payload) != u32::from_le_bytes(*crc) {
        return Err(LogProblem::Checksum);
    }
    let (&version, tx) = payload.split_first().ok_or(LogProblem::Checksum)?;
    if version != FORMAT_VERSION {
        return Err(LogProblem::Version(version));
    }
    let tx = SignedTx::from_bytes(tx).map_err(|_| LogProblem::Inapplicable)?;
    Ok((tx, len + 8))
}

impl Ledger {
    /// BLAKE2b-256 of the ledger's canonical encoding: equal hashes, equal ledgers.
    pub fn state_hash(&self) -> [u8; 32] {
        let bytes = postcard::to_stdvec(self).unwrap_or_default();
        sesh_identity::hash::blake2b::<32>(b"sesh-staking/v1/state", &[&bytes])
    }
}
