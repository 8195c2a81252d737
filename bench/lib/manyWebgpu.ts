/**
 * bench/many's WebGPU column: calibrateMany with backend 'webgpu' on a set of surfaces (all of a
 * row's surfaces, or a stated sample of them), each fit checked against the same surface's f64
 * CPU fit and, where known, the true parameters.
 */
import os from 'node:os';
import type { GpuContext } from '../../src/backends/webgpu/device.js';
import { calibrateMany, isSurfaceFailure, type CalibrateManyOptions, type ManySurface } from '../../src/calibrator/many.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';

/**
 * Largest relative parameter difference at which a WebGPU fit counts as its CPU fit: the GPU's LM
 * residuals and Jacobian are f32 (about 1e-7 in vol), so fits agree to about 1e-6 relative on
 * well-conditioned surfaces; 1e-4 leaves room for the poorly conditioned ones without admitting a
 * different minimum.
 */
export const F32_FLOOR = 1e-4;

export const maxRel = (p: Record<string, number>, t: Record<string, number>): number =>
  Math.max(...Object.keys(t).map((k) => Math.abs(p[k] - t[k]) / Math.abs(t[k])));

export interface WebgpuCase {
  /** The surfaces the WebGPU column fits (a row's whole set or its sample). */
  surfaces: ManySurface[];
  /** Each surface's f64 CPU fit (calibrate on the CPU, the same options). */
  cpu: CalibrationResult[];
  /** Each surface's true parameters, where the surfaces were priced from known ones. */
  truth?: Array<Record<string, number>>;
  options: Omit<CalibrateManyOptions, 'backend' | 'log'>;
  /** How the surfaces were picked when they are a sample of the row's ('100 of 1000 (...)'). */
  sampled?: string;
}

/** The `webgpu_*` columns of one row (every key starts with `webgpu_`), and the fits (undefined: failed). */
export async function webgpuColumns(gpu: GpuContext, c: WebgpuCase): Promise<{ cols: Record<string, unknown>; fits: Array<CalibrationResult | undefined> }> {
  const n = c.surfaces.length;
  const load = os.loadavg()[0];
  const lines: string[] = [];
  const t0 = performance.now();
  const out = await calibrateMany(c.surfaces, { ...c.options, backend: 'webgpu', log: (m) => lines.push(m) });
  const seconds = (performance.now() - t0) / 1000;
  const fits = out.map((o) => (isSurfaceFailure(o) ? undefined : o));
  const ok = fits.filter((f): f is NonNullable<typeof f> => f !== undefined);
  const vsCpu = fits.map((f, i) => (f ? maxRel(f.params, c.cpu[i].params) : Infinity));
  const dispatches = lines.find((l) => l.includes('multi-surface LM dispatches'));
  const cols = {
    webgpu_s: seconds,
    webgpu_per_s: n / seconds,
    webgpu_sampled: c.sampled,
    webgpu_on_gpu: `${ok.filter((f) => f.backend === 'webgpu').length}/${n}`,
    webgpu_failed: n - ok.length,
    webgpu_equal_cpu: `${vsCpu.filter((d) => d <= F32_FLOOR).length}/${n}`,
    webgpu_vs_cpu_max_rel: Math.max(...vsCpu),
    webgpu_rmse_max: Math.max(...ok.map((f) => f.rmse_iv ?? Infinity)),
    webgpu_cpu_rmse_max: Math.max(...c.cpu.map((f) => f.rmse_iv ?? Infinity)),
    // Where the objective is flat (real data) equal fits can differ in parameters beyond F32_FLOOR: the RMSE says whether they fit as well.
    webgpu_rmse_excess_max: Math.max(...fits.map((f, i) => (f ? (f.rmse_iv ?? Infinity) - (c.cpu[i].rmse_iv ?? Infinity) : Infinity))),
    webgpu_recovered: c.truth ? `${fits.filter((f, i) => f && maxRel(f.params, c.truth![i]) < 1e-3).length}/${n}` : undefined,
    webgpu_not_equal: mismatches(c, fits, vsCpu),
    webgpu_dispatches: dispatches?.replace(/^calibrateMany: /, ''),
    webgpu_device: gpu.software ? `${gpu.adapterDescription} (software: correctness, not speed)` : gpu.adapterDescription,
    webgpu_load: load,
  };
  return { cols, fits };
}

/** The surfaces whose WebGPU fit is not their CPU fit: name, both routes and RMSEs, the difference (or the failure). */
function mismatches(c: WebgpuCase, fits: Array<CalibrationResult | undefined>, vsCpu: number[]): string {
  const out = c.surfaces.flatMap((s, i) => {
    if (vsCpu[i] <= F32_FLOOR) return [];
    const f = fits[i];
    const cpu = c.cpu[i];
    if (!f) return [`${s.name} (failed)`];
    return [`${s.name} (webgpu ${f.route.name}, rmse ${(f.rmse_iv ?? NaN).toExponential(1)}; cpu ${cpu.route.name}, rmse ${(cpu.rmse_iv ?? NaN).toExponential(1)}; rel diff ${vsCpu[i].toExponential(1)})`];
  });
  return out.join('; ') || 'none';
}
