/**
 * logCharFnGrad (the allocation-free d ln phi / d params behind the COS gradient) against the
 * model's own logCharFn (an independent code path for psi) and against central differences of
 * it, on fresh random parameters, frequencies from 1e-4 to ~400 and expiries from days to years.
 */
import { describe, expect, it } from 'vitest';
import { bates, heston, merton, type Model } from '../../src/models/index.js';
import { rng, uniform } from '../helpers/random.js';

function randomParams(model: Model, r: () => number): Float64Array {
  const h = [uniform(r, 0.005, 0.8), uniform(r, 0.1, 15), uniform(r, 0.005, 0.8), uniform(r, 0.05, 3), uniform(r, -0.95, 0.9)];
  const j = [uniform(r, 0.05, 3), uniform(r, -0.4, 0.2), uniform(r, 0.02, 0.4)];
  if (model === heston) return Float64Array.from(h);
  if (model === bates) return Float64Array.from([...h, ...j]);
  return Float64Array.from([uniform(r, 0.05, 0.8), ...j]);
}

describe('logCharFnGrad', () => {
  for (const model of [heston, bates, merton]) {
    it(`${model.name}: psi equals logCharFn and the gradient matches central differences`, () => {
      const r = rng();
      const P = model.params.length;
      const out = new Float64Array(2 + 2 * P);
      for (let trial = 0; trial < 200; trial++) {
        const p = randomParams(model, r);
        const u = Math.exp(uniform(r, Math.log(1e-4), Math.log(400)));
        const T = Math.exp(uniform(r, Math.log(2 / 365), Math.log(5)));
        model.logCharFnGrad(u, T, p, out);
        const psi = model.logCharFn!(u, T, p);
        const msg = `${model.name} p=${Array.from(p)} u=${u} T=${T}`;
        // Same algebra, different rounding order (reciprocals vs Smith division): a few ulp of |psi|.
        const ps = Math.hypot(psi.re, psi.im);
        expect(Math.abs(out[0] - psi.re), msg).toBeLessThan(1e-12 * ps + 1e-300);
        expect(Math.abs(out[1] - psi.im), msg).toBeLessThan(1e-12 * ps + 1e-300);
        for (let j = 0; j < P; j++) {
          const h = 1e-6 * Math.max(Math.abs(p[j]), 0.1);
          const up = Float64Array.from(p);
          const dn = Float64Array.from(p);
          up[j] += h;
          dn[j] -= h;
          const a = model.logCharFn!(u, T, up);
          const b = model.logCharFn!(u, T, dn);
          const fdr = (a.re - b.re) / (2 * h);
          const fdi = (a.im - b.im) / (2 * h);
          // Central differences: truncation ~h^2 |psi'''| and round-off ~eps |psi| / h ~ 1e-10 |psi| / scale;
          // 1e-6 of (|psi| / scale + |psi'|) leaves room for both, and a wrong term is off by O(1).
          const tol = 1e-6 * (ps / Math.max(Math.abs(p[j]), 0.1) + Math.hypot(fdr, fdi)) + 1e-12;
          expect(Math.abs(out[2 + 2 * j] - fdr), `${msg} d/d${model.params[j].name} re`).toBeLessThan(tol);
          expect(Math.abs(out[3 + 2 * j] - fdi), `${msg} d/d${model.params[j].name} im`).toBeLessThan(tol);
        }
      }
    });
  }

  it('u = 0: psi and every derivative are 0 (phi(0) = 1 for all parameters)', () => {
    const r = rng();
    for (const model of [heston, bates, merton]) {
      const out = new Float64Array(2 + 2 * model.params.length).fill(7);
      model.logCharFnGrad(0, 1, randomParams(model, r), out);
      expect(Array.from(out).every((v) => v === 0)).toBe(true);
    }
  });
});
