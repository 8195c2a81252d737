// Payoffs and the nine payoff moments [D, C, G, DD, CC, GG, DC, DG, CG] that the Monte Carlo
// reductions (mc_reduce.wgsl, mc_localvol.wgsl's reduce) sum per block of units, the f32 twin of
// accumulateCpu in src/engines/mc/estimate.ts. The including shader binds `sums: array<f32>`.
//!include lib/math.wgsl

// Forward units: (e^x - k)^+ for a call, (k - e^x)^+ for a put.
fn payoff(x: f32, k: f32, call: bool) -> f32 {
  let s = vf_exp(x);
  return select(max(k - s, 0.0), max(s - k, 0.0), call);
}

struct Moments {
  s1: vec3<f32>,  // D, C, G
  s2: vec3<f32>,  // DD, CC, GG
  s3: vec3<f32>,  // DC, DG, CG
}

fn momentsAdd(a: Moments, v: vec3<f32>) -> Moments {
  return Moments(a.s1 + v, a.s2 + v * v, a.s3 + vec3<f32>(v.x * v.y, v.x * v.z, v.y * v.z));
}

fn momentsStore(o: u32, a: Moments) {
  sums[o] = a.s1.x;
  sums[o + 1u] = a.s1.y;
  sums[o + 2u] = a.s1.z;
  sums[o + 3u] = a.s2.x;
  sums[o + 4u] = a.s2.y;
  sums[o + 5u] = a.s2.z;
  sums[o + 6u] = a.s3.x;
  sums[o + 7u] = a.s3.y;
  sums[o + 8u] = a.s3.z;
}
