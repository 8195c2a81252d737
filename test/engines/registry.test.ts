/**
 * The engine registry (src/engines/registry.ts): every model has an engine, capabilities follow
 * from the model (characteristic function, kernels), models without a characteristic function get
 * Monte Carlo, GPU kernel ids come from the model and not its name, slice models have slice
 * engines and no parameter-vector pricer.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { engineFor, pricerFactoryFor } from '../../src/calibrator/pricers.js';
import { cosPrices } from '../../src/engines/cos/cpu.js';
import { cosKernelId, gpuSupportsModel } from '../../src/engines/cos/gpu.js';
import { mcKind } from '../../src/engines/mc/plan.js';
import {
  defaultEngine,
  engineCapabilities,
  engineNames,
  enginesFor,
  LOCAL_VOL_ENGINES,
  localVolEngine,
  pricerFactory,
  processEngine,
  sliceEngine,
} from '../../src/engines/registry.js';
import { createLocalVolPricer } from '../../src/engines/mc/localvol.js';
import { SsviSurface } from '../../src/surface/surface.js';
import { bates, getModel, heston, merton, models, processModelNames, rbergomi, sliceModelNames } from '../../src/models/index.js';
import { isSliceModel, type Model } from '../../src/models/types.js';

const cpu: Backend = { name: 'cpu', description: 'cpu' };
const quotes = {
  forward: Float64Array.of(100, 100, 100),
  strike: Float64Array.of(90, 100, 110),
  T: Float64Array.of(0.5, 0.5, 1),
  isCall: Uint8Array.of(0, 1, 1),
  discount: Float64Array.of(0.99, 0.99, 0.98),
};

describe('engine registry', () => {
  it('gives every model an engine: process models a pricer, slice models a slice engine', () => {
    expect(processModelNames()).toEqual(['heston', 'bates', 'merton', 'rbergomi']);
    expect(sliceModelNames()).toEqual(['black', 'svi', 'ssvi', 'essvi']);
    for (const m of Object.values(models)) {
      const engines = enginesFor(m);
      expect(engines.length, m.name).toBeGreaterThan(0);
      const kinds = new Set(engines.map((e) => e.kind));
      expect([...kinds], m.name).toEqual([isSliceModel(m) ? 'slice' : 'process']);
      expect(defaultEngine(m).name, m.name).toBe(engines[0].name);
    }
    expect(engineNames()).toEqual(['cos', 'mc', 'black', 'surface']);
    expect(engineNames('process')).toEqual(['cos', 'mc']);
  });

  it('states each engine\'s capabilities per model', () => {
    const caps = (m: Model) => Object.fromEntries(engineCapabilities(m).map(({ engine, ...c }) => [engine, c]));
    expect(caps(heston)).toEqual({
      cos: { kind: 'process', gradient: true, gpu: true, stochastic: false, slices: false, exactCpu: true },
      mc: { kind: 'process', gradient: false, gpu: true, stochastic: true, slices: false, exactCpu: false },
    });
    expect(Object.keys(caps(bates))).toEqual(['cos', 'mc']);
    // Merton has a COS kernel but no Monte Carlo scheme; rough Bergomi only paths.
    expect(Object.keys(caps(merton))).toEqual(['cos']);
    expect(caps(rbergomi)).toEqual({ mc: { kind: 'process', gradient: false, gpu: true, stochastic: true, slices: false, exactCpu: false } });
    for (const name of ['black', 'svi', 'ssvi', 'essvi']) {
      const [only, ...rest] = engineCapabilities(getModel(name));
      expect(rest).toEqual([]);
      // svi's quasi-explicit grid stage has a WGSL kernel (svi_grid.wgsl).
      expect(only).toEqual({ engine: name === 'black' ? 'black' : 'surface', kind: 'slice', gradient: false, gpu: name === 'svi', stochastic: false, slices: true, exactCpu: true });
    }
  });

  it('a model without a characteristic function gets Monte Carlo, by its kernel and not its name', () => {
    expect(defaultEngine(rbergomi).name).toBe('mc');
    expect(engineFor(rbergomi)).toBe('mc');
    expect(engineFor(heston)).toBe('cos');
    const rough: Model = { ...rbergomi, name: 'my-rough-model' };
    expect(defaultEngine(rough, 'calibrate').name).toBe('mc');
    expect(mcKind(rough)).toBe('rbergomi');
    // No characteristic function and no path scheme: no engine, and the error says why.
    const bare: Model = { name: 'bare', params: [], constraints: [] };
    expect(enginesFor(bare)).toEqual([]);
    expect(() => defaultEngine(bare)).toThrow(/no engine prices bare: it has neither a characteristic function \(COS\) nor a Monte Carlo scheme/);
    // The report needs exact f64 CPU prices: Monte Carlo-only models have no report engine.
    expect(() => defaultEngine(rbergomi, 'report')).toThrow(/rbergomi is priced by mc only/);
    expect(defaultEngine(heston, 'report').name).toBe('cos');
  });

  it('takes the GPU kernel ids from the model: COS MODEL id and Monte Carlo scheme', () => {
    expect([heston, bates, merton].map(cosKernelId)).toEqual([0, 1, 2]);
    const renamed: Model = { ...bates, name: 'bates-copy' };
    expect(cosKernelId(renamed)).toBe(1);
    expect(gpuSupportsModel(renamed)).toBe(true);
    expect(mcKind(renamed)).toBe('bates');
    // A Fourier model without a WGSL branch: COS on the CPU only.
    const cpuOnly: Model = { ...merton, name: 'merton-cpu', kernels: undefined };
    expect(gpuSupportsModel(cpuOnly)).toBe(false);
    expect(engineCapabilities(cpuOnly).map((c) => [c.engine, c.gpu])).toEqual([['cos', false]]);
    expect(() => mcKind(cpuOnly)).toThrow(/no scheme for model 'merton-cpu'/);
  });

  it('builds pricers: the COS factory prices as the engine; MC keeps its calibration defaults; slice models have none', async () => {
    const p = Float64Array.of(0.04, 2, 0.05, 0.5, -0.6);
    const pricer = await pricerFactory(heston)(heston, quotes, cpu);
    expect(Array.from((await pricer.priceBatch(p, 1)).prices)).toEqual(Array.from(cosPrices(heston, p, quotes)));
    expect(pricer.priceAndGradient).toBeDefined();
    pricer.dispose();
    expect(() => processEngine(rbergomi, 'cos')).toThrow(/the cos engine cannot price rbergomi \(use --engine mc\)/);
    const svi = getModel('svi');
    expect(() => processEngine(svi)).toThrow(/svi is a slice model/);
    expect(sliceEngine(svi).name).toBe('surface');
    expect(sliceEngine(getModel('black')).name).toBe('black');
    expect(() => sliceEngine(heston)).toThrow(/not a slice model/);
    // Lazy: a slice model's factory fails only when called.
    const f = pricerFactoryFor(svi);
    expect(() => f(svi, quotes, cpu)).toThrow(/slice model/);
  });

  it('local vol: the mc engine prices a fitted surface, the same paths as the engine module itself', async () => {
    expect(LOCAL_VOL_ENGINES.map((e) => e.name)).toEqual(['mc']);
    expect(localVolEngine('mc').capabilities()).toEqual({ gradient: false, gpu: true, stochastic: true, slices: false, exactCpu: false });
    expect(() => localVolEngine('cos')).toThrow(/local vol is priced by mc only, not by cos/);
    const surface = new SsviSurface([0.25, 0.5, 1], [0.011, 0.0214, 0.042], -0.6, 1.0, 0.4);
    const mc = { paths: 2000, steps: 24, seed: 11, antithetic: true };
    const viaRegistry = localVolEngine('mc').create(surface, quotes, cpu, { mc });
    const direct = createLocalVolPricer(surface, quotes, cpu, mc);
    const [a, b] = [await viaRegistry.price(), await direct.price()];
    expect(Array.from(a.prices)).toEqual(Array.from(b.prices));
    expect(a.backend).toBe('cpu');
    viaRegistry.dispose();
    direct.dispose();
    // Bad options are refused before any path.
    expect(() => localVolEngine('mc').create(surface, quotes, cpu, { mc: { paths: 0 } })).toThrow(RangeError);
  });
});
