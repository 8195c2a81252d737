// COS pricing (Fang and Oosterlee 2008) of Heston / Bates / Merton in f32, twin of
// src/engines/cos/cpu.ts. Two passes:
//   cos_coef: one invocation per (parameter set x expiry = "plan", term k): the per-expiry
//             coefficients of the DIFFERENCE phi_model - phi_BS (Black-Scholes control variate with
//             the model's variance c2). The CPU adds the closed-form Black price back in f64, so
//             the f32 sums only carry the smile's correction, not the whole price.
//   cos_sum:  one invocation per (parameter set, quote): sum over k of the coefficients times
//             cos/sin(k pi theta), theta = (d - a)/(b - a), giving the difference of the
//             forward-normalised put.
// Precision design (see /work/shared/NOTES.md): own range-reduced exp/log/sin/cos from
// lib/math.wgsl; phases k*x reduced exactly (x split on the CPU into a 12-bit head, whose product
// with k < 4096 is exact, and a tail); cancellation-free Heston algebra (beta - d computed as
// -sigma^2 (u^2 + iu) / (beta + d)); phi_model - phi_BS as phi_BS expm1(psi_M - psi_BS) where
// the exponents are close.
//!include lib/math.wgsl
//!struct CosPlan
//!struct CosQuote
//!struct CosDims
//!struct LmSeg
//!bindings

override MODEL: u32;  // 0 heston, 1 bates, 2 merton (each model's kernels.cos, src/models/)
override WG: u32;     // workgroup size (src/backends/webgpu/kernel.ts WORKGROUP_SIZE)
const PI: f32 = 3.14159265358979;

// Records and bindings are declared in src/engines/cos/gpuLayout.ts. A plan (CosPlan) is one
// (parameter set, expiry): w = pi/(b-a), the term count, the control variate's N(c1, c2),
// alpha = -a/(b-a) split in f64 (the phase of e^{-i w_k a} is pi k alpha), T and the parameters.
// dims: plans, terms per plan in coef (stride), quote records, quotes.

fn c_mul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
fn c_div(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  if (abs(b.x) >= abs(b.y)) {
    let r = b.y / b.x;
    let den = b.x + b.y * r;
    return vec2<f32>((a.x + a.y * r) / den, (a.y - a.x * r) / den);
  }
  let r = b.x / b.y;
  let den = b.x * r + b.y;
  return vec2<f32>((a.x * r + a.y) / den, (a.y * r - a.x) / den);
}
fn c_sqrt(a: vec2<f32>) -> vec2<f32> {
  let m = length(a);
  if (m == 0.0) { return vec2<f32>(0.0, 0.0); }
  let t = sqrt(0.5 * (m + abs(a.x)));
  if (a.x >= 0.0) { return vec2<f32>(t, a.y / (2.0 * t)); }
  return vec2<f32>(abs(a.y) / (2.0 * t), select(-t, t, a.y >= 0.0));
}
fn c_exp(a: vec2<f32>) -> vec2<f32> {
  let sc = vf_sincos(a.y);
  let m = vf_exp(a.x);
  return vec2<f32>(m * sc.y, m * sc.x);
}
fn c_expm1(a: vec2<f32>) -> vec2<f32> {
  let sc = vf_sincos(a.y);
  let sh = vf_sin(0.5 * a.y);
  return vec2<f32>(vf_expm1(a.x) * sc.y - 2.0 * sh * sh, vf_exp(a.x) * sc.x);
}
fn c_log1p(a: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(0.5 * vf_log1p(a.x * (2.0 + a.x) + a.y * a.y), atan2(a.y, 1.0 + a.x));
}

