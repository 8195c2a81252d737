/**
 * calibrate()'s first stage: everything a fit needs before any optimizer runs. The start (given,
 * a previous fit, a prior's mean, or the model's defaults), the bounds and prior, the prepared
 * quotes, the backend, the objectives (exact; search-grade first-order; a stratified subsample of a
 * large quote set; a ranking objective for the probe and DE), LM's base options, the search cube,
 * and the progress reporting shared by every stage. The stages after it (search.ts, polish.ts,
 * report.ts) only read this context and run optimizers.
 */
import type { Model } from '../models/types.js';
import type { SurfacePricer } from '../engines/pricer.js';
import { selectBackend, silentLogger, type Backend, type Logger } from '../backends/backend.js';
import { prepareQuotes, subsampleQuotes, type CalibrationQuote, type PreparedQuotes } from './quotes.js';
import { Objective, type ObjectiveKind } from './objective.js';
import { levenbergMarquardt, type LmOptions, type LmResult } from '../optim/lm.js';
import { sumSquares, type LeastSquaresProblem } from '../optim/problem.js';
import { firstGuess, guessVariants } from './firstGuess.js';
import { differentialEvolution, type DeResult } from '../optim/de.js';
import { priorFromFit, type PriorSource } from './posterior.js';
import { resolveBounds, toModel, toUnconstrained, CalibrationInputError, type Bounds } from './transforms.js';
import type { StartKind } from './route.js';
import type { CalibrationResult } from './result.js';
import { engineFor, pricerFactoryFor } from './pricers.js';
import { HEARTBEAT_MS, SUBSAMPLE_ABOVE, type CalibrateOptions, type ProgressEvent } from './options.js';

type Stage = ProgressEvent['stage'];
type Cube = ReturnType<typeof searchCube>;

/** What the stages of a fit share. */
export interface FitContext {
  opts: CalibrateOptions;
  model: Model;
  P: number;
  kind: ObjectiveKind;
  log: Logger;
  bounds: Bounds;
  priorInfo: ReturnType<typeof priorFromFit> | undefined;
  start: ReturnType<typeof startVector>;
  z0: Float64Array;
  prep: PreparedQuotes;
  backend: Backend;
  onGpu: boolean;
  /** All quotes, exact pricing: the polish and the report. */
  objective: Objective;
  /** All quotes, first-order residuals; search-grade pricing when a polish follows (CPU, COS). */
  firstOrder: Objective;
  /** A large quote set's stratified subsample (search-grade), where the search runs first. */
  sub: Objective | undefined;
  /** Where the search's LM runs: the subsample's objective, else firstOrder. */
  searchObjective: Objective;
  /**
   * A warm start whose polish would price exactly anyway (IV objective, CPU, COS): the search's
   * LM runs on exact IV residuals from the start and is the polish (no first-order stage).
   */
  warmExact: boolean;
  /** The probe's and DE's objective: rank-grade pricing on the CPU (built when first asked). */
  rankingObjective(): Promise<Objective>;
  /** The ranking objective's |r|^2 of each point of a batch (n x P rows). */
  probe(points: Float64Array): Promise<number[]>;
  /** Data-driven starts (firstGuess.ts: the guess and its variants), in z; empty when the model has none. */
  guesses: Float64Array[];
  meanPrice: number;
  cube: Cube;
  history: CalibrationResult['history'];
  /** Optimizer steps so far (LM iterations, DE generations). */
  iterations: number;
  seconds(): number;
  evaluations(): number;
  report(stage: Stage, iteration: number, f: number): void;
  enterStage(stage: Stage): void;
  runLm(obj: LeastSquaresProblem, z: Float64Array, stage: 'lm' | 'staged' | 'polish', extra?: LmOptions, quoteCount?: number): Promise<LmResult>;
  runGlobal(obj: Objective, include: Float64Array[]): Promise<DeResult>;
  /** Releases the search stages' pricers (subsample, ranking). */
  disposeSearch(): void;
  /** Releases every pricer. */
  dispose(): void;
}

function isFit(s: unknown): s is PriorSource {
  return typeof s === 'object' && s !== null && 'model' in s && 'params' in s && typeof (s as PriorSource).params === 'object';
}

/**
 * The start in model units. Parameters a given start leaves out take the model's initial value and
 * are listed in `defaulted` (logged, and reported as `start_defaults`); a value that is not a
 * number, or outside the bounds, is an error naming the parameter.
 */
