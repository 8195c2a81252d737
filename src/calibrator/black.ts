/**
 * The few Black-76 pieces the objective needs per quote (price, vega, implied vol), in f64.
 * Kept local and small so the calibrator does not depend on the vectorised IV engine's batch API;
 * the inversion works on the out-of-the-money side (parity moves ITM quotes there) so deep ITM
 * quotes lose no digits to intrinsic value.
 */
import { INV_SQRT_2PI, normCdf } from '../engines/black/normal.js';

/** Undiscounted out-of-the-money Black price per unit forward: x = ln(K/F), s = sigma sqrt(T). */
function otmUnit(x: number, s: number, kIsAbove: boolean): number {
  // Call when K >= F, put when K < F (always the cheaper side, no cancellation against intrinsic).
  const d1 = -x / s + 0.5 * s;
  const d2 = d1 - s;
  const k = Math.exp(x);
  return kIsAbove ? normCdf(d1) - k * normCdf(d2) : k * normCdf(-d2) - normCdf(-d1);
}

/** Black-76 present value. */
export function blackPrice(F: number, K: number, T: number, sigma: number, isCall: boolean, D: number): number {
  const s = sigma * Math.sqrt(T);
  const x = Math.log(K / F);
  const above = K >= F;
  const otm = s > 0 ? D * F * otmUnit(x, s, above) : 0;
  // Parity: call - put = D (F - K).
  if (isCall === above) return otm;
  return isCall ? otm + D * (F - K) : otm - D * (F - K);
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
 * Implied vol from a present value, or null when the price is outside the no-arbitrage range
 * (below intrinsic, above the forward) or has no time value to invert. Newton on the OTM
 * price, safeguarded by bisection; `guess` (e.g. the market vol) speeds up the polish phase.
 */
export function blackImpliedVol(
  price: number,
  F: number,
  K: number,
  T: number,
  isCall: boolean,
  D: number,
  guess = 0.3,
): number | null {
  if (!(price >= 0) || !(F > 0) || !(K > 0) || !(T > 0) || !(D > 0)) return null;
  const above = K >= F;
  // Time value on the OTM side, per unit of discounted forward.
  let otm = price;
  if (isCall !== above) otm = isCall ? price - D * (F - K) : price + D * (F - K);
  const target = otm / (D * F);
  const x = Math.log(K / F);
  const maxUnit = above ? 1 : Math.exp(x); // the OTM price tends to this as sigma -> infinity
  if (!(target > 0) || !(target < maxUnit)) return null;
  const sq = Math.sqrt(T);
  let lo = 0;
  let hi = 20; // total vol sigma sqrt(T) bracket
  let s = Math.min(Math.max(guess * sq, 1e-4), hi);
  for (let it = 0; it < 100; it++) {
    const f = otmUnit(x, s, above) - target;
    if (f > 0) hi = s;
    else lo = s;
    const d1 = -x / s + 0.5 * s;
    const v = INV_SQRT_2PI * Math.exp(-0.5 * d1 * d1);
    let next = s - f / v;
    if (!(next > lo && next < hi) || !Number.isFinite(next)) next = 0.5 * (lo + hi);
    if (Math.abs(next - s) <= 1e-15 * Math.max(1, s)) {
      s = next;
      break;
    }
    s = next;
    if (hi - lo < 1e-16 * hi) break;
  }
  return s / sq;
}
