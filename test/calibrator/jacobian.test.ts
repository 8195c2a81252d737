/**
 * The analytic Jacobian of the objective (COS parameter gradients chained through the bound
 * transform, the residual's price derivative, prior and penalty rows) against central finite
 * differences of the same residuals, and LM with it against LM with batched finite differences.
 */
import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { bates, heston, merton } from '../../src/models/index.js';
import type { Model } from '../../src/models/types.js';
import { Objective, type ObjectiveOptions } from '../../src/calibrator/objective.js';
import { prepareQuotes } from '../../src/calibrator/quotes.js';
import { resolveBounds, toUnconstrained } from '../../src/calibrator/transforms.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { levenbergMarquardt } from '../../src/optim/lm.js';
import { cosCpuPricer, priceGrid, surfaceGrid } from './helpers.js';

const r = rng();

function randomParams(model: Model): Float64Array {
  const heston5 = () => [uniform(r, 0.02, 0.2), uniform(r, 0.5, 4), uniform(r, 0.02, 0.2), uniform(r, 0.2, 1), uniform(r, -0.8, 0)];
  const jumps = () => [uniform(r, 0.1, 1.5), uniform(r, -0.3, 0.05), uniform(r, 0.05, 0.3)];
  if (model === heston) return Float64Array.from(heston5());
  if (model === bates) return Float64Array.from([...heston5(), ...jumps()]);
  return Float64Array.from([uniform(r, 0.1, 0.3), ...jumps()]);
}

/** Central differences of the objective's residuals in z, priced as one batch. */
async function fdJacobian(obj: Objective, z: Float64Array, h: number): Promise<Float64Array> {
  const p = obj.p;
  const Z = new Float64Array(2 * p * p);
  for (let j = 0; j < p; j++) {
    Z.set(z, 2 * j * p);
    Z.set(z, (2 * j + 1) * p);
    Z[2 * j * p + j] += h;
    Z[(2 * j + 1) * p + j] -= h;
  }
  const { r: rs } = await obj.residuals(Z, 2 * p);
  const J = new Float64Array(obj.size * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < obj.size; i++) J[i * p + j] = (rs[2 * j][i] - rs[2 * j + 1][i]) / (2 * h);
  return J;
}

