/**
 * A data-driven first guess for stochastic-volatility models with Heston's parameters (v0, kappa,
 * theta, sigma, rho: Heston, and Bates' base): read off the quotes' implied vols, no pricing.
 *
 * Per expiry, a quadratic in k = ln(K/F) through the market IVs near the money gives the ATM vol
 * a0, the skew a1 = d iv / dk and the curvature a2 = d^2 iv / dk^2. Then:
 * - ATM variance term structure: Heston's expected average variance over [0, T] is
 *   theta + (v0 - theta) b(kappa T), b(x) = (1 - e^-x) / x: for each kappa of a grid, v0 and
 *   theta by linear least squares on a0^2; the kappa with the smallest error wins.
 * - skew: the ATM skew of Heston (Gatheral, The Volatility Surface, eq. 3.19, kappa' ~ kappa) is
 *   rho sigma (1 - b(kappa T)) / (2 a0 kappa T), which gives the product rho sigma by least squares.
 * - curvature: the short-expiry expansion (SABR with beta 1, vol of vol sigma / (2 sqrt v)) gives
 *   d^2 iv / dk^2 = (2 - 3 rho^2) sigma^2 / (24 v^1.5) on the shortest expiry with enough quotes,
 *   hence sigma^2 = (24 a0^3 a2 + 3 (rho sigma)^2) / 2, and rho = (rho sigma) / sigma.
 * These are asymptotic forms, so the guess is a start for a search, not a fit: the probe prices it
 * beside variants and Halton points, and LM starts from the best.
 */
import type { Model } from '../models/types.js';
import type { PreparedQuotes } from './quotes.js';
import type { Bounds } from './transforms.js';

const NAMES = ['v0', 'kappa', 'theta', 'sigma', 'rho'] as const;
const KAPPAS = [0.25, 0.5, 1, 2, 4, 8, 16];

interface Smile {
  T: number;
  atm: number;
  skew: number;
  curvature: number;
  n: number;
}

/** Whether the guess applies: the model has Heston's parameters (other parameters keep their initial values). */
export function hasHestonParams(model: Model): boolean {
  const names = model.params.map((s) => s.name);
  return NAMES.every((n) => names.includes(n));
}

/** Expiries within this ratio of the shortest in a bucket share a smile (T from per-row timestamps). */
const BUCKET_RATIO = 1.02;

/** Quote indices bucketed by expiry: consecutive T within BUCKET_RATIO of the bucket's first. */
function expiryBuckets(T: Float64Array, m: number): number[][] {
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => T[a] - T[b]);
  const out: number[][] = [];
  for (const i of order) {
    const last = out[out.length - 1];
    if (last && T[i] <= T[last[0]] * BUCKET_RATIO) last.push(i);
    else out.push([i]);
  }
  return out;
}

/**
 * The quadratic fit of IV in k per expiry (expiries with at least 3 quotes near the money);
 * expiries within 2 % of each other count as one, at their median T.
 */
export function smiles(prep: PreparedQuotes): Smile[] {
  const out: Smile[] = [];
  for (const idx of expiryBuckets(prep.set.T, prep.m)) {
    const T = prep.set.T[idx[idx.length >> 1]];
    const k = idx.map((i) => Math.log(prep.set.strike[i] / prep.set.forward[i]));
    const iv = idx.map((i) => prep.marketIv[i]);
    const typical = [...iv].sort((a, b) => a - b)[iv.length >> 1];
    // Near the money: within 1.5 standard deviations (all quotes when fewer than 5 are).
    const width = 1.5 * typical * Math.sqrt(T);
    let use = k.map((_, j) => j).filter((j) => Math.abs(k[j]) <= width);
    if (use.length < 5) use = k.map((_, j) => j);
    const q = quadratic(use.map((j) => k[j]), use.map((j) => iv[j]));
    if (q && q[0] > 0) out.push({ T, atm: q[0], skew: q[1], curvature: q[2], n: use.length });
  }
  return out.sort((a, b) => a.T - b.T);
}

/** Least-squares c0 + c1 x + c2 x^2 through (x, y); null when the points do not determine it. */
function quadratic(x: number[], y: number[]): [number, number, number] | null {
  if (x.length < 3) return null;
  const S = new Float64Array(9);
  const r = new Float64Array(3);
  for (let i = 0; i < x.length; i++) {
    const b = [1, x[i], x[i] * x[i]];
    for (let a = 0; a < 3; a++) {
      r[a] += b[a] * y[i];
      for (let c = 0; c < 3; c++) S[a * 3 + c] += b[a] * b[c];
    }
  }
  return solve3(S, r);
}

function solve3(A: Float64Array, b: Float64Array): [number, number, number] | null {
  const det = (m: ArrayLike<number>) =>
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const d = det(A);
  const scale = Math.abs(A[0] * A[4] * A[8]) || 1;
  if (!(Math.abs(d) > 1e-12 * scale)) return null;
  const col = (j: number) => {
    const M = Float64Array.from(A);
    for (let i = 0; i < 3; i++) M[i * 3 + j] = b[i];
    return det(M) / d;
  };
  return [col(0), col(1), col(2)];
}

