/**
 * Calibration on the WebGPU backend (f32 COS with a control variate): recovery of known
 * parameters to the f32 floor. The surface is priced exactly (f64), so what is left is the f32
 * pricing error: about 1e-6 in vol RMS here (NOTES.md: max 0.0018 vol points on 16,000 strikes).
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { bates, heston, merton } from '../../src/models/index.js';
import { hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';
import { priceGrid, surfaceGrid } from './helpers.js';

describe.skipIf(!hasGpu)('calibrate (WebGPU)', () => {
  const r = rng();

  it('recovers Heston from QuantLib\'s standard wrong start to the f32 floor', async () => {
    const truth = Float64Array.from([uniform(r, 0.02, 0.2), uniform(r, 0.5, 3), uniform(r, 0.02, 0.2), uniform(r, 0.2, 1), uniform(r, -0.8, 0)]);
    // The f32 kernel's documented precision regime: prices above 1e-3 D F (IV error <= 6e-6). Far
    // wings below it carry f32 IV errors up to ~2e-3 on steep smiles (a draw with rho -0.79 had
    // an f32 floor of 3.7e-4 RMS at the true parameters), where "the f32 floor" is not 2e-5.
    const all = await priceGrid(heston, truth, surfaceGrid({ expiries: 5, strikesPerExpiry: 8, atmVol: Math.sqrt(truth[0]) }));
    const quotes = all.filter((q) => q.price >= 1e-3 * q.discount * q.forward);
    expect(quotes.length).toBeGreaterThanOrEqual(20);
    const res = await calibrate(quotes, { model: heston, backend: 'webgpu', start: { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 } });
    expect(res.backend).toBe('webgpu');
    expect(res.converged).toBe(true);
    // f32 floor: RMSE within 2 vol-point thousandths (2e-5 in vol) of the exact fit's zero.
    expect(res.rmse_iv!).toBeLessThan(2e-5);
    // Parameters: the floor moves them by at most ~1e-3 relative on this surface (kappa, sigma
    // are the least determined); measured about 1e-5.
    heston.params.forEach((s, i) => expect(Math.abs(res.params[s.name] - truth[i]) / truth[i]).toBeLessThan(2e-3));
  }, 300_000); // SwiftShader runs the f32 kernels on shared CPU cores

  it('a fit whose LM from the given start ends on bounds is rescued by LM from the probe\'s best starts before any global stage', async () => {
    // Equity-like, 8 expiries 30-730 days x 20 strikes (+-2 sd): LM from QuantLib's standard start
    // ends with kappa, theta, sigma and rho on their bounds; on f32 prices the global stage alone
    // then ended 0.27 vol points off with rho at -0.999 (bench/many, surface "equity 40").
    const truth = { v0: 0.027812793529592456, kappa: 1.7021091900765897, theta: 0.07989996458403766, sigma: 0.3305487373843789, rho: -0.5292328452458606 };
    const grid = [];
    for (let e = 0; e < 8; e++) {
      const days = Math.round(30 + (700 * e) / 7);
      const T = days / 365;
      const F = 100 * Math.exp(0.02 * T);
      for (let k = 0; k < 20; k++) {
        const K = F * Math.exp((-2 + (4 * k) / 19) * Math.sqrt(truth.v0 * T));
        grid.push({ row: grid.length + 1, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: Math.exp(-0.02 * T) });
      }
    }
    const quotes = await priceGrid(heston, Float64Array.from(heston.params, (s) => truth[s.name as keyof typeof truth]), grid);
    const res = await calibrate(quotes, { model: heston, backend: 'webgpu', start: { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 } });
    expect(res.route.reason).toMatch(/LM ran from the best of the probe's starts/);
    expect(res.route.name).toBe('lm');
    expect(res.rmse_iv!).toBeLessThan(2e-5);
    for (const s of heston.params) expect(Math.abs(res.params[s.name] - truth[s.name as keyof typeof truth]) / Math.abs(truth[s.name as keyof typeof truth])).toBeLessThan(2e-3);
  }, 300_000);

  it('recovers Bates and Merton by the staged route (GPU-resident LM stencils) to the f32 floor', { timeout: 400_000 }, async () => {
    const cases: Array<{ model: typeof bates; truth: number[]; start: Record<string, number>; atmVol: number }> = [
      {
        model: bates,
        // A fixed Bates surface: on f32 prices the staged route does not recover every random draw
        // (seeds 1169166719 and 2084728267 of this test ended 0.1-0.9 vol points off, through
        // the DE fallback), a known limit stated in src/calibrator/README.md; random-draw
        // recovery is tested on the CPU (staged.test.ts).
        truth: [0.05, 2, 0.06, 0.5, -0.6, 0.8, -0.15, 0.12],
        start: { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 },
        atmVol: 0.22,
      },
    ];
    const m = [uniform(r, 0.15, 0.3), uniform(r, 0.3, 1.5), uniform(r, -0.25, -0.05), uniform(r, 0.08, 0.2)];
    // The grid follows the draw's total vol (diffusion plus jump variance per year): a grid at a
    // fixed 0.22 left a low-vol draw with 37 quotes above the f32 regime's price floor.
    cases.push({ model: merton, truth: m, start: { vol: 0.3 }, atmVol: Math.sqrt(m[0] ** 2 + m[1] * (m[2] ** 2 + m[3] ** 2)) });
    for (const c of cases) {
      const truth = Float64Array.from(c.truth);
      // 6 x 10 quotes and jumps no larger than the diffusion: with 28 quotes a draw whose jumps
      // carry most of the variance (lambda 1.05, muJ -0.24, sigmaJ 0.2) is barely identified and
      // fell through to the global stage on both backends (seed 1169166719).
      const all = await priceGrid(c.model, truth, surfaceGrid({ expiries: 6, strikesPerExpiry: 10, atmVol: c.atmVol }));
      const quotes = all.filter((q) => q.price >= 1e-3 * q.discount * q.forward); // as above
      expect(quotes.length).toBeGreaterThanOrEqual(40);
      const res = await calibrate(quotes, { model: c.model, backend: 'webgpu', start: c.start });
      expect(res.backend).toBe('webgpu');
      expect(res.route.reason).toMatch(/staged fit/);
      expect(res.rmse_iv!, `${c.model.name} ${c.truth}`).toBeLessThan(2e-5);
      // Measured ~4e-6 (Bates) and ~1e-5 (Merton) at the f32 floor; jump parameters are the least
      // determined by ~50 quotes.
      c.model.params.forEach((s, i) => expect(Math.abs(res.params[s.name] / truth[i] - 1), `${c.model.name}.${s.name}`).toBeLessThan(1e-2));
    }
  });
});
