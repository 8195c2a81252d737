/**
 * `volfit demo`: the bundled Deribit BTC snapshot (real market data, 2026-01-05) -> normalize ->
 * fit the ladder Black (flat vol per expiry) -> SSVI (a smile per expiry, one surface) -> Heston
 * -> Bates -> HTML report + a short summary. Every stage
 * is the library's own code path (normalize(), calibrate(), the report builder); the demo only
 * chooses inputs and starting points, and says which.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger, type BackendRequest, type Logger } from '../backends/backend.js';
import { normalize, type NormalizedQuote } from '../market/normalize.js';
import { buildReport, writeReport } from '../report/build.js';
import type { FitResult } from '../report/fit.js';
import { chooseFitBackend, fitModel, warmRefit } from './fits.js';
import { demoStarts, DEMO_BOUNDS } from './start.js';

export const DEMO_DATA = {
  file: 'deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv',
  description: 'Deribit BTC options, full book snapshot 2026-01-05 15:33 UTC (real market data; see data/deribit-btc-eth-snapshot-2026-01-05/SOURCE.md)',
  underlying: 'BTC',
};

/** The bundled data folder (same relative place from src/demo and dist/demo). */
export function dataPath(file: string): string {
  return fileURLToPath(new URL(`../../data/${file}`, import.meta.url));
}

export const DEMO_MODELS = ['black', 'ssvi', 'heston', 'bates'] as const;

export interface DemoOptions {
  backend?: BackendRequest;
  /** Report folder (default volfit-report). */
  out?: string;
  /** Refits per model for the Greeks stability bootstrap (default 3; 0 skips it). */
  bootstrap?: number;
  /** Models to fit, a subset of DEMO_MODELS in that order (default all). */
  models?: readonly DemoModel[];
  /** Progress lines (stderr in the CLI). */
  log?: Logger;
}

export type DemoModel = (typeof DEMO_MODELS)[number];

export interface DemoFitSummary {
  model: string;
  /** RMSE of model - market IV in vol points (1 = 1 %). */
  rmse_iv_vol_points: number | null;
  converged: boolean;
  seconds: number;
  params: Record<string, number>;
  route: string;
}

export interface DemoSummary {
  data: {
    source: string;
    rows_in: number;
    quotes: number;
    excluded: number;
    expiries: number;
    as_of?: string;
  };
  backend: string;
  seconds: number;
  report: string;
  fits: DemoFitSummary[];
  /** Each model's full calibration result (the `volfit calibrate --json` shape). */
  results: FitResult[];
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const log = opts.log ?? silentLogger;
  const t0 = performance.now();
  const models = DEMO_MODELS.filter((m) => !opts.models || opts.models.includes(m));
  if (models.length === 0) throw new RangeError(`demo: no model to fit; choose from ${DEMO_MODELS.join(', ')}`);
  const stages = 3 + models.length;
  let stage = 0;
  const step = (what: string) => log(`demo [${++stage}/${stages}] ${what}`);

  step(`normalize ${DEMO_DATA.file} (${DEMO_DATA.underlying})`);
  const text = readFileSync(dataPath(DEMO_DATA.file), 'utf8');
  const norm = normalize(text, { venue: 'deribit', underlying: DEMO_DATA.underlying });
  const quotes: NormalizedQuote[] = norm.quotes;
  const expiries = norm.expiries.filter((e) => e.quotes > 0).length;
  log(`  ${norm.rowsIn} rows in, ${norm.rowsOut} ${DEMO_DATA.underlying} quotes kept, ${norm.excluded.length} excluded, ${expiries} expiries`);

  step(`backend (${opts.backend ?? 'auto'})`);
  const backend = await chooseFitBackend(opts.backend ?? 'auto', (m) => log(`  ${m}`));

