/**
 * Property: random malformed rows (missing fields, text in numbers, negative strikes, NaN, short
 * rows) in any venue layout end up as exclusions naming the field, never as a crash, a NaN in
 * the output, or a lost row; an empty file or a wrong header is one clear MarketFormatError.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { normalize } from '../../src/market/normalize.js';
import { MarketFormatError } from '../../src/market/errors.js';
import { testSeed } from '../helpers/random.js';

const BAD = ['', 'abc', 'NaN', '-5', 'Infinity', '1e999', 'null', '2026-99-99'] as const;

function checkResult(text: string, opts: Parameters<typeof normalize>[1], nRows: number) {
  const r = normalize(text, opts);
  expect(r.rowsIn).toBe(nRows);
  expect(r.rowsOut + r.excluded.length).toBe(nRows);
  expect(new Set([...r.quotes.map((q) => q.row), ...r.excluded.map((e) => e.row)]).size).toBe(nRows);
  for (const q of r.quotes) for (const x of [q.iv, q.weight, q.forward, q.T, q.price]) expect(Number.isFinite(x)).toBe(true);
  // JSON.stringify writes NaN and Infinity as null: no null may appear anywhere in the summary.
  const walk = (v: unknown): void => {
    expect(v).not.toBeNull();
    if (typeof v === 'object') for (const x of Object.values(v as object)) walk(x);
  };
  walk(JSON.parse(JSON.stringify(r.toJSON())));
  return r;
}

describe('normalize property: malformed rows never crash', () => {
  it('Deribit layout: a corrupted field becomes invalid_input naming it (or a book/bounds exclusion)', () => {
    const lines = readFileSync('data/deribit-btc-daily/BTC_2026-01-05.csv', 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const body = lines.slice(1, 120).map((l) => l.split(','));
    const required = ['strike', 'option_type', 'expiry_datetime', 'underlying'];
    const edit = fc.record({ src: fc.nat(body.length - 1), col: fc.nat(header.length - 1), bad: fc.constantFrom(...BAD), short: fc.boolean() });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 25 }), (edits) => {
        const rows = edits.map((e) => {
          const r = [...body[e.src]];
          if (e.short) return r.slice(0, Math.max(1, e.col)); // drops this column and all after it (a blank line would not be a row)
          r[e.col] = e.bad;
          return r;
        });
        const text = [header.join(','), ...rows.map((r) => r.join(','))].join('\n');
        const opts = { asOf: '2026-01-05T09:25:11Z', underlying: 'BTC' };
        // No row is BTC but some row names another coin: the file holds no BTC at all, one clear
        // file-level error (the user picked the wrong file or coin), not row exclusions. A row's
        // coin is its currency, else its instrument_name's prefix, as the reader takes it.
        const coin = (r: string[]) => (r[header.indexOf('currency')] || (r[header.indexOf('instrument_name')] ?? '').split('-')[0]).toUpperCase();
        const coins = rows.map(coin);
        if (!coins.includes('BTC') && coins.some((c) => c !== '')) {
          expect(() => normalize(text, opts)).toThrow(MarketFormatError);
          return;
        }
        const res = checkResult(text, opts, rows.length);
        const why = new Map(res.excluded.map((x) => [x.row, x]));
        edits.forEach((e, i) => {
          const name = header[e.col];
          const broken = e.short ? required.some((c) => header.indexOf(c) >= Math.max(1, e.col)) : required.includes(name);
          if (broken) {
            const x = why.get(i + 1);
            expect(x?.reason).toBe('invalid_input');
            expect(x?.field).toBeDefined();
          }
        });
      }),
      { seed: testSeed, numRuns: 60 },
    );
  });

  it('CBOE layout: same property', () => {
    const lines = readFileSync('data/spx-2025-10-01-cboe-long-dated/spx_2025-10-01_cboe_chain.csv', 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const body = lines.slice(1).filter((_, i) => i % 15 === 0).map((l) => l.split(','));
    const edit = fc.record({ src: fc.nat(body.length - 1), col: fc.nat(header.length - 1), bad: fc.constantFrom(...BAD), keep: fc.boolean() });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 40 }), (edits) => {
        const rows = edits.map((e) => {
          const r = [...body[e.src]];
          if (!e.keep) r[e.col] = e.bad;
          return r.join(',');
        });
        const text = [header.join(','), ...rows].join('\n');
        // No row left with a readable quote time and no --as-of: nothing to measure expiries
        // from, which is one clear file-level error rather than a row exclusion.
        if (edits.every((e) => !e.keep && header[e.col] === 'quote_time_et')) {
          expect(() => normalize(text, {})).toThrow(MarketFormatError);
          return;
        }
        const res = checkResult(text, {}, rows.length);
        edits.forEach((e, i) => {
          if (!e.keep && ['strike', 'underlying_last'].includes(header[e.col])) {
            expect(res.excluded.find((x) => x.row === i + 1)?.reason).toBe('invalid_input');
          }
        });
      }),
      { seed: testSeed, numRuns: 40 },
    );
  });

  it('canonical layout: random rows of good and bad cells', () => {
    const cellOf = (good: fc.Arbitrary<string>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: fc.constantFrom(...BAD) });
    const row = fc.tuple(
      cellOf(fc.double({ min: 0.01, max: 3, noNaN: true }).map(String)),
      cellOf(fc.double({ min: 50, max: 150, noNaN: true }).map(String)),
      cellOf(fc.constantFrom('c', 'p', 'call', 'PUT')),
      cellOf(fc.double({ min: 0, max: 30, noNaN: true }).map(String)),
      cellOf(fc.double({ min: 0, max: 30, noNaN: true }).map(String)),
      cellOf(fc.constant('100')),
    );
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), (rows) => {
        const text = ['expiry,strike,type,bid,ask,forward', ...rows.map((r) => r.join(','))].join('\n');
        const res = checkResult(text, {}, rows.length);
        for (const x of res.excluded) if (x.reason === 'invalid_input') expect(x.detail).toMatch(/^row \d+: /);
      }),
      { seed: testSeed, numRuns: 100 },
    );
  });

  it('empty file, wrong header, garbage: one MarketFormatError, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          normalize(s);
        } catch (e) {
          expect(e).toBeInstanceOf(MarketFormatError);
        }
      }),
      { seed: testSeed, numRuns: 200 },
    );
    expect(() => normalize('')).toThrow(/empty/);
    expect(() => normalize('strike,type\n1,c\n')).toThrow(/unknown quote layout/);
  });
});
