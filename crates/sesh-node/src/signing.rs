//! What a node agrees to sign with its BLS key, and the key itself.
//!
//! The staking contract moves tokens, and removes nodes, only with one BLS aggregate signature
//! of the network's nodes (`sesh_bls`): each node signs only what its own ledger says. This
//! module decides, for one node, whether it signs and what exactly:
//!
//! - **A reward balance** ([`Signable::reward`]): the cumulative balance credited to an EVM
//!   address (rewards and returned stake), `⌊milli / 1000⌋` atomic units, at a height the node
//!   applied and still keeps ([`BalanceHistory`], the last [`HISTORY_HEIGHTS`] heights). oxend
//!   does the same (`src/bls/bls_aggregator.cpp` `get_rewards`, answering from
//!   `src/blockchain_db/sqlite/db_sqlite.cpp` `get_accrued_rewards`: a height above its top, or
//!   below the oldest recent snapshot, is "not available"). Beyond oxend, the node refuses a
//!   balance of zero (oxend's aggregator refuses to aggregate one) and, when the request names
//!   the amount it wants signed, an amount above its ledger's.
//! - **An exit** ([`Signable::exit`]): oxend's `core::is_node_removable`
//!   (`src/cryptonote_core/cryptonote_core.cpp`, `Blockchain::get_removable_nodes` in
//!   `blockchain.cpp`): the key is a node of the contract (as this node followed it) that the
//!   ledger does not hold in service: removed when its exit's unlock height passed, or unknown
//!   to the ledger (a registration it refused). One difference: oxend also signs a plain exit
//!   (no penalty) of a deregistered node (`is_node_removable` holds for every recently removed
//!   node; the spec's open question Q1); the ledger requires a deregistered node to be
//!   liquidated (its own exits are refused `MustBeLiquidated`, and a contract exit without
//!   penalty would return its whole stake), so the node refuses that exit
//!   ([`Error::MustBeLiquidated`]) and signs its liquidation.
//! - **A liquidation** ([`Signable::liquidation`]): oxend's `core::is_node_liquidatable`:
//!   removable, and the ledger removed the node (oxend's `recently_removed_nodes`) and its
//!   liquidation height is reached. oxend compares `get_current_blockchain_height()` (its top
//!   height + 1: the next block's height) with `liquidation_height`; so does this module, with
//!   the ledger's height + 1. A key the contract holds but the ledger never had is exited, not
//!   liquidated.
//! - **The timestamp** of an exit or a liquidation: within [`EXIT_TIMESTAMP_WINDOW`] (3
//!   minutes) of the node's own clock, either way (oxend `BLS_EXIT_REQUEST_MAX_AGE`,
//!   `bls_aggregator.cpp` `extract_exit_request`); the contract then takes the signature for 10
//!   minutes after the timestamp.
//!
//! Each decision returns the [`Message`] to sign; [`Signer`] signs it with the node's key under
//! the chain's [`Domain`] (chain id and contract address). A refusal is a typed
//! [`Error`] saying what the ledger says instead.
//!
//! ```
//! use sesh_bls::Domain;
//! use sesh_identity::Identity;
//! use sesh_node::signing::{Signer, bls_key};
//!
//! let node = Identity::generate(&mut rand_core::OsRng);
//! let signer = Signer::new(&node, Domain { chain_id: 31337, contract: [7; 20] });
//! assert_eq!(signer.public_key().to_bytes(), *bls_key(&node).as_bytes());
//! ```

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};
use sesh_bls::{Domain, Message, PublicKey, SecretKey, Signature};
use sesh_identity::Identity;
use sesh_rewards::engine::RewardEngine;
use sesh_staking::{Address, BlsKey, Ledger, NodeStatus, RemovalReason};

use crate::chain::Chain;
use crate::error::{Error, Result};

/// How many followed heights' balances a node keeps to sign (oxend keeps
/// `STORE_RECENT_REWARDS` = 5 on mainnet, `src/network_config/mainnet.h`; sesh's heights are
/// short, and an aggregator asks every node for the same height).
pub const HISTORY_HEIGHTS: u64 = 64;

/// How far an exit's or liquidation's timestamp may be from the node's clock, seconds (oxend's
/// `BLS_EXIT_REQUEST_MAX_AGE`, either way).
pub const EXIT_TIMESTAMP_WINDOW: u64 = 180;

/// Milli-atomic units in an atomic unit (the reward engine's unit).
const MILLI: u128 = 1000;

/// The domain string of the node's BLS secret key: the key is `SecretKey::from_seed` of it
/// followed by the node's Ed25519 seed.
const KEY_DOMAIN: &[u8] = b"sesh-node/v1/bls-key/";

/// The node's BLS secret key, derived from its own secret seed (so the key file it already has
/// is all it keeps). It is a secret: never print or store it.
pub fn bls_secret_key(identity: &Identity) -> SecretKey {
    let mut seed = zeroize::Zeroizing::new(Vec::with_capacity(KEY_DOMAIN.len() + 32));
    seed.extend_from_slice(KEY_DOMAIN);
    seed.extend_from_slice(identity.seed().as_bytes());
    SecretKey::from_seed(&seed)
}

/// The node's BLS public key.
pub fn bls_public_key(identity: &Identity) -> PublicKey {
    bls_secret_key(identity).public_key()
}

/// The node's BLS public key as the ledger and the contract record it (`X ‖ Y`).
pub fn bls_key(identity: &Identity) -> BlsKey {
    BlsKey::from_bytes(bls_public_key(identity).to_bytes())
}

