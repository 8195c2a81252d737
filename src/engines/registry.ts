/**
 * The engine registry: which engines can price (or fit) which model, with what capabilities, and
 * how to build them. The calibrator (src/calibrator/pricers.ts, many*.ts), `volfit price`, the
 * report's pricing (src/report/pricing.ts) and the demo (src/demo/fits.ts) all ask here, so a new
 * model or engine is added in one place:
 *
 * - a new process model (src/models/) with a characteristic function and cumulants is priced by
 *   COS on the CPU at once; `kernels.cos` (its WGSL branch) adds WebGPU, `kernels.mc` (a path
 *   scheme) adds Monte Carlo. A model with paths only (rbergomi) gets Monte Carlo.
 * - a new slice model (src/models/slice.ts) names the slice engine that fits it in that engine's
 *   `models` list below.
 * - a new engine is one entry of ENGINES.
 *
 * Two kinds of engines: process engines build a SurfacePricer (a parameter vector per set, many
 * sets per call: what the optimizers need); slice engines fit a slice model's per-expiry
 * parameters themselves (closed form, or src/surface's fitters) and evaluate a fitted smile, whose
 * price is Black-76 at the smile's vol. A slice engine may run a batched stage of its fit on
 * WebGPU (`gpuStage`: the surface engine's SVI grid). Local vol (`volfit price --model localvol
 * --surface fit.json`) has its own list, LOCAL_VOL_ENGINES: the fitted surface is the model.
 */
import { silentLogger, type Backend, type Logger } from '../backends/backend.js';
import type { GpuContext } from '../backends/webgpu/device.js';
import { isSliceModel, type Model, type SliceModel } from '../models/types.js';
import { blackParamName, fitFlatVols, type FlatVolQuote } from '../surface/blackFlat.js';
import type { SurfaceFitOptions } from '../surface/fit.js';
import { fitSurfaceModel, isSurfaceModel, surfaceFromSlices } from '../surface/modelFit.js';
import { SviSurface, surfaceIv, type VolSurface } from '../surface/surface.js';
import { SurfaceInputError, type SliceModelFit, type SurfaceQuote } from '../surface/types.js';
import { hasFourierExtras } from '../models/complex.js';
import { cosPrices } from './cos/cpu.js';
import { gpuSupportsModel } from './cos/gpu.js';
import { COS_RANK_OPTIONS, COS_SEARCH_MAX_TERMS, type CosOptions } from './cos/plan.js';
import { createCosPricer, type CosPricerOptions } from './cos/pricer.js';
import { MC_CALIBRATION_DEFAULTS, MC_CLI_DEFAULTS } from './mc/index.js';
import { mcSupportsModel, type McOptions } from './mc/plan.js';
import { createMcPricer } from './mc/pricer.js';
import { createLocalVolPricer, type LocalVolMcPricer } from './mc/localvol.js';
import type { PricerFactory, PricerHooks, QuoteSet, SurfacePricer } from './pricer.js';

export type EngineName = 'cos' | 'mc' | 'black' | 'surface';

/** What an engine is asked for: a calibration, `volfit price`, or the report's f64 smiles and Greeks. */
export type EnginePurpose = 'calibrate' | 'price' | 'report';

export interface EngineCapabilities {
  /** Analytic parameter gradients (SurfacePricer.priceAndGradient; LM's analytic Jacobian). */
  gradient: boolean;
  /** A WGSL kernel prices the model on WebGPU (otherwise the engine computes on the CPU whatever the backend). */
  gpu: boolean;
  /** Prices are estimates with standard errors (Monte Carlo). */
  stochastic: boolean;
  /** The engine fits and prices per-expiry slice models (a fit's slices, not a parameter vector). */
  slices: boolean;
  /** Deterministic f64 prices on the CPU without a backend (the report's smiles and Greeks). */
  exactCpu: boolean;
}

