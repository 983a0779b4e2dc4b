// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BN254} from "./bls/BN254.sol";

/// @title sesh's staking contract
/// @notice The ledger of record of a sesh network: service nodes register here with their full
/// stake, contributors ask to leave, leave after a wait, and claim what they are owed. Every
/// sesh node follows this contract's events and derives the same staking ledger from them.
///
/// The structs, events, errors and the functions that followers and wallets use keep the
/// signatures of Session's live `ServiceNodeRewards` (same names, parameter types and order, so
/// the same event topics, selectors and error selectors), so that a follower reads either
/// contract. This contract is sesh's own code, and differs from the live one:
///  - it is not upgradeable and not pausable; `start()` is optional: the first
///    `addBLSPublicKey` starts the contract too. Before it starts, the owner may seed nodes with
///    `seedPublicKeyList` (the live launch's import of the Oxen chain's nodes), paying their
///    deposits itself (the live contract takes no tokens when seeding);
///  - the BLS checks are the live ones (tags, message layouts, hash to G2, the aggregate key
///    and the non-signer threshold, proofs of possession, `updateRewardsBalance`,
///    `exitBLSPublicKeyWithSignature`, `liquidateBLSPublicKeyWithSignature`, the claim cycle
///    cap) with sesh's own BN254 library (`bls/BN254.sol`); the tags are immutables fixed at
///    construction; the aggregate key is kept with the G1 precompile from the first node on
///    (so a seeded key off the curve reverts too); the liquidation's pool share goes to the
///    `foundationPool` address given to the constructor (the live contract's reward pool);
///    the minimum exit age is the live 2 hours, fixed; there is no
///    `rederiveTotalNodesAndAggregatePubkey`, no per-block pubkey aggregation counters, and
///    no `setSignatureExpiry`;
///  - as on the live contract, exits move no tokens and credit nothing: the network's ledger
///    returns the stakes, which contributors claim through `updateRewardsBalance`;
///  - `submitNetworkTransaction` (sesh's addition) posts a signed sesh-staking transaction (a
///    quorum's decision) as a `NetworkTransaction` event, so that every follower applies it at
///    the same height; the contract does not check it, each follower does.
contract ServiceNodeRewards is Ownable {
    using SafeERC20 for IERC20;

    // ---- types (the live contract's) ----

    /// A BN254 G1 point (a BLS public key).
    struct G1Point {
        uint256 X;
        uint256 Y;
    }

    /// A BN254 G2 point (a BLS signature), as four words.
    struct BLSSignatureParams {
        uint256 sigs0;
        uint256 sigs1;
        uint256 sigs2;
        uint256 sigs3;
    }

    /// The node's Ed25519 key, its signature over the BLS key (two halves) and the fee.
    struct ServiceNodeParams {
        uint256 serviceNodePubkey;
        uint256 serviceNodeSignature1;
        uint256 serviceNodeSignature2;
        uint16 fee;
    }

    /// Who stakes, and who is paid.
    struct Staker {
        address addr;
        address beneficiary;
    }

    /// A stake in a node.
    struct Contributor {
        Staker staker;
        uint256 stakedAmount;
    }

    /// A reserved spot (used by the contribution contract).
    struct ReservedContributor {
        address addr;
        uint256 amount;
    }

    /// A registered node, laid out as the live contract's (`serviceNodes(id)` returns it).
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

    /// A node seeded by the owner before the contract starts.
    struct SeedServiceNode {
        G1Point blsPubkey;
        uint256 ed25519Pubkey;
        uint256 addedTimestamp;
        Contributor[] contributors;
    }

    /// What an address has been credited in total, and what it has claimed of it.
    struct Recipient {
        uint256 rewards;
        uint256 claimed;
    }

    // ---- events (the live contract's, plus NetworkTransaction) ----

    event NewServiceNodeV2(
        uint64 indexed serviceNodeID,
        address initiator,
        G1Point pubkey,
        ServiceNodeParams serviceNode,
        Contributor[] contributors
    );
    event ServiceNodeExitRequest(uint64 indexed serviceNodeID, address initiator, G1Point pubkey);
    event ServiceNodeExit(uint64 indexed serviceNodeID, address initiator, uint256 returnedAmount, G1Point pubkey);
    event RewardsBalanceUpdated(address indexed recipientAddress, uint256 amount, uint256 previousBalance);
    event RewardsClaimed(address indexed recipientAddress, uint256 amount);
    event StakingRequirementUpdated(uint256 newRequirement);
    event NewSeededServiceNode(uint64 indexed serviceNodeID, G1Point blsPubkey, uint256 ed25519Pubkey);
    event ServiceNodeLiquidated(uint64 indexed serviceNodeID, address initiator, G1Point pubkey);
    event BLSNonSignerThresholdMaxUpdated(uint256 newMax);
    event ClaimThresholdUpdated(uint256 newThreshold);
    event ClaimCycleUpdated(uint256 newValue);
    event LiquidationRatiosUpdated(uint256 liquidatorRatio, uint256 poolRatio, uint256 recipientRatio);
    /// sesh's addition: a signed sesh-staking transaction, for the followers to check and apply.
    event NetworkTransaction(address indexed sender, bytes transaction);

    // ---- errors (the live names and parameters where the live contract has the rule) ----

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
    /// The live contribution contract's error for a fee above 100 % (10000 basis points).
    error FeeExceedsPossibleValue(uint16 fee, uint16 max);
    /// sesh's: the same staker address twice in a node's contributor list (sesh's ledger refuses it).
    error DuplicateContributor(uint256 index);
    /// sesh's: a network transaction longer than `MAX_NETWORK_TRANSACTION_BYTES`.
    error NetworkTransactionTooLarge(uint256 length, uint256 max);

    // ---- constants and settings ----

    /// The fee's maximum, 100 % in basis points.
    uint16 public constant MAX_FEE = 10000;
    /// A contributor of less than 1/4 of the deposit is a small contributor.
    uint256 public constant SMALL_CONTRIBUTOR_DIVISOR = 4;
    /// The longest network transaction `submitNetworkTransaction` takes: 16 KiB.
    uint256 public constant MAX_NETWORK_TRANSACTION_BYTES = 16384;
    /// Seconds after its registration before a node may exit or be liquidated with the
    /// network's signature (the live `minimumExitAge`).
    uint256 public constant MINIMUM_EXIT_AGE = 2 hours;
    /// Seconds an exit or liquidation signature's timestamp stays valid (the live value).
    uint256 public constant signatureExpiry = 10 minutes;

    // ---- BLS domain tags: keccak256(base ‖ uint256(chainid) ‖ address(this)) ----

    bytes32 public immutable proofOfPossessionTag;
    bytes32 public immutable rewardTag;
    bytes32 public immutable exitTag;
    bytes32 public immutable liquidateTag;
    /// The DST of hash to G2.
    bytes32 public immutable hashToG2Tag;

    /// The staking token.
    IERC20 public immutable designatedToken;
    /// The most contributors a node may have (the operator included).
    uint256 public immutable maxContributors;
    /// Seconds from a node's first leave request to when it may exit.
    uint256 public immutable exitWaitTime;
    /// Seconds from a node's registration before a small contributor may ask to leave.
    uint256 public immutable smallContributorLeaveDelay;
    /// Seconds between repeated leave requests for the same node.
    uint256 public immutable repeatedLeaveRequestDelay;
    /// Where a liquidation's pool share goes (the live contract's reward pool).
    address public immutable foundationPool;

    /// The full stake of a node, in atomic units.
    uint256 public stakingRequirement;
    /// The id the next node gets (ids start at 1; 0 is the list's sentinel).
    uint64 public nextServiceNodeID = 1;
    /// How many nodes are registered.
    uint256 public totalNodes;
    /// Whether the contract has started (`start()`, or the first `addBLSPublicKey`): no more
    /// seeding.
    bool public isStarted;

    /// The most non-signers an aggregate signature may leave out: min(totalNodes / 3,
    /// `blsNonSignerThresholdMax`), updated at every registration and removal.
    uint256 public blsNonSignerThreshold;
    /// The cap on `blsNonSignerThreshold` (the live 4000; the owner may change it).
    uint256 public blsNonSignerThresholdMax = 4000;
    /// The most that all claims together may pay out in one claim cycle (the live 1,000,000
    /// SESH; the owner may change it).
    uint256 public claimThreshold = 1_000_000 * 1e9;
    /// The claim cycle's length in seconds (the live 12 hours; the owner may change it).
    uint256 public claimCycle = 12 hours;
    /// What has been claimed in the current claim cycle.
    uint256 public currentClaimTotal;
    /// The current claim cycle (`block.timestamp / claimCycle` at its first claim).
    uint256 public currentClaimCycle;
    /// A liquidation's split of the node's deposit: the liquidator's, the pool's and the rest's
    /// shares are in these ratios.
    uint256 public liquidatorRewardRatio;
    uint256 public poolShareOfLiquidationRatio;
    uint256 public recipientRatio;

    /// The G1 sum of every registered node's BLS key ((0, 0) with none).
    G1Point private _aggregatePubkey;

    /// Credited and claimed amounts per address.
    mapping(address => Recipient) public recipients;
    /// The node id of a registered BLS key (`abi.encode(X, Y)`), or 0.
    mapping(bytes blsPubkey => uint64 serviceNodeID) public serviceNodeIDs;
    /// The node id of a registered Ed25519 key, or 0.
    mapping(uint256 ed25519Pubkey => uint64 serviceNodeID) public ed25519ToServiceNodeID;

    /// The nodes, a doubly linked list in registration order through the sentinel at id 0.
    mapping(uint64 => ServiceNode) private _nodes;

    /// @param token The staking token.
    /// @param stakingRequirement_ A node's full stake, in atomic units (> 0).
    /// @param maxContributors_ The most contributors per node (> 0).
    /// @param exitWaitTime_ Seconds from the first leave request to the exit.
    /// @param smallContributorLeaveDelay_ Seconds before a small contributor may ask to leave.
    /// @param repeatedLeaveRequestDelay_ Seconds between repeated leave requests.
    /// @param foundationPool_ Where a liquidation's pool share goes (not zero).
    /// @param liquidatorRewardRatio_ The liquidator's share of a liquidated deposit, as a ratio
    /// to the sum of the three ratios (the live deployment: 3, 17, 9980).
    /// @param poolShareOfLiquidationRatio_ The pool's share.
    /// @param recipientRatio_ The rest's (> 0, at least 3 times the other two together).
    constructor(
        IERC20 token,
        uint256 stakingRequirement_,
        uint256 maxContributors_,
        uint256 exitWaitTime_,
        uint256 smallContributorLeaveDelay_,
        uint256 repeatedLeaveRequestDelay_,
        address foundationPool_,
        uint256 liquidatorRewardRatio_,
        uint256 poolShareOfLiquidationRatio_,
        uint256 recipientRatio_
    ) Ownable(msg.sender) {
        if (address(token) == address(0) || foundationPool_ == address(0)) revert NullAddress();
        if (stakingRequirement_ == 0 || maxContributors_ == 0) revert PositiveNumberRequirement();
        designatedToken = token;
        stakingRequirement = stakingRequirement_;
        maxContributors = maxContributors_;
        exitWaitTime = exitWaitTime_;
        smallContributorLeaveDelay = smallContributorLeaveDelay_;
        repeatedLeaveRequestDelay = repeatedLeaveRequestDelay_;
        foundationPool = foundationPool_;
        _setLiquidationRatios(liquidatorRewardRatio_, poolShareOfLiquidationRatio_, recipientRatio_);
        proofOfPossessionTag = _buildTag("BLS_SIG_TRYANDINCREMENT_POP");
        rewardTag = _buildTag("BLS_SIG_TRYANDINCREMENT_REWARD");
        exitTag = _buildTag("BLS_SIG_TRYANDINCREMENT_EXIT");
        liquidateTag = _buildTag("BLS_SIG_TRYANDINCREMENT_LIQUIDATE");
        hashToG2Tag = _buildTag("BLS_SIG_HASH_TO_FIELD_TAG");
    }

    function _buildTag(string memory base) private view returns (bytes32) {
        return BN254.buildTag(base, block.chainid, address(this));
    }

    // ---- registration ----

    /// @notice Registers a node with its full stake, taken from the caller (who must have
    /// approved `stakingRequirement` tokens to this contract).
    /// @param blsPubkey The node's BLS key (neither coordinate zero; not registered).
    /// @param blsSignature The BLS proof of possession: the key's signature (`sigs0..sigs3` =
    /// x_re, x_im, y_re, y_im) of `proofOfPossessionTag ‖ X ‖ Y ‖ operator ‖ serviceNodePubkey`,
    /// where the operator is the first contributor (the caller for a solo node, so the real
    /// operator and not a contribution contract that registers for it); reverts with
    /// `InvalidBLSProofOfPossession` if it does not verify.
    /// @param serviceNodeParams The Ed25519 key (non-zero, not registered), its signature and
    /// the operator's fee (at most 10000 basis points).
    /// @param contributors The stakes, the operator first: their sum must be the staking
    /// requirement, the operator's at least a quarter of it, at most `maxContributors` of them.
    /// Empty: the caller is the sole operator with the whole stake.
    function addBLSPublicKey(
        G1Point calldata blsPubkey,
        BLSSignatureParams calldata blsSignature,
        ServiceNodeParams calldata serviceNodeParams,
        Contributor[] calldata contributors
    ) external {
        uint256 requirement = stakingRequirement;
        uint256 count = contributors.length;
        if (count > maxContributors) revert MaxContributorsExceeded();
        if (serviceNodeParams.fee > MAX_FEE) revert FeeExceedsPossibleValue(serviceNodeParams.fee, MAX_FEE);

        Contributor[] memory stakes;
        if (count == 0) {
            stakes = new Contributor[](1);
            stakes[0] = Contributor(Staker(msg.sender, msg.sender), requirement);
        } else {
            uint256 total = 0;
            for (uint256 i = 0; i < count; ++i) {
                Contributor calldata c = contributors[i];
                if (c.staker.addr == address(0) || c.staker.beneficiary == address(0)) revert NullAddress();
                for (uint256 j = 0; j < i; ++j) {
                    if (contributors[j].staker.addr == c.staker.addr) revert DuplicateContributor(i);
                }
                total += c.stakedAmount;
            }
            if (total != requirement) revert ContributionTotalMismatch(requirement, total);
            if (contributors[0].stakedAmount * SMALL_CONTRIBUTOR_DIVISOR < requirement) {
                revert InsufficientOperatorContribution(contributors[0].stakedAmount);
            }
            stakes = contributors;
        }

        if (!isStarted) isStarted = true;
        uint64 id = _insert(blsPubkey, serviceNodeParams.serviceNodePubkey);
        address operator = stakes[0].staker.addr;
        _validateProofOfPossession(blsPubkey, blsSignature, operator, serviceNodeParams.serviceNodePubkey);
        ServiceNode storage node = _nodes[id];
        node.operator = operator;
        node.deposit = requirement;
        for (uint256 i = 0; i < stakes.length; ++i) {
            node.contributors.push(stakes[i]);
        }

        emit NewServiceNodeV2(id, msg.sender, blsPubkey, serviceNodeParams, stakes);
        designatedToken.safeTransferFrom(msg.sender, address(this), requirement);
    }

    /// @notice Seeds the node list before the contract starts (owner only), as the live
    /// contract's launch did with the Oxen chain's nodes: each node gets the staking requirement
    /// as its deposit, its first contributor as operator, the given `addedTimestamp`, and its
    /// contributors as given (1 to `maxContributors`, no null address, summing to the staking
    /// requirement; sesh's contract also refuses an address twice). No node signature, no fee,
    /// no BLS proof. One `NewSeededServiceNode` per node. The owner pays the deposits
    /// (`stakingRequirement` per node, approved beforehand), so that exits can be paid out.
    /// May be called several times; reverts with `ContractAlreadyStarted` once started.
    function seedPublicKeyList(SeedServiceNode[] calldata nodes) external onlyOwner {
        if (isStarted) revert ContractAlreadyStarted();
        uint256 requirement = stakingRequirement;
        uint256 count = nodes.length;
        for (uint256 i = 0; i < count; ++i) {
            SeedServiceNode calldata seed = nodes[i];
            uint256 stakers = seed.contributors.length;
            if (stakers == 0) revert InsufficientContributors();
            if (stakers > maxContributors) revert MaxContributorsExceeded();
            uint64 id = _insert(seed.blsPubkey, seed.ed25519Pubkey);
            ServiceNode storage node = _nodes[id];
            node.deposit = requirement;
            node.operator = seed.contributors[0].staker.addr;
            node.addedTimestamp = seed.addedTimestamp;
            uint256 total = 0;
            for (uint256 j = 0; j < stakers; ++j) {
                Contributor calldata c = seed.contributors[j];
                if (c.staker.addr == address(0)) revert NullAddress();
                for (uint256 k = 0; k < j; ++k) {
                    if (seed.contributors[k].staker.addr == c.staker.addr) revert DuplicateContributor(j);
                }
                total += c.stakedAmount;
                node.contributors.push(c);
            }
            if (total != requirement) revert ContributionTotalMismatch(requirement, total);
            emit NewSeededServiceNode(id, seed.blsPubkey, seed.ed25519Pubkey);
        }
        if (count > 0) designatedToken.safeTransferFrom(msg.sender, address(this), requirement * count);
    }

    /// @notice Reverts with `InvalidBLSProofOfPossession` unless `blsSignature` is `blsPubkey`'s
    /// proof of possession for `caller` (the operator) and the Ed25519 key `serviceNodePubkey`.
    function validateProofOfPossession(
        G1Point calldata blsPubkey,
        BLSSignatureParams calldata blsSignature,
        address caller,
        uint256 serviceNodePubkey
    ) external view {
        _validateProofOfPossession(blsPubkey, blsSignature, caller, serviceNodePubkey);
    }

    function _validateProofOfPossession(
        G1Point calldata blsPubkey,
        BLSSignatureParams calldata blsSignature,
        address caller,
        uint256 serviceNodePubkey
    ) private view {
        bytes memory message =
            abi.encodePacked(proofOfPossessionTag, blsPubkey.X, blsPubkey.Y, caller, serviceNodePubkey);
        if (!BN254.pairingCheck(blsPubkey.X, blsPubkey.Y, _words(blsSignature), BN254.hashToG2(message, hashToG2Tag))) {
            revert InvalidBLSProofOfPossession();
        }
    }

    /// @notice Starts the contract: no more seeding (the first `addBLSPublicKey` also does).
    function start() external onlyOwner {
        isStarted = true;
    }

    /// Checks the keys and appends a node holding them to the list; returns its id.
    function _insert(G1Point calldata blsPubkey, uint256 ed25519Pubkey) private returns (uint64 id) {
        if (blsPubkey.X == 0 || blsPubkey.Y == 0) revert NullBLSPubkey();
        if (ed25519Pubkey == 0) revert NullEd25519Pubkey();
        bytes memory blsKey = abi.encode(blsPubkey.X, blsPubkey.Y);
        uint64 holder = serviceNodeIDs[blsKey];
        if (holder != 0) revert BLSPubkeyAlreadyExists(holder);
        holder = ed25519ToServiceNodeID[ed25519Pubkey];
        if (holder != 0) revert Ed25519PubkeyAlreadyExists(holder);

        id = nextServiceNodeID++;
        totalNodes += 1;
        ServiceNode storage node = _nodes[id];
        uint64 last = _nodes[0].prev;
        node.prev = last;
        node.next = 0;
        _nodes[last].next = id;
        _nodes[0].prev = id;
        node.blsPubkey = blsPubkey;
        node.ed25519Pubkey = ed25519Pubkey;
        node.addedTimestamp = block.timestamp;
        serviceNodeIDs[blsKey] = id;
        ed25519ToServiceNodeID[ed25519Pubkey] = id;
        (uint256 ax, uint256 ay) =
            BN254.g1Add(_aggregatePubkey.X, _aggregatePubkey.Y, blsPubkey.X, blsPubkey.Y);
        _aggregatePubkey = G1Point(ax, ay);
        _updateBLSNonSignerThreshold();
    }

    // ---- leaving ----

    /// @notice A contributor asks for the node to leave. A small contributor (less than a
    /// quarter of the deposit) may first ask `smallContributorLeaveDelay` seconds after the
    /// registration; a request may be repeated (to re-emit the event) every
    /// `repeatedLeaveRequestDelay` seconds; the exit wait runs from the first request.
    function initiateExitBLSPublicKey(uint64 serviceNodeID) external {
        ServiceNode storage node = _existing(serviceNodeID);
        bool found = false;
        bool small = false;
        uint256 count = node.contributors.length;
        for (uint256 i = 0; i < count; ++i) {
            Contributor storage c = node.contributors[i];
            if (c.staker.addr == msg.sender) {
                found = true;
                small = c.stakedAmount * SMALL_CONTRIBUTOR_DIVISOR < node.deposit;
                break;
            }
        }
        if (!found) revert CallerNotContributor(serviceNodeID, msg.sender);

        if (node.leaveRequestTimestamp == 0) {
            if (small && block.timestamp < node.addedTimestamp + smallContributorLeaveDelay) {
                revert SmallContributorLeaveTooEarly(serviceNodeID, msg.sender);
            }
            node.leaveRequestTimestamp = block.timestamp;
        } else {
            uint256 allowedFrom = node.latestLeaveRequestTimestamp + repeatedLeaveRequestDelay;
            if (block.timestamp < allowedFrom) {
                revert LeaveRequestTooEarly(serviceNodeID, allowedFrom, block.timestamp);
            }
        }
        node.latestLeaveRequestTimestamp = block.timestamp;
        emit ServiceNodeExitRequest(serviceNodeID, msg.sender, node.blsPubkey);
    }

    /// @notice Removes a node `exitWaitTime` seconds after its first leave request (anyone may
    /// call). As on the live contract, no tokens move and nothing is credited here: the
    /// network's ledger returns the stake, claimed through `updateRewardsBalance`.
    function exitBLSPublicKeyAfterWaitTime(uint64 serviceNodeID) external {
        ServiceNode storage node = _existing(serviceNodeID);
        uint256 requested = node.leaveRequestTimestamp;
        if (requested == 0) revert LeaveRequestNotInitiatedYet(serviceNodeID);
        uint256 allowedFrom = requested + exitWaitTime;
        if (block.timestamp < allowedFrom) revert LeaveRequestTooEarly(serviceNodeID, allowedFrom, block.timestamp);
        _exit(serviceNodeID, node.deposit);
    }

    /// @notice Removes the node of `blsPubkey` with the network's aggregate signature of
    /// `exitTag ‖ X ‖ Y ‖ timestamp` (anyone may call). `ids` are the registered nodes that did
    /// not sign (at most `blsNonSignerThreshold`). Reverts with `BLSPubkeyDoesNotExist`,
    /// `SignatureExpired` (`timestamp + signatureExpiry` has passed), `ExitTooEarly` (younger
    /// than `MINIMUM_EXIT_AGE`), `InsufficientBLSSignatures` or `InvalidBLSSignature`. Moves no
    /// tokens (live).
    function exitBLSPublicKeyWithSignature(
        G1Point calldata blsPubkey,
        uint256 timestamp,
        BLSSignatureParams calldata blsSignature,
        uint64[] calldata ids
    ) external {
        uint64 id = _validateExitSignature(blsPubkey, timestamp, blsSignature, exitTag, ids);
        _exit(id, _nodes[id].deposit);
    }

    /// @notice Removes the node of `blsPubkey` with the network's aggregate signature of
    /// `liquidateTag ‖ X ‖ Y ‖ timestamp` (anyone may call; the same checks as
    /// `exitBLSPublicKeyWithSignature`), and pays out of its deposit the caller's share
    /// (deposit·liquidator/sum, rounded down) and the pool's (deposit·pool/sum, rounded up) to
    /// `foundationPool`; the rest stays, for the ledger to return (`ServiceNodeExit`'s
    /// `returnedAmount`).
    function liquidateBLSPublicKeyWithSignature(
        G1Point calldata blsPubkey,
        uint256 timestamp,
        BLSSignatureParams calldata blsSignature,
        uint64[] calldata ids
    ) external {
        uint64 id = _validateExitSignature(blsPubkey, timestamp, blsSignature, liquidateTag, ids);
        emit ServiceNodeLiquidated(id, msg.sender, blsPubkey);
        uint256 deposit = _nodes[id].deposit;
        uint256 sum = liquidatorRewardRatio + poolShareOfLiquidationRatio + recipientRatio;
        uint256 liquidatorAmount = deposit * liquidatorRewardRatio / sum;
        uint256 poolProduct = deposit * poolShareOfLiquidationRatio;
        uint256 poolAmount = poolProduct == 0 ? 0 : (poolProduct - 1) / sum + 1;
        _exit(id, deposit - liquidatorAmount - poolAmount);
        if (liquidatorRewardRatio > 0) designatedToken.safeTransfer(msg.sender, liquidatorAmount);
        if (poolShareOfLiquidationRatio > 0) designatedToken.safeTransfer(foundationPool, poolAmount);
    }

    /// The exit and liquidation checks; the node's id.
    function _validateExitSignature(
        G1Point calldata blsPubkey,
        uint256 timestamp,
        BLSSignatureParams calldata blsSignature,
        bytes32 tag,
        uint64[] calldata ids
    ) private view returns (uint64 id) {
        _requireStartedAndEnoughSigners(ids.length);
        id = serviceNodeIDs[abi.encode(blsPubkey.X, blsPubkey.Y)];
        if (id == 0) revert BLSPubkeyDoesNotExist(blsPubkey);
        if (block.timestamp > timestamp + signatureExpiry) revert SignatureExpired(id, timestamp, block.timestamp);
        uint256 added = _nodes[id].addedTimestamp;
        if (block.timestamp < added + MINIMUM_EXIT_AGE) revert ExitTooEarly(id, added, block.timestamp);
        _validateSignatureOrRevert(ids, blsSignature, abi.encodePacked(tag, blsPubkey.X, blsPubkey.Y, timestamp));
    }

    function _exit(uint64 id, uint256 returnedAmount) private {
        emit ServiceNodeExit(id, msg.sender, returnedAmount, _nodes[id].blsPubkey);
        _remove(id);
    }

    function _existing(uint64 serviceNodeID) private view returns (ServiceNode storage node) {
        node = _nodes[serviceNodeID];
        if (serviceNodeID == 0 || node.ed25519Pubkey == 0) revert ServiceNodeDoesntExist(serviceNodeID);
    }

    function _remove(uint64 id) private {
        ServiceNode storage node = _nodes[id];
        _nodes[node.prev].next = node.next;
        _nodes[node.next].prev = node.prev;
        delete serviceNodeIDs[abi.encode(node.blsPubkey.X, node.blsPubkey.Y)];
        delete ed25519ToServiceNodeID[node.ed25519Pubkey];
        (uint256 nx, uint256 ny) = BN254.g1Negate(node.blsPubkey.X, node.blsPubkey.Y);
        (nx, ny) = BN254.g1Add(_aggregatePubkey.X, _aggregatePubkey.Y, nx, ny);
        _aggregatePubkey = G1Point(nx, ny);
        delete _nodes[id];
        totalNodes -= 1;
        _updateBLSNonSignerThreshold();
    }

    function _updateBLSNonSignerThreshold() private {
        uint256 third = totalNodes / 3;
        uint256 max = blsNonSignerThresholdMax;
        blsNonSignerThreshold = third < max ? third : max;
    }

    // ---- BLS signatures ----

    function _requireStartedAndEnoughSigners(uint256 nonSigners) private view {
        if (!isStarted) revert ContractNotStarted();
        uint256 threshold = blsNonSignerThreshold;
        if (nonSigners > threshold) revert InsufficientBLSSignatures(totalNodes - nonSigners, totalNodes - threshold);
    }

    /// Reverts with `InvalidBLSSignature(apk)` unless `blsSignature` is a signature of
    /// `message` under apk = the aggregate key minus the keys of `ids` (an id with no node
    /// subtracts nothing, an id listed twice subtracts twice: the live rule).
    function _validateSignatureOrRevert(
        uint64[] calldata ids,
        BLSSignatureParams calldata blsSignature,
        bytes memory message
    ) private view {
        uint256 sx;
        uint256 sy;
        for (uint256 i = 0; i < ids.length; ++i) {
            G1Point storage key = _nodes[ids[i]].blsPubkey;
            (sx, sy) = BN254.g1Add(sx, sy, key.X, key.Y);
        }
        (sx, sy) = BN254.g1Negate(sx, sy);
        (sx, sy) = BN254.g1Add(_aggregatePubkey.X, _aggregatePubkey.Y, sx, sy);
        if (!BN254.pairingCheck(sx, sy, _words(blsSignature), BN254.hashToG2(message, hashToG2Tag))) {
            revert InvalidBLSSignature(G1Point(sx, sy));
        }
    }

    function _words(BLSSignatureParams calldata s) private pure returns (uint256[4] memory) {
        return [s.sigs0, s.sigs1, s.sigs2, s.sigs3];
    }

    // ---- claims ----

    /// @notice Raises `recipientAddress`'s cumulative balance to `recipientRewards` with the
    /// network's aggregate signature of `rewardTag ‖ recipientAddress ‖ recipientRewards`
    /// (anyone may call). `ids` are the registered nodes that did not sign (at most
    /// `blsNonSignerThreshold`, else `InsufficientBLSSignatures`). Reverts with `NullAddress`,
    /// `RecipientRewardsTooLow` (not above the current balance: a replay), or
    /// `InvalidBLSSignature`.
    function updateRewardsBalance(
        address recipientAddress,
        uint256 recipientRewards,
        BLSSignatureParams calldata blsSignature,
        uint64[] calldata ids
    ) external {
        _requireStartedAndEnoughSigners(ids.length);
        if (recipientAddress == address(0)) revert NullAddress();
        uint256 previous = recipients[recipientAddress].rewards;
        if (previous >= recipientRewards) revert RecipientRewardsTooLow();
        _validateSignatureOrRevert(ids, blsSignature, abi.encodePacked(rewardTag, recipientAddress, recipientRewards));
        recipients[recipientAddress].rewards = recipientRewards;
        emit RewardsBalanceUpdated(recipientAddress, recipientRewards, previous);
    }

    /// @notice Pays the caller everything credited and not yet claimed.
    function claimRewards() external {
        Recipient storage r = recipients[msg.sender];
        _claim(r, r.rewards - r.claimed);
    }

    /// @notice Pays the caller `amount` of what is credited and not yet claimed.
    function claimRewards(uint256 amount) external {
        _claim(recipients[msg.sender], amount);
    }

    /// Claims of all recipients together pay at most `claimThreshold` per claim cycle
    /// (`ClaimThresholdExceeded`), the live cap.
    function _claim(Recipient storage r, uint256 amount) private {
        if (amount > r.rewards - r.claimed) revert MaxClaimExceeded();
        uint256 cycle = block.timestamp / claimCycle;
        if (cycle > currentClaimCycle) {
            currentClaimCycle = cycle;
            currentClaimTotal = 0;
        }
        currentClaimTotal += amount;
        if (currentClaimTotal > claimThreshold) revert ClaimThresholdExceeded();
        r.claimed += amount;
        emit RewardsClaimed(msg.sender, amount);
        designatedToken.safeTransfer(msg.sender, amount);
    }

    // ---- sesh's network transactions ----

    /// @notice Posts a signed sesh-staking transaction (at most 16 KiB) for every follower to
    /// check and apply at this block. The contract does not look inside it.
    function submitNetworkTransaction(bytes calldata transaction) external {
        if (transaction.length > MAX_NETWORK_TRANSACTION_BYTES) {
            revert NetworkTransactionTooLarge(transaction.length, MAX_NETWORK_TRANSACTION_BYTES);
        }
        emit NetworkTransaction(msg.sender, transaction);
    }

    // ---- owner ----

    /// @notice Sets the staking requirement of nodes registered from now on (> 0).
    function setStakingRequirement(uint256 newRequirement) external onlyOwner {
        if (newRequirement == 0) revert PositiveNumberRequirement();
        stakingRequirement = newRequirement;
        emit StakingRequirementUpdated(newRequirement);
    }

    /// @notice Sets the cap on the non-signer threshold (> 0).
    function setBLSNonSignerThresholdMax(uint256 newMax) external onlyOwner {
        if (newMax == 0) revert PositiveNumberRequirement();
        blsNonSignerThresholdMax = newMax;
        _updateBLSNonSignerThreshold();
        emit BLSNonSignerThresholdMaxUpdated(newMax);
    }

    /// @notice Sets what all claims together may pay out per claim cycle (> 0).
    function setClaimThreshold(uint256 newMax) external onlyOwner {
        if (newMax == 0) revert PositiveNumberRequirement();
        claimThreshold = newMax;
        emit ClaimThresholdUpdated(newMax);
    }

    /// @notice Sets the claim cycle's length in seconds (> 0).
    function setClaimCycle(uint256 newValue) external onlyOwner {
        if (newValue == 0) revert PositiveNumberRequirement();
        claimCycle = newValue;
        emit ClaimCycleUpdated(newValue);
    }

    /// @notice Sets the liquidation split's ratios (recipient > 0 and at least 3 times
    /// liquidator + pool, else `LiquidatorPenaltyTooHigh`: the live rule).
    function setLiquidationRatios(uint256 liquidator, uint256 pool, uint256 recipient) external onlyOwner {
        _setLiquidationRatios(liquidator, pool, recipient);
    }

    function _setLiquidationRatios(uint256 liquidator, uint256 pool, uint256 recipient) private {
        if (recipient == 0) revert PositiveNumberRequirement();
        if ((liquidator + pool) * 3 > recipient) revert LiquidatorPenaltyTooHigh();
        liquidatorRewardRatio = liquidator;
        poolShareOfLiquidationRatio = pool;
        recipientRatio = recipient;
        emit LiquidationRatiosUpdated(liquidator, pool, recipient);
    }

    // ---- views ----

    /// @notice The G1 sum of every registered node's BLS key ((0, 0) with none).
    function aggregatePubkey() external view returns (G1Point memory) {
        return _aggregatePubkey;
    }

    /// @notice A node (all zero if there is none with this id).
    function serviceNodes(uint64 serviceNodeID) external view returns (ServiceNode memory) {
        return _nodes[serviceNodeID];
    }

    /// @notice Every registered node's id and BLS key, in registration order.
    function allServiceNodeIDs() external view returns (uint64[] memory ids, G1Point[] memory pubkeys) {
        ids = new uint64[](totalNodes);
        pubkeys = new G1Point[](totalNodes);
        uint64 id = _nodes[0].next;
        for (uint256 i = 0; id != 0; ++i) {
            ids[i] = id;
            pubkeys[i] = _nodes[id].blsPubkey;
            id = _nodes[id].next;
        }
    }
}
