/**
 * Market quotes -> the arrays the objective works with: market price, market implied vol, vega
 * at the market vol and normalised weights. Quotes that cannot enter an IV fit are excluded with
 * the reason, never silently dropped.
 */
import type { Quote } from '../market/canonical.js';
import { quoteSetOf, type QuoteSet } from '../engines/pricer.js';
import { blackImpliedVol, blackPrice, blackVega } from './black.js';
import { CalibrationInputError } from './transforms.js';

/** What the calibrator reads from a quote (a canonical `Quote` has all of it). */
export type CalibrationQuote = Pick<Quote, 'row' | 'T' | 'strike' | 'isCall' | 'price' | 'forward' | 'discount'> &
  Partial<Pick<Quote, 'iv' | 'weight' | 'bid' | 'ask'>>;

export interface Exclusion {
  row: number;
  reason: string;
}

export interface PreparedQuotes {
  m: number;
  rows: Int32Array;
  set: QuoteSet;
  marketPrice: Float64Array;
  marketIv: Float64Array;
  /** dPrice/dvol at the market vol: turns price residuals into first-order IV residuals. */
  vega: Float64Array;
  /** Weights as given (uniform 1 when none), reported per quote. */
  weight: Float64Array;
  /** sqrt(weight / mean weight): the objective's scale does not depend on the weights' units. */
  sqrtW: Float64Array;
  excluded: Exclusion[];
}

// A quote whose vega is this small relative to its forward carries no information about vol,
// and its first-order IV residual (price error / vega) would be dominated by pricing noise.
const MIN_RELATIVE_VEGA = 1e-8;

export function prepareQuotes(quotes: readonly CalibrationQuote[]): PreparedQuotes {
  if (quotes.length === 0) throw new CalibrationInputError('no quotes to calibrate to (empty quote set)');
  const keep: Array<{ q: CalibrationQuote; iv: number; price: number; vega: number; w: number }> = [];
  const excluded: Exclusion[] = [];
  for (const q of quotes) {
    const bad = (reason: string) => excluded.push({ row: q.row, reason });
    if (!(q.T > 0) || !Number.isFinite(q.T)) { bad(`expiry T=${q.T} is not a positive time`); continue; }
    if (!(q.strike > 0) || !Number.isFinite(q.strike)) { bad(`strike ${q.strike} is not positive`); continue; }
    if (!(q.forward > 0) || !Number.isFinite(q.forward)) { bad(`forward ${q.forward} is not positive`); continue; }
    if (!(q.discount > 0) || !Number.isFinite(q.discount)) { bad(`discount ${q.discount} is not positive`); continue; }
    const w = q.weight ?? 1;
    if (!(w >= 0) || !Number.isFinite(w)) { bad(`weight ${q.weight} is not a finite non-negative number`); continue; }
    if (w === 0) { bad('weight 0'); continue; }
    // A given IV wins (e.g. the DAX reference surface is quoted in vol); else invert the price.
    let iv: number | null = q.iv !== undefined && Number.isFinite(q.iv) && q.iv > 0 ? q.iv : null;
    let price = q.price;
    if (iv !== null && !(Number.isFinite(price) && price >= 0)) {
      price = blackPrice(q.forward, q.strike, q.T, iv, q.isCall, q.discount);
    }
    if (iv === null) {
      if (!Number.isFinite(price)) { bad('no price and no implied vol'); continue; }
      iv = blackImpliedVol(price, q.forward, q.strike, q.T, q.isCall, q.discount);
      if (iv === null) { bad(`price ${price} has no Black implied vol (outside the no-arbitrage range)`); continue; }
    }
    const vega = blackVega(q.forward, q.strike, q.T, iv, q.discount);
    if (!(vega > MIN_RELATIVE_VEGA * q.forward * q.discount)) { bad('vega too small for an implied-vol fit (option too far out of the money)'); continue; }
    keep.push({ q, iv, price, vega, w });
  }
  if (keep.length === 0) {
    const first = excluded.slice(0, 3).map((e) => `row ${e.row}: ${e.reason}`).join('; ');
    throw new CalibrationInputError(`all ${quotes.length} quotes were excluded (${first}${excluded.length > 3 ? '; ...' : ''})`);
  }
  const m = keep.length;
  const meanW = keep.reduce((s, k) => s + k.w, 0) / m;
  return {
    m,
    rows: Int32Array.from(keep, (k) => k.q.row),
    set: quoteSetOf(keep.map((k) => k.q)),
    marketPrice: Float64Array.from(keep, (k) => k.price),
    marketIv: Float64Array.from(keep, (k) => k.iv),
    vega: Float64Array.from(keep, (k) => k.vega),
    weight: Float64Array.from(keep, (k) => k.w),
    sqrtW: Float64Array.from(keep, (k) => Math.sqrt(k.w / meanW)),
    excluded,
  };
}

