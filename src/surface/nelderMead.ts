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
  const evalAt = (x: Float64Array): number => {
    evaluations++;
    let pen = 0;
    const y = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const c = Math.min(o.upper[j], Math.max(o.lower[j], x[j]));
      const d = (x[j] - c) / o.step[j];
      pen += d * d;
      y[j] = c;
    }
    const v = fn(y);
    const base = Number.isFinite(v) ? v : Infinity;
    return pen > 0 ? base + pen * (Math.abs(base) + 1e-12) : base;
  };
  const pts: Float64Array[] = [];
  const fs: number[] = [];
  const start = Float64Array.from(x0);
  pts.push(start);
  fs.push(evalAt(start));
  for (let j = 0; j < n; j++) {
    const p = Float64Array.from(start);
    p[j] += p[j] + o.step[j] > o.upper[j] ? -o.step[j] : o.step[j];
    pts.push(p);
    fs.push(evalAt(p));
  }
  const order = () => {
    const idx = fs.map((_, i) => i).sort((a, b) => fs[a] - fs[b]);
    const P = idx.map((i) => pts[i]);
    const F = idx.map((i) => fs[i]);
    for (let i = 0; i <= n; i++) { pts[i] = P[i]; fs[i] = F[i]; }
  };
  while (evaluations < maxEv) {
    order();
    const spread = fs[n] - fs[0];
    let extent = 0;
    for (let i = 1; i <= n; i++) for (let j = 0; j < n; j++) extent = Math.max(extent, Math.abs(pts[i][j] - pts[0][j]) / o.step[j]);
    if (spread <= ftol * (Math.abs(fs[0]) + 1e-300) && extent <= xtol) break;
    if (extent <= 1e-13) break;
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[j] += pts[i][j] / n;
    const along = (t: number) => Float64Array.from(c, (cj, j) => cj + t * (pts[n][j] - cj));
    const xr = along(-1);
    const fr = evalAt(xr);
    if (fr < fs[0]) {
      const xe = along(-2);
      const fe = evalAt(xe);
      if (fe < fr) { pts[n] = xe; fs[n] = fe; } else { pts[n] = xr; fs[n] = fr; }
    } else if (fr < fs[n - 1]) {
      pts[n] = xr; fs[n] = fr;
    } else {
      const outside = fr < fs[n];
      const xc = along(outside ? -0.5 : 0.5);
      const fc = evalAt(xc);
      if (fc < (outside ? fr : fs[n])) {
        pts[n] = xc; fs[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          pts[i] = Float64Array.from(pts[i], (v, j) => pts[0][j] + 0.5 * (v - pts[0][j]));
          fs[i] = evalAt(pts[i]);
        }
      }
    }
  }
  order();
  const x = Float64Array.from(pts[0], (v, j) => Math.min(o.upper[j], Math.max(o.lower[j], v)));
  return { x, f: fs[0], evaluations };
}
