/**
 * Pricing a fitted model on option grids the quotes do not contain (smile curves, Greeks),
 * on the CPU in f64: the report prices a few hundred options per model, so the oracle is
 * both fast enough and the most accurate. The engine comes from the registry
 * (src/engines/registry.ts, purpose 'report': exact f64 CPU prices):
 * - process models with a characteristic function (heston, bates, merton, ...): the COS engine;
 * - slice models (black: flat vol per expiry; svi, ssvi, essvi): Black-76 at the implied vol of
 *   the fitted slice (the 'black' and 'surface' engines evaluate the smile from the fit's JSON).
 * Models priced only by Monte Carlo (rbergomi) get no curve: the reason says so.
 */
import type { QuoteSet } from '../engines/pricer.js';
import { defaultEngine, type ExpiryRef, type ProcessEngine, type SliceEngine } from '../engines/registry.js';
import { getModel } from '../models/index.js';
import { isSliceModel, paramVector, type Model, type SliceModel } from '../models/types.js';
import { black76 } from './black.js';
import type { FitResult } from './fit.js';
import type { ExpiryInfo } from './types.js';

export interface ModelPricer {
  readonly model: string;
  /** Present values of the options in `q` under `params` (model units). */
  price(q: QuoteSet, params: Record<string, number>): Float64Array;
  /**
   * The parameters with the model's volatility level moved by `h` (absolute vol), for vega;
   * null when the model has no such level or the move would leave the parameter bounds.
   */
  bumpVol(params: Record<string, number>, h: number): Record<string, number> | null;
  /** What `bumpVol` moves, for the page. */
  readonly vegaDefinition: string;
}

/** Moves a variance parameter so that its square root moves by h; null if it would go negative. */
function bumpVariance(v: number, h: number): number | null {
  const s = Math.sqrt(Math.max(v, 0)) + h;
  return s > 0 ? s * s : null;
}

function withinBounds(model: Model, p: Record<string, number>): boolean {
  return model.params.every((s) => p[s.name] >= s.lower && p[s.name] <= s.upper);
}

function processPricer(model: Model, engine: ProcessEngine): ModelPricer {
  const names = new Set(model.params.map((p) => p.name));
  const variance = ['v0', 'theta'].filter((n) => names.has(n));
  const vol = names.has('vol') ? 'vol' : null;
  const vegaDefinition = variance.length
    ? `sqrt(v0) and sqrt(theta) both raised by one vol point (a parallel shift of the variance level)`
    : vol
      ? `the diffusion vol raised by one vol point`
      : 'not defined for this model';
  return {
    model: model.name,
    vegaDefinition,
    price: (q, params) => engine.priceCpu!(model, paramVector(model, params), q),
    bumpVol(params, h) {
      const out = { ...params };
      if (variance.length) {
        for (const n of variance) {
          const v = bumpVariance(params[n], h);
          if (v === null) return null;
          out[n] = v;
        }
      } else if (vol) out[vol] = params[vol] + h;
      else return null;
      return withinBounds(model, out) ? out : null;
    },
  };
}

/**
 * The parameter a slice pricer's `bumpVol` adds: a parallel shift of every slice's implied vol.
 * Not a model parameter (slice models keep theirs in the fit's `slices`); black's vols are its
 * top-level parameters, so black moves those instead, as it always did.
 */
export const VOL_SHIFT = 'vol_shift';

/**
 * A slice model: Black-76 at the fitted smile's vol (the slice engine evaluates it from the
 * fit's JSON at each option's ln(K/F) and T), plus `vol_shift` when the vol is bumped.
 */
function slicePricer(model: SliceModel, engine: SliceEngine, fit: FitResult, expiries: readonly ExpiryInfo[]): ModelPricer {
  const refs: ExpiryRef[] = expiries.map((e) => ({ expiry: e.expiry, T: e.T }));
  const slices = Array.isArray(fit.slices) ? fit.slices : undefined;
  const black = model.name === 'black';
  return {
    model: model.name,
    vegaDefinition: black ? "the expiry's Black vol raised by one vol point" : "every expiry's implied vol raised by one vol point (a parallel shift of the fitted smiles)",
    price(q, params) {
      const { [VOL_SHIFT]: shift = 0, ...own } = params;
      const vol = engine.smile(model, { params: own, slices }, refs);
      const out = new Float64Array(q.T.length);
      for (let i = 0; i < out.length; i++) {
        const v = vol(Math.log(q.strike[i] / q.forward[i]), q.T[i]) + shift;
        out[i] = v > 0 ? black76(q.forward[i], q.strike[i], q.T[i], v, q.isCall[i] === 1, q.discount[i]) : Number.NaN;
      }
      return out;
    },
    bumpVol(params, h) {
      if (!black) return { ...params, [VOL_SHIFT]: (params[VOL_SHIFT] ?? 0) + h };
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(params)) {
        if (v + h <= 0) return null;
        out[k] = v + h;
      }
      return out;
    },
  };
}

/** A pricer for the fit's model, or null (with the reason) when volfit cannot price it. */
export function pricerFor(fit: FitResult, expiries: readonly ExpiryInfo[]): { pricer: ModelPricer } | { reason: string } {
  let model: Model;
  try {
    model = getModel(fit.model);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  let engine;
  try {
    engine = defaultEngine(model, 'report');
  } catch (e) {
    return { reason: (e as Error).message };
  }
  if (engine.kind === 'slice') {
    if (!isSliceModel(model)) return { reason: `${model.name}: the ${engine.name} engine prices slice models only` };
    const pricer = slicePricer(model, engine, fit, expiries);
    try {
      // Evaluable at all? (a slice missing a parameter is named here, not per option)
      engine.smile(model, { params: fit.params, slices: Array.isArray(fit.slices) ? fit.slices : undefined }, expiries);
    } catch (e) {
      return { reason: (e as Error).message };
    }
    return { pricer };
  }
  try {
    paramVector(model, fit.params);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  return { pricer: processPricer(model, engine) };
}
