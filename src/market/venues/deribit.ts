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
import { cell, type TableHead } from '../table.js';
import { nonNegativeCell, RowFault, storeRow } from './rowFault.js';
import { parseIsoUtc, yearFraction365, isoUtc } from '../time.js';
import type { Candidate } from '../types.js';
import { parityFit, type ParityOptions } from '../forwards.js';
import { candidateOf, ExclusionLog, expiryGroups, QuoteRows, views, type CandidateField } from '../rows.js';
import type { VenueRead, VenueReader } from './reader.js';

export const DERIBIT_COLUMNS = ['instrument_name', 'option_type', 'strike', 'expiry_datetime', 'underlying', 'bid_price', 'ask_price', 'mark_price'] as const;

export interface DeribitOptions {
  /** BTC or ETH; required when the file holds several currencies. */
  underlying?: string;
  asOfMs?: number;
  parity: ParityOptions;
}

type Col = (n: string) => number | undefined;

function currencyOf(row: string[], col: Col): string {
  const c = cell(row, col('currency'));
  if (c) return c.toUpperCase();
  return cell(row, col('instrument_name')).split('-')[0].toUpperCase();
}

/**
 * Reads a Deribit file. The currency to keep is `underlying`, or the file's only one (a file of
 * several without `underlying` is an error once read). Rows of the kept currency become
 * candidates; T waits for the as-of time, the latest timestamp of that currency unless given.
 */
export class DeribitReader implements VenueReader {
  private readonly rows = new QuoteRows();
  private readonly log = new ExclusionLog();
  private readonly col: Col;
  private readonly want: string | undefined;
  /** Without `underlying`: the first currency seen (any other makes the file an error). */
  private tentative: string | undefined;
  /** Per currency: rows, and the latest parseable timestamp (the default as-of time). */
  private readonly currencies = new Map<string, { rows: number; latestMs?: number }>();
  private rowsIn = 0;

  constructor(
    head: TableHead,
    private readonly opts: DeribitOptions,
  ) {
    this.col = (n) => head.index.get(n);
    this.want = opts.underlying?.toUpperCase();
  }

  read(records: string[][], firstRow: number): void {
    const col = this.col;
    for (let j = 0; j < records.length; j++) {
      const r = records[j];
      const row = firstRow + j;
      this.rowsIn++;
      const cur = currencyOf(r, col);
      if (cur === '') {
        this.log.add({ row, reason: 'invalid_input', field: 'currency', detail: 'no currency and no instrument_name' });
        continue;
      }
      let seen = this.currencies.get(cur);
      if (!seen) this.currencies.set(cur, (seen = { rows: 0 }));
      seen.rows++;
      const t = parseIsoUtc(cell(r, col('timestamp')));
      if (t !== null && (seen.latestMs === undefined || t > seen.latestMs)) seen.latestMs = t;
      const want = this.want ?? (this.tentative ??= cur);
      if (cur !== want) {
        // Without `underlying` a second currency makes the file an error in finish().
        if (this.want !== undefined) this.log.add({ row, reason: 'wrong_underlying', detail: `${cur} row, ${want} selected` });
        continue;
      }
      storeRow(this.rows, this.log, row, () => readRow(r, row, col, want));
    }
  }

  finish(): VenueRead {
    const { rows, opts } = this;
    const currencies = [...this.currencies.keys()].sort();
    let want = this.want;
    if (want === undefined) {
      if (currencies.length > 1) {
        throw new MarketFormatError(`Deribit file holds ${currencies.join(' and ')}: choose one with --underlying`);
      }
      want = currencies[0];
    } else if (currencies.length > 0 && !currencies.includes(want)) {
      throw new MarketFormatError(`no ${want} rows in this Deribit file (it holds ${currencies.join(', ') || 'none'})`);
    }
    const mine = want === undefined ? undefined : this.currencies.get(want);
    const asOfMs = opts.asOfMs ?? mine?.latestMs;
    if (asOfMs === undefined && (mine?.rows ?? 0) > 0) {
      throw new MarketFormatError('Deribit file has no parseable timestamp: give --as-of');
    }
    for (let i = 0; i < rows.length; i++) rows.T.set(i, yearFraction365(asOfMs!, rows.expiryMs.get(i)));

    const read: VenueRead = {
      venue: 'deribit',
      rowsIn: this.rowsIn,
      rows,
      log: this.log,
      groups: expiryGroups(rows),
      expiries: [],
      asOfMs,
      notes: [
        `Deribit ${want ?? '(no rows)'}: USD price = coin price x row underlying (forward); r = 0; T ACT/365 from ${asOfMs !== undefined ? isoUtc(asOfMs) : '(no rows)'}`,
      ],
      candidate: (i) => deribitCandidate(rows, i),
    };
    for (const g of read.groups) {
      const qs = views(rows, g.byT);
      // One underlying per expiry at Deribit; take the median in case the bulk call straddled a tick.
      const f = qs.map((q) => q.forward).sort((a, b) => a - b)[qs.length >> 1];
      const fit = parityFit(qs, f, opts.parity);
      read.expiries.push({ expiry: g.expiry, T: qs[0].T, forward: f, discount: 1, forwardSource: 'venue', ...(fit ? { parity: fit } : {}) });
    }
    return read;
  }
}

/** A stored candidate as readRow built it. */
const DERIBIT_FIELDS: readonly CandidateField[] = ['row', 'T', 'expiry', 'expiryMs', 'strike', 'isCall', 'price', 'forward', 'discount', 'rate', 'div', 'venue', 'underlying', 'bid', 'ask', 'spot', 'venueIv', 'openInterest', 'volume', 'timestampMs', 'timestamp'];

function deribitCandidate(rows: QuoteRows, i: number): Candidate {
  return candidateOf(rows, i, DERIBIT_FIELDS);
}

/** One row of the kept currency; T is set once the as-of time is known. */
function readRow(r: string[], row: number, col: Col, currency: string): Candidate {
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
    T: NaN,
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
