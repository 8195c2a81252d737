/**
 * calibrateMany(surfaces, options): S independent fits, each surface its own quotes (expiries,
 * strikes, forwards, counts), model, start or prior; per-surface settings override shared ones.
 * Results come back in input order, each the `calibrate` result of that surface alone with a
 * `surface` name in front, or a `SurfaceFailure` ({surface, model, error, error_kind, seconds})
 * for a surface that could not be fitted: a failing surface never stops the others, and a
 * failure never carries parameters (so never NaN ones).
 *
 * Where the fits run:
 * - CPU backend: a pool of `worker_threads` (default one per core, os.availableParallelism();
 *   `threads`), each running the f64 `calibrate` on the surfaces it is handed from a work queue
 *   (largest surfaces first, to keep the tail short). A worker resolves the model by name
 *   (getModel) and its pricer from the engine registry (pricerFactoryFor; slice models such as
 *   svi or ssvi need none): functions do not cross threads, so a `createPricer` or a model
 *   outside the registry needs `threads: 1`. Progress and log lines come back as messages. The
 *   fits are the same computation as `calibrate` on each surface alone (same route, same
 *   parameters; only `seconds` differs). `threads: 1` runs in-process, sequentially, no worker.
 *   Workers are terminated at the end, also on error; a worker that crashes mid-fit fails that
 *   surface only and is replaced.
 * - WebGPU backend: every surface's `calibrate` runs at once in-process, and the GPU-resident LM
 *   stencils of all surfaces waiting at the same moment go out as one multi-surface dispatch
 *   (manyGpu.ts, engines/cos/gpuNormalMany.ts): per LM iteration one dispatch for every active
 *   surface, each keeping its own LM state. Their price batches (a given start's probe, DE
 *   generations, exact-IV polish stencils, the report) likewise go out as one multi-surface
 *   pricing dispatch (engines/cos/gpuPriceMany.ts). A surface's fit is its single-surface fit.
 * - 'auto': resolved once, as `calibrate` resolves it (WebGPU when an adapter answers, else the CPU
 *   pool).
 *
 * Workers run from dist/ (compiled .js) or, under vitest/tsx, from the .ts sources (loaded in the
 * worker through tsx's `tsImport`).
 */
import { selectBackend, silentLogger, type Backend, type BackendRequest, type Logger } from '../backends/backend.js';
import type { McOptions } from '../engines/mc/plan.js';
import { CanonicalFormatError } from '../market/canonical.js';
import { getModel } from '../models/index.js';
import { isSliceModel, type Model } from '../models/types.js';
import { calibrate, type CalibrateOptions, type PricerFactory, type ProgressEvent } from './calibrate.js';
import { pricerFactoryFor } from './pricers.js';
import { GpuSurfaceBatch } from './manyGpu.js';
import type { CalibrationQuote } from './quotes.js';
import type { CalibrationResult } from './result.js';
import { CalibrationInputError } from './transforms.js';

/** Fit settings a surface may give for itself (overriding the shared ones of CalibrateManyOptions). */
export interface SurfaceSettings {
  /** A Model, or a registered model's name ('heston', 'bates', ...). */
  model?: Model | string;
  objective?: CalibrateOptions['objective'];
  start?: CalibrateOptions['start'];
  prior?: CalibrateOptions['prior'];
  route?: CalibrateOptions['route'];
  bounds?: CalibrateOptions['bounds'];
  constraints?: CalibrateOptions['constraints'];
  penaltyWeight?: number;
  /** LM options; callbacks in them are dropped (calibrate sets its own). */
  lm?: CalibrateOptions['lm'];
  /** DE options; callbacks and `cube` are dropped (calibrate sets its own). */
  de?: CalibrateOptions['de'];
  subsample?: CalibrateOptions['subsample'];
  polish?: boolean;
  /** Monte Carlo settings for models priced by Monte Carlo (rbergomi); see pricerFactoryFor. */
  mc?: McOptions;
  /** Slice models (black, svi, ssvi, essvi): e.g. {arbitrageFree: true}. */
  slices?: CalibrateOptions['slices'];
}

export interface ManySurface extends SurfaceSettings {
  /** Names the surface in its result; default `surface <1-based index>`. */
  name?: string;
  quotes: readonly CalibrationQuote[];
  /**
   * Rows excluded before calibration (e.g. rows the CSV reader could not parse), merged into the
   * result's `quotes.excluded` by row, as calibrateCsv does.
   */
  excluded?: ReadonlyArray<{ row: number; reason: string }>;
}

