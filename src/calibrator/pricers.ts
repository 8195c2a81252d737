/**
 * Which pricing engine a calibration uses, from the engine registry (src/engines/registry.ts):
 * the COS engine when the model has a characteristic function (Heston, Bates, Merton: exact to
 * f64, fast), else the Monte Carlo engine (rough Bergomi). The MC pricer fixes its seed and
 * counters at construction, so every objective evaluation of a fit sees the same random numbers
 * (common random numbers): the objective is a smooth (piecewise-smooth, kinks of order 1/paths)
 * function of the parameters and the finite-difference Jacobians of LM are meaningful (measured
 * in src/engines/mc/README.md, Calibration). Slice models (black, svi, ssvi, essvi) have no
 * pricer: calibrate fits them through their slice engine (src/calibrator/sliceFit.ts).
 */
import { silentLogger, type Logger } from '../backends/backend.js';
import type { McOptions } from '../engines/mc/plan.js';
import type { PricerFactory } from '../engines/pricer.js';
import { defaultEngine, pricerFactory, type EngineName } from '../engines/registry.js';
import type { Model } from '../models/types.js';
import { CalibrationInputError } from './transforms.js';

export { MC_CALIBRATION_DEFAULTS } from '../engines/mc/index.js';

export type CalibrationEngine = EngineName;

/** COS terms per (parameter set, expiry) of search-grade pricers (engines/cos/plan.ts). */
export { COS_SEARCH_MAX_TERMS as SEARCH_MAX_TERMS } from '../engines/cos/plan.js';

/** The registry's calibration engine of `model`: 'cos', 'mc', or a slice engine ('black', 'surface'). */
export function engineFor(model: Model): CalibrationEngine {
  try {
    return defaultEngine(model, 'calibrate').name;
  } catch {
    // No engine at all: Monte Carlo is the one that says why (no scheme for the model).
    return 'mc';
  }
}

/**
 * The pricer factory for calibrating `model`: its registry engine, COS for Fourier models, Monte
 * Carlo with `mc` (defaults MC_CALIBRATION_DEFAULTS; ignored by COS models) otherwise. Bad MC
 * options (e.g. more than 512 rBergomi steps) become a CalibrationInputError naming the option,
 * which the CLI prints as a one-line error.
 */
export function pricerFactoryFor(model: Model, mc: McOptions = {}, log: Logger = silentLogger): PricerFactory {
  const make = pricerFactory(model, { mc, log, purpose: 'calibrate' });
  // Synchronous on purpose: bad Monte Carlo options throw when the factory is called, as before.
  // hooks.heartbeat: the COS engine calls it after every (parameter set, expiry) it prices on the
  // CPU, so the calibrator's progress keeps coming during long batches; hooks.search: capped terms.
  return (m, q, b, hooks) => {
    try {
      return make(m, q, b, hooks);
    } catch (e) {
      if (e instanceof RangeError && engineFor(m) === 'mc') throw new CalibrationInputError(`Monte Carlo pricer: ${e.message}`);
      throw e;
    }
  };
}
