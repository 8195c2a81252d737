/**
 * Generators for the CLI fuzz suite: CSV text (cells, headers, delimiters, line ends), flag
 * values, and fit JSON mutated from a real fit. Real venue rows come from the bundled data so the
 * venue readers are reached past their header checks.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';

/** Cells that have broken readers before, or could. */
export const NASTY = [
  '', ' ', 'abc', 'NaN', 'nan', '-nan', 'Infinity', '-Infinity', '1e999', '-1e999', '1e-320', 'null', 'undefined',
  '0x10', '0b1', '0o7', '1_000', '1,5', '--1', '+', '.', 'e5', '1e', '０', '٣', '2026-99-99', '2026-02-30',
  '20260630', '30', '-0', '0', '1e308', '-1e308', '9007199254740993', '"', '""', '"a,b"', '\u0000', '\ufeff1', '💥',
  'call', 'put', 'C', 'P', 'x', '2026-01-05T25:00Z', '2026-01-05T08:00:00+00:00', 'true',
] as const;

export const nastyCell = fc.constantFrom(...NASTY);

/** A plausible number in a range, or now and then a nasty cell. */
export function numCell(min: number, max: number, nastyWeight = 1): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((x) => String(x)) },
    { weight: nastyWeight, arbitrary: nastyCell },
  );
}

const CANONICAL_COLUMNS = [
  'expiry', 'strike', 'type', 'price', 'mid', 'bid', 'ask', 'forward', 'spot', 'rate', 'div', 'discount', 'iv', 'weight',
  'open_interest', 'volume', 'timestamp', 'venue', 'underlying', 'option_type', 'expiry_date', 'surface', 'date', 'junk',
] as const;

function cellFor(col: string): fc.Arbitrary<string> {
  switch (col) {
    case 'expiry': return fc.oneof(numCell(0.001, 5), fc.constantFrom('2026-06-30', '2026-01-05T08:00:00Z', '2099-12-31', '1999-01-01'));
    case 'strike': return numCell(50, 150);
    case 'type': case 'option_type': return fc.oneof(fc.constantFrom('call', 'put', 'c', 'p', 'C', 'P'), nastyCell);
    case 'price': case 'mid': case 'bid': case 'ask': return numCell(0, 40);
    case 'forward': case 'spot': return numCell(80, 120);
    case 'rate': case 'div': return numCell(-0.05, 0.1);
    case 'discount': return numCell(0.8, 1);
    case 'iv': return numCell(0.05, 2);
    case 'weight': case 'open_interest': case 'volume': return numCell(0, 100);
    case 'timestamp': return fc.oneof(fc.constantFrom('2026-01-05T09:00:00Z', '2026-01-05 09:00'), nastyCell);
    default: return fc.oneof(fc.string({ maxLength: 8 }), nastyCell);
  }
}

export interface CsvShape {
  delimiter: ',' | ';' | '\t';
  crlf: boolean;
  bom: boolean;
  upper: boolean;
}

