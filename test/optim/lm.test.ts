import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { levenbergMarquardt } from '../../src/optim/lm.js';
import type { LeastSquaresProblem } from '../../src/optim/problem.js';
import { differentialEvolution } from '../../src/optim/de.js';

/** A batched problem from a per-point residual function. */
function problem(p: number, size: number, f: (z: Float64Array) => number[]): LeastSquaresProblem & { calls: number[] } {
  const calls: number[] = [];
  return {
    p,
    size,
    calls,
    async residuals(Z, n) {
      calls.push(n);
      return { r: Array.from({ length: n }, (_, k) => Float64Array.from(f(Z.subarray(k * p, (k + 1) * p)))) };
    },
  };
}

describe('Levenberg-Marquardt', () => {
  const r = rng();

  it('recovers the parameters of an exact exponential-decay fit to 1e-8 relative (exact data, f64)', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const truth = [uniform(r, 1, 5), uniform(r, 0.2, 2), uniform(r, -1, 1)];
      const t = Array.from({ length: 30 }, (_, i) => i * 0.2);
      const y = t.map((ti) => truth[0] * Math.exp(-truth[1] * ti) + truth[2]);
      const pr = problem(3, 30, (z) => t.map((ti, i) => z[0] * Math.exp(-z[1] * ti) + z[2] - y[i]));
      const res = await levenbergMarquardt(pr, Float64Array.from([1, 1, 0]));
      expect(res.converged).toBe(true);
      truth.forEach((v, j) => expect(Math.abs(res.z[j] - v)).toBeLessThan(1e-8 * Math.max(1, Math.abs(v))));
      // Every Jacobian is ONE batch of the base point and its P perturbations.
      expect(pr.calls.filter((n) => n > 1).every((n) => n === 4)).toBe(true);
    }
  });

  it('ptol stops before the step that would only confirm ftol, with f within a few ptol of the minimum (noisy data)', async () => {
    // Never later than ftol alone; earlier over the trials (a start from which ftol fires on the
    // same step as ptol is possible: equal counts on one trial).
    let saved = 0;
    for (let trial = 0; trial < 5; trial++) {
      const truth = [uniform(r, 1, 5), uniform(r, 0.2, 2), uniform(r, -1, 1)];
      const t = Array.from({ length: 40 }, (_, i) => i * 0.15);
      // Non-zero residuals at the optimum (as a market fit): noise of 5 % of the signal's scale.
      const y = t.map((ti) => truth[0] * Math.exp(-truth[1] * ti) + truth[2] + 0.05 * truth[0] * uniform(r, -1, 1));
      const f = (z: Float64Array) => t.map((ti, i) => z[0] * Math.exp(-z[1] * ti) + z[2] - y[i]);
      // Start near the optimum, as a warm start is.
      const best = await levenbergMarquardt(problem(3, 40, f), Float64Array.from([1, 1, 0]), { ftol: 1e-15 });
      const start = Float64Array.from(best.z, (v) => v * (1 + uniform(r, -0.05, 0.05)));
      const plain = await levenbergMarquardt(problem(3, 40, f), start, { ftol: 1e-5 });
      const early = await levenbergMarquardt(problem(3, 40, f), start, { ftol: 1e-5, ptol: 1e-5 });
      expect(early.converged).toBe(true);
      expect(early.iterations).toBeLessThanOrEqual(plain.iterations);
      saved += plain.iterations - early.iterations;
      expect(early.f - best.f).toBeLessThan(3e-5 * best.f);
    }
    expect(saved).toBeGreaterThan(0);
  });

  it('solves Rosenbrock from the classic start (-1.2, 1) to 1e-8', async () => {
    const pr = problem(2, 2, (z) => [10 * (z[1] - z[0] * z[0]), 1 - z[0]]);
    const res = await levenbergMarquardt(pr, Float64Array.from([-1.2, 1]), { fdScheme: 'central', fdStep: 1e-5 });
    expect(res.converged).toBe(true);
    expect(Math.abs(res.z[0] - 1)).toBeLessThan(1e-8);
    expect(Math.abs(res.z[1] - 1)).toBeLessThan(1e-8);
    expect(res.history.every((f, i) => i === 0 || f <= res.history[i - 1])).toBe(true);
  });

  it('treats NaN residuals as rejected steps and never returns them as a fit', async () => {
    // Residuals are undefined beyond x = 2.05 (like a pricer failing outside its domain); the
    // optimum x = 2 lies just inside, so full Gauss-Newton steps overshoot into NaN.
    const pr = problem(1, 2, (z) => (z[0] > 2.05 ? [NaN, NaN] : [Math.exp(z[0]) - Math.exp(2), 0.1 * (z[0] - 2)]));
    const res = await levenbergMarquardt(pr, Float64Array.from([-1]));
    expect(Number.isFinite(res.f)).toBe(true);
    expect(Math.abs(res.z[0] - 2)).toBeLessThan(1e-7);
    expect(res.converged).toBe(true);
  });

  it('reports a non-finite start instead of iterating on it', async () => {
    const pr = problem(1, 1, () => [NaN]);
    const res = await levenbergMarquardt(pr, Float64Array.from([0]));
    expect(res.converged).toBe(false);
    expect(res.reason).toBe('non-finite-start');
  });

  it('says when it runs out of iterations', async () => {
    const pr = problem(2, 2, (z) => [10 * (z[1] - z[0] * z[0]), 1 - z[0]]);
    const res = await levenbergMarquardt(pr, Float64Array.from([-1.2, 1]), { maxIterations: 2 });
    expect(res.converged).toBe(false);
    expect(res.reason).toBe('max-iterations');
  });
});

