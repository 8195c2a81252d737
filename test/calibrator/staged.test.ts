/**
 * Staged fits of nested models (src/calibrator/staged.ts). Truth: surfaces priced by the f64 COS
 * engine from random Bates parameters (a fresh seed each run), fitted from QuantLib's standard
 * wrong Heston start; plain LM from there stops in a jump-collapsed local minimum on most such
 * surfaces (the bench's Bates case), the staged route must recover the parameters.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { Objective } from '../../src/calibrator/objective.js';
import { sumSquares } from '../../src/optim/problem.js';
import { prepareQuotes } from '../../src/calibrator/quotes.js';
import { gridStarts } from '../../src/calibrator/staged.js';
import { RestrictedProblem } from '../../src/optim/subspace.js';
import { stencil, type Stencil } from '../../src/optim/stencil.js';
import type { LeastSquaresProblem } from '../../src/optim/problem.js';
import { resolveBounds, toModel, toUnconstrained } from '../../src/calibrator/transforms.js';
import { jumpVariance } from '../../src/models/jumps.js';
import { bates, heston, merton } from '../../src/models/index.js';
import { cosCpuPricer, priceGrid, surfaceGrid } from './helpers.js';
import { rng, uniform } from '../helpers/random.js';

const QL_START = { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 };

function randomBates(r: () => number): Float64Array {
  return Float64Array.from([
    uniform(r, 0.02, 0.09), uniform(r, 0.8, 4), uniform(r, 0.03, 0.09), uniform(r, 0.3, 1), uniform(r, -0.8, -0.3),
    uniform(r, 0.1, 2), uniform(r, -0.3, 0.1), uniform(r, 0.05, 0.25),
  ]);
}

describe('staged fits of nested models (CPU)', () => {
  it('recovers random Bates parameters from the standard wrong Heston start', async () => {
    const r = rng();
    for (let trial = 0; trial < 2; trial++) {
      const truth = randomBates(r);
      const quotes = await priceGrid(bates, truth, surfaceGrid({ expiries: 8, strikesPerExpiry: 15, atmVol: 0.2 }));
      const res = await calibrate(quotes, { model: bates, backend: 'cpu', start: QL_START });
      // Exact data: 1e-4 relative is the recovery target; fits land near 1e-10.
      bates.params.forEach((s, i) => expect(Math.abs(res.params[s.name] / truth[i] - 1), `${s.name} of ${Array.from(truth)}`).toBeLessThan(1e-4));
      expect(res.route.reason).toMatch(/staged fit: heston parameters first/);
      expect(res.converged).toBe(true);
    }
  }, 180_000);

  it('plain LM (--route lm) is not staged, and on the bench surface stops short of the staged fit', async () => {
    const truth = Float64Array.from([0.04, 1.5, 0.06, 0.6, -0.7, 0.5, -0.1, 0.15]);
    const quotes = await priceGrid(bates, truth, surfaceGrid({ expiries: 8, strikesPerExpiry: 15, atmVol: 0.2 }));
    const start = { ...QL_START, lambda: 0.5, muJ: -0.1, sigmaJ: 0.1 };
    const plain = await calibrate(quotes, { model: bates, backend: 'cpu', start, route: 'lm' });
    const staged = await calibrate(quotes, { model: bates, backend: 'cpu', start });
    expect(plain.route.name).toBe('lm');
    expect(staged.route.name).toBe('staged');
    expect(staged.rmse_iv!).toBeLessThan(1e-8);
    expect(plain.rmse_iv!).toBeGreaterThan(1e-4);
  }, 120_000);

  it('a Heston fit starts a Bates fit (the base parameters), a Merton fit does not', async () => {
    const truth = Float64Array.from([0.04, 1.5, 0.06, 0.6, -0.7, 0.3, -0.15, 0.1]);
    const quotes = await priceGrid(bates, truth, surfaceGrid({ expiries: 6, strikesPerExpiry: 10, atmVol: 0.2 }));
    const hestonFit = await calibrate(quotes, { model: heston, backend: 'cpu', start: QL_START });
    const res = await calibrate(quotes, { model: bates, backend: 'cpu', start: hestonFit });
    expect(res.route.reason).toMatch(/staged fit/);
    expect(res.rmse_iv!).toBeLessThan(1e-8);
    const mertonFit = { model: 'merton', params: { vol: 0.2, lambda: 1, muJ: 0, sigmaJ: 0.1 }, covariance: null, noise: 1 };
    await expect(calibrate(quotes, { model: bates, backend: 'cpu', start: mertonFit })).rejects.toThrow(/a heston fit is accepted/);
  }, 120_000);
});

describe('staged fit pieces', () => {
  it('the restricted problem is the full problem with columns removed', async () => {
    const r = rng();
    const truth = randomBates(r);
    const quotes = await priceGrid(bates, truth, surfaceGrid({ expiries: 4, strikesPerExpiry: 6, atmVol: 0.2 }));
    const prep = prepareQuotes(quotes);
    const bounds = resolveBounds(bates);
    const obj = new Objective(bates, prep, cosCpuPricer(bates, prep.set), bounds, { kind: 'iv' });
    const z = toUnconstrained(randomBates(r), bounds);
    const free = [0, 2, 5, 7];
    const sub = new RestrictedProblem(obj, z, free);
    const full = await obj.residualsAndJacobian!(z);
    const part = await sub.residualsAndJacobian!(sub.restrict(z));
    expect(Array.from(part.r)).toEqual(Array.from(full.r));
    for (let i = 0; i < obj.size; i++) free.forEach((k, j) => expect(part.J![i * free.length + j]).toBe(full.J![i * obj.p + k]));
    // A batch of restricted points prices the held entries at their held values.
    const zs = Float64Array.from([...sub.restrict(z), ...sub.restrict(z).map((v) => v + 0.1)]);
    const { r: rs } = await sub.residuals(zs, 2);
    // (The price-only path sums in another order than the gradient path: compare like with like.)
    expect(sumSquares(rs[0])).toBe(sumSquares((await obj.residuals(z, 1)).r[0]));
    const moved = sub.expand(zs.subarray(4));
    const { r: direct } = await obj.residuals(moved, 1);
    expect(Array.from(rs[1])).toEqual(Array.from(direct[0]));
  });

  it('the restricted problem hands GPU-resident reductions full points with steps along the free coordinates', async () => {
    let seen: Stencil | undefined;
    const inner: LeastSquaresProblem = {
      p: 4,
      size: 10,
      residuals: async () => ({ r: [] }),
      normalEquations: async (st) => {
        seen = st;
        return { f: 1, A: new Float64Array(st.h.length ** 2), g: new Float64Array(st.h.length) };
      },
    };
    const at = Float64Array.from([1, 2, 3, 4]);
    const sub = new RestrictedProblem(inner, at, [1, 3]);
    const st = stencil(Float64Array.from([20, 40]), 1e-3, 'central');
    const out = await sub.normalEquations!(st);
    expect(out!.g!.length).toBe(2);
    expect(seen!.n).toBe(5);
    expect(Array.from(seen!.h)).toEqual(Array.from(st.h));
    expect(Array.from(seen!.Z)).toEqual([1, 20, 3, 40, 1, 20 + st.h[0], 3, 40, 1, 20, 3, 40 + st.h[1], 1, 20 - st.h[0], 3, 40, 1, 20, 3, 40 - st.h[1]]);
  });

  it('grid starts keep the variance per year and stay inside the bounds', () => {
    for (const model of [bates, merton]) {
      const bounds = resolveBounds(model);
      const p0 = model === bates ? Float64Array.from([0.05, 2, 0.06, 0.5, -0.6, 0.5, -0.1, 0.1]) : Float64Array.from([0.2, 0.5, -0.1, 0.1]);
      const { Z, n } = gridStarts(model, bounds, toUnconstrained(p0, bounds));
      expect(n).toBe(model.nested!.grid.reduce((a, g) => a * g.length, 1));
      const P = model.params.length;
      const j0 = P - 3;
      const before = jumpVariance(p0[j0], p0[j0 + 1], p0[j0 + 2]);
      for (let k = 0; k < n; k++) {
        const p = toModel(Z.subarray(k * P, (k + 1) * P), bounds);
        p.forEach((v, j) => {
          expect(v).toBeGreaterThan(bounds.lower[j]);
          expect(v).toBeLessThan(bounds.upper[j]);
        });
        const after = jumpVariance(p[j0], p[j0 + 1], p[j0 + 2]);
        // Diffusive variance: v0 (Bates, short end) or vol^2 (Merton) gives up what the jumps take,
        // unless that would leave less than the floor (a fifth of v0, 4 % of vol^2).
        const diffusive = model === bates ? p[0] : p[0] * p[0];
        const diffusive0 = model === bates ? p0[0] : p0[0] * p0[0];
        const floor = model === bates ? 0.2 * diffusive0 : 0.04 * diffusive0;
        if (diffusive0 + before - after > floor) expect(diffusive + after).toBeCloseTo(diffusive0 + before, 9);
        else expect(diffusive).toBeCloseTo(floor, 9);
      }
    }
  });
});
