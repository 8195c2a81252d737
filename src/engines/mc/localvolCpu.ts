/**
 * The f64 CPU twin of shaders/mc_localvol.wgsl (both entry points): log-Euler in
 * X = ln(S / F(0, t)),
 *   X += -V/2 + sqrt(V) Z,   V = the step's integrated local variance at X (localvolPlan.ts),
 * with the same Philox words and the same order of operations. One Philox call serves four
 * consecutive steps: fine step i draws word (i mod 4) of counter (unit, floor(i / 4), 0, 0); the
 * antithetic mirror uses -Z (the word with its top bit flipped gives exactly -Z). With Richardson
 * the coarse path takes coarse step c = floor(i / 2) after fine step i = 2c + 1, driven by
 * (Z_{2c} + Z_{2c+1}) / sqrt(2); without it the "coarse" value is the fine one. The Black-Scholes
 * control moves on the fine normals.
 *
 * Output (`LV_POINT` = 6 values per unit and expiry, at (u * nExp + e) * 6 for unit u of `count`
 * starting at `first`): [x, xCoarse, xc, xMirror, xCoarseMirror, xcMirror], the GPU's LvPathPoint.
 */
import { philox4x32_10 } from './philox.js';
import { normalFromBits } from './normals.js';
import { SUMS } from './estimate.js';
import type { LocalVolPlan, LocalVolTable } from './localvolPlan.js';

export const LV_POINT = 6;

export function simulateLocalVolCpu(plan: LocalVolPlan, tb: LocalVolTable, first: number, count: number): Float64Array {
  const nExp = plan.expiries.length;
  const out = new Float64Array(count * nExp * LV_POINT);
  const w = new Uint32Array(4);
  const anti = plan.antithetic;
  const rich = plan.richardson;
  const [k0, k1] = plan.key;
  const K = tb.kPoints;
  const Km1 = K - 1, Km2 = K - 2;
  const { kLo, invDk, variance, cvDrift, cvVol } = tb;
  const ns = plan.nSteps;
  const recStep = plan.recStep, recExpiry = plan.recExpiry, nRec = recStep.length;
  /** X after one log-Euler step of row `i` from x with normal z. */
  const step = (i: number, x: number, z: number): number => {
    let s = (x - kLo[i]) * invDk[i];
    s = s > 0 ? (s < Km1 ? s : Km1) : 0; // clamp to [0, K - 1] (NaN-free: x is finite)
    let j = s | 0;
    if (j > Km2) j = Km2;
    const o = i * K + j;
    const a = variance[o];
    const v = a + (s - j) * (variance[o + 1] - a);
    return x + (-0.5 * v + Math.sqrt(v) * z);
  };
  for (let u = 0; u < count; u++) {
    const unit = first + u;
    let x0 = 0, xc0 = 0, y0 = 0, x1 = 0, xc1 = 0, y1 = 0; // fine, control, coarse; path and mirror
    let zPrev = 0;
    let r = 0;
    for (let i = 0; i < ns; i++) {
      if ((i & 3) === 0) philox4x32_10(unit, i >>> 2, 0, 0, k0, k1, w);
      const z = normalFromBits(w[i & 3]);
      x0 = step(i, x0, z);
      xc0 = xc0 + (cvDrift[i] + cvVol[i] * z);
      if (anti) {
        x1 = step(i, x1, -z);
        xc1 = xc1 + (cvDrift[i] - cvVol[i] * z);
      }
      if (rich) {
        if ((i & 1) === 0) {
          zPrev = z;
        } else {
          const zc = (zPrev + z) * Math.SQRT1_2;
          const row = ns + (i >>> 1);
          y0 = step(row, y0, zc);
          if (anti) y1 = step(row, y1, -zc);
        }
      } else {
        y0 = x0;
        y1 = x1;
      }
      while (r < nRec && recStep[r] === i) {
        const q = (u * nExp + recExpiry[r]) * LV_POINT;
        out[q] = x0;
        out[q + 1] = y0;
        out[q + 2] = xc0;
        out[q + 3] = x1;
        out[q + 4] = y1;
        out[q + 5] = xc1;
        r++;
      }
    }
  }
  return out;
}

/**
 * f64 twin of the kernel's `reduce` entry: per quote, the nine moment sums of estimate.ts over
 * the units, with Y = 2 payoff(x) - payoff(xCoarse) and G = 2 expm1(x) - expm1(xCoarse) under
 * Richardson (Y = payoff(x), G = expm1(x) without), C = payoff(xc); antithetic pairs averaged.
 * The exponentials are taken once per (unit, expiry) and shared by that expiry's quotes.
 */
export function accumulateLocalVol(plan: LocalVolPlan, paths: Float64Array, count: number, sums: Float64Array): void {
  const nExp = plan.expiries.length;
  const M = plan.kRel.length;
  const np = plan.antithetic ? 2 : 1;
  const rich = plan.richardson;
  // Per (unit, expiry, path a): e^x, e^xCoarse, e^xc, and the unit's G (mirror averaged).
  const ex = new Float64Array(count * nExp * 6);
  const G = new Float64Array(count * nExp);
  for (let q = 0; q < count * nExp; q++) {
    let g = 0;
    for (let a = 0; a < np; a++) {
      const o = q * LV_POINT + 3 * a;
      ex[q * 6 + 3 * a] = Math.exp(paths[o]);
      ex[q * 6 + 3 * a + 1] = Math.exp(paths[o + 1]);
      ex[q * 6 + 3 * a + 2] = Math.exp(paths[o + 2]);
      g += rich ? 2 * Math.expm1(paths[o]) - Math.expm1(paths[o + 1]) : Math.expm1(paths[o]);
    }
    G[q] = g / np;
  }
  for (let m = 0; m < M; m++) {
    const e = plan.quoteExpiry[m];
    const k = plan.kRel[m];
    const sgn = plan.isCall[m] === 1 ? 1 : -1; // payoff max(sgn (S - k), 0)
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0, s8 = 0;
    for (let u = 0; u < count; u++) {
      const q = u * nExp + e;
      const o = q * 6;
      let y = 0, c = 0;
      for (let a = 0; a < np; a++) {
        const b = o + 3 * a;
        const yf = Math.max(sgn * (ex[b] - k), 0);
        y += rich ? 2 * yf - Math.max(sgn * (ex[b + 1] - k), 0) : yf;
        c += Math.max(sgn * (ex[b + 2] - k), 0);
      }
      y /= np;
      c /= np;
      const g = G[q];
      const d = y - c;
      s0 += d; s1 += c; s2 += g;
      s3 += d * d; s4 += c * c; s5 += g * g;
      s6 += d * c; s7 += d * g; s8 += c * g;
    }
    const o = m * SUMS;
    sums[o] += s0; sums[o + 1] += s1; sums[o + 2] += s2;
    sums[o + 3] += s3; sums[o + 4] += s4; sums[o + 5] += s5;
    sums[o + 6] += s6; sums[o + 7] += s7; sums[o + 8] += s8;
  }
}
