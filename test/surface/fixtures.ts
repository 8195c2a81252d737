import type { SviRaw } from '../../src/surface/svi.js';

/** Log-moneyness grid of the SVI recovery tests. */
export const SVI_KS = Array.from({ length: 31 }, (_, i) => -0.6 + i * 0.035);

/** Known raw SVI slices with their expiries: a plain smile, a steep one, a near-degenerate tiny one, a right skew. */
export const SVI_TRUTHS: ReadonlyArray<readonly [SviRaw, number]> = [
  [{ a: 0.01, b: 0.08, rho: -0.4, m: 0.05, sigma: 0.15 }, 0.5],
  [{ a: -0.02, b: 0.3, rho: -0.6, m: 0.3, sigma: 0.1 }, 1.5],
  [{ a: 0.0008, b: 0.01, rho: -0.7, m: -0.03, sigma: 0.02 }, 0.01],
  [{ a: 0.03, b: 0.2, rho: 0.5, m: -0.3, sigma: 0.05 }, 2],
];
