/** Models: characteristic functions and cumulants against closed forms and their own derivatives. */
import { describe, expect, it } from 'vitest';
import { bates, getModel, heston, merton, paramVector, type Model } from '../../src/models/index.js';
import { hestonCumulants, hestonCumulantsRk4 } from '../../src/models/heston.js';
import { rng, uniform } from '../helpers/random.js';

function randomParams(model: Model, r: () => number): Float64Array {
  const h = [uniform(r, 0.01, 2), uniform(r, 0.2, 30), uniform(r, 0.01, 2), uniform(r, 0.1, 8), uniform(r, -0.95, 0.95)];
  const j = [uniform(r, 0, 3), uniform(r, -0.3, 0.2), uniform(r, 0.02, 0.5)];
  if (model === heston) return Float64Array.from(h);
  if (model === bates) return Float64Array.from([...h, ...j]);
  return Float64Array.from([uniform(r, 0.05, 1.5), ...j]);
}

/** Heston c1 of ln(S_T/F) in closed form: E[X_T] = -E[int v dt]/2. */
function hestonC1(T: number, v0: number, k: number, th: number): number {
  return ((1 - Math.exp(-k * T)) * (th - v0)) / (2 * k) - 0.5 * th * T;
}

describe('models', () => {
  it('Heston c1 matches the closed form on fresh random parameters', () => {
    const r = rng();
    for (let i = 0; i < 50; i++) {
      const p = randomParams(heston, r);
      const T = Math.exp(uniform(r, Math.log(1 / 365), Math.log(10)));
      const c = heston.cumulants!(T, p);
      const c1 = hestonC1(T, p[0], p[1], p[2]);
      // RK4 on the Riccati Taylor chain: 1e-6 relative is far more than a truncation window needs.
      expect(Math.abs(c.c1 - c1), `p=${Array.from(p)} T=${T}`).toBeLessThan(1e-6 * Math.max(Math.abs(c1), 1e-3));
    }
  });

  it('Heston closed-form c1, c2 agree with the RK4 Riccati chain (independent derivations)', () => {
    const r = rng();
    for (let i = 0; i < 200; i++) {
      const [v0, kappa, theta, sigma, rho] = randomParams(heston, r);
      // Include tiny and huge kappa T: the closed form hands over to the chain below kappa T = 1e-3.
      const T = Math.exp(uniform(r, Math.log(1 / 365), Math.log(30)));
      const k = i % 4 === 0 ? uniform(r, 1e-3, 0.05) : kappa;
      const c = hestonCumulants(T, v0, k, theta, sigma, rho);
      const rk = hestonCumulantsRk4(T, v0, k, theta, sigma, rho, 8);
      const msg = `p=${[v0, k, theta, sigma, rho]} T=${T}`;
      // RK4 refined 8x (>= 256 steps, 64 per 1/kappa): the default chain is off by up to 2e-6
      // relative (large rho sigma / kappa) and converges to the closed form like h^4, so 8x more
      // steps leave < 1e-9; an algebra slip in either derivation would show as O(1).
      expect(Math.abs(c.c1 - rk.c1), msg).toBeLessThan(1e-8 * Math.abs(rk.c1));
      expect(Math.abs(c.c2 - rk.c2), msg).toBeLessThan(1e-8 * rk.c2);
      expect(c.c2, msg).toBeGreaterThan(0);
    }
  });

  for (const model of [heston, bates, merton]) {
    it(`${model.name}: cumulants equal derivatives of the log characteristic function at 0`, () => {
      const r = rng();
      for (let i = 0; i < 20; i++) {
        const p = randomParams(model, r);
        const T = Math.exp(uniform(r, Math.log(7 / 365), Math.log(3)));
        const c = model.cumulants!(T, p);
        const sd = Math.sqrt(c.c2);
        const psi = (u: number) => model.logCharFn!(u, T, p);
        // psi(u) = i c1 u - c2 u^2 / 2 - i c3 u^3 / 6 + c4 u^4 / 24 ...; central differences in u
        // with one Richardson step (error O(h^4)): skewed short-dated jump cases need it.
        const rich = (f: (h: number) => number, h: number) => (4 * f(h / 2) - f(h)) / 3;
        const d1 = (h: number) => (psi(h).im - psi(-h).im) / (2 * h);
        const d2 = (h: number) => -(psi(h).re - 2 * psi(0).re + psi(-h).re) / (h * h);
        const d4 = (H: number) => (psi(2 * H).re - 4 * psi(H).re + 6 * psi(0).re - 4 * psi(-H).re + psi(-2 * H).re) / H ** 4;
        const c1 = rich(d1, 0.02 / sd);
        const c2 = rich(d2, 0.02 / sd);
        // H = 0.03 sd^-1: fat-tailed cases (sigma ~ 6, c4 ~ 200 c2^2) need the small step; round-off
        // of the 4th difference stays ~1e-11 c2^2.
        const c4 = rich(d4, 0.03 / sd);
        const msg = `${model.name} p=${Array.from(p)} T=${T}`;
        // Remaining difference error ~ (h sd)^4 times standardised higher cumulants: 1e-4 for c1/c2, 5 % for c4.
        expect(Math.abs(c1 - c.c1), msg).toBeLessThan(1e-4 * sd);
        expect(Math.abs(c2 - c.c2), msg).toBeLessThan(1e-4 * c.c2);
        expect(Math.abs(c4 - c.c4), msg).toBeLessThan(0.05 * Math.abs(c.c4) + 1e-3 * c.c2 * c.c2);
      }
    });

    it(`${model.name}: |phi| <= 1, phi(-u) = conj phi(u), and phi is continuous in u at long expiries`, () => {
      const r = rng();
      for (let i = 0; i < 6; i++) {
        const p = randomParams(model, r);
        const T = uniform(r, 5, 30);
        const msg = `${model.name} p=${Array.from(p)} T=${T}`;
        let prev = model.charFn!(0, T, p);
        expect(prev.re).toBeCloseTo(1, 15);
        const du = 0.005;
        const sd = Math.sqrt(model.cumulants!(T, p).c2);
        let maxAbs = 0;
        let maxAsym = 0;
        let maxJump = 0;
        for (let k = 1; k < 2000; k++) {
          const u = k * du;
          const v = model.charFn!(u, T, p);
          const w = model.charFn!(-u, T, p);
          maxAbs = Math.max(maxAbs, Math.hypot(v.re, v.im));
          maxAsym = Math.max(maxAsym, Math.abs(w.re - v.re) + Math.abs(w.im + v.im));
          maxJump = Math.max(maxJump, Math.hypot(v.re - prev.re, v.im - prev.im));
          prev = v;
        }
        expect(maxAbs, msg).toBeLessThanOrEqual(1 + 1e-12);
        expect(maxAsym, msg).toBeLessThan(1e-12);
        // A branch-cut jump would flip the sign of phi between neighbours; smooth phi moves by at
        // most |phi'| du <= E|X| du (a loose bound: 1 + 10 sd).
        expect(maxJump, msg).toBeLessThan((1 + 10 * sd) * du);
      }
    });
  }

  it('getModel and paramVector give clear errors', () => {
    expect(() => getModel('hestn')).toThrow(/unknown model 'hestn'; known models: heston, bates, merton/);
    expect(getModel('Bates')).toBe(bates);
    expect(() => paramVector(heston, { v0: 0.04, kappa: 1, theta: 0.04, sigma: 0.5 })).toThrow(/missing heston parameter rho/);
    expect(() => paramVector(heston, { v0: 0.04, kappa: 1, theta: 0.04, sigma: 0.5, rho: 1.2 })).toThrow(/rho=1.2 is outside/);
    expect(() => paramVector(merton, { vol: 0.2, lambda: 1, muJ: 0, sigmaJ: 0.1, nu: 1 })).toThrow(/unknown merton parameter\(s\) nu/);
    // Feller: 2 kappa theta - sigma^2
    expect(heston.constraints[0].value(Float64Array.of(0.04, 2, 0.05, 0.5, 0))).toBeCloseTo(2 * 2 * 0.05 - 0.25, 15);
  });
});
