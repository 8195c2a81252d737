/**
 * Deribit option chains (the collector files in data/deribit-*): inverse options, premiums in
 * coin. Conventions applied (see data/deribit-btc-eth-snapshot-2026-01-05/SOURCE.md):
 * - forward = the row's `underlying` (Deribit's underlying_price: the expiry's future, or a
 *   synthetic forward), rate 0, discount 1: Deribit's mark IV is Black-76 on that forward at r = 0.
 * - USD premium = coin premium * forward (the row's own underlying), for bid, ask and mark.
 * - expiry from `expiry_datetime` (08:00 UTC); T = ACT/365 with intraday precision from the as-of
 *   time (default: the latest `timestamp` of the selected currency).
 * - price = mid of bid and ask; a one-sided row keeps the mark as its price and is excluded later
 *   (no_bid / no_ask), so nothing disappears silently.
 */
import { MarketFormatError } from '../errors.js';
import { cell, parseNumber, type Table } from '../table.js';
import { nonNegativeCell, RowFault } from './rowFault.js';
import { parseIsoUtc, yearFraction365, isoUtc } from '../time.js';
import type { Candidate, Exclusion, VenueExpiry, VenueRead } from '../types.js';
import { byExpiry, parityFit, type ParityOptions } from '../forwards.js';

export const DERIBIT_COLUMNS = ['instrument_name', 'option_type', 'strike', 'expiry_datetime', 'underlying', 'bid_price', 'ask_price', 'mark_price'] as const;

export interface DeribitOptions {
  /** BTC or ETH; required when the file holds several currencies. */
  underlying?: string;
  asOfMs?: number;
  parity: ParityOptions;
}

function currencyOf(row: string[], col: (n: string) => number | undefined): string {
  const c = cell(row, col('currency'));
  if (c) return c.toUpperCase();
  return cell(row, col('instrument_name')).split('-')[0].toUpperCase();
}

export function readDeribit(table: Table, opts: DeribitOptions): VenueRead {
  const col = (n: string) => table.index.get(n);
  const currencies = [...new Set(table.rows.map((r) => currencyOf(r, col)).filter((c) => c !== ''))].sort();
  let want = opts.underlying?.toUpperCase();
  if (want === undefined) {
    if (currencies.length > 1) {
      throw new MarketFormatError(`Deribit file holds ${currencies.join(' and ')}: choose one with --underlying`);
    }
    want = currencies[0];
  } else if (currencies.length > 0 && !currencies.includes(want)) {
    throw new MarketFormatError(`no ${want} rows in this Deribit file (it holds ${currencies.join(', ') || 'none'})`);
  }

  const excluded: Exclusion[] = [];
  const candidates: Candidate[] = [];
  // First pass: the as-of time is the latest timestamp of the chosen currency unless given.
  let asOfMs = opts.asOfMs;
  if (asOfMs === undefined) {
    for (const r of table.rows) {
      if (currencyOf(r, col) !== want) continue;
      const t = parseIsoUtc(cell(r, col('timestamp')));
      if (t !== null && (asOfMs === undefined || t > asOfMs)) asOfMs = t;
    }
    if (asOfMs === undefined && table.rows.some((r) => currencyOf(r, col) === want)) {
      throw new MarketFormatError('Deribit file has no parseable timestamp: give --as-of');
    }
  }

  table.rows.forEach((r, i) => {
    const row = i + 1;
    const cur = currencyOf(r, col);
    if (cur === '') {
      excluded.push({ row, reason: 'invalid_input', field: 'currency', detail: 'no currency and no instrument_name' });
      return;
    }
    if (cur !== want) {
      excluded.push({ row, reason: 'wrong_underlying', detail: `${cur} row, ${want} selected` });
      return;
    }
    try {
      candidates.push(readRow(r, row, col, want!, asOfMs!));
    } catch (e) {
      if (!(e instanceof RowFault)) throw e;
      excluded.push({ row, reason: 'invalid_input', field: e.field, detail: e.detail });
    }
  });

  const expiries: VenueExpiry[] = [];
  for (const [expiry, qs] of byExpiry(candidates)) {
    // One underlying per expiry at Deribit; take the median in case the bulk call straddled a tick.
    const f = qs.map((q) => q.forward).sort((a, b) => a - b)[qs.length >> 1];
    const fit = parityFit(qs, f, opts.parity);
    expiries.push({ expiry, T: qs[0].T, forward: f, discount: 1, forwardSource: 'venue', ...(fit ? { parity: fit } : {}) });
  }
  return {
    venue: 'deribit',
    rowsIn: table.rows.length,
    candidates,
    excluded,
    expiries,
    asOfMs,
    notes: [
      `Deribit ${want ?? '(no rows)'}: USD price = coin price x row underlying (forward); r = 0; T ACT/365 from ${asOfMs !== undefined ? isoUtc(asOfMs) : '(no rows)'}`,
    ],
  };
}