/** A fitted surface: `calibrate`'s result with the surface's name first. */
export type SurfaceResult = { surface: string } & CalibrationResult;

/** A surface that could not be fitted: why, and no parameters. */
export interface SurfaceFailure {
  surface: string;
  /** The model asked for (null when none could be resolved). */
  model: string | null;
  /** The reason in one line, as `calibrate` would have thrown it. */
  error: string;
  /** 'input': the surface's data or settings (CalibrationInputError and the like); 'internal': anything else (a bug, a crashed worker). */
  error_kind: 'input' | 'internal';
  seconds: number;
}

export type SurfaceOutcome = SurfaceResult | SurfaceFailure;

export function isSurfaceFailure(r: SurfaceOutcome): r is SurfaceFailure {
  return 'error' in r && typeof (r as SurfaceFailure).error === 'string';
}

export interface ManyProgressEvent {
  /** Surfaces finished (fitted or failed) so far, and of them failed. */
  done: number;
  failed: number;
  total: number;
  /** The surface just finished. */
  index: number;
  surface: string;
  /** Since calibrateMany started. */
  seconds: number;
  /** Remaining time at the rate so far (seconds per finished surface); 0 when done. */
  eta_seconds: number;
}

export interface CalibrateManyOptions extends SurfaceSettings {
  /** Default 'auto' (as calibrate). The CPU backend runs the worker pool; WebGPU runs the surfaces at once in-process, LM stencils and price batches batched. */
  backend?: BackendRequest | Backend;
  /** Worker threads on the CPU backend (default os.availableParallelism(); 1: in-process, no worker). Never more than the surfaces. */
  threads?: number;
  /** A pricer factory for every surface: only in-process (threads 1, or WebGPU), since functions do not cross threads. */
  createPricer?: PricerFactory;
  /** Log lines of the fits, prefixed with the surface name. */
  log?: Logger;
  /** After each surface finishes. */
  progress?: (e: ManyProgressEvent) => void;
  /** The fits' own progress (optimizer iterations), with the surface they belong to. */
  fitProgress?: (surface: { index: number; name: string }, e: ProgressEvent) => void;
  /** Each outcome as soon as its surface finishes (finishing order, not input order). */
  onResult?: (outcome: SurfaceOutcome, index: number) => void;
}

/** The settings of one fit as they cross into a worker: plain data only (the model by name). */
export type WireSettings = Omit<SurfaceSettings, 'model'> & { model: string };

/** Messages main -> worker. */
export interface WorkerJob {
  index: number;
  quotes: readonly CalibrationQuote[];
  settings: WireSettings;
  wantLog: boolean;
  wantProgress: boolean;
}

/** Messages worker -> main. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'log'; index: number; message: string }
  | { type: 'progress'; index: number; event: ProgressEvent }
  | { type: 'result'; index: number; result: CalibrationResult }
  | { type: 'failed'; index: number; error: string; kind: 'input' | 'internal' };

const SETTING_KEYS = ['objective', 'start', 'prior', 'route', 'bounds', 'constraints', 'penaltyWeight', 'lm', 'de', 'subsample', 'polish', 'mc', 'slices'] as const;

interface Resolved {
  index: number;
  name: string;
  quotes: readonly CalibrationQuote[];
  excluded: ReadonlyArray<{ row: number; reason: string }>;
  model?: Model;
  settings?: WireSettings;
  /** Set when the surface fails before any fitting (no model, unknown model, no quotes). */
  failure?: SurfaceFailure;
}

/** Data-only copies of lm / de options: their callbacks (and DE's cube) are calibrate's to set. */
function plainLm(lm: CalibrateOptions['lm']): CalibrateOptions['lm'] {
  if (!lm) return lm;
  const { onIteration: _drop, ...rest } = lm;
  return rest;
}
function plainDe(de: CalibrateOptions['de']): CalibrateOptions['de'] {
  if (!de) return de;
  const { onGeneration: _g, cube: _c, ...rest } = de;
  return rest;
}

export function errorKind(e: unknown): 'input' | 'internal' {
  return e instanceof CalibrationInputError || e instanceof CanonicalFormatError ? 'input' : 'internal';
}

function failure(name: string, model: string | null, error: string, kind: 'input' | 'internal', seconds = 0): SurfaceFailure {
  return { surface: name, model, error, error_kind: kind, seconds };
}

