// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title BLS signatures on BN254 (alt_bn128), as Session's staking contract checks them
/// @notice Public keys are G1 points `(X, Y)`; signatures and message hashes are G2 points given
/// as four words `[x_re, x_im, y_re, y_im]` (the live `BLSSignatureParams` order: sigs0..sigs3).
/// A signature `σ` of message `m` under key `pk` is valid when `e(P1, σ) · e(−pk, H(m)) == 1`,
/// checked with the EVM's pairing precompile (0x08). `H` is `hashToG2`: RFC 9380's
/// expand_message_xmd with keccak256 (128 bytes, the 32-byte tag as DST), try-and-increment over
/// a trailing counter byte, herumi's Fp2 square root, and the cofactor clearing
/// `[z]P + ψ([3z]P) + ψ²([z]P) + ψ³(P)`; the same points as the live `BN256G2.hashToG2`
/// (`testdata/vectors/bls/` holds records proven against it).
/// Field arithmetic is `mulmod`/`addmod`; inversions and square roots use the modexp
/// precompile (0x05); G1 additions use 0x06.
library BN254 {
    /// The base field's modulus.
    uint256 internal constant P = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47;
    /// (P + 1) / 4: `a^((P+1)/4)` is a square root of `a` when there is one (P ≡ 3 mod 4).
    uint256 private constant SQRT_EXP = 0x0c19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f52;
    /// P − 2: `a^(P−2)` is the inverse of `a ≠ 0`.
    uint256 private constant INV_EXP = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45;
    /// 1/2 in the field.
    uint256 private constant HALF = 0x183227397098d014dc2822db40c0ac2ecbc0b548b438e5469e10460b6c3e7ea4;
    /// 2^256 mod P.
    uint256 private constant TWO_256 = 0x0e0a77c19a07df2f666ea36f7879462c0a78eb28f5c70b3dd35d438dc58f0d9d;
    /// The twist's b' = 3 / (9 + i).
    uint256 private constant B_RE = 0x2b149d40ceb8aaae81be18991be06ac3b5b4c5e559dbefa33267e6dc24a138e5;
    uint256 private constant B_IM = 0x009713b03af0fed4cd2cafadeed8fdf4a74fa084e52d1852e4a2bd0685c315d2;
    /// ψ's constants: ξ^((P−1)/3) and ξ^((P−1)/2), ξ = 9 + i.
    uint256 private constant PSI_X_RE = 0x2fb347984f7911f74c0bec3cf559b143b78cc310c2c3330c99e39557176f553d;
    uint256 private constant PSI_X_IM = 0x16c9e55061ebae204ba4cc8bd75a079432ae2a1d0b7c9dce1665d51c640fcba2;
    uint256 private constant PSI_Y_RE = 0x063cf305489af5dcdc5ec698b6e2f9b9dbaae0eda9c95998dc54014671a0135a;
    uint256 private constant PSI_Y_IM = 0x07c03cbcac41049a0704b5a7ec796f2b21807dc98fa25bd282d37f632623b0e3;
    /// The BN parameter z = 4965661367192848881 (63 bits) in non-adjacent form: z = Z_PLUS −
    /// Z_MINUS, digits +1 at Z_PLUS's bits and −1 at Z_MINUS's (24 non-zero digits where z has
    /// 28 ones; the top one, bit 62, is +1).
    uint256 private constant Z_PLUS = 0x450a14044a890a01;
    uint256 private constant Z_MINUS = 0x20815000200010;

    // ---- G1 ----

    /// @notice `a + b` on G1 (precompile 0x06); (0, 0) is the identity. Reverts on a point off
    /// the curve.
    function g1Add(uint256 ax, uint256 ay, uint256 bx, uint256 by) internal view returns (uint256 x, uint256 y) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, ax)
            mstore(add(m, 0x20), ay)
            mstore(add(m, 0x40), bx)
            mstore(add(m, 0x60), by)
            ok := staticcall(gas(), 0x06, m, 0x80, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        require(ok, "BN254: G1 point not on the curve");
    }

    /// @notice `−a` on G1 ((0, 0) stays the identity).
    function g1Negate(uint256 x, uint256 y) internal pure returns (uint256, uint256) {
        if (x == 0 && y == 0) return (0, 0);
        return (x, P - (y % P));
    }

    // ---- verification ----

    /// @notice Whether `e(P1, sig) · e(−(pkX, pkY), h) == 1`, i.e. `sig` signs the message whose
    /// hash is `h` under the key `pk`. `sig` and `h` are `[x_re, x_im, y_re, y_im]`. Reverts with
    /// "Invalid Signature" (the live contract's message) when the precompile refuses a point.
    function pairingCheck(uint256 pkX, uint256 pkY, uint256[4] memory sig, uint256[4] memory h)
        internal
        view
        returns (bool valid)
    {
        (uint256 nx, uint256 ny) = g1Negate(pkX, pkY);
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 1)
            mstore(add(m, 0x20), 2)
            mstore(add(m, 0x40), mload(add(sig, 0x20)))
            mstore(add(m, 0x60), mload(sig))
            mstore(add(m, 0x80), mload(add(sig, 0x60)))
            mstore(add(m, 0xa0), mload(add(sig, 0x40)))
            mstore(add(m, 0xc0), nx)
            mstore(add(m, 0xe0), ny)
            mstore(add(m, 0x100), mload(add(h, 0x20)))
            mstore(add(m, 0x120), mload(h))
            mstore(add(m, 0x140), mload(add(h, 0x60)))
            mstore(add(m, 0x160), mload(add(h, 0x40)))
            ok := staticcall(gas(), 0x08, m, 0x180, m, 0x20)
            valid := and(ok, eq(mload(m), 1))
        }
        require(ok, "Invalid Signature");
    }

    /// @notice A domain tag: keccak256(base ‖ uint256(chainId) ‖ contractAddress).
    function buildTag(string memory base, uint256 chainId, address contractAddress) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(base, chainId, contractAddress));
    }

    // ---- hash to G2 ----

    /// @notice The message's point on G2 under the tag `dst` (see the library's notice), as
    /// `[x_re, x_im, y_re, y_im]`. Reverts if 256 counters all fail (probability about 2^-256).
    function hashToG2(bytes memory message, bytes32 dst) internal view returns (uint256[4] memory h) {
        uint256 n = message.length;
        // b0's input: 136 zero bytes ‖ message ‖ counter ‖ I2OSP(128, 2) ‖ I2OSP(0, 1) ‖ dst ‖ I2OSP(32, 1)
        bytes memory b0In = new bytes(n + 173);
        // b1..b4's input: 32 bytes ‖ i ‖ dst ‖ I2OSP(32, 1)
        bytes memory biIn = new bytes(66);
        assembly ("memory-safe") {
            let d := add(b0In, 0x20)
            mcopy(add(d, 136), add(message, 0x20), n)
            mstore8(add(d, add(n, 138)), 0x80)
            mstore(add(d, add(n, 140)), dst)
            mstore8(add(d, add(n, 172)), 0x20)
            let e := add(biIn, 0x20)
            mstore(add(e, 33), dst)
            mstore8(add(e, 65), 0x20)
        }
        uint256 xr;
        uint256 xi;
        uint256 yr;
        uint256 yi;
        for (uint256 counter = 0; ; ++counter) {
            require(counter < 256, "BN254: hashToG2 found no point");
            bool negate;
            (xr, xi, negate) = _hashToField(b0In, biIn, n, counter);
            // y² = x³ + b'
            (uint256 cr, uint256 ci) = _sqr(xr, xi);
            (cr, ci) = _mul(cr, ci, xr, xi);
            bool found;
            (found, yr, yi) = _sqrt2(addmod(cr, B_RE, P), addmod(ci, B_IM, P));
            if (found) {
                if (negate) {
                    yr = P - yr;
                    yi = P - yi;
                }
                break;
            }
        }
        return _clearCofactor(xr, xi, yr, yi);
    }

    /// The two field elements and the sign bit of one try (the counter written into `b0In`).
    function _hashToField(bytes memory b0In, bytes memory biIn, uint256 n, uint256 counter)
        private
        pure
        returns (uint256 u0, uint256 u1, bool negate)
    {
        uint256 b1;
        uint256 b2;
        uint256 b3;
        uint256 b4;
        assembly ("memory-safe") {
            let d := add(b0In, 0x20)
            mstore8(add(d, add(n, 136)), counter)
            let b0 := keccak256(d, add(n, 173))
            let e := add(biIn, 0x20)
            mstore(e, b0)
            mstore8(add(e, 32), 1)
            b1 := keccak256(e, 66)
            mstore(e, xor(b0, b1))
            mstore8(add(e, 32), 2)
            b2 := keccak256(e, 66)
            mstore(e, xor(b0, b2))
            mstore8(add(e, 32), 3)
            b3 := keccak256(e, 66)
            mstore(e, xor(b0, b3))
            mstore8(add(e, 32), 4)
            b4 := keccak256(e, 66)
        }
        // u0 = int(b1 ‖ b2[0..16]) mod P, u1 = int(b2[16..32] ‖ b3) mod P
        uint256 p = P;
        u0 = addmod(mulmod(b1, 1 << 128, p), b2 >> 128, p);
        u1 = addmod(mulmod(b2 & type(uint128).max, TWO_256, p), b3, p);
        negate = b4 & 1 == 1;
    }

    /// herumi's square root in Fp2 of c + d·i; `found` only if both parts of the root are
    /// non-zero (the live contract's acceptance rule).
    function _sqrt2(uint256 c, uint256 d) private view returns (bool found, uint256 yr, uint256 yi) {
        if (d == 0) return (false, 0, 0);
        uint256 p = P;
        (uint256 s, bool ok) = _sqrt(addmod(mulmod(c, c, p), mulmod(d, d, p), p));
        if (!ok) return (false, 0, 0);
        (yr, ok) = _sqrt(mulmod(addmod(c, s, p), HALF, p));
        if (!ok) {
            (yr, ok) = _sqrt(mulmod(addmod(c, p - s, p), HALF, p));
            if (!ok) return (false, 0, 0);
        }
        if (yr == 0) return (false, 0, 0);
        yi = mulmod(d, _expMod(addmod(yr, yr, p), INV_EXP), p);
        found = true;
    }

    /// `a^((P+1)/4)` and whether it squares back to `a`.
    function _sqrt(uint256 a) private view returns (uint256 r, bool ok) {
        r = _expMod(a, SQRT_EXP);
        uint256 p = P;
        ok = mulmod(r, r, p) == a;
    }

    /// `base^e mod P` (precompile 0x05).
    function _expMod(uint256 base, uint256 e) private view returns (uint256 r) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), base)
            mstore(add(m, 0x80), e)
            mstore(add(m, 0xa0), P)
            ok := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
            r := mload(m)
        }
        require(ok, "BN254: modexp failed");
    }

    // ---- Fp2 ----

    function _mul(uint256 a0, uint256 a1, uint256 b0, uint256 b1) private pure returns (uint256, uint256) {
        uint256 p = P;
        return (
            addmod(mulmod(a0, b0, p), p - mulmod(a1, b1, p), p),
            addmod(mulmod(a0, b1, p), mulmod(a1, b0, p), p)
        );
    }

    function _sqr(uint256 a0, uint256 a1) private pure returns (uint256, uint256) {
        uint256 p = P;
        return (mulmod(addmod(a0, a1, p), addmod(a0, p - a1, p), p), mulmod(addmod(a0, a0, p), a1, p));
    }

    function _inv(uint256 a0, uint256 a1) private view returns (uint256, uint256) {
        uint256 p = P;
        uint256 t = _expMod(addmod(mulmod(a0, a0, p), mulmod(a1, a1, p), p), INV_EXP);
        return (mulmod(a0, t, p), mulmod(p - a1, t, p));
    }

    // ---- the twist, Jacobian coordinates [X_re, X_im, Y_re, Y_im, Z_re, Z_im] ----

    /// `[z]P + ψ([3z]P) + ψ²([z]P) + ψ³(P)` of the affine point P, affine.
    function _clearCofactor(uint256 xr, uint256 xi, uint256 yr, uint256 yi)
        private
        view
        returns (uint256[4] memory out)
    {
        uint256[4] memory p = [xr, xi, yr, yi];
        uint256[6] memory q;
        _twist(q, p, MUL_Z); // [z]P
        uint256[4] memory zp = _toAffine(q);
        _twist(q, zp, MUL_3); // [3z]P
        _psiJacobian(q);
        _twist(q, zp, ADD); // + [z]P
        _psi(zp);
        _psi(zp);
        _twist(q, zp, ADD); // + ψ²([z]P)
        _psi(p);
        _psi(p);
        _psi(p);
        _twist(q, p, ADD); // + ψ³(P)
        out = _toAffine(q);
    }

    function _toAffine(uint256[6] memory q) private view returns (uint256[4] memory a) {
        (uint256 zr, uint256 zi) = _inv(q[4], q[5]);
        (uint256 z2r, uint256 z2i) = _sqr(zr, zi);
        (a[0], a[1]) = _mul(q[0], q[1], z2r, z2i);
        (z2r, z2i) = _mul(z2r, z2i, zr, zi);
        (a[2], a[3]) = _mul(q[2], q[3], z2r, z2i);
    }

    /// ψ(x, y) = (conj(x)·ξ^((P−1)/3), conj(y)·ξ^((P−1)/2)), in place on an affine point.
    function _psi(uint256[4] memory a) private pure {
        (a[0], a[1]) = _mul(a[0], P - a[1], PSI_X_RE, PSI_X_IM);
        (a[2], a[3]) = _mul(a[2], P - a[3], PSI_Y_RE, PSI_Y_IM);
    }

    /// ψ on Jacobian coordinates (conjugation commutes with Z): Z is conjugated.
    function _psiJacobian(uint256[6] memory q) private pure {
        (q[0], q[1]) = _mul(q[0], P - q[1], PSI_X_RE, PSI_X_IM);
        (q[2], q[3]) = _mul(q[2], P - q[3], PSI_Y_RE, PSI_Y_IM);
        q[5] = P - q[5];
    }

    /// `_twist` modes: q = [z]a, q = [3]a, q = q + a.
    uint256 private constant MUL_Z = 0;
    uint256 private constant MUL_3 = 1;
    uint256 private constant ADD = 2;

    /// Arithmetic on the twist in Jacobian coordinates `q` = [X_re, X_im, Y_re, Y_im, Z_re, Z_im]
    /// with an affine `a` = [x_re, x_im, y_re, y_im], by `mode`. Doubling is dbl-2009-l (a = 0),
    /// addition madd-2007-bl; equal points are doubled, and a sum that is the identity (which
    /// the multiples of a hash never reach in practice) reverts.
    function _twist(uint256[6] memory q, uint256[4] memory a, uint256 mode) private pure {
        bool identity;
        assembly ("memory-safe") {
            // (P is read once into `p`: the optimizer's settings (1 run) would otherwise copy
            // the constant from the code at every use.) Values are kept reduced (< P) in memory; inside a formula a sum of two reduced
            // values (< 2P) may go unreduced into mulmod/addmod, which take any 256-bit operand,
            // and a subtraction x − y is x + (kP − y) for a y known to be below kP.
            function dbl(pt) {
                let p := P
                let x0 := mload(pt)
                let x1 := mload(add(pt, 0x20))
                let c0
                let c1
                let d0
                let d1
                {
                    let y0 := mload(add(pt, 0x40))
                    let y1 := mload(add(pt, 0x60))
                    {
                        // Z3 = 2·Y·Z
                        let z0 := mload(add(pt, 0x80))
                        let z1 := mload(add(pt, 0xa0))
                        mstore(add(pt, 0x80), mulmod(add(mulmod(y0, z0, p), sub(p, mulmod(y1, z1, p))), 2, p))
                        mstore(add(pt, 0xa0), mulmod(add(mulmod(y0, z1, p), mulmod(y1, z0, p)), 2, p))
                    }
                    // B = Y²
                    let b0 := mulmod(add(y0, y1), add(y0, sub(p, y1)), p)
                    let b1 := mulmod(add(y0, y0), y1, p)
                    // C = B²
                    c0 := mulmod(add(b0, b1), add(b0, sub(p, b1)), p)
                    c1 := mulmod(add(b0, b0), b1, p)
                    // (X + B)²
                    y0 := addmod(x0, b0, p)
                    y1 := addmod(x1, b1, p)
                    d0 := mulmod(add(y0, y1), add(y0, sub(p, y1)), p)
                    d1 := mulmod(add(y0, y0), y1, p)
                }
                {
                    // A = X²
                    let a0 := mulmod(add(x0, x1), add(x0, sub(p, x1)), p)
                    x1 := mulmod(add(x0, x0), x1, p)
                    x0 := a0
                }
                // D = 2·((X + B)² − A − C)
                d0 := mulmod(add(d0, sub(shl(1, p), add(x0, c0))), 2, p)
                d1 := mulmod(add(d1, sub(shl(1, p), add(x1, c1))), 2, p)
                // E = 3·A
                x0 := mulmod(x0, 3, p)
                x1 := mulmod(x1, 3, p)
                {
                    // X3 = E² − 2·D
                    let f0 := addmod(mulmod(add(x0, x1), add(x0, sub(p, x1)), p), sub(shl(1, p), add(d0, d0)), p)
                    let f1 := addmod(mulmod(add(x0, x0), x1, p), sub(shl(1, p), add(d1, d1)), p)
                    mstore(pt, f0)
                    mstore(add(pt, 0x20), f1)
                    // Y3 = E·(D − X3) − 8·C
                    f0 := add(d0, sub(p, f0))
                    f1 := add(d1, sub(p, f1))
                    mstore(add(pt, 0x40), addmod(add(mulmod(x0, f0, p), sub(p, mulmod(x1, f1, p))), sub(p, mulmod(c0, 8, p)), p))
                    mstore(add(pt, 0x60), addmod(add(mulmod(x0, f1, p), mulmod(x1, f0, p)), sub(p, mulmod(c1, 8, p)), p))
                }
            }
            // q = q + a; false if the sum is the identity. `s` is 8 words of scratch memory.
            function addAffine(pt, ap, s) -> ok {
                ok := 1
                let p := P
                {
                    // Z1Z1 -> s[0..2]
                    let z0 := mload(add(pt, 0x80))
                    let z1 := mload(add(pt, 0xa0))
                    let zz0 := mulmod(add(z0, z1), add(z0, sub(p, z1)), p)
                    let zz1 := mulmod(add(z0, z0), z1, p)
                    mstore(s, zz0)
                    mstore(add(s, 0x20), zz1)
                    // H = X2·Z1Z1 − X1 -> s[2..4]
                    let a0 := mload(ap)
                    let a1 := mload(add(ap, 0x20))
                    mstore(add(s, 0x40), addmod(add(mulmod(a0, zz0, p), sub(p, mulmod(a1, zz1, p))), sub(p, mload(pt)), p))
                    mstore(add(s, 0x60), addmod(add(mulmod(a0, zz1, p), mulmod(a1, zz0, p)), sub(p, mload(add(pt, 0x20))), p))
                    // S2 − Y1 = Y2·Z1·Z1Z1 − Y1 -> s[4..6]
                    a0 := mload(add(ap, 0x40))
                    a1 := mload(add(ap, 0x60))
                    let t0 := addmod(mulmod(a0, z0, p), sub(p, mulmod(a1, z1, p)), p)
                    let t1 := addmod(mulmod(a0, z1, p), mulmod(a1, z0, p), p)
                    mstore(add(s, 0x80), addmod(add(mulmod(t0, zz0, p), sub(p, mulmod(t1, zz1, p))), sub(p, mload(add(pt, 0x40))), p))
                    mstore(add(s, 0xa0), addmod(add(mulmod(t0, zz1, p), mulmod(t1, zz0, p)), sub(p, mload(add(pt, 0x60))), p))
                }
                let h0 := mload(add(s, 0x40))
                let h1 := mload(add(s, 0x60))
                if iszero(or(h0, h1)) {
                    switch or(mload(add(s, 0x80)), mload(add(s, 0xa0)))
                    case 0 { dbl(pt) }
                    default { ok := 0 }
                    leave
                }
                {
                    // HH; Z3 = (Z1 + H)² − Z1Z1 − HH
                    let hh0 := mulmod(add(h0, h1), add(h0, sub(p, h1)), p)
                    let hh1 := mulmod(add(h0, h0), h1, p)
                    let s0 := add(mload(add(pt, 0x80)), h0)
                    let s1 := add(mload(add(pt, 0xa0)), h1)
                    mstore(add(pt, 0x80), addmod(mulmod(add(s0, s1), add(s0, sub(shl(1, p), s1)), p), sub(shl(1, p), add(mload(s), hh0)), p))
                    mstore(add(pt, 0xa0), addmod(mulmod(add(s0, s0), s1, p), sub(shl(1, p), add(mload(add(s, 0x20)), hh1)), p))
                    // I = 4·HH; J = H·I -> (h0, h1); V = X1·I -> s[0..2]
                    hh0 := mulmod(hh0, 4, p)
                    hh1 := mulmod(hh1, 4, p)
                    s0 := addmod(mulmod(h0, hh0, p), sub(p, mulmod(h1, hh1, p)), p)
                    h1 := addmod(mulmod(h0, hh1, p), mulmod(h1, hh0, p), p)
                    h0 := s0
                    s0 := mload(pt)
                    s1 := mload(add(pt, 0x20))
                    mstore(s, addmod(mulmod(s0, hh0, p), sub(p, mulmod(s1, hh1, p)), p))
                    mstore(add(s, 0x20), addmod(mulmod(s0, hh1, p), mulmod(s1, hh0, p), p))
                }
                {
                    // r = 2·(S2 − Y1); X3 = r² − J − 2·V
                    let r0 := mulmod(mload(add(s, 0x80)), 2, p)
                    let r1 := mulmod(mload(add(s, 0xa0)), 2, p)
                    let v0 := mload(s)
                    let v1 := mload(add(s, 0x20))
                    let x0 := addmod(mulmod(add(r0, r1), add(r0, sub(p, r1)), p), sub(mul(p, 3), add(h0, add(v0, v0))), p)
                    let x1 := addmod(mulmod(add(r0, r0), r1, p), sub(mul(p, 3), add(h1, add(v1, v1))), p)
                    mstore(pt, x0)
                    mstore(add(pt, 0x20), x1)
                    // Y3 = r·(V − X3) − 2·Y1·J
                    v0 := add(v0, sub(p, x0))
                    v1 := add(v1, sub(p, x1))
                    x0 := mload(add(pt, 0x40))
                    x1 := mload(add(pt, 0x60))
                    let j0 := add(mulmod(x0, h0, p), sub(p, mulmod(x1, h1, p)))
                    let j1 := add(mulmod(x0, h1, p), mulmod(x1, h0, p))
                    mstore(add(pt, 0x40), addmod(add(mulmod(r0, v0, p), sub(p, mulmod(r1, v1, p))), sub(shl(2, p), add(j0, j0)), p))
                    mstore(add(pt, 0x60), addmod(add(mulmod(r0, v1, p), mulmod(r1, v0, p)), sub(shl(2, p), add(j1, j1)), p))
                }
            }
            let scratch := mload(0x40)
            let ok := 1
            switch mode
            case 2 { ok := addAffine(q, a, scratch) }
            default {
                // q = a
                mstore(q, mload(a))
                mstore(add(q, 0x20), mload(add(a, 0x20)))
                mstore(add(q, 0x40), mload(add(a, 0x40)))
                mstore(add(q, 0x60), mload(add(a, 0x60)))
                mstore(add(q, 0x80), 1)
                mstore(add(q, 0xa0), 0)
                switch mode
                case 1 {
                    dbl(q)
                    ok := addAffine(q, a, scratch)
                }
                default {
                    // double-and-add over z's NAF digits below its top one (bit 62), adding
                    // −a (at scratch + 0x100) for the −1 digits
                    let minus := add(scratch, 0x100)
                    mstore(minus, mload(a))
                    mstore(add(minus, 0x20), mload(add(a, 0x20)))
                    mstore(add(minus, 0x40), sub(P, mload(add(a, 0x40))))
                    mstore(add(minus, 0x60), sub(P, mload(add(a, 0x60))))
                    let plus := Z_PLUS
                    let negative := Z_MINUS
                    for { let i := 62 } i { } {
                        i := sub(i, 1)
                        dbl(q)
                        if and(shr(i, plus), 1) { ok := and(ok, addAffine(q, a, scratch)) }
                        if and(shr(i, negative), 1) { ok := and(ok, addAffine(q, minus, scratch)) }
                    }
                }
            }
            identity := iszero(ok)
        }
        require(!identity, "BN254: G2 sum is the identity");
    }
}
