/**
 * surfacesFromCsv: one canonical quote CSV holding several surfaces (a `surface` column, or else a
 * `date` column, as in data/deribit-btc-daily-quantlib-anchor/quote_sets_canonical.csv) split
 * into calibrateMany's surfaces, in order of first appearance, named by the column's value.
 *
 * Rows keep their 1-based numbers in the whole file (header excluded, blank lines skipped, as
 * parseCanonicalCsv numbers them), so a surface's exclusions and residuals name rows of the file
 * that was read. Rows the reader cannot parse are that surface's `excluded` (merged into its
 * result as calibrateCsv does). A row with an empty surface cell is an error: a split file must
 * say which surface every row belongs to.
 */
import { CanonicalFormatError, parseCanonicalTable, type ReadOptions } from '../market/canonical.js';
import { cell, findColumn, readTable } from '../market/table.js';
import type { ManySurface } from './many.js';

/** Columns that split a file into surfaces, first found wins. */
export const SURFACE_COLUMNS = ['surface', 'date'] as const;

export interface SplitCsv {
  /** The column that split the file (lower case), or null when it has none (one surface). */
  column: string | null;
  surfaces: ManySurface[];
}

/**
 * `column`: the column to split by (case-insensitive); default the first of SURFACE_COLUMNS the
 * file has; null: no split (the whole file is one surface, named '').
 */
export function surfacesFromCsv(text: string, opts: { read?: ReadOptions; column?: string | null } = {}): SplitCsv {
  const table = readTable(text, (m) => new CanonicalFormatError(m));
  const col = opts.column === null ? undefined : findColumn(table, opts.column !== undefined ? [opts.column.toLowerCase()] : SURFACE_COLUMNS);
  if (typeof opts.column === 'string' && col === undefined) throw new CanonicalFormatError(`no "${opts.column}" column to split the file by`);
  const column = col === undefined ? null : table.header[col];
  const { quotes, errors } = parseCanonicalTable(table, opts.read ?? {});
  const keyOf = (row: number): string => {
    if (col === undefined) return '';
    const v = cell(table.rows[row - 1], col);
    if (v === '') throw new CanonicalFormatError(`row ${row}: the ${column} column is empty (a file split by ${column} needs it on every row)`);
    return v;
  };
  const byKey = new Map<string, ManySurface & { quotes: ManySurface['quotes'][number][]; excluded: Array<{ row: number; reason: string }> }>();
  const surfaceOf = (row: number) => {
    const key = keyOf(row);
    let s = byKey.get(key);
    if (!s) {
      s = { name: key, quotes: [], excluded: [] };
      byKey.set(key, s);
    }
    return s;
  };
  // In row order, so surfaces come in order of first appearance whichever rows parse.
  const events: Array<{ row: number; quote?: (typeof quotes)[number]; reason?: string }> = [
    ...quotes.map((q) => ({ row: q.row, quote: q })),
    ...errors.map((e) => ({ row: e.row, reason: `${e.field}: ${e.message}` })),
  ].sort((a, b) => a.row - b.row);
  for (const e of events) {
    const s = surfaceOf(e.row);
    if (e.quote) s.quotes.push(e.quote);
    else s.excluded.push({ row: e.row, reason: e.reason! });
  }
  return { column, surfaces: [...byKey.values()] };
}
