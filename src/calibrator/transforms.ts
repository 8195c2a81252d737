/**
 * Bounded model parameters <-> an unconstrained space where the optimizers work.
 *
 * A parameter with finite bounds [lo, hi] maps as z = logit((p - lo) / (hi - lo)), so every z
 * is a valid parameter and the optimizer never needs projection; one-sided bounds use a log,
 * unbounded parameters pass through. Results are always mapped back to model units.
 */
import type { Model } from '../models/types.js';

export interface Bounds {
  lower: Float64Array;
  upper: Float64Array;
}

/**
 * Thrown for contradictory or invalid bounds, starts, priors and quote sets; the CLI turns it into
 * a one-line error. `subject` says when the fault is in the start or the prior rather than the
 * quotes, so the CLI names the flag and file they came from.
 */
export class CalibrationInputError extends Error {
  constructor(
    message: string,
    readonly subject?: 'start' | 'prior',
  ) {
    super(message);
    this.name = 'CalibrationInputError';
  }
}

/** Model bounds with user overrides `{kappa: [0.1, 10]}` applied and checked. */
export function resolveBounds(model: Model, overrides: Record<string, readonly [number, number]> = {}): Bounds {
  const names = model.params.map((s) => s.name);
  for (const k of Object.keys(overrides)) {
    if (!names.includes(k)) {
      throw new CalibrationInputError(`bounds: unknown ${model.name} parameter '${k}'; expected ${names.join(', ')}`);
    }
  }
  const lower = new Float64Array(names.length);
  const upper = new Float64Array(names.length);
  model.params.forEach((spec, i) => {
    const [lo, hi] = overrides[spec.name] ?? [spec.lower, spec.upper];
    if (Number.isNaN(lo) || Number.isNaN(hi) || !(lo < hi)) {
      throw new CalibrationInputError(`contradictory bounds for ${spec.name}: lower ${lo} is not below upper ${hi}`);
    }
    lower[i] = lo;
    upper[i] = hi;
  });
  return { lower, upper };
}

// Keep starts a hair inside the bounds: a start exactly on a bound would map to z = +-infinity.
const EDGE = 1e-9;

export function toUnconstrained(p: ArrayLike<number>, b: Bounds): Float64Array {
  const z = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const lo = b.lower[i];
    const hi = b.upper[i];
    const x = p[i];
    if (Number.isFinite(lo) && Number.isFinite(hi)) {
      const u = Math.min(1 - EDGE, Math.max(EDGE, (x - lo) / (hi - lo)));
      z[i] = Math.log(u / (1 - u));
    } else if (Number.isFinite(lo)) {
      z[i] = Math.log(Math.max(x - lo, EDGE));
    } else if (Number.isFinite(hi)) {
      z[i] = -Math.log(Math.max(hi - x, EDGE));
    } else {
      z[i] = x;
    }
  }
  return z;
}

function sigmoid(z: number): number {
  // Two branches so exp never overflows.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export function toModel(z: ArrayLike<number>, b: Bounds, out = new Float64Array(z.length)): Float64Array {
  for (let i = 0; i < z.length; i++) {
    const lo = b.lower[i];
    const hi = b.upper[i];
    if (Number.isFinite(lo) && Number.isFinite(hi)) out[i] = lo + (hi - lo) * sigmoid(z[i]);
    else if (Number.isFinite(lo)) out[i] = lo + Math.exp(Math.min(z[i], 700)); // capped: stays finite
    else if (Number.isFinite(hi)) out[i] = hi - Math.exp(Math.min(-z[i], 700));
    else out[i] = z[i];
  }
  return out;
}

/** dp/dz at z: the diagonal Jacobian of toModel, for covariances (delta method). */
export function modelDerivative(z: ArrayLike<number>, b: Bounds): Float64Array {
  const d = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const lo = b.lower[i];
    const hi = b.upper[i];
    if (Number.isFinite(lo) && Number.isFinite(hi)) {
      const s = sigmoid(z[i]);
      d[i] = (hi - lo) * s * (1 - s);
    } else if (Number.isFinite(lo)) d[i] = Math.exp(z[i]);
    else if (Number.isFinite(hi)) d[i] = Math.exp(-z[i]);
    else d[i] = 1;
  }
  return d;
}

/** Position of p inside its bounds in [0, 1] (NaN for unbounded): used to flag fits pinned to a bound. */
export function boundPosition(p: ArrayLike<number>, b: Bounds): Float64Array {
  return Float64Array.from({ length: p.length }, (_, i) =>
    Number.isFinite(b.lower[i]) && Number.isFinite(b.upper[i]) ? (p[i] - b.lower[i]) / (b.upper[i] - b.lower[i]) : NaN,
  );
}
