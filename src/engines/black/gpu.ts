/**
 * WebGPU runner for shaders/black.wgsl: batched Black-76 prices/Greeks and implied volatility in
 * f32, with the reduction to normalised out-of-the-money units and the scaling back done in f64
 * here (so the f32 error is relative to the normalised quantities, not to the forward).
 *
 * Accuracy against the f64 twins (test/engines/black.gpu.test.ts):
 *  - prices: |ΔV| <= ~2e-7 √(FK) D (the f32 normalised price error); Greeks ~2e-7 of their scale;
 *  - implied vol, raw f32 (precision 'f32'): |Δσ|/σ <= ~2.5e-6 (mean ~2e-7) on T 1 day-5 years,
 *    vol 5-150 %, |ln K/F| <= 6 σ√T, wherever the normalised time value β >= 1e-30 (f32 range);
 *    rows below that, or where the f32 iteration does not settle, get 'no_information';
 *  - implied vol, default (precision 'f64'): the f32 solution polished on the CPU in f64 by one
 *    Householder(3) step (quartic: 1e-6 -> ~1e-20), so the result is the f64 solver's to rounding
 *    (1e-12 and better wherever the price carries it); rows the f32 kernel could not resolve are
 *    solved in full on the CPU, so the statuses are exactly the CPU ones.
 * Pipelines are compiled once per device; storage buffers are kept per device and grow.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { deviceBuffers, dispatchKernel, getKernel, readBuffer, WORKGROUP_SIZE, workgroupGrid } from '../../backends/webgpu/kernel.js';
import { black76Greeks } from './black76.js';
import { BLACK_SHADER, BlackGreeksRecord, BlackIvRecord, BlackIvRowRecord, BlackParamsRecord, BlackRowRecord } from './gpuLayout.js';
import { normalisedImpliedVolOtm, polishNormalisedImpliedVol, reduceIvBatch, type IvBatch, type IvStatus } from './impliedVol.js';

const WG = WORKGROUP_SIZE;
/** Smallest normalised time value the f32 kernel accepts (ln β must stay well inside f32 exp range). */
export const GPU_MIN_BETA = 1e-30;
/** Largest last relative Newton step accepted as converged in f32. */
const GPU_CONVERGED = 1e-5;
const MAX_ITER = 40;

export interface PriceBatch {
  forward: Float64Array;
  strike: Float64Array;
  T: Float64Array;
  vol: Float64Array;
  isCall: Uint8Array;
  /** Discount factors; 1 when absent. */
  discount?: Float64Array;
}

export interface GreeksBatch {
  price: Float64Array;
  delta: Float64Array;
  gamma: Float64Array;
  vega: Float64Array;
  theta: Float64Array;
  vanna: Float64Array;
  volga: Float64Array;
}

const buffers = deviceBuffers('black', ['params', 'rows', 'out']);

function grow(ctx: GpuContext, rows: ArrayBuffer, n: number, outBytes: number) {
  const b = buffers(ctx);
  const params = b.params.write(BlackParamsRecord.packOne({ n, maxIter: MAX_ITER }));
  return { params, rows: b.rows.write(rows), out: b.out.ensure(outBytes) };
}

/** price_greeks on packed BlackRow records; returns the BlackGreeks records read back. */
async function runGreeks(ctx: GpuContext, rows: ArrayBuffer, n: number): Promise<ArrayBuffer> {
  const kernel = await getKernel(ctx, BLACK_SHADER, 'price_greeks');
  const bytes = BlackGreeksRecord.bytes(n);
  const b = grow(ctx, rows, n, bytes);
  dispatchKernel(ctx, kernel, { params: b.params, rows: b.rows, greeks: b.out }, workgroupGrid(ctx, n, WG));
  return readBuffer(ctx, b.out, bytes);
}

/** implied_vol on packed BlackIvRow records; returns the BlackIv records read back. */
async function runIv(ctx: GpuContext, rows: ArrayBuffer, n: number): Promise<ArrayBuffer> {
  const kernel = await getKernel(ctx, BLACK_SHADER, 'implied_vol');
  const bytes = BlackIvRecord.bytes(n);
  const b = grow(ctx, rows, n, bytes);
  dispatchKernel(ctx, kernel, { params: b.params, ivRows: b.rows, ivs: b.out }, workgroupGrid(ctx, n, WG));
  return readBuffer(ctx, b.out, bytes);
}

function checkLengths(batch: object, keys: string[], n: number): void {
  const rec = batch as Record<string, ArrayLike<number> | undefined>;
  for (const k of keys) {
    const a = rec[k];
    if (a && a.length !== n) throw new RangeError(`batch.${k} has length ${a.length}, expected ${n}`);
  }
}

/**
 * Black-76 present values and forward-convention Greeks (as black76Greeks) for a batch.
 * Throws a RangeError naming the row (0-based) and field for invalid inputs.
 */
