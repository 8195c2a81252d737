/**
 * normalize(): one venue file in, one clean weighted quote set out. The library side of
 * `volfit normalize` (the CLI only parses flags and prints). Steps: read the table, recognise
 * the venue, read its rows into candidates (venue conventions, forwards, discounts), filter with
 * a reason per row, invert Black-76 IVs, weight. Every input row ends up in `quotes` or in
 * `excluded`: rows_in = rows_out + excluded.length.
 *
 * Memory (issue 12): forwards and filters need a whole expiry, so this is not one pass, but rows
 * are read in batches and kept as compact records (rows.ts: numbers in typed arrays, strings
 * pooled, one reason code per excluded row); objects are made for a few thousand rows at a time
 * (filters) or one output chunk at a time. normalizeStream() reads a stream and writes its CSV and
 * JSON in pieces; normalize() is the same pipeline on text, returning arrays.
 */
import { canonicalColumns, OPTIONAL_CANONICAL_COLUMNS, writeCanonicalCsv, type ExtraColumns, type Quote } from './canonical.js';
import { MarketFormatError } from './errors.js';
import { applyFilters, checkFilterOptions, DEFAULT_FILTERS, type BlackInversion, type FilterOptions, type Kept } from './filters.js';
import { DEFAULT_PARITY, type ParityOptions } from './forwards.js';
import { CandidateView, KEPT, KeptView, type QuoteRows } from './rows.js';
import { csvField, readTable, streamTable, type TableHead } from './table.js';
import { isoUtc, parseIsoUtc } from './time.js';
import type { Exclusion, Venue, VenueExpiry } from './types.js';
import { computeWeights, DEFAULT_WEIGHTS, type WeightFactors, type WeightOptions } from './weights.js';
import { CboeReader } from './venues/cboe.js';
import { CanonicalVenueReader } from './venues/canonical.js';
import { DeribitReader } from './venues/deribit.js';
import { detectVenue, requireVenueColumns } from './venues/detect.js';
import { candidates, type VenueRead, type VenueReader } from './venues/reader.js';
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
  const core = new Normalizer(opts);
  const table = readTable(text);
  core.start(table);
  core.read(table.rows, 1);
  const set = core.finish();
  const quotes = set.quotes();
  const excluded = set.excluded();
  return {
    venue: set.venue,
    ...(set.asOf ? { asOf: set.asOf } : {}),
    rowsIn: set.rowsIn,
    rowsOut: set.rowsOut,
    quotes,
    excluded,
    expiries: set.expiries,
    notes: set.notes,
    exclusionCounts: () => set.exclusionCounts(),
    toJSON: () => set.summary(excluded),
    toCsv: () => toCsv(quotes),
  };
}

/**
 * normalize() on a stream (a file's text, e.g. `createReadStream(path, 'utf8')`): the same
 * result, held compactly (a few hundred bytes per candidate quote, see rows.ts) and written out
 * in pieces by `csvChunks()` and `jsonChunks()`, byte for byte what `toCsv()` and
 * `JSON.stringify(toJSON())` of normalize() give. Options are checked before anything is read.
 */
export async function normalizeStream(source: NodeJS.ReadableStream, opts: NormalizeOptions = {}): Promise<NormalizedSet> {
  const core = new Normalizer(opts);
  const table = await streamTable(source);
  try {
    core.start(table);
    let row = 1;
    for await (const batch of table.batches()) {
      core.read(batch, row);
      row += batch.length;
    }
  } finally {
    table.close();
  }
  return core.finish();
}

/** Rows the filters get at a time (more when one strike of one expiry has more). */
const FILTER_ROWS = 4096;

/**
 * Splits one expiry's candidate indices (file order) into parts of about `size` rows, each
 * holding whole strikes, each in file order.
 */
function* byWholeStrikes(rows: QuoteRows, indices: Int32Array, size: number): Generator<Int32Array> {
  if (indices.length <= size) {
    yield indices;
    return;
  }
  const strikes = new Map<number, number[]>();
  for (const i of indices) {
    const k = rows.strike.get(i);
    const list = strikes.get(k);
    if (list) list.push(i);
    else strikes.set(k, [i]);
  }
  let part: number[] = [];
  for (const list of strikes.values()) {
    for (const i of list) part.push(i);
    if (part.length >= size) {
      yield Int32Array.from(part).sort();
      part = [];
    }
  }
  if (part.length > 0) yield Int32Array.from(part).sort();
}

/** The pipeline, fed a header, then records in batches, then finished. */
class Normalizer {
  private readonly filters: FilterOptions;
  private readonly weights: WeightOptions;
  private readonly parity: ParityOptions;
  private readonly asOfMs: number | undefined;
  private reader: VenueReader | undefined;

