/**
 * Global SSVI and eSSVI fits across expiries, on exact IV residuals sqrt(weight) (sqrt(w/T) - iv)
 * by the box LM (lmBox.ts). Every constraint that can be is built into the parametrisation, so
 * every iterate is admissible:
 *
 * SSVI (power law): x = [theta_1, dtheta_2..dtheta_N, rho, u, gamma] with
 *   theta_i = theta_1 + dtheta_2 + ... + dtheta_i, dtheta >= 0         (theta non-decreasing: no calendar arbitrage)
 *   gamma in [0, 1]                                                    (theta phi non-decreasing)
 *   eta = u eta_max(rho, gamma, theta_1), u in (0, 1]                  (arbitrage-free; else eta itself, in (0, 50])
 * where eta_max makes GJ's Theorem 4.2 conditions hold for every theta >= theta_1 (every T from
 * the first expiry on, extrapolation included): eta (1 + |rho|) <= 4 (1 - 1e-6) (the supremum of
 * theta phi (1 + |rho|)) and theta_c phi(theta_c)^2 (1 + |rho|) <= 4 (1 - 1e-6) at theta_c =
 * max(theta_1, 1 - 2 gamma) (the supremum of theta phi^2 (1 + |rho|) there).
 *
 * eSSVI: x = [theta_1, dtheta_2.., rho_1, t_2..t_N, v_1..v_N], per slice (theta_i, a_i = rho_i psi_i, psi_i):
 *   psi_i = psi_{i-1} + D_i,  a_i = a_{i-1} + t_i D_i,  |t_i| <= 1,  D_i = v_i Dmax_i,  v_i in [0, 1],
 * so psi and both wing slopes psi (1 +- rho) / 2 are non-decreasing in T (necessary for no calendar
 * arbitrage: Hendriks & Martini 2019), |rho_i| < 1 by induction, and Dmax_i is the largest
 * increment keeping slice i inside GJ's sufficient butterfly conditions psi (1 + |rho|) < 4,
 * psi^2 (1 + |rho|) <= 4 theta (both increase with D; slice i-1's values satisfy them at D = 0
 * because theta_i >= theta_{i-1}). psi_1 = v_1 psi_max(theta_1, rho_1). The remaining calendar
 * condition (slices may still cross near the money when theta barely grows but the skew a
 * moves) is a penalty on the check grid, raised 10x up to 3 times while the grid still finds a
 * crossing. Without `arbitrageFree`, Dmax is 50 (no butterfly bound) and there is no penalty.
 *
 * Starts. SSVI: theta_i from the market's ATM total variance (interpolated at k = 0, made
 * monotone by pool-adjacent-violators), a small grid of (rho, u, gamma) fitted with theta held,
 * then the best three polished with everything free. eSSVI: from the SSVI fit (a feasible eSSVI
 * point: t_i = rho, v from the SSVI psi increments), so eSSVI is never worse than SSVI.
 */
import { gridPoints, type CheckGrid } from './arbitrage.js';
import { lmBox, type BoxProblem } from './lmBox.js';
import type { SliceData } from './slices.js';
import { powerLawPhi, powerLawPsi } from './ssvi.js';

const EPS = 1e-6;
const LIM = 4 * (1 - EPS);

export interface SsviFitResult {
  theta: number[];
  rho: number;
  eta: number;
  gamma: number;
  objective: number;
  iterations: number;
  converged: boolean;
}

export interface EssviFitResult {
  theta: number[];
  rho: number[];
  psi: number[];
  objective: number;
  iterations: number;
  converged: boolean;
  /** Largest calendar gap left on the penalty grid (0 when none). */
  calendarGap: number;
}

export interface SsviFitOptions {
  arbitrageFree?: boolean;
  checkGrid?: CheckGrid;
  maxIterations?: number;
  /** A previous fit's global parameters (a backtest's yesterday): one more start, always carried to the full LM. */
  start?: SsviStart;
}

/** SSVI's global parameters, the part of a fit that carries from one day to the next (the thetas are the day's own). */
export interface SsviStart {
  rho: number;
  eta: number;
  gamma: number;
}

