/**
 * The f64 COS engine against independent truth: Lewis (2000) published Heston values, QuantLib's
 * AnalyticHestonEngine / BatesEngine (fixture made by bench/quantlib/cos_reference.py, where two
 * QuantLib methods agree to 1e-11), Merton's closed-form series, and no-arbitrage bounds on fresh
 * random parameters.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { black76Price } from '../../src/engines/black/black76.js';
import { cosPrices } from '../../src/engines/cos/cpu.js';
import type { QuoteSet } from '../../src/engines/pricer.js';
import { bates, getModel, heston, merton } from '../../src/models/index.js';
import { rng, uniform } from '../helpers/random.js';

function quoteSet(rows: Array<{ F: number; K: number; T: number; call: boolean; D: number }>): QuoteSet {
  return {
    forward: Float64Array.from(rows, (r) => r.F),
    strike: Float64Array.from(rows, (r) => r.K),
    T: Float64Array.from(rows, (r) => r.T),
    isCall: Uint8Array.from(rows, (r) => (r.call ? 1 : 0)),
    discount: Float64Array.from(rows, (r) => r.D),
  };
}

describe('COS f64: Heston reference values', () => {
  it('matches Lewis (2000) to 1e-10', () => {
    const S = 100, r = 0.01, q = 0.02, T = 1;
    const F = S * Math.exp((r - q) * T);
    const D = Math.exp(-r * T);
    const K = [80, 90, 100, 110, 120];
    const lewis = [26.774758743998854, 20.93334900059671, 16.070154917028834, 12.132211516709845, 9.024913483457836];
    const prices = cosPrices(heston, Float64Array.of(0.04, 4, 0.25, 1, -0.5), quoteSet(K.map((k) => ({ F, K: k, T, call: true, D }))));
    K.forEach((_, i) => expect(Math.abs(prices[i] - lewis[i])).toBeLessThan(1e-10));
  });

  const fixture = JSON.parse(readFileSync(new URL('./cos.quantlib.json', import.meta.url), 'utf8')) as {
    spot: number;
    rate: number;
    div: number;
    cases: Array<{ model: string; params: number[]; quotes: Array<{ T: number; strike: number; isCall: boolean; price: number }> }>;
  };
  for (const c of fixture.cases) {
    const days = [...new Set(c.quotes.map((q) => Math.round(q.T * 365)))].join(',');
    it(`matches QuantLib ${c.model}(${c.params.join(', ')}) to 1e-10 at ${c.quotes.length} quotes, days ${days}`, () => {
      const qs = quoteSet(
        c.quotes.map((q) => ({
          F: fixture.spot * Math.exp((fixture.rate - fixture.div) * q.T),
          D: Math.exp(-fixture.rate * q.T),
          K: q.strike,
          T: q.T,
          call: q.isCall,
        })),
      );
      const prices = cosPrices(getModel(c.model), Float64Array.from(c.params), qs);
      let worst = 0;
      c.quotes.forEach((q, i) => (worst = Math.max(worst, Math.abs(prices[i] - q.price))));
      // 1e-10 absolute on S = 100 (1e-12 relative); the fixture's two QuantLib methods agree to 1e-11.
      expect(worst).toBeLessThan(1e-10);
    });
  }
});

/** Merton (1976): conditional on n jumps X is normal; the price is a Poisson mixture of Black prices. */
function mertonSeries(vol: number, lambda: number, muJ: number, sigmaJ: number, F: number, K: number, T: number, call: boolean, D: number): number {
  const kbar = Math.expm1(muJ + 0.5 * sigmaJ * sigmaJ);
  let sum = 0;
  let logP = -lambda * T;
  for (let n = 0; n < 400; n++) {
    if (n > 0) logP += Math.log((lambda * T) / n);
    const p = Math.exp(logP);
    if (n > lambda * T && p < 1e-18) break;
    const Fn = F * Math.exp(-lambda * kbar * T + n * (muJ + 0.5 * sigmaJ * sigmaJ));
    const volN = Math.sqrt(vol * vol + (n * sigmaJ * sigmaJ) / T);
    sum += p * black76Price(Fn, K, T, volN, call, D);
  }
  return sum;
}

