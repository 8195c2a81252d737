/**
 * The Black-76 pieces the objective needs per quote (price, vega, implied vol), in f64, taken
 * from the project's engine (src/engines/black) so the calibrator and `volfit iv` invert prices
 * with the same Let's-Be-Rational-class solver.
 */
import { black76Price } from '../engines/black/black76.js';
import { impliedVolatility } from '../engines/black/impliedVol.js';
import { INV_SQRT_2PI } from '../engines/black/normal.js';

/** Black-76 present value. */
export function blackPrice(F: number, K: number, T: number, sigma: number, isCall: boolean, D: number): number {
  return black76Price(F, K, T, sigma, isCall, D);
}

/** dPrice/dsigma (same for calls and puts). */
export function blackVega(F: number, K: number, T: number, sigma: number, D: number): number {
  const sq = Math.sqrt(T);
  const s = sigma * sq;
  if (!(s > 0)) return 0;
  const d1 = Math.log(F / K) / s + 0.5 * s;
  return D * F * INV_SQRT_2PI * Math.exp(-0.5 * d1 * d1) * sq;
}

/**
 * Implied vol from a present value, or null when the price carries no vol (below intrinsic,
 * at or above the upper bound, too small to resolve, or invalid inputs).
 */
export function blackImpliedVol(price: number, F: number, K: number, T: number, isCall: boolean, D: number): number | null {
  const r = impliedVolatility(price, F, K, T, isCall, D);
  return r.status === 'ok' ? r.iv : null;
}
