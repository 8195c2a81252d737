/**
 * calibrateMany on WebGPU: the surfaces' fits run concurrently in-process, each the same
 * `calibrate` as alone (its own route, LM state, polish and report), and every GPU-resident LM
 * stencil reduction (`normalSums`) of every surface waiting at the same moment goes out as ONE
 * multi-surface dispatch (engines/cos/gpuNormalMany.ts) through a RequestBatcher
 * (src/optim/batch.ts): surfaces stepping their LM together share each iteration's dispatch;
 * a surface that converged (or failed, or is in another stage: probe, DE, exact-IV polish) is
 * not waited for after SETTLE_TURNS event-loop turns. A surface's sums are those of its lone
 * dispatch (same f32 operations, same order), so its fit is its single-surface fit.
 *
 * Only pricers of the registry's COS engine for models with a WGSL kernel are batched; a
 * `createPricer` of the caller's, or any other model, prices as it would alone. A failed
 * multi-surface dispatch fails that call's requests, which finish on the CPU (f64 twin), as a
 * failed single-surface dispatch does.
 */
import { runOnBackend, type Backend, type Logger } from '../backends/backend.js';
import { groupByExpiry } from '../engines/cos/expiries.js';
import { gpuSupportsModel } from '../engines/cos/gpu.js';
import { CosGpuNormal } from '../engines/cos/gpuNormal.js';
import { CosGpuNormalMany, type ManyStencil } from '../engines/cos/gpuNormalMany.js';
import { cosNormalSumsCpu } from '../engines/cos/normalSums.js';
import type { NormalSums, NormalSumsEvaluator, PricerFactory } from '../engines/pricer.js';
import { engineFor } from './pricers.js';
import { RequestBatcher, type BatchMember } from '../optim/batch.js';

/** Event-loop turns without a new request after which the waiting surfaces go out without the busy ones. */
export const SETTLE_TURNS = 3;

type Sums = Omit<NormalSums, 'backend'>;

export class GpuSurfaceBatch {
  readonly fused: CosGpuNormalMany;
  readonly batcher: RequestBatcher<ManyStencil, Sums>;

  constructor(private readonly backend: Extract<Backend, { name: 'webgpu' }>) {
    this.fused = new CosGpuNormalMany(backend.gpu);
    this.batcher = new RequestBatcher<ManyStencil, Sums>((items) => this.fused.evaluate(items), SETTLE_TURNS);
  }

  /** Joins one surface's fit; `leave()` when it ends (whatever the outcome). */
  join(): BatchMember<ManyStencil, Sums> {
    return this.batcher.join();
  }

  /**
   * The surface's pricer factory: `base`'s pricers, with their `normalSums` answered through the
   * batch for the COS engine's GPU models (others unchanged).
   */
  pricerFactory(base: PricerFactory, member: BatchMember<ManyStencil, Sums>, log: Logger): PricerFactory {
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
                return member.request({ evaluator: ev, batch });
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
      return {
        ...pricer,
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
  }
}
