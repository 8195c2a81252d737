/**
 * runBacktest: the nightly job over daily snapshots. Per day: normalize (input.ts), the stale test
 * (stale.ts), every model fitted, the model choice (BIC), the change-point detector (chain.ts), one
 * store transaction (store.ts). Cold fits (the first day, the day after a change point, a model
 * without a good previous fit, slice models without a start) go through calibrateMany, one surface
 * per model, in parallel; warm fits run in-process, day d from day d-1's good fit, with it as a
 * Gaussian prior unless `prior: 'off'`: checked (checkedFit, the default) or MAP.
 */
import type { Backend, BackendRequest, Logger } from '../backends/backend.js';
import { silentLogger } from '../backends/backend.js';
import { calibrate } from '../calibrator/calibrate.js';
import { calibrateMany, isSurfaceFailure, type ManySurface } from '../calibrator/many.js';
import { priorConflict, type PriorConflict, type PriorSource } from '../calibrator/posterior.js';
import { pinnedParams } from '../calibrator/route.js';
import { sliceTakesStart } from '../calibrator/sliceFit.js';
import { resolveBounds } from '../calibrator/transforms.js';
import type { CalibrationResult } from '../calibrator/result.js';
import { CalibrationInputError } from '../calibrator/transforms.js';
import { chooseFitBackend, insideBounds } from '../demo/fits.js';
import { getModel, isSliceModel } from '../models/index.js';
import type { Model, SliceModel } from '../models/types.js';
import { Chain } from './chain.js';
import { BacktestInputError, planDays, type Day, type DayQuote, type InputOptions } from './input.js';
import { marketSeries } from './series.js';
import { staleReason } from './stale.js';
import type { ColdRescue, DayDetail, DayRecord, FitRecord, FitRoute } from './types.js';
import type { BocpdOptions } from './bocpd.js';
import { publishDay, type BacktestPublish } from './publish.js';

export interface BacktestOptions extends InputOptions {
  input: string;
  models: readonly string[];
  backend?: BackendRequest;
  /** 'previous' (default): day d's fit has day d-1's good fit as a Gaussian prior; 'off': warm start only. */
  prior?: 'off' | 'previous';
  /** How the prior acts (default 'check'): 'check' tests the data's own optimum against it (checkedFit), 'map' fits data and prior together. */
  priorMode?: PriorMode;
  /** The prior's covariance is the previous posterior covariance divided by this (default 0.25: standard errors doubled). */
  priorStrength?: number;
  /** Standard deviation of a day's random walk of each parameter in z, added to the prior's variance (default DEFAULT_PRIOR_DRIFT). */
  priorDrift?: number;
  /** Worker threads of the cold passes (default: one per core). */
  threads?: number;
  /** A detected change point sends the next day to the cold route (default true). */
  restartAfterShift?: boolean;
  /** Stale days neither start the next day nor feed the detector (default true). */
  skipStale?: boolean;
  /** Starting parameters of cold fits per model (default: calibrate's own cold start). */
  coldStart?: Record<string, Record<string, number>>;
  bocpd?: Partial<BocpdOptions>;
  /** Sign each day's fit of a slice model as vol-feed updates (publish.ts). */
  publish?: BacktestPublish;
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

export type PriorMode = 'check' | 'map';
export const DEFAULT_PRIOR_STRENGTH = 0.25;
/** A checked fit whose chi-square tail probability under the prior is below this is a prior-data conflict. */
export const PRIOR_CONFLICT_P = 0.01;
/**
 * Random-walk standard deviation per day of each parameter in z (a Kalman filter's process noise,
 * added to the prior's z variance): 0.3 is about 30 % of a positive parameter near its lower
 * bound. Without it, directions the previous day pinned down hold today's fit there even after
 * the market has moved (bench/RESULTS.md, backtest: the anchor's Bates chains with and without).
 */
export const DEFAULT_PRIOR_DRIFT = 0.3;

/** The model the detector reads parameters from: Heston when fitted, else the first process model. */
export function referenceModel(models: readonly string[]): string | null {
  if (models.includes('heston')) return 'heston';
  return models.find((m) => !isSliceModel(getModel(m))) ?? null;
}

/** The free parameters of a fit: a process model's, or a slice model's global ones plus each expiry's (ssvi: rho, eta, gamma + one theta per expiry). */
export function parameterCount(r: CalibrationResult): number {
  if (!r.slices) return Object.keys(r.params).length;
  return getModel(r.model).params.length + r.slices.reduce((n, s) => n + Object.keys(s.params).length, 0);
}

/** BIC of a fit over its unweighted IV residuals. */
export function bic(r: CalibrationResult): number | null {
  const res = r.residuals.filter((q) => q.model_iv !== null);
  const n = res.length;
  const k = parameterCount(r);
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
    // Surface models' per-expiry parameters (black's are its params already).
    ...(r.slices && r.model !== 'black' ? { slices: r.slices, arbitrage: r.arbitrage } : {}),
    ...(priorNote ? { prior_note: priorNote } : {}),
  };
}

