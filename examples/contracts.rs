//! sesh's own staking contracts (`contracts/`): their alloy bindings, their committed build
//! (`contracts/out/*.json`, checked byte for byte against a fresh compile by the `contracts`
//! test), and what a local chain or the testnet needs from them: [`deploy`] the token and the
//! staking contract (and the multi-contributor `ServiceNodeContributionFactory`) from the
//! committed bytecode, [`register`] a node (approve, then
//! `addBLSPublicKey`), [`initiate_exit`], [`submit_network_transaction`],
//! [`update_rewards_balance`].
//!
//! The staking contract keeps the live `ServiceNodeRewards`' signatures for what it has, BLS
//! included (proofs of possession, `updateRewardsBalance`, signed exits and liquidations; see
//! `contracts/README.md`). [`BlsHarness`] (test-only, `contracts/test/`) exposes the contract's
//! BN254 library with explicit tags.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol;
use alloy::sol_types::{SolConstructor as _, SolEvent as _};

use crate::chain_tools::{ChainTools, ChainToolsError, deploy as deploy_code};

/// The committed build of `contracts/src/SeshToken.sol`.
pub const SESH_TOKEN_JSON: &str = include_str!("../contracts/out/SeshToken.json");
/// The committed build of `contracts/src/ServiceNodeRewards.sol`.
pub const SERVICE_NODE_REWARDS_JSON: &str =
    include_str!("../contracts/out/ServiceNodeRewards.json");
/// The committed build of `ServiceNodeContributionFactory` (in
/// `contracts/src/ServiceNodeContribution.sol`).
pub const CONTRIBUTION_FACTORY_JSON: &str =
    include_str!("../contracts/out/ServiceNodeContributionFactory.json");
/// The committed build of `ServiceNodeContribution`.
pub const CONTRIBUTION_JSON: &str = include_str!("../contracts/out/ServiceNodeContribution.json");
/// The committed build of the test-only `contracts/test/BlsHarness.sol`.
pub const BLS_HARNESS_JSON: &str = include_str!("../contracts/out/BlsHarness.json");

/// The contracts' directory in the source tree (`src/` the sources, `out/` the build).
#[must_use]
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

sol! {
    /// `contracts/src/SeshToken.sol`: an OpenZeppelin ERC-20 with 9 decimals and a fixed supply.
    #[sol(rpc)]
    #[derive(Debug)]
    contract SeshToken {
        constructor(uint256 supply, address receiver);
        function decimals() external view returns (uint8);
        function totalSupply() external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 value) external returns (bool);
        function transfer(address to, uint256 value) external returns (bool);
        event Transfer(address indexed from, address indexed to, uint256 value);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
    }
}

