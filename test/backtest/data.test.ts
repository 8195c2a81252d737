/**
 * Stale books and the regime shift on the bundled real data, model-free (no fits): every one of the
 * 100 Deribit BTC days normalized, the stale test with its rolling "usual", and the change-point
 * detector on the market series alone (ATM 30-day vol, term slope, skew). SOURCE.md names the two
 * events: 2026-01-13 is the stale book, early February 2026 the shift (BTC 82.9k -> 65.9k, ATM
 * ~3-week IV 40 % -> 65 %).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Bocpd } from '../../src/backtest/bocpd.js';
import { dayFiles, dayFromFile, daysFromCsv, type Day } from '../../src/backtest/input.js';
import { marketSeries, seriesSpecs } from '../../src/backtest/series.js';
import { staleReason } from '../../src/backtest/stale.js';
import type { BookStats } from '../../src/backtest/input.js';

function staleDays(days: readonly Day[]): Map<string, string> {
  const good: BookStats[] = [];
  const out = new Map<string, string>();
  for (const d of days) {
    const r = staleReason(d.book, good);
    if (r) out.set(d.date, r);
    else good.push(d.book);
  }
  return out;
}

describe('backtest on the bundled Deribit BTC days (model-free parts)', () => {
  let days: Day[] = [];
  beforeAll(() => {
    const { files, skipped } = dayFiles('data/deribit-btc-daily');
    expect(skipped).toEqual(['index.csv']);
    days = files.map((f) => dayFromFile(f.path, f.date, { venue: 'deribit', underlying: 'BTC' }));
  }, 120_000);

  it('bundles all 100 days, each with every row accounted for', () => {
    expect(days.length).toBe(100);
    expect(days[0].date).toBe('2025-12-30');
    expect(days[99].date).toBe('2026-04-08');
    for (const d of days) expect(d.quotes.length + d.excluded.length).toBe(d.book.rows_in);
  });

  it('flags 2026-01-13 as stale, with the reason, and no other day', () => {
    const stale = staleDays(days);
    expect([...stale.keys()]).toEqual(['2026-01-13']);
    const reason = stale.get('2026-01-13')!;
    // SOURCE.md: 263 rows with neither side, 70 bid-only, 70 ask-only of 622 -> 403 rows one-sided or empty.
    expect(reason).toMatch(/one-sided book: 65 % of 622 rows/);
    expect(reason).toMatch(/thin book/);
  });

  it('finds the early-February 2026 shift in the market series alone', () => {
    const d = new Bocpd(seriesSpecs(null));
    const stale = staleDays(days);
    const flagged: Array<{ date: string; series: string[] }> = [];
    for (const day of days) {
      if (stale.has(day.date)) continue;
      const out = d.observe(marketSeries(day.quotes));
      if (out.probability !== null && out.probability > 0.5) flagged.push({ date: day.date, series: out.series });
    }
    console.info(`market-series change points: ${flagged.map((f) => `${f.date} (${f.series.join(', ')})`).join('; ')}`);
    const feb = flagged.filter((f) => f.date >= '2026-01-30' && f.date <= '2026-02-08');
    expect(feb.length).toBeGreaterThanOrEqual(1);
    expect(feb.some((f) => f.series.includes('atm_30d') || f.series.includes('term_slope'))).toBe(true);
    // Not every day: a detector that fires all the time says nothing.
    expect(flagged.length).toBeLessThanOrEqual(10);
  });

  it('ATM 30-day vol follows SOURCE.md: about 40 % before the shift, above 55 % at its peak', () => {
    const atm = new Map(days.map((d) => [d.date, marketSeries(d.quotes).atm_30d!]));
    expect(atm.get('2026-01-31')!).toBeGreaterThan(0.35);
    expect(atm.get('2026-01-31')!).toBeLessThan(0.45);
    expect(Math.max(...['2026-02-05', '2026-02-06', '2026-02-07'].map((d) => atm.get(d)!))).toBeGreaterThan(0.55);
  });
});

describe('the QuantLib anchor quote sets (canonical CSV with a date column)', () => {
  it('splits into 100 days and flags the stale 2026-01-13 as thin (110 quotes against a usual ~220)', () => {
    const days = daysFromCsv('data/deribit-btc-daily-quantlib-anchor/quote_sets_canonical.csv', {});
    expect(days.length).toBe(100);
    expect(days.reduce((s, d) => s + d.quotes.length, 0)).toBe(22_857);
    const stale = staleDays(days);
    expect([...stale.keys()]).toEqual(['2026-01-13']);
    expect(stale.get('2026-01-13')).toMatch(/thin book: 110 quotes/);
  });
});
