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

// Coefficients of W. J. Cody's CALERF (netlib specfun), inlined in the functions below.
const SQRPI = 0.56418958354775628695; // 1/sqrt(pi)
const THRESH = 0.46875;

export const SQRT2 = Math.SQRT2;
export const INV_SQRT2 = Math.SQRT1_2;
export const SQRT_2PI = 2.5066282746310002;
export const INV_SQRT_2PI = 0.3989422804014327;

// The rationals below are Cody's loops unrolled with the coefficients as literals (same
// operations in the same order, so the same results bit for bit): V8 then keeps everything in
// registers instead of loading array elements, which matters in the implied-volatility hot path.

/** erf(x) for |x| <= 0.46875 (Cody's first interval). */
function erfSmall(x: number): number {
  const ysq = x * x;
  let xnum = 0.185777706184603153 * ysq;
  let xden = ysq;
  xnum = (xnum + 3.1611237438705656) * ysq;
  xden = (xden + 23.6012909523441209) * ysq;
  xnum = (xnum + 113.864154151050156) * ysq;
  xden = (xden + 244.024637934444173) * ysq;
  xnum = (xnum + 377.485237685302021) * ysq;
  xden = (xden + 1282.61652607737228) * ysq;
  return (x * (xnum + 3209.37758913846947)) / (xden + 2844.23683343917062);
}

/** exp(y^2) erfc(y) for y > 0.46875 (Cody's second and third intervals). */
function erfcxLarge(y: number): number {
  if (y <= 4) {
    let xnum = 2.15311535474403846e-8 * y;
    let xden = y;
    xnum = (xnum + 0.564188496988670089) * y;
    xden = (xden + 15.7449261107098347) * y;
    xnum = (xnum + 8.88314979438837594) * y;
    xden = (xden + 117.693950891312499) * y;
    xnum = (xnum + 66.1191906371416295) * y;
    xden = (xden + 537.181101862009858) * y;
    xnum = (xnum + 298.635138197400131) * y;
    xden = (xden + 1621.38957456669019) * y;
    xnum = (xnum + 881.95222124176909) * y;
    xden = (xden + 3290.79923573345963) * y;
    xnum = (xnum + 1712.04761263407058) * y;
    xden = (xden + 4362.61909014324716) * y;
    xnum = (xnum + 2051.07837782607147) * y;
    xden = (xden + 3439.36767414372164) * y;
    return (xnum + 1230.33935479799725) / (xden + 1230.33935480374942);
  }
  if (y >= 6.71e7) return SQRPI / y;
  const ysq = 1 / (y * y);
  let xnum = 0.0163153871373020978 * ysq;
  let xden = ysq;
  xnum = (xnum + 0.305326634961232344) * ysq;
  xden = (xden + 2.56852019228982242) * ysq;
  xnum = (xnum + 0.360344899949804439) * ysq;
  xden = (xden + 1.87295284992346047) * ysq;
  xnum = (xnum + 0.125781726111229246) * ysq;
  xden = (xden + 0.527905102951428412) * ysq;
  xnum = (xnum + 0.0160837851487422766) * ysq;
  xden = (xden + 0.0605183413124413191) * ysq;
  const r = (ysq * (xnum + 6.58749161529837803e-4)) / (xden + 0.00233520497626869185);
  return (SQRPI - r) / y;
}

/**
 * exp(y^2) erfc(y) for y >= 0, the cheap side of erfcx (no cancellation, no overflow). Below
 * 0.46875 exp(y^2) is taken directly: y^2 < 0.22 there, so its rounding costs < 1 ulp.
 */
export function erfcxPos(y: number): number {
  return y <= THRESH ? Math.exp(y * y) * (1 - erfSmall(y)) : erfcxLarge(y);
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
// initial guesses only: the implied-volatility iteration removes the remaining error. Coefficients
// inlined as literals (registers, not array loads: it is on the implied-volatility hot path).

/** Approximate Φ⁻¹(p) for p in (0, 1), about 1e-9 relative; ±Infinity at 0 and 1. */
export function inverseNormCdfApprox(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  if (p < 0.02425 || p > 1 - 0.02425) {
    const lower = p < 0.5;
    const q = Math.sqrt(-2 * Math.log(lower ? p : 1 - p));
    const v =
      (((((-7.784894002430293e-3 * q + -3.223964580411365e-1) * q + -2.400758277161838) * q + -2.549732539343734) * q + 4.374664141464968) * q + 2.938163982698783) /
      ((((7.784695709041462e-3 * q + 3.224671290700398e-1) * q + 2.445134137142996) * q + 3.754408661907416) * q + 1);
    return lower ? v : -v;
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((-3.969683028665376e1 * r + 2.209460984245205e2) * r + -2.759285104469687e2) * r + 1.38357751867269e2) * r + -3.066479806614716e1) * r + 2.506628277459239) * q) /
    (((((-5.447609879822406e1 * r + 1.615858368580409e2) * r + -1.556989798598866e2) * r + 6.680131188771972e1) * r + -1.328068155288572e1) * r + 1)
  );
}