sol! {
    /// `contracts/src/ServiceNodeRewards.sol`, with the live contract's structs, events, errors
    /// and function signatures.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    contract ServiceNodeRewards {
        struct G1Point { uint256 X; uint256 Y; }
        struct BLSSignatureParams { uint256 sigs0; uint256 sigs1; uint256 sigs2; uint256 sigs3; }
        struct ServiceNodeParams {
            uint256 serviceNodePubkey;
            uint256 serviceNodeSignature1;
            uint256 serviceNodeSignature2;
            uint16 fee;
        }
        struct Staker { address addr; address beneficiary; }
        struct Contributor { Staker staker; uint256 stakedAmount; }
        struct ReservedContributor { address addr; uint256 amount; }
        struct ServiceNode {
            uint64 next;
            uint64 prev;
            address operator;
            G1Point blsPubkey;
            uint256 addedTimestamp;
            uint256 leaveRequestTimestamp;
            uint256 latestLeaveRequestTimestamp;
            uint256 deposit;
            Contributor[] contributors;
            uint256 ed25519Pubkey;
        }
        struct SeedServiceNode {
            G1Point blsPubkey;
            uint256 ed25519Pubkey;
            uint256 addedTimestamp;
            Contributor[] contributors;
        }

        constructor(
            address token,
            uint256 stakingRequirement,
            uint256 maxContributors,
            uint256 exitWaitTime,
            uint256 smallContributorLeaveDelay,
            uint256 repeatedLeaveRequestDelay,
            address foundationPool,
            uint256 liquidatorRewardRatio,
            uint256 poolShareOfLiquidationRatio,
            uint256 recipientRatio
        );

        event NewServiceNodeV2(
            uint64 indexed serviceNodeID,
            address initiator,
            G1Point pubkey,
            ServiceNodeParams serviceNode,
            Contributor[] contributors
        );
        event ServiceNodeExitRequest(uint64 indexed serviceNodeID, address initiator, G1Point pubkey);
        event ServiceNodeExit(
            uint64 indexed serviceNodeID,
            address initiator,
            uint256 returnedAmount,
            G1Point pubkey
        );
        event RewardsBalanceUpdated(address indexed recipientAddress, uint256 amount, uint256 previousBalance);
        event RewardsClaimed(address indexed recipientAddress, uint256 amount);
        event StakingRequirementUpdated(uint256 newRequirement);
        event NetworkTransaction(address indexed sender, bytes transaction);
        event NewSeededServiceNode(uint64 indexed serviceNodeID, G1Point blsPubkey, uint256 ed25519Pubkey);
        event ServiceNodeLiquidated(uint64 indexed serviceNodeID, address initiator, G1Point pubkey);
        event BLSNonSignerThresholdMaxUpdated(uint256 newMax);
        event ClaimThresholdUpdated(uint256 newThreshold);
        event ClaimCycleUpdated(uint256 newValue);
        event LiquidationRatiosUpdated(uint256 liquidatorRatio, uint256 poolRatio, uint256 recipientRatio);

        error BLSPubkeyAlreadyExists(uint64 serviceNodeID);
        error ContractAlreadyStarted();
        error InsufficientContributors();
        error Ed25519PubkeyAlreadyExists(uint64 serviceNodeID);
        error CallerNotContributor(uint64 serviceNodeID, address caller);
        error ContributionTotalMismatch(uint256 required, uint256 provided);
        error InsufficientOperatorContribution(uint256 operatorStake);
        error LeaveRequestTooEarly(uint64 serviceNodeID, uint256 endTimestamp, uint256 currTimestamp);
        error LeaveRequestNotInitiatedYet(uint64 serviceNodeID);
        error MaxContributorsExceeded();
        error MaxClaimExceeded();
        error NullBLSPubkey();
        error NullEd25519Pubkey();
        error NullAddress();
        error PositiveNumberRequirement();
        error ServiceNodeDoesntExist(uint64 serviceNodeID);
        error SmallContributorLeaveTooEarly(uint64 serviceNodeID, address contributor);
        error FeeExceedsPossibleValue(uint16 fee, uint16 max);
        error DuplicateContributor(uint256 index);
        error NetworkTransactionTooLarge(uint256 length, uint256 max);
        error BLSPubkeyDoesNotExist(G1Point pubkey);
        error ClaimThresholdExceeded();
        error ContractNotStarted();
        error ExitTooEarly(uint64 serviceNodeID, uint256 addedTimestamp, uint256 currenttime);
        error InsufficientBLSSignatures(uint256 numSigners, uint256 requiredSigners);
        error InvalidBLSSignature(G1Point aggPubkey);
        error InvalidBLSProofOfPossession();
        error LiquidatorPenaltyTooHigh();
        error RecipientRewardsTooLow();
        error SignatureExpired(uint64 serviceNodeID, uint256 timestamp, uint256 currenttime);
        /// A revert with a message (`Error(string)`): "Invalid Signature" when the pairing
        /// precompile refuses a point, as on the live contract.
        error Error(string message);
        error OwnableUnauthorizedAccount(address account);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);

        function addBLSPublicKey(
            G1Point blsPubkey,
            BLSSignatureParams blsSignature,
            ServiceNodeParams serviceNodeParams,
            Contributor[] contributors
        ) external;
        function initiateExitBLSPublicKey(uint64 serviceNodeID) external;
        function exitBLSPublicKeyAfterWaitTime(uint64 serviceNodeID) external;
        function claimRewards() external;
        function claimRewards(uint256 amount) external;
        function submitNetworkTransaction(bytes transaction) external;
        function setStakingRequirement(uint256 newRequirement) external;
        function seedPublicKeyList(SeedServiceNode[] nodes) external;
        function start() external;
        function isStarted() external view returns (bool);
        function validateProofOfPossession(
            G1Point blsPubkey,
            BLSSignatureParams blsSignature,
            address caller,
            uint256 serviceNodePubkey
        ) external view;
        function updateRewardsBalance(
            address recipientAddress,
            uint256 recipientRewards,
            BLSSignatureParams blsSignature,
            uint64[] ids
        ) external;
        function exitBLSPublicKeyWithSignature(
            G1Point blsPubkey,
            uint256 timestamp,
            BLSSignatureParams blsSignature,
            uint64[] ids
        ) external;
        function liquidateBLSPublicKeyWithSignature(
            G1Point blsPubkey,
            uint256 timestamp,
            BLSSignatureParams blsSignature,
            uint64[] ids
        ) external;
        function setBLSNonSignerThresholdMax(uint256 newMax) external;
        function setClaimThreshold(uint256 newMax) external;
        function setClaimCycle(uint256 newValue) external;
        function setLiquidationRatios(uint256 liquidator, uint256 pool, uint256 recipient) external;

        function aggregatePubkey() external view returns (G1Point memory);
        function blsNonSignerThreshold() external view returns (uint256);
        function blsNonSignerThresholdMax() external view returns (uint256);
        function proofOfPossessionTag() external view returns (bytes32);
        function rewardTag() external view returns (bytes32);
        function exitTag() external view returns (bytes32);
        function liquidateTag() external view returns (bytes32);
        function hashToG2Tag() external view returns (bytes32);
        function signatureExpiry() external view returns (uint256);
        function claimThreshold() external view returns (uint256);
        function claimCycle() external view returns (uint256);
        function currentClaimTotal() external view returns (uint256);
        function currentClaimCycle() external view returns (uint256);
        function foundationPool() external view returns (address);
        function liquidatorRewardRatio() external view returns (uint256);
        function poolShareOfLiquidationRatio() external view returns (uint256);
        function recipientRatio() external view returns (uint256);
        function MINIMUM_EXIT_AGE() external view returns (uint256);

        function stakingRequirement() external view returns (uint256);
        function maxContributors() external view returns (uint256);
        function nextServiceNodeID() external view returns (uint64);
        function totalNodes() external view returns (uint256);
        function designatedToken() external view returns (address);
        function recipients(address) external view returns (uint256 rewards, uint256 claimed);
        function serviceNodes(uint64 serviceNodeID) external view returns (ServiceNode memory);
        function allServiceNodeIDs() external view returns (uint64[] memory ids, G1Point[] memory pubkeys);
        function serviceNodeIDs(bytes blsPubkey) external view returns (uint64);
        function ed25519ToServiceNodeID(uint256 ed25519Pubkey) external view returns (uint64);
        function exitWaitTime() external view returns (uint256);
        function smallContributorLeaveDelay() external view returns (uint256);
        function repeatedLeaveRequestDelay() external view returns (uint256);
        function owner() external view returns (address);
    }

    /// `contracts/test/BlsHarness.sol` (test-only): the staking contract's BN254 library with the
    /// tag given explicitly. Points are `[x_re, x_im, y_re, y_im]`.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    contract BlsHarness {
        function hashToG2(bytes message, bytes32 dst) external view returns (uint256[4] memory);
        function verify(uint256[2] pubkey, uint256[4] signature, bytes message, bytes32 dst) external view returns (bool);
        function buildTag(string base, uint256 chainId, address contractAddress) external pure returns (bytes32);
        function aggregate(uint256[2][] keys) external view returns (uint256 x, uint256 y);
        error Error(string message);
    }

    /// `contracts/src/ServiceNodeContribution.sol`: one node's multi-contributor staging, with
    /// the live `ServiceNodeContribution`'s names and signatures for what it has.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    contract ServiceNodeContribution {
        /// Where the staging is.
        enum Status {
            /// Waiting for the operator's contribution.
            WaitForOperatorContrib,
            /// Open to reserved and public contributions.
            OpenForPublicContrib,
            /// Fully staked, waiting for the operator's `finalize`.
            WaitForFinalized,
            /// Registered on the staking contract.
            Finalized
        }

        event Finalized();
        event NewContribution(address indexed contributor, address beneficiary, uint256 amount);
        event OpenForPublicContribution();
        event Filled();
        event WithdrawContribution(address indexed contributor, uint256 amount);
        event UpdateManualFinalize(bool newValue);
        event UpdateFee(uint16 newFee);
        event UpdateReservedContributors(ServiceNodeRewards.ReservedContributor[] newReservedContributors);
        event Reset();
        event UpdatePubkeys(ServiceNodeRewards.G1Point newBLSPubkey, uint256 newEd25519Pubkey);

        /// The staking contract's, from `validateProofOfPossession`.
        error InvalidBLSProofOfPossession();
        error CalcMinContributionGivenBadContribArgs(uint256 numContributors, uint256 maxNumContributors);
        error ContributeFundsNotPossible(Status status);
        error ContributionBelowMinAmount(uint256 contributed, uint256 min);
        error ContributionBelowReservedAmount(uint256 contributed, uint256 reserved);
        error ContributionExceedsStakingRequirement(uint256 totalContributed, uint256 totalReserved, uint256 stakingRequirement);
        error DuplicateAddressInReservedContributor(uint256 index);
        error FeeExceedsPossibleValue(uint16 fee, uint16 max);
        error RequireWaitForOperatorContribStatus(Status status);
        error FinalizeNotPossible(Status status);
        error FirstContributionMustBeOperator(address contributor, address operator);
        error FirstReservedContributorMustBeOperator(uint256 index, address operator);
        error OnlyOperatorIsAuthorised(address addr, address operator);
        error MaxContributorsExceeded(uint256 maxContributors);
        error ReservedContributorHasZeroAddress(uint256 index);
        error ReservedContributionBelowMinAmount(uint256 index, uint256 contributed, uint256 min);
        error ReservedContributionExceedsStakingRequirement(uint256 index, uint256 contributed, uint256 remaining);
        error RewardsContractMaxContributorsChanged(uint256 oldMax, uint256 newMax);
        error RewardsContractStakingRequirementChanged(uint256 oldRequirement, uint256 newRequirement);
        error TooManyReservedContributors(uint256 length, uint256 max);
        error WithdrawTooEarly(uint256 contribTime, uint256 blockTime, uint256 delayRequired);
        error Panic(uint256 code);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

        function updateFee(uint16 fee) external;
        function updatePubkeys(
            ServiceNodeRewards.G1Point newBLSPubkey,
            ServiceNodeRewards.BLSSignatureParams newBLSSig,
            uint256 ed25519Pubkey,
            uint256 ed25519Sig0,
            uint256 ed25519Sig1
        ) external;
        function blsPubkey() external view returns (uint256 X, uint256 Y);
        function serviceNodeParams() external view returns (ServiceNodeRewards.ServiceNodeParams memory);
        function blsSignature() external view returns (ServiceNodeRewards.BLSSignatureParams memory);
        function updateManualFinalize(bool value) external;
        function updateReservedContributors(ServiceNodeRewards.ReservedContributor[] reserved) external;
        function contributeFunds(uint256 amount, address beneficiary) external;
        function finalize() external;
        function withdrawContribution() external;
        function reset() external;

        function SESH() external view returns (address);
        function stakingRewardsContract() external view returns (address);
        function stakingRequirement() external view returns (uint256);
        function maxContributors() external view returns (uint256);
        function operator() external view returns (address);
        function status() external view returns (Status);
        function manualFinalize() external view returns (bool);
        function contributions(address) external view returns (uint256);
        function minimumContribution() external view returns (uint256);
        function calcMinimumContribution(uint256 contributionRemaining, uint256 numContributors, uint256 maxNumContributors) external pure returns (uint256);
        function minimumOperatorContribution(uint256 _stakingRequirement) external pure returns (uint256);
        function totalContribution() external view returns (uint256);
        function totalReservedContribution() external view returns (uint256);
        function contributorAddressesLength() external view returns (uint256);
        function getContributions() external view returns (address[] memory addrs, address[] memory beneficiaries, uint256[] memory contribs);
        function getReserved() external view returns (address[] memory addrs, uint256[] memory contribs, bool[] memory received);
    }

    /// `contracts/src/ServiceNodeContribution.sol`'s factory.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    contract ServiceNodeContributionFactory {
        constructor(address rewards);
        event NewServiceNodeContributionContract(address indexed contributorContract, uint256 serviceNodePubkey, address operator);
        function deploy(
            ServiceNodeRewards.G1Point key,
            ServiceNodeRewards.BLSSignatureParams sig,
            ServiceNodeRewards.ServiceNodeParams params,
            ServiceNodeRewards.ReservedContributor[] reserved,
            bool manualFinalize
        ) external returns (address result);
        function owns(address contractAddress) external view returns (bool);
        function stakingRewardsContract() external view returns (address);
    }
}

