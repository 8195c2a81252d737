/** Merton (1976) jump-diffusion: Black-Scholes volatility `vol` plus log-normal jumps. */
import { cadd, cexp, type FourierExtras } from './complex.js';
import { addJumpLogCf, addJumpLogCfGrad, jumpCumulants, jumpGrid, jumpLogCf, jumpLogCfBound, jumpParamSpecs, jumpVariance } from './jumps.js';
import type { Model } from './types.js';

const logCf: NonNullable<Model['logCharFn']> = (u, T, p) => {
  const hv = 0.5 * p[0] * p[0] * T;
  return cadd({ re: -hv * u * u, im: -hv * u }, jumpLogCf(u, T, p[1], p[2], p[3]));
};

const pair = new Float64Array(2);

export const merton: Model & FourierExtras = {
  name: 'merton',
  kernels: { cos: 2 },
  params: [
    { name: 'vol', lower: 1e-4, upper: 5, initial: 0.3, description: 'diffusion volatility' },
    ...jumpParamSpecs,
  ],
  constraints: [],
  nested: {
    base: 'Black-Scholes (vol)',
    extra: ['lambda', 'muJ', 'sigmaJ'],
    grid: jumpGrid,
    rebalance(p, from) {
      const v = p[0] * p[0] + jumpVariance(from[1], from[2], from[3]) - jumpVariance(p[1], p[2], p[3]);
      p[0] = Math.sqrt(Math.max(v, 0.04 * p[0] * p[0]));
    },
  },
  charFn: (u, T, p) => cexp(logCf(u, T, p)),
  logCharFn: logCf,
  logCharFnBound: (u, T, p) => -0.5 * p[0] * p[0] * T * u * u + jumpLogCfBound(u, T, p[1], p[3]),
  cumulants: (T, p) => {
    const j = jumpCumulants(T, p[1], p[2], p[3]);
    return { c1: j.c1 - 0.5 * p[0] * p[0] * T, c2: j.c2 + p[0] * p[0] * T, c4: j.c4, jumpRange: j.jumpRange };
  },
  logCharFnGrid: (w, n, T, p, re, im, from = 0) => {
    const hv = 0.5 * p[0] * p[0] * T;
    for (let k = from; k < n; k++) {
      const u = k * w;
      pair[0] = -hv * u * u;
      pair[1] = -hv * u;
      if (k > 0) addJumpLogCf(u, T, p[1], p[2], p[3], pair, 0);
      re[k] = pair[0];
      im[k] = pair[1];
    }
  },
  logCharFnGrad: (u, T, p, out) => {
    out.fill(0, 0, 10);
    if (u === 0) return;
    const hv = 0.5 * p[0] * p[0] * T;
    out[0] = -hv * u * u;
    out[1] = -hv * u;
    addJumpLogCf(u, T, p[1], p[2], p[3], out, 0);
    // d/dvol of -(vol^2 T / 2)(u^2 + iu)
    out[2] = -p[0] * T * u * u;
    out[3] = -p[0] * T * u;
    addJumpLogCfGrad(u, T, p[1], p[2], p[3], out, 4);
  },
};