function failedRecord(model: string, route: FitRoute, error: string, seconds: number): FitRecord {
  return { model, params: null, stderr: null, rmse_iv: null, converged: false, route, seconds, bic: null, optimizer: '', covariance: null, noise: null, quotes_used: 0, iterations: 0, message: error, error };
}

function priorOf(prev: FitRecord, strength: number, drift: number): PriorSource | null {
  if (!prev.covariance || prev.noise === null || !prev.params) return null;
  // A parameter at its bound (a covariance can still come with it) is moved just inside, where a prior's mean must be.
  return { model: prev.model, params: insideBounds(getModel(prev.model), prev.params), covariance: prev.covariance.map((row) => row.map((c) => c / strength)), noise: prev.noise, drift };
}

/** A warm fit: from the previous good fit, with it as prior (checked or MAP) when asked and possible. */
async function warmFit(quotes: readonly DayQuote[], plan: FitPlan, backend: Backend, log: Logger): Promise<FitOutcome> {
  const { model, prev } = plan;
  const m = getModel(model);
  if (isSliceModel(m)) return warmSliceFit(quotes, plan, m, backend, log);
  const start = { model, params: insideBounds(m, prev!.params!) };
  const wantPrior = plan.prior === 'previous';
  const prior = wantPrior ? priorOf(prev!, plan.priorStrength, plan.priorDrift) : null;
  let note = wantPrior && !prior ? 'the previous fit has no covariance (a parameter at a bound): warm start only' : undefined;
  const t0 = performance.now();
  try {
    if (!prior) return warmOutcome(model, 'warm', await dataFit(quotes, m, start.params, backend, log), note);
    if (plan.priorMode === 'check') return await checkedFit(quotes, m, start.params, prior, backend, log);
    try {
      return outcomeOf(model, 'warm+prior', await calibrate(quotes, { model: m, backend, start, prior, log }), note);
    } catch (e) {
      if (!(e instanceof CalibrationInputError && e.subject === 'prior')) throw e;
      note = `prior refused (${e.message}): warm start only`;
      return warmOutcome(model, 'warm', await dataFit(quotes, m, start.params, backend, log), note);
    }
  } catch (e) {
    return { rec: failedRecord(model, prior ? 'warm+prior' : 'warm', (e as Error).message, (performance.now() - t0) / 1000) };
  }
}

/** A slice model that takes a start (ssvi: its global parameters) from the previous fit; it has no covariance, so no prior. */
async function warmSliceFit(quotes: readonly DayQuote[], plan: FitPlan, m: SliceModel, backend: Backend, log: Logger): Promise<FitOutcome> {
  const t0 = performance.now();
  const note = plan.prior === 'previous' ? `${m.name} has no covariance of its global parameters: warm start only` : undefined;
  try {
    return outcomeOf(m.name, 'warm', await calibrate(quotes, { model: m, backend, start: { model: m.name, params: plan.prev!.params! }, log }), note);
  } catch (e) {
    return { rec: failedRecord(m.name, 'warm', (e as Error).message, (performance.now() - t0) / 1000) };
  }
}

const isPinned = (m: Model, r: CalibrationResult) => pinnedParams(m, Float64Array.from(m.params, (s) => r.params[s.name]), resolveBounds(m)).length > 0;

/** A warm fit, and why and with what result the day's cold route also ran (absent: it did not). */
interface WarmResult {
  r: CalibrationResult;
  rescue?: ColdRescue;
}

/**
 * The better (lower objective) of a warm fit and the day's cold route (its probe, data-driven and
 * staged LM starts; not its global DE stage, which on a corner the data prefer costs seconds and
 * finds the same corner); the seconds of both count.
 */
async function withColdRoute(quotes: readonly DayQuote[], m: Model, warm: CalibrationResult, reason: ColdRescue['reason'], backend: Backend, log: Logger): Promise<WarmResult> {
  const cold = await calibrate(quotes, { model: m, backend, globalStage: false, log });
  const kept = cold.objective < warm.objective ? 'cold' : 'warm';
  return { r: { ...(kept === 'cold' ? cold : warm), seconds: warm.seconds + cold.seconds }, rescue: { reason, kept } };
}

/**
 * The data's own optimum from a warm start. One that ends with parameters at a bound is refitted
 * from the cold route too (a chain can slide into a corner whose basin a fresh start on the same
 * day avoids: the anchor's 2026-03-10).
 */
