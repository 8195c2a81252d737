/**
 * Rational cubic interpolation (Delbourgo & Gregory 1985) with a shape control parameter r, as
 * used by Jäckel's "Let's Be Rational" for the implied-volatility initial guess. Between
 * (xl, yl) and (xr, yr) with end slopes dl, dr and t = (x - xl)/h:
 *
 *   R(x) = [yr t³ + (r yr - h dr) t²(1-t) + (r yl + h dl) t(1-t)² + yl (1-t)³] / [1 + (r-3) t(1-t)]
 *
 * r = 3 gives the cubic Hermite spline; larger r pulls the curve towards the chord, which keeps
 * monotone/convex data monotone/convex. r is chosen to match a second derivative at one end, but
 * never below the minimum that preserves the shape of the data.
 */

const MAX_R = 2 / (Number.EPSILON * Number.EPSILON);
const MIN_R = -(1 - Math.sqrt(Number.EPSILON));

export function rationalCubic(x: number, xl: number, xr: number, yl: number, yr: number, dl: number, dr: number, r: number): number {
  const h = xr - xl;
  if (Math.abs(h) <= 0) return 0.5 * (yl + yr);
  const t = (x - xl) / h;
  if (!(r < MAX_R)) return yr * t + yl * (1 - t); // the chord
  const omt = 1 - t;
  const t2 = t * t;
  const omt2 = omt * omt;
  return (
    (yr * t2 * t + (r * yr - h * dr) * t2 * omt + (r * yl + h * dl) * t * omt2 + yl * omt2 * omt) /
    (1 + (r - 3) * t * omt)
  );
}

/** Smallest r keeping monotone data monotone and convex/concave data convex/concave. */
function minimumR(dl: number, dr: number, slope: number, preferShape: boolean): number {
  const monotonic = dl * slope >= 0 && dr * slope >= 0;
  const convex = dl <= slope && slope <= dr;
  const concave = dl >= slope && slope >= dr;
  if (!monotonic && !convex && !concave) return MIN_R;
  const drMinusDl = dr - dl;
  const drMinusS = dr - slope;
  const sMinusDl = slope - dl;
  let r1 = -Number.MAX_VALUE;
  let r2 = -Number.MAX_VALUE;
  if (monotonic) {
    if (slope !== 0) r1 = (dr + dl) / slope;
    else if (preferShape) r1 = MAX_R;
  }
  if (convex || concave) {
    if (sMinusDl !== 0 && drMinusS !== 0) r2 = Math.max(Math.abs(drMinusDl / drMinusS), Math.abs(drMinusDl / sMinusDl));
    else if (preferShape) r2 = MAX_R;
  } else if (monotonic && preferShape) {
    r2 = MAX_R;
  }
  return Math.max(MIN_R, r1, r2);
}

/** r matching the second derivative `d2l` at the left end, raised to the shape-preserving minimum. */
export function rFitLeft(xl: number, xr: number, yl: number, yr: number, dl: number, dr: number, d2l: number, preferShape: boolean): number {
  const h = xr - xl;
  const numerator = 0.5 * h * d2l + (dr - dl);
  const denominator = (yr - yl) / h - dl;
  let r: number;
  if (numerator === 0) r = 0;
  else if (denominator === 0) r = numerator > 0 ? MAX_R : MIN_R;
  else r = numerator / denominator;
  return Math.max(r, minimumR(dl, dr, (yr - yl) / h, preferShape));
}

/** r matching the second derivative `d2r` at the right end, raised to the shape-preserving minimum. */
export function rFitRight(xl: number, xr: number, yl: number, yr: number, dl: number, dr: number, d2r: number, preferShape: boolean): number {
  const h = xr - xl;
  const numerator = 0.5 * h * d2r + (dr - dl);
  const denominator = dr - (yr - yl) / h;
  let r: number;
  if (numerator === 0) r = 0;
  else if (denominator === 0) r = numerator > 0 ? MAX_R : MIN_R;
  else r = numerator / denominator;
  return Math.max(r, minimumR(dl, dr, (yr - yl) / h, preferShape));
}