describe('COS f64: Merton against its closed-form series', () => {
  it('agrees to 1e-10 on fresh random parameters, expiries from 2 days to 5 years', () => {
    const r = rng();
    for (let trial = 0; trial < 20; trial++) {
      const p = Float64Array.of(uniform(r, 0.05, 1.2), uniform(r, 0, 5), uniform(r, -0.4, 0.3), uniform(r, 0.02, 0.5));
      const T = Math.exp(uniform(r, Math.log(2 / 365), Math.log(5)));
      const F = 100;
      const D = Math.exp(-0.03 * T);
      const sd = Math.sqrt(merton.cumulants!(T, p).c2);
      const rows = [-4, -2, -1, 0, 1, 2, 4].map((z) => ({ F, K: F * Math.exp(z * sd), T, call: z > 0, D }));
      const prices = cosPrices(merton, p, quoteSet(rows));
      rows.forEach((q, i) => {
        const ref = mertonSeries(p[0], p[1], p[2], p[3], q.F, q.K, q.T, q.call, q.D);
        // 1e-10 absolute at F = 100 (both sides are f64 methods converged far below that), scaled
        // by K/F for strikes far above the forward: calls come from put-call parity, C = P + D (F - K),
        // whose cancellation costs ~terms x eps x K (4e-10 seen at K = 6500 F, 5-year fat tails).
        const tol = 1e-10 * Math.max(1, q.K / q.F);
        expect(Math.abs(prices[i] - ref), `trial ${trial} p=${Array.from(p)} T=${T} K=${q.K}`).toBeLessThan(tol);
      });
    }
  });
});

describe('COS f64: no-arbitrage on fresh random Heston and Bates parameters', () => {
  it('prices lie within bounds, decrease and are convex in strike', () => {
    const r = rng();
    for (let trial = 0; trial < 20; trial++) {
      const h = [uniform(r, 0.005, 2), uniform(r, 0.1, 20), uniform(r, 0.005, 2), uniform(r, 0.05, 6), uniform(r, -0.95, 0.95)];
      const isBates = trial % 2 === 1;
      const model = isBates ? bates : heston;
      const p = Float64Array.from(isBates ? [...h, uniform(r, 0, 3), uniform(r, -0.3, 0.2), uniform(r, 0.02, 0.4)] : h);
      const T = Math.exp(uniform(r, Math.log(3 / 365), Math.log(3)));
      const F = 100;
      const sd = Math.sqrt(model.cumulants!(T, p).c2);
      const Ks = Array.from({ length: 41 }, (_, i) => F * Math.exp((i - 20) * 0.2 * sd));
      const calls = cosPrices(model, p, quoteSet(Ks.map((K) => ({ F, K, T, call: true, D: 1 }))));
      const msg = `${model.name} p=${Array.from(p)} T=${T}`;
      for (let i = 0; i < Ks.length; i++) {
        // Bounds: max(F - K, 0) <= C <= F, with 1e-12 relative slack for f64 rounding, relative
        // to the larger of F and K: far-wing calls come through put-call parity (P + F - K), so
        // at K = 1e4 F (wide-tailed Bates, long T) their rounding is ~1e-16 K, not ~1e-16 F.
        const slack = 1e-10 * Math.max(1, Ks[i] / F);
        expect(calls[i], msg).toBeGreaterThanOrEqual(Math.max(F - Ks[i], 0) - slack);
        expect(calls[i], msg).toBeLessThanOrEqual(F + slack);
        if (i > 0) expect(calls[i], msg).toBeLessThanOrEqual(calls[i - 1] + slack);
        if (i > 1) {
          // Convexity on an uneven grid: the slope is non-decreasing.
          const s1 = (calls[i - 1] - calls[i - 2]) / (Ks[i - 1] - Ks[i - 2]);
          const s2 = (calls[i] - calls[i - 1]) / (Ks[i] - Ks[i - 1]);
          expect(s2, msg).toBeGreaterThanOrEqual(s1 - 1e-8);
        }
      }
    }
  });

  it('is converged: a twice as wide window with more terms changes prices by < 1e-11 (x F)', () => {
    const r = rng();
    for (let trial = 0; trial < 10; trial++) {
      const p = Float64Array.of(uniform(r, 0.01, 1), uniform(r, 0.5, 10), uniform(r, 0.01, 1), uniform(r, 0.1, 3), uniform(r, -0.9, 0.9));
      const T = Math.exp(uniform(r, Math.log(2 / 365), Math.log(2)));
      const sd = Math.sqrt(heston.cumulants!(T, p).c2);
      const qs = quoteSet([-3, -1, 0, 1, 3].map((z) => ({ F: 1, K: Math.exp(z * sd), T, call: z > 0, D: 1 })));
      const a = cosPrices(heston, p, qs);
      const b = cosPrices(heston, p, qs, { L: 28, tol: 1e-17, maxTerms: 1 << 17 });
      a.forEach((v, i) => expect(Math.abs(v - b[i]), `p=${Array.from(p)} T=${T}`).toBeLessThan(1e-11));
    }
  });
});

