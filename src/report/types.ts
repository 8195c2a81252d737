/**
 * What the report shows, computed once (src/report/build.ts) and rendered by a pure function
 * (src/report/html.ts), so the page can be tested without pricing anything.
 */
import type { FitResult } from './fit.js';

export type { ReportQuote } from './quote.js';

export interface ExpiryInfo {
  /** Label as in the quotes (ISO date or years as given). */
  expiry: string;
  T: number;
  forward: number;
  discount: number;
  /** Quotes of this expiry in the quote file (used or not). */
  quotes: number;
}

/** One market quote as plotted. IVs are in vol (0.5 = 50 %); null where no vol can be inverted. */
export interface MarketPoint {
  row: number;
  expiry: string;
  T: number;
  strike: number;
  /** ln(K / F). */
  k: number;
  isCall: boolean;
  price: number;
  midIv: number | null;
  bidIv: number | null;
  askIv: number | null;
  /** Weight in the fit (from the first fit that used the quote), null when no fit used it. */
  weight: number | null;
  /** Model IV at this quote per model (from the fits' residuals). */
  modelIv: Record<string, number | null>;
}

/** A model's smile on a dense strike grid of one expiry. */
export interface ModelCurve {
  model: string;
  expiry: string;
  k: number[];
  iv: Array<number | null>;
}

/** Sensitivities of the fitted model at one grid point (out-of-the-money option). */
export interface GreekPoint {
  expiry: string;
  T: number;
  k: number;
  strike: number;
  isCall: boolean;
  /** dC/dF of the call at this strike (forward delta, present value; put delta = delta - discount). */
  delta: number;
  /** Change of delta for a 1 % move of the forward: F * d2V/dF2 / 100. */
  gamma: number;
  /** Price change for +1 vol point of the model's volatility level (see greeks.ts). */
  vega: number | null;
}

export interface StabilityPoint {
  expiry: string;
  k: number;
  gamma: number;
  gammaLo: number;
  gammaHi: number;
  vega: number | null;
  vegaLo: number | null;
  vegaHi: number | null;
  /** Largest bootstrap spread (hi - lo) relative to the expiry's peak |value|, gamma or vega. */
  spread: number;
  unstable: boolean;
}

export interface GreeksSection {
  model: string;
  /** How the Greeks were computed, for the page. */
  method: string;
  points: GreekPoint[];
  /** No-arbitrage sanity findings (delta outside its range, negative gamma or vega). */
  warnings: string[];
  bootstrap?: {
    requested: number;
    succeeded: number;
    seconds: number;
    /** Relative spread above which a point is flagged. */
    threshold: number;
    method: string;
    points: StabilityPoint[];
    failures: string[];
  };
}

/** A slice model's fit as a volatility surface (src/report/volSurface.ts). */
export interface SurfaceSection {
  model: string;
  /** Expiry labels of the slices, in time order. */
  expiries: string[];
  /** w(k) and g(k) per expiry on a dense k grid; g null where w <= 0. */
  curves: Array<{ expiry: string; T: number; k: number; w: number; g: number | null }>;
  /** The fit's arbitrage verdict (null: unknown). */
  free: boolean | null;
  /** Worst point of each butterfly run (g < 0), with w there. */
  butterfly: Array<{ expiry: string; T: number; k: number; w: number; g: number; k_from: number; k_to: number }>;
  /** Worst point of each calendar run (w falls from T1 to T2), with w(T2) there. */
  calendar: Array<{ expiry: string; T1: number; T2: number; k: number; w: number; dw: number | null; k_from: number; k_to: number }>;
  /** Dupire local vol cells; vol null where it does not exist (reason: which arbitrage). */
  localVol: Array<{ k: number; T: number; k1: number; k2: number; T1: number; T2: number; vol: number | null; reason?: 'butterfly' | 'calendar' }>;
  localVolUndefined: number;
  method: string;
}

export interface ReportExclusion {
  row: number;
  reason: string;
  /** Which stage excluded it: 'normalize' or 'calibrate <model>'. */
  stage: string;
}

/** A model constraint (e.g. Heston's Feller condition) evaluated at a fit's parameters. */
export interface ConstraintCheck {
  model: string;
  name: string;
  description: string;
  /** >= 0 when satisfied. */
  value: number;
}

export interface ReportData {
  title: string;
  /** Where the quotes come from; says 'synthetic' when they are not market data. */
  dataSource: string;
  generatedAt: string;
  expiries: ExpiryInfo[];
  points: MarketPoint[];
  fits: FitResult[];
  curves: ModelCurve[];
  greeks: GreeksSection[];
  /** Slice-model fits as surfaces (total variance, density, local vol); absent or empty without one. */
  surfaces?: SurfaceSection[];
  exclusions: ReportExclusion[];
  constraints?: ConstraintCheck[];
  /** Rows read before normalization, when known (accounting line in the data section). */
  rowsIn?: number;
  notes: string[];
}
