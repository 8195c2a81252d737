/**
 * Device loss during work: the work finishes on the CPU, the switch is logged, and the result
 * says which backend really computed it. Runs in its own file because it destroys the
 * process-wide device.
 */
import { describe, expect, it } from 'vitest';
import { runOnBackend, selectBackend } from '../../src/backends/backend.js';
import { impliedVolatilities } from '../../src/engines/black/impliedVol.js';
import { impliedVolatilitiesGpu } from '../../src/engines/black/gpu.js';
import { black76Price } from '../../src/engines/black/black76.js';
import { createCosPricer } from '../../src/engines/cos/pricer.js';
import { cosPrices } from '../../src/engines/cos/cpu.js';
import { heston } from '../../src/models/heston.js';
import { hasGpu } from '../helpers/gpu.js';

const batch = {
  price: Float64Array.from([0.9, 1.3, 10.2].map((_, i) => black76Price(100, 90 + 10 * i, 0.5, 0.3, i > 0, 0.99))),
  forward: Float64Array.from([100, 100, 100]),
  strike: Float64Array.from([90, 100, 110]),
  T: Float64Array.from([0.5, 0.5, 0.5]),
  isCall: Uint8Array.from([0, 1, 1]),
  discount: Float64Array.from([0.99, 0.99, 0.99]),
};

describe.skipIf(!hasGpu)('WebGPU device lost mid-work', () => {
  it('finishes implied vols on the CPU, says so, and reports the cpu backend', async () => {
    const logs: string[] = [];
    const backend = await selectBackend('webgpu', (m) => logs.push(m));
    expect(backend.name).toBe('webgpu');
    if (backend.name !== 'webgpu') return;
    // Warm the pipeline, then lose the device between two calls of the same work.
    await impliedVolatilitiesGpu(backend.gpu, batch);
    backend.gpu.device.destroy();
    const { value, backend: ran } = await runOnBackend(
      backend,
      'implied volatility',
      (gpu) => impliedVolatilitiesGpu(gpu, batch),
      () => impliedVolatilities(batch),
      (m) => logs.push(m),
    );
    expect(ran).toBe('cpu');
    expect(logs.join('\n')).toMatch(/CPU/);
    const cpu = impliedVolatilities(batch);
    expect(Array.from(value.iv)).toEqual(Array.from(cpu.iv));
    for (const v of value.iv) expect(Math.abs(v - 0.3)).toBeLessThan(1e-12);
  });

  it('after the loss, auto selects the CPU (and says why) and COS pricing goes on in f64', async () => {
    const logs: string[] = [];
    // The device above is lost: auto must not hand it out again.
    const backend = await selectBackend('auto', (m) => logs.push(m));
    expect(backend.name).toBe('cpu');
    expect(logs.join('\n')).toMatch(/backend cpu/);
    const quotes = {
      forward: Float64Array.from([100, 100]),
      strike: Float64Array.from([90, 110]),
      T: Float64Array.from([1, 1]),
      isCall: Uint8Array.from([0, 1]),
      discount: Float64Array.from([1, 1]),
    };
    const params = Float64Array.from([0.04, 2, 0.04, 0.5, -0.6]);
    const pricer = await createCosPricer(heston, quotes, backend, { log: (m) => logs.push(m) });
    const r = await pricer.priceBatch(params, 1);
    pricer.dispose();
    expect(r.backend).toBe('cpu');
    const ref = cosPrices(heston, params, quotes);
    for (let i = 0; i < 2; i++) expect(Math.abs(r.prices[i] - ref[i])).toBeLessThan(1e-12);
  });
});
