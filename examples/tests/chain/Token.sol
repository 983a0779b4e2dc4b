// SPDX-License-Identifier: MIT
// A tiny contract for the chain-tools test: it imports OpenZeppelin from the pinned install.
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract TestToken is ERC20 {
    constructor(uint256 supply) ERC20("Test", "TST") {
        _mint(msg.sender, supply);
    }
}