export const csvShape: fc.Arbitrary<CsvShape> = fc.record({
  delimiter: fc.oneof({ weight: 8, arbitrary: fc.constant(',' as const) }, { weight: 1, arbitrary: fc.constantFrom(';' as const, '\t' as const) }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  upper: fc.boolean(),
});

export function joinCsv(header: string[], rows: string[][], s: CsvShape): string {
  const quote = (c: string) => (/[",;\t\r\n]/.test(c) && !(c.startsWith('"') && c.endsWith('"')) ? `"${c.replace(/"/g, '""')}"` : c);
  const nl = s.crlf ? '\r\n' : '\n';
  const head = header.map((h) => (s.upper ? h.toUpperCase() : h));
  return (s.bom ? '\ufeff' : '') + [head, ...rows].map((r) => r.map(quote).join(s.delimiter)).join(nl) + nl;
}

/** A canonical CSV: mostly the usual columns, sometimes odd ones, duplicates, or short rows. */
export const canonicalCsv: fc.Arbitrary<string> = fc
  .record({
    cols: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom<string[]>(['expiry', 'strike', 'type', 'price', 'forward'], ['expiry', 'strike', 'type', 'bid', 'ask', 'spot', 'rate', 'div'], ['expiry', 'strike', 'type', 'mid', 'forward', 'weight', 'iv']) },
      { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom<string>(...CANONICAL_COLUMNS), { minLength: 0, maxLength: 9 }) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom<string>(...CANONICAL_COLUMNS), { minLength: 1, maxLength: 7 }) },
    ) as fc.Arbitrary<string[]>,
    n: fc.nat(6),
    shape: csvShape,
    seed: fc.nat(),
  })
  .chain(({ cols, n, shape }) =>
    fc.tuple(fc.array(fc.tuple(...cols.map(cellFor)), { minLength: n, maxLength: n }), fc.array(fc.nat(cols.length), { minLength: n, maxLength: n })).map(([rows, cut]) =>
      joinCsv(cols, rows.map((r, i) => (cut[i] === 0 ? r.slice(0, Math.max(0, r.length - 1)) : r)), shape),
    ),
  );

/** Real rows of a venue file with some cells broken, rows shortened or duplicated. */
export function venueCsv(path: string, every: number): fc.Arbitrary<string> {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const body = lines.slice(1).filter((_, i) => i % every === 0).map((l) => l.split(','));
  const edit = fc.record({ src: fc.nat(body.length - 1), col: fc.nat(header.length - 1), bad: nastyCell, how: fc.constantFrom('keep', 'keep', 'cell', 'short') });
  return fc.record({ edits: fc.array(edit, { maxLength: 12 }), shape: csvShape, dropCol: fc.option(fc.nat(header.length - 1), { freq: 6 }) }).map(({ edits, shape, dropCol }) => {
    const rows = edits.map((e) => {
      const r = [...body[e.src]];
      if (e.how === 'cell') r[e.col] = e.bad;
      return e.how === 'short' ? r.slice(0, Math.max(1, e.col)) : r;
    });
    const keep = (r: string[]) => (dropCol === null ? r : r.filter((_, i) => i !== dropCol));
    return joinCsv(keep(header), rows.map(keep), { ...shape, upper: false });
  });
}

/** A flag value: mostly sensible for its kind, sometimes nasty. */
export function flagValue(kind: 'number' | 'positive' | 'iso' | 'list' | 'int'): fc.Arbitrary<string> {
  const good: Record<typeof kind, fc.Arbitrary<string>> = {
    number: fc.double({ min: -0.1, max: 0.2, noNaN: true }).map(String),
    positive: fc.double({ min: 0.01, max: 200, noNaN: true }).map(String),
    iso: fc.constantFrom('2026-01-05T09:25:11Z', '2026-01-05', '2030-01-01T00:00:00Z', '2020-01-01'),
    list: fc.array(fc.double({ min: 50, max: 150, noNaN: true }), { minLength: 1, maxLength: 4 }).map((a) => a.join(',')),
    int: fc.integer({ min: 0, max: 8 }).map(String),
  };
  return fc.oneof({ weight: 3, arbitrary: good[kind] }, { weight: 1, arbitrary: nastyCell });
}

/** Optional flags: each present or not, with a value from its arbitrary. */
export function flags(spec: Record<string, fc.Arbitrary<string> | null>): fc.Arbitrary<string[]> {
  const entries = Object.entries(spec);
  return fc.tuple(...entries.map(([, arb]) => fc.option(arb ?? fc.constant(''), { freq: 3 }))).map((vals) =>
    vals.flatMap((v, i) => (v === null ? [] : spec[entries[i][0]] === null ? [entries[i][0]] : [entries[i][0], v])),
  );
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const BAD_JSON_VALUES: Json[] = [null, 'abc', '1', -1, 0, 1e308, -1e308, 1e-320, [], {}, true, 'NaN', 'heston', 'bates', 'black', 'svi'];

/** A fit JSON with a few keys (at any depth) replaced, deleted or renamed; or not JSON at all. */
export function mutatedFit(fit: object): fc.Arbitrary<string> {
  const paths: string[][] = [];
  const walk = (v: unknown, p: string[]) => {
    paths.push(p);
    if (v && typeof v === 'object' && p.length < 3) {
      const entries = Array.isArray(v) ? v.slice(0, 3).map((x, i) => [String(i), x] as const) : Object.entries(v);
      for (const [k, x] of entries) walk(x, [...p, k]);
    }
  };
  walk(fit, []);
  const mutation = fc.record({ path: fc.constantFrom(...paths.slice(1)), value: fc.constantFrom(...BAD_JSON_VALUES), del: fc.boolean() });
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(mutation, { minLength: 0, maxLength: 3 }).map((ms) => {
      const copy = structuredClone(fit) as Record<string, unknown>;
      for (const m of ms) {
        let o: Record<string, unknown> | undefined = copy;
        for (const k of m.path.slice(0, -1)) o = o && typeof o[k] === 'object' && o[k] !== null ? (o[k] as Record<string, unknown>) : undefined;
        if (!o) continue;
        const last = m.path[m.path.length - 1];
        if (m.del) delete o[last];
        else o[last] = m.value;
      }
      return JSON.stringify(copy);
    }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', 'not json', '[]', 'null', '{"model":"heston"}', '{"model":"heston","params":{}}') },
  );
}
