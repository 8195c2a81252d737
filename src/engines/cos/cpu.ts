/**
 * COS pricing (Fang and Oosterlee 2008) in f64 on the CPU: the oracle for the WGSL kernel and the
 * CPU backend of the pricer.
 *
 * For X = ln(S_T / F) with density f on [a, b], the forward-normalised put (kappa = K / F,
 * k* = ln kappa, d = min(k*, b)) is
 *   P / (D F) = sum'_k A_k V_k,  A_k = Re[phi(w_k) e^{-i w_k a}],  w_k = k pi / (b - a),
 *   V_k = 2/(b-a) [kappa sin(w_k (d-a)) / w_k - (e^d (cos + w_k sin)(w_k (d-a)) - e^a) / (1 + w_k^2)].
 * The A_k depend on the expiry only; per strike only cos/sin(k theta), theta = pi (d-a)/(b-a),
 * are needed and come from a rotation recurrence re-anchored every 64 terms (error ~64 ulp).
 * Cost ~ terms x (expiries + strikes). Calls come from put-call parity: the call payoff grows
 * like e^b on the window and would amplify truncation error (Fang and Oosterlee, section 3.3).
 */
import { hasFourierExtras } from '../../models/complex.js';
import type { Model } from '../../models/types.js';
import type { QuoteSet } from '../pricer.js';
import { groupByExpiry, type ExpiryGroups } from './expiries.js';
import { cosPlan, cosTermCount, type CosOptions, type CosPlan } from './plan.js';

/**
 * |phi| at the last term of the derivative channels of cosPricesAndGradient (the price keeps the
 * plan's tolerance). A Jacobian steers LM and sizes the posterior covariance, for which 1e-10 of
 * the price scale is far more than enough; the shorter sum drops about 40 % of the gradient's
 * characteristic-function work on long expiries.
 */
export const GRADIENT_TOL = 1e-10;

/** Per-expiry coefficient arrays (k >= 1) shared by all strikes of the expiry. */
export interface ExpiryCoefficients {
  plan: CosPlan;
  /** A_k / (1 + w_k^2) */
  alpha: Float64Array;
  /** A_k / w_k */
  beta: Float64Array;
  /** A_k w_k / (1 + w_k^2) */
  gamma: Float64Array;
  /** sum_{k>=1} alpha_k */
  sumAlpha: number;
}

/** Scratch arrays reused across expiries and calls (the engine is synchronous, so never shared). */
let scratchN = 0;
let sRe = new Float64Array(0);
let sIm = new Float64Array(0);
let sAlpha = new Float64Array(0);
let sBeta = new Float64Array(0);
let sGamma = new Float64Array(0);
function ensureScratch(n: number): void {
  if (n <= scratchN) return;
  scratchN = Math.max(n, 2 * scratchN);
  sRe = new Float64Array(scratchN);
  sIm = new Float64Array(scratchN);
  sAlpha = new Float64Array(scratchN);
  sBeta = new Float64Array(scratchN);
  sGamma = new Float64Array(scratchN);
}

/** ln phi(k w) for k < n into re, im: the model's allocation-free grid when it has one. */
function logCfGrid(model: Model, p: Float64Array, T: number, w: number, n: number, re: Float64Array, im: Float64Array): void {
  if (hasFourierExtras(model)) {
    model.logCharFnGrid(w, n, T, p, re, im);
    return;
  }
  for (let k = 0; k < n; k++) {
    let psi: { re: number; im: number };
    if (model.logCharFn) psi = model.logCharFn(k * w, T, p);
    else {
      const c = model.charFn!(k * w, T, p);
      psi = { re: Math.log(Math.hypot(c.re, c.im)), im: Math.atan2(c.im, c.re) };
    }
    re[k] = psi.re;
    im[k] = psi.im;
  }
}

/** Fills alpha, beta, gamma (k < plan.n, index 0 unused) and returns sum alpha. */
function fillCoefficients(
  model: Model,
  p: Float64Array,
  T: number,
  plan: CosPlan,
  alpha: Float64Array,
  beta: Float64Array,
  gamma: Float64Array,
): number {
  const { a, b, n } = plan;
  const w = Math.PI / (b - a);
  ensureScratch(n);
  const re = sRe;
  const im = sIm;
  logCfGrid(model, p, T, w, n, re, im);
  let sumAlpha = 0;
  alpha[0] = beta[0] = gamma[0] = 0;
  for (let k = 1; k < n; k++) {
    const u = k * w;
    // A_k = Re exp(psi - i u a); the phase u a is reduced exactly enough in f64 for k <= 2^15.
    const ak = Math.exp(re[k]) * Math.cos(im[k] - u * a);
    const inv = 1 / (1 + u * u);
    const al = ak * inv;
    alpha[k] = al;
    beta[k] = ak / u;
    gamma[k] = al * u;
    sumAlpha += al;
  }
  return sumAlpha;
}

