/**
 * The confidence of an update (src/publish/confidence.ts). The posterior's vol standard errors
 * are checked against Monte Carlo: refit (fitSurface, raw SVI) a known smile many times from
 * quotes with Gaussian IV noise, and compare the spread of the fitted vols with the predicted
 * standard error at the forward and +-1, 2 standard deviations. Coverage and staleness against
 * their definitions (known answers), a singular posterior gives 0, SSVI slices use their own
 * three parameters.
 */
import { describe, expect, it } from 'vitest';
import { PROBE_SDS, sliceConfidence, pooledNoise, type PosteriorSlice } from '../../src/publish/confidence.js';
import { fitSurface } from '../../src/surface/fit.js';
import { sviW, type SviRaw } from '../../src/surface/svi.js';
import { ssviToRaw } from '../../src/surface/ssvi.js';
import { rng } from '../helpers/random.js';

const T = 0.25;
const F = 100;
const TRUE: SviRaw = { a: 0.01, b: 0.08, rho: -0.5, m: 0.02, sigma: 0.15 };
const KS = Array.from({ length: 31 }, (_, i) => -0.6 + (i * 0.95) / 30);
const NOISE = 0.004;
const NOW = Date.parse('2026-01-05T12:00:00Z');

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

const ivAt = (p: SviRaw, k: number) => Math.sqrt(sviW(p, k) / T);

function slice(params: SviRaw, ivs: number[], ageSeconds = 0): PosteriorSlice {
  return { T, raw: params, quotes: KS.map((k, i) => ({ k, iv: ivs[i], weight: 1, timeMs: NOW - ageSeconds * 1000 })) };
}

describe('posterior: vol standard errors against Monte Carlo refits', () => {
  it('predicts the spread of refitted vols at k = 0, +-1, +-2 SD within 15 % (400 refits)', () => {
    const r = rng();
    const reps = 400;
    const sd = Math.sqrt(sviW(TRUE, 0));
    const probes = PROBE_SDS.map((j) => j * sd);
    const fitted: number[][] = probes.map(() => []);
    const predicted: number[][] = probes.map(() => []);
    for (let n = 0; n < reps; n++) {
      const ivs = KS.map((k) => ivAt(TRUE, k) + NOISE * gaussian(r));
      const quotes = KS.map((k, i) => ({ T, forward: F, strike: F * Math.exp(k), isCall: k > 0, iv: ivs[i] }));
      const p = fitSurface(quotes, { model: 'svi' }).result.slices[0].params;
      probes.forEach((k, j) => fitted[j].push(ivAt(p, k)));
      const c = sliceConfidence(slice(p, ivs), NaN, NOW, 21600);
      // sliceConfidence's probes sit at the fitted ATM level, within 1e-3 in k of the true ones.
      c.vol_se.forEach((se, j) => predicted[j].push(se!));
    }
    probes.forEach((k, j) => {
      const mean = fitted[j].reduce((s, x) => s + x, 0) / reps;
      const empirical = Math.sqrt(fitted[j].reduce((s, x) => s + (x - mean) ** 2, 0) / (reps - 1));
      const se = predicted[j].reduce((s, x) => s + x, 0) / reps;
      console.info(`[publish] posterior k=${k.toFixed(3)}: Monte Carlo sd ${empirical.toExponential(3)}, predicted se ${se.toExponential(3)}`);
      expect(Math.abs(se / empirical - 1), `k = ${k}`).toBeLessThan(0.15);
    });
  });
});

describe('coverage, staleness, singular cases', () => {
  const ivs = KS.map((k) => ivAt(TRUE, k));

  it('coverage is the share of the five probe points inside the quoted k range', () => {
    expect(sliceConfidence(slice(TRUE, ivs), NaN, NOW, 21600).coverage).toBe(1);
    // Quotes only at k >= -0.05: the -1 and -2 SD probes (k = -0.15, -0.30) are outside.
    const right: PosteriorSlice = { ...slice(TRUE, ivs), quotes: slice(TRUE, ivs).quotes.filter((q) => q.k >= -0.05) };
    const c = sliceConfidence(right, NaN, NOW, 21600);
    expect(c.k.filter((k) => k < -0.05).length).toBe(2);
    expect(c.coverage).toBe(0.6);
  });

  it('staleness is the normalizer decay 0.5^(age / half-life) at publish time', () => {
    expect(sliceConfidence(slice(TRUE, ivs, 0), NaN, NOW, 21600).staleness).toBe(1);
    expect(sliceConfidence(slice(TRUE, ivs, 21600), NaN, NOW, 21600).staleness).toBeCloseTo(0.5, 15);
    expect(sliceConfidence(slice(TRUE, ivs, 2 * 3600), NaN, NOW, 3600).staleness).toBeCloseTo(0.25, 15);
    // Quotes newer than the publish time count as age 0, not as a bonus.
    expect(sliceConfidence(slice(TRUE, ivs, -600), NaN, NOW, 21600).staleness).toBe(1);
  });

  it('confidence is the product, and exact quotes give a posterior of 1 (s = 0)', () => {
    const c = sliceConfidence(slice(TRUE, ivs, 3600), NaN, NOW, 21600);
    expect(c.posterior).toBeCloseTo(1, 12);
    expect(c.confidence).toBeCloseTo(c.posterior * c.coverage * c.staleness, 15);
  });

  it('a slice whose quotes do not determine its parameters gets posterior 0; a thin slice takes the pooled noise', () => {
    const same = KS.map(() => 0);
    const degenerate: PosteriorSlice = { T, raw: TRUE, quotes: same.map((k) => ({ k, iv: ivAt(TRUE, 0), weight: 1, timeMs: NOW })) };
    expect(sliceConfidence(degenerate, 1e-6, NOW, 21600).posterior).toBe(0);
    const thin: PosteriorSlice = { T, raw: { ...TRUE, b: 0 }, fallback: 'flat', quotes: [{ k: 0, iv: 0.3, weight: 1, timeMs: NOW }] };
    const c = sliceConfidence(thin, 1e-4, NOW, 21600);
    expect(c.pooled_noise).toBe(true);
    expect(c.parameters).toBe(1);
    // Flat slice, one quote of weight 1: C = s^2 / (d iv / d a)^2, so the vol's se is s itself.
    expect(c.vol_se[2]).toBeCloseTo(Math.sqrt(1e-4), 12);
  });

  it('pooled noise is the weighted residual sum over the spare quotes of all slices', () => {
    const r = rng();
    const noisy = KS.map((k) => ivAt(TRUE, k) + 0.001 * gaussian(r));
    const s = slice(TRUE, noisy);
    const rss = s.quotes.reduce((sum, q) => sum + (ivAt(TRUE, q.k) - q.iv) ** 2, 0);
    expect(pooledNoise([s, s])).toBeCloseTo((2 * rss) / (2 * (KS.length - 5)), 15);
  });

  it('an SSVI slice is measured in its own (theta, rho psi, psi)', () => {
    const ssvi = { theta: 0.04, rho: -0.4, psi: 0.2 };
    const raw = ssviToRaw(ssvi);
    const c = sliceConfidence({ ...slice(raw, KS.map((k) => ivAt(raw, k))), ssvi }, NaN, NOW, 21600);
    expect(c.parameters).toBe(3);
    expect(c.posterior).toBeCloseTo(1, 12);
  });
});
