/**
 * The fit worker: everything heavy runs here, off the page's thread. The same library code as
 * the CLI: normalize() on the file's text, its canonical CSV through calibrateCsv() (what
 * `volfit normalize` then `volfit calibrate --json` do), on the tier's backend.
 * Cancel = the page terminates this worker (and with it any GPU work); a new one serves the next run.
 */
import { selectBackend, type Backend } from '../../src/backends/backend.js';
import { registerShaderSources } from '../../src/backends/webgpu/shaderSource.js';
import { calibrateCsv } from '../../src/calibrator/csv.js';
import type { CalibrateOptions } from '../../src/calibrator/calibrate.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';
import { parseCanonicalCsv, type Quote } from '../../src/market/canonical.js';
import { normalize, type NormalizeResult } from '../../src/market/normalize.js';
import { getModel } from '../../src/models/index.js';
import { demoStarts } from '../../src/demo/start.js';
import { impliedVolatilities } from '../../src/engines/black/impliedVol.js';
import { cosPrices } from '../../src/engines/cos/cpu.js';
import { quoteSetOf } from '../../src/engines/pricer.js';
import { paramVector } from '../../src/models/types.js';
import { detectTier, type TierChoice } from './tiers.js';
import type { DataSummary, FromWorker, Tier, ToWorker, WebModel } from './protocol.js';
import { webgl2PricerFactory } from './webgl2/pricer.js';

// Every WGSL file rides in this worker's chunk: no shader fetch at run time (offline once loaded).
registerShaderSources(
  Object.fromEntries(
    Object.entries(import.meta.glob('../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>).map(
      ([path, text]) => [path.replace(/^.*\/shaders\//, ''), text],
    ),
  ),
);

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);

let tier: Tier | undefined;
let webgl: WebGL2RenderingContext | undefined;
let data: { name: string; underlying: string; norm: NormalizeResult; csv: string; quotes: Quote[] } | undefined;
let fits: CalibrationResult[] = [];

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  handle(ev.data).catch((e: Error) => post({ type: 'fit-error', model: 'heston', message: e.message }));
};

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'init') {
    let t: TierChoice;
    try {
      t = await detectTier(m.tier);
    } catch (e) {
      post({ type: 'tier-error', message: (e as Error).message });
      return;
    }
    tier = t.tier;
    webgl = t.webgl;
    post({ type: 'tier', tier: t.tier, adapter: t.adapter, ...(t.note ? { note: t.note } : {}) });
  } else if (m.type === 'load') {
    load(m.name, m.text, m.underlying);
  } else if (m.type === 'fit') {
    await fit(m.models);
  } else {
    await report();
  }
}

function load(name: string, text: string, underlying: string): void {
  data = undefined;
  fits = [];
  let norm: NormalizeResult;
  try {
    norm = normalize(text, { venue: 'auto', underlying });
  } catch (e) {
    post({ type: 'data-error', message: `${name}: ${(e as Error).message}` });
    return;
  }
  if (norm.rowsOut === 0) {
    const counts = Object.entries(norm.exclusionCounts()).map(([k, v]) => `${v} ${k}`).join(', ');
    post({ type: 'data-error', message: `${name}: no usable quotes: all ${norm.rowsIn} rows were excluded (${counts})` });
    return;
  }
  const csv = norm.toCsv();
  const quotes = parseCanonicalCsv(csv).quotes;
  data = { name, underlying, norm, csv, quotes };
  post({ type: 'data', data: summary(name, norm, quotes) });
}

