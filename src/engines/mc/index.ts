/**
 * Monte Carlo engine: public entry points. `createMcPricer` is the SurfacePricer the calibrator
 * uses (common random numbers across calls); `priceMc` prices one parameter set for the CLI.
 */
import { silentLogger, type Backend, type Logger } from '../../backends/backend.js';
import type { Model } from '../../models/types.js';
import type { QuoteSet, SurfacePricer } from '../pricer.js';
import type { McOptions } from './plan.js';
import { createMcPricer } from './pricer.js';

export { createMcPricer, type McPricer } from './pricer.js';
export { buildPlan, RBERGOMI_MAX_STEPS, type McOptions, type McPlan, type McKind } from './plan.js';
export { philox4x32_10, seedKey } from './philox.js';
export { normalFromBits, uniformFromBits, MAX_ABS_NORMAL } from './normals.js';

/** Defaults of `volfit price --engine mc` (the figures). */
export const MC_CLI_DEFAULTS = { paths: 1_000_000, steps: 200, seed: 42, antithetic: true } as const;

export interface McPriceResult {
  prices: Float64Array;
  stderr: Float64Array;
  backend: 'webgpu' | 'cpu';
}

/** Prices `quotes` under one parameter vector with standard errors (present values, quote order). */
export async function priceMc(
  model: Model,
  params: Float64Array,
  quotes: QuoteSet,
  backend: Backend,
  options: McOptions = MC_CLI_DEFAULTS,
  log: Logger = silentLogger,
): Promise<McPriceResult> {
  const pricer = createMcPricer(model, quotes, backend, options, log);
  try {
    const r = await pricer.priceBatch(params, 1);
    return { prices: r.prices, stderr: r.stderr!, backend: r.backend };
  } finally {
    pricer.dispose();
  }
}

/**
 * A PRICE_ENGINES-style factory with the Monte Carlo options bound. Bad options, models or quotes
 * throw a RangeError synchronously (not a rejected promise), so a caller's try/catch maps them.
 */
export function mcEngine(
  options: McOptions = MC_CLI_DEFAULTS,
  log: Logger = silentLogger,
): (model: Model, quotes: QuoteSet, backend: Backend) => Promise<SurfacePricer> {
  return (model, quotes, backend) => Promise.resolve(createMcPricer(model, quotes, backend, options, log));
}
