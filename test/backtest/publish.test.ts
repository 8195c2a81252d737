/**
 * SSVI in the backtest and publishing from it, on three bundled Deribit days: SSVI fits cold on
 * the first day and from the previous fit after it, its BIC counts rho, eta, gamma and one theta per expiry (recomputed here from the stored
 * residuals), the per-expiry thetas are in DuckDB; with a signer each day's SSVI fit becomes
 * updates that verifyUpdates accepts at the day's data time (a replay, not the clock), the report
 * shows them against the next day's market per expiry, and the vols a contract reads there equal
 * the f64 SVI of the fitted slice within the evaluator's stated error (1e-9 in vol).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextDayComparison } from '../../src/backtest/publish.js';
import { writeBacktestReport } from '../../src/backtest/report.js';
import { runBacktest, type BacktestResult } from '../../src/backtest/run.js';
import { BacktestStore } from '../../src/backtest/store.js';
import { dayJson, type DayDetail } from '../../src/backtest/types.js';
import { signerAccount } from '../../src/publish/key.js';
import { verifyUpdates } from '../../src/publish/verify.js';
import { sviW } from '../../src/surface/svi.js';

const DAILY = 'data/deribit-btc-daily';
const DATES = ['2026-01-05', '2026-01-06', '2026-01-07'];
const RUN = 'test';
/** The fixed-point evaluator's stated error against the f64 SVI (src/publish/README.md). */
const EVALUATOR_ERROR = 1e-9;

const tmp = mkdtempSync(join(tmpdir(), 'volfit-backtest-publish-'));
const input = join(tmp, 'days');
const dbPath = join(tmp, 'bt.duckdb');
const keyFile = join(tmp, 'signer.key');
let store: BacktestStore;
let result: BacktestResult;
let account: ReturnType<typeof signerAccount>;

beforeAll(async () => {
  mkdirSync(input);
  for (const d of DATES) copyFileSync(join(DAILY, `BTC_${d}.csv`), join(input, `BTC_${d}.csv`));
  writeFileSync(keyFile, generatePrivateKey() + '\n', { mode: 0o600 });
  account = signerAccount(keyFile);
  store = await BacktestStore.open(dbPath);
  result = await runBacktest(
    { input, venue: 'deribit', underlying: 'BTC', models: ['black', 'ssvi'], backend: 'cpu', threads: 1, publish: { account, model: 'ssvi', budgetSeconds: 300, halfLifeSeconds: 6 * 3600 } },
    store.sink(RUN),
  );
}, 120_000);

