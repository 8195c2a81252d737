/**
 * Evaluable total-variance surfaces w(k, T) with analytic dw/dk, d2w/dk2 and dw/dT, built from
 * fitted slices. k = ln(K / F_T) is log-moneyness against the forward of expiry T.
 *
 * - SVI slices (`SviSurface`): between expiries T_i < T_{i+1}, w is linear in T at fixed k
 *   (linear in total variance: non-decreasing in T wherever the slices do not cross, so it adds
 *   no calendar arbitrage); dw/dT = (w_{i+1}(k) - w_i(k)) / (T_{i+1} - T_i). At a node T_i the
 *   derivative is the one of the interval that starts there (right-hand). Before T_1,
 *   w = (T / T_1) w_1(k) (zero variance at T = 0); after T_N, w = (T / T_N) w_N(k).
 * - SSVI (`SsviSurface`): w = SSVI(k, theta(T)) with theta(T) the monotone cubic (Fritsch-Carlson
 *   PCHIP) interpolant of (0, 0), (T_i, theta_i), extended linearly after T_N; dw/dT =
 *   d w / d theta * theta'(T) in closed form (C1 in T).
 * - eSSVI (`EssviSurface`): theta(T) as for SSVI; between nodes (a, psi) = (rho psi, psi) are
 *   linear in theta (Corbetta et al. 2019's interpolation), lambda = (theta(T) - theta_i) /
 *   (theta_{i+1} - theta_i); before T_1 all of (theta, a, psi) scale with theta(T)/theta_1 (w
 *   scales with them: it is 1-homogeneous); after T_N, rho and psi stay at the last node's values
 *   while theta grows (w increases in theta at fixed (a, psi)).
 */
import { sviDerivs, type SviRaw } from './svi.js';
import { powerLawPsi, ssviPartials, ssviToRaw, type SsviPartials } from './ssvi.js';

export interface Derivs {
  w: number;
  wk: number;
  wkk: number;
}

export interface SurfacePoint extends Derivs {
  wT: number;
}

/** One expiry's smile in total variance. */
export interface SliceCurve {
  readonly T: number;
  derivs(k: number, out?: Derivs): Derivs;
  w(k: number): number;
  /** Asymptotic |dw/dk| at k -> -inf (left) and +inf (right). */
  wingSlopes(): { left: number; right: number };
  /** The slice as raw SVI. */
  raw(): SviRaw;
}

export class SviCurve implements SliceCurve {
  constructor(
    readonly T: number,
    readonly p: SviRaw,
  ) {}
  derivs(k: number, out?: Derivs): Derivs {
    return sviDerivs(this.p, k, out);
  }
  w(k: number): number {
    const x = k - this.p.m;
    return this.p.a + this.p.b * (this.p.rho * x + Math.sqrt(x * x + this.p.sigma * this.p.sigma));
  }
  wingSlopes() {
    return { left: this.p.b * (1 - this.p.rho), right: this.p.b * (1 + this.p.rho) };
  }
  raw(): SviRaw {
    return { ...this.p };
  }
}

/** An SSVI-family slice (theta, rho, psi = theta phi). */
export class SsviCurve implements SliceCurve {
  private readonly a: number;
  constructor(
    readonly T: number,
    readonly theta: number,
    readonly rho: number,
    readonly psi: number,
  ) {
    this.a = rho * psi;
  }
  derivs(k: number, out: Derivs = { w: 0, wk: 0, wkk: 0 }): Derivs {
    const S = Math.sqrt(this.psi * this.psi * k * k + 2 * this.theta * this.a * k + this.theta * this.theta);
    out.w = 0.5 * (this.theta + this.a * k + S);
    out.wk = 0.5 * (this.a + (this.psi * this.psi * k + this.theta * this.a) / S);
    out.wkk = (this.theta * this.theta * (this.psi * this.psi - this.a * this.a)) / (2 * S * S * S);
    return out;
  }
  w(k: number): number {
    return 0.5 * (this.theta + this.a * k + Math.sqrt(this.psi * this.psi * k * k + 2 * this.theta * this.a * k + this.theta * this.theta));
  }
  wingSlopes() {
    return { left: 0.5 * this.psi * (1 - this.rho), right: 0.5 * this.psi * (1 + this.rho) };
  }
  raw(): SviRaw {
    return ssviToRaw({ theta: this.theta, rho: this.rho, psi: this.psi });
  }
}

export interface VolSurface {
  readonly kind: 'svi' | 'ssvi' | 'essvi';
  /** Slice expiries, increasing. */
  readonly expiries: readonly number[];
  /** The fitted slices at those expiries. */
  readonly curves: readonly SliceCurve[];
  /** w, dw/dk, d2w/dk2, dw/dT at (k, T), T > 0. */
  at(k: number, T: number): SurfacePoint;
}

