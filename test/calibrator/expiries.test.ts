/**
 * Calibration on many distinct expiries (quotes whose T comes from their own timestamps), honest
 * progress and evaluation counts, and fits that end on their bounds (issue 12).
 */
import { describe, expect, it } from 'vitest';
import { calibrate, type PricerFactory, type ProgressEvent } from '../../src/calibrator/calibrate.js';
import { prepareQuotes, subsampleQuotes, type CalibrationQuote } from '../../src/calibrator/quotes.js';
import type { SurfacePricer } from '../../src/engines/pricer.js';
import { heston, merton } from '../../src/models/index.js';
import { mulberry32 } from '../../src/util/mulberry32.js';
import { pricerFactoryFor } from '../../src/calibrator/pricers.js';
import { cosCpuPricer, priceGrid, surfaceGrid } from './helpers.js';

const TRUTH = Float64Array.from([0.04, 1.5, 0.06, 0.6, -0.7]);

/** `rows` quotes, each with its own expiry in [2 days, 2 years] (intraday timestamps), strikes +-2.5 sd. */
function sparseExpiries(rows: number, seed = 1): CalibrationQuote[] {
  const rand = mulberry32(seed);
  return Array.from({ length: rows }, (_, i) => {
    const T = (2 + rand() * 728) / 365;
    const F = 100 * Math.exp(0.02 * T);
    const K = F * Math.exp((-2.5 + 5 * rand()) * 0.2 * Math.sqrt(T));
    return { row: i + 1, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: Math.exp(-0.02 * T) };
  });
}

/** The default pricer factory (COS), counting the parameter sets every pricer it builds prices. */
function countingFactory() {
  const counts = { sets: 0, pricers: 0, search: 0, rank: 0 };
  const factory: PricerFactory = async (m, q, b, hooks) => {
    const inner = await pricerFactoryFor(m)(m, q, b, hooks);
    counts.pricers++;
    if (hooks?.search) counts.search++;
    if (hooks?.rank) counts.rank++;
    const p: SurfacePricer = {
      ...inner,
      async priceBatch(params, n) {
        counts.sets += n;
        return inner.priceBatch(params, n);
      },
    };
    if (inner.priceAndGradient) {
      p.priceAndGradient = async (params) => {
        counts.sets += 1;
        return inner.priceAndGradient!(params);
      };
    }
    return p;
  };
  return { factory, counts };
}

const rel = (a: number, b: number) => Math.abs(a / b - 1);

describe('many distinct expiries', () => {
  it('the subsample of sparse expiries has 120 quotes over the whole term structure', () => {
    const quotes = sparseExpiries(3000).map((q) => ({ ...q, price: 0, iv: 0.2 }));
    const prep = prepareQuotes(quotes);
    const sub = subsampleQuotes(prep);
    // 12 expiries of one quote each (the old subsample) are too few for a noisy 5-parameter fit.
    expect(sub.m).toBe(120);
    expect(new Set(sub.set.T).size).toBe(120);
    const Ts = Array.from(prep.set.T).sort((a, b) => a - b);
    const subTs = Array.from(sub.set.T).sort((a, b) => a - b);
    // Every twelfth of the term structure gives quotes: the shortest and the longest too.
    for (let c = 0; c < 12; c++) {
      const lo = Ts[Math.floor((c * Ts.length) / 12)];
      const hi = Ts[Math.floor(((c + 1) * Ts.length) / 12) - 1];
      expect(subTs.filter((t) => t >= lo && t <= hi)).toHaveLength(10);
    }
    // Listed expiries with many strikes each keep the old subsample: 12 expiries x 20 strikes.
    const listed = prepareQuotes(surfaceGrid({ expiries: 30, strikesPerExpiry: 40, atmVol: 0.2 }).map((q) => ({ ...q, price: 0, iv: 0.2 })));
    const subListed = subsampleQuotes(listed);
    expect(subListed.m).toBe(240);
    expect(new Set(subListed.set.T).size).toBe(12);
  });

  it('recovers Heston from 1,000 quotes with 1,000 distinct expiries in bounded evaluations, counting every stage', async () => {
    const quotes = await priceGrid(heston, TRUTH, sparseExpiries(1000));
    const { factory, counts } = countingFactory();
    const events: ProgressEvent[] = [];
    const res = await calibrate(quotes, { model: heston, backend: 'cpu', createPricer: factory, progress: (e) => events.push(e) });
    heston.params.forEach((s, i) => expect(rel(res.params[s.name], TRUTH[i]), s.name).toBeLessThan(1e-4));
    expect(res.converged).toBe(true);
    expect(res.route.reason).toMatch(/subsample of 120 of 1000 quotes/);
    // Probe (1 + 7 guesses + 20 Halton), LM on the subsample (~20 gradients), a few LM steps on all quotes.
    // Before the sparse-expiry subsample: 12 quotes, and LM on all quotes did the search.
    expect(res.evaluations).toBeLessThan(200);
    expect(res.seconds).toBeLessThan(120);
    // Every pricer's sets, the probe's (rank-grade pricer) included, are in the count.
    // The subsample's pricer and all quotes' first-order one are search-grade, the probe's over
    // the subsample rank-grade; the polish's is exact.
    expect(counts.search).toBe(3);
    expect(counts.rank).toBe(1);
    expect(counts.pricers).toBe(4);
    expect(res.evaluations).toBe(counts.sets);
    // Progress counts them as they happen: the probe's report already includes its 28 sets.
    const probe = events.find((e) => e.stage === 'probe' && !e.working)!;
    expect(probe.evaluations).toBeGreaterThanOrEqual(28);
    for (let k = 1; k < events.length; k++) expect(events[k].evaluations).toBeGreaterThanOrEqual(events[k - 1].evaluations);
    expect(events.at(-1)!.evaluations).toBeLessThanOrEqual(res.evaluations);
  }, 240_000);
});

