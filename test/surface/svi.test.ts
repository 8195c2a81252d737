/**
 * Raw SVI formulas, the natural and JW parametrisations, the quasi-explicit inner QP and its
 * batched grid, and recovery of known parameters. Independent truths: finite differences for
 * derivatives, the JW definitions evaluated numerically on the smile (w(0), min w, slopes),
 * random feasible points for the QP's optimality, direct residual sums for the batched grid.
 */
import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import {
  jwToRaw,
  naturalToRaw,
  rawToJw,
  rawToNatural,
  sviDerivs,
  sviMinVariance,
  sviParamGradient,
  sviW,
  type SviRaw,
} from '../../src/surface/svi.js';
import { accumulateSums, evaluateGridBatch, innerAt, solveInner, type SliceBatch } from '../../src/surface/qe.js';
import { prepareSlices } from '../../src/surface/slices.js';
import { buildBatch, buildGrid, fitSviSlices } from '../../src/surface/sviFit.js';
import { fitSurface } from '../../src/surface/fit.js';
import { SVI_KS, SVI_TRUTHS } from './fixtures.js';

const r = rng();

function randomSvi(): SviRaw {
  return { a: uniform(r, -0.02, 0.05), b: uniform(r, 0.02, 0.6), rho: uniform(r, -0.9, 0.9), m: uniform(r, -0.3, 0.3), sigma: uniform(r, 0.02, 0.5) };
}

describe('raw SVI formulas', () => {
  it('w, dw/dk, d2w/dk2 and the parameter gradient match central differences', () => {
    for (let t = 0; t < 50; t++) {
      const p = randomSvi();
      const k = uniform(r, -1, 1);
      const d = sviDerivs(p, k);
      expect(d.w).toBe(sviW(p, k));
      // Truncation ~ h^2 w''' (w''' ~ b / sigma^2) plus rounding ~ 1e-16 / h (first), 1e-16 / h^2 (second).
      const curv = p.b / (p.sigma * p.sigma);
      let h = 1e-5;
      expect(Math.abs(d.wk - (sviW(p, k + h) - sviW(p, k - h)) / (2 * h))).toBeLessThan(1e-9 + 1e-9 * curv);
      h = 1e-4;
      expect(Math.abs(d.wkk - (sviW(p, k + h) - 2 * sviW(p, k) + sviW(p, k - h)) / (h * h))).toBeLessThan(1e-6 + 1e-7 * curv / p.sigma);
      const g = new Float64Array(5);
      sviParamGradient(p, k, g);
      const names = ['a', 'b', 'rho', 'm', 'sigma'] as const;
      names.forEach((n, j) => {
        const up = { ...p, [n]: p[n] + 1e-7 };
        const dn = { ...p, [n]: p[n] - 1e-7 };
        expect(Math.abs(g[j] - (sviW(up, k) - sviW(dn, k)) / 2e-7)).toBeLessThan(1e-7);
      });
    }
  });

  it('natural <-> raw round trip to 1e-13 and the same smile', () => {
    for (let t = 0; t < 100; t++) {
      const p = randomSvi();
      const q = naturalToRaw(rawToNatural(p));
      for (const n of ['a', 'b', 'rho', 'm', 'sigma'] as const) expect(Math.abs(q[n] - p[n])).toBeLessThan(1e-13 * Math.max(1, Math.abs(p[n])));
      const nat = rawToNatural(p);
      for (const k of [-0.7, 0, 0.4]) {
        const u = nat.zeta * (k - nat.mu);
        const wn = nat.delta + (nat.omega / 2) * (1 + nat.rho * u + Math.sqrt((u + nat.rho) ** 2 + 1 - nat.rho ** 2));
        expect(Math.abs(wn - sviW(p, k))).toBeLessThan(1e-14);
      }
    }
  });

  it('JW values are their definitions on the smile (ATM variance, skew, wing slopes, min variance)', () => {
    for (let t = 0; t < 50; t++) {
      const p = { ...randomSvi(), a: uniform(r, 0.005, 0.05) };
      const T = uniform(r, 0.05, 3);
      const j = rawToJw(p, T);
      const w0 = sviW(p, 0);
      expect(Math.abs(j.v * T - w0)).toBeLessThan(1e-15);
      const h = 1e-6;
      const skew = (sviW(p, h) - sviW(p, -h)) / (2 * h);
      expect(Math.abs(j.psi - skew / (2 * Math.sqrt(w0)))).toBeLessThan(1e-7);
      // Far-wing slopes of w, divided by sqrt(w(0)).
      const K = 1e6;
      expect(Math.abs(j.c - (sviW(p, K + 1) - sviW(p, K)) / Math.sqrt(w0))).toBeLessThan(1e-6);
      expect(Math.abs(j.p - (sviW(p, -K - 1) - sviW(p, -K)) / Math.sqrt(w0))).toBeLessThan(1e-6);
      // Minimum variance by golden-section search.
      let lo = -5, hi = 5;
      for (let i = 0; i < 200; i++) {
        const a = hi - 0.618 * (hi - lo), b = lo + 0.618 * (hi - lo);
        if (sviW(p, a) < sviW(p, b)) hi = b; else lo = a;
      }
      expect(Math.abs(j.vTilde * T - sviW(p, (lo + hi) / 2))).toBeLessThan(1e-12);
      expect(Math.abs(j.vTilde * T - sviMinVariance(p))).toBeLessThan(1e-15);
    }
  });

  it('JW -> raw -> JW round trip to 1e-13 x JW conditioning (m of both signs, m = 0 with rho != 0)', () => {
    const cases = Array.from({ length: 100 }, () => ({ ...randomSvi(), a: uniform(r, 0.005, 0.05) }));
    cases.push({ a: 0.02, b: 0.3, rho: -0.4, m: 0, sigma: 0.2 });
    for (const p of cases) {
      const T = uniform(r, 0.05, 3);
      const q = jwToRaw(rawToJw(p, T), T);
      // JW's own conditioning: alpha = sqrt(1/beta^2 - 1) loses digits as beta = m / sqrt(m^2 + sigma^2)
      // -> +-1, and m = (v - vTilde) T / (b (...)) is 0/0 as the smile's minimum nears k = 0
      // (v -> vTilde). Measured error <= 6e-16 x cond over 200,000 random sets.
      const R = Math.hypot(p.m, p.sigma);
      const dv = -p.rho * p.m + R - p.sigma * Math.sqrt(1 - p.rho * p.rho); // (v - vTilde) T / b
      const cond = (R * R) / (p.sigma * p.sigma) + (Math.abs(p.rho * p.m) + R) / Math.abs(dv);
      for (const n of ['a', 'b', 'rho', 'm', 'sigma'] as const) expect(Math.abs(q[n] - p[n])).toBeLessThan(1e-13 * cond * Math.max(1, Math.abs(p[n])));
    }
    // JW at m = 0, rho = 0 does not determine sigma: a clear error, not a guess.
    expect(() => jwToRaw(rawToJw({ a: 0.02, b: 0.3, rho: 0, m: 0, sigma: 0.2 }, 1), 1)).toThrow(/sigma is not determined/);
  });
});

