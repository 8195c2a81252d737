/**
 * `volfit iv` streams its input and output; its bytes must not change. CSV and JSON output on
 * canonical files (normalize's output of bundled data, a replicated file over several read
 * batches with broken rows, a row of every status) against the hashes of the in-memory
 * implementation's output (test/market/golden/iv.sha256.json).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run.js';
import { canonicalReplica, IV_EDGE_ROWS, SNAPSHOT, SPX2025 } from '../market/golden/inputs.js';
import { Golden, goldenFile } from '../market/golden/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-golden-iv-'));
const golden = new Golden(goldenFile('iv.sha256.json'));
afterAll(() => golden.save());

async function normalized(name: string, args: string[]): Promise<string> {
  const out = join(dir, `${name}.csv`);
  const res = await runCli(['normalize', ...args, '--out', out]);
  expect(res.code, res.stderr).toBe(0);
  return out;
}

async function check(name: string, input: string, extra: string[] = []): Promise<void> {
  for (const format of ['csv', 'json']) {
    const res = await runCli(['iv', '--input', input, '--backend', 'cpu', '--format', format, ...extra]);
    expect(res.code, res.stderr).toBe(0);
    golden.check(`${name}.${format}`, res.stdout);
  }
  const out = join(dir, `${name}.out.csv`);
  const res = await runCli(['iv', '--input', input, '--backend', 'cpu', '--out', out, ...extra]);
  expect(res.code, res.stderr).toBe(0);
  expect(res.stdout).toBe('');
  golden.check(`${name}.csv`, readFileSync(out, 'utf8'));
}

describe('volfit iv output is unchanged (golden hashes)', () => {
  it('normalized bundled files', async () => {
    await check('snapshot-btc', await normalized('btc', ['--input', SNAPSHOT, '--underlying', 'BTC']));
    await check('spx2025', await normalized('spx', ['--input', SPX2025]));
  });

  it('a replicated canonical file with ISO expiries, broken rows and quoted cells', async () => {
    const canon = join(dir, 'canonical-replica.csv');
    writeFileSync(canon, canonicalReplica(readFileSync(await normalized('btc', ['--input', SNAPSHOT, '--underlying', 'BTC']), 'utf8'), 40));
    await check('canonical-replica', canon);
    await check('canonical-replica-asof', canon, ['--as-of', '2026-01-05T18:00:00Z']);
  });

  it('a row of every status, a blank line, an empty file body', async () => {
    const edge = join(dir, 'edge.csv');
    writeFileSync(edge, IV_EDGE_ROWS);
    await check('edge', edge, ['--spot', '100']);
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, 'expiry,strike,type,price,forward\n');
    await check('header-only', empty);
  });
});
