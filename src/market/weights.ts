/**
 * Quote weights. Each selected scheme gives a factor per row; the weight is their product,
 * rescaled so the kept rows' weights average 1 (only ratios matter to a least-squares fit).
 * The factors are kept per row so a weight can be explained.
 *
 * - `spread`: 1 / (ask - bid) in price units: tight quotes are better known. Rows without a
 *   two-sided book get the median factor of the others (neither favoured nor punished).
 * - `vega`: Black-76 vega at the row's IV: a price-space residual of a low-vega (far wing, short)
 *   quote says little about volatility.
 * - `open_interest`: 1 + ln(1 + OI): more weight where positions exist, without letting a few
 *   huge strikes dominate; rows without OI get 1.
 * - `staleness`: 0.5 ^ (age / half-life), age = as-of - quote time (>= 0): models oracle latency
 *   and the decay of a quote's relevance. Rows without a timestamp get 1.
 */
import type { Kept } from './filters.js';

export const WEIGHT_SCHEMES = ['spread', 'vega', 'open_interest', 'staleness'] as const;
export type WeightScheme = (typeof WEIGHT_SCHEMES)[number];

export interface WeightOptions {
  schemes: WeightScheme[];
  /** Staleness half-life in seconds (default 6 hours). */
  halfLifeSeconds: number;
}

export const DEFAULT_WEIGHTS: WeightOptions = { schemes: ['spread', 'vega', 'staleness'], halfLifeSeconds: 6 * 3600 };

export type WeightFactors = Partial<Record<WeightScheme, number>>;

export interface Weighted {
  weight: number;
  factors: WeightFactors;
}

function medianOf(xs: number[]): number {
  if (xs.length === 0) return 1;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

export function computeWeights(quotes: Kept[], opts: WeightOptions, asOfMs?: number): Weighted[] {
  if (!(opts.halfLifeSeconds > 0)) throw new RangeError('weight option halfLifeSeconds must be > 0');
  const factors: WeightFactors[] = quotes.map(() => ({}));
  for (const s of opts.schemes) {
    if (s === 'spread') {
      const raw = quotes.map((q) => (q.bid !== undefined && q.ask !== undefined && q.ask > q.bid ? 1 / (q.ask - q.bid) : undefined));
      const fill = medianOf(raw.filter((x): x is number => x !== undefined));
      raw.forEach((x, i) => (factors[i].spread = x ?? fill));
    } else if (s === 'vega') {
      quotes.forEach((q, i) => (factors[i].vega = Math.max(q.vega, 0)));
    } else if (s === 'open_interest') {
      quotes.forEach((q, i) => (factors[i].open_interest = 1 + Math.log1p(Math.max(q.openInterest ?? 0, 0))));
    } else {
      quotes.forEach((q, i) => {
        const age = asOfMs !== undefined && q.timestampMs !== undefined ? Math.max(0, (asOfMs - q.timestampMs) / 1000) : 0;
        factors[i].staleness = Math.pow(0.5, age / opts.halfLifeSeconds);
      });
    }
  }
  const raw = factors.map((f) => Object.values(f).reduce((p, x) => p * x, 1));
  const mean = raw.reduce((s, x) => s + x, 0) / Math.max(raw.length, 1);
  return raw.map((w, i) => ({ weight: mean > 0 ? w / mean : 1, factors: factors[i] }));
}