/** Residuals of all slices for per-slice (theta, a, psi), written into r from offset 0. Returns false if any w <= 0. */
function familyResiduals(slices: readonly SliceData[], th: ArrayLike<number>, a: ArrayLike<number>, ps: ArrayLike<number>, r: Float64Array): boolean {
  let o = 0;
  for (let i = 0; i < slices.length; i++) {
    const s = slices[i];
    const t = th[i], ai = a[i], p = ps[i];
    const invT = 1 / s.T;
    for (let q = 0; q < s.k.length; q++) {
      const k = s.k[q];
      const w = 0.5 * (t + ai * k + Math.sqrt(p * p * k * k + 2 * t * ai * k + t * t));
      if (!(w > 0)) return false;
      r[o++] = Math.sqrt(s.weight[q]) * (Math.sqrt(w * invT) - s.iv[q]);
    }
  }
  return true;
}

function quoteCount(slices: readonly SliceData[]): number {
  return slices.reduce((n, s) => n + s.k.length, 0);
}

/** Market ATM total variance per slice: linear interpolation of W at k = 0 (nearest quote outside the range). */
export function atmTotalVariance(s: SliceData): number {
  const n = s.k.length;
  if (s.k[0] >= 0) return s.w[0];
  if (s.k[n - 1] <= 0) return s.w[n - 1];
  let i = 0;
  while (s.k[i + 1] < 0) i++;
  const l = (0 - s.k[i]) / (s.k[i + 1] - s.k[i]);
  return (1 - l) * s.w[i] + l * s.w[i + 1];
}

/** Pool-adjacent-violators: the non-decreasing sequence closest to y in least squares. */
export function isotonic(y: readonly number[]): number[] {
  const blocks: Array<{ sum: number; n: number }> = [];
  for (const v of y) {
    blocks.push({ sum: v, n: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2].sum / blocks[blocks.length - 2].n > blocks[blocks.length - 1].sum / blocks[blocks.length - 1].n) {
      const b = blocks.pop()!;
      blocks[blocks.length - 1].sum += b.sum;
      blocks[blocks.length - 1].n += b.n;
    }
  }
  return blocks.flatMap((b) => Array(b.n).fill(b.sum / b.n));
}

/** The largest eta for which GJ's sufficient butterfly conditions hold for all theta >= thetaMin. */
export function etaMax(rho: number, gamma: number, thetaMin: number): number {
  const r = 1 + Math.abs(rho);
  const t = Math.max(thetaMin, 1 - 2 * gamma);
  const h = Math.pow(t, 1 - 2 * gamma) * Math.pow(1 + t, 2 * gamma - 2); // theta phi^2 / eta^2
  return Math.min(LIM / r, Math.sqrt(LIM / (r * h)));
}

// ---------------------------------------------------------------- SSVI

interface SsviLayout {
  N: number;
  arbFree: boolean;
}

function ssviDecode(x: Float64Array, L: SsviLayout) {
  const th = new Float64Array(L.N);
  th[0] = x[0];
  for (let i = 1; i < L.N; i++) th[i] = th[i - 1] + x[i];
  const rho = x[L.N];
  const gamma = x[L.N + 2];
  const eta = L.arbFree ? x[L.N + 1] * etaMax(rho, gamma, th[0]) : x[L.N + 1];
  return { th, rho, eta, gamma };
}

function ssviProblem(slices: readonly SliceData[], arbFree: boolean, holdTheta?: Float64Array): BoxProblem & { layout: SsviLayout } {
  const N = slices.length;
  const L: SsviLayout = { N, arbFree };
  const m = quoteCount(slices);
  const lower = new Float64Array(N + 3);
  const upper = new Float64Array(N + 3);
  lower[0] = 1e-8; upper[0] = 10;
  for (let i = 1; i < N; i++) { lower[i] = 0; upper[i] = 10; }
  lower[N] = -0.999; upper[N] = 0.999;
  lower[N + 1] = arbFree ? 1e-6 : 1e-4; upper[N + 1] = arbFree ? 1 : 50;
  lower[N + 2] = 0; upper[N + 2] = 1;
  if (holdTheta) for (let i = 0; i < N; i++) { lower[i] = upper[i] = holdTheta[i]; }
  const a = new Float64Array(N), ps = new Float64Array(N);
  return {
    n: N + 3,
    lower,
    upper,
    layout: L,
    typical: Float64Array.from({ length: N + 3 }, (_, i) => (i < N ? 1e-3 : 0.1)),
    residuals(x) {
      const { th, rho, eta, gamma } = ssviDecode(x, L);
      for (let i = 0; i < N; i++) { ps[i] = powerLawPsi(th[i], eta, gamma).psi; a[i] = rho * ps[i]; }
      const r = new Float64Array(m);
      if (!familyResiduals(slices, th, a, ps, r)) r.fill(NaN);
      return r;
    },
  };
}

