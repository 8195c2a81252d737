/**
 * COS truncation range and term count for one (parameter set, expiry).
 *
 * Range: [c1 - L sqrt(c2 + sqrt(c4)), c1 + L sqrt(c2 + sqrt(c4))] (Fang and Oosterlee 2008, with
 * the fourth cumulant so fat-tailed cases get a wider window). Term count: the series error after
 * n terms is about sum_{k>=n} |phi(k pi/(b-a))| |V_k|, so we take the first n at which the model's
 * non-increasing bound of |phi| is below `tol`. Short expiries have slowly decaying |phi| relative
 * to the window and get more terms automatically; this is where fixed-N COS misprices.
 */
import type { Model } from '../../models/types.js';

export interface CosOptions {
  /** Truncation half-width in units of sqrt(c2 + sqrt(c4)). */
  L?: number;
  /** |phi| at the last term (relative to the forward-normalised price). */
  tol?: number;
  minTerms?: number;
  maxTerms?: number;
}

/**
 * tol 1e-12: the bound overestimates |phi| and the terms past it carry V_k ~ 1/k, so prices agree
 * with tol 1e-15 (and with a L 20 / tol 1e-17 reference) to ~1e-14 of the forward on random Heston,
 * Bates and Merton draws, 2-day to 3-year expiries, +-5 sd (swept), with ~20 % fewer terms.
 */
export const COS_F64_DEFAULTS: Required<CosOptions> = { L: 14, tol: 1e-12, minTerms: 32, maxTerms: 1 << 15 };

/**
 * COS terms per (parameter set, expiry) of the pricers that serve a calibration's search
 * (PricerHooks.search: every stage before the exact-IV polish), instead of the f64 default 32,768.
 * Prices are unchanged wherever 4,096 terms reach the engine's tolerance; only sets whose |phi|
 * decays slowly are affected: Heston with the variance pinned near 0 (Feller ratio 2 kappa theta /
 * sigma^2 ~0.01-0.1) or |rho| near 1, at expiries of weeks to years. Measured (Heston, 600
 * Halton points of the probe box x 7 expiries of 2 days to 5 years, 13 strikes +-3 sd, against
 * 2^18 terms): 12 % of the pairs need more than 4,096 terms; on those the price error is median
 * 1.3e-7 of the forward, 90 % under 1.5e-3, 18 % above 1e-4 (at 32,768 terms: median 1e-16,
 * 90 % under 3e-6, 4 % above 1e-4; some pairs are wrong at either cap). Each such pair costs
 * 8x less (~1 ms instead of ~7 ms), which is what a fit over thousands of distinct expiries
 * spends its time on while it wanders through such sets; the search only ranks points and finds
 * the polish its start, and the polish and every reported number price at the full 32,768.
 */
export const COS_SEARCH_MAX_TERMS = 4096;

/**
 * COS settings of pricers that only rank parameter sets (PricerHooks.rank: the cold-start probe
 * and the global stage): |phi| down to 1e-6 instead of 1e-12, a window of 10 instead of 14
 * standard deviations and at most 1,024 terms, so a set costs a fraction of its exact price
 * (fewer terms per expiry; the term count falls with the window and with log(1/tol)). Prices are
 * within ~1e-6 of the forward where 1,024 terms reach that tolerance: far below the objective
 * differences the probe ranks by. LM, and everything reported, never price at these settings.
 */
export const COS_RANK_OPTIONS: CosOptions = { L: 10, tol: 1e-6, maxTerms: 1024 };

export interface CosPlan {
  a: number;
  b: number;
  /** Terms k = 0 .. n-1. */
  n: number;
  /** Variance of X_T (c2), used as the Black-Scholes control variate's total variance. */
  c2: number;
  /** Mean of X_T (c1): the f32 kernel's normal control variate is centred here. */
  c1: number;
}

export function cosPlan(model: Model, p: Float64Array, T: number, options: CosOptions = {}): CosPlan {
  const o = { ...COS_F64_DEFAULTS, ...options };
  if (!model.cumulants || !(model.logCharFnBound || model.logCharFn)) {
    throw new Error(`model ${model.name} has no characteristic function: the COS engine cannot price it`);
  }
  const { c1, c2, c4, jumpRange } = model.cumulants(T, p);
  const half = o.L * Math.sqrt(Math.max(c2, 0) + Math.sqrt(Math.max(c4, 0)));
  if (!(half > 0) || !Number.isFinite(half) || !Number.isFinite(c1)) {
    throw new RangeError(`${model.name}: cumulants are not finite for T=${T} (c1=${c1}, c2=${c2}, c4=${c4})`);
  }
  // Rare jumps: the window is the sum of the diffusion window and the jumps' reach (conservative).
  const a = c1 - half + Math.min(0, jumpRange?.[0] ?? 0);
  const b = c1 + half + Math.max(0, jumpRange?.[1] ?? 0);
  return { a, b, n: cosTermCount(model, p, T, a, b, options), c2, c1 };
}

/**
 * The term count of the rule above for a given window [a, b] (cosPlan's own, or a wider one that
 * a caller holds fixed across parameter sets, e.g. the GPU-resident LM iterations).
 */
export function cosTermCount(model: Model, p: Float64Array, T: number, a: number, b: number, options: CosOptions = {}): number {
  const o = { ...COS_F64_DEFAULTS, ...options };
  const w = Math.PI / (b - a);
  const logTol = Math.log(o.tol);
  const bound = model.logCharFnBound
    ? (k: number) => model.logCharFnBound!(k * w, T, p)
    : (k: number) => model.logCharFn!(k * w, T, p).re;
  // A NaN bound is not "small": the search then runs to maxTerms instead of stopping early.
  const small = (k: number) => bound(k) < logTol;
  // Doubling then bisection for the first k with bound(k) < logTol.
  let lo = o.minTerms;
  if (small(lo)) return lo;
  let hi = lo * 2;
  while (hi < o.maxTerms && !small(hi)) {
    lo = hi;
    hi *= 2;
  }
  // The doubling can overshoot the cap: the bisection then runs below it, so a count that the cap
  // does not bind is the uncapped one (the bound is non-increasing in k).
  if (hi >= o.maxTerms) {
    hi = o.maxTerms;
    if (!small(hi)) return o.maxTerms;
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (small(mid)) hi = mid;
    else lo = mid;
  }
  return Math.min(hi + 1, o.maxTerms);
}
