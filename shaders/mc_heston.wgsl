// Heston (Andersen QE, psi_c = 1.5, martingale correction) and Bates (compound Poisson log-normal
// jumps) paths: the f32 twin of hestonCpu in src/engines/mc/cpuPaths.ts. One invocation simulates
// one sample unit (a path, or an antithetic pair) for one parameter set and records ln(S/F) and
// the Black-Scholes control's ln(S/F) at every expiry. Coefficients come precomputed in f64 per
// parameter set and step (src/engines/mc/tables.ts hestonTables: the struct HestonStep, fields
// named as there); records and bindings are declared in src/engines/mc/gpuLayout.ts.
//!include mc_common.wgsl
//!struct McPathsHeader
//!struct McPoint
//!struct HestonStep
//!struct McPathPoint
//!bindings

override WG: u32;         // workgroup size (src/backends/webgpu/kernel.ts)
override MAX_JUMPS: u32;  // Poisson inversion cap per step (tables.ts MAX_JUMPS_PER_STEP)

struct Qe { vn: f32, dx: f32 }

// zv = Phi^-1(u), omu = 1 - u for the variance draw u; zs the independent normal of the price.
fn qe_step(o: u32, v: f32, zv: f32, omu: f32, zs: f32) -> Qe {
  let m = tb[o].thetaOmE + v * tb[o].E;
  let s2 = v * tb[o].c1 + tb[o].c2;
  let psi = s2 / (m * m);
  let A = tb[o].A;
  var vn: f32;
  var k0: f32;
  if (psi <= 1.5) {
    let ip = 2.0 / psi;
    let b2 = ip - 1.0 + sqrt(ip) * sqrt(ip - 1.0);
    let a = m / (1.0 + b2);
    let b = sqrt(b2);
    vn = a * (b + zv) * (b + zv);
    if (A < 1.0 / (2.0 * a)) {
      k0 = -A * b2 * a / (1.0 - 2.0 * A * a) + 0.5 * vf_log1p(-2.0 * A * a) - tb[o].K1K3 * v;
    } else {
      k0 = tb[o].K0;
    }
  } else {
    let pe = (psi - 1.0) / (psi + 1.0);
    let beta = (1.0 - pe) / m;
    vn = select((vf_log(1.0 - pe) - vf_log(omu)) / beta, 0.0, omu >= 1.0 - pe);
    if (A < beta) {
      k0 = -vf_log(pe + beta * (1.0 - pe) / (beta - A)) - tb[o].K1K3 * v;
    } else {
      k0 = tb[o].K0;
    }
  }
  let dx = k0 + tb[o].rhoOverSigma * (vn - v) + tb[o].kh * (v + vn) + sqrt(tb[o].k3 * (v + vn)) * zs;
  return Qe(vn, dx);
}

fn jump_step(o: u32, wn: u32, wj: u32) -> f32 {
  if (tb[o].lambdaH <= 0.0) { return 0.0; }
  let omu = mc_one_minus_uniform(wn);
  var surv = tb[o].pJump;
  var term = tb[o].expLambdaH;
  var k = 0u;
  while (omu < surv && k < MAX_JUMPS) {
    k = k + 1u;
    term = term * tb[o].lambdaH / f32(k);
    surv = surv - term;
  }
  return tb[o].jumpComp + f32(k) * tb[o].muJ + sqrt(f32(k)) * tb[o].sigmaJ * mc_normal(wj);
}

// One step of one path: state (v, x, xc), the step's four Philox words (flipped for the mirror).
fn path_step(o: u32, st: vec3<f32>, w: vec4<u32>) -> vec3<f32> {
  let zv = mc_normal(w.x);
  let zs = mc_normal(w.y);
  let q = qe_step(o, st.x, zv, mc_one_minus_uniform(w.x), zs);
  let x = st.y + q.dx + jump_step(o, w.z, w.w);
  let xc = st.z + tb[o].cvDrift + tb[o].cvVol * (tb[o].rho * zv + tb[o].rhoBar * zs);
  return vec3<f32>(q.vn, x, xc);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = hdr.count;
  let first = hdr.first;
  let nSteps = hdr.steps;
  let nExp = hdr.expiries;
  let nSets = hdr.sets;
  let key = hdr.key;
  let np = hdr.pathsPerUnit;
  let nRec = hdr.points;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= count * nSets) { return; }
  let p = idx / count;
  let u = idx % count;
  let unit = first + u;
  let v0 = tb[p * nSteps].v0;
  // State of the path and of its antithetic mirror as separate scalars: SwiftShader (and most
  // compilers) keep these in registers, where a dynamically indexed vec2 would go to memory.
  var s0 = vec3<f32>(v0, 0.0, 0.0); // (v, x, xc)
  var s1 = s0;
  var r = 0u;
  for (var i = 0u; i < nSteps; i++) {
    let o = p * nSteps + i;
    let w = philox4x32_10(vec4<u32>(unit, i, 0u, 0u), key);
    s0 = path_step(o, s0, w);
    if (np == 2u) { s1 = path_step(o, s1, w ^ vec4<u32>(MC_FLIP)); }
    while (r < nRec && rec[r].step == i) {
      outp[(p * count + u) * nExp + rec[r].expiry] = McPathPoint(s0.y, s0.z, s1.y, s1.z);
      r = r + 1u;
    }
  }
}