export function expiryCoefficients(model: Model, p: Float64Array, T: number, options?: CosOptions): ExpiryCoefficients {
  const plan = cosPlan(model, p, T, options);
  const alpha = new Float64Array(plan.n);
  const beta = new Float64Array(plan.n);
  const gamma = new Float64Array(plan.n);
  const sumAlpha = fillCoefficients(model, p, T, plan, alpha, beta, gamma);
  return { plan, alpha, beta, gamma, sumAlpha };
}

/** Results of strikeSums (one reused object: the engine is synchronous). */
const sums = { sa: 0, sb: 0, sg: 0 };

/**
 * sa = sum_{1<=k<n} cos(k theta) alpha_k, sb, sg likewise with sin(k theta) beta_k, gamma_k.
 * cos/sin(k theta) come from rotations: two interleaved streams (odd and even k, each rotated by
 * 2 theta) so the two dependency chains overlap, re-anchored with exact cos/sin every 128 terms
 * (64 rotations per stream: error ~64 ulp). This loop is the engine's hot spot (terms x quotes).
 */
function strikeSums(alpha: Float64Array, beta: Float64Array, gamma: Float64Array, n: number, theta: number): typeof sums {
  const c1 = Math.cos(theta);
  const s1 = Math.sin(theta);
  const c2 = c1 * c1 - s1 * s1;
  const s2 = 2 * s1 * c1;
  let sa = 0;
  let sb = 0;
  let sg = 0;
  for (let base = 1; base < n; base += 128) {
    const end = Math.min(base + 128, n);
    let ar = Math.cos(base * theta);
    let ai = Math.sin(base * theta);
    let br = ar * c1 - ai * s1;
    let bi = ar * s1 + ai * c1;
    let k = base;
    for (; k + 1 < end; k += 2) {
      sa += ar * alpha[k] + br * alpha[k + 1];
      sb += ai * beta[k] + bi * beta[k + 1];
      sg += ai * gamma[k] + bi * gamma[k + 1];
      const t = ar * c2 - ai * s2;
      ai = ar * s2 + ai * c2;
      ar = t;
      const u = br * c2 - bi * s2;
      bi = br * s2 + bi * c2;
      br = u;
    }
    if (k < end) {
      sa += ar * alpha[k];
      sb += ai * beta[k];
      sg += ai * gamma[k];
    }
  }
  sums.sa = sa;
  sums.sb = sb;
  sums.sg = sg;
  return sums;
}

/** Forward-normalised undiscounted put E[(kappa - e^X)^+] for kappa = K / F from expiry coefficients. */
export function cosPutNormalised(c: ExpiryCoefficients, kappa: number): number {
  const { a, b, n } = c.plan;
  const ks = Math.log(kappa);
  // Below the window the put is worth at most kappa P(X < a): zero at the accuracy targeted.
  if (ks <= a) return 0;
  const d = Math.min(ks, b);
  const ed = Math.exp(d);
  const ea = Math.exp(a);
  const theta = (Math.PI * (d - a)) / (b - a);
  const { sa, sb, sg } = strikeSums(c.alpha, c.beta, c.gamma, n, theta);
  const k0 = 0.5 * (kappa * (d - a) - (ed - ea));
  const v = (2 / (b - a)) * (k0 + kappa * sb - ed * (sa + sg) + ea * c.sumAlpha);
  // The window's put cannot be negative or exceed kappa; clamp the last-ulp excursions of tiny prices.
  return Math.min(Math.max(v, 0), kappa);
}

/** Present value of quote i from its normalised put, calls by put-call parity. */
function fromPut(quotes: QuoteSet, i: number, put: number): number {
  const F = quotes.forward[i];
  const kappa = quotes.strike[i] / F;
  const v = quotes.isCall[i] ? Math.max(put + 1 - kappa, 0) : put;
  return quotes.discount[i] * F * v;
}

/**
 * Prices of all quotes for N parameter sets (N x P row-major), N x M row-major result.
 * `groups` may be passed in to skip regrouping for a fixed quote set. `tick`, when given, is called
 * after every (parameter set, expiry): a long synchronous batch (thousands of distinct expiries,
 * up to maxTerms terms each) can then report progress; it must be cheap (a clock check).
 */
