// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title SESH, the staking token of sesh's local and test chains
/// @notice A plain ERC-20 with 9 decimals (like the live SESH token) whose whole, fixed supply
/// is minted once, in the constructor, to one receiver. Nothing can mint or burn afterwards.
contract SeshToken is ERC20 {
    /// @param supply The whole supply, in atomic units (1 SESH = 10^9).
    /// @param receiver Who receives it.
    constructor(uint256 supply, address receiver) ERC20("Session Token", "SESH") {
        _mint(receiver, supply);
    }

    /// @notice 9, as the live token.
    function decimals() public pure override returns (uint8) {
        return 9;
    }
}
