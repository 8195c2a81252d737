/**
 * One entry point to fit any model the demo and the report know, through `calibrate` on the
 * chosen backend: slice models (black: flat vol per expiry, closed form; ssvi, svi, essvi) take
 * calibrate's slice path, process models the pricer of their registry engine (COS for the
 * characteristic-function models, src/engines/registry.ts). Also the warm-started refit the
 * report's Greeks bootstrap runs.
 */
import { selectBackend, type Backend, type BackendRequest, type Logger } from '../backends/backend.js';
import { calibrate, type CalibrateOptions } from '../calibrator/calibrate.js';
import { calibrateMany, isSurfaceFailure } from '../calibrator/many.js';
import { getModel, isSliceModel, type Model } from '../models/index.js';
import type { FitResult } from '../report/fit.js';
import type { Refit } from '../report/stability.js';
import type { ReportQuote } from '../report/types.js';

/**
 * The backend for a request, except that `auto` passes over a software WebGPU adapter
 * (SwiftShader, llvmpipe): there the f64 CPU backend is both faster (seconds, not minutes, for
 * the demo) and exact. A backend asked for by name is always used.
 */
export async function chooseFitBackend(request: BackendRequest, log: Logger): Promise<Backend> {
  if (request !== 'auto') return selectBackend(request, log);
  const quiet: Logger = () => {};
  const b = await selectBackend('auto', quiet);
  if (b.name === 'webgpu' && b.gpu.software) {
    log(`backend cpu: the only WebGPU adapter is a software rasteriser (${b.gpu.adapterDescription}), slower than the f64 CPU backend; --backend webgpu uses it anyway`);
    return selectBackend('cpu', quiet);
  }
  log(`backend ${b.description}`);
  return b;
}

export interface FitOptions {
  backend: Backend;
  /** Warm start: a previous fit of the same model (its model and parameters). */
  start?: Pick<FitResult, 'model' | 'params'>;
  route?: CalibrateOptions['route'];
  /** Parameter bounds overriding the model's (e.g. {lambda: [0, 10]}). */
  bounds?: CalibrateOptions['bounds'];
  log?: Logger;
  progress?: CalibrateOptions['progress'];
}

/**
 * A warm start exactly on a bound (a fit that ended there) maps to an infinite unconstrained
 * coordinate: pull such values a hair (1e-9 of the range) inside.
 */
export function insideBounds(m: Model, params: Record<string, number>, bounds: FitOptions['bounds'] = {}): Record<string, number> {
  const out = { ...params };
  for (const s of m.params) {
    const [lo, hi] = bounds[s.name] ?? [s.lower, s.upper];
    const v = out[s.name];
    if (v === undefined) continue;
    const eps = 1e-9 * (Number.isFinite(hi - lo) ? hi - lo : Math.max(1, Math.abs(v)));
    out[s.name] = Math.min(Math.max(v, lo + eps), hi - eps);
  }
  return out;
}

export async function fitModel(model: string, quotes: readonly ReportQuote[], opts: FitOptions): Promise<FitResult> {
  const m = getModel(model);
  if (isSliceModel(m)) return calibrate(quotes, { model: m, backend: opts.backend, log: opts.log });
  return calibrate(quotes, {
    model: m,
    backend: opts.backend,
    start: opts.start ? { model: opts.start.model, params: insideBounds(m, opts.start.params, opts.bounds) } : undefined,
    route: opts.route,
    bounds: opts.bounds,
    log: opts.log,
    progress: opts.progress,
  });
}

/**
 * Refits for the bootstrap: LM from the fit's parameters (no global stage: the start is good),
 * every quote set a surface of one calibrateMany batch (the CPU's worker pool, or one WebGPU
 * dispatch per LM iteration for all of them).
 */
export function warmRefit(
  backend: Backend,
  log?: Logger,
  bounds: Record<string, CalibrateOptions['bounds']> = {},
): Refit {
  return async (sets, start) => {
    const m = getModel(start.model);
    const b = bounds[start.model];
    const params = insideBounds(m, start.params, b);
    const surfaces = sets.map((quotes, i) => ({ name: `refit ${i + 1}`, quotes, model: m.name, start: { model: m.name, params }, route: 'lm' as const, bounds: b }));
    const outcomes = await calibrateMany(surfaces, { backend, ...(log ? { log } : {}) });
    return outcomes.map((o) => (isSurfaceFailure(o) ? new Error(o.error) : o));
  };
}
