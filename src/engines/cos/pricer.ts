/**
 * createCosPricer: the SurfacePricer of the COS engine on a chosen backend. WebGPU prices in f32
 * with a control variate (gpu.ts); the CPU backend, and any GPU failure or lost device, use the
 * f64 engine (cpu.ts) through runOnBackend.
 */
import { runOnBackend, silentLogger, type Backend, type Logger } from '../../backends/backend.js';
import type { Model } from '../../models/types.js';
import type { BatchPrices, NormalSumsEvaluator, QuoteSet, ResidualDefinition, StencilBatch, SurfacePricer } from '../pricer.js';
import { hasFourierExtras } from '../../models/complex.js';
import { cosPricesAndGradient, cosPricesBatch } from './cpu.js';
import { checkQuotes, groupByExpiry } from './expiries.js';
import { CosGpu, gpuSupportsModel } from './gpu.js';
import { CosGpuNormal } from './gpuNormal.js';
import { cosNormalSumsCpu } from './normalSums.js';
import type { CosOptions } from './plan.js';

export interface CosPricerOptions {
  /** Options of the f64 engine (CPU backend and fallback). */
  cpu?: CosOptions;
  /** Options of the f32 kernel. */
  gpu?: CosOptions;
  log?: Logger;
  /**
   * Called after every (parameter set, expiry) the f64 engine prices, so a caller (the
   * calibrator's progress) can report during a long synchronous batch. Must be cheap.
   */
  heartbeat?: () => void;
}

export async function createCosPricer(
  model: Model,
  quotes: QuoteSet,
  backend: Backend,
  options: CosPricerOptions = {},
): Promise<SurfacePricer> {
  if (!model.cumulants || !(model.logCharFn || model.charFn)) {
    throw new RangeError(`model ${model.name} has no characteristic function: the COS engine cannot price it (use --engine mc)`);
  }
  checkQuotes(quotes);
  const groups = groupByExpiry(quotes);
  const log = options.log ?? silentLogger;
  const gpu =
    backend.name === 'webgpu' && gpuSupportsModel(model)
      ? new CosGpu(backend.gpu, model, quotes, groups, options.gpu)
      : undefined;
  const P = model.params.length;
  const evaluators: CosGpuNormal[] = [];
  const pricer: SurfacePricer = {
    model,
    quotes,
    async priceBatch(params: Float64Array, n: number): Promise<BatchPrices> {
      if (params.length < n * P) throw new RangeError(`params holds ${params.length} values, need ${n} x ${P}`);
      const onCpu = () => cosPricesBatch(model, params, n, quotes, options.cpu, groups, options.heartbeat);
      if (!gpu) return { prices: onCpu(), backend: 'cpu' };
      const r = await runOnBackend(backend, 'COS pricing', () => gpu.priceBatch(params, n), onCpu, log);
      return { prices: r.value, backend: r.backend };
    },
    gpuBytes: () => gpu?.gpuBytes() ?? 0,
    dispose: () => {
      gpu?.dispose();
      for (const e of evaluators.splice(0)) e.dispose();
    },
  };
  if (gpu && backend.name === 'webgpu') {
    const ctx = backend.gpu;
    pricer.traffic = () => {
      const t = { uploaded: gpu.traffic.uploaded, readBack: gpu.traffic.readBack };
      for (const e of evaluators) {
        t.uploaded += e.traffic.uploaded;
        t.readBack += e.traffic.readBack;
      }
      return t;
    };
    // LM stencils reduced on the GPU (gpuNormal.ts); the f64 twin finishes the work if it fails.
    pricer.normalSums = (def: ResidualDefinition): NormalSumsEvaluator => {
      let onGpu: CosGpuNormal | undefined;
      return {
        async evaluate(batch: StencilBatch) {
          if (batch.params.length < batch.n * P) throw new RangeError(`params holds ${batch.params.length} values, need ${batch.n} x ${P}`);
          const r = await runOnBackend(
            backend,
            'LM normal equations',
            () => {
              if (!onGpu) evaluators.push((onGpu = new CosGpuNormal(ctx, model, quotes, groups, def, options.gpu)));
              return onGpu.evaluate(batch);
            },
            () => cosNormalSumsCpu(model, quotes, def, batch, options.cpu, groups),
            log,
          );
          return { ...r.value, backend: r.backend };
        },
        dispose() {
          if (onGpu) evaluators.splice(evaluators.indexOf(onGpu), 1);
          onGpu?.dispose();
          onGpu = undefined;
        },
      };
    };
  }
  if (hasFourierExtras(model)) {
    // f64 on the CPU whatever the backend: one parameter set costs about (P + 1) price
    // evaluations' worth of strike sums, less than the 2P of central differences, and exact.
    pricer.priceAndGradient = async (params: Float64Array) => {
      if (params.length < P) throw new RangeError(`params holds ${params.length} values, need ${P}`);
      const r = cosPricesAndGradient(model, params, quotes, options.cpu, groups, options.heartbeat);
      return { prices: r.prices, gradient: r.gradient, backend: 'cpu' as const };
    };
  }
  return pricer;
}
