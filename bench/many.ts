/**
 * bench/many: many independent surfaces (calibrateMany, issue 13 §2 and §4), QuantLib in the same run.
 *
 * (a) Random surfaces of 100-300 quotes (fixed seeds; even ones equity-like, odd ones
 *     crypto-like): Heston at S = 1, 10, 100 and 1,000, Bates at S = 1, 10, 100 (the jumps
 *     lambda .3-.8, muJ -.15..-.05, sigmaJ .1-.2 on top of the Heston parameters). IVs from
 *     QuantLib's AnalyticHestonEngine / BatesEngine at the true parameters
 *     (bench/quantlib/calibration.py, as bench/calibration), fitted from QuantLib's standard start
 *     (v0 .1, kappa 3, theta .1, sigma .3, rho -.3; Bates adds lambda .5, muJ -.1, sigmaJ .1).
 *     CPU columns: surfaces/s of a plain loop of calibrate, of calibrateMany with threads 1
 *     (in-process) and with one worker per core, and volfit's own cold start (no start given).
 *     QuantLib: its sequential total (the sum of its per-surface model.calibrate times); the
 *     smaller sets are the first surfaces of the largest. QuantLib fits every surface up to
 *     S = 100; at Heston S = 1,000 it fits a fixed sample (sampleOf: 100 of 1,000, every 10th
 *     surface, 0, 11, 20, 31, ... so both kinds alike), its surfaces/s is measured on the sample
 *     and its total for the row is that rate scaled to S (quantlib_s_scaled, marked
 *     quantlib_sampled). Recovery beside each: parameters within 1e-3 relative of the truth, and
 *     IV RMSE below 1e-6.
 *     WebGPU column: calibrateMany with backend 'webgpu' on the row's surfaces, each fit against
 *     its f64 CPU fit (within F32_FLOOR relative) and the truth. A software adapter fits at most
 *     SOFTWARE_GPU_MAX surfaces of a row (the fixed sample, marked webgpu_sampled).
 * (b) The BTC anchor (data/deribit-btc-daily-quantlib-anchor): all 100 days as independent cold
 *     Heston fits from QuantLib's cold start (v0 .4, kappa 2, theta .4, sigma 1, rho 0), unweighted
 *     (the file's weights are 1): total time against QuantLib's cold total, re-run in this process
 *     run by bench/quantlib/anchor.py (which reproduces the recorded fits: see its docstring) and as
 *     recorded in quantlib_heston_cold.csv (107.9 s on a similar machine), and each day's RMSE
 *     against the recorded rmse_iv_vol_pts (target: within 0.01 vol points, or better). WebGPU
 *     column: the same days on WebGPU (a fixed sample of them on a software adapter), each fit
 *     against its CPU fit and QuantLib's recorded RMSE.
 *
 * Rows (flags, any together; none: every row, or with --quick the --random and --anchor ones):
 * `--random` Heston S = 1, 10, 100; `--s1000` Heston S = 1,000; `--bates` Bates S = 1, 10, 100;
 * `--anchor` the anchor.
 * Columns: `--cpu` (volfit on the CPU and QuantLib), `--webgpu` (WebGPU); none: both (WebGPU
 * when an adapter answers). Columns and rows not run stay as last recorded. `--quick`: S = 1 and
 * 10 only, and no QuantLib re-run of the anchor (the recorded totals instead).
 *
 * cpu_parallel_speedup: what the machine gives two threads at that moment (parallelCapacity); on
 * this shared 2-core machine other jobs often take the second core, and the pool can do no better.
 * load / webgpu_load: the 1-minute load average when the row's CPU / WebGPU part started.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { getGpu, gpuUnavailableReason, type GpuContext } from '../src/backends/webgpu/device.js';
import { calibrate } from '../src/calibrator/calibrate.js';
import { calibrateMany, isSurfaceFailure, type ManySurface, type SurfaceOutcome } from '../src/calibrator/many.js';
import type { CalibrationQuote } from '../src/calibrator/quotes.js';
import type { CalibrationResult } from '../src/calibrator/result.js';
import { blackImpliedVol, blackPrice } from '../src/calibrator/black.js';
import { cosPrices } from '../src/engines/cos/cpu.js';
import { quoteSetOf } from '../src/engines/pricer.js';
import { bates, heston } from '../src/models/index.js';
import type { Model } from '../src/models/types.js';
import { mulberry32 } from '../src/util/mulberry32.js';
import { lastRecorded, recordResults, type BenchRow } from './lib/results.js';
import { quantlibAvailable, runQuantLib } from './lib/quantlib.js';
import { ANCHOR_COLD_START, anchorSurfaces, quantlibDays, recordedRows } from './lib/anchor.js';
import { F32_FLOOR, maxRel, webgpuColumns } from './lib/manyWebgpu.js';

const SEED = 20261126;
const QL_START = { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 };
const COLD_START = ANCHOR_COLD_START;

/**
 * One population of random surfaces: its model, seed, start, and how many surfaces of a row at
 * most QuantLib fits (beyond that, a fixed sample: sampleOf).
 */
