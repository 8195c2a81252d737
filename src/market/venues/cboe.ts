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
import { cell, parseNumber, type Table } from '../table.js';
import { nonNegativeCell, RowFault } from './rowFault.js';
import { easternToUtcMs, isoUtc, parseIsoUtc, yearFraction365 } from '../time.js';
import type { Candidate, Exclusion, VenueExpiry, VenueRead } from '../types.js';
import { byExpiry, parityFit, parityPairs, type ParityOptions } from '../forwards.js';

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

export function readCboe(table: Table, opts: CboeOptions): VenueRead {
  const col = (n: string) => table.index.get(n);
  const timeCol = col('quote_time_et') ?? col('quote_time');
  const excluded: Exclusion[] = [];
  const raw: Candidate[] = [];

  let asOfMs = opts.asOfMs;
  if (asOfMs === undefined) {
    for (const r of table.rows) {
      const t = parseEastern(cell(r, timeCol));
      if (t !== null && (asOfMs === undefined || t > asOfMs)) asOfMs = t;
    }
    if (asOfMs === undefined) throw new MarketFormatError('CBOE file has no parseable quote time: give --as-of');
  }

  table.rows.forEach((r, i) => {
    const row = i + 1;
    try {
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
        T: yearFraction365(asOfMs!, expiryMs),
        expiry: isoUtc(expiryMs),
        expiryMs,
        strike,
        isCall: t.startsWith('C'),
        // Mid when two-sided; otherwise whichever side exists (the row is excluded as no_bid / no_ask).
        price: bid !== undefined && ask !== undefined ? 0.5 * (bid + ask) : (bid ?? ask ?? 0),
        forward: NaN, // set from parity below
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
      raw.push(q);
    } catch (e) {
      if (!(e instanceof RowFault)) throw e;
      excluded.push({ row, reason: 'invalid_input', field: e.field, detail: e.detail });
    }
  });

  const groups = byExpiry(raw);
  const fits = new Map<string, VenueExpiry>();
  for (const [expiry, qs] of groups) {
    if (!(qs[0].T > 0)) continue; // expired: the filters exclude these; no forward needed
    const spot = qs[0].spot!;
    const fit = parityFit(qs, spot, opts.parity);
    if (fit) fits.set(expiry, { expiry, T: qs[0].T, forward: fit.forward, discount: fit.discount, forwardSource: 'parity', parity: fit });
  }
  const fitted = [...fits.values()];
  const expiries: VenueExpiry[] = [];
  const candidates: Candidate[] = [];
  for (const [expiry, qs] of groups) {
    const T = qs[0].T;
    let e = fits.get(expiry);
    if (!e && T > 0 && fitted.length > 0) e = neighbourRate(expiry, T, qs, fitted);
    if (!e && T > 0) {
      for (const q of qs) {
        // Report the book's own fault first when there is one: it is why no pair exists.
        if (!(q.bid !== undefined && q.bid > 0)) excluded.push({ row: q.row, reason: 'no_bid', detail: q.bid === undefined ? 'bid missing' : 'bid is zero' });
        else if (!(q.ask !== undefined && q.ask > 0)) excluded.push({ row: q.row, reason: 'no_ask', detail: q.ask === undefined ? 'ask missing' : 'ask is zero' });
        else excluded.push({ row: q.row, reason: 'no_forward', detail: 'no call/put pair at any strike for parity' });
      }
      continue;
    }
    if (e) expiries.push(e);
    for (const q of qs) {
      // Expired rows keep spot as a placeholder forward, D = 1; the expiry filter drops them.
      const F = e?.forward ?? q.spot!;
      const D = e?.discount ?? 1;
      const rate = T > 0 ? -Math.log(D) / T : 0;
      candidates.push({ ...q, forward: F, discount: D, rate, div: T > 0 ? rate - Math.log(F / q.spot!) / T : 0 });
    }
  }
  return {
    venue: 'cboe',
    rowsIn: table.rows.length,
    candidates: candidates.sort((a, b) => a.row - b.row),
    excluded,
    expiries,
    asOfMs,
    notes: [
      `CBOE: forward and discount per expiry from robust put-call parity (band ${opts.parity.band}, >= ${opts.parity.minPairs} pairs); SPX AM 09:30 ET, others PM 16:00 ET; T ACT/365 from ${isoUtc(asOfMs!)}`,
    ],
  };
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
