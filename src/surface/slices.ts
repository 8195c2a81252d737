/**
 * Quotes -> expiry slices in total variance: market IV (given, or Black-76 inverted from the
 * price), log-forward moneyness k = ln(K/F), total variance W = iv^2 T, weights (normalised to
 * mean 1 over all quotes kept), and the exclusions with a reason per row (never silent).
 *
 * Quotes without volatility information: a bid-ask that spans more than `maxVolSpread` (0.5)
 * of the mid vol (typically deep in the money, time value inside the spread, bid below
 * intrinsic) is dropped as `wide_vol_spread`.
 *
 * Cabinet quotes: a deep out-of-the-money option bid at the venue's minimum tick carries the
 * tick, not a volatility: its "IV" climbs with moneyness (a vol cliff) only because the price
 * cannot go lower. By default such quotes are dropped (reason `cabinet_quote`); `downweight`
 * keeps them with their weight times `factor`; `keep` leaves them. The tick comes from
 * `cabinet.tick` (a number in the quote's price currency, or a function of the quote), else from
 * the venue: Deribit 0.0001 coin (normalize's USD price = coin price x forward, so 1e-4 F), CBOE
 * SPX 0.05. A venue without a known tick gets no detection.
 */
import { impliedVolatility } from '../engines/black/impliedVol.js';
import { normPdf } from '../engines/black/normal.js';
import { SurfaceInputError, type SurfaceExclusion, type SurfaceQuote } from './types.js';

export interface CabinetOptions {
  action?: 'drop' | 'downweight' | 'keep';
  /** Minimum price increment in the quote's price currency (or per quote); default by venue. */
  tick?: number | ((q: SurfaceQuote) => number | undefined);
  /** A quote is a cabinet when its bid (its price without a bid) is at most `ticks` ticks. Default 1. */
  ticks?: number;
  /** Weight multiplier for 'downweight' (default 0.05). */
  factor?: number;
}

/**
 * Weights on squared IV errors: 'quote' the quotes' own `weight` (normalize's spread x vega x
 * staleness; 1 when absent), 'uniform' 1, 'vega' the normalised Black vega phi(d1) at the market
 * vol. Cabinet down-weighting multiplies any of them.
 */
export type Weighting = 'quote' | 'uniform' | 'vega';

export interface PrepareOptions {
  weighting?: Weighting;
  cabinet?: CabinetOptions;
  /**
   * Drop a quote whose bid-ask spread spans more than this fraction of its mid vol (default 0.5;
   * Infinity keeps all): iv(ask) - iv(bid) > maxVolSpread * iv, with iv(bid) = 0 when the bid is
   * at or below intrinsic. Such a quote does not carry a volatility (typically a deep
   * in-the-money option whose time value is inside the spread). Needs bid and ask.
   */
  maxVolSpread?: number;
}

export interface SliceData {
  T: number;
  expiry: string;
  /** Weighted mean forward of the slice's quotes (each quote's k uses its own forward). */
  forward: number;
  rows: number[];
  strike: Float64Array;
  k: Float64Array;
  iv: Float64Array;
  /** Market total variance iv^2 T. */
  w: Float64Array;
  /** Weights on IV errors, mean 1 over all slices' quotes. */
  weight: Float64Array;
  warnings: string[];
}

export interface PreparedSlices {
  slices: SliceData[];
  excluded: SurfaceExclusion[];
}

export function defaultTick(q: SurfaceQuote): number | undefined {
  const v = q.venue?.toLowerCase();
  if (v === 'deribit') return 1e-4 * q.forward;
  if (v === 'cboe') return 0.05;
  return undefined;
}