export function cosPricesBatch(
  model: Model,
  params: Float64Array,
  n: number,
  quotes: QuoteSet,
  options?: CosOptions,
  groups: ExpiryGroups = groupByExpiry(quotes),
  tick?: () => void,
): Float64Array {
  const P = model.params.length;
  const M = quotes.T.length;
  if (params.length < n * P) throw new RangeError(`params holds ${params.length} values, need ${n} x ${P}`);
  const out = new Float64Array(n * M);
  for (let s = 0; s < n; s++) {
    const p = params.subarray(s * P, (s + 1) * P);
    for (let e = 0; e < groups.T.length; e++) {
      const T = groups.T[e];
      const plan = cosPlan(model, p, T, options);
      ensureScratch(plan.n);
      const sumAlpha = fillCoefficients(model, p, T, plan, sAlpha, sBeta, sGamma);
      const coef: ExpiryCoefficients = { plan, alpha: sAlpha, beta: sBeta, gamma: sGamma, sumAlpha };
      for (let j = groups.start[e]; j < groups.start[e + 1]; j++) {
        const i = groups.order[j];
        const put = cosPutNormalised(coef, quotes.strike[i] / quotes.forward[i]);
        out[s * M + i] = fromPut(quotes, i, put);
      }
      tick?.();
    }
  }
  return out;
}

/** Present values of `quotes` under one parameter vector, in quote order. */
export function cosPrices(model: Model, params: Float64Array, quotes: QuoteSet, options?: CosOptions): Float64Array {
  return cosPricesBatch(model, params, 1, quotes, options);
}

export interface PricesAndGradient {
  /** M present values in quote order. */
  prices: Float64Array;
  /** M x P row-major: gradient[m * P + j] = d price_m / d p_j. */
  gradient: Float64Array;
}

/**
 * Prices and their analytic gradient with respect to the model parameters, one parameter set.
 * The COS sum is linear in A_k = Re[phi(w_k) e^{-i w_k a}], so d price / d p_j is the same sum
 * with A_k replaced by Re[phi psi_j e^{-i w_k a}], psi_j = d ln phi / d p_j from the model's
 * logCharFnGrad. The window [a, b] and term count are held fixed: they only move the truncation
 * error (~1e-15), not the converged price. Clamped prices (at 0 or the intrinsic bound) get a zero
 * gradient, matching the clamp. `tick`: as cosPricesBatch's, after every expiry.
 */
