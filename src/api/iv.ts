/**
 * Implied volatility of every row of a canonical quote CSV: the library side of `volfit iv`.
 * Rows whose fields do not parse get status `invalid_input` with the field named; they are never
 * dropped, so the output has one row per input row, in input order.
 * Both backends return f64-accurate volatilities (1e-12 relative wherever the price carries it):
 * on WebGPU the f32 kernel's solution gets one f64 Householder(3) step on the CPU
 * (impliedVolatilitiesGpu's default precision 'f64').
 */
import { parseCanonicalCsv, type ReadOptions } from '../market/canonical.js';
import { impliedVolatilities, type IvStatus } from '../engines/black/impliedVol.js';
import { impliedVolatilitiesGpu } from '../engines/black/gpu.js';
import { runOnBackend, selectBackend, stderrLogger, type BackendRequest, type Logger } from '../backends/backend.js';

export interface IvRow {
  row: number;
  iv: number | null;
  status: IvStatus;
  field?: string;
  message?: string;
}

export interface IvReport {
  backend: 'webgpu' | 'cpu';
  rows: IvRow[];
}

export async function impliedVolsFromCsv(
  text: string,
  opts: ReadOptions & { backend?: BackendRequest; log?: Logger } = {},
): Promise<IvReport> {
  const log = opts.log ?? stderrLogger;
  const { quotes, errors } = parseCanonicalCsv(text, opts);
  const n = quotes.length;
  const batch = {
    price: Float64Array.from(quotes, (q) => q.price),
    forward: Float64Array.from(quotes, (q) => q.forward),
    strike: Float64Array.from(quotes, (q) => q.strike),
    T: Float64Array.from(quotes, (q) => q.T),
    isCall: Uint8Array.from(quotes, (q) => (q.isCall ? 1 : 0)),
    discount: Float64Array.from(quotes, (q) => q.discount),
  };
  const backend = await selectBackend(opts.backend ?? 'auto', log);
  const { value, backend: ran } = await runOnBackend(
    backend,
    'implied volatility',
    (gpu) => impliedVolatilitiesGpu(gpu, batch),
    () => impliedVolatilities(batch),
    log,
  );
  const rows: IvRow[] = [];
  for (let i = 0; i < n; i++) {
    const ok = value.status[i] === 'ok';
    rows.push({ row: quotes[i].row, iv: ok ? value.iv[i] : null, status: value.status[i] });
  }
  for (const e of errors) rows.push({ row: e.row, iv: null, status: 'invalid_input', field: e.field, message: e.message });
  rows.sort((a, b) => a.row - b.row);
  return { backend: ran, rows };
}
