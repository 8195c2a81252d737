/**
 * Heston (1993) stochastic volatility: dv = kappa (theta - v) dt + sigma sqrt(v) dW_v,
 * d ln S = (r - q - v/2) dt + sqrt(v) dW_S, d<W_S, W_v> = rho dt.
 *
 * The characteristic function is written in the "little Heston trap" form (Albrecher, Mayer,
 * Schoutens and Tistaert 2007; Lord and Kahl 2010): with Re d >= 0 the ratio g and exp(-d T)
 * stay inside the unit disc, so the complex logarithm never crosses its branch cut and prices
 * stay continuous for long expiries. The algebra is also cancellation-free: beta - d is computed
 * as -sigma^2 (u^2 + iu) / (beta + d), which keeps full precision for small u and small sigma.
 */
import {
  cadd,
  cdiv,
  clog1p,
  cexpm1,
  cmul,
  cscale,
  csqrt,
  csub,
  cexp,
  type Complex,
} from './complex.js';
import type { Cumulants, Model } from './types.js';

/** ln E[exp(i u X_T)], X_T = ln(S_T / F_T), for Heston parameters. */
export function hestonLogCf(
  u: number,
  T: number,
  v0: number,
  kappa: number,
  theta: number,
  sigma: number,
  rho: number,
): Complex {
  if (u === 0) return { re: 0, im: 0 };
  const s2 = sigma * sigma;
  const q: Complex = { re: u * u, im: u }; // u^2 + i u
  const beta: Complex = { re: kappa, im: -rho * sigma * u };
  const d = csqrt(cadd(cmul(beta, beta), cscale(q, s2)));
  const bpd = cadd(beta, d);
  // (beta - d) / sigma^2 = -(u^2 + iu) / (beta + d): no cancellation, no division by sigma^2.
  const dm = cscale(cdiv(q, bpd), -1);
  const g = cscale(cdiv(dm, bpd), s2); // (beta - d) / (beta + d)
  const oneMinusE = cscale(cexpm1(cscale(d, -T)), -1); // 1 - exp(-d T)
  const e: Complex = { re: 1 - oneMinusE.re, im: -oneMinusE.im };
  const oneMinusGE = csub({ re: 1, im: 0 }, cmul(g, e));
  const oneMinusG: Complex = { re: 1 - g.re, im: -g.im };
  const D = cdiv(cmul(dm, oneMinusE), oneMinusGE);
  // log((1 - g e) / (1 - g)) = log1p(z), z = g (1 - e) / (1 - g) = sigma^2 * zs.
  const zs = cdiv(cmul(cdiv(dm, bpd), oneMinusE), oneMinusG);
  const z = cscale(zs, s2);
  // log1p(z) / sigma^2 without dividing a tiny log by a tiny sigma^2.
  const az = Math.hypot(z.re, z.im);
  const logTerm = az < 1e-8 ? cmul(zs, { re: 1 - 0.5 * z.re, im: -0.5 * z.im }) : cscale(clog1p(z), 1 / s2);
  const C = cscale(csub(cscale(dm, T), cscale(logTerm, 2)), kappa * theta);
  return cadd(C, cscale(D, v0));
}

/**
 * Cumulants c1, c2, c4 of X_T. ln E[exp(w X_T)] = A(w, T) + B(w, T) v0 with Riccati equations
 * B' = (w^2 - w)/2 + (rho sigma w - kappa) B + sigma^2 B^2 / 2, A' = kappa theta B. Expanding
 * A and B in powers of w gives a triangular chain of linear ODEs for the Taylor coefficients
 * (c_n = n! (a_n + v0 b_n)), integrated with RK4. B settles to its fixed point within a few
 * 1/kappa, after which A grows linearly: integrating only to min(T, 40/kappa) keeps the step
 * count bounded for any kappa T. The result only sets the COS truncation range (tests check it
 * against the closed-form c1, c2 and finite differences of the characteristic function).
 */
export function hestonCumulants(
  T: number,
  v0: number,
  kappa: number,
  theta: number,
  sigma: number,
  rho: number,
): Cumulants {
  const rs = rho * sigma;
  const hs2 = 0.5 * sigma * sigma;
  const kt = kappa * theta;
  // y = [b1, b2, b3, b4, a1, a2, a3, a4]
  const f = (y: Float64Array, out: Float64Array): void => {
    const [b1, b2, b3, b4] = y;
    out[0] = -0.5 - kappa * b1;
    out[1] = 0.5 - kappa * b2 + rs * b1 + hs2 * b1 * b1;
    out[2] = -kappa * b3 + rs * b2 + hs2 * 2 * b1 * b2;
    out[3] = -kappa * b4 + rs * b3 + hs2 * (2 * b1 * b3 + b2 * b2);
    for (let i = 0; i < 4; i++) out[4 + i] = kt * y[i];
  };
  const tEnd = Math.min(T, 40 / kappa);
  const steps = Math.max(32, Math.ceil(kappa * tEnd * 8));
  const h = tEnd / steps;
  const y = new Float64Array(8);
  const k1 = new Float64Array(8);
  const k2 = new Float64Array(8);
  const k3 = new Float64Array(8);
  const k4 = new Float64Array(8);
  const tmp = new Float64Array(8);
  for (let s = 0; s < steps; s++) {
    f(y, k1);
    for (let i = 0; i < 8; i++) tmp[i] = y[i] + 0.5 * h * k1[i];
    f(tmp, k2);
    for (let i = 0; i < 8; i++) tmp[i] = y[i] + 0.5 * h * k2[i];
    f(tmp, k3);
    for (let i = 0; i < 8; i++) tmp[i] = y[i] + h * k3[i];
    f(tmp, k4);
    for (let i = 0; i < 8; i++) y[i] += (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }
  // Past tEnd, B sits at its fixed point and A grows at rate kappa theta B.
  const rest = T - tEnd;
  const c = (n: number) => y[4 + n - 1] + rest * kt * y[n - 1] + v0 * y[n - 1];
  return { c1: c(1), c2: 2 * c(2), c4: 24 * c(4) };
}

export function hestonLogCfBound(u: number, T: number, p: Float64Array): number {
  // |phi| of Heston decreases in |u| (its density is smooth and unimodal in practice); the bound
  // is the value itself. COS tests against QuantLib guard this assumption.
  return hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4]).re;
}

export const heston: Model = {
  name: 'heston',
  params: [
    { name: 'v0', lower: 1e-6, upper: 4, initial: 0.1, description: 'initial variance' },
    { name: 'kappa', lower: 1e-3, upper: 50, initial: 3, description: 'mean-reversion speed of variance' },
    { name: 'theta', lower: 1e-6, upper: 4, initial: 0.1, description: 'long-run variance' },
    { name: 'sigma', lower: 1e-3, upper: 10, initial: 0.5, description: 'volatility of variance' },
    { name: 'rho', lower: -0.999, upper: 0.999, initial: -0.3, description: 'spot-variance correlation' },
  ],
  constraints: [
    {
      name: 'feller',
      description: 'Feller condition 2 kappa theta - sigma^2 >= 0 (variance stays away from 0)',
      value: (p) => 2 * p[1] * p[2] - p[3] * p[3],
    },
  ],
  charFn: (u, T, p) => cexp(hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4])),
  logCharFn: (u, T, p) => hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4]),
  logCharFnBound: hestonLogCfBound,
  cumulants: (T, p) => hestonCumulants(T, p[0], p[1], p[2], p[3], p[4]),
};
