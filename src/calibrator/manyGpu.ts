/**
 * calibrateMany on WebGPU: the surfaces' fits run concurrently in-process, each the same
 * `calibrate` as alone (its own route, LM state, polish and report), and the GPU work of every
 * surface waiting at the same moment goes out together, through two RequestBatchers
 * (src/optim/batch.ts):
 * - `normalSums` (GPU-resident LM stencil reductions): ONE multi-surface dispatch
 *   (engines/cos/gpuNormalMany.ts) per LM iteration of all surfaces stepping together;
 * - `priceBatch` (N parameter sets x the surface's quotes: a given start's probe, each DE
 *   generation, the exact-IV polish's stencils, the report's prices): ONE multi-surface pricing
 *   dispatch per kernel (engines/cos/gpuPriceMany.ts), so the DE generations of all cold
 *   surfaces go out as one batch.
 * A surface busy elsewhere (in another stage, or on the CPU) is not waited for after SETTLE_TURNS
 * event-loop turns. A surface's sums and prices are those of its lone dispatch (same f32
 * operations, same order), so its fit is its single-surface fit.
 *
 * Only pricers of the registry's COS engine for models with a WGSL kernel are batched; a
 * `createPricer` of the caller's, or any other model, prices as it would alone. A failed
 * multi-surface stencil dispatch fails that call's requests, which finish on the CPU (f64 twin),
 * as a failed single-surface dispatch does; a failed price request is priced by the surface's own
 * pricer, exactly as alone (its lone dispatch, or the CPU where that fails too).
 */
import { runOnBackend, type Backend, type Logger } from '../backends/backend.js';
import { groupByExpiry } from '../engines/cos/expiries.js';
import { gpuSupportsModel } from '../engines/cos/gpu.js';
import { CosGpuNormal } from '../engines/cos/gpuNormal.js';
import { CosGpuNormalMany, type ManyStencil } from '../engines/cos/gpuNormalMany.js';
import { CosGpuPriceMany, type CosPriceRequest } from '../engines/cos/gpuPriceMany.js';
import { cosNormalSumsCpu } from '../engines/cos/normalSums.js';
import type { BatchPrices, NormalSums, NormalSumsEvaluator, PricerFactory } from '../engines/pricer.js';
import { engineFor } from './pricers.js';
import { RequestBatcher, type BatchMember } from '../optim/batch.js';

/** Event-loop turns without a new request after which the waiting surfaces go out without the busy ones. */
export const SETTLE_TURNS = 3;

type Sums = Omit<NormalSums, 'backend'>;

/** A surface's membership of both batches; `leave()` when its fit ends (whatever the outcome). */
export interface SurfaceMember {
  sums: BatchMember<ManyStencil, Sums>;
  prices: BatchMember<CosPriceRequest, Float64Array>;
  leave(): void;
}

export class GpuSurfaceBatch {
  readonly fused: CosGpuNormalMany;
  readonly batcher: RequestBatcher<ManyStencil, Sums>;
  readonly pricing: CosGpuPriceMany;
  readonly priceBatcher: RequestBatcher<CosPriceRequest, Float64Array>;

  constructor(private readonly backend: Extract<Backend, { name: 'webgpu' }>) {
    this.fused = new CosGpuNormalMany(backend.gpu);
    this.batcher = new RequestBatcher<ManyStencil, Sums>((items) => this.fused.evaluate(items), SETTLE_TURNS);
    this.pricing = new CosGpuPriceMany(backend.gpu);
    this.priceBatcher = new RequestBatcher<CosPriceRequest, Float64Array>((items) => this.pricing.evaluate(items), SETTLE_TURNS);
  }

  /** Joins one surface's fit to both batches. */
  join(): SurfaceMember {
    const sums = this.batcher.join();
    const prices = this.priceBatcher.join();
    return {
      sums,
      prices,
      leave: () => {
        sums.leave();
        prices.leave();
      },
    };
  }

  /**
   * The surface's pricer factory: `base`'s pricers, with their `normalSums` and `priceBatch`
   * answered through the batches for the COS engine's GPU models (others unchanged).
   */
  pricerFactory(base: PricerFactory, member: SurfaceMember, log: Logger): PricerFactory {
    const backend = this.backend;
    return async (model, quotes, b, hooks) => {
      const pricer = await base(model, quotes, b, hooks);
      if (!pricer.normalSums || b.name !== 'webgpu' || !gpuSupportsModel(model) || engineFor(model) !== 'cos') return pricer;
      const groups = groupByExpiry(quotes);
      const evaluators: CosGpuNormal[] = [];
      const normalSums = (def: Parameters<NonNullable<typeof pricer.normalSums>>[0]): NormalSumsEvaluator => {
        let ev: CosGpuNormal | undefined;
        return {
          async evaluate(batch) {
            const r = await runOnBackend(
              backend,
              'LM normal equations (many surfaces)',
              () => {
                if (!ev) evaluators.push((ev = new CosGpuNormal(backend.gpu, model, quotes, groups, def)));
                return member.sums.request({ evaluator: ev, batch });
              },
              () => cosNormalSumsCpu(model, quotes, def, batch, undefined, groups),
              log,
            );
            return { ...r.value, backend: r.backend };
          },
          dispose() {
            if (ev) evaluators.splice(evaluators.indexOf(ev), 1);
            ev?.dispose();
            ev = undefined;
          },
        };
      };
      const priceBatch = async (params: Float64Array, n: number): Promise<BatchPrices> => {
        if (backend.gpu.lost || params.length < n * model.params.length) return pricer.priceBatch(params, n);
        try {
          return { prices: await member.prices.request({ model, quotes, groups, params, n }), backend: 'webgpu' };
        } catch (e) {
          // As alone: the surface's own dispatch, or the CPU (with the reason logged) where that fails too.
          log(`COS pricing (many surfaces): ${(e as Error).message}; pricing this surface alone`);
          return pricer.priceBatch(params, n);
        }
      };
      return {
        ...pricer,
        priceBatch,
        normalSums,
        dispose: () => {
          pricer.dispose();
          for (const e of evaluators.splice(0)) e.dispose();
        },
      };
    };
  }

  dispose(): void {
    this.fused.dispose();
    this.pricing.dispose();
  }
}
