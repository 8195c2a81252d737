// Rough Bergomi paths, hybrid scheme with kappa = 1 (Bennedsen-Lunde-Pakkanen 2017): the f32 twin
// of rbergomiCpu in src/engines/mc/cpuPaths.ts (see src/engines/mc/tables.ts for the row layout).
// The Volterra driver needs the history of Brownian increments: kept in a per-invocation array
// (steps <= MAX_STEPS = RBERGOMI_MAX_STEPS). The mirror path of an antithetic pair has every
// normal negated, hence the driver -Y, and shares the history. Records, bindings and MAX_STEPS are
// declared in src/engines/mc/gpuLayout.ts: per parameter set the header RBergomiSet and
// 2 (steps + 1) weights (G[k], then varComp[i]).
//!include mc_common.wgsl
//!struct McPathsHeader
//!struct McPoint
//!struct RBergomiSet
//!struct McPathPoint
//!consts
//!bindings

override WG: u32;  // workgroup size (src/backends/webgpu/kernel.ts)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = hdr.count;
  let first = hdr.first;
  let ns = hdr.steps;
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
  let st = sets[p];
  let xi0 = st.xi0;
  let eta = st.eta;
  let rho = st.rho;
  let rhoBar = st.rhoBar;
  let sqh = st.sqrtH;
  let cI1 = st.cI1;
  let cI2 = st.cI2;
  let h = st.h;
  let G = p * 2u * (ns + 1u);
  let VC = G + ns + 1u;
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
      if (i > 0u) { V = xi0 * vf_exp(eta * s * y - weights[VC + i]); }
      let sv = sqrt(V);
      var rr = r;
      while (rr < nRec && rec[rr].step == i) {
        // Brownian bridge to the expiry inside the step.
        let e = rec[rr].expiry;
        let f = rec[rr].frac;
        let wb = philox4x32_10(vec4<u32>(unit, e, 1u, 0u), key);
        let sb = sqrt(f * (1.0 - f) * h);
        let b1 = s * (f * dW + sb * mc_normal(wb.x));
        let b2 = s * (f * dWp + sb * mc_normal(wb.y));
        let xe = x[a] + sv * (rho * b1 + rhoBar * b2) - 0.5 * V * f * h;
        let xce = xc[a] + sxi * (rho * b1 + rhoBar * b2) - 0.5 * xi0 * f * h;
        let q = (p * count + u) * nExp + e;
        if (a == 0u) { outp[q].x = xe; outp[q].xc = xce; } else { outp[q].xMirror = xe; outp[q].xcMirror = xce; }
        rr = rr + 1u;
      }
      x[a] = x[a] + sv * s * (rho * dW + rhoBar * dWp) - 0.5 * V * h;
      xc[a] = xc[a] + sxi * s * (rho * dW + rhoBar * dWp) - 0.5 * xi0 * h;
    }
    while (r < nRec && rec[r].step == i) { r = r + 1u; }
    var conv = cI1 * z1 + cI2 * z2;
    for (var k = 2u; k <= i + 1u; k++) {
      conv = conv + weights[G + k] * hist[i + 1u - k];
    }
    y = conv;
  }
}