/// The node's key and the chain it signs for.
pub struct Signer {
    secret: SecretKey,
    public: PublicKey,
    domain: Domain,
}

impl core::fmt::Debug for Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Signer")
            .field("public", &hex::encode(self.public.to_bytes()))
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// `identity`'s BLS key ([`bls_secret_key`]) signing for `domain`.
    pub fn new(identity: &Identity, domain: Domain) -> Self {
        let secret = bls_secret_key(identity);
        let public = secret.public_key();
        Self { secret, public, domain }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The chain and contract it signs for.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Signs `message` (one a decision of [`Signable`] returned).
    pub fn sign(&self, message: &Message) -> Signature {
        self.secret.sign(&self.domain, message)
    }
}

/// The credited balances of the last heights: what changed at each height, per address.
///
/// Recording a height costs a pass over the balances it is given; the history holds each
/// address's balance once, plus one entry per change within the kept heights.
#[derive(Clone, Debug)]
pub struct BalanceHistory {
    keep: u64,
    /// The last height recorded.
    last: Option<u64>,
    /// The first height recorded (the history knows nothing before it).
    first: u64,
    current: BTreeMap<Address, u128>,
    /// Per address, `(height, balance from that height on)`, ascending; the first entry may be
    /// older than the kept heights (the balance they start with).
    entries: BTreeMap<Address, VecDeque<(u64, u128)>>,
    /// The addresses that changed at each kept height, oldest first (to prune).
    changed: VecDeque<(u64, Vec<Address>)>,
}

impl BalanceHistory {
    /// An empty history keeping the last `keep` heights (at least 1).
    pub fn new(keep: u64) -> Self {
        Self {
            keep: keep.max(1),
            last: None,
            first: 0,
            current: BTreeMap::new(),
            entries: BTreeMap::new(),
            changed: VecDeque::new(),
        }
    }

    /// The heights it can answer for, oldest and newest; `None` before the first.
    pub fn heights(&self) -> Option<(u64, u64)> {
        let last = self.last?;
        let from = last.saturating_sub(self.keep - 1).max(self.first);
        Some((from, last))
    }

    /// Records the balances (milli-atomic, every address not listed being 0) after `height`.
    ///
    /// # Errors
    /// [`Error::HistoryOutOfOrder`] when `height` is not the next height after the last
    /// recorded (nothing changed). The first height recorded may be any.
    pub fn record(&mut self, height: u64, balances: &BTreeMap<Address, u128>) -> Result<()> {
        match self.last {
            Some(last) if height != last.saturating_add(1) => {
                return Err(Error::HistoryOutOfOrder {
                    expected: last.saturating_add(1),
                    got: height,
                });
            }
            None => self.first = height,
            Some(_) => {}
        }
        let mut changed = Vec::new();
        for (address, balance) in balances {
            if self.current.get(address) != Some(balance) {
                changed.push((*address, *balance));
            }
        }
        for address in self.current.keys() {
            if !balances.contains_key(address) {
                changed.push((*address, 0));
            }
        }
        for (address, balance) in &changed {
            if *balance == 0 {
                self.current.remove(address);
            } else {
                self.current.insert(*address, *balance);
            }
            self.entries.entry(*address).or_default().push_back((height, *balance));
        }
        self.changed.push_back((height, changed.into_iter().map(|(a, _)| a).collect()));
        self.last = Some(height);
        self.prune();
        Ok(())
    }

    /// Drops what no kept height needs: the heights before the oldest kept, and each entry
    /// that a later one at or before the oldest kept height replaces.
    fn prune(&mut self) {
        let Some((from, _)) = self.heights() else { return };
        while self.changed.front().is_some_and(|(h, _)| *h < from) {
            let Some((_, addresses)) = self.changed.pop_front() else { break };
            for address in addresses {
                let Some(list) = self.entries.get_mut(&address) else { continue };
                while list.get(1).is_some_and(|(h, _)| *h <= from) {
                    list.pop_front();
                }
                if list.len() == 1 && list.front().is_some_and(|(h, b)| *h <= from && *b == 0) {
                    self.entries.remove(&address);
                }
            }
        }
    }

    /// `address`'s balance at `height`, milli-atomic.
    ///
    /// # Errors
    /// [`Error::NoHeightApplied`], [`Error::HeightNotApplied`] or [`Error::HeightForgotten`],
    /// saying which heights it keeps.
    pub fn balance_at(&self, address: &Address, height: u64) -> Result<u128> {
        let Some((from, to)) = self.heights() else { return Err(Error::NoHeightApplied) };
        if height > to {
            return Err(Error::HeightNotApplied { height, from, to });
        }
        if height < from {
            return Err(Error::HeightForgotten { height, from, to });
        }
        let balance = self.entries.get(address).and_then(|list| {
            list.iter().rev().find(|(h, _)| *h <= height).map(|(_, balance)| *balance)
        });
        Ok(balance.unwrap_or(0))
    }
}

/// A node of the ledger by its BLS key, for exits and liquidations: its status, and a removed
/// node's liquidation height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KeyState {
    status: NodeStatus,
    liquidation_height: Option<u64>,
    /// Removed by a deregistration (not an exit).
    deregistered: bool,
}

/// A reward balance a node agrees to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reward {
    /// The recipient.
    pub address: [u8; 20],
    /// The height of the balance.
    pub height: u64,
    /// The balance, atomic units (`⌊milli / 1000⌋`).
    pub amount: u128,
    /// What to sign.
    pub message: Message,
}

