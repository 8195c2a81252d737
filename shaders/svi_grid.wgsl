// Quasi-explicit SVI grid (Zeliade 2009) for many slices in one dispatch: the f32 twin of
// src/surface/qe.ts evaluateGridBatch (read its comment for the maths). One invocation per grid
// row (slice s, m_i), its cells sigma_j in turn; per cell: ten weighted sums over the slice's quotes, the exact 3-variable QP
// by active-set enumeration (the unconstrained solve, then every set of 1-3 of the 7
// constraints, stopping at the first KKT point), then V = sum w (w_model - W)^2 from a second
// pass over the quotes (not from the sums: the expanded quadratic cancels to nothing in f32 near
// a good fit). Units are per-slice scaled (src/surface/gpuGrid.ts): W / aMax <= 1, weights
// summing to 1, so the level bound is a <= 1 and every sum is O(1).
//
// The f32 basis. The twin's w = a + d y + c z (y = (k - m)/sigma, z = sqrt(y^2 + 1)) has nearly
// collinear columns in f32 in two regimes, and the kernel solves the same QP (the same polytope,
// the same minimiser) in a basis that keeps each column's information:
// - quotes far from m (max |y| > 1): z = |y| + 1/(2|y|) is y or -y to f32 precision. Basis
//   u = z - y, v = z + y (u v = 1, both > 0, each computed without cancellation as the other's
//   inverse): w = a + p u + q v, p = (c - d)/2, q = (c + d)/2; the constraints, in the twin's
//   order: p >= 0, q >= 0, 2q <= L sigma, 2p <= L sigma, a + 2p >= 0, a + 2q >= 0, a <= 1.
// - quotes near m (max |y| <= 1, sigma large): z = 1 + y^2/2 is 1 to f32 precision. Basis
//   (1, y, z - 1 = y^2/(z + 1)): w = a' + d y + c (z - 1), a' = a + c; constraints c - d >= 0,
//   c + d >= 0, c + d <= L sigma, c - d <= L sigma, a' - d >= 0, a' + d >= 0, c - a' >= -1.
// (a, d, c) is written back.
//
// Precision: V is the exact objective of the (a, d, c) returned, to f32 rounding; the KKT
// solves carry f32 rounding times the conditioning of the (1, u, v) columns. Measured against
// the f64 twin: test/surface/gpuGrid.test.ts.
//!struct SviGridHeader
//!struct SviGridSlice
//!struct SviGridQuote
//!struct SviGridCell
//!bindings
// Records and bindings are declared in src/surface/gpuLayout.ts.

override WG: u32;  // workgroup size (src/backends/webgpu/kernel.ts)

// The constraints A x >= beta in the two bases (see above): |d| <= c, c + |d| <= L sigma,
// a + c - |d| >= 0, a <= 1.
const ROWS_FAR = array<vec3<f32>, 7>(
  vec3<f32>(0.0, 1.0, 0.0),
  vec3<f32>(0.0, 0.0, 1.0),
  vec3<f32>(0.0, 0.0, -2.0),
  vec3<f32>(0.0, -2.0, 0.0),
  vec3<f32>(1.0, 2.0, 0.0),
  vec3<f32>(1.0, 0.0, 2.0),
  vec3<f32>(-1.0, 0.0, 0.0),
);
const ROWS_NEAR = array<vec3<f32>, 7>(
  vec3<f32>(0.0, -1.0, 1.0),
  vec3<f32>(0.0, 1.0, 1.0),
  vec3<f32>(0.0, -1.0, -1.0),
  vec3<f32>(0.0, 1.0, -1.0),
  vec3<f32>(1.0, -1.0, 0.0),
  vec3<f32>(1.0, 1.0, 0.0),
  vec3<f32>(-1.0, 0.0, 1.0),
);
var<private> A_ROWS: array<vec3<f32>, 7>;
var<private> NEAR: bool;
var<private> BETA: array<f32, 7>;
// The KKT system, at most 6 x 7 augmented, and its solution.
var<private> KM: array<f32, 42>;
var<private> SOL: array<f32, 6>;
// Jacobi-scaled Hessian G (unit diagonal), right side g, scale D.
var<private> G01: f32;
var<private> G02: f32;
var<private> G12: f32;
var<private> GV: vec3<f32>;
var<private> DS: vec3<f32>;
// The raw Hessian and right side, for the objective of a candidate.
var<private> H0: vec3<f32>;   // H00, H11, H22
var<private> H1: vec3<f32>;   // H01, H02, H12
var<private> HV: vec3<f32>;   // h0, h1, h2
var<private> SWW: f32;
var<private> FEAS_TOL: f32;
var<private> BEST_F: f32;
var<private> BEST_X: vec3<f32>;
// The active set of the last KKT point (LAST_NA = NO_HINT: none), the next cell's first try.
const NO_HINT: u32 = 99u;
var<private> LAST_ACT: vec3<u32>;
var<private> LAST_NA: u32;

