// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title VolFeed: a minimal reference feed for volfit's signed SVI updates
/// @notice Stores one raw-SVI slice per expiry from an EIP-712-signed update (`volfit publish`)
/// and evaluates the smile on chain: getVol(strike, expiry) = sqrt(w(k) / refTau),
/// w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)), k = ln(strike / forward), all in
/// fixed point 1e18. The arithmetic is src/publish/fixed.ts operation for operation (division
/// truncating toward zero, floor square roots, the same ln series), so a vol read here equals
/// volfit's TypeScript evaluator bit for bit; the range checks are src/publish/schema.ts's.
/// The layout follows Derive/Lyra v2's LyraVolFeed (SVI a, b, rho, m, sigma, forward, refTau,
/// confidence, timestamp, deadline); one signer, no access control beyond the signature.
contract VolFeed {
    struct VolUpdate {
        uint64 expiry;
        int256 a;
        uint256 b;
        int256 rho;
        int256 m;
        uint256 sigma;
        uint256 forward;
        uint64 refTau;
        uint64 confidence;
        uint64 timestamp;
        uint64 deadline;
    }

    /// Storage form of an update: four slots (the ranges below make every value fit).
    struct Slice {
        int128 a;
        uint128 b;
        int128 rho;
        int128 m;
        uint128 sigma;
        uint128 forward;
        uint64 refTau;
        uint64 confidence;
        uint64 timestamp;
        uint64 deadline;
    }

    bytes32 public constant VOL_UPDATE_TYPEHASH = keccak256(
        "VolUpdate(uint64 expiry,int256 a,uint256 b,int256 rho,int256 m,uint256 sigma,uint256 forward,uint64 refTau,uint64 confidence,uint64 timestamp,uint64 deadline)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("volfit VolFeed");
    bytes32 private constant VERSION_HASH = keccak256("1");

    int256 private constant WAD = 1e18;
    int256 private constant WAD2 = 1e36;
    int256 private constant LN2_WAD2 = 693147180559945309417232121458176568;
    uint256 private constant SQRT2_WAD = 1414213562373095048;
    int256 private constant MAX_PARAM = 1e27;
    uint256 private constant MAX_PRICE = 1e38;
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    address public immutable signer;
    mapping(uint64 => Slice) public slices;

    event VolUpdated(uint64 indexed expiry, uint64 timestamp, uint64 confidence);

    error Expired(uint64 deadline);
    error FromTheFuture(uint64 timestamp);
    error NotNewer(uint64 stored);
    error BadSignature();
    error WrongSigner(address recovered);
    error OutOfRange(string field);
    error UnknownExpiry(uint64 expiry);
    error BadStrike();
    error NegativeVariance();

    constructor(address signer_) {
        signer = signer_;
    }

    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice Verifies and stores an update; reverts on an expired, future, older, out-of-range
    /// or wrongly signed one.
    function submit(VolUpdate calldata u, bytes calldata signature) external {
        if (block.timestamp > u.deadline) revert Expired(u.deadline);
        if (u.timestamp > block.timestamp) revert FromTheFuture(u.timestamp);
        checkRanges(u);
        uint64 stored = slices[u.expiry].timestamp;
        if (u.timestamp <= stored) revert NotNewer(stored);
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domainSeparator(), keccak256(abi.encode(VOL_UPDATE_TYPEHASH, u))));
        address who = recover(digest, signature);
        if (who != signer) revert WrongSigner(who);
        slices[u.expiry] = Slice({
            a: int128(u.a),
            b: uint128(u.b),
            rho: int128(u.rho),
            m: int128(u.m),
            sigma: uint128(u.sigma),
            forward: uint128(u.forward),
            refTau: u.refTau,
            confidence: u.confidence,
            timestamp: u.timestamp,
            deadline: u.deadline
        });
        emit VolUpdated(u.expiry, u.timestamp, u.confidence);
    }

    /// @notice Implied vol (1e18) at a strike (1e18, price units) of a stored expiry.
    function getVol(uint256 strike, uint64 expiry) external view returns (uint256) {
        Slice memory s = slices[expiry];
        if (s.timestamp == 0) revert UnknownExpiry(expiry);
        return vol(s, strike);
    }

    function recover(bytes32 digest, bytes calldata signature) private pure returns (address who) {
        if (signature.length != 65) revert BadSignature();
        (bytes32 r, bytes32 s) = abi.decode(signature[0:64], (bytes32, bytes32));
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_N || (v != 27 && v != 28)) revert BadSignature();
        who = ecrecover(digest, v, r, s);
        if (who == address(0)) revert BadSignature();
    }

    /// The ranges of src/publish/schema.ts (rangeProblem), same order of arithmetic.
    function checkRanges(VolUpdate calldata u) private pure {
        if (u.a > MAX_PARAM || u.a < -MAX_PARAM) revert OutOfRange("a");
        if (u.b > uint256(MAX_PARAM)) revert OutOfRange("b");
        if (u.m > MAX_PARAM || u.m < -MAX_PARAM) revert OutOfRange("m");
        if (u.sigma == 0 || u.sigma > uint256(MAX_PARAM)) revert OutOfRange("sigma");
        if (u.rho >= WAD || u.rho <= -WAD) revert OutOfRange("rho");
        if (u.forward == 0 || u.forward > MAX_PRICE) revert OutOfRange("forward");
        if (u.refTau == 0) revert OutOfRange("refTau");
        if (u.confidence > uint256(WAD)) revert OutOfRange("confidence");
        if (u.timestamp > u.deadline) revert OutOfRange("timestamp");
        if (u.expiry <= u.timestamp) revert OutOfRange("expiry");
        int256 root = int256(sqrt(uint256(WAD * WAD - u.rho * u.rho)));
        if (u.a + (int256(u.b * u.sigma / uint256(WAD)) * root) / WAD < 0) revert OutOfRange("min variance");
        uint256 absRho = uint256(u.rho < 0 ? -u.rho : u.rho);
        if (u.b * (uint256(WAD) + absRho) > 2 * uint256(WAD) * uint256(WAD)) revert OutOfRange("wing slope");
    }

    function vol(Slice memory s, uint256 strike) private pure returns (uint256) {
        if (strike == 0 || strike > MAX_PRICE) revert BadStrike();
        uint256 x = (strike * uint256(WAD)) / s.forward;
        if (x == 0) revert BadStrike();
        int256 d = lnWad(x) - s.m;
        int256 sigma = int256(uint256(s.sigma));
        int256 r = int256(sqrt(uint256((d * d) / WAD + (sigma * sigma) / WAD) * uint256(WAD)));
        int256 w = s.a + (int256(uint256(s.b)) * ((s.rho * d) / WAD + r)) / WAD;
        if (w < 0) revert NegativeVariance();
        return sqrt(((uint256(w) * uint256(WAD)) / s.refTau) * uint256(WAD));
    }

    /// floor(log2(x)), x > 0.
    function log2(uint256 x) private pure returns (uint256 r) {
        unchecked {
            if (x >= 1 << 128) { x >>= 128; r += 128; }
            if (x >= 1 << 64) { x >>= 64; r += 64; }
            if (x >= 1 << 32) { x >>= 32; r += 32; }
            if (x >= 1 << 16) { x >>= 16; r += 16; }
            if (x >= 1 << 8) { x >>= 8; r += 8; }
            if (x >= 1 << 4) { x >>= 4; r += 4; }
            if (x >= 1 << 2) { x >>= 2; r += 2; }
            if (x >= 1 << 1) { r += 1; }
        }
    }

    /// floor(sqrt(x)): Newton from a power of two above the root (fixed.ts isqrt).
    function sqrt(uint256 x) private pure returns (uint256 z) {
        if (x == 0) return 0;
        z = 1 << ((log2(x) >> 1) + 1);
        // z <= 2^128 and x / z < 2^256 / z: z + x / z cannot overflow.
        unchecked {
            uint256 y = (z + x / z) >> 1;
            while (y < z) {
                z = y;
                y = (z + x / z) >> 1;
            }
        }
    }

    /// ln of a wad value x > 0, in wad (fixed.ts lnWad: the series at 1e36, rounded toward zero to wad).
    function lnWad(uint256 x) private pure returns (int256) {
        int256 n;
        uint256 y;
        if (x >= uint256(WAD)) {
            uint256 shift = log2(x / uint256(WAD));
            y = x >> shift;
            n = int256(shift);
        } else {
            uint256 shift = log2(uint256(WAD) / x);
            if ((x << shift) < uint256(WAD)) shift += 1;
            y = x << shift;
            n = -int256(shift);
        }
        if (y >= SQRT2_WAD) {
            y >>= 1;
            n += 1;
        }
        int256 yi = int256(y);
        int256 z = ((yi - WAD) * WAD2) / (yi + WAD);
        int256 z2 = (z * z) / WAD2;
        int256 term = z;
        int256 sum = z;
        // |term| < 0.18e36 and z2 < 0.03e36: no product reaches 2^255 (checks would only cost gas).
        unchecked {
            for (int256 i = 3; term != 0; i += 2) {
                term = (term * z2) / WAD2;
                sum += term / i;
            }
        }
        return (n * LN2_WAD2 + 2 * sum) / WAD;
    }
}
