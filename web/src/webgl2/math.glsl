// GLSL ES 3.00 transcription of shaders/lib/math.wgsl (the subset COS needs): range-reduced exp,
// expm1, log, log1p, sincos, replacing the rasteriser's built-ins (SwiftShader's are inexact).
// round() in WGSL is round-half-to-even: roundEven here.
const float VF_LOG2E = 1.4426950408889634;
const float VF_LN2_HI = 0.693145751953125;
const float VF_LN2_LO = 1.428606765330187045e-6;
const float VF_PIO2_1 = 1.5703125;
const float VF_PIO2_2 = 4.837512969970703125e-4;
const float VF_PIO2_3 = 7.549790126404332e-8;
const float VF_2OPI = 0.63661977236758134;
const float VF_F32_MAX = 3.4028234e38;

float vf_pow2i(int n) { return intBitsToFloat((n + 127) << 23); }
float vf_scale(float p, int n) { int h = n / 2; return p * vf_pow2i(h) * vf_pow2i(n - h); }

float vf_expm1_reduced(float r) {
  float p = 1.0 / 2.0 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0
          + r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (1.0 / 362880.0)))))));
  return r + r * r * p;
}

vec2 vf_exp_reduce(float x) {
  float n = roundEven(x * VF_LOG2E);
  float r = (x - n * VF_LN2_HI) - n * VF_LN2_LO;
  return vec2(r, n);
}

float vf_exp(float x) {
  if (x > 88.72284) { return x * VF_F32_MAX; }
  if (x < -103.97208) { return 0.0; }
  vec2 rn = vf_exp_reduce(x);
  return vf_scale(1.0 + vf_expm1_reduced(rn.x), int(rn.y));
}

float vf_expm1(float x) {
  if (x > 88.72284) { return x * VF_F32_MAX; }
  if (x < -17.5) { return -1.0; }
  vec2 rn = vf_exp_reduce(x);
  float q = vf_expm1_reduced(rn.x);
  int n = int(rn.y);
  if (n == 0) { return q; }
  return vf_scale(q, n) + (vf_pow2i(n) - 1.0);
}

float vf_log1p_reduced(float f) {
  float s = f / (2.0 + f);
  float z = s * s;
  float R = z * (2.0 / 3.0 + z * (2.0 / 5.0 + z * (2.0 / 7.0 + z * (2.0 / 9.0 + z * (2.0 / 11.0)))));
  float hfsq = 0.5 * f * f;
  return f - (hfsq - s * (hfsq + R));
}

float vf_log(float x_in) {
  float x = x_in;
  if (!(x > 0.0)) {
    if (x == 0.0) { return -1.0 / (x * x); }
    return (x - x) / (x - x);
  }
  if (x > VF_F32_MAX) { return x; }
  int e0 = 0;
  if (x < 1.17549435e-38) { x = x * 8388608.0; e0 = -23; }
  uint bits = floatBitsToUint(x);
  int e = int(bits >> 23u) - 127 + e0;
  float m = uintBitsToFloat((bits & 0x007fffffu) | 0x3f800000u);
  if (m > 1.41421356) { m = m * 0.5; e = e + 1; }
  float f = m - 1.0;
  float ef = float(e);
  return ef * VF_LN2_HI + (vf_log1p_reduced(f) + ef * VF_LN2_LO);
}

float vf_log1p(float x) {
  if (x >= -0.29289321 && x <= 0.41421356) { return vf_log1p_reduced(x); }
  return vf_log(1.0 + x);
}

// (sin, cos)(r + n pi/2) for a reduced |r| <= pi/4 and a whole number n of quarter turns.
vec2 vf_sincos_quadrant(float r, float n) {
  float z = r * r;
  float s = r + r * z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0))));
  float c = 1.0 - (0.5 * z - z * z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0)))));
  int q = int(n) & 3;
  if (q == 0) { return vec2(s, c); }
  if (q == 1) { return vec2(c, -s); }
  if (q == 2) { return vec2(-s, -c); }
  return vec2(-c, s);
}

vec2 vf_sincos(float x) {
  float n = roundEven(x * VF_2OPI);
  return vf_sincos_quadrant(((x - n * VF_PIO2_1) - n * VF_PIO2_2) - n * VF_PIO2_3, n);
}

float vf_sin(float x) { return vf_sincos(x).x; }
