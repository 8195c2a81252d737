/**
 * Small dense linear algebra for the optimizers (P <= ~10 parameters): normal equations,
 * Cholesky solves and symmetric inverses, all f64 on the CPU. Matrices are row-major Float64Array.
 */

/** A = J^T J and g = J^T r for J (m x p, row-major) and r (m). */
export function normalEquations(J: Float64Array, r: Float64Array, m: number, p: number): { A: Float64Array; g: Float64Array } {
  const A = new Float64Array(p * p);
  const g = new Float64Array(p);
  for (let i = 0; i < m; i++) {
    const row = i * p;
    const ri = r[i];
    for (let a = 0; a < p; a++) {
      const ja = J[row + a];
      if (ja === 0) continue;
      g[a] += ja * ri;
      for (let b = a; b < p; b++) A[a * p + b] += ja * J[row + b];
    }
  }
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) A[a * p + b] = A[b * p + a];
  return { A, g };
}

/** Lower Cholesky factor of a symmetric positive definite matrix (a new array); null when not SPD. */
export function cholesky(A: Float64Array, p: number): Float64Array | null {
  const L = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * p + j];
      for (let k = 0; k < j; k++) s -= L[i * p + k] * L[j * p + k];
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return null;
        L[i * p + i] = Math.sqrt(s);
      } else {
        L[i * p + j] = s / L[j * p + j];
      }
    }
  }
  return L;
}

/** Solves L L^T x = b: forward substitution (forwardSolve), then back substitution. */
export function choleskySolve(L: Float64Array, b: Float64Array, p: number): Float64Array {
  const y = forwardSolve(L, b, p);
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < p; k++) s -= L[k * p + i] * x[k];
    x[i] = s / L[i * p + i];
  }
  return x;
}

/** Solves L y = b (forward substitution only): whitening by a covariance factor. */
export function forwardSolve(L: Float64Array, b: Float64Array, p: number): Float64Array {
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * p + k] * y[k];
    y[i] = s / L[i * p + i];
  }
  return y;
}

/** Inverse of a symmetric positive definite matrix, or null when it is singular to working precision. */
export function spdInverse(A: Float64Array, p: number): Float64Array | null {
  const L = cholesky(A, p);
  if (!L) return null;
  const inv = new Float64Array(p * p);
  const e = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    e.fill(0);
    e[j] = 1;
    const col = choleskySolve(L, e, p);
    for (let i = 0; i < p; i++) inv[i * p + j] = col[i];
  }
  return inv;
}
