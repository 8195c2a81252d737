/**
 * Standard normal distribution in f64, accurate to a few ulp (relative) deep into the tails.
 *
 * erfc and erfcx use W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
 * approximations for the error function", Math. Comp. 1969; coefficients as published in netlib
 * specfun CALERF), which approximate to at least 18 significant digits. exp(-x^2) is evaluated as
 * exp(-xh^2) exp(-(x-xh)(x+xh)) with xh = x truncated to 1/16, so the rounding of x^2 (which would
 * cost x^2 * 1e-16 relative) never enters. The lower tail N(-x) keeps relative accuracy down to
 * the underflow near x = 38.
 */

const A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
const P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
  6.58749161529837803e-4, 0.0163153871373020978,
];
const Q = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];
const SQRPI = 0.56418958354775628695; // 1/sqrt(pi)
const THRESH = 0.46875;

export const SQRT2 = Math.SQRT2;
export const INV_SQRT2 = Math.SQRT1_2;
export const SQRT_2PI = 2.5066282746310002;
export const INV_SQRT_2PI = 0.3989422804014327;

/** erf(x) for |x| <= 0.46875 (Cody's first interval). */
function erfSmall(x: number): number {
  const ysq = x * x;
  let xnum = A[4] * ysq;
  let xden = ysq;
  for (let i = 0; i < 3; i++) {
    xnum = (xnum + A[i]) * ysq;
    xden = (xden + B[i]) * ysq;
  }
  return (x * (xnum + A[3])) / (xden + B[3]);
}

/** exp(y^2) erfc(y) for y > 0.46875 (Cody's second and third intervals). */
function erfcxLarge(y: number): number {
  if (y <= 4) {
    let xnum = C[8] * y;
    let xden = y;
    for (let i = 0; i < 7; i++) {
      xnum = (xnum + C[i]) * y;
      xden = (xden + D[i]) * y;
    }
    return (xnum + C[7]) / (xden + D[7]);
  }
  if (y >= 6.71e7) return SQRPI / y;
  const ysq = 1 / (y * y);
  let xnum = P[5] * ysq;
  let xden = ysq;
  for (let i = 0; i < 4; i++) {
    xnum = (xnum + P[i]) * ysq;
    xden = (xden + Q[i]) * ysq;
  }
  const r = (ysq * (xnum + P[4])) / (xden + Q[4]);
  return (SQRPI - r) / y;
}

/** exp(-y^2) for y >= 0 without the rounding error of y*y. */
function expMinusSquare(y: number): number {
  const yh = Math.trunc(y * 16) / 16;
  const del = (y - yh) * (y + yh);
  return Math.exp(-yh * yh) * Math.exp(-del);
}

export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESH) return erfSmall(x);
  const r = 1 - expMinusSquare(y) * erfcxLarge(y);
  return x < 0 ? -r : r;
}

/** Complementary error function, relative accuracy ~1e-16 wherever it does not underflow (x < 26.5). */
export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESH) return 1 - erfSmall(x);
  if (x >= 26.55) return 0;
  const r = expMinusSquare(y) * erfcxLarge(y);
  return x < 0 ? 2 - r : r;
}

/** Scaled complementary error function exp(x^2) erfc(x), for x >= -26 (overflows below). */
export function erfcx(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESH) return Math.exp(x * x) * (1 - erfSmall(x));
  if (x > 0) return erfcxLarge(y);
  // x < 0: exp(x^2) (2 - erfc(|x|)) = 2 exp(x^2) - erfcx(|x|)
  const yh = Math.trunc(y * 16) / 16;
  const e = Math.exp(yh * yh) * Math.exp((y - yh) * (y + yh));
  return 2 * e - erfcxLarge(y);
}

/** Standard normal density. */
export function normPdf(x: number): number {
  return INV_SQRT_2PI * expMinusHalfSquare(Math.abs(x));
}

/** exp(-a^2/2) for a >= 0. exp(-(a/sqrt2)^2) would round a/sqrt2; split a itself instead. */
function expMinusHalfSquare(a: number): number {
  const ah = Math.trunc(a * 16) / 16;
  return Math.exp(-0.5 * ah * ah) * Math.exp(-0.5 * (a - ah) * (a + ah));
}

/**
 * Standard normal CDF. For x < 0 it is erfc(-x/sqrt2)/2 with exp(-x^2/2) taken from x directly
 * (relative accuracy of a few ulp in the lower tail); for x > 0 it is 1 - N(-x).
 */
export function normCdf(x: number): number {
  const a = Math.abs(x);
  let lower: number;
  const z = a * INV_SQRT2;
  if (z <= THRESH) lower = 0.5 * (1 - erfSmall(z));
  else if (a >= 38.5) lower = 0;
  else lower = 0.5 * expMinusHalfSquare(a) * erfcxLarge(z);
  return x > 0 ? 1 - lower : lower;
}

// Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9), used for
// initial guesses only: the implied-volatility iteration removes the remaining error.
const IA = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const IB = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const IC = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ID = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Approximate Φ⁻¹(p) for p in (0, 1), about 1e-9 relative; ±Infinity at 0 and 1. */
export function inverseNormCdfApprox(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  if (p < 0.02425 || p > 1 - 0.02425) {
    const lower = p < 0.5;
    const q = Math.sqrt(-2 * Math.log(lower ? p : 1 - p));
    const v =
      (((((IC[0] * q + IC[1]) * q + IC[2]) * q + IC[3]) * q + IC[4]) * q + IC[5]) /
      ((((ID[0] * q + ID[1]) * q + ID[2]) * q + ID[3]) * q + 1);
    return lower ? v : -v;
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((IA[0] * r + IA[1]) * r + IA[2]) * r + IA[3]) * r + IA[4]) * r + IA[5]) * q) /
    (((((IB[0] * r + IB[1]) * r + IB[2]) * r + IB[3]) * r + IB[4]) * r + 1)
  );
}
