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
import type { PricerFactory } from './calibrate.js';
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
  if (engineFor(model) === 'cos') return (m, q, b) => createCosPricer(m, q, b, { log });
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
