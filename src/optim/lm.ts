/**
 * Levenberg-Marquardt on a batched least-squares problem in an unconstrained space (bounds are
 * handled by the transform, so every step is feasible).
 *
 * Jacobian: analytic when the problem offers `residualsAndJacobian` (the COS engine's parameter
 * gradients chained through the bound transform: one set priced per Jacobian, exact), otherwise
 * finite differences, with the base point and all P perturbed points priced in ONE batch (P+1 sets forward, 2P+1 central). With `speculative`, the trial point and its
 * perturbations go out together: an accepted step (the common case) then costs a single batch,
 * one GPU round trip per iteration instead of two; on the CPU that would waste P evaluations per
 * rejected step, so it is off there. Analytic Jacobians are always speculative (the gradient
 * costs a fraction of a stencil, and most trials are accepted).
 *
 * GPU-resident iterations: a problem with `normalEquations` (the objective over a GPU pricer, in
 * first-order IV or price residuals) reduces each finite-difference stencil to f, g = J^T r and
 * A = J^T J where the prices are, and LM, which needs nothing else for its update, never sees the
 * residual vectors until the end: the final point is evaluated once through `residuals` for the
 * r and J it returns (posterior, reporting). A stencil whose perturbed prices are not finite is
 * redone through `residuals` (one-sided differences there); a non-finite base is a rejected step.
 *
 * Damping: Marquardt's diagonal scaling with Nielsen's update (lambda shrinks by up to 3x on a good
 * step, doubles-and-more on a bad one). A trial whose residuals are not finite (NaN prices) is a
 * rejected step, never an accepted one.
 *
 * Convergence (first met wins; all relative, so they do not depend on units):
 * - 'gtol': max_j |g_j| / sqrt(A_jj f) <= gtol (cosine between residual and every Jacobian column);
 * - 'ftol': an accepted step reduced f by < ftol f and predicted < ftol f; or, with `ptol`, the
 *   undamped Gauss-Newton step from the current point predicts a decrease below ptol f (checked
 *   before each step, the start included: the step that would only confirm ftol is not taken);
 * - 'xtol': an accepted step with |dz| <= xtol (|z| + xtol);
 * - 'fabs': f <= fabs (an exact fit);
 * - 'stalled': lambda exceeded 1e16 without a decrease. Steps are then ~1e-16 of a gradient step,
 *   which always decrease a smooth function whose gradient is real: the finite-difference
 *   gradient is below the precision floor of the prices (f64 COS ~1e-14, f32 ~1e-7), so the fit
 *   is as good as the prices allow. Reported as converged, with its own message.
 * Running out of iterations or evaluations is reported as not converged.
 */
import { cholesky, choleskySolve, normalEquations } from './linalg.js';
import { sumSquares, type LeastSquaresProblem } from './problem.js';
import { lonePoint, stencil, stencilJacobian } from './stencil.js';
import { yieldToEventLoop } from '../util/yieldToEventLoop.js';

export interface LmOptions {
  maxIterations?: number; // default 200
  maxEvaluations?: number; // default 20,000 parameter sets
  ftol?: number; // default 1e-12
  /** Stop before a step whose Gauss-Newton model predicts a decrease below ptol f (default 0: off). */
  ptol?: number;
  xtol?: number; // default 1e-10
  gtol?: number; // default 1e-10
  fabs?: number; // default 0 (absolute: the calibrator scales it by the quote count)
  /** Relative finite-difference step in z (default 1e-7: about sqrt of f64 pricing noise). */
  fdStep?: number;
  fdScheme?: 'forward' | 'central';
  speculative?: boolean;
  /** 'auto' (default): the problem's analytic Jacobian when it has one, else finite differences. */
  jacobian?: 'auto' | 'analytic' | 'fd';
  /** `z`: the accepted point (the caller's coordinates; do not modify). */
  onIteration?: (iteration: number, f: number, z: Float64Array) => void;
}

export type LmReason = 'gtol' | 'ftol' | 'xtol' | 'fabs' | 'stalled' | 'max-iterations' | 'max-evaluations' | 'non-finite-start';

export interface LmResult {
  z: Float64Array;
  f: number;
  r: Float64Array;
  J: Float64Array;
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: LmReason;
  history: number[];
  /** How the Jacobians were computed: analytic parameter gradients or a batched finite-difference stencil. */
  jacobian: 'analytic' | 'fd-batch';
}

