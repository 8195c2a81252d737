/**
 * WebGPU twin of cpu.ts (shaders/cos.wgsl). The CPU does the O(plans + quotes) f64 set-up (cumulants,
 * window, term count, exact phase splits) and adds the Black-Scholes control variate back in f64;
 * the GPU does the O(terms x (plans + quotes)) work in f32. Buffers and pipelines persist across
 * calls (GrowableBuffer, getKernel), so a calibrator's repeated calls compile nothing. Records and
 * bindings are declared in gpuLayout.ts.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { GrowableBuffer, WORKGROUP_SIZE, dispatchKernel, getKernel, readBuffer, workgroupGrid } from '../../backends/webgpu/kernel.js';
import { normalisedBlack } from '../black/normalised.js';
import type { Model } from '../../models/types.js';
import type { QuoteSet } from '../pricer.js';
import type { ExpiryGroups } from './expiries.js';
import { COS_SHADER, CosDimsRecord, CosPlanRecord, CosQuoteRecord, MAX_PARAMS } from './gpuLayout.js';
import { cosPlan, type CosOptions } from './plan.js';

/** f32 cannot resolve |phi| below ~1e-9 of the price anyway; 4095 terms keeps k * head exact. */
export const COS_F32_DEFAULTS: CosOptions = { L: 14, tol: 1e-9, minTerms: 32, maxTerms: 4095 };

export const WG = WORKGROUP_SIZE;

/** x = hi + lo with hi a multiple of 2^-12 (so k * hi is exact in f32 for k < 4096). */
function split12(x: number): [number, number] {
  const hi = Math.round(x * 4096) / 4096;
  return [hi, x - hi];
}

/**
 * Plan j of cos.wgsl (CosPlan, gpuLayout.ts) for the window [a, b]: alpha = -a/(b-a) is split in
 * f64 so the kernel's phases are exact.
 */
export function cosPlanValues(a: number, b: number, n: number, c2: number, c1: number, T: number, p: ArrayLike<number>) {
  const [alphaHi, alphaLo] = split12(-a / (b - a));
  return { w: Math.PI / (b - a), terms: n, c1, c2, alphaHi, alphaLo, T, params: p };
}

/**
 * The quote record of cos.wgsl (CosQuote, gpuLayout.ts) for log-strike ks = ln kappa under the
 * window [a, b]: theta = (d - a)/(b - a), d = min(ks, b), split in f64 so the kernel's phases are
 * exact. When ks <= a the put is 0 at the accuracy targeted: `below` is 1 and only the index and
 * the flags are set.
 */
export function cosQuoteValues(ks: number, a: number, b: number, index: number, call: boolean) {
  const isCall = call ? 1 : 0;
  if (ks <= a) return { thetaHi: 0, thetaLo: 0, kappa: 0, expD: 0, expA: 0, index, below: 1, isCall };
  const d = Math.min(ks, b);
  const [thetaHi, thetaLo] = split12((d - a) / (b - a));
  return { thetaHi, thetaLo, kappa: Math.exp(ks), expD: Math.exp(d), expA: Math.exp(a), index, below: 0, isCall };
}

/**
 * A plan holds MAX_PARAMS parameters: a model with more is refused here rather than spilling
 * into the next plan.
 */
export function assertPlanHoldsModel(model: Model): void {
  if (model.params.length > MAX_PARAMS) {
    throw new Error(
      `model ${model.name} has ${model.params.length} parameters, but a COS GPU plan holds at most ${MAX_PARAMS} (MAX_PARAMS in src/engines/cos/gpuLayout.ts)`,
    );
  }
}

/** The cos.wgsl `MODEL` id of a model (its `kernels.cos`), or undefined when no WGSL branch prices it. */
export function cosKernelId(model: Model): number | undefined {
  return model.kernels?.cos;
}

export function gpuSupportsModel(model: Model): boolean {
  return cosKernelId(model) !== undefined;
}

