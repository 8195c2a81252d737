/**
 * Raw SVI (Gatheral 2004) in total implied variance w = sigma_BS^2 T and log-forward moneyness
 * k = ln(K / F_T):
 *
 *   w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)),   b >= 0, |rho| < 1, sigma > 0,
 *
 * its first two derivatives in k, its parameter gradient, and the natural and jump-wings (JW)
 * parametrisations of Gatheral & Jacquier (2014), "Arbitrage-free SVI volatility surfaces",
 * section 3 (Lemma 3.2 for the conversions). All f64, no allocation in the per-point functions.
 */

/** Raw SVI parameters of one slice (total variance). */
export interface SviRaw {
  a: number;
  b: number;
  rho: number;
  m: number;
  sigma: number;
}

/**
 * Natural SVI: w(k) = Delta + omega/2 (1 + zeta rho (k - mu) + sqrt((zeta (k - mu) + rho)^2 + 1 - rho^2)).
 * omega >= 0, Delta real, mu real, |rho| < 1, zeta > 0.
 */
export interface SviNatural {
  delta: number;
  mu: number;
  rho: number;
  omega: number;
  zeta: number;
}

/**
 * Jump-wings SVI at expiry T (GJ 2014, 3.3): v ATM variance, psi ATM skew, p left-wing slope,
 * c right-wing slope, vTilde minimum variance (all in implied-variance, not total-variance, units
 * where the definition says so: v = w(0)/T, vTilde = min_k w(k)/T; psi, p, c are divided by sqrt(w(0))).
 */
export interface SviJw {
  v: number;
  psi: number;
  p: number;
  c: number;
  vTilde: number;
}

/** Total variance at k. */
export function sviW(p: SviRaw, k: number): number {
  const x = k - p.m;
  return p.a + p.b * (p.rho * x + Math.sqrt(x * x + p.sigma * p.sigma));
}

/** w, dw/dk, d2w/dk2 at k (into `out`, which is returned). */
export function sviDerivs(p: SviRaw, k: number, out: { w: number; wk: number; wkk: number } = { w: 0, wk: 0, wkk: 0 }) {
  const x = k - p.m;
  const s2 = p.sigma * p.sigma;
  const R = Math.sqrt(x * x + s2);
  out.w = p.a + p.b * (p.rho * x + R);
  out.wk = p.b * (p.rho + x / R);
  out.wkk = (p.b * s2) / (R * R * R);
  return out;
}

/** d w / d (a, b, rho, m, sigma) at k, into `g` (length 5). */
export function sviParamGradient(p: SviRaw, k: number, g: Float64Array | number[]): void {
  const x = k - p.m;
  const R = Math.sqrt(x * x + p.sigma * p.sigma);
  g[0] = 1;
  g[1] = p.rho * x + R;
  g[2] = p.b * x;
  g[3] = -p.b * (p.rho + x / R);
  g[4] = (p.b * p.sigma) / R;
}

/** Minimum of w over k: a + b sigma sqrt(1 - rho^2) (at k = m - rho sigma / sqrt(1 - rho^2)). */
export function sviMinVariance(p: SviRaw): number {
  return p.a + p.b * p.sigma * Math.sqrt(Math.max(0, 1 - p.rho * p.rho));
}

/** Asymptotic slopes of w: left (k -> -inf, |dw/dk|) b (1 - rho), right b (1 + rho). Lee: both <= 2. */
export function sviWingSlopes(p: SviRaw): { left: number; right: number } {
  return { left: p.b * (1 - p.rho), right: p.b * (1 + p.rho) };
}

export function rawToNatural(p: SviRaw): SviNatural {
  const r = Math.sqrt(1 - p.rho * p.rho);
  const zeta = r / p.sigma;
  const omega = (2 * p.b * p.sigma) / r;
  return { delta: p.a - p.b * p.sigma * r, mu: p.m + (p.rho * p.sigma) / r, rho: p.rho, omega, zeta };
}

export function naturalToRaw(n: SviNatural): SviRaw {
  const r2 = 1 - n.rho * n.rho;
  return {
    a: n.delta + 0.5 * n.omega * r2,
    b: 0.5 * n.omega * n.zeta,
    rho: n.rho,
    m: n.mu - n.rho / n.zeta,
    sigma: Math.sqrt(r2) / n.zeta,
  };
}

/** Raw -> JW at expiry T (GJ 2014, (3.5)). Requires w(0) > 0. */
export function rawToJw(p: SviRaw, T: number): SviJw {
  const R0 = Math.sqrt(p.m * p.m + p.sigma * p.sigma);
  const wt = p.a + p.b * (-p.rho * p.m + R0);
  if (!(wt > 0)) throw new RangeError(`SVI -> JW: ATM total variance w(0) = ${wt} must be positive`);
  const sw = Math.sqrt(wt);
  return {
    v: wt / T,
    psi: (p.b / (2 * sw)) * (-p.m / R0 + p.rho),
    p: (p.b * (1 - p.rho)) / sw,
    c: (p.b * (1 + p.rho)) / sw,
    vTilde: (p.a + p.b * p.sigma * Math.sqrt(1 - p.rho * p.rho)) / T,
  };
}

/**
 * JW -> raw at expiry T (GJ 2014, Lemma 3.2). With beta = rho - 2 psi sqrt(w_t) / b (= m / sqrt(m^2 + sigma^2))
 * and alpha = sign(beta) sqrt(1/beta^2 - 1) (= sigma / m). At m = 0 (beta = 0) sigma follows from
 * v - vTilde directly; at m = 0 and rho = 0 JW does not determine sigma (v = vTilde) and this throws.
 */
export function jwToRaw(j: SviJw, T: number): SviRaw {
  const wt = j.v * T;
  if (!(wt > 0)) throw new RangeError(`JW -> SVI: v T = ${wt} must be positive`);
  const sw = Math.sqrt(wt);
  const b = 0.5 * sw * (j.c + j.p);
  if (!(b > 0)) throw new RangeError(`JW -> SVI: wings c + p = ${j.c + j.p} must be positive`);
  const rho = 1 - (j.p * sw) / b;
  const beta = rho - (2 * j.psi * sw) / b;
  if (!(Math.abs(beta) <= 1)) throw new RangeError(`JW -> SVI: |beta| = ${Math.abs(beta)} > 1 (inconsistent psi)`);
  const r = Math.sqrt(1 - rho * rho);
  const dv = (j.v - j.vTilde) * T;
  let m: number;
  let sigma: number;
  if (Math.abs(beta) < 1e-14) {
    m = 0;
    const den = b * (1 - r);
    if (!(den > 0)) throw new RangeError('JW -> SVI: m = 0 and rho = 0, sigma is not determined by JW');
    sigma = dv / den;
  } else {
    const alpha = Math.sign(beta) * Math.sqrt(1 / (beta * beta) - 1);
    m = dv / (b * (-rho + Math.sign(alpha) * Math.sqrt(1 + alpha * alpha) - alpha * r));
    sigma = alpha * m;
  }
  const a = j.vTilde * T - b * sigma * r;
  return { a, b, rho, m, sigma };
}

/** [a, b, rho, m, sigma] array form used by the optimizers. */
export function sviToArray(p: SviRaw): Float64Array {
  return Float64Array.of(p.a, p.b, p.rho, p.m, p.sigma);
}

export function sviFromArray(x: ArrayLike<number>): SviRaw {
  return { a: x[0], b: x[1], rho: x[2], m: x[3], sigma: x[4] };
}