interface Family {
  model: Model;
  seed: number;
  start: Record<string, number>;
  qlMax: number;
}

const HESTON: Family = { model: heston, seed: SEED, start: QL_START, qlMax: 100 };
const BATES: Family = { model: bates, seed: SEED + 1, start: { ...QL_START, lambda: 0.5, muJ: -0.1, sigmaJ: 0.1 }, qlMax: 100 };

/**
 * Surfaces of a row a software adapter fits (the fixed sample beyond): SwiftShader emulates the
 * GPU on these same shared cores, 2-17 s a Heston surface and 5-20 s or more a Bates one here.
 */
const SOFTWARE_GPU_MAX = 10;

interface Spec {
  name: string;
  truth: Record<string, number>;
  spot: number;
  rate: number;
  quotes: Array<{ days: number; strike: number }>;
}

/**
 * Surface i of the family's fixed-seed set: 5-15 expiries x 20 strikes (+-2 sd), equity-like
 * (even i) or crypto-like (odd i); Bates draws its jumps after the Heston parameters.
 */
function specs(f: Family, n: number): Spec[] {
  const r = mulberry32(f.seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  const out: Spec[] = [];
  for (let i = 0; i < n; i++) {
    const crypto = i % 2 === 1;
    const truth: Record<string, number> = crypto
      ? { v0: u(0.2, 0.5), kappa: u(1, 6), theta: u(0.2, 0.5), sigma: u(0.8, 2.5), rho: u(-0.3, 0.1) }
      : { v0: u(0.02, 0.08), kappa: u(0.8, 4), theta: u(0.02, 0.08), sigma: u(0.3, 0.9), rho: u(-0.8, -0.3) };
    if (f.model === bates) Object.assign(truth, { lambda: u(0.3, 0.8), muJ: u(-0.15, -0.05), sigmaJ: u(0.1, 0.2) });
    const spot = crypto ? u(60_000, 110_000) : 100;
    const rate = crypto ? 0 : 0.02;
    const expiries = 5 + Math.floor(r() * 11);
    const [d0, d1] = crypto ? [7, 365] : [30, 730];
    const vol = Math.sqrt(truth.v0);
    const quotes: Spec['quotes'] = [];
    for (let e = 0; e < expiries; e++) {
      const days = Math.round(d0 + ((d1 - d0) * e) / (expiries - 1));
      const F = spot * Math.exp((rate * days) / 365);
      for (let k = 0; k < 20; k++) quotes.push({ days, strike: F * Math.exp((-2 + (4 * k) / 19) * vol * Math.sqrt(days / 365)) });
    }
    out.push({ name: `${crypto ? 'crypto' : 'equity'} ${i}`, truth, spot, rate, quotes });
  }
  return out;
}

/**
 * The surfaces of a row of S that a part fits when it fits at most n: all of them, or the fixed
 * sample of every (S/n)th, shifted by one on every other pick where the step is even so that it
 * holds as many equity-like (even) as crypto-like (odd) surfaces: 0, 11, 20, 31, ... for step 10.
 */
function sampleOf(S: number, n: number): number[] {
  if (S <= n) return Array.from({ length: S }, (_, i) => i);
  const step = Math.floor(S / n);
  return Array.from({ length: n }, (_, k) => step * k + (step % 2 === 0 ? k % 2 : 0));
}

const sampleLabel = (idx: number[], S: number) => `${idx.length} of ${S}: surfaces ${idx.slice(0, 4).join(', ')}${idx.length > 4 ? ', ...' : ''}`;

function quotesOf(s: Spec, ivs: number[]): CalibrationQuote[] {
  return s.quotes.map((q, i) => {
    const T = q.days / 365;
    const D = Math.exp(-s.rate * T);
    const F = s.spot / D;
    const isCall = q.strike >= F;
    return { row: i + 1, T, strike: q.strike, isCall, forward: F, discount: D, iv: ivs[i], price: blackPrice(F, q.strike, T, ivs[i], isCall, D) };
  });
}

/** Without QuantLib: IVs from our f64 COS engine at the truth. */
function cosIvs(model: Model, s: Spec): number[] {
  const skeleton = quotesOf(s, s.quotes.map(() => 0.2));
  const prices = cosPrices(model, Float64Array.from(model.params, (p) => s.truth[p.name]), quoteSetOf(skeleton));
  return skeleton.map((q, i) => blackImpliedVol(prices[i], q.forward, q.strike, q.T, q.isCall, q.discount) ?? NaN);
}

function fitOf(o: SurfaceOutcome): CalibrationResult {
  if (isSurfaceFailure(o)) throw new Error(`${o.surface}: ${o.error}`);
  return o;
}

/** How many fits took each route ('lm 92, lm+global 8'). */
function routeCounts(fits: CalibrationResult[]): string {
  const n = new Map<string, number>();
  for (const f of fits) n.set(f.route.name, (n.get(f.route.name) ?? 0) + 1);
  return [...n].map(([k, v]) => `${k} ${v}`).join(', ');
}

/** QuantLib's answer for one surface: always its IVs; the fit only for the surfaces it calibrated. */
interface QlCase {
  ivs: number[];
  seconds?: number;
  params?: Record<string, number>;
  rmse_iv?: number;
}
type QlFit = Required<QlCase>;

/**
 * What parallelism this shared machine gives right now: the same pure-CPU unit (a sqrt loop, no
 * allocation) `threads` times in this thread, then once on each of `threads` workers at once;
 * the ratio of the two times is the speedup any pool could show at best (2 on 2 idle cores, about
 * 1 when other jobs take the cores). Recorded beside the pool's times.
 */
async function parallelCapacity(threads: number): Promise<number> {
  const unit = 'function unit() { let x = 0; for (let i = 0; i < 1.5e8; i++) x += Math.sqrt(i); return x; }';
  const t0 = performance.now();
  for (let i = 0; i < threads; i++) new Function(`${unit}; return unit();`)();
  const seq = performance.now() - t0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: threads }, () => new Promise<void>((resolve, reject) => {
      const w = new Worker(`${unit}; unit(); require('node:worker_threads').parentPort.postMessage(0)`, { eval: true });
      w.once('message', () => void w.terminate().then(() => resolve()));
      w.once('error', reject);
    })),
  );
  return seq / (performance.now() - t1);
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