export function fitSsvi(slices: readonly SliceData[], o: SsviFitOptions = {}): SsviFitResult {
  const N = slices.length;
  const arbFree = o.arbitrageFree ?? true;
  const theta0 = isotonic(slices.map(atmTotalVariance)).map((v) => Math.max(v, 1e-8));
  const x0 = new Float64Array(N + 3);
  x0[0] = theta0[0];
  for (let i = 1; i < N; i++) x0[i] = theta0[i] - theta0[i - 1];
  const hold = Float64Array.from(x0.subarray(0, N));
  const held = ssviProblem(slices, arbFree, hold);
  const starts: Array<{ f: number; x: Float64Array }> = [];
  for (const rho of [-0.7, -0.3, 0, 0.3]) {
    for (const gamma of [0.2, 0.45, 0.7]) {
      for (const u of arbFree ? [0.3, 0.8] : [0.5, 2]) {
        const x = Float64Array.from(x0);
        x[N] = rho; x[N + 1] = u; x[N + 2] = gamma;
        const r = lmBox(held, x, { maxIterations: 40, ftol: 1e-8 });
        if (Number.isFinite(r.f)) starts.push({ f: r.f, x: r.x });
      }
    }
  }
  starts.sort((p, q) => p.f - q.f);
  const chosen = starts.slice(0, 3);
  if (o.start) {
    const x = Float64Array.from(x0);
    const clip = (v: number, i: number) => Math.min(Math.max(v, held.lower[i]), held.upper[i]);
    x[N] = clip(o.start.rho, N);
    x[N + 2] = clip(o.start.gamma, N + 2);
    x[N + 1] = clip(arbFree ? o.start.eta / etaMax(x[N], x[N + 2], x0[0]) : o.start.eta, N + 1);
    const r = lmBox(held, x, { maxIterations: 40, ftol: 1e-8 });
    if (Number.isFinite(r.f)) chosen.unshift({ f: r.f, x: r.x });
  }
  const free = ssviProblem(slices, arbFree);
  let best: { f: number; x: Float64Array; iterations: number; converged: boolean } | null = null;
  for (const s of chosen) {
    const r = lmBox(free, s.x, { maxIterations: o.maxIterations ?? 300 });
    if (!best || r.f < best.f) best = { f: r.f, x: r.x, iterations: r.iterations, converged: r.converged };
  }
  if (!best) throw new Error('SSVI: no start gave finite residuals');
  const d = ssviDecode(best.x, free.layout);
  return { theta: Array.from(d.th), rho: d.rho, eta: d.eta, gamma: d.gamma, objective: best.f, iterations: best.iterations, converged: best.converged };
}

// ---------------------------------------------------------------- eSSVI

/** psi_max of a first slice: psi (1 + |rho|) <= LIM and psi^2 (1 + |rho|) <= LIM theta. */
function psiMax(theta: number, rho: number, arbFree: boolean): number {
  if (!arbFree) return 50;
  const r = 1 + Math.abs(rho);
  return Math.min(LIM / r, Math.sqrt((LIM * theta) / r)) * (1 - 1e-12);
}

/**
 * Largest D >= 0 with (p + D) + |a + t D| <= LIM and (p + D)((p + D) + |a + t D|) <= LIM theta,
 * both non-decreasing in D (|t| <= 1). Bisection-free: the left sides are piecewise smooth in D;
 * solved on each side of the kink D* = -a/t.
 */
