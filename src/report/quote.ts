/**
 * The quote the report reads, in a module of its own: fit.ts (which checks a fit's residuals
 * against the quotes) and types.ts (which holds fit results) both need it.
 */
import type { Quote } from '../market/canonical.js';

/** The fields of a canonical quote the report reads (a market `Quote` has all of them). */
export type ReportQuote = Pick<Quote, 'row' | 'T' | 'expiry' | 'strike' | 'isCall' | 'price' | 'forward' | 'discount'> &
  Partial<Pick<Quote, 'bid' | 'ask' | 'iv' | 'weight'>>;
