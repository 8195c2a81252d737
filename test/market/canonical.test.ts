import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CanonicalFormatError, parseCanonicalCsv, writeCanonicalCsv } from '../../src/market/canonical.js';
import { testSeed } from '../helpers/random.js';

const close = (a: number, b: number, tol = 1e-12) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe('canonical CSV reader', () => {
  it('reads years, forward and price; discount from rate', () => {
    const { quotes, errors } = parseCanonicalCsv('expiry,strike,type,price,forward,rate\n0.5,100,call,10.25,101,0.04\n');
    expect(errors).toEqual([]);
    expect(quotes).toHaveLength(1);
    const q = quotes[0];
    expect(q).toMatchObject({ row: 1, T: 0.5, expiry: '0.5', strike: 100, isCall: true, price: 10.25, forward: 101, rate: 0.04, div: 0 });
    close(q.discount, Math.exp(-0.02));
  });

  it('derives the forward from spot, rate and div (columns or options), closed form S e^{(r-q)T}', () => {
    const r = parseCanonicalCsv('expiry,strike,type,price,spot,rate,div\n0.5,100,put,4,100,0.05,0.02\n');
    close(r.quotes[0].forward, 100 * Math.exp(0.015));
    close(r.quotes[0].forward, 101.51130646157189, 1e-14); // same value written out by hand, computed independently
    const o = parseCanonicalCsv('expiry,strike,type,price\n2,50,c,9\n', { spot: 50, rate: 0.03, div: 0.01 });
    close(o.quotes[0].forward, 50 * Math.exp(0.04));
    close(o.quotes[0].discount, Math.exp(-0.06));
    expect(o.quotes[0].spot).toBe(50);
    // A row value beats the option; blank rate falls back to the option.
    const m = parseCanonicalCsv('expiry,strike,type,price,spot,rate\n1,50,c,9,60,\n', { spot: 50, rate: 0.1 });
    close(m.quotes[0].forward, 60 * Math.exp(0.1));
  });

  it('is case-insensitive, order-free, and takes price > mid > (bid+ask)/2', () => {
    const text = [
      'ASK,Type,FORWARD,Bid,Strike,EXPIRY,Mid,Price',
      '2.2,C,100,2.0,100,0.25,,', // mid of bid/ask
      '2.2,P,100,2.0,100,0.25,2.15,', // mid column
      '2.2,Put,100,2.0,100,0.25,2.15,2.3', // price column
      '2.2,CALL,100,2.0,100,0.25,,', // long type names in any case
    ].join('\n');
    const { quotes, errors } = parseCanonicalCsv(text);
    expect(errors).toEqual([]);
    expect(quotes.map((q) => q.price)).toEqual([2.1, 2.15, 2.3, 2.1]);
    expect(quotes.map((q) => q.isCall)).toEqual([true, false, false, true]);
    expect(quotes[0]).toMatchObject({ bid: 2.0, ask: 2.2 });
  });

  it('reads optional columns', () => {
    const { quotes } = parseCanonicalCsv(
      'expiry,strike,type,price,forward,iv,weight,open_interest,volume,timestamp,venue,underlying\n' +
        '1,90,c,15,100,0.2,0.5,120,7,2026-01-05T10:00:00Z,deribit,BTC\n',
    );
    expect(quotes[0]).toMatchObject({ iv: 0.2, weight: 0.5, openInterest: 120, volume: 7, timestamp: '2026-01-05T10:00:00Z', venue: 'deribit', underlying: 'BTC' });
  });

  it('measures ISO expiries ACT/365 from --as-of, else from the row timestamp', () => {
    // 2026-01-05 08:00 -> 2026-07-06 08:00 is 182 days; 15:33:29.5 is 7h33m29.5s later.
    const text = 'expiry,strike,type,price,forward,timestamp\n2026-07-06T08:00:00Z,100,c,5,100,2026-01-05T15:33:29.5+00:00\n';
    const fromTs = parseCanonicalCsv(text).quotes[0];
    close(fromTs.T, (182 * 86400 - (7 * 3600 + 33 * 60 + 29.5)) / (365 * 86400));
    expect(fromTs.expiry).toBe('2026-07-06T08:00:00Z');
    const fromAsOf = parseCanonicalCsv(text, { asOf: '2026-01-05T08:00:00Z' }).quotes[0];
    close(fromAsOf.T, 182 / 365);
    // A date without a time is midnight UTC; an offset is honoured (08:00+01:00 = 07:00Z).
    const d = parseCanonicalCsv('expiry,strike,type,price,forward\n2026-01-06,100,c,5,100\n2026-01-06T08:00+01:00,100,c,5,100\n', { asOf: '2026-01-05' });
    close(d.quotes[0].T, 1 / 365);
    close(d.quotes[1].T, (1 + 7 / 24) / 365);
  });

  it('names the row and field of a bad value and keeps going', () => {
    const text = [
      'expiry,strike,type,price,forward',
      '1,100,c,5,100', // row 1 ok
      '1,-5,c,5,100', // negative strike
      '1,100,x,5,100', // bad type
      '1,100,c,abc,100', // text in number
      '2026-03-01,100,c,5,100', // ISO expiry without as-of
      '1,100,c,NaN,100', // NaN
      '1,100,c,5', // short row: no forward
      '-0.1,100,c,5,100', // expired
      '1,100,c,5,100', // ok
    ].join('\n');
    const { quotes, errors } = parseCanonicalCsv(text);
    expect(quotes.map((q) => q.row)).toEqual([1, 9]);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [2, 'strike'],
      [3, 'type'],
      [4, 'price'],
      [5, 'expiry'],
      [6, 'price'],
      [7, 'forward'],
      [8, 'expiry'],
    ]);
    for (const e of errors) expect(e.message).toMatch(new RegExp(`^row ${e.row}: `));
    expect(errors[3].message).toMatch(/--as-of/);
  });

  it('throws CanonicalFormatError naming the missing column, or for an empty/unparseable file', () => {
    expect(() => parseCanonicalCsv('')).toThrow(CanonicalFormatError);
    expect(() => parseCanonicalCsv('  \n\n')).toThrow(/empty/);
    expect(() => parseCanonicalCsv('strike,type,price,forward\n100,c,1,100')).toThrow(/"expiry"/);
    expect(() => parseCanonicalCsv('expiry,type,price,forward\n1,c,1,100')).toThrow(/"strike"/);
    expect(() => parseCanonicalCsv('expiry,strike,price,forward\n1,100,1,100')).toThrow(/"type"/);
    expect(() => parseCanonicalCsv('expiry,strike,type,bid,forward\n1,100,c,1,100')).toThrow(/"price"/);
    expect(() => parseCanonicalCsv('expiry,strike,type,price\n1,100,c,1')).toThrow(/"forward"/);
    expect(() => parseCanonicalCsv('expiry,expiry,strike,type,price,forward\n')).toThrow(/twice/);
    expect(() => parseCanonicalCsv('expiry,strike,type,price,forward\n1,100,c,1,100', { asOf: 'yesterday' })).toThrow(/as-of/);
    // Header only: a valid, empty quote set.
    expect(parseCanonicalCsv('expiry,strike,type,price,forward\n')).toEqual({ quotes: [], errors: [] });
  });

  it('writes CSV that reads back to the same numbers', () => {
    const src = parseCanonicalCsv(
      'expiry,strike,type,bid,ask,spot,rate,div,iv,venue,timestamp\n' +
        '0.3,95.5,c,7.1,7.3,100,0.031,0.012,0.21,"cboe, test",2026-01-05T10:00:00Z\n' +
        '1.7,120,p,22,23,100,0.031,0.012,,,\n',
    );
    expect(src.errors).toEqual([]);
    const out = writeCanonicalCsv(src.quotes, { source_row: (q) => q.row });
    expect(out.split('\n')[0]).toContain('source_row');
    const back = parseCanonicalCsv(out);
    expect(back.errors).toEqual([]);
    for (const [a, b] of back.quotes.map((q, i) => [q, src.quotes[i]] as const)) {
      for (const k of ['T', 'strike', 'isCall', 'price', 'bid', 'ask', 'forward', 'rate', 'div', 'spot', 'iv', 'venue', 'timestamp'] as const) {
        expect(a[k]).toEqual(b[k]);
      }
      close(a.discount, b.discount, 1e-15);
    }
  });
});

