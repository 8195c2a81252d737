// GPU-resident Levenberg-Marquardt reduction, f32 twin of src/engines/cos/normalSums.ts.
// Input: the COS put differences of a finite-difference stencil (cos.wgsl cos_sum_resident,
// still on the GPU, diffs[s * M + i]). Per quote i and set s this kernel adds the normal
// (Black-Scholes) control variate back, forms the forward-normalised model value v_si (puts and
// calls with cpu.ts's clamps and put-call parity), the residual r_i = c_i (v_0i - y_i), the row
// J_ij = c_i (v_{1+j,i} - v_{lo,i}) / (2 h_j or h_j) (lo = the -h_j set, central, or the base,
// forward), and reduces per workgroup: [sum r^2, quotes with a non-finite base value, quotes with
// a non-finite perturbed value, J^T r (D), upper triangle of J^T J (D(D+1)/2)]. The CPU adds the
// workgroups' partials in f64: that is all it reads back.
//
// One control variate per expiry serves the whole stencil (the base set's normal, also used by
// cos_coef for every set), so when no clamp acts J is differenced from the COS sums alone:
// v - v' = d - d', free of the control variate's f32 rounding and of v's own.
//
// Precision (f32; measured against the f64 twin on random Heston/Bates/Merton stencils incl.
// 7-day expiries and +-3.5 sd wings, test/calibrator/gpuNormal.test.ts): every value carries the
// f32 COS floor (~3e-7 of D F absolute) and, in f only, the f32 control variate (a few ulp of v).
// Price residuals: f within ~1e-5 relative (<= 1e-4 seen), J^T r and J^T J within 1e-4..6e-4 of
// their scales (sqrt(A_jj f), sqrt(A_jj A_kk)); first-order IV residuals of short-expiry wings
// weigh the floor up by 1/vega: f ~1e-5 (<= 2e-3 seen), J^T J <= 1.6e-2. The old path (f32 prices
// read back, sums in f64 on the CPU) measures the same for J^T J and ~3-10x less for f. Workgroup
// sums are f32 over 256 quotes (~1e-6 relative), then f64 across workgroups on the CPU.
//!include lib/math.wgsl
//!include lib/black_otm.wgsl
//!struct LmQuote
//!struct CosQuote
//!struct LmNormal
//!struct LmInfo
//!struct LmSeg
//!consts
//!bindings
// Records, bindings and the MAX_* constants are declared in src/engines/cos/gpuLayout.ts:
//   diffs[s * M + i]  COS put differences (cos_sum_resident);
//   quotes[i]         kappa = K/F, ln kappa, c_i, y_i (uploaded once per residual definition);
//   recs[i]           cos.wgsl's resident records (index = expiry, below-window and call flags);
//   cv[e]             the base set's normal of expiry e: shift = c1 + c2/2, sd = sqrt(c2),
//                     expm1(shift) (f64 on the CPU, rounded once; cos_coef used it for every set);
//   info              M, E, workgroups, invStep[j] = 1/(2 h_j) (central) or 1/h_j (forward);
//   partials          K floats per workgroup.

override NSETS: u32;        // sets in the stencil: 1, D + 1 (forward) or 2 D + 1 (central), <= MAX_SETS
override NDIR: u32;         // directions D <= MAX_DIR (0: f only)
override CENTRAL: bool;
override WG: u32;           // workgroup size, a power of two (src/backends/webgpu/kernel.ts)
override QPT: u32;          // quotes per invocation: a workgroup reduces WG x QPT quotes

const CHUNK: u32 = 16u;     // partials reduced 16 at a time (workgroup memory CHUNK x WG floats)

var<workgroup> red: array<f32, CHUNK * WG>;

// Integer test: compilers may assume float NaN/Inf away, but not bit patterns.
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// The control variate of a quote above the window: the put on X ~ N(c1, c2) is Black with
// forward e^sh, strike kappa, total sd sqrt(c2). Returns (the out-of-the-money side's value,
// 1 if that is the call else 0).
fn control_variate(kappa: f32, lk: f32, c: LmNormal) -> vec2<f32> {
  let x = c.shift - lk;  // ln(e^sh / kappa)
  let otm = vf_exp(0.5 * (c.shift + lk)) * bl_otm(-abs(x), c.sd).x;
  return vec2<f32>(otm, select(0.0, 1.0, x <= 0.0));
}

// Model value from the control variate cv (control_variate) and the COS put difference d:
// model put = put_BS + d; model call = put + 1 - kappa = call_BS + d - expm1(sh). The OTM side is
// formed (no cancellation), the other by parity, with cpu.ts's clamps. Returns (v, raw): raw is
// the unclamped value on the quote's side, so v == raw exactly when no clamp acted (then
// v - v' = d - d' between two sets sharing cv), and a NaN in d stays visible in raw.
fn model_value(cv: vec2<f32>, d: f32, kappa: f32, is_call: bool, em: f32) -> vec2<f32> {
  if (cv.y != 0.0) {
    let call = cv.x + d - em;
    if (is_call) { return vec2<f32>(min(max(call, max(1.0 - kappa, 0.0)), 1.0), call); }
    let put = call + (kappa - 1.0);
    return vec2<f32>(min(max(put, 0.0), kappa), put);
  }
  let put = cv.x + d;
  if (!is_call) { return vec2<f32>(min(max(put, 0.0), kappa), put); }
  let pc = min(max(put, 0.0), kappa);
  return vec2<f32>(max(pc + (1.0 - kappa), 0.0), put + (1.0 - kappa));
}

