/**
 * Slice models: one parameter set per expiry ("slice"), the smile of each expiry described on its
 * own (black, svi) or as a surface with global parameters tying the slices together (ssvi,
 * essvi). They have no characteristic function and no paths: a price is Black-76 at the slice's
 * implied vol. Fitting and pricing them is the job of the 'black' and 'surface' engines of
 * src/engines/registry.ts; this file only describes them (data, no code to import).
 *
 * `params` of a slice model are its global parameters, which a fit result carries in its
 * top-level `params`; per-expiry ones (`slice.perSlice`) are in the result's `slices[i].params`.
 * Black keeps its historical top-level `params` too: one `vol_<expiry>` per expiry.
 */
import type { ParamSpec, SliceModel } from './types.js';

const positive = (name: string, initial: number, description: string): ParamSpec => ({ name, lower: Number.MIN_VALUE, upper: Infinity, initial, description });
const free = (name: string, initial: number, description: string): ParamSpec => ({ name, lower: -Infinity, upper: Infinity, initial, description });
const correlation = (description: string): ParamSpec => ({ name: 'rho', lower: -1, upper: 1, initial: -0.5, description });

/** Black-76 with one flat vol per expiry: the baseline every smile model has to beat. */
export const blackFlatModel: SliceModel = {
  name: 'black',
  kind: 'slice',
  params: [],
  constraints: [],
  slice: {
    perSlice: [positive('vol', 0.5, 'Black-76 implied vol of the expiry (flat across strikes)')],
    arbitrageFreeDefault: false,
    arbitrageFreeMeaning: 'not available (a flat vol per expiry has no butterfly arbitrage; calendar arbitrage, total variance falling in T, is reported)',
    description: 'flat Black-76 vol per expiry (closed form: the weighted mean of market IVs)',
  },
};

/** Raw SVI per expiry (Gatheral 2004): w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)). */
export const sviModel: SliceModel = {
  name: 'svi',
  kind: 'slice',
  params: [],
  constraints: [],
  slice: {
    perSlice: [
      free('a', 0.01, 'variance level'),
      { name: 'b', lower: 0, upper: Infinity, initial: 0.1, description: 'wing slope' },
      correlation('skew (rotation)'),
      free('m', 0, 'horizontal shift'),
      positive('sigma', 0.1, 'ATM curvature'),
    ],
    arbitrageFreeDefault: false,
    arbitrageFreeMeaning: 'a joint polish of all slices with butterfly and calendar penalties (also started from the arbitrage-free eSSVI slices); off by default',
    description: 'raw SVI per expiry (quasi-explicit grid, Nelder-Mead, LM polish)',
  },
};

/** Power-law SSVI (Gatheral and Jacquier 2014): theta per expiry, rho, eta, gamma global. */
export const ssviModel: SliceModel = {
  name: 'ssvi',
  kind: 'slice',
  params: [
    correlation('spot-vol correlation (global)'),
    { name: 'eta', lower: 0, upper: Infinity, initial: 1, description: 'power-law level of phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma))' },
    { name: 'gamma', lower: 0, upper: 1, initial: 0.5, description: 'power-law exponent' },
  ],
  constraints: [],
  slice: {
    perSlice: [positive('theta', 0.04, 'ATM total variance of the expiry (non-decreasing in T)')],
    arbitrageFreeDefault: true,
    arbitrageFreeMeaning: "eta bounded so that Gatheral-Jacquier's no-butterfly conditions hold for every theta (on by default); theta is monotone and gamma <= 1 (no calendar arbitrage) either way",
    description: 'power-law SSVI surface: theta per expiry, global rho, eta, gamma',
  },
};

/** Extended SSVI (Hendriks and Martini 2019): theta, rho, psi per expiry. */
export const essviModel: SliceModel = {
  name: 'essvi',
  kind: 'slice',
  params: [],
  constraints: [],
  slice: {
    perSlice: [
      positive('theta', 0.04, 'ATM total variance of the expiry (non-decreasing in T)'),
      correlation('skew of the expiry'),
      { name: 'psi', lower: 0, upper: Infinity, initial: 0.2, description: 'theta phi: the slope scale of the expiry (non-decreasing in T)' },
    ],
    arbitrageFreeDefault: true,
    arbitrageFreeMeaning: "each slice's psi increment bounded by Gatheral-Jacquier's no-butterfly conditions and a calendar penalty near the money (on by default); theta, psi and the wing slopes never fall in T either way",
    description: 'eSSVI surface: theta, rho, psi per expiry',
  },
};

export const sliceModels: Readonly<Record<string, SliceModel>> = { black: blackFlatModel, svi: sviModel, ssvi: ssviModel, essvi: essviModel };
