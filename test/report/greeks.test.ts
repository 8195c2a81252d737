/**
 * Greeks of the report (finite differences of model prices) against closed forms:
 * - the Black flat-vol model against Black-76's analytic delta, gamma and vega;
 * - Heston with v0 = theta and vol of variance at its lower bound, which is Black-76 at
 *   vol sqrt(v0) (to ~1e-6), through the COS engine: checks the COS path and the vega bump.
 * Plus the bootstrap's perturbation and flagging. Fresh random inputs each run (seed printed).
 */
import { describe, expect, it } from 'vitest';
import { normCdf, normPdf } from '../../src/engines/black/normal.js';
import { fitBlackFlat } from '../../src/calibrator/sliceFit.js';
import { black76 } from '../../src/report/black.js';
import { greekGrid, greekWarnings, modelGreeks } from '../../src/report/greeks.js';
import { pricerFor } from '../../src/report/pricing.js';
import { bootstrapStability, perturbWithinSpread } from '../../src/report/stability.js';
import { expiryTable, marketPoints } from '../../src/report/surface.js';
import type { FitResult } from '../../src/report/fit.js';
import type { GreekPoint, ReportQuote } from '../../src/report/types.js';
import { rng, uniform } from '../helpers/random.js';

const r = rng();

/** A flat-smile surface: one known vol per expiry, OTM quotes, bid/ask +-1 vol point. */
function flatSurface(vols: number[], Ts: number[], F = 100, rate = 0.03): ReportQuote[] {
  const quotes: ReportQuote[] = [];
  let row = 1;
  Ts.forEach((T, e) => {
    for (let j = 0; j < 11; j++) {
      const k = (-2 + (4 * j) / 10) * vols[e] * Math.sqrt(T);
      const strike = F * Math.exp(k);
      const isCall = strike >= F;
      const D = Math.exp(-rate * T);
      quotes.push({
        row: row++,
        T,
        expiry: `2027-0${e + 1}-15`,
        strike,
        isCall,
        forward: F,
        discount: D,
        price: black76(F, strike, T, vols[e], isCall, D),
        bid: black76(F, strike, T, vols[e] - 0.01, isCall, D),
        ask: black76(F, strike, T, vols[e] + 0.01, isCall, D),
      });
    }
  });
  return quotes;
}

function blackClosedForm(p: GreekPoint, F: number, vol: number, D: number) {
  const s = vol * Math.sqrt(p.T);
  const d1 = Math.log(F / p.strike) / s + 0.5 * s;
  return {
    delta: D * normCdf(d1),
    gamma: ((D * normPdf(d1)) / (F * s)) * (F / 100),
    vega: (D * F * normPdf(d1) * Math.sqrt(p.T)) / 100,
  };
}

function expectClose(points: GreekPoint[], truth: (p: GreekPoint) => { delta: number; gamma: number; vega: number }) {
  const peak = { gamma: 0, vega: 0 };
  for (const p of points) {
    const t = truth(p);
    peak.gamma = Math.max(peak.gamma, t.gamma);
    peak.vega = Math.max(peak.vega, t.vega);
  }
  for (const p of points) {
    const t = truth(p);
    // Central differences with h = 2.5e-4: measured errors over many draws are <= 2e-6 (delta)
    // and <= 4e-6 of the peak (gamma, vega), O(h^2) truncation on the shortest expiries plus f64
    // cancellation in gamma; 2e-5 leaves a 5x margin.
    expect(Math.abs(p.delta - t.delta)).toBeLessThan(2e-5);
    expect(Math.abs(p.gamma - t.gamma)).toBeLessThan(2e-5 * peak.gamma);
    expect(Math.abs(p.vega! - t.vega)).toBeLessThan(2e-5 * peak.vega);
  }
}

