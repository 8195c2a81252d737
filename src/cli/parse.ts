import { readFileSync } from 'node:fs';
import { UserError } from './errors.js';

/** A numeric flag: undefined when absent, a clear error when not a finite number. */
export function parseNumberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x)) throw new UserError(`${flag} must be a number, got '${value}'`);
  return x;
}

/** Comma-separated numbers (`--strikes 80,90,100`). */
export function parseNumberList(flag: string, value: string): number[] {
  return value.split(',').map((s, i) => {
    const x = Number(s);
    if (s.trim() === '' || !Number.isFinite(x)) throw new UserError(`${flag}: item ${i + 1} '${s}' is not a number`);
    return x;
  });
}

/** `k=v,k=v` pairs of numbers (`--params v0=0.04,kappa=2`). */
export function parseKeyValues(flag: string, value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',').filter((s) => s.trim() !== '')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) throw new UserError(`${flag}: '${part}' is not name=value`);
    const x = Number(m[2]);
    if (!Number.isFinite(x)) throw new UserError(`${flag}: ${m[1]}='${m[2]}' is not a number`);
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