/// A reward request: `{"address": "0x<40 hex>", "height": N?, "amount": "<decimal>"?}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewardRequest {
    /// The recipient.
    pub address: [u8; 20],
    /// The height asked for; `None`: the node's last.
    pub height: Option<u64>,
    /// The amount the requester wants signed, atomic units; the node refuses it if it is above
    /// its ledger's.
    pub amount: Option<u128>,
}

/// An exit or liquidation request: `{"bls_pubkey": "0x<128 hex>", "timestamp": <unix s>}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemovalRequest {
    /// The node to remove.
    pub key: PublicKey,
    /// The message's timestamp, unix seconds.
    pub timestamp: u64,
}

fn bad(what: impl Into<String>) -> Error {
    Error::BadRequest(what.into())
}

fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("the body must be a JSON object")),
        Err(e) => Err(bad(format!("the body is not JSON: {e}"))),
    }
}

fn hex_field<const N: usize>(map: &serde_json::Map<String, Value>, name: &str) -> Result<[u8; N]> {
    let text = match map.get(name) {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(bad(format!("{name}: must be a string of 0x and {} hex digits", 2 * N)));
        }
        None => return Err(bad(format!("{name}: missing"))),
    };
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|e| bad(format!("{name}: not 0x and {} hex digits: {e}", 2 * N)))?;
    Ok(out)
}

fn u64_field(map: &serde_json::Map<String, Value>, name: &str) -> Result<Option<u64>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            v.as_u64().map(Some).ok_or_else(|| bad(format!("{name}: must be an integer 0..2^64")))
        }
    }
}

impl RewardRequest {
    /// Reads a request body.
    ///
    /// # Errors
    /// [`Error::BadRequest`] saying which field is wrong.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let map = object(body)?;
        let address = hex_field::<20>(&map, "address")?;
        let height = u64_field(&map, "height")?;
        let amount = match map.get("amount") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                s.parse::<u128>()
                    .map_err(|e| bad(format!("amount: not a decimal integer: {e}")))?,
            ),
            Some(Value::Number(n)) => Some(u128::from(
                n.as_u64().ok_or_else(|| bad("amount: must be a whole number of atomic units"))?,
            )),
            Some(_) => return Err(bad("amount: must be a decimal string")),
        };
        Ok(Self { address, height, amount })
    }
}

impl RemovalRequest {
    /// Reads a request body; the key must be a point of G1 (not the identity).
    ///
    /// # Errors
    /// [`Error::BadRequest`] saying which field is wrong.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let map = object(body)?;
        let bytes = hex_field::<64>(&map, "bls_pubkey")?;
        let key = PublicKey::from_bytes(&bytes)
            .map_err(|e| bad(format!("bls_pubkey: not a BN254 G1 point: {e}")))?;
        if key.is_identity() {
            return Err(bad("bls_pubkey: the identity (0, 0) is no node's key"));
        }
        let timestamp = u64_field(&map, "timestamp")?.ok_or_else(|| bad("timestamp: missing"))?;
        Ok(Self { key, timestamp })
    }
}

/// A signature as the contract's `BLSSignatureParams` words, `0x` hex (sigs0..sigs3).
pub fn signature_json(signature: &Signature) -> Value {
    Value::Array(
        signature
            .to_words()
            .iter()
            .map(|w| Value::String(format!("0x{}", hex::encode(w))))
            .collect(),
    )
}

/// What a following node keeps to decide what it signs: the recent balances, and at its last
/// height the contract's node ids and the ledger's nodes by BLS key.
#[derive(Clone, Debug)]
pub struct Signable {
    history: BalanceHistory,
    height: Option<u64>,
    contract: BTreeMap<BlsKey, u64>,
    ledger: BTreeMap<BlsKey, KeyState>,
}

impl Default for Signable {
    fn default() -> Self {
        Self::new(HISTORY_HEIGHTS)
    }
}

impl Signable {
    /// Nothing applied yet; balances of the last `keep` heights kept.
    pub fn new(keep: u64) -> Self {
        Self {
            history: BalanceHistory::new(keep),
            height: None,
            contract: BTreeMap::new(),
            ledger: BTreeMap::new(),
        }
    }

    /// Records a height the node applied ([`Chain::produce_at`]): the balances, the ledger's
    /// nodes and the contract's ids (the follower's, `sesh_chain::ledger::Applier::ids`).
    ///
    /// A node catching up need not record every height: after a gap (heights applied and not
    /// recorded), the balance history starts over at the height recorded.
    ///
    /// # Errors
    /// [`Error::HistoryOutOfOrder`] when the chain's height is not above the last recorded
    /// (nothing changed): a chain that went back needs a new `Signable`.
    pub fn record<'a, E: RewardEngine>(
        &mut self,
        chain: &Chain<E>,
        contract_ids: impl IntoIterator<Item = (u64, &'a BlsKey)>,
    ) -> Result<()> {
        let ledger = chain.ledger();
        let height = ledger.height();
        if let Some((_, last)) = self.history.heights()
            && height > last.saturating_add(1)
        {
            self.history = BalanceHistory::new(self.history.keep);
        }
        self.history.record(height, &chain.payouts().engine().balances())?;
        self.nodes(ledger, contract_ids);
        Ok(())
    }

    /// Takes the ledger's nodes and the contract's ids at the ledger's height (what
    /// [`Signable::record`] does besides the balances).
    pub fn nodes<'a>(
        &mut self,
        ledger: &Ledger,
        contract_ids: impl IntoIterator<Item = (u64, &'a BlsKey)>,
    ) {
        self.height = Some(ledger.height());
        self.contract = contract_ids.into_iter().map(|(id, key)| (*key, id)).collect();
        self.ledger = ledger
            .nodes()
            .map(|n| {
                let removal = n.removal();
                let liquidation_height = removal.map(|(_, _, at)| at);
                let deregistered =
                    removal.is_some_and(|(reason, _, _)| reason == RemovalReason::Deregistered);
                (n.bls_key(), KeyState { status: n.status(), liquidation_height, deregistered })
            })
            .collect();
    }

