import { accessSync, closeSync, constants, openSync, realpathSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { tempNameBeside, writeFileAtomic } from '../util/files.js';
import { UserError } from './errors.js';
import type { ReadOptions } from '../market/canonical.js';
import { parseNumberFlag } from './parse.js';
import { BACKEND_REQUESTS } from '../backends/backend.js';

/** The `--backend auto|webgpu|cpu` option every command shares. */
export function backendOption(): Option {
  return new Option('--backend <name>', 'where to compute').choices([...BACKEND_REQUESTS]).default('auto');
}

/** Writes to `--out` when given (atomically: see writeOutput), else to stdout. */
export function emit(text: string, out?: string): void {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  if (out) writeOutput('--out', out, body);
  else process.stdout.write(body);
}

/**
 * Writes one output file atomically (temporary file beside it, then rename: a killed process
 * leaves the old file or none, never half a file). Failures are one-line errors naming the flag.
 * Check the path with checkOutputFile before the work; this is the write after it.
 */
export function writeOutput(flag: string, path: string, text: string): void {
  try {
    writeFileAtomic(path, text);
  } catch (e) {
    throw new UserError(`${flag} ${path}: cannot write (${errCode(e)})`);
  }
}

/** An input file an output must not overwrite (absent flags are skipped). */
export interface InputFile {
  flag: string;
  path: string | undefined;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Same file: same absolute path, or (both regular files) the same inode after links. */
function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  const sa = statOrNull(a);
  const sb = statOrNull(b);
  return !!sa && !!sb && sa.isFile() && sb.isFile() && sa.dev === sb.dev && sa.ino === sb.ino;
}

function refuseInputs(flag: string, shown: string, path: string, inputs: readonly InputFile[]): void {
  for (const input of inputs) {
    if (input.path !== undefined && sameFile(path, input.path)) {
      throw new UserError(`${flag} ${shown} is the same file as ${input.flag} ${input.path}; refusing to overwrite an input (choose another ${flag})`);
    }
  }
}

/** Whether a file can be created in `dir`: creates and removes a temporary file (an actual write). */
function writeProbe(dir: string): string | null {
  const probe = tempNameBeside(join(dir, 'volfit-write-test'));
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    return errCode(e);
  }
  try {
    unlinkSync(probe);
  } catch {
    // created but not removable: the folder is still writable for our purposes
  }
  return null;
}

/** The nearest existing ancestor of `abs` (itself included) with its stats. */
function firstExisting(flag: string, shown: string, abs: string): { path: string; stat: Stats } {
  let p = abs;
  for (;;) {
    try {
      return { path: p, stat: statSync(p) };
    } catch (e) {
      const code = errCode(e);
      const up = dirname(p);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || up === p) throw new UserError(`${flag} ${shown}: cannot use ${p} (${code})`);
      p = up;
    }
  }
}

/**
 * Checks a file output (`--out file`) before any work: not the same file as an input, not a
 * folder, its folder exists and a file can be created there (a real write probe, so /proc and
 * read-only places are refused). One-line UserError naming the flag and path otherwise.
 */
export function checkOutputFile(flag: string, path: string, inputs: readonly InputFile[] = []): void {
  if (path.trim() === '') throw new UserError(`${flag}: empty path`);
  refuseInputs(flag, path, path, inputs);
  const abs = resolve(path);
  const st = statOrNull(abs);
  if (st?.isDirectory()) throw new UserError(`${flag} ${path}: is a directory; a file name is needed`);
  if (st && !st.isFile()) {
    // A device or pipe (/dev/null, /dev/stdout) is written in place.
    try {
      accessSync(abs, constants.W_OK);
      return;
    } catch (e) {
      throw new UserError(`${flag} ${path}: cannot write (${errCode(e)})`);
    }
  }
  if (st) {
    try {
      accessSync(abs, constants.W_OK);
    } catch (e) {
      throw new UserError(`${flag} ${path}: existing file is not writable (${errCode(e)})`);
    }
  }
  // Where the file will be created (through a symbolic link: beside its target).
  const parent = dirname(st ? realpathOr(abs) : abs);
  const up = firstExisting(flag, path, parent);
  if (up.path !== parent) {
    const what = up.stat.isDirectory() ? `folder ${parent} does not exist` : `${up.path} is a file, not a folder`;
    throw new UserError(`${flag} ${path}: ${what}`);
  }
  if (!up.stat.isDirectory()) throw new UserError(`${flag} ${path}: ${parent} is not a folder`);
  const failed = writeProbe(parent);
  if (failed) throw new UserError(`${flag} ${path}: cannot create files in ${parent} (${failed})`);
}

function realpathOr(abs: string): string {
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/**
 * Checks a folder output (`--out dir` of report and demo) before any work: walks up to the first
 * existing ancestor (the folder itself when it exists), which must be a writable folder (write
 * probe); no existing component may be a file; none of `files` inside may be a folder or an
 * input. The folder is created only when written (src/util/files.ts makeDirs).
 */
export function checkOutputDir(flag: string, dir: string, files: readonly string[], inputs: readonly InputFile[] = []): void {
  if (dir.trim() === '') throw new UserError(`${flag}: empty path`);
  refuseInputs(flag, dir, dir, inputs);
  for (const f of files) refuseInputs(flag, join(dir, f), join(dir, f), inputs);
  const abs = resolve(dir);
  const up = firstExisting(flag, dir, abs);
  if (!up.stat.isDirectory()) {
    const what = up.path === abs ? 'is a file; a folder is needed' : `${up.path} is a file, not a folder`;
    throw new UserError(`${flag} ${dir}: ${what}`);
  }
  const failed = writeProbe(up.path);
  if (failed) throw new UserError(`${flag} ${dir}: cannot create files in ${up.path} (${failed})`);
  if (up.path === abs) {
    for (const f of files) {
      const st = statOrNull(join(abs, f));
      if (st?.isDirectory()) throw new UserError(`${flag} ${dir}: ${join(dir, f)} is a directory where a file is written`);
    }
  }
}

/** Adds `--as-of`, `--spot`, `--rate`, `--div` (read by readOptionsFrom) as iv and calibrate word them. */
export function withReadOptions(cmd: Command): Command {
  return cmd
    .option('--as-of <iso>', 'valuation time when expiries are dates')
    .option('--spot <x>', 'spot for rows without forward/spot')
    .option('--rate <r>', 'continuously compounded rate for rows without one (default 0)')
    .option('--div <q>', 'continuous dividend yield for rows without one (default 0)');
}

/** The canonical-CSV reader's options from the `--as-of`, `--spot`, `--rate`, `--div` flags. */
export function readOptionsFrom(o: { asOf?: string; spot?: string; rate?: string; div?: string }): ReadOptions {
  return {
    asOf: o.asOf,
    spot: parseNumberFlag('--spot', o.spot),
    rate: parseNumberFlag('--rate', o.rate),
    div: parseNumberFlag('--div', o.div),
  };
}