export function startVector(
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
export function searchCube(bounds: Bounds, start: Float64Array) {
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

/**
 * ftol of LM on first-order residuals when the exact-IV polish follows (CPU, COS: the stages
 * that price search-grade; Monte Carlo fits keep 1e-10): the first-order
 * optimum is not the fit, only the polish's start, and the last iterations before ftol 1e-10
 * (half of LM's on BTC days, each a price-and-gradient call) move f by less than the polish
 * changes it anyway. Exact data never meet it (f falls by orders of magnitude per step until
 * `fabs`), and gtol and xtol stay tight.
 */
const SEARCH_FTOL = 1e-4;

/** LM's options by pricing precision. */
function lmBaseOptions(onGpu: boolean): LmOptions {
  // f64 prices: forward differences at ~sqrt(noise). f32 prices (~1e-7 relative): central
  // differences with a step well above that noise, and tolerances at the f32 floor.
  return onGpu
    ? { fdScheme: 'central', fdStep: 3e-3, ftol: 1e-9, xtol: 1e-7, gtol: 1e-7, speculative: false }
    : { fdScheme: 'forward', fdStep: 1e-7, ftol: 1e-10, xtol: 1e-10, gtol: 1e-10, speculative: false };
}

/** The start, the quotes, the backend and the objectives of a fit (see the module comment). */
export async function prepareFit(quotes: readonly CalibrationQuote[], opts: CalibrateOptions): Promise<FitContext> {
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
  const progress = progressOf(opts, seconds);
  const { heartbeat } = progress;
  const createPricer = opts.createPricer ?? pricerFactoryFor(model, undefined, log);
  const pricers: SurfacePricer[] = [];
  const searchPricers: SurfacePricer[] = [];
  const dispose = () => { for (const p of pricers.splice(0)) p.dispose(); };
  const disposeSearch = () => { for (const p of searchPricers.splice(0)) p.dispose(); };
  const pricer = await createPricer(model, prep.set, backend, { heartbeat });
  pricers.push(pricer);
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
    const objective = progress.track(new Objective(model, prep, pricer, bounds, objectiveOptions));
    // f32 prices (WebGPU, or a pricer that says so): f32 LM settings and batched stencils.
    const onGpu = backend.name === 'webgpu' || pricer.precision === 'f32';
    // Every stage before the exact-IV polish (probe, DE, LM on first-order residuals, on a
    // subsample or on all quotes) only finds the polish its start: on the CPU it prices through
    // a search-grade pricer (PricerHooks.search; COS: at most SEARCH_MAX_TERMS terms per expiry,
    // the same prices wherever that reaches the tolerance). The polish and the report price
    // exactly. Without a polish (price objective, polish: false) LM prices exactly too, and so do
    // models without a characteristic function (Monte Carlo: nothing to cap).
    const polishFollows = kind === 'iv' && (opts.polish ?? true);
    const warm = start.kind === 'fit' || start.kind === 'prior';
    // A warm start is near its fit: the first-order stage (3-4 LM iterations on BTC days) would
    // only move it to where the exact-IV polish starts moving it back; exact LM from the start
    // takes about as many iterations as the polish alone.
    const warmExact = warm && polishFollows && !onGpu && engineFor(model) === 'cos' && (opts.route ?? 'auto') !== 'global';
    let firstOrder = objective;
    if (polishFollows && !onGpu && engineFor(model) === 'cos' && !warmExact) {
      const firstOrderPricer = await createPricer(model, prep.set, backend, { heartbeat, search: true });
      pricers.push(firstOrderPricer);
      firstOrder = progress.track(new Objective(model, prep, firstOrderPricer, bounds, objectiveOptions));
    }
    const lmBase = lmBaseOptions(onGpu);
    // An exact fit: IV RMSE 1e-13, the f64 COS pricing floor; iterating further only spends
    // evaluations. Price fits: 1e-14 of the mean price. Not with a prior (the objective then has
    // a non-zero minimum anyway).
    const meanPrice = prep.marketPrice.reduce((a, b) => a + b, 0) / prep.m;
    lmBase.fabs = priorInfo ? 0 : kind === 'iv' ? 1e-26 : (1e-14 * meanPrice) ** 2;
    const cube = searchCube(bounds, start.p);
    // Large quote sets: the search runs on a stratified subsample and LM finishes on all quotes.
    // Not for warm starts (already near: LM on all quotes directly) or an explicit opt-out.
    const subThreshold = opts.subsample === false ? Infinity : (opts.subsample ?? SUBSAMPLE_ABOVE);
    let sub: Objective | undefined;
    if (!warm && prep.m > subThreshold) {
      const subPrep = subsampleQuotes(prep);
      const subPricer = await createPricer(model, subPrep.set, backend, { heartbeat, search: true });
      searchPricers.push(subPricer);
      sub = progress.track(new Objective(model, subPrep, subPricer, bounds, objectiveOptions));
    }
    const searchObjective = sub ?? firstOrder;
    // The probe and the global stage only rank parameter sets. On the CPU, COS models price them
    // at rank grade (PricerHooks.rank: ~1e-6 of the forward, a fraction of the cost), other
    // models search-grade (the search objective's pricer when it has one, else one built when
    // first needed). On WebGPU the search objective's: f32, one dispatch a generation.
    const rankGrade = !onGpu && engineFor(model) === 'cos';
    let ranking: Objective | undefined;
    const rankingObjective = async (): Promise<Objective> => {
      if (onGpu || (!rankGrade && (sub || searchObjective !== objective))) return searchObjective;
      if (!ranking) {
        const rp = await createPricer(model, searchObjective.prep.set, backend, { heartbeat, search: true, ...(rankGrade ? { rank: true } : {}) });
        searchPricers.push(rp);
        ranking = progress.track(new Objective(model, searchObjective.prep, rp, bounds, objectiveOptions));
      }
      return ranking;
    };
    const guess = start.kind === 'default' || start.kind === 'user' ? firstGuess(model, prep, bounds) : null;
    const guesses = guess ? [guess, ...guessVariants(model, guess, bounds)].map((g) => toUnconstrained(g, bounds)) : [];
    // DE only finds LM a start: it stops once its best is as close as staged fits call close
    // enough (1e-5 vol RMS, 1e-8 of the mean price), or at the relative floor (src/optim/de.ts).
    const deFloor = searchObjective.m * (kind === 'iv' ? 1e-10 : (1e-8 * meanPrice) ** 2);
    const ctx: FitContext = {
      opts, model, P, kind, log, bounds, priorInfo, start, z0: toUnconstrained(start.p, bounds), prep, backend, onGpu,
      objective, firstOrder, sub, searchObjective, warmExact, rankingObjective, meanPrice, cube, guesses,
      probe: async (points) => (await (await rankingObjective()).residuals(points, points.length / P)).r.map(sumSquares),
      history: [],
      iterations: 0,
      seconds,
      evaluations: progress.evaluations,
      report: progress.report,
      enterStage: progress.enterStage,
      runLm: async (obj, z, stage, extra = {}, quoteCount = (obj as Partial<Objective>).m ?? prep.m) => {
        progress.enterStage(stage);
        const res = await levenbergMarquardt(obj, z, {
          ...lmBase,
          ...(stage !== 'polish' && firstOrder !== objective ? { ftol: SEARCH_FTOL } : {}),
          ...opts.lm,
          ...extra,
          // fabs is per quote: scale by the quote count of the objective this stage runs on.
          fabs: (extra.fabs ?? opts.lm?.fabs ?? lmBase.fabs ?? 0) * quoteCount,
          onIteration: (it, f, z) => {
            ctx.history.push({ stage: stage === 'staged' ? 'lm' : stage, objective: f });
            // A staged run's restricted problem has fewer coordinates: no parameters to show.
            const params = opts.progress && z.length === P ? paramRecord(model, toModel(z, bounds)) : undefined;
            progress.report(stage, it, f, params);
          },
        });
        ctx.iterations += res.iterations;
        return res;
      },
      runGlobal: async (obj, include) => {
        progress.enterStage('global');
        // DE costs population x generations evaluations: on the CPU a budget of about 30 x 30; on
        // WebGPU a generation is one dispatch, so a larger population costs little more.
        const de = await differentialEvolution(obj, {
          cube,
          include,
          population: onGpu ? Math.max(10 * P, 40) : Math.max(6 * P, 20),
          generations: onGpu ? 60 : 30,
          fabs: priorInfo ? 0 : deFloor,
          ...opts.de,
          onGeneration: (g, f) => {
            ctx.history.push({ stage: 'global', objective: f });
            progress.report('global', g, f);
          },
        });
        ctx.iterations += de.generations;
        return de;
      },
      disposeSearch,
      dispose: () => { disposeSearch(); dispose(); },
    };
    return ctx;
  } catch (e) {
    disposeSearch();
    dispose();
    throw e;
  }
}

/**
 * Progress of a fit: the stage under way, its last step and objective, and every objective's
 * evaluations; `heartbeat` (given to pricers and objectives) emits a `working` event when none
 * was emitted for HEARTBEAT_MS.
 */
function progressOf(opts: CalibrateOptions, seconds: () => number) {
  const objectives: Objective[] = [];
  const now = { stage: 'probe' as Stage, iteration: 0, f: NaN };
  let lastEvent = performance.now();
  const evaluations = () => objectives.reduce((n, o) => n + o.evaluations, 0);
  const emit = (working: boolean, params?: Record<string, number>) => {
    lastEvent = performance.now();
    opts.progress?.({ stage: now.stage, iteration: now.iteration, objective: now.f, evaluations: evaluations(), seconds: seconds(), ...(working ? { working } : {}), ...(params ? { params } : {}) });
  };
  return {
    evaluations,
    track: (o: Objective) => { objectives.push(o); return o; },
    report: (stage: Stage, iteration: number, f: number, params?: Record<string, number>) => {
      now.stage = stage;
      now.iteration = iteration;
      now.f = f;
      emit(false, params);
    },
    enterStage: (stage: Stage) => {
      now.stage = stage;
      now.iteration = 0;
      now.f = NaN;
    },
    heartbeat: opts.progress
      ? () => {
          if (performance.now() - lastEvent >= HEARTBEAT_MS) emit(true);
        }
      : undefined,
  };
}

function paramRecord(model: Model, p: Float64Array): Record<string, number> {
  return Object.fromEntries(model.params.map((s, i) => [s.name, p[i]]));
}
