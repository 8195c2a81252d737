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