describe('quasi-explicit inner problem', () => {
  function randomSlice(n: number) {
    const p = randomSvi();
    const k = Float64Array.from({ length: n }, () => uniform(r, -0.6, 0.4)).sort();
    const w = Float64Array.from(k, (kk) => Math.max(1e-4, sviW(p, kk) * (1 + 0.05 * (r() - 0.5))));
    const wt = Float64Array.from(k, () => uniform(r, 0.2, 2));
    return { k, w, wt };
  }
  // Strictly inside (a point 1e-12 outside can beat the optimum by gradient x 1e-12).
  const feasible = (a: number, d: number, c: number, s: number, aMax: number) =>
    c - Math.abs(d) >= 0 && 2 * s - c - Math.abs(d) >= 0 && a + c - Math.abs(d) >= 0 && a <= aMax;
  const nearlyFeasible = (a: number, d: number, c: number, s: number, aMax: number) =>
    c - Math.abs(d) >= -1e-12 && 2 * s - c - Math.abs(d) >= -1e-12 && a + c - Math.abs(d) >= -1e-12 && a <= aMax + 1e-12;

  it('is the minimum over the constraint polytope: feasible, and no random feasible point nearby does better', () => {
    for (let t = 0; t < 40; t++) {
      const { k, w, wt } = randomSlice(15);
      const m = uniform(r, -0.3, 0.3), s = Math.exp(uniform(r, Math.log(0.01), Math.log(1)));
      const aMax = Math.max(...w);
      const S = accumulateSums(k, w, wt, 0, k.length, m, s, { s1: 0, sy: 0, sz: 0, syy: 0, syz: 0, szz: 0, sW: 0, syW: 0, szW: 0, sWW: 0 });
      const x = solveInner(S, s, aMax);
      expect(nearlyFeasible(x.a, x.d, x.c, s, aMax)).toBe(true);
      const obj = (a: number, d: number, c: number) => {
        let f = 0;
        for (let i = 0; i < k.length; i++) {
          const y = (k[i] - m) / s;
          f += wt[i] * (a + d * y + c * Math.sqrt(y * y + 1) - w[i]) ** 2;
        }
        return f;
      };
      // The QP's value is the objective at its point (the sums are right).
      expect(Math.abs(x.f - obj(x.a, x.d, x.c))).toBeLessThan(1e-9 * Math.max(1e-12, obj(0, 0, 0)));
      let tried = 0;
      for (let i = 0; i < 3000 && tried < 500; i++) {
        const scale = 10 ** uniform(r, -6, -1);
        const a = x.a + scale * (r() - 0.5) * aMax, d = x.d + scale * (r() - 0.5) * s, c = x.c + scale * (r() - 0.5) * s;
        if (!feasible(a, d, c, s, aMax)) continue;
        tried++;
        // 1e-7: the QP is solved from normal-equation sums, whose y and sqrt(y^2 + 1) columns are
        // nearly collinear when sigma is small against the quotes' distance from m.
        expect(obj(a, d, c)).toBeGreaterThanOrEqual(x.f * (1 - 1e-7) - 1e-15);
      }
    }
  });

  it('every cell of the grid of noisy slices has a finite V at a feasible (a, d, c) whose objective it is', () => {
    // Noisy SVI vols, 5-44 quotes in a narrow k range: most cells have nearly collinear y and
    // sqrt(y^2 + 1) columns, where an explicit G^-1 once lost every KKT point of ~1 % of the cells.
    const quotes = [];
    for (let j = 0; j < 60; j++) {
      const p: SviRaw = { a: uniform(r, 0.001, 0.05), b: uniform(r, 0.02, 0.6), rho: uniform(r, -0.9, 0.9), m: uniform(r, -0.3, 0.3), sigma: uniform(r, 0.02, 0.5) };
      const T = Math.exp(uniform(r, Math.log(2 / 365), Math.log(2)));
      const n = 5 + Math.floor(r() * 40);
      for (let i = 0; i < n; i++) {
        const k = uniform(r, -0.8, 0.6) * Math.sqrt(Math.max(sviW(p, 0), 1e-3));
        const iv = Math.max(Math.sqrt(Math.max(sviW(p, k), 1e-6) / T) + uniform(r, -0.01, 0.01), 0.02);
        quotes.push({ row: quotes.length + 1, T, forward: 100, strike: 100 * Math.exp(k), isCall: k > 0, iv, expiry: `e${j}`, weight: uniform(r, 0.2, 2) });
      }
    }
    const slices = prepareSlices(quotes).slices;
    const batch = buildBatch(slices);
    const grid = buildGrid(slices, 25, 20);
    const G = evaluateGridBatch(batch, grid);
    const per = grid.nm * grid.ns;
    for (let s = 0; s < slices.length; s++) {
      const lo = batch.offsets[s], hi = batch.offsets[s + 1];
      let scale = 0;
      for (let q = lo; q < hi; q++) scale += batch.weight[q] * batch.w[q] ** 2;
      for (let i = 0; i < grid.nm; i++) {
        for (let j = 0; j < grid.ns; j++) {
          const cell = s * per + i * grid.ns + j;
          const [a, d, c] = G.adc.subarray(3 * cell, 3 * cell + 3);
          const m = grid.m[s * grid.nm + i], sigma = grid.sigma[s * grid.ns + j];
          const tol = 1e-9 * (batch.aMax[s] + 2 * sigma);
          expect(Number.isFinite(G.f[cell])).toBe(true);
          expect(Math.min(c - Math.abs(d), 2 * sigma - c - Math.abs(d), a + c - Math.abs(d), batch.aMax[s] - a)).toBeGreaterThan(-tol);
          let f = 0;
          for (let q = lo; q < hi; q++) {
            const y = (batch.k[q] - m) / sigma;
            f += batch.weight[q] * (a + d * y + c * Math.sqrt(y * y + 1) - batch.w[q]) ** 2;
          }
          expect(Math.abs(G.f[cell] - f)).toBeLessThan(1e-8 * scale);
        }
      }
    }
  });

  it('the batched grid is, cell by cell, the per-slice solve (layout (s * nm + i) * ns + j)', () => {
    const slices = [randomSlice(12), randomSlice(7), randomSlice(20)];
    const offsets = Uint32Array.of(0, 12, 19, 39);
    const cat = (f: 'k' | 'w' | 'wt') => Float64Array.from(slices.flatMap((s) => Array.from(s[f])));
    const batch: SliceBatch = { offsets, k: cat('k'), w: cat('w'), weight: cat('wt'), aMax: Float64Array.from(slices, (s) => Math.max(...s.w)) };
    const nm = 5, ns = 4;
    const grid = {
      nm, ns,
      m: Float64Array.from({ length: 3 * nm }, () => uniform(r, -0.3, 0.3)),
      sigma: Float64Array.from({ length: 3 * ns }, () => uniform(r, 0.02, 0.8)),
    };
    const G = evaluateGridBatch(batch, grid);
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < nm; i++) {
        for (let j = 0; j < ns; j++) {
          const cell = (s * nm + i) * ns + j;
          const x = innerAt(batch, s, grid.m[s * nm + i], grid.sigma[s * ns + j]);
          expect(G.f[cell]).toBe(x.f);
          expect([G.adc[3 * cell], G.adc[3 * cell + 1], G.adc[3 * cell + 2]]).toEqual([x.a, x.d, x.c]);
        }
      }
    }
    expect(() => evaluateGridBatch(batch, { ...grid, nm: 6 })).toThrow(/grid.m has length/);
  });
});

