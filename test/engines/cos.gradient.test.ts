/**
 * Analytic parameter gradients of COS prices (d ln phi / d params through the characteristic
 * function; the COS sum is linear in phi) against central finite differences of the f64 prices,
 * on fresh random parameters, for Heston, Bates and Merton, and through the SurfacePricer.
 */
import { describe, expect, it } from 'vitest';
import { cosPrices, cosPricesAndGradient } from '../../src/engines/cos/cpu.js';
import { createCosPricer } from '../../src/engines/cos/pricer.js';
import type { QuoteSet } from '../../src/engines/pricer.js';
import { bates, heston, merton, type Model } from '../../src/models/index.js';
import { rng, uniform } from '../helpers/random.js';

function randomParams(model: Model, r: () => number): Float64Array {
  const h = [uniform(r, 0.01, 0.5), uniform(r, 0.3, 10), uniform(r, 0.01, 0.5), uniform(r, 0.1, 2.5), uniform(r, -0.9, 0.6)];
  const j = [uniform(r, 0.05, 2), uniform(r, -0.25, 0.1), uniform(r, 0.03, 0.3)];
  if (model === heston) return Float64Array.from(h);
  if (model === bates) return Float64Array.from([...h, ...j]);
  return Float64Array.from([uniform(r, 0.1, 0.8), ...j]);
}

/** 5 expiries (1 week - 2 years) x 9 strikes over +-3 sd, out-of-the-money side, F = 100. */
function surface(model: Model, p: Float64Array): QuoteSet {
  const rows: Array<[number, number, number]> = [];
  for (const T of [7 / 365, 0.1, 0.5, 1, 2]) {
    const sd = Math.sqrt(model.cumulants!(T, p).c2);
    for (let z = -3; z <= 3; z += 0.75) rows.push([T, 100 * Math.exp(z * sd), z > 0 ? 1 : 0]);
  }
  return {
    forward: new Float64Array(rows.length).fill(100),
    strike: Float64Array.from(rows, (x) => x[1]),
    T: Float64Array.from(rows, (x) => x[0]),
    isCall: Uint8Array.from(rows, (x) => x[2]),
    discount: Float64Array.from(rows, (x) => Math.exp(-0.03 * x[0])),
  };
}

describe('COS f64 analytic parameter gradient', () => {
  for (const model of [heston, bates, merton]) {
    it(`${model.name}: matches central differences on fresh random parameters`, () => {
      const r = rng();
      const P = model.params.length;
      for (let trial = 0; trial < 4; trial++) {
        const p = randomParams(model, r);
        const quotes = surface(model, p);
        const M = quotes.T.length;
        const { prices, gradient } = cosPricesAndGradient(model, p, quotes);
        const ref = cosPrices(model, p, quotes);
        // Prices are the engine's own f64 prices (same sum, same window).
        prices.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-12 * 100));
        for (let j = 0; j < P; j++) {
          // Step 1e-5 of the parameter's scale: truncation ~h^2 f''' ~ 1e-9 and round-off
          // ~eps F / h ~ 1e-9 (the window and term count move with p, but only by ~1e-13 in price).
          const h = 1e-5 * Math.max(Math.abs(p[j]), 0.1);
          const up = Float64Array.from(p);
          const dn = Float64Array.from(p);
          up[j] += h;
          dn[j] -= h;
          const pu = cosPrices(model, up, quotes);
          const pd = cosPrices(model, dn, quotes);
          let scale = 0;
          for (let m = 0; m < M; m++) scale = Math.max(scale, Math.abs(gradient[m * P + j]));
          for (let m = 0; m < M; m++) {
            const fd = (pu[m] - pd[m]) / (2 * h);
            const msg = `${model.name} p=${Array.from(p)} d/d${model.params[j].name} T=${quotes.T[m]} K=${quotes.strike[m]}`;
            // 1e-6 of the largest sensitivity to this parameter, plus 1e-7 absolute at F = 100 and
            // the differences' round-off, which grows with the price's own size (a put struck at
            // 18 F carries ~18 F: eps 1800 / h = 4e-7 at h = 1e-6, seen on a Merton draw);
            // a wrong derivative term is off by O(1).
            const roundOff = (8 * Number.EPSILON * Math.max(Math.abs(ref[m]), quotes.forward[m], quotes.strike[m])) / h;
            expect(Math.abs(gradient[m * P + j] - fd), msg).toBeLessThan(1e-6 * scale + 1e-7 + roundOff);
          }
        }
      }
    });
  }

  it('SurfacePricer.priceAndGradient returns M x P in quote order', async () => {
    const r = rng();
    const p = randomParams(heston, r);
    const quotes = surface(heston, p);
    const pricer = await createCosPricer(heston, quotes, { name: 'cpu', description: 'test' });
    expect(pricer.priceAndGradient).toBeDefined();
    const got = await pricer.priceAndGradient!(p);
    const direct = cosPricesAndGradient(heston, p, quotes);
    expect(got.backend).toBe('cpu');
    expect(got.gradient.length).toBe(quotes.T.length * heston.params.length);
    expect(Array.from(got.gradient)).toEqual(Array.from(direct.gradient));
    expect(Array.from(got.prices)).toEqual(Array.from(direct.prices));
    // d price / d v0 > 0 for every quote (more variance, more time value): an independent sign check.
    for (let m = 0; m < quotes.T.length; m++) expect(got.gradient[m * 5]).toBeGreaterThan(0);
    pricer.dispose();
  });
});
