/**
 * The normalised Black function of Jäckel ("Let's Be Rational", 2015/2017), in f64:
 *
 *   b(x, s, θ) = θ [ e^{x/2} Φ(θ(x/s + s/2)) - e^{-x/2} Φ(θ(x/s - s/2)) ],   x = ln(F/K), s = σ√T,
 *
 * so that the undiscounted Black price is √(FK) b. Everything is reduced to the out-of-the-money
 * call (x <= 0, θ = +1): b(x,s,θ) = ι(x,θ) + b(-|x|, s) with ι the normalised intrinsic value.
 *
 * Writing h = x/s, t = s/2 and M(u) = Φ(u)/φ(u) (a scaled erfcx), b = φ(h) e^{-t²/2} [M(h+t) - M(h-t)].
 * The bracket cancels when t is small or h very negative, so four evaluation regimes are used:
 *  1. h + t < -9.79 and h < -10: asymptotic expansion of M(h+t) - M(h-t) in 1/(h±t);
 *  2. t < 0.21: Taylor series in t of the odd part of M (derivatives by M' = 1 + uM recurrence);
 *  3. h + t > 0: b = e^{x/2} minus its gap to that bound, the gap computed from erfcx directly;
 *  4. otherwise the erfcx form above.
 * The regime bounds follow Jäckel; the series here are derived independently (see comments).
 */
import { erfcxPos, INV_SQRT_2PI } from './normal.js';

const SQRT_PI_OVER_2 = 1.2533141373155003; // √(π/2): M(u) = √(π/2) erfcx(-u/√2)
const ASYMPTOTIC_H = -10;
const SMALL_T = 0.21;

/** M(u) = Φ(u)/φ(u) for u <= 0 (erfcx of a non-negative argument: no exp beyond |u| > 0.66). */
function millsNeg(u: number): number {
  return SQRT_PI_OVER_2 * erfcxPos(-u * Math.SQRT1_2);
}

// Binomial sums S_n(e) = Σ_i C(2n+1, 2i+1) e^i as coefficient rows, n = 0..MAX_ASYMPTOTIC_TERMS.
const MAX_ASYMPTOTIC_TERMS = 24;
const S_COEFF: number[][] = [];
for (let n = 0; n <= MAX_ASYMPTOTIC_TERMS; n++) {
  const m = 2 * n + 1;
  const row: number[] = [];
  let c = 1; // C(m, 0)
  for (let j = 0; j <= m; j++) {
    if (j % 2 === 1) row.push(c);
    c = (c * (m - j)) / (j + 1);
  }
  S_COEFF.push(row);
}

/**
 * Regime 1. With M(u) ~ -Σ (-1)^n (2n-1)!! u^{-(2n+1)} (u -> -∞):
 *   M(h+t) - M(h-t) = 2 (t/r) Σ_n (-1)^n (2n-1)!! q^n S_n(e),  r = h²-t², q = (h/r)², e = (t/h)².
 * The terms shrink like (2n-1)!! (h+t)^{-2n}; summed until below 1e-17 of the total.
 */
function asymptoticBlack(h: number, t: number, g: number): number {
  const e = (t / h) * (t / h);
  const r = (h + t) * (h - t);
  const q = (h / r) * (h / r);
  let sum = 0;
  let factor = 1; // (-1)^n (2n-1)!! q^n
  let lastAbs = Infinity;
  for (let n = 0; n <= MAX_ASYMPTOTIC_TERMS; n++) {
    const row = S_COEFF[n];
    let s = row[row.length - 1];
    for (let i = row.length - 2; i >= 0; i--) s = s * e + row[i];
    const term = factor * s;
    const a = Math.abs(term);
    if (a > lastAbs) break; // the asymptotic series started to diverge
    sum += term;
    if (a < 1e-17 * Math.abs(sum)) break;
    lastAbs = a;
    factor *= -(2 * n + 1) * q;
  }
  return g * 2 * (t / r) * sum; // g = φ(h) e^{-t²/2}
}

/** The last vega computed by normalisedOtmCallAndVega (saves a second exp in the IV iteration). */
export const lastVega = { value: 0.5 }; // a double from the start: stored in place, never boxed

// 1/k! for the odd k of the small-t series.
const INV_FACT = [1, 1 / 6, 1 / 120, 1 / 5040, 1 / 362880, 1 / 39916800, 1 / 6227020800, 1 / 1307674368000];