/// 1 SESH in atomic units (9 decimals).
pub const SESH: u64 = 1_000_000_000;

/// What [`deploy`] deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The token's whole supply, in atomic units.
    pub supply: U256,
    /// Who receives it.
    pub supply_receiver: Address,
    /// A node's full stake, in atomic units.
    pub staking_requirement: U256,
    /// The most contributors per node.
    pub max_contributors: u64,
    /// Seconds from a node's first leave request to its exit.
    pub exit_wait_time: u64,
    /// Seconds after a registration before a small contributor may ask to leave.
    pub small_contributor_leave_delay: u64,
    /// Seconds between repeated leave requests.
    pub repeated_leave_request_delay: u64,
}

impl Settings {
    /// The live network's numbers: 25,000 SESH per node, 10 contributors, a 30-day exit wait
    /// and small-contributor delay, an hour between repeated leave requests; a supply of
    /// 240,000,000 SESH to `receiver`.
    #[must_use]
    pub fn session_mainnet(receiver: Address) -> Self {
        Self {
            supply: U256::from(240_000_000u64) * U256::from(SESH),
            supply_receiver: receiver,
            staking_requirement: U256::from(25_000u64) * U256::from(SESH),
            max_contributors: 10,
            exit_wait_time: 30 * 86_400,
            small_contributor_leave_delay: 30 * 86_400,
            repeated_leave_request_delay: 3_600,
        }
    }
}

