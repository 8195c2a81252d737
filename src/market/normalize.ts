/**
 * normalize(): one venue file in, one clean weighted quote set out. The library side of
 * `volfit normalize` (the CLI only parses flags and prints). Steps: read the table, recognise
 * the venue, read its rows into candidates (venue conventions, forwards, discounts), filter with
 * a reason per row, invert Black-76 IVs, weight. Every input row ends up in `quotes` or in
 * `excluded`: rows_in = rows_out + excluded.length.
 */
import { writeCanonicalCsv, type Quote } from './canonical.js';
import { MarketFormatError } from './errors.js';
import { applyFilters, checkFilterOptions, DEFAULT_FILTERS, type BlackInversion, type FilterOptions, type Kept } from './filters.js';
import { DEFAULT_PARITY, type ParityOptions } from './forwards.js';
import { readTable } from './table.js';
import { isoUtc, parseIsoUtc } from './time.js';
import type { Exclusion, Venue, VenueExpiry, VenueRead } from './types.js';
import { computeWeights, DEFAULT_WEIGHTS, type WeightFactors, type WeightOptions } from './weights.js';
import { readCboe } from './venues/cboe.js';
import { readCanonicalVenue } from './venues/canonical.js';
import { readDeribit } from './venues/deribit.js';
import { detectVenue, requireVenueColumns } from './venues/detect.js';
import { black76Inversion } from './black.js';

export interface NormalizeOptions {
  venue?: Venue | 'auto';
  /** Deribit: BTC or ETH (required for a mixed file; rows of the other currency are excluded). */
  underlying?: string;
  /** Valuation time, ISO; default: the latest quote time in the file. */
  asOf?: string;
  /** Canonical input only: spot, rate, div for rows that lack them. */
  spot?: number;
  rate?: number;
  div?: number;
  filters?: Partial<FilterOptions>;
  weights?: Partial<WeightOptions>;
  parity?: Partial<ParityOptions>;
  /** Black-76 inversion and vega; defaults to volfit's engine (tests may inject another). */
  black?: BlackInversion;
}

export interface NormalizedQuote extends Quote {
  iv: number;
  weight: number;
  /** ln(K / F). */
  logMoneyness: number;
  /** iv^2 T. */
  totalVariance: number;
  vega: number;
  weightFactors: WeightFactors;
  /** The venue's own IV, where the file gives one. */
  venueIv?: number;
}

export interface ExpiryRow {
  expiry: string;
  T: number;
  forward: number;
  discount: number;
  /** Quotes kept for this expiry. */
  quotes: number;
  rate: number;
  forwardSource: VenueExpiry['forwardSource'];
  parityForward?: number;
  parityDiscount?: number;
  parityPairs?: number;
  parityRmsResidual?: number;
}

export interface NormalizeSummary {
  rows_in: number;
  rows_out: number;
  excluded: Array<{ row: number; reason: string; field?: string; detail?: string }>;
  expiries: Array<{
    expiry: string;
    T: number;
    forward: number;
    discount: number;
    quotes: number;
    rate: number;
    forward_source: string;
    parity_forward?: number;
    parity_discount?: number;
    parity_pairs?: number;
    parity_rms_residual?: number;
  }>;
  venue: Venue;
  as_of?: string;
  exclusion_counts: Record<string, number>;
  notes: string[];
}

export interface NormalizeResult {
  venue: Venue;
  asOf?: string;
  rowsIn: number;
  rowsOut: number;
  quotes: NormalizedQuote[];
  excluded: Exclusion[];
  expiries: ExpiryRow[];
  notes: string[];
  /** Counts per reason code. */
  exclusionCounts(): Record<string, number>;
  /** `{rows_in, rows_out, excluded, expiries, ...}` as printed by `volfit normalize --json`. */
  toJSON(): NormalizeSummary;
  /** Canonical CSV with forward, rate, weight, iv, venue filled (plus diagnostics columns). */
  toCsv(): string;
}

