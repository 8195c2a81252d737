/**
 * The canonical quote CSV as a venue: rows come from parseCanonicalTable; rows it rejects become
 * exclusions (invalid_input with the field, or expired). Forward and discount are the rows' own;
 * a parity fit per expiry is reported beside them as a check. A file written by `volfit normalize`
 * keeps its `expiry_date`, `venue_iv` and `source_row`, so normalizing it again reproduces it.
 */
import { parseCanonicalTable, type CanonicalReadResult, type ReadOptions } from '../canonical.js';
import type { TableHead } from '../table.js';
import { parseIsoUtc, isoUtc } from '../time.js';
import type { Candidate, VenueExpiry } from '../types.js';
import { parityFit, type ParityOptions } from '../forwards.js';
import { candidateOf, ExclusionLog, expiryGroups, QuoteRows, views, type CandidateField } from '../rows.js';
import type { VenueRead, VenueReader } from './reader.js';

export interface CanonicalVenueOptions extends ReadOptions {
  parity: ParityOptions;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
};

/**
 * parseCanonicalTable on a batch of a file's records: the same quotes and errors, numbered as
 * rows of the whole file (`firstRow` is the number of `records[0]`), messages included.
 * Throws what parseCanonicalTable throws for the header and the options (CanonicalFormatError).
 */
export function parseCanonicalRows(head: TableHead, records: string[][], firstRow: number, opts: ReadOptions): CanonicalReadResult {
  const read = parseCanonicalTable({ header: head.header, index: head.index, rows: records }, opts);
  const shift = firstRow - 1;
  if (shift !== 0) {
    for (const q of read.quotes) q.row += shift;
    for (const e of read.errors) {
      const local = `row ${e.row}: `;
      e.row += shift;
      if (e.message.startsWith(local)) e.message = `row ${e.row}: ${e.message.slice(local.length)}`;
    }
  }
  return read;
}

export class CanonicalVenueReader implements VenueReader {
  private readonly rows = new QuoteRows();
  private readonly log = new ExclusionLog();
  private latestMs: number | undefined;
  private rowsIn = 0;

  /** Checks the header and the options at once (CanonicalFormatError), before any row. */
  constructor(
    private readonly head: TableHead,
    private readonly opts: CanonicalVenueOptions,
  ) {
    parseCanonicalRows(head, [], 1, opts);
  }

  read(records: string[][], firstRow: number): void {
    this.rowsIn += records.length;
    const { quotes, errors } = parseCanonicalRows(this.head, records, firstRow, this.opts);
    for (const e of errors) {
      this.log.add(
        e.reason === 'expired'
          ? { row: e.row, reason: 'expired', field: e.field, detail: e.message }
          : { row: e.row, reason: 'invalid_input', field: e.field, detail: e.message },
      );
    }
    for (const q of quotes) {
      const c: Candidate = { ...q };
      const ts = q.timestamp !== undefined ? parseIsoUtc(q.timestamp) : null;
      if (ts !== null) c.timestampMs = ts;
      const e = parseIsoUtc(q.expiry);
      if (e !== null) c.expiryMs = e;
      // The venue's IV is kept for comparison (a `venue_iv` column, as normalize writes it, even
      // where blank; else the file's `iv`); ours is recomputed.
      const venueIv = this.head.index.has('venue_iv') ? q.venueIv : q.iv;
      delete c.venueIv;
      if (venueIv !== undefined) c.venueIv = venueIv;
      delete c.iv;
      if (c.timestampMs !== undefined && (this.latestMs === undefined || c.timestampMs > this.latestMs)) this.latestMs = c.timestampMs;
      this.rows.add(c);
    }
  }

  finish(): VenueRead {
    const { rows, opts } = this;
    let asOfMs = opts.asOf !== undefined ? (parseIsoUtc(opts.asOf) ?? undefined) : undefined;
    asOfMs ??= this.latestMs;
    const read: VenueRead = {
      venue: 'canonical',
      rowsIn: this.rowsIn,
      rows,
      log: this.log,
      groups: expiryGroups(rows),
      expiries: [],
      ...(asOfMs !== undefined ? { asOfMs } : {}),
      notes: [`canonical: forwards and rates as given${asOfMs !== undefined ? `; as-of ${isoUtc(asOfMs)}` : ''}`],
      candidate: (i) => canonicalCandidate(rows, i),
    };
    for (const g of read.groups) {
      const qs = views(rows, g.byT);
      const forward = median(qs.map((q) => q.forward));
      const fit = parityFit(qs, forward, opts.parity);
      const e: VenueExpiry = { expiry: g.expiry, T: median(qs.map((q) => q.T)), forward, discount: median(qs.map((q) => q.discount)), forwardSource: 'input', ...(fit ? { parity: fit } : {}) };
      read.expiries.push(e);
    }
    return read;
  }
}

/** A stored candidate as the reader built it: the parsed Quote, then timestampMs, expiryMs, venueIv. */
const CANONICAL_FIELDS: readonly CandidateField[] = ['row', 'T', 'expiry', 'strike', 'isCall', 'price', 'forward', 'discount', 'rate', 'div', 'bid', 'ask', 'spot', 'weight', 'openInterest', 'volume', 'timestamp', 'venue', 'underlying', 'sourceRow', 'timestampMs', 'expiryMs', 'venueIv'];

function canonicalCandidate(rows: QuoteRows, i: number): Candidate {
  return candidateOf(rows, i, CANONICAL_FIELDS);
}
