/**
 * The report's Greeks bootstrap refits (src/demo/fits.ts warmRefit) go through calibrateMany:
 * every redrawn quote set is a surface of one batch (the CPU's worker pool, or WebGPU's shared
 * dispatches), and each refit equals fitModel on that set alone (CPU to 1e-10 relative, WebGPU
 * exactly: the batch's sums are the lone dispatch's). A set that cannot be fitted comes back as
 * an Error while the others are fitted.
 */
import { describe, expect, it } from 'vitest';
import { selectBackend, type Backend } from '../../src/backends/backend.js';
import { fitModel, warmRefit } from '../../src/demo/fits.js';
import { heston } from '../../src/models/index.js';
import type { FitResult } from '../../src/report/fit.js';
import { perturbWithinSpread } from '../../src/report/stability.js';
import type { ReportQuote } from '../../src/report/types.js';
import { mulberry32 } from '../../src/util/mulberry32.js';
import { priceGrid, surfaceGrid } from '../calibrator/helpers.js';
import { hasGpu } from '../helpers/gpu.js';
import { rng, testSeed, uniform } from '../helpers/random.js';

const CPU: Backend = { name: 'cpu', description: 'cpu (f64 TypeScript)' };

/** A Heston surface at random parameters, each quote given a bid/ask of +-(1 % + 0.001) around its price. */
async function quotedSurface(r: () => number, expiries: number, strikes: number): Promise<{ quotes: ReportQuote[]; truth: Record<string, number> }> {
  const truth = { v0: uniform(r, 0.02, 0.08), kappa: uniform(r, 1, 3), theta: uniform(r, 0.03, 0.08), sigma: uniform(r, 0.3, 0.7), rho: uniform(r, -0.8, -0.3) };
  const grid = surfaceGrid({ expiries, strikesPerExpiry: strikes, atmVol: Math.sqrt(truth.v0) });
  const priced = await priceGrid(heston, Float64Array.from(heston.params, (s) => truth[s.name as keyof typeof truth]), grid);
  const quotes = priced.map((q) => ({ ...q, expiry: `T${q.T.toFixed(4)}`, bid: q.price * 0.99 - 0.001, ask: q.price * 1.01 + 0.001 }));
  return { quotes, truth };
}

function relErr(a: Record<string, number>, b: Record<string, number>): number {
  return Math.max(...Object.keys(b).map((k) => Math.abs(a[k] - b[k]) / Math.abs(b[k])));
}

function fitted(r: FitResult | Error): FitResult {
  if (r instanceof Error) throw r;
  return r;
}

describe('bootstrap refits through calibrateMany', () => {
  it(`CPU pool: each refit is fitModel's warm LM fit of that set alone to 1e-10; an unfittable set is an Error (seed ${testSeed})`, async () => {
    const r = rng(testSeed);
    const { quotes, truth } = await quotedSurface(r, 3, 8);
    const fit = await fitModel('heston', quotes, { backend: CPU, start: { model: 'heston', params: truth } });
    const rand = mulberry32(Math.floor(r() * 2 ** 31));
    const sets = [0, 1, 2].map(() => perturbWithinSpread(quotes, rand));
    const out = await warmRefit(CPU)([...sets, []], fit);
    expect(out).toHaveLength(4);
    for (let i = 0; i < sets.length; i++) {
      const lone = await fitModel('heston', sets[i], { backend: CPU, start: fit, route: 'lm' });
      const got = fitted(out[i]);
      expect(got.route).toEqual(lone.route);
      expect(relErr(got.params, lone.params)).toBeLessThan(1e-10);
      // The redrawn prices moved the fit: these are refits, not copies of the start.
      expect(relErr(got.params, fit.params)).toBeGreaterThan(1e-8);
    }
    expect(out[3]).toBeInstanceOf(Error);
    expect((out[3] as Error).message).toMatch(/quote/i);
  }, 300_000);

  it.skipIf(!hasGpu)('WebGPU: the refits share dispatches and each equals its lone WebGPU fit', async () => {
    const r = rng(testSeed + 1);
    const gpu = await selectBackend('webgpu', () => {});
    const { quotes, truth } = await quotedSurface(r, 2, 6);
    const fit = await fitModel('heston', quotes, { backend: CPU, start: { model: 'heston', params: truth } });
    const rand = mulberry32(Math.floor(r() * 2 ** 31));
    const sets = [0, 1].map(() => perturbWithinSpread(quotes, rand));
    const lines: string[] = [];
    const out = await warmRefit(gpu, (m) => lines.push(m))(sets, fit);
    for (let i = 0; i < sets.length; i++) {
      const lone = await fitModel('heston', sets[i], { backend: gpu, start: fit, route: 'lm' });
      const got = fitted(out[i]);
      expect(got.backend).toBe('webgpu');
      expect(got.params).toEqual(lone.params);
    }
    expect(lines.some((l) => /multi-surface/.test(l))).toBe(true);
  }, 600_000);
});
