/**
 * calibrate(quotes, options): fit a model to a quote set. The orchestration only: quotes are
 * prepared in ./quotes, the objective in ./objective, optimizers in ./lm and ./de, the route in
 * ./route, covariances and priors in ./posterior. Pricing is whatever SurfacePricer the factory
 * builds (COS on the CPU or WebGPU); every parameter update happens here in f64.
 *
 * Stages: [global (DE)] -> Levenberg-Marquardt on first-order IV residuals -> polish with exact IV
 * residuals (objective 'iv') -> one final exact evaluation for the reported residuals and RMSE.
 * The stages before the polish price through search-grade pricers (PricerHooks.search), the
 * polish and the report exactly; a fit that ends with parameters on bounds says so (more than
 * half of them: not converged).
 */
import type { Model } from '../models/types.js';
import type { SurfacePricer } from '../engines/pricer.js';
import { selectBackend, silentLogger, type Backend, type BackendRequest, type Logger } from '../backends/backend.js';
import { prepareQuotes, modelImpliedVols, subsampleQuotes, type CalibrationQuote, type PreparedQuotes } from './quotes.js';

/** Quote count above which the search runs on a subsample first (see CalibrateOptions.subsample). */
export const SUBSAMPLE_ABOVE = 600;
/** Iteration cap of the exact-IV polish (it starts from a converged first-order fit). */
const POLISH_ITERATIONS = 50;
import { Objective, sumSquares, type ObjectiveKind } from './objective.js';
import { levenbergMarquardt, type LeastSquaresProblem, type LmOptions, type LmResult } from './lm.js';
import { stagedFit } from './staged.js';
import { differentialEvolution, type DeOptions } from './de.js';
import { posterior, priorFromFit, type PriorSource } from './posterior.js';
import { resolveBounds, toModel, toUnconstrained, CalibrationInputError, type Bounds } from './transforms.js';
import { chooseRoute, pinnedParams, type RouteRequest, type StartKind } from './route.js';
import type { CalibrationResult, RouteName } from './result.js';
import { engineFor, pricerFactoryFor } from './pricers.js';
import { calibrateSlices, type SliceCalibrateOptions } from './sliceFit.js';
import { isSliceModel } from '../models/types.js';
import type { PricerFactory, PricerHooks } from '../engines/pricer.js';

/** Moved beside SurfacePricer (src/engines/pricer.ts); re-exported here, where they used to live. */
export type { PricerFactory, PricerHooks };

/**
 * A progress report. Emitted at every optimizer step (LM iteration, DE generation, the probe's
 * end) and, while a stage is pricing, at least once a second (`working: true`: same stage and
 * step as the last report, evaluations so far) when the pricer calls its heartbeat (the COS
 * engine does) or between pricing calls otherwise.
 */
export interface ProgressEvent {
  /** 'staged': the LM runs of a nested model's staged route (staged.ts). */
  stage: 'probe' | 'global' | 'lm' | 'staged' | 'polish';
  iteration: number;
  /** Best objective of the stage so far (NaN before its first value, e.g. during the probe). */
  objective: number;
  /** Parameter sets priced so far by every stage (probe, global, LM, staged, polish), subsample included. */
  evaluations: number;
  seconds: number;
  /** true for a report while pricing is under way (no new step since the last report). */
  working?: boolean;
  /** LM steps over every parameter: the accepted parameters (model units), for live displays. */
  params?: Record<string, number>;
}

/** A heartbeat emits a progress event when none was emitted for this long (ms). */
export const HEARTBEAT_MS = 1000;