// ln E[e^{iuX}] for Heston, the f32 transcription of hestonLogCf (src/models/heston.ts).
fn heston_psi(u: f32, T: f32, v0: f32, kappa: f32, theta: f32, sigma: f32, rho: f32) -> vec2<f32> {
  let s2 = sigma * sigma;
  let q = vec2<f32>(u * u, u);
  let beta = vec2<f32>(kappa, -rho * sigma * u);
  let d = c_sqrt(c_mul(beta, beta) + s2 * q);
  let bpd = beta + d;
  let dm = -c_div(q, bpd);
  let dmb = c_div(dm, bpd);
  let g = s2 * dmb;
  let em = c_expm1(-T * d);
  let ome = -em;                       // 1 - e^{-dT}
  let e = vec2<f32>(1.0 + em.x, em.y); // e^{-dT}
  let omge = vec2<f32>(1.0, 0.0) - c_mul(g, e);
  let omg = vec2<f32>(1.0 - g.x, -g.y);
  let D = c_div(c_mul(dm, ome), omge);
  let zs = c_div(c_mul(dmb, ome), omg);
  let z = s2 * zs;
  var logTerm: vec2<f32>;
  if (length(z) < 1e-4) {
    logTerm = c_mul(zs, vec2<f32>(1.0 - 0.5 * z.x, -0.5 * z.y));
  } else {
    logTerm = c_log1p(z) / s2;
  }
  let C = kappa * theta * (T * dm - 2.0 * logTerm);
  return C + v0 * D;
}

fn jump_psi(u: f32, T: f32, lambda: f32, muJ: f32, sigmaJ: f32) -> vec2<f32> {
  let e = c_expm1(vec2<f32>(-0.5 * sigmaJ * sigmaJ * u * u, u * muJ));
  let kbar = vf_expm1(muJ + 0.5 * sigmaJ * sigmaJ);
  return lambda * T * vec2<f32>(e.x, e.y - u * kbar);
}

fn model_psi(u: f32, T: f32, pl: CosPlan) -> vec2<f32> {
  let p = pl.params;
  if (MODEL == 2u) {
    let hv = 0.5 * p[0] * p[0] * T;
    return vec2<f32>(-hv * u * u, -hv * u) + jump_psi(u, T, p[1], p[2], p[3]);
  }
  var psi = heston_psi(u, T, p[0], p[1], p[2], p[3], p[4]);
  if (MODEL == 1u) { psi += jump_psi(u, T, p[5], p[6], p[7]); }
  return psi;
}

// (sin, cos)(pi r) for |r| <= 1 (a little beyond is fine): reduced to |t| <= 1/4 by quarter turns
// BEFORE multiplying by pi (r - n/2 is exact), so the rounding of pi t costs at most ~5e-8 of phase
// instead of ~1.2e-7 for pi r near pi.
fn sincospi(r: f32) -> vec2<f32> {
  let n = round(2.0 * r);
  return vf_sincos_quadrant(PI * (r - 0.5 * n), n);
}

// sin/cos(pi * (k * x)) with x = hi + lo, hi a multiple of 2^-12 and k < 4096: k * hi is exact.
fn sincos_pi_kx(k: f32, hi: f32, lo: f32) -> vec2<f32> {
  let t = k * hi;
  var r = (t - 2.0 * floor(0.5 * t)) + k * lo;  // in [0, 2) + small
  r = r - 2.0 * round(0.5 * r);                  // in [-1, 1]
  return sincospi(r);
}

@compute @workgroup_size(WG)
fn cos_coef(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let stride = dims.stride;
  if (i >= dims.plans * stride) { return; }
  let plan = i / stride;
  let k = i % stride;
  let pl = plans[plan];
  if (k == 0u || k >= pl.terms) {
    coef[i] = vec4<f32>(0.0);
    return;
  }
  let kf = f32(k);
  let u = kf * pl.w;
  let T = pl.T;
  let psiM = model_psi(u, T, pl);
  // Control variate X ~ N(c1, c2): matching the mean as well as the variance makes the
  // difference O(u^3) at small u, where the 1/u weights of the put's sine sum are largest.
  let hc = 0.5 * pl.c2;
  let psiB = vec2<f32>(-hc * u * u, pl.c1 * u);
  let delta = psiM - psiB;
  var diff: vec2<f32>;
  if (length(delta) < 0.5) {
    diff = c_mul(c_exp(psiB), c_expm1(delta));   // no cancellation where the two are close
  } else {
    diff = c_exp(psiM) - c_exp(psiB);           // far apart: the difference is not small
  }
  // A_k = Re[diff e^{-i u a}], phase -u a = pi k alpha.
  let sc = sincos_pi_kx(kf, pl.alphaHi, pl.alphaLo);
  let A = diff.x * sc.y - diff.y * sc.x;
  let inv = 1.0 / (1.0 + u * u);
  coef[i] = vec4<f32>(A * inv, A / u, A * u * inv, 0.0);
}

