/**
 * A bad cell in a venue row: the row is excluded as `invalid_input` with the field named, and
 * reading goes on with the next row.
 */
import { cell, parseNumber } from '../table.js';
import type { ExclusionLog, QuoteRows } from '../rows.js';
import type { Candidate } from '../types.js';

export class RowFault {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {}
}

/** A non-negative number from a venue cell; empty is undefined unless `required`. */
export function nonNegativeCell(r: string[], c: number | undefined, field: string, required: boolean): number | undefined {
  const t = cell(r, c);
  if (t === '') {
    if (required) throw new RowFault(field, `${field} is empty`);
    return undefined;
  }
  const x = parseNumber(t);
  if (x === null) throw new RowFault(field, `${field} "${t}" is not a number`);
  if (x < 0) throw new RowFault(field, `${field} must not be negative, got ${t}`);
  return x;
}

/** Stores the candidate `read` builds from data row `row`, or logs its RowFault as `invalid_input`. */
export function storeRow(rows: QuoteRows, log: ExclusionLog, row: number, read: () => Candidate): void {
  try {
    rows.add(read());
  } catch (e) {
    if (!(e instanceof RowFault)) throw e;
    log.add({ row, reason: 'invalid_input', field: e.field, detail: e.detail });
  }
}