export function prepareSlices(quotes: readonly SurfaceQuote[], opts: PrepareOptions = {}): PreparedSlices {
  const maxVolSpread = opts.maxVolSpread ?? 0.5;
  const weighting = opts.weighting ?? 'quote';
  const cab = opts.cabinet ?? {};
  const action = cab.action ?? 'drop';
  const ticks = cab.ticks ?? 1;
  const factor = cab.factor ?? 0.05;
  const excluded: SurfaceExclusion[] = [];
  interface Kept { row: number; T: number; key: string; F: number; K: number; k: number; iv: number; wt: number }
  const kept: Kept[] = [];
  quotes.forEach((q, idx) => {
    const row = q.row ?? idx + 1;
    const bad = (detail: string) => excluded.push({ row, reason: 'invalid_input', detail });
    if (!(q.T > 0) || !Number.isFinite(q.T)) return bad(`T=${q.T} is not a positive time`);
    if (!(q.forward > 0) || !Number.isFinite(q.forward)) return bad(`forward ${q.forward} is not positive`);
    if (!(q.strike > 0) || !Number.isFinite(q.strike)) return bad(`strike ${q.strike} is not positive`);
    const D = q.discount ?? 1;
    if (!(D > 0) || !Number.isFinite(D)) return bad(`discount ${q.discount} is not positive`);
    // A given weight of 0 means "do not use" whatever the weighting; otherwise 'uniform' and
    // 'vega' ignore the quote's weight.
    const given = q.weight ?? 1;
    if (!(given >= 0) || !Number.isFinite(given)) return bad(`weight ${q.weight} is not a finite non-negative number`);
    if (given === 0) return void excluded.push({ row, reason: 'zero_weight' });
    let wt = weighting === 'quote' ? given : 1;
    let iv: number | null = q.iv !== undefined && Number.isFinite(q.iv) && q.iv > 0 ? q.iv : null;
    if (iv === null) {
      if (q.price === undefined || !Number.isFinite(q.price)) return bad('no price and no implied vol');
      const r = impliedVolatility(q.price, q.forward, q.strike, q.T, q.isCall, D);
      if (r.status !== 'ok' || r.iv === null) return void excluded.push({ row, reason: 'no_implied_vol', detail: r.status });
      iv = r.iv;
    }
    const k = Math.log(q.strike / q.forward);
    if (Number.isFinite(maxVolSpread) && q.bid !== undefined && q.ask !== undefined && q.ask > 0) {
      const ivAsk = impliedVolatility(q.ask, q.forward, q.strike, q.T, q.isCall, D);
      const ivBid = q.bid > 0 ? impliedVolatility(q.bid, q.forward, q.strike, q.T, q.isCall, D) : null;
      const hi = ivAsk.status === 'ok' ? ivAsk.iv! : ivAsk.status === 'above_max' ? Infinity : iv;
      const lo = ivBid && ivBid.status === 'ok' ? ivBid.iv! : 0;
      if (hi - lo > maxVolSpread * iv) {
        excluded.push({ row, reason: 'wide_vol_spread', detail: `bid-ask spans vols ${lo.toFixed(4)} to ${hi === Infinity ? 'inf' : hi.toFixed(4)} around ${iv.toFixed(4)}` });
        return;
      }
    }
    // Cabinet: out of the money, bid (or price) within `ticks` of the minimum tick.
    const otm = q.isCall ? q.strike > q.forward : q.strike < q.forward;
    const tick = typeof cab.tick === 'function' ? cab.tick(q) : (cab.tick ?? defaultTick(q));
    if (action !== 'keep' && otm && tick !== undefined && tick > 0) {
      const level = q.bid !== undefined && q.bid > 0 ? q.bid : q.price;
      if (level !== undefined && level <= ticks * tick * (1 + 1e-9)) {
        if (action === 'drop') {
          excluded.push({ row, reason: 'cabinet_quote', detail: `${q.bid !== undefined && q.bid > 0 ? 'bid' : 'price'} ${level} <= ${ticks} tick(s) of ${tick}; its vol ${iv.toFixed(4)} is set by the tick` });
          return;
        }
        wt *= factor;
      }
    }
    if (weighting === 'vega') {
      // Normalised Black vega phi(d1): scale-free, largest at the money.
      const s = iv * Math.sqrt(q.T);
      wt *= normPdf(-k / s + 0.5 * s);
    }
    kept.push({ row, T: q.T, key: q.expiry ?? `T=${q.T}`, F: q.forward, K: q.strike, k, iv, wt });
  });
  if (kept.length === 0) {
    const first = excluded.slice(0, 3).map((e) => `row ${e.row}: ${e.reason}${e.detail ? ` (${e.detail})` : ''}`).join('; ');
    throw new SurfaceInputError(`no usable quote for a surface fit (${quotes.length} in${first ? `; ${first}` : ''})`);
  }
  const meanW = kept.reduce((s, q) => s + q.wt, 0) / kept.length;
  const groups = new Map<string, Kept[]>();
  for (const q of kept) {
    const g = groups.get(q.key);
    if (g) g.push(q);
    else groups.set(q.key, [q]);
  }
  const slices: SliceData[] = [];
  for (const [key, g] of groups) {
    const T = g[0].T;
    if (g.some((q) => Math.abs(q.T - T) > 1e-12 * T)) {
      throw new SurfaceInputError(`expiry ${key}: quotes disagree on T (${T} vs ${g.find((q) => q.T !== T)!.T})`);
    }
    g.sort((a, b) => a.k - b.k);
    const W = g.reduce((s, q) => s + q.wt, 0);
    const warnings: string[] = [];
    const kMin = g[0].k;
    const kMax = g[g.length - 1].k;
    const sd = (g.reduce((s, q) => s + q.iv, 0) / g.length) * Math.sqrt(T);
    if (kMin > 0.5 * sd || kMax < -0.5 * sd) {
      warnings.push(`no quote near the money (k in [${kMin.toFixed(3)}, ${kMax.toFixed(3)}]): the ATM level is an extrapolation`);
    }
    slices.push({
      T,
      expiry: key,
      forward: g.reduce((s, q) => s + q.wt * q.F, 0) / W,
      rows: g.map((q) => q.row),
      strike: Float64Array.from(g, (q) => q.K),
      k: Float64Array.from(g, (q) => q.k),
      iv: Float64Array.from(g, (q) => q.iv),
      w: Float64Array.from(g, (q) => q.iv * q.iv * T),
      weight: Float64Array.from(g, (q) => q.wt / meanW),
      warnings,
    });
  }
  slices.sort((a, b) => a.T - b.T);
  for (let i = 1; i < slices.length; i++) {
    if (slices[i].T === slices[i - 1].T) {
      throw new SurfaceInputError(`expiries ${slices[i - 1].expiry} and ${slices[i].expiry} have the same T=${slices[i].T}`);
    }
  }
  return { slices, excluded: excluded.sort((a, b) => a.row - b.row) };
}
