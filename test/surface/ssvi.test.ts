/**
 * SSVI / eSSVI: closed-form derivatives against finite differences, recovery of known surfaces
 * from their own implied vols, monotone theta on calendar-arbitraged quotes, the theta(T)
 * interpolant.
 */
import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { powerLawPsi, ssviPartials, ssviW } from '../../src/surface/ssvi.js';
import { EssviSurface, Pchip, SsviSurface } from '../../src/surface/surface.js';
import { fitSurface } from '../../src/surface/fit.js';
import { arbitrageReport } from '../../src/surface/arbitrage.js';
import type { SurfaceQuote } from '../../src/surface/types.js';

const r = rng();

function quotesOf(surface: { at(k: number, T: number): { w: number } }, Ts: number[], n = 21): SurfaceQuote[] {
  let row = 0;
  return Ts.flatMap((T) =>
    Array.from({ length: n }, (_, i) => {
      const k = (-0.6 + (1 * i) / (n - 1)) * Math.sqrt(Math.max(T, 0.05));
      return { row: ++row, T, expiry: `T${T}`, forward: 100, strike: 100 * Math.exp(k), isCall: k > 0, iv: Math.sqrt(surface.at(k, T).w / T) };
    }),
  );
}

describe('SSVI formulas', () => {
  it('(theta, a, psi) partials and k-derivatives match central differences; the GJ form agrees', () => {
    for (let t = 0; t < 50; t++) {
      const theta = uniform(r, 0.001, 0.5), rho = uniform(r, -0.9, 0.9), psi = uniform(r, 0.01, 1), k = uniform(r, -1, 1);
      const a = rho * psi;
      const P = ssviPartials(theta, a, psi, k);
      expect(Math.abs(P.w - ssviW(theta, rho, psi / theta, k))).toBeLessThan(1e-15);
      const w = (th: number, aa: number, ps: number, kk: number) => ssviPartials(th, aa, ps, kk).w;
      const h = 1e-6;
      expect(Math.abs(P.wk - (w(theta, a, psi, k + h) - w(theta, a, psi, k - h)) / (2 * h))).toBeLessThan(1e-8);
      expect(Math.abs(P.wkk - (w(theta, a, psi, k + 1e-4) - 2 * P.w + w(theta, a, psi, k - 1e-4)) / 1e-8)).toBeLessThan(1e-5 * Math.max(1, P.wkk));
      expect(Math.abs(P.dTheta - (w(theta + h * theta, a, psi, k) - w(theta - h * theta, a, psi, k)) / (2 * h * theta))).toBeLessThan(1e-7);
      expect(Math.abs(P.dA - (w(theta, a + h, psi, k) - w(theta, a - h, psi, k)) / (2 * h))).toBeLessThan(1e-7);
      expect(Math.abs(P.dPsi - (w(theta, a, psi + h, k) - w(theta, a, psi - h, k)) / (2 * h))).toBeLessThan(1e-7);
    }
  });

  it('power-law psi(theta) derivative matches central differences', () => {
    for (let t = 0; t < 20; t++) {
      const theta = uniform(r, 0.001, 1), eta = uniform(r, 0.1, 2), gamma = uniform(r, 0, 1);
      const h = 1e-6 * theta;
      const fd = (powerLawPsi(theta + h, eta, gamma).psi - powerLawPsi(theta - h, eta, gamma).psi) / (2 * h);
      expect(Math.abs(powerLawPsi(theta, eta, gamma).dpsi - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  it('theta(T) interpolant is monotone, C1 and through the nodes', () => {
    const x = Float64Array.of(0, 0.1, 0.25, 0.5, 1, 2);
    const y = Float64Array.of(0, 0.004, 0.01, 0.01, 0.03, 0.031);
    const p = new Pchip(x, y);
    for (let i = 0; i < x.length; i++) expect(Math.abs(p.eval(x[i]).v - y[i])).toBeLessThan(1e-15);
    let prev = -1;
    for (let t = 0; t <= 2.5; t += 0.001) {
      const { v, dv } = p.eval(t);
      expect(v).toBeGreaterThanOrEqual(prev - 1e-15);
      expect(dv).toBeGreaterThanOrEqual(0);
      prev = v;
      const h = 1e-7;
      if (t > h && !Array.from(x).some((n) => Math.abs(n - t) < 2e-7)) expect(Math.abs(dv - (p.eval(t + h).v - p.eval(t - h).v) / (2 * h))).toBeLessThan(1e-6);
    }
    // Flat between equal nodes.
    expect(p.eval(0.3).v).toBe(0.01);
  });
});

describe('SSVI fit', () => {
  const Ts = [0.1, 0.25, 0.5, 1, 2];
  const theta = Ts.map((T) => 0.04 * T + 0.002 * Math.sqrt(T));
  const truth = new SsviSurface(Ts, theta, -0.6, 1.0, 0.4);

  it('recovers a known power-law SSVI surface from its own vols (theta 1e-8 relative, rho eta gamma 1e-6)', () => {
    const { result } = fitSurface(quotesOf(truth, Ts), { model: 'ssvi' });
    expect(result.rmse_iv).toBeLessThan(1e-9);
    result.slices.forEach((s, i) => expect(Math.abs(s.ssvi!.theta - theta[i])).toBeLessThan(1e-8 * theta[i]));
    expect(Math.abs(result.global!.rho + 0.6)).toBeLessThan(1e-6);
    expect(Math.abs(result.global!.eta - 1)).toBeLessThan(1e-6);
    expect(Math.abs(result.global!.gamma - 0.4)).toBeLessThan(1e-6);
    expect(result.arbitrage.free).toBe(true);
    expect(result.arbitrage.ssvi_conditions!.every((c) => c.ok)).toBe(true);
  });

  it('enforces non-decreasing theta on quotes with calendar arbitrage (ATM variance falling in T), and the result is arbitrage-free', () => {
    const quotes = quotesOf(truth, Ts);
    // Scale the third expiry's vols down so its ATM total variance is below the second's.
    const bad = quotes.map((q) => (q.T === 0.5 ? { ...q, iv: q.iv! * Math.sqrt((0.8 * theta[1]) / theta[2]) } : q));
    const { result } = fitSurface(bad, { model: 'ssvi' });
    const th = result.slices.map((s) => s.ssvi!.theta);
    for (let i = 1; i < th.length; i++) expect(th[i]).toBeGreaterThanOrEqual(th[i - 1]);
    expect(result.arbitrage.free).toBe(true);
    // eSSVI too.
    const e = fitSurface(bad, { model: 'essvi' }).result;
    const te = e.slices.map((s) => s.ssvi!.theta);
    for (let i = 1; i < te.length; i++) expect(te[i]).toBeGreaterThanOrEqual(te[i - 1]);
    expect(e.arbitrage.free).toBe(true);
  });
});

describe('eSSVI fit', () => {
  const Ts = [0.1, 0.3, 0.6, 1];
  const slices = [
    { T: 0.1, theta: 0.01, rho: -0.3, psi: 0.1 },
    { T: 0.3, theta: 0.02, rho: -0.4, psi: 0.14 },
    { T: 0.6, theta: 0.035, rho: -0.45, psi: 0.19 },
    { T: 1, theta: 0.05, rho: -0.5, psi: 0.23 },
  ];
  const truth = new EssviSurface(slices);

  it('the test surface is arbitrage-free and not SSVI (rho moves with T)', () => {
    expect(arbitrageReport(truth.curves, { kMin: -2, kMax: 2, points: 2001 }).free).toBe(true);
  });

  it('recovers known per-slice (theta, rho, psi) from its own vols to 1e-6, where SSVI cannot fit', () => {
    const quotes = quotesOf(truth, Ts);
    const { result } = fitSurface(quotes, { model: 'essvi' });
    expect(result.rmse_iv).toBeLessThan(1e-7);
    result.slices.forEach((s, i) => {
      expect(Math.abs(s.ssvi!.theta - slices[i].theta)).toBeLessThan(1e-6 * slices[i].theta);
      expect(Math.abs(s.ssvi!.rho - slices[i].rho)).toBeLessThan(1e-6);
      expect(Math.abs(s.ssvi!.psi - slices[i].psi)).toBeLessThan(1e-6);
    });
    expect(result.arbitrage.free).toBe(true);
    expect(fitSurface(quotes, { model: 'ssvi' }).result.rmse_iv).toBeGreaterThan(1e-4);
  });
});
