/**
 * Arbitrage checks on known examples. Independent truth for the butterfly density: the second
 * strike derivative of Black-76 call prices (our engine) by finite differences,
 * d2C/dK2 * K = g(k) / sqrt(2 pi w) exp(-d_-^2 / 2) (density of k = ln(S_T / F)).
 */
import { describe, expect, it } from 'vitest';
import { black76Price } from '../../src/engines/black/black76.js';
import { arbitrageReport, butterflyViolations, calendarViolations, densityG, gridPoints, leeViolations } from '../../src/surface/arbitrage.js';
import { powerLawPsi, ssviConditions } from '../../src/surface/ssvi.js';
import { SsviCurve, SviCurve } from '../../src/surface/surface.js';
import { sviDerivs, sviW, type SviRaw } from '../../src/surface/svi.js';
import { incrementMax } from '../../src/surface/ssviFit.js';
import { rng, uniform } from '../helpers/random.js';

const vogt: SviRaw = { a: -0.041, b: 0.1331, rho: 0.306, m: 0.3586, sigma: 0.4153 };
const ks = gridPoints({ kMin: -1.5, kMax: 1.5, points: 3001 });

/** Density of k from call prices by central differences in K. */
function priceDensity(p: SviRaw, k: number, T = 1, F = 100): number {
  const C = (K: number) => black76Price(F, K, T, Math.sqrt(sviW(p, Math.log(K / F)) / T), true, 1);
  const K = F * Math.exp(k);
  const h = 1e-3 * K;
  return ((C(K + h) - 2 * C(K) + C(K - h)) / (h * h)) * K;
}

describe('butterfly', () => {
  it("g(k) is the risk-neutral density of k from Black prices (to 1e-4)", () => {
    for (const p of [{ a: 0.02, b: 0.1, rho: -0.5, m: 0.05, sigma: 0.2 }, vogt]) {
      for (const k of [-0.6, -0.2, 0, 0.3, 0.88]) {
        const d = sviDerivs(p, k);
        const dm = -k / Math.sqrt(d.w) - Math.sqrt(d.w) / 2;
        const dens = (densityG(k, d.w, d.wk, d.wkk) / Math.sqrt(2 * Math.PI * d.w)) * Math.exp(-0.5 * dm * dm);
        expect(Math.abs(dens - priceDensity(p, k))).toBeLessThan(1e-4 * Math.max(Math.abs(dens), 1e-2));
      }
    }
  });

  it('the Vogt SVI example (Gatheral-Jacquier 2014) has butterfly arbitrage: g < 0 near k = 0.88, call prices concave there', () => {
    const v = butterflyViolations(new SviCurve(1, vogt), ks);
    expect(v.length).toBe(1);
    expect(v[0].T).toBe(1);
    expect(v[0].g).toBeLessThan(-0.03);
    expect(v[0].k).toBeGreaterThan(0.8);
    expect(v[0].k).toBeLessThan(0.95);
    expect(v[0].k_from).toBeLessThan(v[0].k);
    expect(v[0].k_to).toBeGreaterThan(v[0].k);
    // Independently: the price density is negative at the worst point.
    expect(priceDensity(vogt, v[0].k)).toBeLessThan(0);
    // Its wings are within Lee's bound: this is a pure butterfly example.
    expect(leeViolations(new SviCurve(1, vogt))).toEqual([]);
  });

  it('a typical equity smile has none', () => {
    expect(butterflyViolations(new SviCurve(1, { a: 0.02, b: 0.1, rho: -0.5, m: 0.05, sigma: 0.2 }), ks)).toEqual([]);
  });
});

describe("Lee's moment bound", () => {
  it('flags a wing slope above 2 (b (1 + |rho|) > 2) on the right side', () => {
    const c = new SviCurve(1, { a: 0.01, b: 1.5, rho: 0.5, m: 0, sigma: 0.1 });
    expect(leeViolations(c)).toEqual([{ T: 1, side: 'right', slope: 2.25 }]);
    expect(leeViolations(new SviCurve(1, { a: 0.01, b: 1, rho: 0.999999, m: 0, sigma: 0.1 }))).toEqual([]);
    expect(leeViolations(new SviCurve(2, { a: 0.01, b: 1.2, rho: -0.9, m: 0, sigma: 0.1 }))).toEqual([{ T: 2, side: 'left', slope: 1.2 * 1.9 }]);
  });
});

