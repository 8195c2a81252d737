/**
 * Quotes + fits -> the market side of the report: expiries (forward, discount) and one plotted
 * point per quote with mid/bid/ask implied vols and each model's IV at that quote.
 */
import { impliedVol } from './black.js';
import type { FitResult } from './fit.js';
import type { ExpiryInfo, MarketPoint, ReportQuote } from './types.js';

/**
 * How an expiry is shown and grouped: the date of an ISO expiry (venues list one expiry a day;
 * the time, e.g. Deribit's 08:00 UTC, is in T), else the label as given (years).
 */
export function expiryLabel(expiry: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T/.exec(expiry);
  return m ? m[1] : expiry;
}

/** Expiries in time order, with the forward and discount factor of their quotes. */
export function expiryTable(quotes: readonly ReportQuote[]): ExpiryInfo[] {
  const groups = new Map<string, ReportQuote[]>();
  for (const q of quotes) {
    const label = expiryLabel(q.expiry);
    const g = groups.get(label);
    if (g) g.push(q);
    else groups.set(label, [q]);
  }
  return [...groups]
    .map(([expiry, qs]) => {
      // Quotes of one expiry share T, forward and discount after normalization; the median
      // is robust if a hand-written file disagrees in a row.
      const median = (f: (q: ReportQuote) => number) => {
        const v = qs.map(f).filter(Number.isFinite).sort((a, b) => a - b);
        return v.length ? v[Math.floor(v.length / 2)] : Number.NaN;
      };
      return { expiry, T: median((q) => q.T), forward: median((q) => q.forward), discount: median((q) => q.discount), quotes: qs.length };
    })
    .sort((a, b) => a.T - b.T);
}

function finitePositive(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v) && v > 0;
}

/**
 * One point per quote. Mid IV: the fit's market IV where a fit used the quote (what it was
 * fitted to), else the quote's own `iv` column, else inverted from its price. Bid and ask IVs
 * are inverted from the bid and ask prices (null where a side is missing or carries no vol,
 * e.g. a bid below intrinsic value).
 */
export function marketPoints(quotes: readonly ReportQuote[], fits: readonly FitResult[]): MarketPoint[] {
  const residualsByFit = fits.map((f) => new Map(f.residuals.map((r) => [r.row, r])));
  return quotes.map((q) => {
    const iv = (price: number | undefined) =>
      finitePositive(price) ? impliedVol(price, q.forward, q.strike, q.T, q.isCall, q.discount) : null;
    let midIv: number | null = null;
    let weight: number | null = null;
    const modelIv: Record<string, number | null> = {};
    fits.forEach((f, i) => {
      const r = residualsByFit[i].get(q.row);
      modelIv[f.model] = r?.model_iv ?? null;
      if (r && midIv === null && r.market_iv !== null) midIv = r.market_iv;
      if (r && weight === null) weight = r.weight;
    });
    if (midIv === null) midIv = finitePositive(q.iv) ? q.iv : iv(q.price);
    return {
      row: q.row,
      expiry: expiryLabel(q.expiry),
      T: q.T,
      strike: q.strike,
      k: Math.log(q.strike / q.forward),
      isCall: q.isCall,
      price: q.price,
      midIv,
      bidIv: iv(q.bid),
      askIv: iv(q.ask),
      weight,
      modelIv,
    };
  });
}
