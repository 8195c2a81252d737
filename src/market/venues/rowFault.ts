/**
 * A bad cell in a venue row: the row is excluded as `invalid_input` with the field named, and
 * reading goes on with the next row.
 */
import { cell, parseNumber } from '../table.js';

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