/** What a run does: which columns, the thread count, QuantLib and the adapter when there are. */
interface RunContext {
  cpu: boolean;
  webgpu: boolean;
  quick: boolean;
  ql: boolean;
  threads: number;
  gpu: GpuContext | null;
}

/**
 * The family's surfaces (the first max(sizes)), priced by QuantLib when it is there; QuantLib also
 * fits the surfaces its rows time (a row's all or its sample: sampleOf), when the CPU columns run.
 */
function pricedSurfaces(f: Family, sizes: number[], ctx: RunContext): { all: Spec[]; surfaces: ManySurface[]; ql?: QlCase[] } {
  const all = specs(f, Math.max(...sizes));
  if (!ctx.ql) return { all, surfaces: all.map((s) => ({ name: s.name, quotes: quotesOf(s, cosIvs(f.model, s)) })) };
  const fit = new Set(ctx.cpu ? sizes.flatMap((S) => sampleOf(S, f.qlMax)) : []);
  console.log(`QuantLib: pricing ${all.length} ${f.model.name} surfaces and fitting ${fit.size} of them from the standard start, one after another (minutes) ...`);
  const out = runQuantLib<{ cases: QlCase[] }>('calibration.py', {
    cases: all.map((s, i) => ({ name: s.name, model: f.model.name, truth: s.truth, start: f.start, spot: s.spot, rate: s.rate, quotes: s.quotes, calibrate: fit.has(i) })),
  });
  return { all, surfaces: all.map((s, i) => ({ name: s.name, quotes: quotesOf(s, out.cases[i].ivs) })), ql: out.cases };
}