function resolveSurface(s: ManySurface, index: number, shared: CalibrateManyOptions, needRegistered: boolean): Resolved {
  const name = s.name ?? `surface ${index + 1}`;
  const excluded = s.excluded ?? [];
  const base: Resolved = { index, name, quotes: s.quotes, excluded };
  const modelGiven = s.model ?? shared.model;
  if (modelGiven === undefined) return { ...base, failure: failure(name, null, 'no model given (set model on the surface or in the shared options)', 'input') };
  let model: Model;
  if (typeof modelGiven === 'string') {
    try {
      model = getModel(modelGiven);
    } catch (e) {
      return { ...base, failure: failure(name, modelGiven, (e as Error).message, 'input') };
    }
  } else {
    model = modelGiven;
    if (needRegistered) {
      let registered: Model | undefined;
      try {
        registered = getModel(model.name);
      } catch {
        registered = undefined;
      }
      if (registered !== model) {
        return {
          ...base,
          failure: failure(name, model.name, `model ${model.name} is not the registry's (getModel): worker threads resolve models by name; use threads: 1 for a model of your own`, 'input'),
        };
      }
    }
  }
  if (s.quotes.length === 0 && excluded.length > 0) {
    const first = excluded.slice(0, 3).map((e) => `row ${e.row}: ${e.reason}`).join('; ');
    return { ...base, model, failure: failure(name, model.name, `all ${excluded.length} rows were excluded (${first}${excluded.length > 3 ? '; ...' : ''})`, 'input') };
  }
  const settings: WireSettings = { model: model.name };
  const own = s as SurfaceSettings;
  for (const k of SETTING_KEYS) {
    const v = own[k] !== undefined ? own[k] : shared[k];
    if (v !== undefined) (settings as unknown as Record<string, unknown>)[k] = v;
  }
  settings.lm = plainLm(settings.lm);
  settings.de = plainDe(settings.de);
  if (settings.lm === undefined) delete settings.lm;
  if (settings.de === undefined) delete settings.de;
  return { ...base, model, settings };
}

/**
 * calibrate's options for one surface (in the worker or in-process). The pricer comes from the
 * engine registry by model (pricerFactoryFor); slice models need none (calibrate fits them itself).
 */
export function calibrateOptionsFor(
  model: Model,
  settings: WireSettings,
  backend: BackendRequest | Backend,
  createPricer: PricerFactory | undefined,
  log: Logger,
  progress: ((e: ProgressEvent) => void) | undefined,
): CalibrateOptions {
  const { model: _name, mc, ...rest } = settings;
  return {
    ...rest,
    model,
    backend,
    ...(isSliceModel(model) ? {} : { createPricer: createPricer ?? pricerFactoryFor(model, mc, log) }),
    log,
    ...(progress ? { progress } : {}),
  };
}

function withSurface(name: string, r: CalibrationResult, excluded: ReadonlyArray<{ row: number; reason: string }>): SurfaceResult {
  if (excluded.length) r.quotes.excluded = [...excluded, ...r.quotes.excluded].sort((a, b) => a.row - b.row);
  return { surface: name, ...r };
}