function checkT(T: number): void {
  if (!(T > 0) || !Number.isFinite(T)) throw new RangeError(`T must be a finite positive time, got ${T}`);
}

/** Implied vol of the surface at (k, T). */
export function surfaceIv(s: VolSurface, k: number, T: number): number {
  return Math.sqrt(Math.max(0, s.at(k, T).w) / T);
}

export class SviSurface implements VolSurface {
  readonly kind = 'svi' as const;
  readonly expiries: number[];
  readonly curves: SviCurve[];
  constructor(slices: ReadonlyArray<{ T: number; params: SviRaw }>) {
    if (slices.length === 0) throw new RangeError('an SVI surface needs at least one slice');
    const sorted = [...slices].sort((x, y) => x.T - y.T);
    this.curves = sorted.map((s) => new SviCurve(s.T, s.params));
    this.expiries = this.curves.map((c) => c.T);
  }
  at(k: number, T: number): SurfacePoint {
    checkT(T);
    const c = this.curves;
    const n = c.length;
    if (T < c[0].T || n === 1 || T >= c[n - 1].T) {
      const cur = T < c[0].T ? c[0] : c[n - 1];
      const d = cur.derivs(k);
      const s = T / cur.T;
      return { w: s * d.w, wk: s * d.wk, wkk: s * d.wkk, wT: d.w / cur.T };
    }
    let i = 0;
    while (T >= c[i + 1].T) i++;
    const d0 = c[i].derivs(k);
    const d1 = c[i + 1].derivs(k);
    const h = c[i + 1].T - c[i].T;
    const l = (T - c[i].T) / h;
    return {
      w: (1 - l) * d0.w + l * d1.w,
      wk: (1 - l) * d0.wk + l * d1.wk,
      wkk: (1 - l) * d0.wkk + l * d1.wkk,
      wT: (d1.w - d0.w) / h,
    };
  }
}

/**
 * Monotone piecewise-cubic Hermite interpolant (Fritsch & Carlson 1980; the derivative choice of
 * Fritsch & Butland, as in SciPy's PCHIP) through increasing x and non-decreasing y, extended
 * linearly with the end slope after the last node. Returns the value and the derivative.
 */
export class Pchip {
  private readonly d: Float64Array;
  constructor(
    private readonly x: Float64Array,
    private readonly y: Float64Array,
  ) {
    const n = x.length;
    if (n < 2) throw new RangeError('PCHIP needs 2 nodes');
    const h = new Float64Array(n - 1);
    const del = new Float64Array(n - 1);
    for (let i = 0; i < n - 1; i++) {
      h[i] = x[i + 1] - x[i];
      if (!(h[i] > 0)) throw new RangeError('PCHIP nodes must increase');
      del[i] = (y[i + 1] - y[i]) / h[i];
    }
    const d = new Float64Array(n);
    if (n === 2) {
      d[0] = d[1] = del[0];
    } else {
      for (let i = 1; i < n - 1; i++) {
        if (del[i - 1] * del[i] <= 0) d[i] = 0;
        else {
          const w1 = 2 * h[i] + h[i - 1];
          const w2 = h[i] + 2 * h[i - 1];
          d[i] = (w1 + w2) / (w1 / del[i - 1] + w2 / del[i]);
        }
      }
      const end = (h0: number, h1: number, m0: number, m1: number) => {
        let dd = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
        if (Math.sign(dd) !== Math.sign(m0)) dd = 0;
        else if (Math.sign(m0) !== Math.sign(m1) && Math.abs(dd) > Math.abs(3 * m0)) dd = 3 * m0;
        return dd;
      };
      d[0] = end(h[0], h[1], del[0], del[1]);
      d[n - 1] = end(h[n - 2], h[n - 3], del[n - 2], del[n - 3]);
    }
    this.d = d;
  }
  /** Value and first derivative at t (t >= x[0]). */
  eval(t: number): { v: number; dv: number } {
    const { x, y, d } = this;
    const n = x.length;
    if (t >= x[n - 1]) return { v: y[n - 1] + d[n - 1] * (t - x[n - 1]), dv: d[n - 1] };
    let i = 0;
    while (t >= x[i + 1]) i++;
    const h = x[i + 1] - x[i];
    const s = (t - x[i]) / h;
    const s2 = s * s;
    const s3 = s2 * s;
    const h00 = 2 * s3 - 3 * s2 + 1, h10 = s3 - 2 * s2 + s, h01 = -2 * s3 + 3 * s2, h11 = s3 - s2;
    const v = h00 * y[i] + h10 * h * d[i] + h01 * y[i + 1] + h11 * h * d[i + 1];
    const dv = ((6 * s2 - 6 * s) * y[i] + (-6 * s2 + 6 * s) * y[i + 1]) / h + (3 * s2 - 4 * s + 1) * d[i] + (3 * s2 - 2 * s) * d[i + 1];
    return { v, dv };
  }
}

