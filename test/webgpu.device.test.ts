import { describe, expect, it } from 'vitest';
import { gpu, hasGpu } from './helpers/gpu.js';
import { dispatch, getPipeline, GrowableBuffer, readBuffer, workgroupGrid } from '../src/backends/webgpu/kernel.js';
import { selectBackend, silentLogger } from '../src/backends/backend.js';

describe.skipIf(!hasGpu)('webgpu runtime', () => {
  it('compiles a shared-math kernel once and runs it on fresh data', async () => {
    const ctx = gpu!;
    const p1 = await getPipeline(ctx, 'selftest.wgsl', 'main');
    const p2 = await getPipeline(ctx, 'selftest.wgsl', 'main');
    expect(p1).toBe(p2); // cached: no per-call compilation
    const n = 1000;
    const input = new Float32Array(n).map((_, i) => i * 0.5);
    const inBuf = new GrowableBuffer(ctx, 'in');
    const outBuf = new GrowableBuffer(ctx, 'out');
    dispatch(ctx, p1, [inBuf.write(input), outBuf.ensure(n * 4)], workgroupGrid(ctx, n, 64));
    const out = new Float32Array(await readBuffer(ctx, outBuf.buffer!, n * 4));
    for (let i = 0; i < n; i++) expect(out[i]).toBe(input[i] * 2 + 1);
    inBuf.destroy();
    outBuf.destroy();
  });

  it('auto picks WebGPU when an adapter answers', async () => {
    const b = await selectBackend('auto', silentLogger);
    expect(b.name).toBe('webgpu');
  });
});

describe('backend selection', () => {
  it('cpu is always available', async () => {
    expect((await selectBackend('cpu', silentLogger)).name).toBe('cpu');
  });
});

describe.skipIf(!hasGpu)('GrowableBuffer', () => {
  it('stays bindable (a multiple of 16 bytes) however it grows', async () => {
    const ctx = gpu!;
    const pipeline = await getPipeline(ctx, 'selftest.wgsl', 'main');
    const inBuf = new GrowableBuffer(ctx, 'in');
    const outBuf = new GrowableBuffer(ctx, 'out');
    // 792,990 bytes once came from growing 528,660 by 1.5 and broke the bind group.
    // Each size just outgrows the last, so capacity grows by 1.5x three times in a row.
    for (const n of [3, 58740, 58744, 88114, 132168]) {
      const input = new Float32Array(n).map((_, i) => i % 1000);
      ctx.device.pushErrorScope('validation');
      dispatch(ctx, pipeline, [inBuf.write(input), outBuf.ensure(n * 4)], workgroupGrid(ctx, n, 64));
      expect(await ctx.device.popErrorScope()).toBeNull();
      expect(inBuf.bytes % 16).toBe(0);
      expect(outBuf.bytes % 16).toBe(0);
      const out = new Float32Array(await readBuffer(ctx, outBuf.buffer!, n * 4));
      expect(out[n - 1]).toBe(2 * input[n - 1] + 1);
    }
    inBuf.destroy();
    outBuf.destroy();
  });
});

describe.skipIf(!hasGpu)('dispatch validation', () => {
  it('a dispatch WebGPU rejects is an exception at readback, not stale output', async () => {
    const ctx = gpu!;
    const pipeline = await getPipeline(ctx, 'selftest.wgsl', 'main');
    // 6 bytes: not a multiple of 4, so the bind group is invalid.
    const bad = ctx.device.createBuffer({ size: 6, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const out = new GrowableBuffer(ctx, 'out');
    dispatch(ctx, pipeline, [bad, out.ensure(16)], [1, 1]);
    await expect(readBuffer(ctx, out.buffer!, 16)).rejects.toThrow(/WebGPU validation failed/);
    // The next good dispatch reads back normally.
    const inBuf = new GrowableBuffer(ctx, 'in');
    dispatch(ctx, pipeline, [inBuf.write(new Float32Array([1, 2, 3, 4])), out.ensure(16)], [1, 1]);
    expect(Array.from(new Float32Array(await readBuffer(ctx, out.buffer!, 16)))).toEqual([3, 5, 7, 9]);
    bad.destroy();
    out.destroy();
    inBuf.destroy();
  });
});