describe('Black flat-vol fit', () => {
  it('recovers the vol of each expiry exactly and its IV residuals are zero', () => {
    const vols = [uniform(r, 0.1, 0.9), uniform(r, 0.1, 0.9), uniform(r, 0.1, 0.9)];
    const quotes = flatSurface(vols, [0.05, 0.5, 2]);
    const fit = fitBlackFlat(quotes);
    expect(Object.values(fit.params)).toHaveLength(3);
    // Implied vols of exact Black prices invert to ~1e-12; the mean of equal vols is that vol.
    Object.values(fit.params).forEach((v, i) => expect(Math.abs(v - vols[i])).toBeLessThan(1e-9));
    expect(fit.rmse_iv!).toBeLessThan(1e-9);
    expect(fit.quotes.used).toBe(quotes.length);
  });

  it('excludes quotes without an implied vol, naming the row', () => {
    const quotes = flatSurface([0.4], [0.5]);
    quotes[3] = { ...quotes[3], price: -1 };
    const fit = fitBlackFlat(quotes);
    expect(fit.quotes.excluded).toEqual([{ row: 4, reason: expect.stringContaining('no implied vol') }]);
    expect(fit.quotes.used).toBe(quotes.length - 1);
  });
});

describe('Greeks by finite differences', () => {
  it('Black flat model: FD Greeks equal Black-76 closed forms', () => {
    const vols = [uniform(r, 0.15, 1.2), uniform(r, 0.15, 1.2)];
    const Ts = [uniform(r, 0.02, 0.2), uniform(r, 0.5, 2)];
    const quotes = flatSurface(vols, Ts);
    const fit = fitBlackFlat(quotes);
    const expiries = expiryTable(quotes);
    const points = marketPoints(quotes, [fit]);
    const atm = new Map(expiries.map((e, i) => [e.expiry, vols[i]]));
    const p = pricerFor(fit, expiries);
    if (!('pricer' in p)) throw new Error(p.reason);
    const greeks = modelGreeks(p.pricer, fit.params, greekGrid(expiries, points, atm));
    expect(greeks.length).toBe(2 * 21);
    expectClose(greeks, (g) => {
      const e = expiries.findIndex((x) => x.expiry === g.expiry);
      return blackClosedForm(g, 100, vols[e], expiries[e].discount);
    });
    expect(greekWarnings('black', greeks, expiries)).toEqual([]);
  });

  it('Heston at vanishing vol of variance (v0 = theta): COS Greeks equal Black-76 at sqrt(v0)', () => {
    const vol = uniform(r, 0.15, 0.8);
    const Ts = [uniform(r, 0.05, 0.3), uniform(r, 0.7, 1.5)];
    const quotes = flatSurface([vol, vol], Ts);
    const params = { v0: vol * vol, kappa: uniform(r, 0.5, 5), theta: vol * vol, sigma: 1e-3, rho: 0 };
    const fit = { ...fitBlackFlat(quotes), model: 'heston', params } as FitResult;
    const expiries = expiryTable(quotes);
    const points = marketPoints(quotes, []);
    const p = pricerFor(fit, expiries);
    if (!('pricer' in p)) throw new Error(p.reason);
    const greeks = modelGreeks(p.pricer, params, greekGrid(expiries, points, new Map(expiries.map((e) => [e.expiry, vol]))));
    // sigma = 1e-3 moves Black-equivalent prices by O(sigma^2 T) ~ 1e-6 relative: inside 2e-5.
    expectClose(greeks, (g) => blackClosedForm(g, 100, vol, expiries.find((e) => e.expiry === g.expiry)!.discount));
  });

  it('flags a call delta outside [0, D] and a negative gamma', () => {
    const base: GreekPoint = { expiry: 'x', T: 1, k: 0, strike: 100, isCall: true, delta: 0.5, gamma: 0.02, vega: 0.4 };
    const w = greekWarnings('m', [base, { ...base, k: 0.1, delta: 1.2 }, { ...base, k: 0.2, gamma: -0.01 }], [
      { expiry: 'x', T: 1, forward: 100, discount: 0.99, quotes: 3 },
    ]);
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/delta 1\.2/);
    expect(w[1]).toMatch(/negative gamma/);
  });
});

