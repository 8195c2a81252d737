/**
 * The days of a backtest: a folder of daily venue snapshots (each file normalized on its own; its
 * date from a YYYY-MM-DD in the file name, else the snapshot's as-of time) or one canonical CSV with
 * a `date` column (split by surfacesFromCsv). Each day keeps every exclusion with its reason, and
 * the book statistics the stale test reads.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { surfacesFromCsv } from '../calibrator/manyCsv.js';
import { blackImpliedVol } from '../calibrator/black.js';
import type { CalibrationQuote } from '../calibrator/quotes.js';
import { normalize, type NormalizeOptions } from '../market/normalize.js';
import type { Venue } from '../market/types.js';
import { MarketFormatError } from '../market/errors.js';
import { parseIsoUtc } from '../market/time.js';

/** A quote of a day, with its Black vol (market), the expiry label of the file and its quote time (ISO, when the venue gives one: what a published update's timestamp is). */
export type DayQuote = CalibrationQuote & { iv: number; expiry: string; timestamp?: string };

export interface BookStats {
  rows_in: number;
  quotes: number;
  /** Rows with no bid or no ask, over rows_in; null when the file carries no bid/ask (a canonical quote set). */
  one_sided_share: number | null;
  /** Median (ask - bid) / mid over the quotes kept; null without bid and ask. */
  median_rel_spread: number | null;
  /** Median age of the quotes at the snapshot's as-of time, hours; null without quote timestamps. */
  median_age_hours: number | null;
}

export interface Day {
  date: string;
  /** The file it came from (a folder's file, or the split CSV). */
  source: string;
  quotes: DayQuote[];
  excluded: Array<{ row: number; reason: string }>;
  book: BookStats;
}

export interface InputOptions {
  venue?: Venue | 'auto';
  underlying?: string;
  from?: string;
  to?: string;
}

export class BacktestInputError extends Error {}

const DATE = /(\d{4}-\d{2}-\d{2})/;

