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
import type { Model } from '../../models/types.js';
import type { QuoteSet } from '../pricer.js';
import { groupByExpiry, type ExpiryGroups } from './expiries.js';
import { cosPlan, type CosOptions, type CosPlan } from './plan.js';

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

export function expiryCoefficients(model: Model, p: Float64Array, T: number, options?: CosOptions): ExpiryCoefficients {
  const plan = cosPlan(model, p, T, options);
  const { a, b, n } = plan;
  const logCf = model.logCharFn
    ? (u: number) => model.logCharFn!(u, T, p)
    : (u: number) => {
        const c = model.charFn!(u, T, p);
        return { re: Math.log(Math.hypot(c.re, c.im)), im: Math.atan2(c.im, c.re) };
      };
  const w = Math.PI / (b - a);
  const alpha = new Float64Array(n);
  const beta = new Float64Array(n);
  const gamma = new Float64Array(n);
  let sumAlpha = 0;
  for (let k = 1; k < n; k++) {
    const u = k * w;
    const psi = logCf(u);
    // A_k = Re exp(psi - i u a); the phase u a is reduced exactly enough in f64 for k <= 2^15.
    const ak = Math.exp(psi.re) * Math.cos(psi.im - u * a);
    const inv = 1 / (1 + u * u);
    alpha[k] = ak * inv;
    beta[k] = ak / u;
    gamma[k] = ak * u * inv;
    sumAlpha += alpha[k];
  }
  return { plan, alpha, beta, gamma, sumAlpha };
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
  const c1 = Math.cos(theta);
  const s1 = Math.sin(theta);
  const { alpha, beta, gamma } = c;
  let sa = 0;
  let sb = 0;
  let sg = 0;
  let cr = 1;
  let ci = 0;
  for (let k = 1; k < n; k++) {
    if ((k & 63) === 0) {
      cr = Math.cos(k * theta);
      ci = Math.sin(k * theta);
    } else {
      const t = cr * c1 - ci * s1;
      ci = cr * s1 + ci * c1;
      cr = t;
    }
    sa += cr * alpha[k];
    sb += ci * beta[k];
    sg += ci * gamma[k];
  }
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
 * `groups` may be passed in to skip regrouping for a fixed quote set.
 */
export function cosPricesBatch(
  model: Model,
  params: Float64Array,
  n: number,
  quotes: QuoteSet,
  options?: CosOptions,
  groups: ExpiryGroups = groupByExpiry(quotes),
): Float64Array {
  const P = model.params.length;
  const M = quotes.T.length;
  if (params.length < n * P) throw new RangeError(`params holds ${params.length} values, need ${n} x ${P}`);
  const out = new Float64Array(n * M);
  for (let s = 0; s < n; s++) {
    const p = params.subarray(s * P, (s + 1) * P);
    for (let e = 0; e < groups.T.length; e++) {
      const coef = expiryCoefficients(model, p, groups.T[e], options);
      for (let j = groups.start[e]; j < groups.start[e + 1]; j++) {
        const i = groups.order[j];
        const put = cosPutNormalised(coef, quotes.strike[i] / quotes.forward[i]);
        out[s * M + i] = fromPut(quotes, i, put);
      }
    }
  }
  return out;
}

/** Present values of `quotes` under one parameter vector, in quote order. */
export function cosPrices(model: Model, params: Float64Array, quotes: QuoteSet, options?: CosOptions): Float64Array {
  return cosPricesBatch(model, params, 1, quotes, options);
}
