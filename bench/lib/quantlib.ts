/**
 * Runs a QuantLib-Python script (Debian's quantlib-python, via /usr/bin/python3) with a JSON
 * payload on stdin and returns its JSON stdout, so benches compare with QuantLib in the same run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.VOLFIT_QUANTLIB_PYTHON ?? '/usr/bin/python3';

export function quantlibAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import QuantLib'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Runs bench/quantlib/<script> with `payload` as JSON on stdin; the script prints one JSON object. */
export function runQuantLib<T>(script: string, payload: unknown): T {
  const path = fileURLToPath(new URL(`../quantlib/${script}`, import.meta.url));
  const r = spawnSync(PYTHON, [path], {
    input: JSON.stringify(payload),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`QuantLib script ${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
