//! A starting network read from a staking ledger: the `--json` output of the `ledger` example
//! (`docs/ledger.md`). The file is untrusted input: every field is checked, and a file that
//! does not parse, or whose stakes do not fit the ledger's rules, is refused with a
//! [`LedgerFileError`] naming the node (its index in `nodes` and its `pubkey_ed25519`) and the
//! field.

use serde_json::Value;
use sesh_staking::tx::ChainStake;
use sesh_staking::{Address, BlsKey};

/// Why a ledger file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerFileError {
    /// Not JSON at all.
    #[error("not a ledger JSON file: {0}")]
    Json(String),
    /// A top-level field is missing or malformed.
    #[error("field {field:?}: {why}")]
    Field {
        /// The field.
        field: String,
        /// What is wrong with it.
        why: String,
    },
    /// A node's field is missing or malformed.
    #[error("node {index} ({pubkey}): field {field:?}: {why}")]
    NodeField {
        /// The node's index in `nodes`.
        index: usize,
        /// Its `pubkey_ed25519` as written (or `?`).
        pubkey: String,
        /// The field (`contributors[2].stake` for a contributor's).
        field: String,
        /// What is wrong with it.
        why: String,
    },
    /// A node's stakes do not fit the ledger's rules.
    #[error("node {index} ({pubkey}): stakes do not fit the rules: {why}")]
    Stakes {
        /// The node's index in `nodes`.
        index: usize,
        /// Its `pubkey_ed25519`.
        pubkey: String,
        /// Which rule, with the numbers.
        why: String,
    },
    /// The ledger's rules refused the node when the simulation registered it.
    #[error("node {index} ({pubkey}): the ledger's rules refuse it: {why}")]
    Refused {
        /// The node's index in `nodes`.
        index: usize,
        /// Its `pubkey_ed25519`.
        pubkey: String,
        /// The ledger's verdict.
        why: String,
    },
    /// The simulation could not start (the scenario, or its first block).
    #[error("{0}")]
    Sim(String),
    /// The file has no node the simulation can start from.
    #[error("no active or exit-requested node in the ledger: nothing to simulate")]
    Empty,
}

/// A node's state in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// `awaiting_contributions`.
    Awaiting,
    /// `active`.
    Active,
    /// `exit_requested`.
    ExitRequested,
    /// `decommissioned`.
    Decommissioned,
    /// `removed`.
    Removed,
    /// `liquidated`.
    Liquidated,
}

/// One node of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNode {
    /// Its index in `nodes`.
    pub index: usize,
    /// Its Ed25519 key (64 hex digits), as the file has it.
    pub pubkey: String,
    /// Its BLS key.
    pub bls_key: BlsKey,
    /// The operator (the first contributor).
    pub operator: Address,
    /// Its total stake.
    pub stake: u64,
    /// Its full stake when it registered.
    pub staking_requirement: u64,
    /// Operator fee, basis points.
    pub fee_bp: u16,
    /// Seeded by the contract's owner (no fee, no operator minimum).
    pub seeded: bool,
    /// Its state.
    pub state: FileState,
    /// The stakers, the operator first.
    pub contributors: Vec<ChainStake>,
}

/// A parsed ledger file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerFile {
    /// The ledger's state hash (64 hex digits).
    pub state_hash: String,
    /// The ledger's height.
    pub height: u64,
    /// The contract's staking requirement at that height (atomic units).
    pub staking_requirement: u64,
    /// Every node, in the file's order.
    pub nodes: Vec<FileNode>,
}

fn field(field: &str, why: impl Into<String>) -> LedgerFileError {
    LedgerFileError::Field { field: field.to_owned(), why: why.into() }
}

fn amount(v: Option<&Value>) -> Result<u64, String> {
    match v {
        None => Err("missing".into()),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map_err(|e| format!("{s:?} is not an amount in atomic units (a decimal string): {e}")),
        Some(other) => Err(format!("{other} is not a decimal string")),
    }
}

