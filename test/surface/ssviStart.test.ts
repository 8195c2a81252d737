/**
 * ssvi's start (fitSsvi `start`, calibrate's slice path, the backtest's warm ssvi days): a start
 * at a cold fit's own optimum gives that optimum back; a start far off never does worse than the
 * cold fit (the data's starts are still tried); a bad start is one line naming the field; svi
 * takes none; a backtest carries ssvi from day to day.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/backtest/run.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { CalibrationInputError } from '../../src/calibrator/transforms.js';
import { normalize } from '../../src/market/normalize.js';
import { getModel } from '../../src/models/index.js';

const read = (p: string) => readFileSync(new URL(`../../data/${p}`, import.meta.url), 'utf8');
const btc = normalize(read('deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv'), { underlying: 'BTC' });

describe('ssvi start', () => {
  it('from its own optimum returns it; from far off, no worse than the cold fit', async () => {
    const model = getModel('ssvi');
    const cold = await calibrate(btc.quotes, { model });
    const back = await calibrate(btc.quotes, { model, start: { model: 'ssvi', params: cold.params } });
    expect(back.objective).toBeLessThanOrEqual(cold.objective * (1 + 1e-9));
    for (const k of ['rho', 'eta', 'gamma']) expect(back.params[k]).toBeCloseTo(cold.params[k], 4);
    const far = await calibrate(btc.quotes, { model, start: { rho: 0.6, eta: 0.05, gamma: 0.95 } });
    expect(far.objective).toBeLessThanOrEqual(cold.objective * (1 + 1e-9));
  }, 60_000);
  it('refuses a start without eta, a start from another model, and any start for svi (one line, naming it)', async () => {
    const ssvi = getModel('ssvi');
    await expect(calibrate(btc.quotes, { model: ssvi, start: { rho: -0.3, gamma: 0.5 } })).rejects.toThrow(/start eta is missing/);
    await expect(calibrate(btc.quotes, { model: ssvi, start: { model: 'heston', params: { v0: 0.1 } } })).rejects.toThrow(/the start is a heston fit/);
    await expect(calibrate(btc.quotes, { model: getModel('svi'), start: { a: 0.1 } })).rejects.toThrow(CalibrationInputError);
  });
  it('a backtest fits ssvi warm after its first day, on the optimum a cold fit of the day finds', async () => {
    const r = await runBacktest({ input: 'data/deribit-btc-daily', venue: 'deribit', underlying: 'BTC', models: ['ssvi'], backend: 'cpu', threads: 1, from: '2026-01-05', to: '2026-01-07' });
    expect(r.days.map((d) => d.fits.ssvi.route)).toEqual(['cold', 'warm', 'warm']);
    const cold = await runBacktest({ input: 'data/deribit-btc-daily', venue: 'deribit', underlying: 'BTC', models: ['ssvi'], backend: 'cpu', threads: 1, from: '2026-01-07', to: '2026-01-07' });
    expect(r.days[2].fits.ssvi.rmse_iv).not.toBeNull();
    expect(r.days[2].fits.ssvi.params!.rho).toBeCloseTo(cold.days[0].fits.ssvi.params!.rho, 2);
  }, 120_000);
});
