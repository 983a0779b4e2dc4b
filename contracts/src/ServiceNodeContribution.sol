// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ServiceNodeRewards} from "./ServiceNodeRewards.sol";

/// @title A node's multi-contributor staging contract
/// @notice Collects the stake of one node from its operator, its reserved contributors and the
/// public, under the live network's minimum-contribution rules, and registers the node on the
/// staking contract (`addBLSPublicKey`) once the stake is complete. Deployed by
/// `ServiceNodeContributionFactory`.
///
/// sesh's own code with the live `ServiceNodeContribution`'s function, event and error names and
/// signatures for what it has: reservations (`updateReservedContributors`), `contributeFunds`,
/// `withdrawContribution`, `finalize`, `reset`, `updateFee`, `updateManualFinalize`,
/// `updatePubkeys` and the minimum-contribution views. As on the live contract, the BLS key's
/// proof of possession is checked for the operator (the staking contract's
/// `validateProofOfPossession`) when the staging is made and at every key update, so that
/// `finalize` cannot fail on it after the stake is in. Not here: beneficiary updates and token
/// rescue. A staking requirement changed on the staking
/// contract reverts with `RewardsContractStakingRequirementChanged` (the live contract reports
/// it as `RewardsContractMaxContributorsChanged`).
///
/// The minimum for a new contribution is `calcMinimumContribution(remaining, n, max)`:
/// `ceil(remaining / 4)` for the operator (`n == 0`), else `ceil(remaining / (max - n))`, where
/// `remaining` leaves out what reserved contributors have yet to send and `n` counts them.
contract ServiceNodeContribution {
    using SafeERC20 for IERC20;

    enum Status {
        WaitForOperatorContrib,
        OpenForPublicContrib,
        WaitForFinalized,
        Finalized
    }

    struct ReservedContribution {
        uint256 amount;
        bool received;
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

    /// A contributor may withdraw a day after their latest contribution.
    uint64 public constant WITHDRAWAL_DELAY = 1 days;
    /// The fee's maximum, 100 % in basis points.
    uint16 public constant MAX_FEE = 10000;

    // solhint-disable-next-line var-name-mixedcase
    IERC20 public immutable SESH;
    ServiceNodeRewards public immutable stakingRewardsContract;
    uint256 public immutable stakingRequirement;
    uint256 public immutable maxContributors;
    address public immutable operator;

    ServiceNodeRewards.G1Point public blsPubkey;
    ServiceNodeRewards.ServiceNodeParams private _params;
    ServiceNodeRewards.BLSSignatureParams private _signature;
    bool public manualFinalize;
    Status public status;

    mapping(address => uint256) public contributions;
    mapping(address => uint256) public contributionTimestamp;
    ServiceNodeRewards.Staker[] private _stakers;

    mapping(address => ReservedContribution) public reservedContributions;
    address[] public reservedContributionsAddresses;

    modifier onlyOperator() {
        if (msg.sender != operator) revert OnlyOperatorIsAuthorised(msg.sender, operator);
        _;
    }

    modifier beforeOperatorContribution() {
        if (status != Status.WaitForOperatorContrib) revert RequireWaitForOperatorContribStatus(status);
        _;
    }

    /// @param rewards The staking contract (its token and staking requirement are taken now).
    /// @param maxContributors_ The most contributors, the operator included.
    /// @param key The node's BLS key.
    /// @param sig Its proof of possession for `operator_` and the Ed25519 key of `params` (checked
    /// with the staking contract's `validateProofOfPossession`: `InvalidBLSProofOfPossession`).
    /// @param params The node's Ed25519 key, signature and fee.
    /// @param reserved Reserved spots, the operator's first (may be empty).
    /// @param operator_ The operator.
    /// @param manualFinalize_ Whether the operator finalizes by hand once the stake is complete.
    constructor(
        address rewards,
        uint256 maxContributors_,
        ServiceNodeRewards.G1Point memory key,
        ServiceNodeRewards.BLSSignatureParams memory sig,
        ServiceNodeRewards.ServiceNodeParams memory params,
        ServiceNodeRewards.ReservedContributor[] memory reserved,
        address operator_,
        bool manualFinalize_
    ) {
        stakingRewardsContract = ServiceNodeRewards(rewards);
        stakingRequirement = stakingRewardsContract.stakingRequirement();
        SESH = stakingRewardsContract.designatedToken();
        maxContributors = maxContributors_;
        operator = operator_;
        _params = params;
        _setPubkeys(key, sig, params.serviceNodePubkey, params.serviceNodeSignature1, params.serviceNodeSignature2);
        _setFee(params.fee);
        _setReserved(reserved);
        _setManualFinalize(manualFinalize_);
    }

    // ---- the operator's settings, before its own contribution ----

    function updateFee(uint16 fee) external onlyOperator beforeOperatorContribution {
        _setFee(fee);
    }

    function updateManualFinalize(bool value) external onlyOperator {
        _setManualFinalize(value);
    }

    function updateReservedContributors(ServiceNodeRewards.ReservedContributor[] memory reserved)
        external
        onlyOperator
        beforeOperatorContribution
    {
        _setReserved(reserved);
    }

    /// @notice Replaces the node's keys (before the operator's contribution): the BLS key with its
    /// proof of possession for the operator and the new Ed25519 key, and the Ed25519 key with its
    /// signature's two halves.
    function updatePubkeys(
        ServiceNodeRewards.G1Point memory newBLSPubkey,
        ServiceNodeRewards.BLSSignatureParams memory newBLSSig,
        uint256 ed25519Pubkey,
        uint256 ed25519Sig0,
        uint256 ed25519Sig1
    ) external onlyOperator beforeOperatorContribution {
        _setPubkeys(newBLSPubkey, newBLSSig, ed25519Pubkey, ed25519Sig0, ed25519Sig1);
    }

    function _setPubkeys(
        ServiceNodeRewards.G1Point memory key,
        ServiceNodeRewards.BLSSignatureParams memory sig,
        uint256 ed25519Pubkey,
        uint256 ed25519Sig0,
        uint256 ed25519Sig1
    ) private {
        stakingRewardsContract.validateProofOfPossession(key, sig, operator, ed25519Pubkey);
        blsPubkey = key;
        _signature = sig;
        _params.serviceNodePubkey = ed25519Pubkey;
        _params.serviceNodeSignature1 = ed25519Sig0;
        _params.serviceNodeSignature2 = ed25519Sig1;
        emit UpdatePubkeys(key, ed25519Pubkey);
    }

    function _setFee(uint16 fee) private {
        if (fee > MAX_FEE) revert FeeExceedsPossibleValue(fee, MAX_FEE);
        _params.fee = fee;
        emit UpdateFee(fee);
    }

    function _setManualFinalize(bool value) private {
        manualFinalize = value;
        emit UpdateManualFinalize(value);
    }

    /// Replaces the reservations: at most `maxContributors`, the operator's first, no zero or
    /// repeated address, each at least the minimum for its position and at most what remains.
    function _setReserved(ServiceNodeRewards.ReservedContributor[] memory reserved) private {
        uint256 old = reservedContributionsAddresses.length;
        for (uint256 i = 0; i < old; ++i) {
            delete reservedContributions[reservedContributionsAddresses[i]];
        }
        delete reservedContributionsAddresses;

        if (reserved.length > maxContributors) revert TooManyReservedContributors(reserved.length, maxContributors);
        uint256 remaining = stakingRequirement;
        for (uint256 i = 0; i < reserved.length; ++i) {
            address addr = reserved[i].addr;
            uint256 amount = reserved[i].amount;
            if (i == 0 && addr != operator) revert FirstReservedContributorMustBeOperator(i, operator);
            if (addr == address(0)) revert ReservedContributorHasZeroAddress(i);
            if (reservedContributions[addr].amount != 0) revert DuplicateAddressInReservedContributor(i);
            uint256 minimum = calcMinimumContribution(remaining, i, maxContributors);
            if (amount < minimum) revert ReservedContributionBelowMinAmount(i, amount, minimum);
            if (amount > remaining) revert ReservedContributionExceedsStakingRequirement(i, amount, remaining);
            remaining -= amount;
            reservedContributions[addr] = ReservedContribution(amount, false);
            reservedContributionsAddresses.push(addr);
        }
        emit UpdateReservedContributors(reserved);
    }

    // ---- contributions ----

    /// @notice Contributes `amount` (approved to this contract beforehand), paid out to
    /// `beneficiary` (zero: the caller). The operator contributes first; a reserved contributor
    /// at least their reservation; anyone else, on their first contribution, at least
    /// `minimumContribution()`. Completing the stake finalizes unless `manualFinalize`.
    function contributeFunds(uint256 amount, address beneficiary) external {
        if (status != Status.WaitForOperatorContrib && status != Status.OpenForPublicContrib) {
            revert ContributeFundsNotPossible(status);
        }
        uint256 rewardsMax = stakingRewardsContract.maxContributors();
        if (rewardsMax != maxContributors) revert RewardsContractMaxContributorsChanged(maxContributors, rewardsMax);
        uint256 rewardsRequirement = stakingRewardsContract.stakingRequirement();
        if (rewardsRequirement != stakingRequirement) {
            revert RewardsContractStakingRequirementChanged(stakingRequirement, rewardsRequirement);
        }
        if (status == Status.WaitForOperatorContrib) {
            if (msg.sender != operator) revert FirstContributionMustBeOperator(msg.sender, operator);
            status = Status.OpenForPublicContrib;
            emit OpenForPublicContribution();
        }

        ReservedContribution storage reservation = reservedContributions[msg.sender];
        if (reservation.amount > 0 && !reservation.received) {
            if (amount < reservation.amount) revert ContributionBelowReservedAmount(amount, reservation.amount);
            reservation.received = true;
        } else if (contributions[msg.sender] == 0) {
            uint256 minimum = minimumContribution();
            if (amount < minimum) revert ContributionBelowMinAmount(amount, minimum);
        }

        address payee = beneficiary == address(0) ? msg.sender : beneficiary;
        if (contributions[msg.sender] == 0) {
            _stakers.push(ServiceNodeRewards.Staker(msg.sender, payee));
        } else {
            for (uint256 i = 0; i < _stakers.length; ++i) {
                if (_stakers[i].addr == msg.sender) {
                    _stakers[i].beneficiary = payee;
                    break;
                }
            }
        }
        contributions[msg.sender] += amount;
        contributionTimestamp[msg.sender] = block.timestamp;

        uint256 total = totalContribution();
        uint256 awaiting = totalReservedContribution();
        if (total + awaiting > stakingRequirement) {
            revert ContributionExceedsStakingRequirement(total, awaiting, stakingRequirement);
        }
        if (_stakers.length > maxContributors) revert MaxContributorsExceeded(maxContributors);
        if (total == stakingRequirement) {
            status = Status.WaitForFinalized;
            emit Filled();
        }

        emit NewContribution(msg.sender, payee, amount);
        SESH.safeTransferFrom(msg.sender, address(this), amount);
        if (status == Status.WaitForFinalized && !manualFinalize) _finalize();
    }

    /// @notice Registers the node on the staking contract with the complete stake.
    function finalize() external onlyOperator {
        _finalize();
    }

    function _finalize() private {
        if (status != Status.WaitForFinalized) revert FinalizeNotPossible(status);
        status = Status.Finalized;
        emit Finalized();
        uint256 count = _stakers.length;
        ServiceNodeRewards.Contributor[] memory stakes = new ServiceNodeRewards.Contributor[](count);
        for (uint256 i = 0; i < count; ++i) {
            stakes[i] = ServiceNodeRewards.Contributor(_stakers[i], contributions[_stakers[i].addr]);
        }
        SESH.forceApprove(address(stakingRewardsContract), stakingRequirement);
        stakingRewardsContract.addBLSPublicKey(blsPubkey, _signature, _params, stakes);
    }

    /// @notice The operator: refunds everyone and starts over (reservations cleared). Anyone
    /// else: takes their contribution back, `WITHDRAWAL_DELAY` after their latest one.
    function withdrawContribution() external {
        if (msg.sender == operator) {
            _reset();
            return;
        }
        uint256 since = contributionTimestamp[msg.sender];
        if (block.timestamp - since < WITHDRAWAL_DELAY) {
            revert WithdrawTooEarly(since, block.timestamp, WITHDRAWAL_DELAY);
        }
        uint256 amount = contributions[msg.sender];
        if (amount == 0) return;
        delete contributions[msg.sender];
        delete contributionTimestamp[msg.sender];
        uint256 count = _stakers.length;
        for (uint256 i = 0; i < count; ++i) {
            if (_stakers[i].addr == msg.sender) {
                _stakers[i] = _stakers[count - 1];
                _stakers.pop();
                break;
            }
        }
        reservedContributions[msg.sender].received = false;
        if (status == Status.Finalized) return; // the stake is with the staking contract
        if (status == Status.WaitForFinalized) status = Status.OpenForPublicContrib;
        emit WithdrawContribution(msg.sender, amount);
        SESH.safeTransfer(msg.sender, amount);
    }

    /// @notice Refunds every contribution (none after finalization: the stake is registered),
    /// clears the reservations and waits for the operator again.
    function reset() external onlyOperator {
        _reset();
    }

    function _reset() private {
        bool refund = status != Status.Finalized;
        uint256 count = _stakers.length;
        for (uint256 i = 0; i < count; ++i) {
            address who = _stakers[i].addr;
            uint256 amount = contributions[who];
            delete contributions[who];
            delete contributionTimestamp[who];
            if (refund && amount > 0) SESH.safeTransfer(who, amount);
        }
        delete _stakers;
        status = Status.WaitForOperatorContrib;
        _setReserved(new ServiceNodeRewards.ReservedContributor[](0));
        emit Reset();
    }

    // ---- views ----

    /// @notice The minimum of a new (not reserved) contributor now.
    function minimumContribution() public view returns (uint256) {
        uint256 awaiting = 0;
        uint256 awaitingCount = 0;
        uint256 count = reservedContributionsAddresses.length;
        for (uint256 i = 0; i < count; ++i) {
            ReservedContribution storage r = reservedContributions[reservedContributionsAddresses[i]];
            if (!r.received) {
                awaiting += r.amount;
                awaitingCount += 1;
            }
        }
        return calcMinimumContribution(
            stakingRequirement - totalContribution() - awaiting, _stakers.length + awaitingCount, maxContributors
        );
    }

    /// @notice `ceil(remaining / 4)` for the operator (`numContributors == 0`), else
    /// `ceil(remaining / (max - numContributors))`; reverts when no slot is left, and (an
    /// arithmetic panic) when nothing remains.
    function calcMinimumContribution(uint256 contributionRemaining, uint256 numContributors, uint256 maxNumContributors)
        public
        pure
        returns (uint256)
    {
        if (maxNumContributors <= numContributors) {
            revert CalcMinContributionGivenBadContribArgs(numContributors, maxNumContributors);
        }
        uint256 divisor = numContributors == 0 ? 4 : maxNumContributors - numContributors;
        return (contributionRemaining - 1) / divisor + 1;
    }

    /// @notice A quarter of `_stakingRequirement`, rounded up.
    function minimumOperatorContribution(uint256 _stakingRequirement) public pure returns (uint256) {
        return calcMinimumContribution(_stakingRequirement, 0, 1);
    }

    function serviceNodeParams() external view returns (ServiceNodeRewards.ServiceNodeParams memory) {
        return _params;
    }

    function blsSignature() external view returns (ServiceNodeRewards.BLSSignatureParams memory) {
        return _signature;
    }

    function contributorAddresses(uint256 index) external view returns (ServiceNodeRewards.Staker memory) {
        return _stakers[index];
    }

    function contributorAddressesLength() external view returns (uint256) {
        return _stakers.length;
    }

    function operatorContribution() external view returns (uint256) {
        return _stakers.length > 0 ? contributions[_stakers[0].addr] : 0;
    }

    function getContributions()
        external
        view
        returns (address[] memory addrs, address[] memory beneficiaries, uint256[] memory contribs)
    {
        uint256 count = _stakers.length;
        addrs = new address[](count);
        beneficiaries = new address[](count);
        contribs = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            addrs[i] = _stakers[i].addr;
            beneficiaries[i] = _stakers[i].beneficiary;
            contribs[i] = contributions[addrs[i]];
        }
    }

    function getReserved()
        external
        view
        returns (address[] memory addrs, uint256[] memory contribs, bool[] memory received)
    {
        uint256 count = reservedContributionsAddresses.length;
        addrs = new address[](count);
        contribs = new uint256[](count);
        received = new bool[](count);
        for (uint256 i = 0; i < count; ++i) {
            addrs[i] = reservedContributionsAddresses[i];
            contribs[i] = reservedContributions[addrs[i]].amount;
            received[i] = reservedContributions[addrs[i]].received;
        }
    }

    function totalContribution() public view returns (uint256 total) {
        uint256 count = _stakers.length;
        for (uint256 i = 0; i < count; ++i) {
            total += contributions[_stakers[i].addr];
        }
    }

    function totalReservedContribution() public view returns (uint256 total) {
        uint256 count = reservedContributionsAddresses.length;
        for (uint256 i = 0; i < count; ++i) {
            ReservedContribution storage r = reservedContributions[reservedContributionsAddresses[i]];
            if (!r.received) total += r.amount;
        }
    }
}