/// How a liquidation splits the liquidated node's deposit (the staking contract's constructor
/// arguments `foundationPool`, `liquidatorRewardRatio`, `poolShareOfLiquidationRatio`,
/// `recipientRatio`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liquidation {
    /// Where the pool's share goes (the live contract's reward pool).
    pub pool: Address,
    /// The liquidator's share, as a ratio to the sum of the three.
    pub liquidator_ratio: u64,
    /// The pool's share.
    pub pool_ratio: u64,
    /// What stays for the ledger to return (> 0, at least 3 times the other two together).
    pub recipient_ratio: u64,
}

impl Liquidation {
    /// The live deployment's ratios (3 : 17 : 9980), the pool's share to `pool`.
    #[must_use]
    pub fn session_mainnet(pool: Address) -> Self {
        Self { pool, liquidator_ratio: 3, pool_ratio: 17, recipient_ratio: 9980 }
    }
}

/// The deployed contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// The token.
    pub token: Address,
    /// The staking contract.
    pub rewards: Address,
    /// The factory of multi-contributor staging contracts for `rewards`.
    pub factory: Address,
    /// The block of the staking contract's deployment: followers start there.
    pub block: u64,
}

impl Deployment {
    /// The token's binding over `provider`.
    #[must_use]
    pub fn token(&self, provider: &DynProvider) -> SeshToken::SeshTokenInstance<DynProvider> {
        SeshToken::new(self.token, provider.clone())
    }

