/**
 * The signed vol-feed update: one per expiry, EIP-712 typed data (the layout of Derive/Lyra v2's
 * LyraVolFeed: SVI a, b, rho, m, sigma, the forward, a reference time to expiry, a confidence,
 * a timestamp and a deadline), its JSON form and the range checks the contract repeats.
 *
 * Every number is fixed point 1e18 ("wad") except the times (unix seconds): signed int256 where
 * the value can be negative (a, rho, m), uint256 otherwise; refTau, confidence and the times
 * are uint64. In JSON the integers are decimal strings (they exceed 2^53).
 */
import { FIXED_LIMITS, isqrt, WAD } from './fixed.js';

export const DOMAIN_NAME = 'volfit VolFeed';
export const DOMAIN_VERSION = '1';
export const PRIMARY_TYPE = 'VolUpdate';

/** EIP-712 types; the contract's VOL_UPDATE_TYPEHASH is keccak256 of this struct's encoding. */
export const VOL_UPDATE_TYPES = {
  VolUpdate: [
    { name: 'expiry', type: 'uint64' },
    { name: 'a', type: 'int256' },
    { name: 'b', type: 'uint256' },
    { name: 'rho', type: 'int256' },
    { name: 'm', type: 'int256' },
    { name: 'sigma', type: 'uint256' },
    { name: 'forward', type: 'uint256' },
    { name: 'refTau', type: 'uint64' },
    { name: 'confidence', type: 'uint64' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const;

export type VolUpdateField = (typeof VOL_UPDATE_TYPES.VolUpdate)[number]['name'];
export const VOL_UPDATE_FIELDS: readonly VolUpdateField[] = VOL_UPDATE_TYPES.VolUpdate.map((f) => f.name);

/** The signed message (BigInt). */
export type VolUpdate = Record<VolUpdateField, bigint>;

/** The EIP-712 domain; chainId and verifyingContract only when given (a VolFeed contract needs both). */
export interface FeedDomain {
  name: string;
  version: string;
  chainId?: number;
  verifyingContract?: `0x${string}`;
}

export function feedDomain(chainId?: number, verifyingContract?: `0x${string}`): FeedDomain {
  return {
    name: DOMAIN_NAME,
    version: DOMAIN_VERSION,
    ...(chainId !== undefined ? { chainId } : {}),
    ...(verifyingContract !== undefined ? { verifyingContract } : {}),
  };
}

/** The message as JSON: every field a decimal string. */
export function messageJson(u: VolUpdate): Record<VolUpdateField, string> {
  return Object.fromEntries(VOL_UPDATE_FIELDS.map((f) => [f, u[f].toString()])) as Record<VolUpdateField, string>;
}

const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** Whether a signature's s is in the lower half (EIP-2; the contract refuses the other half). */
export function lowS(s: bigint): boolean {
  return s <= SECP256K1_HALF_N;
}

/**
 * The first range an update breaks, in words, or null: what `VolFeed.submit` checks (besides the
 * signature and the block time) before it stores an update. Inside them `volWad` cannot
 * overflow, and the smile's total variance is non-negative everywhere (a + b sigma sqrt(1 -
 * rho^2) >= 0, computed in wad as the contract does) with wing slopes within Lee's bound
 * (b (1 + |rho|) <= 2).
 */
export function rangeProblem(u: VolUpdate): string | null {
  const P = FIXED_LIMITS.param;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  const u64 = FIXED_LIMITS.uint64;
  for (const f of ['expiry', 'refTau', 'confidence', 'timestamp', 'deadline'] as const) {
    if (u[f] < 0n || u[f] > u64) return `${f} ${u[f]} does not fit uint64`;
  }
  if (u.b < 0n || u.sigma < 0n || u.forward < 0n) return 'b, sigma and forward must be unsigned';
  if (abs(u.a) > P) return `|a| ${u.a} exceeds ${P} (1e9 in wad)`;
  if (u.b > P) return `b ${u.b} exceeds ${P} (1e9 in wad)`;
  if (abs(u.m) > P) return `|m| ${u.m} exceeds ${P} (1e9 in wad)`;
  if (u.sigma === 0n || u.sigma > P) return `sigma ${u.sigma} is outside (0, ${P}]`;
  if (abs(u.rho) >= WAD) return `|rho| ${u.rho} is not below 1e18 (|rho| < 1)`;
  if (u.forward === 0n || u.forward > FIXED_LIMITS.price) return `forward ${u.forward} is outside (0, ${FIXED_LIMITS.price}]`;
  if (u.refTau === 0n) return 'refTau is 0';
  if (u.confidence > WAD) return `confidence ${u.confidence} exceeds 1e18`;
  if (u.timestamp > u.deadline) return `timestamp ${u.timestamp} is after the deadline ${u.deadline}`;
  if (u.expiry <= u.timestamp) return `expiry ${u.expiry} is not after the data time ${u.timestamp}`;
  if (minVarianceWad(u) < 0n) return 'the smile has negative total variance (a + b sigma sqrt(1 - rho^2) < 0)';
  if (u.b * (WAD + abs(u.rho)) > 2n * WAD * WAD) return 'wing slope b (1 + |rho|) exceeds 2 (Lee)';
  return null;
}

/** a + b sigma sqrt(1 - rho^2) in wad, the contract's arithmetic. */
export function minVarianceWad(u: Pick<VolUpdate, 'a' | 'b' | 'rho' | 'sigma'>): bigint {
  const s = isqrt(WAD * WAD - u.rho * u.rho);
  return u.a + (((u.b * u.sigma) / WAD) * s) / WAD;
}