export function cosPricesAndGradient(
  model: Model,
  params: Float64Array,
  quotes: QuoteSet,
  options?: CosOptions,
  groups: ExpiryGroups = groupByExpiry(quotes),
  tick?: () => void,
): PricesAndGradient {
  if (!hasFourierExtras(model)) throw new Error(`model ${model.name} has no analytic characteristic-function gradient`);
  const P = model.params.length;
  const M = quotes.T.length;
  const p = params.subarray(0, P);
  const C = P + 1; // channel 0: the price; channel 1 + j: d / d p_j
  const prices = new Float64Array(M);
  const gradient = new Float64Array(M * P);
  const psi = gradScratch.psi.length >= 2 + 2 * P ? gradScratch.psi : (gradScratch.psi = new Float64Array(2 + 2 * P));
  for (let e = 0; e < groups.T.length; e++) {
    const T = groups.T[e];
    const plan = cosPlan(model, p, T, options);
    const { a, b, n } = plan;
    const ng = Math.min(n, cosTermCount(model, p, T, a, b, { ...options, tol: Math.max(GRADIENT_TOL, options?.tol ?? 0) }));
    const w = Math.PI / (b - a);
    const g = ensureGradScratch(n, C);
    const A = g.A; // channel c, term k at c * n + k: Re[phi e^{-iua} z_c]
    const iu = g.iu;
    const h = g.h;
    const uh = g.uh;
    const sumAlpha = g.sumAlpha;
    sumAlpha.fill(0, 0, C);
    for (let c = 0; c < C; c++) A[c * n] = 0;
    iu[0] = h[0] = uh[0] = 0;
    for (let k = 1; k < n; k++) {
      const u = k * w;
      const inv = 1 / (1 + u * u);
      iu[k] = 1 / u;
      h[k] = inv;
      uh[k] = u * inv;
    }
    for (let k = 1; k < ng; k++) {
      const u = k * w;
      model.logCharFnGrad(u, T, p, psi);
      // phi e^{-iua} = m (cos t + i sin t), t = Im psi - u a
      const m = Math.exp(psi[0]);
      const t = psi[1] - u * a;
      const cr = m * Math.cos(t);
      const ci = m * Math.sin(t);
      const inv = h[k];
      A[k] = cr;
      sumAlpha[0] += cr * inv;
      for (let c = 1; c < C; c++) {
        // Re[phi e^{-iua} psi_j]
        const ak = cr * psi[2 * c] - ci * psi[2 * c + 1];
        A[c * n + k] = ak;
        sumAlpha[c] += ak * inv;
      }
    }
    if (ng < n) {
      // The price's remaining terms, from the cheaper price-only grid.
      ensureScratch(n);
      model.logCharFnGrid(w, n, T, p, sRe, sIm, ng);
      for (let k = ng; k < n; k++) {
        const cr = Math.exp(sRe[k]) * Math.cos(sIm[k] - k * w * a);
        A[k] = cr;
        sumAlpha[0] += cr * h[k];
      }
    }
    // Two passes over the expiry's strikes: first each strike's weights W (rows of g.W) and
    // constants, then every (strike, channel) sum at once (blockSums: the same sums, fewer loads).
    const ea = Math.exp(a);
    const scale = 2 / (b - a);
    ensureRows(g, groups.start[e + 1] - groups.start[e], n, C);
    const rows = g.rows;
    let R = 0;
    for (let j = groups.start[e]; j < groups.start[e + 1]; j++) {
      const i = groups.order[j];
      const kappa = quotes.strike[i] / quotes.forward[i];
      const ks = Math.log(kappa);
      if (ks <= a) {
        prices[i] = fromPut(quotes, i, 0);
        continue;
      }
      const d = Math.min(ks, b);
      const ed = Math.exp(d);
      const theta = (Math.PI * (d - a)) / (b - a);
      // Every channel uses the same strike weights (cosPutNormalised's sa, sb, sg folded into one):
      // put_c = scale (k0 [c = 0] + sum_k A_ck W_k + ea sumAlpha_c).
      strikeWeights(g.W, R * n, n, theta, kappa, ed, iu, h, uh);
      rows[R] = i;
      g.k0[R] = 0.5 * (kappa * (d - a) - (ed - ea));
      R++;
    }
    blockSums(A, n, ng, C, g.W, R, g.S);
    for (let r = 0; r < R; r++) {
      const i = rows[r];
      const F = quotes.forward[i];
      const kappa = quotes.strike[i] / F;
      const v = scale * (g.k0[r] + g.S[r * C] + ea * sumAlpha[0]);
      prices[i] = fromPut(quotes, i, Math.min(Math.max(v, 0), kappa));
      const clampedPut = v <= 0 || v >= kappa;
      const clampedCall = quotes.isCall[i] === 1 && v + 1 - kappa <= 0;
      if (clampedPut || clampedCall) continue;
      const pv = quotes.discount[i] * F * scale;
      for (let c = 1; c < C; c++) gradient[i * P + c - 1] = pv * (g.S[r * C + c] + ea * sumAlpha[c]);
    }
    tick?.();
  }
  return { prices, gradient };
}

/** Scratch of cosPricesAndGradient, grown as needed and reused (the engine is synchronous). */
const gradScratch = {
  n: 0,
  C: 0,
  A: new Float64Array(0),
  iu: new Float64Array(0),
  h: new Float64Array(0),
  uh: new Float64Array(0),
  /** Strike weights, one row of n per strike of the expiry. */
  W: new Float64Array(0),
  sumAlpha: new Float64Array(0),
  psi: new Float64Array(0),
  /** Per strike row: its quote index, k0, and its C channel sums (row-major). */
  rows: new Int32Array(0),
  k0: new Float64Array(0),
  S: new Float64Array(0),
};
function ensureRows(g: typeof gradScratch, q: number, n: number, C: number): void {
  if (g.W.length < q * n) g.W = new Float64Array(Math.max(q * n, 2 * g.W.length));
  if (g.rows.length < q) {
    g.rows = new Int32Array(Math.max(q, 2 * g.rows.length));
    g.k0 = new Float64Array(g.rows.length);
  }
  if (g.S.length < q * C) g.S = new Float64Array(Math.max(q * C, 2 * g.S.length));
}
function ensureGradScratch(n: number, C: number): typeof gradScratch {
  const g = gradScratch;
  if (n > g.n) {
    g.n = Math.max(n, 2 * g.n);
    g.iu = new Float64Array(g.n);
    g.h = new Float64Array(g.n);
    g.uh = new Float64Array(g.n);
  }
  if (C > g.C) {
    g.C = C;
    g.sumAlpha = new Float64Array(C);
  }
  if (g.A.length < g.n * g.C) g.A = new Float64Array(g.n * g.C);
  return g;
}

