/**
 * An update's confidence, measured from the fit: confidence = posterior x coverage x staleness,
 * each in [0, 1].
 *
 * - posterior: the slice's parameter covariance mapped to vol. Calibrate's slice fits carry no
 *   per-slice covariance (stderr is null for them), so it is derived here from the slice's own
 *   quotes, Gauss-Newton at the fit: J_ij = d iv(k_i) / d p_j = (dw/dp_j) / (2 iv T), weights
 *   W = the quotes' fit weights, C = s^2 (J^T W J)^-1 with s^2 = sum W r^2 / (n - p), r = model iv
 *   - market iv. Parameters p: svi the raw (a, b, rho, m, sigma), or only those the fit freed
 *   (reduced fallback: a, b, rho; flat: a); ssvi and essvi the slice's (theta, rho psi, psi), the
 *   slice treated as a free eSSVI slice with the rest of the surface held (for ssvi a local
 *   relaxation: its per-slice psi is tied to theta by the global power law). A slice with no
 *   spare quote (n <= p) takes the fit's pooled s^2. The vol's standard error se(k) = sqrt(g^T C
 *   g), g = d iv(k) / dp, at the forward and at +-1 and +-2 standard deviations of ln(S_T/F),
 *   k_j = j sqrt(w(0)); with se = the largest of the five, posterior = 1 / (1 + (se / 0.01)^2)
 *   (one vol point of standard error halves it). A singular J^T W J (parameters the quotes do not
 *   determine) gives 0.
 * - coverage: the share of those five points inside the slice's quoted k range [k_min, k_max]
 *   (a smile published beyond its quotes is extrapolation).
 * - staleness: the normalizer's decay (src/market/weights.ts) at publish time, the mean over the
 *   slice's quotes of 0.5^(age / half-life), age = publish time - quote time (>= 0).
 */
import { spdInverse } from '../optim/linalg.js';
import { ssviPartials, type SsviSliceParams } from '../surface/ssvi.js';
import { sviParamGradient, sviW, type SviRaw } from '../surface/svi.js';

/** One quote of a slice as publish reads it from the fit's residuals. */
export interface SliceQuote {
  k: number;
  iv: number;
  weight: number;
  timeMs: number;
}

/** A slice as the posterior sees it: raw SVI (svi) or the SSVI slice (ssvi, essvi). */
export interface PosteriorSlice {
  T: number;
  raw: SviRaw;
  ssvi?: SsviSliceParams;
  fallback?: 'reduced' | 'flat';
  quotes: readonly SliceQuote[];
}

/** Standard deviations of ln(S_T / F) at which the vol's error is measured. */
export const PROBE_SDS = [-2, -1, 0, 1, 2] as const;
/** A standard error of this many vol units halves the posterior factor. */
export const VOL_SE_SCALE = 0.01;

export interface Confidence {
  confidence: number;
  posterior: number;
  coverage: number;
  staleness: number;
  /** The probe points k_j and the vol's standard error there (null: not identified). */
  k: number[];
  vol_se: Array<number | null>;
  quotes: number;
  parameters: number;
  /** Whether s^2 came from the fit's pooled residuals (no spare quote in the slice). */
  pooled_noise: boolean;
}

/** The slice's total variance and its parameter gradient at k (the parameters of `paramCount`). */
function wAndGradient(s: PosteriorSlice, k: number, g: Float64Array): number {
  if (s.ssvi) {
    const { theta, rho, psi } = s.ssvi;
    const d = ssviPartials(theta, rho * psi, psi, k);
    g[0] = d.dTheta;
    g[1] = d.dA;
    g[2] = d.dPsi;
    return d.w;
  }
  const full = new Float64Array(5);
  sviParamGradient(s.raw, k, full);
  g.set(full.subarray(0, g.length));
  return sviW(s.raw, k);
}

/** How many parameters the slice's posterior has (see the file comment). */
export function paramCount(s: PosteriorSlice): number {
  if (s.ssvi) return 3;
  return s.fallback === 'flat' ? 1 : s.fallback === 'reduced' ? 3 : 5;
}

/** Vol and d vol / dp at k; vol from the total variance at T. */
function volGradient(s: PosteriorSlice, k: number, g: Float64Array): number {
  const w = wAndGradient(s, k, g);
  const vol = Math.sqrt(Math.max(w, 0) / s.T);
  for (let j = 0; j < g.length; j++) g[j] /= 2 * vol * s.T;
  return vol;
}

/** Weighted residual sum of squares of a slice's quotes against its model vol. */
export function weightedRss(s: PosteriorSlice): number {
  const g = new Float64Array(paramCount(s));
  let rss = 0;
  for (const q of s.quotes) {
    const r = volGradient(s, q.k, g) - q.iv;
    rss += q.weight * r * r;
  }
  return rss;
}

/**
 * The slice's confidence at `nowMs` (publish time). `pooledS2` is the fit's s^2 over every slice
 * (sum W r^2 / (N - sum p)), used where the slice has no spare quote.
 */
export function sliceConfidence(s: PosteriorSlice, pooledS2: number, nowMs: number, halfLifeSeconds: number): Confidence {
  const p = paramCount(s);
  const n = s.quotes.length;
  const g = new Float64Array(p);
  const A = new Float64Array(p * p);
  for (const q of s.quotes) {
    volGradient(s, q.k, g);
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) A[i * p + j] += q.weight * g[i] * g[j];
  }
  const pooled = n <= p;
  const s2 = pooled ? pooledS2 : weightedRss(s) / (n - p);
  const inv = spdInverse(A, p);
  const sd = Math.sqrt(Math.max(wAndGradient(s, 0, g), 0));
  const k = PROBE_SDS.map((j) => j * sd);
  const se = k.map((kj) => {
    if (!inv || !Number.isFinite(s2)) return null;
    volGradient(s, kj, g);
    let v = 0;
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) v += g[i] * inv[i * p + j] * g[j];
    return Math.sqrt(Math.max(v, 0) * s2);
  });
  const seMax = se.some((x) => x === null) ? Infinity : Math.max(...(se as number[]));
  const posterior = Number.isFinite(seMax) ? 1 / (1 + (seMax / VOL_SE_SCALE) ** 2) : 0;
  const ks = s.quotes.map((q) => q.k);
  const kMin = Math.min(...ks);
  const kMax = Math.max(...ks);
  const coverage = k.filter((kj) => kj >= kMin && kj <= kMax).length / k.length;
  const staleness = s.quotes.reduce((sum, q) => sum + Math.pow(0.5, Math.max(0, (nowMs - q.timeMs) / 1000) / halfLifeSeconds), 0) / n;
  return { confidence: posterior * coverage * staleness, posterior, coverage, staleness, k, vol_se: se, quotes: n, parameters: p, pooled_noise: pooled };
}

/** The fit's pooled s^2: sum over slices of W r^2 over (quotes - parameters); Infinity without spare quotes. */
export function pooledNoise(slices: readonly PosteriorSlice[]): number {
  let rss = 0;
  let dof = 0;
  for (const s of slices) {
    rss += weightedRss(s);
    dof += s.quotes.length - paramCount(s);
  }
  return dof > 0 ? rss / dof : Infinity;
}
