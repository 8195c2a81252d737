/**
 * Gauss-Newton posterior at the optimum and Gaussian priors from a previous fit.
 *
 * Posterior precision in z = J^T J over the data and prior rows (the residuals are already
 * whitened: data by the noise s, prior by L^-1). Without a prior the noise is unknown and is
 * estimated from the fit, s^2 = SSE / (M - P), the usual least-squares covariance
 * s^2 (J^T W J)^-1. Model-unit covariance by the delta method through the bounds transform.
 */
import type { Model } from '../models/types.js';
import { cholesky, forwardSolve, spdInverse } from '../optim/linalg.js';
import { chiSquareSurvival } from '../util/gamma.js';
import { modelDerivative, toUnconstrained, CalibrationInputError, type Bounds } from './transforms.js';
import type { GaussianPrior } from './objective.js';

export interface Posterior {
  /** Covariance in model units, P x P row-major; null when J^T J is singular (a parameter the data does not pin down). */
  covariance: Float64Array | null;
  stderr: Float64Array;
  correlation: Float64Array | null;
}

/**
 * @param J residual Jacobian (size x P, row-major) at the optimum in z
 * @param rows how many leading rows to use (data + prior rows; constraint penalty rows left out)
 * @param scale multiplies the inverse (s^2 estimated without a prior, 1 with one)
 * @param pinned parameters at a bound: when J^T J is singular, the others' covariance is taken
 *   from their block alone (the pinned ones held, as the bound holds them) and the pinned ones
 *   get NaN; `covariance` stays null then (a prior needs all of it)
 */
export function posterior(J: Float64Array, rows: number, p: number, z: Float64Array, bounds: Bounds, scale: number, pinned: readonly number[] = []): Posterior {
  const A = new Float64Array(p * p);
  for (let i = 0; i < rows; i++) {
    for (let a = 0; a < p; a++) {
      const ja = J[i * p + a];
      for (let b = 0; b < p; b++) A[a * p + b] += ja * J[i * p + b];
    }
  }
  const inv = spdInverse(A, p);
  if (!inv) return pinned.length ? freeBlock(A, p, z, bounds, scale, pinned) : { covariance: null, stderr: new Float64Array(p).fill(NaN), correlation: null };
  const d = modelDerivative(z, bounds);
  const cov = new Float64Array(p * p);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) cov[a * p + b] = scale * d[a] * inv[a * p + b] * d[b];
  const stderr = Float64Array.from({ length: p }, (_, a) => Math.sqrt(cov[a * p + a]));
  const correlation = new Float64Array(p * p);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) correlation[a * p + b] = cov[a * p + b] / (stderr[a] * stderr[b]);
  return { covariance: cov, stderr, correlation };
}

/** posterior() over the parameters not in `pinned`; NaN for the pinned ones, no covariance. */
function freeBlock(A: Float64Array, p: number, z: Float64Array, bounds: Bounds, scale: number, pinned: readonly number[]): Posterior {
  const stderr = new Float64Array(p).fill(NaN);
  const free = Array.from({ length: p }, (_, j) => j).filter((j) => !pinned.includes(j));
  const q = free.length;
  const B = new Float64Array(q * q);
  free.forEach((a, i) => free.forEach((b, k) => (B[i * q + k] = A[a * p + b])));
  const inv = q > 0 ? spdInverse(B, q) : null;
  if (!inv) return { covariance: null, stderr, correlation: null };
  const d = modelDerivative(z, bounds);
  const correlation = new Float64Array(p * p).fill(NaN);
  free.forEach((a, i) => (stderr[a] = Math.sqrt(scale * inv[i * q + i]) * Math.abs(d[a])));
  free.forEach((a, i) =>
    free.forEach((b, k) => (correlation[a * p + b] = (scale * d[a] * inv[i * q + k] * d[b]) / (stderr[a] * stderr[b]))),
  );
  return { covariance: null, stderr, correlation };
}

