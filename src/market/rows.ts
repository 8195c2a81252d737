/**
 * Compact per-row storage for normalization, so that a 500k-row file costs a few hundred bytes a
 * row instead of its text, its cells and several object copies (issue 12).
 *
 * - `QuoteRows`: one slot per candidate quote (a row a venue reader could read), its numbers in
 *   chunked typed arrays (NaN = absent) and its strings as ids into small pools (an expiry, a
 *   timestamp, a venue name repeat over thousands of rows); results (IV, vega, weight, factors)
 *   are stored beside them. A venue materialises a slot back into the `Candidate` object it would
 *   have built, only for the rows of one expiry at a time or for one output chunk.
 * - `ExclusionLog`: one reason code per data row, so the exclusion list comes out in row order
 *   without sorting and with no object per excluded row.
 * - `expiryGroups`: candidate indices grouped by expiry in the order of `byExpiry` (forwards.ts).
 */
import type { Kept } from './filters.js';
import type { Candidate, Exclusion, ExclusionReason } from './types.js';
import { EXCLUSION_REASONS } from './types.js';
import type { WeightFactors, WeightScheme } from './weights.js';

const SHIFT = 14;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

type Typed = Float64Array | Int32Array | Uint8Array;

/** A growable column of numbers in fixed chunks (no copy on growth, no doubling peak; chunks only where set). */
export class Column<A extends Typed> {
  private readonly chunks: A[] = [];
  constructor(
    private readonly make: (n: number) => A,
    private readonly fill: number,
  ) {}

  /** The value at i; the fill value where nothing was set yet. */
  get(i: number): number {
    const c = this.chunks[i >>> SHIFT];
    return c === undefined ? this.fill : c[i & MASK];
  }

  set(i: number, v: number): void {
    const c = i >>> SHIFT;
    let a = this.chunks[c];
    if (a === undefined) {
      if (Object.is(v, this.fill)) return; // nothing to store: a column left unset costs nothing
      a = this.make(CHUNK);
      if (this.fill !== 0) a.fill(this.fill);
      this.chunks[c] = a;
    }
    a[i & MASK] = v;
  }
}

const f64 = () => new Column((n) => new Float64Array(n), NaN);
const i32 = () => new Column((n) => new Int32Array(n), -1);
const u8 = () => new Column((n) => new Uint8Array(n), 0);

/**
 * Strings given small integer ids (-1 = undefined). Equal strings share an id, unless `limit`
 * distinct ones were seen: past that, new strings are only appended (for texts that are read
 * back but never compared, where a column of unique texts would gain nothing from a map).
 */
export class StringPool {
  private readonly ids = new Map<string, number>();
  private readonly list: string[] = [];

  constructor(private readonly limit = Infinity) {}

  id(s: string | undefined): number {
    if (s === undefined) return -1;
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      if (this.ids.size < this.limit) this.ids.set(s, i);
    }
    return i;
  }

  get(i: number): string | undefined {
    return i < 0 ? undefined : this.list[i];
  }

  get size(): number {
    return this.list.length;
  }
}

const num = (x: number | undefined): number => (x === undefined ? NaN : x);
const opt = (x: number): number | undefined => (Number.isNaN(x) ? undefined : x);

/** `QuoteRows.state` of a candidate the filters kept (0 otherwise). */
export const KEPT = 1;

/** Distinct texts pooled by value; beyond, they are stored as they come. */
const TEXT_POOL_LIMIT = 1 << 16;

