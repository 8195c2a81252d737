/**
 * GPU-resident LM iterations for the COS engine: a finite-difference stencil is priced, turned
 * into residuals and Jacobian rows, and reduced to f, J^T r and J^T J on the GPU (cos.wgsl
 * cos_coef + cos_sum_resident, then lm_normal.wgsl); only the per-workgroup partial sums come
 * back, and the CPU adds them in f64. Twin: normalSums.ts.
 *
 * What stays on the GPU: the quote data of the residual definition (kappa, ln kappa, c_i, y_i:
 * uploaded once) and the quote records of cos.wgsl. A record depends on the COS window [a, b] of
 * its expiry (the exact phase split of (d - a)/(b - a) is done in f64 here), so the window is
 * held per expiry across calls: the union of the windows of the sets priced, widened by a margin,
 * kept while every new set's own window fits inside and it is not much wider than they need.
 * Otherwise that expiry's window is re-frozen and the records re-uploaded (O(quotes), rare once
 * LM's steps get small). The term count of each (set, expiry) follows cosPlan's rule for the held
 * window (a wider window needs more terms for the same |phi| tolerance). Per call only the
 * O(sets x expiries) plan data goes up.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { GrowableBuffer, dispatchKernel, getKernel, readBuffer, workgroupGrid } from '../../backends/webgpu/kernel.js';
import type { Model } from '../../models/types.js';
import type { NormalSums, QuoteSet, ResidualDefinition, StencilBatch } from '../pricer.js';
import type { ExpiryGroups } from './expiries.js';
import { COS_F32_DEFAULTS, WG, cosKernelId, gpuSupportsModel, assertPlanHoldsModel, cosPlanValues, cosQuoteValues } from './gpu.js';
import {
  COS_SHADER,
  CosDimsRecord,
  CosPlanRecord,
  CosQuoteRecord,
  LM_QUOTES_PER_THREAD,
  LM_SHADER,
  LmInfoRecord,
  LmNormalRecord,
  LmQuoteRecord,
  MAX_DIRECTIONS,
} from './gpuLayout.js';
import { inverseSteps, stencilDirections } from './normalSums.js';
import { cosPlan, cosTermCount, type CosOptions, type CosPlan } from './plan.js';

export { MAX_DIRECTIONS };
/** Quotes reduced per workgroup (lm_normal.wgsl WG x QPT). */
export const QUOTES_PER_GROUP = WG * LM_QUOTES_PER_THREAD;
/**
 * A re-frozen window is the sets' union widened by this fraction of its width on each side, and
 * one wider than MAX_SLACK times the union is re-frozen: a wider window costs terms. Measured on
 * a 1,000-quote Heston fit (SwiftShader): 5 % / 1.25 made each stencil ~30 % slower than the old
 * path; 1 % / 1.05 matches it, at the price of re-uploading the records (32 B per quote) on most
 * of LM's early, large steps.
 */
const MARGIN = 0.01;
const MAX_SLACK = 1.05;

/** What one surface's stencil puts into a dispatch (CosGpuNormal.prepare). */
export interface PreparedStencil {
  n: number;
  D: number;
  E: number;
  M: number;
  nPlans: number;
  stride: number;
  planRecs: Array<ReturnType<typeof cosPlanValues>>;
  cv: Array<{ shift: number; sd: number; expm1Shift: number }>;
  invStep: ArrayLike<number>;
}

/** Floats per workgroup partial: f, non-finite base, non-finite perturbed, J^T r (D), upper J^T J. */
export function normalSumCount(D: number): number {
  return 3 + D + (D * (D + 1)) / 2;
}

/** lm_normal.wgsl's override constants. */
export function lmConstants(n: number, D: number, scheme: StencilBatch['scheme']) {
  return { NSETS: n, NDIR: D, CENTRAL: scheme === 'central' ? 1 : 0 };
}

/**
 * f, g, A from `groups` workgroups' partials starting at workgroup `first`, `stride` floats per
 * workgroup (default K) (f64 accumulation of f32 partials).
 */
export function finishNormalSums(part: Float32Array, first: number, groups: number, D: number, stride = normalSumCount(D)): Omit<NormalSums, 'backend'> {
  const K = normalSumCount(D);
  const sum = new Float64Array(K);
  for (let w = first; w < first + groups; w++) for (let k = 0; k < K; k++) sum[k] += part[w * stride + k];
  if (sum[1] > 0 || !Number.isFinite(sum[0])) return { f: Infinity, g: null, A: null };
  const f = sum[0];
  if (D === 0 || sum[2] > 0) return { f, g: null, A: null };
  const g = sum.slice(3, 3 + D);
  const A = new Float64Array(D * D);
  let t = 3 + D;
  for (let a = 0; a < D; a++) {
    for (let b = a; b < D; b++) {
      A[a * D + b] = A[b * D + a] = sum[t++];
    }
  }
  if (!g.every(Number.isFinite) || !A.every(Number.isFinite)) return { f, g: null, A: null };
  return { f, g, A };
}

