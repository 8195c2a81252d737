/**
 * Black-76 implied volatility in f64, a Let's-Be-Rational-class method (Jäckel 2015, 2017):
 *
 * 1. Reduce to the normalised out-of-the-money call: x = -|ln(F/K)| <= 0, β = time value / √(FK),
 *    so 0 < β < b_max = e^{x/2}.
 * 2. Initial guess for s = σ√T in four branches split at s_c = √(2|x|) (the inflection point of
 *    b(s)) and its tangent points s_l, s_h: rational cubic interpolation of s(β) in the two middle
 *    branches, of f_lower(β) = (2π|x|/√27) Φ(-|x|/(√3 s))³ in the lowest and of
 *    f_upper(β) = Φ(-s/2) in the highest branch (maps that make b nearly linear there), each with
 *    an explicit inverse.
 * 3. Two Householder(3) steps on an objective that is nearly linear in each branch:
 *    1/ln b(s) - 1/ln β (lowest), ln((b_max-β)/(b_max-b(s))) (highest), b(s) - β (middle), with
 *    bracketing safeguards. This reaches the precision the price carries.
 *
 * Every row gets a status; nothing throws for a bad row.
 */
import { erfcxPos, inverseNormCdfApprox } from './normal.js';
import { lastVega, otmCallAndVega } from './normalised.js';
import { rationalCubic, rFitLeft, rFitRight } from './rationalCubic.js';

export type IvStatus = 'ok' | 'below_intrinsic' | 'above_max' | 'invalid_input' | 'no_information';

export interface IvResult {
  /** σ (annualised) when status is 'ok', otherwise null. */
  iv: number | null;
  status: IvStatus;
  /** The offending input when status is 'invalid_input'. */
  field?: string;
}

const EPS = Number.EPSILON;
const TWO_PI = 2 * Math.PI;
const SQRT3 = Math.sqrt(3);
const TWO_PI_OVER_SQRT27 = TWO_PI / Math.sqrt(27);
const SQRT3_OVER_CBRT_2PI = SQRT3 / Math.cbrt(TWO_PI);
const SQRT_2PI = Math.sqrt(TWO_PI);
const SQRT_PI_OVER_2 = 1.2533141373155003; // √(π/2)
/** Below this normalised time value b(s) cannot be evaluated to full precision (exp underflow). */
const MIN_BETA = 1e-290;
/** Householder(3) steps after the rational guess (Jäckel: two reach machine precision). */
const ITERATIONS = 2;

function householderFactor(newton: number, halley: number, hh3: number): number {
  return (1 + 0.5 * halley * newton) / (1 + newton * (halley + (hh3 * newton) / 6));
}

/**
 * Outputs of lowerMap/upperMap and the polish functions. An object with double fields rather
 * than a tuple or module-level `let`s: V8 boxes every double stored into a module variable (a
 * heap allocation per write), while double object fields are updated in place.
 */
const out = { f: 0.5, fp: 0.5, fpp: 0.5, relStep: 0.5 };

/**
 * f_lower(s) and its first two derivatives with respect to β = b(s) (x < 0), given the vega
 * v = b'(s). With z = |x|/(√3 s), y = z² = x²/(3s²) and φ = φ(z): Φ(-z) = √(π/2) φ erfcx(z/√2),
 * and, as 1/v = √(2π) e^{(x²/s² + s²/4)/2}, exp(y + s²/8) = φ/v; so one exp serves all three
 * where v is a normal number.
 */
