/**
 * The report's charts, each a function from report data to inline SVG markup. Every chart is
 * drawn with Observable Plot (src/report/svg.ts); native `<title>` tooltips give exact values.
 */
import { historyEntries, type FitResult } from './fit.js';
import { Plot, renderLegend, renderPlot } from './svg.js';
import type { ExpiryInfo, GreekPoint, GreeksSection, MarketPoint, ModelCurve, ReportExclusion, SurfaceSection } from './types.js';

const MODEL_COLORS: Record<string, string> = {
  black: '#7f7f7f',
  heston: '#1f77b4',
  bates: '#d62728',
  merton: '#2ca02c',
  svi: '#ff7f0e',
  ssvi: '#9467bd',
  essvi: '#8c564b',
};
const EXTRA_COLORS = ['#e377c2', '#bcbd22', '#17becf', '#393b79', '#637939'];

export function modelColor(model: string, index = 0): string {
  return MODEL_COLORS[model] ?? EXTRA_COLORS[index % EXTRA_COLORS.length];
}

/** Forwards as a reader writes them: 93,758 for BTC, 100.50 for an index. */
export function formatForward(F: number): string {
  return F >= 1000 ? Math.round(F).toLocaleString('en-US') : F.toFixed(2);
}

/** Swatches naming each model's colour, shared by the smile charts. */
export function modelLegend(models: string[]): string {
  if (models.length === 0) return '';
  return renderLegend({ color: { domain: models, range: models.map((m, i) => modelColor(m, i)), type: 'categorical' } } as never);
}

/** Expiries a Greeks section shows, in time order (one colour each, shared by its charts). */
export function greekExpiries(section: GreeksSection, expiries: ExpiryInfo[]): string[] {
  const present = new Set(section.points.map((p) => p.expiry));
  return expiries.map((e) => e.expiry).filter((e) => present.has(e));
}

export function expiryLegend(domain: string[]): string {
  if (domain.length === 0) return '';
  return renderLegend({ color: { domain, scheme: 'viridis', type: 'ordinal' } } as never);
}

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const fmt = (v: number, d = 4) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(d));

/**
 * Smile of one expiry: market mid IV (dots; hollow when no fit used the quote), bid/ask IV
 * bars, and each model's curve on a dense strike grid. x is log-moneyness ln(K/F).
 */
export function smilePlot(expiry: ExpiryInfo, points: MarketPoint[], curves: ModelCurve[], models: string[]): string {
  const pts = points.filter((p) => p.expiry === expiry.expiry);
  const bars = pts.filter((p) => p.bidIv !== null && p.askIv !== null);
  const askOnly = pts.filter((p) => p.bidIv === null && p.askIv !== null && p.midIv !== null);
  const withMid = pts.filter((p) => p.midIv !== null);
  const lines = curves
    .filter((c) => c.expiry === expiry.expiry)
    .flatMap((c) =>
      c.k.map((k, i) => ({ model: c.model, k, iv: c.iv[i] })).filter((d): d is { model: string; k: number; iv: number } => d.iv !== null),
    );
  const colors = models.map((m, i) => modelColor(m, i));
  return renderPlot({
    width: 420,
    height: 260,
    marginLeft: 48,
    title: `${expiry.expiry} (T = ${expiry.T.toFixed(4)} y, F = ${formatForward(expiry.forward)})`,
    x: { label: 'ln(K/F)', grid: true },
    y: { label: 'implied vol (%)', grid: true, transform: (v: number) => 100 * v },
    color: { domain: models, range: colors },
    marks: [
      Plot.ruleX(bars, { x: 'k', y1: 'bidIv', y2: 'askIv', stroke: '#bbb', strokeWidth: 1.5 }),
      // No bid (or a bid without a vol): a dashed bar from mid to ask.
      Plot.ruleX(askOnly, { x: 'k', y1: 'midIv', y2: 'askIv', stroke: '#bbb', strokeDasharray: '2,2' }),
      Plot.dot(withMid, {
        x: 'k',
        y: 'midIv',
        r: 2.2,
        stroke: '#222',
        fill: (p: MarketPoint) => (p.weight === null ? 'white' : '#222'),
        title: (p: MarketPoint) =>
          `row ${p.row} K=${p.strike} ${p.isCall ? 'call' : 'put'}\nmid IV ${pct(p.midIv!)}` +
          (p.bidIv !== null ? `\nbid IV ${pct(p.bidIv)}` : '') +
          (p.askIv !== null ? `\nask IV ${pct(p.askIv)}` : '') +
          (p.weight === null ? '\nnot used by the fit' : `\nweight ${fmt(p.weight)}`),
      }),
      Plot.line(lines, { x: 'k', y: 'iv', stroke: 'model', z: 'model', strokeWidth: 1.6 }),
    ],
  });
}

