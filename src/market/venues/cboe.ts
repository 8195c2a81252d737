/**
 * CBOE-style SPX chains, one option a row (the layouts of data/spx-2025-10-01-cboe-long-dated and
 * data/spx-2011-01-24-pyql): bid/ask per strike, no rate, no dividend.
 *
 * - Quote time `quote_time_et` / `quote_time` is US Eastern wall-clock time (converted to UTC with
 *   the US DST rule); the as-of time defaults to the latest quote time in the file.
 * - Expiry instant: root SPX is AM-settled at the opening quotation, 09:30 ET on `expiry_date`;
 *   when that date is a Saturday (OCC dates before 2015) it is the Friday before. SPXW, SPXPM and
 *   other roots are PM-settled: 16:00 ET on `expiry_date`.
 * - Forward and discount per expiry from put-call parity on near-the-money mids (robust fit,
 *   forwards.ts). An expiry with too few pairs for a line takes the continuously compounded rate
 *   of the nearest fitted expiry (in T) and its forward from its own pairs; with no pair at all
 *   its rows are excluded as no_forward.
 * - rate = -ln(D) / T, div = rate - ln(F / S) / T with S = `underlying_last`.
 */
import { MarketFormatError } from '../errors.js';
import { cell, type TableHead } from '../table.js';
import { nonNegativeCell, RowFault, storeRow } from './rowFault.js';
import { easternToUtcMs, isoUtc, parseIsoUtc, yearFraction365 } from '../time.js';
import type { Candidate, VenueExpiry } from '../types.js';
import { parityFit, parityPairs, type ParityOptions } from '../forwards.js';
import { candidateOf, ExclusionLog, expiryGroups, QuoteRows, views, type CandidateField, type ExpiryGroup } from '../rows.js';
import type { VenueRead, VenueReader } from './reader.js';

export const CBOE_COLUMNS = ['root', 'symbol', 'expiry_date', 'option_type', 'strike', 'bid', 'ask', 'underlying_last'] as const;
export const CBOE_TIME_COLUMNS = ['quote_time_et', 'quote_time'] as const;

export interface CboeOptions {
  asOfMs?: number;
  parity: ParityOptions;
}

/** US Eastern wall-clock `YYYY-MM-DDTHH:MM[:SS]` (or an ISO time with a zone) to UTC ms. */
export function parseEastern(text: string): number | null {
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim())) return parseIsoUtc(text);
  const wall = parseIsoUtc(text); // read as if UTC, then shift by the Eastern offset of that day
  if (wall === null) return null;
  const d = new Date(wall);
  const base = easternToUtcMs(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes());
  return base + (wall % 60_000);
}

/** Settlement instant of an SPX-family option, see the module comment. */
export function cboeExpiryMs(root: string, expiryDate: string): number | null {
  const day = parseIsoUtc(expiryDate.slice(0, 10));
  if (day === null) return null;
  let d = new Date(day);
  const am = root.toUpperCase() === 'SPX';
  if (am && d.getUTCDay() === 6) d = new Date(day - 86_400_000);
  return easternToUtcMs(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), am ? 9 : 16, am ? 30 : 0);
}

/**
 * Reads a CBOE chain. Rows become candidates as they come; once the file is read, the as-of time
 * (the latest quote time unless given), T, and the forward and discount of each expiry (parity,
 * else a neighbour's rate, else the expiry's rows are excluded) are set.
 */
export class CboeReader implements VenueReader {
  private readonly rows = new QuoteRows();
  private readonly log = new ExclusionLog();
  private readonly col: (n: string) => number | undefined;
  private readonly timeCol: number | undefined;
  private latestMs: number | undefined;
  private rowsIn = 0;

  constructor(
    head: TableHead,
    private readonly opts: CboeOptions,
  ) {
    this.col = (n) => head.index.get(n);
    this.timeCol = this.col('quote_time_et') ?? this.col('quote_time');
  }