/** The fields of a Candidate, column by column. */
export class QuoteRows {
  length = 0;
  readonly row = i32();
  readonly T = f64();
  readonly expiryMs = f64();
  /** Id of the expiry key (`Candidate.expiry`) in `expiries`. */
  readonly expiry = i32();
  readonly strike = f64();
  readonly isCall = u8();
  readonly price = f64();
  readonly bid = f64();
  readonly ask = f64();
  readonly forward = f64();
  readonly discount = f64();
  readonly rate = f64();
  readonly div = f64();
  readonly spot = f64();
  readonly weightIn = f64();
  readonly openInterest = f64();
  readonly volume = f64();
  readonly timestampMs = f64();
  readonly venueIv = f64();
  /** A canonical input's own `source_row` (the venue file's row), NaN when absent. */
  readonly sourceRow = f64();
  readonly timestamp = i32();
  readonly venue = i32();
  readonly underlying = i32();
  /** Expiry keys: one id per distinct key (groups are made from ids). */
  readonly expiries = new StringPool();
  /** Timestamps, venue and underlying names. */
  readonly texts = new StringPool(TEXT_POOL_LIMIT);
  // Results.
  readonly state = u8();
  readonly iv = f64();
  readonly vega = f64();
  readonly weight = f64();
  private readonly factorColumns = new Map<WeightScheme, Column<Float64Array>>();

  /** Appends a candidate; returns its index. */
  add(q: Candidate): number {
    const i = this.length++;
    this.row.set(i, q.row);
    this.T.set(i, q.T);
    this.expiryMs.set(i, num(q.expiryMs));
    this.expiry.set(i, this.expiries.id(q.expiry));
    this.strike.set(i, q.strike);
    this.isCall.set(i, q.isCall ? 1 : 0);
    this.price.set(i, q.price);
    this.bid.set(i, num(q.bid));
    this.ask.set(i, num(q.ask));
    this.forward.set(i, q.forward);
    this.discount.set(i, q.discount);
    this.rate.set(i, q.rate);
    this.div.set(i, q.div);
    this.spot.set(i, num(q.spot));
    this.weightIn.set(i, num(q.weight));
    this.openInterest.set(i, num(q.openInterest));
    this.volume.set(i, num(q.volume));
    this.timestampMs.set(i, num(q.timestampMs));
    this.venueIv.set(i, num(q.venueIv));
    this.sourceRow.set(i, num(q.sourceRow));
    this.timestamp.set(i, this.texts.id(q.timestamp));
    this.venue.set(i, this.texts.id(q.venue));
    this.underlying.set(i, this.texts.id(q.underlying));
    return i;
  }

  /** Optional number fields as a Candidate holds them (undefined when absent). */
  bidOf = (i: number) => opt(this.bid.get(i));
  askOf = (i: number) => opt(this.ask.get(i));
  spotOf = (i: number) => opt(this.spot.get(i));
  weightInOf = (i: number) => opt(this.weightIn.get(i));
  openInterestOf = (i: number) => opt(this.openInterest.get(i));
  volumeOf = (i: number) => opt(this.volume.get(i));
  timestampMsOf = (i: number) => opt(this.timestampMs.get(i));
  expiryMsOf = (i: number) => opt(this.expiryMs.get(i));
  venueIvOf = (i: number) => opt(this.venueIv.get(i));
  sourceRowOf = (i: number) => opt(this.sourceRow.get(i));
  expiryOf = (i: number) => this.expiries.get(this.expiry.get(i))!;
  timestampOf = (i: number) => this.texts.get(this.timestamp.get(i));
  venueOf = (i: number) => this.texts.get(this.venue.get(i));
  underlyingOf = (i: number) => this.texts.get(this.underlying.get(i));

  setFactors(i: number, f: WeightFactors): void {
    for (const [k, v] of Object.entries(f) as Array<[WeightScheme, number]>) {
      let c = this.factorColumns.get(k);
      if (!c) this.factorColumns.set(k, (c = f64()));
      c.set(i, v);
    }
  }

  /** The factors of row i, keys in `schemes` order (as computeWeights assigns them). */
  factorsOf(i: number, schemes: readonly WeightScheme[]): WeightFactors {
    const f: WeightFactors = {};
    for (const s of schemes) {
      const c = this.factorColumns.get(s);
      if (c) f[s] = c.get(i);
    }
    return f;
  }
}

/**
 * A stored candidate read through getters: about 20 bytes instead of a copy of its fields, for
 * code that only reads fields (parity fits, weights). Getters are not own properties: an object
 * spread of a view is empty, so the filters (which copy their survivors) get real objects.
 */
