/**
 * Log-normal compound Poisson jumps (Merton 1976), compensated so E[exp(X_T)] = 1: jumps of
 * ln S arrive at rate lambda and are N(muJ, sigmaJ^2). Shared by Bates and Merton.
 */
import { cexpm1, type Complex } from './complex.js';
import type { Cumulants } from './types.js';

/** lambda T (E[e^{iuJ}] - 1 - iu (E[e^J] - 1)), with expm1 so small u loses nothing. */
export function jumpLogCf(u: number, T: number, lambda: number, muJ: number, sigmaJ: number): Complex {
  const e = cexpm1({ re: -0.5 * sigmaJ * sigmaJ * u * u, im: u * muJ });
  const kbar = Math.expm1(muJ + 0.5 * sigmaJ * sigmaJ);
  return { re: lambda * T * e.re, im: lambda * T * (e.im - u * kbar) };
}

/** Adds jumpLogCf(u, T, ...) to out[at], out[at + 1] without allocating (the COS engine's loop). */
export function addJumpLogCf(u: number, T: number, lambda: number, muJ: number, sigmaJ: number, out: Float64Array, at: number): void {
  const x = -0.5 * sigmaJ * sigmaJ * u * u;
  const y = u * muJ;
  const sh = Math.sin(0.5 * y);
  const lt = lambda * T;
  out[at] += lt * (Math.expm1(x) * (1 - 2 * sh * sh) - 2 * sh * sh);
  out[at + 1] += lt * (Math.exp(x) * 2 * sh * Math.cos(0.5 * y) - u * Math.expm1(muJ + 0.5 * sigmaJ * sigmaJ));
}

/**
 * Adds the gradient of jumpLogCf with respect to (lambda, muJ, sigmaJ) to out[at..at + 5]
 * (re, im pairs). With E = E[e^{iuJ}] = exp(-sigmaJ^2 u^2 / 2 + i u muJ) and 1 + kbar = e^{muJ + sigmaJ^2/2}:
 * d/dlambda = T (E - 1 - iu kbar), d/dmuJ = lambda T iu (E - 1 - kbar),
 * d/dsigmaJ = -lambda T sigmaJ (u^2 E + iu (1 + kbar)).
 */
export function addJumpLogCfGrad(u: number, T: number, lambda: number, muJ: number, sigmaJ: number, out: Float64Array, at: number): void {
  // E - 1 = expm1(x + iy) on scalars (cexpm1's form; no object: this runs per COS term).
  const x = -0.5 * sigmaJ * sigmaJ * u * u;
  const y = u * muJ;
  const sh = Math.sin(0.5 * y);
  const eRe = Math.expm1(x) * Math.cos(y) - 2 * sh * sh;
  const eIm = Math.exp(x) * Math.sin(y);
  const kbar = Math.expm1(muJ + 0.5 * sigmaJ * sigmaJ);
  const lt = lambda * T;
  out[at] += T * eRe;
  out[at + 1] += T * (eIm - u * kbar);
  // iu (E - 1 - kbar) = iu ((eRe - kbar) + i eIm) = (-u eIm, u (eRe - kbar))
  out[at + 2] += lt * -u * eIm;
  out[at + 3] += lt * u * (eRe - kbar);
  // u^2 E + iu (1 + kbar) = (u^2 (1 + eRe), u^2 eIm + u (1 + kbar))
  out[at + 4] += -lt * sigmaJ * u * u * (1 + eRe);
  out[at + 5] += -lt * sigmaJ * (u * u * eIm + u * (1 + kbar));
}

/** Upper bound of Re jumpLogCf over |v| >= u: the oscillating cos(muJ v) is replaced by 1. */
export function jumpLogCfBound(u: number, T: number, lambda: number, sigmaJ: number): number {
  return lambda * T * Math.expm1(-0.5 * sigmaJ * sigmaJ * u * u);
}

/** The n-th cumulant of a compound Poisson sum is lambda T E[J^n]; c1 includes the compensator. */
export function jumpCumulants(T: number, lambda: number, muJ: number, sigmaJ: number): Cumulants {
  const m2 = muJ * muJ;
  const s2 = sigmaJ * sigmaJ;
  const lt = lambda * T;
  return {
    c1: lt * (muJ - Math.expm1(muJ + 0.5 * s2)),
    c2: lt * (m2 + s2),
    c4: lt * (m2 * m2 + 6 * m2 * s2 + 3 * s2 * s2),
    jumpRange: jumpRange(lt, muJ, sigmaJ),
  };
}

/**
 * Where the sum of N ~ Poisson(lambda T) jumps lies, relative to its mean lambda T muJ: for each n
 * with P(N = n) > tol, n jumps reach n muJ +- z_n sqrt(n) sigmaJ with P(N = n) e^{-z_n^2/2} = tol.
 */
export function jumpRange(lt: number, muJ: number, sigmaJ: number, tol = 1e-16): [number, number] {
  let lo = 0;
  let hi = 0;
  if (!(lt > 0)) return [0, 0];
  let logP = -lt; // ln P(N = 0)
  const nMax = Math.ceil(lt + 40 * Math.sqrt(lt) + 40);
  for (let n = 1; n <= nMax; n++) {
    logP += Math.log(lt / n);
    const excess = logP - Math.log(tol);
    if (excess <= 0) {
      if (n > lt) break; // past the mode the probabilities only fall
      continue;
    }
    const spread = Math.sqrt(2 * excess * n) * sigmaJ;
    lo = Math.min(lo, n * muJ - spread - lt * muJ);
    hi = Math.max(hi, n * muJ + spread - lt * muJ);
  }
  return [lo, hi];
}

export const jumpParamSpecs = [
  { name: 'lambda', lower: 0, upper: 200, initial: 0.5, description: 'jump intensity per year' },
  { name: 'muJ', lower: -3, upper: 3, initial: -0.1, description: 'mean of the log jump' },
  { name: 'sigmaJ', lower: 1e-4, upper: 3, initial: 0.1, description: 'standard deviation of the log jump' },
] as const;

/**
 * Starting values of the jump parameters for staged fits (NestedSpec.grid): rare, typical and
 * frequent jumps; crash-like, small and upward mean jumps; narrow and wide jump sizes. 18 starts,
 * priced in one batch, of which the best few seed LM.
 */
export const jumpGrid: readonly (readonly number[])[] = [
  [0.1, 0.5, 2],
  [-0.2, -0.05, 0.1],
  [0.05, 0.2],
];

/** Variance per year of the log-jump part: lambda E[J^2]. */
export function jumpVariance(lambda: number, muJ: number, sigmaJ: number): number {
  return lambda * (muJ * muJ + sigmaJ * sigmaJ);
}
