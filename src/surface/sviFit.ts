/**
 * Raw SVI per expiry slice, fitted to market implied vols:
 *
 * 1. Quasi-explicit stage (qe.ts) for all slices together: weights on total-variance errors
 *    weight_i / (4 W_i T) make the total-variance objective the first-order IV objective
 *    (d iv = dW / (2 iv T)). One batched evaluation of an (m, sigma) grid per slice
 *    (`evaluateGridBatch`, the CPU twin of the planned WebGPU kernel): m over the quoted k range
 *    widened by its width each side, sigma log-spaced from range/200 to 4 max(range, 0.05).
 * 2. Several starts per slice: the best grid cells that are local minima of the grid, each
 *    refined by Nelder-Mead in (m, ln sigma) on the exact reduced objective V(m, sigma), to a
 *    start's precision (V within 1e-9 relatively, the simplex within 1e-4 of a grid step, 120
 *    evaluations at most); runs ending at the same point (1 % of a grid step) count once.
 * 3. Polish: LM (`polishSlice`, lmBox's projected LM specialised to 5 parameters with an analytic
 *    Jacobian) on all five parameters against exact IV residuals
 *    sqrt(weight_i) (sqrt(w(k_i)/T) - iv_i); the minimum variance stays >= 0 and Lee's bound
 *    b (1 + |rho|) <= 2 holds (trial points outside are rejected). The best start wins.
 * 4. With `arbitrageFree` (and when step 3 left a violation on the check grid): one joint LM
 *    over all slices (5 parameters each) with penalty rows P max(0, 1e-4 - g(k)) (butterfly) and
 *    P max(0, w_i(k) - w_{i+1}(k)) / mean W (calendar) on the check grid thinned to 61 points,
 *    from two starts: the slices of step 3 and the given admissible slices (`admissibleStarts`, e.g.
 *    the arbitrage-free eSSVI fit: Gatheral & Jacquier 2014, 5.2). P starts at 10 and is raised
 *    10x (up to 3 times) while the full check grid still finds a violation; the admissible
 *    result with the lower objective wins (the less violating one if neither is admissible).
 *    Jointly, not slice after slice: a sequential fit lets one slice's data-free wing force every
 *    later slice above it.
 *
 * Thin slices: 3 or 4 quotes fit a reduced form (m at the quote of lowest total variance,
 * sigma = max(half the k range, sqrt(mean W)), then a, rho, b by the exact QP); 1 or 2 quotes fit
 * a flat smile (b = 0, a = the weighted mean total variance). Marked `fallback` in the result and
 * held fixed in the joint polish.
 */
import { densityG, gridPoints, type CheckGrid } from './arbitrage.js';
import { cholSolve, lmBox } from './lmBox.js';
import { nelderMead } from './nelderMead.js';
import { evaluateGridBatch, innerAt, innerToRaw, lastInnerActiveSet, type GridResult, type GridSpec, type SliceBatch } from './qe.js';
import type { SliceData } from './slices.js';
import { sviDerivs, sviFromArray, sviW, type SviRaw } from './svi.js';

export interface SviFitOptions {
  /** Grid size per slice (default 25 m x 20 sigma). */
  grid?: { nm?: number; ns?: number };
  /** Starts per slice refined by Nelder-Mead and polished (default 4). */
  starts?: number;
  /** Remove butterfly and calendar arbitrage by the joint penalised polish (default false). */
  arbitrageFree?: boolean;
  /** The arbitrage check grid (penalties use it thinned to 61 points). */
  checkGrid?: CheckGrid;
  /** Lee's bound on wing slopes (default 2). */
  maxSlope?: number;
  /**
   * Admissible starts for the joint arbitrage-free polish, one per slice (e.g. the slices of an
   * arbitrage-free eSSVI fit); called only when the unconstrained slices have a violation.
   */
  admissibleStarts?: () => readonly SviRaw[] | undefined;
  /**
   * The grid stage's values, evaluated elsewhere (on WebGPU: gpuGrid.ts) for exactly
   * `sviGridProblem(slices, options)`; computed here by the f64 twin when absent.
   */
  gridValues?: GridResult;
}