/** The five device buffers one COS pricing dispatch binds, grown as needed and reused. */
export class CosPriceBuffers {
  readonly plans: GrowableBuffer;
  readonly coef: GrowableBuffer;
  readonly recs: GrowableBuffer;
  readonly out: GrowableBuffer;
  readonly dims: GrowableBuffer;

  constructor(ctx: GpuContext, label: string) {
    this.plans = new GrowableBuffer(ctx, `${label} plans`);
    this.coef = new GrowableBuffer(ctx, `${label} coefficients`);
    this.recs = new GrowableBuffer(ctx, `${label} quote records`);
    this.out = new GrowableBuffer(ctx, `${label} out`);
    this.dims = new GrowableBuffer(ctx, `${label} dims`);
  }

  bytes(): number {
    return this.plans.bytes + this.coef.bytes + this.recs.bytes + this.out.bytes + this.dims.bytes;
  }

  destroy(): void {
    for (const b of [this.plans, this.coef, this.recs, this.out, this.dims]) b.destroy();
  }
}

/**
 * One COS pricing dispatch: `cos_coef` over nPlans x stride coefficients, then `cos_sum` over nRec
 * quote records; returns each record's f32 difference from its Black-Scholes control and the
 * bytes moved.
 */
export async function runCosPrice(
  ctx: GpuContext,
  model: Model,
  bufs: CosPriceBuffers,
  planData: ArrayBuffer | ArrayBufferView,
  recData: ArrayBuffer | ArrayBufferView,
  { nPlans, stride, nRec }: { nPlans: number; stride: number; nRec: number },
): Promise<{ diff: Float32Array; uploaded: number; readBack: number }> {
  const dims = CosDimsRecord.packOne({ plans: nPlans, stride, records: nRec, quotes: 0 });
  const planBuf = bufs.plans.write(planData);
  const recBuf = bufs.recs.write(recData);
  const dimBuf = bufs.dims.write(dims);
  const coefBuf = bufs.coef.ensure(nPlans * stride * 16);
  const outBuf = bufs.out.ensure(nRec * 4);
  const constants = { MODEL: cosKernelId(model)! };
  const [coefKernel, sumKernel] = await Promise.all([
    getKernel(ctx, COS_SHADER, 'cos_coef', constants),
    getKernel(ctx, COS_SHADER, 'cos_sum', constants),
  ]);
  dispatchKernel(ctx, coefKernel, { plans: planBuf, coef: coefBuf, dims: dimBuf }, workgroupGrid(ctx, nPlans * stride, WG));
  dispatchKernel(ctx, sumKernel, { recs: recBuf, coefIn: coefBuf, dims: dimBuf, out: outBuf, plans: planBuf }, workgroupGrid(ctx, nRec, WG));
  const diff = new Float32Array(await readBuffer(ctx, outBuf, nRec * 4));
  return { diff, uploaded: planData.byteLength + recData.byteLength + dims.byteLength, readBack: nRec * 4 };
}

export class CosGpu {
  private readonly bufs: CosPriceBuffers;
  private peak = 0;
  /** Bytes uploaded and read back since creation (benchmarks). */
  readonly traffic = { uploaded: 0, readBack: 0 };

  constructor(
    private readonly ctx: GpuContext,
    private readonly model: Model,
    private readonly quotes: QuoteSet,
    private readonly groups: ExpiryGroups,
    private readonly options: CosOptions = COS_F32_DEFAULTS,
  ) {
    if (!gpuSupportsModel(model)) throw new Error(`no WGSL kernel for model ${model.name}`);
    assertPlanHoldsModel(model);
    this.bufs = new CosPriceBuffers(ctx, 'cos');
  }

  gpuBytes(): number {
    return this.peak;
  }

  async priceBatch(params: Float64Array, n: number): Promise<Float64Array> {
    const { model, quotes, groups, ctx } = this;
    const batch = prepareCosBatch(model, quotes, groups, params, n, this.options);
    const planData = CosPlanRecord.pack(batch.planRecs);
    const rec = CosQuoteRecord.pack(batch.quoteRecs);
    const run = await runCosPrice(ctx, model, this.bufs, planData, rec, batch);
    this.peak = Math.max(this.peak, this.bufs.bytes());
    this.traffic.uploaded += run.uploaded;
    this.traffic.readBack += run.readBack;
    return finishCosBatch(quotes, groups, batch, run.diff, n);
  }

