/**
 * The page: the bundled snapshot or a dropped file -> the fit worker (normalize + calibrate, the
 * CLI's code) -> live progress, smiles, residuals and parameters -> the `volfit calibrate --json`
 * array, downloads and a shareable link. The page thread only draws; the heavy library code lives
 * in the worker's chunk, the report builder in a chunk loaded on demand.
 */
import snapshotUrl from '../../data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv?url';
import workerUrl from './worker.ts?worker&url';
import { heatmapSvg, MODEL_COLORS, smilesSvg, type ModelIvs } from './charts.js';
import { MODELS, TIERS, type DataSummary, type FromWorker, type Tier, type WebModel } from './protocol.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';

const SNAPSHOT_NAME = 'deribit_options_snapshot_20260105T153329Z.csv';
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

function requestedTier(): Tier | 'auto' {
  const b = params.get('backend');
  return b && (TIERS as readonly string[]).includes(b) ? (b as Tier) : 'auto';
}

function requestedModels(): WebModel[] {
  const asked = (params.get('models') ?? 'heston').split(',').map((s) => s.trim().toLowerCase());
  const known = MODELS.filter((m) => asked.includes(m));
  return known.length ? known : ['heston'];
}

interface FitState {
  model: WebModel;
  live?: { params?: Record<string, number>; iv?: Array<number | null> };
  result?: CalibrationResult;
}

let worker: Worker | undefined;
let data: DataSummary | undefined;
let source: { name: string; text: string } | undefined;
let fits: FitState[] = [];
let running = false;
let runStart = 0;
let tierReady = false;

function startWorker(): Worker {
  const w = new Worker(workerUrl, { type: 'module' });
  w.onmessage = (ev: MessageEvent<FromWorker>) => onMessage(ev.data);
  w.onerror = (ev) => showFitError(`worker failed: ${ev.message}`);
  w.postMessage({ type: 'init', tier: requestedTier() });
  return w;
}

function onMessage(m: FromWorker): void {
  switch (m.type) {
    case 'tier':
      tierReady = true;
      $('tier').textContent = `${m.tier} ${m.adapter}`;
      $('tier-note').textContent = m.note ?? '';
      if (source) worker!.postMessage({ type: 'load', name: source.name, text: source.text, underlying: underlying() });
      break;
    case 'tier-error':
      $('tier').textContent = 'none';
      showFitError(m.message);
      break;
    case 'data':
      onData(m.data);
      break;
    case 'data-error':
      data = undefined;
      $('data-status').textContent = '';
      $('data-error').textContent = m.message;
      $('data-error').hidden = false;
      setRunning(false);
      break;
    case 'start':
      $('commands').textContent += `${m.command}\n`;
      break;
    case 'progress': {
      const f = fits.find((x) => x.model === m.model)!;
      f.live = { params: m.params ?? f.live?.params, iv: m.modelIv ?? f.live?.iv };
      const obj = Number.isFinite(m.objective) ? m.objective.toExponential(4) : '–';
      $('progress').textContent = `${m.model}: ${m.stage} iteration ${m.iteration}, objective ${obj}, ${m.seconds.toFixed(1)} s (${((performance.now() - runStart) / 1000).toFixed(1)} s in all)`;
      if (m.modelIv || m.params) draw();
      break;
    }
    case 'result': {
      const f = fits.find((x) => x.model === m.model)!;
      f.result = m.result;
      draw();
      break;
    }
    case 'fit-error':
      showFitError(`${m.model}: ${m.message}`);
      fits = fits.filter((f) => f.model !== m.model);
      break;
    case 'done':
      $('progress').textContent = `done: ${fits.filter((f) => f.result).map((f) => `${f.model} RMSE ${rmse(f.result!)} vol pts`).join(', ')} in ${m.seconds.toFixed(1)} s`;
      setRunning(false);
      finish();
      break;
    case 'report':
      download(`volfit-report.html`, m.html, 'text/html');
      ($('dl-report') as HTMLButtonElement).disabled = false;
      break;
    case 'report-error':
      showFitError(`report: ${m.message}`);
      ($('dl-report') as HTMLButtonElement).disabled = false;
      break;
  }
}

const rmse = (r: CalibrationResult) => (r.rmse_iv === null ? '–' : (100 * r.rmse_iv).toFixed(3));
const underlying = () => ($('underlying') as HTMLInputElement).value.trim().toUpperCase() || 'BTC';

