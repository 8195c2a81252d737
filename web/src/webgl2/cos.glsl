// GLSL ES 3.00 transcription of shaders/cos.wgsl (COS pricing of Heston / Bates / Merton in f32
// against a Black-Scholes control variate; see the WGSL for the precision design). The two
// compute passes become two fragment passes over float textures:
//   COEF: one pixel per (term k = x, plan = y) -> coefficient vec4;
//   SUM:  one pixel per quote record (row-major in an RW-wide target) -> put difference in .r.
// Plans: 4 RGBA texels per plan row (w, terms, c1, c2) (alphaHi, alphaLo, T, -) (params 0-3) (4-7).
// Records: 2 texels per record (thetaHi, thetaLo, kappa, expD) (expA, plan, below, -).
const float PI = 3.14159265358979;

uniform highp sampler2D plans;
uniform int MODEL;  // 0 heston, 1 bates, 2 merton (Model.kernels.cos)

vec2 c_mul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
vec2 c_div(vec2 a, vec2 b) {
  if (abs(b.x) >= abs(b.y)) {
    float r = b.y / b.x;
    float den = b.x + b.y * r;
    return vec2((a.x + a.y * r) / den, (a.y - a.x * r) / den);
  }
  float r = b.x / b.y;
  float den = b.x * r + b.y;
  return vec2((a.x * r + a.y) / den, (a.y * r - a.x) / den);
}
vec2 c_sqrt(vec2 a) {
  float m = length(a);
  if (m == 0.0) { return vec2(0.0); }
  float t = sqrt(0.5 * (m + abs(a.x)));
  if (a.x >= 0.0) { return vec2(t, a.y / (2.0 * t)); }
  return vec2(abs(a.y) / (2.0 * t), a.y >= 0.0 ? t : -t);
}
vec2 c_exp(vec2 a) { vec2 sc = vf_sincos(a.y); float m = vf_exp(a.x); return vec2(m * sc.y, m * sc.x); }
vec2 c_expm1(vec2 a) {
  vec2 sc = vf_sincos(a.y);
  float sh = vf_sin(0.5 * a.y);
  return vec2(vf_expm1(a.x) * sc.y - 2.0 * sh * sh, vf_exp(a.x) * sc.x);
}
vec2 c_log1p(vec2 a) { return vec2(0.5 * vf_log1p(a.x * (2.0 + a.x) + a.y * a.y), atan(a.y, 1.0 + a.x)); }

vec2 heston_psi(float u, float T, float v0, float kappa, float theta, float sigma, float rho) {
  float s2 = sigma * sigma;
  vec2 q = vec2(u * u, u);
  vec2 beta = vec2(kappa, -rho * sigma * u);
  vec2 d = c_sqrt(c_mul(beta, beta) + s2 * q);
  vec2 bpd = beta + d;
  vec2 dm = -c_div(q, bpd);
  vec2 dmb = c_div(dm, bpd);
  vec2 g = s2 * dmb;
  vec2 em = c_expm1(-T * d);
  vec2 ome = -em;
  vec2 e = vec2(1.0 + em.x, em.y);
  vec2 omge = vec2(1.0, 0.0) - c_mul(g, e);
  vec2 omg = vec2(1.0 - g.x, -g.y);
  vec2 D = c_div(c_mul(dm, ome), omge);
  vec2 zs = c_div(c_mul(dmb, ome), omg);
  vec2 z = s2 * zs;
  vec2 logTerm;
  if (length(z) < 1e-4) {
    logTerm = c_mul(zs, vec2(1.0 - 0.5 * z.x, -0.5 * z.y));
  } else {
    logTerm = c_log1p(z) / s2;
  }
  vec2 C = kappa * theta * (T * dm - 2.0 * logTerm);
  return C + v0 * D;
}

vec2 jump_psi(float u, float T, float lambda, float muJ, float sigmaJ) {
  vec2 e = c_expm1(vec2(-0.5 * sigmaJ * sigmaJ * u * u, u * muJ));
  float kbar = vf_expm1(muJ + 0.5 * sigmaJ * sigmaJ);
  return lambda * T * vec2(e.x, e.y - u * kbar);
}