function readRow(r: string[], row: number, col: (n: string) => number | undefined, currency: string, asOfMs: number): Candidate {
  const strike = nonNegativeCell(r, col('strike'), 'strike', true)!;
  if (!(strike > 0)) throw new RowFault('strike', `strike must be positive, got ${strike}`);
  const type = cell(r, col('option_type')).toLowerCase();
  if (type !== 'call' && type !== 'put') throw new RowFault('option_type', `option_type "${type}" is not call/put`);
  const expiryText = cell(r, col('expiry_datetime'));
  const expiryMs = parseIsoUtc(expiryText);
  if (expiryMs === null) throw new RowFault('expiry_datetime', `expiry_datetime "${expiryText}" is not an ISO date/time`);
  const forward = nonNegativeCell(r, col('underlying'), 'underlying', true)!;
  if (!(forward > 0)) throw new RowFault('underlying', `underlying must be positive, got ${forward}`);
  const bidCoin = nonNegativeCell(r, col('bid_price'), 'bid_price', false);
  const askCoin = nonNegativeCell(r, col('ask_price'), 'ask_price', false);
  const markCoin = nonNegativeCell(r, col('mark_price'), 'mark_price', false);
  const tsText = cell(r, col('timestamp'));
  const timestampMs = tsText === '' ? undefined : parseIsoUtc(tsText);
  if (timestampMs === null) throw new RowFault('timestamp', `timestamp "${tsText}" is not an ISO date/time`);

  const bid = bidCoin === undefined ? undefined : bidCoin * forward;
  const ask = askCoin === undefined ? undefined : askCoin * forward;
  let price: number;
  if (bid !== undefined && ask !== undefined) price = 0.5 * (bid + ask);
  else if (markCoin !== undefined) price = markCoin * forward;
  else throw new RowFault('bid_price', 'no price: bid/ask one-sided and no mark_price');

  const q: Candidate = {
    row,
    T: yearFraction365(asOfMs, expiryMs),
    expiry: isoUtc(expiryMs),
    expiryMs,
    strike,
    isCall: type === 'call',
    price,
    forward,
    discount: 1,
    rate: 0,
    div: 0,
    venue: 'deribit',
    underlying: currency,
  };
  if (bid !== undefined) q.bid = bid;
  if (ask !== undefined) q.ask = ask;
  const spot = nonNegativeCell(r, col('index_price'), 'index_price', false);
  if (spot !== undefined && spot > 0) q.spot = spot;
  const venueIv = nonNegativeCell(r, col('implied_volatility'), 'implied_volatility', false);
  if (venueIv !== undefined) q.venueIv = venueIv;
  const oi = nonNegativeCell(r, col('open_interest'), 'open_interest', false);
  if (oi !== undefined) q.openInterest = oi;
  const vol = nonNegativeCell(r, col('volume'), 'volume', false);
  if (vol !== undefined) q.volume = vol;
  if (timestampMs !== undefined) {
    q.timestampMs = timestampMs;
    q.timestamp = tsText;
  }
  return q;
}
