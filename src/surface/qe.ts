/**
 * Quasi-explicit SVI calibration (Zeliade Systems 2009, "Quasi-explicit calibration of Gatheral's
 * SVI model"): for fixed (m, sigma), with y = (k - m) / sigma,
 *
 *   w(k) = a + d y + c sqrt(y^2 + 1),   d = rho b sigma,  c = b sigma,
 *
 * is linear in x = (a, d, c), so the best (a, d, c) for a weighted least-squares fit in total
 * variance is a 3-variable quadratic programme. The domain keeps every (a, d, c) a valid,
 * Lee-compliant SVI slice with non-negative variance:
 *
 *   |d| <= c                      (|rho| <= 1, b >= 0)
 *   c + |d| <= L sigma            (Lee: wing slopes b (1 +- rho) <= L, L = 2 by default)
 *   a + c - |d| >= 0              (a sufficient, linear form of min w = a + sqrt(c^2 - d^2) >= 0:
 *                                  sqrt(c^2 - d^2) >= c - |d| when |d| <= c; exact at rho = 0)
 *   a <= aMax                     (Zeliade: the level is below the largest market total variance)
 *
 * i.e. 7 linear inequalities A x >= beta. The QP is solved exactly by active-set enumeration: the
 * unconstrained minimiser, then every set of 1, 2, 3 active constraints (63 sets) in order of
 * size, stopping at the first KKT point (feasible, multipliers >= 0), which is the global
 * minimiser of this convex problem. No iteration, no tolerance on convergence, a fixed worst
 * case: the shape a GPU kernel wants.
 *
 * The reduced objective V(m, sigma) = min over (a, d, c) is then searched over (m, sigma):
 * `evaluateGridBatch` evaluates a grid for MANY slices at once from one flat layout, the f64 CPU
 * twin of shaders/svi_grid.wgsl (gpuGrid.ts): per (slice, m) row, its sigma cells in turn, each a
 * loop over the slice's quotes accumulating the 3 sigma-dependent weighted sums (the other 6 once per
 * row), then `solveInner` warm-started from
 * the previous cell's active set.
 */

/** Sufficient statistics of one (slice, m, sigma): weighted sums over the slice's quotes. */
export interface InnerSums {
  /** sum w_i, sum w_i y, sum w_i z, sum w_i y^2, sum w_i y z, sum w_i z^2 (z = sqrt(y^2 + 1)). */
  s1: number;
  sy: number;
  sz: number;
  syy: number;
  syz: number;
  szz: number;
  /** sum w_i W_i, sum w_i y W_i, sum w_i z W_i, sum w_i W_i^2 (W: market total variance). */
  sW: number;
  syW: number;
  szW: number;
  sWW: number;
}

export interface InnerSolution {
  /** Weighted sum of squared total-variance errors at the optimum. */
  f: number;
  a: number;
  d: number;
  c: number;
}

// The 7 constraints A x >= beta(sigma, aMax), x = (a, d, c). Rows of A; beta built per call.
const A_ROWS: ReadonlyArray<readonly [number, number, number]> = [
  [0, -1, 1], // c - d >= 0
  [0, 1, 1], // c + d >= 0
  [0, -1, -1], // -(c + d) >= -L sigma
  [0, 1, -1], // -(c - d) >= -L sigma
  [1, -1, 1], // a + c - d >= 0
  [1, 1, 1], // a + c + d >= 0
  [-1, 0, 0], // -a >= -aMax
];
const NC = A_ROWS.length;

/** All active sets of size 1..3, by size (size-0 is the unconstrained solve). */
const ACTIVE_SETS: number[][] = (() => {
  const sets: number[][] = [];
  for (let i = 0; i < NC; i++) sets.push([i]);
  for (let i = 0; i < NC; i++) for (let j = i + 1; j < NC; j++) sets.push([i, j]);
  for (let i = 0; i < NC; i++) for (let j = i + 1; j < NC; j++) for (let l = j + 1; l < NC; l++) sets.push([i, j, l]);
  return sets;
})();

