/**
 * Weighted least squares objective in the unconstrained space z:
 *
 *   f(z) = sum_i w_i r_i(z)^2 / s^2  +  |L^-1 (z - mu)|^2  +  penalty,    r_i = model_i - market_i
 *
 * with r_i in implied vol (default) or in price; w_i the quote weights normalised to mean 1;
 * s the noise scale (1 without a prior); mu, L L^T the Gaussian prior (MAP fit); the penalty a
 * squared violation of the model's constraints (e.g. Feller) when asked for.
 *
 * IV residuals have two modes. 'vega': (model price - market price) / vega at the market vol, the
 * standard first-order IV error, cheap (no inversion) and smooth: used while iterating. 'exact':
 * the model price inverted to a Black vol (falling back to the vega form for a quote whose model
 * price has no vol): used to polish the optimum and for every reported residual and RMSE.
 *
 * Whole batches of parameter sets are priced with ONE `priceBatch` call (a Jacobian's perturbed
 * sets, an optimizer's population). A non-finite model price makes that set's objective +Infinity,
 * which the optimizers treat as a rejected step.
 *
 * GPU-resident path (`normalEquations`, offered when the pricer has `normalSums`): in price and
 * first-order ('vega') IV residuals, a data residual is scale_i (price_i / (D_i F_i) - target_i)
 * with per-quote constants, so the pricer reduces a whole LM stencil to f, J^T r, J^T J where the
 * prices are (on the GPU); the few prior and penalty rows are added here in f64, differenced over
 * the same stencil as the full path does. Exact IV residuals (model prices inverted) keep the
 * full path.
 */
import type { Model } from '../models/types.js';
import type { NormalSumsEvaluator, PricedOn, ResidualDefinition, SurfacePricer } from '../engines/pricer.js';
import { sumSquares, type LeastSquaresProblem, type NormalEquationsResult } from '../optim/problem.js';
import { stencilJacobian, type Stencil } from '../optim/stencil.js';
import { normalEquations } from '../optim/linalg.js';
import type { PreparedQuotes } from './quotes.js';
import { blackImpliedVol, blackVega } from './black.js';
import { modelDerivative, toModel, type Bounds } from './transforms.js';

export type ObjectiveKind = 'iv' | 'price';
export type IvMode = 'vega' | 'exact';

export interface GaussianPrior {
  /** Mean in z space. */
  mean: Float64Array;
  /** Lower Cholesky factor of the prior covariance in z space (P x P). */
  chol: Float64Array;
}

export interface ObjectiveOptions {
  kind: ObjectiveKind;
  prior?: GaussianPrior;
  /** Data residuals are divided by this (the noise of one residual); 1 when absent. */
  noise?: number;
  /** Weight of the constraint penalty (0 = constraints ignored). */
  constraintPenalty?: number;
  /**
   * Offer an analytic Jacobian (`residualsAndJacobian`) when the pricer has `priceAndGradient`
   * (default true). The calibrator turns it off on WebGPU, where LM keeps the batched f32
   * finite-difference Jacobian.
   */
  analyticJacobian?: boolean;
  /** Called after every pricing call (the calibrator's progress heartbeat; cheap). */
  heartbeat?: () => void;
}

export interface BatchResiduals {
  /** n vectors of length `size`; a set with a non-finite price gets a vector of NaN. */
  r: Float64Array[];
  backend: PricedOn;
}