export interface SviSliceFit {
  params: SviRaw;
  /** Weighted sum of squared IV errors (weights as in the slice). */
  sse: number;
  rmse_iv: number;
  fallback?: 'reduced' | 'flat';
  /** The grid + Nelder-Mead stage's parameters before the polish (for diagnostics). */
  qe?: SviRaw;
  starts: number;
}

/** Total-variance weights of the quasi-explicit stage. */
function tvWeights(s: SliceData): Float64Array {
  return Float64Array.from(s.weight, (w, i) => w / (4 * s.w[i] * s.T));
}

export function buildBatch(slices: readonly SliceData[], maxSlope = 2): SliceBatch {
  const offsets = new Uint32Array(slices.length + 1);
  slices.forEach((s, i) => (offsets[i + 1] = offsets[i] + s.k.length));
  const n = offsets[slices.length];
  const k = new Float64Array(n), w = new Float64Array(n), weight = new Float64Array(n);
  slices.forEach((s, i) => {
    k.set(s.k, offsets[i]);
    w.set(s.w, offsets[i]);
    weight.set(tvWeights(s), offsets[i]);
  });
  return { offsets, k, w, weight, aMax: Float64Array.from(slices, (s) => Math.max(...s.w)), maxSlope };
}

interface Box {
  mLo: number;
  mHi: number;
  sLo: number;
  sHi: number;
}

function sliceBox(s: SliceData): Box {
  const kMin = s.k[0], kMax = s.k[s.k.length - 1];
  const range = Math.max(kMax - kMin, 1e-3);
  return { mLo: kMin - range, mHi: kMax + range, sLo: Math.max(1e-4, range / 200), sHi: 4 * Math.max(range, 0.05) };
}

export function buildGrid(slices: readonly SliceData[], nm: number, ns: number): GridSpec {
  const m = new Float64Array(slices.length * nm);
  const sigma = new Float64Array(slices.length * ns);
  slices.forEach((s, i) => {
    const b = sliceBox(s);
    for (let j = 0; j < nm; j++) m[i * nm + j] = b.mLo + ((b.mHi - b.mLo) * j) / (nm - 1);
    const l0 = Math.log(b.sLo), l1 = Math.log(b.sHi);
    for (let j = 0; j < ns; j++) sigma[i * ns + j] = Math.exp(l0 + ((l1 - l0) * j) / (ns - 1));
  });
  return { nm, ns, m, sigma };
}

/** The best `count` grid cells of slice s that are local minima of the grid (8-neighbourhood). */
function gridStarts(f: Float64Array, s: number, nm: number, ns: number, count: number): Array<[number, number]> {
  const at = (i: number, j: number) => f[(s * nm + i) * ns + j];
  const cells: Array<[number, number, number]> = [];
  for (let i = 0; i < nm; i++) {
    for (let j = 0; j < ns; j++) {
      const v = at(i, j);
      let isMin = true;
      for (let di = -1; di <= 1 && isMin; di++) {
        for (let dj = -1; dj <= 1; dj++) {
          const a = i + di, b = j + dj;
          if ((di || dj) && a >= 0 && a < nm && b >= 0 && b < ns && at(a, b) < v) { isMin = false; break; }
        }
      }
      if (isMin) cells.push([v, i, j]);
    }
  }
  cells.sort((x, y) => x[0] - y[0]);
  return cells.slice(0, count).map(([, i, j]) => [i, j]);
}

function ivSse(p: SviRaw, s: SliceData): number {
  let f = 0;
  for (let i = 0; i < s.k.length; i++) {
    const w = sviW(p, s.k[i]);
    if (!(w > 0)) return Infinity;
    const e = Math.sqrt(w / s.T) - s.iv[i];
    f += s.weight[i] * e * e;
  }
  return f;
}

export function sliceRmse(p: SviRaw, s: SliceData): number {
  let f = 0;
  for (let i = 0; i < s.k.length; i++) {
    const e = Math.sqrt(Math.max(0, sviW(p, s.k[i])) / s.T) - s.iv[i];
    f += e * e;
  }
  return Math.sqrt(f / s.k.length);
}

