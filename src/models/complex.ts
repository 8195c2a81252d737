/** Minimal complex arithmetic for characteristic functions (f64). Values are immutable pairs. */
export interface Complex {
  re: number;
  im: number;
}

// Helpers below are plain functions on {re, im} pairs: characteristic functions are evaluated
// per expiry and per COS term (hundreds of values), not per strike, so clarity wins over speed.

export function cx(re: number, im = 0): Complex {
  return { re, im };
}
export function cadd(a: Complex, b: Complex): Complex {
  return { re: a.re + b.re, im: a.im + b.im };
}
export function csub(a: Complex, b: Complex): Complex {
  return { re: a.re - b.re, im: a.im - b.im };
}
export function cmul(a: Complex, b: Complex): Complex {
  return { re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re };
}
export function cscale(a: Complex, s: number): Complex {
  return { re: a.re * s, im: a.im * s };
}
/** a / b, scaled (Smith's algorithm) so large or small |b| neither overflows nor loses digits. */
export function cdiv(a: Complex, b: Complex): Complex {
  if (Math.abs(b.re) >= Math.abs(b.im)) {
    const r = b.im / b.re;
    const den = b.re + b.im * r;
    return { re: (a.re + a.im * r) / den, im: (a.im - a.re * r) / den };
  }
  const r = b.re / b.im;
  const den = b.re * r + b.im;
  return { re: (a.re * r + a.im) / den, im: (a.im * r - a.re) / den };
}
export function cabs(a: Complex): number {
  return Math.hypot(a.re, a.im);
}
export function cexp(a: Complex): Complex {
  const m = Math.exp(a.re);
  return { re: m * Math.cos(a.im), im: m * Math.sin(a.im) };
}
/** exp(a) - 1 without cancellation for small |a|: expm1(x) cos y - 2 sin^2(y/2) + i e^x sin y. */
export function cexpm1(a: Complex): Complex {
  const s = Math.sin(0.5 * a.im);
  return { re: Math.expm1(a.re) * Math.cos(a.im) - 2 * s * s, im: Math.exp(a.re) * Math.sin(a.im) };
}
/** Principal logarithm (branch cut on the negative real axis). */
export function clog(a: Complex): Complex {
  return { re: Math.log(Math.hypot(a.re, a.im)), im: Math.atan2(a.im, a.re) };
}
/** log(1 + a) accurate for small |a|: |1+a|^2 = 1 + (2x + x^2 + y^2) goes through Math.log1p. */
export function clog1p(a: Complex): Complex {
  const x = a.re;
  const y = a.im;
  return { re: 0.5 * Math.log1p(x * (2 + x) + y * y), im: Math.atan2(y, 1 + x) };
}
/** Principal square root (non-negative real part), without cancellation in either component. */
export function csqrt(a: Complex): Complex {
  if (a.re === 0 && a.im === 0) return { re: 0, im: 0 };
  const m = Math.sqrt(0.5 * (Math.hypot(a.re, a.im) + Math.abs(a.re)));
  if (a.re >= 0) return { re: m, im: a.im / (2 * m) };
  return { re: Math.abs(a.im) / (2 * m), im: a.im >= 0 ? m : -m };
}

/**
 * Optional fast paths a Fourier model may add to `Model` (src/models/types.ts); engines check for
 * them with `hasFourierExtras` and fall back to `logCharFn` otherwise.
 */
export interface FourierExtras {
  /**
   * ln phi(k w, T) for k = from .. n-1 (from defaults to 0) into re[k], im[k] (k = 0 gives 0),
   * without allocating: the COS engine evaluates this for every (parameter set, expiry, term).
   */
  logCharFnGrid(w: number, n: number, T: number, p: Float64Array, re: Float64Array, im: Float64Array, from?: number): void;
  /**
   * ln phi(u, T) and its gradient with respect to the parameter vector: out[0], out[1] = psi,
   * out[2 + 2j], out[3 + 2j] = d psi / d p_j (out has at least 2 + 2 P entries).
   */
  logCharFnGrad(u: number, T: number, p: Float64Array, out: Float64Array): void;
}

export function hasFourierExtras<M extends object>(model: M): model is M & FourierExtras {
  return 'logCharFnGrid' in model && 'logCharFnGrad' in model;
}
