/**
 * Staged cold fit of a nested model (Model.nested: Bates = Heston + jumps, Merton = Black + jumps).
 *
 * LM on all parameters from a poor start lets the extension absorb the base's misfit: jumps
 * explain a skew that a wrong rho should, LM follows them and stops in a local minimum with the
 * jumps collapsed (lambda -> 0 or sigmaJ -> its bound), 0.2-0.3 vol points off (bench/calibration
 * Bates case, and QuantLib's LM does the same). So:
 *   1. LM on the base parameters with the extras held at the start (RestrictedProblem);
 *   2. LM on all parameters from there; an exact fit stops here;
 *   3. starts for the extras from the model's grid, the base parameters of stage 1 rebalanced to
 *      keep the variance (and any base parameter stuck at a bound reset to its initial value),
 *      priced in one batch; a few LM iterations from each, then LM to convergence from the best
 *      two; the best fit wins.
 */
import type { Model } from '../models/types.js';
import type { LmResult } from '../optim/lm.js';
import { sumSquares, type LeastSquaresProblem } from '../optim/problem.js';
import { pinnedParams } from './route.js';
import { RestrictedProblem } from '../optim/subspace.js';
import { toModel, toUnconstrained, type Bounds } from './transforms.js';

/** LM iterations from each grid start before the best are continued (stage 3). */
export const STAGED_SCREEN_ITERATIONS = 5;
/** LM continues from the best this many screened grid starts (stage 3). */
export const STAGED_GRID_STARTS = 2;

export interface StagedFit {
  fit: LmResult;
  /** What the stages did, for the route's reason. */
  reason: string;
}

type Lm = (problem: LeastSquaresProblem, z: Float64Array, options?: { maxIterations?: number }) => Promise<LmResult>;

/** Grid starts of stage 3, as z rows (n x P), from the stage-1 point zA. */
export function gridStarts(model: Model, bounds: Bounds, zA: Float64Array): { Z: Float64Array; n: number } {
  const nested = model.nested!;
  const P = model.params.length;
  const names = model.params.map((s) => s.name);
  const extra = nested.extra.map((name) => names.indexOf(name));
  const pA = toModel(zA, bounds);
  const pinned = pinnedParams(model, pA, bounds);
  model.params.forEach((s, j) => {
    if (!extra.includes(j) && pinned.includes(s.name)) pA[j] = s.initial;
  });
  let combos: number[][] = [[]];
  for (const values of nested.grid) combos = combos.flatMap((c) => values.map((v) => [...c, v]));
  const Z = new Float64Array(combos.length * P);
  combos.forEach((values, k) => {
    const p = Float64Array.from(pA);
    extra.forEach((j, e) => (p[j] = values[e]));
    nested.rebalance?.(p, pA);
    // Strictly inside the bounds: the transform sends a bound itself to infinity.
    for (let j = 0; j < P; j++) {
      const lo = bounds.lower[j];
      const hi = bounds.upper[j];
      const eps = Number.isFinite(hi - lo) ? 1e-6 * (hi - lo) : 1e-6 * Math.max(1, Math.abs(p[j]));
      p[j] = Math.min(Math.max(p[j], lo + eps), hi - eps);
    }
    Z.set(toUnconstrained(p, bounds), k * P);
  });
  return { Z, n: combos.length };
}

/**
 * `closeEnough`: an objective at or below which stage 2's fit ends the search (a fit 1e-5 vol RMS
 * from the quotes leaves no basin worth finding; f32 pricing never reaches LM's exact-fit test).
 */
export async function stagedFit(
  model: Model,
  bounds: Bounds,
  problem: LeastSquaresProblem,
  z0: Float64Array,
  lm: Lm,
  closeEnough = 0,
): Promise<StagedFit> {
  const nested = model.nested;
  if (!nested) throw new Error(`model ${model.name} does not extend another: no staged fit`);
  const names = model.params.map((s) => s.name);
  const missing = nested.extra.filter((n) => !names.includes(n));
  if (missing.length) throw new Error(`model ${model.name}: nested extras ${missing.join(', ')} are not parameters`);
  const base = names.map((_, j) => j).filter((j) => !nested.extra.includes(names[j]));

  const restricted = new RestrictedProblem(problem, z0, base);
  const first = await lm(restricted, restricted.restrict(z0));
  const zA = Number.isFinite(first.f) ? restricted.expand(first.z) : Float64Array.from(z0);
  let fit = await lm(problem, zA);
  const steps = [`${nested.base} parameters first with ${nested.extra.join(', ')} held (objective ${first.f.toExponential(3)}), then all`];
  if (fit.reason === 'fabs') return { fit, reason: `staged fit: ${steps[0]}: exact` };
  if (fit.f <= closeEnough) return { fit, reason: `staged fit: ${steps[0]}: at the pricing floor` };

  const starts = gridStarts(model, bounds, zA);
  const { r } = await problem.residuals(starts.Z, starts.n);
  const f = r.map(sumSquares);
  const P = model.params.length;
  const order = f.map((_, k) => k).filter((k) => Number.isFinite(f[k]));
  // Screening: a few LM iterations from every priceable start. The starts' own objectives do not
  // rank basins (the base parameters of stage 1 were fitted under the held extras), but a few
  // steps do: starts in the right basin are already falling fast while the others plateau.
  const screened: LmResult[] = [];
  for (const k of order) {
    const s = await lm(problem, starts.Z.slice(k * P, (k + 1) * P), { maxIterations: STAGED_SCREEN_ITERATIONS });
    screened.push(s);
    if (s.reason === 'fabs') break;
  }
  screened.sort((x, y) => x.f - y.f);
  let improved = false;
  for (const s of screened.slice(0, STAGED_GRID_STARTS)) {
    const other = s.converged ? s : await lm(problem, s.z);
    if (other.f < fit.f || !Number.isFinite(fit.f)) {
      fit = other;
      improved = true;
    }
    if (fit.reason === 'fabs') break;
  }
  steps.push(
    `${starts.n} starts for ${nested.extra.join(', ')}, ${STAGED_SCREEN_ITERATIONS} LM iterations from each, LM on from the best ${Math.min(STAGED_GRID_STARTS, screened.length)}` +
      (improved ? `: improved the fit to ${fit.f.toExponential(3)}` : ': nothing better'),
  );
  return { fit, reason: `staged fit: ${steps.join('; ')}` };
}