// Gaussian elimination with partial pivoting of the n x (n + 1) system in KM; false if singular.
fn solve_aug(n: u32) -> bool {
  let w = n + 1u;
  var scale = 0.0;
  for (var r = 0u; r < n; r++) {
    for (var c = 0u; c < n; c++) { scale = max(scale, abs(KM[r * w + c])); }
  }
  if (!(scale > 0.0)) { return false; }
  for (var col = 0u; col < n; col++) {
    var piv = col;
    var best = abs(KM[col * w + col]);
    for (var r = col + 1u; r < n; r++) {
      let v = abs(KM[r * w + col]);
      if (v > best) { best = v; piv = r; }
    }
    if (!(best > 1e-6 * scale)) { return false; }
    if (piv != col) {
      for (var c = 0u; c < w; c++) {
        let t = KM[col * w + c];
        KM[col * w + c] = KM[piv * w + c];
        KM[piv * w + c] = t;
      }
    }
    let d = KM[col * w + col];
    for (var r = col + 1u; r < n; r++) {
      let f = KM[r * w + col] / d;
      for (var c = col; c < w; c++) { KM[r * w + c] -= f * KM[col * w + c]; }
    }
  }
  for (var rr = 0u; rr < n; rr++) {
    let r = n - 1u - rr;
    var s = KM[r * w + n];
    for (var c = r + 1u; c < n; c++) { s -= KM[r * w + c] * SOL[c]; }
    SOL[r] = s / KM[r * w + r];
  }
  return true;
}

fn objective(x: vec3<f32>) -> f32 {
  let hx = vec3<f32>(
    H0.x * x.x + H1.x * x.y + H1.y * x.z,
    H1.x * x.x + H0.y * x.y + H1.z * x.z,
    H1.y * x.x + H1.z * x.y + H0.z * x.z,
  );
  return dot(x, hx) - 2.0 * dot(HV, x) + SWW;
}

fn feasible(x: vec3<f32>) -> bool {
  for (var i = 0u; i < 7u; i++) {
    if (dot(A_ROWS[i], x) - BETA[i] < -FEAS_TOL) { return false; }
  }
  return true;
}

// Solves the KKT system with the `na` constraints of `act` active; keeps the best feasible
// candidate; returns true at a KKT point (feasible, multipliers >= 0): the QP's minimiser.
fn try_set(act: vec3<u32>, na: u32) -> bool {
  let n = 3u + na;
  let w = n + 1u;
  for (var i = 0u; i < n * w; i++) { KM[i] = 0.0; }
  KM[0] = 1.0; KM[1] = G01; KM[2] = G02; KM[n] = GV.x;
  KM[w] = G01; KM[w + 1u] = 1.0; KM[w + 2u] = G12; KM[w + n] = GV.y;
  KM[2u * w] = G02; KM[2u * w + 1u] = G12; KM[2u * w + 2u] = 1.0; KM[2u * w + n] = GV.z;
  for (var j = 0u; j < na; j++) {
    let c = act[j];
    let b = A_ROWS[c] * DS;
    let nr = 1.0 / length(b);
    let row = b * nr;
    for (var q = 0u; q < 3u; q++) {
      KM[q * w + 3u + j] = -row[q];
      KM[(3u + j) * w + q] = row[q];
    }
    KM[(3u + j) * w + n] = BETA[c] * nr;
  }
  if (!solve_aug(n)) { return false; }
  let x = vec3<f32>(SOL[0], SOL[1], SOL[2]) * DS;
  if (!feasible(x)) { return false; }
  let f = objective(x);
  if (f < BEST_F) { BEST_F = f; BEST_X = x; }
  for (var j = 0u; j < na; j++) {
    if (SOL[3u + j] < 0.0) { return false; }
  }
  LAST_ACT = act;
  LAST_NA = na;
  return true;
}

// The two non-constant columns at y: (y, z - 1) near m; (u, v) = (z - y, z + y) far from it, the
// large one directly, the small one as its inverse. z = sqrt(y^2 + 1).
fn basis(y: f32) -> vec2<f32> {
  let z = sqrt(y * y + 1.0);
  if (NEAR) { return vec2<f32>(y, y * y / (z + 1.0)); }
  if (y >= 0.0) {
    let v = z + y;
    return vec2<f32>(1.0 / v, v);
  }
  let u = z - y;
  return vec2<f32>(u, 1.0 / u);
}

// One invocation per grid row (slice s, m_i): the cells of increasing sigma in turn, each QP
// tried first with the previous cell's active set (qe.ts evaluateGridBatch does the same): a KKT
// point is the unique minimiser whichever set finds it, and neighbours mostly share their set.
@compute @workgroup_size(WG)
fn grid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= hdr.slices * hdr.nm) { return; }
  LAST_NA = NO_HINT;
  for (var j = 0u; j < hdr.ns; j++) {
    grid_cell(row / hdr.nm, row % hdr.nm, j, LAST_ACT, LAST_NA);
  }
}

