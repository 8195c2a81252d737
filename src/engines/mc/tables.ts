/**
 * Per-parameter-set coefficients of the schemes, computed once per priceBatch call in f64 on the
 * CPU. The GPU reads them rounded to f32, the CPU twin reads them as they are: the kernels then
 * only add and multiply, and no parameter-dependent transcendental is evaluated in f32.
 */
import type { Model } from '../../models/types.js';
import type { McPlan } from './plan.js';

/**
 * Heston/Bates coefficients per (parameter set, step), in table order (hestonTables below). The
 * GPU reads them as the struct HestonStep generated from this list (gpuLayout.ts).
 */
export const HESTON_STEP_FIELDS = [
  'E', 'c1', 'c2', 'thetaOmE', 'rhoOverSigma', 'kh', 'k3', 'K0', 'A', 'K1K3', 'cvDrift', 'cvVol',
  'lambdaH', 'expLambdaH', 'pJump', 'jumpComp', 'muJ', 'sigmaJ', 'rho', 'rhoBar', 'v0', 'sqrtH',
] as const;
/** Heston/Bates: floats per (parameter set, step). */
export const HESTON_STRIDE = HESTON_STEP_FIELDS.length;
/** rBergomi: the header of each parameter set's row, in table order (the GPU struct RBergomiSet). */
export const RB_HEADER_FIELDS = ['xi0', 'eta', 'rho', 'rhoBar', 'sqrtH', 'cI1', 'cI2', 'h'] as const;
/** rBergomi: header floats before the convolution weights. */
export const RB_HEADER = RB_HEADER_FIELDS.length;
/** Largest expected jump count per step the Poisson inversion is sized for. */
export const MAX_JUMP_MEAN = 50;
export const MAX_JUMPS_PER_STEP = 128;

export interface SchemeTables {
  /** Coefficients, N x stride. */
  table: Float64Array;
  stride: number;
  /** Total variance of the Black-Scholes control to each expiry, N x nExp. */
  cvVariance: Float64Array;
}

function names(model: Model): string[] {
  return model.params.map((p) => p.name);
}

function pick(model: Model, params: Float64Array, row: number, name: string): number {
  const i = names(model).indexOf(name);
  if (i < 0) throw new RangeError(`model ${model.name} has no parameter ${name}`);
  const v = params[row * model.params.length + i];
  const spec = model.params[i];
  if (!Number.isFinite(v) || v < spec.lower || v > spec.upper) {
    throw new RangeError(`parameter set ${row}: ${model.name} ${name}=${v} is outside [${spec.lower}, ${spec.upper}]`);
  }
  return v;
}

/**
 * Andersen (2008) QE with gamma1 = gamma2 = 1/2, written in the log-forward X = ln(S/F) (no drift).
 * Control: X_c with variance rate E[v_t] = theta + (v0 - theta) e^{-kappa t} at each step's start.
 */
export function hestonTables(model: Model, plan: McPlan, params: Float64Array, n: number): SchemeTables {
  const S = HESTON_STRIDE;
  const table = new Float64Array(n * plan.nSteps * S);
  const nExp = plan.expiries.length;
  const cvVariance = new Float64Array(n * nExp);
  const jumps = plan.kind === 'bates';
  for (let p = 0; p < n; p++) {
    const v0 = pick(model, params, p, 'v0');
    const kappa = pick(model, params, p, 'kappa');
    const theta = pick(model, params, p, 'theta');
    const sigma = pick(model, params, p, 'sigma');
    const rho = pick(model, params, p, 'rho');
    const lambda = jumps ? pick(model, params, p, 'lambda') : 0;
    const muJ = jumps ? pick(model, params, p, 'muJ') : 0;
    const sigmaJ = jumps ? pick(model, params, p, 'sigmaJ') : 0;
    let cum = 0;
    let r = 0;
    for (let i = 0; i < plan.nSteps; i++) {
      const h = plan.dt[i];
      const o = (p * plan.nSteps + i) * S;
      const E = Math.exp(-kappa * h);
      const omE = -Math.expm1(-kappa * h);
      const kr = rho / sigma;
      const kh = 0.5 * h * ((kappa * rho) / sigma - 0.5);
      const k3 = 0.5 * h * (1 - rho * rho);
      table[o + 0] = E;
      table[o + 1] = (sigma * sigma * E * omE) / kappa;
      table[o + 2] = (theta * sigma * sigma * omE * omE) / (2 * kappa);
      table[o + 3] = theta * omE;
      table[o + 4] = kr;
      table[o + 5] = kh;
      table[o + 6] = k3;
      table[o + 7] = (-rho * kappa * theta * h) / sigma;
      table[o + 8] = kh + kr + 0.5 * k3; // A = K2 + K4/2
      table[o + 9] = kh - kr + 0.5 * k3; // K1 + K3/2
      const cvRate = theta + (v0 - theta) * Math.exp(-kappa * plan.t[i]);
      table[o + 10] = -0.5 * cvRate * h;
      table[o + 11] = Math.sqrt(cvRate * h);
      const lh = lambda * h;
      if (lh > MAX_JUMP_MEAN) {
        throw new RangeError(`parameter set ${p}: lambda * dt = ${lh.toFixed(1)} jumps per step; use more --steps`);
      }
      table[o + 12] = lh;
      table[o + 13] = Math.exp(-lh);
      table[o + 14] = -Math.expm1(-lh); // P(N > 0), formed without cancellation
      table[o + 15] = -lh * Math.expm1(muJ + 0.5 * sigmaJ * sigmaJ);
      table[o + 16] = muJ;
      table[o + 17] = sigmaJ;
      table[o + 18] = rho;
      table[o + 19] = Math.sqrt(1 - rho * rho);
      table[o + 20] = v0;
      table[o + 21] = Math.sqrt(h);
      cum += cvRate * h;
      while (r < plan.recStep.length && plan.recStep[r] === i) {
        cvVariance[p * nExp + plan.recExpiry[r]] = cum;
        r++;
      }
    }
  }
  return { table, stride: S, cvVariance };
}