  read(records: string[][], firstRow: number): void {
    const { col, timeCol } = this;
    for (let j = 0; j < records.length; j++) {
      const r = records[j];
      const row = firstRow + j;
      this.rowsIn++;
      if (this.opts.asOfMs === undefined) {
        const t = parseEastern(cell(r, timeCol));
        if (t !== null && (this.latestMs === undefined || t > this.latestMs)) this.latestMs = t;
      }
      storeRow(this.rows, this.log, row, () => readRow(r, row, col, timeCol));
    }
  }

  finish(): VenueRead {
    const { rows, log, opts } = this;
    const asOfMs = opts.asOfMs ?? this.latestMs;
    if (asOfMs === undefined) throw new MarketFormatError('CBOE file has no parseable quote time: give --as-of');
    for (let i = 0; i < rows.length; i++) rows.T.set(i, yearFraction365(asOfMs, rows.expiryMs.get(i)));
    const candidate = (i: number) => cboeCandidate(rows, i);

    const groups = expiryGroups(rows);
    const fits = new Map<ExpiryGroup, VenueExpiry>();
    for (const g of groups) {
      const T = rows.T.get(g.byT[0]);
      if (!(T > 0)) continue; // expired: the filters exclude these; no forward needed
      const qs = views(rows, g.byT);
      const spot = qs[0].spot!;
      const fit = parityFit(qs, spot, opts.parity);
      if (fit) fits.set(g, { expiry: g.expiry, T, forward: fit.forward, discount: fit.discount, forwardSource: 'parity', parity: fit });
    }
    const fitted = [...fits.values()];
    const expiries: VenueExpiry[] = [];
    const priced: ExpiryGroup[] = [];
    for (const g of groups) {
      const T = rows.T.get(g.byT[0]);
      let e = fits.get(g);
      if (!e && T > 0 && fitted.length > 0) e = neighbourRate(g.expiry, T, views(rows, g.byT), fitted);
      if (!e && T > 0) {
        for (const i of g.indices) {
          const row = rows.row.get(i);
          const bid = rows.bidOf(i);
          const ask = rows.askOf(i);
          // Report the book's own fault first when there is one: it is why no pair exists.
          if (!(bid !== undefined && bid > 0)) log.add({ row, reason: 'no_bid', detail: bid === undefined ? 'bid missing' : 'bid is zero' });
          else if (!(ask !== undefined && ask > 0)) log.add({ row, reason: 'no_ask', detail: ask === undefined ? 'ask missing' : 'ask is zero' });
          else log.add({ row, reason: 'no_forward', detail: 'no call/put pair at any strike for parity' });
        }
        continue;
      }
      if (e) expiries.push(e);
      priced.push(g);
      for (const i of g.indices) {
        // Expired rows keep spot as a placeholder forward, D = 1; the expiry filter drops them.
        const spot = rows.spot.get(i);
        const F = e?.forward ?? spot;
        const D = e?.discount ?? 1;
        const rate = T > 0 ? -Math.log(D) / T : 0;
        rows.forward.set(i, F);
        rows.discount.set(i, D);
        rows.rate.set(i, rate);
        rows.div.set(i, T > 0 ? rate - Math.log(F / spot) / T : 0);
      }
    }
    return {
      venue: 'cboe',
      rowsIn: this.rowsIn,
      rows,
      log,
      groups: priced,
      expiries,
      asOfMs,
      notes: [
        `CBOE: forward and discount per expiry from robust put-call parity (band ${opts.parity.band}, >= ${opts.parity.minPairs} pairs); SPX AM 09:30 ET, others PM 16:00 ET; T ACT/365 from ${isoUtc(asOfMs)}`,
      ],
      candidate,
    };
  }
}

