/**
 * runBacktest: the nightly job over daily snapshots. Per day: normalize (input.ts), the stale test
 * (stale.ts), every model fitted, the model choice (BIC), the change-point detector (chain.ts), one
 * store transaction (store.ts). Cold fits (the first day, the day after a change point, a model
 * without a good previous fit) go through calibrateMany, one surface per model, in parallel; warm
 * fits run in-process, day d from day d-1's good fit, with it as a Gaussian prior unless
 * `prior: 'off'`.
 */
import type { Backend, BackendRequest, Logger } from '../backends/backend.js';
import { silentLogger } from '../backends/backend.js';
import { calibrate } from '../calibrator/calibrate.js';
import { calibrateMany, isSurfaceFailure, type ManySurface } from '../calibrator/many.js';
import type { PriorSource } from '../calibrator/posterior.js';
import type { CalibrationResult } from '../calibrator/result.js';
import { CalibrationInputError } from '../calibrator/transforms.js';
import { chooseFitBackend } from '../demo/fits.js';
import { getModel, isSliceModel } from '../models/index.js';
import { Chain } from './chain.js';
import { planDays, type Day, type InputOptions } from './input.js';
import { marketSeries } from './series.js';
import { staleReason } from './stale.js';
import type { DayDetail, DayRecord, FitRecord, FitRoute } from './types.js';
import type { BocpdOptions } from './bocpd.js';

export interface BacktestOptions extends InputOptions {
  input: string;
  models: readonly string[];
  backend?: BackendRequest;
  /** 'previous' (default): day d's fit has day d-1's good fit as a Gaussian prior; 'off': warm start only. */
  prior?: 'off' | 'previous';
  /** The prior's covariance is the previous posterior covariance divided by this (default 0.25: standard errors doubled). */
  priorStrength?: number;
  /** Worker threads of the cold passes (default: one per core). */
  threads?: number;
  /** A detected change point sends the next day to the cold route (default true). */
  restartAfterShift?: boolean;
  /** Stale days neither start the next day nor feed the detector (default true). */
  skipStale?: boolean;
  /** Starting parameters of cold fits per model (default: calibrate's own cold start). */
  coldStart?: Record<string, Record<string, number>>;
  bocpd?: Partial<BocpdOptions>;
  log?: Logger;
}

/** Where days go and come back from (store.ts); the run without one keeps nothing. */
export interface DaySink {
  /** Days already recorded for this run, in date order. */
  completed(): Promise<DayRecord[]>;
  saveDay(record: DayRecord, detail: DayDetail): Promise<void>;
}

export interface BacktestResult {
  days: DayRecord[];
  change_points: string[];
  stale_days: string[];
  seconds: number;
  /** Days taken from the store instead of fitted. */
  resumed: number;
  notes: string[];
}

export const DEFAULT_PRIOR_STRENGTH = 0.25;

/** The model the detector reads parameters from: Heston when fitted, else the first process model. */
export function referenceModel(models: readonly string[]): string | null {
  if (models.includes('heston')) return 'heston';
  return models.find((m) => !isSliceModel(getModel(m))) ?? null;
}

/** BIC of a fit over its unweighted IV residuals. */
export function bic(r: CalibrationResult): number | null {
  const res = r.residuals.filter((q) => q.model_iv !== null);
  const n = res.length;
  const k = Object.keys(r.params).length;
  if (n <= k) return null;
  const sse = res.reduce((s, q) => s + (q.model_iv! - q.market_iv) ** 2, 0);
  return n * Math.log(Math.max(sse, 1e-300) / n) + k * Math.log(n);
}

/** The lowest BIC among the day's fits (ties: the simpler model, the order of `models`). */
export function bestModel(fits: Record<string, FitRecord>): string | null {
  let best: string | null = null;
  for (const [m, f] of Object.entries(fits)) if (f.bic !== null && (best === null || f.bic < fits[best].bic!)) best = m;
  return best;
}

function fitRecord(model: string, route: FitRoute, r: CalibrationResult, priorNote?: string): FitRecord {
  return {
    model,
    params: r.params,
    stderr: r.stderr,
    rmse_iv: r.rmse_iv,
    converged: r.converged,
    route,
    seconds: r.seconds,
    bic: bic(r),
    optimizer: `${r.route.name}: ${r.route.reason}`,
    covariance: r.covariance,
    noise: Number.isFinite(r.noise) ? r.noise : null,
    quotes_used: r.quotes.used,
    iterations: r.iterations,
    message: r.message,
    ...(priorNote ? { prior_note: priorNote } : {}),
  };
}