/**
 * W_k = kappa sin(k theta) / w_k - ed (cos(k theta) + w_k sin(k theta)) / (1 + w_k^2) for
 * 1 <= k < n (W_0 = 0): the strike's weight of A_k, shared by the price and all its derivatives.
 * cos/sin(k theta) by the same rotation scheme as strikeSums (two interleaved streams rotated by
 * 2 theta, re-anchored with exact cos/sin every 128 terms: error ~64 ulp).
 */
function strikeWeights(
  W: Float64Array,
  off: number,
  n: number,
  theta: number,
  kappa: number,
  ed: number,
  iu: Float64Array,
  h: Float64Array,
  uh: Float64Array,
): void {
  const c1 = Math.cos(theta);
  const s1 = Math.sin(theta);
  const c2 = c1 * c1 - s1 * s1;
  const s2 = 2 * s1 * c1;
  W[off] = 0;
  for (let base = 1; base < n; base += 128) {
    const end = Math.min(base + 128, n);
    let ar = Math.cos(base * theta);
    let ai = Math.sin(base * theta);
    let br = ar * c1 - ai * s1;
    let bi = ar * s1 + ai * c1;
    let k = base;
    for (; k + 1 < end; k += 2) {
      W[off + k] = kappa * ai * iu[k] - ed * (ar * h[k] + ai * uh[k]);
      W[off + k + 1] = kappa * bi * iu[k + 1] - ed * (br * h[k + 1] + bi * uh[k + 1]);
      const t = ar * c2 - ai * s2;
      ai = ar * s2 + ai * c2;
      ar = t;
      const u = br * c2 - bi * s2;
      bi = br * s2 + bi * c2;
      br = u;
    }
    if (k < end) W[off + k] = kappa * ai * iu[k] - ed * (ar * h[k] + ai * uh[k]);
  }
}

/** sum_{k<n} x[xo + k] y[yo + k], two accumulators (even and odd k) so the adds overlap. */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < n; k += 2) {
    s0 += x[xo + k] * y[yo + k];
    s1 += x[xo + k + 1] * y[yo + k + 1];
  }
  if (k < n) s0 += x[xo + k] * y[yo + k];
  return s0 + s1;
}

/**
 * S[r C + c] = dot(channel c of A, row r of W) over n terms for the price (c = 0) and ng for the
 * derivatives, each summed exactly as dot does (the same values). The derivative channels go two
 * channels by two strikes at a time: each load of A and W then serves two products instead of one,
 * which halves the time of these sums (the engine's hot spot with the strike weights).
 */
function blockSums(A: Float64Array, n: number, ng: number, C: number, W: Float64Array, R: number, S: Float64Array): void {
  for (let r = 0; r < R; r++) S[r * C] = dot(A, 0, W, r * n, n);
  let r = 0;
  for (; r + 1 < R; r += 2) {
    const w1 = r * n;
    const w2 = w1 + n;
    let c = 1;
    for (; c + 1 < C; c += 2) {
      const a1 = c * n;
      const a2 = a1 + n;
      let p0 = 0, p1 = 0, q0 = 0, q1 = 0, s0 = 0, s1 = 0, t0 = 0, t1 = 0;
      let k = 0;
      for (; k + 1 < ng; k += 2) {
        const x0 = A[a1 + k], x1 = A[a1 + k + 1], y0 = A[a2 + k], y1 = A[a2 + k + 1];
        const u0 = W[w1 + k], u1 = W[w1 + k + 1], v0 = W[w2 + k], v1 = W[w2 + k + 1];
        p0 += x0 * u0; p1 += x1 * u1; q0 += y0 * u0; q1 += y1 * u1;
        s0 += x0 * v0; s1 += x1 * v1; t0 += y0 * v0; t1 += y1 * v1;
      }
      if (k < ng) {
        p0 += A[a1 + k] * W[w1 + k];
        q0 += A[a2 + k] * W[w1 + k];
        s0 += A[a1 + k] * W[w2 + k];
        t0 += A[a2 + k] * W[w2 + k];
      }
      S[r * C + c] = p0 + p1;
      S[r * C + c + 1] = q0 + q1;
      S[(r + 1) * C + c] = s0 + s1;
      S[(r + 1) * C + c + 1] = t0 + t1;
    }
    for (; c < C; c++) {
      S[r * C + c] = dot(A, c * n, W, w1, ng);
      S[(r + 1) * C + c] = dot(A, c * n, W, w2, ng);
    }
  }
  for (; r < R; r++) for (let c = 1; c < C; c++) S[r * C + c] = dot(A, c * n, W, r * n, ng);
}
