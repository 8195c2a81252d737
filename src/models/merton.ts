/** Merton (1976) jump-diffusion: Black-Scholes volatility `vol` plus log-normal jumps. */
import { cadd, cexp } from './complex.js';
import { jumpCumulants, jumpLogCf, jumpLogCfBound, jumpParamSpecs } from './jumps.js';
import type { Model } from './types.js';

const logCf: NonNullable<Model['logCharFn']> = (u, T, p) => {
  const hv = 0.5 * p[0] * p[0] * T;
  return cadd({ re: -hv * u * u, im: -hv * u }, jumpLogCf(u, T, p[1], p[2], p[3]));
};

export const merton: Model = {
  name: 'merton',
  params: [
    { name: 'vol', lower: 1e-4, upper: 5, initial: 0.3, description: 'diffusion volatility' },
    ...jumpParamSpecs,
  ],
  constraints: [],
  charFn: (u, T, p) => cexp(logCf(u, T, p)),
  logCharFn: logCf,
  logCharFnBound: (u, T, p) => -0.5 * p[0] * p[0] * T * u * u + jumpLogCfBound(u, T, p[1], p[3]),
  cumulants: (T, p) => {
    const j = jumpCumulants(T, p[1], p[2], p[3]);
    return { c1: j.c1 - 0.5 * p[0] * p[0] * T, c2: j.c2 + p[0] * p[0] * T, c4: j.c4, jumpRange: j.jumpRange };
  },
};