describe('differential evolution', () => {
  it('finds the global basin of Rastrigin (many local minima) and LM then converges to it', async () => {
    // x = 10 (sigmoid(z) - 1/2) in [-5, 5]; f = sum x^2 + 10 (1 - cos 2 pi x), global minimum 0 at x = 0.
    const x = (z: number) => 10 * (1 / (1 + Math.exp(-z)) - 0.5);
    const f = (z: Float64Array) => Array.from(z).flatMap((zj) => [x(zj), Math.sqrt(10 * (1 - Math.cos(2 * Math.PI * x(zj))))]);
    const pr = problem(2, 4, f);
    const de = await differentialEvolution(pr, { seed: Math.floor(rng()() * 1e9), generations: 80 });
    // Every generation was priced in one batch of the whole population.
    expect(pr.calls.every((n) => n === 30)).toBe(true);
    for (const zj of de.z) expect(Math.abs(x(zj))).toBeLessThan(0.3);
    const lm = await levenbergMarquardt(problem(2, 4, f), de.z, { fdScheme: 'central', fdStep: 1e-5 });
    for (const zj of lm.z) expect(Math.abs(x(zj))).toBeLessThan(1e-6);
  });
});

describe('differential evolution stops at the objective floor', () => {
  // f = |x|^2 in x = 10 (sigmoid(z) - 1/2): the exact minimum 0 at z = 0.
  const x = (z: number) => 10 * (1 / (1 + Math.exp(-z)) - 0.5);
  const sphere = () => problem(2, 2, (z) => Array.from(z, x));

  it('absolute: a first generation holding the exact optimum ends the search at once', async () => {
    const pr = sphere();
    const de = await differentialEvolution(pr, { population: 20, generations: 30, include: [Float64Array.from([0, 0])], frel: 0, fabs: 1e-20 });
    expect(de.f).toBe(0);
    expect(de.generations).toBe(0);
    expect(pr.calls).toEqual([20]);
  });

  it('relative: a best far below the first generation\'s median (1e-14 against ~10) ends it; without floors it runs on', async () => {
    const near = Float64Array.from([4e-8, 0]); // x ~ 1e-7, f ~ 1e-14
    const stopped = await differentialEvolution(sphere(), { population: 20, generations: 30, include: [near], tol: 0 });
    expect(stopped.generations).toBe(0);
    const pr = sphere();
    const full = await differentialEvolution(pr, { population: 20, generations: 30, include: [near], tol: 0, frel: 0 });
    expect(full.generations).toBe(30);
    expect(pr.calls.length).toBe(31);
    expect(full.f).toBeLessThanOrEqual(stopped.f);
  });
});
