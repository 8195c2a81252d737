/**
 * Local-volatility Monte Carlo pricer: Dupire local variance from a fitted surface (SVI, SSVI,
 * eSSVI; src/surface), tabulated in f64 on the CPU (localvolPlan.ts), paths by log-Euler on
 * WebGPU (shaders/mc_localvol.wgsl, f32) or on the f64 CPU twin (localvolCpu.ts) with the same
 * Philox numbers, payoffs reduced with the Heston engine's estimator (estimate.ts: two control
 * variates, f32 block sums accumulated in f64). One set of paths prices every quote.
 *
 *   const { surface } = fitSurface(quotes, { model: 'ssvi' });   // or loadSurfaceFit(json)
 *   const r = await priceLocalVolMc(surface, quoteSet, backend, { paths: 200_000, steps: 200 });
 *   r.prices, r.stderr                                            // present values, quote order
 *
 * Quotes are priced from their own forward: k = ln(K / F) is read on the surface at the quote's
 * expiry, so the surface's slice forwards do not enter (they are the quotes' forwards when the
 * surface was fitted to them). Throws LocalVolError (src/surface/types.ts) where the surface has
 * no local variance inside the grid, RangeError on bad options or quotes.
 */
import { runOnBackend, silentLogger, type Backend, type Logger } from '../../backends/backend.js';
import type { VolSurface } from '../../surface/surface.js';
import type { QuoteSet } from '../pricer.js';
import { finishPrices, SUMS } from './estimate.js';
import { accumulateLocalVol, simulateLocalVolCpu } from './localvolCpu.js';
import { LocalVolGpu } from './localvolGpu.js';
import { buildLocalVolPlan, localVolTable, type LocalVolMcOptions, type LocalVolPlan, type LocalVolTable } from './localvolPlan.js';

export {
  buildLocalVolPlan,
  localVolTable,
  localVolTimeGrid,
  tableVariance,
  LOCALVOL_GRID_DEFAULTS,
  type LocalVolMcOptions,
  type LocalVolPlan,
  type LocalVolTable,
} from './localvolPlan.js';
export { simulateLocalVolCpu, accumulateLocalVol, LV_POINT } from './localvolCpu.js';
export { LocalVolGpu } from './localvolGpu.js';

/** Units simulated per CPU chunk (bounds memory: chunk x expiries x 4 doubles). */
const CPU_CHUNK = 4096;

/** f64 moment sums on the CPU, chunk by chunk (1 x M x 9). */
export function localVolCpuMoments(plan: LocalVolPlan, table: LocalVolTable): Float64Array {
  const sums = new Float64Array(plan.kRel.length * SUMS);
  for (let first = 0; first < plan.units; first += CPU_CHUNK) {
    const count = Math.min(CPU_CHUNK, plan.units - first);
    accumulateLocalVol(plan, simulateLocalVolCpu(plan, table, first, count), count, sums);
  }
  return sums;
}

export interface LocalVolMcResult {
  prices: Float64Array;
  stderr: Float64Array;
  backend: 'webgpu' | 'cpu';
}

export interface LocalVolMcPricer {
  readonly plan: LocalVolPlan;
  readonly table: LocalVolTable;
  readonly quotes: QuoteSet;
  price(): Promise<LocalVolMcResult>;
  gpuBytes(): number;
  dispose(): void;
}

/**
 * Plan and local-variance table are built here, synchronously: bad options and quotes throw
 * RangeError, a surface with arbitrage inside the grid throws LocalVolError, before any path.
 */
export function createLocalVolPricer(
  surface: VolSurface,
  quotes: QuoteSet,
  backend: Backend,
  options: LocalVolMcOptions = {},
  log: Logger = silentLogger,
): LocalVolMcPricer {
  const plan = buildLocalVolPlan(quotes, options);
  const table = localVolTable(surface, plan, options);
  let gpu: LocalVolGpu | undefined;
  return {
    plan,
    table,
    quotes,
    async price() {
      const { value: sums, backend: where } = await runOnBackend(
        backend,
        'Monte Carlo local vol',
        async (ctx) => (gpu ??= new LocalVolGpu(ctx)).moments(plan, table),
        () => localVolCpuMoments(plan, table),
        log,
      );
      const { prices, stderr } = finishPrices(plan, quotes, sums, table.cvVariance, 1);
      return { prices, stderr, backend: where };
    },
    gpuBytes: () => gpu?.peakBytes() ?? 0,
    dispose: () => {
      gpu?.destroy();
      gpu = undefined;
    },
  };
}

/** Prices `quotes` under the local vol of `surface`, with standard errors (present values, quote order). */
export async function priceLocalVolMc(
  surface: VolSurface,
  quotes: QuoteSet,
  backend: Backend,
  options: LocalVolMcOptions = {},
  log: Logger = silentLogger,
): Promise<LocalVolMcResult> {
  const pricer = createLocalVolPricer(surface, quotes, backend, options, log);
  try {
    return await pricer.price();
  } finally {
    pricer.dispose();
  }
}