export class CandidateView implements Candidate {
  constructor(
    protected readonly r: QuoteRows,
    protected readonly i: number,
  ) {}
  get row() { return this.r.row.get(this.i); }
  get T() { return this.r.T.get(this.i); }
  get expiry() { return this.r.expiryOf(this.i); }
  get expiryMs() { return this.r.expiryMsOf(this.i); }
  get strike() { return this.r.strike.get(this.i); }
  get isCall() { return this.r.isCall.get(this.i) === 1; }
  get price() { return this.r.price.get(this.i); }
  get bid() { return this.r.bidOf(this.i); }
  get ask() { return this.r.askOf(this.i); }
  get forward() { return this.r.forward.get(this.i); }
  get discount() { return this.r.discount.get(this.i); }
  get rate() { return this.r.rate.get(this.i); }
  get div() { return this.r.div.get(this.i); }
  get spot() { return this.r.spotOf(this.i); }
  get weight() { return this.r.weightInOf(this.i); }
  get openInterest() { return this.r.openInterestOf(this.i); }
  get volume() { return this.r.volumeOf(this.i); }
  get timestamp() { return this.r.timestampOf(this.i); }
  get timestampMs() { return this.r.timestampMsOf(this.i); }
  get venue() { return this.r.venueOf(this.i); }
  get underlying() { return this.r.underlyingOf(this.i); }
  get venueIv() { return this.r.venueIvOf(this.i); }
  get sourceRow() { return this.r.sourceRowOf(this.i); }
}

/** A kept candidate with its IV and vega (computeWeights' input). */
export class KeptView extends CandidateView implements Kept {
  get iv() { return this.r.iv.get(this.i); }
  get vega() { return this.r.vega.get(this.i); }
}

const FIELDS = {
  row: (r: QuoteRows, i: number) => r.row.get(i),
  T: (r: QuoteRows, i: number) => r.T.get(i),
  expiry: (r: QuoteRows, i: number) => r.expiryOf(i),
  expiryMs: (r: QuoteRows, i: number) => r.expiryMsOf(i),
  strike: (r: QuoteRows, i: number) => r.strike.get(i),
  isCall: (r: QuoteRows, i: number) => r.isCall.get(i) === 1,
  price: (r: QuoteRows, i: number) => r.price.get(i),
  forward: (r: QuoteRows, i: number) => r.forward.get(i),
  discount: (r: QuoteRows, i: number) => r.discount.get(i),
  rate: (r: QuoteRows, i: number) => r.rate.get(i),
  div: (r: QuoteRows, i: number) => r.div.get(i),
  bid: (r: QuoteRows, i: number) => r.bidOf(i),
  ask: (r: QuoteRows, i: number) => r.askOf(i),
  spot: (r: QuoteRows, i: number) => r.spotOf(i),
  weight: (r: QuoteRows, i: number) => r.weightInOf(i),
  openInterest: (r: QuoteRows, i: number) => r.openInterestOf(i),
  volume: (r: QuoteRows, i: number) => r.volumeOf(i),
  timestamp: (r: QuoteRows, i: number) => r.timestampOf(i),
  venue: (r: QuoteRows, i: number) => r.venueOf(i),
  underlying: (r: QuoteRows, i: number) => r.underlyingOf(i),
  sourceRow: (r: QuoteRows, i: number) => r.sourceRowOf(i),
  timestampMs: (r: QuoteRows, i: number) => r.timestampMsOf(i),
  venueIv: (r: QuoteRows, i: number) => r.venueIvOf(i),
} satisfies Partial<Record<keyof Candidate, (r: QuoteRows, i: number) => unknown>>;

export type CandidateField = keyof typeof FIELDS;

/**
 * A stored candidate rebuilt as a plain object with its fields in `order` (each venue's reader
 * builds its candidates in its own order, and outputs keep it), absent ones left out.
 */