  const fits: FitResult[] = [];
  const starts = demoStarts(quotes);
  for (const model of models) {
    step(`fit ${model}`);
    const t = performance.now();
    // Bates starts from the Heston fit (its diffusion part) plus moderate jumps.
    const heston = fits.find((f) => f.model === 'heston');
    const start = model === 'bates' && heston ? { ...starts.bates, ...heston.params } : starts[model];
    const fit = await fitModel(model, quotes, {
      backend,
      start: start ? ({ model, params: start } as FitResult) : undefined,
      bounds: DEMO_BOUNDS[model],
      // From the Heston optimum, LM alone: the auto route would add a global stage (a minute
      // on two cores) because the jump bounds are active at this snapshot's optimum.
      route: model === 'bates' && heston ? 'lm' : 'auto',
      log,
    });
    fits.push(fit);
    log(`  ${model}: RMSE ${fit.rmse_iv === null ? '–' : (100 * fit.rmse_iv).toFixed(2)} vol pts, ${fit.converged ? 'converged' : 'NOT converged'}, ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  step('report');
  const n = opts.bootstrap ?? 3;
  const data = await buildReport(quotes, fits, {
    title: 'volfit demo: BTC options on Deribit, 2026-01-05',
    dataSource: DEMO_DATA.description,
    exclusions: norm.excluded.map((e) => ({ row: e.row, reason: e.reason, stage: 'normalize' })),
    rowsIn: norm.rowsIn,
    notes: [
      `Normalized with volfit's defaults (venue deribit, underlying ${DEMO_DATA.underlying}): coin premiums converted to USD with each expiry's forward, r = 0, weights from spread, vega and staleness.`,
      'Black and SSVI are slice models (a smile per expiry): Black is closed form, SSVI a power-law surface fitted in implied vol with no butterfly or calendar arbitrage by construction (src/surface).',
      'Heston starts from the ATM term structure (v0, theta from the shortest and longest ATM vols; route auto); Bates starts from the Heston fit plus moderate jumps (route lm).',
      `Bates jumps are bounded to intensity <= ${DEMO_BOUNDS.bates?.lambda?.[1]} a year and jump std >= ${DEMO_BOUNDS.bates?.sigmaJ?.[0]}: unbounded, this snapshot drives them to many tiny jumps (extra diffusion), a known degenerate corner.`,
    ],
    refit: n > 0 ? warmRefit(backend, undefined, DEMO_BOUNDS) : undefined,
    bootstrap: { n },
    log,
  });
  const report = writeReport(opts.out ?? 'volfit-report', data);

  return {
    data: {
      source: DEMO_DATA.description,
      rows_in: norm.rowsIn,
      quotes: norm.rowsOut,
      excluded: norm.excluded.length,
      expiries,
      as_of: norm.asOf,
    },
    backend: backend.description,
    seconds: (performance.now() - t0) / 1000,
    report,
    fits: fits.map((f) => ({
      model: f.model,
      rmse_iv_vol_points: f.rmse_iv === null ? null : 100 * f.rmse_iv,
      converged: f.converged,
      seconds: f.seconds,
      params: f.params,
      route: typeof f.route === 'string' ? f.route : f.route.name,
    })),
    results: fits,
  };
}

/** The human summary printed on stdout. */
export function formatDemoSummary(s: DemoSummary): string {
  const lines = [
    `volfit demo: ${s.data.source}`,
    `  ${s.data.rows_in} rows read, ${s.data.quotes} quotes kept (${s.data.excluded} excluded), ${s.data.expiries} expiries${s.data.as_of ? `, as of ${s.data.as_of}` : ''}`,
    '',
    '  model    RMSE IV (vol pts)  converged  seconds  parameters',
  ];
  for (const [i, f] of s.fits.entries()) {
    const slices = s.results[i]?.slices;
    const global = Object.entries(f.params)
      .map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`)
      .join(' ');
    const perSlice = (name: string) => {
      const v = (slices ?? []).map((x) => x.params[name]).filter((x) => x !== undefined);
      return `${name} per expiry ${Number(Math.min(...v).toPrecision(3))} to ${Number(Math.max(...v).toPrecision(3))}`;
    };
    const params =
      f.model === 'black'
        ? `${Object.keys(f.params).length} vols, one per expiry (${Math.min(...Object.values(f.params)).toFixed(3)} to ${Math.max(...Object.values(f.params)).toFixed(3)})`
        : slices && slices.length
          ? [global, ...Object.keys(slices[0].params).map(perSlice)].filter(Boolean).join(', ')
          : global;
    lines.push(
      `  ${f.model.padEnd(8)} ${(f.rmse_iv_vol_points === null ? '–' : f.rmse_iv_vol_points.toFixed(2)).padStart(17)}  ${(f.converged ? 'yes' : 'no').padEnd(9)}  ${f.seconds.toFixed(1).padStart(7)}  ${params}`,
    );
  }
  lines.push('', `  backend: ${s.backend}; total ${s.seconds.toFixed(1)} s`, `  report: ${s.report}`);
  return lines.join('\n');
}
