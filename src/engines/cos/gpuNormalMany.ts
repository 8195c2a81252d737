/**
 * Many surfaces' GPU-resident LM stencils in one dispatch: every surface's whole finite-difference
 * stencil is priced and reduced to its own f, J^T r and J^T J in one pass of cos_coef,
 * cos.wgsl cos_sum_many and lm_normal.wgsl lm_normal_many, and only the per-workgroup partial sums
 * come back. Each surface keeps its own CosGpuNormal (held windows, resident quote data and
 * records, f64 set-up): `prepare` runs per surface as in the single-surface path, and the
 * reduction is segmented by surface (a workgroup never straddles two: each surface's quotes
 * start a new workgroup, in the single path's order), so a surface's sums are the same f32
 * operations in the same order as its lone dispatch would do.
 *
 * Per call, per group of surfaces that share a kernel (model, stencil size, scheme):
 * - up: the plans (sets x expiries x 60 B per surface), control variates (12 B per expiry), one
 *   LmSeg record (68 B) per surface and one u32 per workgroup; records re-frozen by a surface's
 *   `prepare` (its own buffer, 32 B per quote, as in the single path);
 * - on the GPU only: the surfaces' resident quote data and records copied into one concatenated
 *   buffer (copyBufferToBuffer);
 * - back: K = 3 + D + D(D+1)/2 floats per workgroup of 256 quotes (Heston: 23 floats, 92 B).
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { GrowableBuffer, dispatchKernel, getKernel, readBuffer, workgroupGrid } from '../../backends/webgpu/kernel.js';
import type { NormalSums, StencilBatch } from '../pricer.js';
import { WG, cosKernelId } from './gpu.js';
import { COS_SHADER, CosDimsRecord, CosPlanRecord, CosQuoteRecord, LM_SHADER, LmInfoRecord, LmNormalRecord, LmQuoteRecord, LmSegRecord, MAX_DIRECTIONS } from './gpuLayout.js';
import { CosGpuNormal, QUOTES_PER_GROUP, finishNormalSums, normalSumCount, type PreparedStencil } from './gpuNormal.js';

export interface ManyStencil {
  evaluator: CosGpuNormal;
  batch: StencilBatch;
}

type Sums = Omit<NormalSums, 'backend'>;

export class CosGpuNormalMany {
  private readonly bufs: Record<'plans' | 'coef' | 'recs' | 'quotes' | 'cv' | 'diffs' | 'dims' | 'info' | 'partials' | 'segs' | 'groupSeg', GrowableBuffer>;
  /** Dispatches, surfaces in them (all, most in one), bytes up and back since creation (tests, benchmarks). */
  readonly traffic = { dispatches: 0, surfaces: 0, most: 0, uploaded: 0, readBack: 0 };

  constructor(private readonly ctx: GpuContext) {
    const names = ['plans', 'coef', 'recs', 'quotes', 'cv', 'diffs', 'dims', 'info', 'partials', 'segs', 'groupSeg'] as const;
    this.bufs = Object.fromEntries(names.map((n) => [n, new GrowableBuffer(ctx, `lm many ${n}`)])) as CosGpuNormalMany['bufs'];
  }

  /** Each stencil's sums, in order; an entry is an Error when that surface's set-up failed (the others go on). */
  async evaluate(items: readonly ManyStencil[]): Promise<Array<Sums | Error>> {
    const out: Array<Sums | Error> = new Array(items.length);
    const ready: Array<{ k: number; ev: CosGpuNormal; prep: PreparedStencil; scheme: StencilBatch['scheme'] }> = [];
    for (let k = 0; k < items.length; k++) {
      try {
        const prep = await items[k].evaluator.prepare(items[k].batch);
        if ('done' in prep) out[k] = prep.done;
        else ready.push({ k, ev: items[k].evaluator, prep, scheme: items[k].batch.scheme });
      } catch (e) {
        out[k] = e instanceof Error ? e : new Error(String(e));
      }
    }
    // One dispatch per kernel: surfaces of one model and scheme, lone points (no directions, so
    // no scheme) and stencils together.
    const groups = new Map<string, typeof ready>();
    const keyOf = (r: (typeof ready)[number]) => `${cosKernelId(r.ev.resident().model)}|${r.scheme}`;
    for (const r of [...ready.filter((x) => x.prep.D > 0), ...ready.filter((x) => x.prep.D === 0)]) {
      let key = keyOf(r);
      if (r.prep.D === 0) key = [...groups.keys()].find((k) => k.startsWith(`${cosKernelId(r.ev.resident().model)}|`)) ?? key;
      const g = groups.get(key);
      if (g) g.push(r);
      else groups.set(key, [r]);
    }
    for (const g of groups.values()) {
      const sums = await this.dispatch(g);
      g.forEach((r, j) => (out[r.k] = sums[j]));
    }
    return out;
  }

  private async dispatch(items: ReadonlyArray<{ ev: CosGpuNormal; prep: PreparedStencil; scheme: StencilBatch['scheme'] }>): Promise<Sums[]> {
    const { ctx, bufs } = this;
    const model = items[0].ev.resident().model;
    // Partials at the stride of the largest stencil's K.
    const K = Math.max(...items.map((r) => normalSumCount(r.prep.D)));
    const segs = [];
    const planRecs: PreparedStencil['planRecs'] = [];
    const cv: PreparedStencil['cv'] = [];
    const groupSeg: number[] = [];
    let quoteBase = 0;
    let recordBase = 0;
    let stride = 1;
    for (let k = 0; k < items.length; k++) {
      const { prep } = items[k];
      const n = prep.n;
      const groupsOf = Math.ceil(prep.M / QUOTES_PER_GROUP);
      segs.push({
        quoteBase, quotes: prep.M, recordBase, planBase: planRecs.length, expiries: prep.E, expiryBase: cv.length, groupBase: groupSeg.length, sets: n, dirs: prep.D,
        invStep: Float64Array.from({ length: MAX_DIRECTIONS }, (_, j) => prep.invStep[j] ?? 0),
      });
      for (const pr of prep.planRecs) planRecs.push(pr);
      for (const c of prep.cv) cv.push(c);
      for (let w = 0; w < groupsOf; w++) groupSeg.push(k);
      quoteBase += prep.M;
      recordBase += n * prep.M;
      stride = Math.max(stride, prep.stride);
    }
    const nPlans = planRecs.length;
    const nGroups = groupSeg.length;
    const up = [
      CosPlanRecord.pack(planRecs), LmNormalRecord.pack(cv), LmSegRecord.pack(segs), new Uint32Array(groupSeg).buffer,
      CosDimsRecord.packOne({ plans: nPlans, stride, records: recordBase, quotes: segs.length }),
      // lm_normal_many reads `expiries` as the partials' stride (K floats per workgroup).
      LmInfoRecord.packOne({ quotes: quoteBase, expiries: K, groups: nGroups, invStep: new Float64Array(MAX_DIRECTIONS) }),
    ] as const;
    const [planBuf, cvBuf, segBuf, groupBuf, dimBuf, infoBuf] = [bufs.plans, bufs.cv, bufs.segs, bufs.groupSeg, bufs.dims, bufs.info].map((b, j) => b.write(up[j]));
    this.traffic.uploaded += up.reduce((a, b) => a + b.byteLength, 0);

    // The surfaces' resident quote data and records, concatenated on the GPU.
    const recBuf = bufs.recs.ensure(quoteBase * CosQuoteRecord.size);
    const quoteBuf = bufs.quotes.ensure(quoteBase * LmQuoteRecord.size);
    const enc = ctx.device.createCommandEncoder();
    for (let k = 0; k < items.length; k++) {
      const res = items[k].ev.resident();
      enc.copyBufferToBuffer(res.recs, 0, recBuf, segs[k].quoteBase * CosQuoteRecord.size, res.M * CosQuoteRecord.size);
      enc.copyBufferToBuffer(res.quotes, 0, quoteBuf, segs[k].quoteBase * LmQuoteRecord.size, res.M * LmQuoteRecord.size);
    }
    ctx.device.queue.submit([enc.finish()]);

    const coefBuf = bufs.coef.ensure(nPlans * stride * 16);
    const diffBuf = bufs.diffs.ensure(recordBase * 4);
    const grid = workgroupGrid(ctx, nGroups, 1);
    const partBuf = bufs.partials.ensure(grid[0] * grid[1] * K * 4);
    const constants = { MODEL: cosKernelId(model)! };
    const [coefKernel, sumKernel, lmKernel] = await Promise.all([
      getKernel(ctx, COS_SHADER, 'cos_coef', constants),
      getKernel(ctx, COS_SHADER, 'cos_sum_many', constants),
      getKernel(ctx, LM_SHADER, 'lm_normal_many', { CENTRAL: items.some((r) => r.prep.D > 0 && r.scheme === 'central') ? 1 : 0 }),
    ]);
    dispatchKernel(ctx, coefKernel, { plans: planBuf, coef: coefBuf, dims: dimBuf }, workgroupGrid(ctx, nPlans * stride, WG));
    dispatchKernel(ctx, sumKernel, { recs: recBuf, coefIn: coefBuf, dims: dimBuf, out: diffBuf, plans: planBuf, segs: segBuf }, workgroupGrid(ctx, recordBase, WG));
    dispatchKernel(ctx, lmKernel, { diffs: diffBuf, quotes: quoteBuf, recs: recBuf, cv: cvBuf, info: infoBuf, partials: partBuf, segs: segBuf, groupSeg: groupBuf }, grid);
    const part = new Float32Array(await readBuffer(ctx, partBuf, nGroups * K * 4));
    this.traffic.readBack += nGroups * K * 4;
    this.traffic.dispatches++;
    this.traffic.surfaces += items.length;
    this.traffic.most = Math.max(this.traffic.most, items.length);
    return segs.map((s, k) => finishNormalSums(part, s.groupBase, Math.ceil(items[k].prep.M / QUOTES_PER_GROUP), s.dirs, K));
  }

  dispose(): void {
    for (const b of Object.values(this.bufs)) b.destroy();
  }
}