function lowerMap(x: number, s: number, v: number): void {
  const ax = Math.abs(x);
  const z = ax / (SQRT3 * s);
  const y = z * z;
  const phi = Math.exp(-0.5 * y) / SQRT_2PI;
  const Phi = SQRT_PI_OVER_2 * phi * erfcxPos(z * Math.SQRT1_2);
  const f = TWO_PI_OVER_SQRT27 * ax * Phi * Phi * Phi;
  let invVega: number;
  let eyss: number; // exp(y + s²/8)
  if (v > 1e-300 && v < Infinity) {
    invVega = 1 / v;
    eyss = phi * invVega;
  } else {
    invVega = SQRT_2PI * Math.exp(0.5 * ((x / s) * (x / s) + 0.25 * s * s));
    eyss = Math.exp(y + 0.125 * s * s);
  }
  // fp = f_s / b' (the exponentials combined to avoid overflow): 2π y Φ² exp(y + s²/8).
  const fp = TWO_PI * y * Phi * Phi * eyss;
  // fpp = (f_ss/b' - fp b''/b') / b', with f_ss/b' = fp [Φ(z²-2) + 2zφ]/(Φ s), b''/b' = x²/s³ - s/4.
  const bpp = (x * x) / (s * s * s) - 0.25 * s;
  out.f = f;
  out.fp = fp;
  out.fpp = fp * invVega * ((Phi * (y - 2) + 2 * z * phi) / (Phi * s) - bpp);
}

function inverseLowerMap(x: number, f: number): number {
  const ax = Math.abs(x);
  const z = -inverseNormCdfApprox(SQRT3_OVER_CBRT_2PI * Math.cbrt(f / ax));
  return ax / (SQRT3 * z);
}

/**
 * f_upper(s) = Φ(-s/2) and its first two derivatives with respect to β, given the vega v = b'(s):
 * with w = (x/s)², e^{w/2 + s²/8} = 1/(√(2π) v), so Φ(-s/2) = ½ e^{-s²/8} erfcx(s/√8) and
 * e^{w + s²/8} need only e^{w/2} where v is a normal number.
 */
function upperMap(x: number, s: number, v: number): void {
  const w = (x / s) * (x / s);
  const ew2 = Math.exp(0.5 * w);
  let emss8: number; // exp(-s²/8)
  let ewss: number; // exp(w + s²/8)
  if (v > 1e-300 && v < Infinity) {
    emss8 = SQRT_2PI * v * ew2;
    ewss = ew2 / (SQRT_2PI * v);
  } else {
    emss8 = Math.exp(-0.125 * s * s);
    ewss = Math.exp(w + 0.125 * s * s);
  }
  out.f = 0.5 * emss8 * erfcxPos(s * (0.5 * Math.SQRT1_2));
  out.fp = -0.5 * ew2;
  out.fpp = SQRT_PI_OVER_2 * ewss * (w / s);
}

/**
 * s = σ√T solving b(x, s) = β for the normalised out-of-the-money call, x <= 0,
 * 0 < β < e^{x/2} = bMax (callers check the bounds).
 */
