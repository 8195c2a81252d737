/**
 * The calibrator's path for slice models (black, svi, ssvi, essvi: one parameter set per expiry).
 * `calibrate()` hands them here first thing: their slice engine (src/engines/registry.ts: 'black',
 * closed form; 'surface', src/surface/fitSurface) fits them on the CPU in f64, and this file
 * turns the engine's fit into calibrate's JSON shape (model, params, stderr, rmse_iv, rmse_price,
 * objective, iterations, evaluations, route, converged, backend, seconds, quotes, residuals, ...)
 * plus `slices` (one per expiry, increasing T), `arbitrage` and `arbitrage_free`.
 *
 * What the options mean here: the objective is implied vol (weighted least squares, weights mean
 * 1); there is no prior, route choice, bounds or constraint penalty (asking for one is a
 * CalibrationInputError naming it), and a start only for ssvi (its global rho, eta, gamma: one
 * more start beside the data's own); `slices.arbitrageFree` constrains the fit (see each model's
 * `slice.arbitrageFreeMeaning`). Numbers: `rmse_iv` unweighted over the quotes used; `rmse_price`
 * of Black-76 at the model IV against the market price; `objective` the weighted SSE in IV;
 * `stderr` only for black (sandwich errors of the weighted means), null for global surface
 * parameters.
 */
import { runOnBackend, selectBackend, silentLogger, type Backend } from '../backends/backend.js';
import { sliceEngine, type SliceFitOptions, type SliceQuote } from '../engines/registry.js';
import type { SliceModel } from '../models/types.js';
import { blackFlatModel } from '../models/slice.js';
import { flatVolPrice } from '../surface/blackFlat.js';
import { isoUtc, parseIsoUtc } from '../market/time.js';
import { SurfaceInputError, type SliceModelFit } from '../surface/types.js';
import type { SsviStart } from '../surface/ssviFit.js';
import type { CalibrateOptions } from './options.js';
import type { CalibrationQuote } from './quotes.js';
import type { CalibrationResult } from './result.js';
import { CalibrationInputError } from './transforms.js';

/** Options of a slice-model fit (CalibrateOptions.slices). */
export type SliceCalibrateOptions = SliceFitOptions;

/** A calibration quote as slice fits read it: the expiry label and venue ride along when present. */
type Quote = CalibrationQuote & { expiry?: string; venue?: string; timestamp?: string };

/**
 * A slice model's fit in calibrate's JSON shape, synchronously (CPU f64). The engine is the
 * model's slice engine in the registry; `backend` is the result's `backend`: 'webgpu' when
 * `options` carry a stage the engine ran there (calibrateSlices).
 */
export function fitSliceModel(model: SliceModel, quotes: readonly Quote[], options: SliceFitOptions = {}, backend: 'cpu' | 'webgpu' = 'cpu'): CalibrationResult {
  const t0 = performance.now();
  if (quotes.length === 0) throw new CalibrationInputError('no quotes to calibrate to (empty quote set)');
  const engine = sliceEngine(model);
  if (options.arbitrageFree && model.name === 'black') {
    throw new CalibrationInputError(`an arbitrage-free fit is ${model.slice.arbitrageFreeMeaning} for black`);
  }
  let fit: SliceModelFit;
  try {
    fit = engine.fit(model, quotes as readonly SliceQuote[], options);
  } catch (e) {
    // No usable quote, quotes of one expiry disagreeing on T, ...: the data's fault, one line.
    if (e instanceof SurfaceInputError || e instanceof RangeError) throw new CalibrationInputError(`${model.name} fit: ${e.message.replace(/^black fit: /, '')}`);
    throw e;
  }
  return sliceResult(model, quotes, fit, (performance.now() - t0) / 1000, backend);
}

/** The flat-vol-per-expiry fit ('black') in calibrate's JSON shape (moved here from src/demo). */
export function fitBlackFlat(quotes: readonly Quote[]): CalibrationResult {
  return fitSliceModel(blackFlatModel, quotes);
}