  constructor(private readonly opts: NormalizeOptions) {
    this.filters = { ...DEFAULT_FILTERS, ...definedOnly(opts.filters) };
    checkFilterOptions(this.filters);
    this.weights = { ...DEFAULT_WEIGHTS, ...definedOnly(opts.weights) };
    this.parity = { ...DEFAULT_PARITY, ...definedOnly(opts.parity) };
    if (opts.asOf !== undefined) {
      const t = parseIsoUtc(opts.asOf);
      if (t === null) throw new MarketFormatError(`as-of "${opts.asOf}" is not an ISO date/time`);
      this.asOfMs = t;
    }
  }

  start(head: TableHead): void {
    const { opts, parity, asOfMs } = this;
    const venue = !opts.venue || opts.venue === 'auto' ? detectVenue(head) : opts.venue;
    requireVenueColumns(head, venue);
    this.reader =
      venue === 'deribit'
        ? new DeribitReader(head, { underlying: opts.underlying, asOfMs, parity })
        : venue === 'cboe'
          ? new CboeReader(head, { asOfMs, parity })
          : new CanonicalVenueReader(head, { asOf: opts.asOf, spot: opts.spot, rate: opts.rate, div: opts.div, parity });
  }

  read(records: string[][], firstRow: number): void {
    this.reader!.read(records, firstRow);
  }

  finish(): NormalizedSet {
    const read = this.reader!.finish();
    const { rows, log } = read;
    const black = this.opts.black ?? black76Inversion;
    // A few thousand rows at a time: the filters compare rows only within one expiry and strike
    // (duplicate_quote: same expiry, strike and type; itm_with_otm_twin: the other type at that
    // expiry and strike), so any split that keeps each (expiry, strike) whole, in file order,
    // gives the same result as one call on all rows.
    const bookRequired = read.venue !== 'canonical';
    for (const g of read.groups) {
      for (const part of byWholeStrikes(rows, g.indices, FILTER_ROWS)) {
        const qs = candidates(read, part);
        const { kept, excluded } = applyFilters(qs, this.filters, black, { asOfMs: read.asOfMs, bookRequired });
        for (const e of excluded) log.add(e);
        // kept is a subsequence of qs, in order.
        let j = 0;
        for (const k of kept) {
          while (qs[j].row !== k.row) j++;
          const i = part[j];
          rows.state.set(i, KEPT);
          rows.iv.set(i, k.iv);
          rows.vega.set(i, k.vega);
        }
      }
    }
    const kept: number[] = [];
    for (let i = 0; i < rows.length; i++) if (rows.state.get(i) === KEPT) kept.push(i);
    const w = computeWeights(
      kept.map((i) => new KeptView(rows, i)),
      this.weights,
      read.asOfMs,
    );
    kept.forEach((i, j) => {
      rows.weight.set(i, w[j].weight);
      rows.setFactors(i, w[j].factors);
    });
    if (kept.length + log.count !== read.rowsIn) {
      // An internal bug, not bad input: the accounting is the module's promise.
      throw new Error(`normalize accounting broken: ${read.rowsIn} rows in, ${kept.length} out, ${log.count} excluded`);
    }
    return new NormalizedSet(read, Int32Array.from(kept), this.weights);
  }
}

/** Quotes materialised at a time while writing. */
const CHUNK_ROWS = 1024;

/** The outcome of normalization, held compactly; quotes and exclusions are made on demand. */
export class NormalizedSet {
  readonly venue: Venue;
  readonly asOf?: string;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly excludedCount: number;
  readonly expiries: ExpiryRow[];
  readonly notes: string[];

  constructor(
    private readonly read: VenueRead,
    /** Indices of the kept candidates, in row order. */
    private readonly kept: Int32Array,
    private readonly weights: WeightOptions,
  ) {
    this.venue = read.venue;
    if (read.asOfMs !== undefined) this.asOf = isoUtc(read.asOfMs);
    this.rowsIn = read.rowsIn;
    this.rowsOut = kept.length;
    this.excludedCount = read.log.count;
    const perExpiry = new Map<string, number>();
    for (const i of kept) {
      const e = read.rows.expiryOf(i);
      perExpiry.set(e, (perExpiry.get(e) ?? 0) + 1);
    }
    this.expiries = expiryTable(read.expiries, perExpiry);
    this.notes = [
      ...read.notes,
      `weights: ${weights.schemes.join(' x ') || 'none'}${weights.schemes.includes('staleness') ? ` (half-life ${weights.halfLifeSeconds} s)` : ''}, mean 1`,
    ];
  }

  /** The k-th kept quote (row order). */
  quote(k: number): NormalizedQuote {
    const { rows } = this.read;
    const i = this.kept[k];
    const q: Kept = { ...this.read.candidate(i), iv: rows.iv.get(i), vega: rows.vega.get(i) };
    return toNormalized(q, rows.weight.get(i), rows.factorsOf(i, this.weights.schemes));
  }

  quotes(): NormalizedQuote[] {
    return Array.from(this.kept, (_, k) => this.quote(k));
  }

  /** Exclusions in row order. */
  *exclusions(): Generator<Exclusion> {
    const { log } = this.read;
    for (let row = 1; row <= this.rowsIn; row++) {
      const e = log.get(row);
      if (e) yield e;
    }
  }

  excluded(): Exclusion[] {
    return [...this.exclusions()];
  }

