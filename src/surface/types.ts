/**
 * Shapes shared by the surface fits (SVI per slice, SSVI, eSSVI), their arbitrage report and the
 * local-volatility functions. Everything a fit returns is plain JSON (the CLI will print it);
 * the evaluable surface comes separately (`VolSurface`).
 */
import type { SviRaw } from './svi.js';

/** One option quote. A canonical or normalized `Quote` (src/market) has all of it. */
export interface SurfaceQuote {
  /** Row number for reports (default: position in the input, 1-based). */
  row?: number;
  /** Years to expiry. */
  T: number;
  /** Expiry label; quotes group into slices by it (by T when absent). */
  expiry?: string;
  forward: number;
  strike: number;
  isCall: boolean;
  /** Present value; used when `iv` is absent. */
  price?: number;
  /** Market implied vol; wins over `price` when given. */
  iv?: number;
  weight?: number;
  /** Discount factor (default 1). */
  discount?: number;
  bid?: number;
  ask?: number;
  /** 'deribit' | 'cboe' | ...: picks the default minimum tick for cabinet detection. */
  venue?: string;
}

export type SurfaceModel = 'svi' | 'ssvi' | 'essvi';

export type ExclusionReasonSurface =
  | 'invalid_input' // a field out of its domain (detail names it)
  | 'no_implied_vol' // price without a Black-76 vol
  | 'zero_weight'
  | 'wide_vol_spread' // bid-ask spans more than maxVolSpread x the vol: no volatility information
  | 'cabinet_quote'; // deep out-of-the-money quote at the minimum tick (its vol is the tick's, not the market's)

export interface SurfaceExclusion {
  row: number;
  reason: ExclusionReasonSurface;
  detail?: string;
}

/** A butterfly violation: g < 0 on a run of grid points [k_from, k_to], worst at k. */
export interface ButterflyViolation {
  T: number;
  k: number;
  g: number;
  k_from: number;
  k_to: number;
}

/** A calendar violation: w(k, T2) < w(k, T1) on [k_from, k_to], worst at k (dw = w2 - w1 < 0). */
export interface CalendarViolation {
  T1: number;
  T2: number;
  k: number;
  dw: number;
  k_from: number;
  k_to: number;
}

/** Lee's moment bound: a wing slope of w above 2. */
export interface LeeViolation {
  T: number;
  side: 'left' | 'right';
  slope: number;
}

/**
 * Gatheral-Jacquier (2014) Theorem 4.2 sufficient conditions of an SSVI slice, informational:
 * failing them is not an arbitrage (the butterfly list says whether there is one).
 */
export interface SsviConditionRow {
  T: number;
  /** theta phi (1 + |rho|), must be < 4. */
  c1: number;
  /** theta phi^2 (1 + |rho|), must be <= 4. */
  c2: number;
  ok: boolean;
}

export interface ArbitrageReport {
  /** No butterfly, calendar or Lee violation on the check grid. */
  free: boolean;
  butterfly: ButterflyViolation[];
  calendar: CalendarViolation[];
  lee: LeeViolation[];
  /** SSVI-family fits only. */
  ssvi_conditions?: SsviConditionRow[];
  /** The k grid the checks ran on. */
  grid: { k_min: number; k_max: number; points: number };
}

export interface SliceResult {
  T: number;
  expiry: string;
  forward: number;
  quotes: number;
  /** Raw SVI parameters of the slice (SSVI slices too: a = theta (1 - rho^2)/2, b = theta phi/2, m = -rho/phi, sigma = sqrt(1 - rho^2)/phi). */
  params: SviRaw;
  /** SSVI-family slices: ATM total variance theta, rho, phi (psi = theta phi). */
  ssvi?: { theta: number; rho: number; phi: number; psi: number };
  /** Unweighted RMSE of model IV - market IV over the slice (0.01 = 1 vol point). */
  rmse_iv: number;
  /** How the slice was fitted when the data is too thin for the full model. */
  fallback?: 'reduced' | 'flat';
  warnings: string[];
}