/**
 * Residuals (model - market IV, vol points) of one fit: cells bin the quotes by expiry and
 * standardised moneyness ln(K/F) / (ATM vol sqrt T), coloured by the weighted mean residual;
 * a dot per quote, its area proportional to its weight, shows where the weight sits.
 */
export function residualHeatmap(fit: FitResult, points: MarketPoint[], expiries: ExpiryInfo[], atmVol: Map<string, number>): string {
  const order = expiries.map((e) => e.expiry);
  const byRow = new Map(points.map((p) => [p.row, p]));
  const quotes = fit.residuals
    .filter((r) => r.market_iv !== null && r.model_iv !== null && byRow.has(r.row))
    .map((r) => {
      const p = byRow.get(r.row)!;
      const s = (atmVol.get(p.expiry) ?? 0.5) * Math.sqrt(p.T);
      return { row: r.row, expiry: p.expiry, z: p.k / s, strike: p.strike, res: 100 * (r.model_iv! - r.market_iv!), w: r.weight };
    });
  const binWidth = 0.5;
  const cells = new Map<string, { expiry: string; z1: number; z2: number; sw: number; swr: number; n: number }>();
  for (const q of quotes) {
    const z1 = Math.floor(q.z / binWidth) * binWidth;
    const key = `${q.expiry}|${z1}`;
    const c = cells.get(key) ?? { expiry: q.expiry, z1, z2: z1 + binWidth, sw: 0, swr: 0, n: 0 };
    c.sw += q.w;
    c.swr += q.w * q.res;
    c.n += 1;
    cells.set(key, c);
  }
  const cellData = [...cells.values()].map((c) => ({ ...c, res: c.sw > 0 ? c.swr / c.sw : 0 }));
  const maxAbs = Math.max(0.05, ...quotes.map((q) => Math.abs(q.res)));
  // Symmetric thresholds so zero is white; a threshold scale keeps the legend canvas-free.
  const t = [0.25, 0.5, 1, 2, 5, 10].filter((v) => v < maxAbs);
  const domain = [...t.map((v) => -v).reverse(), ...t];
  return renderPlot({
    width: 860,
    height: Math.max(160, 34 * order.length + 70),
    marginLeft: 90,
    title: `${fit.model}: residual model - market IV (vol points), weighted mean per cell; dot area = weight`,
    x: { label: 'standardised moneyness ln(K/F) / (ATM vol sqrt T)', grid: true },
    y: { domain: order, label: 'expiry' },
    color: {
      type: 'threshold',
      domain: domain.length ? domain : [0],
      scheme: 'rdbu',
      reverse: true,
      legend: true,
      // Legend options ride on the scale (Plot passes them through); its typings omit width.
      ...({ width: 440 } as object),
      label: 'model - market IV (vol points)',
    },
    r: { range: [1, 7] },
    marks: [
      Plot.rect(cellData, {
        x1: 'z1',
        x2: 'z2',
        y: 'expiry',
        fill: 'res',
        inset: 0.5,
        title: (c: (typeof cellData)[number]) => `${c.expiry}, z in [${c.z1}, ${c.z2})\n${c.n} quotes, weighted mean ${c.res.toFixed(3)} vol pts`,
      }),
      Plot.dot(quotes, {
        x: 'z',
        y: 'expiry',
        r: 'w',
        stroke: '#222',
        strokeWidth: 0.6,
        fill: 'none',
        title: (q: (typeof quotes)[number]) => `row ${q.row} K=${q.strike}\nresidual ${q.res.toFixed(3)} vol pts\nweight ${fmt(q.w)}`,
      }),
    ],
  });
}

