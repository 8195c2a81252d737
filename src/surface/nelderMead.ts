/**
 * Nelder-Mead (standard coefficients 1, 2, 0.5, 0.5) on a box: a point outside the box is
 * evaluated at its projection plus a quadratic penalty in the distance, so the simplex is pushed
 * back without the objective ever being called outside. Used for the 2-D (m, ln sigma) search of
 * the quasi-explicit SVI fit, where the objective (an exact inner QP) is continuous but not smooth
 * where the active set changes.
 */
export interface NelderMeadOptions {
  /** Initial simplex edge per coordinate. */
  step: ArrayLike<number>;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  maxEvaluations?: number;
  /** Stop when the simplex's f spread <= ftol (|f_best| + 1e-300) and its extent <= xtol per coordinate (relative to step). */
  ftol?: number;
  xtol?: number;
}

export function nelderMead(fn: (x: Float64Array) => number, x0: ArrayLike<number>, o: NelderMeadOptions): { x: Float64Array; f: number; evaluations: number } {
  const n = x0.length;
  const maxEv = o.maxEvaluations ?? 400;
  const ftol = o.ftol ?? 1e-12;
  const xtol = o.xtol ?? 1e-9;
  let evaluations = 0;
  // Vertices as rows of one array, kept sorted by f; trial points and the projection in scratch
  // rows (nothing allocated per step: the objective is a few hundred nanoseconds).
  const pts = new Float64Array((n + 1) * n);
  const fs = new Float64Array(n + 1);
  const c = new Float64Array(n), xr = new Float64Array(n), xe = new Float64Array(n), xc = new Float64Array(n), y = new Float64Array(n);
  const evalAt = (x: Float64Array, off: number): number => {
    evaluations++;
    let pen = 0;
    for (let j = 0; j < n; j++) {
      const v = Math.min(o.upper[j], Math.max(o.lower[j], x[off + j]));
      const d = (x[off + j] - v) / o.step[j];
      pen += d * d;
      y[j] = v;
    }
    const v = fn(y);
    const base = Number.isFinite(v) ? v : Infinity;
    return pen > 0 ? base + pen * (Math.abs(base) + 1e-12) : base;
  };
  for (let j = 0; j < n; j++) pts[j] = x0[j];
  fs[0] = evalAt(pts, 0);
  for (let i = 1; i <= n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) pts[row + j] = x0[j];
    const j = i - 1;
    pts[row + j] += x0[j] + o.step[j] > o.upper[j] ? -o.step[j] : o.step[j];
    fs[i] = evalAt(pts, row);
  }
  // Stable insertion sort of the vertices by f.
  const order = () => {
    for (let i = 1; i <= n; i++) {
      for (let k = i; k > 0 && fs[k] < fs[k - 1]; k--) {
        const t = fs[k]; fs[k] = fs[k - 1]; fs[k - 1] = t;
        for (let j = 0; j < n; j++) { const u = pts[k * n + j]; pts[k * n + j] = pts[(k - 1) * n + j]; pts[(k - 1) * n + j] = u; }
      }
    }
  };
  const along = (t: number, into: Float64Array) => {
    for (let j = 0; j < n; j++) into[j] = c[j] + t * (pts[n * n + j] - c[j]);
    return into;
  };
  const replaceWorst = (x: Float64Array, f: number) => {
    pts.set(x, n * n);
    fs[n] = f;
  };
  while (evaluations < maxEv) {
    order();
    const spread = fs[n] - fs[0];
    let extent = 0;
    for (let i = 1; i <= n; i++) for (let j = 0; j < n; j++) extent = Math.max(extent, Math.abs(pts[i * n + j] - pts[j]) / o.step[j]);
    if (spread <= ftol * (Math.abs(fs[0]) + 1e-300) && extent <= xtol) break;
    if (extent <= 1e-13) break;
    c.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[j] += pts[i * n + j] / n;
    const fr = evalAt(along(-1, xr), 0);
    if (fr < fs[0]) {
      const fe = evalAt(along(-2, xe), 0);
      if (fe < fr) replaceWorst(xe, fe); else replaceWorst(xr, fr);
    } else if (fr < fs[n - 1]) {
      replaceWorst(xr, fr);
    } else {
      const outside = fr < fs[n];
      const fc = evalAt(along(outside ? -0.5 : 0.5, xc), 0);
      if (fc < (outside ? fr : fs[n])) {
        replaceWorst(xc, fc);
      } else {
        for (let i = 1; i <= n; i++) {
          for (let j = 0; j < n; j++) pts[i * n + j] = pts[j] + 0.5 * (pts[i * n + j] - pts[j]);
          fs[i] = evalAt(pts, i * n);
        }
      }
    }
  }
  order();
  const x = new Float64Array(n);
  for (let j = 0; j < n; j++) x[j] = Math.min(o.upper[j], Math.max(o.lower[j], pts[j]));
  return { x, f: fs[0], evaluations };
}