describe('calendar', () => {
  it('flags where a later slice dips below an earlier one, with both expiries and the k range', () => {
    const c1 = new SviCurve(0.5, { a: 0.02, b: 0.1, rho: -0.5, m: 0.05, sigma: 0.2 });
    // Higher ATM, flatter wings: crosses the first slice in both wings.
    const c2 = new SviCurve(1, { a: 0.04, b: 0.03, rho: 0, m: 0, sigma: 0.2 });
    const v = calendarViolations(c1, c2, ks);
    expect(v.length).toBe(2);
    for (const x of v) {
      expect([x.T1, x.T2]).toEqual([0.5, 1]);
      expect(x.dw).toBeLessThan(0);
      expect(sviW(c2.p, x.k)).toBeLessThan(sviW(c1.p, x.k));
      expect(sviW(c2.p, x.k_from) - sviW(c1.p, x.k_from)).toBeLessThan(0);
    }
    expect(v[0].k_to).toBeLessThan(0);
    expect(v[1].k_from).toBeGreaterThan(0);
    // ATM is fine.
    expect(sviW(c2.p, 0)).toBeGreaterThan(sviW(c1.p, 0));
    const rep = arbitrageReport([c1, c2], { kMin: -1.5, kMax: 1.5, points: 3001 });
    expect(rep.free).toBe(false);
    expect(rep.calendar.length).toBe(2);
    expect(JSON.parse(JSON.stringify(rep))).toEqual(rep); // plain JSON
  });
});

describe('SSVI conditions (Gatheral-Jacquier 2014, Theorem 4.2)', () => {
  it('power law with eta (1 + |rho|) <= 2, gamma = 1/2: conditions hold and no butterfly for any theta', () => {
    const r = rng();
    for (let t = 0; t < 40; t++) {
      const rho = uniform(r, -0.95, 0.95);
      const eta = (2 / (1 + Math.abs(rho))) * uniform(r, 0.2, 1);
      const theta = Math.exp(uniform(r, Math.log(1e-4), Math.log(2)));
      const { psi } = powerLawPsi(theta, eta, 0.5);
      const c = ssviConditions({ theta, rho, psi });
      expect(c.c1).toBeLessThan(4);
      expect(c.c2).toBeLessThanOrEqual(4);
      const s = Math.sqrt(theta);
      expect(butterflyViolations(new SsviCurve(1, theta, rho, psi), gridPoints({ kMin: -8 * s - 1, kMax: 8 * s + 1, points: 2001 }))).toEqual([]);
    }
  });

  it('theta phi^2 (1 + |rho|) > 4 can come with butterfly arbitrage (and need not: the conditions are sufficient)', () => {
    const bad = new SsviCurve(1, 0.04, -0.7, 0.04 * 15);
    expect(ssviConditions({ theta: 0.04, rho: -0.7, psi: 0.6 }).c2).toBeGreaterThan(4);
    const v = butterflyViolations(bad, ks);
    expect(v.length).toBe(1);
    expect(v[0].g).toBeLessThan(-0.1);
    const rep = arbitrageReport([bad], { kMin: -1.5, kMax: 1.5, points: 3001 });
    expect(rep.ssvi_conditions).toEqual([{ T: 1, c1: 0.04 * 15 * 1.7, c2: 0.04 * 225 * 1.7, ok: false }]);
    // phi = 9: still outside the sufficient conditions, yet no arbitrage.
    expect(ssviConditions({ theta: 0.04, rho: -0.7, psi: 0.36 }).c2).toBeGreaterThan(4);
    expect(butterflyViolations(new SsviCurve(1, 0.04, -0.7, 0.36), ks)).toEqual([]);
  });

  it('eSSVI increment bound: the largest psi step keeping psi (1 + |rho|) < 4 and psi^2 (1 + |rho|) <= 4 theta (vs bisection)', () => {
    const r = rng();
    const LIM = 4 * (1 - 1e-6);
    for (let t = 0; t < 200; t++) {
      const theta = Math.exp(uniform(r, Math.log(1e-3), Math.log(2)));
      const p = uniform(r, 0, 0.9) * Math.min(LIM / 2, Math.sqrt(LIM * theta / 2));
      const a = uniform(r, -1, 1) * p;
      const tt = uniform(r, -1, 1);
      const ok = (D: number) => p + D + Math.abs(a + tt * D) <= LIM && (p + D) * (p + D + Math.abs(a + tt * D)) <= LIM * theta;
      const D = incrementMax(p, a, tt, theta, true);
      expect(ok(D)).toBe(true);
      let lo = D, hi = D + 10;
      for (let i = 0; i < 200; i++) { const mid = (lo + hi) / 2; if (ok(mid)) lo = mid; else hi = mid; }
      expect(lo - D).toBeLessThan(1e-9 * (1 + D));
    }
  });
});

describe('SSVI slice in raw SVI terms', () => {
  it('ssviToRaw gives the same smile', () => {
    const c = new SsviCurve(1, 0.03, -0.4, 0.3);
    const raw = c.raw();
    for (const k of [-1, -0.3, 0, 0.2, 0.9]) expect(Math.abs(sviW(raw, k) - c.w(k))).toBeLessThan(1e-15);
  });
});
