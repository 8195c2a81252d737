/**
 * The canonical quote CSV (issue 3): volfit's own interchange format, one option quote a row.
 *
 * Columns (header names case-insensitive, any order; unknown columns are ignored):
 * - `expiry`: years to expiry (a number) or an ISO-8601 date/time. An ISO expiry is measured
 *   ACT/365 from `asOf` when given, else from the row's `timestamp`. A date without a time is
 *   00:00 UTC; a time without a zone is UTC. More than MAX_EXPIRY_YEARS (100) years is a bad
 *   field, with a hint at the unit: 20260630 is a compact date, 30 may be days.
 * - `strike`; `type`: call/put, c/p (any case).
 * - price: `price`, else `mid`, else the mid of `bid` and `ask` (present value, quote currency).
 * - underlying: `forward`, or `spot` with `rate` and `div` (continuously compounded). `spot`,
 *   `rate`, `div` fall back to the options of the same name, then (rate, div) to 0.
 *   forward = spot * exp((rate - div) * T); discount = exp(-rate * T). An optional `discount`
 *   column (a factor in (0, 1.5]) sets the rate instead: rate = -ln(discount) / T.
 * - optional: `iv`, `weight`, `open_interest`, `volume`, `timestamp`, `venue`, `underlying`.
 * - written by `volfit normalize` and read back so that normalizing its output reproduces it:
 *   `expiry_date` (an ISO date; labels a years `expiry`, ignored beside an ISO one), `venue_iv`
 *   (the venue's own IV), `source_row` (the row of the venue file the quote came from).
 *
 * Each field has one column: two aliases of the same field (`type` and `option_type`) are a
 * format error, not a silent choice. Different fields follow a documented precedence per row
 * (price > mid > bid/ask mid; forward > spot, rate, div; discount > rate).
 *
 * Rows are numbered 1.. over the data records (header excluded, blank lines skipped). A bad field
 * never throws: the row lands in `errors` naming the row and field, so callers such as
 * `volfit iv` can still print a line for it. Only a file that cannot be read as a quote table
 * (empty, unparseable, a required column missing) throws `CanonicalFormatError`.
 */
import { MarketFormatError } from './errors.js';
import { cell, findColumn, parseNumber, readTable, writeCsv, type Table } from './table.js';
import { looksLikeDate, parseIsoUtc, yearFraction365 } from './time.js';

export interface Quote {
  row: number;
  T: number;
  /** The expiry as given (ISO or the years), or the `expiry_date` beside a years `expiry`. */
  expiry: string;
  strike: number;
  isCall: boolean;
  price: number;
  bid?: number;
  ask?: number;
  forward: number;
  discount: number;
  rate: number;
  div: number;
  spot?: number;
  iv?: number;
  weight?: number;
  openInterest?: number;
  volume?: number;
  timestamp?: string;
  venue?: string;
  underlying?: string;
  /** The venue's own implied vol (`venue_iv`, as `volfit normalize` writes it). */
  venueIv?: number;
  /** Row of the venue file the quote came from (`source_row`, as `volfit normalize` writes it). */
  sourceRow?: number;
}

export interface RowError {
  row: number;
  field: string;
  message: string;
  /** Set when the row is well formed but already expired (T <= 0), so callers can say so. */
  reason?: 'expired';
}

export interface ReadOptions {
  /** Valuation time (ISO); required for ISO expiries unless the file has a `timestamp` column. */
  asOf?: string;
  spot?: number;
  rate?: number;
  div?: number;
}

export interface CanonicalReadResult {
  quotes: Quote[];
  errors: RowError[];
}

export class CanonicalFormatError extends MarketFormatError {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalFormatError';
  }
}

/** Above this many years an expiry is taken for a unit mistake (days, a compact date), not an option. */
export const MAX_EXPIRY_YEARS = 100;

/** Accepted header names per field; a file may use one of them per field (two is a format error). */
export const CANONICAL_COLUMNS = {
  expiry: ['expiry', 'expiration', 'maturity'],
  strike: ['strike'],
  type: ['type', 'option_type', 'cp'],
  price: ['price'],
  mid: ['mid'],
  bid: ['bid'],
  ask: ['ask'],
  forward: ['forward'],
  spot: ['spot'],
  rate: ['rate'],
  div: ['div', 'dividend'],
  discount: ['discount'],
  iv: ['iv'],
  weight: ['weight'],
  openInterest: ['open_interest', 'openinterest', 'oi'],
  volume: ['volume'],
  timestamp: ['timestamp'],
  venue: ['venue'],
  underlying: ['underlying'],
  expiryDate: ['expiry_date'],
  venueIv: ['venue_iv'],
  sourceRow: ['source_row'],
} as const;

