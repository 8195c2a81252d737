// Heston (Andersen QE, psi_c = 1.5, martingale correction) and Bates (compound Poisson log-normal
// jumps) paths: the f32 twin of hestonCpu in src/engines/mc/cpuPaths.ts. One invocation simulates
// one sample unit (a path, or an antithetic pair) for one parameter set and records ln(S/F) and
// the Black-Scholes control's ln(S/F) at every expiry. Coefficients come precomputed in f64
// (src/engines/mc/tables.ts, HESTON_STRIDE = 24 floats per parameter set and step):
//   0 E=e^{-kappa h}  1 c1  2 c2  3 theta(1-E)  4 rho/sigma  5 kh  6 k3  7 K0  8 A  9 K1+K3/2
//   10 control drift  11 control vol*sqrt(h)  12 lambda h  13 e^{-lambda h}  14 P(N>0)
//   15 jump compensator  16 muJ  17 sigmaJ  18 rho  19 sqrt(1-rho^2)  20 v0  21 sqrt(h)
//!include mc_common.wgsl

const STRIDE: u32 = 24u;
const MAX_JUMPS: u32 = 128u;

@group(0) @binding(0) var<storage, read> hdr: array<u32>;
@group(0) @binding(1) var<storage, read> tb: array<f32>;
@group(0) @binding(2) var<storage, read> rec: array<u32>;
@group(0) @binding(3) var<storage, read_write> outp: array<vec4<f32>>;

struct Qe { vn: f32, dx: f32 }

// zv = Phi^-1(u), omu = 1 - u for the variance draw u; zs the independent normal of the price.
fn qe_step(o: u32, v: f32, zv: f32, omu: f32, zs: f32) -> Qe {
  let m = tb[o + 3u] + v * tb[o];
  let s2 = v * tb[o + 1u] + tb[o + 2u];
  let psi = s2 / (m * m);
  let A = tb[o + 8u];
  var vn: f32;
  var k0: f32;
  if (psi <= 1.5) {
    let ip = 2.0 / psi;
    let b2 = ip - 1.0 + sqrt(ip) * sqrt(ip - 1.0);
    let a = m / (1.0 + b2);
    let b = sqrt(b2);
    vn = a * (b + zv) * (b + zv);
    if (A < 1.0 / (2.0 * a)) {
      k0 = -A * b2 * a / (1.0 - 2.0 * A * a) + 0.5 * vf_log1p(-2.0 * A * a) - tb[o + 9u] * v;
    } else {
      k0 = tb[o + 7u];
    }
  } else {
    let pe = (psi - 1.0) / (psi + 1.0);
    let beta = (1.0 - pe) / m;
    vn = select((vf_log(1.0 - pe) - vf_log(omu)) / beta, 0.0, omu >= 1.0 - pe);
    if (A < beta) {
      k0 = -vf_log(pe + beta * (1.0 - pe) / (beta - A)) - tb[o + 9u] * v;
    } else {
      k0 = tb[o + 7u];
    }
  }
  let dx = k0 + tb[o + 4u] * (vn - v) + tb[o + 5u] * (v + vn) + sqrt(tb[o + 6u] * (v + vn)) * zs;
  return Qe(vn, dx);
}

fn jump_step(o: u32, wn: u32, wj: u32) -> f32 {
  if (tb[o + 12u] <= 0.0) { return 0.0; }
  let omu = mc_one_minus_uniform(wn);
  var surv = tb[o + 14u];
  var term = tb[o + 13u];
  var k = 0u;
  while (omu < surv && k < MAX_JUMPS) {
    k = k + 1u;
    term = term * tb[o + 12u] / f32(k);
    surv = surv - term;
  }
  return tb[o + 15u] + f32(k) * tb[o + 16u] + sqrt(f32(k)) * tb[o + 17u] * mc_normal(wj);
}

// One step of one path: state (v, x, xc), the step's four Philox words (flipped for the mirror).
fn path_step(o: u32, st: vec3<f32>, w: vec4<u32>) -> vec3<f32> {
  let zv = mc_normal(w.x);
  let zs = mc_normal(w.y);
  let q = qe_step(o, st.x, zv, mc_one_minus_uniform(w.x), zs);
  let x = st.y + q.dx + jump_step(o, w.z, w.w);
  let xc = st.z + tb[o + 10u] + tb[o + 11u] * (tb[o + 18u] * zv + tb[o + 19u] * zs);
  return vec3<f32>(q.vn, x, xc);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = hdr[0];
  let first = hdr[1];
  let nSteps = hdr[2];
  let nExp = hdr[3];
  let nSets = hdr[4];
  let key = vec2<u32>(hdr[5], hdr[6]);
  let np = hdr[7];
  let nRec = hdr[8];
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= count * nSets) { return; }
  let p = idx / count;
  let u = idx % count;
  let unit = first + u;
  let v0 = tb[p * nSteps * STRIDE + 20u];
  // State of the path and of its antithetic mirror as separate scalars: SwiftShader (and most
  // compilers) keep these in registers, where a dynamically indexed vec2 would go to memory.
  var s0 = vec3<f32>(v0, 0.0, 0.0); // (v, x, xc)
  var s1 = s0;
  var r = 0u;
  for (var i = 0u; i < nSteps; i++) {
    let o = (p * nSteps + i) * STRIDE;
    let w = philox4x32_10(vec4<u32>(unit, i, 0u, 0u), key);
    s0 = path_step(o, s0, w);
    if (np == 2u) { s1 = path_step(o, s1, w ^ vec4<u32>(MC_FLIP)); }
    while (r < nRec && rec[2u * r] == i) {
      outp[(p * count + u) * nExp + rec[2u * r + 1u]] = vec4<f32>(s0.y, s0.z, s1.y, s1.z);
      r = r + 1u;
    }
  }
}
