/**
 * Real chains through normalize() and fitSurface(). Bounds are the RMSEs documented in
 * src/surface/README.md with 25 % headroom. Independent checks: the arbitrage-free fits are
 * free on the check grid and their Dupire local vol exists on a dense (k, T) grid, between and
 * beyond the expiries; eSSVI reaches the floor of its slice family (separate 3-parameter
 * SSVI fits of each slice, no surface constraints), so on BTC the limit is the SSVI slice shape,
 * not the optimizer; a single-start LM on a real SPX slice lands in a bad minimum that the
 * grid + multi-start fit avoids.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalize } from '../../src/market/normalize.js';
import { fitSurface } from '../../src/surface/fit.js';
import { prepareSlices, type SliceData } from '../../src/surface/slices.js';
import { lmBox } from '../../src/surface/lmBox.js';
import { fitSviSlices, polishSlice, sliceRmse } from '../../src/surface/sviFit.js';
import { sviFromArray, sviW, type SviRaw } from '../../src/surface/svi.js';
import { localVolGrid } from '../../src/surface/dupire.js';
import type { VolSurface } from '../../src/surface/surface.js';

/** Local vol exists on k in [-1, 1] from 0.2 T_1 to 1.5 T_N (100 x 101 points): no LocalVolError. */
function localVolErrors(s: VolSurface): number {
  const T0 = s.expiries[0], T1 = s.expiries[s.expiries.length - 1];
  const Ts = Array.from({ length: 100 }, (_, i) => 0.2 * T0 + ((1.5 * T1 - 0.2 * T0) * i) / 99);
  const ks = Array.from({ length: 101 }, (_, i) => -1 + i * 0.02);
  return localVolGrid(s, ks, Ts, { onError: 'collect' }).errors.length;
}

const read = (p: string) => readFileSync(new URL(`../../data/${p}`, import.meta.url), 'utf8');
const btc = normalize(read('deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv'), { underlying: 'BTC' });
const spx = normalize(read('spx-2025-10-01-cboe-long-dated/spx_2025-10-01_cboe_chain.csv'));

/** Unweighted IV RMSE of independent per-slice SSVI fits (theta, rho, psi free per slice, same weights). */
function ssviSliceFloor(slices: SliceData[]): number {
  let se = 0, n = 0;
  for (const s of slices) {
    const wOf = (x: ArrayLike<number>, k: number) => 0.5 * (x[0] + x[1] * x[2] * k + Math.sqrt(x[2] * x[2] * k * k + 2 * x[0] * x[1] * x[2] * k + x[0] * x[0]));
    const prob = {
      n: 3,
      lower: Float64Array.of(1e-8, -0.999, 1e-6),
      upper: Float64Array.of(10, 0.999, 10),
      residuals: (x: Float64Array) => Float64Array.from(s.k, (k, q) => Math.sqrt(s.weight[q]) * (Math.sqrt(wOf(x, k) / s.T) - s.iv[q])),
    };
    let best: ReturnType<typeof lmBox> | null = null;
    const atm = s.w[s.k.reduce((b, k, i) => (Math.abs(k) < Math.abs(s.k[b]) ? i : b), 0)];
    for (const rho of [-0.8, -0.4, 0, 0.4]) for (const psi of [0.01, 0.05, 0.2]) {
      const r = lmBox(prob, [atm, rho, psi]);
      if (!best || r.f < best.f) best = r;
    }
    s.k.forEach((k, q) => { se += (Math.sqrt(wOf(best!.x, k) / s.T) - s.iv[q]) ** 2; n++; });
  }
  return Math.sqrt(se / n);
}

/**
 * The unweighted IV RMSE of the best 3-parameter SSVI slice (theta, rho, psi free) of each slice
 * separately: a lower bound on the unweighted RMSE of ANY surface whose slices are SSVI slices
 * (SSVI, eSSVI, whatever rho(theta), phi or psi parametrisation, weights or optimizer). Dense
 * search (5 theta x 41 rho x 41 log-spaced psi in [1e-4, 5]), LM from the 20 best points.
 */
function ssviSliceFloorUnweighted(slices: SliceData[]): number {
  const wOf = (x: ArrayLike<number>, k: number) => 0.5 * (x[0] + x[1] * x[2] * k + Math.sqrt(x[2] * x[2] * k * k + 2 * x[0] * x[1] * x[2] * k + x[0] * x[0]));
  let se = 0, n = 0;
  for (const s of slices) {
    const res = (x: ArrayLike<number>) => Float64Array.from(s.k, (k, q) => Math.sqrt(Math.max(wOf(x, k), 0) / s.T) - s.iv[q]);
    const f = (x: ArrayLike<number>) => res(x).reduce((a, v) => a + v * v, 0);
    const atm = s.w[s.k.reduce((b, k, i) => (Math.abs(k) < Math.abs(s.k[b]) ? i : b), 0)];
    const cands: Array<[number, number[]]> = [];
    for (let i = 0; i <= 40; i++) for (let j = 0; j <= 40; j++) for (const tf of [0.7, 0.85, 1, 1.15, 1.3]) {
      const x = [atm * tf, -0.99 + (1.98 * i) / 40, Math.exp(Math.log(1e-4) + ((Math.log(5) - Math.log(1e-4)) * j) / 40)];
      cands.push([f(x), x]);
    }
    cands.sort((a, b) => a[0] - b[0]);
    const prob = { n: 3, lower: Float64Array.of(1e-8, -0.999, 1e-6), upper: Float64Array.of(10, 0.999, 50), residuals: (x: Float64Array) => res(x) };
    se += Math.min(...cands.slice(0, 20).map(([, x]) => f(lmBox(prob, x).x)));
    n += s.k.length;
  }
  return Math.sqrt(se / n);
}