type Field = keyof typeof CANONICAL_COLUMNS;
type Columns = Partial<Record<Field, number>>;

/** A field as errors name it: its canonical column name. */
const fieldName = (f: Field): string => CANONICAL_COLUMNS[f][0];

function locateColumns(table: Table, opts: ReadOptions): Columns {
  const cols: Columns = {};
  for (const f of Object.keys(CANONICAL_COLUMNS) as Field[]) {
    const names = CANONICAL_COLUMNS[f] as readonly string[];
    const present = names.filter((n) => table.index.has(n));
    if (present.length > 1) {
      throw new CanonicalFormatError(
        `columns "${present[0]}" and "${present[1]}" are two names for the ${fieldName(f)} column: keep one (volfit will not choose between them)`,
      );
    }
    const c = findColumn(table, names);
    if (c !== undefined) cols[f] = c;
  }
  const found = `found: ${table.header.filter((h) => h !== '').join(', ') || '(none)'}`;
  const need = (f: Field, what: string): void => {
    if (cols[f] === undefined) throw new CanonicalFormatError(`missing column "${f}" (${what}); ${found}`);
  };
  need('expiry', 'years to expiry or an ISO date');
  need('strike', 'strike price');
  need('type', 'call/put');
  if (cols.price === undefined && cols.mid === undefined && (cols.bid === undefined || cols.ask === undefined)) {
    throw new CanonicalFormatError(`missing column "price" (or "mid", or both "bid" and "ask"); ${found}`);
  }
  if (cols.forward === undefined && cols.spot === undefined && opts.spot === undefined) {
    throw new CanonicalFormatError(`missing column "forward" (or "spot", or the spot option); ${found}`);
  }
  return cols;
}

function checkOptions(opts: ReadOptions): number | undefined {
  for (const k of ['spot', 'rate', 'div'] as const) {
    const v = opts[k];
    if (v !== undefined && !Number.isFinite(v)) throw new CanonicalFormatError(`option ${k} must be a finite number`);
  }
  if (opts.spot !== undefined && !(opts.spot > 0)) throw new CanonicalFormatError('option spot must be positive');
  if (opts.asOf === undefined) return undefined;
  const t = parseIsoUtc(opts.asOf);
  if (t === null) throw new CanonicalFormatError(`option as-of "${opts.asOf}" is not an ISO date/time`);
  return t;
}

/** Thrown inside one row's parse; caught and turned into a RowError. */
class FieldError {
  constructor(
    readonly field: string,
    readonly message: string,
    readonly reason?: 'expired',
  ) {}
}

type Check = 'positive' | 'nonnegative' | 'finite';

function num(row: string[], cols: Columns, field: Field, check: Check): number | undefined {
  const text = cell(row, cols[field]);
  if (text === '') return undefined;
  const f = fieldName(field);
  const x = parseNumber(text);
  if (x === null) {
    const hint = looksLikeDate(text) ? ' (a date where a number is expected)' : '';
    throw new FieldError(f, `${f} "${text}" is not a number${hint}`);
  }
  if (check === 'positive' && !(x > 0)) throw new FieldError(f, `${f} must be positive, got ${text}`);
  if (check === 'nonnegative' && x < 0) throw new FieldError(f, `${f} must not be negative, got ${text}`);
  return x;
}

function parseType(text: string): boolean {
  const t = text.toLowerCase();
  if (t === 'call' || t === 'c') return true;
  if (t === 'put' || t === 'p') return false;
  throw new FieldError('type', text === '' ? 'type is empty (call/put/c/p)' : `type "${text}" is not call/put/c/p`);
}

/** The message for a numeric expiry above MAX_EXPIRY_YEARS, with a guess at the unit meant. */
function expiryUnitMessage(text: string, years: number): string {
  const base = `expiry ${text} years? expiry is in years (at most ${MAX_EXPIRY_YEARS}) or an ISO date`;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (compact) {
    const iso = `${compact[1]}-${compact[2]}-${compact[3]}`;
    if (parseIsoUtc(iso) !== null) return `${base}; ${text} looks like a compact date, write ${iso}`;
  }
  if (years <= 365 * MAX_EXPIRY_YEARS) return `${base}; if ${text} is days, that is ${Number((years / 365).toPrecision(6))} years`;
  return base;
}

