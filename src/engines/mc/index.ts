/**
 * Monte Carlo engine: public entry points. `createMcPricer` is the SurfacePricer the calibrator
 * uses (common random numbers across calls); `priceMc` prices one parameter set for the CLI.
 */
import { silentLogger, type Backend, type Logger } from '../../backends/backend.js';
import type { Model } from '../../models/types.js';
import type { PricedOn, QuoteSet, SurfacePricer } from '../pricer.js';
import type { McOptions } from './plan.js';
import { createMcPricer } from './pricer.js';

export { createMcPricer, type McPricer } from './pricer.js';
export { buildPlan, mcSupportsModel, RBERGOMI_MAX_STEPS, type McOptions, type McPlan, type McKind } from './plan.js';
export { philox4x32_10, seedKey } from './philox.js';
export { normalFromBits, uniformFromBits, MAX_ABS_NORMAL } from './normals.js';

/** Defaults of `volfit price --engine mc` (the figures). */
export const MC_CLI_DEFAULTS = { paths: 1_000_000, steps: 200, seed: 42, antithetic: true } as const;

/**
 * Monte Carlo settings of a calibration: smaller than `volfit price --engine mc` (1M paths, 200
 * steps) because a fit prices hundreds of parameter sets; under common random numbers the fit
 * error from the paths is a fixed bias of order the price standard error (~0.3% of an ATM price
 * at 32k antithetic paths), not noise that the optimizer would chase. rBergomi costs
 * O(steps^2) per path, so 64 steps (about 1 per week over a year) rather than 200.
 */
export const MC_CALIBRATION_DEFAULTS = { paths: 32_768, steps: 64, seed: 42, antithetic: true } as const;

export interface McPriceResult {
  prices: Float64Array;
  stderr: Float64Array;
  backend: PricedOn;
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
