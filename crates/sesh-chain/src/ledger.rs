//! The staking contract's events mapped onto `sesh-staking` transactions.
//!
//! An [`Applier`] turns each followed [`ContractEvent`] into at most one [`VerifiedTx`] (or a
//! typed [`Error`] that says why the event is not applied), keeping the one thing the mapping
//! needs across events: which BLS key each of the contract's `uint64` node ids was registered
//! with. Every rule about stakes and nodes stays the ledger's
//! ([`Ledger::apply`](sesh_staking::Ledger::apply)); this module only translates, narrows
//! amounts and checks signatures. Closing a height (the height advance, the swarms, the rewards)
//! is the node's part: `sesh_node::chain::Chain::produce_at` takes the transactions of a
//! height and the chain's seed; [`Applier::follow`] does the ledger-only part for readers.
//!
//! # What oxend does with each event (oxen-core `dev`, read for facts)
//! - **Which events count.** `src/l2_tracker/rewards_contract.cpp` (`get_log_type`,
//!   `get_log_event`) decodes `NewServiceNodeV2`, `ServiceNodeExitRequest`, `ServiceNodeExit`
//!   and `StakingRequirementUpdated`; every other log (`ServiceNodeLiquidated`,
//!   `RewardsBalanceUpdated`, `RewardsClaimed`, the setters') is `Other` and ignored. Rewards
//!   are oxend's own (its batched payments), not read back from the contract. Events are
//!   identified by BLS key; the contract's node id is not used.
//! - **Confirmation.** `src/l2_tracker/l2_tracker.cpp` reads logs up to a safe height
//!   (`L2_TRACKER_SAFE_BLOCKS`, 70 s of L2 blocks on mainnet); each event enters an oxen block
//!   as a state-change transaction and takes effect once pulse quorums confirm it
//!   (`service_node_list.cpp`, `process_new_ethereum_tx` then `process_confirmed_event`).
//! - **NewServiceNodeV2** (`service_node_list.cpp`, `process_confirmed_event`,
//!   `validate_ethereum_registration`, `validate_registration`; `service_node_rules.cpp`,
//!   `check_service_node_stakes`): ignored with a warning when the Ed25519 key or the BLS key is
//!   already registered. Otherwise the fee must be at most 10,000 basis points, there must be 1
//!   to 10 contributors with no address twice, the operator's stake at least a quarter of the
//!   staking requirement (`MINIMUM_OPERATOR_CONTRIBUTION`, rounded down), the others' at least
//!   1 (`get_min_node_contribution` at `ETH_BLS`: the contribution contract enforces the real
//!   minimums), none above what is left, and all of them exactly the requirement in force. The
//!   node's Ed25519 signature must verify (libsodium) over its key ‖ the BLS key, 96 bytes
//!   (`get_eth_registration_message_for_signing`). The node is fully staked and active from the
//!   block it is confirmed in, with the initial decommission credit.
//! - **ServiceNodeExitRequest** (`process_confirmed_event`): ignored when the BLS key is unknown,
//!   the node already removed, or already unlocking (the contract lets a contributor re-emit
//!   the request). Otherwise `requested_unlock_height = height + UNLOCK_DURATION` (15 days on
//!   mainnet); the node serves until then and is removed by the block after it (`get_expired_nodes`),
//!   going to `recently_removed_nodes` with `liquidation_height = height + ETH_EXIT_BUFFER`
//!   (7 days of blocks; `erase_info`). Deregistered nodes go there too, with the same
//!   `liquidation_height` (`erase_info` sets it for every removal but a purge); the ledger
//!   instead makes a deregistered node liquidable at once (the spec's open question Q1).
//! - **ServiceNodeExit** (`process_confirmed_event`): only for a node in
//!   `recently_removed_nodes` (otherwise skipped). `returned_amount` above the stake is clamped
//!   to it; the difference is the slash. A slash before `liquidation_height`, or above the
//!   operator's stake, is skipped. The slash comes off the operator's return; the stakes are
//!   returned at once, or, when slashed, `DEREGISTRATION_LOCK_DURATION` (30 days) after the
//!   removal. The node is then forgotten. The contract emits `ServiceNodeLiquidated`
//!   immediately before the `ServiceNodeExit` of a liquidation (session-token-contracts,
//!   `liquidateBLSPublicKeyWithSignature` then `_exitBLSPublicKey`).
//! - **StakingRequirementUpdated** (`process_confirmed_event`): the new requirement applies to
//!   registrations from then on; registered nodes keep theirs.
//! - **Refusals.** An event that fails these checks is logged and has no effect on the node
//!   list: every oxend makes the same decision from the same chain.
//!
//! # Our rules
//! - Heights come from the chain ([`crate::follow`]); a height's events are applied in chain
//!   order at that height, after the advance to it. Nothing is confirmed by quorums: every
//!   follower reads the same confirmed logs.
//! - `NewServiceNodeV2` → [`Tx::ChainRegister`]: oxend's checks above, in the ledger; the node's
//!   signature is checked here ([`VerifiedTx::attested`]); the contributors' EVM addresses
//!   become [`Address::from_evm`]. The `initiator` (the operator, or a multi-contribution
//!   contract) is not recorded; the operator is the first contributor.
//! - `ServiceNodeExitRequest` → [`Tx::ChainRequestExit`] by the initiator: oxend's checks, and the
//!   initiator must be a contributor (the contract ensures it). The small-contributor delay is
//!   the contract's (in its time), not checked again in blocks.
//! - `ServiceNodeLiquidated` is remembered (its initiator is the liquidator) and
//!   `ServiceNodeExit` → [`Tx::ChainExit`] with the returned amount: the ledger takes
//!   `stake − returned` as the penalty, with oxend's conditions. One difference: a node that
//!   asked to leave but whose unlock height has not passed may exit without penalty (the
//!   contract's own clock, or the network's signature, let it go); oxend skips that event, which
//!   would leave a node in the ledger that the contract no longer holds.
//! - `StakingRequirementUpdated` → [`Tx::SetStakingRequirement`].
//! - `NewSeededServiceNode` → [`Tx::ChainSeed`] (oxend ignores this event: it had the seeded
//!   nodes from its own chain; a sesh follower has no other source). The log names the node's
//!   keys only; its stakes are the contract's record `serviceNodes(id)` at the end of the log's
//!   block ([`ContractEvent::SeededServiceNode`]'s `held`, fetched by the caller: the follower's
//!   driver calls it with `eth_call` at that block). The record must be the logged node's
//!   (same Ed25519 and BLS keys) and the contract must still hold it; otherwise, or when the
//!   call reverted or its answer did not decode, the event is refused
//!   ([`Error::SeedUnavailable`]; [`Error::SeedNotFetched`] when nothing was fetched). The
//!   contract's owner vouched for the node: no node signature is checked; the contract holds no
//!   fee for it, so the fee is 0; its full stake is its `deposit`. The ledger checks what the
//!   contract checks when seeding (see `sesh_staking::Ledger::apply`). The id is known from the
//!   event on, as for a registration.
//! - `RewardsBalanceUpdated` and `RewardsClaimed` map to nothing, as in oxend: rewards are the
//!   ledger's followers' own computation.
//! - `NetworkTransaction` → the [`SignedTx`] it carries, decoded and verified by every follower
//!   (the chain does not check it). Only quorum decisions may come this way: decommissions,
//!   recommissions and deregistrations, whose votes' signatures are checked. Stake moves only
//!   through the contract and heights only with the chain, so registrations, contributions,
//!   withdrawals, exits, liquidations, height advances and chain kinds posted this way are
//!   refused ([`Error::NotANetworkDecision`]); so are uptime proofs, which nodes exchange among
//!   themselves (a ledger uptime proof names the height it is applied at, which a poster cannot
//!   know).
//! - Signatures are verified under ZIP-215 (`ed25519-zebra`, as every `sesh-staking` signature),
//!   oxend's with libsodium: the two differ only on crafted non-canonical or small-order inputs,
//!   and every sesh follower decides alike.
//! - Where the contract and the ledger disagree, the ledger's verdict stands and is reported:
//!   e.g. a contract exit or liquidation of a node the ledger still has in service (no exit
//!   requested, or a liquidation before its unlock height passed) is refused, and the node
//!   stays in the ledger. With the live contract this needs the network's BLS signature, which
//!   nodes give only for nodes the ledger has removed (issue 21).
//! - Amounts are `uint256` on the contract and `u64` atomic units in the ledger; a larger
//!   amount is refused ([`Error::AmountTooLarge`]).
//! - The contract's node ids: an exit request, liquidation or exit must name an id registered
//!   by a followed `NewServiceNodeV2`, with the same BLS key ([`Error::UnknownNodeId`],
//!   [`Error::NodeIdKeyMismatch`]). The map follows the contract, not the ledger's verdicts: an
//!   id whose registration the ledger refused is still known (its exit then finds no node in
//!   the ledger and is refused there). An [`Applier`] is rebuilt by following from the start
//!   block, as the ledger is.
//! - A refused event leaves the ledger exactly as it was, and the refusal is reported with the
//!   log's position: every follower refuses it the same way, and it never panics.