describe('Deribit BTC snapshot 2026-01-05 (249 quotes, 11 expiries)', () => {
  it('raw SVI per slice: RMSE 0.23 vol points; the arbitrage report lists what remains (calendar in the far wings)', () => {
    const { result } = fitSurface(btc.quotes, { model: 'svi' });
    console.info(`BTC svi: rmse ${(100 * result.rmse_iv).toFixed(3)} vol pts, ${result.seconds.toFixed(2)} s, free ${result.arbitrage.free}`);
    expect(result.rmse_iv).toBeLessThan(0.00232 * 1.25);
    expect(result.slices.length).toBe(11);
    expect(result.slices.map((s) => s.T)).toEqual([...result.slices.map((s) => s.T)].sort((a, b) => a - b));
    // The deep ITM 80000 call (bid below intrinsic) carries no vol: excluded with its reason.
    expect(result.excluded.map((e) => e.reason)).toEqual(['wide_vol_spread']);
    expect(result.residuals.length + result.excluded.length).toBe(btc.quotes.length);
    for (const c of result.arbitrage.calendar) expect(c.T2).toBeGreaterThan(c.T1);
  });

  it('raw SVI, arbitrage-free: RMSE 0.24 vol points with zero violations', () => {
    const { result, surface } = fitSurface(btc.quotes, { model: 'svi', arbitrageFree: true });
    console.info(`BTC svi arbitrage-free: rmse ${(100 * result.rmse_iv).toFixed(3)} vol pts, ${result.seconds.toFixed(2)} s`);
    expect(localVolErrors(surface)).toBe(0);
    expect(result.rmse_iv).toBeLessThan(0.00239 * 1.25);
    expect(result.arbitrage.free).toBe(true);
    expect(result.arbitrage.butterfly).toEqual([]);
    expect(result.arbitrage.calendar).toEqual([]);
  });

  it('SSVI 1.27, eSSVI 1.02 vol points, both arbitrage-free; eSSVI is at the floor of separate per-slice SSVI fits', () => {
    const ssFit = fitSurface(btc.quotes, { model: 'ssvi' });
    const esFit = fitSurface(btc.quotes, { model: 'essvi' });
    const ss = ssFit.result, es = esFit.result;
    expect(localVolErrors(ssFit.surface)).toBe(0);
    expect(localVolErrors(esFit.surface)).toBe(0);
    console.info(`BTC ssvi ${(100 * ss.rmse_iv).toFixed(3)}, essvi ${(100 * es.rmse_iv).toFixed(3)} vol pts`);
    expect(ss.rmse_iv).toBeLessThan(0.01275 * 1.25);
    expect(es.rmse_iv).toBeLessThan(0.01023 * 1.25);
    expect(es.rmse_iv_weighted).toBeLessThanOrEqual(ss.rmse_iv_weighted * (1 + 1e-9));
    expect(ss.arbitrage.free).toBe(true);
    expect(es.arbitrage.free).toBe(true);
    expect(ss.arbitrage.ssvi_conditions!.every((c) => c.ok)).toBe(true);
    const floor = ssviSliceFloor(prepareSlices(btc.quotes).slices);
    expect(es.rmse_iv).toBeLessThan(floor * 1.01);
  });

  it("no surface of SSVI slices reaches the issue's 0.5 vol points here: the per-slice unweighted optimum is 0.95", () => {
    const floor = ssviSliceFloorUnweighted(prepareSlices(btc.quotes).slices);
    console.info(`BTC: best unweighted RMSE of separate SSVI slices ${(100 * floor).toFixed(3)} vol pts`);
    expect(floor).toBeGreaterThan(0.009);
    expect(floor).toBeLessThan(0.0096);
    // A lower bound indeed: both fits (unweighted RMSE) sit above it.
    for (const model of ['ssvi', 'essvi'] as const) expect(fitSurface(btc.quotes, { model }).result.rmse_iv).toBeGreaterThanOrEqual(floor);
  });
});

