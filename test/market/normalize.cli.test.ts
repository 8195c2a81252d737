/**
 * `volfit normalize` is flag parsing around normalize(): same numbers as the library call, the
 * canonical CSV in --out, the JSON summary on stdout, and one-line UserErrors for bad input.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from '../../src/cli/commands/normalize.js';
import { UserError } from '../../src/cli/errors.js';
import { normalize } from '../../src/market/normalize.js';
import { parseCanonicalCsv } from '../../src/market/canonical.js';

const SPX2011 = 'data/spx-2011-01-24-pyql/spx_2011-01-24_chain.csv';

async function run(args: string[]): Promise<string> {
  const program = new Command('volfit').exitOverride();
  register(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(['node', 'volfit', 'normalize', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('volfit normalize', () => {
  it('writes the canonical CSV to --out and the JSON summary to stdout, matching the library', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'volfit-norm-'));
    const out = join(dir, 'quotes.csv');
    const json = JSON.parse(await run(['--input', SPX2011, '--venue', 'auto', '--out', out, '--json']));
    const lib = normalize(readFileSync(SPX2011, 'utf8'));
    expect(json).toEqual(JSON.parse(JSON.stringify(lib.toJSON())));
    expect(json.rows_in).toBe(json.rows_out + json.excluded.length);
    expect(Object.keys(json).slice(0, 4)).toEqual(['rows_in', 'rows_out', 'excluded', 'expiries']);
    expect(Object.keys(json.expiries[0]).slice(0, 5)).toEqual(['expiry', 'T', 'forward', 'discount', 'quotes']);
    const csv = readFileSync(out, 'utf8');
    expect(csv).toBe(lib.toCsv());
    const back = parseCanonicalCsv(csv);
    expect(back.quotes).toHaveLength(json.rows_out);
    for (const q of back.quotes) expect(q.weight! > 0 && q.iv! > 0 && q.forward > 0 && q.venue === 'cboe').toBe(true);
  });

  it('passes thresholds through (same result as the library with the same options)', async () => {
    const args = ['--input', SPX2011, '--json', '--min-days', '30', '--max-spread', '0.2', '--moneyness', '0.8,1.25', '--keep-itm', '--weights', 'open_interest', '--parity-band', '0.1'];
    const json = JSON.parse(await run(args));
    const lib = normalize(readFileSync(SPX2011, 'utf8'), {
      filters: { minDays: 30, maxRelSpread: 0.2, minMoneyness: 0.8, maxMoneyness: 1.25, keepItm: true },
      weights: { schemes: ['open_interest'] },
      parity: { band: 0.1 },
    });
    expect(json).toEqual(JSON.parse(JSON.stringify(lib.toJSON())));
    expect(json.exclusion_counts.itm_with_otm_twin).toBeUndefined();
  });

  it('prints the CSV on stdout without --json/--out', async () => {
    const text = await run(['--input', SPX2011]);
    expect(text.split('\n')[0]).toMatch(/^expiry,strike,type,price,/);
  });

  it('turns bad files and flags into one-line UserErrors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'volfit-norm-'));
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b,c\n1,2,3\n');
    await expect(run(['--input', bad])).rejects.toThrow(UserError);
    await expect(run(['--input', bad])).rejects.toThrow(/unknown quote layout/);
    await expect(run(['--input', join(dir, 'missing.csv')])).rejects.toThrow(/cannot read/);
    await expect(run(['--input', SPX2011, '--weights', 'bogus'])).rejects.toThrow(/--weights/);
    await expect(run(['--input', SPX2011, '--moneyness', '0.5'])).rejects.toThrow(/two numbers/);
    await expect(run(['--input', SPX2011, '--max-spread', '-1'])).rejects.toThrow(UserError);
    await expect(run(['--input', SPX2011, '--as-of', 'tomorrow'])).rejects.toThrow(/as-of/);
  });
});