/** The CPU and QuantLib columns of the row of the first S surfaces; `seq` is the plain loop's fits (the WebGPU column's reference). */
async function cpuColumns(f: Family, S: number, all: Spec[], surfaces: ManySurface[], ql: QlCase[] | undefined, ctx: RunContext): Promise<{ cols: Record<string, unknown>; seq: CalibrationResult[] }> {
  const set = surfaces.slice(0, S);
  const truth = all.slice(0, S).map((s) => s.truth);
  const opts = { model: f.model, backend: 'cpu' as const, start: f.start };
  const load = os.loadavg()[0];
  const seq = await timed(async () => {
    const out: CalibrationResult[] = [];
    for (const s of set) out.push(await calibrate(s.quotes, opts));
    return out;
  });
  const one = await timed(() => calibrateMany(set, { ...opts, threads: 1 }));
  const capacity = await parallelCapacity(ctx.threads);
  const pool = await timed(() => calibrateMany(set, { ...opts, threads: ctx.threads }));
  // The same pool with volfit's own cold start (no start given: a batched probe and LM from the
  // best points) instead of QuantLib's standard start as a given start.
  const cold = await timed(() => calibrateMany(set, { model: f.model, backend: 'cpu', threads: ctx.threads }));
  const coldFits = cold.value.map(fitOf);
  const fits = pool.value.map(fitOf);
  const identical = fits.every((x, i) => maxRel(x.params, seq.value[i].params) <= 1e-10 && maxRel(fitOf(one.value[i]).params, seq.value[i].params) <= 1e-10);
  const recovered = (xs: CalibrationResult[]) => `${xs.filter((x, i) => maxRel(x.params, truth[i]) < 1e-3).length}/${S}`;
  const rmseOk = (xs: CalibrationResult[]) => `${xs.filter((x) => (x.rmse_iv ?? Infinity) < 1e-6).length}/${S}`;
  const cols: Record<string, unknown> = {
    volfit_per_s: S / pool.seconds,
    quantlib_per_s: undefined,
    ratio: undefined,
    surfaces: S,
    quotes: set.reduce((a, s) => a + s.quotes.length, 0),
    threads: ctx.threads,
    load,
    volfit_loop_s: seq.seconds,
    volfit_threads1_s: one.seconds,
    volfit_pool_s: pool.seconds,
    loop_per_s: S / seq.seconds,
    threads1_per_s: S / one.seconds,
    pool_vs_loop: seq.seconds / pool.seconds,
    cpu_parallel_speedup: capacity,
    same_fits: identical ? 'yes' : 'NO',
    volfit_recovered: recovered(fits),
    'volfit_rmse_below_1e-6': rmseOk(fits),
    routes: routeCounts(fits),
    volfit_cold_pool_s: cold.seconds,
    volfit_cold_recovered: recovered(coldFits),
    'volfit_cold_rmse_below_1e-6': rmseOk(coldFits),
    volfit_cold_routes: routeCounts(coldFits),
    volfit_not_recovered:
      fits
        .map((x, i) => ({ x, i }))
        .filter(({ x, i }) => !(maxRel(x.params, truth[i]) < 1e-3))
        .map(({ x, i }) => `${all[i].name} (${x.route.name}, rel err ${maxRel(x.params, truth[i]).toExponential(1)}, rmse ${(x.rmse_iv ?? NaN).toExponential(1)})`)
        .join('; ') || 'none',
    ...(ql ? quantlibColumns(f, S, all, ql, pool.seconds, seq.seconds) : {}),
  };
  console.log(
    `${f.model.name} S=${S} (${cols.quotes} quotes): loop ${seq.seconds.toFixed(2)} s, threads 1 ${one.seconds.toFixed(2)} s, threads ${ctx.threads} ${pool.seconds.toFixed(2)} s` +
      (cols.ratio !== undefined ? `, QuantLib ${(S / (cols.quantlib_per_s as number)).toFixed(1)} s${cols.quantlib_sampled ? ` (scaled from ${cols.quantlib_sampled})` : ''} (ratio ${(cols.ratio as number).toFixed(1)}x)` : '') +
      `; pool/loop ${(seq.seconds / pool.seconds).toFixed(2)} (machine's parallel speedup now ${capacity.toFixed(2)})` +
      `; recovered volfit ${cols.volfit_recovered}${cols.quantlib_recovered ? `, QuantLib ${cols.quantlib_recovered}` : ''}; same fits ${cols.same_fits}` +
      `; volfit's own cold start: pool ${cold.seconds.toFixed(2)} s, recovered ${cols.volfit_cold_recovered}`,
  );
  return { cols, seq: seq.value };
}

/**
 * QuantLib's columns of a row of S: its sequential total over every surface (S <= qlMax), or over
 * the fixed sample with its rate scaled to S (quantlib_s_scaled, never presented as measured).
 */
function quantlibColumns(f: Family, S: number, all: Spec[], ql: QlCase[], poolSeconds: number, loopSeconds: number): Record<string, unknown> {
  const idx = sampleOf(S, f.qlMax);
  const fits = idx.map((i) => ql[i] as QlFit);
  const seconds = fits.reduce((a, q) => a + q.seconds, 0);
  const perS = idx.length / seconds;
  const total = S / perS;
  const sampled = idx.length < S;
  return {
    quantlib_per_s: perS,
    ratio: total / poolSeconds,
    ratio_loop: total / loopSeconds,
    quantlib_s: sampled ? undefined : seconds,
    quantlib_sampled: sampled ? sampleLabel(idx, S) : undefined,
    quantlib_sample_s: sampled ? seconds : undefined,
    quantlib_s_scaled: sampled ? total : undefined,
    quantlib_recovered: `${fits.filter((q, k) => maxRel(q.params, all[idx[k]].truth) < 1e-3).length}/${idx.length}`,
    'quantlib_rmse_below_1e-6': `${fits.filter((q) => q.rmse_iv < 1e-6).length}/${idx.length}`,
  };
}