export function normalisedImpliedVolOtm(beta: number, x: number, bMax = Math.exp(0.5 * x)): number {
  let sLeft = Number.MIN_VALUE;
  let sRight = Number.MAX_VALUE;
  let s: number;
  const sc = Math.sqrt(Math.abs(2 * x));

  if (x === 0) {
    // At the money b = 2Φ(s/2) - 1 exactly: invert directly, then polish below.
    s = 2 * -inverseNormCdfApprox(0.5 * (1 - beta));
    return polishMiddle(beta, x, bMax, s, sLeft, sRight);
  }

  // At the inflection point h = -t, h² + t² = |x|: the vega is bMax/√(2π) and
  // b(sc) = g [M(0) - M(-2t)] = ½ bMax [1 - erfcx(√|x|)] without any exp. 1 - erfcx(√|x|) loses
  // ~ε/√|x| relative, so below |x| = 0.01 the general evaluation is used (the node only shapes the
  // initial guess and the bracket, but the bracket must be consistent with b itself).
  let bc: number;
  let vc: number;
  if (x < -0.01) {
    bc = 0.5 * bMax * (1 - erfcxPos(Math.sqrt(-x)));
    vc = bMax / SQRT_2PI;
  } else {
    bc = otmCallAndVega(x, sc, bMax);
    vc = lastVega.value;
  }

  if (beta < bc) {
    const sl = sc - bc / vc;
    const bl = otmCallAndVega(x, sl, bMax);
    const vl = lastVega.value;
    if (beta < bl) {
      // Lowest branch.
      lowerMap(x, sl, vl);
      const fl = out.f;
      const dfl = out.fp;
      const d2fl = out.fpp;
      const r = rFitRight(0, bl, 0, fl, 1, dfl, d2fl, true);
      let f = rationalCubic(beta, 0, bl, 0, fl, 1, dfl, r);
      if (!(f > 0)) {
        const t = beta / bl;
        f = (fl * t + bl * (1 - t)) * t; // quadratic fallback when roundoff spoils the cubic
      }
      s = inverseLowerMap(x, f);
      sRight = sl;
      return polishLowest(beta, x, bMax, s, sLeft, sRight);
    }
    const r = rFitRight(bl, bc, sl, sc, 1 / vl, 1 / vc, 0, false);
    s = rationalCubic(beta, bl, bc, sl, sc, 1 / vl, 1 / vc, r);
    sLeft = sl;
    sRight = sc;
    return polishMiddle(beta, x, bMax, s, sLeft, sRight);
  }

  const sh = vc > Number.MIN_VALUE ? sc + (bMax - bc) / vc : sc;
  const bh = otmCallAndVega(x, sh, bMax);
  const vh = lastVega.value;
  if (beta <= bh) {
    const r = rFitLeft(bc, bh, sc, sh, 1 / vc, 1 / vh, 0, false);
    s = rationalCubic(beta, bc, bh, sc, sh, 1 / vc, 1 / vh, r);
    sLeft = sc;
    sRight = sh;
    return polishMiddle(beta, x, bMax, s, sLeft, sRight);
  }
  // Highest branch.
  upperMap(x, sh, vh);
  const fh = out.f;
  const dfh = out.fp;
  const d2fh = out.fpp;
  let f = NaN;
  if (Number.isFinite(d2fh)) {
    const r = rFitLeft(bh, bMax, fh, 0, dfh, -0.5, d2fh, true);
    f = rationalCubic(beta, bh, bMax, fh, 0, dfh, -0.5, r);
  }
  if (!(f > 0)) {
    const h = bMax - bh;
    const t = (beta - bh) / h;
    f = (fh * (1 - t) + 0.5 * h * t) * (1 - t);
  }
  s = -2 * inverseNormCdfApprox(f);
  sLeft = sh;
  if (beta > 0.5 * bMax) return polishHighest(beta, x, bMax, s, sLeft, sRight);
  return polishMiddle(beta, x, bMax, s, sLeft, sRight);
}

/**
 * Shared safeguard: keep s inside the bracket [sLeft, sRight] found so far; bisect when a step
 * leaves it (which only happens in corner cases far outside the design range).
 */
function safeguard(s: number, sLeft: number, sRight: number): number {
  return s >= sLeft && s <= sRight ? s : 0.5 * (sLeft + Math.min(sRight, Math.max(4 * sLeft, 1e3)));
}

function polishMiddle(beta: number, x: number, bMax: number, s: number, sLeft: number, sRight: number, stopRel = EPS): number {
  out.relStep = Infinity; // |Δs|/s of the last step taken
  for (let i = 0; i < ITERATIONS; i++) {
    s = safeguard(s, sLeft, sRight);
    const b = otmCallAndVega(x, s, bMax);
    const bp = lastVega.value;
    if (b > beta && s < sRight) sRight = s;
    else if (b < beta && s > sLeft) sLeft = s;
    if (!(bp > 0)) break;
    const newton = (beta - b) / bp;
    const xs = x / s;
    const halley = (xs * xs) / s - 0.25 * s;
    const hh3 = halley * halley - 3 * (xs / s) * (xs / s) - 0.25;
    const ds = Math.max(-0.5 * s, newton * householderFactor(newton, halley, hh3));
    s += ds;
    out.relStep = Math.abs(ds) / s;
    if (Math.abs(ds) <= stopRel * s) break;
  }
  return s;
}

