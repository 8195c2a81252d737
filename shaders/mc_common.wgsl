// Uniforms and normals from one 32-bit Philox word: the f32 twin of src/engines/mc/normals.ts
// (see there for the mapping and its tail behaviour: |z| <= 6.3, full relative precision in both
// tails because the quantile is computed from the tail probability p itself).
//!include lib/math.wgsl
//!include philox.wgsl

const MC_TWO_M32: f32 = 2.3283064365386963e-10;
const MC_SQRT2: f32 = 1.4142135623730951;
const MC_FLIP: u32 = 0x80000000u;

fn mc_tail_prob(bits: u32) -> f32 {
  return (f32(bits & 0x7fffffffu) + 0.5) * MC_TWO_M32;
}

// M. Giles' single-precision erfinv(x) at x = 1 - 2p, with w = -log((1-x)(1+x)) = -log(4p(1-p))
// formed from p so that no 1 - x cancellation happens.
fn mc_erfinv_1m2p(p: f32) -> f32 {
  let x = 1.0 - 2.0 * p;
  var w = -vf_log(4.0 * p * (1.0 - p));
  var r: f32;
  if (w < 5.0) {
    w = w - 2.5;
    r = 2.81022636e-08;
    r = 3.43273939e-07 + r * w;
    r = -3.5233877e-06 + r * w;
    r = -4.39150654e-06 + r * w;
    r = 0.00021858087 + r * w;
    r = -0.00125372503 + r * w;
    r = -0.00417768164 + r * w;
    r = 0.246640727 + r * w;
    r = 1.50140941 + r * w;
  } else {
    w = sqrt(w) - 3.0;
    r = -0.000200214257;
    r = 0.000100950558 + r * w;
    r = 0.00134934322 + r * w;
    r = -0.00367342844 + r * w;
    r = 0.00573950773 + r * w;
    r = -0.0076224613 + r * w;
    r = 0.00943887047 + r * w;
    r = 1.00167406 + r * w;
    r = 2.83297682 + r * w;
  }
  return r * x;
}

fn mc_normal(bits: u32) -> f32 {
  let q = MC_SQRT2 * mc_erfinv_1m2p(mc_tail_prob(bits));
  return select(-q, q, (bits >> 31u) != 0u);
}

fn mc_uniform(bits: u32) -> f32 {
  let p = mc_tail_prob(bits);
  return select(p, 1.0 - p, (bits >> 31u) != 0u);
}

fn mc_one_minus_uniform(bits: u32) -> f32 {
  let p = mc_tail_prob(bits);
  return select(1.0 - p, p, (bits >> 31u) != 0u);
}