/** The WebGPU columns of the row of the first S surfaces: all of them, or on a software adapter at most SOFTWARE_GPU_MAX (the sample). */
async function webgpuRow(f: Family, S: number, all: Spec[], surfaces: ManySurface[], seq: CalibrationResult[] | undefined, ctx: RunContext): Promise<Record<string, unknown>> {
  const idx = sampleOf(S, ctx.gpu!.software ? SOFTWARE_GPU_MAX : Infinity);
  const set = idx.map((i) => surfaces[i]);
  // The CPU reference: the row's own loop when the CPU columns ran, else the pool (the same fits).
  const cpu = seq ? idx.map((i) => seq[i]) : (await calibrateMany(set, { model: f.model, backend: 'cpu', start: f.start, threads: ctx.threads })).map(fitOf);
  const { cols } = await webgpuColumns(ctx.gpu!, {
    surfaces: set,
    cpu,
    truth: idx.map((i) => all[i].truth),
    options: { model: f.model, start: f.start },
    sampled: idx.length < S ? sampleLabel(idx, S) : undefined,
  });
  console.log(`${f.model.name} S=${S} WebGPU: ${idx.length} surfaces in ${(cols.webgpu_s as number).toFixed(1)} s, equal to the CPU fit ${cols.webgpu_equal_cpu} (largest rel diff ${(cols.webgpu_vs_cpu_max_rel as number).toExponential(1)}), recovered ${cols.webgpu_recovered}; ${cols.webgpu_dispatches ?? ''}`);
  return cols;
}

/** The family's rows at `sizes`: the columns this run asks for, the others as last recorded. */
async function familyRows(f: Family, sizes: number[], ctx: RunContext): Promise<BenchRow[]> {
  const { all, surfaces, ql } = pricedSurfaces(f, sizes, ctx);
  // JIT warm-up of this process (the workers start cold: their start-up is in their time).
  await calibrate(surfaces[0].quotes, { model: f.model, backend: 'cpu', start: f.start });
  const rows: BenchRow[] = [];
  for (const S of sizes) {
    const name = `many ${f.model.name} S=${S}`;
    const cpu = ctx.cpu ? await cpuColumns(f, S, all, surfaces, ql, ctx) : undefined;
    const gpu = ctx.webgpu && ctx.gpu ? await webgpuRow(f, S, all, surfaces, cpu?.seq, ctx) : undefined;
    rows.push(mergeRow(name, cpu?.cols, gpu));
  }
  return rows;
}

/** A row from this run's columns, keeping the last recorded CPU or WebGPU columns where this run has none (CPU columns first). */
function mergeRow(name: string, cpu: Record<string, unknown> | undefined, gpu: Record<string, unknown> | undefined): BenchRow {
  const last = Object.entries(lastRecorded(name) ?? {}).filter(([k]) => !['name', 'section', 'machine', 'date'].includes(k));
  const kept = (webgpu: boolean) => Object.fromEntries(last.filter(([k]) => k.startsWith('webgpu_') === webgpu));
  return { name, ...(cpu ?? kept(false)), ...(gpu ?? kept(true)) };
}

interface QlDay {
  date: string;
  seconds: number;
  params: Record<string, number>;
  rmse_iv: number;
}

/** QuantLib's recorded cold fits of the anchor, by date. */
function recordedCold(): Map<string, { seconds: number; rmse: number }> {
  return new Map([...recordedRows('quantlib_heston_cold.csv')].map(([d, r]) => [d, { seconds: Number(r.seconds), rmse: Number(r.rmse_iv_vol_pts) }]));
}

/** The anchor row: its CPU and QuantLib columns and/or its WebGPU column. */
async function anchor(ctx: RunContext): Promise<BenchRow[]> {
  const surfaces = anchorSurfaces();
  const cpu = ctx.cpu ? await anchorCpu(surfaces, ctx) : undefined;
  const gpu = ctx.webgpu && ctx.gpu ? await anchorWebgpu(surfaces, cpu?.fits, ctx) : undefined;
  return [mergeRow(`many anchor btc ${surfaces.length} days heston cold`, cpu?.cols, gpu)];
}

