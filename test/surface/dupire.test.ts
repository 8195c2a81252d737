/**
 * Dupire local variance from analytic derivatives against two numerical versions on the same
 * surface: Gatheral's formula with finite differences of w(k, T), and the original price form
 * sigma^2 = 2 dC/dT / (K^2 d2C/dK2) with Black-76 prices (r = q = 0, so F_T = F), which checks
 * the formula itself. Plus the typed error where the surface has arbitrage.
 */
import { describe, expect, it } from 'vitest';
import { black76Price } from '../../src/engines/black/black76.js';
import { densityG } from '../../src/surface/arbitrage.js';
import { localVariance, localVol, localVolGrid } from '../../src/surface/dupire.js';
import { EssviSurface, SsviSurface, SviSurface, type VolSurface } from '../../src/surface/surface.js';
import { LocalVolError } from '../../src/surface/types.js';

const F = 100;

/** Gatheral's formula with every derivative by central differences of w(k, T). */
function fdGatheral(s: VolSurface, k: number, T: number): number {
  const w = (kk: number, TT: number) => s.at(kk, TT).w;
  const hT = 1e-5 * T, hk = 1e-4;
  const wT = (w(k, T + hT) - w(k, T - hT)) / (2 * hT);
  const w0 = w(k, T);
  const wk = (w(k + hk, T) - w(k - hk, T)) / (2 * hk);
  const wkk = (w(k + hk, T) - 2 * w0 + w(k - hk, T)) / (hk * hk);
  return wT / densityG(k, w0, wk, wkk);
}

/** Dupire in prices: 2 dC/dT / (K^2 d2C/dK2), r = q = 0. */
function fdPrices(s: VolSurface, k: number, T: number): number {
  const C = (K: number, TT: number) => black76Price(F, K, TT, Math.sqrt(s.at(Math.log(K / F), TT).w / TT), true, 1);
  const K = F * Math.exp(k);
  // Steps scaled to the smile's width sqrt(w): truncation ~ (h / width)^2.
  const hT = 1e-4 * T, hK = 5e-3 * Math.sqrt(s.at(k, T).w) * K;
  const CT = (C(K, T + hT) - C(K, T - hT)) / (2 * hT);
  const CKK = (C(K + hK, T) - 2 * C(K, T) + C(K - hK, T)) / (hK * hK);
  return (2 * CT) / (K * K * CKK);
}

const ssvi = new SsviSurface([0.1, 0.25, 0.5, 1, 2], [0.0046, 0.011, 0.0214, 0.042, 0.0828], -0.6, 1.0, 0.4);
const essvi = new EssviSurface([
  { T: 0.1, theta: 0.01, rho: -0.3, psi: 0.1 },
  { T: 0.3, theta: 0.02, rho: -0.4, psi: 0.14 },
  { T: 0.6, theta: 0.035, rho: -0.45, psi: 0.19 },
  { T: 1, theta: 0.05, rho: -0.5, psi: 0.23 },
]);
const svi = new SviSurface([
  { T: 0.5, params: { a: 0.01, b: 0.08, rho: -0.4, m: 0.05, sigma: 0.15 } },
  { T: 1, params: { a: 0.025, b: 0.1, rho: -0.4, m: 0.05, sigma: 0.2 } },
]);

describe('Dupire local variance', () => {
  const points: Array<[string, VolSurface, number[]]> = [
    ['SSVI', ssvi, [0.05, 0.17, 0.4, 0.8, 1.5, 2.6]],
    ['eSSVI', essvi, [0.05, 0.2, 0.45, 0.8, 1.3]],
    ['SVI (linear in total variance between slices)', svi, [0.3, 0.7, 0.9, 1.4]],
  ];
  for (const [name, s, Ts] of points) {
    it(`${name}: analytic = Gatheral by finite differences (1e-6) = Dupire in prices (1e-4, within 2 sd)`, () => {
      for (const T of Ts) {
        for (const k of [-0.4, -0.15, 0, 0.1, 0.3]) {
          const v = localVariance(s, k, T);
          expect(v).toBeGreaterThan(0);
          expect(Math.abs(v - fdGatheral(s, k, T)), `FD Gatheral at k=${k}, T=${T}`).toBeLessThan(1e-6 * v);
          // Price differences lose digits far out of the money (tiny prices): within 2 standard deviations.
          if (Math.abs(k) < 2 * Math.sqrt(s.at(k, T).w)) expect(Math.abs(v - fdPrices(s, k, T)), `prices at k=${k}, T=${T}`).toBeLessThan(1e-4 * v);
          expect(localVol(s, k, T)).toBe(Math.sqrt(v));
        }
      }
    });
  }

  it('ATM short-expiry limit: local vol -> implied vol at k = 0 as T -> 0 (SSVI)', () => {
    const T = 1e-4;
    const iv = Math.sqrt(ssvi.at(0, T).w / T);
    expect(Math.abs(localVol(ssvi, 0, T) - iv)).toBeLessThan(0.02 * iv);
  });

  it('throws LocalVolError naming k and T where g <= 0 (the Vogt slice), never a value', () => {
    const vogt = new SviSurface([{ T: 1, params: { a: -0.041, b: 0.1331, rho: 0.306, m: 0.3586, sigma: 0.4153 } }]);
    let err: unknown;
    try {
      localVariance(vogt, 0.88, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LocalVolError);
    const e = err as LocalVolError;
    expect([e.k, e.T, e.reason]).toEqual([0.88, 1, 'butterfly']);
    expect(e.value).toBeLessThan(0);
    expect(e.message).toMatch(/k=0\.88, T=1: butterfly/);
    expect(localVariance(vogt, 0, 1)).toBeGreaterThan(0);
  });

  it('throws a calendar LocalVolError where dw/dT < 0, and the grid can collect the errors instead', () => {
    const crossing = new SviSurface([
      { T: 0.5, params: { a: 0.02, b: 0.1, rho: -0.5, m: 0.05, sigma: 0.2 } },
      { T: 1, params: { a: 0.04, b: 0.03, rho: 0, m: 0, sigma: 0.2 } },
    ]);
    expect(() => localVariance(crossing, -1.2, 0.75)).toThrow(LocalVolError);
    expect(() => localVariance(crossing, -1.2, 0.75)).toThrow(/calendar arbitrage, dw\/dT = -/);
    expect(() => localVolGrid(crossing, [-1.2, 0], [0.75])).toThrow(LocalVolError);
    const g = localVolGrid(crossing, [-1.2, 0], [0.75], { onError: 'collect' });
    expect(g.vol[0][0]).toBeNull();
    expect(g.vol[0][1]).toBeGreaterThan(0);
    expect(g.errors.map((x) => [x.k, x.T, x.reason])).toEqual([[-1.2, 0.75, 'calendar']]);
  });
});
