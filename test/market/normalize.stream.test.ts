/**
 * normalizeStream() (what `volfit normalize` runs) against normalize() on the same text: the same
 * CSV and JSON, byte for byte, from its pieces; the same errors; and, through the CLI, the row
 * accounting of a generated 50k-row file (rows_in = rows_out + excluded, every row once).
 */
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { normalize, normalizeStream, type NormalizeOptions } from '../../src/market/normalize.js';
import { MarketFormatError } from '../../src/market/errors.js';
import { runCli } from '../cli/run.js';
import { canonicalReplica, cboeReplica, DAILY, deribitReplica, SNAPSHOT, SPX2011, SPX2025 } from './golden/inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-norm-stream-'));

async function same(path: string, opts: NormalizeOptions = {}): Promise<void> {
  const lib = normalize(readFileSync(path, 'utf8'), opts);
  const set = await normalizeStream(createReadStream(path, 'utf8'), opts);
  expect([...set.csvChunks()].join('')).toBe(lib.toCsv());
  expect([...set.jsonChunks()].join('')).toBe(JSON.stringify(lib.toJSON()));
  expect(set.quotes()).toEqual(lib.quotes);
  expect(set.excluded()).toEqual(lib.excluded);
  expect(set.exclusionCounts()).toEqual(lib.exclusionCounts());
  expect([set.rowsIn, set.rowsOut, set.excludedCount]).toEqual([lib.rowsIn, lib.rowsOut, lib.excluded.length]);
}

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('normalizeStream gives normalize()\'s output in pieces', () => {
  it('on the bundled venues, with default and non-default options', async () => {
    await same(SNAPSHOT, { underlying: 'BTC' });
    await same(SNAPSHOT, { underlying: 'ETH', filters: { keepItm: true }, weights: { schemes: ['open_interest', 'spread'] } });
    await same(`${DAILY}/BTC_2026-01-13.csv`);
    await same(SPX2025);
    await same(SPX2011, { filters: { minDays: 30, maxRelSpread: 0.2 }, weights: { schemes: [] }, parity: { band: 0.1 } });
  });

  it('on files over many read batches, with broken rows, and on files with nothing kept', async () => {
    await same(file('cboe.csv', cboeReplica(3)));
    const btc = normalize(readFileSync(SNAPSHOT, 'utf8'), { underlying: 'BTC' }).toCsv();
    await same(file('canonical.csv', canonicalReplica(btc, 12)));
    await same(file('header-only.csv', 'expiry,strike,type,price,forward\n'));
    await same(file('all-bad.csv', 'expiry,strike,type,price,forward\n1,100,x,5,100\n-1,100,c,5,100\n1,100,c,5,100\n'), { filters: { minDays: 400 } });
  });

  it('throws what normalize() throws; options before reading', async () => {
    const stream = (text: string) => Readable.from([text]);
    await expect(normalizeStream(stream(''))).rejects.toThrow(/empty file/);
    await expect(normalizeStream(stream('a,b\n1,2\n'))).rejects.toThrow(/unknown quote layout/);
    await expect(normalizeStream(stream('expiry,strike,type,price,forward\n1,100,c,"5"x,100\n'))).rejects.toThrow(/unparseable CSV/);
    await expect(normalizeStream(stream(readFileSync(SNAPSHOT, 'utf8')))).rejects.toThrow(/BTC and ETH.*--underlying/);
    await expect(normalizeStream(stream(''), { filters: { maxRelSpread: -1 } })).rejects.toThrow(RangeError);
    await expect(normalizeStream(stream(''), { asOf: 'soon' })).rejects.toThrow(MarketFormatError);
  });
});

describe('a generated 50k-row file through the CLI', () => {
  it('normalize accounts for every row; iv gives one row per row', async () => {
    const deribit = file('deribit-50k.csv', deribitReplica(39));
    const out = join(dir, 'btc-50k.csv');
    const res = await runCli(['normalize', '--input', deribit, '--underlying', 'BTC', '--out', out, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const j = JSON.parse(res.stdout);
    expect(j.rows_in).toBe(39 * 1288);
    expect(j.rows_in).toBe(j.rows_out + j.excluded.length);
    expect(j.exclusion_counts.wrong_underlying).toBe(39 * 660);
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv).toHaveLength(j.rows_out + 1);
    const col = csv[0].split(',').indexOf('source_row');
    const rows = [...csv.slice(1).map((l) => Number(l.split(',')[col])), ...j.excluded.map((e: { row: number }) => e.row)].sort((a, b) => a - b);
    expect(rows).toEqual(Array.from({ length: j.rows_in }, (_, i) => i + 1));

    const canonical = file('canonical-50k.csv', canonicalReplica(readFileSync(out, 'utf8'), Math.ceil(50_000 / j.rows_out)));
    const n = readFileSync(canonical, 'utf8').trim().split('\n').length - 1;
    expect(n).toBeGreaterThanOrEqual(50_000);
    const iv = await runCli(['iv', '--input', canonical, '--backend', 'cpu']);
    expect(iv.code, iv.stderr).toBe(0);
    const lines = iv.stdout.trim().split('\n');
    expect(lines).toHaveLength(n + 1);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const ok = lines.filter((l) => l.split(',')[2] === 'ok').length;
    expect(ok).toBeGreaterThan(0.9 * n);
  });
});
