/**
 * `volfit report` joins a fit to a quote file by row number: residualMismatches is the check
 * that the quote file is the one the fit was made from (market IV recomputed as the calibrator
 * does, strike and expiry where the fit carries them). SYNTHETIC quotes (fixture.ts).
 */
import { describe, expect, it } from 'vitest';
import { fitBlackFlat } from '../../src/calibrator/sliceFit.js';
import { MARKET_IV_TOLERANCE, parseFitResult, quoteMarketIv, residualMismatches, type FitResult } from '../../src/report/fit.js';
import { rng, testSeed } from '../helpers/random.js';
import { hestonFitAt, syntheticSurface } from './fixture.js';

const s = syntheticSurface(rng());
const other = syntheticSurface(rng(testSeed + 1));

function withResiduals(fit: FitResult, f: (r: FitResult['residuals'][number], i: number) => FitResult['residuals'][number]): FitResult {
  return { ...fit, residuals: fit.residuals.map(f) };
}

describe('residualMismatches', () => {
  it('accepts the quotes a fit was made from (fixture fit without strike/expiry, and the Black flat fit with them)', () => {
    expect(residualMismatches(hestonFitAt(s.truth, s.quotes), s.quotes)).toEqual([]);
    const black = fitBlackFlat(s.quotes);
    expect(black.residuals[0]).toMatchObject({ strike: s.quotes[0].strike, expiry: s.quotes[0].T });
    expect(residualMismatches(black, s.quotes)).toEqual([]);
    // Through JSON, as the report reads it.
    expect(residualMismatches(parseFitResult(JSON.parse(JSON.stringify(black))), s.quotes)).toEqual([]);
  });

  it('refuses another file with the same rows: every row whose market IV differs is named', () => {
    const fit = hestonFitAt(s.truth, s.quotes);
    const bad = residualMismatches(fit, other.quotes);
    expect(bad.length).toBeGreaterThan(fit.residuals.length / 2);
    expect(bad[0].what).toMatch(/^market IV .* in the fit, .* in the quotes$/);
  });

  it('tolerance: 1e-6 in vol', () => {
    const fit = hestonFitAt(s.truth, s.quotes);
    const near = withResiduals(fit, (r) => ({ ...r, market_iv: r.market_iv! + 0.1 * MARKET_IV_TOLERANCE }));
    expect(residualMismatches(near, s.quotes)).toEqual([]);
    const off = withResiduals(fit, (r, i) => (i === 4 ? { ...r, market_iv: r.market_iv! + 2 * MARKET_IV_TOLERANCE } : r));
    expect(residualMismatches(off, s.quotes).map((m) => m.row)).toEqual([fit.residuals[4].row]);
  });

  it('checks strike and expiry (years) where the residuals carry them, and missing rows', () => {
    const fit = fitBlackFlat(s.quotes);
    const strike = withResiduals(fit, (r, i) => (i === 2 ? { ...r, strike: r.strike! + 1 } : r));
    expect(residualMismatches(strike, s.quotes)).toEqual([{ row: fit.residuals[2].row, what: expect.stringMatching(/^strike /) }]);
    const expiry = withResiduals(fit, (r, i) => (i === 3 ? { ...r, expiry: r.expiry! + 1 / 365 } : r));
    expect(residualMismatches(expiry, s.quotes)).toEqual([{ row: fit.residuals[3].row, what: expect.stringMatching(/^expiry /) }]);
    const missing = withResiduals(fit, (r, i) => (i === 0 ? { ...r, row: 10_000 } : r));
    expect(residualMismatches(missing, s.quotes)).toEqual([{ row: 10_000, what: 'not in this file' }]);
  });

  it('market IV as the calibrator computes it: a given iv column wins over the price', () => {
    const q = { ...s.quotes[0], iv: 0.4321 };
    expect(quoteMarketIv(q)).toBe(0.4321);
    expect(quoteMarketIv(s.quotes[0])).toBeCloseTo(hestonFitAt(s.truth, s.quotes).residuals[0].market_iv!, 14);
  });
});
