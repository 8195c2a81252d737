/**
 * GPU-resident LM iterations (shaders/lm_normal.wgsl, src/engines/cos/gpuNormal.ts): a stencil
 * reduced to f, J^T r, J^T J on the GPU against its f64 twin (normalSums.ts on f64 COS prices),
 * the twin against the objective's full path (residual vectors, J, linalg), LM's use of the
 * reduction (fallbacks included), and a Heston fit through it on WebGPU.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { normalEquations as normalFromJ } from '../../src/optim/linalg.js';
import { levenbergMarquardt } from '../../src/optim/lm.js';
import { sumSquares, type LeastSquaresProblem, type NormalEquationsResult } from '../../src/optim/problem.js';
import { Objective } from '../../src/calibrator/objective.js';
import { prepareQuotes, type CalibrationQuote, type PreparedQuotes } from '../../src/calibrator/quotes.js';
import { stencil, type Stencil } from '../../src/optim/stencil.js';
import { resolveBounds, toUnconstrained } from '../../src/calibrator/transforms.js';
import { cosPricesBatch } from '../../src/engines/cos/cpu.js';
import { groupByExpiry } from '../../src/engines/cos/expiries.js';
import { cosNormalSumsCpu } from '../../src/engines/cos/normalSums.js';
import { createCosPricer } from '../../src/engines/cos/pricer.js';
import { quoteSetOf, type QuoteSet, type SurfacePricer } from '../../src/engines/pricer.js';
import { bates, heston, merton, type Model } from '../../src/models/index.js';
import { gpu, hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';
import { cosCpuPricer, priceGrid, surfaceGrid } from './helpers.js';

/** The f64 CPU pricer with the twin as its `normalSums` (what the GPU path computes, in f64). */
function twinPricer(model: Model, quotes: QuoteSet): SurfacePricer {
  const groups = groupByExpiry(quotes);
  const pricer = cosCpuPricer(model, quotes, { gradient: false });
  pricer.normalSums = (def) => ({
    evaluate: async (batch) => ({ ...cosNormalSumsCpu(model, quotes, def, batch, undefined, groups), backend: 'cpu' }),
    dispose() {},
  });
  return pricer;
}

function randomParams(model: Model, r: () => number): number[] {
  const h = () => [uniform(r, 0.02, 0.5), uniform(r, 0.5, 6), uniform(r, 0.02, 0.5), uniform(r, 0.2, 2), uniform(r, -0.9, 0.3)];
  const j = () => [uniform(r, 0.1, 2), uniform(r, -0.2, 0.05), uniform(r, 0.05, 0.3)];
  if (model === heston) return h();
  if (model === bates) return [...h(), ...j()];
  return [uniform(r, 0.15, 0.7), ...j()];
}

/**
 * A surface from a 7-day to a 2-year expiry, strikes out to +-3.5 ATM standard deviations (the
 * wings, whose first-order IV residuals weigh small prices by 1/vega), priced exactly (f64) at
 * `truth`; weights random in [0.5, 2]. Quotes worth less than 1e-5 of D F are left out: f32
 * prices carry ~3e-7 of D F (cos.gpu.test.ts), so below that their IV residuals, and any
 * Jacobian of them, are f32 noise on the old path as on this one (measured on +-4 sd wings:
 * diag(A) off by 20 % (old) and 65 % (new) on a 7-day, sigma = 1.8 Heston surface).
 */
function market(model: Model, truth: number[], r: () => number): CalibrationQuote[] {
  const atm = model === merton ? truth[0] : Math.sqrt(truth[0]);
  const out: CalibrationQuote[] = [];
  let row = 1;
  for (const T of [7 / 365, 30 / 365, 0.25, 1, 2]) {
    const F = 100 * Math.exp(0.02 * T);
    for (let k = 0; k < 15; k++) {
      const x = -3.5 + 0.5 * k;
      const K = F * Math.exp(x * atm * Math.sqrt(T));
      out.push({ row: row++, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: Math.exp(-0.02 * T), weight: uniform(r, 0.5, 2) });
    }
  }
  const set = quoteSetOf(out);
  const prices = cosPricesBatch(model, Float64Array.from(truth), 1, set);
  return out.map((q, i) => ({ ...q, price: prices[i] })).filter((q) => q.price > 1e-5 * q.discount * q.forward);
}