async function dataFit(quotes: readonly DayQuote[], m: Model, params: Record<string, number>, backend: Backend, log: Logger): Promise<WarmResult> {
  return rescuedIfPinned(quotes, m, await warmCalibrate(quotes, m, params, backend, log), backend, log);
}

/** LM from the previous fit's parameters, data only. */
function warmCalibrate(quotes: readonly DayQuote[], m: Model, params: Record<string, number>, backend: Backend, log: Logger): Promise<CalibrationResult> {
  return calibrate(quotes, { model: m, backend, start: { model: m.name, params }, log });
}

/** A warm fit as it is, or beside the day's cold route when it ends with a parameter at a bound. */
async function rescuedIfPinned(quotes: readonly DayQuote[], m: Model, r: CalibrationResult, backend: Backend, log: Logger): Promise<WarmResult> {
  return isPinned(m, r) ? withColdRoute(quotes, m, r, 'bound', backend, log) : { r };
}

function warmOutcome(model: string, route: FitRoute, w: WarmResult, note?: string): FitOutcome {
  const out = outcomeOf(model, route, w.r, note);
  if (w.rescue) out.rec.cold_rescue = w.rescue;
  return out;
}

/**
 * The checked prior (the default): the day's fit is the data's own optimum reached from the
 * previous fit, so its RMSE is never raised by the prior, and the prior tests it: the Mahalanobis
 * distance of today's parameters under yesterday's posterior (covariance / strength, plus the
 * drift) and its chi-square tail probability, a prior-data conflict below 1 %. A warm fit at a
 * bound or in conflict with the prior (the market left yesterday's basin: the day of a regime
 * shift) also runs the cold route, the better kept and tested again. A MAP fit (`priorMode:
 * 'map'`) instead balances data and prior, and sits above the data's optimum by the prior's pull
 * (bench/RESULTS.md, backtest).
 */
async function checkedFit(quotes: readonly DayQuote[], m: Model, params: Record<string, number>, prior: PriorSource, backend: Backend, log: Logger): Promise<FitOutcome> {
  const bounds = resolveBounds(m);
  const warm = await warmCalibrate(quotes, m, params, backend, log);
  let check: PriorConflict;
  try {
    check = priorConflict(m, prior, warm.params, bounds);
  } catch (e) {
    if (!(e instanceof CalibrationInputError && e.subject === 'prior')) throw e;
    return warmOutcome(m.name, 'warm', await rescuedIfPinned(quotes, m, warm, backend, log), `prior refused (${e.message}): warm start only`);
  }
  const conflict = check.p_value < PRIOR_CONFLICT_P;
  let w: WarmResult = { r: warm };
  if (conflict || isPinned(m, warm)) {
    w = await withColdRoute(quotes, m, warm, conflict ? 'conflict' : 'bound', backend, log);
    if (w.rescue!.kept === 'cold') check = priorConflict(m, prior, w.r.params, bounds);
  }
  const out = warmOutcome(m.name, 'warm+prior', w);
  out.rec.prior_check = { ...check, conflict: check.p_value < PRIOR_CONFLICT_P };
  return out;
}

/** One model's fit of a day as planned by the chain: plain data, so that it can cross to a queue worker. */
export interface FitPlan {
  model: string;
  route: 'cold' | 'warm';
  /** The last good fit of the model (warm). */
  prev?: FitRecord;
  prior: 'off' | 'previous';
  priorStrength: number;
  priorDrift: number;
  priorMode: PriorMode;
  coldStart?: Record<string, number>;
}

export interface FitOutcome {
  rec: FitRecord;
  residuals?: CalibrationResult['residuals'];
}

/** Fits a day's models; the in-process one below, or a queue's (queue.ts). */
export type DayFitter = (date: string, quotes: readonly DayQuote[], plans: readonly FitPlan[]) => Promise<Map<string, FitOutcome>>;

function outcomeOf(model: string, route: FitRoute, r: CalibrationResult, priorNote?: string): FitOutcome {
  return { rec: fitRecord(model, route, r, priorNote), residuals: r.residuals };
}

/** A single fit: what a queue worker runs (a cold one through calibrate, which is what calibrateMany runs per surface). */
export async function fitOne(quotes: readonly DayQuote[], plan: FitPlan, backend: Backend, log: Logger): Promise<FitOutcome> {
  if (plan.route === 'warm') return warmFit(quotes, plan, backend, log);
  const t0 = performance.now();
  try {
    const r = await calibrate(quotes, { model: getModel(plan.model), backend, ...(plan.coldStart ? { start: plan.coldStart } : {}), log });
    return outcomeOf(plan.model, 'cold', r);
  } catch (e) {
    return { rec: failedRecord(plan.model, 'cold', (e as Error).message, (performance.now() - t0) / 1000) };
  }
}