fn grid_cell(s: u32, i: u32, j: u32, hint_act: vec3<u32>, hint_na: u32) {
  let cell = (s * hdr.nm + i) * hdr.ns + j;
  let sl = slices[s];
  let m = gm[s * hdr.nm + i];
  let sigma = gsigma[s * hdr.ns + j];
  let inv = 1.0 / sigma;
  var ymax = 0.0;
  for (var q = sl.lo; q < sl.hi; q++) { ymax = max(ymax, abs(quotes[q].k - m) * inv); }
  NEAR = ymax <= 1.0;
  if (NEAR) { A_ROWS = ROWS_NEAR; } else { A_ROWS = ROWS_FAR; }

  var s1 = 0.0; var su = 0.0; var sv = 0.0; var suu = 0.0; var svv = 0.0;
  var sW = 0.0; var suW = 0.0; var svW = 0.0; var sWW = 0.0;
  for (var q = sl.lo; q < sl.hi; q++) {
    let qt = quotes[q];
    let uv = basis((qt.k - m) * inv);
    let wt = qt.weight;
    s1 += wt; su += wt * uv.x; sv += wt * uv.y;
    suu += wt * uv.x * uv.x; svv += wt * uv.y * uv.y;
    sW += wt * qt.w; suW += wt * uv.x * qt.w; svW += wt * uv.y * qt.w; sWW += wt * qt.w * qt.w;
  }
  // A relative ridge on each diagonal (the columns' scales differ by orders of magnitude: u ~ 1/v).
  H0 = vec3<f32>(s1, suu, svv) * (1.0 + 1e-6);
  var suv = s1;  // u v = 1
  if (NEAR) {
    suv = 0.0;
    for (var q = sl.lo; q < sl.hi; q++) {
      let uv = basis((quotes[q].k - m) * inv);
      suv += quotes[q].weight * uv.x * uv.y;
    }
  }
  H1 = vec3<f32>(su, sv, suv);
  HV = vec3<f32>(sW, suW, svW);
  SWW = sWW;
  DS = vec3<f32>(1.0 / sqrt(H0.x), 1.0 / sqrt(H0.y), 1.0 / sqrt(H0.z));
  G01 = H1.x * DS.x * DS.y;
  G02 = H1.y * DS.x * DS.z;
  G12 = H1.z * DS.y * DS.z;
  GV = HV * DS;
  let lee = sl.lee > 0.0;
  let L = select(0.0, sl.lee * sigma, lee);
  BETA = array<f32, 7>(0.0, 0.0, -L, -L, 0.0, 0.0, -1.0);  // the same in both bases
  FEAS_TOL = 1e-5 * (1.0 + L);
  BEST_F = 3.0e38;
  BEST_X = vec3<f32>(0.0);

  // Active sets by size, each in increasing index order (qe.ts ACTIVE_SETS); without Lee's bound
  // the sets holding constraints 2 or 3 are skipped (qe.ts: their beta is -1e300, never active).
  LAST_NA = NO_HINT;
  var done = false;
  if (hint_na != NO_HINT) { done = try_set(hint_act, hint_na); }
  if (!done) { done = try_set(vec3<u32>(0u), 0u); }
  for (var a = 0u; a < 7u && !done; a++) {
    if (!lee && (a == 2u || a == 3u)) { continue; }
    done = try_set(vec3<u32>(a, 0u, 0u), 1u);
  }
  for (var a = 0u; a < 7u && !done; a++) {
    for (var b = a + 1u; b < 7u && !done; b++) {
      if (!lee && (a == 2u || a == 3u || b == 2u || b == 3u)) { continue; }
      done = try_set(vec3<u32>(a, b, 0u), 2u);
    }
  }
  for (var a = 0u; a < 7u && !done; a++) {
    for (var b = a + 1u; b < 7u && !done; b++) {
      for (var c = b + 1u; c < 7u && !done; c++) {
        if (!lee && (a == 2u || a == 3u || b == 2u || b == 3u || c == 2u || c == 3u)) { continue; }
        done = try_set(vec3<u32>(a, b, c), 3u);
      }
    }
  }
  // No feasible candidate (rounding only): the origin is feasible, V = sum w W^2.
  let x = select(vec3<f32>(0.0), BEST_X, BEST_F < 3.0e38);
  var f = 0.0;
  for (var q = sl.lo; q < sl.hi; q++) {
    let qt = quotes[q];
    let uv = basis((qt.k - m) * inv);
    let e = x.x + x.y * uv.x + x.z * uv.y - qt.w;
    f += qt.weight * e * e;
  }
  if (NEAR) {
    cells[cell] = SviGridCell(f, x.x - x.z, x.y, x.z);
  } else {
    cells[cell] = SviGridCell(f, x.x, x.z - x.y, x.y + x.z);
  }
}
