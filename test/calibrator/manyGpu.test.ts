/**
 * Batched multi-surface LM on WebGPU (engines/cos/gpuNormalMany.ts, calibrator/manyGpu.ts):
 * - one multi-surface dispatch gives every surface the sums of its lone dispatch (gpuNormal.ts),
 *   for surfaces of different expiries, strikes and counts (some spanning several workgroups),
 *   with a Bates surface in the same call (its own dispatch group);
 * - calibrateMany on WebGPU fits each surface as `calibrate` alone on WebGPU does (same route,
 *   parameters within a small fraction of their standard errors, RMSE within 1e-3 relative),
 *   batching the surfaces' LM iterations, and a bad surface fails alone with its reason.
 * SwiftShader (CPU) in this sandbox: correctness only.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { calibrateMany, isSurfaceFailure, type ManySurface } from '../../src/calibrator/many.js';
import { pricerFactoryFor } from '../../src/calibrator/pricers.js';
import { prepareQuotes, type CalibrationQuote } from '../../src/calibrator/quotes.js';
import { Objective } from '../../src/calibrator/objective.js';
import { resolveBounds, toModel, toUnconstrained } from '../../src/calibrator/transforms.js';
import { groupByExpiry } from '../../src/engines/cos/expiries.js';
import { CosGpuNormal } from '../../src/engines/cos/gpuNormal.js';
import { CosGpuNormalMany } from '../../src/engines/cos/gpuNormalMany.js';
import { cosPricesBatch } from '../../src/engines/cos/cpu.js';
import { quoteSetOf, type StencilBatch } from '../../src/engines/pricer.js';
import { bates, heston, type Model } from '../../src/models/index.js';
import { stencil } from '../../src/optim/stencil.js';
import { gpu, hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';

const r = rng();

/** A surface of `expiries` expiries (own range) x `strikes` strikes, priced (f64) at `truth`, IV noise of `noise` vol. */
function surface(model: Model, truth: number[], expiries: number, strikes: number, tMax: number, noise: number): CalibrationQuote[] {
  const out: CalibrationQuote[] = [];
  let row = 1;
  const atm = Math.sqrt(truth[0]);
  for (let e = 0; e < expiries; e++) {
    const T = (14 + ((tMax - 14) * e) / Math.max(1, expiries - 1)) / 365;
    const F = 100 * Math.exp(0.01 * T);
    for (let k = 0; k < strikes; k++) {
      const x = -2.5 + (5 * k) / (strikes - 1);
      const K = F * Math.exp(x * atm * Math.sqrt(T));
      out.push({ row: row++, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: Math.exp(-0.01 * T) });
    }
  }
  const prices = cosPricesBatch(model, Float64Array.from(truth), 1, quoteSetOf(out));
  // Price noise of about `noise` vol points times vega (~0.4 F sqrt(T) at the money): the fit then has a residual.
  return out.map((q, i) => ({ ...q, price: prices[i] * (1 + noise * uniform(r, -1, 1)) })).filter((q) => q.price > 1e-5 * q.forward);
}

function hestonTruth(): number[] {
  return [uniform(r, 0.02, 0.09), uniform(r, 0.8, 4), uniform(r, 0.02, 0.09), uniform(r, 0.3, 0.9), uniform(r, -0.8, -0.3)];
}

