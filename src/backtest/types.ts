/** Shapes of a backtest: what is recorded per day and per fit, and the `--json` contract. */
import type { PriorConflict } from '../calibrator/posterior.js';
import type { SliceOutput } from '../surface/types.js';
import type { UpdatesFile } from '../publish/publish.js';
import type { BookStats } from './input.js';

/** How a day's fit started: from scratch, from the previous good fit, or from it with it as a Gaussian prior. */
export type FitRoute = 'cold' | 'warm' | 'warm+prior';

export interface ColdRescue {
  reason: 'conflict' | 'bound';
  kept: 'cold' | 'warm';
}

export interface FitRecord {
  model: string;
  params: Record<string, number> | null;
  stderr: Record<string, number | null> | null;
  rmse_iv: number | null;
  converged: boolean;
  route: FitRoute;
  seconds: number;
  /** Bayesian information criterion n ln(SSE/n) + k ln n over the unweighted IV residuals (n quotes with a model vol, k parameters; slice models: global + per-expiry). */
  bic: number | null;
  /** Slice models: one parameter set per expiry (ssvi: theta), with T, forward and expiry; and the fit's static-arbitrage report. */
  slices?: SliceOutput[];
  arbitrage?: unknown;
  // Kept in the store, not printed by --json.
  /** The optimizer's route inside calibrate (lm, staged, ...), and why. */
  optimizer: string;
  covariance: number[][] | null;
  noise: number | null;
  quotes_used: number;
  iterations: number;
  message: string;
  /** Why the prior was not used although asked for. */
  prior_note?: string;
  /** The checked prior's test of this fit (run.ts checkedFit): the prior's Mahalanobis distance, its chi-square tail, and whether that is a conflict. */
  prior_check?: PriorConflict & { conflict: boolean };
  /** A warm fit that also ran the day's cold route: why (a conflict with the prior, a parameter at a bound) and which was kept. */
  cold_rescue?: ColdRescue;
  error?: string;
}

export interface ChangePoint {
  flagged: boolean;
  probability: number | null;
  series: string[];
}

export interface DayRecord {
  date: string;
  source: string;
  quotes: number;
  stale: boolean;
  stale_reason: string | null;
  book: BookStats;
  fits: Record<string, FitRecord>;
  best_model: string | null;
  change_point: ChangePoint;
  /** Model-free series of the day (ATM vol, term slope, skew). */
  market: Record<string, number | null>;
  /** What the change-point detector saw, and each series' log Bayes factor for a new regime. */
  observation: Record<string, number | null>;
  evidence: Record<string, number>;
  seconds: number;
  /** With publishing on: what was signed from this day's fit (the updates themselves are in DayDetail). */
  published?: PublishedSummary;
}

/** A day's publication: the model, the signer and how many updates, or why none. */
export interface PublishedSummary {
  model: string;
  signer: string | null;
  updates: number;
  as_of: string | null;
  error: string | null;
}

/** Residuals and exclusions of a day (stored, not kept in memory for the whole run). */
export interface DayDetail {
  excluded: Array<{ row: number; reason: string }>;
  quotes: Array<{ row: number; T: number; expiry: string; strike: number; isCall: boolean; price: number; forward: number; discount: number; iv: number; weight: number }>;
  residuals: Record<string, Array<{ row: number; market_iv: number; model_iv: number | null; weight: number; strike: number; expiry: number; timestamp?: string }>>;
  /** The signed vol-feed updates of the day's published fit (publishing on, the fit accepted). */
  updates?: UpdatesFile;
}

/** A day of the `--json` contract. */
export function dayJson(d: DayRecord) {
  return {
    date: d.date,
    quotes: d.quotes,
    stale: d.stale,
    stale_reason: d.stale_reason,
    fits: Object.fromEntries(
      Object.entries(d.fits).map(([m, f]) => [
        m,
        {
          params: f.params, stderr: f.stderr, rmse_iv: f.rmse_iv, converged: f.converged, route: f.route, seconds: f.seconds, bic: f.bic,
          ...(f.slices ? { slices: f.slices.map((s) => ({ expiry: s.expiry ?? null, T: s.T, forward: s.forward, params: s.params })) } : {}),
          ...(f.prior_check ? { prior_check: f.prior_check } : {}),
          ...(f.cold_rescue ? { cold_rescue: f.cold_rescue } : {}),
          ...(f.error !== undefined ? { error: f.error } : {}),
        },
      ]),
    ),
    best_model: d.best_model,
    change_point: d.change_point,
    ...(d.published ? { published: d.published } : {}),
  };
}
