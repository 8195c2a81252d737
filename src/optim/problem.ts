/**
 * The optimizer core's contract: a batched least-squares problem in an unconstrained space z.
 * Nothing here knows what the residuals are (the calibrator's Objective prices quotes; tests use
 * closed-form problems): LM, DE, staged fits and restrictions work on any implementation.
 */
import type { Stencil } from './stencil.js';

/** What LM's update needs at a point. */
export interface NormalEquationsResult {
  /** |r|^2; +Infinity when the point's residuals are not finite. */
  f: number;
  /** J^T J (p x p) and J^T r; null without a Jacobian (or where it could not be had). */
  A: Float64Array | null;
  g: Float64Array | null;
}

export interface LeastSquaresProblem {
  readonly p: number;
  readonly size: number;
  /** Residual vectors of the n points stacked in Z (n x p), priced together. */
  residuals(Z: Float64Array, n: number): Promise<{ r: Float64Array[] }>;
  /**
   * Optional analytic Jacobian: residuals of one point and d r / d z (size x p, row-major), or
   * J null where it cannot be had (non-finite prices). Used instead of finite differences when
   * present (LmOptions.jacobian 'auto' or 'analytic'); each call counts as one evaluation.
   */
  residualsAndJacobian?(z: Float64Array): Promise<{ r: Float64Array; J: Float64Array | null }>;
  /**
   * Optional: the stencil reduced to f (at its base point) and, with steps, the A and g of its
   * finite-difference Jacobian, without residual vectors (n sets priced, as `residuals` would).
   * null: not available at the moment (LM uses `residuals`). A null A with a finite f where a
   * Jacobian was asked: a perturbed set did not price (LM redoes the point through `residuals`).
   * Used whenever LM's Jacobian is finite differences.
   */
  normalEquations?(st: Stencil): Promise<NormalEquationsResult | null>;
}

/** |r|^2, +Infinity when any residual is NaN (a point that did not price is never a good one). */
export function sumSquares(r: Float64Array): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i] * r[i];
  return Number.isNaN(s) ? Infinity : s;
}
