/**
 * `volfit localvol --surface fit.json [--grid NK,NT] [--k list] [--T list] [--k-range lo,hi]
 * [--t-range lo,hi] [--json] [--out file]`: the Dupire local-volatility grid of a fitted surface
 * (the JSON `volfit calibrate --model svi|ssvi|essvi` writes; src/surface/fitJson.ts).
 *
 * Grid: `--grid NK,NT` (default 41,20) = NK log-moneyness points k = ln(K / F_T) evenly on the k
 * range and NT expiries evenly on the T range; `--k` / `--T` give an axis explicitly instead
 * (comma-separated; write `--k=-0.5,0,0.5` when the list starts with a minus). k range default:
 * the fit's arbitrage-check grid (`arbitrage.grid.k_min/k_max`), else [-1, 1]; T range default:
 * the first to the last fitted expiry.
 *
 * Output: JSON {"model", "k": [...], "T": [...], "local_vol": [[...], ...], "errors": [...]}
 * with local_vol[i][j] at (T[i], k[j]) (a row per expiry); where the surface is not arbitrage-free
 * the cell is null and `errors` lists {"k", "T", "reason": "butterfly" | "calendar", "value"}
 * (value: g(k) or dw/dT; null when w <= 0). Such points are reported, never filled in; the command
 * still exits 0 (the grid is complete and faithful) and says how many on stderr. Without --json:
 * CSV `T,k,local_vol,error`, one row per point. Bad input: one line, exit 2.
 */
import { Command } from 'commander';
import { localVolGrid } from '../../surface/dupire.js';
import { parseSurfaceFit, SurfaceFitJsonError, type LoadedSurfaceFit } from '../../surface/fitJson.js';
import type { LocalVolError } from '../../surface/types.js';
import { UserError } from '../errors.js';
import { checkOutputFile, emit } from '../io.js';
import { parseNumberList, readInput } from '../parse.js';

export const LOCALVOL_SUMMARY = 'Dupire local-volatility grid of a fitted SVI, SSVI or eSSVI surface (fit JSON of calibrate --model svi|ssvi|essvi)';

const MAX_POINTS = 1_000_000;

/** Reads and loads `--surface`; every problem is one line naming the file and the field. */
export function readSurfaceFlag(path: string | undefined): LoadedSurfaceFit {
  if (path === undefined) throw new UserError('--surface fit.json is required (the JSON of volfit calibrate --model svi|ssvi|essvi)');
  const text = readInput(path);
  try {
    return parseSurfaceFit(text);
  } catch (e) {
    if (e instanceof SurfaceFitJsonError) throw new UserError(`--surface ${path}: ${e.message}`);
    throw e;
  }
}

function pair(flag: string, value: string): [number, number] {
  const xs = parseNumberList(flag, value);
  if (xs.length !== 2) throw new UserError(`${flag} must be two numbers lo,hi, got '${value}'`);
  if (!(xs[1] > xs[0])) throw new UserError(`${flag}: hi must be greater than lo, got '${value}'`);
  return [xs[0], xs[1]];
}

function counts(value: string): [number, number] {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  const n = m ? [Number(m[1]), Number(m[2])] : [];
  if (!m || n.some((x) => x < 2 || x > 10_000)) {
    throw new UserError(`--grid must be NK,NT: two integers in [2, 10000] (points in k and in T), got '${value}'`);
  }
  return [n[0], n[1]];
}

function spaced(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? hi : lo + ((hi - lo) * i) / (n - 1)));
}

function fitKRange(fit: LoadedSurfaceFit): [number, number] {
  const g = (fit.arbitrage as { grid?: { k_min?: unknown; k_max?: unknown } } | undefined)?.grid;
  const lo = g?.k_min, hi = g?.k_max;
  if (typeof lo === 'number' && typeof hi === 'number' && Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) return [lo, hi];
  return [-1, 1];
}

export interface LocalVolGridJson {
  model: string;
  k: number[];
  T: number[];
  local_vol: Array<Array<number | null>>;
  errors: Array<{ k: number; T: number; reason: 'butterfly' | 'calendar'; value: number | null }>;
}