/** Options an engine may read; each ignores the others'. */
export interface EngineOptions {
  log?: Logger;
  /** COS engine: f64 and f32 options. */
  cos?: Omit<CosPricerOptions, 'log'>;
  /** Monte Carlo engine: paths, steps, seed (defaults per purpose: MC_CALIBRATION_DEFAULTS, MC_CLI_DEFAULTS). */
  mc?: McOptions;
  /** Fills the engine's defaults that depend on the job (Monte Carlo sizes); default 'calibrate'. */
  purpose?: EnginePurpose;
  /** The calibrator's hooks for this pricer (progress heartbeat, search-grade pricing). */
  hooks?: PricerHooks;
}

interface EngineBase {
  readonly name: EngineName;
  readonly description: string;
  /** Whether the engine can price (slice engines: fit) the model. */
  supports(model: Model): boolean;
  /** The engine's capabilities for a model it supports. */
  capabilities(model: Model): EngineCapabilities;
}

/** An engine that prices process models: a SurfacePricer per quote set. */
export interface ProcessEngine extends EngineBase {
  readonly kind: 'process';
  /**
   * The pricer of `quotes` on `backend`. A model, option or quote it cannot take is a RangeError:
   * thrown at once where the engine can tell without work (Monte Carlo options), else a rejection.
   */
  create(model: Model, quotes: QuoteSet, backend: Backend, options?: EngineOptions): SurfacePricer | Promise<SurfacePricer>;
  /** Engines with `exactCpu`: f64 present values of one parameter set, synchronously. */
  priceCpu?(model: Model, params: Float64Array, quotes: QuoteSet, options?: EngineOptions): Float64Array;
}

/** What a slice engine reads from a quote (a canonical `Quote` has it all). */
export type SliceQuote = FlatVolQuote & Pick<SurfaceQuote, 'bid' | 'ask' | 'venue'>;

/** Options of a slice fit. */
export interface SliceFitOptions {
  /** Constrain the fit to be arbitrage-free (default: the model's `slice.arbitrageFreeDefault`). */
  arbitrageFree?: boolean;
  /** Surface models: fitSurface's other options (weighting, cabinet quotes, check grid, SVI grid). */
  surface?: Omit<SurfaceFitOptions, 'model' | 'arbitrageFree'>;
}

/** The parts of a fit result a slice engine evaluates: top-level params and the per-expiry slices. */
export interface SliceFitData {
  params: Record<string, number>;
  slices?: ReadonlyArray<{ T: number; params: Record<string, number> }>;
}

/** An expiry of the quotes: its label and years (the report's expiry table). */
export interface ExpiryRef {
  expiry: string;
  T: number;
}

/** An engine that fits and evaluates slice models. */
export interface SliceEngine extends EngineBase {
  readonly kind: 'slice';
  /** The slice models it fits, by name. */
  readonly models: readonly string[];
  /** Fits the model's slices to the quotes (CPU, f64). Throws a RangeError or SurfaceInputError on unusable input. */
  fit(model: SliceModel, quotes: readonly SliceQuote[], options?: SliceFitOptions): SliceModelFit;
  /**
   * The fitted smile as implied vol(k, T), k = ln(K / F_T). Black: T at one of the fit's
   * expiries (by `expiries`' labels, else by the slices' T); surfaces: any T > 0 (interpolated
   * in T as src/surface/surface.ts). Throws a RangeError naming what is missing.
   */
  smile(model: SliceModel, fit: SliceFitData, expiries?: readonly ExpiryRef[]): (k: number, T: number) => number;
  /**
   * The fitted total-variance surface w(k, T) with its derivatives (src/surface/surface.ts), for
   * densities, arbitrage and Dupire local vol. Black: its flat slices as SVI with b = 0 (linear
   * in total variance between expiries). Throws a RangeError naming what is missing.
   */
  surface(model: SliceModel, fit: SliceFitData, expiries?: readonly ExpiryRef[]): VolSurface;
  /**
   * Where `capabilities(model).gpu`: runs the fit's batched stage on WebGPU and returns the
   * options under which `fit` continues from it (in f64 on the CPU).
   */
  gpuStage?(model: SliceModel, quotes: readonly SliceQuote[], options: SliceFitOptions, gpu: GpuContext): Promise<SliceFitOptions>;
}

