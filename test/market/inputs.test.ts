/**
 * Issue 12, input parsing that used to give silent wrong answers: expiries in the wrong unit,
 * numbers in hex or Infinity, two columns for one field, ;- or tab-delimited files, and the
 * columns `volfit normalize` writes (expiry_date, venue_iv, source_row) read back.
 */
import { describe, expect, it } from 'vitest';
import { CanonicalFormatError, MAX_EXPIRY_YEARS, parseCanonicalCsv } from '../../src/market/canonical.js';
import { normalize } from '../../src/market/normalize.js';
import { MarketFormatError } from '../../src/market/errors.js';
import { readTable } from '../../src/market/table.js';

const HEAD = 'expiry,strike,type,price,forward';

describe('canonical reader: expiry unit', () => {
  it('refuses expiries above 100 years as invalid_input naming expiry, with a hint at the unit', () => {
    const { quotes, errors } = parseCanonicalCsv(
      [HEAD, '20260630,100,c,5,100', '365,100,c,5,100', '1e9,100,c,5,100', '100,100,c,5,100', '30,100,c,5,100', '0.5,100,c,5,100'].join('\n'),
    );
    expect(MAX_EXPIRY_YEARS).toBe(100);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [1, 'expiry'],
      [2, 'expiry'],
      [3, 'expiry'],
    ]);
    expect(errors[0].message).toBe(
      'row 1: expiry 20260630 years? expiry is in years (at most 100) or an ISO date; 20260630 looks like a compact date, write 2026-06-30',
    );
    expect(errors[1].message).toMatch(/expiry 365 years\? .*if 365 is days, that is 1 years/);
    expect(errors[2].message).toMatch(/expiry 1e9 years\? expiry is in years \(at most 100\) or an ISO date$/);
    // 100 years is the bound itself; 30 is a (long) valid option: volfit cannot tell it from days.
    expect(quotes.map((q) => q.T)).toEqual([100, 30, 0.5]);
  });

  it('does not call an 8-digit number that is no date a compact date', () => {
    const { errors } = parseCanonicalCsv([HEAD, '20261399,100,c,5,100'].join('\n'));
    expect(errors[0].message).not.toMatch(/compact date/);
    expect(errors[0].field).toBe('expiry');
  });

  it('refuses an ISO expiry more than 100 years after the valuation time', () => {
    const { errors } = parseCanonicalCsv([HEAD, '2226-06-30,100,c,5,100'].join('\n'), { asOf: '2026-01-05' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ row: 1, field: 'expiry' });
    expect(errors[0].message).toMatch(/20\d years after the valuation time/);
  });

  it('excludes such rows in normalize as invalid_input with the field', () => {
    const r = normalize([HEAD + ',bid,ask', '20260630,100,c,5,100,4.9,5.1', '0.5,100,c,5,100,4.9,5.1'].join('\n'), { venue: 'canonical' });
    expect(r.excluded).toEqual([expect.objectContaining({ row: 1, reason: 'invalid_input', field: 'expiry' })]);
    expect(r.rowsOut).toBe(1);
  });
});

describe('canonical reader: numbers', () => {
  it.each(['0x10', '0b1', '0o7', 'Infinity', '-Infinity', '1e999', 'NaN', '1_000', ' ', '1,5'])('a %j cell is invalid_input naming the field', (bad) => {
    const cellText = bad.includes(',') ? `"${bad}"` : bad;
    const { quotes, errors } = parseCanonicalCsv(`${HEAD},weight\n1,${cellText},c,5,100,1\n1,100,c,5,100,${cellText}\n`);
    // A blank strike is "empty"; a blank optional weight is absent, not an error.
    if (bad.trim() === '') {
      expect(errors.map((e) => [e.row, e.field])).toEqual([[1, 'strike']]);
      expect(quotes).toHaveLength(1);
      return;
    }
    expect(quotes).toEqual([]);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [1, 'strike'],
      [2, 'weight'],
    ]);
  });

  it('names optional columns by their canonical column name', () => {
    const { errors } = parseCanonicalCsv(`${HEAD},oi\n1,100,c,5,100,0x5\n`);
    expect(errors[0]).toMatchObject({ field: 'open_interest' });
    expect(errors[0].message).toMatch(/open_interest "0x5" is not a number/);
  });
});

describe('canonical reader: one column per field', () => {
  it.each([
    ['type', 'option_type'],
    ['type', 'cp'],
    ['expiry', 'maturity'],
    ['div', 'dividend'],
    ['open_interest', 'oi'],
  ])('refuses both %s and %s, naming both', (a, b) => {
    // Required fields are in HEAD already; the others get their first name added too.
    const inHead = HEAD.split(',').includes(a);
    const header = inHead ? `${HEAD},${b}` : `${HEAD},${a},${b}`;
    const row = inHead ? '1,100,c,5,100,p' : '1,100,c,5,100,1,2';
    const go = () => parseCanonicalCsv(`${header}\n${row}\n`);
    expect(go).toThrow(CanonicalFormatError);
    expect(go).toThrow(`columns "${a}" and "${b}" are two names for the`);
  });

  it('keeps the documented precedence between different fields (price over mid)', () => {
    const { quotes } = parseCanonicalCsv('expiry,strike,type,price,mid,forward\n1,100,c,5,4,100\n1,100,c,,4,100\n');
    expect(quotes.map((q) => q.price)).toEqual([5, 4]);
  });
});

describe('readTable: delimiters', () => {
  it.each([
    ['expiry;strike;type;price;forward\n1;100;c;5;100\n', ';'],
    ['expiry\tstrike\ttype\tprice\tforward\n1\t100\tc\t5\t100\n', 'tab'],
  ])('refuses a %j file with a hint', (text, name) => {
    expect(() => readTable(text)).toThrow(MarketFormatError);
    expect(() => readTable(text)).toThrow(`the file looks ${name}-delimited; volfit reads comma-separated CSV`);
    expect(() => parseCanonicalCsv(text)).toThrow(CanonicalFormatError);
    expect(() => normalize(text)).toThrow(`looks ${name}-delimited`);
  });

  it('still reads a comma file whose cells hold a semicolon', () => {
    const { quotes } = parseCanonicalCsv('expiry,strike,type,price,forward,venue\n1,100,c,5,100,"a;b"\n');
    expect(quotes[0].venue).toBe('a;b');
  });
});

describe('canonical reader: normalize output columns', () => {
  it('reads expiry_date as the label of a years expiry, venue_iv and source_row', () => {
    const { quotes, errors } = parseCanonicalCsv(
      'expiry,strike,type,price,forward,expiry_date,venue_iv,source_row\n' +
        '0.5,100,c,5,100,2026-07-06T08:00:00.000Z,0.21,17\n' +
        '0.5,100,c,5,100,,,\n' +
        '0.5,100,c,5,100,July,0.2,3\n' +
        '0.5,100,c,5,100,,0.2,3.5\n',
    );
    expect(quotes).toHaveLength(2);
    expect(quotes[0]).toMatchObject({ T: 0.5, expiry: '2026-07-06T08:00:00.000Z', venueIv: 0.21, sourceRow: 17 });
    expect(quotes[1]).toMatchObject({ expiry: '0.5' });
    expect(quotes[1].venueIv).toBeUndefined();
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [3, 'expiry_date'],
      [4, 'source_row'],
    ]);
  });
});