const decay = (x: number) => (x < 1e-8 ? 1 - x / 2 : (1 - Math.exp(-x)) / x);

/** Heston's (v0, kappa, theta, sigma, rho) from the smiles, or null without a usable expiry. */
export function hestonGuess(sm: readonly Smile[]): Record<(typeof NAMES)[number], number> | null {
  if (!sm.length) return null;
  let best = { err: Infinity, kappa: 2, v0: sm[0].atm ** 2, theta: sm[sm.length - 1].atm ** 2 };
  if (sm.length >= 2) {
    for (const kappa of KAPPAS) {
      // w = theta (1 - b) + v0 b, least squares in (v0, theta).
      let sbb = 0, sbc = 0, scc = 0, sbw = 0, scw = 0;
      for (const s of sm) {
        const b = decay(kappa * s.T);
        const c = 1 - b;
        const w = s.atm * s.atm;
        sbb += b * b; sbc += b * c; scc += c * c; sbw += b * w; scw += c * w;
      }
      const det = sbb * scc - sbc * sbc;
      if (!(det > 1e-14 * sbb * scc)) continue;
      const v0 = Math.max((sbw * scc - scw * sbc) / det, 1e-4);
      const theta = Math.max((scw * sbb - sbw * sbc) / det, 1e-4);
      let err = 0;
      for (const s of sm) {
        const b = decay(kappa * s.T);
        err += (theta * (1 - b) + v0 * b - s.atm * s.atm) ** 2;
      }
      if (err < best.err) best = { err, kappa, v0, theta };
    }
  }
  const { kappa, v0, theta } = best;
  // rho sigma from the skews.
  let sg = 0, gg = 0;
  for (const s of sm) {
    const x = kappa * s.T;
    const g = (1 - decay(x)) / (2 * s.atm * x);
    sg += s.skew * g * s.n;
    gg += g * g * s.n;
  }
  const rs = gg > 0 ? sg / gg : 0;
  // sigma from the curvature of the shortest expiry with enough quotes.
  const short = sm.find((s) => s.n >= 5) ?? sm[0];
  const s2 = (24 * short.atm ** 3 * short.curvature + 3 * rs * rs) / 2;
  let sigma = s2 > 0 ? Math.sqrt(s2) : Math.max(Math.abs(rs) / 0.5, 0.1);
  sigma = Math.max(sigma, Math.abs(rs) / 0.9);
  const rho = sigma > 0 ? rs / sigma : 0;
  return { v0, kappa, theta, sigma, rho };
}

/**
 * The guess in model units, strictly inside the bounds; null when the model is not Heston-like or
 * the quotes give no smile. Parameters other than Heston's keep their initial values.
 */
export function firstGuess(model: Model, prep: PreparedQuotes, bounds: Bounds): Float64Array | null {
  if (!hasHestonParams(model)) return null;
  const g = hestonGuess(smiles(prep));
  if (!g) return null;
  return insideBounds(Float64Array.from(model.params, (s) => (s.name in g ? g[s.name as keyof typeof g] : s.initial)), bounds);
}

/** p moved strictly inside the bounds (1e-3 of the range from each side: never "pinned"). */
export function insideBounds(p: Float64Array, bounds: Bounds): Float64Array {
  return Float64Array.from(p, (v, j) => {
    const lo = bounds.lower[j];
    const hi = bounds.upper[j];
    const eps = Number.isFinite(hi - lo) ? 2e-3 * (hi - lo) : 0;
    return Math.min(Math.max(Number.isFinite(v) ? v : (lo + hi) / 2, lo + eps), hi - eps);
  });
}

/**
 * Variants of a guess for the probe: vol of variance and mean reversion scaled (x 1/2, 2; x 1/4,
 * 4) with rho sigma kept where |rho| allows, and v0 and theta swapped: the asymptotic forms above
 * are least reliable in exactly these directions.
 */
export function guessVariants(model: Model, guess: Float64Array, bounds: Bounds): Float64Array[] {
  const at = (n: string) => model.params.findIndex((s) => s.name === n);
  const [iv0, ik, ith, is, ir] = NAMES.map(at);
  const out: Float64Array[] = [];
  const push = (f: (p: Float64Array) => void) => {
    const p = Float64Array.from(guess);
    f(p);
    out.push(insideBounds(p, bounds));
  };
  for (const m of [0.5, 2]) push((p) => { p[is] *= m; p[ir] = Math.max(-0.95, Math.min(0.95, p[ir] / m)); });
  for (const m of [0.25, 4]) push((p) => { p[ik] *= m; });
  push((p) => { [p[iv0], p[ith]] = [p[ith], p[iv0]]; });
  push((p) => { p[iv0] = p[ith] = Math.sqrt(p[iv0] * p[ith]); });
  return out;
}