async function anchorCpu(surfaces: ManySurface[], ctx: RunContext): Promise<{ cols: Record<string, unknown>; fits: CalibrationResult[] }> {
  const { quick, ql, threads } = ctx;
  const recorded = recordedCold();
  const recordedTotal = [...recorded.values()].reduce((a, r) => a + r.seconds, 0);
  const opts = { model: heston, backend: 'cpu' as const, start: COLD_START };
  const load = os.loadavg()[0];
  const capacity = await parallelCapacity(threads);
  const pool = await timed(() => calibrateMany(surfaces, { ...opts, threads }));
  const one = await timed(() => calibrateMany(surfaces, { ...opts, threads: 1 }));
  // volfit's own cold start (no start given: data-driven guesses and a batched probe).
  const cold = await timed(() => calibrateMany(surfaces, { model: heston, backend: 'cpu', threads }));
  const coldMisses = cold.value.map(fitOf).filter((f, i) => !((f.rmse_iv ?? NaN) * 100 - recorded.get(surfaces[i].name!)!.rmse <= 0.01));
  const fits = pool.value.map(fitOf);
  const same = fits.every((f, i) => maxRel(f.params, fitOf(one.value[i]).params) <= 1e-10);
  let rerun: QlDay[] | undefined;
  if (ql && !quick) {
    console.log(`QuantLib: re-running the ${surfaces.length} cold fits of the anchor (bench/quantlib/anchor.py, minutes) ...`);
    rerun = runQuantLib<{ days: QlDay[] }>('anchor.py', {
      start: COLD_START,
      days: quantlibDays(surfaces),
    }).days;
  }
  const diffs: Array<{ date: string; ours: number; theirs: number; diff: number; rerun?: number }> = fits.map((f, i) => {
    const date = surfaces[i].name!;
    const theirs = recorded.get(date)!.rmse;
    const ours = (f.rmse_iv ?? NaN) * 100;
    return { date, ours, theirs, diff: ours - theirs, rerun: rerun ? rerun[i].rmse_iv * 100 : undefined };
  });
  const misses = diffs.filter((d) => !(d.diff <= 0.01));
  const better = diffs.filter((d) => d.diff < -1e-4);
  const sorted = diffs.map((d) => d.diff).sort((a, b) => a - b);
  console.log('date        volfit_rmse  quantlib_rmse(recorded)  diff      quantlib_rmse(re-run)  volfit_s  route');
  diffs.forEach((d, i) => console.log(`${d.date}  ${d.ours.toFixed(6)}  ${d.theirs.toFixed(6)}  ${d.diff.toFixed(6)}  ${d.rerun?.toFixed(6) ?? ''}  ${fits[i].seconds.toFixed(3)}  ${fits[i].route.name}`));
  const rerunTotal = rerun?.reduce((a, d) => a + d.seconds, 0);
  const cols: Record<string, unknown> = {
    volfit_per_s: surfaces.length / pool.seconds,
    quantlib_per_s: rerunTotal !== undefined ? surfaces.length / rerunTotal : surfaces.length / recordedTotal,
    ratio: (rerunTotal ?? recordedTotal) / pool.seconds,
    surfaces: surfaces.length,
    quotes: surfaces.reduce((a, s) => a + s.quotes.length, 0),
    threads,
    load,
    volfit_pool_s: pool.seconds,
    volfit_threads1_s: one.seconds,
    quantlib_rerun_s: rerunTotal,
    quantlib_recorded_s: recordedTotal,
    ratio_recorded: recordedTotal / pool.seconds,
    ratio_threads1: (rerunTotal ?? recordedTotal) / one.seconds,
    pool_vs_threads1: one.seconds / pool.seconds,
    cpu_parallel_speedup: capacity,
    same_fits: same ? 'yes' : 'NO',
    days_within_0_01: `${diffs.length - misses.length}/${diffs.length}`,
    'days_better_by_1e-4': better.length,
    rmse_diff_median: sorted[Math.floor(sorted.length / 2)],
    rmse_diff_max: sorted[sorted.length - 1],
    rmse_diff_min: sorted[0],
    days_missing: misses.length ? misses.map((d) => `${d.date} (+${d.diff.toFixed(3)})`).join('; ') : 'none',
    routes: routeCounts(fits),
    volfit_cold_pool_s: cold.seconds,
    ratio_cold: (rerunTotal ?? recordedTotal) / cold.seconds,
    volfit_cold_days_within_0_01: `${surfaces.length - coldMisses.length}/${surfaces.length}`,
    volfit_cold_routes: routeCounts(cold.value.map(fitOf)),
    rerun_matches_recorded: rerun ? Math.max(...rerun.map((d) => Math.abs(d.rmse_iv * 100 - recorded.get(d.date)!.rmse))) : undefined,
  };
  console.log(
    `anchor: volfit ${pool.seconds.toFixed(1)} s (threads ${threads}), ${one.seconds.toFixed(1)} s (threads 1); QuantLib ${rerunTotal?.toFixed(1) ?? '-'} s re-run, ${recordedTotal.toFixed(1)} s recorded; ` +
      `ratio ${(cols.ratio as number).toFixed(1)}x; days within 0.01 vol points ${cols.days_within_0_01}; missing: ${cols.days_missing}; ` +
      `own cold start ${cold.seconds.toFixed(1)} s (${(cols.ratio_cold as number).toFixed(1)}x), days within ${cols.volfit_cold_days_within_0_01}`,
  );
  return { cols, fits };
}

/**
 * The anchor's WebGPU column: its days on WebGPU from the same cold start (on a software adapter
 * every 10th day), each against its CPU fit and QuantLib's recorded RMSE.
 */
