/**
 * CSV plumbing shared by every venue reader: text -> header + string cells, strict number
 * parsing, and a minimal RFC 4180 writer. Knows nothing about options.
 */
import { parse } from 'csv-parse/sync';
import { MarketFormatError } from './errors.js';

export interface Table {
  /** Header names, trimmed and lower-cased (matching is case-insensitive). */
  header: string[];
  /** Data records; record i (0-based) is data row i + 1. Blank lines are skipped and not counted. */
  rows: string[][];
  /** Lower-cased column name -> column index. */
  index: Map<string, number>;
}

/**
 * Parses CSV text. Throws `makeError(message)` for an empty or unparseable file or a duplicated
 * column; rows shorter or longer than the header are kept (missing cells read as blank), so one bad
 * row is reported against that row rather than failing the file.
 */
export function readTable(
  text: string,
  makeError: (message: string) => Error = (m) => new MarketFormatError(m),
): Table {
  if (typeof text !== 'string' || text.trim() === '') throw makeError('empty file: no header row');
  let records: string[][];
  try {
    records = parse(text, {
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      trim: true,
    }) as string[][];
  } catch (e) {
    throw makeError(`unparseable CSV: ${(e as Error).message}`);
  }
  if (records.length === 0) throw makeError('empty file: no header row');
  const delimiter = foreignDelimiter(records[0]);
  if (delimiter) {
    throw makeError(`the file looks ${delimiter}-delimited; volfit reads comma-separated CSV (decimal point '.', one header line)`);
  }
  const header = records[0].map((h) => h.trim().toLowerCase());
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    if (h === '') return;
    if (index.has(h)) throw makeError(`column "${h}" appears twice in the header`);
    index.set(h, i);
  });
  return { header, rows: records.slice(1), index };
}

/**
 * ';' or tab when a one-cell header holds that character and no comma: a file exported with another
 * delimiter (a European spreadsheet's ';', a TSV), which would otherwise read as one column and
 * fail with a puzzling "missing column". Such files are refused rather than guessed at: a
 * ;-delimited file often writes decimals with a comma (1,5), which no delimiter guess would fix.
 */
function foreignDelimiter(header: string[]): string | undefined {
  if (header.length !== 1) return undefined;
  const h = header[0];
  if (h.includes(';')) return ';';
  if (h.includes('\t')) return 'tab';
  return undefined;
}

/** First of `names` present in the table, or undefined. */
export function findColumn(table: Table, names: readonly string[]): number | undefined {
  for (const n of names) {
    const i = table.index.get(n);
    if (i !== undefined) return i;
  }
  return undefined;
}

/** Cell text (trimmed), '' when the column is absent or the row is short. */
export function cell(row: string[], col: number | undefined): string {
  if (col === undefined) return '';
  const v = row[col];
  return v === undefined ? '' : v.trim();
}

// Plain decimal or scientific notation only: Number() would also accept '', '0x1f', 'Infinity'.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite number, or null when the text is not one (blank, words, NaN, Infinity, hex). */
export function parseNumber(text: string): number | null {
  const t = text.trim();
  if (!NUMBER.test(t)) return null;
  const x = Number(t);
  return Number.isFinite(x) ? x : null;
}

/** Quotes a CSV field only where needed (comma, quote, newline), per RFC 4180. */
export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const s = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function writeCsv(header: string[], rows: unknown[][]): string {
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) lines.push(r.map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}