export type Engine = ProcessEngine | SliceEngine;

const sameT = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, b);

function hasCharacteristicFunction(model: Model): boolean {
  return !isSliceModel(model) && model.cumulants !== undefined && (model.logCharFn !== undefined || model.charFn !== undefined);
}

const cos: ProcessEngine = {
  name: 'cos',
  kind: 'process',
  description: 'Fang-Oosterlee COS (Fourier), f64 on the CPU, f32 WGSL on WebGPU; models with a characteristic function',
  supports: hasCharacteristicFunction,
  capabilities: (model) => ({ gradient: hasFourierExtras(model), gpu: gpuSupportsModel(model), stochastic: false, slices: false, exactCpu: true }),
  create: (model, quotes, backend, options = {}) =>
    createCosPricer(model, quotes, backend, {
      ...options.cos,
      log: options.log,
      heartbeat: options.hooks?.heartbeat,
      ...(options.hooks?.search ? { cpu: { ...options.cos?.cpu, maxTerms: COS_SEARCH_MAX_TERMS } } : {}),
      ...(options.hooks?.rank ? { cpu: { ...options.cos?.cpu, ...COS_RANK_OPTIONS } } : {}),
    }),
  priceCpu: (model, params, quotes, options = {}) => cosPrices(model, params, quotes, options.cos?.cpu as CosOptions | undefined),
};

const mc: ProcessEngine = {
  name: 'mc',
  kind: 'process',
  description: 'Monte Carlo (Philox, QE / hybrid scheme, control variates), WGSL on WebGPU and an f64 CPU twin; models with a path scheme',
  supports: (model) => !isSliceModel(model) && mcSupportsModel(model),
  capabilities: () => ({ gradient: false, gpu: true, stochastic: true, slices: false, exactCpu: false }),
  create: (model, quotes, backend, options = {}) => {
    const defaults = options.purpose === 'price' ? MC_CLI_DEFAULTS : MC_CALIBRATION_DEFAULTS;
    return createMcPricer(model, quotes, backend, { ...defaults, ...options.mc }, options.log ?? silentLogger);
  },
};

const black: SliceEngine = {
  name: 'black',
  kind: 'slice',
  models: ['black'],
  description: 'Black-76 with one flat vol per expiry (closed-form fit: the weighted mean of market IVs)',
  supports: (model) => isSliceModel(model) && model.name === 'black',
  capabilities: () => ({ gradient: false, gpu: false, stochastic: false, slices: true, exactCpu: true }),
  fit: (_model, quotes) => fitFlatVols(quotes),
  surface(_model, fit, expiries) {
    // The slices' vols, else the vol_<expiry> parameters at the expiries' T.
    const flat = fit.slices?.length
      ? fit.slices.map((s) => ({ T: s.T, vol: s.params.vol }))
      : (expiries ?? []).flatMap((e) => {
          const vol = fit.params[blackParamName(e.expiry)];
          return vol === undefined ? [] : [{ T: e.T, vol }];
        });
    if (flat.length === 0) throw new RangeError('black: no fitted vol to build a surface from');
    for (const f of flat) if (!(f.vol > 0)) throw new RangeError(`black: vol ${f.vol} at T=${f.T} is not positive`);
    return new SviSurface(flat.map((f) => ({ T: f.T, params: { a: f.vol * f.vol * f.T, b: 0, rho: 0, m: 0, sigma: 1 } })));
  },
  smile(_model, fit, expiries) {
    // The top-level vol_<expiry> parameters, by the expiry's label (what older fit files carry);
    // else the slices' vols by T.
    const slices = fit.slices ?? [];
    return (_k, T) => {
      const e = expiries?.find((x) => sameT(x.T, T));
      const byName = e ? fit.params[blackParamName(e.expiry)] : undefined;
      const vol = byName ?? slices.find((s) => sameT(s.T, T))?.params.vol;
      if (vol === undefined) throw new RangeError(`black: no fitted vol for T=${T}`);
      return vol;
    };
  },
};

