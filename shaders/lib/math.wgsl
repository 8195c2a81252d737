// volfit shared f32 math library. Include with `//!include lib/math.wgsl`.
//
// Why: SwiftShader's built-in exp/log/sin/cos are off by ~2e-4 absolute and its tanh returns NaN
// for |x| >= 89, which pricing sums amplify. Everything here is built only from operations that
// are exact or correctly rounded in IEEE f32 (+ - * /, abs, floor, round, bitcast, integer ops),
// with explicit range reduction and polynomials whose truncation error is far below one ulp.
// Accuracy measured against f64 on random points (test/shaders/math.test.ts) is stated per function.
//
// No compensated tricks such as `(a + b) - a`: shader compilers may fold them. The only splits
// used are exact by construction (Cody-Waite constants with few significant bits, bit masking).

const VF_LOG2E: f32 = 1.4426950408889634;
// ln 2 = VF_LN2_HI + VF_LN2_LO; VF_LN2_HI has 15 significant bits so n * VF_LN2_HI is exact for |n| < 512.
const VF_LN2_HI: f32 = 0.693145751953125;
const VF_LN2_LO: f32 = 1.428606765330187045e-6;
// pi/2 = P1 + P2 + P3 (P1: 8 bits, P2: 11 bits) so n * P1, n * P2 are exact for |n| < 8192.
const VF_PIO2_1: f32 = 1.5703125;
const VF_PIO2_2: f32 = 4.837512969970703125e-4;
const VF_PIO2_3: f32 = 7.549790126404332e-8;
const VF_2OPI: f32 = 0.63661977236758134;
const VF_INV_SQRT_2PI: f32 = 0.3989422804014327;
const VF_INV_SQRT2: f32 = 0.7071067811865476;
const VF_F32_MAX: f32 = 3.4028234e38;

// 2^n for integer n in [-126, 127], exactly (built from the exponent bits).
fn vf_pow2i(n: i32) -> f32 {
  return bitcast<f32>(u32(n + 127) << 23u);
}

// p * 2^n for n in [-252, 254], as two exact power-of-two factors so neither leaves the normal range.
fn vf_scale(p: f32, n: i32) -> f32 {
  let h = n / 2;
  return p * vf_pow2i(h) * vf_pow2i(n - h);
}

// exp(r) - 1 for |r| <= ln(2)/2 (Taylor to degree 9: truncation < 1e-10 relative).
fn vf_expm1_reduced(r: f32) -> f32 {
  let p = 1.0 / 2.0 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0
        + r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (1.0 / 362880.0)))))));
  return r + r * r * p;
}

// Splits x = n ln2 + r with |r| <= ln2/2 + tiny; returns (r, n).
fn vf_exp_reduce(x: f32) -> vec2<f32> {
  let n = round(x * VF_LOG2E);
  let r = (x - n * VF_LN2_HI) - n * VF_LN2_LO;
  return vec2<f32>(r, n);
}

// e^x. Max error ~1-2 ulp over the whole f32 range; +inf above 88.72, 0 below -103.97.
fn vf_exp(x: f32) -> f32 {
  if (x > 88.72284) { return x * VF_F32_MAX; }  // overflows to +inf at run time
  if (x < -103.97208) { return 0.0; }
  let rn = vf_exp_reduce(x);
  return vf_scale(1.0 + vf_expm1_reduced(rn.x), i32(rn.y));
}

// e^x - 1 with full relative accuracy near 0 (a few ulp everywhere).
// Uses 2^n (q + 1) - 1 = 2^n q + (2^n - 1): no cancellation for any n.
fn vf_expm1(x: f32) -> f32 {
  if (x > 88.72284) { return x * VF_F32_MAX; }
  if (x < -17.5) { return -1.0; }  // e^x < ulp(1)/2
  let rn = vf_exp_reduce(x);
  let q = vf_expm1_reduced(rn.x);
  let n = i32(rn.y);
  if (n == 0) { return q; }
  return vf_scale(q, n) + (vf_pow2i(n) - 1.0);
}

// log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: s = f / (2 + f), log(1+f) = 2 atanh(s),
// written as f - (f^2/2 - s (f^2/2 + R)) so the rounding of s only touches a small correction.
fn vf_log1p_reduced(f: f32) -> f32 {
  let s = f / (2.0 + f);
  let z = s * s;
  // R = 2 atanh(s)/s - 2 = z (2/3 + 2z/5 + ...); |s| <= 0.1716, z <= 0.0295: truncation < 1e-11
  let R = z * (2.0 / 3.0 + z * (2.0 / 5.0 + z * (2.0 / 7.0 + z * (2.0 / 9.0 + z * (2.0 / 11.0)))));
  let hfsq = 0.5 * f * f;
  return f - (hfsq - s * (hfsq + R));
}