fn hex_bytes<const N: usize>(v: Option<&Value>, prefixed: bool) -> Result<[u8; N], String> {
    let Some(Value::String(s)) = v else {
        return Err(if v.is_none() { "missing".into() } else { "not a string".into() });
    };
    let digits = if prefixed {
        s.strip_prefix("0x").ok_or_else(|| format!("{s:?} does not start with 0x"))?
    } else {
        s.strip_prefix("0x").unwrap_or(s)
    };
    let bytes = hex::decode(digits).map_err(|e| format!("{s:?} is not hex: {e}"))?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| format!("{s:?} is {len} bytes, not {N}"))
}

fn account(v: Option<&Value>) -> Result<Address, String> {
    hex_bytes::<20>(v, true)
        .map(Address::from_evm)
        .map_err(|e| format!("{e} (an EVM account: 0x and 40 hex digits)"))
}

impl LedgerFile {
    /// Parses and checks the `ledger` example's `--json` output against the ledger's rules:
    /// `max_contributors` and `max_fee_bp` of the rules the simulation runs (the staking
    /// requirement is the file's).
    ///
    /// # Errors
    /// [`LedgerFileError`] naming what is wrong.
    pub fn parse(
        text: &str,
        max_contributors: usize,
        max_fee_bp: u16,
    ) -> Result<Self, LedgerFileError> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| LedgerFileError::Json(e.to_string()))?;
        let Value::Object(root) = root else {
            return Err(LedgerFileError::Json("not a JSON object".into()));
        };
        let state_hash = match root.get("state_hash") {
            Some(Value::String(s)) if s.len() == 64 && hex::decode(s).is_ok() => s.clone(),
            Some(_) => return Err(field("state_hash", "not 64 hex digits")),
            None => return Err(field("state_hash", "missing")),
        };
        let height = root
            .get("height")
            .and_then(Value::as_u64)
            .ok_or_else(|| field("height", "missing or not a whole number"))?;
        let staking_requirement =
            amount(root.get("staking_requirement")).map_err(|e| field("staking_requirement", e))?;
        if staking_requirement == 0 {
            return Err(field("staking_requirement", "zero"));
        }
        let Some(Value::Array(list)) = root.get("nodes") else {
            return Err(field("nodes", "missing or not a list"));
        };
        let mut nodes = Vec::with_capacity(list.len());
        for (index, v) in list.iter().enumerate() {
            nodes.push(parse_node(index, v, max_contributors, max_fee_bp)?);
        }
        Ok(Self { state_hash, height, staking_requirement, nodes })
    }
}