    /// The balances kept.
    pub fn history(&self) -> &BalanceHistory {
        &self.history
    }

    /// The contract's id of a node, as followed.
    pub fn contract_id(&self, key: &BlsKey) -> Option<u64> {
        self.contract.get(key).copied()
    }

    /// The reward balance the node signs for `request`: the address's cumulative balance at the
    /// height asked (the last height if none), `⌊milli / 1000⌋` atomic units.
    ///
    /// # Errors
    /// [`Error::NoHeightApplied`], [`Error::HeightNotApplied`], [`Error::HeightForgotten`]
    /// (saying which heights it signs), [`Error::NothingCredited`] for a zero balance,
    /// [`Error::AmountAboveLedger`] when the request names more than the ledger's balance.
    pub fn reward(&self, request: &RewardRequest) -> Result<Reward> {
        let height = match request.height {
            Some(h) => h,
            None => self.history.heights().ok_or(Error::NoHeightApplied)?.1,
        };
        let milli = self.history.balance_at(&Address::from_evm(request.address), height)?;
        let amount = milli / MILLI;
        let address = format!("0x{}", hex::encode(request.address));
        if amount == 0 {
            return Err(Error::NothingCredited { address, height });
        }
        if let Some(asked) = request.amount
            && asked > amount
        {
            return Err(Error::AmountAboveLedger { address, height, asked, ledger: amount });
        }
        Ok(Reward {
            address: request.address,
            height,
            amount,
            message: Message::Reward { recipient: request.address, amount },
        })
    }

    fn in_window(timestamp: u64, now: u64) -> Result<()> {
        if timestamp.abs_diff(now) > EXIT_TIMESTAMP_WINDOW {
            return Err(Error::TimestampOutOfWindow {
                timestamp,
                now,
                window: EXIT_TIMESTAMP_WINDOW,
            });
        }
        Ok(())
    }

    /// oxend's `is_node_removable`: in the contract, not in the ledger's service.
    fn removable(&self, key: &BlsKey) -> Result<Option<KeyState>> {
        let hex = || key.to_string();
        if !self.contract.contains_key(key) {
            return Err(Error::NotInContract { key: hex() });
        }
        let state = self.ledger.get(key).copied();
        if let Some(KeyState { status, .. }) = state
            && !matches!(status, NodeStatus::Removed | NodeStatus::Liquidated)
        {
            return Err(Error::NodeInService { key: hex(), status });
        }
        Ok(state)
    }

    /// The exit message the node signs for `request` at `now` (unix seconds, its own clock).
    ///
    /// # Errors
    /// [`Error::TimestampOutOfWindow`], [`Error::NoHeightApplied`], [`Error::NotInContract`],
    /// [`Error::NodeInService`], [`Error::MustBeLiquidated`] for a deregistered node.
    pub fn exit(&self, request: &RemovalRequest, now: u64) -> Result<Message> {
        Self::in_window(request.timestamp, now)?;
        if self.height.is_none() {
            return Err(Error::NoHeightApplied);
        }
        let key = BlsKey::from_bytes(request.key.to_bytes());
        if self.removable(&key)?.is_some_and(|state| state.deregistered) {
            return Err(Error::MustBeLiquidated { key: key.to_string() });
        }
        Ok(Message::Exit { key: request.key, timestamp: request.timestamp })
    }

    /// The liquidation message the node signs for `request` at `now` (unix seconds).
    ///
    /// # Errors
    /// As [`Signable::exit`], and [`Error::NotLiquidatable`] for a key the ledger never had (or
    /// liquidated already), [`Error::LiquidationTooEarly`] before its liquidation height.
    pub fn liquidation(&self, request: &RemovalRequest, now: u64) -> Result<Message> {
        Self::in_window(request.timestamp, now)?;
        let Some(height) = self.height else { return Err(Error::NoHeightApplied) };
        let key = BlsKey::from_bytes(request.key.to_bytes());
        let hex = key.to_string();
        match self.removable(&key)? {
            Some(KeyState { liquidation_height: Some(at), .. }) => {
                let next = height.saturating_add(1);
                if next < at {
                    return Err(Error::LiquidationTooEarly {
                        key: hex,
                        liquidation_height: at,
                        next,
                    });
                }
            }
            Some(KeyState { status, liquidation_height: None, .. }) => {
                return Err(Error::NotLiquidatable { key: hex, status: Some(status) });
            }
            None => return Err(Error::NotLiquidatable { key: hex, status: None }),
        }
        Ok(Message::Liquidate { key: request.key, timestamp: request.timestamp })
    }
}

/// `POST /network/v1/bls/reward`'s answer.
pub fn reward_json(
    reward: &Reward,
    signature: &Signature,
    signer: &PublicKey,
    contract_id: Option<u64>,
) -> Value {
    json!({
        "address": format!("0x{}", hex::encode(reward.address)),
        "height": reward.height,
        "amount": reward.amount.to_string(),
        "signature": signature_json(signature),
        "bls_pubkey": format!("0x{}", hex::encode(signer.to_bytes())),
        "contract_id": contract_id,
    })
}

