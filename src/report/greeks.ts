/**
 * Greeks of a fitted model across strikes and expiries, by central finite differences of the
 * model's own prices (COS in f64 for the Fourier models), so they are the fitted model's
 * sensitivities and not Black's at the model's vol:
 *
 *   delta = (V(F(1+h)) - V(F(1-h))) / (2 h F)                 parameters held fixed; the call's
 *                                                              (an OTM put's delta + D, by parity)
 *   gamma = F (V(F(1+h)) - 2 V(F) + V(F(1-h))) / (h F)^2 / 100  delta change per 1 % move of F
 *   vega  = (V(p+) - V(p-)) / (2 dv) / 100                     per vol point of the model's vol level
 *
 * h = 2.5e-4 (of F, and in vol for vega). Measured against Black-76 closed forms (test/report/
 * greeks.test.ts, random vols 15-115 %, T 1 week to 2 years): delta within 2e-6, gamma and vega
 * within 4e-6 of their peak; a larger h loses to O(h^2) truncation on short expiries, a smaller one
 * to f64 cancellation in gamma. Every Greek set costs five pricings of the whole grid.
 */
import type { QuoteSet } from '../engines/pricer.js';
import { gridQuotes } from './curves.js';
import type { ModelPricer } from './pricing.js';
import type { ExpiryInfo, GreekPoint, MarketPoint } from './types.js';

export const GREEK_BUMP = 2.5e-4;
const VOL_BUMP = 2.5e-4;

export interface GreekGrid {
  expiries: ExpiryInfo[];
  /** Per expiry (same order), the log-moneyness points. */
  ks: number[][];
}

/**
 * The grid the Greeks are shown on: per expiry, `n` points across the quoted log-moneyness range,
 * clipped to |ln(K/F)| <= maxZ ATM standard deviations (far wings carry no gamma or vega worth
 * plotting and only add FD noise).
 */
export function greekGrid(
  expiries: readonly ExpiryInfo[],
  points: readonly MarketPoint[],
  atmVol: ReadonlyMap<string, number>,
  n = 21,
  maxZ = 3,
): GreekGrid {
  const es: ExpiryInfo[] = [];
  const ks: number[][] = [];
  for (const e of expiries) {
    const quoted = points.filter((p) => p.expiry === e.expiry).map((p) => p.k);
    if (quoted.length === 0) continue;
    const s = (atmVol.get(e.expiry) ?? 0.5) * Math.sqrt(e.T);
    const lo = Math.max(Math.min(...quoted), -maxZ * s);
    const hi = Math.min(Math.max(...quoted), maxZ * s);
    if (!(hi > lo)) continue;
    es.push(e);
    ks.push(Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1)));
  }
  return { expiries: es, ks };
}

function concat(sets: QuoteSet[]): QuoteSet {
  const cat = <T extends Float64Array | Uint8Array>(pick: (s: QuoteSet) => T, make: (n: number) => T): T => {
    const out = make(sets.reduce((n, s) => n + pick(s).length, 0));
    let o = 0;
    for (const s of sets) {
      out.set(pick(s) as never, o);
      o += pick(s).length;
    }
    return out;
  };
  const f = (n: number) => new Float64Array(n);
  return {
    forward: cat((s) => s.forward, f),
    strike: cat((s) => s.strike, f),
    T: cat((s) => s.T, f),
    isCall: cat((s) => s.isCall, (n) => new Uint8Array(n)),
    discount: cat((s) => s.discount, f),
  };
}

/** Greeks on the grid; vega is null where the model has no volatility level to move. */
export function modelGreeks(pricer: ModelPricer, params: Record<string, number>, grid: GreekGrid): GreekPoint[] {
  const base = concat(grid.expiries.map((e, i) => gridQuotes(e, grid.ks[i])));
  const h = GREEK_BUMP;
  const up: QuoteSet = { ...base, forward: base.forward.map((F) => F * (1 + h)) };
  const down: QuoteSet = { ...base, forward: base.forward.map((F) => F * (1 - h)) };
  const v0 = pricer.price(base, params);
  const vUp = pricer.price(up, params);
  const vDown = pricer.price(down, params);
  const pUp = pricer.bumpVol(params, VOL_BUMP);
  const pDown = pricer.bumpVol(params, -VOL_BUMP);
  const vegaUp = pUp ? pricer.price(base, pUp) : null;
  const vegaDown = pDown ? pricer.price(base, pDown) : null;

  const out: GreekPoint[] = [];
  let i = 0;
  grid.expiries.forEach((e, j) => {
    for (const k of grid.ks[j]) {
      const F = base.forward[i];
      const dF = h * F;
      const vega = vegaUp && vegaDown ? (vegaUp[i] - vegaDown[i]) / (2 * VOL_BUMP) / 100 : null;
      out.push({
        expiry: e.expiry,
        T: e.T,
        k,
        strike: base.strike[i],
        isCall: base.isCall[i] === 1,
        // Call delta on both sides (put delta = call delta - D by parity): one smooth curve.
        delta: (vUp[i] - vDown[i]) / (2 * dF) + (base.isCall[i] === 1 ? 0 : base.discount[i]),
        gamma: (F * (vUp[i] - 2 * v0[i] + vDown[i])) / (dF * dF) / 100,
        vega: vega !== null && Number.isFinite(vega) ? vega : null,
      });
      i++;
    }
  });
  return out;
}

/**
 * No-arbitrage sanity of the Greeks: 0 <= call delta <= D, gamma >= 0,
 * vega >= 0 (all models here are convex in F and increasing in their vol level). The tolerance
 * allows the finite-difference noise described above.
 */
export function greekWarnings(model: string, points: readonly GreekPoint[], expiries: readonly ExpiryInfo[]): string[] {
  const warnings: string[] = [];
  const D = new Map(expiries.map((e) => [e.expiry, e.discount]));
  const peak = (f: (p: GreekPoint) => number | null, e: string) =>
    Math.max(0, ...points.filter((p) => p.expiry === e).map((p) => Math.abs(f(p) ?? 0)));
  for (const p of points) {
    const d = D.get(p.expiry) ?? 1;
    const where = `${model} ${p.expiry} K=${p.strike.toPrecision(6)}`;
    if (![p.delta, p.gamma].every(Number.isFinite)) {
      warnings.push(`${where}: non-finite Greek (model price failed)`);
      continue;
    }
    const tol = 1e-6;
    if (p.delta < -tol || p.delta > d + tol) {
      warnings.push(`${where}: call delta ${p.delta.toFixed(6)} outside its no-arbitrage range [0, ${d.toFixed(6)}]`);
    }
    if (p.gamma < -1e-4 * peak((x) => x.gamma, p.expiry)) warnings.push(`${where}: negative gamma ${p.gamma.toExponential(3)}`);
    if (p.vega !== null && p.vega < -1e-4 * peak((x) => x.vega, p.expiry)) {
      warnings.push(`${where}: negative vega ${p.vega.toExponential(3)}`);
    }
  }
  return warnings;
}
