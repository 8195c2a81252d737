/**
 * bench/backtest: the nightly backtest (src/backtest, issue 15) on identical inputs to QuantLib.
 *
 * (a) Heston warm chain over the 100 days of the anchor's quote_sets_canonical.csv, unweighted,
 *     prior off, day 1 from QuantLib's cold start and each day from the previous fit (as
 *     quantlib_heston_warm.csv), run through runBacktest with no restart after change points and
 *     stale days kept in the chain (QuantLib's chain has neither): each day's RMSE against the
 *     recorded QuantLib RMSE (target: within 0.01 vol points or better), total fit time against
 *     QuantLib's 80.6 s (recorded) and QuantLib's warm chain re-run in this process run
 *     (bench/quantlib/anchor.py with warm: true). Target 80x, not done below 30x.
 * (b) Bates every day from the previous day's Bates fit, with the prior (the backtest default
 *     strength 0.25, and a looser 0.05) and without it, against quantlib_bates_from_heston.csv (every 5th day: QuantLib's
 *     Bates from that day's warm Heston fit, median 0.68 vol points, 15.6 s a day): days at or below
 *     QuantLib's RMSE, median seconds a day (target < 0.5 s), and the days whose jump parameters
 *     run to a degenerate corner (lambda within 1e-3 of its range from a bound, or a vanishing jump:
 *     |muJ| and sigmaJ both below 0.01).
 * (c) The whole bundled job from the shipped CLI (dist/): `volfit backtest --input
 *     data/deribit-btc-daily --db ... --report ...` (normalize + Black + Heston + Bates, 100 days):
 *     wall time, peak memory (/usr/bin/time), DuckDB size, change points and stale days found.
 *
 * `npm run bench backtest -- --quick`: (a) and (b) without the QuantLib re-run, no (c); `-- --heston` (a) only,
 * `-- --bates` (b) only; `-- --prior-only`: of (b), the default prior chain alone; `-- --job` (c) only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBacktest, type PriorMode } from '../src/backtest/run.js';
import type { DayRecord } from '../src/backtest/types.js';
import { ANCHOR_COLD_START, ANCHOR_CSV, anchorSurfaces, quantlibDays, recordedRows } from './lib/anchor.js';
import { quantlibAvailable, runQuantLib } from './lib/quantlib.js';
import { recordResults, type BenchRow } from './lib/results.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const chain = { restartAfterShift: false, skipStale: false, backend: 'cpu' as const, threads: 1 };

async function hestonWarm(ql: boolean): Promise<BenchRow> {
  const recorded = recordedRows('quantlib_heston_warm.csv');
  const recordedTotal = [...recorded.values()].reduce((s, r) => s + Number(r.seconds), 0);
  const t0 = performance.now();
  const r = await runBacktest({ ...chain, input: fileURLToPath(ANCHOR_CSV), models: ['heston'], prior: 'off', coldStart: { heston: ANCHOR_COLD_START } });
  const wall = (performance.now() - t0) / 1000;
  const fitSeconds = r.days.reduce((s, d) => s + d.fits.heston.seconds, 0);
  let rerunTotal: number | undefined;
  if (ql) {
    console.log('QuantLib: re-running the warm Heston chain over the 100 anchor days (bench/quantlib/anchor.py, minutes) ...');
    const out = runQuantLib<{ days: Array<{ seconds: number; rmse_iv: number }> }>('anchor.py', { start: ANCHOR_COLD_START, warm: true, days: quantlibDays(anchorSurfaces()) });
    rerunTotal = out.days.reduce((s, d) => s + d.seconds, 0);
  }
  const diffs = r.days.map((d) => ({ date: d.date, diff: 100 * d.fits.heston.rmse_iv! - Number(recorded.get(d.date)!.rmse_iv_vol_pts) }));
  const misses = diffs.filter((d) => !(d.diff <= 0.01));
  for (const d of r.days) console.log(`${d.date} heston ${(100 * d.fits.heston.rmse_iv!).toFixed(4)} vs QuantLib ${Number(recorded.get(d.date)!.rmse_iv_vol_pts).toFixed(4)}  ${d.fits.heston.seconds.toFixed(3)} s  ${d.fits.heston.route}`);
  const sorted = diffs.map((d) => d.diff).sort((a, b) => a - b);
  const row: BenchRow = {
    name: 'backtest anchor heston warm 100 days',
    volfit_per_s: r.days.length / fitSeconds,
    quantlib_per_s: r.days.length / (rerunTotal ?? recordedTotal),
    ratio: (rerunTotal ?? recordedTotal) / fitSeconds,
    ratio_recorded: recordedTotal / fitSeconds,
    volfit_fit_s: fitSeconds,
    volfit_wall_s: wall,
    quantlib_rerun_s: rerunTotal,
    quantlib_recorded_s: recordedTotal,
    days_within_0_01: `${diffs.length - misses.length}/${diffs.length}`,
    rmse_diff_median: median(sorted),
    rmse_diff_max: sorted[sorted.length - 1],
    rmse_diff_min: sorted[0],
    days_missing: misses.length ? misses.map((d) => `${d.date} (+${d.diff.toFixed(3)})`).join('; ') : 'none',
  };
  console.log(`heston warm: ${fitSeconds.toFixed(2)} s of fits (${wall.toFixed(1)} s wall); QuantLib ${rerunTotal?.toFixed(1) ?? '-'} s re-run, ${recordedTotal.toFixed(1)} s recorded; ratio ${(row.ratio as number).toFixed(1)}x; within 0.01: ${row.days_within_0_01}`);
  return row;
}

/** Jumps at a corner: lambda or sigmaJ within 1e-3 of its range from a bound, or a vanishing jump (|muJ| and sigmaJ < 0.01). */
function degenerate(p: Record<string, number> | null): boolean {
  if (!p) return false;
  const near = (v: number, lo: number, hi: number) => v - lo <= 1e-3 * (hi - lo) || hi - v <= 1e-3 * (hi - lo);
  return near(p.lambda, 0, 200) || near(p.sigmaJ, 1e-4, 3) || (Math.abs(p.muJ) < 0.01 && p.sigmaJ < 0.01);
}

