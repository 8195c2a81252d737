/**
 * The f64 CPU twin of shaders/mc_heston.wgsl and shaders/mc_rbergomi.wgsl: the same Philox
 * words, the same scheme coefficients, the same order of operations, in double precision.
 * Output layout as on the GPU: for parameter set p, unit u (of `count` starting at `first`),
 * expiry e, four values at ((p * count + u) * nExp + e) * 4: ln(S/F) and the control's ln(S/F)
 * on the path and (antithetic runs) on its mirror path.
 */
import { philox4x32_10 } from './philox.js';
import { normalFromBits, oneMinusUniformFromBits } from './normals.js';
import type { McPlan } from './plan.js';
import { MAX_JUMPS_PER_STEP, RB_HEADER, type SchemeTables } from './tables.js';

const FLIP = 0x80000000;

export function simulateCpu(plan: McPlan, tables: SchemeTables, n: number, first: number, count: number): Float64Array {
  return plan.kind === 'rbergomi'
    ? rbergomiCpu(plan, tables, n, first, count)
    : hestonCpu(plan, tables, n, first, count);
}

/** Andersen QE step with martingale correction; returns [v', dx]. */
function qeStep(tb: Float64Array, o: number, v: number, zv: number, omu: number, zs: number): [number, number] {
  const m = tb[o + 3] + v * tb[o + 0];
  const s2 = v * tb[o + 1] + tb[o + 2];
  const psi = s2 / (m * m);
  const A = tb[o + 8];
  let vn: number;
  let k0: number;
  if (psi <= 1.5) {
    const ip = 2 / psi;
    const b2 = ip - 1 + Math.sqrt(ip) * Math.sqrt(ip - 1);
    const a = m / (1 + b2);
    const b = Math.sqrt(b2);
    vn = a * (b + zv) * (b + zv);
    k0 = A < 1 / (2 * a) ? (-A * b2 * a) / (1 - 2 * A * a) + 0.5 * Math.log1p(-2 * A * a) - tb[o + 9] * v : tb[o + 7];
  } else {
    const pe = (psi - 1) / (psi + 1);
    const beta = (1 - pe) / m;
    vn = omu >= 1 - pe ? 0 : (Math.log(1 - pe) - Math.log(omu)) / beta;
    k0 = A < beta ? -Math.log(pe + (beta * (1 - pe)) / (beta - A)) - tb[o + 9] * v : tb[o + 7];
  }
  const dx = k0 + tb[o + 4] * (vn - v) + tb[o + 5] * (v + vn) + Math.sqrt(tb[o + 6] * (v + vn)) * zs;
  return [vn, dx];
}

/** Compound Poisson log-normal jump over one step (counts by inversion of the survival function). */
function jumpStep(tb: Float64Array, o: number, wn: number, wj: number): number {
  if (tb[o + 12] <= 0) return 0;
  const omu = oneMinusUniformFromBits(wn);
  let surv = tb[o + 14];
  let term = tb[o + 13];
  let k = 0;
  while (omu < surv && k < MAX_JUMPS_PER_STEP) {
    k++;
    term *= tb[o + 12] / k;
    surv -= term;
  }
  return tb[o + 15] + k * tb[o + 16] + Math.sqrt(k) * tb[o + 17] * normalFromBits(wj);
}