// Natural log. ~1 ulp. log(0) = -inf, log(x<0) = NaN, log(+inf) = +inf.
fn vf_log(x_in: f32) -> f32 {
  var x = x_in;
  if (!(x > 0.0)) {
    if (x == 0.0) { return -1.0 / (x * x); }  // -inf at run time
    return (x - x) / (x - x);                  // NaN for negative or NaN input
  }
  if (x > VF_F32_MAX) { return x; }
  var e0 = 0;
  if (x < 1.17549435e-38) { x = x * 8388608.0; e0 = -23; }  // subnormals (if not flushed)
  let bits = bitcast<u32>(x);
  var e = i32(bits >> 23u) - 127 + e0;
  var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);  // [1, 2)
  if (m > 1.41421356) { m = m * 0.5; e = e + 1; }
  let f = m - 1.0;  // exact (Sterbenz)
  let ef = f32(e);
  return ef * VF_LN2_HI + (vf_log1p_reduced(f) + ef * VF_LN2_LO);
}

// log(1 + x) with full relative accuracy near 0. ~1 ulp for x in [-0.29, 0.41]; a few ulp outside
// (there 1 + x is rounded once, which costs at most ~3 ulp of the result).
fn vf_log1p(x: f32) -> f32 {
  if (x >= -0.29289321 && x <= 0.41421356) { return vf_log1p_reduced(x); }
  return vf_log(1.0 + x);
}

// (sin x, cos x). Cody-Waite reduction by pi/2 in three parts: exact for |x| < 12868 (n < 8192),
// where the absolute error is ~1 ulp of the result (and relative ~1-2 ulp away from zeros).
// Beyond that the reduction degrades gracefully (absolute error grows like |x| * 2^-40).
fn vf_sincos(x: f32) -> vec2<f32> {
  let n = round(x * VF_2OPI);
  return vf_sincos_quadrant(((x - n * VF_PIO2_1) - n * VF_PIO2_2) - n * VF_PIO2_3, n);
}

// (sin, cos)(r + n pi/2) for a reduced |r| <= pi/4 and a whole number n of quarter turns.
fn vf_sincos_quadrant(r: f32, n: f32) -> vec2<f32> {
  let z = r * r;
  // |r| <= pi/4: Taylor to r^9 (sin) and r^10 (cos): truncation < 3e-9 relative.
  let s = r + r * z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0))));
  let c = 1.0 - (0.5 * z - z * z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0)))));
  let q = i32(n) & 3;  // two's complement: correct quadrant for negative n too
  if (q == 0) { return vec2<f32>(s, c); }
  if (q == 1) { return vec2<f32>(c, -s); }
  if (q == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

fn vf_sin(x: f32) -> f32 { return vf_sincos(x).x; }
fn vf_cos(x: f32) -> f32 { return vf_sincos(x).y; }

// tanh x = -expm1(-2|x|) / (expm1(-2|x|) + 2) with the sign of x: no overflow, no NaN, full
// relative accuracy near 0 (a few ulp everywhere); exactly +-1 beyond |x| = 9.1.
fn vf_tanh(x: f32) -> f32 {
  let a = abs(x);
  var y = 1.0;
  if (a < 9.1) {
    let t = vf_expm1(-2.0 * a);
    y = abs(t) / (t + 2.0);  // t <= 0; abs keeps tanh(+0) = +0
  }
  return select(y, -y, x < 0.0);
}

// exp(-k x^2) for k in {1, 1/2} without the rounding of x^2 (which would cost x^2 * 2^-24
// relative, e.g. 5e-6 at x = 9): x = xh + xl with xh holding 12 bits, so xh^2 is exact and
// exp(-k x^2) = exp(-k xh^2) exp(-k xl (x + xh)).
fn vf_exp_mksq(x: f32, k: f32) -> f32 {
  let a = abs(x);
  let xh = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  let xl = a - xh;  // exact
  return vf_exp(-k * xh * xh) * vf_exp(-k * xl * (a + xh));
}

// exp(z^2) erfc(z) for z >= 0 times exp(-z^2) given separately (so callers can pass an accurate
// exp(-z^2) computed from a less-rounded argument). Numerical Recipes' Chebyshev fit
// erfc(z) = t exp(-z^2 + P(t)), t = 1/(1 + z/2): fractional error < 1.2e-7 for all z >= 0.
fn vf_erfc_core(z: f32, emz2: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * emz2 * vf_exp(p);
}

// erfc(x): relative error a few ulp (bounded by the fit's 1.2e-7) for x >= 0; for x < 0 it is
// 2 - erfc(|x|). Underflows to 0 beyond x ~ 10.
fn vf_erfc(x: f32) -> f32 {
  let a = abs(x);
  let v = vf_erfc_core(a, vf_exp_mksq(a, 1.0));
  return select(v, 2.0 - v, x < 0.0);
}

// Standard normal density.
fn vf_norm_pdf(x: f32) -> f32 {
  return VF_INV_SQRT_2PI * vf_exp_mksq(x, 0.5);
}

// Standard normal CDF. The lower tail N(-a) = erfc(a/sqrt2)/2 keeps relative accuracy (few ulp)
// down to ~1e-38: exp(-a^2/2) is computed from a itself, so the rounding of a/sqrt2 only enters
// the slowly varying t. The upper half is 1 - N(-a) (absolute accuracy ~1 ulp of 1).
fn vf_norm_cdf(x: f32) -> f32 {
  let a = abs(x);
  let lower = 0.5 * vf_erfc_core(a * VF_INV_SQRT2, vf_exp_mksq(a, 0.5));
  return select(lower, 1.0 - lower, x > 0.0);
}