export class CosGpuNormal {
  private readonly plans: GrowableBuffer;
  private readonly coef: GrowableBuffer;
  private readonly recs: GrowableBuffer;
  private readonly quoteBuf: GrowableBuffer;
  private readonly cv: GrowableBuffer;
  private readonly diffs: GrowableBuffer;
  private readonly dims: GrowableBuffer;
  private readonly info: GrowableBuffer;
  private readonly partials: GrowableBuffer;
  /** Held window per expiry; NaN until first frozen. */
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  /** Bytes uploaded and read back since creation; windows re-frozen (benchmarks, tests). */
  readonly traffic = { uploaded: 0, readBack: 0, refreezes: 0 };

  constructor(
    private readonly ctx: GpuContext,
    private readonly model: Model,
    private readonly quotes: QuoteSet,
    private readonly groups: ExpiryGroups,
    def: ResidualDefinition,
    private readonly options: CosOptions = COS_F32_DEFAULTS,
  ) {
    if (!gpuSupportsModel(model)) throw new Error(`no WGSL kernel for model ${model.name}`);
    assertPlanHoldsModel(model);
    const mk = (label: string) => new GrowableBuffer(ctx, label);
    this.plans = mk('lm plans');
    this.coef = mk('lm coefficients');
    this.recs = mk('lm quote records');
    this.quoteBuf = mk('lm quote data');
    this.cv = mk('lm control variates');
    this.diffs = mk('lm put differences');
    this.dims = mk('lm dims');
    this.info = mk('lm info');
    this.partials = mk('lm partial sums');
    const E = groups.T.length;
    this.lo = new Float64Array(E).fill(NaN);
    this.hi = new Float64Array(E).fill(NaN);
    const M = quotes.T.length;
    const q = LmQuoteRecord.pack(
      Array.from({ length: M }, (_, i) => {
        const kappa = quotes.strike[i] / quotes.forward[i];
        return { kappa, logKappa: Math.log(kappa), scale: def.scale[i], market: def.target[i] };
      }),
    );
    this.quoteBuf.write(q);
    this.traffic.uploaded += q.byteLength;
  }

  async evaluate(batch: StencilBatch): Promise<Omit<NormalSums, 'backend'>> {
    const prep = await this.prepare(batch);
    if ('done' in prep) return prep.done;
    const { ctx } = this;
    const { n, D, nPlans, stride, M } = prep;
    const planData = CosPlanRecord.pack(prep.planRecs);
    const cvData = LmNormalRecord.pack(prep.cv);
    const nGroups = Math.ceil(M / QUOTES_PER_GROUP);
    const K = normalSumCount(D);
    const info = LmInfoRecord.packOne({ quotes: M, expiries: prep.E, groups: nGroups, invStep: prep.invStep });
    const dims = CosDimsRecord.packOne({ plans: nPlans, stride, records: n * M, quotes: M });

    const planBuf = this.plans.write(planData);
    const cvBuf = this.cv.write(cvData);
    const infoBuf = this.info.write(info);
    const dimBuf = this.dims.write(dims);
    const coefBuf = this.coef.ensure(nPlans * stride * 16);
    const diffBuf = this.diffs.ensure(n * M * 4);
    const grid = workgroupGrid(ctx, nGroups, 1);
    const partBuf = this.partials.ensure(grid[0] * grid[1] * K * 4);
    this.traffic.uploaded += planData.byteLength + cvData.byteLength + info.byteLength + dims.byteLength;

    const constants = { MODEL: cosKernelId(this.model)! };
    const [coefKernel, sumKernel, lmKernel] = await Promise.all([
      getKernel(ctx, COS_SHADER, 'cos_coef', constants),
      getKernel(ctx, COS_SHADER, 'cos_sum_resident', constants),
      getKernel(ctx, LM_SHADER, 'lm_normal', lmConstants(n, D, batch.scheme)),
    ]);
    const recBuf = this.recs.buffer!;
    dispatchKernel(ctx, coefKernel, { plans: planBuf, coef: coefBuf, dims: dimBuf }, workgroupGrid(ctx, nPlans * stride, WG));
    dispatchKernel(ctx, sumKernel, { recs: recBuf, coefIn: coefBuf, dims: dimBuf, out: diffBuf, plans: planBuf }, workgroupGrid(ctx, n * M, WG));
    dispatchKernel(ctx, lmKernel, { diffs: diffBuf, quotes: this.quoteBuf.buffer!, recs: recBuf, cv: cvBuf, info: infoBuf, partials: partBuf }, grid);
    const part = new Float32Array(await readBuffer(ctx, partBuf, nGroups * K * 4));
    this.traffic.readBack += nGroups * K * 4;
    return finishNormalSums(part, 0, nGroups, D);
  }

