/**
 * Pricing a fitted model on option grids the quotes do not contain (smile curves, Greeks),
 * on the CPU in f64: the report prices a few hundred options per model, so the oracle is
 * both fast enough and the most accurate. One small adapter per kind of model:
 * - the characteristic-function models (heston, bates, merton, ...) through the COS engine;
 * - 'black' (flat vol per expiry, src/demo/blackFlat.ts) through Black-76.
 */
import type { QuoteSet } from '../engines/pricer.js';
import { cosPrices } from '../engines/cos/cpu.js';
import { getModel } from '../models/index.js';
import { paramVector, type Model } from '../models/types.js';
import { blackParamName } from '../demo/blackFlat.js';
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

function cosPricer(model: Model): ModelPricer {
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
    price: (q, params) => cosPrices(model, paramVector(model, params), q),
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

/** Black-76 with one vol per expiry; the expiry of a grid option is found by its T. */
function blackPricer(expiries: readonly ExpiryInfo[]): ModelPricer {
  const byT = expiries.map((e) => ({ T: e.T, name: blackParamName(e.expiry) }));
  const volName = (T: number): string => {
    let best = byT[0];
    for (const e of byT) if (Math.abs(e.T - T) < Math.abs(best.T - T)) best = e;
    if (!best || Math.abs(best.T - T) > 1e-9 * Math.max(1, T)) throw new RangeError(`black: no fitted vol for T=${T}`);
    return best.name;
  };
  return {
    model: 'black',
    vegaDefinition: "the expiry's Black vol raised by one vol point",
    price(q, params) {
      const out = new Float64Array(q.T.length);
      for (let i = 0; i < out.length; i++) {
        const vol = params[volName(q.T[i])];
        if (vol === undefined) throw new RangeError(`black: parameter ${volName(q.T[i])} missing from the fit`);
        out[i] = black76(q.forward[i], q.strike[i], q.T[i], vol, q.isCall[i] === 1, q.discount[i]);
      }
      return out;
    },
    bumpVol(params, h) {
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
  if (fit.model === 'black') return { pricer: blackPricer(expiries) };
  let model: Model;
  try {
    model = getModel(fit.model);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  if (!model.charFn) return { reason: `${fit.model} has no characteristic function (the COS engine cannot price it)` };
  try {
    paramVector(model, fit.params);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  return { pricer: cosPricer(model) };
}
