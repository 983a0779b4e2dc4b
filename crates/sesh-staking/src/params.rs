//! The rules of one network, as a value.

use serde::{Deserialize, Serialize};

use crate::oxen::COIN;

/// How the least acceptable contribution is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MinimumRule {
    /// The SESH contribution contract: operator `⌈remaining/4⌉`, others
    /// `⌈remaining / (max − n)⌉`.
    Contract,
    /// oxend before HF21: operator `⌊req/4⌋`, others `⌊remaining / (max − n)⌋`.
    Oxen,
}

/// How a removed node's stake is penalised when it is liquidated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LiquidationRatios {
    /// Share paid to whoever liquidates, rounded down.
    pub liquidator: u64,
    /// Share paid to the reward pool, rounded up.
    pub pool: u64,
    /// Share returned to the contributors (the rest).
    pub recipient: u64,
}

impl LiquidationRatios {
    /// `(liquidator, pool, returned)` of a `deposit`: `⌊d·l/Σ⌋`, `⌈d·p/Σ⌉`, the rest; `None` if
    /// the ratios sum to 0.
    pub fn split(&self, deposit: u64) -> Option<(u64, u64, u64)> {
        let sum = u128::from(self.liquidator) + u128::from(self.pool) + u128::from(self.recipient);
        if sum == 0 {
            return None;
        }
        let deposit = u128::from(deposit);
        let liquidator = deposit * u128::from(self.liquidator) / sum;
        let pool = (deposit * u128::from(self.pool)).div_ceil(sum);
        let returned = deposit.checked_sub(liquidator + pool)?;
        Some((
            u64::try_from(liquidator).ok()?,
            u64::try_from(pool).ok()?,
            u64::try_from(returned).ok()?,
        ))
    }
}

/// The decommission credit schedule (spec §2.4), in blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreditParams {
    /// Credit a new node starts with.
    pub initial: i64,
    /// Credit earned per `blocks_per_day` up.
    pub per_day: i64,
    /// Blocks in a day.
    pub blocks_per_day: i64,
    /// The most credit a node can hold.
    pub max: i64,
    /// Credit needed to be decommissioned rather than deregistered.
    pub decommission_minimum: i64,
}

/// Every rule of the ledger. Heights count blocks (2 minutes each on mainnet, 720 a day).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Params {
    /// Distinguishes networks in every signed message, so a transaction signed for one network
    /// is worthless on another.
    pub network_id: u32,
    /// The full stake of a node, in atomic units (10^-9 SESH).
    pub staking_requirement: u64,
    /// Contributors per node, operator included.
    pub max_contributors: usize,
    /// How minimum contributions are computed.
    pub minimum_rule: MinimumRule,
    /// The highest operator fee, in basis points.
    pub max_fee_bp: u16,
    /// Blocks between an exit request and the node leaving.
    pub unlock_blocks: u64,
    /// Blocks a slashed or deregistered stake stays locked after removal.
    pub penalty_lock_blocks: u64,
    /// Blocks after a voluntary removal during which the stake can be exited without penalty;
    /// after that the node can be liquidated.
    pub exit_buffer_blocks: u64,
    /// Blocks after becoming active before a node earns rewards.
    pub payable_after_blocks: u64,
    /// A contributor is small when `divisor · stake < requirement`; small contributors cannot
    /// request an exit until `small_contributor_delay_blocks` after activation.
    pub small_contributor_divisor: u64,
    /// See `small_contributor_divisor`.
    pub small_contributor_delay_blocks: u64,
    /// Blocks after a contributor's last contribution before it may withdraw from a node that is
    /// not yet active.
    pub withdrawal_delay_blocks: u64,
    /// Liquidation penalty split; `None` where removal never costs stake (the Oxen era).
    pub liquidation: Option<LiquidationRatios>,
    /// Decommission credits.
    pub credit: CreditParams,
    /// Votes of active nodes needed for a decommission, recommission, deregistration or
    /// liquidation (fewer when fewer other nodes are active, never fewer than one).
    pub quorum_votes: usize,
    /// Blocks a vote stays valid after the height it was cast for.
    pub vote_window_blocks: u64,
    /// Blocks between two accepted uptime proofs of one node.
    pub uptime_proof_interval_blocks: u64,
}

impl Params {
    /// The Session network after HF21: 25,000 SESH, the contribution contract's rules, the
    /// app-chain's delays (spec §2.3).
    pub fn session_mainnet() -> Self {
        Self {
            network_id: 0x5345_5348, // "SESH"
            staking_requirement: 25_000 * COIN,
            max_contributors: 10,
            minimum_rule: MinimumRule::Contract,
            max_fee_bp: 10_000,
            unlock_blocks: 10_800,
            penalty_lock_blocks: 21_600,
            exit_buffer_blocks: 5_040,
            payable_after_blocks: 720,
            small_contributor_divisor: 4,
            small_contributor_delay_blocks: 21_600,
            withdrawal_delay_blocks: 720,
            liquidation: Some(LiquidationRatios { liquidator: 3, pool: 17, recipient: 9_980 }),
            credit: CreditParams {
                initial: 60,
                per_day: 24,
                blocks_per_day: 720,
                max: 1_440,
                decommission_minimum: 60,
            },
            quorum_votes: 7,
            vote_window_blocks: 60,
            uptime_proof_interval_blocks: 15,
        }
    }

    /// The Oxen network from HF19 to HF20: 15,000 OXEN, oxend's minimums, no liquidation (a
    /// deregistered stake is only locked for 30 days).
    pub fn oxen_hf19() -> Self {
        Self {
            network_id: 0x4f58_454e, // "OXEN"
            staking_requirement: 15_000 * COIN,
            minimum_rule: MinimumRule::Oxen,
            liquidation: None,
            small_contributor_delay_blocks: 21_600,
            ..Self::session_mainnet()
        }
    }

    /// A test network: the mainnet rules with short delays (spec §2.3.1's testnet differences)
    /// and a requirement of `staking_requirement`.
    pub fn testnet(staking_requirement: u64) -> Self {
        Self {
            network_id: 0x7465_7374, // "test"
            staking_requirement,
            unlock_blocks: 720,
            penalty_lock_blocks: 1_440,
            exit_buffer_blocks: 30,
            payable_after_blocks: 4,
            ..Self::session_mainnet()
        }
    }
}
