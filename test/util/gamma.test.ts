/**
 * The chi-square tail (src/util/gamma.ts) against closed forms (even degrees of freedom: a
 * finite Poisson sum; one degree: erfc by its own series), published quantiles, and Monte Carlo.
 */
import { describe, expect, it } from 'vitest';
import { chiSquareSurvival, gammaQ } from '../../src/util/gamma.js';
import { rng } from '../helpers/random.js';

/** P(chi2_k > x) for even k: e^{-x/2} sum_{i < k/2} (x/2)^i / i!. */
function evenTail(x: number, k: number): number {
  let term = 1;
  let sum = 1;
  for (let i = 1; i < k / 2; i++) sum += term *= x / 2 / i;
  return Math.exp(-x / 2) * sum;
}

/** erfc(t) by the Maclaurin series of erf (fine for t < 3). */
function erfc(t: number): number {
  let s = 0;
  let term = t;
  for (let n = 0; n < 200; n++) {
    s += term / (2 * n + 1);
    term *= (-t * t) / (n + 1);
  }
  return 1 - (2 / Math.sqrt(Math.PI)) * s;
}

describe('chiSquareSurvival', () => {
  it('equals the Poisson sum for even degrees of freedom, on both sides of x = a + 1', () => {
    for (const k of [2, 4, 8, 16]) for (const x of [0.01, 0.5, 3, 7.9, 12, 30, 80]) {
      const want = evenTail(x, k);
      expect(Math.abs(chiSquareSurvival(x, k) - want)).toBeLessThanOrEqual(1e-13 + 1e-12 * want);
    }
  });
  it('equals erfc(sqrt(x / 2)) for one degree of freedom', () => {
    for (const x of [0.02, 0.7, 2, 5, 9]) expect(chiSquareSurvival(x, 1)).toBeCloseTo(erfc(Math.sqrt(x / 2)), 12);
  });
  it('gives the published upper quantiles (chi-square tables: 0.05 and 0.01)', () => {
    const table: Array<[number, number, number]> = [[1, 3.841459, 0.05], [5, 11.070498, 0.05], [5, 15.086272, 0.01], [8, 20.090235, 0.01], [13, 27.688250, 0.01]];
    for (const [k, x, p] of table) expect(chiSquareSurvival(x, k)).toBeCloseTo(p, 6);
  });
  it('matches the frequency of sums of squared normals (odd and even k)', () => {
    const u = rng();
    const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    for (const k of [3, 8]) {
      const n = 20_000;
      const x = k + 2 * Math.sqrt(2 * k);
      let above = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += normal() ** 2;
        if (s > x) above++;
      }
      const p = chiSquareSurvival(x, k);
      expect(Math.abs(above / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });
  it('is 1 at x = 0 and NaN for a non-positive shape', () => {
    expect(gammaQ(3, 0)).toBe(1);
    expect(gammaQ(0, 1)).toBeNaN();
  });
});