export interface SurfaceResidual {
  row: number;
  T: number;
  strike: number;
  k: number;
  market_iv: number;
  model_iv: number;
  weight: number;
}

export interface SurfaceFitResult {
  model: SurfaceModel;
  /** Increasing T. */
  slices: SliceResult[];
  /** SSVI: {rho, eta, gamma}; eSSVI: none (per slice). */
  global?: Record<string, number>;
  /** Unweighted RMSE of IV over all quotes used; 0.01 = 1 vol point. */
  rmse_iv: number;
  /** Weighted (weights as used, mean 1) RMSE of IV. */
  rmse_iv_weighted: number;
  arbitrage: ArbitrageReport;
  /** Whether the fit was asked to be arbitrage-free. */
  arbitrage_free_requested: boolean;
  /** LM iterations of the global fit (ssvi; essvi: its SSVI start plus its own); 0 for svi (per-slice multi-start fits). */
  iterations?: number;
  /** Whether the global fit's LM converged (svi: true). */
  converged?: boolean;
  residuals: SurfaceResidual[];
  excluded: SurfaceExclusion[];
  seconds: number;
  notes: string[];
}

/** Bad input to a surface fit (no usable quote, an invalid option). */
export class SurfaceInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SurfaceInputError';
  }
}

/**
 * Local variance asked where the surface is not arbitrage-free: g(k, T) <= 0 (butterfly) or
 * dw/dT < 0 (calendar). Names the point; the value is never silently replaced.
 */
export class LocalVolError extends Error {
  constructor(
    readonly k: number,
    readonly T: number,
    readonly reason: 'butterfly' | 'calendar',
    readonly value: number,
  ) {
    super(
      reason === 'butterfly'
        ? `local vol undefined at k=${k}, T=${T}: butterfly arbitrage, g(k) = ${value} <= 0`
        : `local vol undefined at k=${k}, T=${T}: calendar arbitrage, dw/dT = ${value} < 0`,
    );
    this.name = 'LocalVolError';
  }
}

/**
 * One expiry of a slice-model fit as `calibrate` writes it (`slices[i]` of its JSON): years to
 * expiry, the slice's forward, its parameters (svi: raw a, b, rho, m, sigma; ssvi: theta; essvi:
 * theta, rho, psi; black: vol), and for the SSVI family the same slice as raw SVI.
 */
export interface SliceOutput {
  T: number;
  forward: number;
  params: Record<string, number>;
  /** Expiry label (ISO date, or the years as given). */
  expiry: string;
  /** Quotes used in the slice. */
  quotes: number;
  /** ssvi / essvi: the slice as raw SVI (a, b, rho, m, sigma). */
  raw?: SviRaw;
  /** Unweighted IV RMSE of the slice (0.01 = 1 vol point). */
  rmse_iv: number;
  fallback?: 'reduced' | 'flat';
  warnings?: string[];
}

/**
 * What a slice engine's fit returns (src/engines/registry.ts: 'black', 'surface'); the
 * calibrator's slice path (src/calibrator/sliceFit.ts) wraps it into calibrate's JSON shape.
 */
export interface SliceModelFit {
  /** Top-level parameters: the global ones (ssvi rho, eta, gamma), black's `vol_<expiry>`, or none. */
  params: Record<string, number>;
  stderr: Record<string, number | null>;
  /** Increasing T. */
  slices: SliceOutput[];
  /** One per quote used (any order): market and model IV at the quote, its strike and T. */
  residuals: Array<{ row: number; market_iv: number; model_iv: number; strike: number; T: number }>;
  excluded: Array<{ row: number; reason: string }>;
  arbitrage: ArbitrageReport;
  /** Whether the fit was constrained to be arbitrage-free. */
  arbitrageFree: boolean;
  /** Weighted SSE of IV errors (weights as used by the fit, mean 1). */
  objective: number;
  converged: boolean;
  iterations: number;
  evaluations: number;
  route: { name: 'closed-form' | 'surface'; reason: string };
  message: string;
  notes: string[];
}
