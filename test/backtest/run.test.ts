/**
 * runBacktest on a few real days with cheap models: the stale day's fit does not become the next
 * day's start or prior (the day after it is fitted exactly as if the stale day were absent), warm
 * days use the previous fit as prior, the model choice is the lowest BIC, and BIC is the formula.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bestModel, bic, runBacktest } from '../../src/backtest/run.js';
import type { FitRecord } from '../../src/backtest/types.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';

const DAILY = 'data/deribit-btc-daily';
const tmp = mkdtempSync(join(tmpdir(), 'volfit-backtest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function copyDays(name: string, dates: string[]): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const d of dates) copyFileSync(join(DAILY, `BTC_${d}.csv`), join(dir, `BTC_${d}.csv`));
  return dir;
}

describe('runBacktest', () => {
  it('keeps the stale 2026-01-13 out of the chain: 2026-01-14 is fitted as if it were absent', async () => {
    const opts = { venue: 'deribit' as const, underlying: 'BTC', models: ['black', 'heston'], backend: 'cpu' as const, threads: 1 };
    const withStale = await runBacktest({ ...opts, input: copyDays('with', ['2026-01-11', '2026-01-12', '2026-01-13', '2026-01-14']) });
    const without = await runBacktest({ ...opts, input: copyDays('without', ['2026-01-11', '2026-01-12', '2026-01-14']) });
    expect(withStale.stale_days).toEqual(['2026-01-13']);
    const d13 = withStale.days[2];
    expect(d13.stale).toBe(true);
    expect(d13.fits.heston.params).not.toBeNull();
    expect(d13.change_point).toEqual({ flagged: false, probability: null, series: [] });
    const a = withStale.days[3].fits.heston;
    const b = without.days[2].fits.heston;
    expect(a.route).toBe('warm+prior');
    expect(a.params).toEqual(b.params);
    expect(a.rmse_iv).toBe(b.rmse_iv);
    expect(withStale.days[3].change_point).toEqual(without.days[2].change_point);
    // Cold on the first day, warm with the previous fit as prior after it; black is closed-form every day.
    expect(withStale.days.map((d) => d.fits.heston.route)).toEqual(['cold', 'warm+prior', 'warm+prior', 'warm+prior']);
    expect(withStale.days.map((d) => d.fits.black.route)).toEqual(['cold', 'cold', 'cold', 'cold']);
    for (const d of withStale.days) expect(d.best_model).toBe(bestModel(d.fits));
  }, 120_000);
});

describe('runBacktest on the QuantLib anchor (canonical CSV with a date column)', () => {
  it('reproduces QuantLib\'s warm Heston chain on its first 4 days within 0.01 vol points (identical quotes, prior off)', async () => {
    const csv = 'data/deribit-btc-daily-quantlib-anchor/quote_sets_canonical.csv';
    const r = await runBacktest({
      input: csv, models: ['heston'], prior: 'off', backend: 'cpu', to: '2026-01-02', restartAfterShift: false, skipStale: false,
      coldStart: { heston: { v0: 0.4, kappa: 2, theta: 0.4, sigma: 1, rho: 0 } },
    });
    const rows = readFileSync('data/deribit-btc-daily-quantlib-anchor/quantlib_heston_warm.csv', 'utf8').trim().split('\n');
    const head = rows[0].split(',');
    const ql = new Map(rows.slice(1).map((l) => l.split(',')).map((c) => [c[0], Number(c[head.indexOf('rmse_iv_vol_pts')])]));
    expect(r.days.map((d) => d.date)).toEqual(['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02']);
    expect(r.days.map((d) => d.fits.heston.route)).toEqual(['cold', 'warm', 'warm', 'warm']);
    for (const d of r.days) expect(100 * d.fits.heston.rmse_iv!).toBeLessThanOrEqual(ql.get(d.date)! + 0.01);
  }, 120_000);
});

describe('model choice', () => {
  const residuals = (errs: number[]) => errs.map((e, i) => ({ row: i + 1, market_iv: 0.5, model_iv: 0.5 + e, weight: 1, strike: 1, expiry: 1 }));
  it('BIC is n ln(SSE/n) + k ln n over the quotes with a model vol', () => {
    const errs = [0.01, -0.02, 0.005, 0.0, 0.03, -0.01];
    const r = { params: { a: 1, b: 2 }, residuals: [...residuals(errs), { row: 9, market_iv: 0.5, model_iv: null, weight: 1, strike: 1, expiry: 1 }] } as unknown as CalibrationResult;
    const sse = errs.reduce((s, e) => s + e * e, 0);
    expect(bic(r)).toBeCloseTo(6 * Math.log(sse / 6) + 2 * Math.log(6), 9);
  });
  it('prefers the lower BIC: more parameters must pay for themselves', () => {
    const f = (bicValue: number | null) => ({ bic: bicValue }) as FitRecord;
    expect(bestModel({ black: f(-900), heston: f(-1000), bates: f(-990) })).toBe('heston');
    expect(bestModel({ black: f(null), heston: f(-10) })).toBe('heston');
    expect(bestModel({ black: f(null) })).toBeNull();
  });
});