function polishLowest(beta: number, x: number, bMax: number, s: number, sLeft: number, sRight: number, stopRel = EPS): number {
  const lnBeta = Math.log(beta);
  out.relStep = Infinity;
  for (let i = 0; i < ITERATIONS; i++) {
    s = safeguard(s, sLeft, sRight);
    const b = otmCallAndVega(x, s, bMax);
    const bp = lastVega.value;
    if (b > beta && s < sRight) sRight = s;
    else if (b < beta && s > sLeft) sLeft = s;
    let ds: number;
    if (!(b > 0) || !(bp > 0)) {
      ds = 0.5 * (sLeft + sRight) - s; // underflow: bisect
    } else {
      const lnB = Math.log(b);
      const bpob = bp / b;
      const xs = x / s;
      const bHalley = (xs * xs) / s - 0.25 * s;
      const newton = (((lnBeta - lnB) * lnB) / lnBeta) / bpob;
      const halley = bHalley - bpob * (1 + 2 / lnB);
      const bHh3 = bHalley * bHalley - 3 * (xs / s) * (xs / s) - 0.25;
      const hh3 = bHh3 + 2 * bpob * bpob * (1 + (3 / lnB) * (1 + 1 / lnB)) - 3 * bHalley * bpob * (1 + 2 / lnB);
      ds = newton * householderFactor(newton, halley, hh3);
    }
    ds = Math.max(-0.5 * s, ds);
    s += ds;
    out.relStep = Math.abs(ds) / s;
    if (Math.abs(ds) <= stopRel * s) break;
  }
  return s;
}

function polishHighest(beta: number, x: number, bMax: number, s: number, sLeft: number, sRight: number, stopRel = EPS): number {
  const gap = bMax - beta;
  out.relStep = Infinity;
  for (let i = 0; i < ITERATIONS; i++) {
    s = safeguard(s, sLeft, sRight);
    const b = otmCallAndVega(x, s, bMax);
    const bp = lastVega.value;
    if (b > beta && s < sRight) sRight = s;
    else if (b < beta && s > sLeft) sLeft = s;
    let ds: number;
    if (b >= bMax || !(bp > Number.MIN_VALUE)) {
      ds = 0.5 * (sLeft + Math.min(sRight, 4 * s)) - s;
    } else {
      const bMaxMinusB = bMax - b;
      const g = Math.log(gap / bMaxMinusB);
      const gp = bp / bMaxMinusB;
      const xs = x / s;
      const bHalley = (xs * xs) / s - 0.25 * s;
      const bHh3 = bHalley * bHalley - 3 * (xs / s) * (xs / s) - 0.25;
      const newton = -g / gp;
      const halley = bHalley + gp;
      const hh3 = bHh3 + gp * (2 * gp + 3 * bHalley);
      ds = newton * householderFactor(newton, halley, hh3);
    }
    ds = Math.max(-0.5 * s, ds);
    s += ds;
    out.relStep = Math.abs(ds) / s;
    if (Math.abs(ds) <= stopRel * s) break;
  }
  return s;
}

/**
 * Below this last relative step a Householder(3) step has converged: its error is ~K (Δs/s)^4
 * (quartic convergence, K of order one for these nearly linear objectives), <= ~1e-20.
 */
const POLISH_CONVERGED = 1e-5;

/**
 * f64 polish of an approximate normalised implied volatility s0 (e.g. the f32 WebGPU result,
 * good to ~1e-6): one Householder(3) step on the objective of the branch s0 lies in (a second
 * when the first moved s by more than 1e-5 relative). Returns NaN when s0 is unusable or the
 * steps did not settle, so the caller can fall back to normalisedImpliedVolOtm.
 */
