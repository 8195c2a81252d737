/**
 * CPU f64 Black-76 engine: normal distribution, prices, Greeks and implied volatility, each
 * checked against independent truth (published values, parity, finite differences, round trips).
 */
import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { erfc, normCdf, normPdf } from '../../src/engines/black/normal.js';
import { black76Greeks, black76Price, blackScholesGreeks, type Greeks } from '../../src/engines/black/black76.js';
import { impliedVolatilities, impliedVolatility } from '../../src/engines/black/impliedVol.js';
import { normalisedVega } from '../../src/engines/black/normalised.js';

const r = rng();
const relErr = (a: number, b: number) => Math.abs(a / b - 1);

describe('normal distribution (f64)', () => {
  it('matches published high-precision values deep in the tails', () => {
    // Values from Abramowitz & Stegun / Wolfram (30 digits); Cody's erfc is good to ~1e-16.
    expect(relErr(erfc(1), 0.157299207050285130658779364917)).toBeLessThan(4e-16);
    expect(relErr(erfc(5), 1.5374597944280348502e-12)).toBeLessThan(4e-16);
    expect(relErr(erfc(10), 2.088487583762544757e-45)).toBeLessThan(4e-16);
    expect(relErr(normCdf(-10), 7.6198530241605260659733e-24)).toBeLessThan(4e-16);
    expect(relErr(normCdf(-20), 2.7536241186062336951e-89)).toBeLessThan(1e-15);
    expect(relErr(normCdf(-1), 0.158655253931457051414767)).toBeLessThan(4e-16);
    expect(normCdf(0)).toBe(0.5);
    expect(relErr(normPdf(3), 0.00443184841193800745)).toBeLessThan(4e-16);
  });

  it('N(x) + N(-x) = 1 on random points', () => {
    for (let i = 0; i < 1000; i++) {
      const x = uniform(r, -8, 8);
      expect(Math.abs(normCdf(x) + normCdf(-x) - 1)).toBeLessThan(3e-16);
    }
  });
});

describe('Black-76 / Black-Scholes prices', () => {
  it('reproduces textbook values', () => {
    // Haug, The Complete Guide to Option Pricing Formulas, Black-76 example: F = X = 19, T = 0.75,
    // r = 10 %, σ = 28 %: call = put = 1.7011.
    const D = Math.exp(-0.1 * 0.75);
    expect(black76Price(19, 19, 0.75, 0.28, true, D)).toBeCloseTo(1.7011, 4);
    expect(black76Price(19, 19, 0.75, 0.28, false, D)).toBeCloseTo(1.7011, 4);
    // Hull, Options Futures and Other Derivatives (Example 15.6): S = 42, K = 40, r = 10 %,
    // σ = 20 %, T = 0.5: call 4.76, put 0.81.
    expect(blackScholesGreeks(42, 40, 0.5, 0.2, 0.1, 0, true).price).toBeCloseTo(4.7594, 4);
    expect(blackScholesGreeks(42, 40, 0.5, 0.2, 0.1, 0, false).price).toBeCloseTo(0.8086, 4);
  });

  it('satisfies put-call parity and the no-arbitrage bounds on random inputs', () => {
    for (let i = 0; i < 2000; i++) {
      const F = uniform(r, 1, 1000);
      const K = F * Math.exp(uniform(r, -2, 2));
      const T = uniform(r, 0.001, 10);
      const vol = uniform(r, 0.01, 2);
      const D = Math.exp(-uniform(r, -0.01, 0.1) * T);
      const c = black76Price(F, K, T, vol, true, D);
      const p = black76Price(F, K, T, vol, false, D);
      // parity to rounding of the larger of the terms
      expect(Math.abs(c - p - D * (F - K))).toBeLessThan(1e-13 * D * Math.max(F, K));
      expect(c).toBeGreaterThanOrEqual(D * Math.max(F - K, 0));
      expect(c).toBeLessThanOrEqual(D * F);
      expect(p).toBeLessThanOrEqual(D * K);
    }
  });

  it('rejects invalid inputs with the field named', () => {
    expect(() => black76Price(NaN, 100, 1, 0.2, true)).toThrow(/forward/);
    expect(() => black76Price(100, -1, 1, 0.2, true)).toThrow(/strike/);
    expect(() => black76Greeks(100, 100, 1, -0.2, true)).toThrow(/vol/);
    expect(() => blackScholesGreeks(100, 100, 1, 0.2, Infinity, 0, true)).toThrow(/rate/);
  });
});

