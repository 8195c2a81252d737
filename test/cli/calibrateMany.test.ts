/**
 * `volfit calibrate` with many surfaces (src/cli/calibrateMany.ts): repeated --input, a folder, a
 * canonical CSV split by its date column; JSON Lines in input order, progress on stderr, --out,
 * a failing surface as an error line; one surface prints exactly what it printed before.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './run.js';
import { distBuilt, spawnCli } from './spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ANCHOR = join(ROOT, 'data/deribit-btc-daily-quantlib-anchor');
const COLD = 'v0=0.4,kappa=2,theta=0.4,sigma=1,rho=0';

/** The first `days` dates of the anchor's quote sets, as one canonical CSV with its date column. */
function anchorDays(days: number): { csv: string; dates: string[] } {
  const lines = readFileSync(join(ANCHOR, 'quote_sets_canonical.csv'), 'utf8').trim().split('\n');
  const dates: string[] = [];
  const keep = [lines[0]];
  for (const l of lines.slice(1)) {
    const d = l.slice(0, l.indexOf(','));
    if (!dates.includes(d)) {
      if (dates.length === days) continue;
      dates.push(d);
    }
    keep.push(l);
  }
  return { csv: keep.join('\n') + '\n', dates };
}

/** QuantLib's recorded cold-start RMSE (vol points) per date. */
function quantlibRmse(): Map<string, number> {
  const rows = readFileSync(join(ANCHOR, 'quantlib_heston_cold.csv'), 'utf8').trim().split('\n');
  const h = rows[0].split(',');
  return new Map(rows.slice(1).map((l) => l.split(',')).map((c) => [c[0], Number(c[h.indexOf('rmse_iv_vol_pts')])]));
}

const jsonl = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l));

describe('volfit calibrate, many surfaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volfit-many-'));

  it('splits a file by its date column: JSON Lines in file order, rows numbered in the whole file, progress and --out', async () => {
    const { csv, dates } = anchorDays(3);
    const input = join(dir, 'three-days.csv');
    writeFileSync(input, csv);
    const out = join(dir, 'fits.jsonl');
    const r = await runCli(['calibrate', '--input', input, '--model', 'heston', '--backend', 'cpu', '--start', COLD, '--threads', '2', '--out', out]);
    expect(r.code).toBe(0);
    const fits = jsonl(r.stdout);
    expect(fits.map((f) => f.surface)).toEqual(dates);
    expect(readFileSync(out, 'utf8')).toBe(r.stdout);
    expect(r.stderr).toMatch(/calibrate: 3 \/ 3 surfaces done, [\d.]+ s, ETA 0 s\n/);
    const ql = quantlibRmse();
    let first = 1;
    for (const f of fits) {
      expect(f.model).toBe('heston');
      // Rows are the whole file's: each day starts where the previous one ended.
      expect(f.residuals[0].row).toBe(first);
      first += f.quotes.used + f.quotes.excluded.length;
      // As good as QuantLib's cold fit of the same quotes, or better (0.01 vol points).
      expect(f.rmse_iv * 100).toBeLessThan(ql.get(f.surface)! + 0.01);
    }
  });

  it('takes repeated --input and a folder (its .csv files by name); a bad file is an error line, the others fit', async () => {
    const venue = join(dir, 'venue');
    mkdirSync(venue);
    for (const d of ['2026-01-12', '2026-01-05']) {
      const n = await runCli(['normalize', '--input', join(ROOT, `data/deribit-btc-daily/BTC_${d}.csv`), '--out', join(venue, `BTC_${d}.csv`)]);
      expect(n.code).toBe(0);
    }
    writeFileSync(join(venue, 'notes.txt'), 'not a quote file\n');
    const args = ['--model', 'heston', '--backend', 'cpu', '--route', 'lm', '--start', COLD];
    const folder = await runCli(['calibrate', '--input', venue, ...args]);
    expect(folder.code).toBe(0);
    const names = [join(venue, 'BTC_2026-01-05.csv'), join(venue, 'BTC_2026-01-12.csv')];
    const a = jsonl(folder.stdout);
    expect(a.map((f) => f.surface)).toEqual(names);
    // LM only (--route lm, to keep the test short): a fit, not necessarily the best one.
    for (const f of a) expect(Number.isFinite(f.rmse_iv) && Number.isFinite(f.params.v0)).toBe(true);

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'expiry,strike\n0.5,100\n');
    const files = await runCli(['calibrate', '--input', names[1], '--input', bad, '--input', names[0], '--threads', '1', ...args]);
    expect(files.code).toBe(2);
    const b = jsonl(files.stdout);
    expect(b.map((f) => f.surface)).toEqual([names[1], bad, names[0]]);
    expect(b[1]).toEqual({ surface: bad, model: 'heston', error: expect.stringMatching(/missing column "type"/), error_kind: 'input', seconds: 0 });
    // threads 1 (in-process) and the pool give the same fit.
    expect(b[0].params).toEqual(a[1].params);
    expect(files.stderr).toMatch(/error: 1 of 3 surfaces failed \(.*bad\.csv: missing column/);
  });

  it('keeps the single-surface output as it was (a one-date file, a folder of one file)', async () => {
    const { csv } = anchorDays(1);
    const one = join(dir, 'one');
    mkdirSync(one);
    const input = join(one, 'day.csv');
    writeFileSync(input, csv);
    const args = ['--model', 'heston', '--backend', 'cpu', '--start', COLD, '--json'];
    const file = await runCli(['calibrate', '--input', input, ...args]);
    const folder = await runCli(['calibrate', '--input', one, ...args]);
    for (const r of [file, folder]) {
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith('{\n  "model": "heston",')).toBe(true);
      expect(JSON.parse(r.stdout)).not.toHaveProperty('surface');
    }
    const summary = await runCli(['calibrate', '--input', input, '--model', 'heston', '--backend', 'cpu', '--start', COLD]);
    expect(summary.stdout).toMatch(/^heston: converged/);
    const empty = join(dir, 'empty-folder');
    mkdirSync(empty);
    const none = await runCli(['calibrate', '--input', empty, '--model', 'heston']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--input .*empty-folder: no \.csv files in this folder\n$/);
    const threads = await runCli(['calibrate', '--input', input, '--input', input, '--model', 'heston', '--threads', '0']);
    expect(threads.stderr).toMatch(/--threads must be an integer in \[1, 1024\], got '0'/);
  });

  // The shipped CLI (bin/volfit.js over dist/, built by `npm test`): workers from compiled .js.
  it.skipIf(!distBuilt())('runs its worker threads from dist/', async () => {
    const { csv, dates } = anchorDays(2);
    const input = join(dir, 'two-days.csv');
    writeFileSync(input, csv);
    const r = await spawnCli(['calibrate', '--input', input, '--model', 'heston', '--backend', 'cpu', '--start', COLD, '--threads', '2'], { timeoutMs: 120_000 });
    expect(r.stderr).toMatch(/2 \/ 2 surfaces done/);
    expect(r.code).toBe(0);
    expect(jsonl(r.stdout).map((f) => f.surface)).toEqual(dates);
  });
});