  dispose(): void {
    this.bufs.destroy();
  }
}

/**
 * The f64 set-up of one f32 COS batch (n parameter sets): a plan per (set, expiry) and a quote
 * record per (set, quote), as cos.wgsl reads them. Shared by the WebGPU kernel and other f32
 * ports of it (the web app's WebGL2 tier).
 */
export function prepareCosBatch(model: Model, quotes: QuoteSet, groups: ExpiryGroups, params: Float64Array, n: number, options: CosOptions = COS_F32_DEFAULTS) {
  const P = model.params.length;
  const E = groups.T.length;
  const M = quotes.T.length;
  const nPlans = n * E;
  const planRecs: Array<ReturnType<typeof cosPlanValues>> = new Array(nPlans);
  const planA = new Float64Array(nPlans);
  const planB = new Float64Array(nPlans);
  const planC2 = new Float64Array(nPlans);
  const planC1 = new Float64Array(nPlans);
  let stride = 1;
  for (let s = 0; s < n; s++) {
    const p = params.subarray(s * P, (s + 1) * P);
    for (let e = 0; e < E; e++) {
      const T = groups.T[e];
      const plan = cosPlan(model, p, T, options);
      const j = s * E + e;
      planRecs[j] = cosPlanValues(plan.a, plan.b, plan.n, plan.c2, plan.c1, T, p);
      planA[j] = plan.a;
      planB[j] = plan.b;
      planC2[j] = plan.c2;
      planC1[j] = plan.c1;
      stride = Math.max(stride, plan.n);
    }
  }
  const nRec = n * M;
  const quoteRecs: Array<ReturnType<typeof cosQuoteValues>> = new Array(nRec);
  const skip = new Uint8Array(nRec);
  for (let s = 0; s < n; s++) {
    for (let m = 0; m < M; m++) {
      const j = s * E + groups.expiryOf[m];
      const ks = Math.log(quotes.strike[m] / quotes.forward[m]);
      const r = s * M + m;
      quoteRecs[r] = cosQuoteValues(ks, planA[j], planB[j], j, quotes.isCall[m] === 1);
      skip[r] = quoteRecs[r].below;
    }
  }
  return { nPlans, nRec, stride, planRecs, quoteRecs, planC1, planC2, skip };
}

/** Prices (n x M) from the kernel's f32 put differences: the control variate added back in f64. */
export function finishCosBatch(quotes: QuoteSet, groups: ExpiryGroups, batch: ReturnType<typeof prepareCosBatch>, diff: Float32Array, n: number): Float64Array {
  const { planC1, planC2, skip } = batch;
  const E = groups.T.length;
  const M = quotes.T.length;
  const prices = new Float64Array(n * M);
  for (let s = 0; s < n; s++) {
    for (let m = 0; m < M; m++) {
      const r = s * M + m;
      const j = s * E + groups.expiryOf[m];
      const F = quotes.forward[m];
      const kappa = quotes.strike[m] / F;
      let put = 0;
      if (!skip[r]) {
        // Control variate: the put on X ~ N(c1, c2) (the model's mean and variance), closed form
        // in f64: E[(kappa - e^X)^+] = e^s P_Black(F = 1, K = kappa e^-s, sd sqrt(c2)), s = c1 + c2/2.
        const sh = planC1[j] + 0.5 * planC2[j];
        const ks = kappa * Math.exp(-sh);
        const bs = Math.exp(sh) * Math.sqrt(ks) * normalisedBlack(-Math.log(ks), Math.sqrt(planC2[j]), false);
        put = Math.min(Math.max(bs + diff[r], 0), kappa);
      }
      const v = quotes.isCall[m] ? Math.max(put + 1 - kappa, 0) : put;
      prices[r] = quotes.discount[m] * F * v;
    }
  }
  return prices;
}