/// @title Deploys `ServiceNodeContribution` contracts for one staking contract
contract ServiceNodeContributionFactory {
    event NewServiceNodeContributionContract(address indexed contributorContract, uint256 serviceNodePubkey, address operator);

    ServiceNodeRewards public immutable stakingRewardsContract;
    mapping(address => bool) public deployedContracts;

    constructor(ServiceNodeRewards rewards) {
        stakingRewardsContract = rewards;
    }

    /// @notice Deploys a contribution contract operated by the caller, with the staking
    /// contract's current `maxContributors`.
    function deploy(
        ServiceNodeRewards.G1Point calldata key,
        ServiceNodeRewards.BLSSignatureParams calldata sig,
        ServiceNodeRewards.ServiceNodeParams calldata params,
        ServiceNodeRewards.ReservedContributor[] calldata reserved,
        bool manualFinalize
    ) external returns (address result) {
        ServiceNodeContribution created = new ServiceNodeContribution(
            address(stakingRewardsContract),
            stakingRewardsContract.maxContributors(),
            key,
            sig,
            params,
            reserved,
            msg.sender,
            manualFinalize
        );
        result = address(created);
        deployedContracts[result] = true;
        emit NewServiceNodeContributionContract(result, params.serviceNodePubkey, msg.sender);
    }

    /// @notice Whether this factory deployed `contractAddress`.
    function owns(address contractAddress) external view returns (bool) {
        return deployedContracts[contractAddress];
    }
}