/** How many corner days of each kind: jumps turned into a diffusion (lambda -> 200, sigmaJ -> 1e-4), jumps switched off (lambda -> 0: often a rare large crash, muJ ~ -2), a vanishing jump. */
function cornerKinds(ps: Array<Record<string, number>>): string {
  const near = (v: number, at: number, other: number) => Math.abs(v - at) <= 1e-3 * Math.abs(other - at);
  const kinds = { 'lambda->200': (p: Record<string, number>) => near(p.lambda, 200, 0), 'lambda->0': (p: Record<string, number>) => near(p.lambda, 0, 200), 'sigmaJ->1e-4': (p: Record<string, number>) => near(p.sigmaJ, 1e-4, 3), vanishing: (p: Record<string, number>) => Math.abs(p.muJ) < 0.01 && p.sigmaJ < 0.01 };
  return Object.entries(kinds).map(([k, f]) => `${k} ${ps.filter(f).length}`).join(', ');
}

async function batesChain(prior: 'off' | 'previous', mode: PriorMode = 'check', strength?: number, drift?: number): Promise<{ row: BenchRow; days: DayRecord[] }> {
  const recorded = recordedRows('quantlib_bates_from_heston.csv');
  const warm = recordedRows('quantlib_heston_warm.csv');
  const first = [...warm.values()][0];
  // Day 1 as QuantLib's chains: that day's warm Heston fit with lambda .5, muJ -.1, sigmaJ .15.
  const start = { v0: Number(first.v0), kappa: Number(first.kappa), theta: Number(first.theta), sigma: Number(first.sigma), rho: Number(first.rho), lambda: 0.5, muJ: -0.1, sigmaJ: 0.15 };
  const t0 = performance.now();
  const r = await runBacktest({ ...chain, input: fileURLToPath(ANCHOR_CSV), models: ['bates'], prior, priorMode: mode, ...(strength ? { priorStrength: strength } : {}), ...(drift !== undefined ? { priorDrift: drift } : {}), coldStart: { bates: start } });
  const wall = (performance.now() - t0) / 1000;
  const compared = r.days.filter((d) => recorded.has(d.date));
  const above = compared.filter((d) => !(100 * d.fits.bates.rmse_iv! <= Number(recorded.get(d.date)!.rmse_iv_vol_pts) + 1e-6));
  const corners = r.days.filter((d) => degenerate(d.fits.bates.params));
  for (const d of compared) console.log(`${d.date} bates (${prior}) ${(100 * d.fits.bates.rmse_iv!).toFixed(4)} vs QuantLib ${Number(recorded.get(d.date)!.rmse_iv_vol_pts).toFixed(4)}  ${d.fits.bates.seconds.toFixed(2)} s  lambda ${d.fits.bates.params?.lambda.toPrecision(3)} muJ ${d.fits.bates.params?.muJ.toPrecision(3)} sigmaJ ${d.fits.bates.params?.sigmaJ.toPrecision(3)}`);
  const secs = r.days.map((d) => d.fits.bates.seconds);
  const ql = compared.map((d) => Number(recorded.get(d.date)!.seconds));
  const row: BenchRow = {
    name: `backtest anchor bates chain prior ${prior === 'off' ? 'off' : mode}${strength ? ` strength ${strength}` : ''}${drift !== undefined ? ` drift ${drift}` : ''}`,
    volfit_per_s: 1 / median(secs),
    quantlib_per_s: 1 / median(ql),
    ratio: median(ql) / median(secs),
    volfit_median_s_per_day: median(secs),
    volfit_total_fit_s: secs.reduce((a, b) => a + b, 0),
    volfit_wall_s: wall,
    quantlib_median_s_per_day: median(ql),
    rmse_median_vol_pts: median(r.days.map((d) => 100 * d.fits.bates.rmse_iv!)),
    rmse_median_on_quantlib_days: median(compared.map((d) => 100 * d.fits.bates.rmse_iv!)),
    quantlib_rmse_median: median(compared.map((d) => Number(recorded.get(d.date)!.rmse_iv_vol_pts))),
    days_at_or_below_quantlib: `${compared.length - above.length}/${compared.length}`,
    days_within_0_01_of_quantlib: `${compared.filter((d) => 100 * d.fits.bates.rmse_iv! <= Number(recorded.get(d.date)!.rmse_iv_vol_pts) + 0.01).length}/${compared.length}`,
    days_above: above.length ? above.map((d) => `${d.date} (${(100 * d.fits.bates.rmse_iv! - Number(recorded.get(d.date)!.rmse_iv_vol_pts)).toFixed(3)})`).join('; ') : 'none',
    degenerate_days: corners.length,
    degenerate_kinds: cornerKinds(corners.map((d) => d.fits.bates.params!)),
    degenerate_dates: corners.map((d) => d.date).join(' ') || 'none',
    not_converged: r.days.filter((d) => !d.fits.bates.converged).length,
    ...(prior === 'previous' && mode === 'check'
      ? {
          conflict_days: r.days.filter((d) => d.fits.bates.prior_check?.conflict).length,
          degenerate_conflicts: `${corners.filter((d) => d.fits.bates.prior_check?.conflict).length}/${corners.filter((d) => d.fits.bates.prior_check).length}`,
        }
      : {}),
  };
  console.log(`bates prior ${prior} ${mode}: median ${median(secs).toFixed(2)} s/day; at or below QuantLib ${row.days_at_or_below_quantlib}; degenerate ${corners.length} days`);
  return { row, days: r.days };
}