/** Exact implied vols of model prices for the prepared quotes (null where a price has none). */
export function modelImpliedVols(prep: PreparedQuotes, prices: Float64Array, offset = 0): Array<number | null> {
  const out: Array<number | null> = [];
  for (let i = 0; i < prep.m; i++) {
    out.push(
      blackImpliedVol(
        prices[offset + i],
        prep.set.forward[i],
        prep.set.strike[i],
        prep.set.T[i],
        prep.set.isCall[i] === 1,
        prep.set.discount[i],
      ),
    );
  }
  return out;
}

/**
 * A stratified subsample for the search stages of a large fit: up to `maxExpiries` expiries spread
 * over the term structure, and up to `maxPerExpiry` strikes spread over each smile. The search
 * (probe, global stage, first LM) runs on it at a fraction of the cost, and LM then finishes on all
 * quotes from its optimum; the final fit is the full objective's.
 *
 * Sparse expiries (quotes whose T comes from their own timestamps, so thousands of distinct
 * expiries with one or a few quotes each): the expiries above would hold about `maxExpiries`
 * quotes, too few to pin the model down once the quotes are noisy (12 quotes for 5 Heston
 * parameters left fits with parameters on their bounds, which LM on all quotes could not leave).
 * When they hold under half of `maxExpiries` x `maxPerExpiry`, the quotes are instead cut, in
 * order of T, into `maxExpiries` consecutive buckets of equal size, and each bucket gives up to
 * `maxPerExpiry` / 2 quotes spread over standardised moneyness ln(K/F)/sqrt(T). Each quote keeps
 * its own T (no expiry is moved), so each costs a characteristic-function grid of its own per
 * parameter set: 120 quotes, not 240, keep the search's pricing near what 12 grouped expiries
 * cost (measured, 5,000 noisy quotes with intraday expiries: 240 quotes made a search with a
 * global stage take 2-5 minutes, 120 about 1; 12 recovered worse).
 */
export function subsampleQuotes(prep: PreparedQuotes, maxExpiries = 12, maxPerExpiry = 20): PreparedQuotes {
  const byT = new Map<number, number[]>();
  for (let i = 0; i < prep.m; i++) {
    const list = byT.get(prep.set.T[i]) ?? [];
    list.push(i);
    byT.set(prep.set.T[i], list);
  }
  const Ts = [...byT.keys()].sort((a, b) => a - b);
  const spread = <X>(xs: X[], k: number): X[] =>
    xs.length <= k ? xs : Array.from({ length: k }, (_, j) => xs[Math.round((j * (xs.length - 1)) / (k - 1))]);
  let idx: number[] = [];
  for (const T of spread(Ts, maxExpiries)) {
    const list = byT.get(T)!.sort((a, b) => prep.set.strike[a] - prep.set.strike[b]);
    idx.push(...spread(list, maxPerExpiry));
  }
  if (idx.length < Math.min(prep.m, (maxExpiries * maxPerExpiry) / 2)) idx = timeBuckets(prep, maxExpiries, Math.ceil(maxPerExpiry / 2), spread);
  const pick = <A extends Float64Array | Uint8Array | Int32Array>(a: A): A =>
    new (a.constructor as new (xs: number[]) => A)(idx.map((i) => a[i]));
  const weight = pick(prep.weight);
  const meanW = weight.reduce((s, w) => s + w, 0) / idx.length;
  return {
    m: idx.length,
    rows: pick(prep.rows),
    set: {
      forward: pick(prep.set.forward),
      strike: pick(prep.set.strike),
      T: pick(prep.set.T),
      isCall: pick(prep.set.isCall),
      discount: pick(prep.set.discount),
    },
    marketPrice: pick(prep.marketPrice),
    marketIv: pick(prep.marketIv),
    vega: pick(prep.vega),
    weight,
    sqrtW: Float64Array.from(weight, (w) => Math.sqrt(w / meanW)),
    excluded: [],
  };
}

/** The sparse-expiry subsample of subsampleQuotes: buckets of consecutive T, spread over moneyness in each. */
function timeBuckets(prep: PreparedQuotes, buckets: number, perBucket: number, spread: <X>(xs: X[], k: number) => X[]): number[] {
  const { T, strike, forward } = prep.set;
  const byTime = Array.from({ length: prep.m }, (_, i) => i).sort((a, b) => T[a] - T[b] || a - b);
  const x = (i: number) => Math.log(strike[i] / forward[i]) / Math.sqrt(T[i]);
  const idx: number[] = [];
  const count = Math.min(buckets, prep.m);
  for (let c = 0; c < count; c++) {
    const bucket = byTime.slice(Math.floor((c * prep.m) / count), Math.floor(((c + 1) * prep.m) / count));
    idx.push(...spread(bucket.sort((a, b) => x(a) - x(b) || a - b), perBucket));
  }
  return idx;
}
