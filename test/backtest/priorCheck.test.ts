/**
 * The checked prior (run.ts checkedFit, the default `--prior-mode check`): the prior-data
 * conflict statistic against its definition, a checked chain's fits equal to the data's own
 * optimum (the prior-off chain's), a MAP chain never below them, and the corner rescue that takes
 * a warm fit stuck at a bound back to the basin a fresh start finds (the anchor's 2026-03-10,
 * against QuantLib's recorded RMSE).
 */
import { readFileSync } from 'node:fs';
import { silentLogger } from '../../src/backends/backend.js';
import { describe, expect, it } from 'vitest';
import { fitOne, runBacktest } from '../../src/backtest/run.js';
import { planDays } from '../../src/backtest/input.js';
import type { FitRecord } from '../../src/backtest/types.js';
import { priorConflict } from '../../src/calibrator/posterior.js';
import { modelDerivative, resolveBounds, toUnconstrained } from '../../src/calibrator/transforms.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { pinnedParams } from '../../src/calibrator/route.js';
import { chooseFitBackend } from '../../src/demo/fits.js';
import { getModel } from '../../src/models/index.js';
import { chiSquareSurvival } from '../../src/util/gamma.js';

const ANCHOR = 'data/deribit-btc-daily-quantlib-anchor/quote_sets_canonical.csv';

describe('priorConflict', () => {
  it('is the Mahalanobis distance in z under covariance / strength mapped into z plus the drift', () => {
    const m = getModel('heston');
    const bounds = resolveBounds(m);
    const mean = { v0: 0.3, kappa: 4, theta: 0.25, sigma: 2, rho: -0.3 };
    const sd = [0.02, 1.5, 0.03, 0.4, 0.05];
    const cov = sd.map((s, i) => sd.map((_, j) => (i === j ? s * s : 0)));
    const drift = 0.3;
    const at = { v0: 0.33, kappa: 2.5, theta: 0.2, sigma: 2.6, rho: -0.45 };
    const names = m.params.map((s) => s.name) as Array<keyof typeof mean>;
    const zm = toUnconstrained(names.map((n) => mean[n]), bounds);
    const za = toUnconstrained(names.map((n) => at[n]), bounds);
    const d = modelDerivative(zm, bounds);
    const want = names.reduce((s, _, i) => s + (za[i] - zm[i]) ** 2 / (sd[i] ** 2 / d[i] ** 2 + drift ** 2), 0);
    const got = priorConflict(m, { model: 'heston', params: mean, covariance: cov, noise: 0.01, drift }, at, bounds);
    expect(got.d2).toBeCloseTo(want, 10);
    expect(got.p_value).toBeCloseTo(chiSquareSurvival(want, 5), 14);
    const self = priorConflict(m, { model: 'heston', params: mean, covariance: cov, noise: 0.01, drift }, mean, bounds);
    expect(self.d2).toBeLessThan(1e-20);
    expect(self.p_value).toBe(1);
  });
});

describe('the checked prior on real days', () => {
  it('keeps the data\'s own optimum (the prior-off fit), tests it, and a MAP chain is never below it', async () => {
    const opts = { input: ANCHOR, models: ['heston'], backend: 'cpu' as const, threads: 1, to: '2026-01-03', restartAfterShift: false, skipStale: false };
    const [check, off, map] = [await runBacktest(opts), await runBacktest({ ...opts, prior: 'off' }), await runBacktest({ ...opts, priorMode: 'map' })];
    expect(check.days.map((d) => d.fits.heston.route)).toEqual(['cold', 'warm+prior', 'warm+prior', 'warm+prior', 'warm+prior']);
    expect(map.days.map((d) => d.fits.heston.route)).toEqual(['cold', 'warm+prior', 'warm+prior', 'warm+prior', 'warm+prior']);
    for (let i = 1; i < check.days.length; i++) {
      const c = check.days[i].fits.heston;
      expect(c.params).toEqual(off.days[i].fits.heston.params);
      expect(c.prior_check!.d2).toBeGreaterThanOrEqual(0);
      expect(c.prior_check!.conflict).toBe(c.prior_check!.p_value < 0.01);
      expect(map.days[i].fits.heston.rmse_iv!).toBeGreaterThanOrEqual(c.rmse_iv! - 1e-9);
      expect(map.days[i].fits.heston.prior_check).toBeUndefined();
    }
    // The prior pulls a MAP fit away from the data's optimum on some day.
    expect(map.days.slice(1).some((d, i) => d.fits.heston.rmse_iv! > check.days[i + 1].fits.heston.rmse_iv! + 1e-7)).toBe(true);
  }, 180_000);
});