export interface PolishOptions {
  maxSlope?: number;
  maxIterations?: number;
  /** Stop when an accepted step lowers the objective by less than this, relatively (default 1e-10). */
  ftol?: number;
}

/** Box of one slice's (a, b, rho, m, sigma) in the polish. */
function polishBounds(s: SliceData, L: number): { lower: number[]; upper: number[] } {
  const n = s.k.length;
  const range = s.k[n - 1] - s.k[0];
  return { lower: [-10, 0, -1 + 1e-9, s.k[0] - 2 * range - 1, 1e-6], upper: [10, L, 1 - 1e-9, s.k[n - 1] + 2 * range + 1, 10] };
}

/** false when p breaks a hard constraint of the polish (Lee, min variance). */
function admissible(p: SviRaw, L: number): boolean {
  return p.b * (1 + Math.abs(p.rho)) <= L && p.a + p.b * p.sigma * Math.sqrt(1 - p.rho * p.rho) >= 0;
}

/** A start moved inside the hard constraints. */
function nudge(x: Float64Array, L: number): void {
  x[2] = Math.max(-1 + 1e-9, Math.min(1 - 1e-9, x[2]));
  x[4] = Math.max(1e-6, x[4]);
  x[1] = Math.min(x[1], (L / (1 + Math.abs(x[2]))) * (1 - 1e-9));
  const mv = x[0] + x[1] * x[4] * Math.sqrt(1 - x[2] * x[2]);
  if (mv < 0) x[0] -= mv * (1 + 1e-9) + 1e-300;
}

/** Writes the IV residuals of slice s at p into r from offset o; false if some w <= 0. */
function dataRows(p: SviRaw, s: SliceData, sw: Float64Array, r: Float64Array, o: number): boolean {
  for (let i = 0; i < s.k.length; i++) {
    const w = sviW(p, s.k[i]);
    if (!(w > 0)) return false;
    r[o + i] = sw[i] * (Math.sqrt(w / s.T) - s.iv[i]);
  }
  return true;
}

// polishSlice's normal equations at the current and the trial point (5 x 5, row-major) and the
// damped system: module scratch, as polishSlice never re-enters (allocation would cost as much as
// an iteration).
const P_A = new Float64Array(25), P_AT = new Float64Array(25), P_M = new Float64Array(25);
const P_G = new Float64Array(5), P_GT = new Float64Array(5), P_S = new Float64Array(5);
const P_X = new Float64Array(5), P_XT = new Float64Array(5), P_J = new Float64Array(5);
const P_FREE = new Int32Array(5);

/**
 * sum weight_i (iv_i(x) - iv_mkt_i)^2 and, into A and g, J^T J and J^T r of the residuals
 * sqrt(weight_i) (sqrt(w(k_i)/T) - iv_i), with the analytic Jacobian
 * d iv / d theta = (d w / d theta) / (2 sqrt(w T)). Infinity where x breaks Lee or min w >= 0, or
 * some w <= 0.
 */
function polishNormal(s: SliceData, x: Float64Array, L: number, A: Float64Array, g: Float64Array): number {
  const a = x[0], b = x[1], rho = x[2], m = x[3], sigma = x[4];
  if (!(b * (1 + Math.abs(rho)) <= L && a + b * sigma * Math.sqrt(1 - rho * rho) >= 0)) return Infinity;
  A.fill(0);
  g.fill(0);
  let f = 0;
  for (let i = 0; i < s.k.length; i++) {
    const d = s.k[i] - m;
    const R = Math.sqrt(d * d + sigma * sigma);
    const w = a + b * (rho * d + R);
    if (!(w > 0)) return Infinity;
    const sw = Math.sqrt(s.weight[i]);
    const sq = Math.sqrt(w / s.T);
    const r = sw * (sq - s.iv[i]);
    f += r * r;
    const q = sw / (2 * sq * s.T);
    P_J[0] = q; P_J[1] = q * (rho * d + R); P_J[2] = q * b * d; P_J[3] = -q * b * (rho + d / R); P_J[4] = (q * b * sigma) / R;
    for (let u = 0; u < 5; u++) {
      const ju = P_J[u];
      g[u] += ju * r;
      for (let v = u; v < 5; v++) A[5 * u + v] += ju * P_J[v];
    }
  }
  for (let u = 1; u < 5; u++) for (let v = 0; v < u; v++) A[5 * u + v] = A[5 * v + u];
  return f;
}

