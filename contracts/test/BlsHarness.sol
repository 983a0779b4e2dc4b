// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {BN254} from "../src/bls/BN254.sol";

/// @title Test-only: sesh's BN254 library with the tag given explicitly
/// @notice Lets the vector tests run any domain's records through the same Solidity that
/// `ServiceNodeRewards` uses. Not deployed by anything but tests.
contract BlsHarness {
    /// @notice `BN254.hashToG2(message, dst)`: `[x_re, x_im, y_re, y_im]`.
    function hashToG2(bytes calldata message, bytes32 dst) external view returns (uint256[4] memory) {
        return BN254.hashToG2(message, dst);
    }

    /// @notice Whether `signature` (sigs0..sigs3) signs `message` under `pubkey` and the tag `dst`.
    function verify(uint256[2] calldata pubkey, uint256[4] calldata signature, bytes calldata message, bytes32 dst)
        external
        view
        returns (bool)
    {
        return BN254.pairingCheck(pubkey[0], pubkey[1], signature, BN254.hashToG2(message, dst));
    }

    /// @notice `BN254.buildTag(base, chainId, contractAddress)`.
    function buildTag(string calldata base, uint256 chainId, address contractAddress) external pure returns (bytes32) {
        return BN254.buildTag(base, chainId, contractAddress);
    }

    /// @notice The G1 sum of `keys` (precompile 0x06).
    function aggregate(uint256[2][] calldata keys) external view returns (uint256 x, uint256 y) {
        for (uint256 i = 0; i < keys.length; ++i) {
            (x, y) = BN254.g1Add(x, y, keys[i][0], keys[i][1]);
        }
    }
}
