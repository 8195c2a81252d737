/**
 * Stale-book detection: a day whose book is one-sided, far wider than usual, old, or much thinner
 * than usual is flagged with the reason(s). "Usual" is the median over the last REFERENCE_DAYS days
 * that were not stale (at least MIN_REFERENCE of them; before that only the absolute tests apply).
 * A stale day is still fitted and recorded; its fit does not become the next day's start or prior,
 * and it does not feed the change-point detector.
 */
import type { BookStats } from './input.js';

export const STALE_RULES = {
  /** Share of the file's rows with no bid or no ask (2026-01-13: 65 %; other bundled days <= 25 %). */
  maxOneSidedShare: 0.4,
  /** Median relative spread against the usual one. */
  maxSpreadRatio: 2.5,
  /** Median quote age at the as-of time. */
  maxAgeHours: 1,
  /** Quotes kept against the usual count. */
  minQuoteRatio: 0.6,
} as const;

const REFERENCE_DAYS = 20;
const MIN_REFERENCE = 3;

function median(v: number[]): number | null {
  if (v.length === 0) return null;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

/** The stale reason for `book` given the books of the earlier good days (oldest first), or null. */
export function staleReason(book: BookStats, goodHistory: readonly BookStats[]): string | null {
  const ref = goodHistory.slice(-REFERENCE_DAYS);
  const usual = (f: (b: BookStats) => number | null) => {
    const v = ref.map(f).filter((x): x is number => x !== null);
    return v.length >= MIN_REFERENCE ? median(v) : null;
  };
  const reasons: string[] = [];
  if (book.one_sided_share !== null && book.one_sided_share > STALE_RULES.maxOneSidedShare) {
    reasons.push(`one-sided book: ${pct(book.one_sided_share)} of ${book.rows_in} rows lack a bid or an ask`);
  }
  const spread = usual((b) => b.median_rel_spread);
  if (book.median_rel_spread !== null && spread !== null && spread > 0 && book.median_rel_spread > STALE_RULES.maxSpreadRatio * spread) {
    reasons.push(`spreads ${(book.median_rel_spread / spread).toFixed(1)}x the usual (median ${pct(book.median_rel_spread)} vs ${pct(spread)})`);
  }
  if (book.median_age_hours !== null && book.median_age_hours > STALE_RULES.maxAgeHours) {
    reasons.push(`old quotes: median age ${book.median_age_hours.toFixed(1)} h at the snapshot time`);
  }
  const quotes = usual((b) => b.quotes);
  if (quotes !== null && book.quotes < STALE_RULES.minQuoteRatio * quotes) {
    reasons.push(`thin book: ${book.quotes} quotes kept against a usual ${Math.round(quotes)}`);
  }
  return reasons.length ? reasons.join('; ') : null;
}