function median(v: number[]): number | null {
  if (v.length === 0) return null;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function inRange(date: string, o: InputOptions): boolean {
  return (o.from === undefined || date >= o.from) && (o.to === undefined || date <= o.to);
}

/** The files of a folder that hold a day (a date in the name); others (index.csv) are listed in `skipped`. */
export function dayFiles(dir: string): { files: Array<{ date: string; path: string }>; skipped: string[] } {
  const names = readdirSync(dir).filter((n) => /\.csv$/i.test(n)).sort();
  const files: Array<{ date: string; path: string }> = [];
  const skipped: string[] = [];
  for (const n of names) {
    const m = DATE.exec(n);
    if (m) files.push({ date: m[1], path: join(dir, n) });
    else skipped.push(n);
  }
  return { files, skipped };
}

function spreadAndAge(quotes: ReadonlyArray<{ bid?: number; ask?: number; timestamp?: string }>, asOf: string | undefined): Pick<BookStats, 'median_rel_spread' | 'median_age_hours'> {
  const spreads = quotes.flatMap((q) => (q.bid !== undefined && q.ask !== undefined && q.bid + q.ask > 0 ? [(2 * (q.ask - q.bid)) / (q.ask + q.bid)] : []));
  const asOfMs = asOf !== undefined ? parseIsoUtc(asOf) : null;
  const ages =
    asOfMs === null
      ? []
      : quotes.flatMap((q) => {
          const t = q.timestamp !== undefined ? parseIsoUtc(q.timestamp) : null;
          return t === null ? [] : [(asOfMs - t) / 3_600_000];
        });
  return { median_rel_spread: median(spreads), median_age_hours: median(ages) };
}

/** One venue snapshot normalized into a day. */
export function dayFromFile(path: string, date: string | undefined, o: InputOptions): Day {
  const opts: NormalizeOptions = { venue: o.venue ?? 'auto', ...(o.underlying ? { underlying: o.underlying } : {}) };
  let n;
  try {
    n = normalize(readFileSync(path, 'utf8'), opts);
  } catch (e) {
    if (e instanceof MarketFormatError) throw new BacktestInputError(`${path}: ${e.message}`);
    throw e;
  }
  const d = date ?? n.asOf?.slice(0, 10);
  if (!d) throw new BacktestInputError(`${path}: no date in the file name and no as-of time in the file`);
  const counts = n.exclusionCounts();
  const oneSided = (counts.no_bid ?? 0) + (counts.no_ask ?? 0);
  const twoSidedKnown = n.venue !== 'canonical' || n.quotes.some((q) => q.bid !== undefined);
  return {
    date: d,
    source: path,
    quotes: n.quotes.map((q) => ({ row: q.row, T: q.T, strike: q.strike, isCall: q.isCall, price: q.price, forward: q.forward, discount: q.discount, iv: q.iv, weight: q.weight, bid: q.bid, ask: q.ask, expiry: q.expiry, ...(q.timestamp !== undefined ? { timestamp: q.timestamp } : {}) })),
    excluded: n.excluded.map((e) => ({ row: e.row, reason: e.detail ? `${e.reason}: ${e.detail}` : e.reason })),
    book: {
      rows_in: n.rowsIn,
      quotes: n.quotes.length,
      one_sided_share: twoSidedKnown && n.rowsIn > 0 ? oneSided / n.rowsIn : null,
      ...spreadAndAge(n.quotes, n.asOf),
    },
  };
}

/** A canonical CSV with a `date` column, split into days. Quotes without a Black vol are excluded here, with the reason. */
export function daysFromCsv(path: string, o: InputOptions): Day[] {
  const { column, surfaces } = surfacesFromCsv(readFileSync(path, 'utf8'), { column: 'date' });
  if (column === null) throw new BacktestInputError(`${path}: no date column`);
  return surfaces.map((s) => {
    const date = s.name!;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new BacktestInputError(`${path}: date "${date}" is not YYYY-MM-DD`);
    const excluded = [...(s.excluded ?? [])];
    const quotes: DayQuote[] = [];
    for (const q of s.quotes as ReadonlyArray<CalibrationQuote & { expiry?: string }>) {
      const iv = q.iv !== undefined && q.iv > 0 ? q.iv : blackImpliedVol(q.price, q.forward, q.strike, q.T, q.isCall, q.discount);
      if (iv === null || !(iv > 0)) excluded.push({ row: q.row, reason: 'no_implied_vol' });
      else quotes.push({ ...q, iv, expiry: q.expiry ?? String(q.T) });
    }
    return {
      date,
      source: path,
      quotes,
      excluded: excluded.sort((a, b) => a.row - b.row),
      book: { rows_in: quotes.length + excluded.length, quotes: quotes.length, one_sided_share: null, ...spreadAndAge(quotes, undefined) },
    };
  }).filter((d) => inRange(d.date, o)).sort((a, b) => (a.date < b.date ? -1 : 1));
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** What an input holds, without reading the snapshots: dates in order and where each comes from. */
export interface DayPlan {
  date: string;
  /** Loads the day (normalizes a snapshot file; a split CSV's day is already read). */
  load: () => Day;
}

export function planDays(input: string, o: InputOptions): { days: DayPlan[]; notes: string[] } {
  if (isDirectory(input)) {
    const { files, skipped } = dayFiles(input);
    const seen = new Map<string, string>();
    for (const f of files) {
      const prev = seen.get(f.date);
      if (prev) throw new BacktestInputError(`${input}: two files for ${f.date} (${basename(prev)}, ${basename(f.path)})`);
      seen.set(f.date, f.path);
    }
    const days = files.filter((f) => inRange(f.date, o)).map((f) => ({ date: f.date, load: () => dayFromFile(f.path, f.date, o) }));
    const notes = skipped.length ? [`not a daily snapshot (no YYYY-MM-DD in the name), skipped: ${skipped.join(', ')}`] : [];
    return { days, notes };
  }
  const days = daysFromCsv(input, o);
  const seen = new Set<string>();
  for (const d of days) {
    if (seen.has(d.date)) throw new BacktestInputError(`${input}: date ${d.date} appears in two separate blocks`);
    seen.add(d.date);
  }
  return { days: days.map((d) => ({ date: d.date, load: () => d })), notes: [] };
}
