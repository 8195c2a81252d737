/**
 * The data-driven first guess (firstGuess.ts) and the cold-start routes that use it: the smile
 * fit against a closed form, the guess against known Heston parameters, and fits from far starts
 * that recover the truth without a global stage.
 */
import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { calibrate, type CalibrateOptions } from '../../src/calibrator/calibrate.js';
import { blackPrice } from '../../src/calibrator/black.js';
import { prepareQuotes, type CalibrationQuote } from '../../src/calibrator/quotes.js';
import { resolveBounds } from '../../src/calibrator/transforms.js';
import { firstGuess, guessVariants, hestonGuess, smiles } from '../../src/calibrator/firstGuess.js';
import { heston, merton } from '../../src/models/index.js';
import { cosCpuPricer, priceGrid, surfaceGrid } from './helpers.js';

const cpu = { createPricer: (m, q) => cosCpuPricer(m, q), backend: 'cpu' } satisfies Partial<CalibrateOptions>;
const QL_START = { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 };

/** Equity-like (even) or crypto-like (odd) Heston parameters, as bench/many draws them. */
function draw(r: () => number, crypto: boolean): Float64Array {
  return crypto
    ? Float64Array.from([uniform(r, 0.2, 0.5), uniform(r, 1, 6), uniform(r, 0.2, 0.5), uniform(r, 0.8, 2.5), uniform(r, -0.3, 0.1)])
    : Float64Array.from([uniform(r, 0.02, 0.08), uniform(r, 0.8, 4), uniform(r, 0.02, 0.08), uniform(r, 0.3, 0.9), uniform(r, -0.8, -0.3)]);
}

describe('first guess', () => {
  const r = rng();

  it('reads ATM vol, skew and curvature off a smile that is a known quadratic in ln(K/F)', () => {
    const a = [0.2 + 0.3 * r(), -0.2 + 0.4 * r(), 0.5 * r()];
    const quotes: CalibrationQuote[] = [];
    for (const T of [0.1, 0.5]) {
      for (let j = 0; j < 9; j++) {
        const k = (-1 + j / 4) * 0.2 * Math.sqrt(T);
        const iv = a[0] + a[1] * k + a[2] * k * k;
        const K = 100 * Math.exp(k);
        quotes.push({ row: quotes.length + 1, T, strike: K, isCall: K >= 100, forward: 100, discount: 1, price: blackPrice(100, K, T, iv, K >= 100, 1) });
      }
    }
    const sm = smiles(prepareQuotes(quotes));
    expect(sm.map((s) => s.T)).toEqual([0.1, 0.5]);
    for (const s of sm) {
      expect(Math.abs(s.atm - a[0])).toBeLessThan(1e-9);
      expect(Math.abs(s.skew - a[1])).toBeLessThan(1e-8);
      expect(Math.abs(s.curvature - a[2])).toBeLessThan(1e-6);
    }
  });

  it('lands near known Heston parameters (ATM variances, the sign and size of rho, sigma within a factor)', async () => {
    for (let trial = 0; trial < 6; trial++) {
      const truth = draw(r, trial % 2 === 1);
      const quotes = await priceGrid(heston, truth, surfaceGrid({ expiries: 8, strikesPerExpiry: 15, atmVol: Math.sqrt(truth[0]), spot: 100, rate: 0.01 }));
      const g = hestonGuess(smiles(prepareQuotes(quotes)))!;
      const ctx = `truth ${Array.from(truth).map((v) => v.toFixed(3))}, guess ${Object.values(g).map((v) => v.toFixed(3))}`;
      // The term structure of ATM variance pins v0; theta and kappa trade off (slow mean
      // reversion over two years of expiries: theta half the truth, kappa twice it).
      expect(Math.abs(Math.log(g.v0 / truth[0])), ctx).toBeLessThan(Math.log(1.5));
      expect(Math.abs(Math.log(g.theta / truth[2])), ctx).toBeLessThan(Math.log(2.5));
      expect(Math.abs(g.rho - truth[4]), ctx).toBeLessThan(0.35);
      expect(Math.abs(Math.log(g.sigma / truth[3])), ctx).toBeLessThan(Math.log(3));
    }
  });

  it('applies to models with Heston\'s parameters only; variants stay inside the bounds', async () => {
    const quotes = await priceGrid(heston, Float64Array.from([0.04, 1.5, 0.06, 0.6, -0.7]), surfaceGrid({ expiries: 4, strikesPerExpiry: 9, atmVol: 0.2 }));
    const prep = prepareQuotes(quotes);
    expect(firstGuess(merton, prep, resolveBounds(merton, undefined))).toBeNull();
    const bounds = resolveBounds(heston, undefined);
    const g = firstGuess(heston, prep, bounds)!;
    for (const p of [g, ...guessVariants(heston, g, bounds)]) {
      p.forEach((v, j) => {
        expect(v).toBeGreaterThan(bounds.lower[j]);
        expect(v).toBeLessThan(bounds.upper[j]);
      });
    }
  });
});

describe('cold starts with the first guess', () => {
  const r = rng();

  it('from QuantLib\'s standard start and from no start, random equity and crypto surfaces recover without a global stage', async () => {
    for (let trial = 0; trial < 4; trial++) {
      const truth = draw(r, trial % 2 === 1);
      const quotes = await priceGrid(heston, truth, surfaceGrid({ expiries: 6, strikesPerExpiry: 12, atmVol: Math.sqrt(truth[0]) }));
      for (const start of [QL_START, undefined]) {
        const res = await calibrate(quotes, { ...cpu, model: heston, ...(start ? { start } : {}) });
        const ctx = `truth ${Array.from(truth).map((v) => v.toFixed(4))}: ${res.route.name}, ${res.route.reason}`;
        heston.params.forEach((s, i) => expect(Math.abs(res.params[s.name] - truth[i]) / truth[i], ctx).toBeLessThan(1e-6));
        expect(res.history.some((h) => h.stage === 'global'), ctx).toBe(false);
        expect(res.route.reason, ctx).toMatch(start ? /given start|data-driven guess/ : /data-driven starts/);
      }
    }
  });
});