function surfaceOf(model: SliceModel, fit: SliceFitData): VolSurface {
  if (!isSurfaceModel(model.name)) throw new RangeError(`the surface engine does not price ${model.name}`);
  return surfaceFromSlices(model.name, fit.params, fit.slices ?? []);
}

const surface: SliceEngine = {
  name: 'surface',
  kind: 'slice',
  models: ['svi', 'ssvi', 'essvi'],
  description: 'SVI per expiry, SSVI and eSSVI surfaces (src/surface: fitSurface, f64; the SVI grid stage on WebGPU: svi_grid.wgsl) with arbitrage checks',
  supports: (model) => isSliceModel(model) && isSurfaceModel(model.name),
  capabilities: (model) => ({ gradient: false, gpu: model.name === 'svi', stochastic: false, slices: true, exactCpu: true }),
  fit(model, quotes, options = {}) {
    if (!isSurfaceModel(model.name)) throw new RangeError(`the surface engine does not fit ${model.name}`);
    return fitSurfaceModel(quotes, { ...options.surface, model: model.name, arbitrageFree: options.arbitrageFree ?? model.slice.arbitrageFreeDefault });
  },
  smile(model, fit) {
    const s = surfaceOf(model, fit);
    return (k, T) => surfaceIv(s, k, T);
  },
  surface: (model, fit) => surfaceOf(model, fit),
  async gpuStage(model, quotes, options, gpu) {
    if (model.name !== 'svi') throw new RangeError(`the surface engine has no WebGPU stage for ${model.name}`);
    const { sviGridValuesGpu } = await import('../surface/gpuGrid.js');
    const surfaceOpts = options.surface ?? {};
    try {
      const gridValues = await sviGridValuesGpu(gpu, quotes, { ...surfaceOpts, model: 'svi' });
      return { ...options, surface: { ...surfaceOpts, svi: { ...surfaceOpts.svi, gridValues } } };
    } catch (e) {
      // Unusable quotes are the data's fault, not the GPU's: the fit says so, as on the CPU.
      if (e instanceof SurfaceInputError) return options;
      throw e;
    }
  },
};

/**
 * An engine that prices vanillas under the Dupire local volatility of a fitted surface (`volfit
 * price --model localvol --surface fit.json`): the surface is the model, there is no parameter
 * vector.
 */
export interface LocalVolEngine {
  readonly name: EngineName;
  readonly description: string;
  capabilities(): EngineCapabilities;
  /**
   * The pricer of `quotes` under the local vol of `surface`, built at once: bad options or quotes
   * are a RangeError, a surface with arbitrage inside the simulation grid a LocalVolError.
   */
  create(surface: VolSurface, quotes: QuoteSet, backend: Backend, options?: EngineOptions): LocalVolMcPricer;
}

const localVolMc: LocalVolEngine = {
  name: 'mc',
  description: 'local-volatility Monte Carlo (log-Euler with Richardson, the Heston engine\'s Philox and controls), WGSL on WebGPU and an f64 CPU twin',
  capabilities: () => ({ gradient: false, gpu: true, stochastic: true, slices: false, exactCpu: false }),
  create: (surface, quotes, backend, options = {}) => {
    const defaults = options.purpose === 'price' ? MC_CLI_DEFAULTS : MC_CALIBRATION_DEFAULTS;
    return createLocalVolPricer(surface, quotes, backend, { ...defaults, ...options.mc }, options.log ?? silentLogger);
  },
};

/** The engines that price local vol from a fitted surface. */
export const LOCAL_VOL_ENGINES: readonly LocalVolEngine[] = [localVolMc];

/** The local-vol engine called `name`; a RangeError names those there are otherwise. */
export function localVolEngine(name: string): LocalVolEngine {
  const e = LOCAL_VOL_ENGINES.find((x) => x.name === name);
  if (!e) throw new RangeError(`local vol is priced by ${LOCAL_VOL_ENGINES.map((x) => x.name).join(', ')} only, not by ${name}`);
  return e;
}

