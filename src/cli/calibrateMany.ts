/**
 * `volfit calibrate` with many surfaces: `--input a.csv --input b.csv ...`, `--input <folder>`
 * (every .csv in it, sorted by name), or a canonical CSV with a `surface` (else `date`) column
 * that splits it. With more than one surface the output is JSON Lines, one line per surface in
 * input order (written as soon as every surface before it is done), each naming its `surface`:
 * the file path as given (a folder's files as folder/name.csv) for files; the column's value for a
 * split file (`path:value` when several files are given). A surface that fails is a line
 * `{"surface", "model", "error", "error_kind", "seconds"}` and does not stop the others; the
 * command then ends with a one-line error naming the failures (exit code 2) after every line is out.
 * Progress on stderr: surfaces done / total, ETA. `--out` writes the same JSON Lines file.
 * `--threads N` sizes the CPU worker pool (calibrateMany). One surface: the single-fit path as before.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stderrLogger } from '../backends/backend.js';
import { calibrateMany, isSurfaceFailure, type ManySurface, type SurfaceOutcome } from '../calibrator/many.js';
import { SURFACE_COLUMNS, surfacesFromCsv } from '../calibrator/manyCsv.js';
import type { PriorSource } from '../calibrator/posterior.js';
import { CanonicalFormatError, type ReadOptions } from '../market/canonical.js';
import { cell, findColumn, readTable } from '../market/table.js';
import type { McOptions } from '../engines/mc/plan.js';
import type { Model } from '../models/types.js';
import { UserError } from './errors.js';
import { readOptionsFrom, writeOutput } from './io.js';
import { parseIntegerFlag, readInput } from './parse.js';

/** Commander collector: `--input` may be given many times. */
export function collectInputs(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** One surface of the command line: a quote set to fit, or a file that could not be read as one. */
export interface ManyEntry {
  name: string;
  surface?: ManySurface;
  error?: string;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The quote files of the `--input`s: a folder gives its .csv files sorted by name; nothing is read yet. */
export function expandInputs(inputs: readonly string[]): string[] {
  return inputs.flatMap((p) => {
    if (!isDirectory(p)) return [p];
    let names: string[];
    try {
      names = readdirSync(p);
    } catch (e) {
      throw new UserError(`--input ${p}: cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const csv = names.filter((n) => /\.csv$/i.test(n) && !isDirectory(join(p, n))).sort();
    if (csv.length === 0) throw new UserError(`--input ${p}: no .csv files in this folder`);
    return csv.map((n) => join(p, n));
  });
}

/** How many distinct values the file's surface/date column has (0 without one or when the file is not a table). */
function surfaceCount(text: string): number {
  try {
    const table = readTable(text, (m) => new CanonicalFormatError(m));
    const col = findColumn(table, SURFACE_COLUMNS);
    if (col === undefined) return 0;
    return new Set(table.rows.map((r) => cell(r, col))).size;
  } catch {
    return 0;
  }
}

/** The surfaces of one file: itself, or its split by the surface/date column. */
function fileEntries(path: string, text: string, read: ReadOptions, prefix: boolean): ManyEntry[] {
  try {
    if (surfaceCount(text) <= 1) {
      const { surfaces } = surfacesFromCsv(text, { read, column: null });
      const quotes = surfaces.flatMap((s) => s.quotes);
      const excluded = surfaces.flatMap((s) => s.excluded ?? []);
      if (quotes.length === 0 && excluded.length === 0) return [{ name: path, error: 'no quotes to calibrate to (empty quote set)' }];
      return [{ name: path, surface: { name: path, quotes, excluded } }];
    }
    const { surfaces } = surfacesFromCsv(text, { read });
    return surfaces.map((s) => {
      const name = prefix ? `${path}:${s.name}` : s.name!;
      return { name, surface: { ...s, name } };
    });
  } catch (e) {
    if (e instanceof CanonicalFormatError) return [{ name: path, error: e.message }];
    throw e;
  }
}

/** Whether the files hold more than one surface (several files, or one split by a surface/date column). */
export function isMany(files: readonly string[]): boolean {
  return files.length > 1 || surfaceCount(readInput(files[0])) > 1;
}

/** The surfaces of the files, in order. Unreadable files are one-line errors before any fit. */
export function manyEntries(files: readonly string[], read: ReadOptions): ManyEntry[] {
  const texts = files.map((f) => readInput(f));
  return files.flatMap((f, i) => fileEntries(f, texts[i], read, files.length > 1));
}

export interface ManyContext {
  /** Commander's options of `volfit calibrate`. */
  o: Record<string, string | boolean | string[] | undefined>;
  model: Model;
  start?: Record<string, number> | PriorSource;
  startIsFile: boolean;
  prior?: PriorSource;
  mc: McOptions;
  /** Slice models: {arbitrageFree} from --no-arbitrage / --allow-arbitrage. */
  slices?: { arbitrageFree?: boolean };
}

function eta(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.round(seconds - 60 * m)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export async function calibrateManyCli(files: readonly string[], ctx: ManyContext): Promise<void> {
  const o = ctx.o;
  const threads = o.threads !== undefined ? parseIntegerFlag('--threads', String(o.threads), 1, 1024) : undefined;
  const entries = manyEntries(files, readOptionsFrom(o as Parameters<typeof readOptionsFrom>[0]));
  const total = entries.length;
  const outcomes: Array<SurfaceOutcome | undefined> = entries.map((e) =>
    e.error !== undefined ? { surface: e.name, model: ctx.model.name, error: e.error, error_kind: 'input', seconds: 0 } : undefined,
  );
  const runnable = entries.flatMap((e, i) => (e.surface ? [{ surface: e.surface, at: i }] : []));
  const lines: string[] = [];
  let flushed = 0;
  const flush = () => {
    while (flushed < total && outcomes[flushed] !== undefined) {
      const line = JSON.stringify(outcomes[flushed]);
      lines.push(line);
      process.stdout.write(line + '\n');
      flushed++;
    }
  };
  flush();
  const prefailed = total - runnable.length;
  const t0 = Date.now();
  let lastPrint = 0;
  await calibrateMany(
    runnable.map((r) => r.surface),
    {
      model: ctx.model,
      backend: o.backend as 'auto' | 'cpu' | 'webgpu',
      objective: o.objective as 'iv' | 'price',
      start: ctx.start,
      prior: ctx.prior,
      route: o.route as 'auto' | 'lm' | 'global',
      constraints: o.feller ? 'penalty' : 'ignore',
      mc: ctx.mc,
      slices: ctx.slices,
      threads,
      log: stderrLogger,
      onResult: (outcome, i) => {
        outcomes[runnable[i].at] = outcome;
        flush();
      },
      // surfaces done / total and the ETA, at most once a second, and always the last.
      progress: (e) => {
        const now = Date.now();
        if (e.done < e.total && now - lastPrint < 1000) return;
        lastPrint = now;
        const failed = prefailed + e.failed;
        process.stderr.write(
          `volfit: calibrate: ${prefailed + e.done} / ${total} surfaces done${failed ? ` (${failed} failed)` : ''}, ${((now - t0) / 1000).toFixed(1)} s, ETA ${eta(e.eta_seconds)}\n`,
        );
      },
    },
  );
  flush();
  if (o.out !== undefined) writeOutput('--out', String(o.out), lines.map((l) => l + '\n').join(''));
  const failures = outcomes.filter((r): r is SurfaceOutcome => r !== undefined && isSurfaceFailure(r));
  if (failures.length) {
    const shown = failures.slice(0, 3).map((f) => `${f.surface}: ${isSurfaceFailure(f) ? f.error : ''}`).join('; ');
    throw new UserError(
      `${failures.length} of ${total} surfaces failed (${shown}${failures.length > 3 ? '; ...' : ''})${failures.length < total ? "; the other surfaces' fits are in the output" : ''}`,
    );
  }
}
