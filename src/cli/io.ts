import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { ReadOptions } from '../market/canonical.js';
import { parseNumberFlag } from './parse.js';
import { BACKEND_REQUESTS } from '../backends/backend.js';

/** The `--backend auto|webgpu|cpu` option every command shares. */
export function backendOption(): Option {
  return new Option('--backend <name>', 'where to compute').choices([...BACKEND_REQUESTS]).default('auto');
}

/** Writes to `--out` when given, else to stdout. */
export function emit(text: string, out?: string): void {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  if (out) writeFileSync(out, body);
  else process.stdout.write(body);
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
