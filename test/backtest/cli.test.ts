/**
 * `volfit backtest` as shipped (bin/volfit.js over dist/, child processes): the --json contract on
 * bundled days with Black, Heston and Bates; a run killed with SIGKILL and re-run with the same
 * arguments ends with the same days as an uninterrupted run (none missing, none duplicated, the
 * same numbers); `--db x --report dir` re-renders without refitting; one-line errors.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, distBuilt, ROOT, spawnCli } from '../cli/spawn.js';

const tmp = mkdtempSync(join(tmpdir(), 'volfit-backtest-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const DAILY = 'data/deribit-btc-daily';

/** The JSON without wall-clock seconds (the only thing two identical runs may differ in). */
function timeless(json: string): unknown {
  return JSON.parse(json, (k, v) => (k === 'seconds' ? undefined : v));
}

async function tableCounts(db: string): Promise<Record<string, number>> {
  const inst = await DuckDBInstance.create(db);
  const c = await inst.connect();
  const out: Record<string, number> = {};
  try {
    for (const t of ['days', 'fits', 'residuals', 'exclusions', 'quotes']) {
      const r = await c.runAndReadAll(`SELECT count(*) AS n FROM ${t}`);
      out[t] = Number(r.getRowObjectsJS()[0].n);
    }
    const dup = await c.runAndReadAll(`SELECT count(*) AS n FROM (SELECT date, model, "row" FROM residuals GROUP BY ALL HAVING count(*) > 1)`);
    out.duplicated_residuals = Number(dup.getRowObjectsJS()[0].n);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
  return out;
}

describe.skipIf(!distBuilt())('volfit backtest (CLI)', () => {
  it('prints the --json contract for bundled days with black, heston and bates, the stale day flagged', async () => {
    const report = join(tmp, 'report');
    const r = await spawnCli(['backtest', '--input', DAILY, '--from', '2026-01-12', '--to', '2026-01-14', '--models', 'black,heston,bates', '--backend', 'cpu', '--json', '--report', report], { timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['days', 'change_points', 'stale_days', 'seconds', 'db']);
    expect(j.days.map((d: { date: string }) => d.date)).toEqual(['2026-01-12', '2026-01-13', '2026-01-14']);
    expect(j.stale_days).toEqual(['2026-01-13']);
    expect(j.db).toBeNull();
    expect(j.seconds).toBeGreaterThan(0);
    for (const d of j.days) {
      expect(Object.keys(d)).toEqual(['date', 'quotes', 'stale', 'stale_reason', 'fits', 'best_model', 'change_point']);
      expect(Object.keys(d.fits)).toEqual(['black', 'heston', 'bates']);
      for (const f of Object.values(d.fits) as Array<Record<string, unknown>>) {
        expect(Object.keys(f).slice(0, 6)).toEqual(['params', 'stderr', 'rmse_iv', 'converged', 'route', 'seconds']);
        expect(f.rmse_iv as number).toBeGreaterThan(0);
        expect(f.rmse_iv as number).toBeLessThan(0.2); // in vol, like calibrate (0.01 = 1 vol point)
        for (const v of Object.values(f.params as Record<string, number>)) expect(Number.isFinite(v)).toBe(true);
      }
      expect(Object.keys(d.change_point)).toEqual(['flagged', 'probability', 'series']);
      // The best model is the one with the lowest BIC that day.
      const bics = Object.entries(d.fits as Record<string, { bic: number }>).sort((a, b) => a[1].bic - b[1].bic);
      expect(d.best_model).toBe(bics[0][0]);
    }
    expect(j.days[1].stale).toBe(true);
    expect(j.days[1].stale_reason).toMatch(/one-sided/);
    expect(j.days[0].stale_reason).toBeNull();
    expect(j.days[2].fits.bates.route).toBe('warm+prior');
    // The checked prior's test (the default --prior-mode check) comes with a warm+prior fit.
    const check = j.days[2].fits.bates.prior_check;
    expect(Object.keys(check)).toEqual(['d2', 'p_value', 'conflict']);
    expect(check.conflict).toBe(check.p_value < 0.01);
    // Report: the overview links every day's calibration report.
    const html = readFileSync(join(report, 'index.html'), 'utf8');
    for (const d of ['2026-01-12', '2026-01-13', '2026-01-14']) {
      expect(html).toContain(`href="days/${d}/index.html"`);
      expect(existsSync(join(report, 'days', d, 'index.html'))).toBe(true);
    }
    expect(html).toContain('<svg');
  }, 150_000);

  it('resumes a run killed with SIGKILL: same days, none duplicated, identical results; --db --report re-renders without refitting', async () => {
    const args = (db: string) => ['backtest', '--input', DAILY, '--from', '2026-01-10', '--to', '2026-01-15', '--models', 'black,heston', '--backend', 'cpu', '--json', '--db', db];
    const whole = join(tmp, 'whole.duckdb');
    const ref = await spawnCli(args(whole), { timeoutMs: 120_000 });
    expect(ref.code).toBe(0);

    const killed = join(tmp, 'killed.duckdb');
    // Kill the child as soon as it reports its second day (it is then fitting the third).
    const sawDays = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args(killed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      let days = 0;
      child.stderr.on('data', (d) => {
        err += d;
        days = (err.match(/backtest \d{4}-\d{2}-\d{2}:/g) ?? []).length;
        if (days >= 2 && !child.killed) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(days) : reject(new Error(`child ended ${code} ${signal} before the kill:\n${err}`))));
    });
    expect(sawDays).toBeGreaterThanOrEqual(2);
    const partial = await tableCounts(killed);
    expect(partial.days).toBeGreaterThanOrEqual(2);
    expect(partial.days).toBeLessThan(6);

    const resumed = await spawnCli(args(killed), { timeoutMs: 120_000 });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming after/);
    expect(timeless(resumed.stdout)).toEqual({ ...(timeless(ref.stdout) as object), db: killed });
    const a = await tableCounts(whole);
    const b = await tableCounts(killed);
    expect(b).toEqual(a);
    expect(a.days).toBe(6);
    expect(a.fits).toBe(12);
    expect(a.duplicated_residuals).toBe(0);

    // Re-render from the store alone: no fitting, the same days.
    const report = join(tmp, 'rerender');
    const again = await spawnCli(['backtest', '--db', killed, '--report', report, '--json'], { timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/backtest \d{4}-\d{2}-\d{2}:/);
    expect(timeless(again.stdout)).toEqual(timeless(resumed.stdout));
    expect(readFileSync(join(report, 'index.html'), 'utf8')).toContain('href="days/2026-01-13/index.html"');
  }, 240_000);

  it('answers bad input with one line and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--input', DAILY, '--models', 'black,nope'], /--models: unknown model "nope"/],
      [['--input', DAILY, '--from', '2026-13-45'], /--from 2026-13-45: not a date/],
      [['--input', join(tmp, 'missing')], /--input .*: no such file or folder/],
      [['--input', DAILY, '--prior-strength', '0'], /--prior-strength 0: must be a positive number/],
      [['--input', DAILY, '--prior-drift', '-1'], /--prior-drift -1: must be a number >= 0/],
      [['--input', DAILY, '--prior-mode', 'mean'], /--prior-mode .*'mean' is invalid.*check, map/],
      [['--db', join(tmp, 'none.duckdb'), '--report', join(tmp, 'r')], /--db .*: no such file/],
      [[], /give --input/],
      [['--input', DAILY, '--from', '2027-01-01'], /no days between 2027-01-01 and the last day/],
    ];
    for (const [args, re] of cases) {
      const r = await spawnCli(['backtest', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
  }, 60_000);
});
