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
import { cexp, type Complex, type FourierExtras } from './complex.js';
import type { Cumulants, Model } from './types.js';

/**
 * ln E[exp(i u X_T)] for Heston parameters into out[at] (re), out[at + 1] (im). Scalar complex
 * arithmetic on locals: the COS engine calls this once per (expiry, term), hundreds of thousands
 * of times per batch, and object-per-operation complex numbers made it ~10x slower.
 */
export function hestonLogCfInto(
  u: number,
  T: number,
  v0: number,
  kappa: number,
  theta: number,
  sigma: number,
  rho: number,
  out: Float64Array,
  at: number,
): void {
  if (u === 0) {
    out[at] = 0;
    out[at + 1] = 0;
    return;
  }
  const s2 = sigma * sigma;
  const qr = u * u; // q = u^2 + i u
  const qi = u;
  const br = kappa; // beta = kappa - i rho sigma u
  const bi = -rho * sigma * u;
  // d = sqrt(beta^2 + sigma^2 q), principal root (Re d >= 0), cancellation-free in both parts.
  const xr = br * br - bi * bi + s2 * qr;
  const xi = 2 * br * bi + s2 * qi;
  const m = Math.sqrt(0.5 * (Math.sqrt(xr * xr + xi * xi) + Math.abs(xr)));
  let dr = 0;
  let di = 0;
  if (m > 0) {
    if (xr >= 0) {
      dr = m;
      di = xi / (2 * m);
    } else {
      dr = Math.abs(xi) / (2 * m);
      di = xi >= 0 ? m : -m;
    }
  }
  // 1 / (beta + d): Re(beta + d) >= kappa > 0, so |beta + d|^2 neither overflows nor vanishes.
  const pr = br + dr;
  const pi = bi + di;
  const pn = 1 / (pr * pr + pi * pi);
  const ir = pr * pn;
  const ii = -pi * pn;
  // dm = (beta - d) / sigma^2 = -q / (beta + d); dmb = dm / (beta + d); g = sigma^2 dmb.
  const dmr = -(qr * ir - qi * ii);
  const dmi = -(qr * ii + qi * ir);
  const dbr = dmr * ir - dmi * ii;
  const dbi = dmr * ii + dmi * ir;
  const gr = s2 * dbr;
  const gi = s2 * dbi;
  // 1 - e^{-dT} = -expm1(-dT), with cos y, sin y from the half angle (one sin, one cos).
  const x = -dr * T;
  const y = -di * T;
  const sh = Math.sin(0.5 * y);
  const ch = Math.cos(0.5 * y);
  const sh2 = 2 * sh * sh;
  const omer = sh2 - Math.expm1(x) * (1 - sh2);
  const omei = -Math.exp(x) * 2 * sh * ch;
  const er = 1 - omer;
  const ei = -omei;
  // D = dm (1 - e) / (1 - g e)
  const omger = 1 - (gr * er - gi * ei);
  const omgei = -(gr * ei + gi * er);
  const nr = dmr * omer - dmi * omei;
  const ni = dmr * omei + dmi * omer;
  const on = 1 / (omger * omger + omgei * omgei);
  const Dr = (nr * omger + ni * omgei) * on;
  const Di = (ni * omger - nr * omgei) * on;
  // log((1 - g e) / (1 - g)) = log1p(z), z = sigma^2 zs, zs = dmb (1 - e) / (1 - g).
  const omgr = 1 - gr;
  const omgi = -gi;
  const mr = dbr * omer - dbi * omei;
  const mi = dbr * omei + dbi * omer;
  const gn = 1 / (omgr * omgr + omgi * omgi);
  const zsr = (mr * omgr + mi * omgi) * gn;
  const zsi = (mi * omgr - mr * omgi) * gn;
  const zr = s2 * zsr;
  const zi = s2 * zsi;
  // log1p(z) / sigma^2 without dividing a tiny log by a tiny sigma^2.
  let lr: number;
  let li: number;
  if (zr * zr + zi * zi < 1e-16) {
    const tr = 1 - 0.5 * zr;
    const ti = -0.5 * zi;
    lr = zsr * tr - zsi * ti;
    li = zsr * ti + zsi * tr;
  } else {
    lr = (0.5 * Math.log1p(zr * (2 + zr) + zi * zi)) / s2;
    li = Math.atan2(zi, 1 + zr) / s2;
  }
  const kt = kappa * theta;
  out[at] = kt * (dmr * T - 2 * lr) + v0 * Dr;
  out[at + 1] = kt * (dmi * T - 2 * li) + v0 * Di;
}