  /** The resident buffers (quote data, cos.wgsl records) and sizes, for a multi-surface dispatch (gpuNormalMany.ts). */
  resident(): { quotes: GPUBuffer; recs: GPUBuffer; M: number; E: number; model: Model } {
    return { quotes: this.quoteBuf.buffer!, recs: this.recs.buffer!, M: this.quotes.T.length, E: this.groups.T.length, model: this.model };
  }

  /**
   * The f64 set-up of a stencil: cumulants, held windows (re-frozen and records re-uploaded where
   * a set leaves them), a plan per (set, expiry), the base set's control variate per expiry and
   * the inverse steps. `done` when no dispatch is needed (a set the engine rejects).
   */
  async prepare(batch: StencilBatch): Promise<PreparedStencil | { done: Omit<NormalSums, 'backend'> }> {
    const { model, groups } = this;
    const D = stencilDirections(batch);
    if (D > MAX_DIRECTIONS) throw new RangeError(`the GPU reduction takes at most ${MAX_DIRECTIONS} directions, got ${D}`);
    const n = batch.n;
    const P = model.params.length;
    const E = groups.T.length;
    const M = this.quotes.T.length;
    const set = (s: number) => batch.params.subarray(s * P, (s + 1) * P);

    // Cumulants and natural windows (f64). A set the engine rejects: at the base, f = +Infinity;
    // elsewhere no Jacobian, but the base's f still (priced alone).
    const natural: CosPlan[] = [];
    for (let s = 0; s < n; s++) {
      for (let e = 0; e < E; e++) {
        try {
          natural.push(cosPlan(model, set(s), groups.T[e], this.options));
        } catch {
          if (s === 0) return { done: { f: Infinity, g: null, A: null } };
          const base = await this.evaluate({ params: set(0), n: 1, step: new Float64Array(0), scheme: batch.scheme });
          return { done: { f: base.f, g: null, A: null } };
        }
      }
    }
    let refrozen = false;
    for (let e = 0; e < E; e++) {
      let a = Infinity;
      let b = -Infinity;
      for (let s = 0; s < n; s++) {
        a = Math.min(a, natural[s * E + e].a);
        b = Math.max(b, natural[s * E + e].b);
      }
      const fits = a >= this.lo[e] && b <= this.hi[e] && this.hi[e] - this.lo[e] <= MAX_SLACK * (b - a);
      if (!fits) {
        const w = b - a;
        this.lo[e] = a - MARGIN * w;
        this.hi[e] = b + MARGIN * w;
        refrozen = true;
        this.traffic.refreezes++;
      }
    }
    if (refrozen) this.uploadRecords();

    // One control variate per expiry for the whole stencil, the base set's normal N(c1, c2): its
    // f32 rounding is then common to every set and cancels from the Jacobian's differences (a
    // perturbed set's model-minus-normal difference is barely larger for it).
    const nPlans = n * E;
    const planRecs: Array<ReturnType<typeof cosPlanValues>> = new Array(nPlans);
    const cv = Array.from({ length: E }, (_, e) => {
      const { c1, c2 } = natural[e];
      const sh = c1 + 0.5 * c2;
      return { shift: sh, sd: Math.sqrt(c2), expm1Shift: Math.expm1(sh) };
    });
    let stride = 1;
    for (let s = 0; s < n; s++) {
      for (let e = 0; e < E; e++) {
        const j = s * E + e;
        const T = groups.T[e];
        const terms = cosTermCount(model, set(s), T, this.lo[e], this.hi[e], this.options);
        planRecs[j] = cosPlanValues(this.lo[e], this.hi[e], terms, natural[e].c2, natural[e].c1, T, set(s));
        stride = Math.max(stride, terms);
      }
    }
    return { n, D, E, M, nPlans, stride, planRecs, cv, invStep: inverseSteps(batch) };
  }

  /** Records of cos.wgsl (CosQuote) for the held windows, one per quote, indexed by expiry. */
  private uploadRecords(): void {
    const { quotes, groups } = this;
    const M = quotes.T.length;
    const rec = CosQuoteRecord.pack(
      Array.from({ length: M }, (_, m) => {
        const e = groups.expiryOf[m];
        return cosQuoteValues(Math.log(quotes.strike[m] / quotes.forward[m]), this.lo[e], this.hi[e], e, quotes.isCall[m] === 1);
      }),
    );
    this.recs.write(rec);
    this.traffic.uploaded += rec.byteLength;
  }

  dispose(): void {
    for (const b of [this.plans, this.coef, this.recs, this.quoteBuf, this.cv, this.diffs, this.dims, this.info, this.partials]) b.destroy();
  }
}