    /// The staking contract's binding over `provider`.
    #[must_use]
    pub fn rewards(
        &self,
        provider: &DynProvider,
    ) -> ServiceNodeRewards::ServiceNodeRewardsInstance<DynProvider> {
        ServiceNodeRewards::new(self.rewards, provider.clone())
    }

    /// The contribution factory's binding over `provider`.
    #[must_use]
    pub fn factory(
        &self,
        provider: &DynProvider,
    ) -> ServiceNodeContributionFactory::ServiceNodeContributionFactoryInstance<DynProvider> {
        ServiceNodeContributionFactory::new(self.factory, provider.clone())
    }
}

/// The creation bytecode in a committed build file (`{"bytecode": "0x…", …}`).
pub fn committed_bytecode(json: &str) -> Result<Vec<u8>, ChainToolsError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| ChainToolsError::Chain(format!("a committed contract build: {e}")))?;
    let code = value
        .get("bytecode")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| ChainToolsError::Chain("a committed build has no bytecode".to_owned()))?;
    hex::decode(code.trim_start_matches("0x"))
        .map_err(|e| ChainToolsError::Chain(format!("a committed build's bytecode: {e}")))
}

/// Deploys the token (its supply to `settings.supply_receiver`), the staking contract (owned
/// by the provider's signer) and the contribution factory from the committed bytecode, with the
/// live liquidation ratios and `settings.supply_receiver` as the liquidation pool
/// ([`deploy_with`] chooses them).
pub async fn deploy(
    provider: &DynProvider,
    settings: &Settings,
) -> Result<Deployment, ChainToolsError> {
    deploy_with(provider, settings, &Liquidation::session_mainnet(settings.supply_receiver)).await
}