/** Objective after each iteration, log scale, one line per fit that reports a history. */
export function convergencePlot(fits: FitResult[]): string | null {
  const data = fits.flatMap((f) =>
    historyEntries(f)
      .map((h, i) => ({ model: f.model, iteration: i, objective: h.objective, stage: h.stage ?? '' }))
      .filter((d) => d.objective > 0),
  );
  if (data.length === 0) return null;
  const models = [...new Set(data.map((d) => d.model))];
  return renderPlot({
    width: 620,
    height: 280,
    marginLeft: 60,
    title: 'objective by iteration',
    x: { label: 'iteration', grid: true },
    y: { type: 'log', label: 'objective', grid: true },
    color: { domain: models, range: models.map((m, i) => modelColor(m, i)), legend: true },
    marks: [
      Plot.line(data, { x: 'iteration', y: 'objective', stroke: 'model', z: 'model' }),
      Plot.dot(data, {
        x: 'iteration',
        y: 'objective',
        stroke: 'model',
        r: 2.5,
        symbol: (d: (typeof data)[number]) => d.stage || 'step',
        title: (d: (typeof data)[number]) => `${d.model} ${d.stage} iteration ${d.iteration}\nobjective ${d.objective.toExponential(4)}`,
      }),
    ],
  });
}

type GreekName = 'delta' | 'gamma' | 'vega';
const GREEK_LABEL: Record<GreekName, string> = {
  delta: 'call delta dC/dF',
  gamma: 'gamma: delta change per 1 % move of F',
  vega: 'vega: price change per vol point',
};

/** One Greek of one model across strikes, a line per expiry. */
export function greekPlot(section: GreeksSection, greek: GreekName, expiries: ExpiryInfo[]): string | null {
  const data = section.points.filter((p) => p[greek] !== null && Number.isFinite(p[greek] as number));
  if (data.length === 0) return null;
  const order = greekExpiries(section, expiries);
  return renderPlot({
    width: 400,
    height: 260,
    marginLeft: 56,
    title: `${section.model}: ${GREEK_LABEL[greek]}`,
    x: { label: 'ln(K/F)', grid: true },
    y: { label: greek, grid: true },
    color: { domain: order, scheme: 'viridis', type: 'ordinal' },
    marks: [
      Plot.ruleY([0], { stroke: '#999' }),
      Plot.line(data, {
        x: 'k',
        y: greek,
        stroke: 'expiry',
        z: 'expiry',
        title: (p: GreekPoint) => `${p.expiry} K=${p.strike.toFixed(0)} ${p.isCall ? 'call' : 'put'}\n${greek} ${fmt(p[greek] as number, 6)}`,
      }),
    ],
  });
}

/**
 * Bootstrap spread of gamma or vega: per expiry, the band between the lowest and highest refit
 * value around the fitted line; points whose spread exceeds the threshold are marked red.
 */
export function stabilityPlot(section: GreeksSection, greek: 'gamma' | 'vega', expiries: ExpiryInfo[]): string | null {
  const b = section.bootstrap;
  if (!b || b.points.length === 0) return null;
  const lo = greek === 'gamma' ? 'gammaLo' : 'vegaLo';
  const hi = greek === 'gamma' ? 'gammaHi' : 'vegaHi';
  const data = b.points.filter((p) => p[greek] !== null && p[lo] !== null && p[hi] !== null);
  if (data.length === 0) return null;
  const order = greekExpiries(section, expiries);
  const flagged = data.filter((p) => p.unstable);
  return renderPlot({
    width: 400,
    height: 260,
    marginLeft: 56,
    title: `${section.model}: ${greek} across ${b.succeeded} refits (band = min..max; red = unstable)`,
    x: { label: 'ln(K/F)', grid: true },
    y: { label: greek, grid: true },
    color: { domain: order, scheme: 'viridis', type: 'ordinal' },
    marks: [
      Plot.areaY(data, { x: 'k', y1: lo, y2: hi, fill: 'expiry', z: 'expiry', fillOpacity: 0.25 }),
      Plot.line(data, { x: 'k', y: greek, stroke: 'expiry', z: 'expiry' }),
      Plot.dot(flagged, {
        x: 'k',
        y: greek,
        r: 3.5,
        stroke: '#d00',
        strokeWidth: 1.5,
        title: (p: (typeof data)[number]) => `${p.expiry} ln(K/F)=${p.k.toFixed(3)}\nspread ${(100 * p.spread).toFixed(1)} % of the expiry's peak`,
      }),
    ],
  });
}