export function incrementMax(p: number, a: number, t: number, theta: number, arbFree: boolean): number {
  if (!arbFree) return 50;
  const ok = (D: number) => p + D + Math.abs(a + t * D) <= LIM && (p + D) * (p + D + Math.abs(a + t * D)) <= LIM * theta;
  if (!ok(0)) return 0;
  // Pieces where sign(a + t D) = s is fixed: |a + t D| = s (a + t D), both conditions then have closed forms.
  const kink = t !== 0 ? -a / t : Infinity;
  const pieces: Array<[number, number]> = kink > 0 && Number.isFinite(kink) ? [[0, kink], [kink, Infinity]] : [[0, Infinity]];
  let best = 0;
  for (const [lo, hi] of pieces) {
    const mid = Number.isFinite(hi) ? 0.5 * (lo + hi) : lo + 1;
    const s = a + t * mid >= 0 ? 1 : -1;
    // c1: p + D + s (a + t D) <= LIM  ->  D (1 + s t) <= LIM - p - s a
    const k1 = 1 + s * t;
    const d1 = k1 > 0 ? (LIM - p - s * a) / k1 : Infinity;
    // c2: (p + D)(p + s a + D (1 + s t)) <= LIM theta: quadratic k1 D^2 + (p k1 + p + s a) D + p (p + s a) - LIM theta <= 0
    const A = k1, B = p * k1 + p + s * a, C = p * (p + s * a) - LIM * theta;
    let d2: number;
    if (A > 0) d2 = (-B + Math.sqrt(Math.max(0, B * B - 4 * A * C))) / (2 * A);
    else d2 = B > 0 ? -C / B : Infinity;
    const dMax = Math.min(d1, d2);
    if (dMax < lo) break;
    best = Math.min(dMax, hi);
    if (dMax < hi) break;
  }
  // Guard against rounding: shrink until both conditions hold.
  while (best > 0 && !ok(best)) best *= 1 - 1e-12;
  return Number.isFinite(best) ? Math.min(best, 50) : 50;
}

interface EssviLayout {
  N: number;
  arbFree: boolean;
}

/** x -> per-slice (theta, a, psi). */
function essviDecode(x: Float64Array, L: EssviLayout, th: Float64Array, a: Float64Array, ps: Float64Array): void {
  const N = L.N;
  th[0] = x[0];
  for (let i = 1; i < N; i++) th[i] = th[i - 1] + x[i];
  const rho1 = x[N];
  ps[0] = x[2 * N] * psiMax(th[0], rho1, L.arbFree);
  a[0] = rho1 * ps[0];
  for (let i = 1; i < N; i++) {
    const t = x[N + i];
    const D = x[2 * N + i] * incrementMax(ps[i - 1], a[i - 1], t, th[i], L.arbFree);
    ps[i] = ps[i - 1] + D;
    a[i] = a[i - 1] + t * D;
  }
}

/** The eSSVI x of per-slice (theta, rho, psi) that satisfy the constraints (inverse of essviDecode). */
function essviEncode(theta: readonly number[], rho: readonly number[], psi: readonly number[], arbFree: boolean): Float64Array {
  const N = theta.length;
  const x = new Float64Array(3 * N);
  x[0] = theta[0];
  for (let i = 1; i < N; i++) x[i] = Math.max(0, theta[i] - theta[i - 1]);
  x[N] = rho[0];
  const pm = psiMax(theta[0], rho[0], arbFree);
  x[2 * N] = Math.min(1, psi[0] / pm);
  let p = x[2 * N] * pm;
  let aa = rho[0] * p;
  let th = theta[0];
  for (let i = 1; i < N; i++) {
    th += x[i];
    const D = Math.max(0, psi[i] - p);
    const ai = rho[i] * psi[i];
    const t = D > 0 ? Math.max(-1, Math.min(1, (ai - aa) / D)) : Math.max(-1, Math.min(1, rho[i]));
    x[N + i] = t;
    const dm = incrementMax(p, aa, t, th, arbFree);
    x[2 * N + i] = dm > 0 ? Math.min(1, D / dm) : 0;
    const Dr = x[2 * N + i] * dm;
    p += Dr;
    aa += t * Dr;
  }
  return x;
}

