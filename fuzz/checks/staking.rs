// The checks behind the sesh-staking fuzz targets. Included (not compiled on its own) by
// `fuzz_targets/staking_*.rs` and by `crates/sesh-staking/tests/fuzz_corpus.rs`, which replays
// the committed corpus through the same code on stable Rust.

use sesh_staking::journal::{Journal, record_bytes};
use sesh_staking::tx::SignedTx;
use sesh_staking::Params;

fn params() -> Params {
    Params::testnet(100_000_000_000)
}

/// Transaction decoding: no panic; what decodes re-encodes to the same bytes (the encoding is
/// canonical); verification of arbitrary signatures is an error, never a panic.
pub fn staking_tx(data: &[u8]) {
    if let Ok(tx) = SignedTx::from_bytes(data) {
        assert_eq!(tx.to_bytes(), data);
        let _ = tx.verify(&params());
    }
}

/// Sequences of decoded transactions applied to a ledger (through a log, which skips the
/// signature checks so the fuzzer reaches the rules): no panic, tokens conserved, and the
/// state survives a snapshot round trip. Input: `[len: u16 LE][transaction bytes]…`.
pub fn staking_ledger(data: &[u8]) {
    let mut log = Vec::new();
    let mut rest = data;
    while let [lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (tx, after) = tail.split_at(len);
        if let Ok(tx) = SignedTx::from_bytes(tx) {
            log.extend_from_slice(&record_bytes(&tx));
        }
        rest = after;
    }
    let Ok(recovered) = Journal::open(params(), None, &log) else { return };
    let ledger = recovered.journal.ledger();
    assert!(ledger.totals().balanced());
    let snapshot = recovered.journal.snapshot();
    let reopened = Journal::open(params(), Some(&snapshot), &log[..recovered.valid_len as usize]);
    assert_eq!(reopened.map(|r| r.journal.ledger().state_hash()).ok(), Some(ledger.state_hash()));
}
