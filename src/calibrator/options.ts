/**
 * calibrate()'s options and progress events: what a caller passes and what comes back while a fit
 * runs. In a module of their own so that the stages (prepare, search, polish, report) and the
 * slice path can name them without importing calibrate itself.
 */
import type { Model } from '../models/types.js';
import type { Backend, BackendRequest, Logger } from '../backends/backend.js';
import type { PricerFactory } from '../engines/pricer.js';
import type { LmOptions } from '../optim/lm.js';
import type { DeOptions } from '../optim/de.js';
import type { ObjectiveKind } from './objective.js';
import type { PriorSource } from './posterior.js';
import type { RouteRequest } from './route.js';
import type { SliceFitOptions } from '../engines/registry.js';

/** Quote count above which the search runs on a subsample first (see CalibrateOptions.subsample). */
export const SUBSAMPLE_ABOVE = 600;

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
   * Whether an auto route may end with the global fallback (DE then LM) when LM's fit stays pinned
   * at a bound or unconverged after the other LM starts (default true). False keeps the LM fit,
   * the reason saying why the stage would have run: for a second opinion that must stay cheap (a
   * backtest's cold route beside its warm fit).
   */
  globalStage?: boolean;
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
  slices?: SliceFitOptions;
}