export function normalize(text: string, opts: NormalizeOptions = {}): NormalizeResult {
  const filters: FilterOptions = { ...DEFAULT_FILTERS, ...definedOnly(opts.filters) };
  checkFilterOptions(filters);
  const weights: WeightOptions = { ...DEFAULT_WEIGHTS, ...definedOnly(opts.weights) };
  const parity: ParityOptions = { ...DEFAULT_PARITY, ...definedOnly(opts.parity) };
  let asOfMs: number | undefined;
  if (opts.asOf !== undefined) {
    const t = parseIsoUtc(opts.asOf);
    if (t === null) throw new MarketFormatError(`as-of "${opts.asOf}" is not an ISO date/time`);
    asOfMs = t;
  }

  const table = readTable(text);
  const venue = !opts.venue || opts.venue === 'auto' ? detectVenue(table) : opts.venue;
  requireVenueColumns(table, venue);
  const read: VenueRead =
    venue === 'deribit'
      ? readDeribit(table, { underlying: opts.underlying, asOfMs, parity })
      : venue === 'cboe'
        ? readCboe(table, { asOfMs, parity })
        : readCanonicalVenue(table, { asOf: opts.asOf, spot: opts.spot, rate: opts.rate, div: opts.div, parity });

  const black = opts.black ?? black76Inversion;
  const { kept, excluded: filtered } = applyFilters(read.candidates, filters, black, {
    asOfMs: read.asOfMs,
    bookRequired: venue !== 'canonical',
  });
  const w = computeWeights(kept, weights, read.asOfMs);
  const quotes = kept.map((q, i) => toNormalized(q, w[i].weight, w[i].factors)).sort((a, b) => a.row - b.row);
  const excluded = [...read.excluded, ...filtered].sort((a, b) => a.row - b.row);
  if (quotes.length + excluded.length !== read.rowsIn) {
    // An internal bug, not bad input: the accounting is the module's promise.
    throw new Error(`normalize accounting broken: ${read.rowsIn} rows in, ${quotes.length} out, ${excluded.length} excluded`);
  }
  const expiries = expiryTable(read.expiries, quotes);
  const asOf = read.asOfMs !== undefined ? isoUtc(read.asOfMs) : undefined;
  const notes = [
    ...read.notes,
    `weights: ${weights.schemes.join(' x ') || 'none'}${weights.schemes.includes('staleness') ? ` (half-life ${weights.halfLifeSeconds} s)` : ''}, mean 1`,
  ];
  const counts = (): Record<string, number> => {
    const c: Record<string, number> = {};
    for (const e of excluded) c[e.reason] = (c[e.reason] ?? 0) + 1;
    return c;
  };
  return {
    venue,
    ...(asOf ? { asOf } : {}),
    rowsIn: read.rowsIn,
    rowsOut: quotes.length,
    quotes,
    excluded,
    expiries,
    notes,
    exclusionCounts: counts,
    toJSON: () => summary(venue, asOf, read.rowsIn, quotes.length, excluded, expiries, counts(), notes),
    toCsv: () => toCsv(quotes),
  };
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  const r: Partial<T> = {};
  if (!o) return r;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  return r;
}

function toNormalized(q: Kept, weight: number, factors: WeightFactors): NormalizedQuote {
  const { expiryMs: _e, timestampMs: _t, ...rest } = q;
  return {
    ...rest,
    iv: q.iv,
    weight,
    weightFactors: factors,
    logMoneyness: Math.log(q.strike / q.forward),
    totalVariance: q.iv * q.iv * q.T,
    vega: q.vega,
  };
}

function expiryTable(venueExpiries: VenueExpiry[], quotes: NormalizedQuote[]): ExpiryRow[] {
  const count = new Map<string, number>();
  for (const q of quotes) count.set(q.expiry, (count.get(q.expiry) ?? 0) + 1);
  return venueExpiries
    .filter((e) => e.T > 0)
    .sort((a, b) => a.T - b.T)
    .map((e) => {
      const row: ExpiryRow = {
        expiry: e.expiry,
        T: e.T,
        forward: e.forward,
        discount: e.discount,
        quotes: count.get(e.expiry) ?? 0,
        rate: -Math.log(e.discount) / e.T,
        forwardSource: e.forwardSource,
      };
      if (e.parity) {
        row.parityForward = e.parity.forward;
        row.parityDiscount = e.parity.discount;
        row.parityPairs = e.parity.pairs;
        row.parityRmsResidual = e.parity.rmsResidual;
      }
      return row;
    });
}

function summary(
  venue: Venue,
  asOf: string | undefined,
  rowsIn: number,
  rowsOut: number,
  excluded: Exclusion[],
  expiries: ExpiryRow[],
  counts: Record<string, number>,
  notes: string[],
): NormalizeSummary {
  return {
    rows_in: rowsIn,
    rows_out: rowsOut,
    excluded: excluded.map((e) => ({ row: e.row, reason: e.reason, ...(e.field ? { field: e.field } : {}), ...(e.detail ? { detail: e.detail } : {}) })),
    expiries: expiries.map((e) => ({
      expiry: e.expiry,
      T: e.T,
      forward: e.forward,
      discount: e.discount,
      quotes: e.quotes,
      rate: e.rate,
      forward_source: e.forwardSource,
      ...(e.parityForward !== undefined
        ? { parity_forward: e.parityForward, parity_discount: e.parityDiscount, parity_pairs: e.parityPairs, parity_rms_residual: e.parityRmsResidual }
        : {}),
    })),
    venue,
    ...(asOf ? { as_of: asOf } : {}),
    exclusion_counts: counts,
    notes,
  };
}

function toCsv(quotes: NormalizedQuote[]): string {
  const factorNames = [...new Set(quotes.flatMap((q) => Object.keys(q.weightFactors)))];
  const extra: Record<string, (q: Quote) => number | string | undefined> = {
    source_row: (q) => q.sourceRow ?? q.row, // a canonical input's own source_row: the venue file's row
    log_moneyness: (q) => (q as NormalizedQuote).logMoneyness,
    total_variance: (q) => (q as NormalizedQuote).totalVariance,
    vega: (q) => (q as NormalizedQuote).vega,
    venue_iv: (q) => (q as NormalizedQuote).venueIv,
  };
  for (const f of factorNames) extra[`w_${f}`] = (q) => (q as NormalizedQuote).weightFactors[f as keyof WeightFactors];
  return writeCanonicalCsv(quotes, extra);
}
