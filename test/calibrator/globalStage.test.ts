/**
 * `globalStage: false`: an auto cold route whose LM fits stay pinned at a bound keeps the best LM
 * fit instead of running DE then LM, and says so; with the stage, the fit is never worse. Real
 * quotes: the anchor's 2026-02-28 (Bates: sigma and sigmaJ end at bounds from every LM start).
 */
import { describe, expect, it } from 'vitest';
import { planDays } from '../../src/backtest/input.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { getModel } from '../../src/models/index.js';

describe('globalStage: false', () => {
  it('skips the global fallback of a pinned cold fit and names why it would have run', async () => {
    const day = planDays('data/deribit-btc-daily-quantlib-anchor/quote_sets_canonical.csv', { from: '2026-02-28', to: '2026-02-28' }).days[0].load();
    const model = getModel('bates');
    const cheap = await calibrate(day.quotes, { model, backend: 'cpu', globalStage: false });
    expect(cheap.route.name).not.toBe('lm+global');
    expect(cheap.route.reason).toMatch(/at a bound: no global stage \(globalStage: false\)/);
    const full = await calibrate(day.quotes, { model, backend: 'cpu' });
    expect(full.route.name).toBe('lm+global');
    // On this day DE finds nothing better: the corner is the data's.
    expect(full.objective).toBeLessThanOrEqual(cheap.objective * (1 + 1e-9));
    expect(full.objective).toBeGreaterThanOrEqual(cheap.objective * (1 - 1e-9));
    expect(full.evaluations).toBeGreaterThan(cheap.evaluations);
  }, 120_000);
});