const NO_SET: number[] = [];
/** No active set (no hint; no KKT point found). -1 is the unconstrained solve, i >= 0 ACTIVE_SETS[i]. */
const NONE = -2;
/** The active set of solveInner's last KKT point: a warm start for the next, neighbouring cell. */
let lastActiveSet = NONE;

// Scratch for the KKT solves (at most 6 x 7 augmented).
const M = new Float64Array(6 * 7);
const SOL = new Float64Array(6);
const BETA = new Float64Array(NC);

/** Gaussian elimination with partial pivoting on the n x (n+1) augmented matrix in M. false if singular. */
function solveAugmented(n: number): boolean {
  const w = n + 1;
  let scale = 0;
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) scale = Math.max(scale, Math.abs(M[r * w + c]));
  if (!(scale > 0)) return false;
  for (let col = 0; col < n; col++) {
    let piv = col;
    let best = Math.abs(M[col * w + col]);
    for (let r = col + 1; r < n; r++) {
      const v = Math.abs(M[r * w + col]);
      if (v > best) { best = v; piv = r; }
    }
    if (!(best > 1e-13 * scale)) return false;
    if (piv !== col) {
      for (let c = 0; c < w; c++) {
        const t = M[col * w + c];
        M[col * w + c] = M[piv * w + c];
        M[piv * w + c] = t;
      }
    }
    const d = M[col * w + col];
    for (let r = col + 1; r < n; r++) {
      const f = M[r * w + col] / d;
      if (f === 0) continue;
      for (let c = col; c < w; c++) M[r * w + c] -= f * M[col * w + c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r * w + n];
    for (let c = r + 1; c < n; c++) s -= M[r * w + c] * SOL[c];
    SOL[r] = s / M[r * w + r];
  }
  return true;
}

// Unit constraint rows (7 x 3) and right-hand sides of the current solveInner call.
const BROW = new Float64Array(3 * NC);
const BRHS = new Float64Array(NC);
// G^-1 (symmetric, 6 entries), the unconstrained point u0 = G^-1 g, and per row G^-1 b_i and b_i . u0.
const GI = new Float64Array(6);
const U0 = new Float64Array(3);
const GB = new Float64Array(3 * NC);
const BU0 = new Float64Array(NC);
const SCH = new Float64Array(9);
const RHS = new Float64Array(3);

function prepareSchur(p: number, q: number, r: number, det: number, g0: number, g1: number, g2: number): void {
  const inv = 1 / det;
  const i00 = (1 - r * r) * inv, i01 = (q * r - p) * inv, i02 = (p * r - q) * inv;
  const i11 = (1 - q * q) * inv, i12 = (p * q - r) * inv, i22 = (1 - p * p) * inv;
  GI[0] = i00; GI[1] = i01; GI[2] = i02; GI[3] = i11; GI[4] = i12; GI[5] = i22;
  U0[0] = i00 * g0 + i01 * g1 + i02 * g2;
  U0[1] = i01 * g0 + i11 * g1 + i12 * g2;
  U0[2] = i02 * g0 + i12 * g1 + i22 * g2;
  for (let i = 0; i < NC; i++) {
    const b0 = BROW[3 * i], b1 = BROW[3 * i + 1], b2 = BROW[3 * i + 2];
    GB[3 * i] = i00 * b0 + i01 * b1 + i02 * b2;
    GB[3 * i + 1] = i01 * b0 + i11 * b1 + i12 * b2;
    GB[3 * i + 2] = i02 * b0 + i12 * b1 + i22 * b2;
    BU0[i] = b0 * U0[0] + b1 * U0[1] + b2 * U0[2];
  }
}

/**
 * KKT point of active set `act` into SOL (u, then the multipliers) by the Schur complement:
 * G u - B^T lambda = g, B u = beta  =>  (B G^-1 B^T) lambda = beta - B u0, u = u0 + G^-1 B^T lambda.
 * false when the set's rows are dependent (the complement is singular).
 */