export async function calibrateMany(surfaces: readonly ManySurface[], options: CalibrateManyOptions = {}): Promise<SurfaceOutcome[]> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const log = options.log ?? silentLogger;
  const total = surfaces.length;
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new CalibrationInputError(`threads must be a positive integer, got ${options.threads}`);
  }
  const backend: Backend =
    typeof options.backend === 'object'
      ? options.backend
      : options.backend === 'cpu' || total === 0
        ? { name: 'cpu', description: 'cpu (f64 TypeScript)' }
        : await selectBackend(options.backend ?? 'auto', log);
  const threads = options.threads ?? (await defaultThreads());
  const pooled = backend.name === 'cpu' && threads > 1 && total > 1;
  if (pooled && options.createPricer) {
    throw new CalibrationInputError('createPricer cannot cross into worker threads: use threads: 1 (in-process) with a pricer factory of your own');
  }
  const resolved = surfaces.map((s, i) => resolveSurface(s, i, options, pooled));
  const out: SurfaceOutcome[] = new Array(total);
  let done = 0;
  let failed = 0;
  const finish = (r: Resolved, outcome: SurfaceOutcome) => {
    out[r.index] = outcome;
    done++;
    if (isSurfaceFailure(outcome)) failed++;
    options.onResult?.(outcome, r.index);
    const elapsed = seconds();
    options.progress?.({ done, failed, total, index: r.index, surface: r.name, seconds: elapsed, eta_seconds: done < total ? (elapsed / done) * (total - done) : 0 });
  };
  const runnable: Resolved[] = [];
  for (const r of resolved) {
    if (r.failure) finish(r, r.failure);
    else runnable.push(r);
  }
  const surfaceLog = (r: Resolved): Logger => (options.log ? (m) => log(`${r.name}: ${m}`) : silentLogger);
  const surfaceProgress = (r: Resolved) => (options.fitProgress ? (e: ProgressEvent) => options.fitProgress!({ index: r.index, name: r.name }, e) : undefined);

  if (backend.name === 'webgpu' && runnable.length > 1) {
    await runBatchedOnGpu(runnable, backend, options, surfaceLog, surfaceProgress, finish);
    return out;
  }
  if (!pooled) {
    for (const r of runnable) {
      const t1 = performance.now();
      let outcome: SurfaceOutcome;
      try {
        const res = await calibrate(r.quotes, calibrateOptionsFor(r.model!, r.settings!, backend, options.createPricer, surfaceLog(r), surfaceProgress(r)));
        outcome = withSurface(r.name, res, r.excluded);
      } catch (e) {
        outcome = failure(r.name, r.model!.name, e instanceof Error ? e.message : String(e), errorKind(e), (performance.now() - t1) / 1000);
      }
      // Outside the try: an exception of the caller's own callbacks propagates, it is no surface's failure.
      finish(r, outcome);
    }
    return out;
  }
  await runPool(runnable, Math.min(threads, runnable.length), {
    wantLog: options.log !== undefined,
    wantProgress: options.fitProgress !== undefined,
    log: (r, m) => surfaceLog(r)(m),
    progress: (r, e) => surfaceProgress(r)?.(e),
    done: (r, outcome) => finish(r, outcome.ok ? withSurface(r.name, outcome.result, r.excluded) : failure(r.name, r.model!.name, outcome.error, outcome.kind, outcome.seconds)),
  });
  return out;
}

/**
 * WebGPU: every surface's `calibrate` at once, in-process, their LM stencils and price batches
 * batched into multi-surface dispatches (manyGpu.ts). A surface that throws fails alone.
 */
async function runBatchedOnGpu(
  runnable: readonly Resolved[],
  backend: Extract<Backend, { name: 'webgpu' }>,
  options: CalibrateManyOptions,
  surfaceLog: (r: Resolved) => Logger,
  surfaceProgress: (r: Resolved) => ((e: ProgressEvent) => void) | undefined,
  finish: (r: Resolved, outcome: SurfaceOutcome) => void,
): Promise<void> {
  const batch = new GpuSurfaceBatch(backend);
  const members = runnable.map(() => batch.join());
  try {
    await Promise.all(
      runnable.map(async (r, k) => {
        const t1 = performance.now();
        let outcome: SurfaceOutcome;
        try {
          const opts = calibrateOptionsFor(r.model!, r.settings!, backend, options.createPricer, surfaceLog(r), surfaceProgress(r));
          if (opts.createPricer && !options.createPricer) opts.createPricer = batch.pricerFactory(opts.createPricer, members[k], surfaceLog(r));
          outcome = withSurface(r.name, await calibrate(r.quotes, opts), r.excluded);
        } catch (e) {
          outcome = failure(r.name, r.model!.name, e instanceof Error ? e.message : String(e), errorKind(e), (performance.now() - t1) / 1000);
        } finally {
          members[k].leave();
        }
        finish(r, outcome);
      }),
    );
  } finally {
    const t = batch.fused.traffic;
    if (t.dispatches) {
      options.log?.(
        `calibrateMany: ${t.dispatches} multi-surface LM dispatches for ${t.surfaces} surface stencils (${(t.surfaces / t.dispatches).toFixed(2)} surfaces per dispatch, up to ${t.most}), ${t.readBack} B read back`,
      );
    }
    const p = batch.pricing.traffic;
    if (p.dispatches) {
      options.log?.(
        `calibrateMany: ${p.dispatches} multi-surface pricing dispatches for ${p.requests} surface price batches (${(p.requests / p.dispatches).toFixed(2)} surfaces per dispatch, up to ${p.most}), ${p.uploaded} B up, ${p.readBack} B read back`,
      );
    }
    batch.dispose();
  }
}

