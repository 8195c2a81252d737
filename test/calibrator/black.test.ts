import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { blackImpliedVol, blackPrice, blackVega } from '../../src/calibrator/black.js';

describe('Black-76 pieces of the objective', () => {
  const r = rng();

  it('satisfies put-call parity to 1e-12 of the forward', () => {
    for (let k = 0; k < 200; k++) {
      const F = uniform(r, 50, 150), K = uniform(r, 30, 250), T = uniform(r, 0.01, 5), s = uniform(r, 0.05, 1.5), D = uniform(r, 0.8, 1);
      const c = blackPrice(F, K, T, s, true, D), p = blackPrice(F, K, T, s, false, D);
      expect(Math.abs(c - p - D * (F - K))).toBeLessThan(1e-12 * F);
    }
  });

  it('inverts its own prices to 1e-10 in vol wherever vega is not negligible, and refuses arbitrage prices', () => {
    for (let k = 0; k < 500; k++) {
      const F = 100, T = uniform(r, 0.02, 3), s = uniform(r, 0.05, 2), D = uniform(r, 0.9, 1);
      const K = F * Math.exp(uniform(r, -2, 2) * s * Math.sqrt(T));
      const isCall = r() < 0.5;
      const price = blackPrice(F, K, T, s, isCall, D);
      const iv = blackImpliedVol(price, F, K, T, isCall, D);
      expect(iv).not.toBeNull();
      expect(Math.abs(iv! - s)).toBeLessThan(1e-10);
    }
    expect(blackImpliedVol(5, 100, 90, 1, true, 1)).toBeNull(); // below intrinsic 10
    expect(blackImpliedVol(101, 100, 90, 1, true, 1)).toBeNull(); // above the forward
  });

  it('vega matches a central difference of the price (relative 1e-6)', () => {
    for (let k = 0; k < 100; k++) {
      const F = 100, K = uniform(r, 60, 160), T = uniform(r, 0.05, 3), s = uniform(r, 0.1, 1), D = 0.97;
      const fd = (blackPrice(F, K, T, s + 1e-5, true, D) - blackPrice(F, K, T, s - 1e-5, true, D)) / 2e-5;
      expect(Math.abs(fd - blackVega(F, K, T, s, D))).toBeLessThan(1e-6 * Math.max(fd, 1e-3));
    }
  });
});
