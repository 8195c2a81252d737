/**
 * Which pricing engine a calibration uses: the COS engine when the model has a characteristic
 * function (Heston, Bates, Merton: exact to f64, fast), else the Monte Carlo engine (rough
 * Bergomi). The MC pricer fixes its seed and counters at construction, so every objective
 * evaluation of a fit sees the same random numbers (common random numbers): the objective is a
 * smooth (piecewise-smooth, kinks of order 1/paths) function of the parameters and the finite-
 * difference Jacobians of LM are meaningful (measured in src/engines/mc/README.md, Calibration).
 */
import { silentLogger, type Logger } from '../backends/backend.js';
import { createCosPricer } from '../engines/cos/pricer.js';
import { createMcPricer } from '../engines/mc/pricer.js';
import type { McOptions } from '../engines/mc/plan.js';
import type { Model } from '../models/types.js';
import type { PricerFactory, PricerHooks } from './calibrate.js';
import { CalibrationInputError } from './transforms.js';

export type CalibrationEngine = 'cos' | 'mc';

/**
 * Monte Carlo settings of a calibration: smaller than `volfit price --engine mc` (1M paths, 200
 * steps) because a fit prices hundreds of parameter sets; under common random numbers the fit
 * error from the paths is a fixed bias of order the price standard error (~0.3% of an ATM price
 * at 32k antithetic paths), not noise that the optimizer would chase. rBergomi costs
 * O(steps^2) per path, so 64 steps (about 1 per week over a year) rather than 200.
 */
export const MC_CALIBRATION_DEFAULTS = { paths: 32_768, steps: 64, seed: 42, antithetic: true } as const;

/**
 * COS terms per (parameter set, expiry) of the pricers that serve the search (PricerHooks.search:
 * every stage before the exact-IV polish), instead of the engine's 32,768. Prices are
 * unchanged wherever 4,096 terms reach the engine's tolerance; only sets whose |phi| decays
 * slowly are affected: Heston with the variance pinned near 0 (Feller ratio 2 kappa theta /
 * sigma^2 ~0.01-0.1) or |rho| near 1, at expiries of weeks to years. Measured (Heston, 600
 * Halton points of the probe box x 7 expiries of 2 days to 5 years, 13 strikes +-3 sd, against
 * 2^18 terms): 12 % of the pairs need more than 4,096 terms; on those the price error is median
 * 1.3e-7 of the forward, 90 % under 1.5e-3, 18 % above 1e-4 (at 32,768 terms: median 1e-16,
 * 90 % under 3e-6, 4 % above 1e-4; some pairs are wrong at either cap). Each such pair costs
 * 8x less (~1 ms instead of ~7 ms), which is what a fit over thousands of distinct expiries
 * spends its time on while it wanders through such sets; the search only ranks points and finds
 * the polish its start, and the polish and every reported number price at the full 32,768.
 */
export const SEARCH_MAX_TERMS = 4096;

/** 'cos' when the model has a characteristic function (and cumulants for the COS window), else 'mc'. */
export function engineFor(model: Model): CalibrationEngine {
  return model.cumulants && (model.logCharFn || model.charFn) ? 'cos' : 'mc';
}

/**
 * The pricer factory for calibrating `model`: COS for Fourier models, Monte Carlo with `mc`
 * (defaults MC_CALIBRATION_DEFAULTS; ignored by COS models) otherwise. Bad MC options (e.g. more
 * than 512 rBergomi steps) become a CalibrationInputError naming the option, which the CLI
 * prints as a one-line error.
 */
export function pricerFactoryFor(model: Model, mc: McOptions = {}, log: Logger = silentLogger): PricerFactory {
  // hooks.heartbeat: the COS engine calls it after every (parameter set, expiry) it prices on the
  // CPU, so the calibrator's progress keeps coming during long batches. The Monte Carlo pricer
  // has no such hook; the calibrator then reports between pricing calls only.
  if (engineFor(model) === 'cos') {
    return (m, q, b, hooks?: PricerHooks) =>
      createCosPricer(m, q, b, { log, heartbeat: hooks?.heartbeat, ...(hooks?.search ? { cpu: { maxTerms: SEARCH_MAX_TERMS } } : {}) });
  }
  const options: McOptions = { ...MC_CALIBRATION_DEFAULTS, ...mc };
  return (m, q, b) => {
    try {
      return createMcPricer(m, q, b, options, log);
    } catch (e) {
      if (e instanceof RangeError) throw new CalibrationInputError(`Monte Carlo pricer: ${e.message}`);
      throw e;
    }
  };
}