function thetaCurve(T: ArrayLike<number>, theta: ArrayLike<number>): Pchip {
  return new Pchip(Float64Array.from([0, ...Array.from(T)]), Float64Array.from([0, ...Array.from(theta)]));
}

const P: SsviPartials = { w: 0, wk: 0, wkk: 0, dTheta: 0, dA: 0, dPsi: 0 };

/** SSVI with power-law phi: global rho, eta, gamma and theta_i per expiry (non-decreasing). */
export class SsviSurface implements VolSurface {
  readonly kind = 'ssvi' as const;
  readonly expiries: number[];
  readonly curves: SsviCurve[];
  private readonly thetaT: Pchip;
  constructor(
    T: ArrayLike<number>,
    readonly theta: ArrayLike<number>,
    readonly rho: number,
    readonly eta: number,
    readonly gamma: number,
  ) {
    this.expiries = Array.from(T);
    for (let i = 1; i < theta.length; i++) {
      if (theta[i] < theta[i - 1]) throw new RangeError(`SSVI theta must be non-decreasing in T (theta[${i}] = ${theta[i]} < ${theta[i - 1]})`);
    }
    this.curves = this.expiries.map((t, i) => new SsviCurve(t, theta[i], rho, powerLawPsi(theta[i], eta, gamma).psi));
    this.thetaT = thetaCurve(T, theta);
  }
  thetaAt(T: number): { theta: number; dTheta: number } {
    const r = this.thetaT.eval(T);
    return { theta: r.v, dTheta: r.dv };
  }
  at(k: number, T: number): SurfacePoint {
    checkT(T);
    const { theta, dTheta } = this.thetaAt(T);
    const { psi, dpsi } = powerLawPsi(theta, this.eta, this.gamma);
    ssviPartials(theta, this.rho * psi, psi, k, P);
    const dwdTheta = P.dTheta + P.dA * this.rho * dpsi + P.dPsi * dpsi;
    return { w: P.w, wk: P.wk, wkk: P.wkk, wT: dwdTheta * dTheta };
  }
}

/** eSSVI: (theta_i, rho_i, psi_i) per expiry. */
export class EssviSurface implements VolSurface {
  readonly kind = 'essvi' as const;
  readonly expiries: number[];
  readonly curves: SsviCurve[];
  private readonly thetaT: Pchip;
  constructor(slices: ReadonlyArray<{ T: number; theta: number; rho: number; psi: number }>) {
    const s = [...slices].sort((x, y) => x.T - y.T);
    for (let i = 1; i < s.length; i++) {
      if (s[i].theta < s[i - 1].theta) throw new RangeError(`eSSVI theta must be non-decreasing in T (T=${s[i].T})`);
    }
    this.curves = s.map((x) => new SsviCurve(x.T, x.theta, x.rho, x.psi));
    this.expiries = s.map((x) => x.T);
    this.thetaT = thetaCurve(this.expiries, s.map((x) => x.theta));
  }
  /** (theta, a, psi) and their T-derivatives at T. */
  paramsAt(T: number): { theta: number; a: number; psi: number; dTheta: number; dA: number; dPsi: number } {
    const c = this.curves;
    const n = c.length;
    const { v: theta, dv: dTheta } = this.thetaT.eval(T);
    if (T < c[0].T) {
      const f = theta / c[0].theta;
      const df = dTheta / c[0].theta;
      const a0 = c[0].rho * c[0].psi;
      return { theta, a: f * a0, psi: f * c[0].psi, dTheta, dA: df * a0, dPsi: df * c[0].psi };
    }
    if (T >= c[n - 1].T) {
      const l = c[n - 1];
      return { theta, a: l.rho * l.psi, psi: l.psi, dTheta, dA: 0, dPsi: 0 };
    }
    let i = 0;
    while (T >= c[i + 1].T) i++;
    const c0 = c[i], c1 = c[i + 1];
    const dth = c1.theta - c0.theta;
    let l: number, dl: number;
    if (dth > 1e-14 * c1.theta) {
      l = (theta - c0.theta) / dth;
      dl = dTheta / dth;
    } else {
      const h = c1.T - c0.T;
      l = (T - c0.T) / h;
      dl = 1 / h;
    }
    const a0 = c0.rho * c0.psi, a1 = c1.rho * c1.psi;
    return {
      theta,
      a: (1 - l) * a0 + l * a1,
      psi: (1 - l) * c0.psi + l * c1.psi,
      dTheta,
      dA: dl * (a1 - a0),
      dPsi: dl * (c1.psi - c0.psi),
    };
  }
  at(k: number, T: number): SurfacePoint {
    checkT(T);
    const x = this.paramsAt(T);
    ssviPartials(x.theta, x.a, x.psi, k, P);
    return { w: P.w, wk: P.wk, wkk: P.wkk, wT: P.dTheta * x.dTheta + P.dA * x.dA + P.dPsi * x.dPsi };
  }
}
