// Rough Bergomi paths, hybrid scheme with kappa = 1 (Bennedsen-Lunde-Pakkanen 2017): the f32 twin
// of rbergomiCpu in src/engines/mc/cpuPaths.ts (see src/engines/mc/tables.ts for the row layout).
// The Volterra driver needs the history of Brownian increments: kept in a per-invocation array
// (steps <= RBERGOMI_MAX_STEPS = 512). The mirror path of an antithetic pair has every normal
// negated, hence the driver -Y, and shares the history.
//!include mc_common.wgsl

const RB_HEADER: u32 = 8u;
const MAX_STEPS: u32 = 512u;

@group(0) @binding(0) var<storage, read> hdr: array<u32>;
@group(0) @binding(1) var<storage, read> tb: array<f32>;
@group(0) @binding(2) var<storage, read> rec: array<vec4<u32>>; // (step, expiry, bitcast frac, 0)
@group(0) @binding(3) var<storage, read_write> outp: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = hdr[0];
  let first = hdr[1];
  let ns = hdr[2];
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
  let stride = RB_HEADER + 2u * (ns + 1u);
  let o = p * stride;
  let xi0 = tb[o];
  let eta = tb[o + 1u];
  let rho = tb[o + 2u];
  let rhoBar = tb[o + 3u];
  let sqh = tb[o + 4u];
  let cI1 = tb[o + 5u];
  let cI2 = tb[o + 6u];
  let h = tb[o + 7u];
  let G = o + RB_HEADER;
  let VC = o + RB_HEADER + ns + 1u;
  let sxi = sqrt(xi0);
  var hist: array<f32, MAX_STEPS>;
  var y = 0.0;
  var x = vec2<f32>(0.0, 0.0);
  var xc = vec2<f32>(0.0, 0.0);
  var r = 0u;
  for (var i = 0u; i < ns; i++) {
    let w = philox4x32_10(vec4<u32>(unit, i, 0u, 0u), key);
    let z1 = mc_normal(w.x);
    let z2 = mc_normal(w.y);
    let z3 = mc_normal(w.z);
    let dW = sqh * z1;
    let dWp = sqh * z3;
    hist[i] = dW;
    for (var a = 0u; a < np; a++) {
      let s = select(1.0, -1.0, a == 1u);
      var V = xi0;
      if (i > 0u) { V = xi0 * vf_exp(eta * s * y - tb[VC + i]); }
      let sv = sqrt(V);
      var rr = r;
      while (rr < nRec && rec[rr].x == i) {
        // Brownian bridge to the expiry inside the step.
        let e = rec[rr].y;
        let f = bitcast<f32>(rec[rr].z);
        let wb = philox4x32_10(vec4<u32>(unit, e, 1u, 0u), key);
        let sb = sqrt(f * (1.0 - f) * h);
        let b1 = s * (f * dW + sb * mc_normal(wb.x));
        let b2 = s * (f * dWp + sb * mc_normal(wb.y));
        let xe = x[a] + sv * (rho * b1 + rhoBar * b2) - 0.5 * V * f * h;
        let xce = xc[a] + sxi * (rho * b1 + rhoBar * b2) - 0.5 * xi0 * f * h;
        let q = (p * count + u) * nExp + e;
        var cur = outp[q];
        if (a == 0u) { cur = vec4<f32>(xe, xce, cur.z, cur.w); } else { cur = vec4<f32>(cur.x, cur.y, xe, xce); }
        outp[q] = cur;
        rr = rr + 1u;
      }
      x[a] = x[a] + sv * s * (rho * dW + rhoBar * dWp) - 0.5 * V * h;
      xc[a] = xc[a] + sxi * s * (rho * dW + rhoBar * dWp) - 0.5 * xi0 * h;
    }
    while (r < nRec && rec[r].x == i) { r = r + 1u; }
    var conv = cI1 * z1 + cI2 * z2;
    for (var k = 2u; k <= i + 1u; k++) {
      conv = conv + tb[G + k] * hist[i + 1u - k];
    }
    y = conv;
  }
}