function sliceResult(model: SliceModel, quotes: readonly Quote[], fit: SliceModelFit, seconds: number, backend: 'cpu' | 'webgpu'): CalibrationResult {
  const byRow = new Map(quotes.map((q) => [q.row, q]));
  let se = 0, np = 0, sp = 0, npr = 0;
  const residuals: CalibrationResult['residuals'] = [];
  let asOfMs = -Infinity;
  for (const r of [...fit.residuals].sort((a, b) => a.row - b.row)) {
    const q = byRow.get(r.row);
    se += (r.model_iv - r.market_iv) ** 2;
    np++;
    const tMs = q?.timestamp === undefined ? null : parseIsoUtc(q.timestamp);
    if (tMs !== null) asOfMs = Math.max(asOfMs, tMs);
    residuals.push({ row: r.row, market_iv: r.market_iv, model_iv: r.model_iv, weight: q?.weight ?? 1, strike: r.strike, expiry: r.T, ...(tMs !== null ? { timestamp: isoUtc(tMs) } : {}) });
    if (!q) continue;
    const market = Number.isFinite(q.price) ? q.price : flatVolPrice(q, r.market_iv);
    const price = flatVolPrice(q, r.model_iv);
    if (Number.isFinite(market) && Number.isFinite(price)) {
      sp += (price - market) ** 2;
      npr++;
    }
  }
  const P = Object.keys(fit.params).length + fit.slices.reduce((n, s) => n + Object.keys(s.params).length, 0);
  const dof = np - P;
  // Global parameters with a finite range (the report marks values that end on a bound).
  const bounds: Record<string, [number, number]> = {};
  for (const spec of model.params) if (Number.isFinite(spec.lower) && Number.isFinite(spec.upper)) bounds[spec.name] = [spec.lower, spec.upper];
  return {
    model: model.name,
    params: fit.params,
    stderr: fit.stderr,
    rmse_iv: np > 0 ? Math.sqrt(se / np) : null,
    rmse_price: npr > 0 ? Math.sqrt(sp / npr) : 0,
    objective: fit.objective,
    iterations: fit.iterations,
    evaluations: fit.evaluations,
    route: fit.route,
    converged: fit.converged,
    backend,
    seconds,
    quotes: { used: residuals.length, excluded: [...fit.excluded].sort((a, b) => a.row - b.row) },
    residuals,
    objective_kind: 'iv',
    correlations: null,
    covariance: null,
    noise: dof > 0 ? Math.sqrt(fit.objective / dof) : 1,
    history: [],
    message: fit.message,
    jacobian: 'none',
    bounds,
    prior: false,
    slices: fit.slices,
    arbitrage: fit.arbitrage,
    arbitrage_free: fit.arbitrageFree,
    ...(Number.isFinite(asOfMs) ? { as_of: isoUtc(asOfMs) } : {}),
    notes: fit.notes,
  };
}

/** Whether a slice model takes a start: ssvi (global rho, eta, gamma); the others have no global parameters to start from. */
export function sliceTakesStart(model: SliceModel): boolean {
  return model.name === 'ssvi';
}

/** ssvi's start from a previous fit (`{model, params}`) or bare parameters: one more start beside the data's own. */
function sliceStart(model: SliceModel, start: NonNullable<CalibrateOptions['start']>, refuse: (what: string, subject?: 'start') => never): SsviStart {
  if (!sliceTakesStart(model)) return refuse('a start is not used (the slice fits start from the data)', 'start');
  const fromFit = typeof start.model === 'string';
  if (fromFit && start.model !== 'ssvi') return refuse(`the start is a ${String(start.model)} fit`, 'start');
  const params = (fromFit ? (start as { params: Record<string, unknown> }).params : start) as Record<string, unknown>;
  const value = (name: 'rho' | 'eta' | 'gamma') => {
    const v = params?.[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) refuse(`start ${name} is ${v === undefined ? 'missing' : `not a number (${JSON.stringify(v)})`}`, 'start');
    return v as number;
  };
  return { rho: value('rho'), eta: value('eta'), gamma: value('gamma') };
}

/**
 * calibrate()'s slice path: checks the options that mean nothing for a slice model, then fits.
 * WebGPU asked for by name (or as a selected backend): a model whose slice engine has a WebGPU
 * stage (svi: the quasi-explicit grid, svi_grid.wgsl) runs it there and the rest in f64 on the
 * CPU, `backend: 'webgpu'` in the result (a GPU failure finishes on the CPU and says so); other
 * slice models are fitted on the CPU and the log says so. `auto` does not start a device.
 */
export async function calibrateSlices(quotes: readonly CalibrationQuote[], opts: CalibrateOptions & { model: SliceModel }): Promise<CalibrationResult> {
  const model = opts.model;
  const log = opts.log ?? silentLogger;
  const refuse = (what: string, subject?: 'start' | 'prior'): never => {
    throw new CalibrationInputError(`${model.name} is a slice model (one parameter set per expiry, fitted in implied vol): ${what}`, subject);
  };
  const ssviStart = opts.start !== undefined ? sliceStart(model, opts.start, refuse) : undefined;
  if (opts.prior !== undefined) refuse('a prior is not available', 'prior');
  if ((opts.objective ?? 'iv') !== 'iv') refuse(`the objective is implied vol; '${opts.objective}' is not available`);
  if ((opts.route ?? 'auto') !== 'auto') refuse(`its fit has one route; '${opts.route}' is not available`);
  if (opts.bounds && Object.keys(opts.bounds).length) refuse('parameter bounds are not available');
  if (opts.constraints === 'penalty') refuse('the constraint penalty (--feller) applies to process models');
  const given = typeof opts.backend === 'object' ? (opts.backend as Backend) : undefined;
  const asked = given ? given.name : opts.backend;
  const options: SliceFitOptions = ssviStart ? { ...opts.slices, surface: { ...opts.slices?.surface, ssviStart } } : opts.slices ?? {};
  if (quotes.length === 0) return fitSliceModel(model, quotes, options);
  const engine = sliceEngine(model);
  if (asked === 'webgpu' && engine.gpuStage && engine.capabilities(model).gpu) {
    const backend = given ?? (await selectBackend('webgpu', log));
    const stage = engine.gpuStage.bind(engine);
    const { value, backend: where } = await runOnBackend(backend, `${model.name} grid stage`, (gpu) => stage(model, quotes as readonly SliceQuote[], options, gpu), () => options, log);
    return fitSliceModel(model, quotes, value, where);
  }
  if (asked === 'webgpu') log(`${model.name}: fitted on the CPU in f64 (its slice engine has no WebGPU kernel)`);
  // No backend is selected: resolving 'auto' would only start a GPU device the fit does not use.
  return fitSliceModel(model, quotes, options);
}
