/**
 * The canonical quote CSV as a venue: rows come from parseCanonicalTable; rows it rejects become
 * exclusions (invalid_input with the field, or expired). Forward and discount are the rows' own;
 * a parity fit per expiry is reported beside them as a check. A file written by `volfit normalize`
 * keeps its `expiry_date`, `venue_iv` and `source_row`, so normalizing it again reproduces it.
 */
import { parseCanonicalTable, type ReadOptions } from '../canonical.js';
import type { Table } from '../table.js';
import { parseIsoUtc, isoUtc } from '../time.js';
import type { Candidate, Exclusion, VenueExpiry, VenueRead } from '../types.js';
import { byExpiry, parityFit, type ParityOptions } from '../forwards.js';

export interface CanonicalVenueOptions extends ReadOptions {
  parity: ParityOptions;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
};

export function readCanonicalVenue(table: Table, opts: CanonicalVenueOptions): VenueRead {
  const { quotes, errors } = parseCanonicalTable(table, opts);
  const excluded: Exclusion[] = errors.map((e) =>
    e.reason === 'expired'
      ? { row: e.row, reason: 'expired', field: e.field, detail: e.message }
      : { row: e.row, reason: 'invalid_input', field: e.field, detail: e.message },
  );
  const hasVenueIv = table.index.has('venue_iv');
  let asOfMs = opts.asOf !== undefined ? (parseIsoUtc(opts.asOf) ?? undefined) : undefined;
  const candidates: Candidate[] = quotes.map((q) => {
    const c: Candidate = { ...q };
    const ts = q.timestamp !== undefined ? parseIsoUtc(q.timestamp) : null;
    if (ts !== null) c.timestampMs = ts;
    const e = parseIsoUtc(q.expiry);
    if (e !== null) c.expiryMs = e;
    // The venue's IV is kept for comparison (a `venue_iv` column, as normalize writes it, even
    // where blank; else the file's `iv`); ours is recomputed.
    const venueIv = hasVenueIv ? q.venueIv : q.iv;
    if (venueIv !== undefined) c.venueIv = venueIv;
    delete c.iv;
    return c;
  });
  if (asOfMs === undefined) {
    for (const c of candidates) if (c.timestampMs !== undefined && (asOfMs === undefined || c.timestampMs > asOfMs)) asOfMs = c.timestampMs;
  }
  const expiries: VenueExpiry[] = [];
  for (const [expiry, qs] of byExpiry(candidates)) {
    const forward = median(qs.map((q) => q.forward));
    const fit = parityFit(qs, forward, opts.parity);
    expiries.push({ expiry, T: median(qs.map((q) => q.T)), forward, discount: median(qs.map((q) => q.discount)), forwardSource: 'input', ...(fit ? { parity: fit } : {}) });
  }
  return {
    venue: 'canonical',
    rowsIn: table.rows.length,
    candidates,
    excluded,
    expiries,
    ...(asOfMs !== undefined ? { asOfMs } : {}),
    notes: [`canonical: forwards and rates as given${asOfMs !== undefined ? `; as-of ${isoUtc(asOfMs)}` : ''}`],
  };
}
