/**
 * WebGPU twin of cpu.ts (shaders/cos.wgsl). The CPU does the O(plans + quotes) f64 set-up (cumulants,
 * window, term count, exact phase splits) and adds the Black-Scholes control variate back in f64;
 * the GPU does the O(terms x (plans + quotes)) work in f32. Buffers and pipelines persist across
 * calls (GrowableBuffer, getPipeline), so a calibrator's repeated calls compile nothing.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { GrowableBuffer, dispatch, getPipeline, readBuffer, workgroupGrid } from '../../backends/webgpu/kernel.js';
import { normalisedBlack } from '../black/normalised.js';
import type { Model } from '../../models/types.js';
import type { QuoteSet } from '../pricer.js';
import type { ExpiryGroups } from './expiries.js';
import { cosPlan, type CosOptions } from './plan.js';

/** f32 cannot resolve |phi| below ~1e-9 of the price anyway; 4095 terms keeps k * head exact. */
export const COS_F32_DEFAULTS: CosOptions = { L: 14, tol: 1e-9, minTerms: 32, maxTerms: 4095 };

export const MODEL_IDS: Record<string, number> = { heston: 0, bates: 1, merton: 2 };
export const WG = 64;

/** x = hi + lo with hi a multiple of 2^-12 (so k * hi is exact in f32 for k < 4096). */
function split12(x: number): [number, number] {
  const hi = Math.round(x * 4096) / 4096;
  return [hi, x - hi];
}

/**
 * Writes plan j of cos.wgsl (16 floats: [a, pi/(b-a), n, c2], [alphaHi, alphaLo, T, c1], params)
 * for the window [a, b]; alpha = -a/(b-a) is split in f64 so the kernel's phases are exact.
 */
export function packPlan(out: Float32Array, j: number, a: number, b: number, n: number, c2: number, c1: number, T: number, p: Float64Array): void {
  const [ahi, alo] = split12(-a / (b - a));
  out.set([a, Math.PI / (b - a), n, c2, ahi, alo, T, c1], j * 16);
  for (let i = 0; i < p.length; i++) out[j * 16 + 8 + i] = p[i];
}

/**
 * Writes the quote record of cos.wgsl at out[8 at]: [thetaHi, thetaLo, kappa, e^d], [e^a, plan or
 * expiry index, below-window flag, call flag], theta = (d - a)/(b - a), d = min(ln kappa, b),
 * split in f64 so the kernel's phases are exact. Returns false when ln kappa <= a: the put is 0
 * at the accuracy targeted (only the index and flags are written).
 */
export function packRecord(out: Float32Array, at: number, ks: number, a: number, b: number, index: number, call: boolean): boolean {
  if (ks <= a) {
    out.set([0, 0, 0, 0, 0, index, 1, call ? 1 : 0], at * 8);
    return false;
  }
  const d = Math.min(ks, b);
  const [thi, tlo] = split12((d - a) / (b - a));
  out.set([thi, tlo, Math.exp(ks), Math.exp(d), Math.exp(a), index, 0, call ? 1 : 0], at * 8);
  return true;
}

export function gpuSupportsModel(model: Model): boolean {
  return model.name in MODEL_IDS;
}

export class CosGpu {
  private readonly plans: GrowableBuffer;
  private readonly coef: GrowableBuffer;
  private readonly recs: GrowableBuffer;
  private readonly out: GrowableBuffer;
  private readonly dims: GrowableBuffer;
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
    this.plans = new GrowableBuffer(ctx, 'cos plans');
    this.coef = new GrowableBuffer(ctx, 'cos coefficients');
    this.recs = new GrowableBuffer(ctx, 'cos quote records');
    this.out = new GrowableBuffer(ctx, 'cos out');
    this.dims = new GrowableBuffer(ctx, 'cos dims');
  }

  gpuBytes(): number {
    return this.peak;
  }

  async priceBatch(params: Float64Array, n: number): Promise<Float64Array> {
    const { model, quotes, groups, ctx } = this;
    const P = model.params.length;
    const E = groups.T.length;
    const M = quotes.T.length;
    const nPlans = n * E;
    const planData = new Float32Array(nPlans * 16);
    const planA = new Float64Array(nPlans);
    const planB = new Float64Array(nPlans);
    const planC2 = new Float64Array(nPlans);
    const planC1 = new Float64Array(nPlans);
    let stride = 1;
    for (let s = 0; s < n; s++) {
      const p = params.subarray(s * P, (s + 1) * P);
      for (let e = 0; e < E; e++) {
        const T = groups.T[e];
        const plan = cosPlan(model, p, T, this.options);
        const j = s * E + e;
        packPlan(planData, j, plan.a, plan.b, plan.n, plan.c2, plan.c1, T, p);
        planA[j] = plan.a;
        planB[j] = plan.b;
        planC2[j] = plan.c2;
        planC1[j] = plan.c1;
        stride = Math.max(stride, plan.n);
      }
    }
    const nRec = n * M;
    const rec = new Float32Array(nRec * 8);
    const skip = new Uint8Array(nRec);
    for (let s = 0; s < n; s++) {
      for (let m = 0; m < M; m++) {
        const j = s * E + groups.expiryOf[m];
        const ks = Math.log(quotes.strike[m] / quotes.forward[m]);
        const r = s * M + m;
        if (!packRecord(rec, r, ks, planA[j], planB[j], j, quotes.isCall[m] === 1)) skip[r] = 1;
      }
    }
    const dims = new Uint32Array([nPlans, stride, nRec, 0]);
    const planBuf = this.plans.write(planData);
    const coefBuf = this.coef.ensure(nPlans * stride * 16);
    const recBuf = this.recs.write(rec);
    const outBuf = this.out.ensure(nRec * 4);
    const dimBuf = this.dims.write(dims);
    this.peak = Math.max(this.peak, this.plans.bytes + this.coef.bytes + this.recs.bytes + this.out.bytes + this.dims.bytes);

    const constants = { MODEL: MODEL_IDS[model.name] };
    const [coefPipe, sumPipe] = await Promise.all([
      getPipeline(ctx, 'cos.wgsl', 'cos_coef', constants),
      getPipeline(ctx, 'cos.wgsl', 'cos_sum', constants),
    ]);
    dispatch(ctx, coefPipe, [planBuf, coefBuf, dimBuf], workgroupGrid(ctx, nPlans * stride, WG));
    dispatch(ctx, sumPipe, [recBuf, coefBuf, dimBuf, outBuf, planBuf], workgroupGrid(ctx, nRec, WG));
    const diff = new Float32Array(await readBuffer(ctx, outBuf, nRec * 4));
    this.traffic.uploaded += planData.byteLength + rec.byteLength + dims.byteLength;
    this.traffic.readBack += nRec * 4;

    const prices = new Float64Array(nRec);
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

  dispose(): void {
    for (const b of [this.plans, this.coef, this.recs, this.out, this.dims]) b.destroy();
  }
}
