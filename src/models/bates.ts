/**
 * Bates (1996): Heston plus log-normal jumps in the spot. Parameters as QuantLib's BatesModel:
 * lambda = lambda, muJ = nu, sigmaJ = delta (ln(1 + J) ~ N(nu, delta^2)).
 */
import { cadd, cexp, type FourierExtras } from './complex.js';
import { heston, hestonCumulants, hestonLogCf, hestonLogCfGrad, hestonLogCfGrid } from './heston.js';
import { addJumpLogCf, addJumpLogCfGrad, jumpCumulants, jumpGrid, jumpLogCf, jumpLogCfBound, jumpParamSpecs, jumpVariance } from './jumps.js';
import type { Model } from './types.js';

const logCf: NonNullable<Model['logCharFn']> = (u, T, p) =>
  cadd(hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4]), jumpLogCf(u, T, p[5], p[6], p[7]));

const pair = new Float64Array(2);

export const bates: Model & FourierExtras = {
  name: 'bates',
  kernels: { cos: 1, mc: 'bates' },
  params: [...heston.params, ...jumpParamSpecs],
  constraints: heston.constraints,
  nested: {
    base: 'heston',
    extra: ['lambda', 'muJ', 'sigmaJ'],
    grid: jumpGrid,
    // v0 and theta carry the diffusive variance (short and long end): they give up what the
    // jumps take, never below a fifth of their value.
    rebalance(p, from) {
      const d = jumpVariance(from[5], from[6], from[7]) - jumpVariance(p[5], p[6], p[7]);
      p[0] = Math.max(p[0] + d, 0.2 * p[0]);
      p[2] = Math.max(p[2] + d, 0.2 * p[2]);
    },
  },
  charFn: (u, T, p) => cexp(logCf(u, T, p)),
  logCharFn: logCf,
  logCharFnBound: (u, T, p) =>
    hestonLogCf(u, T, p[0], p[1], p[2], p[3], p[4]).re + jumpLogCfBound(u, T, p[5], p[7]),
  cumulants: (T, p) => {
    const h = hestonCumulants(T, p[0], p[1], p[2], p[3], p[4]);
    const j = jumpCumulants(T, p[5], p[6], p[7]);
    return { c1: h.c1 + j.c1, c2: h.c2 + j.c2, c4: h.c4 + j.c4, jumpRange: j.jumpRange };
  },
  logCharFnGrid: (w, n, T, p, re, im, from = 0) => {
    hestonLogCfGrid(w, n, T, p, re, im, from);
    for (let k = Math.max(from, 1); k < n; k++) {
      pair[0] = 0;
      pair[1] = 0;
      addJumpLogCf(k * w, T, p[5], p[6], p[7], pair, 0);
      re[k] += pair[0];
      im[k] += pair[1];
    }
  },
  logCharFnGrad: (u, T, p, out) => {
    hestonLogCfGrad(u, T, p, out); // fills psi and the 5 Heston derivatives, zeroes 12 entries
    out.fill(0, 12, 18);
    if (u === 0) return;
    pair[0] = 0;
    pair[1] = 0;
    addJumpLogCf(u, T, p[5], p[6], p[7], pair, 0);
    out[0] += pair[0];
    out[1] += pair[1];
    addJumpLogCfGrad(u, T, p[5], p[6], p[7], out, 12);
  },
};