describe.skipIf(!hasGpu)('multi-surface LM stencils on WebGPU', () => {
  it('one dispatch gives every surface the sums of its lone dispatch (Heston surfaces of 12 to 600 quotes, stencils and lone trial points together; a Bates one beside)', async () => {
    // [model, expiries, strikes, longest expiry (days), lone trial point (no stencil)]
    const specs: Array<[Model, number, number, number, boolean]> = [
      [heston, 3, 4, 200, false], [heston, 6, 100, 700, false], [bates, 4, 8, 400, false], [heston, 2, 9, 60, true], [heston, 8, 40, 500, false], [heston, 5, 30, 300, true],
    ];
    const evaluators: Array<{ lone: CosGpuNormal; fused: CosGpuNormal; batch: StencilBatch }> = [];
    for (const [model, E, Kn, tMax, lonePoint] of specs) {
      const truth = model === bates ? [...hestonTruth(), 0.5, -0.1, 0.15] : hestonTruth();
      const quotes = surface(model, truth, E, Kn, tMax, 0.01);
      const prep = prepareQuotes(quotes);
      const bounds = resolveBounds(model);
      const obj = new Objective(model, prep, await pricerFactoryFor(model)(model, prep.set, { name: 'cpu', description: 'cpu' }), bounds, { kind: 'iv' });
      const def = obj.residualDefinition();
      const groups = groupByExpiry(prep.set);
      const start = toUnconstrained(Float64Array.from(model.params.map((p, j) => truth[j] * (1 + 0.2 * uniform(r, -1, 1)))), bounds);
      const st = lonePoint ? { Z: start, n: 1, h: new Float64Array(0), scheme: 'central' as const } : stencil(start, 3e-3, 'central');
      const P = model.params.length;
      const params = new Float64Array(st.n * P);
      for (let k = 0; k < st.n; k++) toModel(st.Z.subarray(k * P, (k + 1) * P), bounds, params.subarray(k * P, (k + 1) * P));
      const batch: StencilBatch = { params, n: st.n, step: st.h, scheme: 'central' };
      evaluators.push({ lone: new CosGpuNormal(gpu!, model, prep.set, groups, def), fused: new CosGpuNormal(gpu!, model, prep.set, groups, def), batch });
    }
    const many = new CosGpuNormalMany(gpu!);
    const fused = await many.evaluate(evaluators.map((e) => ({ evaluator: e.fused, batch: e.batch })));
    expect(many.traffic.dispatches).toBe(2); // Heston x 4, Bates x 1
    expect(many.traffic.surfaces).toBe(6);
    for (let k = 0; k < evaluators.length; k++) {
      const lone = await evaluators[k].lone.evaluate(evaluators[k].batch);
      const got = fused[k];
      if (got instanceof Error) throw got;
      expect(Number.isFinite(lone.f) && (lone.A !== null) === !specs[k][4]).toBe(true);
      // The same f32 operations in the same order: equal, not merely close.
      expect(got.f).toBe(lone.f);
      if (specs[k][4]) {
        expect(got.A).toBeNull();
        continue;
      }
      expect(Array.from(got.g!)).toEqual(Array.from(lone.g!));
      expect(Array.from(got.A!)).toEqual(Array.from(lone.A!));
    }
    many.dispose();
    for (const e of evaluators) { e.lone.dispose(); e.fused.dispose(); }
  });

  it('calibrateMany batches the surfaces LM iterations, each fit equals its lone WebGPU fit, and a bad surface fails alone', async () => {
    const start = { v0: 0.05, kappa: 2, theta: 0.05, sigma: 0.5, rho: -0.5 };
    const shapes: Array<[number, number, number]> = [[3, 7, 200], [5, 12, 720], [2, 15, 90], [6, 9, 400], [4, 20, 300]];
    const surfaces: ManySurface[] = shapes.map(([E, K, t], i) => ({ name: `s${i}`, quotes: surface(heston, hestonTruth(), E, K, t, 0.002) }));
    // Three quotes cannot determine five parameters.
    surfaces.splice(2, 0, { name: 'bad', quotes: surfaces[0].quotes.slice(0, 3) });
    const lines: string[] = [];
    const out = await calibrateMany(surfaces, { model: heston, backend: 'webgpu', start, log: (m) => lines.push(m) });
    expect(out.map((o) => o.surface)).toEqual(surfaces.map((s) => s.name));
    const bad = out[2];
    expect(isSurfaceFailure(bad)).toBe(true);
    if (isSurfaceFailure(bad)) {
      expect(bad.error).toMatch(/3 usable quote\(s\) cannot determine 5 heston parameters/);
      expect(bad.error_kind).toBe('input');
    }
    const dispatchLine = lines.find((l) => /multi-surface LM dispatches/.test(l));
    expect(dispatchLine).toBeDefined();
    const [, perDispatch, most] = /\(([\d.]+) surfaces per dispatch, up to (\d+)\)/.exec(dispatchLine!)!.map(Number);
    // The 5 good surfaces stepping together at some point, fewer as they converge and leave (how
    // many share each dispatch depends on timing: surfaces enter LM after their own probe).
    expect(most).toBe(5);
    expect(perDispatch).toBeGreaterThan(1.5);
    for (let i = 0; i < out.length; i++) {
      if (i === 2) continue;
      const got = out[i];
      if (isSurfaceFailure(got)) throw new Error(`${got.surface}: ${got.error}`);
      const lone = await calibrate(surfaces[i].quotes, { model: heston, backend: 'webgpu', start });
      expect(got.backend).toBe('webgpu');
      expect(got.route).toEqual(lone.route);
      expect(got.converged).toBe(lone.converged);
      expect(Math.abs(got.rmse_iv! - lone.rmse_iv!) / lone.rmse_iv!).toBeLessThan(1e-3);
      for (const p of heston.params) {
        const se = lone.stderr?.[p.name];
        expect(se).toBeGreaterThan(0);
        expect(Math.abs(got.params[p.name] - lone.params[p.name])).toBeLessThan(0.05 * se!);
      }
    }
  }, 600_000);

  it('cold surfaces (no start: DE then LM on WebGPU; a small DE to keep SwiftShader quick) and Bates surfaces (8-parameter stencils, route lm) each end where their lone WebGPU fit ends', async () => {
    const compare = async (surfaces: ManySurface[], model: Model, settings: Partial<ManySurface>) => {
      const out = await calibrateMany(surfaces, { model, backend: 'webgpu', ...settings });
      for (let i = 0; i < out.length; i++) {
        const got = out[i];
        if (isSurfaceFailure(got)) throw new Error(`${got.surface}: ${got.error}`);
        const lone = await calibrate(surfaces[i].quotes, { model, backend: 'webgpu', ...settings, ...(surfaces[i].start ? { start: surfaces[i].start } : {}) } as Parameters<typeof calibrate>[1]);
        expect(got.route).toEqual(lone.route);
        expect(Math.abs(got.rmse_iv! - lone.rmse_iv!) / lone.rmse_iv!).toBeLessThan(1e-3);
        for (const p of model.params) {
          const se = lone.stderr?.[p.name];
          // A parameter without a standard error (at a bound): the same value to 1e-6 of it.
          const tol = se ? 0.05 * se : 1e-6 * Math.max(1e-3, Math.abs(lone.params[p.name]));
          expect(Math.abs(got.params[p.name] - lone.params[p.name])).toBeLessThanOrEqual(tol);
        }
      }
    };
    await compare([[2, 6, 120], [3, 5, 300]].map(([E, K, t], i) => ({ name: `cold${i}`, quotes: surface(heston, hestonTruth(), E, K, t, 0.002) })), heston, { de: { population: 16, generations: 6 } });
    const batesStart = { v0: 0.05, kappa: 2, theta: 0.05, sigma: 0.5, rho: -0.5, lambda: 0.5, muJ: -0.1, sigmaJ: 0.15 };
    await compare(
      [[3, 6, 200], [2, 8, 365]].map(([E, K, t], i) => ({ name: `bates${i}`, start: batesStart, quotes: surface(bates, [...hestonTruth(), 0.4, -0.1, 0.15], E, K, t, 0.002) })),
      bates,
      { route: 'lm' },
    );
  }, 600_000);
});