function showFitError(message: string): void {
  $('fit-error').textContent = message;
  $('fit-error').hidden = false;
}

function onData(d: DataSummary): void {
  data = d;
  $('data-error').hidden = true;
  const counts = Object.entries(d.exclusionCounts).map(([k, v]) => `${v} ${k}`).join(', ');
  $('data-status').textContent = `${d.name} (${d.venue}${d.asOf ? `, as of ${d.asOf}` : ''}): ${d.rowsIn} rows in, ${d.rowsOut} quotes kept, ${d.excluded.length} excluded${counts ? ` (${counts})` : ''}`;
  const ex = $('exclusions');
  ex.hidden = d.excluded.length === 0;
  ex.querySelector('summary')!.textContent = `${d.excluded.length} rows excluded, with reasons`;
  const body = ex.querySelector('tbody')!;
  body.replaceChildren(
    ...d.excluded.slice(0, 500).map((e) => {
      const tr = document.createElement('tr');
      for (const v of [String(e.row), e.reason, e.detail ?? '']) tr.appendChild(document.createElement('td')).textContent = v;
      return tr;
    }),
  );
  fits = [];
  draw();
  setRunning(false);
  if (params.get('run') === '1' && source?.name === SNAPSHOT_NAME && !runStart) run();
}

function setRunning(on: boolean): void {
  running = on;
  ($('run') as HTMLButtonElement).disabled = on || !data || !tierReady;
  ($('cancel') as HTMLButtonElement).disabled = !on;
}

function selectedModels(): WebModel[] {
  return MODELS.filter((m) => ($(`model-${m}`) as HTMLInputElement).checked);
}

function run(): void {
  if (running || !data) return;
  const models = selectedModels();
  if (models.length === 0) return showFitError('choose at least one model');
  $('fit-error').hidden = true;
  $('commands').textContent = '';
  $('json-box').querySelector('pre')?.remove();
  fits = models.map((model) => ({ model }));
  runStart = performance.now();
  setRunning(true);
  updateShare();
  worker!.postMessage({ type: 'fit', models });
}

function cancel(): void {
  if (!running) return;
  // Terminating the worker stops the fit wherever it is (GPU work included); a fresh worker
  // takes the data back for the next run.
  worker!.terminate();
  tierReady = false;
  $('progress').textContent = `cancelled after ${((performance.now() - runStart) / 1000).toFixed(1)} s`;
  fits = fits.filter((f) => f.result);
  setRunning(false);
  worker = startWorker();
}

function ivsOf(f: FitState): ModelIvs | undefined {
  if (f.result && data) {
    const byRow = new Map(f.result.residuals.map((r) => [r.row, r.model_iv]));
    return { model: f.model, iv: data.quotes.map((q) => byRow.get(q.row) ?? null) };
  }
  return f.live?.iv ? { model: f.model, iv: f.live.iv } : undefined;
}

function draw(): void {
  if (!data) {
    for (const id of ['smiles', 'heatmap', 'params']) $(id).innerHTML = '';
    return;
  }
  const ivs = fits.map(ivsOf).filter((x): x is ModelIvs => x !== undefined);
  const legend = ivs.map((f) => `<span style="color:${MODEL_COLORS[f.model]}">━ ${f.model}</span>`).join('');
  $('legend').innerHTML = legend;
  $('smiles').innerHTML = smilesSvg(data.quotes, ivs);
  $('heatmap').innerHTML = ivs.map((f) => heatmapSvg(data!.quotes, f)).join('');
  $('params').innerHTML = fits.map(paramTable).join('');
}

function paramTable(f: FitState): string {
  const p = f.result?.params ?? f.live?.params;
  if (!p) return '';
  const se = f.result?.stderr ?? {};
  const head = f.result
    ? `${f.model}: RMSE ${rmse(f.result)} vol pts, ${f.result.converged ? 'converged' : 'NOT converged'}, ${f.result.iterations} iterations, ${f.result.seconds.toFixed(1)} s on ${f.result.backend}`
    : `${f.model}: fitting…`;
  const rows = Object.entries(p)
    .map(([k, v]) => `<tr><td>${k}</td><td>${v.toPrecision(6)}</td><td>${se[k] === null || se[k] === undefined ? '' : `± ${se[k]!.toPrecision(3)}`}</td></tr>`)
    .join('');
  return `<h3 style="color:${MODEL_COLORS[f.model]}">${head}</h3>${f.result ? `<p class="muted">${f.result.message}</p>` : ''}<table data-testid="params-${f.model}">${rows}</table>`;
}