export interface CalibrateOptions {
  model: Model;
  /** Builds the pricer for the quotes kept; default pricerFactoryFor(model): COS, or Monte Carlo for models without a characteristic function. */
  createPricer?: PricerFactory;
  /** Default 'auto'. A Backend object is used as given. */
  backend?: BackendRequest | Backend;
  /** Default 'iv'. */
  objective?: ObjectiveKind;
  /**
   * Parameters to start from, or a previous fit (warm start). Missing ones take the model's initial
   * value, logged and listed in the result's `start_defaults`; a value that is not a number is an error.
   */
  start?: Record<string, number> | PriorSource;
  /** A previous fit whose parameters and covariance become a Gaussian prior (MAP fit). */
  prior?: PriorSource;
  route?: RouteRequest;
  /** Bounds overriding the model's, e.g. {kappa: [0.1, 10]}. */
  bounds?: Record<string, readonly [number, number]>;
  /** 'penalty' adds the model's constraints (Heston: Feller) as a penalty; default 'ignore'. */
  constraints?: 'ignore' | 'penalty';
  /** Weight of the constraint penalty (default 1: a violation of 1 costs as much as every quote off by one unit). */
  penaltyWeight?: number;
  lm?: LmOptions;
  de?: DeOptions;
  /**
   * Above this many usable quotes the search stages run on a stratified subsample (default 600);
   * false: never.
   */
  subsample?: number | false;
  /** Polish with exact IV residuals after the first-order fit (default true for objective 'iv'). */
  polish?: boolean;
  log?: Logger;
  progress?: (e: ProgressEvent) => void;
  /** Slice models (black, svi, ssvi, essvi) only: e.g. `{arbitrageFree: true}` (src/calibrator/sliceFit.ts). */
  slices?: SliceCalibrateOptions;
}

function isFit(s: unknown): s is PriorSource {
  return typeof s === 'object' && s !== null && 'model' in s && 'params' in s && typeof (s as PriorSource).params === 'object';
}

/**
 * The start in model units. Parameters a given start leaves out take the model's initial value and
 * are listed in `defaulted` (logged, and reported as `start_defaults`); a value that is not a
 * number, or outside the bounds, is an error naming the parameter.
 */
function startVector(
  model: Model,
  bounds: Bounds,
  opts: CalibrateOptions,
): { p: Float64Array; kind: StartKind; defaulted: Record<string, number> } {
  let values: Record<string, unknown> = {};
  let kind: StartKind = 'default';
  if (opts.start !== undefined) {
    if (isFit(opts.start)) {
      if (opts.start.model === model.nested?.base) {
        // A fit of the base model (Heston for Bates): its parameters start the base, the
        // extension starts at its defaults, and the fit is staged like a cold one.
        const base = opts.start.params;
        values = Object.fromEntries(model.params.filter((s) => !model.nested!.extra.includes(s.name) && s.name in base).map((s) => [s.name, base[s.name]]));
        kind = 'user';
      } else if (opts.start.model !== model.name) {
        throw new CalibrationInputError(
          `start is a ${opts.start.model} fit, but the model being calibrated is ${model.name}` +
            (model.nested ? ` (a ${model.nested.base} fit is accepted: ${model.name} extends it)` : ''),
          'start',
        );
      } else {
        values = opts.start.params;
        kind = 'fit';
      }
    } else {
      values = opts.start as Record<string, number>;
      kind = 'user';
    }
  } else if (opts.prior) {
    values = opts.prior.params;
    kind = 'prior';
  }
  // Values taken from the prior are the prior's problem (priorFromFit has checked them already).
  const subject = kind === 'prior' ? 'prior' : 'start';
  const names = model.params.map((s) => s.name);
  const unknown = Object.keys(values).filter((k) => !names.includes(k));
  if (unknown.length) {
    throw new CalibrationInputError(`${subject}: unknown ${model.name} parameter(s) ${unknown.join(', ')}; expected ${names.join(', ')}`, subject);
  }
  const defaulted: Record<string, number> = {};
  const p = Float64Array.from(model.params, (s, i) => {
    const given = values[s.name];
    if (given === undefined) {
      if (opts.start !== undefined) defaulted[s.name] = s.initial;
      return s.initial;
    }
    if (typeof given !== 'number' || !Number.isFinite(given)) {
      const shown = typeof given === 'number' ? String(given) : JSON.stringify(given);
      throw new CalibrationInputError(`${subject} ${s.name} is not a number (got ${shown})`, subject);
    }
    if (given < bounds.lower[i] || given > bounds.upper[i]) {
      throw new CalibrationInputError(`${subject} ${s.name}=${given} is outside the bounds [${bounds.lower[i]}, ${bounds.upper[i]}]`, subject);
    }
    return given;
  });
  return { p, kind, defaulted };
}

