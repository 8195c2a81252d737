/**
 * WGSL f32 Black-76 kernels (shaders/black.wgsl via src/engines/black/gpu.ts) against their f64
 * CPU twins on fresh random inputs.
 */
import { describe, expect, it } from 'vitest';
import { gpu, hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';
import { black76PricesGpu, impliedVolatilitiesGpu } from '../../src/engines/black/gpu.js';
import { black76Greeks, black76Price } from '../../src/engines/black/black76.js';
import { impliedVolatilities } from '../../src/engines/black/impliedVol.js';

const r = rng();

function randomBatch(n: number) {
  const b = {
    forward: new Float64Array(n),
    strike: new Float64Array(n),
    T: new Float64Array(n),
    vol: new Float64Array(n),
    isCall: new Uint8Array(n),
    discount: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    b.forward[i] = uniform(r, 10, 1000);
    b.T[i] = Math.exp(uniform(r, Math.log(1 / 365), Math.log(5)));
    b.vol[i] = uniform(r, 0.05, 1.5);
    const s = b.vol[i] * Math.sqrt(b.T[i]);
    b.strike[i] = b.forward[i] * Math.exp(uniform(r, -6, 6) * s);
    b.isCall[i] = r() < 0.5 ? 1 : 0;
    b.discount[i] = Math.exp(-uniform(r, 0, 0.08) * b.T[i]);
  }
  return b;
}

describe.skipIf(!hasGpu)('Black-76 WGSL f32 vs f64 twin', () => {
  it('prices and Greeks', async () => {
    const n = 4000;
    const b = randomBatch(n);
    const g = await black76PricesGpu(gpu!, b);
    let worstPrice = 0;
    const worstGreek: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const c = black76Greeks(b.forward[i], b.strike[i], b.T[i], b.vol[i], b.isCall[i] === 1, b.discount[i]);
      const scale = Math.sqrt(b.forward[i] * b.strike[i]) * b.discount[i];
      // Price: the f32 normalised price carries ~1e-6 absolute error (a few ulp of Φ terms of
      // size up to 1), scaled by √(FK) D on the CPU in f64.
      worstPrice = Math.max(worstPrice, Math.abs(g.price[i] - c.price) / scale);
      // Greeks: Φ(θ d1) and φ(d1) to a few ulp; measured against each Greek's natural scale.
      const F = b.forward[i];
      const D = b.discount[i];
      const sqrtT = Math.sqrt(b.T[i]);
      const scales: Record<string, number> = {
        delta: D,
        gamma: D / (F * b.vol[i] * sqrtT),
        vega: D * F * sqrtT,
        theta: Math.max(Math.abs(c.theta), D * F * b.vol[i] / sqrtT),
        vanna: Math.max(Math.abs(c.vanna), D / b.vol[i]),
        volga: Math.max(Math.abs(c.volga), D * F * sqrtT / b.vol[i]),
      };
      for (const k of Object.keys(scales)) {
        const e = Math.abs((g as unknown as Record<string, Float64Array>)[k][i] - (c as unknown as Record<string, number>)[k]) / scales[k];
        worstGreek[k] = Math.max(worstGreek[k] ?? 0, e);
      }
    }
    console.info(`black76 f32: max price error ${worstPrice.toExponential(2)} of √(FK)D; Greeks`, worstGreek);
    expect(worstPrice).toBeLessThan(1e-6); // measured ~2e-7
    for (const k of Object.keys(worstGreek)) expect(worstGreek[k], k).toBeLessThan(2e-6); // measured <= ~2e-7
  });

  it('implied volatility', async () => {
    const n = 4000;
    const b = randomBatch(n);
    const price = new Float64Array(n);
    for (let i = 0; i < n; i++) price[i] = black76Price(b.forward[i], b.strike[i], b.T[i], b.vol[i], b.isCall[i] === 1, b.discount[i]);
    const batch = { price, forward: b.forward, strike: b.strike, T: b.T, isCall: b.isCall, discount: b.discount };
    const g = await impliedVolatilitiesGpu(gpu!, batch);
    const c = impliedVolatilities(batch);
    let worst = 0;
    let sum = 0;
    let ok = 0;
    let gpuNoInfo = 0;
    let worstAt = '';
    for (let i = 0; i < n; i++) {
      if (c.status[i] !== 'ok') {
        expect(g.status[i]).toBe(c.status[i]); // statuses decided in f64 agree
        continue;
      }
      if (g.status[i] !== 'ok') {
        expect(g.status[i]).toBe('no_information');
        gpuNoInfo++;
        continue;
      }
      const e = Math.abs(g.iv[i] / c.iv[i] - 1);
      if (e > worst) worstAt = `F=${b.forward[i]} K=${b.strike[i]} T=${b.T[i]} vol=${b.vol[i]} call=${b.isCall[i]}`;
      worst = Math.max(worst, e);
      sum += e;
      ok++;
    }
    console.info(`iv f32: max rel error ${worst.toExponential(2)}, mean ${(sum / ok).toExponential(2)}, ${gpuNoInfo} rows beyond f32; worst at ${worstAt}`);
    // f32 objective evaluation: a few ulp of b divided by the price's sensitivity s·b'/b;
    // measured max ~2.3e-6, mean ~1.7e-7; 2e-5 leaves room for other random draws.
    expect(worst).toBeLessThan(2e-5);
    expect(gpuNoInfo).toBeLessThan(n * 0.02);
  });
});