/** What a prior needs from a previous result (a `CalibrationResult` JSON has all of it). */
export interface PriorSource {
  model: string;
  params: Record<string, number>;
  covariance?: number[][] | null;
  noise?: number;
  /**
   * Standard deviation, in the unconstrained z of every parameter, of the random walk the
   * parameters take between the previous fit and this one (a Kalman filter's process noise):
   * added to the prior's variance in z.
   */
  drift?: number;
}

/** A Gaussian prior in z from a previous fit: mean at its parameters, covariance mapped into z. */
export function priorFromFit(model: Model, fit: PriorSource, bounds: Bounds): { prior: GaussianPrior; noise: number } {
  if (fit.model !== model.name) {
    throw new CalibrationInputError(`prior is a ${fit.model} fit, but the model being calibrated is ${model.name}`, 'prior');
  }
  const p = model.params.length;
  const mean = Float64Array.from(model.params, (s) => {
    const v: unknown = fit.params?.[s.name];
    if (v === undefined) throw new CalibrationInputError(`prior fit has no value for ${s.name}`, 'prior');
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new CalibrationInputError(`prior ${s.name} is not a number (got ${typeof v === 'number' ? String(v) : JSON.stringify(v)})`, 'prior');
    }
    return v;
  });
  const C = fit.covariance;
  if (!Array.isArray(C) || C.length !== p || C.some((row) => !Array.isArray(row) || row.length !== p)) {
    throw new CalibrationInputError(`prior fit has no ${p}x${p} covariance (was it fitted without enough quotes?)`, 'prior');
  }
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      const c: unknown = C[a][b];
      if (typeof c !== 'number' || !Number.isFinite(c)) {
        throw new CalibrationInputError(`prior covariance[${a}][${b}] is not a number (got ${JSON.stringify(c)})`, 'prior');
      }
    }
  }
  for (let i = 0; i < p; i++) {
    const lo = bounds.lower[i];
    const hi = bounds.upper[i];
    if (!(mean[i] > lo && mean[i] < hi)) {
      throw new CalibrationInputError(`prior ${model.params[i].name}=${mean[i]} is not strictly inside the bounds [${lo}, ${hi}]`, 'prior');
    }
  }
  const zMean = toUnconstrained(mean, bounds);
  const d = modelDerivative(zMean, bounds);
  const Sz = new Float64Array(p * p);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) Sz[a * p + b] = C[a][b] / (d[a] * d[b]);
  const drift = fit.drift ?? 0;
  if (!(drift >= 0) || !Number.isFinite(drift)) throw new CalibrationInputError(`prior drift ${String(drift)} is not a non-negative number`, 'prior');
  for (let a = 0; a < p; a++) Sz[a * p + a] += drift * drift;
  const chol = cholesky(Sz, p);
  if (!chol) throw new CalibrationInputError('prior covariance is not positive definite', 'prior');
  const noise = fit.noise;
  if (typeof noise !== 'number' || !(noise > 0)) throw new CalibrationInputError('prior fit has no positive noise (residual scale)', 'prior');
  return { prior: { mean: zMean, chol }, noise };
}

/** How far a fit lies from a prior: the squared Mahalanobis distance in z and its chi-square tail probability. */
export interface PriorConflict {
  d2: number;
  /** P(chi-square with P degrees of freedom > d2): small when the data's optimum is unlikely under the prior. */
  p_value: number;
}

/**
 * The prior-data conflict of a fit (Box 1980; Evans and Moshonov 2006): the prior's Mahalanobis
 * distance of the fitted parameters, mapped into z as the prior is (a parameter at its bound has
 * a finite z: toUnconstrained keeps it 1e-9 of the range inside).
 */
export function priorConflict(model: Model, fit: PriorSource, params: Record<string, number>, bounds: Bounds): PriorConflict {
  const { prior } = priorFromFit(model, fit, bounds);
  const p = model.params.length;
  const z = toUnconstrained(model.params.map((s) => params[s.name]), bounds);
  const y = forwardSolve(prior.chol, Float64Array.from(z, (v, i) => v - prior.mean[i]), p);
  const d2 = y.reduce((s, v) => s + v * v, 0);
  return { d2, p_value: chiSquareSurvival(d2, p) };
}
