// Black-76 in f32, in normalised units (see src/engines/black/normalised.ts for the f64 twin).
// The CPU reduces every row to the out-of-the-money call x = -|ln(F/K)| <= 0, s = σ√T in f64,
// the kernels do the special functions in f32, and the CPU scales the results back with √(FK),
// F, the discount factor and the intrinsic value in f64 (src/engines/black/gpu.ts). That keeps
// the f32 error relative to the small normalised quantities instead of to F.
//!include lib/math.wgsl
//!include lib/black_otm.wgsl
//!struct BlackParams
//!struct BlackRow
//!struct BlackGreeks
//!struct BlackIvRow
//!struct BlackIv
//!bindings
// Records and bindings are declared in src/engines/black/gpuLayout.ts.

override WG: u32;  // workgroup size (src/backends/webgpu/kernel.ts)

// rows[i] = (x <= 0, s > 0, d1 = ln(F/K)/s + s/2 with the row's own sign of ln(F/K), call flag)
// greeks[i] = (b_otm, Φ(θ d1), φ(d1)), θ = ±1; the CPU assembles price and Greeks.
@compute @workgroup_size(WG)
fn price_greeks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let r = rows[i];
  var b = 0.0;
  if (r.s > 0.0) { b = bl_otm(r.x, r.s).x; }
  let theta = select(-1.0, 1.0, r.isCall != 0u);
  greeks[i] = BlackGreeks(b, vf_norm_cdf(theta * r.d1), vf_norm_pdf(r.d1));
}

// ivRows[i] = (x <= 0, ln β) with 0 < β < e^{x/2} the normalised out-of-the-money price.
// ivs[i]    = (s, last relative step, iterations).
// Safeguarded Newton from the inflection point s_c = √(2|x|), where b(s) changes from convex to
// concave: below b(s_c) on ln b - ln β (nearly linear in the wing), above it on b - β; a step that
// leaves the bracket found so far bisects instead.
@compute @workgroup_size(WG)
fn implied_vol(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let x = ivRows[i].x;
  let ln_beta = ivRows[i].lnBeta;
  let beta = vf_exp(ln_beta);
  let sc = sqrt(-2.0 * x);
  var s = max(sc, 2.5066283 * beta);  // at x = 0, b ≈ s/√(2π) for small s
  var lo = 0.0;
  var hi = 1e4;
  let bc = bl_otm(x, s).x;
  let lower = beta < bc;
  var rel = 1.0;
  var it = 0u;
  for (; it < params.maxIter; it++) {
    let bv = bl_otm(x, s);
    if (bv.x > beta) { hi = min(hi, s); } else { lo = max(lo, s); }
    var ds: f32;
    if (lower) {
      if (bv.x > 0.0 && bv.y > 0.0) {
        ds = (ln_beta - vf_log(bv.x)) * bv.x / bv.y;
      } else {
        ds = 0.5 * (lo + hi) - s;
      }
    } else {
      ds = (beta - bv.x) / max(bv.y, 1e-30);
    }
    var next = s + ds;
    if (!(next > lo && next < hi)) { next = 0.5 * (lo + hi); }
    rel = abs(next - s) / next;
    s = next;
    if (rel < 3e-7) { it++; break; }
  }
  ivs[i] = BlackIv(s, rel, it);
}