/** Bytes under a folder. */
function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).reduce((n, e) => (e.isFile() ? n + statSync(join(e.parentPath, e.name)).size : n), 0);
}

function wholeJob(): BenchRow {
  const tmp = mkdtempSync(join(tmpdir(), 'volfit-bench-backtest-'));
  try {
    const db = join(tmp, 'backtest.duckdb');
    const report = join(tmp, 'report');
    const t0 = performance.now();
    const args = ['-f', '%M %U', process.execPath, join(ROOT, 'bin/volfit.js'), 'backtest', '--input', join(ROOT, 'data/deribit-btc-daily'), '--db', db, '--report', report, '--json'];
    const r = spawnSync('/usr/bin/time', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
    const wall = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`volfit backtest failed: ${r.stderr.slice(-2000)}`);
    const [peakKb, userCpu] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    type Day = { fits: Record<string, { seconds: number }>; best_model: string | null };
    const j = JSON.parse(r.stdout) as { days: Day[]; change_points: string[]; stale_days: string[]; seconds: number };
    const fitSeconds = (m: string) => j.days.reduce((t, d) => t + (d.fits[m]?.seconds ?? 0), 0);
    const best = new Map<string, number>();
    for (const d of j.days) if (d.best_model) best.set(d.best_model, (best.get(d.best_model) ?? 0) + 1);
    return {
      name: 'backtest bundled job 100 days black heston bates',
      volfit_wall_s: wall,
      job_seconds: j.seconds,
      user_cpu_s: userCpu,
      days: j.days.length,
      peak_rss_mb: peakKb / 1024,
      duckdb_mb: statSync(db).size / 2 ** 20,
      report_mb: folderBytes(report) / 2 ** 20,
      fit_s_black: fitSeconds('black'),
      fit_s_heston: fitSeconds('heston'),
      fit_s_bates: fitSeconds('bates'),
      change_points: j.change_points.join(' ') || 'none',
      stale_days: j.stale_days.join(' ') || 'none',
      best_model_days: [...best].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', '),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const BACKTEST_NOTES = [
  'backtest anchor heston warm: runBacktest over data/deribit-btc-daily-quantlib-anchor/quote_sets_canonical.csv (100 days, unweighted), Heston only, prior off, day 1 from QuantLib\'s cold start (v0 .4, kappa 2, theta .4, sigma 1, rho 0), each later day from the previous fit, no cold restart after change points, the stale day kept in the chain (as QuantLib\'s chain). volfit_fit_s: the sum of the fits\' own seconds (QuantLib\'s figures are model.calibrate alone); volfit_wall_s: the whole runBacktest (quote split, stale test, series, detector). ratio = QuantLib re-run total (bench/quantlib/anchor.py, warm: true, this run) / volfit_fit_s; ratio_recorded against quantlib_heston_warm.csv\'s 80.6 s. days_within_0_01: volfit RMSE <= recorded QuantLib RMSE + 0.01 vol points. Issue 15 target: 80x, not done below 30x.',
  'backtest anchor bates chain: Bates every day from the previous day\'s Bates fit (day 1 from that day\'s warm QuantLib Heston fit + lambda .5, muJ -.1, sigmaJ .15, as QuantLib\'s chains), with the previous fit as Gaussian prior (strength 0.25 and drift 0.3: covariance / 0.25 plus 0.3^2 on the diagonal in the unconstrained z): prior check (the default since 2026-12-03: the data\'s own optimum from the previous fit, tested against the prior, the cold route also run on a conflict or a fit at a bound), prior map (a MAP fit, the default before; the rows named prior previous ... map were measured with MAP, the only mode then), or prior off (warm start only; the corner rescue since 2026-12-03). Compared on the 20 days of quantlib_bates_from_heston.csv (QuantLib starts each of those from that day\'s warm Heston fit: a fresh start, 15.6 s median). ratio = QuantLib median s/day / volfit median s/day. degenerate: lambda (0..200) or sigmaJ (1e-4..3) within 1e-3 of its range from a bound, or |muJ| and sigmaJ both < 0.01; degenerate_kinds counts each kind (a day can have two); conflict_days: checked days with p < 1 %; degenerate_conflicts: conflicts among the corner days that had a prior. All chains keep the stale 2026-01-13 in the chain (skipStale off, as QuantLib).',
  'backtest bundled job: `volfit backtest --input data/deribit-btc-daily --db x.duckdb --report dir --json` from dist/ (defaults: black, heston, bates; prior previous, mode check, strength 0.25, drift 0.3; cold restart after change points; per-day reports included); peak_rss_mb and user_cpu_s from /usr/bin/time (%M, %U); report_mb: the report folder; fit_s_*: the sums of the days\' fit seconds per model.',
  'Measured on the shared 2-core sandbox with other jobs running (load from other helpers): absolute seconds are inflated and vary run to run.',
];

export async function run(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const ql = quantlibAvailable() && !quick;
  // `--heston` / `--bates`: one part only (the other rows stay as last recorded).
  const only = process.argv.includes('--heston') ? 'heston' : process.argv.includes('--bates') ? 'bates' : process.argv.includes('--job') ? 'job' : undefined;
  const rows: BenchRow[] = only === 'bates' || only === 'job' ? [] : [await hestonWarm(ql)];
  if (only === undefined || only === 'bates') {
    rows.push((await batesChain('previous')).row);
    // `--prior-only`: the default prior chain alone (the other two take most of (b)'s time).
    if (!process.argv.includes('--prior-only')) rows.push((await batesChain('previous', 'map', undefined, 0.3)).row, (await batesChain('off')).row);
  }
  if ((!quick && !only) || only === 'job') {
    if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('bench backtest (c) runs the shipped CLI: npm run build first');
    rows.push(wholeJob());
  }
  recordResults(rows, 'backtest', BACKTEST_NOTES);
}
