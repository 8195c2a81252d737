/**
 * From per-path log-prices to prices with standard errors.
 *
 * Per sample unit (a path, or the average over an antithetic pair) and quote, in forward units:
 *   Y = payoff(e^X, k),  C = payoff(e^Xc, k)  (the Black-Scholes control on the same Brownian path),
 *   D = Y - C,           G = e^X - 1          (the forward itself: E[G] = 0 exactly, a martingale).
 * The engines sum the nine moments [D, C, G, DD, CC, GG, DC, DG, CG] (GPU: f32 partial sums over
 * blocks of units; CPU: f64); the totals are formed in f64 here. Estimator (two control variates,
 * regression coefficients):
 *   price/(disc F) = mean(D) - b1 (mean(C) - c*) - b2 mean(G) + c*,  b = Cov([C,G])^-1 Cov([C,G], D),
 * c* = Black(1, k, total control variance): the exact mean of the control, whose Gaussian increments
 * are simulated exactly. Standard error sqrt((Var D - b . Cov([C,G], D)) / (n - 3)).
 * G removes the common level factor (sample mean of S_T off F) that moves calls and puts in
 * opposite directions; C removes most of the payoff's convexity.
 */
import { black76Price } from '../black/black76.js';
import type { QuoteSet } from '../pricer.js';
import type { McPlan } from './plan.js';

export const SUMS = 9;

/** Undiscounted Black price with forward 1, strike k, total variance s2. */
export function blackUnit(k: number, s2: number, isCall: boolean): number {
  return black76Price(1, k, 1, Math.sqrt(Math.max(s2, 0)), isCall, 1);
}

/** f64 reduction of CPU paths (layout of simulateCpu) into N x M x 9 sums, added into `sums`. */
export function accumulateCpu(plan: McPlan, paths: Float64Array, n: number, count: number, sums: Float64Array): void {
  const nExp = plan.expiries.length;
  const M = plan.kRel.length;
  const np = plan.antithetic ? 2 : 1;
  for (let p = 0; p < n; p++) {
    for (let m = 0; m < M; m++) {
      const e = plan.quoteExpiry[m];
      const k = plan.kRel[m];
      const call = plan.isCall[m] === 1;
      const s = new Float64Array(SUMS);
      for (let u = 0; u < count; u++) {
        const q = ((p * count + u) * nExp + e) * 4;
        let y = 0, c = 0, g = 0;
        for (let a = 0; a < np; a++) {
          const st = Math.exp(paths[q + 2 * a]);
          const sc = Math.exp(paths[q + 2 * a + 1]);
          y += call ? Math.max(st - k, 0) : Math.max(k - st, 0);
          c += call ? Math.max(sc - k, 0) : Math.max(k - sc, 0);
          g += Math.expm1(paths[q + 2 * a]);
        }
        y /= np;
        c /= np;
        g /= np;
        const d = y - c;
        s[0] += d; s[1] += c; s[2] += g;
        s[3] += d * d; s[4] += c * c; s[5] += g * g;
        s[6] += d * c; s[7] += d * g; s[8] += c * g;
      }
      const o = (p * M + m) * SUMS;
      for (let i = 0; i < SUMS; i++) sums[o + i] += s[i];
    }
  }
}

/** Prices and standard errors (present values) from the summed moments. */
export function finishPrices(
  plan: McPlan,
  quotes: QuoteSet,
  sums: Float64Array,
  cvVariance: Float64Array,
  n: number,
): { prices: Float64Array; stderr: Float64Array } {
  const M = plan.kRel.length;
  const nExp = plan.expiries.length;
  const units = plan.units;
  const prices = new Float64Array(n * M);
  const stderr = new Float64Array(n * M);
  for (let p = 0; p < n; p++) {
    for (let m = 0; m < M; m++) {
      const o = (p * M + m) * SUMS;
      for (let s = 0; s < SUMS; s++) {
        if (!Number.isFinite(sums[o + s])) {
          throw new RangeError(`parameter set ${p}, quote ${m}: Monte Carlo payoffs overflow (parameters too extreme for simulation)`);
        }
      }
      const mean = (i: number) => sums[o + i] / units;
      const mD = mean(0), mC = mean(1), mG = mean(2);
      const vD = Math.max(0, mean(3) - mD * mD);
      const vC = Math.max(0, mean(4) - mC * mC);
      const vG = Math.max(0, mean(5) - mG * mG);
      const cDC = mean(6) - mD * mC;
      const cDG = mean(7) - mD * mG;
      const cCG = mean(8) - mC * mG;
      // Solve [vC cCG; cCG vG] b = [cDC; cDG]; a control without variance (e.g. a worthless
      // control payoff on every path) drops out, as does a near-collinear pair.
      let b1 = 0, b2 = 0;
      const det = vC * vG - cCG * cCG;
      if (vC > 1e-14 && vG > 1e-14 && det > 1e-9 * vC * vG) {
        b1 = (vG * cDC - cCG * cDG) / det;
        b2 = (vC * cDG - cCG * cDC) / det;
      } else if (vC > 1e-14) {
        b1 = cDC / vC;
      } else if (vG > 1e-14) {
        b2 = cDG / vG;
      }
      const cStar = blackUnit(plan.kRel[m], cvVariance[p * nExp + plan.quoteExpiry[m]], plan.isCall[m] === 1);
      const est = mD - b1 * (mC - cStar) - b2 * mG + cStar;
      const resid = Math.max(0, vD - b1 * cDC - b2 * cDG);
      const scale = quotes.discount[m] * quotes.forward[m];
      // A price below zero is MC noise around a worthless option: report 0 and keep the error.
      prices[p * M + m] = scale * Math.max(est, 0);
      stderr[p * M + m] = scale * Math.sqrt(resid / Math.max(1, units - 3));
    }
  }
  return { prices, stderr };
}