async function anchorWebgpu(surfaces: ManySurface[], cpuFits: CalibrationResult[] | undefined, ctx: RunContext): Promise<Record<string, unknown>> {
  const idx = ctx.gpu!.software ? surfaces.map((_, i) => i).filter((i) => i % 10 === 0) : surfaces.map((_, i) => i);
  const set = idx.map((i) => surfaces[i]);
  const opts = { model: heston, start: COLD_START };
  const cpu = cpuFits ? idx.map((i) => cpuFits[i]) : (await calibrateMany(set, { ...opts, backend: 'cpu', threads: ctx.threads })).map(fitOf);
  const { cols, fits } = await webgpuColumns(ctx.gpu!, {
    surfaces: set,
    cpu,
    options: opts,
    sampled: idx.length < surfaces.length ? `${idx.length} of ${surfaces.length} (every 10th day: 1st, 11th, ...)` : undefined,
  });
  const recorded = recordedCold();
  cols.webgpu_days_within_0_01 = `${fits.filter((f, k) => f && (f.rmse_iv ?? NaN) * 100 - recorded.get(set[k].name!)!.rmse <= 0.01).length}/${idx.length}`;
  console.log(`anchor WebGPU: ${idx.length} days in ${(cols.webgpu_s as number).toFixed(1)} s, equal to the CPU fit ${cols.webgpu_equal_cpu} (largest rel diff ${(cols.webgpu_vs_cpu_max_rel as number).toExponential(1)}), within 0.01 vol points of QuantLib ${cols.webgpu_days_within_0_01}`);
  return cols;
}
export async function run(): Promise<void> {
  const flag = (f: string) => process.argv.includes(`--${f}`);
  const quick = flag('quick');
  const threads = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const ql = quantlibAvailable();
  if (!ql) console.log('QuantLib-Python not available at /usr/bin/python3: surfaces priced by our COS engine, QuantLib columns left empty (the anchor compares with the recorded file)');
  // Rows and columns not asked for stay as last recorded (mergeRow).
  const picked = ['random', 's1000', 'bates', 'anchor'].filter(flag);
  const parts = new Set(picked.length ? picked : quick ? ['random', 'anchor'] : ['random', 's1000', 'bates', 'anchor']);
  const columns = !flag('cpu') && !flag('webgpu');
  const webgpu = columns || flag('webgpu');
  const gpu = webgpu ? await getGpu() : null;
  if (webgpu && !gpu) console.log(`no WebGPU adapter (${gpuUnavailableReason()}): WebGPU columns stay as last recorded`);
  const ctx: RunContext = { cpu: columns || flag('cpu'), webgpu, quick, ql, threads, gpu };
  const small = quick ? [1, 10] : [1, 10, 100];
  const rows = [
    ...(parts.has('random') || parts.has('s1000') ? await familyRows(HESTON, [...(parts.has('random') ? small : []), ...(parts.has('s1000') ? [1000] : [])], ctx) : []),
    ...(parts.has('bates') ? await familyRows(BATES, small, ctx) : []),
    ...(parts.has('anchor') ? await anchor(ctx) : []),
  ];
  recordResults(rows, 'many', NOTES(threads));
}

