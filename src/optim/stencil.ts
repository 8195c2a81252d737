/**
 * Finite-difference stencils in the unconstrained space z: the base point and its perturbations,
 * priced together (one batch). Shared by LM (which builds them) and the objective's GPU-resident
 * path (which reduces them to normal equations without returning residual vectors).
 */

export interface Stencil {
  /** n x p rows: the base point, then z + h_j e_j, then (central) z - h_j e_j. */
  Z: Float64Array;
  n: number;
  /** Steps h_j (empty for a lone point: no Jacobian). */
  h: Float64Array;
  scheme: 'forward' | 'central';
}

/** The stencil of z with relative step `step` (h_j = step max(1, |z_j|)). */
export function stencil(z: Float64Array, step: number, scheme: 'forward' | 'central'): Stencil {
  const p = z.length;
  const n = scheme === 'forward' ? p + 1 : 2 * p + 1;
  const Z = new Float64Array(n * p);
  const h = Float64Array.from(z, (v) => step * Math.max(1, Math.abs(v)));
  for (let k = 0; k < n; k++) Z.set(z, k * p);
  for (let j = 0; j < p; j++) {
    Z[(1 + j) * p + j] += h[j];
    if (scheme === 'central') Z[(1 + p + j) * p + j] -= h[j];
  }
  return { Z, h, n, scheme };
}

/** z alone: f without a Jacobian. */
export function lonePoint(z: Float64Array): Stencil {
  return { Z: Float64Array.from(z), n: 1, h: new Float64Array(0), scheme: 'forward' };
}

/**
 * The Jacobian (size x p, row-major) of the residual vectors of a stencil's points (`rs[k]` for
 * point k), with steps h: central differences where both neighbours are finite, one-sided where
 * only one is; null when neither is for some direction.
 */
export function stencilJacobian(rs: Float64Array[], h: Float64Array, scheme: 'forward' | 'central', size: number): Float64Array | null {
  const p = h.length;
  const J = new Float64Array(size * p);
  const base = rs[0];
  const finite = (v: Float64Array) => v.every(Number.isFinite);
  for (let j = 0; j < p; j++) {
    const plus = rs[1 + j];
    const minus = scheme === 'central' ? rs[1 + p + j] : null;
    const plusOk = finite(plus);
    const minusOk = minus !== null && finite(minus);
    for (let i = 0; i < size; i++) {
      let d: number;
      if (plusOk && minusOk) d = (plus[i] - minus![i]) / (2 * h[j]);
      else if (plusOk) d = (plus[i] - base[i]) / h[j];
      else if (minusOk) d = (base[i] - minus![i]) / h[j];
      else return null;
      J[i * p + j] = d;
    }
  }
  return J;
}