use std::collections::BTreeMap;

use sesh_staking::tx::{
    ChainExit, ChainRegister, ChainRequestExit, ChainSeed, ChainStake, SignedTx, Tx, VerifiedTx,
};
use sesh_staking::{Address, BlsKey, Ledger, Params};

use crate::event::{Contributor, Held, U256};
use crate::{ContractEvent, Error, EvmAddress, LogPosition, Result};

/// The kinds a `NetworkTransaction` may carry: quorum decisions.
fn network_decision(tx: &Tx) -> bool {
    matches!(tx, Tx::Decommission(_) | Tx::Recommission(_) | Tx::Deregister(_))
}

fn narrow(at: LogPosition, what: &'static str, amount: U256) -> Result<u64> {
    u64::try_from(amount).map_err(|_| Error::AmountTooLarge { at, what, amount })
}

fn address(evm: EvmAddress) -> Address {
    Address::from_evm(evm.0)
}

/// The mapping from the contract's events to ledger transactions, with the contract's node ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applier {
    /// Node id → the BLS key it was registered with, while the contract holds it.
    ids: BTreeMap<u64, BlsKey>,
    /// Node id → its liquidator, between `ServiceNodeLiquidated` and its `ServiceNodeExit`.
    liquidators: BTreeMap<u64, EvmAddress>,
    /// The ids of `ids` that came from `NewSeededServiceNode`.
    seeded: std::collections::BTreeSet<u64>,
}