export async function black76PricesGpu(ctx: GpuContext, batch: PriceBatch): Promise<GreeksBatch> {
  const n = batch.forward.length;
  checkLengths(batch, ['strike', 'T', 'vol', 'isCall', 'discount'], n);
  const out: GreeksBatch = {
    price: new Float64Array(n),
    delta: new Float64Array(n),
    gamma: new Float64Array(n),
    vega: new Float64Array(n),
    theta: new Float64Array(n),
    vanna: new Float64Array(n),
    volga: new Float64Array(n),
  };
  if (n === 0) return out;
  const rows: Array<{ x: number; s: number; d1: number; isCall: number }> = new Array(n);
  for (let i = 0; i < n; i++) {
    const F = batch.forward[i];
    const K = batch.strike[i];
    const T = batch.T[i];
    const vol = batch.vol[i];
    const D = batch.discount ? batch.discount[i] : 1;
    for (const [name, v, pos] of [['forward', F, true], ['strike', K, true], ['T', T, false], ['vol', vol, false], ['discount', D, true]] as const) {
      if (!Number.isFinite(v) || (pos ? !(v > 0) : v < 0)) throw new RangeError(`row ${i}: ${name} must be a finite ${pos ? 'positive' : 'non-negative'} number, got ${v}`);
    }
    const s = vol * Math.sqrt(T);
    const x = Math.log(F / K);
    rows[i] = { x: -Math.abs(x), s, d1: s > 0 ? x / s + 0.5 * s : 0, isCall: batch.isCall[i] ? 1 : 0 };
  }
  const res = await runGreeks(ctx, BlackRowRecord.pack(rows), n);
  const otm = BlackGreeksRecord.column(res, 'otm', n);
  const cdfs = BlackGreeksRecord.column(res, 'cdf', n);
  const pdfs = BlackGreeksRecord.column(res, 'pdf', n);
  for (let i = 0; i < n; i++) {
    const F = batch.forward[i];
    const K = batch.strike[i];
    const T = batch.T[i];
    const vol = batch.vol[i];
    const isCall = batch.isCall[i] !== 0;
    const D = batch.discount ? batch.discount[i] : 1;
    const s = vol * Math.sqrt(T);
    if (!(s > 0)) {
      // Degenerate rows (payoff Greeks) are not worth a kernel path.
      const g = black76Greeks(F, K, T, vol, isCall, D);
      out.price[i] = g.price;
      out.delta[i] = g.delta;
      out.theta[i] = g.theta;
      continue;
    }
    const theta = isCall ? 1 : -1;
    const d1 = Math.log(F / K) / s + 0.5 * s;
    const d2 = d1 - s;
    const b = otm[i];
    const cdf = cdfs[i];
    const pdf = pdfs[i];
    const sqrtT = Math.sqrt(T);
    const intrinsic = Math.max(theta * (F - K), 0);
    const price = D * (intrinsic + Math.sqrt(F * K) * b);
    const vega = D * F * pdf * sqrtT;
    const rate = -Math.log(D) / T;
    out.price[i] = price;
    out.delta[i] = D * theta * cdf;
    out.gamma[i] = (D * pdf) / (F * s);
    out.vega[i] = vega;
    out.theta[i] = rate * price - (D * F * pdf * vol) / (2 * sqrtT);
    out.vanna[i] = (-D * pdf * d2) / vol;
    out.volga[i] = (vega * d1 * d2) / vol;
  }
  return out;
}

export interface GpuIvOptions {
  /**
   * 'f64' (default): polish the f32 GPU solution to f64 accuracy on the CPU (see the module
   * comment); 'f32': the raw f32 solution (~2.5e-6 relative), for benchmarks of the kernel alone.
   */
  precision?: 'f64' | 'f32';
}

/**
 * Implied volatilities of a batch on the GPU; same result shape and statuses as the CPU
 * impliedVolatilities (checks and bounds are decided in f64 here). With precision 'f32', rows the
 * f32 kernel cannot resolve (β < GPU_MIN_BETA, or no convergence) get 'no_information'; with the
 * default 'f64' they are solved on the CPU instead.
 */
export async function impliedVolatilitiesGpu(
  ctx: GpuContext,
  batch: IvBatch,
  opts: GpuIvOptions = {},
): Promise<{ iv: Float64Array; status: IvStatus[] }> {
  const polish = (opts.precision ?? 'f64') === 'f64';
  const n = batch.price.length;
  checkLengths(batch, ['forward', 'strike', 'T', 'isCall', 'discount'], n);
  const { status, beta, x } = reduceIvBatch(batch);
  const iv = new Float64Array(n).fill(NaN);
  const index = new Uint32Array(n);
  const rows: Array<{ x: number; lnBeta: number }> = [];
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (status[i] !== 'ok') continue;
    if (beta[i] < GPU_MIN_BETA) {
      // Beyond f32 range: the CPU solves these in f64 (or they carry no f32 information).
      if (polish) iv[i] = normalisedImpliedVolOtm(beta[i], x[i]) / Math.sqrt(batch.T[i]);
      else status[i] = 'no_information';
      continue;
    }
    rows.push({ x: x[i], lnBeta: Math.log(beta[i]) });
    index[m++] = i;
  }
  if (m > 0) {
    const res = await runIv(ctx, BlackIvRowRecord.pack(rows), m);
    const sol = BlackIvRecord.column(res, 's', m);
    const rel = BlackIvRecord.column(res, 'rel', m);
    for (let j = 0; j < m; j++) {
      const i = index[j];
      const s32 = sol[j];
      const converged = Number.isFinite(s32) && s32 > 0 && rel[j] <= GPU_CONVERGED;
      if (!polish) {
        if (converged) iv[i] = s32 / Math.sqrt(batch.T[i]);
        else status[i] = 'no_information';
        continue;
      }
      let s = converged ? polishNormalisedImpliedVol(beta[i], x[i], s32) : NaN;
      if (!(s > 0)) s = normalisedImpliedVolOtm(beta[i], x[i]); // f32 failed: full f64 solve
      iv[i] = s / Math.sqrt(batch.T[i]);
    }
  }
  if (polish) {
    // The CPU solver's own last check (impliedVolatility): a non-finite result carries no information.
    for (let i = 0; i < n; i++) {
      if (status[i] === 'ok' && !(Number.isFinite(iv[i]) && iv[i] > 0)) {
        status[i] = 'no_information';
        iv[i] = NaN;
      }
    }
  }
  return { iv, status };
}
