/**
 * Many surfaces' price batches in one dispatch: the waiting `priceBatch` requests of several
 * surfaces (each its own quotes and N parameter sets: a DE generation, a probe, an exact-IV
 * stencil) priced by ONE pass of cos.wgsl's cos_coef and cos_sum per kernel (model), the results
 * split back per surface. Each request is set up exactly as the single-surface path (gpu.ts
 * CosGpu.priceBatch) sets up its lone dispatch: prepareCosBatch in f64, the same packed plan and
 * quote records, the same pipelines; the records are only concatenated, with each quote record's
 * plan index moved by the plans before it. A record's f32 put difference reads its own record, its
 * plan and its plan's coefficients only, so every price equals that of the lone dispatch, bit for
 * bit, and finishCosBatch adds the control variate back per surface as alone.
 *
 * Segmented by surface: each request's records start on a workgroup boundary (padded with records
 * flagged `below`, which cos_sum skips), so a workgroup never straddles two surfaces. Requests are
 * split into several dispatches only where the coefficient or record buffer would pass the
 * device's storage-binding limit.
 *
 * Per dispatch: up, the plans (N_s x E_s x CosPlanRecord.size B per surface), the quote records
 * (N_s x M_s x CosQuoteRecord.size B, plus padding to a multiple of WG records per surface) and 16
 * B of sizes; on the GPU only, the coefficients (plans x terms x 16 B); back, one f32 per record.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import type { Model } from '../../models/types.js';
import type { QuoteSet } from '../pricer.js';
import type { ExpiryGroups } from './expiries.js';
import { COS_F32_DEFAULTS, CosPriceBuffers, WG, cosKernelId, finishCosBatch, prepareCosBatch, runCosPrice } from './gpu.js';
import { CosPlanRecord, CosQuoteRecord } from './gpuLayout.js';
import type { CosOptions } from './plan.js';

/** One surface's request: its N parameter sets (N x P, row-major) priced on its quotes. */
export interface CosPriceRequest {
  model: Model;
  quotes: QuoteSet;
  groups: ExpiryGroups;
  /** The f32 kernel's options, as the surface's lone CosGpu has them (default COS_F32_DEFAULTS). */
  options?: CosOptions;
  params: Float64Array;
  n: number;
}

interface Prepared {
  k: number;
  req: CosPriceRequest;
  batch: ReturnType<typeof prepareCosBatch>;
  /** Records rounded up to whole workgroups. */
  padded: number;
}

const QUOTE_WORDS = CosQuoteRecord.size / 4;
const INDEX_WORD = CosQuoteRecord.field('index').offset / 4;
const BELOW_WORD = CosQuoteRecord.field('below').offset / 4;

export class CosGpuPriceMany {
  private readonly bufs: CosPriceBuffers;
  /** Dispatches, requests in them (all, most in one), bytes up and back since creation (tests, benchmarks). */
  readonly traffic = { dispatches: 0, requests: 0, most: 0, uploaded: 0, readBack: 0 };

  constructor(private readonly ctx: GpuContext) {
    this.bufs = new CosPriceBuffers(ctx, 'cos many');
  }

  /**
   * Each request's prices (N x M row-major), in order; an entry is an Error when that request's
   * set-up failed (a set the f32 plan rejects) or its dispatch failed: the others go on.
   */
  async evaluate(requests: readonly CosPriceRequest[]): Promise<Array<Float64Array | Error>> {
    const out: Array<Float64Array | Error> = new Array(requests.length);
    const byKernel = new Map<number, Prepared[]>();
    requests.forEach((req, k) => {
      try {
        const id = cosKernelId(req.model);
        if (id === undefined) throw new Error(`no WGSL kernel for model ${req.model.name}`);
        const batch = prepareCosBatch(req.model, req.quotes, req.groups, req.params, req.n, req.options ?? COS_F32_DEFAULTS);
        const p: Prepared = { k, req, batch, padded: Math.ceil(batch.nRec / WG) * WG };
        const g = byKernel.get(id);
        if (g) g.push(p);
        else byKernel.set(id, [p]);
      } catch (e) {
        out[k] = e instanceof Error ? e : new Error(String(e));
      }
    });
    for (const group of byKernel.values()) {
      for (const chunk of this.chunks(group)) {
        try {
          const prices = await this.dispatch(chunk);
          chunk.forEach((p, j) => (out[p.k] = prices[j]));
        } catch (e) {
          for (const p of chunk) out[p.k] = e instanceof Error ? e : new Error(String(e));
        }
      }
    }
    return out;
  }

  /** Consecutive runs of one kernel's requests whose coefficients and records each fit one storage binding. */
  private chunks(group: readonly Prepared[]): Prepared[][] {
    const limit = Math.min(this.ctx.limits.maxStorageBufferBindingSize, this.ctx.limits.maxBufferSize);
    const out: Prepared[][] = [];
    let cur: Prepared[] = [];
    let plans = 0;
    let recs = 0;
    let stride = 1;
    for (const p of group) {
      const s = Math.max(stride, p.batch.stride);
      const fits = (plans + p.batch.nPlans) * s * 16 <= limit && CosQuoteRecord.bytes(recs + p.padded) <= limit;
      if (cur.length && !fits) {
        out.push(cur);
        cur = [];
        plans = recs = 0;
        stride = 1;
      }
      cur.push(p);
      plans += p.batch.nPlans;
      recs += p.padded;
      stride = Math.max(stride, p.batch.stride);
    }
    if (cur.length) out.push(cur);
    return out;
  }

  private async dispatch(items: readonly Prepared[]): Promise<Float64Array[]> {
    const { ctx, bufs } = this;
    let nPlans = 0;
    let nRec = 0;
    let stride = 1;
    const at = items.map((p) => {
      const base = { plan: nPlans, record: nRec };
      nPlans += p.batch.nPlans;
      nRec += p.padded;
      stride = Math.max(stride, p.batch.stride);
      return base;
    });
    const planData = new Uint8Array(CosPlanRecord.bytes(nPlans));
    const recData = new Uint32Array(CosQuoteRecord.bytes(nRec) / 4);
    items.forEach((p, j) => {
      // The lone path's packed records, placed at this surface's offsets.
      planData.set(new Uint8Array(CosPlanRecord.pack(p.batch.planRecs)), at[j].plan * CosPlanRecord.size);
      const base = at[j].record * QUOTE_WORDS;
      recData.set(new Uint32Array(CosQuoteRecord.pack(p.batch.quoteRecs)), base);
      for (let r = 0; r < p.batch.nRec; r++) recData[base + r * QUOTE_WORDS + INDEX_WORD] += at[j].plan;
      for (let r = p.batch.nRec; r < p.padded; r++) recData[base + r * QUOTE_WORDS + BELOW_WORD] = 1;
    });
    const { diff, uploaded, readBack } = await runCosPrice(ctx, items[0].req.model, bufs, planData, recData, { nPlans, stride, nRec });
    const t = this.traffic;
    t.uploaded += uploaded;
    t.readBack += readBack;
    t.dispatches++;
    t.requests += items.length;
    t.most = Math.max(t.most, items.length);
    return items.map((p, j) => finishCosBatch(p.req.quotes, p.req.groups, p.batch, diff.subarray(at[j].record, at[j].record + p.batch.nRec), p.req.n));
  }

  dispose(): void {
    this.bufs.destroy();
  }
}