export const NOTES = (threads: number) => [
  `calibrateMany on the CPU: a worker_threads pool (threads = os.availableParallelism() = ${threads} here), each worker the f64 calibrate; threads 1 = in-process, no worker. Times include worker start-up (workers load the .ts sources through tsx under the bench; from dist/ they start faster) and each worker's cold JIT; the plain loop of calibrate runs after one warm-up fit.`,
  'many heston S=N: N random Heston surfaces (fixed seed; even equity-like: spot 100, r 2 %, 30-730 days, v0 .02-.08, sigma .3-.9, rho -.8..-.3; odd crypto-like: spot 60k-110k, r 0, 7-365 days, v0 .2-.5, sigma .8-2.5, rho -.3..+.1), 5-15 expiries x 20 strikes (+-2 sd), IVs from QuantLib at the truth; all fits from QuantLib\'s standard start (v0 .1, kappa 3, theta .1, sigma .3, rho -.3). many bates S=N: the same construction with its own seed, Bates jumps lambda .3-.8, muJ -.15..-.05, sigmaJ .1-.2 drawn per surface on top, IVs from QuantLib\'s BatesEngine, start adds lambda .5, muJ -.1, sigmaJ .1. volfit_per_s = surfaces/s of the pool; ratio = QuantLib sequential seconds / pool seconds, ratio_loop = the same against the plain loop. Recovered: parameters within 1e-3 relative of the truth; rmse_below_1e-6: IV RMSE < 1e-6. same_fits: the pool and threads 1 give the loop\'s parameters to 1e-10. volfit_cold_*: the pool again without a start (volfit\'s own cold start: the model default, the data-driven guesses and 4P Halton points ranked in one batch at rank-grade COS, LM from the best; 16P more before DE when that fit is suspect). From a given start volfit probes it beside its data-driven guesses and starts LM from the guess when that prices 4x better; a fit that still ends on a bound tries LM from the best probe points before DE (volfit_not_recovered lists misses).',
  'QuantLib sampled (quantlib_sampled, Heston S = 1,000 only): QuantLib fits a fixed sample, every 10th surface (10k + k mod 2: 0, 11, 20, 31, ..., as many equity-like as crypto-like); quantlib_per_s is measured on the sample (quantlib_sample_s its total), quantlib_s_scaled = S / quantlib_per_s is that rate SCALED to the row (an extrapolation, not a measurement), and ratio / ratio_loop use it; quantlib_recovered and quantlib_rmse_below_1e-6 count the sample. Every other row\'s QuantLib figures are measured on all its surfaces (quantlib_s).',
  'With S = 1, calibrateMany runs in-process (no worker), so its S = 1 times are one in-process fit.',
  'QuantLib 1.29 (Debian python3): HestonModel + AnalyticHestonEngine / BatesModel + BatesEngine, ImpliedVolError helpers, LevenbergMarquardt(1e-8, 1e-8, 1e-8), EndCriteria(1000, 100, 1e-8, 1e-8, 1e-8), timed around model.calibrate only, one surface after another.',
  'many anchor: data/deribit-btc-daily-quantlib-anchor, 100 days as independent Heston fits from QuantLib\'s cold start (v0 .4, kappa 2, theta .4, sigma 1, rho 0), unweighted; volfit_cold_*: the same days with no start given (volfit\'s own cold start), ratio_cold against the same QuantLib total. quantlib_rerun_s: bench/quantlib/anchor.py in this run (SOURCE.md\'s setup; it reproduces the recorded parameters to ~1e-8 and RMSEs to 1e-6 vol points: rerun_matches_recorded is the largest RMSE difference in vol points); quantlib_recorded_s: the seconds column of quantlib_heston_cold.csv (another run, similar machine). ratio = QuantLib re-run total / volfit pool total. days_within_0_01: volfit RMSE <= recorded QuantLib RMSE + 0.01 vol points; rmse_diff_* = volfit - QuantLib in vol points (negative: volfit lower).',
  `webgpu_* columns: calibrateMany with backend webgpu (every surface's calibrate at once in-process, the LM stencils of the surfaces waiting together in one multi-surface dispatch per iteration: webgpu_dispatches) on the row's surfaces, from the row's start. On a software adapter (webgpu_device says so: SwiftShader, a CPU emulation of a GPU on these same shared cores) they show CORRECTNESS, NOT GPU SPEED, and run on a stated fixed sample where the whole row would take too long (webgpu_sampled: at most ${SOFTWARE_GPU_MAX} surfaces of a row, every (S/${SOFTWARE_GPU_MAX})th, shifted as QuantLib's sample; the anchor every 10th day). webgpu_equal_cpu: fits within ${F32_FLOOR} relative of the same surface's f64 CPU fit (the f32 floor of the GPU's LM; webgpu_vs_cpu_max_rel the largest difference); webgpu_rmse_max against webgpu_cpu_rmse_max (the CPU fits' largest IV RMSE); webgpu_rmse_excess_max: the largest (WebGPU fit's IV RMSE - CPU fit's) over the surfaces, in vol; webgpu_recovered as volfit_recovered; webgpu_on_gpu: fits whose LM ran on the GPU; webgpu_not_equal lists the surfaces whose WebGPU fit is not their CPU fit (both routes and RMSEs, the difference). webgpu_per_s = surfaces/s over the WebGPU set. A row's WebGPU columns may come from another run than its CPU columns (bench many -- --webgpu re-runs only them): webgpu_load is the load average when they ran, load when the CPU columns ran.`,
  'Issue 13 targets: anchor 50x QuantLib\'s cold total on this 2-core machine (not done below 20x), every day within 0.01 vol points; random population 20x with every surface recovered.',
  'Before the cold-start work of issue 13 §3 (same machine, quiet, 2026-12-03): anchor pool 10.7 s, in-process 18.0 s against QuantLib 102.4 s re-run (9.5x), 8 days through DE (1.5 s each); random S=100 from the standard start pool 91.8 s, loop 180 s against QuantLib 240.9 s (2.6x), recovered 91/100 (QuantLib 45/100), own cold start 65.9 s, 99/100.',
  'QuantLib and volfit run in the same process run, so a loaded machine slows both; timings of this shared machine vary with the other jobs on it (load: the 1-minute load average, 2 cores, when the row\'s CPU columns started).',
];