/** In-process: a day's cold fits through calibrateMany (one surface per model, in parallel), then the warm ones. */
export function localFitter(backend: Backend, log: Logger, threads?: number): DayFitter {
  return async (_date, quotes, plans) => {
    const out = new Map<string, FitOutcome>();
    const cold = plans.filter((p) => p.route === 'cold');
    if (cold.length) {
      const surfaces: ManySurface[] = cold.map((p) => ({ name: p.model, model: p.model, quotes, ...(p.coldStart ? { start: p.coldStart } : {}) }));
      const processModels = cold.filter((p) => !isSliceModel(getModel(p.model))).length;
      const n = Math.max(1, Math.min(threads ?? processModels, processModels));
      const outcomes = await calibrateMany(surfaces, { backend: backend.name === 'cpu' ? 'cpu' : backend, threads: n, log });
      outcomes.forEach((o, i) => {
        const model = cold[i].model;
        out.set(model, isSurfaceFailure(o) ? { rec: failedRecord(model, 'cold', o.error, o.seconds) } : outcomeOf(model, 'cold', o));
      });
    }
    for (const p of plans) if (p.route === 'warm') out.set(p.model, await warmFit(quotes, p, backend, log));
    return out;
  };
}

function detailOf(day: Day, fits: Map<string, FitOutcome>): DayDetail {
  return {
    excluded: day.excluded,
    quotes: day.quotes.map((q) => ({ row: q.row, T: q.T, expiry: q.expiry, strike: q.strike, isCall: q.isCall, price: q.price, forward: q.forward, discount: q.discount, iv: q.iv, weight: q.weight ?? 1 })),
    residuals: Object.fromEntries([...fits].flatMap(([m, f]) => (f.residuals ? [[m, f.residuals]] : []))),
  };
}

async function runDay(opts: BacktestOptions, fitter: DayFitter, chain: Chain, day: Day): Promise<{ record: DayRecord; detail: DayDetail }> {
  const t0 = performance.now();
  const stale = staleReason(day.book, chain.goodBooks);
  const plans: FitPlan[] = opts.models.map((model) => {
    const prev = chain.lastGood.get(model);
    const m = getModel(model);
    const cold = (isSliceModel(m) && !sliceTakesStart(m)) || !prev || chain.restartNext;
    return {
      model,
      route: cold ? 'cold' : 'warm',
      ...(cold ? {} : { prev }),
      prior: opts.prior ?? 'previous',
      priorStrength: opts.priorStrength ?? DEFAULT_PRIOR_STRENGTH,
      priorDrift: opts.priorDrift ?? DEFAULT_PRIOR_DRIFT,
      priorMode: opts.priorMode ?? 'check',
      ...(cold && opts.coldStart?.[model] ? { coldStart: opts.coldStart[model] } : {}),
    };
  });
  const fits = await fitter(day.date, day.quotes, plans);
  const ordered = Object.fromEntries(opts.models.map((m) => [m, fits.get(m)!.rec]));
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
  const record: DayRecord = { ...partial, ...cp, seconds: (performance.now() - t0) / 1000 };
  return { record, detail: detailOf(day, fits) };
}

/** `fitter`: how a day's fits run (default in-process: localFitter); a queue's coordinator passes its own. */
export async function runBacktest(opts: BacktestOptions, sink?: DaySink, fitter?: DayFitter): Promise<BacktestResult> {
  const t0 = performance.now();
  const log = opts.log ?? silentLogger;
  for (const m of opts.models) getModel(m);
  const { days: plan, notes } = planDays(opts.input, opts);
  if (plan.length === 0) {
    const range = opts.from || opts.to ? ` between ${opts.from ?? 'the first day'} and ${opts.to ?? 'the last day'}` : '';
    throw new BacktestInputError(`${opts.input}: no days${range}`);
  }
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
  const fit = fitter ?? localFitter(await chooseFitBackend(opts.backend ?? 'auto', log), log, opts.threads);
  if (done.length) log(`backtest: resuming after ${done[done.length - 1].date} (${done.length} days stored)`);
  for (const p of todo) {
    const day = p.load();
    const { record, detail } = await runDay(opts, fit, chain, day);
    if (opts.publish) await publishDay(opts.publish, record, detail);
    if (sink) await sink.saveDay(record, detail);
    days.push(record);
    const f = Object.values(record.fits).map((x) => `${x.model} ${x.rmse_iv === null ? 'failed' : (100 * x.rmse_iv).toFixed(2)} (${x.route})`).join(', ');
    const pub = record.published ? `; published ${record.published.model}: ${record.published.error ?? `${record.published.updates} updates`}` : '';
    log(`backtest ${record.date}: ${record.quotes} quotes${record.stale ? ' STALE' : ''}${record.change_point.flagged ? ' CHANGE POINT' : ''}; ${f}; best ${record.best_model}${pub}; ${record.seconds.toFixed(1)} s`);
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