describe('Greeks', () => {
  const keys: Array<keyof Greeks> = ['delta', 'gamma', 'vega', 'theta', 'vanna', 'volga'];

  /**
   * Rounding noise of each finite difference: the prices carry ~ε V absolute error, divided by
   * the step (first differences) or the product of steps (second differences).
   */
  function fdNoise(V: number, hx: number, hv: number, hT: number): Record<string, number> {
    const e = 50 * Number.EPSILON * Math.max(Math.abs(V), 1);
    return { delta: e / hx, gamma: (4 * e) / (hx * hx), vega: e / hv, theta: e / hT, vanna: (4 * e) / (hx * hv), volga: (4 * e) / (hv * hv) };
  }

  /** Central differences; h chosen per variable, tolerance covers O(h^2) truncation and rounding. */
  function fdForward(F: number, K: number, T: number, vol: number, isCall: boolean, D: number): Record<string, number> {
    const rate = -Math.log(D) / T;
    const V = (f: number, t: number, v: number) => black76Price(f, K, t, v, isCall, Math.exp(-rate * t));
    const hF = F * 1e-4 * Math.min(1, 10 * vol * Math.sqrt(T)); // within the density's width, as the spot test
    // Relative vol step: the third vol derivative grows like (d1 d2 / vol)^2, so an absolute step
    // at low vol leaves a truncation error above the tolerance.
    const hv = vol * 1e-4;
    const hT = T * 1e-4;
    return {
      delta: (V(F + hF, T, vol) - V(F - hF, T, vol)) / (2 * hF),
      gamma: (V(F + hF, T, vol) - 2 * V(F, T, vol) + V(F - hF, T, vol)) / (hF * hF),
      vega: (V(F, T, vol + hv) - V(F, T, vol - hv)) / (2 * hv),
      theta: -(V(F, T + hT, vol) - V(F, T - hT, vol)) / (2 * hT),
      vanna: (V(F + hF, T, vol + hv) - V(F + hF, T, vol - hv) - V(F - hF, T, vol + hv) + V(F - hF, T, vol - hv)) / (4 * hF * hv),
      volga: (V(F, T, vol + hv) - 2 * V(F, T, vol) + V(F, T, vol - hv)) / (hv * hv),
    };
  }

  it('forward-convention Greeks match finite differences and closed-form identities', () => {
    for (let i = 0; i < 300; i++) {
      const F = uniform(r, 50, 150);
      const T = uniform(r, 0.05, 5);
      const vol = uniform(r, 0.05, 1);
      const K = F * Math.exp(uniform(r, -1.5, 1.5) * vol * Math.sqrt(T));
      const D = Math.exp(-uniform(r, 0, 0.08) * T);
      const isCall = r() < 0.5;
      const g = black76Greeks(F, K, T, vol, isCall, D);
      const fd = fdForward(F, K, T, vol, isCall, D);
      const noise = fdNoise(g.price, F * 1e-4, vol * 1e-4, T * 1e-4);
      for (const k of keys) {
        const scale = Math.max(Math.abs(g[k]), k === 'gamma' ? 1e-3 : 1e-2);
        expect(Math.abs(g[k] - fd[k]), `${k} F=${F} K=${K} T=${T} vol=${vol}`).toBeLessThan(2e-5 * scale + noise[k]);
      }
      // identities: vega = F² σ T gamma; volga = vega d1 d2 / σ; vanna = -(vega/F) d2/(σ√T)
      const s = vol * Math.sqrt(T);
      const d1 = Math.log(F / K) / s + s / 2;
      const d2 = d1 - s;
      expect(relErr(g.vega, F * F * vol * T * g.gamma)).toBeLessThan(1e-13);
      expect(Math.abs(g.volga - (g.vega * d1 * d2) / vol)).toBeLessThan(1e-12 * (1 + Math.abs(g.volga)));
      expect(Math.abs(g.vanna + (g.vega / F) * (d2 / s))).toBeLessThan(1e-12 * (1 + Math.abs(g.vanna)));
    }
  });

  it('spot-convention Greeks match finite differences and relate to forward Greeks', () => {
    for (let i = 0; i < 300; i++) {
      const S = uniform(r, 50, 150);
      const T = uniform(r, 0.05, 5);
      const vol = uniform(r, 0.05, 1);
      const rate = uniform(r, -0.01, 0.08);
      const div = uniform(r, 0, 0.05);
      const K = S * Math.exp(uniform(r, -1.5, 1.5) * vol * Math.sqrt(T));
      const isCall = r() < 0.5;
      const g = blackScholesGreeks(S, K, T, vol, rate, div, isCall);
      const V = (s: number, t: number, v: number) => blackScholesGreeks(s, K, t, v, rate, div, isCall).price;
      // Spot step within the density's width: at low vol and short expiry (sd 0.01) a step of
      // 1e-4 S leaves an O(h^2) truncation error above the tolerance (vanna, delta; found by sweeping draws).
      const hS = S * 1e-4 * Math.min(1, 10 * vol * Math.sqrt(T));
      const hv = vol * 1e-4; // relative, as in fdForward
      const hT = T * 1e-4;
      const fd: Record<string, number> = {
        delta: (V(S + hS, T, vol) - V(S - hS, T, vol)) / (2 * hS),
        gamma: (V(S + hS, T, vol) - 2 * V(S, T, vol) + V(S - hS, T, vol)) / (hS * hS),
        vega: (V(S, T, vol + hv) - V(S, T, vol - hv)) / (2 * hv),
        theta: -(V(S, T + hT, vol) - V(S, T - hT, vol)) / (2 * hT),
        vanna: (V(S + hS, T, vol + hv) - V(S + hS, T, vol - hv) - V(S - hS, T, vol + hv) + V(S - hS, T, vol - hv)) / (4 * hS * hv),
        volga: (V(S, T, vol + hv) - 2 * V(S, T, vol) + V(S, T, vol - hv)) / (hv * hv),
      };
      const noise = fdNoise(g.price, hS, hv, hT);
      for (const k of keys) {
        const scale = Math.max(Math.abs(g[k]), k === 'gamma' ? 1e-3 : 1e-2);
        expect(Math.abs(g[k] - fd[k]), k).toBeLessThan(2e-5 * scale + noise[k]);
      }
      // delta_S = delta_F e^{(r-q)T}: the forward moves with the spot
      const F = S * Math.exp((rate - div) * T);
      const gf = black76Greeks(F, K, T, vol, isCall, Math.exp(-rate * T));
      expect(relErr(g.delta, gf.delta * Math.exp((rate - div) * T))).toBeLessThan(1e-12);
      expect(relErr(g.price, gf.price)).toBeLessThan(1e-13);
    }
  });
});

