/**
 * bench/iv: one million Black-76 implied-volatility inversions, CPU f64 (one thread) and WebGPU
 * f32, against QuantLib-Python (blackFormulaImpliedStdDev, blackFormulaImpliedStdDevLiRS) on the
 * same inputs, with each one's max relative error against the true volatility.
 *
 * Inputs: T log-uniform in 1 day-5 years, σ uniform in 5-150 %, ln(K/F) uniform within ±3 σ√T,
 * out-of-the-money calls and puts, discount e^{-3% T}. QuantLib is timed on the first 100,000 rows
 * (a representative subset, same distribution) inside its Python script.
 */
import { Bench } from 'tinybench';
import { black76Price } from '../src/engines/black/black76.js';
import { impliedVolatilities } from '../src/engines/black/impliedVol.js';
import { impliedVolatilitiesGpu } from '../src/engines/black/gpu.js';
import { getGpu } from '../src/backends/webgpu/device.js';
import { recordResults, type BenchRow } from './lib/results.js';
import { quantlibAvailable, runQuantLib } from './lib/quantlib.js';

const N = 1_000_000;
const N_QL = 100_000;

/** mulberry32, fixed seed: the bench inputs are the same every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function inputs(n: number) {
  const r = prng(20240601);
  const b = {
    price: new Float64Array(n),
    forward: new Float64Array(n),
    strike: new Float64Array(n),
    T: new Float64Array(n),
    isCall: new Uint8Array(n),
    discount: new Float64Array(n),
    vol: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const F = 100;
    const T = Math.exp(Math.log(1 / 365) + r() * Math.log(5 * 365));
    const vol = 0.05 + 1.45 * r();
    const k = (2 * r() - 1) * 3;
    const K = F * Math.exp(k * vol * Math.sqrt(T));
    const isCall = k > 0;
    const D = Math.exp(-0.03 * T);
    b.forward[i] = F;
    b.strike[i] = K;
    b.T[i] = T;
    b.vol[i] = vol;
    b.isCall[i] = isCall ? 1 : 0;
    b.discount[i] = D;
    b.price[i] = black76Price(F, K, T, vol, isCall, D);
  }
  return b;
}

function maxRelErr(iv: ArrayLike<number>, vol: Float64Array, n: number): { max: number; failed: number } {
  let max = 0;
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const v = iv[i];
    if (!Number.isFinite(v)) failed++;
    else max = Math.max(max, Math.abs(v / vol[i] - 1));
  }
  return { max, failed };
}

async function timeIt(name: string, fn: () => unknown | Promise<unknown>, iterations: number): Promise<number> {
  const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 });
  bench.add(name, fn);
  await bench.run();
  const res = bench.tasks[0].result as { state: string; latency?: { mean: number } };
  if (res.state !== 'completed' || !res.latency) throw new Error(`bench ${name}: ${res.state}`);
  return res.latency.mean / 1000; // seconds per call
}

interface QlRun {
  per_s: number;
  seconds: number;
  failures: number;
  std_dev: Array<number | null>;
}

export async function run(): Promise<void> {
  const b = inputs(N);
  const batch = { price: b.price, forward: b.forward, strike: b.strike, T: b.T, isCall: b.isCall, discount: b.discount };
  const notes: string[] = [
    `Inputs: ${N.toLocaleString('en')} out-of-the-money options, T log-uniform 1 day-5 y, vol 5-150 %, |ln K/F| <= 3 σ√T; errors are max |σ̂/σ - 1| against the true σ.`,
  ];

  // CPU, one thread.
  let cpuIv: Float64Array = new Float64Array(0);
  const cpuSeconds = await timeIt('iv cpu', () => (cpuIv = impliedVolatilities(batch).iv), 3);
  const cpuErr = maxRelErr(cpuIv, b.vol, N);
  const cpuPerS = N / cpuSeconds;
  console.log(`cpu f64: ${(cpuPerS / 1e6).toFixed(2)}M/s, max rel err ${cpuErr.max.toExponential(2)}, ${cpuErr.failed} not ok`);

  // QuantLib on the first N_QL rows.
  let ql: Record<string, QlRun> | null = null;
  if (quantlibAvailable()) {
    const sub = (a: ArrayLike<number>) => Array.from(a).slice(0, N_QL);
    ql = runQuantLib<Record<string, QlRun>>('iv.py', {
      price: sub(b.price),
      forward: sub(b.forward),
      strike: sub(b.strike),
      T: sub(b.T),
      isCall: sub(b.isCall),
      discount: sub(b.discount),
    });
  } else {
    notes.push('QuantLib-Python was not available: QuantLib columns are empty.');
  }
  const qlStats: Record<string, { perS: number; err: number; failures: number }> = {};
  if (ql) {
    for (const [name, r] of Object.entries(ql)) {
      const iv = r.std_dev.map((s, i) => (s === null ? NaN : s / Math.sqrt(b.T[i])));
      const e = maxRelErr(iv, b.vol, N_QL);
      qlStats[name] = { perS: r.per_s, err: e.max, failures: r.failures };
      console.log(`QuantLib ${name}: ${(r.per_s / 1e6).toFixed(3)}M/s, max rel err ${e.max.toExponential(2)}, ${r.failures} exceptions`);
    }
    notes.push(
      `QuantLib-Python 1.29 timed on the first ${N_QL.toLocaleString('en')} rows inside Python (includes Python's per-call overhead). REFERENCE.md gives C++ figures of 0.9M/s (default) and 1.7M/s (LiRS) on this machine type.`,
    );
  }
  const fastest = Object.entries(qlStats).sort((a, b2) => b2[1].perS - a[1].perS)[0];
  const accurate = qlStats['default_1e-12'];

  const rows: BenchRow[] = [
    {
      name: 'iv_cpu_1e6',
      volfit_per_s: cpuPerS,
      quantlib_per_s: fastest?.[1].perS,
      ratio: fastest ? cpuPerS / fastest[1].perS : undefined,
      max_rel_err: cpuErr.max,
      quantlib_max_rel_err: fastest?.[1].err,
      quantlib_method: fastest ? `blackFormulaImpliedStdDev${fastest[0] === 'LiRS' ? 'LiRS' : ` (${fastest[0]})`}` : undefined,
    },
  ];
  if (accurate) {
    rows.push({
      name: 'iv_cpu_1e6_vs_ql_1e-12',
      volfit_per_s: cpuPerS,
      quantlib_per_s: accurate.perS,
      ratio: cpuPerS / accurate.perS,
      max_rel_err: cpuErr.max,
      quantlib_max_rel_err: accurate.err,
      quantlib_method: 'blackFormulaImpliedStdDev (accuracy 1e-12)',
    });
  }

  // WebGPU f32.
  const gpu = await getGpu();
  if (gpu) {
    let gpuRes: { iv: Float64Array } = { iv: new Float64Array(0) };
    const gpuSeconds = await timeIt('iv webgpu', async () => (gpuRes = await impliedVolatilitiesGpu(gpu, batch)), 2);
    const gpuErr = maxRelErr(gpuRes.iv, b.vol, N);
    const gpuPerS = N / gpuSeconds;
    console.log(`webgpu f32 (${gpu.adapterDescription}): ${(gpuPerS / 1e6).toFixed(2)}M/s, max rel err ${gpuErr.max.toExponential(2)}, ${gpuErr.failed} not ok`);
    rows.push({
      name: 'iv_webgpu_1e6',
      volfit_per_s: gpuPerS,
      quantlib_per_s: fastest?.[1].perS,
      ratio: fastest ? gpuPerS / fastest[1].perS : undefined,
      max_rel_err: gpuErr.max,
      quantlib_max_rel_err: fastest?.[1].err,
      quantlib_method: fastest ? `blackFormulaImpliedStdDev${fastest[0] === 'LiRS' ? 'LiRS' : ` (${fastest[0]})`}` : undefined,
      adapter: gpu.adapterDescription + (gpu.software ? ' (software: correctness, not GPU speed)' : ''),
    });
  } else {
    notes.push('No WebGPU adapter: iv_webgpu_1e6 not measured.');
  }
  recordResults(rows, 'iv', notes);
}