export class Objective implements LeastSquaresProblem {
  readonly p: number;
  readonly m: number;
  /** Residual count: data, then prior, then one per constraint when penalised. */
  readonly size: number;
  ivMode: IvMode = 'vega';
  evaluations = 0;
  lastBackend: PricedOn = 'cpu';
  /** The last error a pricer threw (its sets were scored as non-finite). */
  lastPricingError?: string;
  private readonly invNoise: number;
  private readonly penaltyScale: number;
  /**
   * Residuals and d r / d z of one point from the pricer's analytic price gradient; present only
   * when the pricer offers one (see ObjectiveOptions.analyticJacobian).
   */
  readonly residualsAndJacobian?: (z: Float64Array) => Promise<{ r: Float64Array; J: Float64Array | null }>;
  /**
   * A stencil reduced to f, J^T r, J^T J by the pricer (GPU-resident LM iterations); present only
   * when the pricer offers `normalSums`; null while the residuals are exact IVs.
   */
  readonly normalEquations?: (st: Stencil) => Promise<NormalEquationsResult | null>;
  private sums?: NormalSumsEvaluator;
  /** Model IVs of the last exact-IV residuals (NaN where none): the analytic Jacobian's vegas, without a second inversion. */
  private lastIv = new Float64Array(0);
  /**
   * The point and prices of the last analytic-Jacobian evaluation: LM ends at a point it priced
   * there, and the report's exact evaluation of that point reuses them (pricedAt).
   */
  private lastPriced?: { z: Float64Array; prices: Float64Array };

  constructor(
    readonly model: Model,
    readonly prep: PreparedQuotes,
    readonly pricer: SurfacePricer,
    readonly bounds: Bounds,
    readonly opts: ObjectiveOptions,
  ) {
    this.p = model.params.length;
    this.m = prep.m;
    this.invNoise = 1 / (opts.noise ?? 1);
    // sqrt(M) so a constraint violated by 1 costs as much as every quote off by 1 (vol or price unit).
    this.penaltyScale = opts.constraintPenalty ? Math.sqrt(opts.constraintPenalty * prep.m) : 0;
    const nCon = this.penaltyScale > 0 ? model.constraints.length : 0;
    this.size = this.m + (opts.prior ? this.p : 0) + nCon;
    if (pricer.priceAndGradient && (opts.analyticJacobian ?? true)) this.residualsAndJacobian = (z) => this.analyticJacobian(z);
    if (pricer.normalSums) this.normalEquations = (st) => this.residentNormalEquations(st);
  }