/// [`deploy`] with the liquidation's pool and ratios given.
pub async fn deploy_with(
    provider: &DynProvider,
    settings: &Settings,
    liquidation: &Liquidation,
) -> Result<Deployment, ChainToolsError> {
    let token_args =
        SeshToken::constructorCall { supply: settings.supply, receiver: settings.supply_receiver }
            .abi_encode();
    let token = deploy_code(provider, &committed_bytecode(SESH_TOKEN_JSON)?, &token_args).await?;
    let rewards_args = ServiceNodeRewards::constructorCall {
        token: token.address,
        stakingRequirement: settings.staking_requirement,
        maxContributors: U256::from(settings.max_contributors),
        exitWaitTime: U256::from(settings.exit_wait_time),
        smallContributorLeaveDelay: U256::from(settings.small_contributor_leave_delay),
        repeatedLeaveRequestDelay: U256::from(settings.repeated_leave_request_delay),
        foundationPool: liquidation.pool,
        liquidatorRewardRatio: U256::from(liquidation.liquidator_ratio),
        poolShareOfLiquidationRatio: U256::from(liquidation.pool_ratio),
        recipientRatio: U256::from(liquidation.recipient_ratio),
    }
    .abi_encode();
    let rewards =
        deploy_code(provider, &committed_bytecode(SERVICE_NODE_REWARDS_JSON)?, &rewards_args)
            .await?;
    let factory_args =
        ServiceNodeContributionFactory::constructorCall { rewards: rewards.address }.abi_encode();
    let factory =
        deploy_code(provider, &committed_bytecode(CONTRIBUTION_FACTORY_JSON)?, &factory_args)
            .await?;
    Ok(Deployment {
        token: token.address,
        rewards: rewards.address,
        factory: factory.address,
        block: rewards.block,
    })
}

/// A node to register: its keys, fee and stakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRegistration {
    /// The BLS key, G1 `X`, `Y`.
    pub bls_pubkey: ServiceNodeRewards::G1Point,
    /// The BLS proof of possession: the key's signature of `proofOfPossessionTag ‖ X ‖ Y ‖
    /// operator ‖ Ed25519 key`, the operator being the first contributor (the sender for a solo
    /// node).
    pub bls_signature: ServiceNodeRewards::BLSSignatureParams,
    /// The Ed25519 key (as a big-endian word), its signature and the fee in basis points.
    pub params: ServiceNodeRewards::ServiceNodeParams,
    /// The stakes, operator first; empty for a solo node of the sender.
    pub contributors: Vec<ServiceNodeRewards::Contributor>,
}