export function fitEssvi(slices: readonly SliceData[], start: { theta: readonly number[]; rho: readonly number[]; psi: readonly number[] }, o: SsviFitOptions = {}): EssviFitResult {
  const N = slices.length;
  const arbFree = o.arbitrageFree ?? true;
  const L: EssviLayout = { N, arbFree };
  const m = quoteCount(slices);
  const penK = arbFree && o.checkGrid && N > 1 ? gridPoints({ ...o.checkGrid, points: Math.min(61, o.checkGrid.points) }) : new Float64Array(0);
  const wScale = slices.reduce((s, x) => s + x.w.reduce((p, q) => p + q, 0), 0) / m;
  const lower = new Float64Array(3 * N);
  const upper = new Float64Array(3 * N);
  lower[0] = 1e-8; upper[0] = 10;
  for (let i = 1; i < N; i++) { lower[i] = 0; upper[i] = 10; }
  lower[N] = -0.999; upper[N] = 0.999;
  for (let i = 1; i < N; i++) { lower[N + i] = -1; upper[N + i] = 1; }
  for (let i = 0; i < N; i++) { lower[2 * N + i] = 0; upper[2 * N + i] = 1; }
  lower[2 * N] = 1e-6;
  const th = new Float64Array(N), a = new Float64Array(N), ps = new Float64Array(N);
  const calendarPenalty = (r: Float64Array | null, P: number): number => {
    let worst = 0;
    let o2 = m;
    for (let i = 1; i < N; i++) {
      for (let j = 0; j < penK.length; j++) {
        const k = penK[j];
        const w0 = 0.5 * (th[i - 1] + a[i - 1] * k + Math.sqrt(ps[i - 1] * ps[i - 1] * k * k + 2 * th[i - 1] * a[i - 1] * k + th[i - 1] * th[i - 1]));
        const w1 = 0.5 * (th[i] + a[i] * k + Math.sqrt(ps[i] * ps[i] * k * k + 2 * th[i] * a[i] * k + th[i] * th[i]));
        const gap = w0 - w1;
        if (gap > worst) worst = gap;
        if (r) r[o2++] = (P * Math.max(0, gap + 1e-9 * w0)) / wScale;
      }
    }
    return worst;
  };
  let P = 10;
  const problem: BoxProblem = {
    n: 3 * N,
    lower,
    upper,
    typical: Float64Array.from({ length: 3 * N }, (_, i) => (i < N ? 1e-3 : 0.1)),
    residuals(x) {
      essviDecode(x, L, th, a, ps);
      const r = new Float64Array(m + (N - 1) * penK.length);
      if (!familyResiduals(slices, th, a, ps, r)) return r.fill(NaN);
      if (penK.length) calendarPenalty(r, P);
      return r;
    },
  };
  let x = essviEncode(start.theta, start.rho, start.psi, arbFree);
  let res = lmBox(problem, x, { maxIterations: o.maxIterations ?? 400 });
  let gap = 0;
  for (let round = 0; round < 3 && penK.length; round++) {
    essviDecode(res.x, L, th, a, ps);
    gap = calendarPenalty(null, P);
    if (gap <= 1e-12) break;
    P *= 10;
    x = res.x;
    res = lmBox(problem, x, { maxIterations: o.maxIterations ?? 400 });
  }
  essviDecode(res.x, L, th, a, ps);
  gap = penK.length ? Math.max(0, calendarPenalty(null, P)) : 0;
  return {
    theta: Array.from(th),
    rho: Array.from(ps, (p, i) => a[i] / p),
    psi: Array.from(ps),
    objective: res.f,
    iterations: res.iterations,
    converged: res.converged,
    calendarGap: gap,
  };
}

/** Starting eSSVI slices from an SSVI fit. */
export function essviStartFromSsvi(f: SsviFitResult) {
  const psi = f.theta.map((t) => powerLawPsi(t, f.eta, f.gamma).psi);
  return { theta: f.theta, rho: f.theta.map(() => f.rho), psi };
}

export { powerLawPhi };