/**
 * The search cube of the global stage and the probe. A positive parameter whose bounds span more
 * than two decades (Heston kappa in [1e-3, 50], Bates lambda in [0, 200]) is searched
 * log-uniformly over [max(lo, hi 1e-4), hi]: uniform sampling would put almost every point in the
 * top decade (lambda > 20), where no market lives. Other finite bounds map linearly; infinite
 * ones to a window around the start.
 */
function searchCube(bounds: Bounds, start: Float64Array) {
  const p = start.length;
  const lo = new Float64Array(p);
  const hi = new Float64Array(p);
  const logScale = new Uint8Array(p);
  for (let j = 0; j < p; j++) {
    const l = bounds.lower[j];
    const h = bounds.upper[j];
    const s = Math.max(Math.abs(start[j]), 1);
    lo[j] = Number.isFinite(l) ? l : start[j] - 10 * s;
    hi[j] = Number.isFinite(h) ? h : start[j] + 10 * s;
    if (l >= 0 && Number.isFinite(h) && h / Math.max(l, 1e-300) > 100) {
      logScale[j] = 1;
      lo[j] = Math.log(Math.max(l, h * 1e-4));
      hi[j] = Math.log(h);
    }
  }
  const toModelUnits = (u: Float64Array) =>
    Float64Array.from(u, (x, j) => {
      const v = lo[j] + x * (hi[j] - lo[j]);
      return logScale[j] ? Math.min(Math.max(Math.exp(v), bounds.lower[j]), bounds.upper[j]) : v;
    });
  return {
    toZ: (u: Float64Array) => toUnconstrained(toModelUnits(u), bounds),
    fromZ: (z: Float64Array) =>
      Float64Array.from(toModel(z, bounds), (x, j) => ((logScale[j] ? Math.log(Math.max(x, 1e-300)) : x) - lo[j]) / (hi[j] - lo[j])),
  };
}