/**
 * LM polish of one slice from `start` on exact IV residuals: the projected, box-bounded LM of
 * lmBox.ts (free set, Nielsen damping, trials breaking Lee or min variance >= 0 rejected),
 * specialised to the 5 raw parameters: residuals, the analytic Jacobian and J^T J in one pass
 * over the quotes, nothing allocated per iteration. Stops when an accepted step lowers the
 * objective by less than `ftol` (1e-10) relatively, actual and predicted, when the projected
 * gradient vanishes, or when the damping passes 1e16 (the best point at f64 precision).
 */
export function polishSlice(s: SliceData, start: SviRaw, o: PolishOptions = {}): { params: SviRaw; objective: number; sse: number } {
  const L = o.maxSlope ?? 2;
  const maxIt = o.maxIterations ?? 200;
  const ftol = o.ftol ?? 1e-10;
  const bx = polishBounds(s, L);
  const x = P_X, xt = P_XT;
  x[0] = start.a; x[1] = start.b; x[2] = start.rho; x[3] = start.m; x[4] = start.sigma;
  nudge(x, L);
  // The box holds the start: clipping a quasi-explicit solution (a < -10 at a wide sigma) would
  // move it far from its fit.
  for (let j = 0; j < 5; j++) { bx.lower[j] = Math.min(bx.lower[j], x[j]); bx.upper[j] = Math.max(bx.upper[j], x[j]); }
  let f = polishNormal(s, x, L, P_A, P_G);
  let lambda = 1e-3, nu = 2;
  for (let it = 0; it < maxIt && Number.isFinite(f); it++) {
    // Free set: not on a bound with the gradient pushing outwards; stop when the projected gradient vanishes.
    let nf = 0, cosMax = 0;
    for (let j = 0; j < 5; j++) {
      if ((x[j] <= bx.lower[j] && P_G[j] > 0) || (x[j] >= bx.upper[j] && P_G[j] < 0)) continue;
      P_FREE[nf++] = j;
      const d = Math.sqrt(P_A[6 * j] * f);
      if (d > 0) cosMax = Math.max(cosMax, Math.abs(P_G[j]) / d);
    }
    if (nf === 0 || cosMax <= 1e-12) break;
    let accepted = false;
    while (!accepted && lambda <= 1e16) {
      for (let u = 0; u < nf; u++) {
        const ju = P_FREE[u];
        for (let v = 0; v < nf; v++) P_M[u * nf + v] = P_A[5 * ju + P_FREE[v]];
        P_M[u * nf + u] += lambda * Math.max(P_A[6 * ju], 1e-30);
        P_S[u] = -P_G[ju];
      }
      if (!cholSolve(P_M, P_S, nf)) { lambda *= nu; nu *= 2; continue; }
      xt.set(x);
      for (let u = 0; u < nf; u++) { const j = P_FREE[u]; xt[j] = Math.min(bx.upper[j], Math.max(bx.lower[j], x[j] + P_S[u])); }
      // Predicted decrease of the projected step st = xt - x: -(2 g.st + st.A.st).
      let gs = 0, sAs = 0, sn = 0, xn = 0;
      for (let u = 0; u < 5; u++) {
        const su = xt[u] - x[u];
        xn += x[u] * x[u];
        if (su === 0) continue;
        gs += P_G[u] * su;
        sn += su * su;
        for (let v = 0; v < 5; v++) sAs += su * P_A[5 * u + v] * (xt[v] - x[v]);
      }
      if (sn === 0) return polishResult(s, x, f);
      const pred = -2 * gs - sAs;
      const ft = polishNormal(s, xt, L, P_AT, P_GT);
      const ratio = Number.isFinite(ft) && pred > 0 ? (f - ft) / pred : -1;
      if (!(ratio > 1e-4)) { lambda *= nu; nu *= 2; continue; }
      accepted = true;
      const fPrev = f;
      x.set(xt); P_A.set(P_AT); P_G.set(P_GT); f = ft;
      lambda *= Math.max(1 / 3, 1 - (2 * ratio - 1) ** 3);
      nu = 2;
      if ((fPrev - f <= ftol * fPrev && pred <= ftol * fPrev) || Math.sqrt(sn) <= 1e-14 * (Math.sqrt(xn) + 1e-14)) return polishResult(s, x, f);
    }
    if (!accepted) break; // damping above 1e16: the best point reachable at f64 precision
  }
  return polishResult(s, x, f);
}