/// The contributors as ledger stakes.
fn stakes(at: LogPosition, contributors: &[Contributor]) -> Result<Vec<ChainStake>> {
    contributors
        .iter()
        .map(|c| {
            Ok(ChainStake {
                address: address(c.address),
                beneficiary: address(c.beneficiary),
                amount: narrow(at, "a contributor's stake", c.amount)?,
            })
        })
        .collect()
}

impl Applier {
    /// A mapping that has seen no event (following from the contract's start block).
    pub fn new() -> Self {
        Self::default()
    }

    /// The BLS key the contract's node `id` was registered with, while the contract holds it.
    pub fn node_key(&self, id: u64) -> Option<&BlsKey> {
        self.ids.get(&id)
    }

    /// Whether the contract's node `id`, held now, came from `NewSeededServiceNode` (seeded by
    /// the contract's owner) rather than `NewServiceNodeV2`.
    pub fn is_seeded(&self, id: u64) -> bool {
        self.seeded.contains(&id)
    }

    /// The contract's node ids held now, with their BLS keys, by id.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = (u64, &BlsKey)> + '_ {
        self.ids.iter().map(|(id, key)| (*id, key))
    }

    fn known(&self, at: LogPosition, id: u64, bls_key: &BlsKey) -> Result<()> {
        match self.ids.get(&id) {
            None => Err(Error::UnknownNodeId { at, id }),
            Some(key) if key != bls_key => Err(Error::NodeIdKeyMismatch { at, id }),
            Some(_) => Ok(()),
        }
    }

    /// The transaction an event maps to, if any (`None` for the events the ledger does not
    /// use, and for `ServiceNodeLiquidated`, which is remembered for the `ServiceNodeExit` that
    /// follows it). `params` are the ledger's (a `NetworkTransaction`'s signatures are checked
    /// under its network id). See the module docs for each event.
    ///
    /// # Errors
    /// [`Error::AmountTooLarge`], [`Error::UnknownNodeId`], [`Error::NodeIdKeyMismatch`],
    /// [`Error::DuplicateNodeId`], [`Error::NotANetworkDecision`], [`Error::SeedNotFetched`],
    /// [`Error::SeedUnavailable`], or
    /// [`Error::Transaction`] (bytes that do not decode, a signature that does not verify).
    pub fn transaction(
        &mut self,
        at: LogPosition,
        event: &ContractEvent,
        params: &Params,
    ) -> Result<Option<VerifiedTx>> {
        let attest =
            |tx| VerifiedTx::attested(tx).map_err(|source| Error::Transaction { at, source });
        match event {
            ContractEvent::NewServiceNode {
                id,
                initiator: _,
                bls_key,
                node,
                node_signature,
                fee,
                contributors,
            } => {
                if self.ids.contains_key(id) {
                    return Err(Error::DuplicateNodeId { at, id: *id });
                }
                self.ids.insert(*id, *bls_key);
                let contributors = stakes(at, contributors)?;
                attest(Tx::ChainRegister(ChainRegister {
                    node: *node,
                    bls_key: *bls_key,
                    fee_bp: *fee,
                    contributors,
                    node_signature: *node_signature,
                }))
                .map(Some)
            }
            ContractEvent::ExitRequest { id, initiator, bls_key } => {
                self.known(at, *id, bls_key)?;
                attest(Tx::ChainRequestExit(ChainRequestExit {
                    bls_key: *bls_key,
                    contributor: address(*initiator),
                }))
                .map(Some)
            }
            ContractEvent::Liquidated { id, initiator, bls_key } => {
                self.known(at, *id, bls_key)?;
                self.liquidators.insert(*id, *initiator);
                Ok(None)
            }
            ContractEvent::Exit { id, initiator: _, returned, bls_key } => {
                self.known(at, *id, bls_key)?;
                // The contract no longer holds the node, whatever the ledger makes of it.
                self.ids.remove(id);
                self.seeded.remove(id);
                let liquidator = self.liquidators.remove(id).map(address);
                let returned = narrow(at, "the returned amount", *returned)?;
                attest(Tx::ChainExit(ChainExit { bls_key: *bls_key, returned, liquidator }))
                    .map(Some)
            }
            ContractEvent::StakingRequirementUpdated { requirement } => {
                let requirement = narrow(at, "the staking requirement", *requirement)?;
                attest(Tx::SetStakingRequirement(requirement)).map(Some)
            }
            ContractEvent::RewardsBalanceUpdated { .. } | ContractEvent::RewardsClaimed { .. } => {
                Ok(None)
            }
            ContractEvent::NetworkTransaction { sender: _, transaction } => {
                let signed = SignedTx::from_bytes(transaction)
                    .map_err(|source| Error::Transaction { at, source })?;
                if !network_decision(&signed.tx) {
                    return Err(Error::NotANetworkDecision { at, kind: signed.tx.kind() });
                }
                signed.verify(params).map(Some).map_err(|source| Error::Transaction { at, source })
            }
            ContractEvent::SeededServiceNode { id, bls_key, node, held } => {
                if self.ids.contains_key(id) {
                    return Err(Error::DuplicateNodeId { at, id: *id });
                }
                self.ids.insert(*id, *bls_key);
                self.seeded.insert(*id);
                let unavailable = |why: String| Error::SeedUnavailable { at, id: *id, why };
                let record = match held {
                    Held::NotFetched => return Err(Error::SeedNotFetched { at, id: *id }),
                    Held::Reverted(data) => {
                        return Err(unavailable(format!(
                            "serviceNodes({id}) reverted at its block (0x{})",
                            hex::encode(data)
                        )));
                    }
                    Held::Malformed(why) => return Err(unavailable(why.clone())),
                    Held::Node(record) => record,
                };
                if record.is_empty() {
                    return Err(unavailable(
                        "the contract no longer held the node at the end of its block".to_owned(),
                    ));
                }
                if record.node != *node || record.bls_key != *bls_key {
                    return Err(unavailable(
                        "the contract held another node under its id at the end of its block"
                            .to_owned(),
                    ));
                }
                let deposit = narrow(at, "the deposit", record.deposit)?;
                attest(Tx::ChainSeed(ChainSeed {
                    node: *node,
                    bls_key: *bls_key,
                    deposit,
                    contributors: stakes(at, &record.contributors)?,
                }))
                .map(Some)
            }
            #[allow(unreachable_patterns)]
            _ => Ok(None),
        }
    }

    /// Maps `event` and applies its transaction to `ledger` at the ledger's height; returns what
    /// changed (nothing for an event that maps to no transaction).
    ///
    /// # Errors
    /// As [`Applier::transaction`], or [`Error::Refused`] with the ledger's verdict. The ledger
    /// is unchanged after any error.
    pub fn apply(
        &mut self,
        ledger: &mut Ledger,
        at: LogPosition,
        event: &ContractEvent,
    ) -> Result<Vec<sesh_staking::Event>> {
        let Some(tx) = self.transaction(at, event, ledger.params())? else {
            return Ok(Vec::new());
        };
        ledger.apply(&tx).map_err(|source| Error::Refused { at, source })
    }

    /// The ledger-only part of following one height: advances `ledger` to `height`, then applies
    /// its events in chain order. Returns the refused events' errors, in order (the others are
    /// applied). A node also needs the swarms and rewards: it maps the events with
    /// [`Applier::transaction`] and closes the height with `sesh_node::chain::Chain`.
    ///
    /// # Errors
    /// [`Error::HeightNotNext`] when `height` is not the ledger's next height (nothing changed).
    pub fn follow(
        &mut self,
        ledger: &mut Ledger,
        height: u64,
        events: &[(LogPosition, ContractEvent)],
    ) -> Result<Vec<Error>> {
        let expected = ledger.height().saturating_add(1);
        if height != expected {
            return Err(Error::HeightNotNext { expected, got: height });
        }
        ledger
            .apply_signed(&Tx::AdvanceHeight(height).unsigned())
            .map_err(|_| Error::HeightNotNext { expected, got: height })?;
        Ok(events.iter().filter_map(|(at, event)| self.apply(ledger, *at, event).err()).collect())
    }
}
