/**
 * Multi-surface price batches on WebGPU (engines/cos/gpuPriceMany.ts, calibrator/manyGpu.ts):
 * - one call prices every surface's N parameter sets x its quotes and gives each surface the
 *   prices of its lone dispatch (gpu.ts CosGpu) bit for bit: surfaces of different expiries,
 *   strikes, forwards and counts, Heston and Bates (one dispatch per kernel), N from 1 to 24; a
 *   request the f32 set-up rejects fails alone; a batch past the device's storage-binding limit is
 *   split, prices unchanged; a failed dispatch leaves the surface to its own pricer, as alone;
 * - calibrateMany on WebGPU of cold surfaces (DE then LM, populations of different sizes), a given
 *   start (its probe) and a forced global stage: every fit equals its lone WebGPU fit, and the
 *   surfaces' price batches went out as shared dispatches (fewer dispatches than lone calls).
 * SwiftShader (CPU) in this sandbox: correctness only.
 */
import { describe, expect, it } from 'vitest';
import { selectBackend, silentLogger } from '../../src/backends/backend.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { calibrateMany, isSurfaceFailure, type ManySurface } from '../../src/calibrator/many.js';
import { GpuSurfaceBatch } from '../../src/calibrator/manyGpu.js';
import { pricerFactoryFor } from '../../src/calibrator/pricers.js';
import type { CalibrationQuote } from '../../src/calibrator/quotes.js';
import { cosPricesBatch } from '../../src/engines/cos/cpu.js';
import { groupByExpiry } from '../../src/engines/cos/expiries.js';
import { CosGpu, WG, prepareCosBatch } from '../../src/engines/cos/gpu.js';
import { CosGpuPriceMany, type CosPriceRequest } from '../../src/engines/cos/gpuPriceMany.js';
import { quoteSetOf, type PricerFactory } from '../../src/engines/pricer.js';
import { bates, heston, type Model } from '../../src/models/index.js';
import { gpu, hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';

const r = rng();

/** `expiries` expiries up to `tMax` days x `strikes` strikes (+-2.5 ATM sd) on forward `F0`, priced (f64) at `truth` with relative price noise `noise`. */
function surface(model: Model, truth: number[], expiries: number, strikes: number, tMax: number, F0: number, noise: number): CalibrationQuote[] {
  const out: CalibrationQuote[] = [];
  let row = 1;
  const atm = Math.sqrt(truth[0]);
  for (let e = 0; e < expiries; e++) {
    const T = (10 + ((tMax - 10) * e) / Math.max(1, expiries - 1)) / 365;
    const F = F0 * Math.exp(0.02 * T);
    for (let k = 0; k < strikes; k++) {
      const K = F * Math.exp((-2.5 + (5 * k) / (strikes - 1)) * atm * Math.sqrt(T));
      out.push({ row: row++, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: Math.exp(-0.02 * T) });
    }
  }
  const prices = cosPricesBatch(model, Float64Array.from(truth), 1, quoteSetOf(out));
  return out.map((q, i) => ({ ...q, price: prices[i] * (1 + noise * uniform(r, -1, 1)) })).filter((q) => q.price > 1e-5 * q.forward);
}

function hestonTruth(): number[] {
  return [uniform(r, 0.02, 0.09), uniform(r, 0.8, 4), uniform(r, 0.02, 0.09), uniform(r, 0.3, 0.9), uniform(r, -0.8, -0.3)];
}

/**
 * n parameter sets scattered around `truth` (model units), kept inside the bounds: rho -0.8 x 1.3
 * would leave them (|rho| > 1 has no price; seed 210828126 drew -1.015).
 */
function sets(truth: number[], n: number): Float64Array {
  const P = truth.length;
  const spec = (truth.length === bates.params.length ? bates : heston).params;
  const out = new Float64Array(n * P);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < P; j++) {
      const { lower, upper } = spec[j];
      const edge = 1e-3 * (upper - lower);
      out[k * P + j] = Math.min(Math.max(truth[j] * (1 + 0.3 * uniform(r, -1, 1)), lower + edge), upper - edge);
    }
  }
  return out;
}

/** The registry's pricer factory, counting `priceBatch` calls (a lone fit's pricing dispatches). */
function counting(model: Model, count: { calls: number }): PricerFactory {
  const base = pricerFactoryFor(model);
  return async (m, q, b, hooks) => {
    const p = await base(m, q, b, hooks);
    return { ...p, priceBatch: (params, n) => (count.calls++, p.priceBatch(params, n)) };
  };
}

