/**
 * Monte Carlo engine: the WGSL kernels against their f64 CPU twin path by path, and both backends
 * against independent truth (Lewis' published Heston prices, the COS engine on fresh random
 * Heston/Bates parameters, published rough Bergomi reference prices, the rough-volatility skew
 * power law), plus QE convergence, common random numbers and input errors.
 */
import { describe, expect, it } from 'vitest';
import { gpu, hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';
import type { Backend } from '../../src/backends/backend.js';
import { createMcPricer } from '../../src/engines/mc/pricer.js';
import { mcEngine, priceMc } from '../../src/engines/mc/index.js';
import { buildPlan } from '../../src/engines/mc/plan.js';
import { schemeTables } from '../../src/engines/mc/tables.js';
import { simulateCpu } from '../../src/engines/mc/cpuPaths.js';
import { McGpu } from '../../src/engines/mc/gpu.js';
import { cosPricesBatch } from '../../src/engines/cos/cpu.js';
import { impliedVolatility } from '../../src/engines/black/impliedVol.js';
import { heston } from '../../src/models/heston.js';
import { bates } from '../../src/models/bates.js';
import { merton } from '../../src/models/merton.js';
import { rbergomi } from '../../src/models/rbergomi.js';
import type { Model } from '../../src/models/types.js';
import type { QuoteSet } from '../../src/engines/pricer.js';

const cpu: Backend = { name: 'cpu', description: 'cpu' };
const backends: Backend[] = [cpu, ...(hasGpu ? [{ name: 'webgpu', description: 'webgpu', gpu: gpu! } as Backend] : [])];

function quoteSet(rows: Array<{ F: number; K: number; T: number; call: boolean; D?: number }>): QuoteSet {
  return {
    forward: Float64Array.from(rows, (r) => r.F),
    strike: Float64Array.from(rows, (r) => r.K),
    T: Float64Array.from(rows, (r) => r.T),
    isCall: Uint8Array.from(rows, (r) => (r.call ? 1 : 0)),
    discount: Float64Array.from(rows, (r) => r.D ?? 1),
  };
}

/** Out-of-the-money quotes at a few expiries, strikes spread by +-1.5 standard deviations. */
function smileQuotes(F: number, Ts: number[], vol = 0.25): QuoteSet {
  const rows = [];
  for (const T of Ts) {
    for (const z of [-1.5, -0.75, 0, 0.75, 1.5]) {
      const K = F * Math.exp(z * vol * Math.sqrt(T));
      rows.push({ F, K, T, call: K >= F, D: Math.exp(-0.02 * T) });
    }
  }
  return quoteSet(rows);
}

function randomHeston(r: () => number): number[] {
  return [uniform(r, 0.02, 0.09), uniform(r, 0.5, 4), uniform(r, 0.02, 0.09), uniform(r, 0.2, 0.8), uniform(r, -0.9, 0)];
}
function randomBates(r: () => number): number[] {
  return [...randomHeston(r), uniform(r, 0.1, 1), uniform(r, -0.2, 0.05), uniform(r, 0.05, 0.25)];
}
function randomRbergomi(r: () => number): number[] {
  return [uniform(r, 0.02, 0.09), uniform(r, 0.5, 2.5), uniform(r, -0.95, -0.2), uniform(r, 0.05, 0.4)];
}

describe.skipIf(!hasGpu)('WGSL paths vs the f64 CPU twin (same Philox streams)', () => {
  const cases: Array<[Model, (r: () => number) => number[]]> = [
    [heston, randomHeston],
    [bates, randomBates],
    [rbergomi, randomRbergomi],
  ];
  for (const [model, draw] of cases) {
    it(`${model.name}: every recorded log-price agrees to f32 accuracy`, async () => {
      const r = rng();
      const n = 2;
      const params = Float64Array.from([...draw(r), ...draw(r)]);
      const plan = buildPlan(model, smileQuotes(100, [0.1, 0.4, 1]), { paths: 1500, steps: 60, seed: Math.floor(r() * 1e9) });
      const tables = schemeTables(model, plan, params, n);
      const want = simulateCpu(plan, tables, n, 0, plan.units);
      const runner = new McGpu(gpu!);
      const got = await runner.simulate(plan, tables, n, 0, plan.units);
      runner.destroy();
      // f32 arithmetic over 60 steps: each step rounds at ~6e-8 relative on values of size ~0.1-1,
      // the normals carry ~1e-6 absolute (Giles' erfinv in f32): a few 1e-6 in all. A discrete
      // branch (QE psi <= 1.5, the exponential branch's atom at zero, the Poisson count) can flip
      // on a rounding and move one path by O(sqrt(dt)); such paths must stay rare (< 0.5 %).
      let worstOk = 0;
      let flipped = 0;
      for (let i = 0; i < want.length; i++) {
        expect(Number.isFinite(got[i])).toBe(true);
        const d = Math.abs(got[i] - want[i]);
        if (d > 1e-4) flipped++;
        else worstOk = Math.max(worstOk, d);
      }
      expect(worstOk).toBeLessThan(2e-5);
      expect(flipped).toBeLessThan(0.005 * want.length);
    });
  }
});

describe.skipIf(!hasGpu)('whole pricer: WebGPU (f32 paths, f32 block sums) vs CPU (f64) on the same streams', () => {
  const cases: Array<[Model, (r: () => number) => number[], boolean]> = [
    [bates, randomBates, false],
    [rbergomi, randomRbergomi, true],
  ];
  for (const [model, draw, antithetic] of cases) {
    it(`${model.name} (antithetic ${antithetic}): prices and errors agree far inside the MC error`, async () => {
      const r = rng();
      const params = Float64Array.from([...draw(r), ...draw(r)]);
      const quotes = smileQuotes(100, [0.2, 0.7]);
      const opts = { paths: 3000, steps: 32, seed: Math.floor(r() * 1e9), antithetic };
      const c = await createMcPricer(model, quotes, cpu, opts).priceBatch(params, 2);
      const gp = createMcPricer(model, quotes, backends[1], opts);
      const g = await gp.priceBatch(params, 2);
      gp.dispose();
      expect(g.backend).toBe('webgpu');
      // Same paths up to f32 rounding (~1e-5 on log-prices, a few 1e-7 relative on block sums of
      // <= 256 payoffs): prices differ by ~1e-3 of an error; a rare discrete-branch flip moves one
      // path of 3000, i.e. ~1/3000 of a payoff (a few % of an error; flips are ~1e-7 per path-step).
      for (let i = 0; i < c.prices.length; i++) {
        expect(Math.abs(g.prices[i] - c.prices[i])).toBeLessThan(0.05 * c.stderr![i] + 1e-6);
        // A far-wing quote no path reaches has price 0 and error 0 on both (a ratio would be 0/0).
        expect(Math.abs(g.stderr![i] - c.stderr![i])).toBeLessThanOrEqual(0.02 * c.stderr![i] + 1e-9);
      }
    });
  }
});

for (const backend of backends) {
  describe(`Monte Carlo on ${backend.name}`, () => {
    it('Heston QE reproduces Lewis (2000) published prices within 3 standard errors', async () => {
      // S=100, r=0.01, q=0.02, T=1, v0=0.04, kappa=4, theta=0.25, sigma=1, rho=-0.5 (REFERENCE.md).
      const F = 100 * Math.exp(-0.01);
      const D = Math.exp(-0.01);
      const Ks = [80, 90, 100, 110, 120];
      const want = [26.774758743998854, 20.93334900059671, 16.070154917028834, 12.132211516709845, 9.024913483457836];
      const pricer = createMcPricer(heston, quoteSet(Ks.map((K) => ({ F, K, T: 1, call: true, D }))), backend, {
        paths: 24_000,
        steps: 64,
        seed: Math.floor(rng()() * 1e9),
      });
      const out = await pricer.priceBatch(Float64Array.from([0.04, 4, 0.25, 1, -0.5]), 1);
      pricer.dispose();
      expect(out.backend).toBe(backend.name);
      // QE bias at 64 steps measured below 0.01 here (400k paths, errors 0.006-0.01); errors at 24k
      // paths are ~0.03, so the allowance is 3 errors plus that bias.
      want.forEach((w, i) => expect(Math.abs(out.prices[i] - w)).toBeLessThan(3 * out.stderr![i] + 0.01));
    });

    for (const model of [heston, bates]) {
      it(`${model.name} agrees with the COS engine on fresh random parameters (two sets, one dispatch)`, async () => {
        const r = rng();
        const draw = model === heston ? randomHeston : randomBates;
        const params = Float64Array.from([...draw(r), ...draw(r)]);
        const quotes = smileQuotes(100, [0.25, 0.5, 1]);
        const paths = 20_000;
        const pricer = createMcPricer(model, quotes, backend, { paths, steps: 48, seed: Math.floor(r() * 1e9) });
        const out = await pricer.priceBatch(params, 2);
        pricer.dispose();
        const ref = cosPricesBatch(model, params, 2, quotes);
        // Each price within 3 standard errors of COS (whose error is ~1e-10, negligible); the QE
        // bias at 48 steps over a year is well below one error for these parameters. With 30
        // correlated comparisons a 3-sigma excursion has a few per cent chance: demand 90 % within
        // 3 errors and none beyond 4.5 (a bias of even one error would fail the first). Far wings
        // that few or no paths reach have an unresolvable (even zero) sample error: the error gets a
        // floor of F / paths, the most one path can move the estimate by.
        let within3 = 0;
        for (let i = 0; i < ref.length; i++) {
          const tol = out.stderr![i] + quotes.forward[i % quotes.forward.length] / paths;
          const z = Math.abs(out.prices[i] - ref[i]) / tol;
          expect(z).toBeLessThan(4.5);
          if (z < 3) within3++;
          expect(out.stderr![i]).toBeGreaterThanOrEqual(0);
        }
        expect(within3).toBeGreaterThanOrEqual(0.9 * ref.length);
      });
    }

    it('rough Bergomi reproduces published reference prices (Bayer, Ben Hammouda, Tempone 2020)', async () => {
      // "Hierarchical adaptive sparse grids and quasi Monte Carlo for option pricing under the rough
      // Bergomi model", Quantitative Finance 20(9), 2020 (arXiv:1812.08533), reference solutions:
      // set 1: H=0.07, K=1, S0=1, T=1, rho=-0.9, eta=1.9, xi=0.235^2 -> 0.0791;
      // set 2: H=0.02, K=1, S0=1, T=1, rho=-0.7, eta=0.4, xi=0.1 -> 0.1248.
      const quotes = quoteSet([{ F: 1, K: 1, T: 1, call: true }]);
      const pricer = createMcPricer(rbergomi, quotes, backend, { paths: 16_000, steps: 48, seed: Math.floor(rng()() * 1e9) });
      const out = await pricer.priceBatch(Float64Array.from([0.235 ** 2, 1.9, -0.9, 0.07, 0.1, 0.4, -0.7, 0.02]), 2);
      pricer.dispose();
      // Hybrid-scheme bias at 48 steps measured at < 0.001 (a run at 200 steps moves the price by
      // 0.0006); the published figures carry 4 digits (+-5e-5). Allowance: 3 errors + 0.001.
      expect(Math.abs(out.prices[0] - 0.0791)).toBeLessThan(3 * out.stderr![0] + 0.001);
      expect(Math.abs(out.prices[1] - 0.1248)).toBeLessThan(3 * out.stderr![1] + 0.001);
    });

    it('common random numbers: repeatable, batch-independent, smooth in the parameters', async () => {
      const r = rng();
      const quotes = smileQuotes(100, [0.5, 1]);
      const pricer = createMcPricer(bates, quotes, backend, { paths: 4000, steps: 24, seed: Math.floor(r() * 1e9) });
      const p1 = Float64Array.from(randomBates(r));
      const p2 = Float64Array.from(randomBates(r));
      const a = await pricer.priceBatch(p1, 1);
      const again = await pricer.priceBatch(p1, 1);
      const both = await pricer.priceBatch(Float64Array.from([...p2, ...p1]), 2);
      const M = quotes.strike.length;
      for (let i = 0; i < M; i++) {
        expect(again.prices[i]).toBe(a.prices[i]);
        // Row 1 of the batch sees the same numbers as the lone call (no parameter enters a counter);
        // on the GPU only the f32 block sums may differ in order-free ways: none, same kernel.
        expect(both.prices[M + i]).toBeCloseTo(a.prices[i], 9);
      }
      // A 1e-4 bump of v0 moves prices by about vega * dv0 (here < 0.02) with the same numbers,
      // far less than one standard error; fresh numbers would move them by about one error each.
      const bumped = Float64Array.from(p1);
      bumped[0] += 1e-4;
      const b = await pricer.priceBatch(bumped, 1);
      pricer.dispose();
      for (let i = 0; i < M; i++) {
        expect(Math.abs(b.prices[i] - a.prices[i])).toBeLessThan(0.02);
        expect(Math.abs(b.prices[i] - a.prices[i])).toBeLessThan(0.5 * a.stderr![i] + 1e-9);
      }
    });
  });
}

describe('Monte Carlo schemes', () => {
  const backend = backends[backends.length - 1];

  it('QE converges as the step shrinks (Lewis Heston case, bias >> error at one step)', async () => {
    const F = 100 * Math.exp(-0.01);
    const D = Math.exp(-0.01);
    const want = [26.774758743998854, 16.070154917028834, 9.024913483457836];
    const quotes = quoteSet([80, 100, 120].map((K) => ({ F, K, T: 1, call: true, D })));
    const err: number[] = [];
    const se: number[] = [];
    for (const steps of [1, 2, 4, 32]) {
      const pricer = createMcPricer(heston, quotes, backend, { paths: 20_000, steps, seed: 99 });
      const out = await pricer.priceBatch(Float64Array.from([0.04, 4, 0.25, 1, -0.5]), 1);
      pricer.dispose();
      // Worst absolute error over the strikes.
      const i = [0, 1, 2].reduce((b, j) => (Math.abs(out.prices[j] - want[j]) > Math.abs(out.prices[b] - want[b]) ? j : b), 0);
      err.push(Math.abs(out.prices[i] - want[i]));
      se.push(out.stderr![i]);
    }
    // Measured biases (200k paths): 1.9, 0.59, 0.16, 0.02 at 1, 2, 4, 32 steps; errors ~0.03.
    expect(err[0]).toBeGreaterThan(10 * se[0]);
    expect(err[1]).toBeLessThan(err[0] / 2);
    expect(err[2]).toBeLessThan(err[1]);
    expect(err[3]).toBeLessThan(3 * se[3] + 0.03);
  });

  it('rough Bergomi ATM skew follows the power law tau^(H - 1/2) (Bayer, Friz, Gatheral 2016)', async () => {
    // BFG 2016 ("Pricing under rough volatility", Quantitative Finance 16(6)) show the rBergomi ATM
    // skew decays like tau^(H-1/2), with their SPX parameters xi0=0.235^2, eta=1.9, rho=-0.9, H=0.07
    // (the set also used by McCrickerd and Pakkanen 2018). A classical stochastic-volatility model
    // has a flat short-dated skew (slope ~0); here the log-log slope must be H - 1/2 = -0.43.
    const Ts = [0.03, 0.1, 0.3];
    const dk = 0.05;
    const rows = Ts.flatMap((T) => [-1, 1].map((s) => ({ F: 1, K: Math.exp(s * dk * Math.sqrt(T)), T, call: s > 0 })));
    const quotes = quoteSet(rows);
    const H = 0.07;
    const pricer = createMcPricer(rbergomi, quotes, backend, { paths: 16_000, steps: 96, seed: Math.floor(rng()() * 1e9) });
    const out = await pricer.priceBatch(Float64Array.from([0.235 ** 2, 1.9, -0.9, H]), 1);
    pricer.dispose();
    const skew = Ts.map((T, e) => {
      const iv = [0, 1].map((j) => impliedVolatility(out.prices[2 * e + j], 1, rows[2 * e + j].K, T, rows[2 * e + j].call).iv!);
      return (iv[1] - iv[0]) / (2 * dk * Math.sqrt(T));
    });
    skew.forEach((s) => expect(s).toBeLessThan(0)); // rho < 0: downward-sloping smile
    const slope = Math.log(skew[2] / skew[0]) / Math.log(Ts[2] / Ts[0]);
    // Measured -0.42 with 20k paths; MC noise on the skew ratio and the finite-tau departure from the
    // asymptotic power law are both below 0.1.
    expect(Math.abs(slope - (H - 0.5))).toBeLessThan(0.1);
  });
});

describe('Monte Carlo input errors', () => {
  const quotes = quoteSet([{ F: 100, K: 100, T: 1, call: true }]);

  it('priceMc (the CLI entry) returns prices with standard errors inside no-arbitrage bounds', async () => {
    const q = quoteSet([80, 100, 125].flatMap((K) => [true, false].map((call) => ({ F: 100, K, T: 0.5, call, D: 0.99 }))));
    const r = await priceMc(bates, Float64Array.from([0.04, 2, 0.05, 0.5, -0.6, 0.5, -0.1, 0.15]), q, cpu, { paths: 4000, steps: 16, seed: 3 });
    expect(r.backend).toBe('cpu');
    for (let i = 0; i < r.prices.length; i++) {
      const intrinsic = q.discount[i] * Math.max(q.isCall[i] ? q.forward[i] - q.strike[i] : q.strike[i] - q.forward[i], 0);
      const upper = q.discount[i] * (q.isCall[i] ? q.forward[i] : q.strike[i]);
      expect(r.prices[i]).toBeGreaterThan(intrinsic - 3 * r.stderr[i]);
      expect(r.prices[i]).toBeLessThan(upper);
      expect(r.stderr[i]).toBeGreaterThan(0);
    }
    // Put-call parity holds to within the errors (calls and puts come from the same paths).
    for (let j = 0; j < 3; j++) {
      const c = r.prices[2 * j], p = r.prices[2 * j + 1];
      expect(Math.abs(c - p - 0.99 * (100 - q.strike[2 * j]))).toBeLessThan(3 * (r.stderr[2 * j] + r.stderr[2 * j + 1]));
    }
  });

  it('names the parameter set and the parameter out of bounds', async () => {
    const pricer = createMcPricer(heston, quotes, cpu, { paths: 100, steps: 4 });
    await expect(pricer.priceBatch(Float64Array.from([0.04, 1, 0.04, 0.5, -0.5, 0.04, 1, 0.04, 0.5, -1.5]), 2)).rejects.toThrow(
      /parameter set 1: heston rho=-1.5/,
    );
  });

  it('rejects models without a scheme, bad options and bad quotes with clear messages', () => {
    expect(() => createMcPricer(merton, quotes, cpu)).toThrow(/no scheme for model 'merton'/);
    // The CLI factory throws synchronously so the command can map the RangeError to a one-line error.
    expect(() => mcEngine({ paths: Number('many') })(heston, quotes, cpu)).toThrow(/--paths must be an integer/);
    expect(() => createMcPricer(rbergomi, quotes, cpu, { steps: 513 })).toThrow(/--steps must be an integer in \[1, 512\]/);
    expect(() => createMcPricer(heston, quotes, cpu, { paths: 0 })).toThrow(/--paths/);
    expect(() => createMcPricer(heston, quotes, cpu, { seed: -1 })).toThrow(/seed/);
    const bad = quoteSet([{ F: 100, K: 100, T: 1, call: true }, { F: 100, K: Number.NaN, T: 1, call: true }]);
    expect(() => createMcPricer(heston, bad, cpu)).toThrow(/quote 1: strike NaN/);
  });
});
