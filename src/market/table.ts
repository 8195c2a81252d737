/**
 * CSV plumbing shared by every venue reader: text -> header + string cells, strict number
 * parsing, and a minimal RFC 4180 writer. Knows nothing about options.
 */
import { pipeline } from 'node:stream';
import { CsvError, parse as parseStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { MarketFormatError } from './errors.js';

/** The parser options of every read (readTable, streamTable). */
const CSV_OPTIONS = { bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, trim: true } as const;

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
    records = parse(text, CSV_OPTIONS) as string[][];
  } catch (e) {
    throw makeError(`unparseable CSV: ${(e as Error).message}`);
  }
  if (records.length === 0) throw makeError('empty file: no header row');
  const { header, index } = tableHead(records[0], makeError);
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

// ---------------------------------------------------------------------------------------------
// Streaming reads (issue 12): the same parse, records in batches, without the file's text, the
// whole array of cells or a second copy in memory.

/** The header of a table: what `readTable` gives besides its rows. */
export type TableHead = Omit<Table, 'rows'>;

/** A CSV being read: its header, then its data records in batches, in file order. */
export interface TableStream extends TableHead {
  /** Data records (blank lines skipped, as in readTable) in batches of at most `batchRows`. */
  batches(): AsyncGenerator<string[][]>;
  /** Stops reading (and releases the source) when the caller will not read to the end. */
  close(): void;
}

/** Header names and their index from a first record (readTable's and streamTable's rules). */
export function tableHead(record: string[], makeError: (message: string) => Error): TableHead {
  const delimiter = foreignDelimiter(record);
  if (delimiter) {
    throw makeError(`the file looks ${delimiter}-delimited; volfit reads comma-separated CSV (decimal point '.', one header line)`);
  }
  const header = record.map((h) => h.trim().toLowerCase());
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    if (h === '') return;
    if (index.has(h)) throw makeError(`column "${h}" appears twice in the header`);
    index.set(h, i);
  });
  return { header, index };
}

/**
 * Reads a CSV from a stream (text or bytes, e.g. `createReadStream(path, 'utf8')`) with
 * readTable's parser and rules: resolves once the header is read, then hands out the records in
 * batches. Parse errors are `makeError('unparseable CSV: ...')`, as in readTable; an error of the
 * source itself (a read failure) is thrown as it is.
 */
export async function streamTable(
  source: NodeJS.ReadableStream,
  makeError: (message: string) => Error = (m) => new MarketFormatError(m),
  batchRows = 512,
): Promise<TableStream> {
  const parser = parseStream(CSV_OPTIONS);
  pipeline(source, parser, () => {}); // errors reach the reader below through the parser
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<string[]>;
  const next = async (): Promise<IteratorResult<string[]>> => {
    try {
      return await records.next();
    } catch (e) {
      if (e instanceof CsvError) throw makeError(`unparseable CSV: ${e.message}`);
      throw e;
    }
  };
  const close = () => parser.destroy();
  let head: TableHead;
  try {
    const first = await next();
    if (first.done) throw makeError('empty file: no header row');
    head = tableHead(first.value, makeError);
  } catch (e) {
    close();
    throw e;
  }
  return {
    ...head,
    close,
    async *batches() {
      try {
        let batch: string[][] = [];
        for (let r = await next(); !r.done; r = await next()) {
          batch.push(r.value);
          if (batch.length >= batchRows) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length > 0) yield batch;
      } finally {
        close();
      }
    },
  };
}