/** The bootstrap spread (max of gamma's and vega's, % of the expiry peak) against the flag threshold. */
export function spreadPlot(section: GreeksSection, expiries: ExpiryInfo[]): string | null {
  const b = section.bootstrap;
  if (!b || b.points.length === 0 || b.succeeded === 0) return null;
  const data = b.points.map((p) => ({ ...p, pct: 100 * p.spread }));
  return renderPlot({
    width: 400,
    height: 260,
    marginLeft: 56,
    title: `${section.model}: bootstrap spread (% of the expiry's peak; dashed = flag threshold)`,
    x: { label: 'ln(K/F)', grid: true },
    y: { label: 'spread (%)', grid: true, domain: [0, Math.max(1.2 * 100 * b.threshold, ...data.map((d) => d.pct))] },
    color: { domain: greekExpiries(section, expiries), scheme: 'viridis', type: 'ordinal' },
    marks: [
      Plot.ruleY([100 * b.threshold], { stroke: '#d00', strokeDasharray: '4,3' }),
      Plot.line(data, {
        x: 'k',
        y: 'pct',
        stroke: 'expiry',
        z: 'expiry',
        title: (p: (typeof data)[number]) => `${p.expiry} ln(K/F)=${p.k.toFixed(3)}\nspread ${p.pct.toFixed(2)} %`,
      }),
    ],
  });
}

/**
 * Total variance w(k) = IV^2 T of each slice of a fitted surface, a line per expiry; the fit's
 * arbitrage violations in red (butterfly: a ring at the worst point of the run; calendar: a cross
 * where the later expiry's w falls below the earlier one's).
 */
export function totalVariancePlot(section: SurfaceSection): string | null {
  if (section.curves.length === 0) return null;
  const butterfly = section.butterfly;
  const calendar = section.calendar;
  return renderPlot({
    width: 400,
    height: 280,
    marginLeft: 56,
    title: `${section.model}: total variance w(k) per expiry${section.free === true ? ' (arbitrage-free)' : section.free === false ? ' (red: arbitrage)' : ''}`,
    x: { label: 'ln(K/F)', grid: true },
    y: { label: 'w = IV² T', grid: true },
    color: { domain: section.expiries, scheme: 'viridis', type: 'ordinal' },
    marks: [
      Plot.line(section.curves, { x: 'k', y: 'w', stroke: 'expiry', z: 'expiry', title: (d: SurfaceSection['curves'][number]) => `${d.expiry} ln(K/F)=${d.k.toFixed(3)}\nw ${fmt(d.w, 6)}` }),
      Plot.dot(butterfly, {
        x: 'k',
        y: 'w',
        r: 4.5,
        stroke: '#d00',
        strokeWidth: 1.8,
        title: (b: SurfaceSection['butterfly'][number]) => `butterfly arbitrage, ${b.expiry}: g = ${fmt(b.g, 4)} at ln(K/F) = ${b.k.toFixed(3)} (run ${b.k_from.toFixed(3)} to ${b.k_to.toFixed(3)})`,
      }),
      Plot.dot(calendar, {
        x: 'k',
        y: 'w',
        r: 4.5,
        symbol: 'times',
        stroke: '#d00',
        strokeWidth: 1.8,
        title: (c: SurfaceSection['calendar'][number]) =>
          `calendar arbitrage: w(T=${c.T2.toFixed(4)}) below w(T=${c.T1.toFixed(4)}) at ln(K/F) = ${c.k.toFixed(3)}${c.dw !== null ? ` by ${fmt(-c.dw, 4)}` : ''} (run ${c.k_from.toFixed(3)} to ${c.k_to.toFixed(3)})`,
      }),
    ],
  });
}

