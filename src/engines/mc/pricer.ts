/**
 * The Monte Carlo SurfacePricer: one set of paths prices every quote (all strikes and expiries);
 * a batch of parameter sets runs in one dispatch; every price carries its standard error. The
 * plan (grid, counters, seed) is fixed at construction, so repeated priceBatch calls use the same
 * random numbers (common random numbers: the calibration objective is smooth in the parameters).
 */
import { runOnBackend, silentLogger, type Backend, type Logger } from '../../backends/backend.js';
import type { Model } from '../../models/types.js';
import type { BatchPrices, QuoteSet, SurfacePricer } from '../pricer.js';
import { simulateCpu } from './cpuPaths.js';
import { accumulateCpu, finishPrices, SUMS } from './estimate.js';
import { McGpu } from './gpu.js';
import { buildPlan, type McOptions, type McPlan } from './plan.js';
import { schemeTables } from './tables.js';

/** Units simulated per CPU chunk (bounds memory: chunk x N x expiries x 4 doubles). */
const CPU_CHUNK = 4096;

/** f64 moment sums on the CPU, chunk by chunk. */
export function cpuMoments(plan: McPlan, tables: ReturnType<typeof schemeTables>, n: number): Float64Array {
  const sums = new Float64Array(n * plan.kRel.length * SUMS);
  for (let first = 0; first < plan.units; first += CPU_CHUNK) {
    const count = Math.min(CPU_CHUNK, plan.units - first);
    accumulateCpu(plan, simulateCpu(plan, tables, n, first, count), n, count, sums);
  }
  return sums;
}

export interface McPricer extends SurfacePricer {
  readonly plan: McPlan;
}

export function createMcPricer(
  model: Model,
  quotes: QuoteSet,
  backend: Backend,
  options: McOptions = {},
  log: Logger = silentLogger,
): McPricer {
  const plan = buildPlan(model, quotes, options);
  let gpu: McGpu | undefined;
  return {
    model,
    quotes,
    plan,
    async priceBatch(params: Float64Array, n: number): Promise<BatchPrices> {
      const tables = schemeTables(model, plan, params, n);
      const { value: sums, backend: where } = await runOnBackend(
        backend,
        `Monte Carlo ${model.name}`,
        async (ctx) => (gpu ??= new McGpu(ctx)).moments(plan, tables, n),
        () => cpuMoments(plan, tables, n),
        log,
      );
      const { prices, stderr } = finishPrices(plan, quotes, sums, tables.cvVariance, n);
      return { prices, stderr, backend: where };
    },
    gpuBytes: () => gpu?.peakBytes() ?? 0,
    dispose: () => {
      gpu?.destroy();
      gpu = undefined;
    },
  };
}
