import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { posterior, priorFromFit } from '../../src/calibrator/posterior.js';
import { resolveBounds, toUnconstrained, CalibrationInputError } from '../../src/calibrator/transforms.js';
import { heston } from '../../src/models/index.js';

describe('Gauss-Newton posterior', () => {
  const r = rng();

  it('equals s^2 (X^T X)^-1 for a linear model without bounds (closed form, 1e-12)', () => {
    const m = 20;
    const X = new Float64Array(m * 2);
    for (let i = 0; i < m; i++) { X[2 * i] = 1; X[2 * i + 1] = uniform(r, -2, 2); }
    let sxx = 0, sx = 0;
    for (let i = 0; i < m; i++) { sx += X[2 * i + 1]; sxx += X[2 * i + 1] ** 2; }
    const det = m * sxx - sx * sx;
    const s2 = 0.37;
    const b = { lower: Float64Array.from([-Infinity, -Infinity]), upper: Float64Array.from([Infinity, Infinity]) };
    const post = posterior(X, m, 2, new Float64Array(2), b, s2);
    const expected = [sxx / det, -sx / det, -sx / det, m / det].map((v) => v * s2);
    expected.forEach((v, k) => expect(Math.abs(post.covariance![k] - v)).toBeLessThan(1e-12 * Math.abs(v) + 1e-15));
    expect(post.stderr[1]).toBeCloseTo(Math.sqrt((m / det) * s2), 12);
  });

  it('reports a singular problem as undetermined instead of inventing numbers', () => {
    const J = Float64Array.from([1, 2, 2, 4, 3, 6]); // columns proportional
    const b = { lower: Float64Array.from([-Infinity, -Infinity]), upper: Float64Array.from([Infinity, Infinity]) };
    const post = posterior(J, 3, 2, new Float64Array(2), b, 1);
    expect(post.covariance).toBeNull();
    expect(Number.isNaN(post.stderr[0])).toBe(true);
  });

  it('turns a previous fit into a prior whose z-covariance maps back to the fit covariance', () => {
    const bounds = resolveBounds(heston);
    const params = { v0: 0.04, kappa: 1.5, theta: 0.06, sigma: 0.6, rho: -0.7 };
    const sd = [0.001, 0.1, 0.002, 0.02, 0.01];
    const covariance = sd.map((a, i) => sd.map((b, j) => (i === j ? a * a : 0.3 * a * b)));
    const { prior, noise } = priorFromFit(heston, { model: 'heston', params, covariance, noise: 0.002 }, bounds);
    expect(noise).toBe(0.002);
    const z = toUnconstrained(Object.values(params), bounds);
    z.forEach((v, i) => expect(prior.mean[i]).toBeCloseTo(v, 12));
    // Diagonal of L L^T times (dp/dz)^2 is the model-unit variance (delta method, exact for a diagonal map).
    const L = prior.chol;
    const post = posterior(
      // Whitened prior rows alone: J = L^-1, so J^T J = Sigma_z^-1 and the posterior is the prior.
      invertLower(L, 5), 5, 5, prior.mean, bounds, 1,
    );
    sd.forEach((s, i) => expect(Math.abs(post.stderr[i] - s) / s).toBeLessThan(1e-9));
  });

  it('a drift q adds q^2 to the prior variance in z (random walk), and nothing else', () => {
    const bounds = resolveBounds(heston);
    const params = { v0: 0.04, kappa: 1.5, theta: 0.06, sigma: 0.6, rho: -0.7 };
    const sd = [0.001, 0.1, 0.002, 0.02, 0.01];
    const covariance = sd.map((a, i) => sd.map((b, j) => (i === j ? a * a : 0.3 * a * b)));
    const q = uniform(r, 0.05, 1);
    const base = priorFromFit(heston, { model: 'heston', params, covariance, noise: 0.002 }, bounds).prior;
    const drifted = priorFromFit(heston, { model: 'heston', params, covariance, noise: 0.002, drift: q }, bounds).prior;
    const llt = (L: Float64Array) => Float64Array.from({ length: 25 }, (_, k) => {
      const i = Math.floor(k / 5), j = k % 5;
      let s = 0;
      for (let m = 0; m < 5; m++) s += L[i * 5 + m] * L[j * 5 + m];
      return s;
    });
    const a = llt(base.chol), b = llt(drifted.chol);
    for (let k = 0; k < 25; k++) {
      const want = a[k] + (k % 6 === 0 ? q * q : 0);
      expect(Math.abs(b[k] - want)).toBeLessThan(1e-12 * Math.max(1, Math.abs(want)));
    }
    expect([...drifted.mean]).toEqual([...base.mean]);
    expect(() => priorFromFit(heston, { model: 'heston', params, covariance, noise: 1, drift: -0.1 }, bounds)).toThrow(/drift/);
  });

  it('refuses a prior from another model, without covariance, or outside the bounds', () => {
    const bounds = resolveBounds(heston);
    const params = { v0: 0.04, kappa: 1.5, theta: 0.06, sigma: 0.6, rho: -0.7 };
    const covariance = [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? 1e-4 : 0)));
    expect(() => priorFromFit(heston, { model: 'bates', params, covariance, noise: 1 }, bounds)).toThrow(/prior is a bates fit, but the model being calibrated is heston/);
    expect(() => priorFromFit(heston, { model: 'heston', params, covariance: null, noise: 1 }, bounds)).toThrow(CalibrationInputError);
    expect(() => priorFromFit(heston, { model: 'heston', params: { ...params, rho: -1 }, covariance, noise: 1 }, bounds)).toThrow(/rho/);
  });
});

function invertLower(L: Float64Array, p: number): Float64Array {
  const inv = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < p; i++) {
      let s = i === j ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i * p + k] * inv[k * p + j];
      inv[i * p + j] = s / L[i * p + i];
    }
  }
  return inv;
}