function solveSchur(act: readonly number[]): boolean {
  const p = act.length;
  for (let j = 0; j < p; j++) {
    const rj = act[j];
    RHS[j] = BRHS[rj] - BU0[rj];
    for (let l = 0; l <= j; l++) {
      const rl = act[l];
      const v = BROW[3 * rj] * GB[3 * rl] + BROW[3 * rj + 1] * GB[3 * rl + 1] + BROW[3 * rj + 2] * GB[3 * rl + 2];
      SCH[3 * j + l] = v;
      SCH[3 * l + j] = v;
    }
  }
  // Cholesky of the p x p complement (positive definite when the rows are independent).
  let dmax = 0;
  for (let j = 0; j < p; j++) dmax = Math.max(dmax, SCH[4 * j]);
  for (let j = 0; j < p; j++) {
    let dj = SCH[4 * j];
    for (let l = 0; l < j; l++) dj -= SCH[3 * j + l] * SCH[3 * j + l];
    if (!(dj > 1e-10 * dmax)) return false;
    dj = Math.sqrt(dj);
    SCH[4 * j] = dj;
    for (let i = j + 1; i < p; i++) {
      let v = SCH[3 * i + j];
      for (let l = 0; l < j; l++) v -= SCH[3 * i + l] * SCH[3 * j + l];
      SCH[3 * i + j] = v / dj;
    }
  }
  for (let i = 0; i < p; i++) {
    let v = RHS[i];
    for (let l = 0; l < i; l++) v -= SCH[3 * i + l] * RHS[l];
    RHS[i] = v / SCH[4 * i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let v = RHS[i];
    for (let l = i + 1; l < p; l++) v -= SCH[3 * l + i] * RHS[l];
    RHS[i] = v / SCH[4 * i];
  }
  let u0 = U0[0], u1 = U0[1], u2 = U0[2];
  for (let j = 0; j < p; j++) {
    const rj = act[j], lam = RHS[j];
    u0 += lam * GB[3 * rj]; u1 += lam * GB[3 * rj + 1]; u2 += lam * GB[3 * rj + 2];
    SOL[3 + j] = lam;
  }
  SOL[0] = u0; SOL[1] = u1; SOL[2] = u2;
  return true;
}

/** KKT point of active set `act` into SOL by pivoted elimination of the full (3 + p) system. */
function solveFull(act: readonly number[], G01: number, G02: number, G12: number, g0: number, g1: number, g2: number): boolean {
  const n = 3 + act.length;
  const w = n + 1;
  M.fill(0, 0, n * w);
  // [G  -B_S^T; B_S  0] [u; lambda] = [g; beta_S / |row|].
  M[0] = 1; M[1] = G01; M[2] = G02; M[n] = g0;
  M[w] = G01; M[w + 1] = 1; M[w + 2] = G12; M[w + n] = g1;
  M[2 * w] = G02; M[2 * w + 1] = G12; M[2 * w + 2] = 1; M[2 * w + n] = g2;
  for (let j = 0; j < act.length; j++) {
    const i = act[j];
    const u0 = BROW[3 * i], u1 = BROW[3 * i + 1], u2 = BROW[3 * i + 2];
    M[3 + j] = -u0; M[w + 3 + j] = -u1; M[2 * w + 3 + j] = -u2;
    M[(3 + j) * w] = u0; M[(3 + j) * w + 1] = u1; M[(3 + j) * w + 2] = u2;
    M[(3 + j) * w + n] = BRHS[i];
  }
  return solveAugmented(n);
}

/**
 * The exact minimiser of sum w_i (a + d y_i + c z_i - W_i)^2 over the constraint polytope.
 * `maxSlope` is Lee's bound L on the wing slopes of w (2; Infinity drops it). `hint`: an active
 * set to try first (the grid passes the previous sigma's: neighbouring cells mostly share theirs,
 * so one KKT solve instead of a walk through the enumeration); a KKT point is the unique
 * minimiser whichever set finds it.
 */
export function solveInner(S: InnerSums, sigma: number, aMax: number, maxSlope = 2, out?: InnerSolution, hint?: number): InnerSolution {
  const res = out ?? { f: 0, a: 0, d: 0, c: 0 };
  // H (3x3 symmetric) and h; a tiny ridge keeps H invertible for degenerate data (< 3 distinct k).
  const ridge = 1e-14 * (S.s1 + S.syy + S.szz);
  const H00 = S.s1 + ridge, H01 = S.sy, H02 = S.sz, H11 = S.syy + ridge, H12 = S.syz, H22 = S.szz + ridge;
  const h0 = S.sW, h1 = S.syW, h2 = S.szW;
  const L = Number.isFinite(maxSlope) ? maxSlope * sigma : 1e300;
  BETA[0] = 0; BETA[1] = 0; BETA[2] = -L; BETA[3] = -L; BETA[4] = 0; BETA[5] = 0; BETA[6] = -aMax;
  const feasTol = 1e-12 * (Math.abs(aMax) + (Number.isFinite(maxSlope) ? L : 0) + 1e-300);
  let bestF = Infinity, bestA = 0, bestD = 0, bestC = 0;
  // Jacobi scaling x = D u (unit diagonal of H) and unit-norm constraint rows keep the KKT
  // matrices well conditioned whatever the units of y (sigma can be 1e-3 of the k range).
  const d0 = 1 / Math.sqrt(H00), d1 = 1 / Math.sqrt(H11), d2 = 1 / Math.sqrt(H22);
  const G01 = H01 * d0 * d1, G02 = H02 * d0 * d2, G12 = H12 * d1 * d2;
  const g0 = h0 * d0, g1 = h1 * d1, g2 = h2 * d2;
  lastActiveSet = NONE;
  // Unit constraint rows in the scaled space, b_i = A_i D / |A_i D|, and their right-hand sides:
  // rows 0-3 are (0, +-d1, +-d2), rows 4-5 (d0, +-d1, d2), row 6 (-d0, 0, 0).
  const n03 = 1 / Math.sqrt(d1 * d1 + d2 * d2), n45 = 1 / Math.sqrt(d0 * d0 + d1 * d1 + d2 * d2);
  for (let i = 0; i < NC; i++) {
    const r = A_ROWS[i];
    const nr = i < 4 ? n03 : i < 6 ? n45 : 1 / d0;
    BROW[3 * i] = r[0] * d0 * nr; BROW[3 * i + 1] = r[1] * d1 * nr; BROW[3 * i + 2] = r[2] * d2 * nr;
    BRHS[i] = BETA[i] * nr;
  }
  // G^-1 from its cofactors when G is well conditioned (det of the unit-diagonal G > 1e-8): then
  // every active set's KKT system is solved through the p x p Schur complement B G^-1 B^T (p <= 3)
  // from the unconstrained point, instead of eliminating the (3 + p)-square system (kept for
  // nearly collinear columns: at det 1e-12 the explicit inverse misses KKT points, measured).
  const det = 1 + 2 * G01 * G02 * G12 - G01 * G01 - G02 * G02 - G12 * G12;
  const schur = det > 1e-8;
  if (schur) prepareSchur(G01, G02, G12, det, g0, g1, g2);
  // The hint (a neighbouring cell's active set) first, then every set in order; by the Schur
  // complement when G allows, and again by elimination if that found no KKT point (roundoff
  // near det 1e-8 can push an active constraint past the feasibility tolerance).
  for (let pass = schur ? 0 : 1; pass < 2 && lastActiveSet === NONE; pass++) {
    for (let t = -2; t < ACTIVE_SETS.length; t++) {
      const si = t === -2 ? (hint ?? NONE) : t;
      if (t === -2 ? si === NONE : si === hint) continue;
      const act = si < 0 ? NO_SET : ACTIVE_SETS[si];
      if (!(pass === 0 ? solveSchur(act) : solveFull(act, G01, G02, G12, g0, g1, g2))) continue;
      const a = SOL[0] * d0, d = SOL[1] * d1, c = SOL[2] * d2;
      // A x >= beta, row by row (A_ROWS written out).
      const tol = -feasTol;
      if (c - d < tol || c + d < tol || L - c - d < tol || L - c + d < tol || a + c - d < tol || a + c + d < tol || aMax - a < tol) continue;
      const f = a * (H00 * a + 2 * H01 * d + 2 * H02 * c) + d * (H11 * d + 2 * H12 * c) + c * H22 * c - 2 * (h0 * a + h1 * d + h2 * c) + S.sWW;
      let kkt = true;
      for (let j = 0; j < act.length; j++) if (SOL[3 + j] < 0) { kkt = false; break; }
      if (f < bestF) { bestF = f; bestA = a; bestD = d; bestC = c; }
      if (kkt) {
        lastActiveSet = si;
        break; // the global minimiser of the convex QP
      }
    }
  }
  if (bestF === Infinity) {
    // Unreachable for finite data (the origin-ish point a = d = c = 0 is feasible and its set is
    // enumerated); kept as a guard so a caller never sees NaN silently.
    res.f = Infinity; res.a = NaN; res.d = NaN; res.c = NaN;
    return res;
  }
  res.f = Math.max(0, bestF);
  res.a = bestA; res.d = bestD; res.c = bestC;
  return res;
}

/** (a, d, c) at (m, sigma) -> raw SVI. */
export function innerToRaw(x: { a: number; d: number; c: number }, m: number, sigma: number) {
  const b = x.c / sigma;
  const rho = x.c > 0 ? Math.max(-1, Math.min(1, x.d / x.c)) : 0;
  return { a: x.a, b, rho, m, sigma };
}

/**
 * Many slices in one flat layout (the layout the WebGPU kernel will bind as storage buffers):
 * slice s owns quotes offsets[s] .. offsets[s+1]-1 of `k` (log-forward moneyness), `w` (market
 * total variance) and `weight` (weights on total-variance errors); `aMax[s]` bounds its level.
 */
export interface SliceBatch {
  offsets: Uint32Array;
  k: Float64Array;
  w: Float64Array;
  weight: Float64Array;
  aMax: Float64Array;
  /** Lee's bound on the wing slopes of w (default 2). */
  maxSlope?: number;
}

/**
 * The (m, sigma) grid of every slice: slice s searches m[s*nm + i], sigma[s*ns + j]. Output cell
 * (s, i, j) sits at index (s * nm + i) * ns + j of `f`, and its (a, d, c) at 3 times that index.
 */
export interface GridSpec {
  nm: number;
  ns: number;
  m: Float64Array;
  sigma: Float64Array;
}

export interface GridResult {
  f: Float64Array;
  adc: Float64Array;
}

const sums: InnerSums = { s1: 0, sy: 0, sz: 0, syy: 0, syz: 0, szz: 0, sW: 0, syW: 0, szW: 0, sWW: 0 };
const sol: InnerSolution = { f: 0, a: 0, d: 0, c: 0 };

/**
 * The sums that do not depend on sigma, at m: with D = k - m, y = D / sigma, sum w y = (sum w D) /
 * sigma and likewise for y^2 and y W, so a grid row (one m, many sigma) computes them once.
 */
interface RowMoments {
  s1: number;
  sD: number;
  sDD: number;
  sW: number;
  sDW: number;
  sWW: number;
}
const row: RowMoments = { s1: 0, sD: 0, sDD: 0, sW: 0, sDW: 0, sWW: 0 };

function rowMoments(k: Float64Array, w: Float64Array, weight: Float64Array, lo: number, hi: number, m: number, into: RowMoments): void {
  let s1 = 0, sD = 0, sDD = 0, sW = 0, sDW = 0, sWW = 0;
  for (let q = lo; q < hi; q++) {
    const wt = weight[q];
    const D = k[q] - m;
    const W = w[q];
    s1 += wt; sD += wt * D; sDD += wt * D * D;
    sW += wt * W; sDW += wt * D * W; sWW += wt * W * W;
  }
  into.s1 = s1; into.sD = sD; into.sDD = sDD; into.sW = sW; into.sDW = sDW; into.sWW = sWW;
}

/** The cell's sums from its row's moments and one pass for the z = sqrt(y^2 + 1) terms. */
function cellSums(k: Float64Array, w: Float64Array, weight: Float64Array, lo: number, hi: number, m: number, sigma: number, R: RowMoments, into: InnerSums): InnerSums {
  let sz = 0, syz = 0, szW = 0;
  const inv = 1 / sigma;
  for (let q = lo; q < hi; q++) {
    const wt = weight[q];
    const y = (k[q] - m) * inv;
    const wz = wt * Math.sqrt(y * y + 1);
    sz += wz; syz += wz * y; szW += wz * w[q];
  }
  const syy = R.sDD * inv * inv;
  into.s1 = R.s1; into.sy = R.sD * inv; into.sz = sz;
  into.syy = syy; into.syz = syz; into.szz = syy + R.s1;
  into.sW = R.sW; into.syW = R.sDW * inv; into.szW = szW; into.sWW = R.sWW;
  return into;
}

/** Accumulates the sums of quotes [lo, hi) of the arrays at (m, sigma) into `into`. */
export function accumulateSums(
  k: Float64Array,
  w: Float64Array,
  weight: Float64Array,
  lo: number,
  hi: number,
  m: number,
  sigma: number,
  into: InnerSums = sums,
): InnerSums {
  rowMoments(k, w, weight, lo, hi, m, row);
  return cellSums(k, w, weight, lo, hi, m, sigma, row, into);
}

/** V(m, sigma) and its (a, d, c) for quotes [lo, hi) of a batch; `hint` as in solveInner. */
export function innerAt(batch: SliceBatch, slice: number, m: number, sigma: number, out?: InnerSolution, hint?: number): InnerSolution {
  const lo = batch.offsets[slice];
  const hi = batch.offsets[slice + 1];
  accumulateSums(batch.k, batch.w, batch.weight, lo, hi, m, sigma, sums);
  return solveInner(sums, sigma, batch.aMax[slice], batch.maxSlope ?? 2, out ?? { f: 0, a: 0, d: 0, c: 0 }, hint);
}

/** The active set of the last solveInner / innerAt KKT point, a `hint` for the next nearby call. */
export function lastInnerActiveSet(): number {
  return lastActiveSet;
}

/** Evaluates the (m, sigma) grid of every slice of the batch: the CPU twin of the grid kernel. */
export function evaluateGridBatch(batch: SliceBatch, grid: GridSpec, out?: GridResult): GridResult {
  const S = batch.offsets.length - 1;
  const { nm, ns } = grid;
  if (grid.m.length !== S * nm) throw new RangeError(`grid.m has length ${grid.m.length}, expected ${S} x ${nm}`);
  if (grid.sigma.length !== S * ns) throw new RangeError(`grid.sigma has length ${grid.sigma.length}, expected ${S} x ${ns}`);
  const cells = S * nm * ns;
  const res = out ?? { f: new Float64Array(cells), adc: new Float64Array(3 * cells) };
  const L = batch.maxSlope ?? 2;
  for (let s = 0; s < S; s++) {
    const lo = batch.offsets[s];
    const hi = batch.offsets[s + 1];
    for (let i = 0; i < nm; i++) {
      const m = grid.m[s * nm + i];
      let hint = NONE;
      rowMoments(batch.k, batch.w, batch.weight, lo, hi, m, row);
      for (let j = 0; j < ns; j++) {
        const sigma = grid.sigma[s * ns + j];
        const cell = (s * nm + i) * ns + j;
        cellSums(batch.k, batch.w, batch.weight, lo, hi, m, sigma, row, sums);
        solveInner(sums, sigma, batch.aMax[s], L, sol, hint);
        hint = lastActiveSet;
        res.f[cell] = sol.f;
        res.adc[3 * cell] = sol.a;
        res.adc[3 * cell + 1] = sol.d;
        res.adc[3 * cell + 2] = sol.c;
      }
    }
  }
  return res;
}
