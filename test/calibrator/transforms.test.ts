import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { modelDerivative, resolveBounds, toModel, toUnconstrained, CalibrationInputError } from '../../src/calibrator/transforms.js';
import { heston } from '../../src/models/index.js';

describe('bound transforms', () => {
  const r = rng();
  const b = {
    lower: Float64Array.from([0, -1, 2, -Infinity, -Infinity]),
    upper: Float64Array.from([1, 1, Infinity, 3, Infinity]),
  };

  it('round-trips parameters inside the bounds (relative 1e-12: a logit and a sigmoid in f64)', () => {
    for (let k = 0; k < 200; k++) {
      const p = [uniform(r, 0.001, 0.999), uniform(r, -0.99, 0.99), uniform(r, 2.001, 50), uniform(r, -50, 2.99), uniform(r, -5, 5)];
      const back = toModel(toUnconstrained(p, b), b);
      p.forEach((v, i) => expect(Math.abs(back[i] - v)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
    }
  });

  it('maps every z, however large, to a parameter inside the bounds', () => {
    for (const z of [-800, -40, 0, 40, 800]) {
      const p = toModel([z, z, z, z, z], b);
      expect(p[0]).toBeGreaterThanOrEqual(0);
      expect(p[0]).toBeLessThanOrEqual(1);
      expect(p[2]).toBeGreaterThanOrEqual(2);
      expect(p[3]).toBeLessThanOrEqual(3);
      expect(Array.from(p).slice(0, 4).every(Number.isFinite)).toBe(true);
    }
  });

  it('dp/dz matches a central difference (relative 1e-6: truncation h^2 with h = 1e-5)', () => {
    for (let k = 0; k < 50; k++) {
      const z = Float64Array.from({ length: 5 }, () => uniform(r, -4, 4));
      const d = modelDerivative(z, b);
      for (let j = 0; j < 5; j++) {
        const zp = Float64Array.from(z); zp[j] += 1e-5;
        const zm = Float64Array.from(z); zm[j] -= 1e-5;
        const fd = (toModel(zp, b)[j] - toModel(zm, b)[j]) / 2e-5;
        expect(Math.abs(fd - d[j])).toBeLessThanOrEqual(1e-6 * Math.abs(d[j]) + 1e-12);
      }
    }
  });

  it('rejects contradictory and unknown bounds with the parameter named', () => {
    expect(() => resolveBounds(heston, { kappa: [5, 1] })).toThrow(CalibrationInputError);
    expect(() => resolveBounds(heston, { kappa: [5, 1] })).toThrow(/kappa/);
    expect(() => resolveBounds(heston, { kappa: [1, 1] })).toThrow(/contradictory/);
    expect(() => resolveBounds(heston, { kapa: [1, 2] })).toThrow(/unknown heston parameter 'kapa'/);
    expect(() => resolveBounds(heston, { rho: [NaN, 0] })).toThrow(/rho/);
  });
});