export async function calibrate(quotes: readonly CalibrationQuote[], opts: CalibrateOptions): Promise<CalibrationResult> {
  // Slice models (one parameter set per expiry) have their own fit: src/calibrator/sliceFit.ts.
  if (isSliceModel(opts.model)) return calibrateSlices(quotes, { ...opts, model: opts.model });
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const log = opts.log ?? silentLogger;
  const model = opts.model;
  const P = model.params.length;
  const kind = opts.objective ?? 'iv';
  const bounds = resolveBounds(model, opts.bounds);
  const priorInfo = opts.prior ? priorFromFit(model, opts.prior, bounds) : undefined;
  const start = startVector(model, bounds, opts);
  const defaultedNames = Object.keys(start.defaulted);
  if (defaultedNames.length) {
    const values = defaultedNames.map((k) => `${k}=${start.defaulted[k]}`).join(', ');
    log(`start: ${defaultedNames.join(', ')} not given; ${defaultedNames.length > 1 ? 'they start' : 'it starts'} at the ${model.name} default (${values})`);
  }
  const prep = prepareQuotes(quotes);
  if (prep.m < P && !priorInfo) {
    throw new CalibrationInputError(`${prep.m} usable quote(s) cannot determine ${P} ${model.name} parameters (need at least ${P}, or a prior)`);
  }
  const backend = typeof opts.backend === 'object' ? opts.backend : await selectBackend(opts.backend ?? 'auto', log);
  // Progress: the stage under way, its last step and objective; every objective's evaluations.
  const objectives: Objective[] = [];
  const now = { stage: 'probe' as ProgressEvent['stage'], iteration: 0, f: NaN };
  let lastEvent = performance.now();
  const evaluationsSoFar = () => objectives.reduce((n, o) => n + o.evaluations, 0);
  const emit = (working: boolean, params?: Record<string, number>) => {
    lastEvent = performance.now();
    opts.progress?.({ stage: now.stage, iteration: now.iteration, objective: now.f, evaluations: evaluationsSoFar(), seconds: seconds(), ...(working ? { working } : {}), ...(params ? { params } : {}) });
  };
  const report = (stage: ProgressEvent['stage'], iteration: number, f: number, params?: Record<string, number>) => {
    now.stage = stage;
    now.iteration = iteration;
    now.f = f;
    emit(false, params);
  };
  const enterStage = (stage: ProgressEvent['stage']) => {
    now.stage = stage;
    now.iteration = 0;
    now.f = NaN;
  };
  const heartbeat = opts.progress
    ? () => {
        if (performance.now() - lastEvent >= HEARTBEAT_MS) emit(true);
      }
    : undefined;
  const createPricer = opts.createPricer ?? pricerFactoryFor(model, undefined, log);
  const pricer = await createPricer(model, prep.set, backend, { heartbeat });
  let firstOrderPricer: SurfacePricer | undefined;
  try {
    const objectiveOptions = {
      kind,
      prior: priorInfo?.prior,
      noise: priorInfo?.noise,
      constraintPenalty: opts.constraints === 'penalty' ? (opts.penaltyWeight ?? 1) : 0,
      // Analytic parameter gradients (f64) where the pricer has them, on the CPU backend; on
      // WebGPU LM keeps the batched f32 finite-difference Jacobian (one dispatch).
      analyticJacobian: backend.name !== 'webgpu' && opts.lm?.jacobian !== 'fd',
      // Between pricing calls too, for pricers that have no heartbeat of their own.
      heartbeat,
    };
    const objective = new Objective(model, prep, pricer, bounds, objectiveOptions);
    objectives.push(objective);
    // f32 prices (WebGPU, or a pricer that says so): f32 LM settings and batched stencils.
    const onGpu = backend.name === 'webgpu' || pricer.precision === 'f32';
    // Every stage before the exact-IV polish (probe, DE, LM on first-order residuals, on a
    // subsample or on all quotes) only finds the polish its start: on the CPU it prices through
    // a search-grade pricer (PricerHooks.search; COS: at most SEARCH_MAX_TERMS terms per expiry,
    // the same prices wherever that reaches the tolerance). The polish and the report price
    // exactly. Without a polish (price objective, polish: false) LM prices exactly too, and so do
    // models without a characteristic function (Monte Carlo: nothing to cap).
    const polishFollows = kind === 'iv' && (opts.polish ?? true);
    let firstOrder = objective;
    if (polishFollows && !onGpu && engineFor(model) === 'cos') {
      firstOrderPricer = await createPricer(model, prep.set, backend, { heartbeat, search: true });
      firstOrder = new Objective(model, prep, firstOrderPricer, bounds, objectiveOptions);
      objectives.push(firstOrder);
    }
    // f64 prices: forward differences at ~sqrt(noise). f32 prices (~1e-7 relative): central
    // differences with a step well above that noise, and tolerances at the f32 floor.
    const lmBase: LmOptions = onGpu
      ? { fdScheme: 'central', fdStep: 3e-3, ftol: 1e-9, xtol: 1e-7, gtol: 1e-7, speculative: false }
      : { fdScheme: 'forward', fdStep: 1e-7, ftol: 1e-10, xtol: 1e-10, gtol: 1e-10, speculative: false };
    // An exact fit: IV RMSE 1e-13, the f64 COS pricing floor; iterating further only spends
    // evaluations. Price fits: 1e-14 of the mean price. Not with a prior (the objective then has
    // a non-zero minimum anyway).
    const meanPrice = prep.marketPrice.reduce((a, b) => a + b, 0) / prep.m;
    lmBase.fabs = priorInfo ? 0 : kind === 'iv' ? 1e-26 : (1e-14 * meanPrice) ** 2;
    const history: CalibrationResult['history'] = [];
    let iterations = 0;

    const runLm = async (
      obj: LeastSquaresProblem,
      z: Float64Array,
      stage: 'lm' | 'staged' | 'polish',
      extra: LmOptions = {},
      quoteCount = (obj as Partial<Objective>).m ?? prep.m,
    ): Promise<LmResult> => {
      enterStage(stage);
      const res = await levenbergMarquardt(obj, z, {
        ...lmBase,
        ...opts.lm,
        ...extra,
        // fabs is per quote: scale by the quote count of the objective this stage runs on.
        fabs: (extra.fabs ?? opts.lm?.fabs ?? lmBase.fabs ?? 0) * quoteCount,
        onIteration: (it, f, z) => {
          history.push({ stage: stage === 'staged' ? 'lm' : stage, objective: f });
          // A staged run's restricted problem has fewer coordinates: no parameters to show.
          const params = opts.progress && z.length === P ? paramRecord(model, toModel(z, bounds)) : undefined;
          report(stage, it, f, params);
        },
      });
      iterations += res.iterations;
      return res;
    };
    const cube = searchCube(bounds, start.p);
    const runGlobal = async (obj: Objective, include: Float64Array[]) => {
      enterStage('global');
      // DE costs population x generations evaluations: on the CPU a budget of about 30 x 30; on
      // WebGPU a generation is one dispatch, so a larger population costs little more.
      const de = await differentialEvolution(obj, {
        cube,
        include,
        population: onGpu ? Math.max(10 * P, 40) : Math.max(6 * P, 20),
        generations: onGpu ? 60 : 30,
        ...opts.de,
        onGeneration: (g, f) => {
          history.push({ stage: 'global', objective: f });
          report('global', g, f);
        },
      });
      iterations += de.generations;
      return de;
    };

    const z0 = toUnconstrained(start.p, bounds);
    const routeRequest = opts.route ?? 'auto';
    // Large quote sets: the search runs on a stratified subsample and LM finishes on all quotes.
    // Not for warm starts (already near: LM on all quotes directly) or an explicit opt-out.
    const warm = start.kind === 'fit' || start.kind === 'prior';
    const subThreshold = opts.subsample === false ? Infinity : (opts.subsample ?? SUBSAMPLE_ABOVE);
    let sub: { prep: PreparedQuotes; pricer: SurfacePricer; objective: Objective } | undefined;
    if (!warm && prep.m > subThreshold) {
      const subPrep = subsampleQuotes(prep);
      const subPricer = await createPricer(model, subPrep.set, backend, { heartbeat, search: true });
      sub = { prep: subPrep, pricer: subPricer, objective: new Objective(model, subPrep, subPricer, bounds, objectiveOptions) };
      objectives.push(sub.objective);
    }
    const searchObjective = sub?.objective ?? firstOrder;
    // The probe and the global stage only rank parameter sets: search-grade pricing always (the
    // search objective's when it has it, else, without a polish to follow, one over the search
    // quotes built when first needed; on WebGPU the search objective's: f32, one dispatch a
    // generation).
    let ranking: { pricer: SurfacePricer; objective: Objective } | undefined;
    const rankingObjective = async (): Promise<Objective> => {
      if (sub || onGpu || searchObjective !== objective) return searchObjective;
      if (!ranking) {
        const rp = await createPricer(model, searchObjective.prep.set, backend, { heartbeat, search: true });
        ranking = { pricer: rp, objective: new Objective(model, searchObjective.prep, rp, bounds, objectiveOptions) };
        objectives.push(ranking.objective);
      }
      return ranking.objective;
    };
    let fit: LmResult;
    let routeName: RouteName;
    let reason: string;
    try {
      enterStage('probe');
      const decision = await chooseRoute({
        request: routeRequest,
        startKind: start.kind,
        dimension: P,
        quotes: prep.m,
        backend: backend.name,
        probe: async (points) => (await (await rankingObjective()).residuals(points, points.length / P)).r.map(sumSquares),
        z0,
        cube,
      });
      report('probe', 0, decision.startObjective ?? NaN);
      routeName = decision.name;
      reason = decision.reason;
      if (decision.name === 'global+lm') {
        const de = await runGlobal(await rankingObjective(), [z0]);
        fit = await runLm(searchObjective, de.z, 'lm');
        const pinned = pinnedParams(model, toModel(fit.z, bounds), bounds);
        if (pinned.length) reason = `${reason}; the fit ends with ${pinned.join(', ')} at a bound`;
      } else {
        // Nested models (Bates, Merton) from a cold start: base parameters first, then the
        // extension (src/calibrator/staged.ts). Not when the user forces plain LM.
        const staged = routeRequest === 'auto' && model.nested !== undefined && (start.kind === 'default' || start.kind === 'user');
        if (staged) {
          // Close enough to end the search: 1e-5 vol RMS (IV), 1e-8 of the mean price (price).
          const closeEnough = searchObjective.m * (kind === 'iv' ? 1e-10 : (1e-8 * meanPrice) ** 2);
          const s = await stagedFit(model, bounds, searchObjective, decision.lmStart ?? z0, (p, z, o) => runLm(p, z, 'staged', o ?? {}, searchObjective.m), closeEnough);
          fit = s.fit;
          routeName = 'staged';
          reason = `${reason}; ${s.reason}`;
        } else {
          fit = await runLm(searchObjective, decision.lmStart ?? z0, 'lm');
        }
        let pinned = pinnedParams(model, toModel(fit.z, bounds), bounds);
        // Pinned at a bound from a cold start: a local minimum on a model edge (Merton with
        // sigmaJ -> 0 or vol -> 0, Heston kappa -> 0) is common; LM from the next-best probe
        // points costs a fraction of a global stage and usually lands in the right basin.
        const released = (zf: Float64Array) => {
          // The pinned fit with its pinned parameters moved back to the model's initial values:
          // the other parameters are often right, and only the edge is wrong.
          const pf = toModel(zf, bounds);
          const names = pinnedParams(model, pf, bounds);
          model.params.forEach((spec, j) => { if (names.includes(spec.name)) pf[j] = spec.initial; });
          return toUnconstrained(pf, bounds);
        };
        // Cold starts (decision.alternatives, from the probe): LM also from the next-best probe
        // points, keeping the best fit, unless the first fit is exact. Jump models have interior
        // local minima 1-2 vol points off (Merton seeds 749, 761 of a sweep) that no bound test sees.
        const alternatives = pinned.length ? [released(fit.z), ...(decision.alternatives ?? [])] : (decision.alternatives ?? []);
        const multiStart = routeRequest === 'auto' && fit.converged && fit.reason !== 'fabs' && decision.alternatives !== undefined;
        for (const alt of multiStart ? alternatives : []) {
          const other = await runLm(searchObjective, alt, 'lm');
          if (!(other.f < fit.f)) continue;
          reason = `${reason}; ${pinned.length ? `LM ended with ${pinned.join(', ')} at a bound, ` : ''}LM from another start improved the objective from ${fit.f.toExponential(3)} to ${other.f.toExponential(3)}`;
          fit = other;
          pinned = pinnedParams(model, toModel(fit.z, bounds), bounds);
          if (fit.reason === 'fabs') break;
        }
        const suspect = routeRequest === 'auto' && (!Number.isFinite(fit.f) || !fit.converged || pinned.length > 0);
        if (suspect) {
          const why = !Number.isFinite(fit.f)
            ? 'the start gives non-finite prices'
            : !fit.converged
              ? `LM did not converge (${fit.reason})`
              : `LM ended with ${pinned.join(', ')} at a bound`;
          const de = await runGlobal(await rankingObjective(), Number.isFinite(fit.f) ? [fit.z, z0] : [z0]);
          const second = await runLm(searchObjective, de.z, 'lm');
          routeName = 'lm+global';
          if (second.f < fit.f || !Number.isFinite(fit.f)) {
            reason = `${reason}; ${why}, so a global stage ran and improved the objective from ${fit.f.toExponential(3)} to ${second.f.toExponential(3)}`;
            fit = second;
          } else {
            reason = `${reason}; ${why}, so a global stage ran but found nothing better (kept the LM fit)`;
          }
        }
      }
      if (sub && Number.isFinite(fit.f)) {
        reason = `${reason}; search on a stratified subsample of ${sub.prep.m} of ${prep.m} quotes (${sub.objective.evaluations} sets priced), then LM on all quotes`;
        fit = await runLm(firstOrder, fit.z, 'lm');
      }
    } finally {
      sub?.pricer.dispose();
      ranking?.pricer.dispose();
    }
    if (!Number.isFinite(fit.f)) {
      throw new CalibrationInputError(
        `no parameter set the optimizer tried could be priced (${firstOrder.lastPricingError ?? objective.lastPricingError ?? 'non-finite model prices'})`,
      );
    }

    // Polish: the same fit with exact IV residuals (inverting model prices), from the first-order optimum.
    // Skipped when the first-order fit is already exact to 1e-7 in vol RMS: the exact residual
    // differs from the first-order one by O(r^2) (volga / vega), ~1e-14 there.
    const exactAlready = !priorInfo && fit.f <= prep.m * 1e-14;
    let polishCapped = false;
    if (kind === 'iv' && (opts.polish ?? true) && !exactAlready) {
      objective.ivMode = 'exact';
      const pol = await runLm(objective, fit.z, 'polish', { maxIterations: POLISH_ITERATIONS });
      if (Number.isFinite(pol.f)) {
        // The polish refines a converged first-order fit in the reporting measure. On a Monte
        // Carlo objective (piecewise smooth under common random numbers, kinks ~1/paths) LM can
        // crawl along the kinks until the cap: the fit stays converged, and the message says so.
        polishCapped = pol.reason === 'max-iterations' && fit.converged;
        fit = polishCapped ? { ...pol, converged: true } : pol;
      }
    }

    // Final exact evaluation at the fit for the report.
    objective.ivMode = 'exact';
    const zFit = fit.z;
    const pFit = toModel(zFit, bounds);
    const prices = await objective.prices(zFit, 1);
    const finalR = objective.residualsFromPrices(zFit, prices, 0);
    const f = sumSquares(finalR);
    const modelIv = modelImpliedVols(prep, prices);
    let se2 = 0, np = 0, sp2 = 0;
    const residuals: CalibrationResult['residuals'] = [];
    for (let i = 0; i < prep.m; i++) {
      const iv = modelIv[i];
      if (iv !== null) { se2 += (iv - prep.marketIv[i]) ** 2; np++; }
      sp2 += (prices[i] - prep.marketPrice[i]) ** 2;
      residuals.push({ row: prep.rows[i], market_iv: prep.marketIv[i], model_iv: iv, weight: prep.weight[i], strike: prep.set.strike[i], expiry: prep.set.T[i] });
    }
    let fData = 0;
    for (let i = 0; i < prep.m; i++) fData += finalR[i] * finalR[i];
    const s = priorInfo?.noise ?? 1;
    const dof = prep.m - P;
    const noise = dof > 0 ? s * Math.sqrt(fData / dof) : s;
    const scale = priorInfo ? 1 : dof > 0 ? fData / dof : NaN;
    // Parameters that end on a bound (the route's test: within PINNED of the range): the bound
    // transform flattens their directions (dp/dz -> 0), so LM's gradient test is met whatever the
    // data say, and J^T J is (near) singular in them. Where it is singular, the free parameters'
    // stderr come from their own block and the pinned ones' are null (posterior.ts).
    const pinned = pinnedParams(model, pFit, bounds);
    const pinnedIdx = pinned.map((n) => model.params.findIndex((x) => x.name === n));
    const post = Number.isFinite(scale)
      ? posterior(fit.J, prep.m + (priorInfo ? P : 0), P, zFit, bounds, scale, pinnedIdx)
      : { covariance: null, stderr: new Float64Array(P).fill(NaN), correlation: null };
    const names = model.params.map((x) => x.name);
    let converged = fit.converged;
    let message = polishCapped
      ? `converged (first-order fit); the exact-IV polish stopped at its ${POLISH_ITERATIONS}-iteration cap, still improving slowly`
      : lmMessage(fit);
    if (pinned.length) {
      const where = pinnedIdx
        .map((j) => {
          const lower = pFit[j] - bounds.lower[j] < bounds.upper[j] - pFit[j];
          return `${names[j]} = ${pFit[j].toPrecision(4)} (${lower ? 'lower' : 'upper'} bound ${lower ? bounds.lower[j] : bounds.upper[j]})`;
        })
        .join(', ');
      if (2 * pinned.length > P) {
        // Most parameters on bounds: a corner of the box, not a fit of the data.
        converged = false;
        message = `not converged: ${pinned.length} of ${P} parameters ended at a bound (${where}): the bounds, not the data, hold them (the optimizer stopped with: ${message})`;
      } else {
        message = `${message}; warning: ${pinned.length === 1 ? 'a parameter' : `${pinned.length} parameters`} at a bound: ${where}`;
      }
      log(`warning: the ${model.name} fit ends with ${where} at a bound${converged ? '' : `: more than half of the ${P} parameters, reported as not converged`}`);
    }
    const num = (v: number) => (Number.isFinite(v) ? v : null);
    return {
      model: model.name,
      params: Object.fromEntries(names.map((n, i) => [n, pFit[i]])),
      stderr: Object.fromEntries(names.map((n, i) => [n, num(post.stderr[i])])),
      rmse_iv: np > 0 ? Math.sqrt(se2 / np) : null,
      rmse_price: Math.sqrt(sp2 / prep.m),
      objective: f,
      iterations,
      evaluations: evaluationsSoFar(),
      route: { name: routeName, reason },
      converged,
      backend: objective.lastBackend,
      seconds: seconds(),
      quotes: { used: prep.m, excluded: prep.excluded },
      residuals,
      objective_kind: kind,
      correlations: post.correlation
        ? Object.fromEntries(names.map((a, i) => [a, Object.fromEntries(names.map((b, j) => [b, num(post.correlation![i * P + j])]))]))
        : null,
      covariance: post.covariance ? names.map((_, i) => names.map((__, j) => post.covariance![i * P + j])) : null,
      noise,
      history,
      message,
      jacobian: fit.jacobian,
      bounds: Object.fromEntries(names.map((n, i) => [n, [bounds.lower[i], bounds.upper[i]] as [number, number]])),
      prior: priorInfo !== undefined,
      ...(defaultedNames.length ? { start_defaults: { ...start.defaulted } } : {}),
    };
  } finally {
    pricer.dispose();
    firstOrderPricer?.dispose();
  }
}

function paramRecord(model: Model, p: Float64Array): Record<string, number> {
  return Object.fromEntries(model.params.map((s, i) => [s.name, p[i]]));
}

function lmMessage(fit: LmResult): string {
  switch (fit.reason) {
    case 'gtol': return 'converged: gradient orthogonal to the residuals (gtol)';
    case 'ftol': return 'converged: relative decrease of the objective below ftol';
    case 'xtol': return 'converged: relative parameter step below xtol';
    case 'fabs': return 'converged: exact fit';
    case 'stalled': return 'converged at the precision floor of the prices (no further decrease possible)';
    case 'max-iterations': return 'not converged: iteration limit reached';
    case 'max-evaluations': return 'not converged: evaluation limit reached';
    case 'non-finite-start': return 'not converged: non-finite prices';
  }
}
