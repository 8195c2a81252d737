/**
 * The backtest report's publishing part: on the index, the daily RMSE of the published vols
 * against the next day's market and a table of what was signed; `published.html`, a section per
 * day with each expiry's published smile (what a contract reads, the BigInt evaluator) over the
 * next day's market mid IVs, and the RMSE per expiry.
 */
import { escapeHtml } from '../report/html.js';
import { Plot, renderPlot } from '../report/svg.js';
import type { NextDayComparison } from './publish.js';
import type { DayRecord } from './types.js';

const pts = (v: number | null) => (v === null ? '-' : (100 * v).toFixed(2));

function rmsePlot(compared: readonly NextDayComparison[]): string {
  const rows = compared.flatMap((c) => (c.rmse_iv === null ? [] : [{ date: new Date(`${c.next_date}T00:00:00Z`), rmse: 100 * c.rmse_iv }]));
  if (rows.length === 0) return '';
  return renderPlot({
    width: 900,
    height: 220,
    x: { type: 'utc', label: null },
    y: { label: "published vs next day's market, RMSE (vol points)", grid: true },
    marks: [Plot.line(rows, { x: 'date', y: 'rmse', stroke: '#444' }), Plot.dot(rows, { x: 'date', y: 'rmse', r: 2, fill: '#444' })],
  });
}

/** The index's section: the daily error, and a row per day (what was signed, or why not). */
export function publishedSummary(days: readonly DayRecord[], compared: readonly NextDayComparison[]): string {
  const byDate = new Map(compared.map((c) => [c.date, c]));
  const rows = days.flatMap((d) => {
    const p = d.published;
    if (!p) return [];
    const c = byDate.get(d.date);
    const what = p.error === null ? `${p.updates} updates, data as of ${escapeHtml(p.as_of ?? '-')}` : `refused: ${escapeHtml(p.error)}`;
    const date = c ? `<a href="published.html#d${d.date}">${d.date}</a>` : d.date;
    return [`<tr><td>${date}</td><td>${escapeHtml(p.model)}</td><td style="text-align:left">${what}</td><td>${c?.next_date ?? '-'}</td><td>${c?.quotes ?? '-'}</td><td>${c ? pts(c.rmse_iv) : '-'}</td></tr>`];
  });
  const signer = days.find((d) => d.published?.signer)?.published?.signer ?? '-';
  return `<h2>Published vol-feed updates against the next day's market</h2>
<p>Each day's fit signed as one update per expiry (signer ${escapeHtml(signer)}; files in <code>updates/&lt;date&gt;.json</code>), read back as a contract would (1e18 fixed point)
at the strikes the next day's market quotes for the same expiry. RMSE in vol points; per day and expiry in <a href="published.html">published.html</a>.</p>
${rmsePlot(compared)}
<table><tr><th>date</th><th>model</th><th>signed</th><th>next day</th><th>quotes</th><th>RMSE</th></tr>${rows.join('\n')}</table>`;
}

function dayPlot(c: NextDayComparison): string {
  const rows = c.expiries.flatMap((e) => e.points.map((p) => ({ expiry: e.expiry_iso.slice(0, 10), k: p.k, published: 100 * p.published_iv, market: 100 * p.market_iv })));
  return renderPlot({
    width: 900,
    height: 320,
    x: { label: 'k = ln(K / published forward)' },
    y: { label: 'vol (points)', grid: true },
    color: { type: 'ordinal', legend: true },
    marks: [
      Plot.line(rows, { x: 'k', y: 'published', stroke: 'expiry' }),
      Plot.dot(rows, { x: 'k', y: 'market', stroke: 'expiry', r: 2, title: (r: { expiry: string; market: number; published: number }) => `${r.expiry} market ${r.market.toFixed(2)} published ${r.published.toFixed(2)}` }),
    ],
  });
}

function daySection(c: NextDayComparison): string {
  const table = c.expiries.map((e) => `<tr><td>${escapeHtml(e.expiry_iso)}</td><td>${e.T.toFixed(4)}</td><td>${e.points.length}</td><td>${pts(e.rmse_iv)}</td></tr>`).join('\n');
  const body = c.expiries.length
    ? `${dayPlot(c)}<table><tr><th>expiry</th><th>T (published)</th><th>quotes</th><th>RMSE</th></tr>${table}</table>`
    : '<p>No published expiry trades on the next day.</p>';
  return `<h2 id="d${c.date}">${c.date}, published, against ${c.next_date}: RMSE ${pts(c.rmse_iv)} vol points over ${c.quotes} quotes</h2>
<p>Lines: the published vols (fixed-point evaluator); dots: the next day's market mid IVs.</p>${body}`;
}

export function publishedPage(days: readonly DayRecord[], compared: readonly NextDayComparison[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>volfit backtest: published vols</title><style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1000px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 5px;text-align:right}</style></head><body>
<h1>Published vol-feed updates against the next day's market (${days[0]?.date ?? ''} to ${days[days.length - 1]?.date ?? ''})</h1>
<p><a href="index.html">back to the backtest</a></p>
${compared.map(daySection).join('\n')}
</body></html>`;
}
