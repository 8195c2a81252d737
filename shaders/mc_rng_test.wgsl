// Test kernel: Philox words and the normals made from them, for the CPU-vs-GPU identity tests.
//!include mc_common.wgsl

@group(0) @binding(0) var<storage, read> ctrs: array<vec4<u32>>;   // counter per item
@group(0) @binding(1) var<storage, read> keys: array<vec2<u32>>;   // key per item
@group(0) @binding(2) var<storage, read_write> words: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> normals: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= arrayLength(&ctrs)) { return; }
  let w = philox4x32_10(ctrs[i], keys[i]);
  words[i] = w;
  normals[i] = vec4<f32>(mc_normal(w.x), mc_normal(w.y), mc_uniform(w.z), mc_one_minus_uniform(w.w));
}
