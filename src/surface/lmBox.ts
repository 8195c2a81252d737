/**
 * A small synchronous Levenberg-Marquardt for dense least-squares problems with box bounds
 * (5 parameters for an SVI slice, N + 3 for SSVI, 3N for eSSVI).
 *
 * Why not src/optim/lm.ts: that one works in an unconstrained space (bounds through a
 * logit/log transform, so a parameter can never sit exactly on a bound) and is asynchronous
 * (batched GPU pricing). Here bounds are active in practice (an SSVI theta increment of exactly
 * 0, a Lee slope on its limit), the residuals are closed forms, and the surface fits run many small
 * problems back to back, so a projected, synchronous LM fits better:
 *
 * - step: (A_FF + lambda diag(A_FF)) dx_F = -g_F on the free variables F (a variable on a bound
 *   whose gradient pushes it outwards is held), then projected onto the box;
 * - damping: Nielsen's update (lambda shrinks by up to 3x on a good step, doubles-and-more on a bad one);
 * - Jacobian: the problem's own, else central differences (one-sided at a bound);
 * - stops: relative decrease < ftol on an accepted step, |dx| <= xtol (|x| + xtol), projected
 *   gradient cosine <= gtol, f <= fabs, damping above 1e16 ('stalled': the best point reachable
 *   at f64 precision), or the iteration cap. A trial with non-finite residuals is rejected.
 */

export interface BoxProblem {
  /** Number of parameters. */
  n: number;
  lower: Float64Array;
  upper: Float64Array;
  /** Residual vector at x (always the same length); non-finite entries reject the point. */
  residuals(x: Float64Array): Float64Array;
  /** Optional Jacobian d r / d x (rows = residuals, row-major). */
  jacobian?(x: Float64Array, r: Float64Array): Float64Array;
  /** Typical magnitude per parameter, for finite-difference steps (default max(|x|, 1e-3)). */
  typical?: Float64Array;
}

export interface BoxLmOptions {
  maxIterations?: number;
  ftol?: number;
  xtol?: number;
  gtol?: number;
  fabs?: number;
  fdStep?: number;
}

export type BoxLmReason = 'ftol' | 'xtol' | 'gtol' | 'fabs' | 'stalled' | 'max-iterations' | 'non-finite-start';

export interface BoxLmResult {
  x: Float64Array;
  f: number;
  r: Float64Array;
  iterations: number;
  converged: boolean;
  reason: BoxLmReason;
}

function sumSq(r: Float64Array): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i] * r[i];
  return Number.isFinite(s) ? s : Infinity;
}

export function fdJacobian(p: BoxProblem, x: Float64Array, r0: Float64Array, step = 1e-6): Float64Array {
  const n = p.n;
  const m = r0.length;
  const J = new Float64Array(m * n);
  const xt = Float64Array.from(x);
  for (let j = 0; j < n; j++) {
    const typ = p.typical ? p.typical[j] : 1e-3;
    const h = step * Math.max(Math.abs(x[j]), typ);
    const up = Math.min(x[j] + h, p.upper[j]);
    const dn = Math.max(x[j] - h, p.lower[j]);
    xt[j] = up;
    const rp = up > x[j] ? p.residuals(xt) : r0;
    xt[j] = dn;
    const rm = dn < x[j] ? p.residuals(xt) : r0;
    xt[j] = x[j];
    const den = up - dn;
    if (!(den > 0)) continue;
    for (let i = 0; i < m; i++) {
      let v = (rp[i] - rm[i]) / den;
      if (!Number.isFinite(v)) {
        // One side failed (e.g. a residual undefined past a model edge): the other side alone.
        v = Number.isFinite(rp[i]) && up > x[j] ? (rp[i] - r0[i]) / (up - x[j]) : Number.isFinite(rm[i]) && dn < x[j] ? (r0[i] - rm[i]) / (x[j] - dn) : 0;
      }
      J[i * n + j] = v;
    }
  }
  return J;
}

/** Cholesky solve of the k x k system in place (M row-major), allocating nothing; false if not positive definite. */
export function cholSolve(Mx: Float64Array, b: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let d = Mx[j * k + j];
    for (let l = 0; l < j; l++) d -= Mx[j * k + l] * Mx[j * k + l];
    if (!(d > 0)) return false;
    d = Math.sqrt(d);
    Mx[j * k + j] = d;
    for (let i = j + 1; i < k; i++) {
      let s = Mx[i * k + j];
      for (let l = 0; l < j; l++) s -= Mx[i * k + l] * Mx[j * k + l];
      Mx[i * k + j] = s / d;
    }
  }
  for (let i = 0; i < k; i++) {
    let s = b[i];
    for (let l = 0; l < i; l++) s -= Mx[i * k + l] * b[l];
    b[i] = s / Mx[i * k + i];
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i];
    for (let l = i + 1; l < k; l++) s -= Mx[l * k + i] * b[l];
    b[i] = s / Mx[i * k + i];
  }
  return true;
}

