/**
 * SSVI and eSSVI slices (Gatheral & Jacquier 2014; Hendriks & Martini 2019) in one form. A slice
 * with ATM total variance theta, correlation rho and psi = theta phi is
 *
 *   w(k) = theta/2 (1 + rho phi k + sqrt((phi k + rho)^2 + 1 - rho^2))
 *        = 1/2 (theta + a k + S),   a = rho psi,   S = sqrt(psi^2 k^2 + 2 theta a k + theta^2),
 *
 * (theta, a, psi) with theta > 0, |a| < psi. In this form w is 1-homogeneous in (theta, a, psi),
 * and
 *   dw/dk = 1/2 (a + (psi^2 k + theta a) / S),      d2w/dk2 = theta^2 (psi^2 - a^2) / (2 S^3),
 *   dw/dtheta = 1/2 (1 + (a k + theta) / S) >= 0,   dw/da = k/2 (1 + theta / S),   dw/dpsi = psi k^2 / (2 S).
 *
 * SSVI: one rho and phi(theta) for the whole surface; here the power law
 *   phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma)),   psi(theta) = eta (theta / (1 + theta))^(1 - gamma),
 * increasing in theta for gamma <= 1, so theta phi is non-decreasing and, with theta(T)
 * non-decreasing, the surface has no calendar arbitrage (GJ 2014, Theorem 4.1; the upper bound
 * there holds since d(theta phi)/dtheta = phi (1 - gamma)/(1 + theta) <= phi).
 * Butterfly (GJ 2014, Theorem 4.2, sufficient): theta phi (1 + |rho|) < 4 and theta phi^2 (1 + |rho|) <= 4.
 */
import type { SviRaw } from './svi.js';

export interface SsviSliceParams {
  theta: number;
  rho: number;
  /** psi = theta phi. */
  psi: number;
}

export interface SsviPartials {
  w: number;
  wk: number;
  wkk: number;
  /** Partial derivatives in (theta, a = rho psi, psi) at fixed k. */
  dTheta: number;
  dA: number;
  dPsi: number;
}

/** w and its derivatives at k for the slice (theta, a, psi). */
export function ssviPartials(theta: number, a: number, psi: number, k: number, out: SsviPartials = { w: 0, wk: 0, wkk: 0, dTheta: 0, dA: 0, dPsi: 0 }): SsviPartials {
  const S = Math.sqrt(psi * psi * k * k + 2 * theta * a * k + theta * theta);
  const q = psi * psi * k + theta * a;
  out.w = 0.5 * (theta + a * k + S);
  out.wk = 0.5 * (a + q / S);
  out.wkk = (theta * theta * (psi * psi - a * a)) / (2 * S * S * S);
  out.dTheta = 0.5 * (1 + (a * k + theta) / S);
  out.dA = 0.5 * k * (1 + theta / S);
  out.dPsi = (0.5 * psi * k * k) / S;
  return out;
}

/** Total variance of an SSVI slice in the GJ form (theta, rho, phi). */
export function ssviW(theta: number, rho: number, phi: number, k: number): number {
  const u = phi * k + rho;
  return 0.5 * theta * (1 + rho * phi * k + Math.sqrt(u * u + 1 - rho * rho));
}

/** Power-law phi(theta) = eta theta^-gamma (1 + theta)^(gamma - 1). */
export function powerLawPhi(theta: number, eta: number, gamma: number): number {
  return eta * Math.pow(theta, -gamma) * Math.pow(1 + theta, gamma - 1);
}

/** psi(theta) = theta phi(theta) and d psi / d theta for the power law. */
export function powerLawPsi(theta: number, eta: number, gamma: number): { psi: number; dpsi: number } {
  const psi = eta * Math.pow(theta / (1 + theta), 1 - gamma);
  return { psi, dpsi: (psi * (1 - gamma)) / (theta * (1 + theta)) };
}

/** The raw SVI parameters of an SSVI slice (GJ 2014, Lemma 3.2 with Delta = mu = 0, omega = theta, zeta = phi). */
export function ssviToRaw(s: SsviSliceParams): SviRaw {
  const phi = s.psi / s.theta;
  const r2 = 1 - s.rho * s.rho;
  return { a: 0.5 * s.theta * r2, b: 0.5 * s.psi, rho: s.rho, m: -s.rho / phi, sigma: Math.sqrt(r2) / phi };
}

/** GJ Theorem 4.2 quantities of a slice: c1 = psi (1 + |rho|) (< 4), c2 = psi^2 (1 + |rho|) / theta (<= 4). */
export function ssviConditions(s: SsviSliceParams): { c1: number; c2: number } {
  const r = 1 + Math.abs(s.rho);
  return { c1: s.psi * r, c2: (s.psi * s.psi * r) / s.theta };
}

/**
 * Largest value over theta in [thetaMin, infinity) of the GJ butterfly quantities for the power
 * law: c1 = theta phi (1 + |rho|) increases to eta (1 + |rho|) as theta -> infinity (so its
 * supremum is that limit); c2 = theta phi^2 (1 + |rho|) peaks at theta* = 1 - 2 gamma (gamma < 1/2)
 * and decreases for gamma >= 1/2, so its supremum is at max(thetaMin, 1 - 2 gamma).
 */
export function powerLawConditionSup(rho: number, eta: number, gamma: number, thetaMin: number): { c1: number; c2: number; thetaC2: number } {
  const r = 1 + Math.abs(rho);
  const t = Math.max(thetaMin, 1 - 2 * gamma);
  const phi = powerLawPhi(t, eta, gamma);
  return { c1: eta * r, c2: t * phi * phi * r, thetaC2: t };
}
