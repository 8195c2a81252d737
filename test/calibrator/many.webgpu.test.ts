/**
 * calibrateMany on WebGPU: the surfaces run at once in-process, their LM stencils batched into
 * multi-surface dispatches (manyGpu.test.ts checks each fit against its lone fit). Skipped without an adapter.
 */
import { describe, expect, it } from 'vitest';
import { calibrateMany, isSurfaceFailure } from '../../src/calibrator/many.js';
import { heston } from '../../src/models/index.js';
import { hasGpu } from '../helpers/gpu.js';
import { priceGrid, surfaceGrid } from './helpers.js';

describe.skipIf(!hasGpu)('calibrateMany on WebGPU', () => {
  it('fits each surface on the GPU, in input order, and says how its LM iterations were batched', async () => {
    const truths = [[0.04, 1.5, 0.06, 0.5, -0.6], [0.05, 2, 0.05, 0.4, -0.5]];
    const surfaces = await Promise.all(
      truths.map(async (t, i) => ({ name: `s${i}`, quotes: await priceGrid(heston, Float64Array.from(t), surfaceGrid({ expiries: 3, strikesPerExpiry: 5, atmVol: 0.2 })) })),
    );
    const lines: string[] = [];
    const out = await calibrateMany(surfaces, { model: heston, backend: 'webgpu', start: { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 }, threads: 2, log: (m) => lines.push(m) });
    expect(lines.some((l) => /multi-surface LM dispatches for \d+ surface stencils/.test(l))).toBe(true);
    out.forEach((o, i) => {
      if (isSurfaceFailure(o)) throw new Error(o.error);
      expect(o.surface).toBe(`s${i}`);
      expect(o.backend).toBe('webgpu');
      expect(o.rmse_iv!).toBeLessThan(2e-5);
      heston.params.forEach((p, j) => expect(Math.abs(o.params[p.name] - truths[i][j]) / truths[i][j]).toBeLessThan(2e-3));
    });
  });
});
