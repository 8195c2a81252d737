/**
 * What one Monte Carlo run simulates, fixed per quote set: the model kind, the time grid (every
 * quote expiry is a recorded point), the quotes in forward units, the number of sample units and
 * the Philox key. Built once per pricer so every priceBatch call draws the same numbers (common
 * random numbers: counter = (unit, step, stream, 0), key = seed; no parameter enters a counter).
 */
import type { McScheme, Model } from '../../models/types.js';
import type { QuoteSet } from '../pricer.js';
import { seedKey } from './philox.js';

/**
 * The path scheme of a plan: a model's `kernels.mc`, or 'localvol' (local volatility from a fitted
 * surface, localvolPlan.ts: no `Model`, so never a model's scheme).
 */
export type McKind = McScheme | 'localvol';

export interface McOptions {
  /** Number of simulated paths (antithetic pairs count as two). Default 100,000. */
  paths?: number;
  /** Time steps over the longest expiry. Default 200. */
  steps?: number;
  /** Philox key. Default 42. */
  seed?: number;
  /** Antithetic pairs (z -> -z, u -> 1 - u). Default true. */
  antithetic?: boolean;
}

/** rBergomi keeps the increments of its Volterra driver in a per-thread array of this size. */
export const RBERGOMI_MAX_STEPS = 512;

export interface McPlan {
  kind: McKind;
  /** Independent sample units: paths, or antithetic pairs. */
  units: number;
  antithetic: boolean;
  key: [number, number];
  /** Distinct quote expiries, ascending. */
  expiries: Float64Array;
  /** Per quote: index into `expiries`, strike over forward, call flag. */
  quoteExpiry: Uint32Array;
  kRel: Float64Array;
  isCall: Uint8Array;
  /** Grid: step i runs from t[i] to t[i] + dt[i]. */
  nSteps: number;
  t: Float64Array;
  dt: Float64Array;
  /**
   * Expiry records, ordered by step: after step recStep[r] has started, expiry recExpiry[r] sits at
   * fraction recFrac[r] in (0, 1] of that step (1 for Heston/Bates, whose grid hits expiries).
   */
  recStep: Uint32Array;
  recExpiry: Uint32Array;
  recFrac: Float64Array;
}

/** Whether the Monte Carlo engine has a path scheme for the model (`Model.kernels.mc`). */
export function mcSupportsModel(model: Model): boolean {
  return model.kernels?.mc !== undefined;
}

/** The model's path scheme (from the model, not its name); a RangeError when it has none. */
export function mcKind(model: Model): McKind {
  const kind = model.kernels?.mc;
  if (kind !== undefined) return kind;
  throw new RangeError(`the Monte Carlo engine has no scheme for model '${model.name}' (heston, bates, rbergomi)`);
}

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`--${name} must be an integer in [1, ${max}], got ${v}`);
  return v;
}

/**
 * The distinct expiries of quotes to price by Monte Carlo, sorted, with each one's index; a
 * RangeError for no quotes or a forward, strike, expiry or discount that is not positive.
 */
export function quoteExpiries(quotes: QuoteSet): { expiries: Float64Array; index: Map<number, number> } {
  const M = quotes.strike.length;
  if (M === 0) throw new RangeError('no quotes to price');
  for (let m = 0; m < M; m++) {
    const F = quotes.forward[m], K = quotes.strike[m], T = quotes.T[m], D = quotes.discount[m];
    const bad =
      !(F > 0 && Number.isFinite(F)) ? `forward ${F}` :
      !(K > 0 && Number.isFinite(K)) ? `strike ${K}` :
      !(T > 0 && Number.isFinite(T)) ? `expiry ${T}` :
      !(D > 0 && Number.isFinite(D)) ? `discount ${D}` : '';
    if (bad) throw new RangeError(`quote ${m}: ${bad} must be positive and finite`);
  }
  const expiries = Float64Array.from(new Set(quotes.T)).sort();
  return { expiries, index: new Map([...expiries].map((T, e) => [T, e])) };
}

export function buildPlan(model: Model, quotes: QuoteSet, options: McOptions = {}): McPlan {
  const kind = mcKind(model);
  const paths = positiveInt('paths', options.paths ?? 100_000, 2 ** 31);
  const steps = positiveInt('steps', options.steps ?? 200, kind === 'rbergomi' ? RBERGOMI_MAX_STEPS : 100_000);
  const antithetic = options.antithetic ?? true;
  const key = seedKey(options.seed ?? 42);
  const { expiries, index } = quoteExpiries(quotes);
  const quoteExpiry = Uint32Array.from(quotes.T, (T) => index.get(T)!);
  const kRel = Float64Array.from(quotes.strike, (K, m) => K / quotes.forward[m]);
  const isCall = Uint8Array.from(quotes.isCall, (c) => (c ? 1 : 0));
  const Tmax = expiries[expiries.length - 1];

  let t: number[] = [], dt: number[] = [];
  const recStep: number[] = [], recExpiry: number[] = [], recFrac: number[] = [];
  if (kind === 'rbergomi') {
    // The hybrid scheme's convolution needs a uniform grid; expiries between grid points are
    // reached by a Brownian-bridge partial step (exact for the Brownian parts, variance frozen
    // at the step's left point as in the scheme itself).
    const h = Tmax / steps;
    t = Array.from({ length: steps }, (_, i) => i * h);
    dt = Array.from({ length: steps }, () => h);
    expiries.forEach((T, e) => {
      const i = Math.min(steps - 1, Math.max(0, Math.ceil(T / h - 1e-9) - 1));
      recStep.push(i);
      recExpiry.push(e);
      recFrac.push(Math.min(1, Math.max(1e-12, (T - i * h) / h)));
    });
  } else {
    // Heston/Bates: segments between expiries get steps in proportion to their length (at least
    // one), so every expiry is a grid point and QE needs no partial step.
    let prev = 0;
    expiries.forEach((T, e) => {
      const n = Math.max(1, Math.round((steps * (T - prev)) / Tmax));
      const h = (T - prev) / n;
      for (let j = 0; j < n; j++) {
        t.push(prev + j * h);
        dt.push(h);
      }
      recStep.push(t.length - 1);
      recExpiry.push(e);
      recFrac.push(1);
      prev = T;
    });
  }
  return {
    kind,
    units: antithetic ? Math.ceil(paths / 2) : paths,
    antithetic,
    key,
    expiries,
    quoteExpiry,
    kRel,
    isCall,
    nSteps: t.length,
    t: Float64Array.from(t),
    dt: Float64Array.from(dt),
    recStep: Uint32Array.from(recStep),
    recExpiry: Uint32Array.from(recExpiry),
    recFrac: Float64Array.from(recFrac),
  };
}