vec2 model_psi(float u, float T, vec4 p0, vec4 p1) {
  if (MODEL == 2) {
    float hv = 0.5 * p0.x * p0.x * T;
    return vec2(-hv * u * u, -hv * u) + jump_psi(u, T, p0.y, p0.z, p0.w);
  }
  vec2 psi = heston_psi(u, T, p0.x, p0.y, p0.z, p0.w, p1.x);
  if (MODEL == 1) { psi += jump_psi(u, T, p1.y, p1.z, p1.w); }
  return psi;
}

vec2 sincospi(float r) {
  float n = roundEven(2.0 * r);
  return vf_sincos_quadrant(PI * (r - 0.5 * n), n);
}

vec2 sincos_pi_kx(float k, float hi, float lo) {
  float t = k * hi;
  float r = (t - 2.0 * floor(0.5 * t)) + k * lo;
  r = r - 2.0 * roundEven(0.5 * r);
  return sincospi(r);
}

#ifdef COEF
out vec4 result;
void main() {
  int k = int(gl_FragCoord.x);
  int plan = int(gl_FragCoord.y);
  vec4 a = texelFetch(plans, ivec2(0, plan), 0);
  int terms = int(a.y);
  if (k == 0 || k >= terms) { result = vec4(0.0); return; }
  vec4 b = texelFetch(plans, ivec2(1, plan), 0);
  float kf = float(k);
  float u = kf * a.x;
  float T = b.z;
  vec2 psiM = model_psi(u, T, texelFetch(plans, ivec2(2, plan), 0), texelFetch(plans, ivec2(3, plan), 0));
  float hc = 0.5 * a.w;
  vec2 psiB = vec2(-hc * u * u, a.z * u);
  vec2 delta = psiM - psiB;
  vec2 diff;
  if (length(delta) < 0.5) {
    diff = c_mul(c_exp(psiB), c_expm1(delta));
  } else {
    diff = c_exp(psiM) - c_exp(psiB);
  }
  vec2 sc = sincos_pi_kx(kf, b.x, b.y);
  float A = diff.x * sc.y - diff.y * sc.x;
  float inv = 1.0 / (1.0 + u * u);
  result = vec4(A * inv, A / u, A * u * inv, 0.0);
}
#endif

#ifdef SUM
uniform highp sampler2D coef;
uniform highp sampler2D recs;
uniform int RW;       // records per target row
uniform int records;  // records in all
out vec4 result;
void main() {
  int x = int(gl_FragCoord.x);
  int y = int(gl_FragCoord.y);
  int i = y * RW + x;
  if (i >= records) { result = vec4(0.0); return; }
  vec4 q0 = texelFetch(recs, ivec2(2 * x, y), 0);
  vec4 q1 = texelFetch(recs, ivec2(2 * x + 1, y), 0);
  int plan = int(q1.y);
  vec4 pa = texelFetch(plans, ivec2(0, plan), 0);
  float w = pa.x;
  int n = int(pa.y);
  float sa = 0.0, sb = 0.0, sg = 0.0, salpha = 0.0;
  for (int k0 = 1; k0 < n; k0 += 32) {
    int k1 = min(k0 + 32, n);
    float pA = 0.0, pB = 0.0, pG = 0.0, pAl = 0.0;
    for (int k = k0; k < k1; k++) {
      vec4 c = texelFetch(coef, ivec2(k, plan), 0);
      vec2 sc = sincos_pi_kx(float(k), q0.x, q0.y);
      pA += sc.y * c.x;
      pB += sc.x * c.y;
      pG += sc.x * c.z;
      pAl += c.x;
    }
    sa += pA;
    sb += pB;
    sg += pG;
    salpha += pAl;
  }
  result = vec4((2.0 * w / PI) * (q0.z * sb - q0.w * (sa + sg) + q1.x * salpha), 0.0, 0.0, 0.0);
}
#endif