function polishResult(s: SliceData, x: Float64Array, f: number): { params: SviRaw; objective: number; sse: number } {
  const params = sviFromArray(x);
  return { params, objective: f, sse: ivSse(params, s) };
}

const G_MARGIN = 1e-4;

/** Largest butterfly (-g) or calendar (w_prev - w) violation of consecutive slices on ks (0 when clean). */
export function sviViolation(ps: readonly SviRaw[], ks: Float64Array): number {
  const d = { w: 0, wk: 0, wkk: 0 };
  let worst = 0;
  for (let i = 0; i < ps.length; i++) {
    for (const k of ks) {
      sviDerivs(ps[i], k, d);
      const g = d.w > 0 ? densityG(k, d.w, d.wk, d.wkk) : -1;
      if (g < -1e-10) worst = Math.max(worst, -g);
      if (i > 0) {
        const gap = sviW(ps[i - 1], k) - d.w;
        if (gap > 1e-12 * (1 + d.w)) worst = Math.max(worst, gap);
      }
    }
  }
  return worst;
}

/**
 * Joint LM over all slices with butterfly and calendar penalty rows (see the module comment).
 * `fixed[i]` holds slice i at its start. Returns the slices and the unpenalised objective.
 */
export function polishJoint(
  slices: readonly SliceData[],
  start: readonly SviRaw[],
  fixed: readonly boolean[],
  penaltyK: Float64Array,
  checkK: Float64Array,
  L = 2,
  opts: { abandonStuck?: boolean } = {},
): { params: SviRaw[]; sse: number; violation: number } {
  const N = slices.length;
  const vars = slices.map((_, i) => i).filter((i) => !fixed[i]);
  const nv = vars.length;
  const slot = new Int32Array(N).fill(-1);
  vars.forEach((i, j) => (slot[i] = j));
  const sw = slices.map((s) => Float64Array.from(s.weight, Math.sqrt));
  const nData = slices.map((s) => s.k.length);
  const dataOff: number[] = [];
  let m = 0;
  for (let i = 0; i < N; i++) { dataOff.push(m); m += nData[i]; }
  const nk = penaltyK.length;
  const bflyOff = m; // nv blocks of nk
  m += nv * nk;
  const calOff = m; // N-1 blocks of nk
  m += (N - 1) * nk;
  const wScale = slices.reduce((a, s) => a + s.w.reduce((p, q) => p + q, 0), 0) / slices.reduce((a, s) => a + s.k.length, 0);
  const lower = new Float64Array(5 * nv), upper = new Float64Array(5 * nv);
  vars.forEach((i, j) => {
    const b = polishBounds(slices[i], L);
    for (let q = 0; q < 5; q++) { lower[5 * j + q] = b.lower[q]; upper[5 * j + q] = b.upper[q]; }
  });
  const typical = Float64Array.from({ length: 5 * nv }, (_, q) => [1e-3, 0.01, 0.1, 0.01, 0.01][q % 5]);
  let P = 10;
  const paramsOf = (x: Float64Array): SviRaw[] => slices.map((_, i) => (slot[i] < 0 ? start[i] : sviFromArray(x.subarray(5 * slot[i], 5 * slot[i] + 5))));
  const d = { w: 0, wk: 0, wkk: 0 };
  // Rows of slice i (data, butterfly) and of the calendar pairs (i-1, i), (i, i+1): what a change of slice i moves.
  const sliceRows = (ps: SviRaw[], i: number, r: Float64Array): boolean => {
    if (!admissible(ps[i], L) || !dataRows(ps[i], slices[i], sw[i], r, dataOff[i])) return false;
    const j = slot[i];
    if (j >= 0) {
      for (let q = 0; q < nk; q++) {
        const k = penaltyK[q];
        sviDerivs(ps[i], k, d);
        const g = d.w > 0 ? densityG(k, d.w, d.wk, d.wkk) : -1;
        r[bflyOff + j * nk + q] = P * Math.max(0, G_MARGIN - g);
      }
    }
    return true;
  };
  const calRows = (ps: SviRaw[], i: number, r: Float64Array): void => {
    // pair (i, i+1)
    for (let q = 0; q < nk; q++) {
      const k = penaltyK[q];
      const w0 = sviW(ps[i], k);
      r[calOff + i * nk + q] = (P * Math.max(0, w0 * (1 + 1e-9) - sviW(ps[i + 1], k))) / wScale;
    }
  };
  const residuals = (x: Float64Array): Float64Array => {
    const r = new Float64Array(m);
    const ps = paramsOf(x);
    for (let i = 0; i < N; i++) if (!sliceRows(ps, i, r)) return r.fill(NaN);
    for (let i = 0; i + 1 < N; i++) calRows(ps, i, r);
    return r;
  };
  // Block finite differences: a parameter of slice i moves only slice i's rows and its two calendar pairs.
  const jacobian = (x: Float64Array, r0: Float64Array): Float64Array => {
    const J = new Float64Array(m * 5 * nv);
    const xt = Float64Array.from(x);
    const rp = new Float64Array(m), rm = new Float64Array(m);
    const rowsOf = (i: number): Array<[number, number]> => {
      const out: Array<[number, number]> = [[dataOff[i], dataOff[i] + nData[i]]];
      if (slot[i] >= 0) out.push([bflyOff + slot[i] * nk, bflyOff + (slot[i] + 1) * nk]);
      if (i > 0) out.push([calOff + (i - 1) * nk, calOff + i * nk]);
      if (i + 1 < N) out.push([calOff + i * nk, calOff + (i + 1) * nk]);
      return out;
    };
    for (const i of vars) {
      const j = slot[i];
      const rows = rowsOf(i);
      for (let q = 0; q < 5; q++) {
        const c = 5 * j + q;
        const h = 1e-6 * Math.max(Math.abs(x[c]), typical[c]);
        const up = Math.min(x[c] + h, upper[c]);
        const dn = Math.max(x[c] - h, lower[c]);
        const evalAt = (v: number, into: Float64Array): boolean => {
          xt[c] = v;
          const ps = paramsOf(xt);
          const ok = sliceRows(ps, i, into);
          if (ok) {
            if (i > 0) calRows(ps, i - 1, into);
            if (i + 1 < N) calRows(ps, i, into);
          }
          xt[c] = x[c];
          return ok;
        };
        const okUp = up > x[c] && evalAt(up, rp);
        const okDn = dn < x[c] && evalAt(dn, rm);
        const hi = okUp ? up : x[c], lo = okDn ? dn : x[c];
        if (!(hi > lo)) continue;
        for (const [a, b] of rows) {
          for (let row = a; row < b; row++) {
            const vUp = okUp ? rp[row] : r0[row];
            const vDn = okDn ? rm[row] : r0[row];
            J[row * 5 * nv + c] = (vUp - vDn) / (hi - lo);
          }
        }
      }
    }
    return J;
  };
  const x0 = new Float64Array(5 * nv);
  vars.forEach((i, j) => {
    const p = start[i];
    x0.set([p.a, p.b, p.rho, p.m, p.sigma], 5 * j);
    nudge(x0.subarray(5 * j, 5 * j + 5), L);
  });
  let res = lmBox({ n: 5 * nv, lower, upper, residuals, jacobian, typical }, x0, { maxIterations: 100, ftol: 1e-9 });
  if (opts.abandonStuck && Number.isFinite(res.f)) {
    // Still mostly penalty after a full LM run: stuck in the kinks of max(0, .) far outside the
    // admissible set (seen from raw SVI slices whose wings are wild outside the quotes). Escalating
    // P would not get it out; the caller's other start decides.
    let data = 0;
    for (let q = 0; q < bflyOff; q++) data += res.r[q] * res.r[q];
    if (res.f - data > data) return { params: paramsOf(res.x), sse: Infinity, violation: Infinity };
  }
  let viol = sviViolation(paramsOf(res.x), checkK);
  for (let round = 0; round < 3 && viol > 0 && Number.isFinite(res.f); round++) {
    P *= 10;
    res = lmBox({ n: 5 * nv, lower, upper, residuals, jacobian, typical }, res.x, { maxIterations: 100, ftol: 1e-9 });
    viol = sviViolation(paramsOf(res.x), checkK);
  }
  const params = paramsOf(res.x);
  return { params, sse: params.reduce((a, p, i) => a + ivSse(p, slices[i]), 0), violation: viol };
}