function parseRow(row: string[], n: number, cols: Columns, opts: ReadOptions, asOfMs: number | undefined): Quote {
  const timestamp = cell(row, cols.timestamp) || undefined;
  let tsMs: number | undefined;
  if (timestamp !== undefined) {
    const t = parseIsoUtc(timestamp);
    if (t === null) throw new FieldError('timestamp', `timestamp "${timestamp}" is not an ISO date/time`);
    tsMs = t;
  }

  const expiry = cell(row, cols.expiry);
  if (expiry === '') throw new FieldError('expiry', 'expiry is empty');
  let T = parseNumber(expiry);
  let label = expiry;
  if (T === null) {
    const e = parseIsoUtc(expiry);
    if (e === null) throw new FieldError('expiry', `expiry "${expiry}" is neither years nor an ISO date`);
    const ref = asOfMs ?? tsMs;
    if (ref === undefined) {
      throw new FieldError('expiry', `expiry "${expiry}" is a date: give --as-of or a timestamp column`);
    }
    T = yearFraction365(ref, e);
    if (T > MAX_EXPIRY_YEARS) {
      throw new FieldError('expiry', `expiry ${expiry} is ${Math.round(T)} years after the valuation time (more than ${MAX_EXPIRY_YEARS}); check the date and the as-of time`);
    }
  } else {
    if (T > MAX_EXPIRY_YEARS) throw new FieldError('expiry', expiryUnitMessage(expiry, T));
    const date = cell(row, cols.expiryDate);
    if (date !== '') {
      if (parseIsoUtc(date) === null) throw new FieldError('expiry_date', `expiry_date "${date}" is not an ISO date/time`);
      label = date;
    }
  }
  if (!(T > 0)) throw new FieldError('expiry', `expiry is not after the valuation time (T = ${T} years)`, 'expired');

  const strike = num(row, cols, 'strike', 'positive');
  if (strike === undefined) throw new FieldError('strike', 'strike is empty');
  const isCall = parseType(cell(row, cols.type));

  const bid = num(row, cols, 'bid', 'nonnegative');
  const ask = num(row, cols, 'ask', 'nonnegative');
  const price =
    num(row, cols, 'price', 'nonnegative') ??
    num(row, cols, 'mid', 'nonnegative') ??
    (bid !== undefined && ask !== undefined ? 0.5 * (bid + ask) : undefined);
  if (price === undefined) throw new FieldError('price', 'no price: need price, mid, or both bid and ask');

  const discountCol = num(row, cols, 'discount', 'positive');
  let rate = num(row, cols, 'rate', 'finite') ?? opts.rate ?? 0;
  if (discountCol !== undefined) {
    if (discountCol > 1.5) throw new FieldError('discount', `discount ${discountCol} is not a discount factor`);
    rate = -Math.log(discountCol) / T;
  }
  const div = num(row, cols, 'div', 'finite') ?? opts.div ?? 0;
  const spot = num(row, cols, 'spot', 'positive') ?? opts.spot;
  let forward = num(row, cols, 'forward', 'positive');
  if (forward === undefined) {
    if (spot === undefined) throw new FieldError('forward', 'no underlying: need forward, or spot (column or option)');
    forward = spot * Math.exp((rate - div) * T);
    if (!(forward > 0 && Number.isFinite(forward))) {
      throw new FieldError('forward', `forward from spot, rate, div overflows (${forward})`);
    }
  }
  const discount = discountCol ?? Math.exp(-rate * T);
  if (!(discount > 0 && Number.isFinite(discount))) {
    throw new FieldError('rate', `discount exp(-rate*T) is not a usable number (${discount})`);
  }

  const q: Quote = { row: n, T, expiry: label, strike, isCall, price, forward, discount, rate, div };
  if (bid !== undefined) q.bid = bid;
  if (ask !== undefined) q.ask = ask;
  if (spot !== undefined) q.spot = spot;
  const iv = num(row, cols, 'iv', 'nonnegative');
  if (iv !== undefined) q.iv = iv;
  const weight = num(row, cols, 'weight', 'nonnegative');
  if (weight !== undefined) q.weight = weight;
  const oi = num(row, cols, 'openInterest', 'nonnegative');
  if (oi !== undefined) q.openInterest = oi;
  const vol = num(row, cols, 'volume', 'nonnegative');
  if (vol !== undefined) q.volume = vol;
  if (timestamp !== undefined) q.timestamp = timestamp;
  const venue = cell(row, cols.venue);
  if (venue) q.venue = venue;
  const und = cell(row, cols.underlying);
  if (und) q.underlying = und;
  const venueIv = num(row, cols, 'venueIv', 'nonnegative');
  if (venueIv !== undefined) q.venueIv = venueIv;
  const sourceRow = num(row, cols, 'sourceRow', 'positive');
  if (sourceRow !== undefined) {
    if (!Number.isInteger(sourceRow)) throw new FieldError('source_row', `source_row ${sourceRow} is not a row number`);
    q.sourceRow = sourceRow;
  }
  return q;
}