/// A contributor entry: `addr` stakes `amount` and is paid at `beneficiary`.
#[must_use]
pub fn contributor(
    addr: Address,
    beneficiary: Address,
    amount: U256,
) -> ServiceNodeRewards::Contributor {
    ServiceNodeRewards::Contributor {
        staker: ServiceNodeRewards::Staker { addr, beneficiary },
        stakedAmount: amount,
    }
}

fn failed(what: &str) -> impl FnOnce(alloy::contract::Error) -> ChainToolsError + '_ {
    move |e| ChainToolsError::Chain(format!("{what}: {e}"))
}

async fn mined(
    what: &str,
    pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
) -> Result<TransactionReceipt, ChainToolsError> {
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| ChainToolsError::Chain(format!("{what}: receipt: {e}")))?;
    if receipt.status() {
        Ok(receipt)
    } else {
        Err(ChainToolsError::Chain(format!("{what}: {} reverted", receipt.transaction_hash)))
    }
}

/// From the provider's signer, which pays the whole stake: approves the staking requirement to
/// the staking contract, then registers `node`. Returns the node's id (from its
/// `NewServiceNodeV2`) and the registration's receipt.
pub async fn register(
    provider: &DynProvider,
    deployment: &Deployment,
    node: &NodeRegistration,
) -> Result<(u64, TransactionReceipt), ChainToolsError> {
    let rewards = deployment.rewards(provider);
    let requirement =
        rewards.stakingRequirement().call().await.map_err(failed("stakingRequirement"))?;
    let approve = deployment
        .token(provider)
        .approve(deployment.rewards, requirement)
        .send()
        .await
        .map_err(failed("approve"))?;
    mined("approve", approve).await?;
    let call = rewards.addBLSPublicKey(
        node.bls_pubkey.clone(),
        node.bls_signature.clone(),
        node.params.clone(),
        node.contributors.clone(),
    );
    // With a margin over the estimate: a registration mined after another one may pay more
    // (the non-signer threshold's slot changing), and the token transfer at its end must not
    // run out of gas.
    let estimate = call.estimate_gas().await.map_err(failed("addBLSPublicKey"))?;
    let add = call
        .gas(estimate.saturating_add(estimate / 4))
        .send()
        .await
        .map_err(failed("addBLSPublicKey"))?;
    let receipt = mined("addBLSPublicKey", add).await?;
    let id = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| ServiceNodeRewards::NewServiceNodeV2::decode_log(&log.inner).ok())
        .map(|event| event.serviceNodeID)
        .ok_or_else(|| {
            ChainToolsError::Chain(format!(
                "addBLSPublicKey {}: no NewServiceNodeV2 log",
                receipt.transaction_hash
            ))
        })?;
    Ok((id, receipt))
}

/// Seeds `nodes` (the owner's `seedPublicKeyList`, before the contract starts) from `provider`,
/// which must be the owner's and hold `stakingRequirement` per node (approved here); returns the
/// ids the contract gave them, in order, and the receipt.
pub async fn seed(
    provider: &DynProvider,
    deployment: &Deployment,
    nodes: &[ServiceNodeRewards::SeedServiceNode],
) -> Result<(Vec<u64>, TransactionReceipt), ChainToolsError> {
    let rewards = deployment.rewards(provider);
    let requirement =
        rewards.stakingRequirement().call().await.map_err(failed("stakingRequirement"))?;
    let total = requirement.saturating_mul(U256::from(nodes.len()));
    let approve = deployment
        .token(provider)
        .approve(deployment.rewards, total)
        .send()
        .await
        .map_err(failed("approve"))?;
    mined("approve", approve).await?;
    let call = rewards
        .seedPublicKeyList(nodes.to_vec())
        .send()
        .await
        .map_err(failed("seedPublicKeyList"))?;
    let receipt = mined("seedPublicKeyList", call).await?;
    let ids = receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| ServiceNodeRewards::NewSeededServiceNode::decode_log(&log.inner).ok())
        .map(|event| event.serviceNodeID)
        .collect();
    Ok((ids, receipt))
}

