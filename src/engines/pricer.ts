/**
 * What every pricing engine offers the calibrator: price one fixed quote set under many parameter
 * sets at once (finite-difference Jacobians, optimizer populations), on whatever backend it was
 * built for. The quote set is fixed at construction so engines can precompute per-expiry work and
 * keep buffers on the GPU between calls.
 */
import type { Backend } from '../backends/backend.js';
import type { Model } from '../models/types.js';

/** Quotes to price, structure of arrays, all of length M. Prices are present values. */
export interface QuoteSet {
  forward: Float64Array;
  strike: Float64Array;
  T: Float64Array;
  isCall: Uint8Array;
  discount: Float64Array;
}

/** The QuoteSet (structure of arrays) of a list of quotes, in their order. */
export function quoteSetOf(
  quotes: readonly { forward: number; strike: number; T: number; isCall: boolean; discount: number }[],
): QuoteSet {
  return {
    forward: Float64Array.from(quotes, (q) => q.forward),
    strike: Float64Array.from(quotes, (q) => q.strike),
    T: Float64Array.from(quotes, (q) => q.T),
    isCall: Uint8Array.from(quotes, (q) => (q.isCall ? 1 : 0)),
    discount: Float64Array.from(quotes, (q) => q.discount),
  };
}

/** Where prices were computed: 'webgl2' is the web app's WebGL2 tier (web/src/webgl2). */
export type PricedOn = 'webgpu' | 'webgl2' | 'cpu';

export interface BatchPrices {
  /** N x M row-major: prices[n * M + m]. */
  prices: Float64Array;
  /** Monte Carlo engines: standard error of each price (same layout); absent for deterministic engines. */
  stderr?: Float64Array;
  /** Where the prices were computed ('webgpu' or 'cpu'): a lost device falls back to the CPU. */
  backend: PricedOn;
}

/**
 * A weighted residual per quote on forward-normalised prices, fixed for the life of a fit:
 * r_i = scale_i (price_i / (D_i F_i) - target_i). First-order IV residuals have
 * scale_i = sqrt(w_i) / noise * D_i F_i / vega_i (vega at the market vol), price residuals
 * sqrt(w_i) / noise * D_i F_i; target_i = market price_i / (D_i F_i).
 */
export interface ResidualDefinition {
  scale: Float64Array;
  target: Float64Array;
}

/**
 * A finite-difference stencil of parameter sets: the base set, then one set per direction
 * perturbed by +h_j, then (central) one per direction perturbed by -h_j. The perturbation is in
 * whatever coordinates the caller uses (the calibrator's unconstrained z); `params` are the sets
 * in model units. n = 1 (no steps): the base set only, no Jacobian.
 */
export interface StencilBatch {
  /** n x P model-unit parameter sets, row-major. */
  params: Float64Array;
  n: number;
  /** h_j, one per direction: n - 1 (forward) or (n - 1) / 2 (central) of them. */
  step: Float64Array;
  scheme: 'forward' | 'central';
}

/** What a least-squares update needs from a stencil, reduced over the quotes. */
export interface NormalSums {
  /** sum r_i^2 at the base set; +Infinity when any of its prices is not finite. */
  f: number;
  /** J^T r (D), J_ij the difference quotient of r_i along direction j. */
  g: Float64Array | null;
  /** J^T J (D x D, symmetric, row-major). g and A are null without steps or when a perturbed set has a non-finite price. */
  A: Float64Array | null;
  backend: PricedOn;
}

/** Normal sums of stencils for one residual definition; holds its quote data (on the GPU) between calls. */
export interface NormalSumsEvaluator {
  evaluate(batch: StencilBatch): Promise<NormalSums>;
  dispose(): void;
}

export interface SurfacePricer {
  readonly model: Model;
  readonly quotes: QuoteSet;
  /**
   * 'f32': prices carry f32 rounding on a backend the calibrator does not know as a GPU (the web
   * app's WebGL2 tier runs on the 'cpu' backend): LM then takes its f32 settings, as on WebGPU.
   */
  readonly precision?: 'f32';
  /** `params` is N x P row-major (P = model.params.length). */
  priceBatch(params: Float64Array, n: number): Promise<BatchPrices>;
  /**
   * Optional (engines with a cheap analytic gradient, e.g. COS for Heston/Bates/Merton): prices of
   * one parameter set (length P) and d price_m / d p_j as an M x P row-major `gradient`.
   */
  priceAndGradient?(params: Float64Array): Promise<BatchPrices & { gradient: Float64Array }>;
  /**
   * Optional (GPU engines): stencils reduced to f, J^T r, J^T J where the prices are, reading back
   * only those sums. CPU pricers leave it out (the calibrator then forms J from priceBatch).
   */
  normalSums?(def: ResidualDefinition): NormalSumsEvaluator;
  /** Bytes copied to and read back from the GPU since creation (absent on the CPU), for benchmarks. */
  traffic?(): { uploaded: number; readBack: number };
  /** Peak bytes of GPU buffers held (0 on the CPU), for benchmarks. */
  gpuBytes(): number;
  dispose(): void;
}

/**
 * Builds the SurfacePricer of a model for a fixed quote set on a backend: what the calibrator
 * asks for (CalibrateOptions.createPricer). src/engines/registry.ts makes one per engine
 * (`pricerFactory(model)`); re-exported from src/calibrator/calibrate.ts, where it used to live.
 */
export type PricerFactory = (model: Model, quotes: QuoteSet, backend: Backend, hooks?: PricerHooks) => SurfacePricer | Promise<SurfacePricer>;

/** What the calibrator hands a pricer factory besides the quotes (a factory may ignore it). */
export interface PricerHooks {
  /**
   * Call often during long synchronous pricing (the COS engine: after every parameter set and
   * expiry); cheap (a clock check), and it emits a progress event at most once a second.
   */
  heartbeat?: () => void;
  /**
   * The pricer serves the search only: the stages before the exact-IV polish (the probe and the
   * global stage, which rank parameter sets, and LM on first-order residuals, on a subsample or
   * on all quotes), which find the polish its start. A factory may trade accuracy where pricing
   * is very expensive: the COS engine caps the terms per (parameter set, expiry) at
   * COS_SEARCH_MAX_TERMS (engines/cos/plan.ts). The polish, every reported number, and every LM
   * of a fit without a polish (price objective, `polish: false`) use pricers without this hook.
   */
  search?: boolean;
  /**
   * The pricer only ranks parameter sets (the cold-start probe, the global stage): accuracy of
   * ~1e-6 of the forward is plenty, and the COS engine prices at COS_RANK_OPTIONS
   * (engines/cos/plan.ts). Implies `search`.
   */
  rank?: boolean;
}
