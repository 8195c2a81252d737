/**
 * What a venue reader is: it takes a file's data records batch by batch (so a file is never held
 * whole), keeps each readable row as a compact candidate (rows.ts) and each unreadable one as an
 * exclusion, and at the end works out what needs the whole file: the as-of time, T, forwards and
 * discounts per expiry. Row numbers are 1-based over the data records, as in readTable.
 */
import type { ExclusionLog, ExpiryGroup, QuoteRows } from '../rows.js';
import type { Candidate, Venue, VenueExpiry } from '../types.js';

export interface VenueReader {
  /** Reads data records; `firstRow` is the row number of `records[0]`. */
  read(records: string[][], firstRow: number): void;
  /** After the last record. Throws MarketFormatError for what only the whole file shows. */
  finish(): VenueRead;
}

export interface VenueRead {
  venue: Venue;
  rowsIn: number;
  /** Candidates, in row order. */
  rows: QuoteRows;
  /** Rows excluded so far (unreadable, other currency, no forward); the filters add theirs. */
  log: ExclusionLog;
  /** The candidates still in play, by expiry, in byExpiry's order. */
  groups: ExpiryGroup[];
  expiries: VenueExpiry[];
  /** Valuation time (UTC ms) used for T and staleness. */
  asOfMs?: number;
  /** Notes for the report (conventions applied, assumptions). */
  notes: string[];
  /** Candidate i as an object, the shape this venue gives it. */
  candidate(i: number): Candidate;
}

/** Candidates of the given indices as objects. */
export function candidates(read: Pick<VenueRead, 'candidate'>, indices: Int32Array): Candidate[] {
  return Array.from(indices, (i) => read.candidate(i));
}