describe('a prior-data conflict', () => {
  it('runs the cold route too and keeps the better fit: never worse than a cold fit of the day', async () => {
    const day = planDays(ANCHOR, { from: '2026-01-02', to: '2026-01-02' }).days[0].load();
    const backend = await chooseFitBackend('cpu', silentLogger);
    // Yesterday far from today's market, and sure of itself.
    const params = { v0: 0.9, kappa: 20, theta: 0.05, sigma: 5, rho: 0.5 };
    const covariance = [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? 1e-6 : 0)));
    const prev = { model: 'heston', params, covariance, noise: 0.01 } as unknown as FitRecord;
    const { rec } = await fitOne(day.quotes, { model: 'heston', route: 'warm', prev, prior: 'previous', priorStrength: 1, priorDrift: 0, priorMode: 'check' }, backend, silentLogger);
    expect(rec.route).toBe('warm+prior');
    expect(rec.prior_check!.conflict).toBe(true);
    expect(rec.prior_check!.p_value).toBeLessThan(0.01);
    expect(rec.cold_rescue!.reason).toBe('conflict');
    const cold = await calibrate(day.quotes, { model: getModel('heston'), backend });
    expect(rec.rmse_iv!).toBeLessThanOrEqual(cold.rmse_iv! + 1e-9);
    // The test is of the kept fit.
    expect(rec.prior_check!.d2).toBeCloseTo(priorConflict(getModel('heston'), { ...prev, params, covariance, noise: 0.01 } as never, rec.params!, resolveBounds(getModel('heston'))).d2, 9);
  }, 60_000);
});

describe('the corner rescue', () => {
  it('takes 2026-03-10 from the chain\'s corner of 2026-03-09 (sigmaJ at its bound) to QuantLib\'s fresh-start basin or better', async () => {
    // The prior-off / checked chain's fit of 2026-03-09 (bench backtest (b)): jumps at a corner.
    const prev = { v0: 0.3124049971389935, kappa: 6.280904031674675, theta: 0.23726551965623172, sigma: 8.891379372238582, rho: -0.5076291712339029, lambda: 60.016398064298016, muJ: -0.04934270447108835, sigmaJ: 0.0001 };
    const rows = readFileSync('data/deribit-btc-daily-quantlib-anchor/quantlib_bates_from_heston.csv', 'utf8').trim().split('\n').map((l) => l.split(','));
    const ql = Number(rows.find((r) => r[0] === '2026-03-10')![rows[0].indexOf('rmse_iv_vol_pts')]);
    const day = planDays(ANCHOR, { from: '2026-03-10', to: '2026-03-10' }).days[0].load();
    const backend = await chooseFitBackend('cpu', silentLogger);
    const m = getModel('bates');
    // The warm fit alone stays in the corner, above QuantLib.
    const plain = await calibrate(day.quotes, { model: m, backend, start: { model: 'bates', params: { ...prev, sigmaJ: 0.00010001 } } });
    expect(pinnedParams(m, Float64Array.from(m.params, (s) => plain.params[s.name]), resolveBounds(m))).toContain('sigmaJ');
    expect(100 * plain.rmse_iv!).toBeGreaterThan(ql + 0.01);
    const { rec } = await fitOne(day.quotes, { model: 'bates', route: 'warm', prev: { model: 'bates', params: prev } as unknown as FitRecord, prior: 'off', priorStrength: 0.25, priorDrift: 0.3, priorMode: 'check' }, backend, silentLogger);
    expect(rec.route).toBe('warm');
    expect(rec.cold_rescue).toEqual({ reason: 'bound', kept: 'cold' });
    expect(100 * rec.rmse_iv!).toBeLessThanOrEqual(ql + 1e-6);
  }, 120_000);
});
