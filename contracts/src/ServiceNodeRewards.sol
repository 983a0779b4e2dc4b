// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

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
///  - BLS is not checked yet (issue 21): `addBLSPublicKey` takes the proof of possession but
///    does not verify it, there is no aggregate public key, and the functions that need the
///    network's aggregate BLS signature (`exitBLSPublicKeyWithSignature`,
///    `liquidateBLSPublicKeyWithSignature`, `updateRewardsBalance`) are not here;
///  - so a node leaves only through `initiateExitBLSPublicKey` then, after the exit wait,
///    `exitBLSPublicKeyAfterWaitTime`, which credits each contributor's stake to their
///    claimable balance (`recipients[addr].rewards`, one `RewardsBalanceUpdated` each);
///  - claims have no per-cycle cap;
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

    /// The full stake of a node, in atomic units.
    uint256 public stakingRequirement;
    /// The id the next node gets (ids start at 1; 0 is the list's sentinel).
    uint64 public nextServiceNodeID = 1;
    /// How many nodes are registered.
    uint256 public totalNodes;
    /// Whether the contract has started (`start()`, or the first `addBLSPublicKey`): no more
    /// seeding.
    bool public isStarted;

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
    constructor(
        IERC20 token,
        uint256 stakingRequirement_,
        uint256 maxContributors_,
        uint256 exitWaitTime_,
        uint256 smallContributorLeaveDelay_,
        uint256 repeatedLeaveRequestDelay_
    ) Ownable(msg.sender) {
        if (address(token) == address(0)) revert NullAddress();
        if (stakingRequirement_ == 0 || maxContributors_ == 0) revert PositiveNumberRequirement();
        designatedToken = token;
        stakingRequirement = stakingRequirement_;
        maxContributors = maxContributors_;
        exitWaitTime = exitWaitTime_;
        smallContributorLeaveDelay = smallContributorLeaveDelay_;
        repeatedLeaveRequestDelay = repeatedLeaveRequestDelay_;
    }

    // ---- registration ----

    /// @notice Registers a node with its full stake, taken from the caller (who must have
    /// approved `stakingRequirement` tokens to this contract).
    /// @param blsPubkey The node's BLS key (neither coordinate zero; not registered).
    /// @param blsSignature The BLS proof of possession: NOT checked yet (issue 21).
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
        blsSignature; // the proof of possession is checked from issue 21 on
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
        ServiceNode storage node = _nodes[id];
        node.operator = stakes[0].staker.addr;
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
    /// call) and credits each contributor's stake to their claimable balance.
    function exitBLSPublicKeyAfterWaitTime(uint64 serviceNodeID) external {
        ServiceNode storage node = _existing(serviceNodeID);
        uint256 requested = node.leaveRequestTimestamp;
        if (requested == 0) revert LeaveRequestNotInitiatedYet(serviceNodeID);
        uint256 allowedFrom = requested + exitWaitTime;
        if (block.timestamp < allowedFrom) revert LeaveRequestTooEarly(serviceNodeID, allowedFrom, block.timestamp);

        G1Point memory pubkey = node.blsPubkey;
        Contributor[] memory stakes = node.contributors;
        emit ServiceNodeExit(serviceNodeID, msg.sender, node.deposit, pubkey);
        for (uint256 i = 0; i < stakes.length; ++i) {
            Recipient storage r = recipients[stakes[i].staker.addr];
            uint256 previous = r.rewards;
            r.rewards = previous + stakes[i].stakedAmount;
            emit RewardsBalanceUpdated(stakes[i].staker.addr, r.rewards, previous);
        }
        _remove(serviceNodeID);
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
        delete _nodes[id];
        totalNodes -= 1;
    }

    // ---- claims ----

    /// @notice Pays the caller everything credited and not yet claimed.
    function claimRewards() external {
        Recipient storage r = recipients[msg.sender];
        _claim(r, r.rewards - r.claimed);
    }

    /// @notice Pays the caller `amount` of what is credited and not yet claimed.
    function claimRewards(uint256 amount) external {
        _claim(recipients[msg.sender], amount);
    }

    function _claim(Recipient storage r, uint256 amount) private {
        if (amount > r.rewards - r.claimed) revert MaxClaimExceeded();
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

    // ---- views ----

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