describe('COS f64: many distinct expiries', () => {
  it('the tick comes after every (parameter set, expiry) and changes no price', async () => {
    const { cosPricesBatch, cosPricesAndGradient } = await import('../../src/engines/cos/cpu.js');
    const { groupByExpiry } = await import('../../src/engines/cos/expiries.js');
    // Every quote its own expiry (timestamps), two of them shared.
    const qs = quoteSet(Array.from({ length: 40 }, (_, i) => ({ F: 100, K: 80 + i, T: 0.05 + (i % 38) * 0.01 + 1e-6 * i, call: i % 2 === 0, D: 0.99 })));
    const groups = groupByExpiry(qs);
    const p = Float64Array.of(0.04, 1.5, 0.06, 0.6, -0.7, 0.09, 2, 0.04, 0.5, -0.5);
    let ticks = 0;
    const plain = cosPricesBatch(heston, p, 2, qs, undefined, groups);
    const ticked = cosPricesBatch(heston, p, 2, qs, undefined, groups, () => ticks++);
    expect(ticks).toBe(2 * groups.T.length);
    expect(Array.from(ticked)).toEqual(Array.from(plain));
    ticks = 0;
    const g = cosPricesAndGradient(heston, p, qs, undefined, groups, () => ticks++);
    expect(ticks).toBe(groups.T.length);
    // The gradient path sums the same terms in another order.
    g.prices.forEach((v, i) => expect(Math.abs(v - plain[i])).toBeLessThan(1e-12));
  });

  it('the search cap (4,096 terms) leaves prices unchanged wherever fewer terms reach the tolerance', async () => {
    const { cosPlan } = await import('../../src/engines/cos/plan.js');
    const { SEARCH_MAX_TERMS } = await import('../../src/calibrator/pricers.js');
    const r = rng();
    for (let trial = 0; trial < 10; trial++) {
      const p = Float64Array.of(uniform(r, 0.01, 0.5), uniform(r, 0.5, 5), uniform(r, 0.01, 0.5), uniform(r, 0.1, 1.5), uniform(r, -0.9, 0.5));
      const T = Math.exp(uniform(r, Math.log(2 / 365), Math.log(2)));
      if (cosPlan(heston, p, T).n >= SEARCH_MAX_TERMS) continue;
      const sd = Math.sqrt(heston.cumulants!(T, p).c2);
      const qs = quoteSet([-2, 0, 2].map((z) => ({ F: 1, K: Math.exp(z * sd), T, call: z > 0, D: 1 })));
      expect(Array.from(cosPrices(heston, p, qs, { maxTerms: SEARCH_MAX_TERMS }))).toEqual(Array.from(cosPrices(heston, p, qs)));
    }
  });
});
