/**
 * A model is a parameter set with bounds and constraints plus (where it has one) a characteristic
 * function; nothing else. Engines (COS, Monte Carlo) and the calibrator work from this description
 * only, so a new model needs no new engine or optimizer.
 *
 * Two kinds (`kind`):
 * - process models (the default): one parameter vector for the whole surface, priced by an engine
 *   from a characteristic function (COS) or paths (Monte Carlo): heston, bates, merton, rbergomi.
 * - slice models (`kind: 'slice'`, `slice` set): one parameter set per expiry, fitted slice by
 *   slice or as a surface with a few global parameters: black (flat vol per expiry), svi, ssvi,
 *   essvi (src/models/slice.ts). `params` then lists the global parameters only (none for black
 *   and svi). Which engine prices or fits a model is decided in one place, src/engines/registry.ts.
 *
 * Parameter vectors are Float64Array in the order of `params`.
 */
import type { Complex } from './complex.js';

export interface ParamSpec {
  name: string;
  /** Hard bounds: the calibrator maps them to an unconstrained space; values outside are an error. */
  lower: number;
  upper: number;
  /** A reasonable starting value when the user gives none. */
  initial: number;
  description: string;
}

export interface Constraint {
  name: string;
  description: string;
  /** >= 0 when satisfied (e.g. Feller: 2 kappa theta - sigma^2). */
  value(p: Float64Array): number;
}

export interface Cumulants {
  c1: number;
  c2: number;
  c4: number;
  /**
   * Jump models: an interval, relative to the mean of the jump part, that holds all but ~1e-16 of
   * its mass. Rare large jumps (lambda T << 1) barely move c2 and c4, so a window from cumulants
   * alone would cut them off; COS engines widen their window by this interval.
   */
  jumpRange?: [number, number];
}

/**
 * A model that extends a simpler one by extra parameters (Bates = Heston + jumps, Merton = Black +
 * jumps). Calibrators use it to stage a cold fit: the base parameters first with the extras held,
 * then starts for the extras from `grid`, because LM from a poor base start otherwise lets the
 * extras absorb the base's misfit and stops in a local minimum (jumps collapsed to lambda -> 0).
 */
export interface NestedSpec {
  /** Name of the model the base parameters belong to ('heston'), or a description when it is not a model of ours. */
  base: string;
  /** The extension's parameters, by name. */
  extra: readonly string[];
  /** Candidate values of each extra parameter (same order); starts are their Cartesian product. */
  grid: readonly (readonly number[])[];
  /**
   * Changes the base parameters of `p` in place so the model's variance per unit time is kept
   * when its extras change from those of `from` to those of `p` (a start then differs from the
   * fit in shape, not level).
   */
  rebalance?(p: Float64Array, from: Float64Array): void;
}

/** Monte Carlo path schemes (src/engines/mc): the scheme that simulates a model. */
export type McScheme = 'heston' | 'bates' | 'rbergomi';

/**
 * Compiled kernels that implement a model (WGSL has no function pointers: a kernel branches on a
 * constant). Engines read these instead of switching on model names; a model without an entry
 * is priced by that engine's generic CPU path (COS) or not at all (Monte Carlo).
 */
export interface ModelKernels {
  /** The `MODEL` override constant of shaders/cos.wgsl and lm_normal.wgsl (0 heston, 1 bates, 2 merton). */
  readonly cos?: number;
  /** The Monte Carlo scheme (src/engines/mc/plan.ts `McPlan.kind`). */
  readonly mc?: McScheme;
}

export type ModelKind = 'process' | 'slice';

/** What a slice model fits per expiry (see Model). */
export interface SliceSpec {
  /** Parameters of one expiry's slice, as the fit result writes them in `slices[i].params`. */
  readonly perSlice: readonly ParamSpec[];
  /** Whether the fit is arbitrage-constrained unless asked otherwise (fitSurface's `arbitrageFree` default). */
  readonly arbitrageFreeDefault: boolean;
  /** What an arbitrage-free request changes for this model, in words (CLI help and README). */
  readonly arbitrageFreeMeaning: string;
  /** One line for help texts. */
  readonly description: string;
}

export interface Model {
  readonly name: string;
  /** 'process' when absent. */
  readonly kind?: ModelKind;
  /** Slice models only: what a slice holds. */
  readonly slice?: SliceSpec;
  /** Kernel identities for the engines that have compiled code for this model. */
  readonly kernels?: ModelKernels;
  readonly params: readonly ParamSpec[];
  readonly constraints: readonly Constraint[];
  /** Present when the model extends a simpler one (see NestedSpec). */
  readonly nested?: NestedSpec;
  /**
   * Characteristic function of X_T = ln(S_T / F_T) under the T-forward measure,
   * E[exp(i u X_T)], for real u (models priced by Fourier methods). Absent for MC-only models.
   */
  charFn?(u: number, T: number, p: Float64Array): Complex;
  /** Cumulants of X_T, for the COS truncation range. */
  cumulants?(T: number, p: Float64Array): Cumulants;
  /**
   * ln E[exp(i u X_T)] (charFn = exp of this). Engines that subtract a control variate work with
   * the exponent directly, which stays finite where the characteristic function underflows.
   */
  logCharFn?(u: number, T: number, p: Float64Array): Complex;
  /**
   * An upper bound of ln |charFn(v, T, p)| for all v >= u, non-increasing in u: COS engines pick
   * their term count from it (the characteristic function of a jump model oscillates; the bound
   * does not).
   */
  logCharFnBound?(u: number, T: number, p: Float64Array): number;
}

/** A slice model: one parameter set per expiry (black, svi, ssvi, essvi). */
export type SliceModel = Model & { readonly kind: 'slice'; readonly slice: SliceSpec };

export function isSliceModel(model: Model): model is SliceModel {
  return model.kind === 'slice' && model.slice !== undefined;
}

/** Parameter record ({v0: 0.04, ...}) to vector, with clear errors for unknown, missing or out-of-bound names. */
export function paramVector(model: Model, values: Record<string, number>): Float64Array {
  const known = new Set(model.params.map((p) => p.name));
  const unknown = Object.keys(values).filter((k) => !known.has(k));
  if (unknown.length) {
    throw new RangeError(
      `unknown ${model.name} parameter(s) ${unknown.join(', ')}; expected ${model.params.map((p) => p.name).join(', ')}`,
    );
  }
  return Float64Array.from(model.params, (spec) => {
    const v = values[spec.name];
    if (v === undefined) throw new RangeError(`missing ${model.name} parameter ${spec.name} (${spec.description})`);
    if (!Number.isFinite(v) || v < spec.lower || v > spec.upper) {
      throw new RangeError(`${model.name} parameter ${spec.name}=${v} is outside [${spec.lower}, ${spec.upper}]`);
    }
    return v;
  });
}

export function paramRecord(model: Model, p: ArrayLike<number>): Record<string, number> {
  return Object.fromEntries(model.params.map((spec, i) => [spec.name, p[i]]));
}