export function polishNormalisedImpliedVol(beta: number, x: number, s0: number): number {
  const bMax = Math.exp(0.5 * x);
  if (!(s0 > 0 && s0 < Infinity) || !(beta > 0 && beta < bMax)) return NaN;
  const lo = Number.MIN_VALUE;
  const hi = Number.MAX_VALUE;
  let s: number;
  if (x === 0) s = polishMiddle(beta, x, bMax, s0, lo, hi, POLISH_CONVERGED);
  else {
    const sc = Math.sqrt(-2 * x);
    let bc: number;
    let vc: number;
    if (x < -0.01) {
      bc = 0.5 * bMax * (1 - erfcxPos(Math.sqrt(-x)));
      vc = bMax / SQRT_2PI;
    } else {
      bc = otmCallAndVega(x, sc, bMax);
      vc = lastVega.value;
    }
    // The branch points of normalisedImpliedVolOtm, from the same closed forms.
    if (s0 < sc - bc / vc) s = polishLowest(beta, x, bMax, s0, lo, hi, POLISH_CONVERGED);
    else if (beta > 0.5 * bMax && s0 > sc + (bMax - bc) / vc) s = polishHighest(beta, x, bMax, s0, lo, hi, POLISH_CONVERGED);
    else s = polishMiddle(beta, x, bMax, s0, lo, hi, POLISH_CONVERGED);
  }
  return out.relStep <= POLISH_CONVERGED && s > 0 && s < Infinity ? s : NaN;
}

const OK = 0;
const BELOW = 1;
const ABOVE = 2;
const INVALID = 3;
const NO_INFO = 4;
const STATUS: IvStatus[] = ['ok', 'below_intrinsic', 'above_max', 'invalid_input', 'no_information'];
/** Output slots of ivCore (no allocation per row in batches). */
const coreResult = { iv: NaN, field: '', beta: NaN, x: NaN };

function invalid(field: string): number {
  coreResult.field = field;
  return INVALID;
}

/** Status code of one row; the volatility goes to coreResult.iv when OK. */
function ivCore(
  price: number,
  forward: number,
  strike: number,
  T: number,
  isCall: boolean,
  discount: number,
  reduceOnly = false,
): number {
  if (!Number.isFinite(price) || price < 0) return invalid('price');
  if (!Number.isFinite(forward) || !(forward > 0)) return invalid('forward');
  if (!Number.isFinite(strike) || !(strike > 0)) return invalid('strike');
  if (!Number.isFinite(T) || !(T > 0)) return invalid('T');
  if (!Number.isFinite(discount) || !(discount > 0)) return invalid('discount');
  const p = price / discount;
  const intrinsic = Math.max(isCall ? forward - strike : strike - forward, 0);
  const upper = isCall ? forward : strike;
  if (p >= upper) return ABOVE;
  const timeValue = p - intrinsic;
  // Rounding of the price itself (and of F - K) is a few ulp of the larger of them.
  const noise = 4 * EPS * Math.max(p, intrinsic);
  if (timeValue < -noise) return BELOW;
  if (timeValue <= noise) return NO_INFO;
  const beta = timeValue / Math.sqrt(forward * strike);
  const x = -Math.abs(Math.log(forward / strike));
  if (!(beta >= MIN_BETA)) return NO_INFO;
  const bMax = Math.exp(0.5 * x);
  if (beta >= bMax) return ABOVE;
  coreResult.beta = beta;
  coreResult.x = x;
  if (reduceOnly) return OK;
  const iv = normalisedImpliedVolOtm(beta, x, bMax) / Math.sqrt(T);
  if (!Number.isFinite(iv) || !(iv > 0)) return NO_INFO;
  coreResult.iv = iv;
  return OK;
}

/**
 * The checks and the reduction of impliedVolatility without the solve (for the WebGPU runner):
 * the status when it is decided already, else 'ok' with the normalised out-of-the-money price
 * `beta` and log-moneyness `x <= 0` to solve b(x, s) = beta for s = σ√T.
 */
