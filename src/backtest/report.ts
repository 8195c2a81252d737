/**
 * The backtest report: `<dir>/index.html` with each model's parameters over time (stderr bands),
 * the RMSE per model per day, the change points (red rules) and stale days (grey rules) marked, a
 * day table and a link per day to `days/<date>/index.html`, that day's calibration report (the
 * `volfit report` page, built from the stored quotes and fits: smiles, residuals, parameters).
 * With publishing on: `updates/<date>.json` (each day's signed updates), `published.html` (per
 * day and expiry, the published vols against the next day's market) and a summary section.
 * Everything is inline SVG (Observable Plot through src/report/svg.ts); files are written
 * atomically, index.html last.
 */
import { join, resolve } from 'node:path';
import type { Logger } from '../backends/backend.js';
import { buildReport, writeReport } from '../report/build.js';
import type { FitResult } from '../report/fit.js';
import { escapeHtml } from '../report/html.js';
import { modelColor } from '../report/plots.js';
import { Plot, renderPlot } from '../report/svg.js';
import { makeDirs, writeFileAtomic } from '../util/files.js';
import type { UpdatesFile } from '../publish/publish.js';
import { nextDayComparison, type NextDayComparison } from './publish.js';
import { publishedPage, publishedSummary } from './publishedReport.js';
import type { DayDetail, DayRecord, FitRecord } from './types.js';

const dateOf = (d: string) => new Date(`${d}T00:00:00Z`);

function marks(days: readonly DayRecord[]) {
  return [
    Plot.ruleX(days.filter((d) => d.stale).map((d) => dateOf(d.date)), { stroke: '#999', strokeDasharray: '3,3' }),
    Plot.ruleX(days.filter((d) => d.change_point.flagged).map((d) => dateOf(d.date)), { stroke: '#d00', strokeWidth: 1.5 }),
  ];
}

function rmsePlot(days: readonly DayRecord[], models: readonly string[]): string {
  const rows = days.flatMap((d) => models.flatMap((m) => (d.fits[m]?.rmse_iv != null ? [{ date: dateOf(d.date), model: m, rmse: 100 * d.fits[m].rmse_iv! }] : [])));
  return renderPlot({
    width: 900,
    height: 260,
    y: { label: 'IV RMSE (vol points)', grid: true },
    x: { type: 'utc', label: null },
    color: { domain: [...models], range: models.map((m, i) => modelColor(m, i)), legend: true },
    marks: [...marks(days), Plot.line(rows, { x: 'date', y: 'rmse', stroke: 'model' }), Plot.dot(rows, { x: 'date', y: 'rmse', fill: 'model', r: 2, title: (r: { model: string; rmse: number }) => `${r.model} ${r.rmse.toFixed(3)}` })],
  });
}

function paramPlot(days: readonly DayRecord[], model: string, name: string, index: number): string {
  const rows = days.flatMap((d) => {
    const f: FitRecord | undefined = d.fits[model];
    const v = f?.params?.[name];
    if (v === undefined) return [];
    const se = f!.stderr?.[name];
    const s = typeof se === 'number' && Number.isFinite(se) ? se : 0;
    return [{ date: dateOf(d.date), v, lo: v - s, hi: v + s, stale: d.stale }];
  });
  return renderPlot({
    width: 440,
    height: 180,
    marginLeft: 60,
    x: { type: 'utc', label: null, ticks: 4 },
    y: { label: `${model} ${name}`, grid: true },
    marks: [
      ...marks(days),
      Plot.areaY(rows, { x: 'date', y1: 'lo', y2: 'hi', fill: modelColor(model, index), fillOpacity: 0.2 }),
      Plot.line(rows, { x: 'date', y: 'v', stroke: modelColor(model, index) }),
      Plot.dot(rows, { x: 'date', y: 'v', r: 1.5, fill: (r: { stale: boolean }) => (r.stale ? '#999' : modelColor(model, index)) }),
    ],
  });
}

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function dayTable(days: readonly DayRecord[], models: readonly string[], linked: ReadonlySet<string>): string {
  const head = `<tr><th>date</th><th>quotes</th>${models.map((m) => `<th>${escapeHtml(m)} rmse</th><th>${escapeHtml(m)} BIC</th>`).join('')}<th>best</th><th>P(change)</th><th>notes</th></tr>`;
  const rows = days.map((d) => {
    const cells = models.map((m) => {
      const f = d.fits[m];
      return `<td>${f?.rmse_iv != null ? fmt(100 * f.rmse_iv) : 'failed'} <small>${f?.route ?? ''}</small></td><td>${fmt(f?.bic, 1)}</td>`;
    });
    const conflicts = models.filter((m) => d.fits[m]?.prior_check?.conflict).map((m) => `${m} (p ${d.fits[m].prior_check!.p_value.toExponential(1)}${d.fits[m].cold_rescue?.kept === 'cold' ? ', cold route kept' : ''})`);
    const notes = [d.stale ? `stale: ${d.stale_reason}` : '', d.change_point.flagged ? `change point: ${d.change_point.series.join(', ')}` : '', conflicts.length ? `prior conflict: ${conflicts.join(', ')}` : ''].filter(Boolean);
    const date = linked.has(d.date) ? `<a href="days/${d.date}/index.html">${d.date}</a>` : d.date;
    const cls = d.change_point.flagged ? ' class="cp"' : d.stale ? ' class="stale"' : '';
    return `<tr${cls}><td>${date}</td><td>${d.quotes}</td>${cells.join('')}<td>${escapeHtml(d.best_model ?? '-')}</td><td>${fmt(d.change_point.probability)}</td><td>${escapeHtml(notes.join('; '))}</td></tr>`;
  });
  return `<table>${head}${rows.join('\n')}</table>`;
}

