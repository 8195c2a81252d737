/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no script, no network),
 * rendered by a pure function of ReportData. Every number taken from a fit carries
 * `data-fit`/`data-field`/`data-value` attributes with the exact JSON value, so tests (and
 * scripts) can check the page against fit.json; the fits themselves are embedded as JSON.
 */
import { atBound, correlation, routeName, type FitResult } from './fit.js';
import {
  convergencePlot,
  densityPlot,
  exclusionPlot,
  expiryLegend,
  formatForward,
  greekExpiries,
  greekPlot,
  localVolHeatmap,
  modelLegend,
  modelColor,
  residualHeatmap,
  smilePlot,
  spreadPlot,
  stabilityPlot,
  totalVariancePlot,
} from './plots.js';
import type { ReportData, ReportExclusion } from './types.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Display format: 6 significant digits, exponent for very large or small magnitudes. */
export function formatNumber(v: number | null | undefined, digits = 6): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

function num(fit: string, field: string, v: number | null | undefined, shown?: string): string {
  const value = v === null || v === undefined || !Number.isFinite(v) ? '' : String(v);
  return `<span class="num" data-fit="${escapeHtml(fit)}" data-field="${escapeHtml(field)}" data-value="${value}">${
    shown ?? formatNumber(v)
  }</span>`;
}

const volPoints = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(3)}`);

/** Exclusion reasons carry values ("strike -5 is not positive"): group them by their wording. */
export function reasonKey(reason: string): string {
  return reason.replace(/[-+]?\d+(\.\d+)?(e[-+]?\d+)?/gi, '#').trim();
}

function summaryTable(fits: FitResult[]): string {
  const rows = fits
    .map(
      (f, i) => `<tr>
  <td><span class="swatch" style="background:${modelColor(f.model, i)}"></span>${escapeHtml(f.model)}</td>
  <td>${num(f.model, 'rmse_iv', f.rmse_iv, volPoints(f.rmse_iv))}</td>
  <td>${num(f.model, 'rmse_price', f.rmse_price)}</td>
  <td>${num(f.model, 'objective', f.objective)}</td>
  <td>${num(f.model, 'iterations', f.iterations)}</td>
  <td>${num(f.model, 'evaluations', f.evaluations)}</td>
  <td>${escapeHtml(routeName(f.route))}</td>
  <td class="${f.converged ? 'ok' : 'bad'}" data-fit="${escapeHtml(f.model)}" data-field="converged" data-value="${f.converged}">${
    f.converged ? 'yes' : 'no'
  }</td>
  <td>${escapeHtml(f.backend)}</td>
  <td>${num(f.model, 'seconds', f.seconds, f.seconds.toFixed(2))}</td>
  <td>${num(f.model, 'quotes.used', f.quotes.used)} / ${num(f.model, 'quotes.excluded', f.quotes.excluded.length)}</td>
</tr>${f.message ? `<tr><td></td><td colspan="10" class="note">${escapeHtml(f.message)}</td></tr>` : ''}`,
    )
    .join('\n');
  return `<table class="summary"><thead><tr><th>model</th><th>RMSE IV (vol pts)</th><th>RMSE price</th><th>objective</th>