function finish(): void {
  const results = fits.filter((f) => f.result).map((f) => f.result!);
  if (results.length === 0) return;
  const pre = document.createElement('pre');
  pre.dataset.testid = 'result-json';
  // Seconds from page load to this fit's end (the benchmark figure of the README).
  pre.dataset.loadToFitted = ((performance.now()) / 1000).toFixed(2);
  pre.textContent = JSON.stringify(results, null, 2);
  $('json-box').appendChild(pre);
  ($('dl-json') as HTMLButtonElement).disabled = false;
  ($('dl-report') as HTMLButtonElement).disabled = false;
}

function download(name: string, text: string, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function updateShare(): void {
  const q = new URLSearchParams();
  q.set('models', selectedModels().join(','));
  if (requestedTier() !== 'auto') q.set('backend', requestedTier());
  q.set('run', '1');
  const a = $('share') as HTMLAnchorElement;
  a.href = `${location.pathname}?${q}`;
  // The link re-runs the fit on the bundled snapshot; a dropped file stays on this machine.
  a.title = source?.name === SNAPSHOT_NAME ? 'opens this page and re-runs the same fit' : 'a dropped file is not in the link: it re-runs on the bundled snapshot';
}

function loadText(name: string, text: string): void {
  source = { name, text };
  data = undefined;
  fits = [];
  draw();
  $('json-box').querySelector('pre')?.remove();
  $('data-error').hidden = true;
  $('data-status').textContent = `Normalizing ${name}…`;
  setRunning(false);
  if (tierReady) worker!.postMessage({ type: 'load', name, text, underlying: underlying() });
}

async function loadSnapshot(): Promise<void> {
  const res = await fetch(snapshotUrl);
  loadText(SNAPSHOT_NAME, await res.text());
}

function setup(): void {
  const chosen = requestedModels();
  $('models').innerHTML = MODELS.map((m) => `<label><input type="checkbox" id="model-${m}" ${chosen.includes(m) ? 'checked' : ''}> ${m}</label>`).join('');
  $('models').addEventListener('change', updateShare);
  $('run').addEventListener('click', run);
  $('cancel').addEventListener('click', cancel);
  $('snapshot').addEventListener('click', () => void loadSnapshot());
  $('dl-json').addEventListener('click', () => {
    const pre = $('json-box').querySelector('pre');
    if (pre) download('volfit-fit.json', pre.textContent + '\n', 'application/json');
  });
  $('dl-report').addEventListener('click', () => {
    ($('dl-report') as HTMLButtonElement).disabled = true;
    worker!.postMessage({ type: 'report' });
  });
  const input = $('file') as HTMLInputElement;
  input.addEventListener('change', () => void readFile(input.files?.[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void readFile(e.dataTransfer?.files[0]);
  });
  updateShare();
  worker = startWorker();
  void loadSnapshot();
  if ('serviceWorker' in navigator && location.protocol !== 'file:') void keepOffline();
}

/** Registers the service worker and hands it the files this page loaded (web/public/sw.js). */
async function keepOffline(): Promise<void> {
  try {
    await navigator.serviceWorker.register('./sw.js');
    const reg = await navigator.serviceWorker.ready;
    const loaded = performance.getEntriesByType('resource').map((e) => e.name);
    // The whole build (precache.json, written by vite.config.ts), lazy chunks such as the report too.
    const built = await fetch('./precache.json').then((r) => (r.ok ? (r.json() as Promise<string[]>) : []), () => []);
    const urls = [location.pathname, workerUrl, snapshotUrl, ...loaded, ...built.map((f) => new URL(f, document.baseURI).href)].filter(
      (u) => new URL(u, location.href).origin === location.origin,
    );
    reg.active?.postMessage({ type: 'cache', urls: [...new Set(urls)] });
  } catch {
    // No service worker (private mode, an http origin other than localhost): online only.
  }
}

async function readFile(file: File | undefined): Promise<void> {
  if (file) loadText(file.name, await file.text());
}

setup();
