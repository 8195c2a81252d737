import { readFileSync } from 'node:fs';
import { parseNumber } from '../market/table.js';
import { UserError } from './errors.js';

// Numbers in flags are plain decimals with an optional exponent (`0.04`, `-1.5e-3`), read by the
// same parseNumber as CSV cells: Number() alone would also take '' and '  ' (as 0), hex '0x1',
// binary '0b1', octal '0o1' and 'Infinity', so a slip would pass as a value.
const decimal = parseNumber;

/** A numeric flag: undefined when absent, a clear error when not a finite decimal number. */
export function parseNumberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const x = decimal(value);
  if (x === null) throw new UserError(`${flag} must be a decimal number, got '${value}'`);
  return x;
}

/** An integer flag in [min, max] (decimal digits, or an exponent such as 1e6 that gives an integer). */
export function parseIntegerFlag(flag: string, value: string, min: number, max: number): number {
  const x = decimal(value);
  if (x === null || !Number.isInteger(x) || x < min || x > max) {
    throw new UserError(`${flag} must be an integer in [${min}, ${max}], got '${value}'`);
  }
  return x;
}

/** Comma-separated numbers (`--strikes 80,90,100`). */
export function parseNumberList(flag: string, value: string): number[] {
  return value.split(',').map((s, i) => {
    const x = decimal(s);
    if (x === null) throw new UserError(`${flag}: item ${i + 1} '${s}' is not a decimal number`);
    return x;
  });
}

/** `k=v,k=v` pairs of numbers (`--params v0=0.04,kappa=2`). */
export function parseKeyValues(flag: string, value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',').filter((s) => s.trim() !== '')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S*)\s*$/.exec(part);
    if (!m) throw new UserError(`${flag}: '${part}' is not name=value`);
    const x = decimal(m[2]);
    if (x === null) throw new UserError(`${flag}: ${m[1]}='${m[2]}' is not a number (decimal, e.g. 0.04 or 4e-2)`);
    if (m[1] in out) throw new UserError(`${flag}: ${m[1]} given twice`);
    out[m[1]] = x;
  }
  return out;
}

/** Reads an input file, turning a missing or unreadable file into a one-line error. */
export function readInput(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