afterAll(() => {
  store?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('ssvi in the backtest', () => {
  it('fits ssvi cold on the first day and warm after it, BIC with 3 global parameters + one theta per expiry, the lower BIC chosen', async () => {
    expect(result.days.map((d) => d.date)).toEqual(DATES);
    for (const [i, d] of result.days.entries()) {
      const f = d.fits.ssvi;
      expect(f.error).toBeUndefined();
      expect(f.route).toBe(i === 0 ? 'cold' : 'warm');
      expect(Object.keys(f.params!).sort()).toEqual(['eta', 'gamma', 'rho']);
      expect(f.slices!.length).toBeGreaterThan(5);
      const det = await store.detail(RUN, d.date);
      const res = det.residuals.ssvi.filter((r) => r.model_iv !== null);
      const n = res.length;
      const sse = res.reduce((s, r) => s + (r.model_iv! - r.market_iv) ** 2, 0);
      expect(f.rmse_iv).toBeCloseTo(Math.sqrt(sse / n), 12);
      const k = 3 + f.slices!.length;
      expect(f.bic).toBeCloseTo(n * Math.log(sse / n) + k * Math.log(n), 8);
      const black = d.fits.black;
      expect(d.best_model).toBe(f.bic! < black.bic! ? 'ssvi' : 'black');
    }
  });

  it('stores the per-expiry thetas in DuckDB (fits.slices) and prints them under fits.ssvi', async () => {
    // The file itself, read by a second DuckDB instance (the store closed meanwhile).
    store.close();
    const inst = await DuckDBInstance.create(dbPath);
    const c = await inst.connect();
    try {
      const r = await c.runAndReadAll(`SELECT date, slices FROM fits WHERE model = 'ssvi' ORDER BY date`);
      const rows = r.getRowObjectsJS();
      expect(rows.map((x) => x.date)).toEqual(DATES);
      rows.forEach((row, i) => {
        const slices = JSON.parse(String(row.slices)) as Array<{ T: number; params: { theta: number } }>;
        expect(slices.map((s) => s.params.theta)).toEqual(result.days[i].fits.ssvi.slices!.map((s) => s.params.theta));
        // Total ATM variance does not fall in T (no calendar arbitrage).
        for (let j = 1; j < slices.length; j++) expect(slices[j].params.theta).toBeGreaterThanOrEqual(slices[j - 1].params.theta);
        const printed = dayJson(result.days[i]).fits.ssvi;
        expect(printed.rmse_iv).toBe(result.days[i].fits.ssvi.rmse_iv);
        expect(printed.slices!.map((s) => s.params.theta)).toEqual(slices.map((s) => s.params.theta));
      });
    } finally {
      c.closeSync();
      inst.closeSync();
      store = await BacktestStore.open(dbPath);
    }
  });
});

describe('publishing from the backtest', () => {
  it("signs each day's ssvi fit at its data time; verifyUpdates accepts them, and refuses them after the deadline", async () => {
    for (const d of result.days) {
      const det = await store.detail(RUN, d.date);
      const u = det.updates!;
      expect(d.published).toEqual({ model: 'ssvi', signer: account.address, updates: d.fits.ssvi.slices!.length, as_of: u.as_of, error: null });
      // The data time of the snapshot (the latest quote of the file), not the wall clock.
      expect(u.as_of.slice(0, 10)).toBe(d.date);
      expect(u.published_at).toBe(u.as_of);
      const now = Date.parse(u.as_of);
      const verdicts = await verifyUpdates(u, { nowMs: now, signer: account.address });
      expect(verdicts.map((v) => v.reason)).toEqual(verdicts.map(() => null));
      const late = await verifyUpdates(u, { nowMs: now + 301_000, signer: account.address });
      expect(late.every((v) => !v.valid && /deadline/.test(v.reason ?? ''))).toBe(true);
    }
  });

  it('does not publish the stale 2026-01-13 (the reason recorded, no updates stored)', async () => {
    const dir = join(tmp, 'stale');
    mkdirSync(dir);
    for (const d of ['2026-01-12', '2026-01-13']) copyFileSync(join(DAILY, `BTC_${d}.csv`), join(dir, `BTC_${d}.csv`));
    const s = await BacktestStore.open(':memory:');
    try {
      const r = await runBacktest({ input: dir, venue: 'deribit', underlying: 'BTC', models: ['ssvi'], backend: 'cpu', publish: { account, model: 'ssvi', budgetSeconds: 300, halfLifeSeconds: 6 * 3600 } }, s.sink(RUN));
      expect(r.days.map((d) => [d.stale, d.published?.updates])).toEqual([[false, r.days[0].fits.ssvi.slices!.length], [true, 0]]);
      expect(r.days[1].published!.error).toMatch(/^stale book \(one-sided.*\): not published$/);
      expect((await s.detail(RUN, '2026-01-13')).updates).toBeUndefined();
    } finally {
      s.close();
    }
  }, 60_000);

  it("reports the published vols against the next day's market per expiry; a contract's read equals the f64 SVI of the slice", async () => {
    const dir = join(tmp, 'report');
    const details = new Map<string, DayDetail>();
    for (const d of DATES) details.set(d, await store.detail(RUN, d));
    await writeBacktestReport(dir, result.days, ['black', 'ssvi'], async (d) => details.get(d));
    for (const d of DATES) expect(JSON.parse(readFileSync(join(dir, 'updates', `${d}.json`), 'utf8'))).toEqual(details.get(d)!.updates);
    const page = readFileSync(join(dir, 'published.html'), 'utf8');
    const index = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(index).toContain('published.html#d2026-01-05');
    for (let i = 0; i + 1 < DATES.length; i++) {
      const [day, next] = [DATES[i], DATES[i + 1]];
      const c = nextDayComparison(day, details.get(day)!.updates!, next, details.get(next)!.quotes);
      expect(page).toContain(`${day}, published, against ${next}: RMSE ${(100 * c.rmse_iv!).toFixed(2)} vol points over ${c.quotes} quotes`);
      const fit = result.days[i].fits.ssvi;
      // Every published expiry still trading the next day is compared, with all its quotes.
      const nextQuotes = details.get(next)!.quotes;
      const trading = fit.slices!.filter((s) => nextQuotes.some((q) => Date.parse(q.expiry) === Date.parse(s.expiry!)));
      expect(c.expiries.map((e) => Date.parse(e.expiry_iso))).toEqual(trading.map((s) => Date.parse(s.expiry!)));
      let sq = 0;
      for (const e of c.expiries) {
        expect(e.points.length).toBe(nextQuotes.filter((q) => Date.parse(q.expiry) === Date.parse(e.expiry_iso)).length);
        const slice = fit.slices!.find((s) => Date.parse(s.expiry!) === Date.parse(e.expiry_iso))!;
        const raw = slice.raw!;
        for (const p of e.points) {
          // The fitted slice's own f64 SVI (not the wad parameters) at the quote's k.
          const f64 = Math.sqrt(sviW(raw, Math.log(p.strike / slice.forward)) / slice.T);
          expect(Math.abs(p.published_iv - f64)).toBeLessThanOrEqual(EVALUATOR_ERROR);
          expect(Math.abs(p.published_iv - p.f64_iv)).toBeLessThanOrEqual(EVALUATOR_ERROR);
          sq += (p.published_iv - p.market_iv) ** 2;
        }
        expect(e.rmse_iv).toBeCloseTo(Math.sqrt(e.points.reduce((s, p) => s + (p.published_iv - p.market_iv) ** 2, 0) / e.points.length), 12);
      }
      expect(c.rmse_iv).toBeCloseTo(Math.sqrt(sq / c.quotes), 12);
      // The next day's market is a day later than the fit: the error is there but bounded.
      expect(c.rmse_iv!).toBeGreaterThan(0);
      expect(c.rmse_iv!).toBeLessThan(0.2);
    }
    // The day's own page lists ssvi's per-expiry theta.
    expect(readFileSync(join(dir, 'days', DATES[0], 'index.html'), 'utf8')).toMatch(/theta/);
  }, 60_000);
});