// Adds quote i's terms to acc, for a stencil of nsets sets and ndir directions. Its COS differences are diffs[rb + s * M + i] for set s; its
// quote data quotes[qb + i], its record recs[qb + i] (index = its expiry, cv[cb + index]).
fn accumulate(i: u32, M: u32, qb: u32, rb: u32, cb: u32, nsets: u32, ndir: u32, inv: array<f32, MAX_DIR>, acc: ptr<function, array<f32, MAX_K>>) {
  let qd = quotes[qb + i];
  let rec = recs[qb + i];
  let kappa = qd.kappa;
  let is_call = rec.isCall != 0u;
  let below = rec.below != 0u;
  let e = rec.index;
  var v: array<f32, MAX_SETS>;
  var d: array<f32, MAX_SETS>;    // COS differences; 0 below the window
  var exact: array<bool, MAX_SETS>; // v is unclamped (v - v' = d - d')
  var bad_base = false;
  var bad_other = false;
  // Below the window the put is 0 (cpu.ts), whatever the set.
  let c = cv[cb + e];
  var cvq = vec2<f32>(0.0);
  if (!below) { cvq = control_variate(kappa, qd.logKappa, c); }
  for (var s = 0u; s < nsets; s++) {
    var val = vec2<f32>(select(0.0, max(1.0 - kappa, 0.0), is_call));
    if (!below) {
      d[s] = diffs[rb + s * M + i];
      val = model_value(cvq, d[s], kappa, is_call, c.expm1Shift);
    }
    v[s] = val.x;
    exact[s] = val.x == val.y;
    if (!is_finite(val.y)) {
      if (s == 0u) { bad_base = true; } else { bad_other = true; }
    }
  }
  let r = qd.scale * (v[0] - qd.market);
  if (bad_base) { (*acc)[1] += 1.0; } else { (*acc)[0] += r * r; }
  if (bad_other) { (*acc)[2] += 1.0; }
  if (ndir > 0u && !bad_base && !bad_other) {
    var J: array<f32, MAX_DIR>;
    for (var j = 0u; j < ndir; j++) {
      let lo = select(0u, 1u + ndir + j, CENTRAL);
      let hi = 1u + j;
      // Unclamped on both sides: the difference of the COS sums alone, free of the control
      // variate's rounding (and of v's, ~1 ulp of the price, which h would amplify).
      var dv = v[hi] - v[lo];
      if (exact[hi] && exact[lo] && !below) { dv = d[hi] - d[lo]; }
      J[j] = qd.scale * dv * inv[j];
      (*acc)[3u + j] += J[j] * r;
    }
    var t = 3u + ndir;
    for (var a = 0u; a < ndir; a++) {
      for (var b = a; b < ndir; b++) {
        (*acc)[t] += J[a] * J[b];
        t++;
      }
    }
  }
}

// Tree reduction over the workgroup, CHUNK partials at a time (loop bounds are uniform); the
// workgroup's K sums go to partials[group * KS ..].
fn reduce_store(acc: array<f32, MAX_K>, lid: u32, group: u32, K: u32, KS: u32, valid: bool) {
  for (var c0 = 0u; c0 < K; c0 += CHUNK) {
    for (var k = 0u; k < CHUNK; k++) {
      let idx = min(c0 + k, MAX_K - 1u);
      red[k * WG + lid] = select(0.0, acc[idx], c0 + k < K);
    }
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
      if (lid < stride) {
        for (var k = 0u; k < CHUNK; k++) {
          red[k * WG + lid] += red[k * WG + lid + stride];
        }
      }
      workgroupBarrier();
    }
    if (lid < CHUNK && c0 + lid < K && valid) {
      partials[group * KS + c0 + lid] = red[lid * WG];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn lm_normal(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let M = info.quotes;
  let K = 3u + NDIR + NDIR * (NDIR + 1u) / 2u;
  let group = wid.x + wid.y * nwg.x;
  var acc: array<f32, MAX_K>;
  for (var q = 0u; q < QPT; q++) {
    let i = (group * QPT + q) * WG + lid.x;
    if (i < M) { accumulate(i, M, 0u, 0u, 0u, NSETS, NDIR, info.invStep, &acc); }
  }
  reduce_store(acc, lid.x, group, K, K, group < info.groups);
}

// Many surfaces in one dispatch (src/engines/cos/gpuNormalMany.ts): workgroup `group` reduces
// quotes [start, start + WG x QPT) of ONE surface, segs[groupSeg[group]] (a workgroup never
// straddles two surfaces), with that surface's offsets into the concatenated quotes, records,
// COS differences and control variates, its own stencil size (sets, directions: a lone trial
// point and a full stencil share the dispatch) and finite-difference steps. Partials at a stride
// of info.expiries floats per workgroup (the largest K of the batch).
@compute @workgroup_size(WG)
fn lm_normal_many(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let group = wid.x + wid.y * nwg.x;
  let valid = group < info.groups;
  let sg = segs[groupSeg[min(group, info.groups - 1u)]];
  let K = 3u + sg.dirs + sg.dirs * (sg.dirs + 1u) / 2u;
  let first = (group - sg.groupBase) * QPT * WG;
  var acc: array<f32, MAX_K>;
  if (valid) {
    for (var q = 0u; q < QPT; q++) {
      let i = first + q * WG + lid.x;
      if (i < sg.quotes) { accumulate(i, sg.quotes, sg.quoteBase, sg.recordBase, sg.expiryBase, sg.sets, sg.dirs, sg.invStep, &acc); }
    }
  }
  reduce_store(acc, lid.x, group, K, info.expiries, valid);
}