describe('SPX 2025-10-01 CBOE long-dated (899 quotes, 13 expiries)', () => {
  it('raw SVI 0.20, arbitrage-free SVI 0.35, SSVI 0.53, eSSVI 0.50 vol points; the constrained ones free', () => {
    const rm: Record<string, number> = {};
    for (const [name, opts] of [
      ['svi', { model: 'svi' }],
      ['svi-af', { model: 'svi', arbitrageFree: true }],
      ['ssvi', { model: 'ssvi' }],
      ['essvi', { model: 'essvi' }],
    ] as const) {
      const { result, surface } = fitSurface(spx.quotes, opts);
      rm[name] = result.rmse_iv;
      if (name !== 'svi') {
        expect(result.arbitrage.free, name).toBe(true);
        expect(localVolErrors(surface), name).toBe(0);
      }
      else expect(result.arbitrage.free).toBe(false); // wild wings outside the quotes: reported, not hidden
    }
    console.info(`SPX rmse (vol pts): ${Object.entries(rm).map(([k, v]) => `${k} ${(100 * v).toFixed(3)}`).join(', ')}`);
    expect(rm.svi).toBeLessThan(0.00204 * 1.25);
    expect(rm['svi-af']).toBeLessThan(0.00353 * 1.25);
    expect(rm.ssvi).toBeLessThan(0.0053 * 1.25);
    expect(rm.essvi).toBeLessThan(0.00498 * 1.25);
  });

  it('a single-start LM lands in a bad minimum on a real slice; the grid + multi-start fit does not', () => {
    const { slices } = prepareSlices(spx.quotes);
    const s = slices[0];
    const ours = fitSviSlices([s])[0];
    const atm = s.w[s.k.reduce((b, k, i) => (Math.abs(k) < Math.abs(s.k[b]) ? i : b), 0)];
    const single = polishSlice(s, { a: 0.9 * atm, b: 0.05, rho: 0.3, m: -0.1, sigma: 0.3 });
    expect(sliceRmse(single.params, s)).toBeGreaterThan(5 * ours.rmse_iv);
    expect(ours.rmse_iv).toBeLessThan(0.003);
  });
});

describe('the SVI slice polish', () => {
  // The general box LM with central differences on the same residuals, bounds and hard
  // constraints: an independent check of the specialised polish's analytic Jacobian and steps.
  function generalPolish(s: SliceData, p: SviRaw): number {
    const n = s.k.length, range = s.k[n - 1] - s.k[0];
    const ok = (x: Float64Array) => x[1] * (1 + Math.abs(x[2])) <= 2 && x[0] + x[1] * x[4] * Math.sqrt(1 - x[2] * x[2]) >= 0;
    const residuals = (x: Float64Array) => Float64Array.from(s.k, (k, q) => (ok(x) ? Math.sqrt(s.weight[q]) * (Math.sqrt(sviW(sviFromArray(x), k) / s.T) - s.iv[q]) : NaN));
    const lower = Float64Array.of(Math.min(-10, p.a), 0, -1 + 1e-9, s.k[0] - 2 * range - 1, 1e-6);
    const upper = Float64Array.of(10, 2, 1 - 1e-9, s.k[n - 1] + 2 * range + 1, Math.max(10, p.sigma));
    return lmBox({ n: 5, lower, upper, residuals, typical: Float64Array.of(1e-3, 0.01, 0.1, 0.01, 0.01) }, [p.a, p.b, p.rho, p.m, p.sigma]).f;
  }

  it('ends at or below the general LM (finite differences) from the same starts on every BTC and SPX slice', () => {
    const slices = [...prepareSlices(btc.quotes).slices, ...prepareSlices(spx.quotes).slices].filter((s) => s.k.length >= 5);
    let below = 0;
    for (const s of slices) {
      const start = fitSviSlices([s])[0].qe!;
      const ours = polishSlice(s, start).objective;
      const general = generalPolish(s, start);
      expect(ours).toBeLessThanOrEqual(general * (1 + 1e-6));
      if (ours < general * (1 - 1e-6)) below++;
    }
    console.info(`SVI polish: ${slices.length} slices, ${below} strictly below the general LM`);
  });

  it('keeps a quasi-explicit start outside the default box (a < -10 at a wide sigma) instead of clipping it off its fit', () => {
    // Deribit BTC 2026-01-19, the 0.93-year slice: Nelder-Mead's best end point there has a = -11.2.
    const s = prepareSlices(normalize(read('deribit-btc-daily/BTC_2026-01-19.csv'), { underlying: 'BTC' }).quotes).slices[9];
    const start: SviRaw = { a: -11.247, b: 1.4305, rho: 0.0036077, m: 0.40343, sigma: 7.9979 };
    const atStart = s.k.reduce((f, k, q) => f + s.weight[q] * (Math.sqrt(sviW(start, k) / s.T) - s.iv[q]) ** 2, 0);
    const ours = polishSlice(s, start);
    expect(ours.objective).toBeLessThanOrEqual(atStart);
    expect(sliceRmse(ours.params, s)).toBeLessThan(0.01);
  });
});