const scratch = new Float64Array(2);

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
  hestonLogCfInto(u, T, v0, kappa, theta, sigma, rho, scratch, 0);
  return { re: scratch[0], im: scratch[1] };
}

/**
 * ln phi(u) and its gradient with respect to (v0, kappa, theta, sigma, rho), written into
 * out[0..1] (psi) and out[2 + 2j], out[3 + 2j] (d psi / d p_j). Forward-mode differentiation of
 * the same little-trap algebra as hestonLogCfInto (tests check it against central differences):
 * with dm = -q/(beta + d), zs = dm (1 - e) / ((beta + d)(1 - g)), l = log1p(sigma^2 zs)/sigma^2,
 * psi = kappa theta (dm T - 2 l) + v0 dm (1 - e) / (1 - g e).
 *
 * Scalar complex arithmetic on locals (a `r`/`i` suffix is the real/imaginary part), no object per
 * operation: the COS gradient calls this once per (expiry, term) at every Jacobian, and the
 * object-per-operation version made the analytic Jacobian slower than finite differences.
 * Divisions go through reciprocals computed once (1/(beta+d), 1/d, 1/(1-ge), 1/(1-g), 1/(1+z)):
 * each of these stays well away from 0 and from overflow for u != 0 (Re(beta + d) >= kappa,
 * |g e| < 1 and |g| < 1 in the little trap).
 */