function quotesFrom(p: SviRaw, T: number, ks: number[], F = 100) {
  return ks.map((k, i) => ({ row: i + 1, T, forward: F, strike: F * Math.exp(k), isCall: k > 0, iv: Math.sqrt(sviW(p, k) / T) }));
}

describe('SVI fit', () => {
  const ks = SVI_KS;
  const truths: Array<[SviRaw, number]> = SVI_TRUTHS.map(([p, T]) => [p, T]);
  it('recovers known parameters from exact total variance (1e-8 in total variance, parameters 1e-6)', () => {
    for (const [p, T] of truths) {
      const { slices } = prepareSlices(quotesFrom(p, T, ks));
      const fit = fitSviSlices(slices)[0];
      for (const k of ks) expect(Math.abs(sviW(fit.params, k) - sviW(p, k))).toBeLessThan(1e-8 * Math.max(1, sviW(p, k)));
      for (const n of ['a', 'b', 'rho', 'm', 'sigma'] as const) expect(Math.abs(fit.params[n] - p[n])).toBeLessThan(1e-6 * Math.max(1, Math.abs(p[n])));
      expect(fit.fallback).toBeUndefined();
    }
  });

  it('fits many slices in one batch, the same as one by one', () => {
    const quotes = truths.flatMap(([p, T], j) => quotesFrom(p, T, ks).map((q) => ({ ...q, row: q.row + 100 * j, expiry: `e${j}` })));
    const { slices } = prepareSlices(quotes);
    const all = fitSviSlices(slices);
    slices.forEach((s, i) => {
      const one = fitSviSlices([s])[0];
      for (const k of ks) expect(Math.abs(sviW(all[i].params, k) - sviW(one.params, k))).toBeLessThan(1e-10);
    });
    // The batch layout holds every slice's quotes once, in order.
    const batch = buildBatch(slices);
    expect(Array.from(batch.offsets)).toEqual([0, 31, 62, 93, 124]);
    expect(buildGrid(slices, 25, 20).m.length).toBe(4 * 25);
  });

  it('thin slices fall back to a documented reduced form (3-4 quotes) or a flat smile (1-2)', () => {
    const p: SviRaw = { a: 0.01, b: 0.08, rho: -0.4, m: 0.05, sigma: 0.15 };
    const quotes = [
      ...quotesFrom(p, 0.5, [-0.2, -0.05, 0.1, 0.2]).map((q) => ({ ...q, expiry: 'four' })),
      ...quotesFrom(p, 1, [-0.1, 0.1]).map((q) => ({ ...q, row: q.row + 10, expiry: 'two' })),
    ];
    const { result } = fitSurface(quotes, { model: 'svi' });
    expect(result.slices.map((s) => s.fallback)).toEqual(['reduced', 'flat']);
    expect(result.slices[0].warnings.join()).toMatch(/reduced SVI/);
    expect(result.slices[1].params.b).toBe(0);
    expect(result.slices[0].rmse_iv).toBeLessThan(0.01);
  });
});
