/**
 * calibrate(quotes, options): fit a model to a quote set. The orchestration only, in four
 * stages: prepare (prepare.ts: start, quotes, backend, objectives) -> search strategy (search.ts,
 * with the route and its fallback policy in route.ts) -> polish (polish.ts: exact IV residuals)
 * -> report (report.ts: one exact evaluation, the posterior, the result). Optimizers live in
 * src/optim and know nothing of pricing; pricing is whatever SurfacePricer the factory builds
 * (COS on the CPU or WebGPU); every parameter update happens in f64. The stages before the
 * polish price through search-grade pricers (PricerHooks.search), the polish and the report
 * exactly; a fit that ends with parameters on bounds says so (more than half of them: not
 * converged).
 */
import { isSliceModel } from '../models/types.js';
import type { CalibrationQuote } from './quotes.js';
import type { CalibrationResult } from './result.js';
import type { CalibrateOptions } from './options.js';
import { calibrateSlices } from './sliceFit.js';
import { prepareFit } from './prepare.js';
import { searchFit } from './search.js';
import { polishFit } from './polish.js';
import { fitReport } from './report.js';

export { HEARTBEAT_MS, SUBSAMPLE_ABOVE, type CalibrateOptions, type ProgressEvent } from './options.js';
/** Moved beside SurfacePricer (src/engines/pricer.ts); re-exported here, where they used to live. */
export type { PricerFactory, PricerHooks } from '../engines/pricer.js';

export async function calibrate(quotes: readonly CalibrationQuote[], opts: CalibrateOptions): Promise<CalibrationResult> {
  // Slice models (one parameter set per expiry) have their own fit: src/calibrator/sliceFit.ts.
  if (isSliceModel(opts.model)) return calibrateSlices(quotes, { ...opts, model: opts.model });
  const ctx = await prepareFit(quotes, opts);
  try {
    const search = await searchFit(ctx);
    const polished = await polishFit(ctx, search.fit, search.exact);
    return await fitReport(ctx, search, polished);
  } finally {
    ctx.dispose();
  }
}