export function hestonLogCfGrad(u: number, T: number, p: Float64Array, out: Float64Array): void {
  const v0 = p[0], kappa = p[1], theta = p[2], sigma = p[3], rho = p[4];
  out.fill(0, 0, 12);
  if (u === 0) return;
  const s2 = sigma * sigma;
  const qr = u * u; // q = u^2 + i u
  const qi = u;
  const br = kappa; // beta = kappa - i rho sigma u
  const bi = -rho * sigma * u;
  // d = sqrt(beta^2 + sigma^2 q), principal root, as hestonLogCfInto.
  const xr = br * br - bi * bi + s2 * qr;
  const xi = 2 * br * bi + s2 * qi;
  let dr = 0;
  let di = 0;
  if (xr !== 0 || xi !== 0) {
    const m = Math.sqrt(0.5 * (Math.sqrt(xr * xr + xi * xi) + Math.abs(xr)));
    if (xr >= 0) {
      dr = m;
      di = xi / (2 * m);
    } else {
      dr = Math.abs(xi) / (2 * m);
      di = xi >= 0 ? m : -m;
    }
  }
  const idn = 1 / (dr * dr + di * di); // 1 / d
  const idr = dr * idn;
  const idi = -di * idn;
  const pr = br + dr; // beta + d and its reciprocal
  const pi = bi + di;
  const pn = 1 / (pr * pr + pi * pi);
  const ir = pr * pn;
  const ii = -pi * pn;
  // dm = -q / (beta + d); dmb = dm / (beta + d); g = s2 dmb
  const dmr = -(qr * ir - qi * ii);
  const dmi = -(qr * ii + qi * ir);
  const dbr = dmr * ir - dmi * ii;
  const dbi = dmr * ii + dmi * ir;
  const gr = s2 * dbr;
  const gi = s2 * dbi;
  // 1 - e = -expm1(-d T) (cexpm1's form: expm1(x) cos y - 2 sin^2(y/2) + i e^x sin y)
  const x = -dr * T;
  const y = -di * T;
  const sh = Math.sin(0.5 * y);
  const omer = -(Math.expm1(x) * Math.cos(y) - 2 * sh * sh);
  const omei = -(Math.exp(x) * Math.sin(y));
  const er = 1 - omer;
  const ei = -omei;
  // 1 - g e, 1 - g and their reciprocals
  const omger = 1 - (gr * er - gi * ei);
  const omgei = -(gr * ei + gi * er);
  const on = 1 / (omger * omger + omgei * omgei);
  const ior = omger * on;
  const ioi = -omgei * on;
  const omgr = 1 - gr;
  const omgi = -gi;
  const gn = 1 / (omgr * omgr + omgi * omgi);
  const igr = omgr * gn;
  const igi = -omgi * gn;
  // D = dm (1 - e) / (1 - g e)
  const nr = dmr * omer - dmi * omei;
  const ni = dmr * omei + dmi * omer;
  const Dr = nr * ior - ni * ioi;
  const Di = nr * ioi + ni * ior;
  // zs = dmb (1 - e) / (1 - g), z = s2 zs, 1 / (1 + z)
  const mr = dbr * omer - dbi * omei;
  const mi = dbr * omei + dbi * omer;
  const zsr = mr * igr - mi * igi;
  const zsi = mr * igi + mi * igr;
  const zr = s2 * zsr;
  const zi = s2 * zsi;
  const zn = 1 / ((1 + zr) * (1 + zr) + zi * zi);
  const izr = (1 + zr) * zn;
  const izi = -zi * zn;
  // l = log1p(z) / s2, without dividing a tiny log by a tiny s2
  let lr: number;
  let li: number;
  if (zr * zr + zi * zi < 1e-16) {
    const tr = 1 - 0.5 * zr;
    const ti = -0.5 * zi;
    lr = zsr * tr - zsi * ti;
    li = zsr * ti + zsi * tr;
  } else {
    lr = (0.5 * Math.log1p(zr * (2 + zr) + zi * zi)) / s2;
    li = Math.atan2(zi, 1 + zr) / s2;
  }
  // psi = kappa theta Ct + v0 D, Ct = dm T - 2 l
  const Ctr = dmr * T - 2 * lr;
  const Cti = dmi * T - 2 * li;
  const kt = kappa * theta;
  out[0] = kt * Ctr + v0 * Dr;
  out[1] = kt * Cti + v0 * Di;
  out[2] = Dr; // d / d v0
  out[3] = Di;
  out[6] = kappa * Ctr; // d / d theta
  out[7] = kappa * Cti;
  // zs / (1 + z) - l, used by the sigma direction (s2 moves)
  const wr = zsr * izr - zsi * izi - lr;
  const wi = zsr * izi + zsi * izr - li;
  // kappa, sigma, rho move beta (and sigma^2); differentiate Ct and D along each direction
  // (betaX = d beta / d p_j, s2X = d sigma^2 / d p_j).
  for (let j = 1; j <= 4; j++) {
    if (j === 2) continue;
    const bXr = j === 1 ? 1 : 0;
    const bXi = j === 1 ? 0 : j === 3 ? -rho * u : -sigma * u;
    const s2X = j === 3 ? 2 * sigma : 0;
    // dX = (beta betaX + q s2X / 2) / d
    const tr = br * bXr - bi * bXi + 0.5 * s2X * qr;
    const ti = br * bXi + bi * bXr + 0.5 * s2X * qi;
    const dXr = tr * idr - ti * idi;
    const dXi = tr * idi + ti * idr;
    const pXr = bXr + dXr; // (beta + d)'
    const pXi = bXi + dXi;
    // dm' = -dm (beta + d)' / (beta + d)
    const ar = dmr * pXr - dmi * pXi;
    const ai = dmr * pXi + dmi * pXr;
    const dmXr = -(ar * ir - ai * ii);
    const dmXi = -(ar * ii + ai * ir);
    // dmb' = (dm' - dmb (beta + d)') / (beta + d)
    const cr = dmXr - (dbr * pXr - dbi * pXi);
    const ci = dmXi - (dbr * pXi + dbi * pXr);
    const dbXr = cr * ir - ci * ii;
    const dbXi = cr * ii + ci * ir;
    // g' = s2X dmb + s2 dmb'; e' = -T d' e; (1 - e)' = -e'; (1 - g e)' = -(g' e + g e')
    const gXr = s2X * dbr + s2 * dbXr;
    const gXi = s2X * dbi + s2 * dbXi;
    const eXr = -T * (dXr * er - dXi * ei);
    const eXi = -T * (dXr * ei + dXi * er);
    const omeXr = -eXr;
    const omeXi = -eXi;
    const omgeXr = -(gXr * er - gXi * ei + gr * eXr - gi * eXi);
    const omgeXi = -(gXr * ei + gXi * er + gr * eXi + gi * eXr);
    // D' = (dm' (1 - e) + dm (1 - e)' - D (1 - g e)') / (1 - g e)
    const hr = dmXr * omer - dmXi * omei + dmr * omeXr - dmi * omeXi - (Dr * omgeXr - Di * omgeXi);
    const hi = dmXr * omei + dmXi * omer + dmr * omeXi + dmi * omeXr - (Dr * omgeXi + Di * omgeXr);
    const DXr = hr * ior - hi * ioi;
    const DXi = hr * ioi + hi * ior;
    // zs = N / (1 - g), N = dmb (1 - e): zs' = (N' + zs g') / (1 - g)
    const kr = dbXr * omer - dbXi * omei + dbr * omeXr - dbi * omeXi + (zsr * gXr - zsi * gXi);
    const ki = dbXr * omei + dbXi * omer + dbr * omeXi + dbi * omeXr + (zsr * gXi + zsi * gXr);
    const zsXr = kr * igr - ki * igi;
    const zsXi = kr * igi + ki * igr;
    // l = log1p(s2 zs) / s2: l' = zs' / (1 + z) + (s2'/s2) (zs / (1 + z) - l)
    let lXr = zsXr * izr - zsXi * izi;
    let lXi = zsXr * izi + zsXi * izr;
    if (s2X !== 0) {
      lXr += (s2X / s2) * wr;
      lXi += (s2X / s2) * wi;
    }
    let gjr = kt * (dmXr * T - 2 * lXr) + v0 * DXr;
    let gji = kt * (dmXi * T - 2 * lXi) + v0 * DXi;
    if (j === 1) {
      gjr += theta * Ctr;
      gji += theta * Cti;
    }
    out[2 + 2 * j] = gjr;
    out[3 + 2 * j] = gji;
  }
}