fn parse_node(
    index: usize,
    v: &Value,
    max_contributors: usize,
    max_fee_bp: u16,
) -> Result<FileNode, LedgerFileError> {
    let pubkey = match v.get("pubkey_ed25519") {
        Some(Value::String(s)) => s.chars().take(80).collect(),
        _ => "?".to_owned(),
    };
    let bad = |f: &str, why: String| LedgerFileError::NodeField {
        index,
        pubkey: pubkey.clone(),
        field: f.to_owned(),
        why,
    };
    if !v.is_object() {
        return Err(bad("", "not a JSON object".into()));
    }
    hex_bytes::<32>(v.get("pubkey_ed25519"), false).map_err(|e| bad("pubkey_ed25519", e))?;
    let bls_key =
        BlsKey::from_bytes(hex_bytes::<64>(v.get("bls_key"), true).map_err(|e| bad("bls_key", e))?);
    let operator = account(v.get("operator")).map_err(|e| bad("operator", e))?;
    let stake = amount(v.get("stake")).map_err(|e| bad("stake", e))?;
    let staking_requirement =
        amount(v.get("staking_requirement")).map_err(|e| bad("staking_requirement", e))?;
    let fee_bp = v
        .get("fee_bp")
        .and_then(Value::as_u64)
        .and_then(|f| u16::try_from(f).ok())
        .ok_or_else(|| bad("fee_bp", "missing or not a whole number below 65536".into()))?;
    let seeded = match v.get("seeded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("seeded", "not true or false".into())),
    };
    let state = match v.get("state").and_then(Value::as_str) {
        Some("awaiting_contributions") => FileState::Awaiting,
        Some("active") => FileState::Active,
        Some("exit_requested") => FileState::ExitRequested,
        Some("decommissioned") => FileState::Decommissioned,
        Some("removed") => FileState::Removed,
        Some("liquidated") => FileState::Liquidated,
        Some(other) => return Err(bad("state", format!("{other:?} is not a state"))),
        None => return Err(bad("state", "missing or not a string".into())),
    };
    let Some(Value::Array(list)) = v.get("contributors") else {
        return Err(bad("contributors", "missing or not a list".into()));
    };
    let mut contributors = Vec::with_capacity(list.len().min(64));
    for (j, c) in list.iter().enumerate() {
        let address =
            account(c.get("address")).map_err(|e| bad(&format!("contributors[{j}].address"), e))?;
        let beneficiary = match c.get("beneficiary") {
            None | Some(Value::Null) => address,
            b => account(b).map_err(|e| bad(&format!("contributors[{j}].beneficiary"), e))?,
        };
        let amount =
            amount(c.get("stake")).map_err(|e| bad(&format!("contributors[{j}].stake"), e))?;
        contributors.push(ChainStake { address, beneficiary, amount });
    }
    let node = FileNode {
        index,
        pubkey,
        bls_key,
        operator,
        stake,
        staking_requirement,
        fee_bp,
        seeded,
        state,
        contributors,
    };
    if matches!(node.state, FileState::Active | FileState::ExitRequested) {
        node.check_stakes(max_contributors, max_fee_bp)?;
    }
    Ok(node)
}

impl FileNode {
    /// The stake rules a staked node's record must fit (the ledger checks them again when the
    /// simulation registers it).
    fn check_stakes(
        &self,
        max_contributors: usize,
        max_fee_bp: u16,
    ) -> Result<(), LedgerFileError> {
        let refuse = |why: String| LedgerFileError::Stakes {
            index: self.index,
            pubkey: self.pubkey.clone(),
            why,
        };
        let Some(first) = self.contributors.first() else {
            return Err(refuse("no contributors".into()));
        };
        if first.address != self.operator {
            return Err(refuse("the operator is not the first contributor".into()));
        }
        if self.contributors.len() > max_contributors {
            return Err(refuse(format!(
                "{} contributors, at most {max_contributors}",
                self.contributors.len()
            )));
        }
        let mut sum: u64 = 0;
        for (j, c) in self.contributors.iter().enumerate() {
            if c.amount == 0 {
                return Err(refuse(format!("contributor {j} stakes nothing")));
            }
            if self.contributors.iter().take(j).any(|o| o.address == c.address) {
                return Err(refuse(format!("contributor {j} is listed twice")));
            }
            sum = sum.checked_add(c.amount).ok_or_else(|| refuse("stakes overflow".into()))?;
        }
        if sum != self.stake {
            return Err(refuse(format!(
                "the contributors' stakes sum to {sum}, the node's stake is {}",
                self.stake
            )));
        }
        if self.stake != self.staking_requirement {
            return Err(refuse(format!(
                "a staked node's stake ({}) is not its staking requirement ({})",
                self.stake, self.staking_requirement
            )));
        }
        if !self.seeded {
            let minimum = (self.staking_requirement / 4).max(1);
            if first.amount < minimum {
                return Err(refuse(format!(
                    "the operator stakes {}, below the minimum of a quarter ({minimum})",
                    first.amount
                )));
            }
            if self.fee_bp > max_fee_bp {
                return Err(refuse(format!("fee {} bp, at most {max_fee_bp}", self.fee_bp)));
            }
        } else if self.fee_bp != 0 {
            return Err(refuse(format!("a seeded node's fee is 0, not {} bp", self.fee_bp)));
        }
        Ok(())
    }
}