/** Every engine, in order of preference (a model's default engine is the first that supports it). */
export const ENGINES: readonly Engine[] = [cos, mc, black, surface];

export function engineNames(kind?: Engine['kind']): EngineName[] {
  return ENGINES.filter((e) => !kind || e.kind === kind).map((e) => e.name);
}

/** The engine called `name`; a RangeError lists the known ones otherwise. */
export function getEngine(name: string): Engine {
  const e = ENGINES.find((x) => x.name === name);
  if (!e) throw new RangeError(`unknown engine '${name}'; known engines: ${engineNames().join(', ')}`);
  return e;
}

/** The engines that can price (or fit) `model`, in order of preference. */
export function enginesFor(model: Model): Engine[] {
  return ENGINES.filter((e) => e.supports(model));
}

/** Each engine of `model` with its capabilities. */
export function engineCapabilities(model: Model): Array<{ engine: EngineName; kind: Engine['kind'] } & EngineCapabilities> {
  return enginesFor(model).map((e) => ({ engine: e.name, kind: e.kind, ...e.capabilities(model) }));
}

function suits(e: Engine, model: Model, purpose: EnginePurpose): boolean {
  // The report prices a few hundred options per model synchronously in f64: no Monte Carlo.
  return purpose !== 'report' || e.capabilities(model).exactCpu;
}

/**
 * The engine for a job: the first of `enginesFor(model)` that suits `purpose` ('report' needs
 * exact f64 CPU prices). A RangeError says why when there is none.
 */
export function defaultEngine(model: Model, purpose: EnginePurpose = 'calibrate'): Engine {
  const all = enginesFor(model);
  const e = all.find((x) => suits(x, model, purpose));
  if (e) return e;
  if (all.length === 0) {
    throw new RangeError(`no engine prices ${model.name}: it has neither a characteristic function (COS) nor a Monte Carlo scheme`);
  }
  throw new RangeError(`${model.name} is priced by ${all.map((x) => x.name).join(', ')} only, which cannot serve the ${purpose} (it needs exact f64 prices on the CPU)`);
}

/** The process engine for `model`: `name` when given (checked), else the default for `purpose`. */
export function processEngine(model: Model, name?: string, purpose: EnginePurpose = 'calibrate'): ProcessEngine {
  if (isSliceModel(model)) {
    throw new RangeError(`${model.name} is a slice model (one parameter set per expiry): it is fitted by the ${defaultEngine(model).name} engine and has no parameter-vector pricer`);
  }
  const e = name !== undefined ? getEngine(name) : defaultEngine(model, purpose);
  if (e.kind !== 'process') throw new RangeError(`the ${e.name} engine prices slice models, not ${model.name}`);
  if (!e.supports(model)) {
    const others = enginesFor(model).map((x) => x.name);
    throw new RangeError(`the ${e.name} engine cannot price ${model.name}${others.length ? ` (use --engine ${others[0]})` : ''}`);
  }
  return e;
}

/** The slice engine of a slice model (a RangeError for a process model). */
export function sliceEngine(model: Model): SliceEngine {
  const e = isSliceModel(model) ? enginesFor(model).find((x): x is SliceEngine => x.kind === 'slice') : undefined;
  if (!e) throw new RangeError(`${model.name} is not a slice model with a slice engine`);
  return e;
}

/**
 * A PricerFactory (what calibrate's `createPricer` takes) for `model` on its engine (`engine`,
 * else the default for `options.purpose`). The engine is resolved for the model the factory is
 * called with, when it is called: a slice model's factory (no SurfacePricer exists for one) only
 * fails if something calls it.
 */
export function pricerFactory(_model: Model, options: EngineOptions & { engine?: EngineName } = {}): PricerFactory {
  return (m, quotes, backend, hooks) => processEngine(m, options.engine, options.purpose).create(m, quotes, backend, { ...options, hooks });
}