/**
 * Cumulants of X_T from the Riccati Taylor chain. ln E[exp(w X_T)] = A(w, T) + B(w, T) v0 with
 * B' = (w^2 - w)/2 + (rho sigma w - kappa) B + sigma^2 B^2 / 2, A' = kappa theta B. Expanding A
 * and B in powers of w gives a triangular chain of linear ODEs for the Taylor coefficients
 * (c_n = n! (a_n + v0 b_n)), integrated here with RK4 on scalar locals (this runs per parameter
 * set and expiry). B settles to its fixed point within a few 1/kappa, after which A grows
 * linearly: integrating only to min(T, 40/kappa) keeps the step count bounded for any kappa T.
 * c4 has no short closed form; c1 and c2 do (hestonCumulants), and tests check both against
 * this chain (with `refine` times the steps) and against finite differences of ln phi.
 */
export function hestonCumulantsRk4(
  T: number,
  v0: number,
  kappa: number,
  theta: number,
  sigma: number,
  rho: number,
  refine = 1,
): Cumulants {
  const rs = rho * sigma;
  const hs2 = 0.5 * sigma * sigma;
  const kt = kappa * theta;
  const tEnd = Math.min(T, 40 / kappa);
  // Default steps: c4 (the only one the engine takes from here) to ~1e-5, plenty for a window.
  const steps = refine * Math.max(32, Math.ceil(kappa * tEnd * 8));
  const h = tEnd / steps;
  // b_n' = F_n(b_1..b_n); a_n' = kappa theta b_n uses the same stage values.
  let b1 = 0, b2 = 0, b4 = 0, b3 = 0, a1 = 0, a2 = 0, a4 = 0;
  for (let s = 0; s < steps; s++) {
    const k11 = -0.5 - kappa * b1;
    const k12 = 0.5 - kappa * b2 + rs * b1 + hs2 * b1 * b1;
    const k13 = -kappa * b3 + rs * b2 + 2 * hs2 * b1 * b2;
    const k14 = -kappa * b4 + rs * b3 + hs2 * (2 * b1 * b3 + b2 * b2);
    const p1 = b1 + 0.5 * h * k11, p2 = b2 + 0.5 * h * k12, p3 = b3 + 0.5 * h * k13, p4 = b4 + 0.5 * h * k14;
    const k21 = -0.5 - kappa * p1;
    const k22 = 0.5 - kappa * p2 + rs * p1 + hs2 * p1 * p1;
    const k23 = -kappa * p3 + rs * p2 + 2 * hs2 * p1 * p2;
    const k24 = -kappa * p4 + rs * p3 + hs2 * (2 * p1 * p3 + p2 * p2);
    const q1 = b1 + 0.5 * h * k21, q2 = b2 + 0.5 * h * k22, q3 = b3 + 0.5 * h * k23, q4 = b4 + 0.5 * h * k24;
    const k31 = -0.5 - kappa * q1;
    const k32 = 0.5 - kappa * q2 + rs * q1 + hs2 * q1 * q1;
    const k33 = -kappa * q3 + rs * q2 + 2 * hs2 * q1 * q2;
    const k34 = -kappa * q4 + rs * q3 + hs2 * (2 * q1 * q3 + q2 * q2);
    const r1 = b1 + h * k31, r2 = b2 + h * k32, r3 = b3 + h * k33, r4 = b4 + h * k34;
    const k41 = -0.5 - kappa * r1;
    const k42 = 0.5 - kappa * r2 + rs * r1 + hs2 * r1 * r1;
    const k43 = -kappa * r3 + rs * r2 + 2 * hs2 * r1 * r2;
    const k44 = -kappa * r4 + rs * r3 + hs2 * (2 * r1 * r3 + r2 * r2);
    const w = (kt * h) / 6;
    a1 += w * (b1 + 2 * p1 + 2 * q1 + r1);
    a2 += w * (b2 + 2 * p2 + 2 * q2 + r2);
    a4 += w * (b4 + 2 * p4 + 2 * q4 + r4);
    b1 += (h / 6) * (k11 + 2 * k21 + 2 * k31 + k41);
    b2 += (h / 6) * (k12 + 2 * k22 + 2 * k32 + k42);
    b3 += (h / 6) * (k13 + 2 * k23 + 2 * k33 + k43);
    b4 += (h / 6) * (k14 + 2 * k24 + 2 * k34 + k44);
  }
  // Past tEnd, B sits at its fixed point and A grows at rate kappa theta B.
  const rest = T - tEnd;
  return {
    c1: a1 + rest * kt * b1 + v0 * b1,
    c2: 2 * (a2 + rest * kt * b2 + v0 * b2),
    c4: 24 * (a4 + rest * kt * b4 + v0 * b4),
  };
}

