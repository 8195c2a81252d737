// Payoff sums per (parameter set, quote, block of units), the f32 twin of accumulateCpu in
// src/engines/mc/estimate.ts. Each invocation sums the nine moments [D, C, G, DD, CC, GG, DC, DG,
// CG] (D = Y - C, G = e^X - 1 via expm1 so it keeps relative accuracy near 0) over one block of
// at most hdr.block units (so an f32 sum never runs over more than a few hundred terms); the CPU adds
// the blocks in f64. Payoffs are in forward units: Y = (e^X - k)^+ or (k - e^X)^+. Records and
// bindings are declared in src/engines/mc/gpuLayout.ts.
//!include lib/mc_moments.wgsl
//!struct McReduceHeader
//!struct McQuote
//!struct McPathPoint
//!bindings

override WG: u32;  // workgroup size (src/backends/webgpu/kernel.ts)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = hdr.count;
  let nExp = hdr.expiries;
  let M = hdr.quotes;
  let nSets = hdr.sets;
  let block = hdr.block;
  let nBlocks = hdr.blocks;
  let np = hdr.pathsPerUnit;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= nSets * M * nBlocks) { return; }
  let b = idx % nBlocks;
  let m = (idx / nBlocks) % M;
  let p = idx / (nBlocks * M);
  let qd = quotes[m];
  let e = qd.expiry;
  let k = qd.k;
  let call = qd.isCall != 0u;
  let inv = 1.0 / f32(np);
  var acc = Moments(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
  let u1 = min(count, (b + 1u) * block);
  for (var u = b * block; u < u1; u++) {
    let w = paths[(p * count + u) * nExp + e];
    var y = payoff(w.x, k, call);
    var c = payoff(w.xc, k, call);
    var g = vf_expm1(w.x);
    if (np == 2u) {
      y = (y + payoff(w.xMirror, k, call)) * inv;
      c = (c + payoff(w.xcMirror, k, call)) * inv;
      g = (g + vf_expm1(w.xMirror)) * inv;
    }
    acc = momentsAdd(acc, vec3<f32>(y - c, c, g));
  }
  momentsStore(((p * M + m) * nBlocks + b) * 9u, acc);
}