/** Worst errors of (f, g, A) against a reference, each in its natural scale (see the GPU test). */
function compare(got: NormalEquationsResult, ref: NormalEquationsResult, p: number, noise = 0) {
  // A column's scale is its own |J_j|^2, or the noise floor of a differenced column where that is
  // larger: a parameter the quotes barely see has a column made of the f32 noise alone.
  const A = Array.from({ length: p * p }, (_, i) => (i % (p + 1) === 0 ? Math.max(ref.A![i], noise) : ref.A![i]));
  let g = 0;
  let a = 0;
  let diag = 0;
  for (let j = 0; j < p; j++) {
    g = Math.max(g, Math.abs(got.g![j] - ref.g![j]) / Math.sqrt(A[j * p + j] * ref.f));
    diag = Math.max(diag, Math.abs(got.A![j * p + j] - ref.A![j * p + j]) / A[j * p + j]);
    for (let k = 0; k < p; k++) a = Math.max(a, Math.abs(got.A![j * p + k] - ref.A![j * p + k]) / Math.sqrt(A[j * p + j] * A[k * p + k]));
  }
  return { f: Math.abs(got.f - ref.f) / ref.f, g, a, diag };
}

/**
 * |J_j|^2 of a column of pure f32 noise: each price carries ~3e-7 of D F (the f32 COS sums),
 * differenced over `step` (2h central, h forward) and, for IV residuals, divided by vega.
 */
function columnNoise(prep: PreparedQuotes, kind: 'iv' | 'price', step: number): number {
  let n = 0;
  for (let i = 0; i < prep.m; i++) {
    const e = (prep.sqrtW[i] * 3e-7 * prep.set.discount[i] * prep.set.forward[i]) / (step * (kind === 'iv' ? prep.vega[i] : 1));
    n += e * e;
  }
  return n;
}

describe('normal sums twin (f64) against the full path', () => {
  const r = rng();

  for (const kind of ['iv', 'price'] as const) {
    it(`${kind} residuals, with a prior and the Feller penalty: f, J^T r, J^T J agree to 1e-9`, async () => {
      const truth = randomParams(heston, r);
      const quotes = market(heston, truth, r);
      const prep = prepareQuotes(quotes);
      const bounds = resolveBounds(heston);
      const P = 5;
      const mean = toUnconstrained(Float64Array.from(truth), bounds);
      const chol = new Float64Array(P * P);
      for (let j = 0; j < P; j++) {
        chol[j * P + j] = uniform(r, 0.2, 1);
        for (let k = 0; k < j; k++) chol[j * P + k] = uniform(r, -0.2, 0.2);
      }
      // Sigma large enough that Feller (2 kappa theta >= sigma^2) is violated at the point.
      const at = Float64Array.from(truth, (v, j) => (j === 3 ? 2.5 : v * (1 + uniform(r, -0.2, 0.2))));
      const opts = { kind, prior: { mean, chol }, constraintPenalty: 1, analyticJacobian: false };
      const twin = new Objective(heston, prep, twinPricer(heston, prep.set), bounds, opts);
      const z = toUnconstrained(at, bounds);
      for (const scheme of ['forward', 'central'] as const) {
        const st = stencil(z, scheme === 'central' ? 3e-3 : 1e-6, scheme);
        const got = (await twin.normalEquations!(st))!;
        const { r: rs } = await twin.residuals(st.Z, st.n);
        // The full path's J from the same stencil (lm.ts jacobianFrom), then linalg's normal equations.
        const J = new Float64Array(twin.size * P);
        for (let i = 0; i < twin.size; i++) {
          for (let j = 0; j < P; j++) {
            J[i * P + j] = scheme === 'central' ? (rs[1 + j][i] - rs[1 + P + j][i]) / (2 * st.h[j]) : (rs[1 + j][i] - rs[0][i]) / st.h[j];
          }
        }
        const ref = { f: sumSquares(rs[0]), ...normalFromJ(J, rs[0], twin.size, P) };
        // Same f64 prices, same difference quotients: only the algebra of the residual
        // (c (v - y) against (price - market) / vega) and summation order differ, ~1e-15 of
        // each term; the differences of J amplify that by |r| / (h |J|), < 1e-9 here.
        const e = compare(got, ref, P);
        expect(e.f).toBeLessThan(1e-12);
        expect(e.g).toBeLessThan(1e-9);
        expect(e.a).toBeLessThan(1e-9);
      }
    });
  }
});