  /** Counts per reason code, in order of first appearance by row. */
  exclusionCounts(): Record<string, number> {
    const c: Record<string, number> = {};
    const { log } = this.read;
    for (let row = 1; row <= this.rowsIn; row++) {
      const r = log.reasonOf(row);
      if (r !== undefined) c[r] = (c[r] ?? 0) + 1;
    }
    return c;
  }

  /** The JSON summary with the given exclusion list. */
  summary(excluded: Exclusion[]): NormalizeSummary {
    return summary(this.venue, this.asOf, this.rowsIn, this.rowsOut, excluded, this.expiries, this.exclusionCounts(), this.notes);
  }

  /** `JSON.stringify(toJSON())` in pieces: the exclusions are written one at a time. */
  *jsonChunks(): Generator<string> {
    const whole = JSON.stringify(this.summary([]));
    const at = whole.indexOf('"excluded":[]') + '"excluded":['.length;
    yield whole.slice(0, at);
    let part: string[] = [];
    let first = true;
    for (const e of this.exclusions()) {
      part.push(JSON.stringify(summaryExclusion(e)));
      if (part.length === CHUNK_ROWS) {
        yield (first ? '' : ',') + part.join(',');
        first = false;
        part = [];
      }
    }
    if (part.length > 0) yield (first ? '' : ',') + part.join(',');
    yield whole.slice(at);
  }

  /** The canonical CSV of `toCsv()` in pieces (canonicalColumns' layout). */
  *csvChunks(): Generator<string> {
    const filled = this.filledColumns();
    const columns = canonicalColumns((name) => filled.has(name), extraColumns(this.factorNames()));
    yield `${columns.map(([name]) => csvField(name)).join(',')}\n`;
    for (const qs of this.quoteChunks()) {
      yield `${qs.map((q) => columns.map(([, f]) => csvField(f(q, 0))).join(',')).join('\n')}\n`;
    }
  }

  /**
   * The optional canonical columns some kept quote fills. normalize sets iv and weight on every
   * kept quote; the others are the candidate's own fields, read through views of the store.
   */
  private filledColumns(): Set<string> {
    const filled = new Set<string>(this.rowsOut > 0 ? ['iv', 'weight'] : []);
    const probes = OPTIONAL_CANONICAL_COLUMNS.filter(([name]) => !filled.has(name));
    for (const i of this.kept) {
      const q = new CandidateView(this.read.rows, i);
      for (const [name, f] of probes) if (!filled.has(name) && f(q) !== undefined) filled.add(name);
    }
    return filled;
  }

  /** The weight factors' names, in the order the quotes hold them. */
  private factorNames(): string[] {
    const names = new Set<string>();
    for (const i of this.kept) for (const k of Object.keys(this.read.rows.factorsOf(i, this.weights.schemes))) names.add(k);
    return [...names];
  }

  /** The kept quotes, a chunk at a time. */
  private *quoteChunks(): Generator<NormalizedQuote[]> {
    for (let k = 0; k < this.rowsOut; k += CHUNK_ROWS) {
      yield Array.from({ length: Math.min(CHUNK_ROWS, this.rowsOut - k) }, (_, j) => this.quote(k + j));
    }
  }
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

function expiryTable(venueExpiries: VenueExpiry[], quotesPerExpiry: Map<string, number>): ExpiryRow[] {
  return venueExpiries
    .filter((e) => e.T > 0)
    .sort((a, b) => a.T - b.T)
    .map((e) => {
      const row: ExpiryRow = {
        expiry: e.expiry,
        T: e.T,
        forward: e.forward,
        discount: e.discount,
        quotes: quotesPerExpiry.get(e.expiry) ?? 0,
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

const summaryExclusion = (e: Exclusion): NormalizeSummary['excluded'][number] => ({
  row: e.row,
  reason: e.reason,
  ...(e.field ? { field: e.field } : {}),
  ...(e.detail ? { detail: e.detail } : {}),
});

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
    excluded: excluded.map(summaryExclusion),
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

/** normalize's extra CSV columns beside the canonical ones. */
function extraColumns(factorNames: string[]): ExtraColumns {
  const extra: ExtraColumns = {
    source_row: (q) => q.sourceRow ?? q.row, // a canonical input's own source_row: the venue file's row
    log_moneyness: (q) => (q as NormalizedQuote).logMoneyness,
    total_variance: (q) => (q as NormalizedQuote).totalVariance,
    vega: (q) => (q as NormalizedQuote).vega,
    venue_iv: (q) => (q as NormalizedQuote).venueIv,
  };
  for (const f of factorNames) extra[`w_${f}`] = (q) => (q as NormalizedQuote).weightFactors[f as keyof WeightFactors];
  return extra;
}

const factorNamesOf = (quotes: NormalizedQuote[]) => [...new Set(quotes.flatMap((q) => Object.keys(q.weightFactors)))];

function toCsv(quotes: NormalizedQuote[]): string {
  return writeCanonicalCsv(quotes, extraColumns(factorNamesOf(quotes)));
}