function hestonCpu(plan: McPlan, tables: SchemeTables, n: number, first: number, count: number): Float64Array {
  const nExp = plan.expiries.length;
  const out = new Float64Array(n * count * nExp * 4);
  const tb = tables.table;
  const S = tables.stride;
  const w = new Uint32Array(4);
  const np = plan.antithetic ? 2 : 1;
  const [k0, k1] = plan.key;
  for (let p = 0; p < n; p++) {
    for (let u = 0; u < count; u++) {
      const unit = first + u;
      const v = [tb[p * plan.nSteps * S + 20], tb[p * plan.nSteps * S + 20]];
      const x = [0, 0];
      const xc = [0, 0];
      let r = 0;
      for (let i = 0; i < plan.nSteps; i++) {
        const o = (p * plan.nSteps + i) * S;
        philox4x32_10(unit, i, 0, 0, k0, k1, w);
        for (let a = 0; a < np; a++) {
          const f = a ? FLIP : 0;
          const wv = (w[0] ^ f) >>> 0;
          const zv = normalFromBits(wv);
          const zs = normalFromBits((w[1] ^ f) >>> 0);
          const [vn, dx] = qeStep(tb, o, v[a], zv, oneMinusUniformFromBits(wv), zs);
          x[a] += dx + jumpStep(tb, o, (w[2] ^ f) >>> 0, (w[3] ^ f) >>> 0);
          v[a] = vn;
          xc[a] += tb[o + 10] + tb[o + 11] * (tb[o + 18] * zv + tb[o + 19] * zs);
        }
        while (r < plan.recStep.length && plan.recStep[r] === i) {
          const q = ((p * count + u) * nExp + plan.recExpiry[r]) * 4;
          out[q] = x[0];
          out[q + 1] = xc[0];
          out[q + 2] = x[1];
          out[q + 3] = xc[1];
          r++;
        }
      }
    }
  }
  return out;
}

function rbergomiCpu(plan: McPlan, tables: SchemeTables, n: number, first: number, count: number): Float64Array {
  const nExp = plan.expiries.length;
  const ns = plan.nSteps;
  const out = new Float64Array(n * count * nExp * 4);
  const tb = tables.table;
  const S = tables.stride;
  const w = new Uint32Array(4);
  const wb = new Uint32Array(4);
  const hist = new Float64Array(ns);
  const np = plan.antithetic ? 2 : 1;
  const [k0, k1] = plan.key;
  for (let p = 0; p < n; p++) {
    const o = p * S;
    const [xi0, eta, rho, rhoBar, sqh, cI1, cI2, h] = tb.subarray(o, o + RB_HEADER);
    const G = o + RB_HEADER;
    const VC = o + RB_HEADER + ns + 1;
    const sxi = Math.sqrt(xi0);
    for (let u = 0; u < count; u++) {
      const unit = first + u;
      let y = 0; // Volterra driver at t_i on the path; the mirror path has -y
      const x = [0, 0];
      const xc = [0, 0];
      let r = 0;
      for (let i = 0; i < ns; i++) {
        philox4x32_10(unit, i, 0, 0, k0, k1, w);
        const z1 = normalFromBits(w[0]);
        const z2 = normalFromBits(w[1]);
        const z3 = normalFromBits(w[2]);
        const dW = sqh * z1;
        const dWp = sqh * z3;
        hist[i] = dW;
        for (let a = 0; a < np; a++) {
          const s = a ? -1 : 1;
          const V = i === 0 ? xi0 : xi0 * Math.exp(eta * s * y - tb[VC + i]);
          const sv = Math.sqrt(V);
          for (let rr = r; rr < plan.recStep.length && plan.recStep[rr] === i; rr++) {
            // Brownian bridge to the expiry inside the step.
            const f = plan.recFrac[rr];
            philox4x32_10(unit, plan.recExpiry[rr], 1, 0, k0, k1, wb);
            const sb = Math.sqrt(f * (1 - f) * h);
            const b1 = s * (f * dW + sb * normalFromBits(wb[0]));
            const b2 = s * (f * dWp + sb * normalFromBits(wb[1]));
            const q = ((p * count + u) * nExp + plan.recExpiry[rr]) * 4 + 2 * a;
            out[q] = x[a] + sv * (rho * b1 + rhoBar * b2) - 0.5 * V * f * h;
            out[q + 1] = xc[a] + sxi * (rho * b1 + rhoBar * b2) - 0.5 * xi0 * f * h;
          }
          x[a] += sv * s * (rho * dW + rhoBar * dWp) - 0.5 * V * h;
          xc[a] += sxi * s * (rho * dW + rhoBar * dWp) - 0.5 * xi0 * h;
        }
        while (r < plan.recStep.length && plan.recStep[r] === i) r++;
        // Y(t_{i+1}): exact first cell plus the Riemann sum over the earlier cells.
        let conv = cI1 * z1 + cI2 * z2;
        for (let k = 2; k <= i + 1; k++) conv += tb[G + k] * hist[i + 1 - k];
        y = conv;
      }
    }
  }
  return out;
}
