/**
 * Browser entry for the WebGPU page test: the library's own modules, bundled by esbuild,
 * load the same shaders/*.wgsl over HTTP and run on navigator.gpu.
 */
import { getGpu } from '../../src/backends/webgpu/device.js';
import { setShaderBaseUrl } from '../../src/backends/webgpu/shaderSource.js';
import { black76Price } from '../../src/engines/black/black76.js';
import { impliedVolatilitiesGpu } from '../../src/engines/black/gpu.js';
import { impliedVolatilities } from '../../src/engines/black/impliedVol.js';
import { createCosPricer } from '../../src/engines/cos/pricer.js';
import { cosPrices } from '../../src/engines/cos/cpu.js';
import { heston } from '../../src/models/heston.js';

declare global {
  interface Window {
    volfitCheck: (seed: number) => Promise<Record<string, unknown>>;
  }
}

setShaderBaseUrl('/shaders/');

window.volfitCheck = async (seed: number) => {
  const gpu = await getGpu();
  if (!gpu) return { error: 'no WebGPU adapter in the page' };
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const n = 256;
  const vol = Float64Array.from({ length: n }, () => 0.1 + rand());
  const T = Float64Array.from({ length: n }, () => 0.05 + 2 * rand());
  const strike = Float64Array.from({ length: n }, (_, i) => 100 * Math.exp((rand() - 0.5) * vol[i] * Math.sqrt(T[i])));
  const isCall = Uint8Array.from(strike, (k) => (k > 100 ? 1 : 0));
  const forward = new Float64Array(n).fill(100);
  const discount = new Float64Array(n).fill(0.98);
  const price = Float64Array.from({ length: n }, (_, i) => black76Price(100, strike[i], T[i], vol[i], !!isCall[i], 0.98));
  const batch = { price, forward, strike, T, isCall, discount };
  const raw = await impliedVolatilitiesGpu(gpu, batch, { precision: 'f32' });
  const cpu = impliedVolatilities(batch);
  let ivErr = 0;
  for (let i = 0; i < n; i++) ivErr = Math.max(ivErr, Math.abs(raw.iv[i] / cpu.iv[i] - 1));

  const quotes = { forward: forward.slice(0, 16), strike: strike.slice(0, 16), T: T.slice(0, 16), isCall: isCall.slice(0, 16), discount: discount.slice(0, 16) };
  const params = Float64Array.from([0.04, 2, 0.05, 0.6, -0.6]);
  const pricer = await createCosPricer(heston, quotes, { name: 'webgpu', description: 'page', gpu });
  const g = await pricer.priceBatch(params, 1);
  pricer.dispose();
  const ref = cosPrices(heston, params, quotes);
  let cosErr = 0;
  for (let i = 0; i < 16; i++) cosErr = Math.max(cosErr, Math.abs(g.prices[i] - ref[i]) / 100);
  return { adapter: gpu.adapterDescription, ivErr, cosErr, cosBackend: g.backend };
};