describe('implied volatility (f64, Let\'s Be Rational)', () => {
  /**
   * A price known to relative precision ε_p determines σ only to ε_p · V/(σ ∂V/∂σ). With the f64
   * price rounded to a few ulp (ε_p ~ 1e-15 after the pricing formula), the vol is asserted to
   * 1e-12 relative wherever 20 ε · V/(σ vega) <= 1e-12, and to that bound elsewhere.
   */
  function allowed(F: number, K: number, T: number, vol: number, price: number): number {
    const s = vol * Math.sqrt(T);
    const vega = Math.sqrt(F * K) * normalisedVega(Math.log(F / K), s) * Math.sqrt(T);
    return Math.max(1e-12, (20 * Number.EPSILON * price) / (vol * vega));
  }

  function roundTrip(Ts: number[], vols: number[], maxSd: number, step: number) {
    let worst = 0;
    let checked = 0;
    let at1e12 = 0;
    for (const T of Ts)
      for (const vol of vols)
        for (let k = -maxSd; k <= maxSd + 1e-9; k += step)
          for (const isCall of [true, false]) {
            const F = 100 * Math.exp(uniform(r, -1, 1));
            const s = vol * Math.sqrt(T);
            const K = F * Math.exp(k * s + uniform(r, -0.1, 0.1) * s);
            const D = Math.exp(-uniform(r, 0, 0.05) * T);
            const price = black76Price(F, K, T, vol, isCall, D);
            const res = impliedVolatility(price, F, K, T, isCall, D);
            if (res.status === 'no_information') {
              // Only allowed where the time value is lost in the rounding of the price.
              const intrinsic = D * Math.max(isCall ? F - K : K - F, 0);
              expect(price - intrinsic, `T=${T} vol=${vol} k=${k}`).toBeLessThanOrEqual(8 * Number.EPSILON * price);
              continue;
            }
            if (res.status === 'above_max') {
              // Only where the price rounds onto its upper bound (F for calls, K for puts).
              expect(price / D).toBeGreaterThanOrEqual((isCall ? F : K) * (1 - 4 * Number.EPSILON));
              continue;
            }
            expect(res.status, `T=${T} vol=${vol} k=${k} call=${isCall}`).toBe('ok');
            const err = relErr(res.iv!, vol);
            const tol = allowed(F, K, T, vol, price);
            expect(err, `T=${T} vol=${vol} k=${k} call=${isCall} tol=${tol}`).toBeLessThanOrEqual(tol);
            worst = Math.max(worst, err / tol);
            checked++;
            if (tol === 1e-12) at1e12++;
          }
    return { worst, checked, at1e12 };
  }

  it('round-trips the issue grid (T 1 day-5 y, vol 5-150 %, |ln K/F| <= 10 σ√T) to 1e-12', () => {
    const res = roundTrip([1 / 365, 1 / 52, 1 / 12, 0.25, 0.5, 1, 2, 5], [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5], 10, 0.5);
    console.info(`IV grid: ${res.checked} rows checked (${res.at1e12} at 1e-12), worst error/tolerance ${res.worst.toFixed(3)}`);
    // Most rows carry enough information for 1e-12; the rest (deep in the money, where the time
    // value is a small part of the price) met their own looser bound above.
    expect(res.at1e12).toBeGreaterThan(res.checked * 0.6);
  });

  it('round-trips extremes (T 1 hour-30 y, vol 1-300 %, 12 standard deviations)', () => {
    const res = roundTrip([1 / 8760, 1 / 365, 1, 30], [0.01, 0.03, 1, 3], 12, 1);
    console.info(`IV extremes: ${res.checked} rows, worst error/tolerance ${res.worst.toFixed(3)}`);
  });

  it('random fresh inputs, calls and puts agree through parity', () => {
    for (let i = 0; i < 2000; i++) {
      const F = uniform(r, 10, 1000);
      const T = Math.exp(uniform(r, Math.log(1 / 365), Math.log(5)));
      const vol = uniform(r, 0.05, 1.5);
      const K = F * Math.exp(uniform(r, -3, 3) * vol * Math.sqrt(T));
      const D = Math.exp(-0.03 * T);
      const c = black76Price(F, K, T, vol, true, D);
      const p = c - D * (F - K); // the put by parity, not by the pricer
      const ic = impliedVolatility(c, F, K, T, true, D);
      const ip = impliedVolatility(p, F, K, T, false, D);
      if (ic.status === 'ok' && ip.status === 'ok' && K > F) expect(relErr(ic.iv!, vol)).toBeLessThan(allowed(F, K, T, vol, c));
      // the parity put carries the rounding of c (the larger price), hence allowed(..., c)
      if (ic.status === 'ok' && ip.status === 'ok' && K < F) expect(relErr(ip.iv!, vol)).toBeLessThan(allowed(F, K, T, vol, c));
    }
  });

  it('gives every bad row a status, never a throw or a bare NaN', () => {
    expect(impliedVolatility(NaN, 100, 100, 1, true)).toEqual({ iv: null, status: 'invalid_input', field: 'price' });
    expect(impliedVolatility(-1, 100, 100, 1, true)).toEqual({ iv: null, status: 'invalid_input', field: 'price' });
    expect(impliedVolatility(5, -100, 100, 1, true)).toMatchObject({ status: 'invalid_input', field: 'forward' });
    expect(impliedVolatility(5, 100, Infinity, 1, true)).toMatchObject({ status: 'invalid_input', field: 'strike' });
    expect(impliedVolatility(5, 100, 100, 0, true)).toMatchObject({ status: 'invalid_input', field: 'T' });
    expect(impliedVolatility(5, 100, 100, 1, true, 0)).toMatchObject({ status: 'invalid_input', field: 'discount' });
    // below intrinsic: call on F = 120, K = 100 worth less than 20
    expect(impliedVolatility(19.5, 120, 100, 1, true)).toEqual({ iv: null, status: 'below_intrinsic' });
    expect(impliedVolatility(19.5 * 0.9, 120, 100, 1, true, 0.9)).toEqual({ iv: null, status: 'below_intrinsic' });
    // at or above the upper bound: call >= F, put >= K
    expect(impliedVolatility(100, 100, 90, 1, true)).toEqual({ iv: null, status: 'above_max' });
    expect(impliedVolatility(95, 100, 95, 1, false)).toEqual({ iv: null, status: 'above_max' });
    // no information: zero price out of the money, price equal to intrinsic, or a time value
    // below what f64 can resolve
    expect(impliedVolatility(0, 100, 120, 1, true).status).toBe('no_information');
    expect(impliedVolatility(20, 120, 100, 1, true).status).toBe('no_information');
    expect(impliedVolatility(20 + 1e-15, 120, 100, 1, true).status).toBe('no_information');
    expect(impliedVolatility(1e-300, 100, 120, 1, true).status).toBe('no_information');
    // a tiny but resolvable OTM price is fine
    const tiny = black76Price(100, 300, 0.05, 0.2, true);
    expect(tiny).toBeGreaterThan(0);
    expect(tiny).toBeLessThan(1e-100);
    expect(relErr(impliedVolatility(tiny, 100, 300, 0.05, true).iv!, 0.2)).toBeLessThan(1e-12);

    const batch = impliedVolatilities({
      price: Float64Array.from([10, NaN, 19.5, 100, 0]),
      forward: Float64Array.from([100, 100, 120, 100, 100]),
      strike: Float64Array.from([100, 100, 100, 90, 120]),
      T: Float64Array.from([1, 1, 1, 1, 1]),
      isCall: Uint8Array.from([1, 1, 1, 1, 1]),
    });
    expect(batch.status).toEqual(['ok', 'invalid_input', 'below_intrinsic', 'above_max', 'no_information']);
    expect(Number.isFinite(batch.iv[0])).toBe(true);
    expect(Array.from(batch.iv.slice(1)).every(Number.isNaN)).toBe(true);
  });
});
