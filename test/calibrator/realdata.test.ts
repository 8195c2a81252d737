/**
 * Real chains through normalize() and calibrate() (CPU). There is no true parameter set, so the
 * independent check is nesting: Heston contains the flat Black vol (sigma -> 0, v0 = theta = vol^2),
 * so its fit can never be worse than the best flat vol (the weighted mean IV, the exact
 * minimiser of the weighted IV objective for a constant). The RMSE bounds are the documented
 * values (src/calibrator/README.md) with 25 % headroom for machine and optimizer-budget variation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalize } from '../../src/market/normalize.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { heston } from '../../src/models/index.js';

function flatVol(quotes: Array<{ iv: number; weight: number }>) {
  const W = quotes.reduce((s, q) => s + q.weight, 0);
  const v = quotes.reduce((s, q) => s + q.weight * q.iv, 0) / W;
  const wsse = quotes.reduce((s, q) => s + q.weight * (q.iv - v) ** 2, 0);
  return { v, wsse: wsse / (W / quotes.length) };
}

function weightedSse(res: Awaited<ReturnType<typeof calibrate>>) {
  const W = res.residuals.reduce((s, r) => s + r.weight, 0);
  return res.residuals.reduce((s, r) => s + r.weight * ((r.model_iv ?? Infinity) - r.market_iv) ** 2, 0) / (W / res.residuals.length);
}

describe('real chains (CPU)', () => {
  it('Deribit BTC snapshot 2026-01-05: Heston beats the flat vol; documented RMSE 1.84 vol points', async () => {
    const text = readFileSync(new URL('../../data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv', import.meta.url), 'utf8');
    const n = normalize(text, { underlying: 'BTC' });
    // The global stage is what makes this fit (LM from the default start ends at bounds); its
    // CPU budget is trimmed here to keep the suite fast.
    const res = await calibrate(n.quotes, { model: heston, backend: 'cpu', route: 'global', de: { population: 24, generations: 15 } });
    console.info(`Deribit BTC Heston: rmse_iv ${res.rmse_iv}, ${JSON.stringify(res.params)}, ${res.seconds.toFixed(1)} s`);
    expect(Object.values(res.params).every(Number.isFinite)).toBe(true);
    expect(weightedSse(res)).toBeLessThan(flatVol(n.quotes).wsse);
    expect(res.rmse_iv!).toBeLessThan(0.0184 * 1.25);
  });
});