describe.skipIf(!hasGpu)('multi-surface price batches on WebGPU', () => {
  it('one call gives every surface the prices of its lone dispatch (Heston and Bates, different grids, forwards and N; a bad request fails alone)', async () => {
    // [model, expiries, strikes, longest expiry (days), forward, parameter sets]
    const specs: Array<[Model, number, number, number, number, number]> = [
      [heston, 3, 5, 200, 100, 1], [heston, 6, 30, 700, 4000, 7], [bates, 4, 9, 400, 50, 5], [heston, 2, 11, 60, 1, 24], [bates, 2, 7, 300, 250, 2], [heston, 5, 8, 365, 30000, 12],
    ];
    const requests: CosPriceRequest[] = specs.map(([model, E, K, tMax, F, n]) => {
      const truth = model === bates ? [...hestonTruth(), 0.5, -0.1, 0.15] : hestonTruth();
      const quotes = quoteSetOf(surface(model, truth, E, K, tMax, F, 0));
      return { model, quotes, groups: groupByExpiry(quotes), params: sets(truth, n), n };
    });
    // A NaN parameter: the f32 set-up rejects it (as the lone CosGpu does), the others are priced.
    const bad: CosPriceRequest = { ...requests[0], params: Float64Array.from(requests[0].params, (v, j) => (j === 1 ? NaN : v)) };
    const many = new CosGpuPriceMany(gpu!);
    const got = await many.evaluate([...requests.slice(0, 3), bad, ...requests.slice(3)]);
    expect(got[3]).toBeInstanceOf(Error);
    await expect(new CosGpu(gpu!, bad.model, bad.quotes, bad.groups).priceBatch(bad.params, bad.n)).rejects.toThrow();
    got.splice(3, 1);
    expect(many.traffic.dispatches).toBe(2); // Heston x 4, Bates x 2
    expect(many.traffic.requests).toBe(6);
    // Each surface's records start on a workgroup boundary: one f32 back per record, padded per surface.
    expect(many.traffic.readBack).toBe(4 * requests.reduce((a, q) => a + Math.ceil((q.n * q.quotes.T.length) / WG) * WG, 0));
    for (let k = 0; k < requests.length; k++) {
      const q = requests[k];
      const g = got[k];
      if (g instanceof Error) throw g;
      const lone = new CosGpu(gpu!, q.model, q.quotes, q.groups);
      const alone = await lone.priceBatch(q.params, q.n);
      lone.dispose();
      // The same f32 operations on the same records: equal, not merely close.
      expect(Array.from(g)).toEqual(Array.from(alone));
      // And they are the surface's prices (the f32 kernel's accuracy against the f64 engine).
      const f64 = cosPricesBatch(q.model, q.params, q.n, q.quotes);
      const M = q.quotes.T.length;
      for (let i = 0; i < f64.length; i++) {
        const m = i % M;
        expect(Math.abs(g[i] - f64[i])).toBeLessThan(1e-6 * q.quotes.discount[m] * q.quotes.forward[m]);
      }
    }
    many.dispose();
  });

  it('splits a batch at the device storage-binding limit (one surface per dispatch here), prices unchanged', async () => {
    const grid = surface(heston, hestonTruth(), 3, 10, 300, 100, 0);
    const quotes = quoteSetOf(grid);
    const groups = groupByExpiry(quotes);
    // The same parameter sets in all three: the same plans, terms and records, so a limit at one
    // request's size holds each alone and no two together (random sets of different term counts
    // could pair two small ones).
    const params = sets(hestonTruth(), 4);
    const requests: CosPriceRequest[] = [0, 1, 2].map(() => ({ model: heston, quotes, groups, params: params.slice(), n: 4 }));
    const limit = Math.max(
      ...requests.map((q) => {
        const b = prepareCosBatch(q.model, q.quotes, q.groups, q.params, q.n);
        return Math.max(b.nPlans * b.stride * 16, Math.ceil(b.nRec / WG) * WG * 32);
      }),
    );
    const small = { ...gpu!, limits: { maxStorageBufferBindingSize: limit, maxBufferSize: limit, maxComputeWorkgroupsPerDimension: gpu!.limits.maxComputeWorkgroupsPerDimension } as unknown as GPUSupportedLimits };
    const many = new CosGpuPriceMany(small);
    const got = await many.evaluate(requests);
    expect(many.traffic.dispatches).toBe(3);
    for (let k = 0; k < requests.length; k++) {
      const lone = new CosGpu(gpu!, heston, quotes, groups);
      expect(Array.from(got[k] as Float64Array)).toEqual(Array.from(await lone.priceBatch(requests[k].params, 4)));
      lone.dispose();
    }
    many.dispose();
  });

  it('a failed multi-surface pricing dispatch: the surface is priced by its own pricer, as alone, and the log says so', async () => {
    const quotes = quoteSetOf(surface(heston, hestonTruth(), 2, 8, 200, 100, 0));
    const backend = await selectBackend('webgpu', silentLogger);
    if (backend.name !== 'webgpu') throw new Error('WebGPU expected');
    const batch = new GpuSurfaceBatch(backend);
    batch.pricing.evaluate = () => Promise.reject(new Error('simulated dispatch failure'));
    const member = batch.join();
    const logs: string[] = [];
    const pricer = await batch.pricerFactory(pricerFactoryFor(heston), member, (m) => logs.push(m))(heston, quotes, backend);
    const params = sets(hestonTruth(), 3);
    const got = await pricer.priceBatch(params, 3);
    const lone = await pricerFactoryFor(heston)(heston, quotes, backend);
    const alone = await lone.priceBatch(params, 3);
    expect(got.backend).toBe('webgpu');
    expect(Array.from(got.prices)).toEqual(Array.from(alone.prices));
    expect(logs.join('\n')).toMatch(/COS pricing \(many surfaces\): simulated dispatch failure; pricing this surface alone/);
    member.leave();
    pricer.dispose();
    lone.dispose();
    batch.dispose();
  });

  it('calibrateMany: cold surfaces (DE), a given start (probe) and a forced global stage each equal their lone WebGPU fit, their price batches shared', async () => {
    const start = { v0: 0.05, kappa: 2, theta: 0.05, sigma: 0.5, rho: -0.5 };
    const surfaces: ManySurface[] = [
      { name: 'cold16', quotes: surface(heston, hestonTruth(), 2, 6, 120, 100, 0.002), de: { population: 16, generations: 6 } },
      { name: 'cold12', quotes: surface(heston, hestonTruth(), 3, 5, 300, 2500, 0.002), de: { population: 12, generations: 5 } },
      { name: 'given', quotes: surface(heston, hestonTruth(), 3, 6, 200, 40, 0.002), start },
      { name: 'global', quotes: surface(heston, hestonTruth(), 2, 7, 365, 100, 0.002), start, route: 'global', de: { population: 20, generations: 4 } },
    ];
    const lines: string[] = [];
    const out = await calibrateMany(surfaces, { model: heston, backend: 'webgpu', log: (m) => lines.push(m) });
    let loneCalls = 0;
    for (let i = 0; i < surfaces.length; i++) {
      const got = out[i];
      if (isSurfaceFailure(got)) throw new Error(`${got.surface}: ${got.error}`);
      const { name: _n, quotes, ...settings } = surfaces[i];
      const count = { calls: 0 };
      const lone = await calibrate(quotes, { model: heston, backend: 'webgpu', ...settings, createPricer: counting(heston, count) } as Parameters<typeof calibrate>[1]);
      loneCalls += count.calls;
      expect(got.backend).toBe('webgpu');
      // The whole result (route, history, parameters, errors, residuals), all but the time taken.
      const { surface: _s, seconds: _t, ...batched } = got;
      const { seconds: _u, ...alone } = lone;
      expect(batched).toEqual(alone);
    }
    // The cold surfaces and the forced one took the global stage (the given start may or may not).
    for (const i of [0, 1, 3]) expect((out[i] as Exclude<(typeof out)[number], { error: string }>).route.name).toBe('global+lm');
    const line = lines.find((l) => /multi-surface pricing dispatches/.test(l));
    expect(line).toBeDefined();
    console.info(line);
    const [, dispatches, requests, most] = /(\d+) multi-surface pricing dispatches for (\d+) surface price batches \([\d.]+ surfaces per dispatch, up to (\d+)\)/.exec(line!)!.map(Number);
    // Every lone priceBatch call was a request of the batch; the cold surfaces' DE generations
    // (and the probes, polish stencils, reports) shared dispatches.
    expect(requests).toBe(loneCalls);
    expect(most).toBe(4);
    expect(dispatches).toBeLessThan(requests);
  }, 600_000);
});