function fallbackFit(s: SliceData): SviSliceFit {
  const n = s.k.length;
  const range = s.k[n - 1] - s.k[0];
  const meanW = s.w.reduce((a, b) => a + b, 0) / n;
  const sigma = Math.max(0.5 * range, Math.sqrt(meanW));
  const tw = tvWeights(s);
  if (n >= 3) {
    let iMin = 0;
    for (let i = 1; i < n; i++) if (s.w[i] < s.w[iMin]) iMin = i;
    const m = s.k[iMin];
    const batch: SliceBatch = { offsets: Uint32Array.of(0, n), k: s.k, w: s.w, weight: tw, aMax: Float64Array.of(Math.max(...s.w)) };
    const params = innerToRaw(innerAt(batch, 0, m, sigma), m, sigma);
    return { params, sse: ivSse(params, s), rmse_iv: sliceRmse(params, s), fallback: 'reduced', starts: 1 };
  }
  let sw = 0, swW = 0;
  for (let i = 0; i < n; i++) { sw += tw[i]; swW += tw[i] * s.w[i]; }
  const params: SviRaw = { a: swW / sw, b: 0, rho: 0, m: 0, sigma };
  return { params, sse: ivSse(params, s), rmse_iv: sliceRmse(params, s), fallback: 'flat', starts: 1 };
}