/** Reads a canonical quote CSV; see the module comment for the format. */
export function parseCanonicalCsv(text: string, opts: ReadOptions = {}): CanonicalReadResult {
  const table = readTable(text, (m) => new CanonicalFormatError(m));
  return parseCanonicalTable(table, opts);
}

/** The same, on an already parsed table (used by `--venue auto`, which reads the header first). */
export function parseCanonicalTable(table: Table, opts: ReadOptions = {}): CanonicalReadResult {
  const asOfMs = checkOptions(opts);
  const cols = locateColumns(table, opts);
  const quotes: Quote[] = [];
  const errors: RowError[] = [];
  table.rows.forEach((row, i) => {
    const n = i + 1;
    try {
      quotes.push(parseRow(row, n, cols, opts, asOfMs));
    } catch (e) {
      if (e instanceof FieldError) {
        errors.push({ row: n, field: e.field, message: `row ${n}: ${e.message}`, ...(e.reason ? { reason: e.reason } : {}) });
      }
      else throw e;
    }
  });
  return { quotes, errors };
}

/** Extra output columns: name -> value for each quote (undefined writes an empty cell). */
export type ExtraColumns = Record<string, (q: Quote, index: number) => string | number | boolean | undefined>;

/** A CSV column of quotes: its header and its cell of quote `index`. */
export type QuoteColumn = [string, (q: Quote, index: number) => unknown];

/** The canonical columns that appear only when some quote fills them (`canonicalColumns`). */
export const OPTIONAL_CANONICAL_COLUMNS: ReadonlyArray<[string, (q: Quote) => unknown]> = [
  ['expiry_date', (q) => (parseNumber(q.expiry) === null ? q.expiry : undefined)],
  ['bid', (q) => q.bid],
  ['ask', (q) => q.ask],
  ['spot', (q) => q.spot],
  ['iv', (q) => q.iv],
  ['weight', (q) => q.weight],
  ['open_interest', (q) => q.openInterest],
  ['volume', (q) => q.volume],
  ['timestamp', (q) => q.timestamp],
  ['venue', (q) => q.venue],
  ['underlying', (q) => q.underlying],
];
const BEFORE_FORWARD = new Set(['expiry_date', 'bid', 'ask']);

/**
 * The canonical CSV's columns in order: expiry, strike, type, price, [expiry_date, bid, ask],
 * forward, rate, div, [spot ... underlying], then `extraColumns`; a bracketed (optional) column
 * only where `filled(name)` says some quote fills it. The one layout of writeCanonicalCsv and of
 * normalize's streamed CSV.
 */
export function canonicalColumns(filled: (name: string, cellOf: (q: Quote) => unknown) => boolean, extraColumns: ExtraColumns = {}): QuoteColumn[] {
  const optional = OPTIONAL_CANONICAL_COLUMNS.filter(([name, f]) => filled(name, f));
  const columns: QuoteColumn[] = [
    ['expiry', (q) => q.T],
    ['strike', (q) => q.strike],
    ['type', (q) => (q.isCall ? 'call' : 'put')],
    ['price', (q) => q.price],
    ...optional.filter(([name]) => BEFORE_FORWARD.has(name)),
    ['forward', (q) => q.forward],
    ['rate', (q) => q.rate],
    ['div', (q) => q.div],
    ...optional.filter(([name]) => !BEFORE_FORWARD.has(name)),
  ];
  for (const [name, f] of Object.entries(extraColumns)) {
    if (columns.some(([c]) => c === name)) throw new Error(`extra column "${name}" clashes with a canonical column`);
    columns.push([name, f]);
  }
  return columns;
}

/**
 * Writes quotes as canonical CSV that `parseCanonicalCsv` reads back to the same numbers:
 * `expiry` is written as years (T) so the file needs no as-of; an ISO expiry as given goes to an
 * extra `expiry_date` column (ignored on reading). Optional columns appear only when some quote
 * has them. Numbers are written with JavaScript's shortest round-trip form.
 */
export function writeCanonicalCsv(quotes: Quote[], extraColumns: ExtraColumns = {}): string {
  const columns = canonicalColumns((_, f) => quotes.some((q) => f(q) !== undefined), extraColumns);
  return writeCsv(
    columns.map(([c]) => c),
    quotes.map((q, i) => columns.map(([, f]) => f(q, i))),
  );
}
