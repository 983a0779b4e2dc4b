//! sesh's own staking contracts (`contracts/`): their alloy bindings, their committed build
//! (`contracts/out/*.json`, checked byte for byte against a fresh compile by the `contracts`
//! test), and what a local chain or the testnet needs from them: [`deploy`] the token and the
//! staking contract (and the multi-contributor `ServiceNodeContributionFactory`) from the
//! committed bytecode, [`register`] a node (approve, then
//! `addBLSPublicKey`), [`initiate_exit`], [`submit_network_transaction`].
//!
//! The staking contract keeps the live `ServiceNodeRewards`' signatures for what it has (see
//! `contracts/README.md`); BLS checks, signed exits, liquidation and reward updates come with
//! issue 21.

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
            uint256 repeatedLeaveRequestDelay
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
/// by the provider's signer) and the contribution factory from the committed bytecode.
pub async fn deploy(
    provider: &DynProvider,
    settings: &Settings,
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
    /// The BLS proof of possession (not checked before issue 21).
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
    let add = rewards
        .addBLSPublicKey(
            node.bls_pubkey.clone(),
            node.bls_signature.clone(),
            node.params.clone(),
            node.contributors.clone(),
        )
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

/// Compiles `contracts/src/*.sol` with the pinned solc-js (`tools/chain/build.js`, offline,
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
