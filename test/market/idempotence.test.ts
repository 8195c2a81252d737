/**
 * README: `normalize --venue canonical` of a normalize output reproduces the file byte for byte
 * (expiry dates, the venue's IV and the venue file's row carried through; our IV recomputed).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run.js';
import { parseCanonicalCsv } from '../../src/market/canonical.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-idem-'));

const FILES: Array<[string, string[]]> = [
  ['data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv', ['--underlying', 'BTC']],
  ['data/spx-2011-01-24-pyql/spx_2011-01-24_chain.csv', []],
  ['data/spx-2025-10-01-cboe-long-dated/spx_2025-10-01_cboe_chain.csv', []],
];

describe('volfit normalize: idempotent on its own output', () => {
  it.each(FILES)('%s', async (input, flags) => {
    const name = input.split('/').pop()!;
    const first = join(dir, `${name}.1.csv`);
    const second = join(dir, `${name}.2.csv`);
    const a = await runCli(['normalize', '--input', input, ...flags, '--out', first]);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(['normalize', '--input', first, '--venue', 'canonical', '--out', second]);
    expect(b.code, b.stderr).toBe(0);
    const one = readFileSync(first, 'utf8');
    const two = readFileSync(second, 'utf8');
    const header = one.split('\n')[0].split(',');
    expect(header).toEqual(expect.arrayContaining(['expiry_date', 'venue_iv', 'source_row', 'iv']));
    expect(two.split('\n')[0]).toBe(one.split('\n')[0]);
    expect(two).toBe(one);
    // The venue's IV is not replaced by ours: where the venue gives one they differ somewhere.
    const q = parseCanonicalCsv(two).quotes;
    if (q.some((x) => x.venueIv !== undefined)) expect(q.some((x) => x.venueIv !== undefined && x.venueIv !== x.iv)).toBe(true);
  });
});