function summary(name: string, norm: NormalizeResult, quotes: Quote[]): DataSummary {
  const set = quoteSetOf(quotes);
  const ivOf = (price: (q: Quote) => number | undefined) =>
    impliedVolatilities({ ...set, price: Float64Array.from(quotes, (q) => price(q) ?? NaN) }).iv;
  const bid = ivOf((q) => q.bid);
  const ask = ivOf((q) => q.ask);
  const num = (v: number) => (Number.isFinite(v) ? v : undefined);
  return {
    name,
    venue: norm.venue,
    ...(norm.asOf ? { asOf: norm.asOf } : {}),
    rowsIn: norm.rowsIn,
    rowsOut: norm.rowsOut,
    excluded: norm.excluded.map((e) => ({ row: e.row, reason: e.reason, ...(e.detail ? { detail: e.detail } : {}) })),
    exclusionCounts: norm.exclusionCounts(),
    quotes: quotes.map((q, i) => ({
      row: q.row,
      expiry: q.expiry,
      T: q.T,
      strike: q.strike,
      forward: q.forward,
      iv: q.iv ?? NaN,
      bidIv: num(bid[i]),
      askIv: num(ask[i]),
      weight: q.weight ?? 1,
    })),
  };
}

/** The start the demo gives Heston and Bates (from the data's ATM vols), so LM starts near. */
function startFor(model: WebModel): Record<string, number> | undefined {
  if (model !== 'heston' && model !== 'bates') return undefined;
  return demoStarts(data!.quotes)[model];
}

/** The CLI lines that reproduce a fit (same start, same backend). */
function cliCommand(model: WebModel, start: Record<string, number> | undefined): string {
  const backend = tier === 'webgpu' ? 'webgpu' : 'cpu';
  const s = start ? ` --start ${Object.entries(start).map(([k, v]) => `${k}=${v}`).join(',')}` : '';
  return `volfit normalize --input ${JSON.stringify(data!.name)} --underlying ${data!.underlying} --out quotes.csv && volfit calibrate --input quotes.csv --model ${model} --backend ${backend}${s} --json`;
}

async function backendFor(): Promise<{ backend: Backend; createPricer?: CalibrateOptions['createPricer'] }> {
  if (tier === 'webgpu') return { backend: await selectBackend('webgpu', () => {}) };
  const backend = await selectBackend('cpu', () => {});
  if (tier === 'webgl2' && webgl) return { backend, createPricer: webgl2PricerFactory(webgl) };
  return { backend };
}

async function fit(models: WebModel[]): Promise<void> {
  if (!data) return;
  const t0 = performance.now();
  fits = [];
  const { backend, createPricer } = await backendFor();
  const set = quoteSetOf(data.quotes);
  for (const name of models) {
    const model = getModel(name);
    const start = startFor(name);
    post({ type: 'start', model: name, command: cliCommand(name, start) });
    let lastLive = 0;
    try {
      const result = await calibrateCsv(data.csv, {
        model,
        backend,
        ...(createPricer ? { createPricer } : {}),
        ...(start ? { start } : {}),
        progress: (e) => {
          const now = performance.now();
          // Live smiles at most 4 times a second: f64 COS prices of the quotes at the LM point.
          const live = e.params && now - lastLive > 250 ? liveIv(name, e.params, set) : undefined;
          if (live) lastLive = now;
          post({ type: 'progress', model: name, stage: e.stage, iteration: e.iteration, objective: e.objective, seconds: e.seconds, ...(e.params ? { params: e.params } : {}), ...(live ? { modelIv: live } : {}) });
        },
      });
      fits.push(result);
      post({ type: 'result', model: name, result });
    } catch (e) {
      post({ type: 'fit-error', model: name, message: (e as Error).message });
    }
  }
  post({ type: 'done', seconds: (performance.now() - t0) / 1000 });
}

function liveIv(name: WebModel, params: Record<string, number>, set: ReturnType<typeof quoteSetOf>): Array<number | null> {
  const model = getModel(name);
  const prices = cosPrices(model, Float64Array.from(paramVector(model, params)), set, { tol: 1e-8 });
  const iv = impliedVolatilities({ ...set, price: prices }).iv;
  return Array.from(iv, (v) => (Number.isFinite(v) ? v : null));
}

async function report(): Promise<void> {
  if (!data || fits.length === 0) return;
  try {
    const { reportHtml } = await import('./report.js');
    post({ type: 'report', html: await reportHtml(data.norm, fits, data.name) });
  } catch (e) {
    post({ type: 'report-error', message: (e as Error).message });
  }
}