/// `POST /network/v1/bls/exit`'s and `/liquidate`'s answer.
pub fn removal_json(signature: &Signature, signer: &PublicKey, contract_id: Option<u64>) -> Value {
    json!({
        "signature": signature_json(signature),
        "bls_pubkey": format!("0x{}", hex::encode(signer.to_bytes())),
        "contract_id": contract_id,
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::cast_possible_truncation
    )]

    use sesh_identity::{Identity, Seed};
    use sesh_rewards::engine::Exact;
    use sesh_staking::tx::{ChainRegister, ChainRequestExit, ChainStake, Tx, VerifiedTx};
    use sesh_staking::{NodeId, Params};
    use sesh_swarm::SortOrder;

    use super::*;

    const REQ: u64 = 100_000_000_000;
    const DOMAIN: Domain = Domain { chain_id: 31_337, contract: [0x5e; 20] };
    const NOW: u64 = 1_800_000_000;

    fn key(n: u8) -> Identity {
        Identity::from_seed(&Seed::from_bytes([n; 32]))
    }

    fn evm(n: u8) -> [u8; 20] {
        [n; 20]
    }

    fn params() -> Params {
        let mut p = Params::testnet(REQ);
        p.unlock_blocks = 3;
        p.exit_buffer_blocks = 5;
        p
    }

    fn register(n: u8) -> VerifiedTx {
        let node = key(n);
        let (id, bls) = (NodeId::from_identity(&node), bls_key(&node));
        VerifiedTx::attested(Tx::ChainRegister(ChainRegister {
            node: id,
            bls_key: bls,
            fee_bp: 500,
            contributors: vec![ChainStake {
                address: Address::from_evm(evm(n)),
                beneficiary: Address::from_evm(evm(n)),
                amount: REQ,
            }],
            node_signature: node.sign(&ChainRegister::node_message(&id, &bls)).to_bytes(),
        }))
        .unwrap()
    }

    /// A followed chain: nodes 1..=4 registered at height 1, and the contract's ids of `ids`
    /// (a node id per key, as the follower's `Applier` keeps them).
    struct Net {
        chain: Chain<Exact>,
        signable: Signable,
        ids: BTreeMap<u64, BlsKey>,
    }

    impl Net {
        fn new() -> Self {
            let chain =
                Chain::new(params(), Exact::new(), 1_000_000_000_000_000, SortOrder::Compat);
            let ids = (1..=4u8).map(|n| (u64::from(n), bls_key(&key(n)))).collect();
            let mut net = Self { chain, signable: Signable::new(HISTORY_HEIGHTS), ids };
            net.height(&(1..=4).map(register).collect::<Vec<_>>());
            net
        }

        fn height(&mut self, txs: &[VerifiedTx]) {
            let h = self.chain.ledger().height() + 1;
            let block = self.chain.produce_at(h, [h as u8; 32], txs).unwrap();
            assert!(block.refused.is_empty(), "{:?}", block.refused);
            self.signable.record(&self.chain, self.ids.iter().map(|(i, k)| (*i, k))).unwrap();
        }

        fn heights(&mut self, n: u64) {
            for _ in 0..n {
                self.height(&[]);
            }
        }

        fn credited(&self, n: u8) -> u128 {
            self.chain.payouts().engine().credited(&Address::from_evm(evm(n))) / 1000
        }
    }

    fn removal(n: u8, timestamp: u64) -> RemovalRequest {
        RemovalRequest { key: bls_public_key(&key(n)), timestamp }
    }

    #[test]
    fn the_key_is_the_seeds_and_signs_what_verifies() {
        let a = Signer::new(&key(1), DOMAIN);
        assert_eq!(a.public_key(), bls_public_key(&key(1)));
        assert_ne!(a.public_key(), bls_public_key(&key(2)));
        // Not the bare seed's key: the node's domain string is in it.
        assert_ne!(a.public_key(), SecretKey::from_seed(&[1; 32]).public_key());
        assert!(!format!("{a:?}").contains(&hex::encode(*bls_secret_key(&key(1)).to_be_bytes())));
        let message = Message::Reward { recipient: evm(1), amount: 12_345 };
        let signature = a.sign(&message);
        a.public_key().verify(&DOMAIN, &message, &signature).unwrap();
        // Another chain's domain, another amount, another key: refused.
        let other = Domain { chain_id: 1, ..DOMAIN };
        assert!(a.public_key().verify(&other, &message, &signature).is_err());
        let more = Message::Reward { recipient: evm(1), amount: 12_346 };
        assert!(a.public_key().verify(&DOMAIN, &more, &signature).is_err());
        assert!(bls_public_key(&key(2)).verify(&DOMAIN, &message, &signature).is_err());
    }

    #[test]
    fn history_answers_each_kept_height_as_it_was() {
        let keep = 16;
        let mut history = BalanceHistory::new(keep);
        let mut snapshots = Vec::new();
        let mut balances: BTreeMap<Address, u128> = BTreeMap::new();
        let addresses: Vec<Address> = (0..7u8).map(|n| Address::from_evm(evm(n))).collect();
        for h in 10..=120u64 {
            // Each address changes on its own rhythm (one never, one every height); one is
            // cleared once.
            for (i, a) in addresses.iter().enumerate() {
                if i > 0 && h % (i as u64) == 0 {
                    *balances.entry(*a).or_default() += u128::from(h) * 1000 + i as u128;
                }
            }
            if h == 50 {
                balances.remove(&addresses[3]);
            }
            history.record(h, &balances).unwrap();
            snapshots.push((h, balances.clone()));
            let (from, to) = history.heights().unwrap();
            assert_eq!((from, to), ((h + 1).saturating_sub(keep).max(10), h));
            for (sh, snap) in snapshots.iter().filter(|(sh, _)| *sh >= from) {
                for a in &addresses {
                    let want = snap.get(a).copied().unwrap_or(0);
                    assert_eq!(history.balance_at(a, *sh).unwrap(), want, "{a} at {sh} (now {h})");
                }
            }
        }
        // What it keeps stays bounded: one entry per change within the kept heights, plus one.
        let entries: usize = history.entries.values().map(VecDeque::len).sum();
        assert!(entries <= addresses.len() * (keep as usize + 1), "{entries}");
        assert_eq!(
            history.balance_at(&addresses[1], 121),
            Err(Error::HeightNotApplied { height: 121, from: 105, to: 120 })
        );
        assert_eq!(
            history.balance_at(&addresses[1], 104),
            Err(Error::HeightForgotten { height: 104, from: 105, to: 120 })
        );
        assert_eq!(
            history.record(122, &balances),
            Err(Error::HistoryOutOfOrder { expected: 121, got: 122 })
        );
        assert_eq!(
            BalanceHistory::new(4).balance_at(&addresses[1], 1),
            Err(Error::NoHeightApplied)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any sequence of credits and clearings: every kept height answers as a snapshot of it
        /// would, and the heights outside the kept ones are refused.
        #[test]
        fn history_matches_snapshots(
            keep in 1u64..12,
            start in 0u64..5,
            steps in proptest::collection::vec(
                proptest::collection::vec((0u8..6, proptest::option::of(1u128..5_000)), 0..4),
                1..40,
            ),
        ) {
            let mut history = BalanceHistory::new(keep);
            let mut balances: BTreeMap<Address, u128> = BTreeMap::new();
            let mut snapshots = Vec::new();
            for (i, changes) in steps.iter().enumerate() {
                for (who, credit) in changes {
                    let a = Address::from_evm(evm(*who));
                    match credit {
                        Some(c) => *balances.entry(a).or_default() += c,
                        None => {
                            balances.remove(&a);
                        }
                    }
                }
                let h = start + i as u64;
                history.record(h, &balances).unwrap();
                snapshots.push((h, balances.clone()));
                let (from, to) = history.heights().unwrap();
                proptest::prop_assert_eq!(to, h);
                for (sh, snap) in &snapshots {
                    for who in 0u8..6 {
                        let a = Address::from_evm(evm(who));
                        let got = history.balance_at(&a, *sh);
                        if *sh >= from {
                            proptest::prop_assert_eq!(got, Ok(snap.get(&a).copied().unwrap_or(0)));
                        } else {
                            proptest::prop_assert_eq!(
                                got,
                                Err(Error::HeightForgotten { height: *sh, from, to })
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_node_signs_the_ledgers_balance_and_refuses_more() {
        let mut net = Net::new();
        net.heights(10);
        let balance = net.credited(2);
        assert!(balance > 0);
        let at = net.chain.ledger().height();
        let ask = |height, amount| RewardRequest { address: evm(2), height, amount };

        let reward = net.signable.reward(&ask(None, None)).unwrap();
        assert_eq!((reward.height, reward.amount), (at, balance));
        assert_eq!(reward.message, Message::Reward { recipient: evm(2), amount: balance });
        // Asking for exactly the ledger's, or less: the ledger's is signed.
        assert_eq!(net.signable.reward(&ask(Some(at), Some(balance))).unwrap(), reward);
        assert_eq!(net.signable.reward(&ask(Some(at), Some(1))).unwrap(), reward);
        // More than the ledger's: refused, saying both.
        let e = net.signable.reward(&ask(Some(at), Some(balance + 1))).unwrap_err();
        assert_eq!(
            e,
            Error::AmountAboveLedger {
                address: format!("0x{}", hex::encode(evm(2))),
                height: at,
                asked: balance + 1,
                ledger: balance
            }
        );
        assert_eq!(e.refusal(), "amount_above_ledger");

        // An earlier height: that height's balance (cumulative, smaller).
        let earlier = net.signable.reward(&ask(Some(at - 3), None)).unwrap();
        assert!(earlier.amount < balance && earlier.amount > 0);
        net.heights(1);
        assert_eq!(net.signable.reward(&ask(Some(at), None)).unwrap(), reward);

        // A height not applied yet; an address credited nothing.
        let e = net.signable.reward(&ask(Some(at + 2), None)).unwrap_err();
        assert_eq!(e, Error::HeightNotApplied { height: at + 2, from: 1, to: at + 1 });
        assert!(e.to_string().contains(&format!("heights 1..={}", at + 1)), "{e}");
        let nobody = RewardRequest { address: evm(99), height: None, amount: None };
        assert!(matches!(net.signable.reward(&nobody), Err(Error::NothingCredited { .. })));
        // Nothing applied: nothing signed.
        assert_eq!(Signable::default().reward(&ask(None, None)), Err(Error::NoHeightApplied));
    }

    #[test]
    fn a_gap_starts_the_history_over_and_going_back_is_refused() {
        let mut net = Net::new();
        net.heights(3);
        let before = net.chain.ledger().height();
        // Heights applied and not recorded (a node catching up).
        for _ in 0..5 {
            let h = net.chain.ledger().height() + 1;
            net.chain.produce_at(h, [h as u8; 32], &[]).unwrap();
        }
        let skipped = before + 1;
        net.height(&[]);
        let last = net.chain.ledger().height();
        assert_eq!(net.signable.history().heights(), Some((last, last)));
        let ask = |h| RewardRequest { address: evm(1), height: Some(h), amount: None };
        assert_eq!(
            net.signable.reward(&ask(skipped)),
            Err(Error::HeightForgotten { height: skipped, from: last, to: last })
        );
        assert_eq!(net.signable.reward(&ask(last)).unwrap().amount, net.credited(1));
        let mut back = Net::new();
        back.heights(1);
        assert_eq!(
            net.signable.record(&back.chain, []),
            Err(Error::HistoryOutOfOrder { expected: last + 1, got: 2 })
        );
    }

    #[test]
    fn a_node_forgets_old_heights() {
        let mut net = Net::new();
        net.heights(HISTORY_HEIGHTS + 5);
        let last = net.chain.ledger().height();
        let from = last - HISTORY_HEIGHTS + 1;
        let ask = |h| RewardRequest { address: evm(1), height: Some(h), amount: None };
        assert!(net.signable.reward(&ask(from)).is_ok());
        assert_eq!(
            net.signable.reward(&ask(from - 1)),
            Err(Error::HeightForgotten { height: from - 1, from, to: last })
        );
    }

    #[test]
    fn exits_only_of_nodes_the_ledger_removed() {
        let mut net = Net::new();
        net.heights(2);
        // An active node: refused.
        let e = net.signable.exit(&removal(1, NOW), NOW).unwrap_err();
        assert!(matches!(e, Error::NodeInService { status: NodeStatus::Active, .. }), "{e}");
        assert_eq!(e.refusal(), "node_in_service");
        // A key the contract does not hold (as followed): refused.
        let e = net.signable.exit(&removal(9, NOW), NOW).unwrap_err();
        assert!(matches!(e, Error::NotInContract { .. }), "{e}");

        // Node 2 asks to leave: still in service (ExitRequested) until its unlock height passes.
        net.height(&[VerifiedTx::attested(Tx::ChainRequestExit(ChainRequestExit {
            bls_key: bls_key(&key(2)),
            contributor: Address::from_evm(evm(2)),
        }))
        .unwrap()]);
        let e = net.signable.exit(&removal(2, NOW), NOW).unwrap_err();
        assert!(matches!(e, Error::NodeInService { status: NodeStatus::ExitRequested, .. }), "{e}");
        let unlock = net.chain.ledger().nodes().find(|n| n.bls_key() == bls_key(&key(2))).unwrap();
        let unlock = unlock.requested_unlock_height().unwrap();
        while net.chain.ledger().height() <= unlock {
            net.height(&[]);
        }
        let removed = net.chain.ledger().nodes().find(|n| n.bls_key() == bls_key(&key(2))).unwrap();
        assert_eq!(removed.status(), NodeStatus::Removed);
        let message = net.signable.exit(&removal(2, NOW), NOW).unwrap();
        assert_eq!(message, Message::Exit { key: bls_public_key(&key(2)), timestamp: NOW });

        // A node the contract holds but the ledger never had (a refused registration): exited.
        net.ids.insert(7, bls_key(&key(7)));
        net.height(&[]);
        assert!(net.signable.exit(&removal(7, NOW), NOW).is_ok());
        assert_eq!(net.signable.contract_id(&bls_key(&key(7))), Some(7));
    }

    #[test]
    fn liquidations_from_the_liquidation_height_only() {
        let mut net = Net::new();
        net.height(&[VerifiedTx::attested(Tx::ChainRequestExit(ChainRequestExit {
            bls_key: bls_key(&key(3)),
            contributor: Address::from_evm(evm(3)),
        }))
        .unwrap()]);
        // Active: refused as in service.
        assert!(matches!(
            net.signable.liquidation(&removal(3, NOW), NOW),
            Err(Error::NodeInService { .. })
        ));
        let node = |net: &Net| {
            net.chain.ledger().nodes().find(|n| n.bls_key() == bls_key(&key(3))).unwrap().clone()
        };
        while node(&net).status() != NodeStatus::Removed {
            net.height(&[]);
        }
        let (_, _, liquidation_height) = node(&net).removal().unwrap();
        assert!(liquidation_height > net.chain.ledger().height() + 1);
        // Removed, before its liquidation height: refused, saying when.
        while net.chain.ledger().height() + 1 < liquidation_height {
            let e = net.signable.liquidation(&removal(3, NOW), NOW).unwrap_err();
            assert_eq!(
                e,
                Error::LiquidationTooEarly {
                    key: bls_key(&key(3)).to_string(),
                    liquidation_height,
                    next: net.chain.ledger().height() + 1,
                }
            );
            assert_eq!(e.refusal(), "liquidation_too_early");
            // The exit is signed meanwhile.
            assert!(net.signable.exit(&removal(3, NOW), NOW).is_ok());
            net.height(&[]);
        }
        // From the height before it (oxend's blockchain height is the next block's): signed.
        assert_eq!(net.chain.ledger().height() + 1, liquidation_height);
        let message = net.signable.liquidation(&removal(3, NOW), NOW).unwrap();
        assert_eq!(message, Message::Liquidate { key: bls_public_key(&key(3)), timestamp: NOW });

        // A key the contract holds and the ledger never had: no liquidation.
        net.ids.insert(8, bls_key(&key(8)));
        net.height(&[]);
        let e = net.signable.liquidation(&removal(8, NOW), NOW).unwrap_err();
        assert_eq!(e, Error::NotLiquidatable { key: bls_key(&key(8)).to_string(), status: None });
    }

    #[test]
    fn a_deregistered_node_is_liquidated_not_exited() {
        let mut net = Net::new();
        net.heights(2);
        let p = params();
        let voters: Vec<Identity> = (1..=3).map(key).collect();
        let voters: Vec<&Identity> = voters.iter().collect();
        let vote_height = net.chain.ledger().height();
        let node = NodeId::from_identity(&key(4));
        let decision = sesh_staking::tx::QuorumDecision::signed(
            sesh_staking::tx::DecisionKind::Deregister,
            node,
            vote_height,
            &voters,
            &p,
        );
        net.height(&[Tx::Deregister(decision).unsigned().verify(&p).unwrap()]);
        let (reason, _, _) = net.chain.ledger().node(&node).unwrap().removal().unwrap();
        assert_eq!(reason, RemovalReason::Deregistered);
        let e = net.signable.exit(&removal(4, NOW), NOW).unwrap_err();
        assert_eq!(e, Error::MustBeLiquidated { key: bls_key(&key(4)).to_string() });
        assert_eq!(e.refusal(), "must_be_liquidated");
        // The ledger makes a deregistered node liquidatable at once.
        let message = net.signable.liquidation(&removal(4, NOW), NOW).unwrap();
        assert_eq!(message, Message::Liquidate { key: bls_public_key(&key(4)), timestamp: NOW });
    }

    #[test]
    fn removal_timestamps_within_three_minutes_of_the_clock() {
        let mut net = Net::new();
        net.ids.insert(7, bls_key(&key(7)));
        net.heights(1);
        for t in [NOW - EXIT_TIMESTAMP_WINDOW, NOW, NOW + EXIT_TIMESTAMP_WINDOW] {
            assert!(net.signable.exit(&removal(7, t), NOW).is_ok(), "{t}");
        }
        for t in [NOW - EXIT_TIMESTAMP_WINDOW - 1, NOW + EXIT_TIMESTAMP_WINDOW + 1, 0, u64::MAX] {
            let e = net.signable.exit(&removal(7, t), NOW).unwrap_err();
            assert_eq!(e, Error::TimestampOutOfWindow { timestamp: t, now: NOW, window: 180 });
            let e = net.signable.liquidation(&removal(7, t), NOW).unwrap_err();
            assert_eq!(e.refusal(), "timestamp_out_of_window");
        }
    }

    #[test]
    fn requests_are_read_strictly() {
        let r = RewardRequest::from_json(
            br#"{"address":"0x0202020202020202020202020202020202020202","height":7,"amount":"123"}"#,
        )
        .unwrap();
        assert_eq!(r, RewardRequest { address: evm(2), height: Some(7), amount: Some(123) });
        let r = RewardRequest::from_json(
            br#"{"address":"0x0202020202020202020202020202020202020202"}"#,
        )
        .unwrap();
        assert_eq!((r.height, r.amount), (None, None));
        for (body, says) in [
            (&b"{"[..], "not JSON"),
            (b"[1]", "JSON object"),
            (b"{}", "address: missing"),
            (br#"{"address":"0x02"}"#, "address: not 0x and 40 hex digits"),
            (br#"{"address":"0xzz02020202020202020202020202020202020202"}"#, "address"),
            (br#"{"address":7}"#, "address: must be a string"),
            (br#"{"address":"0x0202020202020202020202020202020202020202","height":-1}"#, "height"),
            (
                br#"{"address":"0x0202020202020202020202020202020202020202","amount":"1e3"}"#,
                "amount",
            ),
        ] {
            let e = RewardRequest::from_json(body).unwrap_err();
            assert!(matches!(&e, Error::BadRequest(w) if w.contains(says)), "{e} ({says})");
        }

        let hex_key = hex::encode(bls_public_key(&key(1)).to_bytes());
        let r = RemovalRequest::from_json(
            format!(r#"{{"bls_pubkey":"0x{hex_key}","timestamp":{NOW}}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(r, removal(1, NOW));
        // Not on the curve (one coordinate changed), too large, the identity, short, no time.
        let mut off = bls_public_key(&key(1)).to_bytes();
        off[63] ^= 1;
        let too_large = format!("{}{}", "ff".repeat(32), &hex_key[64..]);
        for (bls, time, says) in [
            (hex::encode(off), "1", "not a BN254 G1 point"),
            (too_large, "1", "not a BN254 G1 point"),
            ("00".repeat(64), "1", "identity"),
            ("00".repeat(63), "1", "128 hex digits"),
            (hex_key.clone(), "\"1\"", "timestamp"),
            (hex_key.clone(), "null", "timestamp: missing"),
        ] {
            let body = format!(r#"{{"bls_pubkey":"0x{bls}","timestamp":{time}}}"#);
            let e = RemovalRequest::from_json(body.as_bytes()).unwrap_err();
            assert!(matches!(&e, Error::BadRequest(w) if w.contains(says)), "{e} ({says})");
        }
    }

    #[test]
    fn answers_carry_the_contracts_words() {
        let signer = Signer::new(&key(1), DOMAIN);
        let message = Message::Reward { recipient: evm(2), amount: 5 };
        let reward = Reward { address: evm(2), height: 9, amount: 5, message };
        let signature = signer.sign(&message);
        let v = reward_json(&reward, &signature, &signer.public_key(), Some(4));
        assert_eq!(v["amount"], "5");
        assert_eq!(v["contract_id"], 4);
        let words: Vec<[u8; 32]> = (0..4)
            .map(|i| {
                let s = v["signature"][i].as_str().unwrap();
                hex::decode(s.strip_prefix("0x").unwrap()).unwrap().try_into().unwrap()
            })
            .collect();
        let back = Signature::from_words(&words.try_into().unwrap()).unwrap();
        signer.public_key().verify(&DOMAIN, &message, &back).unwrap();
    }
}
