/**
 * `volfit normalize` streams its input and output; its bytes must not change. The CSV (--out or
 * stdout) and the JSON summary of every bundled file, with default and non-default flags, and of
 * replicated files that span several read batches, against the hashes of the in-memory
 * implementation's output (golden/normalize.sha256.json).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { canonicalReplica, cboeReplica, DAILY, SNAPSHOT, SPX2011, SPX2025 } from './golden/inputs.js';
import { Golden, goldenFile } from './golden/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-golden-norm-'));
const golden = new Golden(goldenFile('normalize.sha256.json'));
afterAll(() => golden.save());

/** Runs normalize with --out and --json; checks both outputs and the accounting; returns the CSV path. */
async function check(name: string, args: string[]): Promise<string> {
  const out = join(dir, `${name}.out.csv`);
  const res = await runCli(['normalize', ...args, '--out', out, '--json']);
  expect(res.code, res.stderr).toBe(0);
  const json = JSON.parse(res.stdout);
  expect(json.rows_in).toBe(json.rows_out + json.excluded.length);
  golden.check(`${name}.json`, res.stdout);
  golden.check(`${name}.csv`, readFileSync(out, 'utf8'));
  return out;
}

describe('volfit normalize output is unchanged (golden hashes)', () => {
  it('Deribit snapshot, both coins, default and non-default flags; canonical round trip', async () => {
    const btc = await check('snapshot-btc', ['--input', SNAPSHOT, '--underlying', 'BTC']);
    await check('snapshot-eth', ['--input', SNAPSHOT, '--underlying', 'eth']);
    await check('snapshot-btc-flags', [
      '--input', SNAPSHOT, '--underlying', 'BTC', '--weights', 'spread,vega,open_interest,staleness',
      '--max-age', '3600', '--half-life', '600', '--as-of', '2026-01-05T16:00:00Z', '--keep-itm',
    ]);
    await check('snapshot-btc-canonical', ['--input', btc, '--venue', 'canonical']);
    await check('snapshot-btc-canonical-none', ['--input', btc, '--weights', 'none', '--moneyness', '0.9,1.1']);
  });

  it('every bundled daily Deribit file', async () => {
    for (const f of readdirSync(DAILY).filter((x) => /^BTC_.*\.csv$/.test(x))) await check(`daily-${f}`, ['--input', join(DAILY, f)]);
  });

  it('CBOE chains, default and non-default flags, CSV on stdout', async () => {
    await check('spx2025', ['--input', SPX2025]);
    await check('spx2011', ['--input', SPX2011]);
    await check('spx2011-flags', [
      '--input', SPX2011, '--min-days', '30', '--max-spread', '0.2', '--moneyness', '0.8,1.25', '--keep-itm',
      '--weights', 'open_interest', '--parity-band', '0.1',
    ]);
    const res = await runCli(['normalize', '--input', SPX2025]);
    expect(res.code).toBe(0);
    golden.check('spx2025-stdout.csv', res.stdout);
  });

  it('replicated files over several read batches, with broken rows, duplicates and quoted cells', async () => {
    const cboe = join(dir, 'cboe-replica.csv');
    writeFileSync(cboe, cboeReplica(5));
    await check('cboe-replica', ['--input', cboe]);
    // Expiries of 4,800 rows, half of them duplicates: the filters run on parts of whole strikes.
    // (Hashes recorded with the implementation before streaming, as the others.)
    const big = join(dir, 'cboe-big-expiry.csv');
    writeFileSync(big, cboeReplica(15, true));
    await check('cboe-big-expiry', ['--input', big]);
    const btc = await check('snapshot-btc-2', ['--input', SNAPSHOT, '--underlying', 'BTC']);
    const canon = join(dir, 'canonical-replica.csv');
    writeFileSync(canon, canonicalReplica(readFileSync(btc, 'utf8'), 40));
    await check('canonical-replica', ['--input', canon]);
    await check('canonical-replica-asof', ['--input', canon, '--as-of', '2026-01-05T18:00:00Z', '--keep-itm']);
  });
});