export function reduceIvRow(
  price: number,
  forward: number,
  strike: number,
  T: number,
  isCall: boolean,
  discount = 1,
): { status: IvStatus; beta: number; x: number; field?: string } {
  const code = ivCore(price, forward, strike, T, isCall, discount, true);
  if (code === OK) return { status: 'ok', beta: coreResult.beta, x: coreResult.x };
  if (code === INVALID) return { status: 'invalid_input', beta: NaN, x: NaN, field: coreResult.field };
  return { status: STATUS[code], beta: NaN, x: NaN };
}

/**
 * Black-76 implied volatility of a present-value option price. Statuses:
 *  - invalid_input: a field is NaN, infinite or out of its domain (named in `field`);
 *  - below_intrinsic: price/discount below the intrinsic value max(θ(F-K), 0) beyond rounding;
 *  - above_max: price/discount at or above the upper bound (F for calls, K for puts);
 *  - no_information: the time value is zero or lost in the rounding of the price (within a few
 *    ulp of it), or so small (< 1e-290 of √(FK)) that no volatility can be resolved from it.
 */
export function impliedVolatility(
  price: number,
  forward: number,
  strike: number,
  T: number,
  isCall: boolean,
  discount = 1,
): IvResult {
  const code = ivCore(price, forward, strike, T, isCall, discount);
  if (code === OK) return { iv: coreResult.iv, status: 'ok' };
  if (code === INVALID) return { iv: null, status: 'invalid_input', field: coreResult.field };
  return { iv: null, status: STATUS[code] };
}

export interface IvBatch {
  price: Float64Array;
  forward: Float64Array;
  strike: Float64Array;
  T: Float64Array;
  isCall: Uint8Array;
  /** Discount factors; 1 when absent. */
  discount?: Float64Array;
}

function checkBatch(batch: IvBatch): number {
  const n = batch.price.length;
  for (const k of ['forward', 'strike', 'T', 'isCall'] as const) {
    if (batch[k].length !== n) throw new RangeError(`batch.${k} has length ${batch[k].length}, expected ${n}`);
  }
  if (batch.discount && batch.discount.length !== n) {
    throw new RangeError(`batch.discount has length ${batch.discount.length}, expected ${n}`);
  }
  return n;
}

/** impliedVolatility over a batch. `iv` is NaN wherever the status is not 'ok'. */
export function impliedVolatilities(batch: IvBatch): { iv: Float64Array; status: IvStatus[] } {
  const n = checkBatch(batch);
  const iv = new Float64Array(n);
  const status: IvStatus[] = new Array(n);
  const { price, forward, strike, T, isCall } = batch;
  const disc = batch.discount;
  for (let i = 0; i < n; i++) {
    const code = ivCore(price[i], forward[i], strike[i], T[i], isCall[i] !== 0, disc ? disc[i] : 1);
    iv[i] = code === OK ? coreResult.iv : NaN;
    status[i] = STATUS[code];
  }
  return { iv, status };
}

/**
 * reduceIvRow over a batch, without an object per row: the statuses decided in f64 and, where
 * 'ok', the normalised out-of-the-money price beta and log-moneyness x <= 0 (NaN elsewhere).
 */
export function reduceIvBatch(batch: IvBatch): { status: IvStatus[]; beta: Float64Array; x: Float64Array } {
  const n = checkBatch(batch);
  const beta = new Float64Array(n);
  const x = new Float64Array(n);
  const status: IvStatus[] = new Array(n);
  const { price, forward, strike, T, isCall } = batch;
  const disc = batch.discount;
  for (let i = 0; i < n; i++) {
    const code = ivCore(price[i], forward[i], strike[i], T[i], isCall[i] !== 0, disc ? disc[i] : 1, true);
    status[i] = STATUS[code];
    beta[i] = code === OK ? coreResult.beta : NaN;
    x[i] = code === OK ? coreResult.x : NaN;
  }
  return { status, beta, x };
}