export async function levenbergMarquardt(problem: LeastSquaresProblem, z0: Float64Array, opts: LmOptions = {}): Promise<LmResult> {
  const p = problem.p;
  const size = problem.size;
  const maxIt = opts.maxIterations ?? 200;
  const maxEv = opts.maxEvaluations ?? 20_000;
  const ftol = opts.ftol ?? 1e-12;
  const ptol = opts.ptol ?? 0;
  const xtol = opts.xtol ?? 1e-10;
  const gtol = opts.gtol ?? 1e-10;
  const fabs = opts.fabs ?? 0;
  const step = opts.fdStep ?? 1e-7;
  const scheme = opts.fdScheme ?? 'forward';
  let evaluations = 0;
  const mode = opts.jacobian ?? 'auto';
  const hasAnalytic = problem.residualsAndJacobian !== undefined;
  if (mode === 'analytic' && !hasAnalytic) throw new Error('LM: an analytic Jacobian was asked for, but the problem has none');
  // 'auto': the analytic Jacobian whenever the problem offers one. It costs one gradient call
  // (~2.6 prices for Heston, ~1 for Merton) against P + 1 prices for a stencil, and it keeps
  // the choice, and so the fit, independent of machine load (an earlier version timed both).
  const analytic = mode !== 'fd' && hasAnalytic;

  // A point as LM's update sees it; r and J only where the full path computed them.
  interface Point {
    f: number;
    A: Float64Array | null;
    g: Float64Array | null;
    r?: Float64Array;
    J?: Float64Array | null;
  }
  const full = (x: { r: Float64Array; J: Float64Array | null }): Point => ({
    f: sumSquares(x.r),
    ...(x.J ? normalEquations(x.J, x.r, size, p) : { A: null, g: null }),
    r: x.r,
    J: x.J,
  });
  const analyticPoint = async (z: Float64Array) => {
    evaluations += 1;
    return problem.residualsAndJacobian!(z);
  };
  // Evaluates the point, with its Jacobian (analytic, or its stencil) when asked; one batch either way.
  const evalPoint = async (z: Float64Array, withJ: boolean): Promise<Point> => {
    if (withJ && analytic) return full(await analyticPoint(z));
    return (await residentPoint(z, withJ)) ?? full(await fdPoint(z, withJ));
  };
  // The problem's own reduction of the stencil (GPU-resident), or null for the full path.
  const residentPoint = async (z: Float64Array, withJ: boolean): Promise<Point | null> => {
    if (analytic || !problem.normalEquations) return null;
    const st = withJ ? stencil(z, step, scheme) : lonePoint(z);
    const res = await problem.normalEquations(st);
    if (!res) return null;
    evaluations += st.n;
    // A perturbed set did not price: the full path, whose one-sided differences may still work.
    if (withJ && !res.A && Number.isFinite(res.f)) return null;
    return { f: res.f, A: res.A, g: res.g };
  };
  const fdPoint = async (z: Float64Array, withJ = true): Promise<{ r: Float64Array; J: Float64Array | null }> => {
    if (!withJ) {
      const { r } = await problem.residuals(z, 1);
      evaluations += 1;
      return { r: r[0], J: null };
    }
    const st = stencil(z, step, scheme);
    let { r } = await problem.residuals(st.Z, st.n);
    evaluations += st.n;
    if (!Number.isFinite(sumSquares(r[0]))) return { r: r[0], J: null };
    let J = stencilJacobian(r, st.h, scheme, size);
    if (!J && scheme === 'forward') {
      // A forward perturbation hit a non-finite price (e.g. at a model edge): try central.
      const c = stencil(z, step, 'central');
      r = (await problem.residuals(c.Z, c.n)).r;
      evaluations += c.n;
      J = stencilJacobian(r, c.h, 'central', size);
    }
    return { r: r[0], J };
  };

  let z = Float64Array.from(z0);
  let cur = await evalPoint(z, true);
  let f = cur.f;
  const history = [f];
  const done = async (reason: LmReason, converged: boolean, iterations: number): Promise<LmResult> => {
    let { r, J } = cur;
    if (!r && Number.isFinite(f)) {
      // Iterated on reduced sums: r and J of the final point, once, for the posterior and reports
      // (and f from the same residuals, so results of different runs compare on one footing).
      const last = await fdPoint(z, true);
      r = last.r;
      J = last.J;
      if (Number.isFinite(sumSquares(r))) f = sumSquares(r);
    }
    return {
      z, f, r: r ?? new Float64Array(size).fill(NaN), J: J ?? new Float64Array(size * p), iterations, evaluations, converged, reason, history,
      jacobian: analytic ? 'analytic' : 'fd-batch',
    };
  };
  if (!Number.isFinite(f) || !cur.A || !cur.g) return done('non-finite-start', false, 0);

  let A: Float64Array = cur.A;
  let g: Float64Array = cur.g;
  let lambda = 1e-3 * Math.max(...Array.from({ length: p }, (_, j) => A[j * p + j]), 1e-300);
  let nu = 2;
  // Speculative stencils only pay off for batched finite differences on the GPU.
  // An analytic trial always carries its gradient: steps are mostly accepted, and one
  // price-and-gradient call (~2.6 prices for Heston) is cheaper than a price-only trial followed by
  // a price-and-gradient call at the accepted point (~3.6).
  const speculative = ((opts.speculative ?? false) && !analytic) || analytic;

  const gradientCosine = () => {
    let worst = 0;
    for (let j = 0; j < p; j++) {
      const d = Math.sqrt(A[j * p + j] * f);
      if (d > 0) worst = Math.max(worst, Math.abs(g[j]) / d);
    }
    return worst;
  };

  for (let it = 1; it <= maxIt; it++) {
    await yieldToEventLoop();
    if (f <= fabs) return done('fabs', true, it - 1);
    if (gradientCosine() <= gtol) return done('gtol', true, it - 1);
    if (ptol > 0 && gaussNewtonDecrease(A, g, p) <= ptol * f) return done('ftol', true, it - 1);
    // Inner loop: raise the damping until a step decreases f.
    for (;;) {
      if (evaluations >= maxEv) return done('max-evaluations', false, it - 1);
      if (lambda > 1e16) return done('stalled', true, it - 1);
      const M = Float64Array.from(A);
      for (let j = 0; j < p; j++) M[j * p + j] += lambda * Math.max(A[j * p + j], 1e-12);
      const L = cholesky(M, p);
      if (!L) { lambda *= nu; nu *= 2; continue; }
      const negG = Float64Array.from(g, (v) => -v);
      const dz = choleskySolve(L, negG, p);
      const zt = Float64Array.from(z, (v, j) => v + dz[j]);
      // Predicted decrease of |r + J dz|^2 from f.
      let dg = 0;
      let dAd = 0;
      for (let a = 0; a < p; a++) {
        dg += dz[a] * g[a];
        for (let b = 0; b < p; b++) dAd += dz[a] * A[a * p + b] * dz[b];
      }
      const pred = -2 * dg - dAd;
      const trial = await evalPoint(zt, speculative);
      const ft = trial.f;
      const rho = Number.isFinite(ft) && pred > 0 ? (f - ft) / pred : -1;
      if (rho > 1e-4) {
        const fPrev = f;
        z = zt;
        f = ft;
        cur = trial.A ? trial : await evalPoint(z, true);
        if (!cur.A || !cur.g) return done('non-finite-start', false, it);
        A = cur.A;
        g = cur.g;
        lambda *= Math.max(1 / 3, 1 - (2 * rho - 1) ** 3);
        nu = 2;
        history.push(f);
        opts.onIteration?.(it, f, z);
        let dzn = 0;
        let zn = 0;
        for (let j = 0; j < p; j++) { dzn += dz[j] * dz[j]; zn += z[j] * z[j]; }
        if (f <= fabs) return done('fabs', true, it);
        if (fPrev - f <= ftol * fPrev && pred <= ftol * fPrev) return done('ftol', true, it);
        if (Math.sqrt(dzn) <= xtol * (Math.sqrt(zn) + xtol)) return done('xtol', true, it);
        break;
      }
      lambda *= nu;
      nu *= 2;
    }
  }
  return done('max-iterations', false, maxIt);
}

/**
 * g^T A^-1 g: the decrease of |r + J dz|^2 that the undamped Gauss-Newton step dz = -A^-1 g
 * predicts (A = J^T J, g = J^T r); Infinity when A is singular (a direction the data do not
 * hold: no prediction, so no stop on it).
 */
function gaussNewtonDecrease(A: Float64Array, g: Float64Array, p: number): number {
  const L = cholesky(A, p);
  if (!L) return Infinity;
  const x = choleskySolve(L, g, p);
  let d = 0;
  for (let j = 0; j < p; j++) d += g[j] * x[j];
  return d;
}
