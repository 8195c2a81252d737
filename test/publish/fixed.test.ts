/**
 * The BigInt 1e18 evaluator (src/publish/fixed.ts) against independent truth: floor square
 * roots by their defining inequality, ln against published decimals and Math.log, and the vol of
 * an SVI update against the f64 SVI (target <= 1e-9 in vol over |k| <= 2) on random smiles and on
 * real BTC fits (raw SVI and eSSVI slices).
 */
import { describe, expect, it } from 'vitest';
import { FixedPointError, fromWad, isqrt, lnWad, toWad, volWad, WAD, type SviWad } from '../../src/publish/fixed.js';
import { sviW, type SviRaw } from '../../src/surface/svi.js';
import { ssviToRaw } from '../../src/surface/ssvi.js';
import { rng, uniform } from '../helpers/random.js';
import { btcFit } from './fixture.js';

/** A random integer below 2^bits. */
function randomBig(r: () => number, bits: number): bigint {
  let x = 0n;
  for (let i = 0; i < bits; i += 16) x = (x << 16n) | BigInt(Math.floor(r() * 65536));
  return x >> BigInt(Math.ceil(bits / 16) * 16 - bits);
}

describe('isqrt', () => {
  it('is floor(sqrt(x)): r^2 <= x < (r + 1)^2, on random integers up to 2^250 and around squares', () => {
    const r = rng();
    const xs: bigint[] = [0n, 1n, 2n, 3n, 4n, WAD * WAD, WAD * WAD - 1n];
    for (let i = 0; i < 2000; i++) xs.push(randomBig(r, 1 + Math.floor(r() * 250)));
    for (let i = 0; i < 200; i++) {
      const s = randomBig(r, 1 + Math.floor(r() * 120));
      xs.push(s * s, s * s - 1n, s * s + 1n);
    }
    for (const x of xs.filter((v) => v >= 0n)) {
      const s = isqrt(x);
      expect(s * s <= x && (s + 1n) * (s + 1n) > x, `isqrt(${x}) = ${s}`).toBe(true);
    }
  });
});

describe('lnWad', () => {
  // Published decimal expansions (ln 2, ln 3, ln 10 to 30 digits); ln(1e-18) = -18 ln 10, ln(1e38) = 38 ln 10.
  const truth: Array<[bigint, string]> = [
    [2n * WAD, '0.693147180559945309417232121458'],
    [3n * WAD, '1.098612288668109691395245236922'],
    [10n * WAD, '2.302585092994045684017991454684'],
    [WAD / 2n, '-0.693147180559945309417232121458'],
    [1n, '-41.446531673892822312323846184318'],
    [10n ** 56n, '87.498233533773735992683675278005'],
  ];
  it.each(truth)('ln(%s wad) is the published value within 2e-18', (x, text) => {
    const neg = text.startsWith('-');
    const [i, f] = text.replace('-', '').split('.');
    const exact36 = BigInt(i + f.padEnd(36, '0').slice(0, 36)) * (neg ? -1n : 1n);
    const got36 = lnWad(x) * 10n ** 18n;
    const err = Number(got36 - exact36) / 1e18;
    expect(Math.abs(err), `ln error ${err} wei`).toBeLessThan(2);
  });

  it('agrees with Math.log to f64 precision on random x from 1 wei to 1e38', () => {
    const r = rng();
    for (let i = 0; i < 3000; i++) {
      const x = BigInt(Math.floor(10 ** uniform(r, 0, 15))) * 10n ** BigInt(Math.floor(uniform(r, 0, 42))) + 1n;
      const ref = Math.log(Number(x) / 1e18);
      expect(Math.abs(fromWad(lnWad(x)) - ref), `x = ${x}`).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(ref)));
    }
  });

  it('refuses x <= 0', () => {
    expect(() => lnWad(0n)).toThrow(FixedPointError);
    expect(() => lnWad(-5n)).toThrow(FixedPointError);
  });
});

/** Largest |fixed vol - f64 vol| over k in [-2, 2] (161 points) at the wad inputs' exact values. */
function volError(raw: SviRaw, T: number, forward: number): number {
  const p: SviWad = { a: toWad(raw.a), b: toWad(raw.b), rho: toWad(raw.rho), m: toWad(raw.m), sigma: toWad(raw.sigma), forward: toWad(forward), refTau: toWad(T) };
  const F = fromWad(p.forward);
  let worst = 0;
  for (let i = 0; i <= 160; i++) {
    const strike = toWad(F * Math.exp(-2 + i / 40));
    const f64 = Math.sqrt(sviW(raw, Math.log(fromWad(strike) / F)) / T);
    worst = Math.max(worst, Math.abs(fromWad(volWad(p, strike)) - f64));
  }
  return worst;
}

describe('vol of an update against the f64 SVI, |k| <= 2', () => {
  it('is within 1e-9 (measured ~1e-15) on 300 random arbitrage-plausible smiles, 1 day to 5 years', () => {
    const r = rng();
    let worst = 0;
    for (let i = 0; i < 300; i++) {
      const T = Math.exp(uniform(r, Math.log(1 / 365), Math.log(5)));
      const rho = uniform(r, -0.95, 0.95);
      const b = uniform(r, 0.01, 1.9 / (1 + Math.abs(rho))) * Math.min(1, 2 * T);
      const sigma = uniform(r, 0.005, 1);
      const atm = uniform(r, 0.1, 1.5) ** 2 * T;
      const raw = { a: 0, b, rho, m: uniform(r, -0.3, 0.3), sigma };
      raw.a = Math.max(atm - (sviW(raw, 0) - raw.a), -b * sigma * Math.sqrt(1 - rho * rho) + 1e-4 * T);
      worst = Math.max(worst, volError(raw, T, 10 ** uniform(r, -2, 6)));
    }
    console.info(`[publish] fixed-point vs f64 SVI, random smiles: max |vol error| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-9);
  });

  it('is within 1e-9 on every slice of real BTC fits (svi arbitrage-free, essvi as raw SVI)', async () => {
    let worst = 0;
    for (const fit of [await btcFit('svi', true), await btcFit('essvi')]) {
      for (const s of fit.slices!) {
        const raw = fit.model === 'svi' ? (s.params as unknown as SviRaw) : ssviToRaw({ theta: s.params.theta, rho: s.params.rho, psi: s.params.psi });
        worst = Math.max(worst, volError(raw, s.T, s.forward));
      }
    }
    console.info(`[publish] fixed-point vs f64 SVI, BTC 2026-01-05 slices: max |vol error| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-9);
  });

  it('throws where the contract reverts: strike 0 or beyond the range, negative variance', () => {
    const p: SviWad = { a: toWad(-0.1), b: toWad(0.1), rho: 0n, m: 0n, sigma: toWad(0.1), forward: toWad(100), refTau: toWad(1) };
    expect(() => volWad(p, 0n)).toThrow(FixedPointError);
    expect(() => volWad(p, 10n ** 39n)).toThrow(FixedPointError);
    expect(() => volWad(p, toWad(100))).toThrow(/negative total variance/);
  });
});
