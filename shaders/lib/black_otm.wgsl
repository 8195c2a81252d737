// The normalised out-of-the-money Black call in f32, shared by black.wgsl (prices, implied vols)
// and lm_normal.wgsl (the COS control variate). Needs lib/math.wgsl.

const SMALL_T: f32 = 0.21;

// Normalised out-of-the-money call b(x, s), x <= 0, and its vega ∂b/∂s: returns (b, vega).
// Small t (short expiry / low vol) with moderate h uses the odd Taylor series of
// M(h±t) = Φ/φ (M' = 1 + hM, M^(n+1) = h M^(n) + n M^(n-1)), which avoids the cancellation of
// Φ(h+t) - Φ(h-t) at f32; elsewhere the two-term formula, whose cancellation (a factor ~|h|/t in
// the far wings) is outweighed there by the large sensitivity of b to s.
fn bl_otm(x: f32, s: f32) -> vec2<f32> {
  let h = x / s;
  let t = 0.5 * s;
  let g = VF_INV_SQRT_2PI * vf_exp(-0.5 * (h * h + t * t));
  var b: f32;
  if (t < SMALL_T && t * h > -0.5) {  // series terms shrink like (t h)^2k / (2k+1)!
    var m0 = vf_norm_cdf(h) / vf_norm_pdf(h);
    var m1 = 1.0 + h * m0;
    let t2 = t * t;
    var p = t;
    var sum = m1 * p;
    var inv_fact = 1.0;
    for (var j = 1; j < 6; j++) {
      let k = f32(2 * j - 1);
      let me = h * m1 + k * m0;
      let mo = h * me + (k + 1.0) * m1;
      m0 = me;
      m1 = mo;
      inv_fact = inv_fact / ((k + 1.0) * (k + 2.0));
      p = p * t2;
      sum = sum + m1 * p * inv_fact;
    }
    b = 2.0 * g * sum;
  } else {
    b = vf_exp(0.5 * x) * vf_norm_cdf(h + t) - vf_exp(-0.5 * x) * vf_norm_cdf(h - t);
  }
  return vec2<f32>(max(b, 0.0), g);
}
