/**
 * The fixed-point SVI evaluator: BigInt in units of 1e18 ("wad"), every operation the one
 * contracts/VolFeed.sol performs, in the same order with the same rounding, so a vol read from
 * the contract equals `volWad` here bit for bit (tested in a real EVM).
 *
 * Rounding: division truncates toward zero (Solidity's `/` on int256 and uint256, BigInt's `/`);
 * square roots are floor(sqrt) of integers (unique, so any correct method agrees); ln is the
 * series below, truncated term by term. No operation here can overflow int256 for inputs inside
 * the ranges of `FIXED_LIMITS` (the contract, compiled with checked arithmetic, would revert).
 */

export const WAD = 10n ** 18n;
/** sqrt(2) in wad, floor (1.414213562373095048801...). */
export const SQRT2_WAD = 1_414_213_562_373_095_048n;

/**
 * The ranges an update's values must lie in (wad units), checked by `checkRanges` and by the
 * contract before it stores an update; inside them no intermediate of `volWad` overflows
 * int256 (the largest, (d^2 + sigma^2) * 1e18, stays below 2.1e72 against 5.7e76).
 */
export const FIXED_LIMITS = {
  /** |a|, b, |m|, sigma at most 1e9 (a total variance of 1e9 is no market's). */
  param: 10n ** 27n,
  /** forward and strike at most 1e20 in price units (fits uint128 storage). */
  price: 10n ** 38n,
  /** refTau (years in wad) must fit uint64: at most 18.4 years. */
  uint64: 2n ** 64n - 1n,
} as const;

export class FixedPointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FixedPointError';
  }
}

/** floor(log2(x)) for x > 0 (bit length - 1). */
export function log2Floor(x: bigint): number {
  return x.toString(2).length - 1;
}

/**
 * floor(sqrt(x)) for an integer x >= 0: Newton from a power of two above the root, stopping
 * when the iterate stops falling (the contract's `sqrt`, same iteration).
 */
export function isqrt(x: bigint): bigint {
  if (x < 0n) throw new FixedPointError('sqrt of a negative number');
  if (x === 0n) return 0n;
  let z = 1n << BigInt((log2Floor(x) >> 1) + 1);
  let y = (z + x / z) >> 1n;
  while (y < z) {
    z = y;
    y = (z + x / z) >> 1n;
  }
  return z;
}

/** sqrt of a wad value, in wad: floor(sqrt(x * 1e18)). */
export function sqrtWad(x: bigint): bigint {
  return isqrt(x * WAD);
}

/** 1e36: the scale of ln's internal sums (18 guard digits). */
const WAD2 = WAD * WAD;
/** ln 2 at 1e36, rounded to nearest (0.693147180559945309417232121458176568075...). */
export const LN2_WAD2 = 693_147_180_559_945_309_417_232_121_458_176_568n;

/**
 * Natural log of a wad value x > 0, in wad. Range reduction x = 2^n y, y in [1/sqrt 2, sqrt 2)
 * (the shift floors y when n > 0, exact when n <= 0), then ln y = 2 atanh(z), z = (y - 1) / (y + 1),
 * |z| < 0.1716: the odd series z + z^3/3 + z^5/5 + ..., at 1e36 and summed until a term truncates
 * to 0 (at most 24 terms), n ln 2 + 2 sum rounded toward zero to wad at the end. Error: under
 * 2e-18 against the exact log of x (tested against published decimals).
 */
export function lnWad(x: bigint): bigint {
  if (x <= 0n) throw new FixedPointError('ln of a non-positive number');
  let n = 0n;
  let y = x;
  if (x >= WAD) {
    const shift = log2Floor(x / WAD);
    y = x >> BigInt(shift);
    n = BigInt(shift);
  } else {
    // The least shift with x 2^shift >= 1e18 (exact: no bits lost).
    let shift = log2Floor(WAD / x);
    if (x << BigInt(shift) < WAD) shift += 1;
    y = x << BigInt(shift);
    n = -BigInt(shift);
  }
  // y in [1, 2) wad; move to [1/sqrt 2, sqrt 2) so the series converges fast.
  if (y >= SQRT2_WAD) {
    y = y >> 1n;
    n += 1n;
  }
  const z = ((y - WAD) * WAD2) / (y + WAD);
  const z2 = (z * z) / WAD2;
  let term = z;
  let sum = z;
  for (let i = 3n; term !== 0n; i += 2n) {
    term = (term * z2) / WAD2;
    sum += term / i;
  }
  return (n * LN2_WAD2 + 2n * sum) / WAD;
}

/** The SVI slice of an update, wad (rho, a, m signed; b, sigma, forward, refTau positive). */
export interface SviWad {
  a: bigint;
  b: bigint;
  rho: bigint;
  m: bigint;
  sigma: bigint;
  forward: bigint;
  refTau: bigint;
}

/** Total variance at log-moneyness k (wad): a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)). */
export function totalVarianceWad(p: SviWad, k: bigint): bigint {
  const d = k - p.m;
  const r = sqrtWad((d * d) / WAD + (p.sigma * p.sigma) / WAD);
  return p.a + (p.b * ((p.rho * d) / WAD + r)) / WAD;
}

/** ln(strike / forward) in wad, the contract's: lnWad(strike * 1e18 / forward). */
export function logMoneynessWad(p: SviWad, strike: bigint): bigint {
  if (strike <= 0n || strike > FIXED_LIMITS.price) throw new FixedPointError(`strike ${strike} (wad) is outside (0, ${FIXED_LIMITS.price}]`);
  const x = (strike * WAD) / p.forward;
  if (x === 0n) throw new FixedPointError('strike / forward rounds to 0 in wad');
  return lnWad(x);
}

/**
 * Implied vol (wad) at a strike (wad): sqrt(w(k) / refTau). A negative total variance (which
 * the ranges exclude up to truncation) throws, as the contract reverts.
 */
export function volWad(p: SviWad, strike: bigint): bigint {
  const w = totalVarianceWad(p, logMoneynessWad(p, strike));
  if (w < 0n) throw new FixedPointError('negative total variance');
  return sqrtWad((w * WAD) / p.refTau);
}

/**
 * A double in wad, rounded to the nearest integer of x * 1e18 computed in f64 (relative error
 * 1.1e-16, far below the evaluator's tolerance). Throws on a value that is not finite in wad.
 */
export function toWad(x: number): bigint {
  const y = Math.round(x * 1e18);
  if (!Number.isFinite(y)) throw new FixedPointError(`${x} is not a finite number in wad`);
  return BigInt(y);
}

/** A wad value as a double (exact to f64 rounding: the integer and fractional parts apart). */
export function fromWad(x: bigint): number {
  const neg = x < 0n;
  const a = neg ? -x : x;
  const v = Number(a / WAD) + Number(a % WAD) / 1e18;
  return neg ? -v : v;
}