<th>iterations</th><th>evaluations</th><th>route</th><th>converged</th><th>backend</th><th>seconds</th><th>quotes used / excluded</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function paramTable(fit: FitResult): string {
  const names = Object.keys(fit.params);
  const rows = names
    .map((n) => {
      const se = fit.stderr[n] ?? null;
      const rel = se !== null && fit.params[n] !== 0 ? Math.abs(se / fit.params[n]) : null;
      const bound = atBound(fit, n);
      const flag = bound ? ` <span class="bad" title="bounds ${fit.bounds![n].join(' to ')}">at ${bound} bound</span>` : '';
      return `<tr><th>${escapeHtml(n)}</th><td>${num(fit.model, `params.${n}`, fit.params[n])}${flag}</td><td>${num(
        fit.model,
        `stderr.${n}`,
        se,
      )}</td><td>${rel === null ? '–' : `${(100 * rel).toFixed(1)} %`}</td></tr>`;
    })
    .join('');
  const table = `<table class="params"><thead><tr><th>parameter</th><th>value</th><th>std. error</th><th>rel.</th></tr></thead><tbody>${rows}</tbody></table>`;
  if (!fit.correlations || names.length > 12) return table;
  const head = names.map((n) => `<th>${escapeHtml(n)}</th>`).join('');
  const body = names
    .map((a) => {
      const cells = names
        .map((b) => {
          const c = correlation(fit, a, b);
          if (c === null) return '<td>–</td>';
          // Red for positive, blue for negative; strength by |c|.
          const bg = c >= 0 ? `rgba(214,39,40,${(0.75 * Math.abs(c)).toFixed(3)})` : `rgba(31,119,180,${(0.75 * Math.abs(c)).toFixed(3)})`;
          return `<td style="background:${bg}">${num(fit.model, `correlations.${a}.${b}`, c, c.toFixed(2))}</td>`;
        })
        .join('');
      return `<tr><th>${escapeHtml(a)}</th>${cells}</tr>`;
    })
    .join('');
  return `${table}<table class="corr"><caption>correlations</caption><thead><tr><th></th>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Slice models: one row per expiry with its own parameters (`slices[i].params`) and its IV RMSE. */
function sliceTable(fit: FitResult): string {
  const slices = fit.slices ?? [];
  // Black's slices are its vol_<expiry> parameters, already in the parameter table.
  if (slices.length === 0 || fit.model === 'black') return '';
  const names = [...new Set(slices.flatMap((s) => Object.keys(s.params)))];
  const head = names.map((n) => `<th>${escapeHtml(n)}</th>`).join('');
  const rows = slices
    .map((s, i) => {
      const cells = names.map((n) => `<td>${num(fit.model, `slices.${i}.params.${n}`, s.params[n])}</td>`).join('');
      const label = s.expiry ? (/^\d{4}-\d{2}-\d{2}/.exec(s.expiry)?.[0] ?? s.expiry) : '';
      return `<tr><td>${escapeHtml(label)}</td><td>${num(fit.model, `slices.${i}.T`, s.T, s.T.toFixed(5))}</td>${cells}<td>${
        s.rmse_iv !== undefined ? num(fit.model, `slices.${i}.rmse_iv`, s.rmse_iv, volPoints(s.rmse_iv)) : '–'
      }</td></tr>`;
    })
    .join('');
  return `<table class="slices"><caption>per expiry</caption><thead><tr><th>expiry</th><th>T</th>${head}<th>RMSE IV (vol pts)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function exclusionTable(exclusions: ReportExclusion[]): string {
  if (exclusions.length === 0) return '<p>No quote was excluded.</p>';
  const groups = new Map<string, { stage: string; reason: string; rows: number[] }>();
  for (const e of exclusions) {
    const key = `${e.stage}|${reasonKey(e.reason)}`;
    const g = groups.get(key) ?? { stage: e.stage, reason: reasonKey(e.reason), rows: [] };
    g.rows.push(e.row);
    groups.set(key, g);
  }
  const rows = [...groups.values()]
    .sort((a, b) => b.rows.length - a.rows.length)
    .map((g) => {
      const shown = g.rows.slice(0, 12).join(', ') + (g.rows.length > 12 ? `, … (${g.rows.length - 12} more)` : '');
      return `<tr><td>${escapeHtml(g.stage)}</td><td>${escapeHtml(g.reason)}</td><td class="count">${g.rows.length}</td><td class="rows">${shown}</td></tr>`;
    })
    .join('');
  return `<table class="exclusions"><thead><tr><th>stage</th><th>reason</th><th>quotes</th><th>rows</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

const chart = (svg: string | null, cls = 'chart') => (svg ? `<div class="${cls}">${svg}</div>` : '');

/** ATM vol per expiry: the market mid IV closest to ln(K/F) = 0 (for standardised moneyness). */
export function atmVols(data: ReportData): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of data.expiries) {
    let best: { d: number; iv: number } | null = null;
    for (const p of data.points) {
      if (p.expiry !== e.expiry || p.midIv === null) continue;
      const d = Math.abs(p.k);
      if (!best || d < best.d) best = { d, iv: p.midIv };
    }
    if (best) out.set(e.expiry, best.iv);
  }
  return out;
}

export function renderReportHtml(data: ReportData): string {
  const models = data.fits.map((f) => f.model);
  const atm = atmVols(data);

  const smiles = data.expiries
    .filter((e) => data.points.some((p) => p.expiry === e.expiry))
    .map((e) => chart(smilePlot(e, data.points, data.curves, models), 'chart smile'))
    .join('\n');

  const residuals = data.fits.map((f) => chart(residualHeatmap(f, data.points, data.expiries, atm), 'chart heatmap')).join('\n');

  const params = data.fits
    .map((f) => {
      const checks = (data.constraints ?? []).filter((c) => c.model === f.model);
      const list = checks.length
        ? `<ul class="constraints">${checks
            .map(
              (c) =>
                `<li>${escapeHtml(c.name)} (${escapeHtml(c.description)}): <span class="${c.value >= 0 ? 'ok' : 'bad'}">${formatNumber(c.value)} ${
                  c.value >= 0 ? 'satisfied' : 'violated'
                }</span></li>`,
            )
            .join('')}</ul>`
        : '';
      return `<div class="fit-params"><h3>${escapeHtml(f.model)}</h3>${Object.keys(f.params).length || !f.slices?.length ? paramTable(f) : ''}${sliceTable(f)}${list}</div>`;
    })
    .join('\n');

  const conv = convergencePlot(data.fits);

  const greeks = data.greeks
    .map((g) => {
      const plots = (['delta', 'gamma', 'vega'] as const).map((n) => chart(greekPlot(g, n, data.expiries), 'chart greek')).join('');
      const warn = g.warnings.length
        ? `<ul class="warnings">${g.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`
        : '<p class="ok">No-arbitrage checks passed: call delta in [0, D], gamma and vega non-negative.</p>';
      let boot = '';
      if (g.bootstrap) {
        const b = g.bootstrap;
        const flagged = b.points.filter((p) => p.unstable);
        const byExpiry = new Map<string, number[]>();
        for (const p of flagged) byExpiry.set(p.expiry, [...(byExpiry.get(p.expiry) ?? []), p.k]);
        const flagList = flagged.length
          ? `<ul class="unstable">${[...byExpiry]
              .map(
                ([e, ks]) =>
                  `<li>${escapeHtml(e)}: ln(K/F) from ${Math.min(...ks).toFixed(3)} to ${Math.max(...ks).toFixed(3)} (${ks.length} grid points)</li>`,
              )
              .join('')}</ul>`
          : '<p class="ok">No unstable region at this threshold.</p>';
        boot = `<h4>Stability under bid/ask bootstrap</h4>
<p>${escapeHtml(b.method)} ${b.succeeded} of ${b.requested} refits succeeded in ${b.seconds.toFixed(1)} s.
A grid point is flagged when the spread (max - min over the refits) of gamma or vega exceeds
<span class="num" data-fit="${escapeHtml(g.model)}" data-field="bootstrap.threshold" data-value="${b.threshold}">${(100 * b.threshold).toFixed(0)} %</span>
of that expiry's peak value. <span class="count" data-fit="${escapeHtml(g.model)}" data-field="bootstrap.unstable" data-value="${flagged.length}">${flagged.length}</span> of ${b.points.length} grid points flagged.</p>
${b.failures.length ? `<ul class="warnings">${b.failures.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>` : ''}
<div class="row">${chart(stabilityPlot(g, 'gamma', data.expiries), 'chart stability')}${chart(stabilityPlot(g, 'vega', data.expiries), 'chart stability')}${chart(spreadPlot(g, data.expiries), 'chart stability')}</div>
${flagList}`;
      }
      return `<div class="greeks" data-model="${escapeHtml(g.model)}"><h3>${escapeHtml(g.model)}</h3><p class="method">${escapeHtml(g.method)}</p>
<div class="legend">${expiryLegend(greekExpiries(g, data.expiries))}</div>
<div class="row">${plots}</div>${warn}${boot}</div>`;
    })
    .join('\n');

  const surfaces = (data.surfaces ?? [])
    .map((sec) => {
      const verdict =
        sec.free === null
          ? ''
          : sec.free
            ? '<span class="ok">no butterfly, calendar or Lee arbitrage on the check grid</span>'
            : `<span class="bad">arbitrage: ${sec.butterfly.length} butterfly, ${sec.calendar.length} calendar run(s).</span>`;
      return `<div class="surface" data-model="${escapeHtml(sec.model)}"><h3>${escapeHtml(sec.model)}</h3><p>${verdict}${
        sec.localVolUndefined
          ? ` <span class="bad">Local vol undefined at <span class="count" data-fit="${escapeHtml(sec.model)}" data-field="local_vol.undefined" data-value="${sec.localVolUndefined}">${sec.localVolUndefined}</span> of ${sec.localVol.length} grid points.</span>`
          : ''
      }</p><p class="method">${escapeHtml(sec.method)}</p>
<div class="legend">${expiryLegend(sec.expiries)}</div>
<div class="row">${chart(totalVariancePlot(sec), 'chart surface-w')}${chart(densityPlot(sec), 'chart surface-g')}</div>
${chart(localVolHeatmap(sec), 'chart surface-lv')}</div>`;
    })
    .join('\n');

  const expiryRows = data.expiries
    .map(
      (e) =>
        `<tr><td>${escapeHtml(e.expiry)}</td><td>${e.T.toFixed(6)}</td><td data-value="${e.forward}">${formatForward(e.forward)}</td><td>${formatNumber(
          e.discount,
          8,
        )}</td><td>${e.quotes}</td><td>${atm.has(e.expiry) ? (100 * atm.get(e.expiry)!).toFixed(2) : '–'}</td></tr>`,
    )
    .join('');
  const used = data.points.filter((p) => p.weight !== null).length;
  const accounting =
    data.rowsIn !== undefined
      ? `<p>${data.rowsIn} rows read; ${data.points.length} quotes after normalization (${
          data.exclusions.filter((e) => e.stage === 'normalize').length
        } excluded there); ${used} used by at least one fit.</p>`
      : `<p>${data.points.length} quotes in the quote file; ${used} used by at least one fit.</p>`;

  const notes = data.notes.length ? `<ul class="notes">${data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  const fitsJson = JSON.stringify(data.fits).replace(/</g, '\\u003c');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="volfit">
<title>${escapeHtml(data.title)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1320px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 16px 0 6px; } h4 { font-size: 14px; margin: 12px 0 4px; }
.source { color: #555; margin: 0 0 12px; } nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #e2e2e2; padding: 3px 8px; text-align: right; } th { background: #f6f6f6; }
td:first-child, th:first-child { text-align: left; white-space: nowrap; } caption { text-align: left; font-weight: 600; padding: 4px 0; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.legend { margin: 4px 0 8px; } .row { display: flex; flex-wrap: wrap; gap: 12px; } .chart svg { max-width: 100%; height: auto; }
.row .chart { flex: 0 0 410px; max-width: 410px; }
.chart figure { margin: 0; } .chart h2 { font-size: 13px; border: 0; margin: 0; font-weight: 600; }
.fit-params { display: inline-block; vertical-align: top; margin-right: 28px; }
.ok { color: #2a7a2a; } .bad { color: #b00; font-weight: 600; } .warnings li, .unstable li { color: #b05000; }
.note, .method { color: #555; font-size: 13px; } td.rows { text-align: left; font-size: 12px; color: #555; }
</style>
</head>
<body>
<header>
<h1>${escapeHtml(data.title)}</h1>
<p class="source">${escapeHtml(data.dataSource)} · generated ${escapeHtml(data.generatedAt)} by volfit</p>
<nav><a href="#fits">fits</a><a href="#smiles">smiles</a><a href="#residuals">residuals</a>${surfaces ? '<a href="#surfaces">surfaces</a>' : ''}<a href="#parameters">parameters</a><a href="#convergence">convergence</a><a href="#greeks">Greeks</a><a href="#data">data</a></nav>
</header>
${section('fits', 'Fits', summaryTable(data.fits) + notes)}
${section('smiles', 'Smile per expiry', `<p class="note">Dots: market mid IV (hollow: not used by any fit); grey bars: bid to ask IV (dashed: no bid, mid to ask); lines: fitted models.</p><div class="legend">${modelLegend(models)}</div><div class="grid">${smiles}</div>`)}
${section('residuals', 'Residuals by expiry and moneyness', residuals)}
${surfaces ? section('surfaces', 'Volatility surfaces (slice models)', surfaces) : ''}
${section('parameters', 'Parameters', params)}
${section('convergence', 'Convergence', conv ? chart(conv) : '<p>No fit reported an objective history.</p>')}
${section('greeks', 'Greeks validation', greeks || '<p>Greeks were not computed (no pricer for these models).</p>')}
${section(
  'data',
  'Data',
  `${accounting}${chart(exclusionPlot(data.exclusions.map((e) => ({ ...e, reason: reasonKey(e.reason) }))))}${exclusionTable(data.exclusions)}
<h3>Forwards and discount factors per expiry</h3>
<table class="expiries"><thead><tr><th>expiry</th><th>T (years)</th><th>forward</th><th>discount</th><th>quotes</th><th>ATM IV (%)</th></tr></thead><tbody>${expiryRows}</tbody></table>`,
)}
<script type="application/json" id="volfit-fits">${fitsJson}</script>
</body>
</html>
`;
}