describe('LM on reduced normal equations', () => {
  /** Exponential decay, with a reduction computed in f64 from its own residuals. */
  function decay(truth: number[], failAt: Set<number>) {
    const t = Array.from({ length: 30 }, (_, i) => i * 0.2);
    const y = t.map((ti) => truth[0] * Math.exp(-truth[1] * ti) + truth[2]);
    const res = (z: ArrayLike<number>) => Float64Array.from(t, (ti, i) => z[0] * Math.exp(-z[1] * ti) + z[2] - y[i]);
    const calls = { reduced: 0, stencils: 0, full: 0 };
    const base: LeastSquaresProblem = {
      p: 3,
      size: 30,
      async residuals(Z, n) {
        calls.full++;
        return { r: Array.from({ length: n }, (_, k) => res(Z.subarray(3 * k, 3 * k + 3))) };
      },
    };
    const reduced: LeastSquaresProblem = {
      ...base,
      async normalEquations(st: Stencil) {
        calls.reduced++;
        const rs = Array.from({ length: st.n }, (_, k) => res(st.Z.subarray(3 * k, 3 * k + 3)));
        const f = sumSquares(rs[0]);
        if (st.n === 1) return { f, A: null, g: null };
        // A perturbed set that "did not price": LM must redo the point on the full path.
        if (failAt.has(++calls.stencils)) return { f, A: null, g: null };
        const D = st.h.length;
        const J = new Float64Array(30 * D);
        for (let i = 0; i < 30; i++) for (let j = 0; j < D; j++) J[i * D + j] = (rs[1 + j][i] - rs[1 + D + j][i]) / (2 * st.h[j]);
        return { f, ...normalFromJ(J, rs[0], 30, D) };
      },
    };
    return { base, reduced, calls };
  }

  it('follows the same path as the full residuals (f64), and returns r and J of the end point', async () => {
    const r = rng();
    const truth = [uniform(r, 1, 5), uniform(r, 0.2, 2), uniform(r, -1, 1)];
    const opts = { fdScheme: 'central' as const, fdStep: 1e-5 };
    const a = decay(truth, new Set());
    const full = await levenbergMarquardt(a.base, Float64Array.from([1, 1, 0]), opts);
    const red = await levenbergMarquardt(a.reduced, Float64Array.from([1, 1, 0]), opts);
    expect(a.calls.reduced).toBeGreaterThan(2);
    // The reduction is the same f64 arithmetic in another order: the same steps to ~1e-12.
    expect(red.iterations).toBe(full.iterations);
    for (let j = 0; j < 3; j++) expect(Math.abs(red.z[j] - full.z[j])).toBeLessThan(1e-10);
    // r and J at the end come from one full evaluation (7 sets) after the reduced iterations.
    expect(red.evaluations).toBe(full.evaluations + 7);
    expect(red.r.length).toBe(30);
    expect(Math.abs(red.f - sumSquares(red.r))).toBe(0);
    expect(red.J.some((v) => v !== 0)).toBe(true);
  });

  it('redoes a point whose perturbed sets did not price through the full residuals, and still converges', async () => {
    const r = rng();
    const truth = [uniform(r, 1, 5), uniform(r, 0.2, 2), uniform(r, -1, 1)];
    const a = decay(truth, new Set([1, 3]));
    const res = await levenbergMarquardt(a.reduced, Float64Array.from([1, 1, 0]), { fdScheme: 'central', fdStep: 1e-5 });
    expect(res.converged).toBe(true);
    truth.forEach((v, j) => expect(Math.abs(res.z[j] - v)).toBeLessThan(1e-8 * Math.max(1, Math.abs(v))));
    // Stencils 1 and 3 fell back: two full stencils, plus the final one.
    expect(a.calls.full).toBe(3);
  });
});