export function lmBox(p: BoxProblem, x0: ArrayLike<number>, opts: BoxLmOptions = {}): BoxLmResult {
  const n = p.n;
  const maxIt = opts.maxIterations ?? 200;
  const ftol = opts.ftol ?? 1e-14;
  const xtol = opts.xtol ?? 1e-14;
  const gtol = opts.gtol ?? 1e-12;
  const fabs = opts.fabs ?? 0;
  const clip = (v: number, j: number) => Math.min(p.upper[j], Math.max(p.lower[j], v));
  let x = Float64Array.from(x0, (v, j) => clip(v, j));
  let r = p.residuals(x);
  let f = sumSq(r);
  const done = (reason: BoxLmReason, converged: boolean, iterations: number): BoxLmResult => ({ x, f, r, iterations, converged, reason });
  if (!Number.isFinite(f)) return done('non-finite-start', false, 0);
  const m = r.length;
  const jac = (xx: Float64Array, rr: Float64Array) => (p.jacobian ? p.jacobian(xx, rr) : fdJacobian(p, xx, rr, opts.fdStep));
  let J = jac(x, r);
  const A = new Float64Array(n * n);
  const g = new Float64Array(n);
  const nz = new Int32Array(n);
  const normal = () => {
    A.fill(0);
    g.fill(0);
    // Row by row over the non-zero entries only: the joint SVI Jacobian has <= 10 per row of 5N.
    for (let i = 0; i < m; i++) {
      const ri = r[i];
      const row = i * n;
      let c = 0;
      for (let a = 0; a < n; a++) if (J[row + a] !== 0) nz[c++] = a;
      for (let u = 0; u < c; u++) {
        const a = nz[u];
        const ja = J[row + a];
        g[a] += ja * ri;
        for (let v = u; v < c; v++) A[a * n + nz[v]] += ja * J[row + nz[v]];
      }
    }
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) A[a * n + b] = A[b * n + a];
  };
  normal();
  let lambda = 1e-3;
  let nu = 2;
  const free = new Int32Array(n);
  for (let it = 1; it <= maxIt; it++) {
    if (f <= fabs) return done('fabs', true, it - 1);
    // Free set: not on a bound with the gradient pushing outwards.
    let nf = 0;
    let cosMax = 0;
    for (let j = 0; j < n; j++) {
      const atLo = x[j] <= p.lower[j] && g[j] > 0;
      const atHi = x[j] >= p.upper[j] && g[j] < 0;
      if (atLo || atHi) continue;
      free[nf++] = j;
      const d = Math.sqrt(A[j * n + j] * f);
      if (d > 0) cosMax = Math.max(cosMax, Math.abs(g[j]) / d);
    }
    if (nf === 0 || cosMax <= gtol) return done('gtol', true, it - 1);
    for (;;) {
      if (lambda > 1e16) return done('stalled', true, it - 1);
      const Mx = new Float64Array(nf * nf);
      const b = new Float64Array(nf);
      for (let a = 0; a < nf; a++) {
        const ja = free[a];
        for (let c = 0; c < nf; c++) Mx[a * nf + c] = A[ja * n + free[c]];
        Mx[a * nf + a] += lambda * Math.max(A[ja * n + ja], 1e-30);
        b[a] = -g[ja];
      }
      if (!cholSolve(Mx, b, nf)) { lambda *= nu; nu *= 2; continue; }
      const xt = Float64Array.from(x);
      for (let a = 0; a < nf; a++) xt[free[a]] = clip(x[free[a]] + b[a], free[a]);
      // Predicted decrease for the projected step s = xt - x: -(2 g.s + s.A.s).
      let gs = 0;
      let sAs = 0;
      let sn = 0;
      let xn = 0;
      for (let a = 0; a < n; a++) {
        const sa = xt[a] - x[a];
        if (sa === 0) continue;
        gs += g[a] * sa;
        for (let c = 0; c < n; c++) sAs += sa * A[a * n + c] * (xt[c] - x[c]);
        sn += sa * sa;
      }
      for (let a = 0; a < n; a++) xn += x[a] * x[a];
      const pred = -2 * gs - sAs;
      if (sn === 0) return done('xtol', true, it - 1);
      const rt = p.residuals(xt);
      const ft = sumSq(rt);
      const ratio = Number.isFinite(ft) && pred > 0 ? (f - ft) / pred : -1;
      if (ratio > 1e-4) {
        const fPrev = f;
        x = xt;
        r = rt;
        f = ft;
        J = jac(x, r);
        normal();
        lambda *= Math.max(1 / 3, 1 - (2 * ratio - 1) ** 3);
        nu = 2;
        if (f <= fabs) return done('fabs', true, it);
        if (fPrev - f <= ftol * fPrev && pred <= ftol * fPrev) return done('ftol', true, it);
        if (Math.sqrt(sn) <= xtol * (Math.sqrt(xn) + xtol)) return done('xtol', true, it);
        break;
      }
      lambda *= nu;
      nu *= 2;
    }
  }
  return done('max-iterations', false, maxIt);
}