/**
 * Rough Bergomi, hybrid scheme with kappa = 1 (Bennedsen, Lunde, Pakkanen 2017; the layout of
 * Bayer, Friz, Gatheral 2016 / McCrickerd's rbergomi code): alpha = H - 1/2,
 *   Y(t_{i+1}) = sqrt(2 alpha + 1) [ I_i + sum_{k>=2} ((b_k h)^alpha) dW_{i+1-k} ],
 *   (dW_i, I_i) Gaussian with Var dW = h, Cov = h^{alpha+1}/(alpha+1), Var I = h^{2 alpha+1}/(2 alpha+1),
 *   b_k = ((k^{alpha+1} - (k-1)^{alpha+1})/(alpha+1))^{1/alpha},
 *   V(t) = xi0 exp(eta Y(t) - eta^2 t^{2 alpha + 1} / 2).
 * Row layout: [xi0, eta, rho, sqrt(1-rho^2), sqrt(h), cI1, cI2, h], G[0..nSteps], varComp[0..nSteps]
 * with I = cI1 z1 + cI2 z2 (already times sqrt(2 alpha+1)), G[k] the weights, varComp[i] = eta^2 t_i^{2a+1}/2.
 */
export function rbergomiTables(model: Model, plan: McPlan, params: Float64Array, n: number): SchemeTables {
  const ns = plan.nSteps;
  const S = RB_HEADER + 2 * (ns + 1);
  const table = new Float64Array(n * S);
  const nExp = plan.expiries.length;
  const cvVariance = new Float64Array(n * nExp);
  const h = plan.dt[0];
  for (let p = 0; p < n; p++) {
    const xi0 = pick(model, params, p, 'xi0');
    const eta = pick(model, params, p, 'eta');
    const rho = pick(model, params, p, 'rho');
    const H = pick(model, params, p, 'H');
    const a = H - 0.5;
    const scale = Math.sqrt(2 * a + 1);
    const cov = h ** (a + 1) / (a + 1);
    const varI = h ** (2 * a + 1) / (2 * a + 1);
    const c1 = cov / Math.sqrt(h);
    const c2 = Math.sqrt(Math.max(0, varI - c1 * c1));
    const o = p * S;
    table.set([xi0, eta, rho, Math.sqrt(1 - rho * rho), Math.sqrt(h), scale * c1, scale * c2, h], o);
    for (let k = 2; k <= ns; k++) {
      const b = ((k ** (a + 1) - (k - 1) ** (a + 1)) / (a + 1)) ** (1 / a);
      table[o + RB_HEADER + k] = scale * (b * h) ** a;
    }
    for (let i = 0; i <= ns; i++) {
      table[o + RB_HEADER + ns + 1 + i] = 0.5 * eta * eta * (i * h) ** (2 * a + 1);
    }
    for (let e = 0; e < nExp; e++) cvVariance[p * nExp + e] = xi0 * plan.expiries[e];
  }
  return { table, stride: S, cvVariance };
}

export function schemeTables(model: Model, plan: McPlan, params: Float64Array, n: number): SchemeTables {
  if (params.length < n * model.params.length) {
    throw new RangeError(`params holds ${params.length} values, expected ${n} x ${model.params.length}`);
  }
  return plan.kind === 'rbergomi' ? rbergomiTables(model, plan, params, n) : hestonTables(model, plan, params, n);
}
