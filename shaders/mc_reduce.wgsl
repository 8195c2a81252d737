// Payoff sums per (parameter set, quote, block of units), the f32 twin of accumulateCpu in
// src/engines/mc/estimate.ts. Each invocation sums the nine moments [D, C, G, DD, CC, GG, DC, DG,
// CG] (D = Y - C, G = e^X - 1 via expm1 so it keeps relative accuracy near 0) over one block of
// at most hdr[4] units (so an f32 sum never runs over more than a few hundred terms); the CPU adds
// the blocks in f64. Payoffs are in forward units: Y = (e^X - k)^+ or (k - e^X)^+.
//!include lib/math.wgsl

@group(0) @binding(0) var<storage, read> hdr: array<u32>; // count, nExp, M, nSets, block, nBlocks, np
@group(0) @binding(1) var<storage, read> quotes: array<vec4<u32>>; // (expiry, bitcast k, isCall, 0)
@group(0) @binding(2) var<storage, read> paths: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;

fn payoff(x: f32, k: f32, call: bool) -> f32 {
  let s = vf_exp(x);
  return select(max(k - s, 0.0), max(s - k, 0.0), call);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let count = hdr[0];
  let nExp = hdr[1];
  let M = hdr[2];
  let nSets = hdr[3];
  let block = hdr[4];
  let nBlocks = hdr[5];
  let np = hdr[6];
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= nSets * M * nBlocks) { return; }
  let b = idx % nBlocks;
  let m = (idx / nBlocks) % M;
  let p = idx / (nBlocks * M);
  let qd = quotes[m];
  let e = qd.x;
  let k = bitcast<f32>(qd.y);
  let call = qd.z != 0u;
  let inv = 1.0 / f32(np);
  var s1 = vec3<f32>(0.0);  // D, C, G
  var s2 = vec3<f32>(0.0);  // DD, CC, GG
  var s3 = vec3<f32>(0.0);  // DC, DG, CG
  let u1 = min(count, (b + 1u) * block);
  for (var u = b * block; u < u1; u++) {
    let w = paths[(p * count + u) * nExp + e];
    var y = payoff(w.x, k, call);
    var c = payoff(w.y, k, call);
    var g = vf_expm1(w.x);
    if (np == 2u) {
      y = (y + payoff(w.z, k, call)) * inv;
      c = (c + payoff(w.w, k, call)) * inv;
      g = (g + vf_expm1(w.z)) * inv;
    }
    let v = vec3<f32>(y - c, c, g);
    s1 = s1 + v;
    s2 = s2 + v * v;
    s3 = s3 + vec3<f32>(v.x * v.y, v.x * v.z, v.y * v.z);
  }
  let o = ((p * M + m) * nBlocks + b) * 9u;
  sums[o] = s1.x;
  sums[o + 1u] = s1.y;
  sums[o + 2u] = s1.z;
  sums[o + 3u] = s2.x;
  sums[o + 4u] = s2.y;
  sums[o + 5u] = s2.z;
  sums[o + 6u] = s3.x;
  sums[o + 7u] = s3.y;
  sums[o + 8u] = s3.z;
}
