/**
 * A least-squares problem restricted to some of its parameters, the others held where they are.
 * Staged fits use it: a nested model (Bates = Heston + jumps) first fits its base parameters with
 * the extension held at its start, so the extension cannot soak up a misfit of the base (LM from a
 * poor Heston start otherwise explains the skew with jumps and stops in a jump-collapsed local
 * minimum). Any optimizer that takes a LeastSquaresProblem works on the restriction unchanged.
 */
import type { LeastSquaresProblem, NormalEquationsResult } from './problem.js';
import type { Stencil } from './stencil.js';

export class RestrictedProblem implements LeastSquaresProblem {
  readonly p: number;
  readonly size: number;
  readonly residualsAndJacobian?: (z: Float64Array) => Promise<{ r: Float64Array; J: Float64Array | null }>;
  readonly normalEquations?: (st: Stencil) => Promise<NormalEquationsResult | null>;
  private readonly full: number;

  /**
   * @param inner the problem on all parameters
   * @param at a full point; its entries outside `free` are the held values
   * @param free indices (into the full vector) of the parameters that move
   */
  constructor(
    private readonly inner: LeastSquaresProblem,
    private readonly at: Float64Array,
    private readonly free: readonly number[],
  ) {
    if (free.length === 0) throw new RangeError('a restricted problem needs at least one free parameter');
    this.full = inner.p;
    this.p = free.length;
    this.size = inner.size;
    if (inner.residualsAndJacobian) {
      const withJ = inner.residualsAndJacobian.bind(inner);
      this.residualsAndJacobian = async (z) => {
        const out = await withJ(this.expand(z));
        if (!out.J) return out;
        const J = new Float64Array(this.size * this.p);
        for (let i = 0; i < this.size; i++) {
          for (let j = 0; j < this.p; j++) J[i * this.p + j] = out.J[i * this.full + this.free[j]];
        }
        return { r: out.r, J };
      };
    }
    if (inner.normalEquations) {
      // The stencil's rows expanded to full points; its steps are along the free coordinates
      // only, so the reduced A and g come back in the free coordinates already.
      const reduce = inner.normalEquations.bind(inner);
      this.normalEquations = (st) => reduce({ ...st, Z: this.expandRows(st.Z, st.n) });
    }
  }

  private expandRows(Z: Float64Array, n: number): Float64Array {
    const full = new Float64Array(n * this.full);
    for (let k = 0; k < n; k++) this.expand(Z.subarray(k * this.p, (k + 1) * this.p), full.subarray(k * this.full, (k + 1) * this.full));
    return full;
  }

  /** The full point of a restricted one. */
  expand(z: ArrayLike<number>, out = new Float64Array(this.full)): Float64Array {
    out.set(this.at);
    for (let j = 0; j < this.p; j++) out[this.free[j]] = z[j];
    return out;
  }

  /** The restricted point of a full one. */
  restrict(z: ArrayLike<number>): Float64Array {
    return Float64Array.from(this.free, (k) => z[k]);
  }

  residuals(Z: Float64Array, n: number): Promise<{ r: Float64Array[] }> {
    return this.inner.residuals(this.expandRows(Z, n), n);
  }
}