function failedRecord(model: string, route: FitRoute, error: string, seconds: number): FitRecord {
  return { model, params: null, stderr: null, rmse_iv: null, converged: false, route, seconds, bic: null, optimizer: '', covariance: null, noise: null, quotes_used: 0, iterations: 0, message: error, error };
}

/** A warm start exactly on a bound maps to an infinite unconstrained coordinate: pull it a hair inside. */
function insideBounds(model: string, params: Record<string, number>): Record<string, number> {
  const out = { ...params };
  for (const s of getModel(model).params) {
    const v = out[s.name];
    if (v === undefined) continue;
    const eps = 1e-9 * (Number.isFinite(s.upper - s.lower) ? s.upper - s.lower : Math.max(1, Math.abs(v)));
    out[s.name] = Math.min(Math.max(v, s.lower + eps), s.upper - eps);
  }
  return out;
}

function priorOf(prev: FitRecord, strength: number): PriorSource | null {
  if (!prev.covariance || prev.noise === null || !prev.params) return null;
  return { model: prev.model, params: prev.params, covariance: prev.covariance.map((row) => row.map((c) => c / strength)), noise: prev.noise };
}

interface Ctx {
  opts: BacktestOptions;
  backend: Backend;
  log: Logger;
}

/** A warm fit: from the previous good fit, with it as prior when asked and possible. */
async function warmFit(ctx: Ctx, day: Day, model: string, prev: FitRecord): Promise<{ rec: FitRecord; result?: CalibrationResult }> {
  const m = getModel(model);
  const start = { model, params: insideBounds(model, prev.params!) };
  const wantPrior = (ctx.opts.prior ?? 'previous') === 'previous';
  const prior = wantPrior ? priorOf(prev, ctx.opts.priorStrength ?? DEFAULT_PRIOR_STRENGTH) : null;
  let note = wantPrior && !prior ? 'the previous fit has no covariance (a parameter at a bound): warm start only' : undefined;
  const t0 = performance.now();
  const run = (p: PriorSource | null) => calibrate(day.quotes, { model: m, backend: ctx.backend, start, ...(p ? { prior: p } : {}), log: ctx.log });
  try {
    try {
      const r = await run(prior);
      return { rec: fitRecord(model, prior ? 'warm+prior' : 'warm', r, note), result: r };
    } catch (e) {
      if (!(prior && e instanceof CalibrationInputError && e.subject === 'prior')) throw e;
      note = `prior refused (${e.message}): warm start only`;
      const r = await run(null);
      return { rec: fitRecord(model, 'warm', r, note), result: r };
    }
  } catch (e) {
    return { rec: failedRecord(model, prior ? 'warm+prior' : 'warm', (e as Error).message, (performance.now() - t0) / 1000) };
  }
}

/** The cold fits of a day, one surface per model, through calibrateMany. */
async function coldFits(ctx: Ctx, day: Day, models: readonly string[]): Promise<Map<string, { rec: FitRecord; result?: CalibrationResult }>> {
  const out = new Map<string, { rec: FitRecord; result?: CalibrationResult }>();
  if (models.length === 0) return out;
  const surfaces: ManySurface[] = models.map((model) => ({
    name: model,
    model,
    quotes: day.quotes,
    ...(ctx.opts.coldStart?.[model] ? { start: ctx.opts.coldStart[model] } : {}),
  }));
  const processModels = models.filter((m) => !isSliceModel(getModel(m))).length;
  const threads = Math.max(1, Math.min(ctx.opts.threads ?? processModels, processModels));
  const outcomes = await calibrateMany(surfaces, { backend: ctx.backend.name === 'cpu' ? 'cpu' : ctx.backend, threads, log: ctx.log });
  outcomes.forEach((o, i) => {
    const model = models[i];
    if (isSurfaceFailure(o)) out.set(model, { rec: failedRecord(model, 'cold', o.error, o.seconds) });
    else out.set(model, { rec: fitRecord(model, 'cold', o), result: o });
  });
  return out;
}

