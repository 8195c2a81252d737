/**
 * Stability of the fitted model's gamma and vega: a small bootstrap that refits the model to
 * quotes redrawn uniformly inside their bid/ask (warm-started from the fit), recomputes the
 * Greeks on the same grid, and flags grid points whose spread across refits is large relative
 * to that expiry's peak value. A Greek that moves that much when every quote stays inside its
 * spread is not pinned down by the market: hedges built on it there are unreliable.
 */
import type { FitResult } from './fit.js';
import { modelGreeks, type GreekGrid } from './greeks.js';
import type { ModelPricer } from './pricing.js';
import type { GreekPoint, GreeksSection, ReportQuote, StabilityPoint } from './types.js';
import { mulberry32 } from '../util/mulberry32.js';

/**
 * Refits the model to each quote set, every one starting from `start` (the CLI's and demo's run
 * them as one calibrateMany batch); an Error in place of a refit that failed.
 */
export type Refit = (sets: ReportQuote[][], start: FitResult) => Promise<Array<FitResult | Error>>;

export interface BootstrapOptions {
  /** Number of refits (default 4). */
  n?: number;
  seed?: number;
  /** Spread / peak above which a point is flagged (default 0.1). */
  threshold?: number;
}


/**
 * Quotes with both bid and ask get a price drawn uniformly in [bid, ask] and lose their `iv`
 * (the refit inverts the new price); one-sided quotes keep their price (no spread to draw from).
 */
export function perturbWithinSpread<Q extends ReportQuote>(quotes: readonly Q[], rand: () => number): Q[] {
  return quotes.map((q) => {
    const { bid, ask } = q;
    if (bid === undefined || ask === undefined || !(bid >= 0) || !(ask >= bid) || !Number.isFinite(ask)) return q;
    const copy = { ...q, price: bid + rand() * (ask - bid) };
    delete copy.iv;
    return copy;
  });
}

export async function bootstrapStability(
  fit: FitResult,
  quotes: readonly ReportQuote[],
  pricer: ModelPricer,
  grid: GreekGrid,
  base: readonly GreekPoint[],
  refit: Refit,
  opts: BootstrapOptions = {},
): Promise<NonNullable<GreeksSection['bootstrap']>> {
  const n = opts.n ?? 4;
  const threshold = opts.threshold ?? 0.1;
  const rand = mulberry32(opts.seed ?? 20260105);
  const t0 = performance.now();
  const runs: GreekPoint[][] = [];
  const failures: string[] = [];
  const sets = Array.from({ length: n }, () => perturbWithinSpread(quotes, rand));
  const outcomes = await refit(sets, fit).catch((e: unknown) => sets.map(() => (e instanceof Error ? e : new Error(String(e)))));
  outcomes.forEach((r, i) => {
    if (r instanceof Error) {
      failures.push(`refit ${i + 1} failed: ${r.message}`);
      return;
    }
    if (!r.converged) failures.push(`refit ${i + 1}: did not converge${r.message ? ` (${r.message})` : ''}; kept anyway`);
    runs.push(modelGreeks(pricer, r.params, grid));
  });

  const peakOf = (f: (p: GreekPoint) => number | null) => {
    const m = new Map<string, number>();
    for (const p of base) m.set(p.expiry, Math.max(m.get(p.expiry) ?? 0, Math.abs(f(p) ?? 0)));
    return m;
  };
  const gammaPeak = peakOf((p) => p.gamma);
  const vegaPeak = peakOf((p) => p.vega);
  const points: StabilityPoint[] = base.map((p, j) => {
    const gammas = [p.gamma, ...runs.map((r) => r[j].gamma)].filter(Number.isFinite);
    const vegas = [p.vega, ...runs.map((r) => r[j].vega)].filter((v): v is number => v !== null && Number.isFinite(v));
    const gammaLo = Math.min(...gammas);
    const gammaHi = Math.max(...gammas);
    const hasVega = p.vega !== null && vegas.length > 0;
    const vegaLo = hasVega ? Math.min(...vegas) : null;
    const vegaHi = hasVega ? Math.max(...vegas) : null;
    const gp = gammaPeak.get(p.expiry) ?? 0;
    const vp = vegaPeak.get(p.expiry) ?? 0;
    const spread = Math.max(
      gp > 0 ? (gammaHi - gammaLo) / gp : 0,
      hasVega && vp > 0 ? (vegaHi! - vegaLo!) / vp : 0,
    );
    return { expiry: p.expiry, k: p.k, gamma: p.gamma, gammaLo, gammaHi, vega: p.vega, vegaLo, vegaHi, spread, unstable: runs.length > 0 && spread > threshold };
  });
  return {
    requested: n,
    succeeded: runs.length,
    seconds: (performance.now() - t0) / 1000,
    threshold,
    method: 'Quotes redrawn uniformly within their bid/ask (one-sided quotes kept at their price), model refitted from the fit (warm start).',
    points,
    failures,
  };
}