// Difference of the forward-normalised put for quote record q under plan `plan`.
fn put_diff(q: CosQuote, plan: u32) -> f32 {
  let w = plans[plan].w;
  let n = plans[plan].terms;
  let base = plan * dims.stride;
  // Blocked sums: 32-term partial sums added to the totals, so rounding grows like
  // sqrt(32) + sqrt(n / 32) ulps instead of sqrt(n) (n runs to thousands of terms).
  var sa = 0.0;
  var sb = 0.0;
  var sg = 0.0;
  var salpha = 0.0;
  for (var k0 = 1u; k0 < n; k0 += 32u) {
    let k1 = min(k0 + 32u, n);
    var pa = 0.0;
    var pb = 0.0;
    var pg = 0.0;
    var pal = 0.0;
    for (var k = k0; k < k1; k++) {
      let c = coefIn[base + k];
      let sc = sincos_pi_kx(f32(k), q.thetaHi, q.thetaLo);
      pa += sc.y * c.x;
      pb += sc.x * c.y;
      pg += sc.x * c.z;
      pal += c.x;
    }
    sa += pa;
    sb += pb;
    sg += pg;
    salpha += pal;
  }
  // 2/(b-a) = 2 w / pi
  return (2.0 * w / PI) * (q.kappa * sb - q.expD * (sa + sg) + q.expA * salpha);
}

// One record per (parameter set, quote); q.index is its plan. Below the window the put is 0 (the
// CPU skips the record): no sum, which also makes `below` records pad a multi-surface batch
// (src/engines/cos/gpuPriceMany.ts) at no cost.
@compute @workgroup_size(WG)
fn cos_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= dims.records) { return; }
  let q = recs[i];
  if (q.below != 0u) {
    out[i] = 0.0;
    return;
  }
  out[i] = put_diff(q, q.index);
}

// The GPU-resident LM stencil (src/engines/cos/gpuNormal.ts): one record per QUOTE, whose window
// is held per expiry across the sets of a batch, so records stay on the GPU between calls;
// q.index is the quote's expiry. dims = [plans = sets x expiries, stride, sets x quotes, quotes];
// out[s * M + m].
@compute @workgroup_size(WG)
fn cos_sum_resident(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= dims.records) { return; }
  let M = dims.quotes;
  let s = i / M;
  let m = i - s * M;
  let q = recs[m];
  // Below the window the put is 0 whatever the set (the residual kernel knows from the flag).
  if (q.below != 0u) {
    out[i] = 0.0;
    return;
  }
  let E = dims.plans / (dims.records / M);
  out[i] = put_diff(q, s * E + q.index);
}

// Many surfaces' resident stencils in one dispatch (src/engines/cos/gpuNormalMany.ts): records
// of the surfaces concatenated, segs[k] (dims.quotes of them, ascending recordBase) one surface
// with its n x M_k block of out starting at recordBase, its quotes' records at quoteBase and its
// plans at planBase + s * E_k + expiry. Within a surface the layout is cos_sum_resident's.
@compute @workgroup_size(WG)
fn cos_sum_many(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= dims.records) { return; }
  var lo = 0u;
  var hi = dims.quotes;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (segs[mid].recordBase <= i) { lo = mid; } else { hi = mid; }
  }
  let sg = segs[lo];
  let local = i - sg.recordBase;
  let s = local / sg.quotes;
  let m = local - s * sg.quotes;
  let q = recs[sg.quoteBase + m];
  if (q.below != 0u) {
    out[i] = 0.0;
    return;
  }
  out[i] = put_diff(q, sg.planBase + s * sg.expiries + q.index);
}