/// From the provider's signer (a contributor of the node): asks for node `id` to leave.
pub async fn initiate_exit(
    provider: &DynProvider,
    deployment: &Deployment,
    id: u64,
) -> Result<TransactionReceipt, ChainToolsError> {
    let pending = deployment
        .rewards(provider)
        .initiateExitBLSPublicKey(id)
        .send()
        .await
        .map_err(failed("initiateExitBLSPublicKey"))?;
    mined("initiateExitBLSPublicKey", pending).await
}

/// From the provider's signer: posts a signed sesh-staking transaction (at most 16 KiB) as a
/// `NetworkTransaction` event for the followers.
pub async fn submit_network_transaction(
    provider: &DynProvider,
    deployment: &Deployment,
    transaction: &[u8],
) -> Result<TransactionReceipt, ChainToolsError> {
    let pending = deployment
        .rewards(provider)
        .submitNetworkTransaction(Bytes::copy_from_slice(transaction))
        .send()
        .await
        .map_err(failed("submitNetworkTransaction"))?;
    mined("submitNetworkTransaction", pending).await
}

/// From the provider's signer (anyone): `updateRewardsBalance(recipient, amount, signature,
/// non_signers)`, raising `recipient`'s cumulative balance with the network's aggregate
/// signature; the receipt.
pub async fn update_rewards_balance(
    provider: &DynProvider,
    deployment: &Deployment,
    recipient: Address,
    amount: U256,
    signature: ServiceNodeRewards::BLSSignatureParams,
    non_signers: Vec<u64>,
) -> Result<TransactionReceipt, ChainToolsError> {
    let rewards = deployment.rewards(provider);
    let call = rewards.updateRewardsBalance(recipient, amount, signature, non_signers);
    let estimate = call.estimate_gas().await.map_err(failed("updateRewardsBalance"))?;
    let pending = call
        .gas(estimate.saturating_add(estimate / 4))
        .send()
        .await
        .map_err(failed("updateRewardsBalance"))?;
    mined("updateRewardsBalance", pending).await
}

/// A signature's four words (`sigs0..sigs3` = x_re, x_im, y_re, y_im, each 32 bytes
/// big-endian) as the contract's `BLSSignatureParams`.
#[must_use]
pub fn signature_params(words: &[[u8; 32]; 4]) -> ServiceNodeRewards::BLSSignatureParams {
    let [a, b, c, d] = words.map(|w| U256::from_be_bytes(w));
    ServiceNodeRewards::BLSSignatureParams { sigs0: a, sigs1: b, sigs2: c, sigs3: d }
}

/// A 64-byte G1 key (`X ‖ Y`, big-endian) as the contract's `G1Point`.
#[must_use]
pub fn g1_point(bytes: &[u8; 64]) -> ServiceNodeRewards::G1Point {
    let (x, y) = bytes.split_at(32);
    ServiceNodeRewards::G1Point { X: U256::from_be_slice(x), Y: U256::from_be_slice(y) }
}

/// Compiles `contracts/src/*.sol` and `contracts/test/*.sol` with the pinned solc-js (`tools/chain/build.js`, offline,
/// OpenZeppelin from the installed tools) into `out` (`<Name>.json` per contract, any other
/// `.json` there deleted). `out = contracts_dir().join("out")` regenerates the committed build.
pub fn build(tools: &ChainTools, out: &Path) -> Result<(), ChainToolsError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/chain/build.js");
    let output = Command::new("node")
        .arg(script)
        .arg(tools.node_modules())
        .arg(contracts_dir())
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ChainToolsError::NoNode(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ChainToolsError::Chain(format!(
            "building the contracts failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