/** The grid of the command (library form: the CLI prints this). */
export function localVolGridJson(fit: LoadedSurfaceFit, ks: number[], Ts: number[]): LocalVolGridJson {
  const { vol, errors } = localVolGrid(fit.surface, ks, Ts, { onError: 'collect' });
  return {
    model: fit.model,
    k: ks,
    T: Ts,
    local_vol: vol,
    errors: errors.map((e: LocalVolError) => ({ k: e.k, T: e.T, reason: e.reason, value: Number.isFinite(e.value) ? e.value : null })),
  };
}

export function register(program: Command): void {
  program
    .command('localvol')
    .description(LOCALVOL_SUMMARY)
    .option('--surface <file>', 'surface fit JSON (volfit calibrate --model svi|ssvi|essvi)')
    .option('--grid <NK,NT>', 'points in k and in T, evenly spaced on the ranges (default 41,20)')
    .option('--k <list>', 'explicit log-moneyness points k = ln(K/F_T), comma-separated (instead of NK; --k=-1,0,1)')
    .option('--T <list>', 'explicit expiries in years, comma-separated (instead of NT)')
    .option('--k-range <lo,hi>', 'k range of the grid (default: the fit\'s arbitrage-check range, else -1,1)')
    .option('--t-range <lo,hi>', 'T range of the grid in years (default: first to last fitted expiry)')
    .option('--json', 'JSON output {"model","k","T","local_vol","errors"}')
    .option('--out <file>', 'write here instead of stdout')
    .action((o) => {
      if (o.out !== undefined) checkOutputFile('--out', o.out, [{ flag: '--surface', path: o.surface }]);
      const fit = readSurfaceFlag(o.surface);
      if (o.grid !== undefined && o.k !== undefined && o.T !== undefined) throw new UserError('--grid has nothing to set when both --k and --T are given; drop one');
      if (o.k !== undefined && o.kRange !== undefined) throw new UserError('give either --k or --k-range, not both');
      if (o.T !== undefined && o.tRange !== undefined) throw new UserError('give either --T or --t-range, not both');
      const [nk, nt] = counts(o.grid ?? '41,20');
      let ks: number[];
      if (o.k !== undefined) {
        ks = parseNumberList('--k', o.k);
      } else {
        const [lo, hi] = o.kRange !== undefined ? pair('--k-range', o.kRange) : fitKRange(fit);
        ks = spaced(lo, hi, nk);
      }
      let Ts: number[];
      if (o.T !== undefined) {
        Ts = parseNumberList('--T', o.T);
        Ts.forEach((T, i) => {
          if (!(T > 0 && T <= 100)) throw new UserError(`--T: item ${i + 1} (${T}) must be a positive number of years (at most 100)`);
        });
      } else if (o.tRange !== undefined) {
        const [lo, hi] = pair('--t-range', o.tRange);
        if (!(lo > 0) || hi > 100) throw new UserError(`--t-range must lie in (0, 100] years, got '${o.tRange}'`);
        Ts = spaced(lo, hi, nt);
      } else {
        const T0 = fit.slices[0].T, T1 = fit.slices[fit.slices.length - 1].T;
        Ts = T1 > T0 ? spaced(T0, T1, nt) : [T0];
      }
      if (ks.length * Ts.length > MAX_POINTS) throw new UserError(`the grid has ${ks.length} x ${Ts.length} points; at most ${MAX_POINTS}`);
      const out = localVolGridJson(fit, ks, Ts);
      if (out.errors.length) {
        const by = (r: string) => out.errors.filter((e) => e.reason === r).length;
        process.stderr.write(
          `volfit: localvol: ${out.errors.length} of ${ks.length * Ts.length} grid points have no local vol (the surface has arbitrage there: ${by('butterfly')} butterfly, ${by('calendar')} calendar); they are null and listed in "errors"\n`,
        );
      }
      if (o.json) {
        emit(JSON.stringify(out), o.out);
      } else {
        const err = new Map(out.errors.map((e) => [`${e.T},${e.k}`, e.reason]));
        const lines = ['T,k,local_vol,error'];
        Ts.forEach((T, i) => ks.forEach((k, j) => lines.push(`${T},${k},${out.local_vol[i][j] ?? ''},${err.get(`${T},${k}`) ?? ''}`)));
        emit(lines.join('\n'), o.out);
      }
    });
}