/** One row; T, forward, discount, rate and div are set once the whole file is read. */
function readRow(r: string[], row: number, col: (n: string) => number | undefined, timeCol: number | undefined): Candidate {
  const strike = nonNegativeCell(r, col('strike'), 'strike', true)!;
  if (!(strike > 0)) throw new RowFault('strike', `strike must be positive, got ${strike}`);
  const t = cell(r, col('option_type')).toUpperCase();
  if (!['C', 'P', 'CALL', 'PUT'].includes(t)) throw new RowFault('option_type', `option_type "${t}" is not C/P`);
  const root = cell(r, col('root'));
  const expiryMs = cboeExpiryMs(root, cell(r, col('expiry_date')));
  if (expiryMs === null) throw new RowFault('expiry_date', `expiry_date "${cell(r, col('expiry_date'))}" is not a date`);
  const spot = nonNegativeCell(r, col('underlying_last'), 'underlying_last', true)!;
  if (!(spot > 0)) throw new RowFault('underlying_last', 'underlying_last must be positive');
  const bid = nonNegativeCell(r, col('bid'), 'bid', false);
  const ask = nonNegativeCell(r, col('ask'), 'ask', false);
  const tsText = cell(r, timeCol);
  const ts = tsText === '' ? undefined : parseEastern(tsText);
  if (ts === null) throw new RowFault('quote_time', `quote time "${tsText}" is not a date/time`);
  const q: Candidate = {
    row,
    T: NaN,
    expiry: isoUtc(expiryMs),
    expiryMs,
    strike,
    isCall: t.startsWith('C'),
    // Mid when two-sided; otherwise whichever side exists (the row is excluded as no_bid / no_ask).
    price: bid !== undefined && ask !== undefined ? 0.5 * (bid + ask) : (bid ?? ask ?? 0),
    forward: NaN, // set from parity in finish()
    discount: NaN,
    rate: NaN,
    div: NaN,
    spot,
    venue: 'cboe',
    underlying: root || undefined,
  };
  if (bid !== undefined) q.bid = bid;
  if (ask !== undefined) q.ask = ask;
  const iv = nonNegativeCell(r, col('cboe_iv'), 'cboe_iv', false);
  if (iv !== undefined && iv > 0) q.venueIv = iv; // 0 means "not computed" in CBOE files
  const oi = nonNegativeCell(r, col('open_interest'), 'open_interest', false);
  if (oi !== undefined) q.openInterest = oi;
  const vol = nonNegativeCell(r, col('volume'), 'volume', false);
  if (vol !== undefined) q.volume = vol;
  if (ts !== undefined) {
    q.timestampMs = ts;
    q.timestamp = isoUtc(ts);
  }
  return q;
}

/** A stored candidate as readRow built it (with the forward and discount once set). */
const CBOE_FIELDS: readonly CandidateField[] = ['row', 'T', 'expiry', 'expiryMs', 'strike', 'isCall', 'price', 'forward', 'discount', 'rate', 'div', 'spot', 'venue', 'underlying', 'bid', 'ask', 'venueIv', 'openInterest', 'volume', 'timestampMs', 'timestamp'];

function cboeCandidate(rows: QuoteRows, i: number): Candidate {
  return candidateOf(rows, i, CBOE_FIELDS);
}

/** Too few pairs for a line: borrow the rate of the nearest fitted expiry; forward from own pairs. */
function neighbourRate(expiry: string, T: number, qs: Candidate[], fitted: VenueExpiry[]): VenueExpiry | undefined {
  const pairs = parityPairs(qs);
  if (pairs.length === 0) return undefined;
  const near = fitted.reduce((a, b) => (Math.abs(b.T - T) < Math.abs(a.T - T) ? b : a));
  const r = -Math.log(near.discount) / near.T;
  const D = Math.exp(-r * T);
  const spot = qs[0].spot!;
  const best = [...pairs].sort((a, b) => Math.abs(a.strike - spot) - Math.abs(b.strike - spot)).slice(0, 3);
  const fs = best.map((p) => p.strike + p.callMinusPut / D).sort((a, b) => a - b);
  const F = fs[fs.length >> 1];
  if (!(F > 0)) return undefined;
  return { expiry, T, forward: F, discount: D, forwardSource: 'parity_neighbor_rate' };
}