describe('bootstrap stability', () => {
  it('redraws two-sided quotes inside bid/ask and keeps one-sided quotes', () => {
    const quotes = flatSurface([0.5], [0.3]);
    quotes[0] = { ...quotes[0], bid: undefined };
    const out = perturbWithinSpread(quotes, r);
    expect(out[0]).toBe(quotes[0]);
    for (const q of out.slice(1)) {
      expect(q.price).toBeGreaterThanOrEqual(q.bid!);
      expect(q.price).toBeLessThanOrEqual(q.ask!);
      expect(q.iv).toBeUndefined();
    }
  });

  it('Black refits: the spread of vega across refits is bounded by the bid/ask vol spread', async () => {
    // Quotes redrawn within +-1 vol point move each fitted vol by < 1 vol point, so vega (linear
    // in vol to first order) may spread, but gamma and vega stay finite and the refit count holds.
    const vol = uniform(r, 0.3, 0.7);
    const quotes = flatSurface([vol], [0.25]);
    const fit = fitBlackFlat(quotes);
    const expiries = expiryTable(quotes);
    const grid = greekGrid(expiries, marketPoints(quotes, [fit]), new Map([[expiries[0].expiry, vol]]));
    const p = pricerFor(fit, expiries);
    if (!('pricer' in p)) throw new Error(p.reason);
    const base = modelGreeks(p.pricer, fit.params, grid);
    const fitted: number[] = [];
    const boot = await bootstrapStability(fit, quotes, p.pricer, grid, base, async (sets) =>
      sets.map((qs) => {
        const f = fitBlackFlat(qs);
        fitted.push(Object.values(f.params)[0]);
        return f;
      }), { n: 5, threshold: 0.5 });
    expect(boot.succeeded).toBe(5);
    for (const v of fitted) expect(Math.abs(v - vol)).toBeLessThan(0.01);
    for (const pt of boot.points) {
      expect(pt.gammaLo).toBeLessThanOrEqual(pt.gamma);
      expect(pt.gammaHi).toBeGreaterThanOrEqual(pt.gamma);
    }
    // A change of vol by < 0.01 moves ATM-normalised gamma by < ~0.01 / vol relative: < 50 %.
    expect(boot.points.filter((x) => x.unstable)).toEqual([]);
  });

  it('flags points whose Greeks move when the refit lands elsewhere, and reports failed refits', async () => {
    const quotes = flatSurface([0.4], [0.5]);
    const fit = fitBlackFlat(quotes);
    const expiries = expiryTable(quotes);
    const grid = greekGrid(expiries, marketPoints(quotes, [fit]), new Map([[expiries[0].expiry, 0.4]]));
    const p = pricerFor(fit, expiries);
    if (!('pricer' in p)) throw new Error(p.reason);
    const base = modelGreeks(p.pricer, fit.params, grid);
    const boot = await bootstrapStability(fit, quotes, p.pricer, grid, base, async (sets) =>
      sets.map((_, i) =>
        i === 0
          ? new Error('optimizer exploded')
          : // Vol 0.4 -> 0.8 halves ATM gamma: far beyond a 10 % threshold.
            { ...fit, params: Object.fromEntries(Object.keys(fit.params).map((k) => [k, 0.8])) },
      ), { n: 2, threshold: 0.1 });
    expect(boot.succeeded).toBe(1);
    expect(boot.failures[0]).toMatch(/refit 1 failed: optimizer exploded/);
    expect(boot.points.some((x) => x.unstable)).toBe(true);
    // A refit call that throws as a whole fails every refit, each with the reason.
    const none = await bootstrapStability(fit, quotes, p.pricer, grid, base, async () => {
      throw new Error('pool down');
    }, { n: 3 });
    expect(none.succeeded).toBe(0);
    expect(none.failures).toEqual([1, 2, 3].map((k) => `refit ${k} failed: pool down`));
  });
});