// ---- property: random malformed rows give clear per-row errors, never a crash ----
const FIELDS = ['expiry', 'strike', 'type', 'price', 'forward'] as const;
const goodValue: Record<(typeof FIELDS)[number], fc.Arbitrary<string>> = {
  expiry: fc.double({ min: 0.01, max: 5, noNaN: true }).map(String),
  strike: fc.double({ min: 1, max: 1e5, noNaN: true }).map(String),
  type: fc.constantFrom('call', 'put', 'C', 'p'),
  price: fc.double({ min: 0, max: 1e4, noNaN: true }).map(String),
  forward: fc.double({ min: 1, max: 1e5, noNaN: true }).map(String),
};
const badNumber = fc.constantFrom('', 'abc', 'NaN', '-5', 'Infinity', '1e999', '0x10', '--1', '1,5', '2026-13-45');
const badType = fc.constantFrom('', 'straddle', '1', 'NaN', 'calls');

describe('canonical CSV reader, property: malformed rows', () => {
  it('reports exactly the corrupted field of each row, and never crashes', () => {
    const row = fc.record({
      values: fc.record(goodValue),
      corrupt: fc.option(fc.constantFrom(...FIELDS), { nil: undefined }),
      bad: fc.tuple(badNumber, badType),
      drop: fc.boolean(), // a short row instead of a bad value
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), fc.shuffledSubarray([...FIELDS], { minLength: 5, maxLength: 5 }), (rows, order) => {
        const lines = [order.join(',')];
        const expected: Array<string | undefined> = [];
        for (const r of rows) {
          const v: Record<string, string> = { ...r.values };
          let field = r.corrupt;
          if (field) {
            v[field] = field === 'type' ? r.bad[1] : r.bad[0];
          }
          let cells = order.map((f) => v[f]);
          if (r.drop && !field) {
            field = order[order.length - 1];
            cells = cells.slice(0, -1);
          }
          lines.push(cells.map((c) => (c.includes(',') ? `"${c}"` : c)).join(','));
          expected.push(field);
        }
        const { quotes, errors } = parseCanonicalCsv(lines.join('\n'));
        expect(quotes.length + errors.length).toBe(rows.length);
        const errByRow = new Map(errors.map((e) => [e.row, e]));
        expected.forEach((f, i) => {
          const e = errByRow.get(i + 1);
          if (f === undefined) expect(e).toBeUndefined();
          else {
            expect(e?.field).toBe(f);
            expect(e?.message).toMatch(new RegExp(`^row ${i + 1}: `));
          }
        });
        for (const q of quotes) {
          for (const x of [q.T, q.strike, q.forward, q.discount]) expect(x > 0 && Number.isFinite(x)).toBe(true);
          expect(q.price >= 0 && Number.isFinite(q.price)).toBe(true);
        }
      }),
      { seed: testSeed, numRuns: 200 },
    );
  });

  it('any header or any text: either a result with consistent counts or a CanonicalFormatError, nothing else', () => {
    const token = fc.constantFrom('expiry', 'strike', 'type', 'price', 'mid', 'bid', 'ask', 'forward', 'spot', 'rate', 'iv', 'junk', 'EXPIRY', '', '"', 'x,y', '1', 'NaN', '\n');
    fc.assert(
      fc.property(fc.array(fc.array(token, { maxLength: 8 }), { maxLength: 8 }), fc.string({ maxLength: 40 }), (grid, noise) => {
        const text = grid.map((r) => r.join(',')).join('\n') + noise;
        try {
          const { quotes, errors } = parseCanonicalCsv(text);
          for (const e of errors) expect(e.message).toMatch(/^row \d+: /);
          for (const q of quotes) expect(Number.isFinite(q.price) && q.T > 0).toBe(true);
          expect(new Set([...quotes.map((q) => q.row), ...errors.map((e) => e.row)]).size).toBe(quotes.length + errors.length);
        } catch (e) {
          expect(e).toBeInstanceOf(CanonicalFormatError);
          expect((e as Error).message.length).toBeGreaterThan(5);
        }
      }),
      { seed: testSeed, numRuns: 300 },
    );
  });
});
