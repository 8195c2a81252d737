/**
 * Reading fit.json: every malformed field is a FitFormatError naming that field (never a crash,
 * never NaN parameters), and the calibrator's history/correlation layouts are both understood.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { atBound, correlation, FitFormatError, historyEntries, parseFitResult } from '../../src/report/fit.js';

const good = {
  model: 'heston',
  params: { v0: 0.04, kappa: 2, theta: 0.05, sigma: 0.5, rho: -0.6 },
  stderr: { v0: 0.001, kappa: null },
  rmse_iv: 0.01,
  rmse_price: 0.1,
  objective: 0.5,
  iterations: 7,
  evaluations: 50,
  route: { name: 'lm', reason: 'warm start' },
  converged: true,
  backend: 'cpu',
  seconds: 0.2,
  quotes: { used: 2, excluded: [{ row: 3, reason: 'no iv' }] },
  residuals: [
    { row: 1, market_iv: 0.2, model_iv: 0.21, weight: 1 },
    { row: 2, market_iv: 0.25, model_iv: null, weight: 2 },
  ],
  correlations: { v0: { v0: 1, kappa: -0.3 }, kappa: { v0: -0.3, kappa: 1 } },
  history: [{ stage: 'lm', objective: 2 }, { stage: 'polish', objective: 0.5 }],
  bounds: { v0: [1e-6, 4], rho: [-0.6, 0.999] },
};

describe('parseFitResult', () => {
  it('reads the calibrator shape', () => {
    const f = parseFitResult(good);
    expect(f.params).toEqual(good.params);
    expect(f.stderr.kappa).toBeNull();
    expect(correlation(f, 'v0', 'kappa')).toBe(-0.3);
    expect(historyEntries(f).map((h) => h.objective)).toEqual([2, 0.5]);
    expect(atBound(f, 'rho')).toBe('lower');
    expect(atBound(f, 'v0')).toBeNull();
  });

  it('reads plain-number histories and matrix correlations', () => {
    const f = parseFitResult({ ...good, history: [3, 1], correlations: [[1, 0.5, 0, 0, 0], [0.5, 1, 0, 0, 0]] });
    expect(historyEntries(f)).toEqual([{ objective: 3 }, { objective: 1 }]);
    expect(correlation(f, 'v0', 'kappa')).toBe(0.5);
  });

  it.each([
    [{ ...good, model: 3 }, 'model'],
    [{ ...good, params: {} }, 'params'],
    [{ ...good, params: { ...good.params, rho: 'NaN' } }, 'params.rho'],
    [{ ...good, params: { ...good.params, rho: null } }, 'params.rho'],
    [{ ...good, objective: 'x' }, 'objective'],
    [{ ...good, quotes: [] }, 'quotes'],
    [{ ...good, quotes: { used: 1, excluded: [{ row: 'a' }] } }, 'quotes.excluded[0]'],
    [{ ...good, residuals: [{ row: 1.5 }] }, 'residuals[0].row'],
    [{ ...good, residuals: 'none' }, 'residuals'],
    [[1, 2], '(root)'],
  ])('names the bad field %#', (json, field) => {
    expect(() => parseFitResult(json, 'fit.json')).toThrow(FitFormatError);
    expect(() => parseFitResult(json, 'fit.json')).toThrow(`fit.json: field '${field}'`);
  });

  it.each([
    [{ v0: -0.01 }, 'params.v0', /-0\.01 is outside the heston bounds \[0\.000001, 4\] \(initial variance\)/],
    [{ theta: 0 }, 'params.theta', /outside the heston bounds/],
    [{ rho: 1.5 }, 'params.rho', /1\.5 is outside the heston bounds \[-0\.999, 0\.999\]/],
    [{ kappa: 1e6 }, 'params.kappa', /outside the heston bounds/],
  ])('refuses a parameter outside its model bounds %#', (bad, field, message) => {
    const json = { ...good, params: { ...good.params, ...bad } };
    expect(() => parseFitResult(json, 'fit.json')).toThrow(`fit.json: field '${field}'`);
    expect(() => parseFitResult(json, 'fit.json')).toThrow(message);
  });

  it('checks bounds by the model named in the fit; Black vols must be positive; unknown models pass', () => {
    expect(() => parseFitResult({ ...good, model: 'Bates', params: { ...good.params, lambda: -1, muJ: 0, sigmaJ: 0.1 } })).toThrow("field 'params.lambda'");
    expect(() => parseFitResult({ ...good, model: 'black', params: { '2026-01-30': 0.5, '2026-02-27': -0.1 } })).toThrow("field 'params.2026-02-27'");
    expect(parseFitResult({ ...good, model: 'black', params: { '2026-01-30': 0.5 } }).params).toEqual({ '2026-01-30': 0.5 });
    expect(parseFitResult({ ...good, model: 'sabr', params: { alpha: -1 } }).params).toEqual({ alpha: -1 });
    expect(parseFitResult({ ...good, model: 'constructor', params: { alpha: -1 } }).model).toBe('constructor');
  });

  it('never crashes on arbitrary JSON: a fit or a FitFormatError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        for (const json of [a, { ...good, [JSON.stringify(a) ?? 'undefined']: b }, { ...good, params: a }, { ...good, residuals: [a] }]) {
          try {
            const f = parseFitResult(json);
            for (const v of Object.values(f.params)) expect(Number.isFinite(v)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(FitFormatError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
