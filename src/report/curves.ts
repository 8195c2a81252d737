/**
 * Model smiles on dense strike grids: per expiry, out-of-the-money options across the quoted
 * log-moneyness range (a little wider), priced by the fitted model and inverted to Black vols.
 */
import type { QuoteSet } from '../engines/pricer.js';
import { impliedVol } from './black.js';
import type { ModelPricer } from './pricing.js';
import type { ExpiryInfo, MarketPoint, ModelCurve } from './types.js';

/** Out-of-the-money options (puts below the forward, calls above) at log-moneyness `ks`. */
export function gridQuotes(e: ExpiryInfo, ks: readonly number[]): QuoteSet {
  const n = ks.length;
  return {
    forward: new Float64Array(n).fill(e.forward),
    strike: Float64Array.from(ks, (k) => e.forward * Math.exp(k)),
    T: new Float64Array(n).fill(e.T),
    isCall: Uint8Array.from(ks, (k) => (k >= 0 ? 1 : 0)),
    discount: new Float64Array(n).fill(e.discount),
  };
}

/** Evenly spaced log-moneyness over the quoted range of the expiry, padded by `pad` of its width. */
export function moneynessGrid(points: readonly MarketPoint[], expiry: string, n: number, pad = 0.05): number[] {
  const ks = points.filter((p) => p.expiry === expiry && Number.isFinite(p.k)).map((p) => p.k);
  if (ks.length === 0) return [];
  let lo = Math.min(...ks);
  let hi = Math.max(...ks);
  if (hi - lo < 1e-6) {
    lo -= 0.05;
    hi += 0.05;
  }
  const w = hi - lo;
  lo -= pad * w;
  hi += pad * w;
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

export function modelCurves(
  pricer: ModelPricer,
  params: Record<string, number>,
  expiries: readonly ExpiryInfo[],
  points: readonly MarketPoint[],
  n = 61,
): ModelCurve[] {
  const out: ModelCurve[] = [];
  for (const e of expiries) {
    const k = moneynessGrid(points, e.expiry, n);
    if (k.length === 0) continue;
    const q = gridQuotes(e, k);
    const prices = pricer.price(q, params);
    const iv = k.map((_, i) =>
      Number.isFinite(prices[i]) ? impliedVol(prices[i], q.forward[i], q.strike[i], q.T[i], q.isCall[i] === 1, q.discount[i]) : null,
    );
    out.push({ model: pricer.model, expiry: e.expiry, k, iv });
  }
  return out;
}
