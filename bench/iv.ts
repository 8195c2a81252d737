/**
 * bench/iv: one million Black-76 implied-volatility inversions, CPU f64 (one thread) and WebGPU
 * (f32 kernel, with and without the f64 polish), against QuantLib 1.29 on the same inputs, with
 * each one's max relative error against the true volatility.
 *
 * QuantLib anchor: bench/quantlib/iv_bench.cpp, compiled here at bench time (g++ -O2 -std=c++17,
 * -lQuantLib, into a temp dir) and timed in C++ around the loop of QuantLib calls only, on all the
 * rows: blackFormulaImpliedStdDev at its default accuracy (1e-6 on σ√T) and at 1e-12, and
 * blackFormulaImpliedStdDevLiRS at default accuracy and at 1e-12. Without g++ or the QuantLib
 * headers it falls back to QuantLib-Python (bench/quantlib/iv.py; per-call interpreter overhead
 * included, so unfair to QuantLib; said so in the notes) on the first 100,000 rows.
 *
 * Inputs (fixed seed): T log-uniform in 1 day-5 years, σ uniform in 5-150 %, ln(K/F) uniform
 * within ±3 σ√T, out-of-the-money calls and puts, discount e^{-3% T}; a second set of 100,000 rows
 * out to ±10 σ√T (the issue's range) for accuracy and failures only.
 * Timings are the best of several repetitions (the machine is shared); volfit's CPU figure is
 * measured both before and after QuantLib's and the best taken, so both sides see similar load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { black76Price } from '../src/engines/black/black76.js';
import { impliedVolatilities, type IvBatch } from '../src/engines/black/impliedVol.js';
import { impliedVolatilitiesGpu } from '../src/engines/black/gpu.js';
import { getGpu } from '../src/backends/webgpu/device.js';
import { recordResults, type BenchRow } from './lib/results.js';
import { quantlibAvailable, runQuantLib } from './lib/quantlib.js';
import { mulberry32 } from '../src/util/mulberry32.js';

const N = 1_000_000;
const N_WIDE = 100_000;
const N_QL_PYTHON = 100_000;
/** QuantLib passes over all rows, alternated with volfit's timings; best per method kept. */
const QL_PASSES = 2;
const TARGET_ACCURACY = 1e-12;


type Inputs = IvBatch & { discount: Float64Array; vol: Float64Array };

function inputs(n: number, maxSd: number, seed: number): Inputs {
  const r = mulberry32(seed);
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
    const k = (2 * r() - 1) * maxSd;
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

/** Max |σ̂/σ - 1| over the rows that returned a volatility, and how many did not. */
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

/** Best (minimum) seconds per call over `iterations` runs after one warm-up. */
async function bestSeconds(name: string, fn: () => unknown | Promise<unknown>, iterations: number): Promise<number> {
  const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 });
  bench.add(name, fn);
  await bench.run();
  const res = bench.tasks[0].result as { state: string; latency?: { min: number } };
  if (res.state !== 'completed' || !res.latency) throw new Error(`bench ${name}: ${res.state}`);
  return res.latency.min / 1000;
}

interface QlMethod {
  perS: number;
  failures: number;
  /** σ√T per row, NaN where QuantLib threw. */
  stdDev: Float64Array;
}

const QL_LABEL: Record<string, string> = {
  default: 'blackFormulaImpliedStdDev (default accuracy 1e-6)',
  'default_1e-12': 'blackFormulaImpliedStdDev (accuracy 1e-12)',
  LiRS: 'blackFormulaImpliedStdDevLiRS (default accuracy 1e-6)',
  'LiRS_1e-12': 'blackFormulaImpliedStdDevLiRS (accuracy 1e-12)',
};

/** Compiles bench/quantlib/iv_bench.cpp into `dir`; null (with the reason) when it cannot. */
function compileQuantLibCpp(dir: string): { exe: string } | { why: string } {
  const src = fileURLToPath(new URL('./quantlib/iv_bench.cpp', import.meta.url));
  if (!existsSync('/usr/include/ql/quantlib.hpp') && !existsSync('/usr/include/ql/pricingengines/blackformula.hpp')) {
    return { why: 'QuantLib C++ headers not found' };
  }
  const exe = join(dir, 'iv_bench');
  const r = spawnSync('g++', ['-O2', '-std=c++17', src, '-o', exe, '-lQuantLib'], { encoding: 'utf8' });
  if (r.error) return { why: `g++ not runnable (${r.error.message})` };
  if (r.status !== 0) return { why: `g++ failed: ${r.stderr.split('\n').slice(0, 3).join(' ')}` };
  return { exe };
}