/**
 * Cumulants c1, c2, c4 of X_T: c1 and c2 in closed form (derived from the chain above with
 * E = e^{-kappa T}, m = 1 - E):
 *   b1 = -m / (2 kappa), a1 = -theta (T - m/kappa) / 2, c1 = a1 + v0 b1;
 *   b2' + kappa b2 = A0 + A1 E(t) + A2 E(t)^2, A0 = 1/2 - rho sigma/(2 kappa) + sigma^2/(8 kappa^2),
 *   A1 = rho sigma/(2 kappa) - sigma^2/(4 kappa^2), A2 = sigma^2/(8 kappa^2), so
 *   b2 = A0 m/kappa + A1 T E + A2 E m/kappa,
 *   a2 = theta [A0 (T - m/kappa) + A1 (m - kappa T E)/kappa + A2 m^2/(2 kappa)], c2 = 2 (a2 + v0 b2)
 * (sigma = 0 gives c2 = integrated variance theta T + (v0 - theta) m / kappa); c4 from the RK4
 * chain. For kappa T < 1e-3 the closed-form c2 terms cancel to a few digits, and RK4 over so
 * short a horizon is exact to rounding, so the chain's c2 is used there.
 */
export function hestonCumulants(
  T: number,
  v0: number,
  kappa: number,
  theta: number,
  sigma: number,
  rho: number,
): Cumulants {
  const rk = hestonCumulantsRk4(T, v0, kappa, theta, sigma, rho);
  const kT = kappa * T;
  const m = -Math.expm1(-kT);
  const E = 1 - m;
  const tm = (kT - m) / kappa; // T - m / kappa
  const c1 = -0.5 * theta * tm - (v0 * m) / (2 * kappa);
  if (kT < 1e-3) return { c1, c2: rk.c2, c4: rk.c4 };
  const rs = (rho * sigma) / (2 * kappa);
  const A2 = (sigma * sigma) / (8 * kappa * kappa);
  const A0 = 0.5 - rs + A2;
  const A1 = rs - 2 * A2;
  const b2 = (A0 * m) / kappa + A1 * T * E + (A2 * E * m) / kappa;
  const a2 = theta * (A0 * tm + (A1 * (m - kT * E)) / kappa + (A2 * m * m) / (2 * kappa));
  return { c1, c2: 2 * (a2 + v0 * b2), c4: rk.c4 };
}

export function hestonLogCfBound(u: number, T: number, p: Float64Array): number {
  // |phi| of Heston decreases in |u| (its density is smooth and unimodal in practice); the bound
  // is the value itself. COS tests against QuantLib guard this assumption.
  return hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4]).re;
}

/** ln phi(k w) for k = 0 .. n-1 (FourierExtras.logCharFnGrid). */
export function hestonLogCfGrid(w: number, n: number, T: number, p: Float64Array, re: Float64Array, im: Float64Array, from = 0): void {
  const v0 = p[0], kappa = p[1], theta = p[2], sigma = p[3], rho = p[4];
  for (let k = from; k < n; k++) {
    hestonLogCfInto(k * w, T, v0, kappa, theta, sigma, rho, scratch, 0);
    re[k] = scratch[0];
    im[k] = scratch[1];
  }
}

export const heston: Model & FourierExtras = {
  name: 'heston',
  kernels: { cos: 0, mc: 'heston' },
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
  logCharFnGrid: hestonLogCfGrid,
  logCharFnGrad: hestonLogCfGrad,
};
