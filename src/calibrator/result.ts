/**
 * The one JSON shape of a calibration, shared by the library and `volfit calibrate --json`.
 * Fields of the issue come first and are never renamed; the rest are extensions.
 */
import type { PricedOn } from '../engines/pricer.js';
import type { ArbitrageReport, SliceOutput } from '../surface/types.js';

/**
 * 'lm': LM from the start; 'staged': a nested model's base parameters first, then all (see
 * staged.ts); 'global+lm': DE then LM; 'lm+global': LM (or staged) then DE and LM, the better kept.
 * Slice models (sliceFit.ts): 'closed-form' (black), 'surface' (svi, ssvi, essvi: fitSurface).
 */
export type RouteName = 'lm' | 'staged' | 'global+lm' | 'lm+global' | 'closed-form' | 'surface';

export interface CalibrationResult {
  model: string;
  /** Fitted parameters in model units. */
  params: Record<string, number>;
  /** Gauss-Newton standard errors (null where the data does not determine a parameter). */
  stderr: Record<string, number | null>;
  /** Root mean square of (model IV - market IV) over the quotes whose model price has a Black vol; 0.01 = 1 vol point. */
  rmse_iv: number | null;
  /** Root mean square of (model price - market price), present-value units. */
  rmse_price: number;
  /** Final value of the minimised function (weighted SSE in the chosen measure, plus prior terms). */
  objective: number;
  iterations: number;
  /** Parameter sets priced (each Jacobian counts P+1). */
  evaluations: number;
  route: { name: RouteName; reason: string };
  converged: boolean;
  backend: PricedOn;
  seconds: number;
  quotes: { used: number; excluded: Array<{ row: number; reason: string }> };
  /**
   * One per quote used. `strike` and `expiry` (years, T) are extensions: with `market_iv` they let
   * `volfit report` check that a quote file is the one the fit was made from.
   */
  residuals: Array<{ row: number; market_iv: number; model_iv: number | null; weight: number; strike: number; expiry: number; timestamp?: string }>;
  // Extensions.
  /** 'iv' or 'price'. */
  objective_kind: 'iv' | 'price';
  /** Parameter correlations (null entries where undetermined). */
  correlations: Record<string, Record<string, number | null>> | null;
  /** Posterior covariance in model units, P x P in the order of `params`; used by `--prior`. */
  covariance: number[][] | null;
  /** Residual scale per unit weight (s): a later fit with this one as prior divides its residuals by it. */
  noise: number;
  /** Objective after each optimizer step, by stage, for convergence plots. */
  history: Array<{ stage: 'global' | 'lm' | 'polish'; objective: number }>;
  /** Why the optimizer stopped, in words. */
  message: string;
  /**
   * Jacobian of the final LM stage: 'analytic' (COS parameter gradients, f64) or 'fd-batch'
   * (finite differences priced as one batch); 'none' for slice models (no LM over a parameter vector).
   */
  jacobian: 'analytic' | 'fd-batch' | 'none';
  bounds: Record<string, [number, number]>;
  /** Whether a prior made this a MAP fit. */
  prior: boolean;
  /** Parameters a given start (`--start`) left out, with the model defaults they started from; absent when none. */
  start_defaults?: Record<string, number>;
  /**
   * Slice models only (black, svi, ssvi, essvi; issue 14's contract): one entry per expiry in
   * increasing T, `{T, forward, params, expiry, quotes, rmse_iv, raw?, fallback?, warnings?}`;
   * `params` are the slice's own (svi a, b, rho, m, sigma; ssvi theta; essvi theta, rho, psi;
   * black vol), the top-level `params` the global ones (ssvi rho, eta, gamma; black vol_<expiry>;
   * none for svi and essvi).
   */
  slices?: SliceOutput[];
  /** Slice models only: static arbitrage of the fitted slices on a k grid (`free`, `butterfly` [{T, k, g}], `calendar` [{T1, T2, k}], `lee`, ...). */
  arbitrage?: ArbitrageReport;
  /** Slice models only: whether the fit was constrained to be arbitrage-free. */
  arbitrage_free?: boolean;
  /**
   * Slice models only, when the quotes carry a time (canonical `timestamp`): the market data's
   * time, the latest quote time used (ISO UTC); each residual then has its quote's `timestamp`
   * too. `volfit publish` takes an update's timestamp and the quotes' ages from them.
   */
  as_of?: string;
  /** Slice models only: how the fit went, in words (interpolation in T, fallbacks). */
  notes?: string[];
}
