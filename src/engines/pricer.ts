/**
 * What every pricing engine offers the calibrator: price one fixed quote set under many parameter
 * sets at once (finite-difference Jacobians, optimizer populations), on whatever backend it was
 * built for. The quote set is fixed at construction so engines can precompute per-expiry work and
 * keep buffers on the GPU between calls.
 */
import type { Model } from '../models/types.js';

/** Quotes to price, structure of arrays, all of length M. Prices are present values. */
export interface QuoteSet {
  forward: Float64Array;
  strike: Float64Array;
  T: Float64Array;
  isCall: Uint8Array;
  discount: Float64Array;
}

export interface BatchPrices {
  /** N x M row-major: prices[n * M + m]. */
  prices: Float64Array;
  /** Monte Carlo engines: standard error of each price (same layout); absent for deterministic engines. */
  stderr?: Float64Array;
  /** Where the prices were computed ('webgpu' or 'cpu'): a lost device falls back to the CPU. */
  backend: 'webgpu' | 'cpu';
}

export interface SurfacePricer {
  readonly model: Model;
  readonly quotes: QuoteSet;
  /** `params` is N x P row-major (P = model.params.length). */
  priceBatch(params: Float64Array, n: number): Promise<BatchPrices>;
  /**
   * Optional (engines with a cheap analytic gradient, e.g. COS for Heston/Bates/Merton): prices of
   * one parameter set (length P) and d price_m / d p_j as an M x P row-major `gradient`.
   */
  priceAndGradient?(params: Float64Array): Promise<BatchPrices & { gradient: Float64Array }>;
  /** Peak bytes of GPU buffers held (0 on the CPU), for benchmarks. */
  gpuBytes(): number;
  dispose(): void;
}
