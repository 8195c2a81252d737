/**
 * The BTC QuantLib anchor (data/deribit-btc-daily-quantlib-anchor), shared by bench/many and
 * bench/backtest: its quote sets split by date, QuantLib's recorded per-day result files, and the
 * payload bench/quantlib/anchor.py reads.
 */
import { readFileSync } from 'node:fs';
import { surfacesFromCsv } from '../../src/calibrator/manyCsv.js';
import type { ManySurface } from '../../src/calibrator/many.js';

export const ANCHOR = new URL('../../data/deribit-btc-daily-quantlib-anchor/', import.meta.url);
export const ANCHOR_CSV = new URL('quote_sets_canonical.csv', ANCHOR);
/** QuantLib's cold start in SOURCE.md (and day 1 of its warm chain). */
export const ANCHOR_COLD_START = { v0: 0.4, kappa: 2, theta: 0.4, sigma: 1, rho: 0 };

export function anchorSurfaces(): ManySurface[] {
  return surfacesFromCsv(readFileSync(ANCHOR_CSV, 'utf8')).surfaces;
}

/** One of QuantLib's recorded files (quantlib_heston_warm.csv, ...): rows by date, numeric columns as numbers. */
export function recordedRows(file: string): Map<string, Record<string, number | string>> {
  const lines = readFileSync(new URL(file, ANCHOR), 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  return new Map(
    lines.slice(1).map((l) => {
      const c = l.split(',');
      const row = Object.fromEntries(head.map((h, i) => [h, Number.isNaN(Number(c[i])) ? c[i] : Number(c[i])]));
      return [c[0], row];
    }),
  );
}

/** bench/quantlib/anchor.py's payload: the surfaces' quotes as QuantLib reads them. */
export function quantlibDays(surfaces: readonly ManySurface[]) {
  return surfaces.map((s) => ({ date: s.name!, quotes: s.quotes.map((q) => ({ T: q.T, K: q.strike, F: q.forward, iv: q.iv, call: q.isCall })) }));
}