  /** The data residuals as r_i = scale_i (price_i / (D_i F_i) - target_i): price and first-order IV. */
  residualDefinition(): ResidualDefinition {
    const { prep, m } = this;
    const scale = new Float64Array(m);
    const target = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const df = prep.set.discount[i] * prep.set.forward[i];
      scale[i] = (prep.sqrtW[i] * this.invNoise * df) / (this.opts.kind === 'price' ? 1 : prep.vega[i]);
      target[i] = prep.marketPrice[i] / df;
    }
    return { scale, target };
  }

  private async residentNormalEquations(st: Stencil): Promise<NormalEquationsResult | null> {
    if (this.opts.kind === 'iv' && this.ivMode !== 'vega') return null;
    const { p, m } = this;
    const params = new Float64Array(st.n * p);
    for (let k = 0; k < st.n; k++) toModel(st.Z.subarray(k * p, (k + 1) * p), this.bounds, params.subarray(k * p, (k + 1) * p));
    this.sums ??= this.pricer.normalSums!(this.residualDefinition());
    let out;
    try {
      out = await this.sums.evaluate({ params, n: st.n, step: st.h, scheme: st.scheme });
    } catch (e) {
      // Not priced: LM takes the full path, which scores failures set by set.
      this.lastPricingError = (e as Error).message;
      return null;
    } finally {
      this.opts.heartbeat?.();
    }
    this.evaluations += st.n;
    this.lastBackend = out.backend;
    if (!Number.isFinite(out.f)) return { f: Infinity, A: null, g: null };
    const extra = this.size - m;
    if (extra === 0) return { f: out.f, A: out.A, g: out.g };
    // Prior and penalty rows: their residuals at every stencil point, differenced as LM's full path does.
    const rows = Array.from({ length: st.n }, (_, k) => {
      const r = new Float64Array(this.size);
      this.extraResiduals(st.Z.subarray(k * p, (k + 1) * p), r);
      return r.subarray(m);
    });
    let f = out.f;
    for (const v of rows[0]) f += v * v;
    if (!out.A || !out.g) return { f, A: null, g: null };
    const J = stencilJacobian(rows, st.h, st.scheme, extra);
    if (!J) return { f, A: null, g: null };
    const rowSums = normalEquations(J, rows[0], extra, st.h.length);
    return { f, A: out.A.map((v, k) => v + rowSums.A[k]), g: out.g.map((v, k) => v + rowSums.g[k]) };
  }

  /**
   * Chain rule from d price / d p (the pricer) to d r / d z: times dp/dz of the bound transform
   * (diagonal), times the residual's derivative in price: s_i (price), s_i / vega(market IV)
   * (first-order IV), s_i / vega(model IV) for exact IV residuals (d iv / d price = 1 / vega at
   * the model's vol; a quote without a model vol uses its first-order form, as the residual
   * does). Prior rows L^-1 (z - mu) have the constant Jacobian L^-1; penalty rows (no pricing)
   * use central differences of the constraint values.
   */
  private async analyticJacobian(z: Float64Array): Promise<{ r: Float64Array; J: Float64Array | null }> {
    const { prep, m, p } = this;
    const params = this.params(z);
    this.evaluations += 1;
    let out: { prices: Float64Array; gradient: Float64Array; backend: PricedOn };
    try {
      out = await this.pricer.priceAndGradient!(params);
    } catch (e) {
      this.lastPricingError = (e as Error).message;
      return { r: new Float64Array(this.size).fill(NaN), J: null };
    } finally {
      this.opts.heartbeat?.();
    }
    this.lastBackend = out.backend;
    this.lastPriced = { z: Float64Array.from(z), prices: out.prices };
    const r = this.residualsFromPrices(z, out.prices, 0);
    if (!Number.isFinite(sumSquares(r))) return { r, J: null };
    const dpdz = modelDerivative(z, this.bounds);
    const J = new Float64Array(this.size * p);
    const set = prep.set;
    for (let i = 0; i < m; i++) {
      const s = prep.sqrtW[i] * this.invNoise;
      let d: number;
      if (this.opts.kind === 'price') d = s;
      else if (this.ivMode === 'exact') {
        const iv = this.lastIv[i];
        const vega = Number.isNaN(iv) ? 0 : blackVega(set.forward[i], set.strike[i], set.T[i], iv, set.discount[i]);
        d = s / (vega > 0 ? vega : prep.vega[i]);
      } else d = s / prep.vega[i];
      for (let j = 0; j < p; j++) {
        const g = out.gradient[i * p + j] * dpdz[j] * d;
        if (!Number.isFinite(g)) return { r, J: null };
        J[i * p + j] = g;
      }
    }
    let row = m;
    const prior = this.opts.prior;
    if (prior) {
      // Column j of L^-1: forward substitution of the unit vector e_j.
      const { chol } = prior;
      const col = new Float64Array(p);
      for (let j = 0; j < p; j++) {
        for (let a = 0; a < p; a++) {
          let v = a === j ? 1 : 0;
          for (let b = 0; b < a; b++) v -= chol[a * p + b] * col[b];
          col[a] = v / chol[a * p + a];
        }
        for (let a = 0; a < p; a++) J[(row + a) * p + j] = col[a];
      }
      row += p;
    }
    if (this.penaltyScale > 0) {
      const nCon = this.model.constraints.length;
      for (let j = 0; j < p; j++) {
        const h = 1e-6 * Math.max(1, Math.abs(z[j]));
        const zp = Float64Array.from(z);
        const zm = Float64Array.from(z);
        zp[j] += h;
        zm[j] -= h;
        const pp = this.params(zp);
        const pn = this.params(zm);
        this.model.constraints.forEach((c, k) => {
          const v = (Math.min(0, c.value(pp)) - Math.min(0, c.value(pn))) / (2 * h);
          J[(row + k) * p + j] = this.penaltyScale * v;
        });
      }
      row += nCon;
    }
    return { r, J };
  }

  /** Model-unit parameters of z. */
  params(z: ArrayLike<number>): Float64Array {
    return toModel(z, this.bounds);
  }

  /**
   * The prices of the last analytic-Jacobian evaluation when it was at z (LM's final point), else
   * undefined. Their price channel sums in another order than `prices` (ulp-level differences),
   * so only a caller content with either asks (the report); `prices` always prices.
   */
  pricedAt(z: Float64Array): Float64Array | undefined {
    const last = this.lastPriced;
    return last && last.z.length === z.length && last.z.every((v, j) => v === z[j]) ? Float64Array.from(last.prices) : undefined;
  }

  /** Prices all n parameter sets (rows of Z) in one batch. */
  async prices(Z: Float64Array, n: number): Promise<Float64Array> {
    const P = new Float64Array(n * this.p);
    for (let k = 0; k < n; k++) toModel(Z.subarray(k * this.p, (k + 1) * this.p), this.bounds, P.subarray(k * this.p, (k + 1) * this.p));
    this.evaluations += n;
    try {
      const out = await this.pricer.priceBatch(P, n);
      this.lastBackend = out.backend;
      return out.prices;
    } catch (e) {
      this.lastPricingError = (e as Error).message;
      // An engine may reject one parameter set (e.g. non-finite cumulants far out in a DE
      // population). Price the sets one by one so only the bad ones become rejected points.
      if (n === 1) return new Float64Array(this.m).fill(NaN);
      const prices = new Float64Array(n * this.m);
      for (let k = 0; k < n; k++) {
        try {
          const out = await this.pricer.priceBatch(P.subarray(k * this.p, (k + 1) * this.p), 1);
          this.lastBackend = out.backend;
          prices.set(out.prices.subarray(0, this.m), k * this.m);
        } catch (e1) {
          this.lastPricingError = (e1 as Error).message;
          prices.fill(NaN, k * this.m, (k + 1) * this.m);
        }
        this.opts.heartbeat?.();
      }
      return prices;
    } finally {
      this.opts.heartbeat?.();
    }
  }

  async residuals(Z: Float64Array, n: number): Promise<BatchResiduals> {
    const prices = await this.prices(Z, n);
    const r: Float64Array[] = [];
    for (let k = 0; k < n; k++) r.push(this.residualsFromPrices(Z.subarray(k * this.p, (k + 1) * this.p), prices, k * this.m));
    return { r, backend: this.lastBackend };
  }

  residualsFromPrices(z: ArrayLike<number>, prices: Float64Array, offset: number): Float64Array {
    const { prep, m } = this;
    const r = new Float64Array(this.size);
    const exactIv = this.opts.kind === 'iv' && this.ivMode === 'exact';
    if (exactIv && this.lastIv.length !== m) this.lastIv = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const pm = prices[offset + i];
      if (!Number.isFinite(pm)) return r.fill(NaN);
      const s = prep.sqrtW[i] * this.invNoise;
      if (this.opts.kind === 'price') {
        r[i] = s * (pm - prep.marketPrice[i]);
      } else if (this.ivMode === 'exact') {
        const iv = blackImpliedVol(pm, prep.set.forward[i], prep.set.strike[i], prep.set.T[i], prep.set.isCall[i] === 1, prep.set.discount[i]);
        this.lastIv[i] = iv ?? NaN;
        r[i] = s * (iv === null ? (pm - prep.marketPrice[i]) / prep.vega[i] : iv - prep.marketIv[i]);
      } else {
        r[i] = (s * (pm - prep.marketPrice[i])) / prep.vega[i];
      }
    }
    this.extraResiduals(z, r);
    return r;
  }

  /** Rows m.. of r: the whitened prior residual L^-1 (z - mu), then the constraint penalties. */
  private extraResiduals(z: ArrayLike<number>, r: Float64Array): void {
    const m = this.m;
    let j = m;
    const prior = this.opts.prior;
    if (prior) {
      // Forward substitution.
      const { chol } = prior;
      const p = this.p;
      for (let a = 0; a < p; a++) {
        let s = z[a] - prior.mean[a];
        for (let b = 0; b < a; b++) s -= chol[a * p + b] * r[m + b];
        r[j++] = s / chol[a * p + a];
      }
    }
    if (this.penaltyScale > 0) {
      const pm = this.params(z);
      for (const c of this.model.constraints) r[j++] = this.penaltyScale * Math.min(0, c.value(pm));
    }
  }
}