describe.skipIf(!hasGpu)('GPU-resident normal equations (WebGPU f32) against the f64 twin', () => {
  const backend = () => ({ name: 'webgpu' as const, description: 'test', gpu: gpu! });

  for (const model of [heston, bates, merton]) {
    it(`${model.name}: random points, first-order IV and price residuals, central and forward stencils`, async () => {
      const r = rng();
      const worst = { iv: { f: 0, g: 0, a: 0, diag: 0 }, price: { f: 0, g: 0, a: 0, diag: 0 } };
      for (let trial = 0; trial < 2; trial++) {
        const truth = randomParams(model, r);
        const quotes = market(model, truth, r);
        const prep = prepareQuotes(quotes);
        const bounds = resolveBounds(model);
        const pricer = await createCosPricer(model, prep.set, backend());
        try {
          for (const kind of ['iv', 'price'] as const) {
            const opts = { kind, analyticJacobian: false };
            const onGpu = new Objective(model, prep, pricer, bounds, opts);
            const twin = new Objective(model, prep, twinPricer(model, prep.set), bounds, opts);
            const at = Float64Array.from(truth, (v) => v * (1 + uniform(r, -0.15, 0.15)));
            const z = toUnconstrained(at, bounds);
            const scheme = trial === 0 ? 'central' : 'forward';
            const st = stencil(z, scheme === 'central' ? 3e-3 : 1e-2, scheme);
            const got = (await onGpu.normalEquations!(st))!;
            expect(onGpu.lastBackend).toBe('webgpu');
            const ref = (await twin.normalEquations!(st))!;
            const e = compare(got, ref, model.params.length, columnNoise(prep, kind, scheme === 'central' ? 6e-3 : 1e-2));
            for (const k of ['f', 'g', 'a', 'diag'] as const) worst[kind][k] = Math.max(worst[kind][k], e[k]);
          }
        } finally {
          pricer.dispose();
        }
      }
      for (const kind of ['iv', 'price'] as const) {
        const w = worst[kind];
        console.info(
          `[lm_normal twin] ${model.name} ${kind}: f ${w.f.toExponential(2)}, g ${w.g.toExponential(2)} (of sqrt(A_jj f)), ` +
            `A ${w.a.toExponential(2)} (of sqrt(A_jj A_kk)), diag(A) ${w.diag.toExponential(2)} relative`,
        );
      }
      // The f32 floor, the same as the old path's (f32 prices read back, f, J, J^T J on the CPU),
      // measured side by side on 30 random points (5 seeds x 3 models x 2 schemes): each price
      // carries ~3e-7 of D F from the f32 COS sums; J divides that by the step (2h = 6e-3 central,
      // h = 1e-2 forward). Price residuals: f within 1e-4 (measured <= 1e-4 new, 1e-5 old: here the
      // control variate is f32 too), g, A within 1e-3 of their scales (measured <= 6e-4, old
      // <= 1.6e-3). First-order IV residuals divide by vega, so short-expiry wings weigh that noise
      // up: f within 5e-3 (measured <= 2e-3 new, 4.4e-4 old, both on a 7-day sigma = 1.9 Bates
      // surface), g, A within 5e-2 (measured <= 1.6e-2, old <= 1.2e-2). The Jacobian is differenced
      // from the COS sums alone (one control variate for the whole stencil), so it is no noisier
      // than the old path's.
      expect(worst.price.f).toBeLessThan(5e-4);
      expect(worst.price.g).toBeLessThan(3e-3);
      expect(worst.price.a).toBeLessThan(3e-3);
      expect(worst.iv.f).toBeLessThan(1e-2);
      // Beside a column's noise floor (columnNoise) the f32 noise is a random variable with a
      // tail: 1 random point in ~25 reached 0.054-0.058 (seed 344173857), hence 0.1; a row left
      // out of the reduction, or a wrong vega, moves g and A by O(1).
      expect(worst.iv.g).toBeLessThan(1e-1);
      expect(worst.iv.a).toBeLessThan(1e-1);
    }, 300_000);
  }

  it('a non-finite base is f = +Infinity; a non-finite perturbed set gives f without A', async () => {
    const r = rng();
    const truth = randomParams(heston, r);
    const prep = prepareQuotes(market(heston, truth, r));
    const bounds = resolveBounds(heston);
    const pricer = await createCosPricer(heston, prep.set, backend());
    try {
      const obj = new Objective(heston, prep, pricer, bounds, { kind: 'iv', analyticJacobian: false });
      const z = toUnconstrained(Float64Array.from(truth, (v) => v * 1.1), bounds);
      const st = stencil(z, 3e-3, 'central');
      const ok = (await obj.normalEquations!(st))!;
      expect(Number.isFinite(ok.f)).toBe(true);
      const badOther = { ...st, Z: Float64Array.from(st.Z) };
      badOther.Z[3 * 5 + 1] = NaN; // a perturbed set with NaN kappa: no cumulants, no prices
      const other = (await obj.normalEquations!(badOther))!;
      expect(other.A).toBeNull();
      // The base priced alone: the same f up to the f32 noise of a possibly re-frozen window.
      expect(Math.abs(other.f - ok.f)).toBeLessThan(1e-5 * ok.f);
      const badBase = { ...st, Z: Float64Array.from(st.Z) };
      badBase.Z[0] = NaN;
      const base = (await obj.normalEquations!(badBase))!;
      expect(base.f).toBe(Infinity);
      expect(obj.lastBackend).toBe('webgpu');
      // Exact IV residuals (the polish) are not reduced on the GPU: the full path.
      obj.ivMode = 'exact';
      expect(await obj.normalEquations!(st)).toBeNull();
    } finally {
      pricer.dispose();
    }
  });

  it("LM through the reduction recovers Heston from QuantLib's standard wrong start to the f32 floor", async () => {
    const r = rng();
    const truth = Float64Array.from([uniform(r, 0.02, 0.2), uniform(r, 0.5, 3), uniform(r, 0.02, 0.2), uniform(r, 0.2, 1), uniform(r, -0.8, 0)]);
    // As webgpu.test.ts: quotes in the f32 kernel's precision regime (prices above 1e-3 D F); far
    // wings below it carry f32 IV errors up to ~2e-3 on steep smiles (seed 1846550340: 7.6e-5 RMS).
    const all = await priceGrid(heston, truth, surfaceGrid({ expiries: 5, strikesPerExpiry: 8, atmVol: Math.sqrt(truth[0]) }));
    const quotes = all.filter((q) => q.price >= 1e-3 * q.discount * q.forward);
    expect(quotes.length).toBeGreaterThanOrEqual(20);
    let reduced = 0;
    let traffic = { uploaded: 0, readBack: 0 };
    const res = await calibrate(quotes, {
      model: heston,
      backend: 'webgpu',
      start: { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 },
      createPricer: async (m, q, b) => {
        const pricer = await createCosPricer(m, q, b);
        const make = pricer.normalSums!.bind(pricer);
        pricer.normalSums = (def) => {
          const ev = make(def);
          return { evaluate: (batch) => ((reduced += 1), ev.evaluate(batch)), dispose: () => ev.dispose() };
        };
        const dispose = pricer.dispose.bind(pricer);
        pricer.dispose = () => {
          traffic = pricer.traffic!();
          dispose();
        };
        return pricer;
      },
    });
    console.info(`[lm_normal fit] ${reduced} reduced stencils, ${traffic.readBack} bytes read back, rmse_iv ${res.rmse_iv}`);
    expect(reduced).toBeGreaterThan(5);
    expect(res.backend).toBe('webgpu');
    expect(res.converged).toBe(true);
    // As webgpu.test.ts (the same fit on the old path): RMSE within 2e-5 in vol of the exact
    // fit's zero, parameters within 2e-3 relative (measured about 1e-5).
    expect(res.rmse_iv!).toBeLessThan(2e-5);
    heston.params.forEach((s, i) => expect(Math.abs(res.params[s.name] - truth[i]) / truth[i]).toBeLessThan(2e-3));
  }, 300_000);
});
