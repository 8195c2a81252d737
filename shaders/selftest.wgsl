// Runtime self-test: y = 2x + 1. Exact in f32 for the inputs used, so the test can demand equality.
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= arrayLength(&xs)) { return; }
  ys[i] = 2.0 * xs[i] + 1.0;
}
