/**
 * bench/lm_gpu: one Heston LM fit on 1,000 quotes on WebGPU through the full-readback path (f32
 * prices of every stencil set read back, J and J^T J on the CPU) and through the GPU-resident
 * reduction (only per-workgroup partial sums of f, J^T r, J^T J read back), with wall time, GPU
 * calls and bytes moved per call. `npm run bench lm_gpu`. On SwiftShader the times show CPU
 * emulation, not GPU speed; the bytes are what a GPU would move.
 */
import { selectBackend } from '../src/backends/backend.js';
import { levenbergMarquardt, type LmOptions } from '../src/optim/lm.js';
import { Objective } from '../src/calibrator/objective.js';
import { prepareQuotes } from '../src/calibrator/quotes.js';
import { resolveBounds, toModel, toUnconstrained } from '../src/calibrator/transforms.js';
import { createCosPricer } from '../src/engines/cos/pricer.js';
import type { SurfacePricer } from '../src/engines/pricer.js';
import { heston } from '../src/models/heston.js';
import { priceGrid, surfaceGrid } from '../test/calibrator/helpers.js';
import { getGpu } from '../src/backends/webgpu/device.js';
import { recordResults, type BenchRow } from './lib/results.js';

const truth = Float64Array.from([0.05, 1.8, 0.07, 0.6, -0.55]);
const quotes = await priceGrid(heston, truth, surfaceGrid({ expiries: 20, strikesPerExpiry: 50, atmVol: Math.sqrt(truth[0]) }));
const prep = prepareQuotes(quotes);
const bounds = resolveBounds(heston);
// calibrate.ts's WebGPU LM settings.
const lm: LmOptions = { fdScheme: 'central', fdStep: 3e-3, ftol: 1e-9, xtol: 1e-7, gtol: 1e-7, jacobian: 'fd', fabs: 1e-26 * prep.m };
const start = toUnconstrained(Float64Array.from([0.1, 3, 0.1, 0.3, -0.3]), bounds);

async function fit(backend: Awaited<ReturnType<typeof selectBackend>>, resident: boolean) {
  const pricer: SurfacePricer = await createCosPricer(heston, prep.set, backend);
  let calls = 0;
  if (!resident) delete pricer.normalSums;
  const priceBatch = pricer.priceBatch.bind(pricer);
  const log: string[] = [];
  const timed = async <T>(tag: string, f: () => Promise<T>) => {
    const t = performance.now();
    const v = await f();
    log.push(`${tag}:${(performance.now() - t).toFixed(0)}`);
    return v;
  };
  pricer.priceBatch = (p, n) => ((calls += 1), timed(`p${n}`, () => priceBatch(p, n)));
  if (pricer.normalSums) {
    const make = pricer.normalSums.bind(pricer);
    pricer.normalSums = (def) => {
      const ev = make(def);
      return { evaluate: (b) => ((calls += 1), timed(`r${b.n}`, () => ev.evaluate(b))), dispose: () => ev.dispose() };
    };
  }
  const obj = new Objective(heston, prep, pricer, bounds, { kind: 'iv', analyticJacobian: false });
  // Warm the pipelines (compilation is not what is measured).
  await levenbergMarquardt(obj, start, { ...lm, maxIterations: 1 });
  log.length = 0;
  const t0 = pricer.traffic!();
  const c0 = calls;
  const e0 = obj.evaluations;
  const s = performance.now();
  const res = await levenbergMarquardt(obj, start, lm);
  const ms = performance.now() - s;
  const t1 = pricer.traffic!();
  pricer.dispose();
  const n = calls - c0;
  if (process.env.VERBOSE) console.log(log.join(' '));
  return { res, ms, calls: n, sets: obj.evaluations - e0, up: t1.uploaded - t0.uploaded, down: t1.readBack - t0.readBack };
}

export async function run(): Promise<void> {
  const gpu = await getGpu();
  if (!gpu) {
    console.log('bench/lm_gpu: no WebGPU adapter, skipped');
    return;
  }
  const backend = await selectBackend('webgpu');
  const rows: BenchRow[] = [];
  for (const resident of [false, true]) {
    const { res, ms, calls, sets, up, down } = await fit(backend, resident);
    const p = toModel(res.z, bounds);
    console.log(
      `${resident ? 'GPU-resident' : 'full readback'}: ${(ms / 1000).toFixed(2)} s, ${res.iterations} iterations (${res.reason}), ${calls} GPU calls, ${sets} sets, ` +
        `read back ${down} B, uploaded ${up} B, f ${res.f.toExponential(3)}, params ${Array.from(p, (v) => v.toPrecision(6)).join(' ')}`,
    );
    rows.push({
      name: `lm webgpu heston 1000 quotes ${resident ? 'gpu-resident' : 'full readback'}`,
      volfit_s: ms / 1000,
      iterations: res.iterations,
      gpu_calls: calls,
      sets,
      read_back_bytes_per_call: Math.round(down / calls),
      uploaded_bytes_per_call: Math.round(up / calls),
      max_rel_err: Math.max(...Array.from(p, (v, i) => Math.abs(v / truth[i] - 1))),
      device: gpu.software ? `${gpu.adapterDescription} (software)` : gpu.adapterDescription,
    });
  }
  recordResults(rows, 'lm_gpu (LM iterations on WebGPU: full readback vs GPU-resident)', [
    'One Heston LM fit (central differences, step 3e-3, as calibrate on WebGPU) from QuantLib\'s standard wrong start to a surface of 20 expiries x 50 strikes priced by the f64 COS engine; pipelines warmed first.',
    'read_back_bytes_per_call: GPU -> CPU bytes per pricing call (full readback: every set\'s f32 prices; GPU-resident: per-workgroup partial sums; the final full stencil for the posterior included). On SwiftShader times are CPU emulation, not GPU speed.',
  ]);
}
