/**
 * Bates (1996): Heston plus log-normal jumps in the spot. Parameters as QuantLib's BatesModel:
 * lambda = lambda, muJ = nu, sigmaJ = delta (ln(1 + J) ~ N(nu, delta^2)).
 */
import { cadd, cexp } from './complex.js';
import { heston, hestonCumulants, hestonLogCf } from './heston.js';
import { jumpCumulants, jumpLogCf, jumpLogCfBound, jumpParamSpecs } from './jumps.js';
import type { Model } from './types.js';

const logCf: NonNullable<Model['logCharFn']> = (u, T, p) =>
  cadd(hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4]), jumpLogCf(u, T, p[5], p[6], p[7]));

export const bates: Model = {
  name: 'bates',
  params: [...heston.params, ...jumpParamSpecs],
  constraints: heston.constraints,
  charFn: (u, T, p) => cexp(logCf(u, T, p)),
  logCharFn: logCf,
  logCharFnBound: (u, T, p) =>
    hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4]).re + jumpLogCfBound(u, T, p[5], p[7]),
  cumulants: (T, p) => {
    const h = hestonCumulants(T, p[0], p[1], p[2], p[3], p[4]);
    const j = jumpCumulants(T, p[5], p[6], p[7]);
    return { c1: h.c1 + j.c1, c2: h.c2 + j.c2, c4: h.c4 + j.c4, jumpRange: j.jumpRange };
  },
};
