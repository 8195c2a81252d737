import { describe, expect, it } from 'vitest';
import { fitParity, nearTheMoney } from '../../src/market/parity.js';
import { easternOffsetHours, parseIsoUtc, yearFraction365 } from '../../src/market/time.js';
import { cboeExpiryMs } from '../../src/market/venues/cboe.js';
import { rng, uniform } from '../helpers/random.js';

describe('robust put-call parity fit', () => {
  it('recovers a known forward and discount from noisy pairs with gross outliers', () => {
    const r = rng();
    for (let trial = 0; trial < 50; trial++) {
      const F = uniform(r, 50, 5000);
      const D = uniform(r, 0.85, 1.0);
      const pairs = Array.from({ length: 30 }, (_, i) => {
        const K = F * (0.8 + (0.4 * i) / 29);
        // Noise of 1e-4 F (tick-like), plus 4 pairs off by 2 % of F (stale or fat-fingered).
        const noise = uniform(r, -1, 1) * 1e-4 * F + (i % 7 === 3 ? 0.02 * F : 0);
        return { strike: K, callMinusPut: D * (F - K) + noise };
      });
      const fit = fitParity(pairs)!;
      // Huber downweights the outliers; the bound is a few noise widths over the strike span.
      expect(Math.abs(fit.forward / F - 1)).toBeLessThan(5e-4);
      expect(Math.abs(fit.discount - D)).toBeLessThan(2e-3);
    }
  });

  it('is exact on exact data and refuses what cannot determine a line', () => {
    const pairs = [90, 95, 100, 105, 110].map((K) => ({ strike: K, callMinusPut: 0.97 * (101 - K) }));
    const fit = fitParity(pairs)!;
    expect(fit.forward).toBeCloseTo(101, 10);
    expect(fit.discount).toBeCloseTo(0.97, 12);
    expect(fitParity(pairs.slice(0, 2))).toBeNull(); // fewer than 3 pairs
    expect(fitParity([{ strike: 100, callMinusPut: 1 }, { strike: 100, callMinusPut: 2 }, { strike: 100, callMinusPut: 3 }])).toBeNull();
    expect(fitParity([90, 100, 110].map((K) => ({ strike: K, callMinusPut: K - 100 })))).toBeNull(); // D < 0
    expect(nearTheMoney(pairs, 100, 0.01, 3).map((p) => p.strike).sort()).toEqual([100, 105, 95]);
  });
});

describe('time conventions', () => {
  it('US Eastern DST boundaries (second Sunday of March, first Sunday of November)', () => {
    expect(easternOffsetHours(2011, 3, 12)).toBe(-5);
    expect(easternOffsetHours(2011, 3, 13)).toBe(-4);
    expect(easternOffsetHours(2011, 11, 5)).toBe(-4);
    expect(easternOffsetHours(2011, 11, 6)).toBe(-5);
    expect(easternOffsetHours(2025, 3, 9)).toBe(-4);
    expect(easternOffsetHours(2025, 11, 2)).toBe(-5);
    expect(easternOffsetHours(2025, 10, 1)).toBe(-4);
  });

  it('SPX settlement instants: AM at 09:30 ET (Saturday OCC dates -> Friday), PM at 16:00 ET', () => {
    expect(new Date(cboeExpiryMs('SPX', '2011-02-19')!).toISOString()).toBe('2011-02-18T14:30:00.000Z');
    expect(new Date(cboeExpiryMs('SPX', '2026-04-17')!).toISOString()).toBe('2026-04-17T13:30:00.000Z');
    expect(new Date(cboeExpiryMs('SPXW', '2026-06-30')!).toISOString()).toBe('2026-06-30T20:00:00.000Z');
    expect(new Date(cboeExpiryMs('SPXPM', '2011-12-30')!).toISOString()).toBe('2011-12-30T21:00:00.000Z');
  });

  it('ISO parsing keeps microseconds and offsets and rejects impossible dates', () => {
    expect(parseIsoUtc('2026-01-05T15:33:29.748387+00:00')).toBeCloseTo(Date.UTC(2026, 0, 5, 15, 33, 29) + 748.387, 6);
    expect(parseIsoUtc('2026-01-05T10:00-05:00')).toBe(Date.UTC(2026, 0, 5, 15, 0));
    expect(parseIsoUtc('2026-02-30')).toBeNull();
    expect(parseIsoUtc('2026-01-05T25:00')).toBeNull();
    expect(parseIsoUtc('5 Jan 2026')).toBeNull();
    expect(yearFraction365(Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1))).toBe(1);
  });
});
