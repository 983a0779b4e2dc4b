//! The ledger keeper of a local network, as files: `sesh_node::keeper::Keeper` decides, this
//! keeps what it decided in the data directory: `ledger.log` (every applied transaction, synced
//! before it counts) and `network.json` (the published state: addresses, swarms, block hash).
//! The reward balances are not stored: they are rebuilt from `ledger.log` on start.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sesh_identity::NodeId;
use sesh_network::NetworkState;
use sesh_node::keeper::Keeper;
use sesh_node::obligations::LedgerView;
use sesh_staking::tx::SignedTx;

/// The keeper and its files.
#[derive(Debug)]
pub struct Authority {
    keeper: Keeper,
    log: File,
    dir: PathBuf,
    /// State changes already logged.
    logged: usize,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

impl Authority {
    /// Opens (or starts) the ledger in `dir`.
    ///
    /// # Errors
    /// What could not be read, and why.
    pub fn open(dir: &Path, hf: [u16; 2], block_ms: u64) -> Result<Self, String> {
        let log_path = dir.join("ledger.log");
        let log = crate::files::read_if_there(&log_path)?.unwrap_or_default();
        let state = crate::files::read_if_there(&dir.join("network.json"))?;
        let restored = Keeper::restore(hf, &log, state.as_deref())
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some((offset, problem)) = &restored.damage {
            tracing::warn!(offset, %problem, "ledger log has a damaged tail; truncating it");
        }
        if let Some(height) = restored.stale_state {
            tracing::warn!(
                height,
                "network.json is not at the log's height; its swarms are taken as they are"
            );
        }
        for (height, e) in &restored.unpaid {
            tracing::error!(height, error = %e, "a block of the log could not be paid");
        }
        let file =
            OpenOptions::new().create(true).append(true).open(&log_path).map_err(io(&log_path))?;
        file.set_len(restored.valid_len).map_err(io(&log_path))?;
        let mut keeper = restored.keeper;
        keeper.set_block_ms(block_ms);
        let logged = keeper.changes().len();
        Ok(Self { keeper, log: file, dir: dir.to_owned(), logged })
    }

    // Writes wait for the disk: `block_in_place` moves the runtime's other tasks off this worker
    // meanwhile (the node runs a multi-threaded runtime).
    fn append(&mut self, record: &[u8]) -> Result<(), String> {
        let path = self.dir.join("ledger.log");
        let log = &mut self.log;
        tokio::task::block_in_place(|| log.write_all(record).and_then(|()| log.sync_data()))
            .map_err(io(&path))
    }

    fn persist(&self) -> Result<(), String> {
        let bytes = self.state().map_err(|e| e.to_string())?.to_json().to_string();
        let path = self.dir.join("network.json");
        tokio::task::block_in_place(|| crate::files::replace(&path, bytes.as_bytes()))
    }

    /// A node joins (or says where it is now); `node` signed the request.
    ///
    /// # Errors
    /// What was wrong with the request, for a `400` answer, or what could not be written.
    pub fn join(&mut self, node: NodeId, body: &[u8]) -> Result<(), String> {
        if let Some(record) = self.keeper.join(node, body).map_err(|e| e.to_string())? {
            self.append(&record)?;
            tracing::info!(%node, "node registered");
        }
        self.persist()
    }

    /// Makes the next block.
    ///
    /// # Errors
    /// What failed.
    pub fn block(&mut self) -> Result<(), String> {
        let (record, block) = self.keeper.block().map_err(|e| e.to_string())?;
        self.append(&record)?;
        for c in self.keeper.changes().get(self.logged..).unwrap_or_default() {
            tracing::info!(height = c.height, node = %c.node, state = c.state, "a quorum's decision applied");
        }
        self.logged = self.keeper.changes().len();
        if let Some(swarms) = block.swarms.filter(|s| !s.transition.changes().is_empty()) {
            let map = swarms.transition.map();
            tracing::info!(
                height = block.height,
                swarms = map.swarm_count(),
                nodes = map.node_count(),
                "swarms changed"
            );
        }
        self.persist()
    }

    /// The published state.
    ///
    /// # Errors
    /// As [`Keeper::state`].
    pub fn state(&self) -> Result<NetworkState, sesh_node::Error> {
        self.keeper.state()
    }

    /// `POST /network/v1/tx`: a quorum's decided transaction (its bytes), verified and applied
    /// by the ledger (`Keeper::submit`).
    ///
    /// # Errors
    /// The answer's status and body: `400` `{"refused", "rule", "error"}` with the ledger's
    /// refusal (`refused` is `ledger` or `bad_request`; `rule` names the ledger's rule), or
    /// `500` `{"error"}` when the log could not be written.
    pub fn submit_bytes(&mut self, body: &[u8]) -> Result<(), (u16, Value)> {
        let tx = SignedTx::from_bytes(body).map_err(|e| refused(&sesh_node::Error::Ledger(e)))?;
        self.submit(&tx)
    }

    /// Applies a quorum's decided transaction.
    ///
    /// # Errors
    /// As [`Authority::submit_bytes`].
    pub fn submit(&mut self, tx: &SignedTx) -> Result<(), (u16, Value)> {
        let record = self.keeper.submit(tx).map_err(|e| refused(&e))?;
        self.append(&record).map_err(|e| (500, json!({"error": e})))?;
        for c in self.keeper.changes().get(self.logged..).unwrap_or_default() {
            tracing::info!(height = c.height, node = %c.node, state = c.state, "a quorum's decision applied");
        }
        self.logged = self.keeper.changes().len();
        Ok(())
    }

    /// The keeper's part of `GET /network/v1/votes`: its height and every state change applied.
    pub fn changes(&self) -> Value {
        self.keeper.changes_json()
    }

    /// The ledger view (`GET /network/v1/ledger`): the ledger alone.
    pub fn view(&self) -> LedgerView {
        self.keeper.view().clone()
    }

    /// `GET /network/v1/rewards`.
    pub fn rewards(&self) -> Value {
        self.keeper.rewards()
    }
}

/// A `400` answer naming the rule a request broke.
fn refused(e: &sesh_node::Error) -> (u16, Value) {
    let rule = match e {
        sesh_node::Error::Ledger(sesh_staking::Error::TxRejected { reason }) => {
            let name = format!("{reason:?}");
            name.split([' ', '(', '{']).next().unwrap_or_default().to_owned()
        }
        sesh_node::Error::Ledger(sesh_staking::Error::BadSignature { .. }) => "BadSignature".into(),
        _ => String::new(),
    };
    (400, json!({"refused": e.refusal(), "rule": rule, "error": e.to_string()}))
}
