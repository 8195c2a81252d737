/**
 * Quote filters. Each row gets at most one reason code: the first test it fails, in the order
 * below (book, expiry, age, duplicate, spread, moneyness, bounds, IV inversion, ITM twin). The
 * thresholds are options; the defaults follow the filters of the Deribit data's own study (T >= 1
 * day, relative spread <= 0.5, 0.5 <= K/F <= 2; data/deribit-btc-daily/SOURCE.md).
 */
import type { Candidate, Exclusion } from './types.js';

export interface FilterOptions {
  /** Shortest time to expiry kept, in days of 365 per year (default 1). */
  minDays: number;
  /** Largest (ask - bid) / mid kept (default 0.5). */
  maxRelSpread: number;
  /** K / F band kept (default [0.5, 2]). */
  minMoneyness: number;
  maxMoneyness: number;
  /** Oldest quote kept, seconds before the as-of time (default Infinity: age only lowers the weight). */
  maxAgeSeconds: number;
  /** Keep in-the-money quotes even where the out-of-the-money twin is kept (default false). */
  keepItm: boolean;
}

export const DEFAULT_FILTERS: FilterOptions = {
  minDays: 1,
  maxRelSpread: 0.5,
  minMoneyness: 0.5,
  maxMoneyness: 2,
  maxAgeSeconds: Infinity,
  keepItm: false,
};

export function checkFilterOptions(f: FilterOptions): void {
  const bad = (name: string, why: string) => {
    throw new RangeError(`filter option ${name} ${why}`);
  };
  if (!(f.minDays >= 0)) bad('minDays', 'must be >= 0');
  if (!(f.maxRelSpread > 0)) bad('maxRelSpread', 'must be > 0');
  if (!(f.minMoneyness >= 0 && f.maxMoneyness > f.minMoneyness)) bad('moneyness band', 'must satisfy 0 <= min < max');
  if (!(f.maxAgeSeconds > 0)) bad('maxAgeSeconds', 'must be > 0');
}

/** The Black-76 pieces the filters and weights need; the engine supplies them. */
export interface BlackInversion {
  /** Implied vol of a present-value price, or a status saying why there is none. */
  impliedVol(price: number, forward: number, strike: number, T: number, isCall: boolean, discount: number): { iv: number | null; status: string };
  /** Black-76 vega (d price / d sigma, present value). */
  vega(forward: number, strike: number, T: number, vol: number, isCall: boolean, discount: number): number;
}

export interface Kept extends Candidate {
  iv: number;
  vega: number;
}

export interface FilterResult {
  kept: Kept[];
  excluded: Exclusion[];
}

const key = (q: Candidate) => `${q.expiry}|${q.strike}|${q.isCall ? 'C' : 'P'}`;

/**
 * Applies the filters. `bookRequired`: a quote must have a positive bid and ask (venue books);
 * when false (canonical input), the book tests apply only to rows that carry a bid or an ask.
 */
export function applyFilters(
  quotes: Candidate[],
  f: FilterOptions,
  black: BlackInversion,
  opts: { asOfMs?: number; bookRequired: boolean },
): FilterResult {
  const excluded: Exclusion[] = [];
  const out = (q: Candidate, reason: Exclusion['reason'], detail: string) => excluded.push({ row: q.row, reason, detail });
  const seen = new Set<string>();
  const survivors: Kept[] = [];

  for (const q of quotes) {
    if (opts.bookRequired || q.bid !== undefined || q.ask !== undefined) {
      if (!(q.bid !== undefined && q.bid > 0)) { out(q, 'no_bid', q.bid === undefined ? 'bid missing' : 'bid is zero'); continue; }
      if (!(q.ask !== undefined && q.ask > 0)) { out(q, 'no_ask', q.ask === undefined ? 'ask missing' : 'ask is zero'); continue; }
      if (q.bid > q.ask) { out(q, 'crossed_quote', `bid ${q.bid} > ask ${q.ask}`); continue; }
    }
    if (!(q.T > 0)) { out(q, 'expired', `T = ${q.T.toFixed(6)} years`); continue; }
    if (q.T * 365 < f.minDays) { out(q, 'expiry_too_short', `${(q.T * 365).toFixed(3)} days < ${f.minDays}`); continue; }
    if (opts.asOfMs !== undefined && q.timestampMs !== undefined && (opts.asOfMs - q.timestampMs) / 1000 > f.maxAgeSeconds) {
      out(q, 'stale_quote', `${((opts.asOfMs - q.timestampMs) / 1000).toFixed(0)} s old`);
      continue;
    }
    const k = key(q);
    if (seen.has(k)) { out(q, 'duplicate_quote', `same expiry, strike and type as an earlier row`); continue; }
    seen.add(k);
    if (q.bid !== undefined && q.ask !== undefined) {
      const mid = 0.5 * (q.bid + q.ask);
      const rel = (q.ask - q.bid) / mid;
      if (rel > f.maxRelSpread) { out(q, 'wide_spread', `(ask-bid)/mid = ${rel.toFixed(3)} > ${f.maxRelSpread}`); continue; }
    }
    const m = q.strike / q.forward;
    if (!(m >= f.minMoneyness && m <= f.maxMoneyness)) { out(q, 'outside_moneyness_band', `K/F = ${m.toFixed(4)}`); continue; }
    const D = q.discount;
    const intrinsic = D * Math.max(q.isCall ? q.forward - q.strike : q.strike - q.forward, 0);
    const upper = D * (q.isCall ? q.forward : q.strike);
    if (q.price < intrinsic) { out(q, 'below_intrinsic', `price ${q.price} < ${intrinsic}`); continue; }
    if (q.price >= upper) { out(q, 'above_upper_bound', `price ${q.price} >= ${upper}`); continue; }
    const inv = black.impliedVol(q.price, q.forward, q.strike, q.T, q.isCall, D);
    if (inv.status !== 'ok' || inv.iv === null || !(inv.iv > 0)) { out(q, 'no_implied_vol', `inversion status ${inv.status}`); continue; }
    survivors.push({ ...q, iv: inv.iv, vega: black.vega(q.forward, q.strike, q.T, inv.iv, q.isCall, D) });
  }

  if (f.keepItm) return { kept: survivors, excluded };
  // ITM side out where the OTM twin survived: the OTM price carries the same information with
  // less of the forward's (and the discount's) error in it.
  const alive = new Set(survivors.map(key));
  const kept: Kept[] = [];
  for (const q of survivors) {
    const itm = q.isCall ? q.strike < q.forward : q.strike > q.forward;
    const twin = `${q.expiry}|${q.strike}|${q.isCall ? 'P' : 'C'}`;
    if (itm && alive.has(twin)) excluded.push({ row: q.row, reason: 'itm_with_otm_twin', detail: 'out-of-the-money twin kept' });
    else kept.push(q);
  }
  return { kept, excluded };
}
