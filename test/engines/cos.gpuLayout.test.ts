/**
 * The COS kernels' records (src/engines/cos/gpuLayout.ts): integers travel as u32, and a model
 * with more parameters than a plan holds is refused with an error naming the model and the limit
 * instead of spilling into the next plan. No GPU needed: the refusal comes before any GPU call.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import type { GpuContext } from '../../src/backends/webgpu/device.js';
import { CosGpu, cosPlanValues, cosQuoteValues } from '../../src/engines/cos/gpu.js';
import { CosGpuNormal } from '../../src/engines/cos/gpuNormal.js';
import { CosPlanRecord, CosQuoteRecord, MAX_PARAMS } from '../../src/engines/cos/gpuLayout.js';
import { groupByExpiry } from '../../src/engines/cos/expiries.js';
import { createCosPricer } from '../../src/engines/cos/pricer.js';
import { bates, type Model } from '../../src/models/index.js';

const quotes = {
  forward: Float64Array.from([100, 100]),
  strike: Float64Array.from([90, 110]),
  T: Float64Array.from([0.5, 1]),
  isCall: Uint8Array.from([0, 1]),
  discount: Float64Array.from([0.99, 0.98]),
};

/** Bates with one parameter too many for a plan (name kept, so the WGSL kernel would be chosen). */
const wide: Model = { ...bates, params: [...bates.params, { ...bates.params[0], name: 'extra' }] };

describe('COS GPU records', () => {
  it('packs plans and quote records with integer fields as u32', () => {
    const plan = CosPlanRecord.pack([cosPlanValues(-2, 1, 4000, 0.04, -0.02, 0.5, [1, 2, 3, 4, 5, 6, 7, 8])]);
    expect(CosPlanRecord.size).toBe(60);
    const u = new Uint32Array(plan);
    expect(u[CosPlanRecord.field('terms').offset / 4]).toBe(4000);
    expect(Array.from(new Float32Array(plan, CosPlanRecord.field('params').offset, MAX_PARAMS))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const rec = CosQuoteRecord.pack([cosQuoteValues(0.1, -2, 1, 70000, true), cosQuoteValues(-3, -2, 1, 5, false)]);
    const r = new Uint32Array(rec);
    const w = (i: number, f: 'index' | 'below' | 'isCall') => r[(i * CosQuoteRecord.size + CosQuoteRecord.field(f).offset) / 4];
    expect([w(0, 'index'), w(0, 'below'), w(0, 'isCall')]).toEqual([70000, 0, 1]);
    expect([w(1, 'index'), w(1, 'below'), w(1, 'isCall')]).toEqual([5, 1, 0]);
  });

  it('refuses a model with more parameters than a plan holds, naming the model and the limit', async () => {
    expect(MAX_PARAMS).toBe(8);
    const message = /model bates has 9 parameters, but a COS GPU plan holds at most 8 \(MAX_PARAMS/;
    // Nothing touches the device before the check: a stand-in context is enough.
    const ctx = { device: {}, limits: {} } as unknown as GpuContext;
    const backend: Backend = { name: 'webgpu', description: 'stand-in', gpu: ctx };
    await expect(createCosPricer(wide, quotes, backend)).rejects.toThrow(message);
    const groups = groupByExpiry(quotes);
    expect(() => new CosGpu(ctx, wide, quotes, groups)).toThrow(message);
    const def = { scale: new Float64Array(2).fill(1), target: new Float64Array(2) };
    expect(() => new CosGpuNormal(ctx, wide, quotes, groups, def)).toThrow(message);
    // And the record itself never lets a parameter spill into the next plan.
    expect(() => CosPlanRecord.pack([cosPlanValues(-2, 1, 64, 0.04, 0, 0.5, new Float64Array(9))])).toThrow(/CosPlan\[0\]\.params holds 8 values/);
  });
});