describe('analytic Jacobian of the objective', () => {
  const cases: Array<[Model, ObjectiveOptions['kind'], 'vega' | 'exact', boolean]> = [
    [heston, 'iv', 'vega', false],
    [heston, 'iv', 'exact', true],
    [heston, 'price', 'vega', false],
    [bates, 'iv', 'vega', true],
    [merton, 'iv', 'exact', false],
  ];
  it.each(cases.map(([m, ...rest]) => [m.name, ...rest, m] as const))('%s, %s residuals (%s), prior %s: matches central differences', async (_, kind, ivMode, withPrior, model) => {
    // Market quotes from one random parameter set, the Jacobian at another (non-zero residuals,
    // so the exact-IV chain rule 1 / vega(model IV) differs from 1 / vega(market IV)).
    const grid = surfaceGrid({ expiries: 4, strikesPerExpiry: 6, atmVol: 0.25 });
    const quotes = await priceGrid(model, randomParams(model), grid);
    const prep = prepareQuotes(quotes);
    const bounds = resolveBounds(model);
    const P = model.params.length;
    const z = toUnconstrained(randomParams(model), bounds);
    // A prior with correlated covariance, so L^-1 has off-diagonal terms.
    const prior = withPrior
      ? {
          mean: Float64Array.from(z, (v) => v + uniform(r, -0.3, 0.3)),
          chol: Float64Array.from({ length: P * P }, (_, k) => (k % (P + 1) === 0 ? uniform(r, 0.2, 1) : Math.floor(k / P) > k % P ? uniform(r, -0.2, 0.2) : 0)),
        }
      : undefined;
    const obj = new Objective(model, prep, cosCpuPricer(model, prep.set), bounds, { kind, prior, constraintPenalty: model === heston ? 1 : 0 });
    obj.ivMode = ivMode;
    expect(obj.residualsAndJacobian).toBeDefined();
    const { r: ra, J } = await obj.residualsAndJacobian!(z);
    expect(J).not.toBeNull();
    const { r: rb } = await obj.residuals(z, 1);
    // Same residuals as the batch pricer, up to the summation order of the two COS loops (about
    // a thousand terms each, more for jumps, with cancellation): up to ~5e-12 of D F in price on
    // Merton's slowly decaying characteristic function (bounded here by 1e-11), which an IV
    // residual divides by vega (far-wing rows).
    ra.forEach((v, i) => {
      const priceNoise = i < prep.m ? (1e-11 * prep.set.discount[i] * prep.set.forward[i]) / (kind === 'price' ? 1 : prep.vega[i]) : 0;
      expect(Math.abs(v - rb[0][i])).toBeLessThan(1e-11 * Math.max(1, Math.abs(v)) + priceNoise);
    });
    // Step h = 1e-5 in z: truncation O(h^2) ~ 1e-10 relative. The analytic COS gradient holds
    // the truncation window and term count fixed while the priced ones move with p; in IV units a
    // far out-of-the-money quote (Merton, K = 2.5 F, T = 2: 3.5e-6 of the column, seed 3) shows
    // that most, and seeds 1424687090 and 674930482 showed 1.03e-5 and 1.3e-5 of their column
    // (Merton, exact IV residuals), and seed 767947388 2.4e-4: so 1e-4 of each column's largest
    // entry (1e-3 with exact IV residuals, whose far wings magnify the window's move), plus the
    // differences' noise on each row: COS prices carry ~1e-15 of the discounted
    // forward of noise (and the plan, fixed in the analytic gradient, moves with p), which an IV
    // residual divides by vega, then by h: 1e-14 D F / (vega h) with a 10x margin. A wrong
    // chain-rule factor (vega, dp/dz, L^-1) is off by O(1) on the liquid rows, far above both.
    const h = 1e-5;
    const Jfd = await fdJacobian(obj, z, h);
    for (let j = 0; j < P; j++) {
      let scale = 0;
      for (let i = 0; i < obj.size; i++) scale = Math.max(scale, Math.abs(Jfd[i * P + j]));
      for (let i = 0; i < obj.size; i++) {
        const noise = i < prep.m ? (1e-14 * prep.set.discount[i] * prep.set.forward[i]) / ((kind === 'price' ? 1 : prep.vega[i]) * h) : 0;
        expect(Math.abs(J![i * P + j] - Jfd[i * P + j])).toBeLessThanOrEqual((ivMode === 'exact' ? 1e-3 : 1e-4) * scale + noise + 1e-12);
      }
    }
  });

  it('LM with the analytic Jacobian reaches the same optimum as with batched differences, in fewer evaluations', async () => {
    const truth = randomParams(heston);
    const quotes = await priceGrid(heston, truth, surfaceGrid({ expiries: 5, strikesPerExpiry: 8, atmVol: Math.sqrt(truth[0]) }));
    const prep = prepareQuotes(quotes);
    const bounds = resolveBounds(heston);
    const obj = new Objective(heston, prep, cosCpuPricer(heston, prep.set), bounds, { kind: 'iv' });
    // A start 0.3 off in every z (plain LM, no global fallback: a far start on some random draws
    // has other local minima, which is the router's job, not this comparison's).
    const z0 = Float64Array.from(toUnconstrained(truth, bounds), (v) => v + (r() < 0.5 ? -0.3 : 0.3));
    const opts = { ftol: 1e-10, xtol: 1e-10, gtol: 1e-10, fabs: 1e-26 * prep.m };
    const a = await levenbergMarquardt(obj, z0, { ...opts, jacobian: 'analytic' });
    const f = await levenbergMarquardt(obj, z0, { ...opts, jacobian: 'fd' });
    expect(a.jacobian).toBe('analytic');
    expect(f.jacobian).toBe('fd-batch');
    // Both exact fits of generated data: the truth to 1e-6 in z (the 1e-4 relative with room).
    const zt = toUnconstrained(truth, bounds);
    for (const res of [a, f]) {
      expect(res.converged).toBe(true);
      zt.forEach((v, j) => expect(Math.abs(res.z[j] - v)).toBeLessThan(1e-6 * Math.max(1, Math.abs(v))));
    }
    expect(a.evaluations).toBeLessThan(f.evaluations);
  });

  it('calibrate reports which Jacobian ran', async () => {
    const truth = Float64Array.from([0.05, 2, 0.05, 0.5, -0.6]);
    const quotes = await priceGrid(heston, truth, surfaceGrid({ expiries: 3, strikesPerExpiry: 6, atmVol: 0.22 }));
    const start = { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 };
    const an = await calibrate(quotes, { model: heston, backend: 'cpu', createPricer: (m, q) => cosCpuPricer(m, q), start, lm: { jacobian: 'analytic' } });
    const fd = await calibrate(quotes, { model: heston, backend: 'cpu', createPricer: (m, q) => cosCpuPricer(m, q, { gradient: false }), start });
    // 'auto' takes the analytic Jacobian whenever the pricer offers one (deterministic).
    const auto = await calibrate(quotes, { model: heston, backend: 'cpu', createPricer: (m, q) => cosCpuPricer(m, q), start });
    expect(an.jacobian).toBe('analytic');
    expect(fd.jacobian).toBe('fd-batch');
    expect(auto.jacobian).toBe('analytic');
    for (const res of [an, fd, auto]) heston.params.forEach((s, i) => expect(Math.abs(res.params[s.name] - truth[i]) / Math.abs(truth[i])).toBeLessThan(1e-4));
  });
});