/** Runs the C++ anchor on `b`: each method's best rows/s over QL_REPS runs and its results. */
function runQuantLibCpp(exe: string, dir: string, b: Inputs, tag: string, reps: number): Record<string, QlMethod> {
  const n = b.price.length;
  const head = new Uint32Array([n]);
  const body = new Float64Array(5 * n);
  body.set(b.price, 0);
  body.set(b.forward, n);
  body.set(b.strike, 2 * n);
  body.set(b.discount, 3 * n);
  for (let i = 0; i < n; i++) body[4 * n + i] = b.isCall[i];
  const input = join(dir, `${tag}.in.bin`);
  writeFileSync(input, Buffer.concat([Buffer.from(head.buffer), Buffer.from(body.buffer)]));
  const prefix = join(dir, tag);
  const r = spawnSync(exe, [input, prefix, String(reps)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`iv_bench failed: ${r.stderr}`);
  const summary = JSON.parse(r.stdout) as Record<string, { per_s: number; failures: number }>;
  const out: Record<string, QlMethod> = {};
  for (const [name, s] of Object.entries(summary)) {
    const raw = readFileSync(`${prefix}.${name}.bin`);
    const stdDev = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    out[name] = { perS: s.per_s, failures: s.failures, stdDev };
  }
  return out;
}

/** Fallback: QuantLib-Python on the first N_QL_PYTHON rows (includes per-call Python overhead). */
function runQuantLibPython(b: Inputs): Record<string, QlMethod> {
  const sub = (a: ArrayLike<number>) => Array.from(a).slice(0, N_QL_PYTHON);
  const res = runQuantLib<Record<string, { per_s: number; failures: number; std_dev: Array<number | null> }>>('iv.py', {
    price: sub(b.price),
    forward: sub(b.forward),
    strike: sub(b.strike),
    T: sub(b.T),
    isCall: sub(b.isCall),
    discount: sub(b.discount),
  });
  const out: Record<string, QlMethod> = {};
  for (const [name, r] of Object.entries(res)) {
    out[name] = { perS: r.per_s, failures: r.failures, stdDev: Float64Array.from(r.std_dev, (v) => (v === null ? NaN : v)) };
  }
  return out;
}

interface QlStat {
  name: string;
  perS: number;
  err: number;
  failures: number;
  /** Rows returned without an exception but more than 1e-3 relative off the true σ. */
  wrong: number;
  rows: number;
}

function qlStats(ql: Record<string, QlMethod>, b: Inputs): QlStat[] {
  return Object.entries(ql).map(([name, m]) => {
    const n = m.stdDev.length;
    const iv = new Float64Array(n);
    for (let i = 0; i < n; i++) iv[i] = m.stdDev[i] / Math.sqrt(b.T[i]);
    const e = maxRelErr(iv, b.vol, n);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (Math.abs(iv[i] / b.vol[i] - 1) > 1e-3) wrong++;
    // failures: rows without a finite volatility (QuantLib's exceptions, and any NaN it returned)
    return { name, perS: m.perS, err: e.max, failures: e.failed, wrong, rows: n };
  });
}

export async function run(): Promise<void> {
  const b = inputs(N, 3, 20240601);
  const wide = inputs(N_WIDE, 10, 20240602);
  const notes: string[] = [
    `Inputs: ${N.toLocaleString('en')} out-of-the-money options, T log-uniform 1 day-5 y, vol 5-150 %, |ln K/F| <= 3 σ√T; errors are max |σ̂/σ - 1| against the true σ. Timings: best of several repetitions on a shared 2-core machine (compare ratios within one run).`,
  ];

  // volfit CPU, one thread: measured before and after QuantLib, best of both (similar load).
  let cpuIv: Float64Array = new Float64Array(0);
  const cpuRun = () => (cpuIv = impliedVolatilities(b).iv);
  let cpuSeconds = await bestSeconds('iv cpu', cpuRun, 4);

  // QuantLib: C++ anchor, or the Python fallback.
  const dir = mkdtempSync(join(tmpdir(), 'volfit-iv-bench-'));
  let ql: QlStat[] = [];
  let qlWide: QlStat[] = [];
  let anchor = '';
  try {
    const built = compileQuantLibCpp(dir);
    if ('exe' in built) {
      anchor = 'C++';
      // Alternate QuantLib passes with volfit's timings so both see the same mix of machine load.
      let best: Record<string, QlMethod> = {};
      for (let pass = 0; pass < QL_PASSES; pass++) {
        if (pass > 0) cpuSeconds = Math.min(cpuSeconds, await bestSeconds('iv cpu', cpuRun, 3));
        const res = runQuantLibCpp(built.exe, dir, b, 'main', 1);
        for (const [k, v] of Object.entries(res)) if (!best[k] || v.perS > best[k].perS) best[k] = v;
      }
      ql = qlStats(best, b);
      qlWide = qlStats(runQuantLibCpp(built.exe, dir, wide, 'wide', 1), wide);
      notes.push(
        `QuantLib 1.29 (Debian libquantlib0-dev) from C++: bench/quantlib/iv_bench.cpp compiled at bench time with g++ -O2, timed in C++ around the loop of QuantLib calls on all ${N.toLocaleString('en')} rows (best of ${QL_PASSES} passes alternated with volfit's timings); exceptions counted as failures.`,
      );
    } else if (quantlibAvailable()) {
      anchor = 'Python';
      ql = qlStats(runQuantLibPython(b), b);
      notes.push(
        `QuantLib C++ anchor unavailable (${built.why}): QuantLib-Python 1.29 timed on the first ${N_QL_PYTHON.toLocaleString('en')} rows inside Python, which includes Python's per-call overhead and so understates QuantLib's speed. REFERENCE.md gives C++ figures of 0.9M/s (default) and 1.7M/s (LiRS) on this machine type.`,
      );
    } else {
      notes.push(`QuantLib not available (${built.why}; no QuantLib-Python either): QuantLib columns are empty.`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  cpuSeconds = Math.min(cpuSeconds, await bestSeconds('iv cpu', cpuRun, 4));
  const cpuErr = maxRelErr(cpuIv, b.vol, N);
  const cpuPerS = N / cpuSeconds;
  const cpuWide = maxRelErr(impliedVolatilities(wide).iv, wide.vol, N_WIDE);
  console.log(`volfit cpu f64: ${(cpuPerS / 1e6).toFixed(3)}M/s, max rel err ${cpuErr.max.toExponential(2)}, ${cpuErr.failed} not ok; ±10 sd: max rel err ${cpuWide.max.toExponential(2)}, ${cpuWide.failed} not ok`);
  for (const q of ql) {
    const w = qlWide.find((x) => x.name === q.name);
    console.log(
      `QuantLib ${anchor} ${q.name}: ${(q.perS / 1e6).toFixed(3)}M/s, max rel err ${q.err.toExponential(2)}, ${q.failures} failures, ${q.wrong} wrong of ${q.rows}` +
        (w ? `; ±10 sd: max rel err ${w.err.toExponential(2)}, ${w.failures} failures, ${w.wrong} wrong (> 1e-3) of ${w.rows}` : ''),
    );
  }

  // QuantLib's candidates "at 1e-12": the methods whose max error here is within 1e-12, if any;
  // otherwise (QuantLib's accuracy is an absolute tolerance on σ√T, so it misses 1e-12 relative at
  // short expiries / low vols) the methods asked for 1e-12. Of those: the fastest, and the fastest
  // that also returns every row out to ±10 sd (LiRS throws beyond ~6 sd).
  const fastest = [...ql].sort((x, y) => y.perS - x.perS)[0];
  const reaching = ql.filter((q) => q.err <= TARGET_ACCURACY && q.failures === 0);
  const candidates = (reaching.length ? reaching : ql.filter((q) => q.name.endsWith('_1e-12'))).sort((x, y) => y.perS - x.perS);
  const accurate = candidates[0];
  const robust = candidates.find((q) => (qlWide.find((w) => w.name === q.name)?.failures ?? 0) === 0);
  const how = reaching.length ? 'fastest within 1e-12: ' : 'fastest asked for 1e-12: ';

  const qlCols = (q: QlStat | undefined, label = '') =>
    q
      ? {
          quantlib_per_s: q.perS,
          quantlib_max_rel_err: q.err,
          quantlib_failures: q.failures,
          quantlib_wrong_rows: q.wrong,
          quantlib_method: label + (QL_LABEL[q.name] ?? q.name) + (anchor === 'Python' ? ' [Python]' : ''),
        }
      : {};
  const cpuRow = (name: string, q: QlStat | undefined, label: string): BenchRow => ({
    name,
    volfit_per_s: cpuPerS,
    ratio: q ? cpuPerS / q.perS : undefined,
    max_rel_err: cpuErr.max,
    ...qlCols(q, label),
  });
  const rows: BenchRow[] = [cpuRow('iv_cpu_1e6_vs_ql_1e-12', accurate, how)];
  if (robust && robust !== accurate) rows.push(cpuRow('iv_cpu_1e6_vs_ql_1e-12_no_failures', robust, `${how.slice(0, -2)} with no failures to ±10 sd: `));
  rows.push(cpuRow('iv_cpu_1e6', fastest, 'fastest at any accuracy: '));
  for (const q of qlWide) rows.push({ name: `iv_10sd_1e5_ql_${q.name}`, max_rel_err: cpuWide.max, ...qlCols(q) });

  if (ql.length) {
    notes.push(
      reaching.length
        ? `QuantLib methods within ${TARGET_ACCURACY} relative on these rows: ${reaching.map((q) => q.name).join(', ')}.`
        : `No QuantLib method reaches ${TARGET_ACCURACY} relative on these rows: its accuracy argument is an absolute tolerance on σ√T, so asked for 1e-12 it stops at ~3e-10 relative at short expiries and low vols. The "1e-12" rows therefore compare with the methods asked for 1e-12: ${candidates.map((q) => `${q.name} (max error ${q.err.toExponential(1)})`).join(', ')}.`,
    );
  }
  if (qlWide.length) {
    notes.push(
      `iv_10sd_1e5_* rows: accuracy and failures only, on ${N_WIDE.toLocaleString('en')} rows out to ±10 σ√T (the issue's range; max_rel_err is volfit CPU's, ${cpuWide.failed} rows not ok). quantlib_failures counts exceptions or non-finite results, quantlib_wrong_rows results returned silently more than 1e-3 off the true σ.`,
    );
  }

  // WebGPU: the f32 kernel alone, and with the f64 polish (the default, what `volfit iv` returns).
  const gpu = await getGpu();
  if (gpu) {
    const adapter = gpu.adapterDescription + (gpu.software ? ' (software: correctness, not GPU speed)' : '');
    for (const precision of ['f64', 'f32'] as const) {
      let res: { iv: Float64Array } = { iv: new Float64Array(0) };
      const seconds = await bestSeconds(`iv webgpu ${precision}`, async () => (res = await impliedVolatilitiesGpu(gpu, b, { precision })), 1);
      const err = maxRelErr(res.iv, b.vol, N);
      const perS = N / seconds;
      console.log(`volfit webgpu ${precision === 'f64' ? 'f32 + f64 polish' : 'raw f32'} (${adapter}): ${(perS / 1e6).toFixed(3)}M/s, max rel err ${err.max.toExponential(2)}, ${err.failed} not ok`);
      rows.push({
        name: precision === 'f64' ? 'iv_webgpu_1e6' : 'iv_webgpu_f32_1e6',
        volfit_per_s: perS,
        ratio: (precision === 'f64' ? accurate : fastest) ? perS / (precision === 'f64' ? accurate! : fastest!).perS : undefined,
        max_rel_err: err.max,
        ...qlCols(precision === 'f64' ? accurate : fastest, precision === 'f64' ? how : 'fastest at any accuracy: '),
        adapter,
      });
    }
    notes.push(
      'iv_webgpu_1e6 is the default (what `volfit iv --backend webgpu` returns): the f32 kernel, then one f64 Householder(3) step per row on the CPU; iv_webgpu_f32_1e6 is the kernel alone. Both include f64 set-up, upload and readback. On SwiftShader (a CPU Vulkan) these measure correctness, not GPU speed.',
    );
  } else {
    notes.push('No WebGPU adapter: iv_webgpu rows not measured.');
  }
  recordResults(rows, 'iv', notes);
}