function detailOf(day: Day, results: Map<string, CalibrationResult>): DayDetail {
  return {
    excluded: day.excluded,
    quotes: day.quotes.map((q) => ({ row: q.row, T: q.T, expiry: q.expiry, strike: q.strike, isCall: q.isCall, price: q.price, forward: q.forward, discount: q.discount, iv: q.iv, weight: q.weight ?? 1 })),
    residuals: Object.fromEntries([...results].map(([m, r]) => [m, r.residuals])),
  };
}

async function runDay(ctx: Ctx, chain: Chain, day: Day): Promise<{ record: DayRecord; detail: DayDetail }> {
  const t0 = performance.now();
  const stale = staleReason(day.book, chain.goodBooks);
  const cold: string[] = [];
  const fits = new Map<string, { rec: FitRecord; result?: CalibrationResult }>();
  for (const model of ctx.opts.models) {
    const prev = chain.lastGood.get(model);
    if (isSliceModel(getModel(model)) || !prev || chain.restartNext) cold.push(model);
  }
  for (const [m, f] of await coldFits(ctx, day, cold)) fits.set(m, f);
  for (const model of ctx.opts.models) {
    if (!cold.includes(model)) fits.set(model, await warmFit(ctx, day, model, chain.lastGood.get(model)!));
  }
  const ordered = Object.fromEntries(ctx.opts.models.map((m) => [m, fits.get(m)!.rec]));
  const partial = {
    date: day.date,
    source: day.source,
    quotes: day.quotes.length,
    stale: stale !== null,
    stale_reason: stale,
    book: day.book,
    fits: ordered,
    best_model: bestModel(ordered),
    market: marketSeries(day.quotes),
    seconds: 0,
  };
  const cp = chain.commit(partial);
  const results = new Map([...fits].flatMap(([m, f]) => (f.result ? [[m, f.result] as const] : [])));
  const record: DayRecord = { ...partial, ...cp, seconds: (performance.now() - t0) / 1000 };
  return { record, detail: detailOf(day, results) };
}

export async function runBacktest(opts: BacktestOptions, sink?: DaySink): Promise<BacktestResult> {
  const t0 = performance.now();
  const log = opts.log ?? silentLogger;
  for (const m of opts.models) getModel(m);
  const { days: plan, notes } = planDays(opts.input, opts);
  const chain = new Chain(referenceModel(opts.models), { restartAfterShift: opts.restartAfterShift ?? true, skipStale: opts.skipStale ?? true, bocpd: opts.bocpd });
  const done = sink ? await sink.completed() : [];
  const planned = new Set(plan.map((d) => d.date));
  const days: DayRecord[] = [];
  for (const rec of done) {
    if (!planned.has(rec.date)) throw new Error(`the store holds ${rec.date}, which this input does not have (another run's store?)`);
    chain.commit(rec);
    days.push(rec);
  }
  const doneDates = new Set(done.map((d) => d.date));
  const todo = plan.filter((d) => !doneDates.has(d.date));
  if (todo.length && done.length && todo[0].date < done[done.length - 1].date) {
    throw new Error(`the store has days after ${todo[0].date}, which it lacks: not a resumable run of this input`);
  }
  const backend = await chooseFitBackend(opts.backend ?? 'auto', log);
  const ctx: Ctx = { opts, backend, log };
  if (done.length) log(`backtest: resuming after ${done[done.length - 1].date} (${done.length} days stored)`);
  for (const p of todo) {
    const day = p.load();
    const { record, detail } = await runDay(ctx, chain, day);
    if (sink) await sink.saveDay(record, detail);
    days.push(record);
    const f = Object.values(record.fits).map((x) => `${x.model} ${x.rmse_iv === null ? 'failed' : (100 * x.rmse_iv).toFixed(2)} (${x.route})`).join(', ');
    log(`backtest ${record.date}: ${record.quotes} quotes${record.stale ? ' STALE' : ''}${record.change_point.flagged ? ' CHANGE POINT' : ''}; ${f}; best ${record.best_model}; ${record.seconds.toFixed(1)} s`);
  }
  return {
    days,
    change_points: days.filter((d) => d.change_point.flagged).map((d) => d.date),
    stale_days: days.filter((d) => d.stale).map((d) => d.date),
    seconds: (performance.now() - t0) / 1000,
    resumed: done.length,
    notes,
  };
}