export function candidateOf(rows: QuoteRows, i: number, order: readonly CandidateField[]): Candidate {
  const q: Record<string, unknown> = {};
  for (const f of order) {
    const v = FIELDS[f](rows, i);
    if (v !== undefined) q[f] = v;
  }
  return q as unknown as Candidate;
}

/** Views of the candidates at the given indices. */
export function views(rows: QuoteRows, indices: Int32Array): CandidateView[] {
  return Array.from(indices, (i) => new CandidateView(rows, i));
}

/** One reason (or none) per data row, 1-based rows. */
export class ExclusionLog {
  private readonly reason = u8();
  private readonly field = i32();
  private readonly detail = i32();
  private readonly texts = new StringPool(TEXT_POOL_LIMIT);
  count = 0;

  add(e: Exclusion): void {
    const i = e.row - 1;
    if (this.reason.get(i) !== 0) throw new Error(`normalize: row ${e.row} excluded twice`);
    this.reason.set(i, EXCLUSION_REASONS.indexOf(e.reason) + 1);
    this.field.set(i, this.texts.id(e.field));
    this.detail.set(i, this.texts.id(e.detail));
    this.count++;
  }

  /** The reason a row was excluded, or undefined. */
  reasonOf(row: number): ExclusionReason | undefined {
    const code = this.reason.get(row - 1);
    return code ? EXCLUSION_REASONS[code - 1] : undefined;
  }

  /** The exclusion of a row, or undefined when it was not excluded. */
  get(row: number): Exclusion | undefined {
    const code = this.reason.get(row - 1);
    if (!code) return undefined;
    const e: Exclusion = { row, reason: EXCLUSION_REASONS[code - 1] as ExclusionReason };
    const field = this.texts.get(this.field.get(row - 1));
    if (field !== undefined) e.field = field;
    const detail = this.texts.get(this.detail.get(row - 1));
    if (detail !== undefined) e.detail = detail;
    return e;
  }
}

export interface ExpiryGroup {
  /** The expiry key (`Candidate.expiry`). */
  expiry: string;
  /** Candidate indices in file order. */
  indices: Int32Array;
  /** The same in byExpiry's order: by T, then file order (differs only where T varies in a key). */
  byT: Int32Array;
}

/**
 * Groups candidates (those `include` accepts) by expiry key, in the order `byExpiry` (forwards.ts)
 * gives: groups by their smallest T, ties by the first row at that T; inside a group by T, then
 * file order.
 */
export function expiryGroups(rows: QuoteRows, include: (i: number) => boolean = () => true): ExpiryGroup[] {
  const nKeys = rows.expiries.size;
  const count = new Int32Array(nKeys);
  const minT = new Float64Array(nKeys).fill(Infinity);
  const maxT = new Float64Array(nKeys).fill(-Infinity);
  const first = new Int32Array(nKeys).fill(-1);
  for (let i = 0; i < rows.length; i++) {
    if (!include(i)) continue;
    const k = rows.expiry.get(i);
    const T = rows.T.get(i);
    count[k]++;
    if (T > maxT[k]) maxT[k] = T;
    if (first[k] < 0 || T < minT[k]) {
      minT[k] = T;
      first[k] = i;
    }
  }
  const offsets = new Int32Array(nKeys + 1);
  for (let k = 0; k < nKeys; k++) offsets[k + 1] = offsets[k] + count[k];
  const all = new Int32Array(offsets[nKeys]);
  const fill = offsets.slice(0, nKeys);
  for (let i = 0; i < rows.length; i++) if (include(i)) all[fill[rows.expiry.get(i)]++] = i;
  const keys: number[] = [];
  for (let k = 0; k < nKeys; k++) if (count[k] > 0) keys.push(k);
  keys.sort((a, b) => minT[a] - minT[b] || first[a] - first[b]);
  return keys.map((k) => {
    const indices = all.subarray(offsets[k], offsets[k + 1]);
    const byT = maxT[k] !== minT[k] ? Int32Array.from(indices).sort((a, b) => rows.T.get(a) - rows.T.get(b) || a - b) : indices;
    return { expiry: rows.expiries.get(k)!, indices, byT };
  });
}
