/**
 * calibrate()'s polish: the first-order fit refined with exact IV residuals (model prices
 * inverted to Black vols), on all quotes, exact pricing. Skipped for price objectives, when
 * asked (`polish: false`), and when the first-order fit is already exact to 1e-7 in vol RMS (the
 * exact residual differs from the first-order one by O(r^2) (volga / vega), ~1e-14 there).
 */
import type { LmResult } from '../optim/lm.js';
import { CalibrationInputError } from './transforms.js';
import type { FitContext } from './prepare.js';

/** Iteration cap of the exact-IV polish (it starts from a converged first-order fit). */
export const POLISH_ITERATIONS = 50;

export interface PolishOutcome {
  fit: LmResult;
  /** The polish stopped at its iteration cap after a converged first-order fit. */
  capped: boolean;
  iterations: number;
}

/** `exact`: the search ran on exact IV residuals already (a warm start, search.ts); only the check that it priced. */
export async function polishFit(ctx: FitContext, first: LmResult, exact = false): Promise<PolishOutcome> {
  const { objective, firstOrder } = ctx;
  if (!Number.isFinite(first.f)) {
    throw new CalibrationInputError(
      `no parameter set the optimizer tried could be priced (${firstOrder.lastPricingError ?? objective.lastPricingError ?? 'non-finite model prices'})`,
    );
  }
  const exactAlready = !ctx.priorInfo && first.f <= ctx.prep.m * 1e-14;
  if (exact || ctx.kind !== 'iv' || !(ctx.opts.polish ?? true) || exactAlready) return { fit: first, capped: false, iterations: POLISH_ITERATIONS };
  objective.ivMode = 'exact';
  const pol = await ctx.runLm(objective, first.z, 'polish', { maxIterations: POLISH_ITERATIONS });
  if (!Number.isFinite(pol.f)) return { fit: first, capped: false, iterations: POLISH_ITERATIONS };
  // The polish refines a converged first-order fit in the reporting measure. On a Monte Carlo
  // objective (piecewise smooth under common random numbers, kinks ~1/paths) LM can crawl along
  // the kinks until the cap: the fit stays converged, and the message says so.
  const capped = pol.reason === 'max-iterations' && first.converged;
  return { fit: capped ? { ...pol, converged: true } : pol, capped, iterations: POLISH_ITERATIONS };
}