/** Gatheral's density factor g(k) per expiry (the risk-neutral density is >= 0 where g >= 0); g < 0 in red. */
export function densityPlot(section: SurfaceSection): string | null {
  const data = section.curves.filter((d): d is SurfaceSection['curves'][number] & { g: number } => d.g !== null);
  if (data.length === 0) return null;
  const negative = data.filter((d) => d.g < 0);
  return renderPlot({
    width: 400,
    height: 280,
    marginLeft: 56,
    title: `${section.model}: density factor g(k) (butterfly arbitrage where g < 0)`,
    x: { label: 'ln(K/F)', grid: true },
    y: { label: 'g(k)', grid: true },
    color: { domain: section.expiries, scheme: 'viridis', type: 'ordinal' },
    marks: [
      Plot.ruleY([0], { stroke: '#999' }),
      Plot.line(data, { x: 'k', y: 'g', stroke: 'expiry', z: 'expiry', title: (d: (typeof data)[number]) => `${d.expiry} ln(K/F)=${d.k.toFixed(3)}\ng ${fmt(d.g, 5)}` }),
      Plot.dot(negative, { x: 'k', y: 'g', r: 2.5, fill: '#d00', title: (d: (typeof data)[number]) => `${d.expiry}: g = ${fmt(d.g, 4)} < 0 at ln(K/F) = ${d.k.toFixed(3)}` }),
    ],
  });
}

/**
 * Dupire local vol of a fitted surface on (ln(K/F), T), T on a log axis; threshold colours (a
 * canvas-free legend); red cells: no local vol there (butterfly or calendar arbitrage).
 */
export function localVolHeatmap(section: SurfaceSection): string | null {
  const cells = section.localVol.filter((c): c is (typeof section.localVol)[number] & { vol: number } => c.vol !== null);
  const missing = section.localVol.filter((c) => c.vol === null);
  if (cells.length === 0 && missing.length === 0) return null;
  // Thresholds at the deciles of the values, in vol points rounded to 0.5.
  const sorted = cells.map((c) => 100 * c.vol).sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const thresholds = [...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((p) => Math.round(2 * q(p)) / 2))].filter(Number.isFinite);
  return renderPlot({
    width: 620,
    height: 320,
    marginLeft: 60,
    title: `${section.model}: Dupire local vol (%)${section.localVolUndefined ? `; red: undefined at ${section.localVolUndefined} of ${section.localVol.length} points (arbitrage)` : ''}`,
    x: { label: 'ln(K/F)', grid: true },
    // Plain decimals: the default SI format would write 0.3 years as "300m".
    y: { type: 'log', label: 'T (years)', grid: true, tickFormat: '~g' },
    color: {
      type: 'threshold',
      domain: thresholds.length ? thresholds : [0],
      scheme: 'viridis',
      legend: true,
      ...({ width: 440 } as object),
      label: 'local vol (%)',
    },
    marks: [
      Plot.rect(cells, {
        x1: 'k1',
        x2: 'k2',
        y1: 'T1',
        y2: 'T2',
        fill: (c: (typeof cells)[number]) => 100 * c.vol,
        title: (c: (typeof cells)[number]) => `ln(K/F) = ${c.k.toFixed(3)}, T = ${c.T.toFixed(4)}\nlocal vol ${pct(c.vol)}`,
      }),
      Plot.rect(missing, {
        x1: 'k1',
        x2: 'k2',
        y1: 'T1',
        y2: 'T2',
        fill: '#d00',
        title: (c: (typeof missing)[number]) => `ln(K/F) = ${c.k.toFixed(3)}, T = ${c.T.toFixed(4)}\nno local vol: ${c.reason} arbitrage`,
      }),
    ],
  });
}

/** Excluded quotes counted by reason and stage. */
export function exclusionPlot(exclusions: ReportExclusion[]): string | null {
  if (exclusions.length === 0) return null;
  const counts = new Map<string, { reason: string; stage: string; n: number }>();
  for (const e of exclusions) {
    const key = `${e.stage}|${e.reason}`;
    const c = counts.get(key) ?? { reason: e.reason, stage: e.stage, n: 0 };
    c.n += 1;
    counts.set(key, c);
  }
  const data = [...counts.values()].sort((a, b) => b.n - a.n);
  return renderPlot({
    width: 760,
    height: Math.max(120, 22 * data.length + 60),
    marginLeft: 300,
    title: 'excluded quotes by reason',
    x: { label: 'quotes', grid: true },
    y: { label: null, domain: data.map((d) => `${d.stage}: ${d.reason}`) },
    marks: [
      Plot.barX(data, { x: 'n', y: (d: (typeof data)[number]) => `${d.stage}: ${d.reason}`, fill: '#8da0cb' }),
      Plot.text(data, { x: 'n', y: (d: (typeof data)[number]) => `${d.stage}: ${d.reason}`, text: (d: (typeof data)[number]) => String(d.n), dx: 10 }),
    ],
  });
}