describe('evaluation counts and progress', () => {
  it('counts the global stage (DE), LM and the polish', async () => {
    const truth = Float64Array.from([0.04, 1.5, 0.06, 0.6, -0.7]);
    // Prices off by up to 0.5 %: not an exact fit, so the exact-IV polish runs.
    const exact = await priceGrid(heston, truth, surfaceGrid({ expiries: 3, strikesPerExpiry: 6, atmVol: 0.2 }));
    const quotes = exact.map((q, i) => ({ ...q, price: q.price * (1 + 0.005 * Math.sin(7 * i)) }));
    const { factory, counts } = countingFactory();
    const stages = new Set<string>();
    const res = await calibrate(quotes, {
      model: heston, backend: 'cpu', createPricer: factory, route: 'global', de: { population: 12, generations: 5 },
      progress: (e) => stages.add(e.stage),
    });
    expect(stages.has('global')).toBe(true);
    expect(stages.has('lm')).toBe(true);
    expect(stages.has('polish')).toBe(true);
    // DE: 12 x (1 + 5 generations) at most; LM and the final report on top.
    expect(res.evaluations).toBeGreaterThan(12);
    expect(res.evaluations).toBe(counts.sets);
  });

  it('counts the staged route of a nested model (Merton) and its probe', async () => {
    const truth = Float64Array.from([0.2, 0.8, -0.15, 0.15]);
    const quotes = await priceGrid(merton, truth, surfaceGrid({ expiries: 4, strikesPerExpiry: 8, atmVol: 0.25 }));
    const { factory, counts } = countingFactory();
    const stages = new Set<string>();
    const res = await calibrate(quotes, { model: merton, backend: 'cpu', createPricer: factory, progress: (e) => stages.add(e.stage) });
    expect(res.route.name === 'staged' || res.route.name === 'lm+global').toBe(true);
    expect(stages.has('probe')).toBe(true);
    expect(stages.has('staged')).toBe(true);
    expect(res.evaluations).toBe(counts.sets);
  });

  it('reports at least once a second while a long pricing call runs (heartbeat), in the first stage too', async () => {
    const truth = Float64Array.from([0.04, 1.5, 0.06, 0.6, -0.7]);
    const quotes = await priceGrid(heston, truth, surfaceGrid({ expiries: 3, strikesPerExpiry: 6, atmVol: 0.2 }));
    // A pricer whose first batch (the probe) takes 2.5 s and calls the heartbeat as COS does.
    let slow = true;
    const factory: PricerFactory = (m, q, _b, hooks) => {
      const inner = cosCpuPricer(m, q);
      return {
        ...inner,
        async priceBatch(params, n) {
          if (slow) {
            slow = false;
            const end = performance.now() + 2500;
            while (performance.now() < end) hooks?.heartbeat?.();
          }
          return inner.priceBatch(params, n);
        },
      };
    };
    const events: ProgressEvent[] = [];
    await calibrate(quotes, { model: heston, backend: 'cpu', createPricer: factory, progress: (e) => events.push(e) });
    const working = events.filter((e) => e.working && e.stage === 'probe');
    expect(working.length).toBeGreaterThanOrEqual(2);
    expect(Number.isNaN(working[0].objective)).toBe(true);
  });
});

describe('fits that end on bounds', () => {
  const quotesP = priceGrid(heston, TRUTH, surfaceGrid({ expiries: 4, strikesPerExpiry: 7, atmVol: 0.2 }));

  it('most parameters on bounds: not converged, and the message and log name them', async () => {
    // Bounds that exclude the truth for v0, theta, sigma and kappa: the fit can only press on them.
    const logs: string[] = [];
    const res = await calibrate(await quotesP, {
      model: heston, backend: 'cpu', createPricer: (m, q) => cosCpuPricer(m, q), route: 'lm', log: (m) => logs.push(m),
      bounds: { v0: [0.09, 0.1], kappa: [5, 6], theta: [0.15, 0.2], sigma: [0.05, 0.1] },
      start: { v0: 0.095, kappa: 5.5, theta: 0.17, sigma: 0.07, rho: -0.3 },
    });
    expect(res.converged).toBe(false);
    expect(res.message).toMatch(/^not converged: [3-5] of 5 parameters ended at a bound/);
    for (const name of ['v0', 'theta', 'sigma']) {
      expect(res.message).toContain(`${name} = `);
      expect(logs.join('\n')).toContain(`${name} = `);
    }
    expect(logs.join('\n')).toMatch(/warning: the heston fit ends with .* at a bound: more than half/);
  });

  it('one parameter on a bound: converged as before, with a warning naming it', async () => {
    const logs: string[] = [];
    const res = await calibrate(await quotesP, {
      model: heston, backend: 'cpu', createPricer: (m, q) => cosCpuPricer(m, q), route: 'lm', log: (m) => logs.push(m),
      bounds: { rho: [-0.5, 0.5] }, start: { v0: 0.05, kappa: 2, theta: 0.05, sigma: 0.5, rho: -0.3 },
    });
    expect(res.params.rho).toBeCloseTo(-0.5, 3);
    expect(res.converged).toBe(true);
    expect(res.message).toMatch(/warning: a parameter at a bound: rho = -0\.5000 \(lower bound -0\.5\)/);
    expect(logs.some((l) => /warning: the heston fit ends with rho/.test(l))).toBe(true);
    // The free parameters keep their standard errors; the pinned one has none only if J^T J is singular.
    for (const name of ['v0', 'kappa', 'theta', 'sigma']) expect(res.stderr[name]).not.toBeNull();
  });
});