async function defaultThreads(): Promise<number> {
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

type PoolOutcome = { ok: true; result: CalibrationResult } | { ok: false; error: string; kind: 'input' | 'internal'; seconds: number };

interface PoolHandlers {
  wantLog: boolean;
  wantProgress: boolean;
  log: (r: Resolved, message: string) => void;
  progress: (r: Resolved, e: ProgressEvent) => void;
  done: (r: Resolved, outcome: PoolOutcome) => void;
}

/**
 * The worker script and how to start it: the compiled manyWorker.js beside this file, or under
 * vitest/tsx (this file is .ts) manyWorker.ts loaded through tsx's tsImport in an eval'd
 * bootstrap (`--import tsx` in a worker's execArgv does not reach the worker's own imports on
 * Node 20).
 */
async function workerSpec(): Promise<{ script: string | URL; options: { eval?: boolean; execArgv?: string[] } }> {
  const here = import.meta.url;
  if (!/\.[cm]?ts$/.test(new URL(here).pathname)) return { script: new URL('./manyWorker.js', here), options: {} };
  const entry = new URL('./manyWorker.ts', here).href;
  const api = await tsxApiUrl();
  const code = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
  return { script: code, options: { eval: true, execArgv: [] } };
}

async function tsxApiUrl(): Promise<string> {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve === 'function') {
    try {
      return resolve('tsx/esm/api');
    } catch {
      // fall through
    }
  }
  // require.resolve picks the package's CommonJS build; the ESM one sits beside it.
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
}

async function runPool(jobs: Resolved[], n: number, h: PoolHandlers): Promise<void> {
  if (jobs.length === 0) return;
  const { Worker } = await import('node:worker_threads');
  const spec = await workerSpec();
  // Largest first (by quote count; ties in input order): the long fits start early, the tail is short.
  const queue = [...jobs].sort((a, b) => b.quotes.length - a.quotes.length || a.index - b.index);
  const live = new Set<InstanceType<typeof Worker>>();
  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let remaining = jobs.length;
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        rejectAll(e);
      };
      const complete = () => {
        if (--remaining === 0 && !settled) {
          settled = true;
          resolveAll();
        }
      };
      const start = () => {
        const w = new Worker(spec.script, spec.options);
        live.add(w);
        let ready = false;
        let current: { job: Resolved; t: number } | undefined;
        let lastError: Error | undefined;
        let stopping = false;
        const next = () => {
          const job = queue.shift();
          if (!job) {
            stopping = true;
            live.delete(w);
            void w.terminate();
            return;
          }
          current = { job, t: performance.now() };
          const message: WorkerJob = { index: job.index, quotes: job.quotes, settings: job.settings!, wantLog: h.wantLog, wantProgress: h.wantProgress };
          w.postMessage(message);
        };
        w.on('message', (m: WorkerMessage) => {
          if (m.type === 'ready') {
            ready = true;
            next();
            return;
          }
          if (!current || m.index !== current.job.index) return;
          const job = current.job;
          if (m.type === 'log') h.log(job, m.message);
          else if (m.type === 'progress') h.progress(job, m.event);
          else {
            const secs = (performance.now() - current.t) / 1000;
            current = undefined;
            try {
              h.done(job, m.type === 'result' ? { ok: true, result: m.result } : { ok: false, error: m.error, kind: m.kind, seconds: secs });
            } catch (e) {
              fail(e as Error);
              return;
            }
            complete();
            if (!settled) next();
          }
        });
        w.on('error', (e) => {
          lastError = e;
        });
        w.on('exit', (code) => {
          live.delete(w);
          if (stopping || settled) return;
          const why = lastError?.message ?? `exit code ${code}`;
          if (!ready) {
            fail(new Error(`calibrateMany: a worker thread failed to start (${why})`));
            return;
          }
          if (current) {
            const job = current.job;
            const secs = (performance.now() - current.t) / 1000;
            current = undefined;
            try {
              h.done(job, { ok: false, error: `the worker thread fitting this surface crashed (${why})`, kind: 'internal', seconds: secs });
            } catch (e) {
              fail(e as Error);
              return;
            }
            complete();
          }
          // A replacement for the rest of the queue.
          if (!settled && queue.length > 0) start();
        });
      };
      for (let i = 0; i < n; i++) start();
    });
  } finally {
    await Promise.all([...live].map((w) => w.terminate()));
  }
}