/**
 * The quasi-explicit grid stage of `fitSviSlices`: the slices with at least 5 quotes (`full`,
 * with their index among `slices`), their batch and their (m, sigma) grid.
 */
export function sviGridProblem(slices: readonly SliceData[], o: Pick<SviFitOptions, 'grid' | 'maxSlope'> = {}) {
  const full = slices.map((s, i) => ({ s, i })).filter(({ s }) => s.k.length >= 5);
  const batch = buildBatch(full.map((x) => x.s), o.maxSlope ?? 2);
  const grid = buildGrid(full.map((x) => x.s), o.grid?.nm ?? 25, o.grid?.ns ?? 20);
  return { full, batch, grid };
}

/**
 * Fits raw SVI to every slice (increasing T). The quasi-explicit grid of all full slices is
 * evaluated in one batch; starts, Nelder-Mead and the polish follow per slice.
 */
export function fitSviSlices(slices: readonly SliceData[], o: SviFitOptions = {}): SviSliceFit[] {
  const starts = o.starts ?? 4;
  const L = o.maxSlope ?? 2;
  const { full, batch, grid } = sviGridProblem(slices, o);
  const { nm, ns } = grid;
  const cells = full.length * nm * ns;
  if (o.gridValues && o.gridValues.f.length !== cells) throw new RangeError(`gridValues has ${o.gridValues.f.length} cells, the grid of these slices ${cells}`);
  const G = o.gridValues ?? (full.length ? evaluateGridBatch(batch, grid) : { f: new Float64Array(0), adc: new Float64Array(0) });
  const out: SviSliceFit[] = new Array(slices.length);
  const penaltyK = o.checkGrid ? gridPoints({ ...o.checkGrid, points: Math.min(o.checkGrid.points, 61) }) : undefined;
  const checkK = o.checkGrid ? gridPoints(o.checkGrid) : undefined;
  const qeOf = new Map<number, { cands: SviRaw[] }>();
  full.forEach(({ s, i }, b) => {
    const box = sliceBox(s);
    const cands: SviRaw[] = [];
    const ends: Array<[number, number]> = [];
    const cells = gridStarts(G.f, b, nm, ns, starts);
    for (const [ci, cj] of cells) {
      const m0 = grid.m[b * nm + ci];
      const s0 = grid.sigma[b * ns + cj];
      // Nelder-Mead's points are near each other: each QP starts from the last one's active set.
      let hint: number | undefined;
      const V = (x: Float64Array) => {
        const f = innerAt(batch, b, x[0], Math.exp(x[1]), undefined, hint).f;
        hint = lastInnerActiveSet();
        return f;
      };
      const stepM = (box.mHi - box.mLo) / (nm - 1);
      const stepS = Math.log(box.sHi / box.sLo) / (ns - 1);
      const r = nelderMead(V, [m0, Math.log(s0)], {
        step: [stepM, stepS],
        lower: [box.mLo, Math.log(box.sLo) - Math.log(10)],
        upper: [box.mHi, Math.log(box.sHi) + Math.log(2)],
        // A start for the polish, not the answer: the LM on exact residuals finishes the job.
        maxEvaluations: 120,
        ftol: 1e-9,
        xtol: 1e-4,
      });
      // Runs from neighbouring cells often end in the same valley: polish each end point once.
      if (ends.some(([m, ls]) => Math.abs(m - r.x[0]) <= 0.01 * stepM && Math.abs(ls - r.x[1]) <= 0.01 * stepS)) continue;
      ends.push([r.x[0], r.x[1]]);
      const sigma = Math.exp(r.x[1]);
      cands.push(innerToRaw(innerAt(batch, b, r.x[0], sigma), r.x[0], sigma));
    }
    qeOf.set(i, { cands });
  });
  slices.forEach((s, i) => {
    const q = qeOf.get(i);
    if (!q) {
      out[i] = fallbackFit(s);
      return;
    }
    let best: { params: SviRaw; objective: number; sse: number; qe: SviRaw } | null = null;
    for (const c of q.cands) {
      const r = polishSlice(s, c, { maxSlope: L });
      if (!best || r.objective < best.objective) best = { ...r, qe: c };
    }
    const b = best!;
    out[i] = { params: b.params, sse: b.sse, rmse_iv: sliceRmse(b.params, s), qe: b.qe, starts: q.cands.length };
  });
  if (o.arbitrageFree && checkK && penaltyK && sviViolation(out.map((f) => f.params), checkK) > 0) {
    const fixed = out.map((f) => f.fallback !== undefined);
    // From the unconstrained slices (abandoned when stuck deep in arbitrage) and from the admissible starts.
    const runs = [polishJoint(slices, out.map((f) => f.params), fixed, penaltyK, checkK, L, { abandonStuck: true })];
    const adm = o.admissibleStarts?.();
    if (adm && adm.length === slices.length) {
      runs.push(polishJoint(slices, out.map((f, i) => (fixed[i] ? f.params : adm[i])), fixed, penaltyK, checkK, L));
    }
    // Admissible first (lower objective wins), else the least violating; an abandoned run never
    // replaces the unconstrained slices (their violations then stay in the report).
    const usable = runs.filter((x) => Number.isFinite(x.violation));
    usable.sort((x, y) => (x.violation === 0) !== (y.violation === 0) ? (x.violation === 0 ? -1 : 1) : x.violation === 0 ? x.sse - y.sse : x.violation - y.violation);
    const win = usable[0];
    win?.params.forEach((p, i) => {
      if (fixed[i]) return;
      out[i] = { ...out[i], params: p, sse: ivSse(p, slices[i]), rmse_iv: sliceRmse(p, slices[i]) };
    });
  }
  return out;
}
