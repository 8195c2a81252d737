// Local-volatility Monte Carlo, the f32 twin of src/engines/mc/localvolCpu.ts (same Philox words,
// same order of operations). Records and bindings are declared in src/engines/mc/localvolLayout.ts.
//
// `main`: one invocation simulates one sample unit (a path, or an antithetic pair) by log-Euler in
// X = ln(S / F(0, t)), X += -V/2 + sqrt(V) Z, and records at every expiry X on the fine grid, on
// the coarse grid of every other node (Richardson; driven by (Z_2c + Z_2c+1) / sqrt(2)) and the
// Black-Scholes control's X. V is precomputed in f64 per row and k node (src/engines/mc/
// localvolPlan.ts: each step's integrated Dupire variance; fine rows, then coarse rows),
// interpolated linearly in k and flat beyond the row.
//
// `reduce`: the payoff moment sums of shaders/mc_reduce.wgsl (the Heston engine's reduction,
// same quotes, blocks and output) with the Richardson payoff Y = 2 payoff(x) - payoff(xCoarse)
// and forward control G = 2 expm1(x) - expm1(xCoarse).
//!include mc_common.wgsl
//!include lib/mc_moments.wgsl
//!struct LvPathsHeader
//!struct LvStep
//!struct McPoint
//!struct LvPathPoint
//!struct LvReduceHeader
//!struct McQuote
//!bindings

override WG: u32;  // workgroup size (src/backends/webgpu/kernel.ts)

const LV_SQRT1_2: f32 = 0.7071067811865476;

// Row i's integrated local variance at x: linear in k between the row's nodes, flat beyond.
fn lv_step(i: u32, x: f32, z: f32, K: u32) -> f32 {
  let st = steps[i];
  let s = min(max((x - st.kLo) * st.invDk, 0.0), f32(K - 1u));
  let j = min(u32(floor(s)), K - 2u);
  let o = i * K + j;
  let a = variance[o];
  let v = a + (s - f32(j)) * (variance[o + 1u] - a);
  return x + (-0.5 * v + sqrt(v) * z);
}

// Word j (0..3) of a Philox block, without dynamic vector indexing.
fn word(w: vec4<u32>, j: u32) -> u32 {
  return select(select(select(w.w, w.z, j == 2u), w.y, j == 1u), w.x, j == 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = hdr.count;
  let ns = hdr.steps;
  let nExp = hdr.expiries;
  let K = hdr.kPoints;
  let anti = hdr.pathsPerUnit == 2u;
  let rich = hdr.richardson != 0u;
  let nRec = hdr.points;
  let key = hdr.key;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= count) { return; }
  let unit = hdr.first + idx;
  // Fine, control and coarse X of the path (0) and of its mirror (1), as scalars (registers).
  var x0 = 0.0;
  var xc0 = 0.0;
  var y0 = 0.0;
  var x1 = 0.0;
  var xc1 = 0.0;
  var y1 = 0.0;
  var zPrev = 0.0;
  var w = vec4<u32>(0u);
  var r = 0u;
  for (var i = 0u; i < ns; i++) {
    if ((i & 3u) == 0u) { w = philox4x32_10(vec4<u32>(unit, i >> 2u, 0u, 0u), key); }
    let z = mc_normal(word(w, i & 3u));
    let st = steps[i];
    x0 = lv_step(i, x0, z, K);
    xc0 = xc0 + (st.cvDrift + st.cvVol * z);
    if (anti) {
      x1 = lv_step(i, x1, -z, K);
      xc1 = xc1 + (st.cvDrift - st.cvVol * z);
    }
    if (rich) {
      if ((i & 1u) == 0u) {
        zPrev = z;
      } else {
        let zc = (zPrev + z) * LV_SQRT1_2;
        let row = ns + (i >> 1u);
        y0 = lv_step(row, y0, zc, K);
        if (anti) { y1 = lv_step(row, y1, -zc, K); }
      }
    } else {
      y0 = x0;
      y1 = x1;
    }
    while (r < nRec && rec[r].step == i) {
      outp[idx * nExp + rec[r].expiry] = LvPathPoint(x0, y0, xc0, x1, y1, xc1);
      r = r + 1u;
    }
  }
}

@compute @workgroup_size(WG)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = redHdr.count;
  let nExp = redHdr.expiries;
  let M = redHdr.quotes;
  let block = redHdr.block;
  let nBlocks = redHdr.blocks;
  let np = redHdr.pathsPerUnit;
  let rich = redHdr.richardson != 0u;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= M * nBlocks) { return; }
  let b = idx % nBlocks;
  let m = idx / nBlocks;
  let qd = quotes[m];
  let e = qd.expiry;
  let k = qd.k;
  let call = qd.isCall != 0u;
  let inv = 1.0 / f32(np);
  var acc = Moments(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
  let u1 = min(count, (b + 1u) * block);
  for (var u = b * block; u < u1; u++) {
    let p = paths[u * nExp + e];
    var y = payoff(p.x, k, call);
    var g = vf_expm1(p.x);
    var c = payoff(p.xc, k, call);
    if (rich) {
      y = 2.0 * y - payoff(p.xCoarse, k, call);
      g = 2.0 * g - vf_expm1(p.xCoarse);
    }
    if (np == 2u) {
      var ym = payoff(p.xMirror, k, call);
      var gm = vf_expm1(p.xMirror);
      if (rich) {
        ym = 2.0 * ym - payoff(p.xCoarseMirror, k, call);
        gm = 2.0 * gm - vf_expm1(p.xCoarseMirror);
      }
      y = (y + ym) * inv;
      g = (g + gm) * inv;
      c = (c + payoff(p.xcMirror, k, call)) * inv;
    }
    acc = momentsAdd(acc, vec3<f32>(y - c, c, g));
  }
  momentsStore((m * nBlocks + b) * 9u, acc);
}