/** The calibration result shape the per-day report reads, from a stored fit and its residuals. */
function fitResultOf(f: FitRecord, detail: DayDetail): FitResult | null {
  if (!f.params) return null;
  return {
    model: f.model,
    params: f.params,
    stderr: f.stderr ?? {},
    rmse_iv: f.rmse_iv,
    rmse_price: null,
    objective: NaN,
    iterations: f.iterations,
    evaluations: 0,
    route: { name: f.optimizer.split(':')[0], reason: `${f.route}; ${f.optimizer}` },
    converged: f.converged,
    backend: '',
    seconds: f.seconds,
    quotes: { used: f.quotes_used, excluded: [] },
    residuals: detail.residuals[f.model] ?? [],
    message: f.message,
    // Slice models: the per-expiry table (ssvi's theta) and the arbitrage report on the day's page.
    ...(f.slices ? { slices: f.slices, arbitrage: f.arbitrage as FitResult['arbitrage'] } : {}),
  };
}

/** With publishing: `published.html` (a plot per day, expiry by expiry) and the index's summary; nothing otherwise. */
function publishedSection(dir: string, days: readonly DayRecord[], compared: readonly NextDayComparison[]): string {
  if (!days.some((d) => d.published)) return '';
  writeFileAtomic(join(dir, 'published.html'), publishedPage(days, compared));
  return publishedSummary(days, compared);
}

export async function writeBacktestReport(
  dir: string,
  days: readonly DayRecord[],
  models: readonly string[],
  detail: (date: string) => Promise<DayDetail | undefined>,
  log?: Logger,
): Promise<string> {
  makeDirs(dir);
  const linked = new Set<string>();
  const compared: NextDayComparison[] = [];
  let prev: { date: string; updates?: UpdatesFile } | undefined;
  for (const d of days) {
    const det = await detail(d.date);
    if (prev?.updates && det) compared.push(nextDayComparison(prev.date, prev.updates, d.date, det.quotes));
    prev = { date: d.date, ...(det?.updates ? { updates: det.updates } : {}) };
    if (det?.updates) {
      makeDirs(join(dir, 'updates'));
      writeFileAtomic(join(dir, 'updates', `${d.date}.json`), JSON.stringify(det.updates, null, 2) + '\n');
    }
    if (!det || det.quotes.length === 0) continue;
    const fits = models.map((m) => (d.fits[m] ? fitResultOf(d.fits[m], det) : null)).filter((f): f is FitResult => f !== null);
    const data = await buildReport(det.quotes, fits, {
      title: `volfit backtest ${d.date}: ${models.join(', ')}`,
      dataSource: `${d.source} (${d.date})`,
      exclusions: det.excluded.map((e) => ({ row: e.row, reason: e.reason, stage: 'normalize' })),
      rowsIn: d.book.rows_in,
      notes: [d.stale ? `Stale book: ${d.stale_reason}.` : '', d.change_point.flagged ? `Change point (probability ${fmt(d.change_point.probability)}): ${d.change_point.series.join(', ')}.` : ''].filter(Boolean),
      greekPoints: 11,
    });
    writeReport(join(dir, 'days', d.date), data);
    linked.add(d.date);
    log?.(`report: day ${d.date}`);
  }
  const params = models.flatMap((m, i) => {
    const names = Object.keys(days.find((d) => d.fits[m]?.params)?.fits[m].params ?? {});
    // Black's parameters are one vol per listed expiry, which change from day to day: no time series.
    return m === 'black' ? [] : names.map((n) => paramPlot(days, m, n, i));
  });
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>volfit backtest</title><style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1000px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 5px;text-align:right}
tr.cp{background:#fdd}tr.stale{background:#eee}.grid{display:flex;flex-wrap:wrap;gap:8px}</style></head><body>
<h1>volfit backtest: ${escapeHtml(models.join(', '))}, ${days.length} days (${days[0]?.date ?? ''} to ${days[days.length - 1]?.date ?? ''})</h1>
<p>Red rules: change points (${days.filter((d) => d.change_point.flagged).map((d) => d.date).join(', ') || 'none'}); grey dashed rules: stale days (${days.filter((d) => d.stale).map((d) => d.date).join(', ') || 'none'}).
Bands: &plusmn;1 posterior standard error. Best model per day: lowest BIC (n ln(SSE/n) + k ln n over the unweighted IV residuals).</p>
<h2>IV RMSE per model</h2>${rmsePlot(days, models)}
<h2>Parameters</h2><div class="grid">${params.join('\n')}</div>
${publishedSection(dir, days, compared)}
<h2>Days</h2>${dayTable(days, models, linked)}
</body></html>`;
  const path = resolve(join(dir, 'index.html'));
  writeFileAtomic(path, html);
  return path;
}