/**
 * Regime 2. M(h+t) - M(h-t) = 2 Σ_{k odd} M^{(k)}(h) t^k / k!, with M' = 1 + hM and
 * M^{(n+1)} = h M^{(n)} + n M^{(n-1)} (from Φ' = φ, φ' = -uφ). For t < 0.21 and h >= -10 eight
 * terms (k <= 15) leave a remainder below 1e-17 relative. Every M^{(k)} is positive
 * (M^{(k)}(u) = ∫_0^∞ w^k e^{uw - w²/2} dw), so the terms are positive and shrink at least
 * geometrically: the sum stops once a term is below 1e-17 of it.
 */
function smallTSum(h: number, t: number): number {
  let m0 = millsNeg(h); // M^{(k-1)}
  let m1 = 1 + h * m0; // M^{(k)}, k = 1
  const t2 = t * t;
  let power = t;
  let sum = m1 * power;
  for (let j = 1; j < 8; j++) {
    const k = 2 * j - 1;
    const mEven = h * m1 + k * m0;
    const mOdd = h * mEven + (k + 1) * m1;
    m0 = mEven;
    m1 = mOdd;
    power *= t2;
    const term = m1 * power * INV_FACT[j];
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return 2 * sum;
}

/**
 * Normalised out-of-the-money call b(x, s), x <= 0, s > 0, given bMax = e^{x/2} (the caller
 * usually has it); leaves ∂b/∂s in lastVega.value. One exp (the vega) per call in every regime:
 *  - h + t > 0 (regime 3 and the upper part of 4): with u = h + t, v = t - h >= u and
 *    g = φ(h) e^{-t²/2} = bMax φ(u), the identity g M(u) = bMax - g √(π/2) erfcx(u/√2) gives
 *      b = bMax - g √(π/2) [erfcx(u/√2) + erfcx(v/√2)],
 *    i.e. the bound minus the exactly computed gap bMax Φ(-u) + e^{-x/2} Φ(-v). The gap is
 *    < 1/2 of bMax for u > 0.85 (no cancellation); for 0 < u <= 0.85 it cancels no worse than
 *    M(h+t) - M(h-t) did (a few ulp).
 *  - h + t <= 0: g [M(h+t) - M(h-t)] with both Mills ratios at non-positive arguments.
 * The rounding of h² + t² in g costs (h² + t²) ε/2 relative in b, which the elasticity
 * s b'/b >= ~h² of b divides back to ~ε in an implied volatility.
 */
export function otmCallAndVega(x: number, s: number, bMax: number): number {
  if (!(s > 0)) {
    lastVega.value = 0;
    return 0;
  }
  const h = x / s;
  const t = 0.5 * s;
  const g = INV_SQRT_2PI * Math.exp(-0.5 * (h * h + t * t)); // = vega
  lastVega.value = g;
  let b: number;
  if (h < ASYMPTOTIC_H && h + t < ASYMPTOTIC_H + SMALL_T) b = asymptoticBlack(h, t, g);
  else if (t < SMALL_T) b = g * smallTSum(h, t);
  else if (h + t > 0) {
    b = bMax - g * SQRT_PI_OVER_2 * (erfcxPos((h + t) * Math.SQRT1_2) + erfcxPos((t - h) * Math.SQRT1_2));
  } else b = g * (millsNeg(h + t) - millsNeg(h - t)); // Regime 4.
  return b > 0 ? b : 0;
}

/** Normalised out-of-the-money call, x <= 0, s > 0; also leaves ∂b/∂s in lastVega.value. */
export function normalisedOtmCallAndVega(x: number, s: number): number {
  return otmCallAndVega(x, s, Math.exp(0.5 * x));
}

/** Normalised out-of-the-money call, x <= 0, s > 0. */
export function normalisedOtmCall(x: number, s: number): number {
  return normalisedOtmCallAndVega(x, s);
}

/** ∂b/∂s = φ(x/s + s/2) e^{x/2} = exp(-(h² + t²)/2)/√(2π), the same for calls and puts. */
export function normalisedVega(x: number, s: number): number {
  const h = x / s;
  const t = 0.5 * s;
  return INV_SQRT_2PI * Math.exp(-0.5 * (h * h + t * t));
}

/** Normalised intrinsic value ι(x, θ) = max(θ(e^{x/2} - e^{-x/2}), 0) = max(2θ sinh(x/2), 0). */
export function normalisedIntrinsic(x: number, isCall: boolean): number {
  const v = 2 * Math.sinh(0.5 * x);
  return Math.max(isCall ? v : -v, 0);
}

/** b(x, s, θ) for any x (calls and puts), via the out-of-the-money reduction. */
export function normalisedBlack(x: number, s: number, isCall: boolean): number {
  // Put(x) = Call(-x) in normalised units; an in-the-money option is intrinsic plus the other side.
  const otm = normalisedOtmCall(-Math.abs(x), s);
  const itm = isCall ? x > 0 : x < 0;
  return itm ? normalisedIntrinsic(x, isCall) + otm : otm;
}
