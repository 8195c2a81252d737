/** Quotes grouped by expiry: the COS engine shares its characteristic-function work per group. */
import type { QuoteSet } from '../pricer.js';

export interface ExpiryGroups {
  /** Distinct expiries (years), ascending. */
  T: Float64Array;
  /** Quote indices of expiry e: order[start[e] .. start[e+1]). */
  start: Uint32Array;
  order: Uint32Array;
  /** Expiry index of each quote. */
  expiryOf: Uint32Array;
}

export function groupByExpiry(quotes: QuoteSet): ExpiryGroups {
  const m = quotes.T.length;
  const idx = Array.from({ length: m }, (_, i) => i).sort((i, j) => quotes.T[i] - quotes.T[j] || i - j);
  const Ts: number[] = [];
  const start: number[] = [];
  const expiryOf = new Uint32Array(m);
  idx.forEach((q, pos) => {
    const t = quotes.T[q];
    if (!Ts.length || Ts[Ts.length - 1] !== t) {
      Ts.push(t);
      start.push(pos);
    }
    expiryOf[q] = Ts.length - 1;
  });
  start.push(m);
  return { T: Float64Array.from(Ts), start: Uint32Array.from(start), order: Uint32Array.from(idx), expiryOf };
}

/** Validates a quote set: every field finite and positive where it must be, naming the quote. */
export function checkQuotes(quotes: QuoteSet): void {
  const m = quotes.T.length;
  for (const f of ['forward', 'strike', 'discount', 'isCall'] as const) {
    if (quotes[f].length !== m) throw new RangeError(`quote set: ${f} has ${quotes[f].length} entries, T has ${m}`);
  }
  for (let i = 0; i < m; i++) {
    const bad = (field: string, v: number) => {
      throw new RangeError(`quote ${i}: ${field}=${v} must be a finite positive number`);
    };
    if (!(quotes.T[i] > 0) || !Number.isFinite(quotes.T[i])) bad('T', quotes.T[i]);
    if (!(quotes.forward[i] > 0) || !Number.isFinite(quotes.forward[i])) bad('forward', quotes.forward[i]);
    if (!(quotes.strike[i] > 0) || !Number.isFinite(quotes.strike[i])) bad('strike', quotes.strike[i]);
    if (!(quotes.discount[i] > 0) || !Number.isFinite(quotes.discount[i])) bad('discount', quotes.discount[i]);
  }
}
