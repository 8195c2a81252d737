/**
 * Differential evolution (rand/1/bin with dithered F; Storn & Price 1997) for starts far from
 * the optimum. It searches the box of the parameter bounds, in the bounds' unit cube u (z =
 * logit(u)), and prices the WHOLE population of a generation in one batch: on the GPU one
 * dispatch per generation.
 *
 * Stops after `generations`, when the population has converged: std(f) <= tol |mean(f)| (as
 * SciPy's differential_evolution), or when the best f has reached the objective's floor: at most
 * `fabs` (absolute), or at most `frel` of the first generation's median (relative). A population
 * that has found an exact fit otherwise goes on ranking points at the pricing noise (measured:
 * generations after the best reached 9e-14 on a BTC day). The result is a starting point for
 * Levenberg-Marquardt, not a fit.
 */
import { sumSquares, type LeastSquaresProblem } from './problem.js';
import { mulberry32 } from '../util/mulberry32.js';
import { yieldToEventLoop } from '../util/yieldToEventLoop.js';

export interface DeOptions {
  population?: number; // default max(10 P, 30)
  generations?: number; // default 60
  crossover?: number; // default 0.9
  tol?: number; // default 0.01
  /** Stop when the best f is at most this (default 0). */
  fabs?: number;
  /** Stop when the best f is at most this fraction of the first generation's median f (default 1e-12). */
  frel?: number;
  /** Seed of the internal generator: runs are reproducible. */
  seed?: number;
  /** Points to include in the first generation (e.g. the user's start), in z. */
  include?: Float64Array[];
  onGeneration?: (generation: number, best: number) => void;
  /**
   * Map between the search cube [0,1]^P and z. Default: z = logit(u), which is exactly the unit
   * cube of the bounds under the calibrator's transform when every bound is finite.
   */
  cube?: { toZ(u: Float64Array): Float64Array; fromZ(z: Float64Array): Float64Array };
}

export interface DeResult {
  z: Float64Array;
  f: number;
  generations: number;
  evaluations: number;
  history: number[];
}

// Stay off the exact box faces, where z = logit(u) is infinite.
const U_EDGE = 1e-6;
const clampU = (u: number) => Math.min(1 - U_EDGE, Math.max(U_EDGE, u));
const logit = (u: number) => Math.log(u / (1 - u));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export async function differentialEvolution(problem: LeastSquaresProblem, opts: DeOptions = {}): Promise<DeResult> {
  const p = problem.p;
  const np = opts.population ?? Math.max(10 * p, 30);
  const maxGen = opts.generations ?? 60;
  const cr = opts.crossover ?? 0.9;
  const tol = opts.tol ?? 0.01;
  const rand = mulberry32(opts.seed ?? 12345);
  let evaluations = 0;

  // Latin hypercube start: every parameter's range is covered evenly.
  const U = new Float64Array(np * p);
  for (let j = 0; j < p; j++) {
    const perm = Array.from({ length: np }, (_, i) => i);
    for (let i = np - 1; i > 0; i--) {
      const k = Math.floor(rand() * (i + 1));
      [perm[i], perm[k]] = [perm[k], perm[i]];
    }
    for (let i = 0; i < np; i++) U[i * p + j] = clampU((perm[i] + rand()) / np);
  }
  const cube = opts.cube ?? {
    toZ: (u: Float64Array) => Float64Array.from(u, logit),
    fromZ: (z: Float64Array) => Float64Array.from(z, sigmoid),
  };
  (opts.include ?? []).slice(0, np).forEach((z, i) => {
    const u = cube.fromZ(z);
    for (let j = 0; j < p; j++) U[i * p + j] = clampU(u[j]);
  });

  // Row by row: the cube map works on one point at a time.
  const toZ = (u: Float64Array) => {
    const out = new Float64Array(u.length);
    for (let k = 0; k < u.length / p; k++) out.set(cube.toZ(u.subarray(k * p, (k + 1) * p)), k * p);
    return out;
  };
  const score = async (u: Float64Array, n: number) => {
    const { r } = await problem.residuals(toZ(u), n);
    evaluations += n;
    return r.map(sumSquares);
  };

  const fit = await score(U, np);
  let best = fit.indexOf(Math.min(...fit));
  const history = [fit[best]];
  const sorted = fit.filter(Number.isFinite).sort((a, b) => a - b);
  const floor = Math.max(opts.fabs ?? 0, (opts.frel ?? 1e-12) * (sorted.length ? sorted[sorted.length >> 1] : 0));
  let generations = 0;
  const trial = new Float64Array(np * p);
  for (let gen = 1; gen <= maxGen && !(fit[best] <= floor); gen++) {
    await yieldToEventLoop();
    const F = 0.5 + 0.5 * rand(); // dither: one F per generation
    for (let i = 0; i < np; i++) {
      let a: number, b: number, c: number;
      do a = Math.floor(rand() * np); while (a === i);
      do b = Math.floor(rand() * np); while (b === i || b === a);
      do c = Math.floor(rand() * np); while (c === i || c === a || c === b);
      const jr = Math.floor(rand() * p);
      for (let j = 0; j < p; j++) {
        let v = U[i * p + j];
        if (j === jr || rand() < cr) {
          v = U[a * p + j] + F * (U[b * p + j] - U[c * p + j]);
          // Reflect back into the box instead of clipping onto its faces.
          if (v < 0) v = rand() * U[a * p + j];
          if (v > 1) v = U[a * p + j] + rand() * (1 - U[a * p + j]);
        }
        trial[i * p + j] = clampU(v);
      }
    }
    const ft = await score(trial, np);
    for (let i = 0; i < np; i++) {
      if (ft[i] <= fit[i]) {
        fit[i] = ft[i];
        U.set(trial.subarray(i * p, (i + 1) * p), i * p);
      }
    }
    best = fit.indexOf(Math.min(...fit));
    generations = gen;
    history.push(fit[best]);
    opts.onGeneration?.(gen, fit[best]);
    const finite = fit.filter(Number.isFinite);
    if (finite.length === np) {
      const mean = finite.reduce((a, b) => a + b, 0) / np;
      const sd = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / np);
      if (sd <= tol * Math.abs(mean)) break;
    }
  }
  return {
    z: toZ(U.slice(best * p, (best + 1) * p)),
    f: fit[best],
    generations,
    evaluations,
    history,
  };
}
